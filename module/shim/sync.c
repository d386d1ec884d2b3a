// SPDX-License-Identifier: GPL-2.0
/* RCU, refcount_t and the store's locks, for the C++. */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <lbrctx/shim.h>

/*
 * The store's lock: taken for every change to the hash table and the
 * object list (task context, or a tracepoint probe). Never taken from the
 * sched_switch path, which only reads under RCU.
 */
static DEFINE_SPINLOCK(lbrctx_store_lock);
/* Serializes global attach and detach, which may sleep. */
static DEFINE_MUTEX(lbrctx_global_mutex);

void lbrctx_shim_rcu_read_lock(void)
{
	rcu_read_lock();
}
EXPORT_SYMBOL_GPL(lbrctx_shim_rcu_read_lock);

void lbrctx_shim_rcu_read_unlock(void)
{
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(lbrctx_shim_rcu_read_unlock);

void lbrctx_shim_rcu_barrier(void)
{
	rcu_barrier();
}
EXPORT_SYMBOL_GPL(lbrctx_shim_rcu_barrier);

static void lbrctx_shim_task_data_rcu_cb(struct rcu_head *head)
{
	lbrctx_store_free_rcu(head);
}

void lbrctx_shim_call_rcu_task_data(void *rcu_head)
{
	call_rcu(rcu_head, lbrctx_shim_task_data_rcu_cb);
}

void lbrctx_shim_refcount_set(void *r, u32 v)
{
	refcount_set(r, v);
}

u32 lbrctx_shim_refcount_read(const void *r)
{
	return refcount_read(r);
}
EXPORT_SYMBOL_GPL(lbrctx_shim_refcount_read);

bool lbrctx_shim_refcount_inc_not_zero(void *r)
{
	return refcount_inc_not_zero(r);
}

bool lbrctx_shim_refcount_dec_and_test(void *r)
{
	return refcount_dec_and_test(r);
}

/*
 * The store lock also holds an RCU read section: the store looks objects
 * up in its rhashtable under the lock, and on 6.1 a spinlock alone does not
 * satisfy rhashtable's RCU lockdep checks (PROVE_RCU: "suspicious
 * rcu_dereference_check() usage").
 */
bool lbrctx_shim_refcount_dec_and_store_lock(void *r)
{
	if (!refcount_dec_and_lock(r, &lbrctx_store_lock))
		return false;
	rcu_read_lock();
	return true;
}

void lbrctx_shim_store_lock(void)
{
	spin_lock(&lbrctx_store_lock);
	rcu_read_lock();
}

void lbrctx_shim_store_unlock(void)
{
	rcu_read_unlock();
	spin_unlock(&lbrctx_store_lock);
}

void lbrctx_shim_global_lock(void)
{
	mutex_lock(&lbrctx_global_mutex);
}

void lbrctx_shim_global_unlock(void)
{
	mutex_unlock(&lbrctx_global_mutex);
}

static void lbrctx_shim_event_rcu_cb(struct rcu_head *head)
{
	lbrctx_pmu_free_rcu(head);
}

void lbrctx_shim_call_rcu_event(void *rcu_head)
{
	call_rcu(rcu_head, lbrctx_shim_event_rcu_cb);
}
