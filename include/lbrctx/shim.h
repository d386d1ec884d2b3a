/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The extern "C" boundary between lbrctx's C++ and the kernel.
 *
 * Included by the C++ and by the C shim (the .c files of module/shim), the
 * only code that includes kernel headers. Fixed-width types only, so that it means
 * the same in both languages. Every lbrctx_shim_* function wraps one kernel
 * API or one access to a kernel struct and keeps that API's errno meanings;
 * kernel objects are opaque pointers, or storage whose size the generated
 * layout (include/generated/lbrctx/layout.h) gives. The C++ functions the
 * shim's kernel callbacks call are declared at the end: each callback
 * crosses into C++ once.
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
typedef signed char s8;
typedef signed int s32;
typedef signed long long s64;
typedef __SIZE_TYPE__ size_t;
#endif

#define LBRCTX_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Allocation contexts, mapped to GFP flags by the shim. */
enum lbrctx_gfp {
	LBRCTX_GFP_KERNEL = 0,	/* may sleep */
	LBRCTX_GFP_NOWAIT = 1,	/* no sleeping, no reserves: under RCU, in a probe */
};

/* Log levels, mapped to KERN_* by the shim. */
enum lbrctx_log_level {
	LBRCTX_LOG_ERR = 3,
	LBRCTX_LOG_WARNING = 4,
	LBRCTX_LOG_INFO = 6,
};

/* The tracepoint probes the shim defines (module/shim/tracepoint.c). */
enum lbrctx_tp_probe {
	LBRCTX_TP_FORK,		/* sched_process_fork -> lbrctx_on_fork() */
	LBRCTX_TP_EXIT,		/* sched_process_exit -> lbrctx_on_exit() */
	LBRCTX_TP_SWITCH,	/* sched_switch -> lbrctx_on_switch() */
};

/* What feeds the emulated LBR in this build (module/shim/source.c). */
enum lbrctx_source_kind {
	LBRCTX_SOURCE_NONE,
	LBRCTX_SOURCE_FPROBE,		/* function entry and return, globs */
	LBRCTX_SOURCE_KRETPROBE,	/* no CONFIG_FPROBE: exact names */
};

/*
 * One call_rcu() for every C++ object: @head is a struct rcu_head (two
 * pointers; the shim asserts it), @fn runs after the grace period.
 */
struct lbrctx_rcu {
	void *head[2];
	void (*fn)(struct lbrctx_rcu *r) LBRCTX_NOEXCEPT;
};

/* An event's attributes, as event_init reads them (lbrctx_shim_event_attr()). */
struct lbrctx_attr {
	u64 config;
	u64 config1;
	u64 config2;
	u64 period;		/* sample_period, or sample_freq when freq */
	u64 sample_type;
	u64 branch_sample_type;
	s32 cpu;		/* -1: any */
	u16 sample_max_stack;
	u8 type_is_ours;	/* attr.type is lbrctx's PMU type */
	u8 freq;
	u8 exclude_user;
	u8 exclude_kernel;
	u8 exclude_idle;
	u8 sigtrap;
	u8 precise_ip;
	u8 foreign_leader;	/* group leader of another PMU */
	u8 has_task;		/* per-task event: PERF_ATTACH_TASK */
	u8 pad;
	void *task;		/* hw.target, or NULL */
	void *parent;		/* the parent event of an inherited child, or NULL */
};

#ifdef __cplusplus
extern "C" {
#endif

/* module/shim/print.c */
/* printk at @level; with @limited, under one rate limit (refusals a user can trigger at will). */
void lbrctx_shim_log(enum lbrctx_log_level level, bool limited, const char *fmt, ...)
	LBRCTX_NOEXCEPT LBRCTX_PRINTF(3, 4);
/* WARN() with the expression and its place; returns @cond. */
bool lbrctx_shim_warn(bool cond, const char *what, const char *file, int line) LBRCTX_NOEXCEPT;

/* module/shim/slab.c: dedicated caches, never merged with another. */
void *lbrctx_shim_cache_create(const char *name, u32 size, u32 align) LBRCTX_NOEXCEPT;
void lbrctx_shim_cache_destroy(void *cache) LBRCTX_NOEXCEPT;
void *lbrctx_shim_cache_zalloc(void *cache, enum lbrctx_gfp gfp) LBRCTX_NOEXCEPT;
void lbrctx_shim_cache_free(void *cache, void *p) LBRCTX_NOEXCEPT;
u32 lbrctx_shim_cache_object_size(void *cache) LBRCTX_NOEXCEPT;
/* kvzalloc(): slab up to a page, vmalloc beyond; task context, may sleep; NULL when out of memory. */
void *lbrctx_shim_kvzalloc(size_t size) LBRCTX_NOEXCEPT;
void lbrctx_shim_kvfree(void *p) LBRCTX_NOEXCEPT;
/* The bytes @p (@size asked of lbrctx_shim_kvzalloc()) took: its slab object, or whole pages. */
size_t lbrctx_shim_kvsize(const void *p, size_t size) LBRCTX_NOEXCEPT;

/* module/shim/sync.c: locks, RCU, refcount_t, interrupts. */
void lbrctx_shim_spin_lock_init(void *lock, const char *name, void *key) LBRCTX_NOEXCEPT;
void lbrctx_shim_spin_lock(void *lock) LBRCTX_NOEXCEPT;
void lbrctx_shim_spin_unlock(void *lock) LBRCTX_NOEXCEPT;
void lbrctx_shim_mutex_init(void *mutex, const char *name, void *key) LBRCTX_NOEXCEPT;
void lbrctx_shim_mutex_lock(void *mutex) LBRCTX_NOEXCEPT;
void lbrctx_shim_mutex_unlock(void *mutex) LBRCTX_NOEXCEPT;
void lbrctx_shim_rcu_read_lock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_rcu_read_unlock(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_call_rcu(struct lbrctx_rcu *r) LBRCTX_NOEXCEPT;
void lbrctx_shim_rcu_barrier(void) LBRCTX_NOEXCEPT;
/* From any context: have a workqueue run lbrctx_store_refill() (an irq_work queues it). */
void lbrctx_shim_refill_kick(void) LBRCTX_NOEXCEPT;
/* Task context: no refill runs past it. */
void lbrctx_shim_refill_cancel(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_refcount_set(void *r, u32 v) LBRCTX_NOEXCEPT;
u32 lbrctx_shim_refcount_read(const void *r) LBRCTX_NOEXCEPT;
bool lbrctx_shim_refcount_inc_not_zero(void *r) LBRCTX_NOEXCEPT;
bool lbrctx_shim_refcount_dec_and_test(void *r) LBRCTX_NOEXCEPT;
/* refcount_dec_and_lock(): true means the count hit zero and @lock is held. */
bool lbrctx_shim_refcount_dec_and_lock(void *r, void *lock) LBRCTX_NOEXCEPT;
unsigned long lbrctx_shim_irq_save(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_irq_restore(unsigned long flags) LBRCTX_NOEXCEPT;

/* module/shim/hash.c: an rhashtable of struct lbrctx_hnode keyed by pointer. */
int lbrctx_shim_hash_init(void *ht) LBRCTX_NOEXCEPT;
void lbrctx_shim_hash_destroy(void *ht) LBRCTX_NOEXCEPT;
/* Under rcu_read_lock(); returns the hnode or NULL. */
void *lbrctx_shim_hash_lookup(void *ht, const void *key) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_hash_table_bytes(void *ht) LBRCTX_NOEXCEPT;
int lbrctx_shim_hash_insert(void *ht, void *hnode) LBRCTX_NOEXCEPT;
int lbrctx_shim_hash_remove(void *ht, void *hnode) LBRCTX_NOEXCEPT;

/* module/shim/task.c */
void *lbrctx_shim_current(void) LBRCTX_NOEXCEPT;
/* PF_EXITING: do_exit() sets it before the sched_process_exit tracepoint. */
bool lbrctx_shim_task_exiting(const void *task) LBRCTX_NOEXCEPT;
bool lbrctx_shim_task_is_idle(const void *task) LBRCTX_NOEXCEPT;
void lbrctx_shim_get_task(void *task) LBRCTX_NOEXCEPT;
void lbrctx_shim_put_task(void *task) LBRCTX_NOEXCEPT;
/*
 * for_each_process_thread() under rcu_read_lock(): @fn must not sleep;
 * the walk stops at the first non-zero return, which it returns.
 */
int lbrctx_shim_for_each_thread(int (*fn)(void *task, void *ctx) LBRCTX_NOEXCEPT,
				void *ctx) LBRCTX_NOEXCEPT;

/* module/shim/cpu.c: per-CPU memory, context, clocks. */
void *lbrctx_shim_percpu_alloc(size_t size, size_t align) LBRCTX_NOEXCEPT;
void lbrctx_shim_percpu_free(void *pcp) LBRCTX_NOEXCEPT;
/* Preemption or interrupts must be off. */
void *lbrctx_shim_this_cpu_ptr(void *pcp) LBRCTX_NOEXCEPT;
void *lbrctx_shim_per_cpu_ptr(void *pcp, u32 cpu) LBRCTX_NOEXCEPT;
u32 lbrctx_shim_nr_cpu_ids(void) LBRCTX_NOEXCEPT;
bool lbrctx_shim_cpu_possible(u32 cpu) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_local_clock(void) LBRCTX_NOEXCEPT;
/* copy_from_kernel_nofault(): false when @addr is not readable. */
bool lbrctx_shim_read_kernel(void *dst, u64 addr, size_t n) LBRCTX_NOEXCEPT;
bool lbrctx_shim_cpu_has_xsave(void) LBRCTX_NOEXCEPT;


/* module/shim/fault.c: a fault_attr (<linux/fault-inject.h>). */
void lbrctx_shim_fault_init(void *attr) LBRCTX_NOEXCEPT;
bool lbrctx_shim_should_fail(void *attr, size_t size) LBRCTX_NOEXCEPT;
void lbrctx_shim_fault_debugfs(const char *name, void *dir, void *attr) LBRCTX_NOEXCEPT;

/* module/shim/tracepoint.c */
void *lbrctx_shim_tracepoint_find(const char *name) LBRCTX_NOEXCEPT;
int lbrctx_shim_tracepoint_register(void *tp, enum lbrctx_tp_probe probe, void *data) LBRCTX_NOEXCEPT;
void lbrctx_shim_tracepoint_unregister(void *tp, enum lbrctx_tp_probe probe,
				       void *data) LBRCTX_NOEXCEPT;
void lbrctx_shim_tracepoint_synchronize(void) LBRCTX_NOEXCEPT;

/*
 * module/shim/debugfs.c: files whose contents the C++ makes (lbrctx_debugfs_*).
 * A write of LBRCTX_DEBUGFS_WRITE_MAX bytes or more (the largest text a
 * file takes: a user probe set's, UserSource::kSpecMax) is not copied: it
 * reaches lbrctx_debugfs_write() with its length and no bytes, to be refused.
 */
#define LBRCTX_DEBUGFS_WRITE_MAX (4u << 20)
void *lbrctx_shim_debugfs_dir(const char *name, void *parent) LBRCTX_NOEXCEPT;
void lbrctx_shim_debugfs_file(const char *name, void *dir, bool writable, u32 id) LBRCTX_NOEXCEPT;
void lbrctx_shim_debugfs_remove(void *dir) LBRCTX_NOEXCEPT;
void lbrctx_shim_seq_printf(void *seq, const char *fmt, ...) LBRCTX_NOEXCEPT LBRCTX_PRINTF(2, 3);

/* module/shim/pmu.c: the perf PMU and its events. */
int lbrctx_shim_pmu_register(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_pmu_unregister(void) LBRCTX_NOEXCEPT;
u32 lbrctx_shim_pmu_type(void) LBRCTX_NOEXCEPT;
/*
 * store=upstream (module/pmu.cpp): the perf core's per-task store of 6.15+
 * (task_struct::perf_ctx_data). False on older kernels, where the other
 * three do nothing or return NULL.
 */
bool lbrctx_shim_upstream_store(void) LBRCTX_NOEXCEPT;
/* Before lbrctx_shim_pmu_register(): pmu->task_ctx_cache, a kmem_cache. */
void lbrctx_shim_pmu_set_task_ctx_cache(void *cache) LBRCTX_NOEXCEPT;
/* The last step of a successful event_init: the core attaches perf_ctx_data. */
void lbrctx_shim_event_attach_task_data(void *event) LBRCTX_NOEXCEPT;
/* Under RCU: @task's perf_ctx_data->data when its ctx_cache is @cache, else NULL. */
void *lbrctx_shim_task_ctx_data(void *task, void *cache) LBRCTX_NOEXCEPT;
/*
 * Task context: can an event of PMU @type (a perf type id) record branch
 * call stacks? An in-kernel counter on current is created and released.
 */
bool lbrctx_shim_pmu_has_call_stack(u32 type) LBRCTX_NOEXCEPT;
#define LBRCTX_K_PERF_TYPE_HARDWARE 0
void lbrctx_shim_event_attr(void *event, struct lbrctx_attr *a) LBRCTX_NOEXCEPT;
/* event_init: pmu_private, ->destroy, and the overflow handler lbrctx wraps. */
void lbrctx_shim_event_setup(void *event, void *priv) LBRCTX_NOEXCEPT;
/* The handler event_init found; lbrctx_shim_event_setup() installs lbrctx's. */
void *lbrctx_shim_event_handler(void *event) LBRCTX_NOEXCEPT;
bool lbrctx_shim_handler_is_lbrctx(void *handler) LBRCTX_NOEXCEPT;
/* INIT_HLIST_HEAD(@head), then the event on it: perf_tp_event() reaches it alone. */
void lbrctx_shim_event_hlist_add(void *event, void *head) LBRCTX_NOEXCEPT;
/* A fixed period, as cpu-clock sets it: the core's freq adjustment never runs. */
void lbrctx_shim_event_set_period(void *event, u64 period) LBRCTX_NOEXCEPT;
/* hw.hrtimer: HARD, pinned, CLOCK_MONOTONIC; calls lbrctx_pmu_tick(). */
void lbrctx_shim_timer_init(void *event) LBRCTX_NOEXCEPT;
void lbrctx_shim_timer_start(void *event, u64 ns) LBRCTX_NOEXCEPT;
void lbrctx_shim_timer_try_cancel(void *event) LBRCTX_NOEXCEPT;
void lbrctx_shim_timer_cancel(void *event) LBRCTX_NOEXCEPT;
/* A CPU's rotation timer (storage of LBRCTX_K_SIZEOF_HRTIMER): calls lbrctx_pmu_rotate(). */
void lbrctx_shim_cpu_timer_init(void *timer) LBRCTX_NOEXCEPT;
void lbrctx_shim_cpu_timer_start(void *timer, u64 ns) LBRCTX_NOEXCEPT;
void lbrctx_shim_cpu_timer_cancel(void *timer) LBRCTX_NOEXCEPT;
/* Sample emission through exported interfaces (see module/pmu.cpp). */
void *lbrctx_shim_irq_regs(void) LBRCTX_NOEXCEPT;
/* perf_fetch_caller_regs() into @regs (storage of LBRCTX_K_SIZEOF_PT_REGS). */
void lbrctx_shim_caller_regs(void *regs) LBRCTX_NOEXCEPT;
bool lbrctx_shim_regs_user_mode(const void *regs) LBRCTX_NOEXCEPT;
int lbrctx_shim_swevent_recursion_get(void) LBRCTX_NOEXCEPT;
/* perf_tp_event() over @head; puts @rctx. */
void lbrctx_shim_tp_event(u64 count, void *regs, void *head, int rctx) LBRCTX_NOEXCEPT;
/* Attach @stack (a struct perf_branch_stack) to the sample, unless it has one. */
void lbrctx_shim_sample_brstack(void *event, void *data, void *stack) LBRCTX_NOEXCEPT;
/* Run @handler (a perf_overflow_handler_t). */
void lbrctx_shim_call_handler(void *handler, void *event, void *data, void *regs) LBRCTX_NOEXCEPT;

/* module/shim/source.c: the kernel branch source. */
enum lbrctx_source_kind lbrctx_shim_source_kind(void) LBRCTX_NOEXCEPT;
#define LBRCTX_MAX_PATTERNS 8
/* Per-call data a probe keeps between a function's entry and its return. */
struct lbrctx_call {
	u64 ret_ip;
	u64 armed;
};
int lbrctx_shim_probe_register(u32 slot, const char *pattern) LBRCTX_NOEXCEPT;
void lbrctx_shim_probe_unregister(u32 slot) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_probe_missed(u32 slot) LBRCTX_NOEXCEPT;
/* The deferred unregistration (a work item calling lbrctx_source_reap()). */
void lbrctx_shim_reap_schedule(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_reap_cancel(void) LBRCTX_NOEXCEPT;

/* module/shim/uprobe.c: the user branch source. */
bool lbrctx_shim_uprobes_available(void) LBRCTX_NOEXCEPT;
/* @u: storage of LBRCTX_K_SIZEOF_UPROBE bytes; @id comes back to the handlers. */
int lbrctx_shim_uprobe_register(void *u, void *inode, u64 offset, u32 id) LBRCTX_NOEXCEPT;
void lbrctx_shim_uprobe_unregister(void *u) LBRCTX_NOEXCEPT;
/* After unregistering: no handler runs past it. */
void lbrctx_shim_uprobe_sync(void) LBRCTX_NOEXCEPT;
/*
 * In a uprobe handler, for the current task: the newest live uretprobe
 * return instance whose return-address slot is @sp (the probed function
 * was entered by a tail call from a probed function, whose uretprobe put
 * its trampoline in the slot): the return address the kernel took from
 * the slot (*@ret), and the function that call entered (*@func, the
 * oldest instance of that slot). False when no instance has the slot.
 */
bool lbrctx_shim_uretprobe_frame(u64 sp, u64 *ret, u64 *func) LBRCTX_NOEXCEPT;
/* A regular file, opened, whose pages uprobes can read; else NULL and @err. */
void *lbrctx_shim_file_open(const char *path, int *err) LBRCTX_NOEXCEPT;
/* The open file's inode, referenced; lbrctx_shim_inode_put() drops it. */
void *lbrctx_shim_file_inode(void *file) LBRCTX_NOEXCEPT;
long lbrctx_shim_file_pread(void *file, u64 off, void *buf, size_t n) LBRCTX_NOEXCEPT;
void lbrctx_shim_file_close(void *file) LBRCTX_NOEXCEPT;
void lbrctx_shim_inode_put(void *inode) LBRCTX_NOEXCEPT;
u64 lbrctx_shim_inode_size(void *inode) LBRCTX_NOEXCEPT;
/* copy_from_user(): task context, may fault. */
bool lbrctx_shim_read_user(void *dst, u64 addr, size_t n) LBRCTX_NOEXCEPT;
bool lbrctx_shim_read_user_nofault(void *dst, u64 addr, size_t n) LBRCTX_NOEXCEPT;
void lbrctx_shim_regs_ip_sp(const void *regs, u64 *ip, u64 *sp) LBRCTX_NOEXCEPT;
void *lbrctx_shim_task_mm(void *task) LBRCTX_NOEXCEPT;

/* module/shim/hw.c: the ivshmem device of the QEMU plugin's LBR hardware. */
int lbrctx_shim_hw_register(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_hw_unregister(void) LBRCTX_NOEXCEPT;
u32 lbrctx_shim_idt_handlers(u64 *out, u32 n) LBRCTX_NOEXCEPT;
void lbrctx_shim_on_each_cpu(void (*fn)(void *arg) LBRCTX_NOEXCEPT, void *arg) LBRCTX_NOEXCEPT;
/* The CPU this runs on: preemption or interrupts off. */
u32 lbrctx_shim_cpu_id(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_synchronize_rcu(void) LBRCTX_NOEXCEPT;

/* module/shim/anchor.c: hold one fgraph user while loaded (6.14+). */
int lbrctx_shim_anchor_register(void) LBRCTX_NOEXCEPT;
void lbrctx_shim_anchor_unregister(void) LBRCTX_NOEXCEPT;

/* module/shim/module.c: module parameters. */
const char *lbrctx_param_probes(void) LBRCTX_NOEXCEPT;
const char *lbrctx_param_uprobes(void) LBRCTX_NOEXCEPT;
/* The source parameter. */
enum lbrctx_source_param {
	LBRCTX_SOURCE_AUTO,	/* the hardware where its device is present, else probes */
	LBRCTX_SOURCE_HW,	/* the QEMU plugin's LBR hardware; load fails without it */
	LBRCTX_SOURCE_PROBES,	/* fprobes or kretprobes, and uprobes */
};
enum lbrctx_source_param lbrctx_param_source(void) LBRCTX_NOEXCEPT;
bool lbrctx_param_save_restore(void) LBRCTX_NOEXCEPT;
/* Set the store parameter, as its write does: 0 or -errno. Task context. */
int lbrctx_shim_store_set(const char *val) LBRCTX_NOEXCEPT;
/* store=upstream is in force (module/shim/module.c). */
bool lbrctx_param_store_upstream(void) LBRCTX_NOEXCEPT;
/* A write of the store parameter: check it and put it in force; 0 or -errno (module/pmu.cpp). */
int lbrctx_store_mode_set(bool upstream) LBRCTX_NOEXCEPT;
/* A write of the save_restore parameter (module/pmu.cpp). */
void lbrctx_save_restore_set(bool on) LBRCTX_NOEXCEPT;

/*
 * The C++ that the shim's kernel callbacks call, one function each. The
 * context each runs in is documented at its definition.
 */
int lbrctx_core_init(void) LBRCTX_NOEXCEPT;				/* module/core.cpp */
void lbrctx_core_exit(void) LBRCTX_NOEXCEPT;
void lbrctx_debugfs_show(u32 id, void *seq) LBRCTX_NOEXCEPT;
int lbrctx_debugfs_write(u32 id, const char *buf, size_t n) LBRCTX_NOEXCEPT;
void lbrctx_store_refill(void) LBRCTX_NOEXCEPT;
void lbrctx_on_fork(void *data, void *child) LBRCTX_NOEXCEPT;		/* module/store.cpp */
void lbrctx_on_exit(void *data, void *task) LBRCTX_NOEXCEPT;
void lbrctx_on_switch(void *data, void *prev, void *next) LBRCTX_NOEXCEPT; /* module/pmu.cpp */
int lbrctx_pmu_event_init(void *event) LBRCTX_NOEXCEPT;
void lbrctx_pmu_event_destroy(void *priv) LBRCTX_NOEXCEPT;
int lbrctx_pmu_add(void *priv, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_del(void *priv, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_start(void *priv, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_stop(void *priv, int flags) LBRCTX_NOEXCEPT;
void lbrctx_pmu_read(void *priv) LBRCTX_NOEXCEPT;
u64 lbrctx_pmu_tick(void *priv) LBRCTX_NOEXCEPT;
void lbrctx_pmu_overflow(void *event, void *data, void *regs) LBRCTX_NOEXCEPT;
u64 lbrctx_pmu_rotate(void *timer) LBRCTX_NOEXCEPT;
bool lbrctx_source_entry(u64 ip, u64 ret_ip, u64 sp, struct lbrctx_call *c) LBRCTX_NOEXCEPT;
void lbrctx_source_exit(u64 ip, struct lbrctx_call *c) LBRCTX_NOEXCEPT;	/* module/source.cpp */
void lbrctx_source_reap(void) LBRCTX_NOEXCEPT;
void lbrctx_uprobe_entry(u32 id, u64 ip, u64 sp) LBRCTX_NOEXCEPT;	/* module/usource.cpp */
void lbrctx_uprobe_return(u32 id, u64 func, u64 ret_ip, u64 sp) LBRCTX_NOEXCEPT;
bool lbrctx_uprobe_filter(u32 id, void *mm) LBRCTX_NOEXCEPT;
int lbrctx_hw_probe(void *base, u64 size) LBRCTX_NOEXCEPT;		/* module/hw.cpp */
void lbrctx_hw_remove(void) LBRCTX_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* LBRCTX_SHIM_H */
