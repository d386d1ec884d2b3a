/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Atomic<T> over the compiler's __atomic builtins, which compile to inline
 * lock-prefixed instructions on x86-64 and call no library. Counters only:
 * ordering-sensitive kernel objects (refcount_t, RCU) go through the shim.
 */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx {

template <class T> class Atomic {
public:
	constexpr Atomic() = default;
	constexpr explicit Atomic(T v) : m_value(v) {}
	Atomic(const Atomic &) = delete;
	Atomic &operator=(const Atomic &) = delete;

	T load() const { return __atomic_load_n(&m_value, __ATOMIC_ACQUIRE); }
	void store(T v) { __atomic_store_n(&m_value, v, __ATOMIC_RELEASE); }
	T add(T v) { return __atomic_add_fetch(&m_value, v, __ATOMIC_ACQ_REL); }
	T sub(T v) { return __atomic_sub_fetch(&m_value, v, __ATOMIC_ACQ_REL); }
	bool compare_exchange(T &expected, T desired)
	{
		return __atomic_compare_exchange_n(&m_value, &expected, desired, false,
						   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}

private:
	T m_value{};
};

} // namespace lbrctx
