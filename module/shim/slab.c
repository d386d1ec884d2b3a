// SPDX-License-Identifier: GPL-2.0
/*
 * Slab wrappers. kmem_cache_create() is a _Generic macro from 6.12 on, which
 * C++ cannot call; the C++ reaches the allocator through these functions.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <lbrctx/shim.h>

static gfp_t lbrctx_gfp(enum lbrctx_gfp gfp)
{
	switch (gfp) {
	case LBRCTX_GFP_NOWAIT:
		return GFP_NOWAIT | __GFP_NOWARN;
	case LBRCTX_GFP_ATOMIC:
		return GFP_ATOMIC | __GFP_NOWARN;
	case LBRCTX_GFP_KERNEL:
	default:
		return GFP_KERNEL;
	}
}

/*
 * Our caches are never merged with another cache, so that their object
 * counts (and SLUB's "Objects remaining" check at destroy time) are ours
 * alone, and failslab can be pointed at them alone through
 * /sys/kernel/slab/<name>/failslab. SLAB_NO_MERGE exists from 6.5 on.
 * Before that, slab_unmergeable() treats a cache with a usercopy region as
 * unmergeable; we whitelist the smallest region there is, the first byte.
 */
struct lbrctx_kmem_cache *lbrctx_shim_cache_create(const char *name, u32 size,
						   u32 align)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct kmem_cache_args args = { .align = align };

	return (struct lbrctx_kmem_cache *)
		__kmem_cache_create_args(name, size, &args, SLAB_NO_MERGE);
#elif defined(SLAB_NO_MERGE)
	return (struct lbrctx_kmem_cache *)
		kmem_cache_create(name, size, align, SLAB_NO_MERGE, NULL);
#else
	return (struct lbrctx_kmem_cache *)
		kmem_cache_create_usercopy(name, size, align, 0, 0, 1, NULL);
#endif
}
EXPORT_SYMBOL_GPL(lbrctx_shim_cache_create);

void lbrctx_shim_cache_destroy(struct lbrctx_kmem_cache *c)
{
	kmem_cache_destroy((struct kmem_cache *)c);
}
EXPORT_SYMBOL_GPL(lbrctx_shim_cache_destroy);

void *lbrctx_shim_cache_zalloc(struct lbrctx_kmem_cache *c, enum lbrctx_gfp gfp)
{
	return kmem_cache_zalloc((struct kmem_cache *)c, lbrctx_gfp(gfp));
}
EXPORT_SYMBOL_GPL(lbrctx_shim_cache_zalloc);

void lbrctx_shim_cache_free(struct lbrctx_kmem_cache *c, void *p)
{
	kmem_cache_free((struct kmem_cache *)c, p);
}
EXPORT_SYMBOL_GPL(lbrctx_shim_cache_free);

u32 lbrctx_shim_cache_object_size(struct lbrctx_kmem_cache *c)
{
	return kmem_cache_size((struct kmem_cache *)c);
}
EXPORT_SYMBOL_GPL(lbrctx_shim_cache_object_size);
