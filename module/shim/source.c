// SPDX-License-Identifier: GPL-2.0
/*
 * The branch source: fprobe entry and exit handlers on the probed kernel
 * functions. Each glob pattern gets its own fprobe (register_fprobe() takes
 * one glob on every kernel). The handler signatures differ by kernel:
 *   6.1:      void entry(fp, ip, struct pt_regs *, data); no return address
 *   6.5-6.13: int entry(fp, ip, ret_ip, struct pt_regs *, data)
 *   6.14-:    int entry(fp, ip, ret_ip, struct ftrace_regs *, data)
 * Handler context: the probed function's, with preemption disabled by
 * ftrace's recursion lock; any of task, softirq, hard IRQ or NMI.
 *
 * Without CONFIG_FPROBE the source is a kretprobe per function, and a
 * pattern must then be an exact function name (module/source.cpp refuses
 * globs for it).
 *
 * lbrctx's own C++ is built without -mfentry, and the shim objects of
 * lbrctx.ko are built without the ftrace flags (Kbuild), so the source
 * never probes lbrctx itself.
 */
#include <linux/fprobe.h>
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/version.h>
#include <linux/workqueue.h>
#include <lbrctx/shim.h>

static void lbrctx_reap_fn(struct work_struct *w)
{
	lbrctx_source_reap();
}
static DECLARE_WORK(lbrctx_reap_work, lbrctx_reap_fn);

/* The last event is gone: unregister later, outside perf's locks. */
void lbrctx_shim_reap_schedule(void)
{
	schedule_work(&lbrctx_reap_work);
}

void lbrctx_shim_reap_cancel(void)
{
	cancel_work_sync(&lbrctx_reap_work);
}

#if IS_ENABLED(CONFIG_FPROBE)

static struct fprobe lbrctx_fprobes[LBRCTX_MAX_PATTERNS];

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
static void lbrctx_fp_entry(struct fprobe *fp, unsigned long ip, struct pt_regs *regs,
			    void *data)
{
	/* At function entry regs->sp points at the return address (as rethook reads it). */
	unsigned long sp = regs ? kernel_stack_pointer(regs) : 0;

	lbrctx_source_entry(ip, sp ? *(unsigned long *)sp : 0, sp, data);
}

static void lbrctx_fp_exit(struct fprobe *fp, unsigned long ip, struct pt_regs *regs,
			   void *data)
{
	lbrctx_source_exit(ip, data);
}
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 14, 0)
static int lbrctx_fp_entry(struct fprobe *fp, unsigned long ip, unsigned long ret_ip,
			   struct pt_regs *regs, void *data)
{
	/* Non-zero: no exit handler for this call. */
	return !lbrctx_source_entry(ip, ret_ip, regs ? kernel_stack_pointer(regs) : 0, data);
}

static void lbrctx_fp_exit(struct fprobe *fp, unsigned long ip, unsigned long ret_ip,
			   struct pt_regs *regs, void *data)
{
	lbrctx_source_exit(ip, data);
}
#else
static int lbrctx_fp_entry(struct fprobe *fp, unsigned long ip, unsigned long ret_ip,
			   struct ftrace_regs *fregs, void *data)
{
	return !lbrctx_source_entry(ip, ret_ip, ftrace_regs_get_stack_pointer(fregs), data);
}

static void lbrctx_fp_exit(struct fprobe *fp, unsigned long ip, unsigned long ret_ip,
			   struct ftrace_regs *fregs, void *data)
{
	lbrctx_source_exit(ip, data);
}
#endif

enum lbrctx_source_kind lbrctx_shim_source_kind(void)
{
	return LBRCTX_SOURCE_FPROBE;
}

/* Task context, the source's mutex held. */
int lbrctx_shim_probe_register(u32 slot, const char *glob)
{
	struct fprobe *fp = &lbrctx_fprobes[slot];

	memset(fp, 0, sizeof(*fp));
	fp->entry_handler = lbrctx_fp_entry;
	fp->exit_handler = lbrctx_fp_exit;
	fp->entry_data_size = sizeof(struct lbrctx_call);
	return register_fprobe(fp, glob, NULL);
}

void lbrctx_shim_probe_unregister(u32 slot)
{
	unregister_fprobe(&lbrctx_fprobes[slot]);
}

u64 lbrctx_shim_probe_missed(u32 slot)
{
	return lbrctx_fprobes[slot].nmissed;
}

#elif IS_ENABLED(CONFIG_KRETPROBES)

static struct kretprobe lbrctx_krps[LBRCTX_MAX_PATTERNS];

static int lbrctx_krp_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	unsigned long sp = kernel_stack_pointer(regs);
	struct kretprobe *rp = get_kretprobe(ri);

	/* Non-zero: no return handler for this call. */
	return !lbrctx_source_entry((unsigned long)rp->kp.addr, *(unsigned long *)sp, sp,
				    (struct lbrctx_call *)ri->data);
}

static int lbrctx_krp_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kretprobe *rp = get_kretprobe(ri);

	if (rp)
		lbrctx_source_exit((unsigned long)rp->kp.addr, (struct lbrctx_call *)ri->data);
	return 0;
}

enum lbrctx_source_kind lbrctx_shim_source_kind(void)
{
	return LBRCTX_SOURCE_KRETPROBE;
}

/* Task context; @name is an exact function name (the C++ refuses globs). */
int lbrctx_shim_probe_register(u32 slot, const char *name)
{
	struct kretprobe *rp = &lbrctx_krps[slot];

	memset(rp, 0, sizeof(*rp));
	rp->kp.symbol_name = name;
	rp->entry_handler = lbrctx_krp_entry;
	rp->handler = lbrctx_krp_ret;
	rp->data_size = sizeof(struct lbrctx_call);
	return register_kretprobe(rp);
}

void lbrctx_shim_probe_unregister(u32 slot)
{
	unregister_kretprobe(&lbrctx_krps[slot]);
}

u64 lbrctx_shim_probe_missed(u32 slot)
{
	return lbrctx_krps[slot].nmissed;
}

#else

enum lbrctx_source_kind lbrctx_shim_source_kind(void)
{
	return LBRCTX_SOURCE_NONE;
}

int lbrctx_shim_probe_register(u32 slot, const char *glob)
{
	return -EOPNOTSUPP;
}

void lbrctx_shim_probe_unregister(u32 slot)
{
}

u64 lbrctx_shim_probe_missed(u32 slot)
{
	return 0;
}

#endif
