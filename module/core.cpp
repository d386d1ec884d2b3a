// SPDX-License-Identifier: GPL-2.0
/*
 * Module core: load and unload of the per-task store, the branch source,
 * the scheduler probes and the PMU. The order of exit is fixed by the design
 * card: unregister the PMU and probes, tracepoint_synchronize_unregister(),
 * rcu_barrier(), then destroy the caches.
 */
#include <lbrctx/pmu.h>

namespace lbrctx {
namespace {

struct ModuleState {
	bool xsave;
	bool probes;
	bool source;
	bool pmu;
};

/* constinit: module loaders do not run constructors. */
constinit ModuleState g_state{};

void teardown()
{
	lbrctx_shim_debugfs_exit();
	if (g_state.pmu)
		pmu::exit();
	if (g_state.source)
		source::exit();
	if (g_state.probes) {
		lbrctx_shim_probes_unregister();
		g_state.probes = false;
	}
	/* No probe runs past this point; then RCU frees, then the caches. */
	lbrctx_shim_tracepoint_synchronize_unregister();
	store::shutdown(); /* rcu_barrier(), then the store's cache */
	if (g_state.pmu)
		pmu::destroy_caches();
	g_state = {};
}

Result<void> init()
{
	g_state.xsave = lbrctx_shim_cpu_has_xsave();
	if (auto r = store::init(); r.is_error()) {
		lbrctx_err("cannot create the task data store: %d\n", r.error());
		return r;
	}
	if (auto r = source::init(); r.is_error()) {
		store::shutdown();
		return r;
	}
	g_state.source = true;
	if (int ret = lbrctx_shim_probes_register()) {
		teardown();
		return Error{ret};
	}
	g_state.probes = true;
	if (auto r = pmu::init(); r.is_error()) {
		teardown();
		return r;
	}
	g_state.pmu = true;
	lbrctx_shim_debugfs_init();
	lbrctx_info("loaded (xsave %s, task data %u bytes)\n", g_state.xsave ? "yes" : "no",
		    static_cast<u32>(sizeof(TaskData)));
	return {};
}

} // namespace
} // namespace lbrctx

/* Task context (module_init). */
extern "C" int lbrctx_core_init(void) noexcept
{
	return lbrctx::to_errno(lbrctx::init());
}

/* Task context (module_exit). */
extern "C" void lbrctx_core_exit(void) noexcept
{
	lbrctx::teardown();
	lbrctx_info("unloaded\n");
}
