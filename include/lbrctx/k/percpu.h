/* SPDX-License-Identifier: GPL-2.0 */
/* PerCpu<T>: one T per possible CPU, from alloc_percpu(). */
#pragma once

#include <lbrctx/k/cpu.h>
#include <lbrctx/result.h>

namespace lbrctx::k {

template <class T> class PerCpu : Pinned {
public:
	constexpr PerCpu() = default;

	/* Task context: allocate and construct a T on every possible CPU. */
	Result<void> init()
	{
		m_pcp = lbrctx_shim_percpu_alloc(sizeof(T), alignof(T));
		if (!m_pcp)
			return err::nomem();
		for (u32 cpu = 0; cpu < lbrctx_shim_nr_cpu_ids(); cpu++)
			if (lbrctx_shim_cpu_possible(cpu))
				new (on(cpu)) T{};
		return {};
	}
	/* Task context; nothing may use the objects any more. */
	void destroy()
	{
		if (m_pcp)
			lbrctx_shim_percpu_free(m_pcp);
		m_pcp = nullptr;
	}
	bool ready() const { return m_pcp != nullptr; }
	/* This CPU's: preemption or interrupts off. */
	T *this_cpu() const { return static_cast<T *>(k::this_cpu_ptr(m_pcp)); }
	T *on(u32 cpu) const { return static_cast<T *>(lbrctx_shim_per_cpu_ptr(m_pcp, cpu)); }
	template <class F> void for_each(F f) const
	{
		for (u32 cpu = 0; cpu < lbrctx_shim_nr_cpu_ids(); cpu++)
			if (lbrctx_shim_cpu_possible(cpu))
				f(*on(cpu));
	}

private:
	void *m_pcp = nullptr;
};

} // namespace lbrctx::k
