/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SlabCache<T>: a dedicated kmem_cache for objects of type T, created with
 * alignof(T). Seeds 000/001: XSAVE faults on an area that is not 64-byte
 * aligned (Intel SDM Vol. 1, 13.7), and kzalloc() does not promise that
 * alignment, so PMU task data comes from a cache created with the alignment
 * the data needs.
 *
 * The cache counts its live objects so that destroy() can prove it finds
 * none: destroying a cache that still holds objects is refused with -EBUSY
 * instead of handing the kernel a cache whose objects are still in use.
 */
#pragma once

#include <lbrctx/atomic.h>
#include <lbrctx/result.h>

namespace lbrctx {

template <class T> class SlabCache;

/* Unique owner of one object of a SlabCache<T>; frees it when destroyed. */
template <class T> class [[nodiscard]] SlabPtr {
public:
	SlabPtr(SlabCache<T> &cache, T *p) : m_cache(&cache), m_ptr(p) {}
	SlabPtr(SlabPtr &&o) : m_cache(o.m_cache), m_ptr(o.m_ptr) { o.m_ptr = nullptr; }
	SlabPtr(const SlabPtr &) = delete;
	SlabPtr &operator=(const SlabPtr &) = delete;
	SlabPtr &operator=(SlabPtr &&) = delete;
	~SlabPtr()
	{
		if (m_ptr)
			m_cache->free(m_ptr);
	}

	T *get() const { return m_ptr; }
	T *operator->() const { return m_ptr; }
	T &operator*() const { return *m_ptr; }

	/*
	 * Give up ownership. The caller becomes responsible for handing the
	 * pointer back to SlabCache<T>::free() exactly once.
	 */
	[[nodiscard]] T *leak()
	{
		T *p = m_ptr;
		m_ptr = nullptr;
		return p;
	}

private:
	SlabCache<T> *m_cache;
	T *m_ptr;
};

template <class T> class SlabCache : Pinned {
public:
	constexpr SlabCache() = default;

	/* Task context: kmem_cache_create() may sleep. */
	Result<void> create(const char *name)
	{
		/* Here, not on the class: a cache may be declared where T is incomplete. */
		static_assert(alignof(T) >= 8 && is_power_of_two(alignof(T)),
			      "slab alignment must be a power of two of at least 8");
		if (m_cache)
			return err::busy();
		m_cache = lbrctx_shim_cache_create(name, sizeof(T), alignof(T));
		if (!m_cache)
			return err::nomem();
		m_name = name;
		return {};
	}

	/*
	 * Task context. Refuses (-EBUSY) while objects are live. Callers that
	 * free objects through call_rcu() must rcu_barrier() first.
	 */
	Result<void> destroy()
	{
		if (!m_cache)
			return {};
		long live = m_live.load();
		if (live != 0) {
			lbrctx_err("cache %s still holds %ld objects; not destroyed\n", m_name,
				   live);
			return err::busy();
		}
		lbrctx_shim_cache_destroy(m_cache);
		m_cache = nullptr;
		return {};
	}

	/*
	 * Allocate a zeroed object and construct T in it. Any context the GFP
	 * mode allows: LBRCTX_GFP_KERNEL may sleep, LBRCTX_GFP_NOWAIT does not.
	 */
	template <class... Args> Result<SlabPtr<T>> alloc(enum lbrctx_gfp gfp, Args &&...args)
	{
		if (LBRCTX_WARN_ON(!m_cache))
			return err::nodev();
		void *mem = lbrctx_shim_cache_zalloc(m_cache, gfp);
		if (!mem) {
			m_alloc_failures.add(1);
			return err::nomem();
		}
		m_live.add(1);
		m_allocs.add(1);
		return SlabPtr<T>(*this, new (mem) T(forward<Args>(args)...));
	}

	/* Any context: kmem_cache_free() does not sleep. */
	void free(T *p)
	{
		if (!p)
			return;
		p->~T();
		lbrctx_shim_cache_free(m_cache, p);
		m_live.sub(1);
	}

	bool created() const { return m_cache != nullptr; }
	long live() const { return m_live.load(); }
	unsigned long allocs() const { return m_allocs.load(); }
	unsigned long alloc_failures() const { return m_alloc_failures.load(); }
	/* Bytes the allocator hands out per object: sizeof(T) rounded to alignof(T). */
	u32 object_size() const { return m_cache ? lbrctx_shim_cache_object_size(m_cache) : 0; }

private:
	void *m_cache = nullptr;
	const char *m_name = nullptr;
	Atomic<long> m_live{0};
	Atomic<unsigned long> m_allocs{0};
	Atomic<unsigned long> m_alloc_failures{0};
};

} // namespace lbrctx
