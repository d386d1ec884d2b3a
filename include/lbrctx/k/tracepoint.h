/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TracepointSet: kernel tracepoints found by name and hooked with one of
 * the shim's probes, all or none. A module gets no sched_task callbacks
 * (perf_sched_cb_inc() is not exported), so the scheduler tracepoints are
 * how lbrctx sees forks, exits and context switches.
 */
#pragma once

#include <lbrctx/result.h>

namespace lbrctx::k {

struct TracepointHook {
	const char *name;
	lbrctx_tp_probe probe;
};

template <size_t N> class TracepointSet : Pinned {
public:
	/* Task context: find and hook every tracepoint, or none (-ENOENT, or the kernel's errno). */
	Result<void> attach(const TracepointHook (&hooks)[N], void *data)
	{
		m_data = data;
		for (size_t i = 0; i < N; i++) {
			void *tp = lbrctx_shim_tracepoint_find(hooks[i].name);
			int ret = tp ? lbrctx_shim_tracepoint_register(tp, hooks[i].probe, data)
				     : -LBRCTX_K_ENOENT;
			if (ret) {
				lbrctx_err("cannot hook tracepoint %s: %d\n", hooks[i].name, ret);
				detach();
				return Error{ret};
			}
			m_tp[i] = {tp, hooks[i].probe};
		}
		return {};
	}
	/* Task context. Probes may still run until lbrctx_shim_tracepoint_synchronize(). */
	void detach()
	{
		for (auto &t : m_tp) {
			if (t.tp)
				lbrctx_shim_tracepoint_unregister(t.tp, t.probe, m_data);
			t = {};
		}
	}

private:
	struct Hooked {
		void *tp;
		lbrctx_tp_probe probe;
	};
	Hooked m_tp[N]{};
	void *m_data = nullptr;
};

} // namespace lbrctx::k
