// SPDX-License-Identifier: GPL-2.0
/*
 * The store's extern "C" API is defined in C++ (module/store.cpp); it is
 * exported here, for lbrctx_kunit, because EXPORT_SYMBOL is a C macro.
 */
#include <linux/export.h>
#include <lbrctx/shim.h>

EXPORT_SYMBOL_GPL(lbrctx_store_attach);
EXPORT_SYMBOL_GPL(lbrctx_store_put);
EXPORT_SYMBOL_GPL(lbrctx_store_attach_task_owned);
EXPORT_SYMBOL_GPL(lbrctx_store_detach);
EXPORT_SYMBOL_GPL(lbrctx_store_attach_global);
EXPORT_SYMBOL_GPL(lbrctx_store_detach_global);
EXPORT_SYMBOL_GPL(lbrctx_store_lookup);
EXPORT_SYMBOL_GPL(lbrctx_store_refcount);
EXPORT_SYMBOL_GPL(lbrctx_store_has_global);
EXPORT_SYMBOL_GPL(lbrctx_store_get_stats);
EXPORT_SYMBOL_GPL(lbrctx_store_test_fail_allocs);
EXPORT_SYMBOL_GPL(lbrctx_store_test_set_walk_hook);
EXPORT_SYMBOL_GPL(lbrctx_shim_task_exiting);
/* The PMU's test entry points (module/pmu.cpp, module/source.cpp). */
EXPORT_SYMBOL_GPL(lbrctx_pmu_switch);
EXPORT_SYMBOL_GPL(lbrctx_pmu_get_stats);
EXPORT_SYMBOL_GPL(lbrctx_pmu_test_snapshot);
EXPORT_SYMBOL_GPL(lbrctx_source_show);
EXPORT_SYMBOL_GPL(lbrctx_source_set);
EXPORT_SYMBOL_GPL(lbrctx_shim_irq_save);
EXPORT_SYMBOL_GPL(lbrctx_shim_irq_restore);
