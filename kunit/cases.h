/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KUnit case list, shared by the C suite tables (kunit/suites.c) and the
 * C++ case bodies (kunit/test_*.cpp), plus the reporting bridge between them.
 * Each list names every case of one suite once.
 */
#ifndef LBRCTX_KUNIT_CASES_H
#define LBRCTX_KUNIT_CASES_H

#include <lbrctx/shim.h>

/* lbrctx_base: kunit/test_base.cpp */
#define LBRCTX_BASE_CASES(X)                                    \
	X(slab_objects_are_64_byte_aligned_and_zeroed)          \
	X(slab_object_size_is_type_size_rounded_to_alignment)   \
	X(slab_destroy_finds_zero_objects)                      \
	X(slab_destroy_with_live_object_is_refused)             \
	X(xsave_and_xrstor_execute_on_cache_objects)            \
	X(virtual_dispatch_reaches_the_override)                \
	X(constinit_globals_hold_their_values_without_constructors) \
	X(result_and_try_propagate_errnos)                      \
	X(scope_exit_runs_unless_dismissed)                     \
	X(refptr_moves_leaks_and_puts_exactly_once)             \
	X(fault_attr_fails_once_its_space_is_spent)             \
	X(branch_entries_match_the_kernels_bitfields)           \
	X(use_handle_gives_its_user_back_exactly_once)          \
	X(array_index_nospec_clamps_what_the_bound_refuses)     \
	X(heap_sort_orders_every_length_and_keeps_the_entries)

/* lbrctx_store: kunit/test_store.cpp */
#define LBRCTX_STORE_CASES(X)                                                   \
	X(store_object_is_one_aligned_zeroed_cache_object)                      \
	X(store_references_move_the_refcount_exactly)                           \
	X(store_last_put_unhashes_and_frees_after_a_grace_period)               \
	X(store_concurrent_attachers_get_one_object_with_n_references)          \
	X(store_global_attach_covers_1000_threads)                              \
	X(store_global_attach_covers_threads_forked_during_the_walk)            \
	X(store_threads_exiting_during_the_walk_leak_nothing)                   \
	X(store_rcu_reader_keeps_valid_memory_across_a_concurrent_put)          \
	X(store_exiting_task_frees_its_object_once_references_drop)             \
	X(store_switch_lookup_cache_forgets_an_unhashed_object)                 \
	X(store_exit_racing_a_global_detach_does_not_underflow)                 \
	X(store_child_linked_after_the_walk_is_not_missed)                      \
	X(store_setuid_credential_change_keeps_the_data_of_a_live_task)         \
	X(store_task_owned_reference_is_dropped_at_exit)                        \
	X(store_shutdown_takes_back_what_tasks_still_own)                       \
	X(store_attach_error_paths_leak_no_reference)

/* lbrctx_lbr: kunit/test_lbr.cpp */
#define LBRCTX_LBR_CASES(X)                                         \
	X(lbr_ring_fills_youngest_first)                            \
	X(lbr_ring_overflow_drops_the_oldest)                       \
	X(lbr_ring_records_returns_as_branches)                     \
	X(lbr_call_stack_pushes_calls_and_pops_returns)             \
	X(lbr_call_stack_pop_past_empty_does_nothing)               \
	X(lbr_call_stack_overflow_keeps_the_innermost_calls)        \
	X(lbr_depth_must_be_a_supported_value)                      \
	X(lbr_depth_change_clears_the_records)                      \
	X(lbr_ctl_refuses_reserved_bits)                            \
	X(lbr_disabled_unit_records_nothing)                        \
	X(lbr_cpl_filters_select_kernel_or_user_branches)           \
	X(lbr_type_filters_select_branch_types)                     \
	X(lbr_info_holds_type_and_saturated_cycle_delta)            \
	X(lbr_save_writes_the_xsave_component_layout)               \
	X(lbr_restore_round_trips_and_continues)                    \
	X(lbr_restore_refuses_state_no_save_produces)               \
	X(lbr_restore_if_compatible_resets_on_a_config_mismatch)    \
	X(lbr_call_stack_holds_kernel_calls_above_user_calls)       \
	X(lbr_user_call_drops_the_frames_the_stack_left)            \
	X(lbr_user_return_pops_only_its_own_frame)                  \
	X(lbr_save_and_restore_carry_the_frame_slots)

/* lbrctx_pmu: kunit/test_pmu.cpp */
#define LBRCTX_PMU_CASES(X)                                          \
	X(pmu_is_registered_with_a_dynamic_type)                     \
	X(pmu_event_init_validation_table)                           \
	X(pmu_freq_becomes_a_fixed_period)                           \
	X(pmu_callstack_holds_the_nested_kernel_chain)               \
	X(pmu_branches_counts_calls_and_returns_exactly)             \
	X(pmu_disabled_event_records_nothing)                        \
	X(pmu_switch_resets_for_a_task_without_data_and_restores)    \
	X(pmu_store_upstream_core_owns_the_task_data)                \
	X(pmu_store_upstream_switch_restores_from_the_cores_data)    \
	X(pmu_per_task_event_that_never_ran_drops_its_data)          \
	X(pmu_per_task_event_that_ran_leaves_data_to_its_task)       \
	X(pmu_system_wide_event_attaches_every_thread)               \
	X(pmu_events_of_different_configurations_all_count_all_the_time) \
	X(pmu_configurations_past_the_unit_limit_share_the_time)     \
	X(pmu_event_refused_midway_gives_back_what_it_took)

/* lbrctx_units: kunit/test_units.cpp */
#define LBRCTX_UNITS_CASES(X)                                              \
	X(units_one_configuration_shares_one_slot)                         \
	X(units_forget_all_turns_off_only_units_without_users)             \
	X(units_distinct_configurations_get_slots_up_to_the_limit)         \
	X(units_released_slot_keeps_its_records_until_reconfigured)        \
	X(units_idle_slot_configured_longest_ago_is_reused_first)          \
	X(units_record_reaches_only_units_with_users_each_by_its_filters)  \
	X(units_kernel_return_pops_only_a_stack_whose_top_is_its_call)     \
	X(elf_check_accepts_only_code_offsets_of_x86_64_files)             \
	X(uprobe_elf_check_reads_the_opened_file_not_its_path)             \
	X(uprobes_set_refusals_leave_the_set_as_it_was)

/* lbrctx_x86: kunit/test_x86.cpp */
#define LBRCTX_X86_CASES(X)                                                   \
	X(decoder_classifies_every_table_row)                                 \
	X(decoder_table_covers_every_kind)                                    \
	X(decoder_never_reads_past_n)                                         \
	X(decoder_refuses_instructions_longer_than_15_bytes)                  \
	X(decoder_target_is_address_plus_length_plus_sign_extended_rel)       \
	X(call_before_answers_every_table_row)                                \
	X(call_before_finds_the_call_both_old_copies_disagreed_on)            \
	X(call_before_never_reads_outside_its_n_bytes)                        \
	X(call_before_keeps_its_known_limitations)

/* lbrctx_hw: kunit/test_hw.cpp (lbrctx_hwtest.ko, the hardware guest only) */
#define LBRCTX_HW_CASES(X)                                                     \
	X(hw_records_every_taken_branch_of_known_code_exactly)                 \
	X(hw_call_stack_mode_keeps_the_calls_still_open)                       \
	X(hw_type_filter_records_only_its_type)                                \
	X(hw_user_only_unit_records_no_kernel_branch)                          \
	X(hw_plugin_refuses_reserved_lbr_ctl_bits_as_xrstors_would)            \
	X(hw_plugin_refuses_an_unsupported_depth)                              \
	X(hw_plugin_refuses_a_wrong_cpu_a_bad_mask_and_an_unknown_command)     \
	X(hw_plugin_takes_records_as_data_up_to_the_first_empty_one)

struct kunit;

#ifdef __cplusplus
extern "C" {
#endif

#define LBRCTX_CASE_DECL(name) void name(struct kunit *test) LBRCTX_NOEXCEPT;
LBRCTX_BASE_CASES(LBRCTX_CASE_DECL)
LBRCTX_STORE_CASES(LBRCTX_CASE_DECL)
LBRCTX_LBR_CASES(LBRCTX_CASE_DECL)
LBRCTX_PMU_CASES(LBRCTX_CASE_DECL)
LBRCTX_UNITS_CASES(LBRCTX_CASE_DECL)
LBRCTX_X86_CASES(LBRCTX_CASE_DECL)
LBRCTX_HW_CASES(LBRCTX_CASE_DECL)
#undef LBRCTX_CASE_DECL

/* lbrctx_tchain.ko (kunit/tchain.c): probe targets for lbrctx_pmu. */
void lbrctx_tchain_set_hook(void (*fn)(void *ctx), void *ctx) LBRCTX_NOEXCEPT;
void lbrctx_tchain_ka(void) LBRCTX_NOEXCEPT;
void lbrctx_tchain_kb(void) LBRCTX_NOEXCEPT;
void lbrctx_tchain_kc(void) LBRCTX_NOEXCEPT;
void lbrctx_tchain_leaf(void) LBRCTX_NOEXCEPT;

void lbrctx_kunit_fail(struct kunit *test, const char *file, int line,
		       const char *what) LBRCTX_NOEXCEPT;
void lbrctx_kunit_fail_eq(struct kunit *test, const char *file, int line, const char *lhs,
			  const char *rhs, long long lv, long long rv) LBRCTX_NOEXCEPT;
void lbrctx_kunit_info(struct kunit *test, const char *fmt, ...)
	LBRCTX_NOEXCEPT LBRCTX_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif

#endif
