/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Freestanding C++ basics for lbrctx: there is no C++ standard library in
 * the kernel, so the few pieces we need are defined here. The only form of
 * new is placement new; there is no global operator new or delete.
 */
#pragma once

#include <lbrctx/layout.h>
#include <lbrctx/shim.h>

namespace lbrctx {

using size_t = decltype(sizeof(0));
using uintptr_t = unsigned long;
static_assert(sizeof(uintptr_t) == sizeof(void *), "LP64 kernel");
static_assert(sizeof(u64) == 8 && sizeof(u32) == 4 && sizeof(u16) == 2 && sizeof(u8) == 1,
	      "shim.h fixed-width types must match the kernel's");

template <class T> struct RemoveReference {
	using Type = T;
};
template <class T> struct RemoveReference<T &> {
	using Type = T;
};
template <class T> struct RemoveReference<T &&> {
	using Type = T;
};

template <class T> constexpr typename RemoveReference<T>::Type &&move(T &&v) noexcept
{
	return static_cast<typename RemoveReference<T>::Type &&>(v);
}

template <class T> constexpr T &&forward(typename RemoveReference<T>::Type &v) noexcept
{
	return static_cast<T &&>(v);
}

template <class T, class U> constexpr T exchange(T &obj, U &&v)
{
	T old = move(obj);
	obj = forward<U>(v);
	return old;
}

template <class T> constexpr bool is_power_of_two(T v)
{
	return v && !(v & (v - 1));
}

template <class T> constexpr T round_up(T v, T align)
{
	return (v + align - 1) / align * align;
}

template <class T> constexpr T min(T a, T b)
{
	return a < b ? a : b;
}

/* Non-copyable, non-movable base for guards and owners of kernel objects. */
class Pinned {
protected:
	constexpr Pinned() = default;
	Pinned(const Pinned &) = delete;
	Pinned &operator=(const Pinned &) = delete;
	Pinned(Pinned &&) = delete;
	Pinned &operator=(Pinned &&) = delete;
};

/*
 * Room for a kernel object whose size and alignment the generated layout
 * gives. The C++ never looks inside: only shim wrappers touch it. A size
 * of 0 (an empty struct in C, such as lock_class_key without lockdep)
 * still takes one byte, which C++ requires of every object.
 */
template <size_t Size, size_t Align> struct alignas(Align) KernelStorage {
	u8 bytes[Size ? Size : 1];
	void *get() { return bytes; }
	const void *get() const { return bytes; }
};

} // namespace lbrctx

/* Placement new: the only form of new the module uses. */
inline void *operator new(lbrctx::size_t, void *p) noexcept
{
	return p;
}
inline void operator delete(void *, void *) noexcept {}

/* The object of type @Type whose @member is at @ptr. */
#define lbrctx_container_of(ptr, Type, member)                             \
	(reinterpret_cast<Type *>(reinterpret_cast<unsigned char *>(ptr) - \
				  __builtin_offsetof(Type, member)))

/* Report a broken invariant through WARN (with its backtrace); evaluates to @cond. */
#define LBRCTX_WARN_ON(cond) lbrctx_shim_warn(!!(cond), #cond, __FILE__, __LINE__)

#define lbrctx_err(...)	 lbrctx_shim_log(LBRCTX_LOG_ERR, false, __VA_ARGS__)
#define lbrctx_warn(...) lbrctx_shim_log(LBRCTX_LOG_WARNING, false, __VA_ARGS__)
#define lbrctx_info(...) lbrctx_shim_log(LBRCTX_LOG_INFO, false, __VA_ARGS__)
/* One rate-limited line for a refusal a user can trigger at will. */
#define lbrctx_refusal(...) lbrctx_shim_log(LBRCTX_LOG_INFO, true, __VA_ARGS__)
