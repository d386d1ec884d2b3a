/* SPDX-License-Identifier: GPL-2.0 */
/* The test modules' kernel helpers (kunit/kthread.c), for their C and C++. */
#ifndef LBRCTX_KUNIT_KHELPERS_H
#define LBRCTX_KUNIT_KHELPERS_H

#include <lbrctx/shim.h>

/* An in-kernel counter's attributes. */
struct lbrctx_kattr {
	u64 config;
	u64 config1;
	u64 period;
	u64 sample_type;
	u64 branch_sample_type;
	u32 type;
	u8 freq;
	u8 exclude_kernel;
	u8 exclude_user;
	u8 disabled;
};

/* A perf_branch_entry, field by field, as the kernel's bitfields read it. */
struct lbrctx_kt_brentry {
	u64 from;
	u64 to;
	u32 mispred;
	u32 predicted;
	u32 cycles;
	u32 type;
	u32 priv;
};

#ifdef __cplusplus
extern "C" {
#endif
void *lbrctx_kt_start(int (*fn)(void *) LBRCTX_NOEXCEPT, void *arg, const char *name) LBRCTX_NOEXCEPT;
int lbrctx_kt_stop(void *task) LBRCTX_NOEXCEPT;
bool lbrctx_kt_should_stop(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_wait_for_stop(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_msleep(u32 ms) LBRCTX_NOEXCEPT;
void lbrctx_kt_cpu_relax(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_yield(void) LBRCTX_NOEXCEPT;
int lbrctx_kt_become_uid(u32 uid) LBRCTX_NOEXCEPT;
u32 lbrctx_kt_current_uid(void) LBRCTX_NOEXCEPT;
u64 lbrctx_kt_slab_unreclaimable_bytes(void) LBRCTX_NOEXCEPT;
u64 lbrctx_kt_ktime_ns(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_fpu_begin(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_fpu_end(void) LBRCTX_NOEXCEPT;
u32 lbrctx_kt_perf_type_max(void) LBRCTX_NOEXCEPT;
/* @task's task_struct::perf_ctx_data (6.15+; all zero before, or without one). */
struct lbrctx_kt_ctx {
	void *data;
	void *cache;
	u32 refs;
	int global;
};
void lbrctx_kt_ctx_data(void *task, struct lbrctx_kt_ctx *out) LBRCTX_NOEXCEPT;
/*
 * Install (@install) or take back a perf_ctx_data of a cache that is not
 * lbrctx's on @task, which nothing else may touch meanwhile: another
 * PMU's data in the slot. 0, -EBUSY when the slot is taken, -ENOMEM.
 */
int lbrctx_kt_ctx_data_foreign(void *task, bool install) LBRCTX_NOEXCEPT;
void *lbrctx_kt_counter_create(const struct lbrctx_kattr *a, s32 cpu, void *task,
			       int *err) LBRCTX_NOEXCEPT;
void lbrctx_kt_counter_release(void *event) LBRCTX_NOEXCEPT;
u64 lbrctx_kt_counter_read(void *event) LBRCTX_NOEXCEPT;
u64 lbrctx_kt_counter_read_times(void *event, u64 *enabled, u64 *running) LBRCTX_NOEXCEPT;
long lbrctx_kt_file_read(const char *name, void *buf, size_t n) LBRCTX_NOEXCEPT;
/* /bin/sh -c @cmd as a user-mode helper; its exit status, or a negative errno. */
int lbrctx_kt_run(const char *cmd) LBRCTX_NOEXCEPT;
void *lbrctx_kt_init_fs_begin(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_init_fs_end(void *old) LBRCTX_NOEXCEPT;
void lbrctx_kt_counter_enable(void *event) LBRCTX_NOEXCEPT;
void lbrctx_kt_counter_disable(void *event) LBRCTX_NOEXCEPT;
void lbrctx_kt_fault_set(void *attr, u32 probability, u32 interval, s32 times,
			 s32 space) LBRCTX_NOEXCEPT;
bool lbrctx_kt_fault_injection(void) LBRCTX_NOEXCEPT;
/* lbrctx_bench's U1 floor (kunit/bench_uprobe.c). */
int lbrctx_bench_u1_start(void) LBRCTX_NOEXCEPT;
/* K1 (kunit/bench_probe.c): the floor's probe, and one call of leaf 0 (bare), 1 (floor) or 2 (lbrctx's). */
int lbrctx_bench_k1_floor_start(const char *name) LBRCTX_NOEXCEPT;
void lbrctx_bench_k1_floor_stop(u64 *entries, u64 *exits) LBRCTX_NOEXCEPT;
u64 lbrctx_bench_k1_call(int which, u64 v) LBRCTX_NOEXCEPT;
int lbrctx_bench_k1(u32 calls, u32 rounds) LBRCTX_NOEXCEPT;
void lbrctx_bench_u1_stop(void) LBRCTX_NOEXCEPT;
/* The user source's handler lookup over lbrctx's uprobe set (kunit/bench_ulookup.cpp). */
int lbrctx_bench_ulookup(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_branch_entry(const u64 *words, struct lbrctx_kt_brentry *out) LBRCTX_NOEXCEPT;
#ifdef __cplusplus
}
#endif

#endif
