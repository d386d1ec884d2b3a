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
