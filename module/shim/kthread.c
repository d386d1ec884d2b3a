// SPDX-License-Identifier: GPL-2.0
/*
 * Kthreads, sleeping and credentials for the C++ of lbrctx_kunit and
 * lbrctx_bench, exported to them.
 */
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/uidgid.h>
#include <linux/mm.h>
#include <linux/vmstat.h>
#include <linux/timekeeping.h>
#include <lbrctx/shim.h>

/* Start a kthread running @fn(@arg); the task is pinned until lbrctx_kt_stop(). */
void *lbrctx_kt_start(int (*fn)(void *), void *arg, const char *name)
{
	struct task_struct *t = kthread_create(fn, arg, "%s", name);

	if (IS_ERR(t))
		return NULL;
	get_task_struct(t);
	wake_up_process(t);
	return t;
}
EXPORT_SYMBOL_GPL(lbrctx_kt_start);

/* Stop (or reap, if it returned already) a kthread from lbrctx_kt_start(). */
int lbrctx_kt_stop(void *task)
{
	int ret = kthread_stop(task);

	put_task_struct(task);
	return ret;
}
EXPORT_SYMBOL_GPL(lbrctx_kt_stop);

bool lbrctx_kt_should_stop(void)
{
	return kthread_should_stop();
}
EXPORT_SYMBOL_GPL(lbrctx_kt_should_stop);

/* Sleep until kthread_stop(), which sets the flag and then wakes us. */
void lbrctx_kt_wait_for_stop(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}
EXPORT_SYMBOL_GPL(lbrctx_kt_wait_for_stop);

void lbrctx_kt_msleep(u32 ms)
{
	msleep(ms);
}
EXPORT_SYMBOL_GPL(lbrctx_kt_msleep);

void lbrctx_kt_cpu_relax(void)
{
	cpu_relax();
}
EXPORT_SYMBOL_GPL(lbrctx_kt_cpu_relax);

void lbrctx_kt_yield(void)
{
	cond_resched();
}
EXPORT_SYMBOL_GPL(lbrctx_kt_yield);

/* Change the calling task's uid and euid, as a setuid exec does. */
int lbrctx_kt_become_uid(u32 uid)
{
	struct cred *c = prepare_creds();

	if (!c)
		return -ENOMEM;
	c->uid = c->euid = c->suid = c->fsuid = KUIDT_INIT(uid);
	return commit_creds(c);
}
EXPORT_SYMBOL_GPL(lbrctx_kt_become_uid);

u32 lbrctx_kt_current_uid(void)
{
	return from_kuid(&init_user_ns, current_uid());
}
EXPORT_SYMBOL_GPL(lbrctx_kt_current_uid);

u64 lbrctx_shim_ktime_ns(void)
{
	return ktime_get_ns();
}
EXPORT_SYMBOL_GPL(lbrctx_shim_ktime_ns);

u64 lbrctx_shim_slab_unreclaimable_bytes(void)
{
	return global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B) * PAGE_SIZE;
}
EXPORT_SYMBOL_GPL(lbrctx_shim_slab_unreclaimable_bytes);
