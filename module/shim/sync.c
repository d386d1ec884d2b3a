// SPDX-License-Identifier: GPL-2.0
/*
 * Locks, RCU, refcount_t and interrupt state, for the C++ objects that own
 * them (include/lbrctx/k/). The storage is the C++'s, sized by the
 * generated layout.
 */
#include <linux/irqflags.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <lbrctx/shim.h>

/* struct lbrctx_rcu's head is a struct rcu_head (include/lbrctx/shim.h). */
static_assert(sizeof(struct rcu_head) == sizeof(((struct lbrctx_rcu *)0)->head));
static_assert(__alignof__(struct rcu_head) <= __alignof__(struct lbrctx_rcu));

void lbrctx_shim_spin_lock_init(void *lock, const char *name, void *key)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	__raw_spin_lock_init(spinlock_check(lock), name, key, LD_WAIT_CONFIG);
#else
	spin_lock_init((spinlock_t *)lock);
#endif
}

void lbrctx_shim_spin_lock(void *lock)
{
	spin_lock(lock);
}

void lbrctx_shim_spin_unlock(void *lock)
{
	spin_unlock(lock);
}

void lbrctx_shim_mutex_init(void *mutex, const char *name, void *key)
{
	__mutex_init(mutex, name, key);
}

void lbrctx_shim_mutex_lock(void *mutex)
{
	mutex_lock(mutex);
}

void lbrctx_shim_mutex_unlock(void *mutex)
{
	mutex_unlock(mutex);
}

void lbrctx_shim_rcu_read_lock(void)
{
	rcu_read_lock();
}

void lbrctx_shim_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

/* Softirq: the one trampoline every C++ RcuHead goes through. */
static void lbrctx_rcu_cb(struct rcu_head *head)
{
	struct lbrctx_rcu *r = container_of((void *)head, struct lbrctx_rcu, head);

	r->fn(r);
}

void lbrctx_shim_call_rcu(struct lbrctx_rcu *r)
{
	call_rcu((struct rcu_head *)r->head, lbrctx_rcu_cb);
}

void lbrctx_shim_rcu_barrier(void)
{
	rcu_barrier();
}

void lbrctx_shim_refcount_set(void *r, u32 v)
{
	refcount_set(r, v);
}

u32 lbrctx_shim_refcount_read(const void *r)
{
	return refcount_read(r);
}

bool lbrctx_shim_refcount_inc_not_zero(void *r)
{
	return refcount_inc_not_zero(r);
}

bool lbrctx_shim_refcount_dec_and_test(void *r)
{
	return refcount_dec_and_test(r);
}

bool lbrctx_shim_refcount_dec_and_lock(void *r, void *lock)
{
	return refcount_dec_and_lock(r, lock);
}

unsigned long lbrctx_shim_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void lbrctx_shim_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}
