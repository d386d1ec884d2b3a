/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The extern "C" boundary between lbrctx's C++ and the kernel.
 *
 * This header is included by C++ and by the C shim (the .c files of module/shim), which
 * is the only code that includes kernel headers. It uses fixed-width types
 * only, so that it means the same in both languages; every function is a
 * thin wrapper of one kernel API and keeps that API's errno meanings.
 */
#ifndef LBRCTX_SHIM_H
#define LBRCTX_SHIM_H

#ifdef __cplusplus
#define LBRCTX_NOEXCEPT noexcept
#else
#define LBRCTX_NOEXCEPT
#endif

#ifndef __cplusplus
#include <linux/types.h>	/* the C shim is the only C that includes this */
#else
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed int s32;
typedef signed long long s64;
typedef __SIZE_TYPE__ size_t;
#endif

#define LBRCTX_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Allocation contexts, mapped to GFP flags by the shim. */
enum lbrctx_gfp {
	LBRCTX_GFP_KERNEL = 0,	/* may sleep */
	LBRCTX_GFP_NOWAIT = 1,	/* no sleeping, no reserves: under RCU */
	LBRCTX_GFP_ATOMIC = 2,	/* IRQ or NMI-adjacent context */
};

/* Log levels, mapped to KERN_* by the shim. */
enum lbrctx_log_level {
	LBRCTX_LOG_ERR = 3,
	LBRCTX_LOG_WARNING = 4,
	LBRCTX_LOG_INFO = 6,
	LBRCTX_LOG_DEBUG = 7,
};

struct lbrctx_kmem_cache;	/* opaque: struct kmem_cache */

#ifdef __cplusplus
extern "C" {
#endif
/* module/shim/slab.c */
/*
 * Create a dedicated cache that is never merged with another one.
 * Returns NULL on failure (the kernel has already logged why).
 */
struct lbrctx_kmem_cache *lbrctx_shim_cache_create(const char *name, u32 size,
						   u32 align) LBRCTX_NOEXCEPT;
void lbrctx_shim_cache_destroy(struct lbrctx_kmem_cache *c) LBRCTX_NOEXCEPT;
void *lbrctx_shim_cache_zalloc(struct lbrctx_kmem_cache *c,
			       enum lbrctx_gfp gfp) LBRCTX_NOEXCEPT;
void lbrctx_shim_cache_free(struct lbrctx_kmem_cache *c, void *p) LBRCTX_NOEXCEPT;
/* The size the allocator really hands out for each object of @c. */
u32 lbrctx_shim_cache_object_size(struct lbrctx_kmem_cache *c) LBRCTX_NOEXCEPT;

/* module/shim/print.c */
void lbrctx_shim_log(enum lbrctx_log_level level, const char *fmt, ...)
	LBRCTX_NOEXCEPT LBRCTX_PRINTF(2, 3);
/* The same, rate-limited: for refusals a user can trigger at will. */
void lbrctx_shim_log_rl(enum lbrctx_log_level level, const char *fmt, ...)
	LBRCTX_NOEXCEPT LBRCTX_PRINTF(2, 3);
/* WARN_ONCE-style report of a broken invariant; returns @cond. */
bool lbrctx_shim_warn(bool cond, const char *what, const char *file,
		      int line) LBRCTX_NOEXCEPT;

/* module/shim/fpu.c */
/* True when the CPU has XSAVE and the kernel enabled it (CR4.OSXSAVE). */
bool lbrctx_shim_cpu_has_xsave(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_fpu_begin(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_fpu_end(void) LBRCTX_NOEXCEPT;

/* module/shim/sync.c */
void lbrctx_shim_rcu_read_lock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_rcu_read_unlock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_rcu_barrier(void) LBRCTX_NOEXCEPT;
/* call_rcu() on a task data object's rcu_head; calls lbrctx_store_free_rcu(). */
void lbrctx_shim_call_rcu_task_data(void *rcu_head) LBRCTX_NOEXCEPT;
/* call_rcu() on an event state's rcu_head; calls lbrctx_pmu_free_rcu(). */
void lbrctx_shim_call_rcu_event(void *rcu_head) LBRCTX_NOEXCEPT;
/* refcount_t operations on storage of LBRCTX_K_SIZEOF_REFCOUNT bytes. */
void lbrctx_shim_refcount_set(void *r, u32 v) LBRCTX_NOEXCEPT;
u32 lbrctx_shim_refcount_read(const void *r) LBRCTX_NOEXCEPT;
bool lbrctx_shim_refcount_inc_not_zero(void *r) LBRCTX_NOEXCEPT;
bool lbrctx_shim_refcount_dec_and_test(void *r) LBRCTX_NOEXCEPT;
/* refcount_dec_and_lock() with the store lock: true means zero and locked. */
bool lbrctx_shim_refcount_dec_and_store_lock(void *r) LBRCTX_NOEXCEPT;
void lbrctx_shim_store_lock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_store_unlock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_global_lock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_global_unlock(void) LBRCTX_NOEXCEPT;

/* module/shim/hash.c: task pointer -> hash node (LBRCTX_K_SIZEOF_HNODE). */
int lbrctx_shim_hash_init(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_hash_destroy(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_hnode_set_key(void *hnode, const void *key) LBRCTX_NOEXCEPT;
void *lbrctx_shim_hash_lookup(const void *key) LBRCTX_NOEXCEPT;
int lbrctx_shim_hash_insert(void *hnode) LBRCTX_NOEXCEPT;
int lbrctx_shim_hash_remove(void *hnode) LBRCTX_NOEXCEPT;

/* module/shim/task.c */
void *lbrctx_shim_current(void) LBRCTX_NOEXCEPT;
bool lbrctx_shim_task_exiting(const void *task) LBRCTX_NOEXCEPT;
void lbrctx_shim_get_task(void *task) LBRCTX_NOEXCEPT;
void lbrctx_shim_put_task(void *task) LBRCTX_NOEXCEPT;
int lbrctx_shim_for_each_thread(int (*fn)(void *task, void *ctx), void *ctx) LBRCTX_NOEXCEPT;

/* module/shim/tracepoint.c: sched_process_fork and sched_process_exit. */
int lbrctx_shim_probes_register(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_probes_unregister(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_tracepoint_synchronize_unregister(void) LBRCTX_NOEXCEPT;

/* module/shim/debugfs.c */
void lbrctx_shim_debugfs_init(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_debugfs_exit(void) LBRCTX_NOEXCEPT;

/* module/shim/kthread.c: for lbrctx_kunit and lbrctx_bench. */
void *lbrctx_kt_start(int (*fn)(void *), void *arg, const char *name) LBRCTX_NOEXCEPT;
int lbrctx_kt_stop(void *task) LBRCTX_NOEXCEPT;
bool lbrctx_kt_should_stop(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_wait_for_stop(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_msleep(u32 ms) LBRCTX_NOEXCEPT;
void lbrctx_kt_cpu_relax(void) LBRCTX_NOEXCEPT;
void lbrctx_kt_yield(void) LBRCTX_NOEXCEPT;
int lbrctx_kt_become_uid(u32 uid) LBRCTX_NOEXCEPT;
u32 lbrctx_kt_current_uid(void) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_ktime_ns(void) LBRCTX_NOEXCEPT;
/* Bytes of unreclaimable slab memory in the system (NR_SLAB_UNRECLAIMABLE_B). */
u64 lbrctx_shim_slab_unreclaimable_bytes(void) LBRCTX_NOEXCEPT;

/* module/shim/cpu.c: per-CPU memory, interrupts, clocks. */
void *lbrctx_shim_percpu_alloc(size_t size, size_t align) LBRCTX_NOEXCEPT;
void lbrctx_shim_percpu_free(void *pcp) LBRCTX_NOEXCEPT;
/* Preemption or interrupts must be off. */
void *lbrctx_shim_this_cpu_ptr(void *pcp) LBRCTX_NOEXCEPT;
void *lbrctx_shim_per_cpu_ptr(void *pcp, u32 cpu) LBRCTX_NOEXCEPT;
u32 lbrctx_shim_nr_cpu_ids(void) LBRCTX_NOEXCEPT;
bool lbrctx_shim_cpu_possible(u32 cpu) LBRCTX_NOEXCEPT;
unsigned long lbrctx_shim_irq_save(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_irq_restore(unsigned long flags) LBRCTX_NOEXCEPT;
bool lbrctx_shim_in_nmi(void) LBRCTX_NOEXCEPT;
/* 0 task, 1 softirq, 2 hardirq, 3 NMI (interrupt_context_level() - 0-based). */
u32 lbrctx_shim_ctx_level(void) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_local_clock(void) LBRCTX_NOEXCEPT;
/* copy_from_kernel_nofault(): false when @addr is not readable kernel memory. */
bool lbrctx_shim_read_kernel(void *dst, u64 addr, size_t n) LBRCTX_NOEXCEPT;

/* module/shim/pmu.c: the perf PMU. */
#define LBRCTX_SNAP_MAX 32
struct lbrctx_branch_rec {
	u64 from;
	u64 to;
	u64 info;	/* Arch LBR LBR_INFO layout */
};

/* The branch records of one sample, youngest first. */
struct lbrctx_snapshot {
	u32 nr;
	u32 pad;
	struct lbrctx_branch_rec rec[LBRCTX_SNAP_MAX];
};

/* How an event wants its branch entries (from branch_sample_type). */
enum lbrctx_br_flags {
	LBRCTX_BR_TYPE_SAVE = 1,
	LBRCTX_BR_NO_CYCLES = 2,
	LBRCTX_BR_PRIV_SAVE = 4,
	LBRCTX_BR_NO_FLAGS = 8,
};

/* The C-visible head of each event's state; the C++ EventState starts with it. */
struct lbrctx_ev {
	void *head;		/* struct hlist_head: this event alone, for perf_tp_event() */
	void *event;		/* struct perf_event */
	void *orig_handler;	/* the overflow handler the core gave the event */
	u32 br_flags;
	u32 pad;
};

/* An event's attributes, copied out for the C++ to validate. */
struct lbrctx_attr {
	u64 config;
	u64 config1;
	u64 config2;
	u64 period;		/* sample_period, or sample_freq when freq */
	u64 sample_type;
	u64 branch_sample_type;
	s32 cpu;		/* -1: any */
	u8 freq;
	u8 exclude_user;
	u8 exclude_kernel;
	u8 exclude_idle;
	u8 inherit;
	u8 sigtrap;
	u8 precise_ip;
	u8 foreign_leader;	/* group leader of another PMU */
	u8 has_task;		/* per-task event: hw.target is set */
	u8 has_parent;		/* an inherited child event */
	void *task;		/* hw.target, or NULL */
	struct lbrctx_ev *parent_ev;	/* the parent's state when has_parent */
};


int lbrctx_shim_pmu_register(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_pmu_unregister(void) LBRCTX_NOEXCEPT;
/* The state of a perf event of ours; its hw.state. */
u32 lbrctx_shim_hw_state(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
void lbrctx_shim_set_hw_state(struct lbrctx_ev *ev, u32 state) LBRCTX_NOEXCEPT;
void lbrctx_shim_event_add_count(struct lbrctx_ev *ev, u64 n) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_event_count(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
/* Use a fixed period (event_init): the core's sample_period and period_left. */
void lbrctx_shim_event_set_period(struct lbrctx_ev *ev, u64 period) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_event_period(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
/* hw.hrtimer of the event: HARD, pinned, CLOCK_MONOTONIC. */
void lbrctx_shim_timer_init(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
void lbrctx_shim_timer_start(struct lbrctx_ev *ev, u64 ns) LBRCTX_NOEXCEPT;
void lbrctx_shim_timer_try_cancel(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
void lbrctx_shim_timer_cancel(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
/*
 * Emit one sample of @ev with @snap as its branch stack, counting @count,
 * through perf_tp_event() over the event's own hlist. @irq_regs: take the
 * interrupted registers (hrtimer), else the caller's. 0 when perf_tp_event()
 * ran; -EBUSY on recursion; -EAGAIN when the exclude_* bits filter it.
 */
int lbrctx_shim_emit(struct lbrctx_ev *ev, u64 count, const struct lbrctx_snapshot *snap,
		     bool irq_regs) LBRCTX_NOEXCEPT;
/* In-kernel counters, for the lbrctx_pmu KUnit suite. */
struct lbrctx_kattr {
	u64 config;
	u64 config1;
	u64 period;
	u64 sample_type;
	u64 branch_sample_type;
	u32 type;		/* 0: lbrctx's own */
	u8 freq;
	u8 exclude_kernel;
	u8 exclude_user;
	u8 disabled;
};
void *lbrctx_kt_counter_create(const struct lbrctx_kattr *a, s32 cpu, void *task,
			       int *err) LBRCTX_NOEXCEPT;
void lbrctx_kt_counter_release(void *event) LBRCTX_NOEXCEPT;
u64 lbrctx_kt_counter_read(void *event) LBRCTX_NOEXCEPT;
void lbrctx_kt_counter_enable(void *event) LBRCTX_NOEXCEPT;
void lbrctx_kt_counter_disable(void *event) LBRCTX_NOEXCEPT;
u32 lbrctx_kt_pmu_type(void) LBRCTX_NOEXCEPT;
u32 lbrctx_kt_sw_pmu_type(void) LBRCTX_NOEXCEPT;

/* module/shim/source.c: fprobe (kretprobe without CONFIG_FPROBE). */
#define LBRCTX_MAX_PATTERNS 8
/* Per-call data the probe keeps between a function's entry and its return. */
struct lbrctx_call {
	u64 ret_ip;
	u64 armed;
};
bool lbrctx_shim_source_available(void) LBRCTX_NOEXCEPT;
/* What feeds the emulated LBR in this build, for the load message. */
const char *lbrctx_shim_source_name(void) LBRCTX_NOEXCEPT;
/* module/shim/anchor.c: hold one fgraph user while loaded (6.14+). */
int lbrctx_shim_anchor_register(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_anchor_unregister(void) LBRCTX_NOEXCEPT;
int lbrctx_shim_probe_register(u32 slot, const char *glob) LBRCTX_NOEXCEPT;
void lbrctx_shim_probe_unregister(u32 slot) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_probe_missed(u32 slot) LBRCTX_NOEXCEPT;
void lbrctx_shim_schedule_reap(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_flush_reap(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_source_mutex_lock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_source_mutex_unlock(void) LBRCTX_NOEXCEPT;
/* Module parameters (module/shim/module.c). */
const char *lbrctx_param_probes(void) LBRCTX_NOEXCEPT;
bool lbrctx_param_save_restore(void) LBRCTX_NOEXCEPT;

/* The C++ side of the PMU (module/pmu.cpp), called by the shim. */
int lbrctx_pmu_event_init(const struct lbrctx_attr *a, struct lbrctx_ev **out) LBRCTX_NOEXCEPT;
/* After the shim has set ev->event, still inside event_init. */
void lbrctx_pmu_event_ready(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
void lbrctx_pmu_event_destroy(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
int lbrctx_pmu_add(struct lbrctx_ev *ev, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_del(struct lbrctx_ev *ev, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_start(struct lbrctx_ev *ev, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_stop(struct lbrctx_ev *ev, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_read(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
/* hrtimer callback (hard IRQ): the next period in ns, or 0 to stop. */
u64 lbrctx_pmu_tick(struct lbrctx_ev *ev) LBRCTX_NOEXCEPT;
void lbrctx_pmu_free_rcu(void *rcu_head) LBRCTX_NOEXCEPT;
/* sched_switch probe: interrupts off, runqueue locked. */
void lbrctx_pmu_switch(void *prev, void *next) LBRCTX_NOEXCEPT;
/* Branch source handlers (module/source.cpp). */
bool lbrctx_source_entry(u64 entry_ip, u64 ret_ip, u64 sp, struct lbrctx_call *c) LBRCTX_NOEXCEPT;
void lbrctx_source_exit(u64 entry_ip, struct lbrctx_call *c) LBRCTX_NOEXCEPT;
void lbrctx_source_reap(void) LBRCTX_NOEXCEPT;
/* debugfs: the probe set (read and replace) and the PMU's live state. */
int lbrctx_source_show(char *buf, size_t size) LBRCTX_NOEXCEPT;
int lbrctx_source_set(const char *globs) LBRCTX_NOEXCEPT;

struct lbrctx_pmu_stats {
	u64 events;		/* lbrctx events that exist */
	u64 records;		/* branches recorded, all CPUs */
	u64 saves;
	u64 restores;
	u64 resets;
	u64 samples;
	u64 dropped;		/* records not taken: NMI, recursion */
	u64 probes_registered;	/* patterns with a registered probe */
	u64 probe_users;
	u64 probe_missed;
};
void lbrctx_pmu_get_stats(struct lbrctx_pmu_stats *s) LBRCTX_NOEXCEPT;
/* For lbrctx_kunit: this CPU's unit records and LBR_CTL. */
void lbrctx_pmu_test_snapshot(struct lbrctx_snapshot *snap, u64 *lbr_ctl) LBRCTX_NOEXCEPT;

/* module/shim/module.c: the C++ core entry points it calls. */
int lbrctx_core_init(void) LBRCTX_NOEXCEPT;
void lbrctx_core_exit(void) LBRCTX_NOEXCEPT;

/*
 * The per-task store (module/store.cpp), exported for lbrctx_kunit. The
 * object type is defined by the C++ (include/lbrctx/store.h).
 */
struct lbrctx_task_data;

struct lbrctx_store_stats {
	u64 objects;		/* live slab objects */
	u64 allocs;		/* objects ever allocated */
	u64 alloc_failures;
	u64 attaches;		/* references taken */
	u64 detaches;		/* references dropped */
	u64 global_users;	/* system-wide users */
	u64 global_attached;	/* objects holding a global reference */
	u64 object_size;
};

int lbrctx_store_attach(void *task, struct lbrctx_task_data **out) LBRCTX_NOEXCEPT;
void lbrctx_store_put(struct lbrctx_task_data *td) LBRCTX_NOEXCEPT;
int lbrctx_store_attach_task_owned(void *task) LBRCTX_NOEXCEPT;
void lbrctx_store_own(struct lbrctx_task_data *td) LBRCTX_NOEXCEPT;
int lbrctx_store_detach(void *task) LBRCTX_NOEXCEPT;
int lbrctx_store_attach_global(void) LBRCTX_NOEXCEPT;
int lbrctx_store_detach_global(void) LBRCTX_NOEXCEPT;
struct lbrctx_task_data *lbrctx_store_lookup(const void *task) LBRCTX_NOEXCEPT;
u32 lbrctx_store_refcount(const struct lbrctx_task_data *td) LBRCTX_NOEXCEPT;
bool lbrctx_store_has_global(const struct lbrctx_task_data *td) LBRCTX_NOEXCEPT;
void lbrctx_store_get_stats(struct lbrctx_store_stats *s) LBRCTX_NOEXCEPT;
void lbrctx_store_test_fail_allocs(u32 after, u32 count) LBRCTX_NOEXCEPT;
void lbrctx_store_test_set_walk_hook(void (*fn)(void *ctx), void *ctx) LBRCTX_NOEXCEPT;
/* Called by the shim's probes and RCU callback. */
void lbrctx_store_on_fork(void *child) LBRCTX_NOEXCEPT;
void lbrctx_store_on_exit(void *task) LBRCTX_NOEXCEPT;
void lbrctx_store_free_rcu(void *rcu_head) LBRCTX_NOEXCEPT;
#ifdef __cplusplus
}
#endif

#endif /* LBRCTX_SHIM_H */
