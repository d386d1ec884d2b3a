/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel locks as C++ objects: SpinLock (spinlock_t) and Mutex (struct
 * mutex) stored as bytes of the kernel's size, one [[nodiscard]]
 * non-copyable Guard<L> for both (Zircon's Guard<Mutex>, SerenityOS's
 * SpinlockLocker, <linux/cleanup.h>'s guard()), IrqSave for interrupts
 * and RcuReadGuard for RCU read sections.
 *
 * Each lock is initialized with a lockdep class (LockClass) that must have
 * static storage duration: lockdep refuses keys on the stack or the heap.
 */
#pragma once

#include <lbrctx/base.h>
#include <lbrctx/k/cpu.h>

namespace lbrctx::k {

struct LockClass {
	KernelStorage<LBRCTX_K_SIZEOF_LOCK_CLASS_KEY, 8> key{};
};

class SpinLock : Pinned {
public:
	constexpr SpinLock() = default;
	/* Task context, before first use. */
	void init(const char *name, LockClass &cls)
	{
		lbrctx_shim_spin_lock_init(m_lock.get(), name, cls.key.get());
	}
	void lock() { lbrctx_shim_spin_lock(m_lock.get()); }
	void unlock() { lbrctx_shim_spin_unlock(m_lock.get()); }
	void *raw() { return m_lock.get(); }

private:
	KernelStorage<LBRCTX_K_SIZEOF_SPINLOCK, LBRCTX_K_ALIGNOF_SPINLOCK> m_lock{};
};

/* A sleeping lock: task context only. */
class Mutex : Pinned {
public:
	constexpr Mutex() = default;
	void init(const char *name, LockClass &cls)
	{
		lbrctx_shim_mutex_init(m_lock.get(), name, cls.key.get());
	}
	void lock() { lbrctx_shim_mutex_lock(m_lock.get()); }
	void unlock() { lbrctx_shim_mutex_unlock(m_lock.get()); }

private:
	KernelStorage<LBRCTX_K_SIZEOF_MUTEX, LBRCTX_K_ALIGNOF_MUTEX> m_lock{};
};

/* Tag: the lock is held already (refcount_dec_and_lock() took it). */
struct AdoptLock {};

/* Holds @L from construction to the end of the scope. */
template <class L> class [[nodiscard]] Guard : Pinned {
public:
	explicit Guard(L &l) : m_lock(l) { m_lock.lock(); }
	Guard(L &l, AdoptLock) : m_lock(l) {}
	~Guard() { m_lock.unlock(); }

private:
	L &m_lock;
};

/* Local interrupts off for the scope (local_irq_save/restore). */
class [[nodiscard]] IrqSave : Pinned {
public:
	IrqSave() : m_flags(irq_save()) {}
	~IrqSave() { irq_restore(m_flags); }

private:
	unsigned long m_flags;
};

/* An RCU read section for the scope. Any context; must not sleep. */
class [[nodiscard]] RcuReadGuard : Pinned {
public:
	RcuReadGuard() { lbrctx_shim_rcu_read_lock(); }
	~RcuReadGuard() { lbrctx_shim_rcu_read_unlock(); }
};

} // namespace lbrctx::k
