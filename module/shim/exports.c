// SPDX-License-Identifier: GPL-2.0
/*
 * What lbrctx.ko shows its tests (lbrctx_kunit.ko, lbrctx_bench.ko), and
 * only with KUnit: the kernel's idiom, EXPORT_SYMBOL_IF_KUNIT, exports
 * into the EXPORTED_FOR_KUNIT_TESTING namespace and is empty without
 * CONFIG_KUNIT. This file is built only with the test modules
 * (LBRCTX_TESTS, see Kbuild); the product build (dkms.conf) has none of it.
 *
 * The shim's wrappers, so that the test modules can build their own
 * instances of lbrctx's C++ classes (a Store of their own, say), and the
 * product's test view (module/kunit_api.cpp).
 */
#include <linux/export.h>
#include <kunit/visibility.h>
#include <lbrctx/shim.h>
#include <lbrctx/kunit_api.h>

EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_log);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_warn);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cache_create);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cache_destroy);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cache_zalloc);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cache_free);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cache_object_size);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_kvzalloc);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_kvfree);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_spin_lock_init);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_spin_lock);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_spin_unlock);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_mutex_init);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_mutex_lock);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_mutex_unlock);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_rcu_read_lock);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_rcu_read_unlock);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_call_rcu);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_rcu_barrier);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_refill_kick);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_refill_cancel);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_percpu_alloc);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_percpu_free);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_this_cpu_ptr);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_per_cpu_ptr);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cpu_possible);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_refcount_set);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_refcount_read);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_refcount_inc_not_zero);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_refcount_dec_and_test);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_refcount_dec_and_lock);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_irq_save);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_irq_restore);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_hash_init);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_hash_destroy);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_hash_lookup);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_hash_table_bytes);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_hash_insert);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_hash_remove);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_current);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_task_exiting);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_get_task);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_put_task);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_for_each_thread);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_nr_cpu_ids);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cpu_has_xsave);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_fault_init);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_should_fail);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_tracepoint_find);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_tracepoint_register);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_tracepoint_unregister);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_tracepoint_synchronize);

EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_pmu_type);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_pmu_stats);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_switch);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_unit);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_probes_set);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_probes_get);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_uprobes_set);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_uprobes_count);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_uprobes_current);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_task_refs);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_task_has_global);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_upstream_cache);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_store_fault);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_hw_page);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_hw_slot);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_cpu_id);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_kunit_uprobe_check_elf);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_file_open);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_file_close);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_store_set);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_param_store_upstream);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_upstream_store);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_task_ctx_data);
EXPORT_SYMBOL_IF_KUNIT(lbrctx_shim_pmu_has_call_stack);
