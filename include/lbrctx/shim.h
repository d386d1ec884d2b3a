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

/* module/shim/module.c: the C++ core entry points it calls. */
int lbrctx_core_init(void) LBRCTX_NOEXCEPT;
void lbrctx_core_exit(void) LBRCTX_NOEXCEPT;
#ifdef __cplusplus
}
#endif

#endif /* LBRCTX_SHIM_H */
