// SPDX-License-Identifier: GPL-2.0
/*
 * The driver of the QEMU plugin's LBR hardware (include/lbrctx/hw.h; the
 * contract is include/lbrctx/hwlbr.h).
 *
 * A page can hold anything: the guest's root can map the BAR and write
 * it. So the driver takes nothing from it that it has not checked: the
 * magic and version at probe, each command's status, and each unit's
 * LBR_CTL and depth, which lbr::Unit::restore() refuses as XRSTORS would
 * (a refused unit is reset and counted, hw_bad). A record is data: any
 * FROM, TO and INFO is a record, and only the leading ones with a TO
 * count, so no field of the page indexes anything. The page may go (the
 * device's removal): each CPU's pointer is cleared, and every reader,
 * which runs with interrupts off, is waited for before the memory goes.
 */
#include <lbrctx/hw.h>

namespace lbrctx::hw {
namespace {

constinit Driver g_driver;

void hello_cb(void *arg) noexcept
{
	static_cast<Driver *>(arg)->hello_here();
}

} // namespace

Driver &the_driver()
{
	return g_driver;
}

/* After a Save or Sample (pull()): the units it wrote, into @c's. */
void pulled(pmu::CpuState *c, Vcpu *p, u32 mask)
{
	Control &ctl = p->ctl;
	c->hw_commands++;
	if (__atomic_load_n(&ctl.status, __ATOMIC_RELAXED) != kOk) {
		c->hw_refused++;
		return;
	}
	for (u32 m = mask & ((1u << kUnits) - 1); m; m &= m - 1) {
		u32 s = __builtin_ctz(m);
		auto &slot = c->units.slot(s);
		if (!slot.unit.restore(p->unit[s]))
			c->hw_bad++;
		/* Monotonic in the plugin; a count that went back is a page someone wrote. */
		u64 now = ctl.recorded[s], last = c->hw_recorded[s];
		if (now >= last) {
			slot.recorded += now - last;
			c->counts[static_cast<u32>(pmu::Kind::Branches)] += now - last;
		}
		c->hw_recorded[s] = now;
	}
}

/* Before a Restore (push()): @c's units and the operands into the page. */
void to_push(pmu::CpuState *c, Vcpu *p, u32 mask, u64 prev, u64 next)
{
	mask &= (1u << kUnits) - 1;
	for (u32 m = mask; m; m &= m - 1) {
		u32 s = __builtin_ctz(m);
		c->units.slot(s).unit.save(p->unit[s]);
	}
	Control &ctl = p->ctl;
	ctl.cpu = c->cpu;
	ctl.mask = mask;
	ctl.prev_task = prev;
	ctl.next_task = next;
	ctl.status = kNotRun;
}

/* After a Restore (push()). */
void pushed(pmu::CpuState *c, Vcpu *p)
{
	c->hw_commands++;
	c->hw_pushed = c->units.configured();
	if (__atomic_load_n(&p->ctl.status, __ATOMIC_RELAXED) != kOk)
		c->hw_refused++;
}

/* Hello on this CPU's page (on_each_cpu: interrupts off). */
void Driver::hello_here()
{
	u32 cpu = lbrctx_shim_cpu_id();
	if (cpu >= m_ncpus) {
		m_hello_failed.add(1);
		return;
	}
	Vcpu *p = vcpu_page(m_base, cpu);
	u64 nonce = lbrctx_shim_local_clock() ^ (static_cast<u64>(cpu) << 48) ^ 0x4c4252ull;
	p->ctl.cpu = cpu;
	p->ctl.nonce = nonce;
	p->ctl.ack = 0;
	p->ctl.status = kNotRun;
	ring<Cmd::Hello>();
	if (p->ctl.status != kOk || p->ctl.ack != nonce || p->ctl.magic != kMagic ||
	    p->ctl.version != kVersion || p->ctl.vcpu != cpu) {
		lbrctx_warn(
			"hw: CPU %u: the plugin did not answer as vCPU %u (status %d, vcpu %u)\n",
			cpu, cpu, p->ctl.status, p->ctl.vcpu);
		m_hello_failed.add(1);
		return;
	}
	m_hello_ok.add(1);
}

/* The IDT's entries, so that the plugin knows an interrupt's entry from a jump. Task context. */
void Driver::give_vectors()
{
	Global *g = global_page(m_base);
	u32 n = lbrctx_shim_idt_handlers(g->vectors, kVectors);
	/* Any CPU's page carries the command; the plugin takes the vectors for every vCPU. */
	struct Ctx {
		Driver *d;
		u32 n;
	} ctx{this, n};
	lbrctx_shim_on_each_cpu(
		[](void *arg) noexcept {
			auto *x = static_cast<Ctx *>(arg);
			u32 cpu = lbrctx_shim_cpu_id();
			if (cpu != 0 || cpu >= x->d->m_ncpus)
				return;
			Vcpu *p = vcpu_page(x->d->m_base, cpu);
			p->ctl.cpu = cpu;
			p->ctl.status = kNotRun;
			ring<Cmd::Vectors>();
		},
		&ctx);
	lbrctx_info("hw: %u IDT vectors given, the plugin took %llu\n", n,
		    __atomic_load_n(&g->vectors_taken, __ATOMIC_RELAXED));
}

/* The PCI probe: task context. */
int Driver::probe(void *base, u64 size)
{
	if (m_base) {
		lbrctx_info("hw: a second ivshmem device is not lbrctx's\n");
		return -LBRCTX_K_EBUSY;
	}
	if (size < kRegionSize) {
		lbrctx_info("hw: ivshmem region of %llu bytes: not the plugin's (%zu)\n", size,
			    kRegionSize);
		return -LBRCTX_K_ENODEV;
	}
	Global *g = global_page(base);
	if (g->magic != kMagic || g->version != kVersion || g->page_size != kPageSize) {
		lbrctx_info(
			"hw: ivshmem device without the lbrctx plugin (magic %#x version %u; want %#x %u)\n",
			g->magic, g->version, kMagic, kVersion);
		return -LBRCTX_K_ENODEV;
	}
	u32 n = g->nvcpus;
	if (n > kMaxVcpus || n < lbrctx_shim_nr_cpu_ids()) {
		lbrctx_info("hw: the plugin models %u vCPUs; this kernel has %u CPU ids\n", n,
			    lbrctx_shim_nr_cpu_ids());
		return -LBRCTX_K_ENODEV;
	}
	m_ncpus = n;
	m_base = base;
	m_size = size;
	m_hello_failed.store(0);
	m_hello_ok.store(0);
	lbrctx_shim_on_each_cpu(hello_cb, this);
	if (m_hello_failed.load()) {
		m_base = nullptr;
		return -LBRCTX_K_ENODEV;
	}
	give_vectors();
	/* A device that comes back (rescan) while the PMU runs: give each CPU its page again. */
	if (m_pmu)
		attach_cpus(*m_pmu);
	return 0;
}

/*
 * Every unit of every vCPU off, as the plugin holds them (the device goes,
 * or the module: units stay enabled after their last event until a
 * switch turns them off, and a CPU may not switch before). Task context;
 * the callback on each CPU with interrupts off.
 */
void Driver::units_off(void *base)
{
	if (!m_pmu)
		return;
	struct Ctx {
		Driver *d;
		void *base;
	} ctx{this, base};
	lbrctx_shim_on_each_cpu(
		[](void *arg) noexcept {
			auto *x = static_cast<Ctx *>(arg);
			u32 cpu = lbrctx_shim_cpu_id();
			pmu::CpuState *c = x->d->m_pmu->cpu_state(cpu);
			if (!c || cpu >= x->d->m_ncpus)
				return;
			Vcpu *p = vcpu_page(x->base, cpu);
			for (u32 s = 0; s < kUnits; s++) {
				xsave::ArchLbrState &u = p->unit[s];
				c->units.slot(s).unit.save(u);
				u.lbr_ctl = 0;
				/* A valid depth: an unconfigured slot's 0 would be refused. */
				if (!lbr::valid_depth(u.lbr_depth))
					u.lbr_depth = lbr::kDefaultDepth;
			}
			Control &ctl = p->ctl;
			ctl.cpu = c->cpu;
			ctl.mask = (1u << kUnits) - 1;
			ctl.prev_task = ctl.next_task = 0;
			ctl.status = kNotRun;
			ring<Cmd::Restore>();
			c->hw_pushed = 0;
		},
		&ctx);
}

/* The PCI remove: task context. No CPU reads the page once this returns. */
void Driver::remove()
{
	void *base = m_base;
	if (!base)
		return;
	__atomic_store_n(&m_base, nullptr, __ATOMIC_RELEASE);
	if (m_pmu)
		attach_cpus(*m_pmu);
	/* Pages are used with interrupts off only: wait for every such section. */
	lbrctx_shim_synchronize_rcu();
	/* No CPU uses its page now: turn the units off through them, once. */
	units_off(base);
	lbrctx_info("hw: the LBR device went away; lbrctx records nothing until it is back\n");
}

void Driver::attach_cpus(pmu::Pmu &pmu)
{
	m_pmu = &pmu;
	void *base = __atomic_load_n(&m_base, __ATOMIC_ACQUIRE);
	for (u32 cpu = 0; cpu < lbrctx_shim_nr_cpu_ids(); cpu++) {
		pmu::CpuState *c = lbrctx_shim_cpu_possible(cpu) ? pmu.cpu_state(cpu) : nullptr;
		if (!c)
			continue;
		Vcpu *p = base && cpu < m_ncpus ? vcpu_page(base, cpu) : nullptr;
		__atomic_store_n(&c->hw, p, __ATOMIC_RELEASE);
	}
}

Result<void> Driver::init()
{
	if (int ret = lbrctx_shim_hw_register())
		return Error{ret};
	if (!present()) {
		lbrctx_shim_hw_unregister();
		return err::nodev();
	}
	return {};
}

void Driver::exit()
{
	lbrctx_shim_hw_unregister(); /* remove() runs for a bound device */
	m_pmu = nullptr;
}

Stats Driver::stats() const
{
	Stats s{};
	if (!m_pmu)
		return s;
	for (u32 cpu = 0; cpu < lbrctx_shim_nr_cpu_ids(); cpu++) {
		pmu::CpuState *c = lbrctx_shim_cpu_possible(cpu) ? m_pmu->cpu_state(cpu) : nullptr;
		if (!c)
			continue;
		s.commands += __atomic_load_n(&c->hw_commands, __ATOMIC_RELAXED);
		s.refused += __atomic_load_n(&c->hw_refused, __ATOMIC_RELAXED);
		s.bad += __atomic_load_n(&c->hw_bad, __ATOMIC_RELAXED);
	}
	return s;
}

u32 Driver::nvcpus() const
{
	return m_ncpus;
}

} // namespace lbrctx::hw

/* The PCI driver (module/shim/hw.c): task context. */
extern "C" int lbrctx_hw_probe(void *base, u64 size) noexcept
{
	return lbrctx::hw::the_driver().probe(base, size);
}

extern "C" void lbrctx_hw_remove(void) noexcept
{
	lbrctx::hw::the_driver().remove();
}
