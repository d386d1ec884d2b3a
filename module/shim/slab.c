// SPDX-License-Identifier: GPL-2.0
/*
 * Slab wrappers. kmem_cache_create() is a _Generic macro from 6.12 on, which
 * C++ cannot call; the C++ reaches the allocator through these functions.
 * And kvmalloc, for memory sized by what a user wrote (the user probe set).
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/version.h>
#include <lbrctx/shim.h>

static gfp_t lbrctx_gfp(enum lbrctx_gfp gfp)
{
	return gfp == LBRCTX_GFP_NOWAIT ? GFP_NOWAIT | __GFP_NOWARN : GFP_KERNEL;
}

/*
 * Our caches are never merged with another cache, so that their object
 * counts (and SLUB's "Objects remaining" check at destroy time) are ours
 * alone, and failslab can be pointed at them alone through
 * /sys/kernel/slab/<name>/failslab. SLAB_NO_MERGE exists from 6.5 on.
 * Before that, slab_unmergeable() treats a cache with a usercopy region as
 * unmergeable; we whitelist the smallest region there is, the first byte.
 */
void *lbrctx_shim_cache_create(const char *name, u32 size, u32 align)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	struct kmem_cache_args args = { .align = align };

	return __kmem_cache_create_args(name, size, &args, SLAB_NO_MERGE);
#elif defined(SLAB_NO_MERGE)
	return kmem_cache_create(name, size, align, SLAB_NO_MERGE, NULL);
#else
	return kmem_cache_create_usercopy(name, size, align, 0, 0, 1, NULL);
#endif
}

void lbrctx_shim_cache_destroy(void *cache)
{
	kmem_cache_destroy(cache);
}

void *lbrctx_shim_cache_zalloc(void *cache, enum lbrctx_gfp gfp)
{
	return kmem_cache_zalloc(cache, lbrctx_gfp(gfp));
}

void lbrctx_shim_cache_free(void *cache, void *p)
{
	kmem_cache_free(cache, p);
}

u32 lbrctx_shim_cache_object_size(void *cache)
{
	return kmem_cache_size(cache);
}

/*
 * Task context, may sleep: zeroed memory, kvzalloc()'s two allocators
 * chosen by size. Past a page, vmalloc at once: kvzalloc() tries kmalloc
 * first, which takes the next power of two of pages when it succeeds (a
 * 632 KiB set took 1 MiB); vmalloc takes whole pages.
 */
void *lbrctx_shim_kvzalloc(size_t size)
{
	if (size > PAGE_SIZE)
		return vzalloc(size);
	return kvzalloc(size, GFP_KERNEL);
}

void lbrctx_shim_kvfree(void *p)
{
	kvfree(p);
}

/*
 * What @p (@size bytes asked of lbrctx_shim_kvzalloc()) took: the slab
 * object kmalloc rounds @size up to (not ksize(), which on KASAN kernels
 * unpoisons the slack), or whole pages.
 */
size_t lbrctx_shim_kvsize(const void *p, size_t size)
{
	return is_vmalloc_addr(p) ? PAGE_ALIGN(size) : kmalloc_size_roundup(size);
}
