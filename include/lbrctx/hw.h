/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The driver of the QEMU plugin's LBR hardware (module/hw.cpp; the PCI
 * driver of the ivshmem device is module/shim/hw.c). The contract with
 * the plugin is include/lbrctx/hwlbr.h.
 *
 * As arch/x86/events/intel/lbr.c drives a real LBR, lbrctx programs the
 * units on add and del, reads them at a sample and saves and restores
 * them with the task. Each CPU's lbr::UnitSet stays the PMU's view of its
 * units: with the hardware source it is a copy of the hardware's, read
 * (pull: Save, or Sample) before it is used and written back (push:
 * Restore) after it changed, so that everything above the units, the
 * multiplexer, the switch hook and the samples, is the same for both
 * sources. Every function here runs on the CPU whose page it uses, with
 * interrupts off, and makes no shim call: a doorbell is one instruction.
 */
#pragma once

#include <lbrctx/hwlbr.h>
#include <lbrctx/pmu.h>

namespace lbrctx::hw {

/* What the driver counts, summed over the CPUs (debugfs pmu: hw_*). */
struct Stats {
	u64 commands; /* doorbells rung */
	u64 refused;  /* commands the hardware refused, or no plugin ran (status) */
	u64 bad;      /* unit states the driver refused to take (lbr::Unit::restore) */
};

class Driver : Pinned {
public:
	constexpr Driver() = default;

	/*
	 * Module load, task context: bind the ivshmem device and say Hello on
	 * every CPU. -ENODEV when there is no device or no plugin behind it.
	 */
	Result<void> init();
	/* Module exit, after the PMU is gone: unbind, wait for readers, unmap. Task context. */
	void exit();
	bool present() const { return __atomic_load_n(&m_base, __ATOMIC_ACQUIRE) != nullptr; }
	/* Give each CPU its page (or null): pmu::Pmu::init() and the device's removal. */
	void attach_cpus(pmu::Pmu &pmu);

	/* The PCI driver's probe and remove (module/shim/hw.c): task context. */
	int probe(void *base, u64 size);
	void remove();

	/* Hello on this CPU's page: IPI (interrupts off) or task context with preemption off. */
	void hello_here();

	Stats stats() const;
	u32 nvcpus() const;

private:
	void give_vectors();
	void units_off(void *base);

	void *m_base = nullptr;
	u64 m_size = 0;
	u32 m_ncpus = 0;
	Atomic<u32> m_hello_failed{0};
	Atomic<u32> m_hello_ok{0};
	pmu::Pmu *m_pmu = nullptr;
};

Driver &the_driver();

/* A status the plugin never writes: it stays when no plugin ran the command. */
inline constexpr s32 kNotRun = -1;

/*
 * The out-of-line halves of pull() and push() (hw.cpp): what follows a
 * Save or Sample (@c takes the units @mask from @p), what precedes a
 * Restore (@p takes @c's units @mask, and the operands) and what follows
 * it. IRQs off, on @c's CPU.
 */
void pulled(pmu::CpuState *c, Vcpu *p, u32 mask);
void to_push(pmu::CpuState *c, Vcpu *p, u32 mask, u64 prev, u64 next);
void pushed(pmu::CpuState *c, Vcpu *p);

/*
 * pull() and push() ring their doorbells in their caller's frame, so
 * that a Save and the Restore that gives its records back ring at the
 * same call depth wherever the caller rings them from the same function
 * (the switch hook, Sync). In call-stack mode the hardware counts every
 * call and return, the driver's own too: a state saved one call deeper
 * than it is restored leaves one stale call record on the stack at every
 * switch, and one saved shallower loses a caller's. Out of line, they
 * left that to the compiler: Pmu::on_switch() called pull but ended in a
 * tail call (jmp) to push, so each task's Save was one call deeper than
 * the Restore that gave it back, and every voluntary switch left a record
 * of the switch hook on the task's call stack.
 */

/*
 * Read the hardware's units @mask into @c's (Save; with @sample, Sample:
 * frozen where the interrupt that took the sample began, @ip its
 * interrupted instruction). IRQs off, on @c's CPU.
 */
[[gnu::always_inline]] inline void pull(pmu::CpuState *c, u32 mask, bool sample = false, u64 ip = 0)
{
	Vcpu *p = __atomic_load_n(&c->hw, __ATOMIC_ACQUIRE);
	if (!p || !mask)
		return;
	Control &ctl = p->ctl;
	ctl.cpu = c->cpu;
	ctl.mask = mask;
	ctl.ip = ip;
	ctl.status = kNotRun;
	if (sample)
		ring<Cmd::Sample>();
	else
		ring<Cmd::Save>();
	pulled(c, p, mask);
}

/*
 * Give the hardware @c's units @mask (Restore); @prev and @next: the
 * tasks of a context switch, else 0. IRQs off, on @c's CPU.
 */
[[gnu::always_inline]] inline void push(pmu::CpuState *c, u32 mask, u64 prev = 0, u64 next = 0)
{
	Vcpu *p = __atomic_load_n(&c->hw, __ATOMIC_ACQUIRE);
	if (!p)
		return;
	to_push(c, p, mask, prev, next);
	ring<Cmd::Restore>();
	pushed(c, p);
}

/*
 * A change of @c's units, between a pull of every configured unit and a
 * push of every unit that is configured or was given last (one the change
 * unconfigured must be disabled in the hardware too). Nothing with the
 * probe sources. IRQs off. Inline, as pull() and push(): both doorbells
 * ring in the frame of the function that holds the Sync.
 */
class [[nodiscard]] Sync : Pinned {
public:
	[[gnu::always_inline]] explicit Sync(pmu::CpuState *c) : m_c(c)
	{
		if (c->hw)
			pull(c, c->units.configured());
	}
	[[gnu::always_inline]] ~Sync()
	{
		if (!m_c->hw)
			return;
		/*
		 * Records restored for a task (bind()) bring the hardware's
		 * pending interrupt entries of that task back, as a switch
		 * does: the previous task is none (kNoTask).
		 */
		u64 next = reinterpret_cast<uintptr_t>(exchange(m_c->hw_task, nullptr));
		push(m_c, m_c->units.configured() | m_c->hw_pushed, next ? kNoTask : 0, next);
	}

private:
	pmu::CpuState *m_c;
};

} // namespace lbrctx::hw
