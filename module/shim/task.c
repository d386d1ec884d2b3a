// SPDX-License-Identifier: GPL-2.0
/* Task helpers for the store. */
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <lbrctx/shim.h>

void *lbrctx_shim_current(void)
{
	return current;
}
EXPORT_SYMBOL_GPL(lbrctx_shim_current);

/* PF_EXITING is set by do_exit() before the sched_process_exit tracepoint. */
bool lbrctx_shim_task_exiting(const void *task)
{
	return READ_ONCE(((const struct task_struct *)task)->flags) & PF_EXITING;
}

void lbrctx_shim_get_task(void *task)
{
	get_task_struct((struct task_struct *)task);
}
EXPORT_SYMBOL_GPL(lbrctx_shim_get_task);

void lbrctx_shim_put_task(void *task)
{
	put_task_struct((struct task_struct *)task);
}
EXPORT_SYMBOL_GPL(lbrctx_shim_put_task);

/*
 * Call @fn for every thread in the system, under rcu_read_lock(): @fn must
 * not sleep. The walk stops at the first non-zero return, which it returns;
 * @fn pins the task (get_task_struct) if it needs it after the walk.
 */
int lbrctx_shim_for_each_thread(int (*fn)(void *task, void *ctx), void *ctx)
{
	struct task_struct *p, *t;
	int ret = 0;

	rcu_read_lock();
	/* Two nested loops: a break would only leave the inner one. */
	for_each_process_thread(p, t) {
		ret = fn(t, ctx);
		if (ret)
			goto out;
	}
out:
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(lbrctx_shim_for_each_thread);
