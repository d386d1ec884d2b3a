/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deferred frees after an RCU grace period. An RcuHead embedded in an
 * object carries the callback; the shim's one trampoline runs it, so every
 * C++ type uses the same call_rcu() wrapper.
 */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx::k {

class RcuHead {
public:
	/*
	 * Run @fn(this) after a grace period (in softirq context). The
	 * object must stay untouched until then; @fn usually frees it.
	 */
	void call(void (*fn)(lbrctx_rcu *) noexcept)
	{
		m_rcu.fn = fn;
		lbrctx_shim_call_rcu(&m_rcu);
	}
	/* The RcuHead whose callback is running. */
	static RcuHead *from(lbrctx_rcu *r) { return reinterpret_cast<RcuHead *>(r); }

private:
	lbrctx_rcu m_rcu;
};
/* Standard layout: the shim's head is at the start of RcuHead, which from() relies on. */
static_assert(__is_standard_layout(RcuHead), "");

/* Wait for every callback queued so far (module exit, tests). Task context. */
inline void rcu_barrier()
{
	lbrctx_shim_rcu_barrier();
}

} // namespace lbrctx::k
