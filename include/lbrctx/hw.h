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

	void *m_base = nullptr;
	u64 m_size = 0;
	u32 m_ncpus = 0;
	Atomic<u32> m_hello_failed{0};
	Atomic<u32> m_hello_ok{0};
	pmu::Pmu *m_pmu = nullptr;
};

Driver &the_driver();

/*
 * Read the hardware's units @mask into @c's (Save; with @sample, Sample:
 * frozen where the interrupt that took the sample began, @ip its
 * interrupted instruction). IRQs off, on @c's CPU.
 */
void pull(pmu::CpuState *c, u32 mask, bool sample = false, u64 ip = 0);
/*
 * Give the hardware @c's units @mask (Restore); @prev and @next: the
 * tasks of a context switch, else 0. IRQs off, on @c's CPU.
 */
void push(pmu::CpuState *c, u32 mask, u64 prev = 0, u64 next = 0);

/*
 * A change of @c's units, between a pull of every configured unit and a
 * push of every unit that is configured or was given last (one the change
 * unconfigured must be disabled in the hardware too). Nothing with the
 * probe sources. IRQs off.
 */
class [[nodiscard]] Sync : Pinned {
public:
	explicit Sync(pmu::CpuState *c) : m_c(c)
	{
		if (c->hw)
			pull(c, c->units.configured());
	}
	~Sync()
	{
		if (m_c->hw)
			push(m_c, m_c->units.configured() | m_c->hw_pushed);
	}

private:
	pmu::CpuState *m_c;
};

} // namespace lbrctx::hw
