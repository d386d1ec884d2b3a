/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Freestanding C++ basics for lbrctx: there is no C++ standard library in
 * the kernel, so the few pieces we need are defined here. The only form of
 * new is placement new; there is no global operator new or delete.
 */
#pragma once

#include <lbrctx/layout.h>
#include <lbrctx/shim.h>
#include <lbrctx/types.h>

namespace lbrctx {

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

/*
 * @index when it is below @size, else 0, under speculation too: the
 * kernel's x86 array_index_mask_nospec() (cmp; sbb), so that a bounds
 * check on a value a user chose is not speculated past (Spectre v1,
 * Documentation/admin-guide/hw-vuln/spectre.rst). After the check, not
 * instead of it.
 */
inline u64 array_index_nospec(u64 index, u64 size)
{
	u64 mask;
	asm volatile("cmp %1, %2; sbb %0, %0" : "=r"(mask) : "g"(size), "r"(index) : "cc");
	return index & mask;
}

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
