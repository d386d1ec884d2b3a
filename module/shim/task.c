// SPDX-License-Identifier: GPL-2.0
/* task_struct accessors and the thread walk. */
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <lbrctx/shim.h>

void *lbrctx_shim_current(void)
{
	return current;
}

bool lbrctx_shim_task_exiting(const void *task)
{
	return READ_ONCE(((const struct task_struct *)task)->flags) & PF_EXITING;
}

bool lbrctx_shim_task_is_idle(const void *task)
{
	return is_idle_task(task);
}

void lbrctx_shim_get_task(void *task)
{
	get_task_struct((struct task_struct *)task);
}

void lbrctx_shim_put_task(void *task)
{
	put_task_struct((struct task_struct *)task);
}

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
