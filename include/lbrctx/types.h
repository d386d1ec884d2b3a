/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The freestanding basics that the pure-logic headers need, and nothing
 * of the kernel: fixed-width types and a few helpers the standard library
 * would give. The module (include/lbrctx/base.h adds the kernel's facts)
 * and the QEMU plugin (qemu/plugin, host C++) both compile the headers
 * that include only this one: lbr.h, units.h, xsave.h, x86.h, hwlbr.h.
 */
#pragma once

/* The same types as include/lbrctx/shim.h gives the C++ (identical typedefs are allowed). */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef signed short s16;
typedef signed int s32;
typedef signed long long s64;

namespace lbrctx {

using size_t = decltype(sizeof(0));
using uintptr_t = unsigned long;
static_assert(sizeof(uintptr_t) == sizeof(void *), "LP64");
static_assert(sizeof(u64) == 8 && sizeof(u32) == 4 && sizeof(u16) == 2 && sizeof(u8) == 1,
	      "fixed-width types");

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

} // namespace lbrctx
