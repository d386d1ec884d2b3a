// SPDX-License-Identifier: GPL-2.0
/*
 * Module core: load and unload. The PMU, the per-task store and the branch
 * source attach here as they land; the order of exit is fixed by the design
 * card: unregister the PMU and probes, tracepoint_synchronize_unregister(),
 * rcu_barrier(), then destroy the caches.
 */
#include <lbrctx/store.h>

namespace lbrctx {
namespace {

struct ModuleState {
	bool xsave;
	bool probes;
};

/* constinit: module loaders do not run constructors. */
constinit ModuleState g_state{};

void teardown()
{
	lbrctx_shim_debugfs_exit();
	if (g_state.probes) {
		lbrctx_shim_probes_unregister();
		g_state.probes = false;
	}
	/* No probe runs past this point; then RCU frees, then the caches. */
	lbrctx_shim_tracepoint_synchronize_unregister();
	store::shutdown();
}

Result<void> init()
{
	g_state.xsave = lbrctx_shim_cpu_has_xsave();
	if (auto r = store::init(); r.is_error()) {
		lbrctx_err("cannot create the task data store: %d\n", r.error());
		return r;
	}
	if (int ret = lbrctx_shim_probes_register()) {
		store::shutdown();
		return Error{ret};
	}
	g_state.probes = true;
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
