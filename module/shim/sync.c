// SPDX-License-Identifier: GPL-2.0
/*
 * Locks, RCU, refcount_t and interrupt state, for the C++ objects that own
 * them (include/lbrctx/k/). The storage is the C++'s, sized by the
 * generated layout.
 */
#include <linux/irq_work.h>
#include <linux/irqflags.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
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

/* Workqueue: task context, may sleep. */
static void lbrctx_refill_fn(struct work_struct *w)
{
	lbrctx_store_refill();
}
static DECLARE_WORK(lbrctx_refill_work, lbrctx_refill_fn);

/* Hard IRQ: a workqueue can be kicked from here, not from the switch path. */
static void lbrctx_refill_irq_fn(struct irq_work *w)
{
	schedule_work(&lbrctx_refill_work);
}
static DEFINE_IRQ_WORK(lbrctx_refill_irq_work, lbrctx_refill_irq_fn);

void lbrctx_shim_refill_kick(void)
{
	irq_work_queue(&lbrctx_refill_irq_work);
}

void lbrctx_shim_refill_cancel(void)
{
	irq_work_sync(&lbrctx_refill_irq_work);
	cancel_work_sync(&lbrctx_refill_work);
}
