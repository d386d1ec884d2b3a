// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel helpers of the test modules (lbrctx_kunit, lbrctx_bench; the
 * latter builds this file as kunit/bench_kthread.c): kthreads, sleeping,
 * credentials, in-kernel perf counters, a fault attribute's settings, and
 * the kernel's own view of a perf branch entry. None of it is in lbrctx.ko.
 */
#include <linux/umh.h>
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/gfp.h>
#include <linux/fault-inject.h>
#include <linux/iopoll.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/uidgid.h>
#include <linux/timekeeping.h>
#include <linux/version.h>
#include <linux/vmstat.h>
#include <linux/slab.h>
#include <asm/fpu/api.h>
#include "khelpers.h"
#include "ktime.c"

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

/*
 * Stop (or reap, if it returned already) a kthread from lbrctx_kt_start(),
 * and return once its exit is past the sched_process_exit tracepoint.
 *
 * kthread_stop() returns when the thread completes its vfork_done, which
 * do_exit() does in exit_mm(). On 6.1 and 6.12 that comes before
 * trace_sched_process_exit() (7.x fires the tracepoint first), so the
 * store's exit probe may not have run yet. Tests check what that probe
 * did, so wait for exit_notify() to set exit_state, which follows the
 * tracepoint in every supported kernel. The wait is bounded; a thread
 * that never gets there is reported once.
 */
int lbrctx_kt_stop(void *task)
{
	struct task_struct *t = task;
	int ret = kthread_stop(t);
	int state, late;

	late = read_poll_timeout(READ_ONCE, state, state, 100, 10 * USEC_PER_SEC, false,
				 t->exit_state);
	WARN_ONCE(late, "lbrctx: kthread %d not exited 10 s after kthread_stop\n", t->pid);
	put_task_struct(t);
	return ret;
}

bool lbrctx_kt_should_stop(void)
{
	return kthread_should_stop();
}

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

void lbrctx_kt_msleep(u32 ms)
{
	msleep(ms);
}

void lbrctx_kt_cpu_relax(void)
{
	cpu_relax();
}

/* Change the calling task's uid and euid, as a setuid exec does. */
int lbrctx_kt_become_uid(u32 uid)
{
	struct cred *c = prepare_creds();

	if (!c)
		return -ENOMEM;
	c->uid = c->euid = c->suid = c->fsuid = KUIDT_INIT(uid);
	return commit_creds(c);
}

u32 lbrctx_kt_current_uid(void)
{
	return from_kuid(&init_user_ns, current_uid());
}

u64 lbrctx_kt_slab_unreclaimable_bytes(void)
{
	return global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B) * PAGE_SIZE;
}

/* Task context; the section disables preemption until lbrctx_kt_fpu_end(). */
void lbrctx_kt_fpu_begin(void)
{
	kernel_fpu_begin();
}

void lbrctx_kt_fpu_end(void)
{
	kernel_fpu_end();
}

u32 lbrctx_kt_perf_type_max(void)
{
	return PERF_TYPE_MAX;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
void lbrctx_kt_ctx_data(void *task, struct lbrctx_kt_ctx *out)
{
	struct perf_ctx_data *cd;

	memset(out, 0, sizeof(*out));
	rcu_read_lock();
	cd = rcu_dereference(((struct task_struct *)task)->perf_ctx_data);
	if (cd) {
		out->data = cd->data;
		out->cache = cd->ctx_cache;
		out->refs = refcount_read(&cd->refcount);
		out->global = cd->global;
	}
	rcu_read_unlock();
}

static struct kmem_cache *lbrctx_kt_foreign_cache;
static struct perf_ctx_data *lbrctx_kt_foreign;

int lbrctx_kt_ctx_data_foreign(void *task, bool install)
{
	struct task_struct *t = task;
	struct perf_ctx_data *old = NULL, *cd;

	if (!install) {
		cd = lbrctx_kt_foreign;
		if (cd && try_cmpxchg((struct perf_ctx_data **)&t->perf_ctx_data, &cd, NULL)) {
			synchronize_rcu();
			kmem_cache_free(lbrctx_kt_foreign_cache, lbrctx_kt_foreign->data);
			kfree(lbrctx_kt_foreign);
		}
		lbrctx_kt_foreign = NULL;
		kmem_cache_destroy(lbrctx_kt_foreign_cache);
		lbrctx_kt_foreign_cache = NULL;
		return 0;
	}
	lbrctx_kt_foreign_cache = kmem_cache_create("lbrctx_kt_foreign", 64, 64, SLAB_NO_MERGE, NULL);
	cd = kzalloc(sizeof(*cd), GFP_KERNEL);
	if (!lbrctx_kt_foreign_cache || !cd)
		goto nomem;
	cd->data = kmem_cache_zalloc(lbrctx_kt_foreign_cache, GFP_KERNEL);
	if (!cd->data)
		goto nomem;
	cd->ctx_cache = lbrctx_kt_foreign_cache;
	refcount_set(&cd->refcount, 1);
	if (!try_cmpxchg((struct perf_ctx_data **)&t->perf_ctx_data, &old, cd)) {
		kmem_cache_free(lbrctx_kt_foreign_cache, cd->data);
		kfree(cd);
		kmem_cache_destroy(lbrctx_kt_foreign_cache);
		lbrctx_kt_foreign_cache = NULL;
		return -EBUSY;
	}
	lbrctx_kt_foreign = cd;
	return 0;
nomem:
	kfree(cd);
	kmem_cache_destroy(lbrctx_kt_foreign_cache);
	lbrctx_kt_foreign_cache = NULL;
	return -ENOMEM;
}
#else
void lbrctx_kt_ctx_data(void *task, struct lbrctx_kt_ctx *out)
{
	memset(out, 0, sizeof(*out));
}

int lbrctx_kt_ctx_data_foreign(void *task, bool install)
{
	return -EOPNOTSUPP;
}
#endif

/* In-kernel counters: perf_event_create_kernel_counter() runs the PMU as perf_event_open() does. */
void *lbrctx_kt_counter_create(const struct lbrctx_kattr *k, s32 cpu, void *task, int *err)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = k->type,
		.config = k->config,
		.config1 = k->config1,
		.sample_period = k->period,
		.sample_type = k->sample_type,
		.branch_sample_type = k->branch_sample_type,
		.freq = k->freq,
		.exclude_kernel = k->exclude_kernel,
		.exclude_user = k->exclude_user,
		.disabled = k->disabled,
	};
	struct perf_event *event;

	event = perf_event_create_kernel_counter(&attr, cpu, task, NULL, NULL);
	if (IS_ERR(event)) {
		*err = PTR_ERR(event);
		return NULL;
	}
	*err = 0;
	return event;
}

void lbrctx_kt_counter_release(void *event)
{
	perf_event_release_kernel(event);
}

u64 lbrctx_kt_counter_read(void *event)
{
	u64 enabled, running;

	return perf_event_read_value(event, &enabled, &running);
}

/* The count and its times, as read(2) of the event gives them. */
u64 lbrctx_kt_counter_read_times(void *event, u64 *enabled, u64 *running)
{
	return perf_event_read_value(event, enabled, running);
}

/*
 * 7.x runs kthreads in nullfs (fs/fs_struct.c): lookups there fail. The
 * kernel's own initramfs KUnit suite switches to init's fs_struct for its
 * cases; so do these. Earlier kernels share init's fs_struct already.
 */
void *lbrctx_kt_init_fs_begin(void)
{
#ifdef scoped_with_init_fs
	return __override_init_fs();
#else
	return NULL;
#endif
}

void lbrctx_kt_init_fs_end(void *old)
{
#ifdef scoped_with_init_fs
	__revert_init_fs(old);
#endif
}

/* Up to @n bytes of the file @name from offset 0; a negative errno on failure. */
long lbrctx_kt_file_read(const char *name, void *buf, size_t n)
{
	struct file *f = filp_open(name, O_RDONLY | O_LARGEFILE, 0);
	loff_t pos = 0;
	long ret;

	if (IS_ERR(f))
		return PTR_ERR(f);
	ret = kernel_read(f, buf, n, &pos);
	filp_close(f, NULL);
	return ret;
}

int lbrctx_kt_run(const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	static char *envp[] = { "HOME=/", "PATH=/sbin:/bin:/usr/sbin:/usr/bin", NULL };
	int ret = call_usermodehelper(argv[0], argv, envp, UMH_WAIT_PROC);

	/* A wait status, as wait() gives it: the exit code is in bits 8-15. */
	return ret > 0 ? (ret >> 8) & 0xff : ret;
}

void lbrctx_kt_counter_enable(void *event)
{
	perf_event_enable(event);
}

void lbrctx_kt_counter_disable(void *event)
{
	perf_event_disable(event);
}

/*
 * Configure a fault_attr (a k::FaultAttr's): fail with @probability
 * percent, every @interval-th call, @times times (-1: no limit), once
 * @space bytes have been allowed.
 */
void lbrctx_kt_fault_set(void *a, u32 probability, u32 interval, s32 times, s32 space)
{
#ifdef CONFIG_FAULT_INJECTION
	struct fault_attr *attr = a;

	attr->probability = probability;
	attr->interval = interval;
	attr->verbose = 0;
	atomic_set(&attr->times, times);
	atomic_set(&attr->space, space);
#endif
}

bool lbrctx_kt_fault_injection(void)
{
	return IS_ENABLED(CONFIG_FAULT_INJECTION);
}

/* Decode a branch entry the C++ encoded (@words: FROM, TO, flags) with the kernel's bitfields. */
void lbrctx_kt_branch_entry(const u64 *words, struct lbrctx_kt_brentry *out)
{
	const struct perf_branch_entry *e = (const void *)words;

	BUILD_BUG_ON(sizeof(*e) != 3 * sizeof(u64));
	*out = (struct lbrctx_kt_brentry) {
		.from = e->from,
		.to = e->to,
		.mispred = e->mispred,
		.predicted = e->predicted,
		.cycles = e->cycles,
		.type = e->type,
		.priv = e->priv,
	};
}
