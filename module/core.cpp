// SPDX-License-Identifier: GPL-2.0
/*
 * Module core: load and unload. The PMU, the per-task store and the branch
 * source attach here as they land; the order of exit is fixed by the design
 * card: unregister the PMU and probes, tracepoint_synchronize_unregister(),
 * rcu_barrier(), then destroy the caches.
 */
#include <lbrctx/result.h>

namespace lbrctx {
namespace {

struct ModuleState {
	bool xsave;
};

/* constinit: module loaders do not run constructors. */
constinit ModuleState g_state{};

Result<void> init()
{
	g_state.xsave = lbrctx_shim_cpu_has_xsave();
	lbrctx_info("loaded (xsave %s)\n", g_state.xsave ? "yes" : "no");
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
	lbrctx_info("unloaded\n");
}
