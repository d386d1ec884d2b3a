/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reference counting over the kernel's refcount_t, whose saturation and
 * underflow checks come with it, and RefPtr<T>, an owning reference in the
 * manner of Zircon's fbl::RefPtr and SerenityOS's NonnullRefPtr.
 *
 * RefPtr<T> does not know how a T is released: it calls T::put_ref(T *),
 * which the type defines. A store object takes the store lock for its last
 * put (refcount_dec_and_lock), so a lookup under that lock never finds an
 * object whose count is zero.
 */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx::k {

class RefCount {
public:
	void set(u32 v) { lbrctx_shim_refcount_set(m_ref.get(), v); }
	u32 read() const { return lbrctx_shim_refcount_read(m_ref.get()); }
	[[nodiscard]] bool inc_not_zero() { return lbrctx_shim_refcount_inc_not_zero(m_ref.get()); }
	[[nodiscard]] bool dec_and_test() { return lbrctx_shim_refcount_dec_and_test(m_ref.get()); }
	/* True when the count reached zero; @lock is then held. */
	template <class L> [[nodiscard]] bool dec_and_lock(L &lock)
	{
		return lbrctx_shim_refcount_dec_and_lock(m_ref.get(), lock.raw());
	}

private:
	KernelStorage<LBRCTX_K_SIZEOF_REFCOUNT, 4> m_ref{};
};

template <class T> class [[nodiscard]] RefPtr {
public:
	constexpr RefPtr() = default;
	RefPtr(RefPtr &&o) : m_ptr(exchange(o.m_ptr, nullptr)) {}
	RefPtr &operator=(RefPtr &&o)
	{
		if (this != &o) {
			reset();
			m_ptr = exchange(o.m_ptr, nullptr);
		}
		return *this;
	}
	RefPtr(const RefPtr &) = delete;
	RefPtr &operator=(const RefPtr &) = delete;
	~RefPtr() { reset(); }

	/* Take over a reference the caller already holds on @p. */
	static RefPtr adopt(T *p) { return RefPtr(p); }

	T *get() const { return m_ptr; }
	T *operator->() const { return m_ptr; }
	T &operator*() const { return *m_ptr; }
	explicit operator bool() const { return m_ptr != nullptr; }

	/*
	 * Give up the reference without putting it (fbl's ExportToRawPtr).
	 * The caller says, in a comment, who holds it from here.
	 */
	[[nodiscard]] T *leak() { return exchange(m_ptr, nullptr); }

	/* Put the reference now. */
	void reset()
	{
		if (T *p = exchange(m_ptr, nullptr))
			T::put_ref(p);
	}

private:
	explicit RefPtr(T *p) : m_ptr(p) {}
	T *m_ptr = nullptr;
};

} // namespace lbrctx::k
