/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A struct perf_event, as the PMU's hot paths see it: the few fields that
 * add, del, start, stop, read and the record path touch, at the offsets the
 * generated layout gives (module/shim/layout.c), the way asm-offsets gives
 * assembly its struct fields. Everything else goes through the shim.
 */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx::k {

class PerfEvent {
public:
	constexpr explicit PerfEvent(void *e) : m_ev(static_cast<u8 *>(e)) {}

	void *raw() const { return m_ev; }
	/* hw.state: PERF_HES_* bits. */
	u32 hw_state() const { return *field<int>(LBRCTX_K_EVENT_HW_STATE); }
	void set_hw_state(u32 v) const
	{
		*field<int>(LBRCTX_K_EVENT_HW_STATE) = static_cast<int>(v);
	}
	/* hw.sample_period: what PERF_EVENT_IOC_PERIOD set. */
	u64 period() const { return *field<u64>(LBRCTX_K_EVENT_HW_SAMPLE_PERIOD); }
	void *pmu_private() const { return *field<void *>(LBRCTX_K_EVENT_PMU_PRIVATE); }
	/*
	 * local64_add() to the count: on x86-64 a local64_t is a local_t,
	 * and local_add() is one ADD to memory, atomic against interrupts on
	 * this CPU (arch/x86/include/asm/local.h). IRQs off, on the event's CPU.
	 */
	void add_count(u64 n) const
	{
		asm volatile("addq %1, %0" : "+m"(*field<u64>(LBRCTX_K_EVENT_COUNT)) : "er"(n));
	}

	/*
	 * total_time_running -= @ns: a parked event's share (module/pmu.cpp).
	 * The core updates it under the context lock with IRQs off, the same
	 * as the PMU callbacks that call this.
	 */
	void sub_time_running(u64 ns) const
	{
		*field<u64>(LBRCTX_K_EVENT_TOTAL_TIME_RUNNING) -= ns;
	}

private:
	template <class T> T *field(size_t off) const { return reinterpret_cast<T *>(m_ev + off); }
	u8 *m_ev;
};

static_assert(LBRCTX_K_SIZEOF_EVENT_HW_STATE == sizeof(int), "hw.state is an int");
static_assert(LBRCTX_K_SIZEOF_EVENT_COUNT == sizeof(u64), "x86-64's local64_t is one long");

} // namespace lbrctx::k
