// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel layout facts for the C++, generated the way asm-offsets is: this
 * file is compiled to assembly only, and Kbuild's filechk_offsets turns the
 * DEFINE()/OFFSET() markers into include/generated/lbrctx/layout.h. The C++
 * static_asserts its own mirror types against these values.
 */
#include <linux/gfp.h>
#include <linux/fault-inject.h>
#include <linux/preempt.h>
#include <linux/version.h>
#include <linux/hrtimer.h>
#include <linux/kbuild.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/ptrace.h>
#include <linux/refcount.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <asm/fpu/types.h>
#include <asm/percpu.h>
#include "shim_types.h"

/* Not called: referenced only so the compiler emits the markers. */
void lbrctx_layout_facts(void);
void lbrctx_layout_facts(void)
{
	COMMENT("Kernel objects the C++ reserves room for (include/lbrctx/k/).");
	DEFINE(LBRCTX_K_SIZEOF_SPINLOCK, sizeof(spinlock_t));
	DEFINE(LBRCTX_K_ALIGNOF_SPINLOCK, __alignof__(spinlock_t));
	DEFINE(LBRCTX_K_SIZEOF_MUTEX, sizeof(struct mutex));
	DEFINE(LBRCTX_K_ALIGNOF_MUTEX, __alignof__(struct mutex));
	DEFINE(LBRCTX_K_SIZEOF_LOCK_CLASS_KEY, sizeof(struct lock_class_key));
	DEFINE(LBRCTX_K_SIZEOF_REFCOUNT, sizeof(refcount_t));
	DEFINE(LBRCTX_K_SIZEOF_RHASHTABLE, sizeof(struct rhashtable));
	DEFINE(LBRCTX_K_ALIGNOF_RHASHTABLE, __alignof__(struct rhashtable));
	DEFINE(LBRCTX_K_SIZEOF_HNODE, sizeof(struct lbrctx_hnode));
	DEFINE(LBRCTX_K_ALIGNOF_HNODE, __alignof__(struct lbrctx_hnode));
	OFFSET(LBRCTX_K_HNODE_KEY, lbrctx_hnode, key);
	DEFINE(LBRCTX_K_SIZEOF_HLIST_HEAD, sizeof(struct hlist_head));
	DEFINE(LBRCTX_K_SIZEOF_UPROBE, sizeof(struct lbrctx_uprobe));
	DEFINE(LBRCTX_K_SIZEOF_PT_REGS, sizeof(struct pt_regs));
	OFFSET(LBRCTX_K_EVENT_PMU_PRIVATE, perf_event, pmu_private);
	OFFSET(LBRCTX_K_EVENT_HW_STATE, perf_event, hw.state);
	DEFINE(LBRCTX_K_SIZEOF_EVENT_HW_STATE, sizeof(((struct perf_event *)0)->hw.state));
	OFFSET(LBRCTX_K_EVENT_HW_SAMPLE_PERIOD, perf_event, hw.sample_period);
	OFFSET(LBRCTX_K_EVENT_COUNT, perf_event, count);
	OFFSET(LBRCTX_K_EVENT_TOTAL_TIME_RUNNING, perf_event, total_time_running);
	DEFINE(LBRCTX_K_SIZEOF_HRTIMER, sizeof(struct hrtimer));
	DEFINE(LBRCTX_K_SIZEOF_EVENT_COUNT, sizeof(local64_t));
	DEFINE(LBRCTX_K_ALIGNOF_PT_REGS, __alignof__(struct pt_regs));
#ifdef CONFIG_FAULT_INJECTION
	DEFINE(LBRCTX_K_SIZEOF_FAULT_ATTR, sizeof(struct fault_attr));
#else
	DEFINE(LBRCTX_K_SIZEOF_FAULT_ATTR, 0);
#endif
	BLANK();
	COMMENT("XSAVE area layout (Intel SDM Vol. 1, 13.4).");
	DEFINE(LBRCTX_K_SIZEOF_FXREGS, sizeof(struct fxregs_state));
	DEFINE(LBRCTX_K_SIZEOF_XSTATE_HEADER, sizeof(struct xstate_header));
	DEFINE(LBRCTX_K_XFEATURE_MASK_FPSSE, XFEATURE_MASK_FPSSE);
	DEFINE(LBRCTX_K_XFEATURE_MASK_LBR, XFEATURE_MASK_LBR);
	BLANK();
	COMMENT("Arch LBR state component (Intel SDM Vol. 3B, 18.1.3; asm/fpu/types.h).");
	DEFINE(LBRCTX_K_SIZEOF_ARCH_LBR_STATE, sizeof(struct arch_lbr_state));
	OFFSET(LBRCTX_K_ARCH_LBR_LBR_CTL, arch_lbr_state, lbr_ctl);
	OFFSET(LBRCTX_K_ARCH_LBR_LBR_DEPTH, arch_lbr_state, lbr_depth);
	OFFSET(LBRCTX_K_ARCH_LBR_LER_FROM, arch_lbr_state, ler_from);
	OFFSET(LBRCTX_K_ARCH_LBR_LER_TO, arch_lbr_state, ler_to);
	OFFSET(LBRCTX_K_ARCH_LBR_LER_INFO, arch_lbr_state, ler_info);
	OFFSET(LBRCTX_K_ARCH_LBR_ENTRIES, arch_lbr_state, entries);
	DEFINE(LBRCTX_K_SIZEOF_LBR_ENTRY, sizeof(struct lbr_entry));
	BLANK();
	COMMENT("The hot paths' per-CPU access, inline (include/lbrctx/k/cpu.h).");
	/* this_cpu_ptr(): ptr + this_cpu_off, read through %gs (arch/x86/include/asm/percpu.h). */
	DEFINE(LBRCTX_K_PERCPU_INLINE, IS_ENABLED(CONFIG_SMP) && IS_ENABLED(CONFIG_X86_64));
	/* preempt_count(): pcpu_hot.preempt_count from 6.2 to 6.14, __preempt_count otherwise. */
	DEFINE(LBRCTX_K_PREEMPT_IN_PCPU_HOT,
	       LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0) &&
	       LINUX_VERSION_CODE < KERNEL_VERSION(6, 15, 0));
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0) && LINUX_VERSION_CODE < KERNEL_VERSION(6, 15, 0)
	OFFSET(LBRCTX_K_PCPU_HOT_PREEMPT_COUNT, pcpu_hot, preempt_count);
#else
	DEFINE(LBRCTX_K_PCPU_HOT_PREEMPT_COUNT, 0);
#endif
	DEFINE(LBRCTX_K_NMI_MASK, NMI_MASK);
	DEFINE(LBRCTX_K_HARDIRQ_MASK, HARDIRQ_MASK);
	DEFINE(LBRCTX_K_SOFTIRQ_OFFSET, SOFTIRQ_OFFSET);
	/*
	 * local_irq_save() as pushf; cli, where it is that and nothing more:
	 * not with paravirt's irq ops (Xen PV), nor where the kernel traces
	 * the interrupt state (lockdep's CONFIG_TRACE_IRQFLAGS), which
	 * needs its hooks called.
	 */
	DEFINE(LBRCTX_K_IRQ_INLINE,
	       !IS_ENABLED(CONFIG_PARAVIRT_XXL) && !IS_ENABLED(CONFIG_TRACE_IRQFLAGS));
}

/* Errno values, so the C++ returns exactly the kernel's. */
void lbrctx_layout_errnos(void);
void lbrctx_layout_errnos(void)
{
	DEFINE(LBRCTX_K_ENOENT, ENOENT);
	DEFINE(LBRCTX_K_ESRCH, ESRCH);
	DEFINE(LBRCTX_K_EAGAIN, EAGAIN);
	DEFINE(LBRCTX_K_ENOMEM, ENOMEM);
	DEFINE(LBRCTX_K_EBUSY, EBUSY);
	DEFINE(LBRCTX_K_ENODEV, ENODEV);
	DEFINE(LBRCTX_K_EISDIR, EISDIR);
	DEFINE(LBRCTX_K_EIO, EIO);
	DEFINE(LBRCTX_K_ENOEXEC, ENOEXEC);
	DEFINE(LBRCTX_K_ENOSPC, ENOSPC);
	DEFINE(LBRCTX_K_EEXIST, EEXIST);
	DEFINE(LBRCTX_K_EINVAL, EINVAL);
	DEFINE(LBRCTX_K_E2BIG, E2BIG);
	DEFINE(LBRCTX_K_EOPNOTSUPP, EOPNOTSUPP);
}

/* perf ABI and protocol values (uapi/linux/perf_event.h, linux/perf_event.h). */
void lbrctx_layout_perf(void);
void lbrctx_layout_perf(void)
{
	DEFINE(LBRCTX_K_PERF_SAMPLE_RAW, PERF_SAMPLE_RAW);
	DEFINE(LBRCTX_K_PERF_SAMPLE_AUX, PERF_SAMPLE_AUX);
	DEFINE(LBRCTX_K_PERF_SAMPLE_BRANCH_STACK, PERF_SAMPLE_BRANCH_STACK);
	DEFINE(LBRCTX_K_BR_USER, PERF_SAMPLE_BRANCH_USER);
	DEFINE(LBRCTX_K_BR_KERNEL, PERF_SAMPLE_BRANCH_KERNEL);
	DEFINE(LBRCTX_K_BR_HV, PERF_SAMPLE_BRANCH_HV);
	DEFINE(LBRCTX_K_BR_ANY, PERF_SAMPLE_BRANCH_ANY);
	DEFINE(LBRCTX_K_BR_ANY_CALL, PERF_SAMPLE_BRANCH_ANY_CALL);
	DEFINE(LBRCTX_K_BR_ANY_RETURN, PERF_SAMPLE_BRANCH_ANY_RETURN);
	DEFINE(LBRCTX_K_BR_IND_CALL, PERF_SAMPLE_BRANCH_IND_CALL);
	DEFINE(LBRCTX_K_BR_CALL, PERF_SAMPLE_BRANCH_CALL);
	DEFINE(LBRCTX_K_BR_COND, PERF_SAMPLE_BRANCH_COND);
	DEFINE(LBRCTX_K_BR_IND_JUMP, PERF_SAMPLE_BRANCH_IND_JUMP);
	DEFINE(LBRCTX_K_BR_CALL_STACK, PERF_SAMPLE_BRANCH_CALL_STACK);
	DEFINE(LBRCTX_K_BR_NO_FLAGS, PERF_SAMPLE_BRANCH_NO_FLAGS);
	DEFINE(LBRCTX_K_BR_NO_CYCLES, PERF_SAMPLE_BRANCH_NO_CYCLES);
	DEFINE(LBRCTX_K_BR_TYPE_SAVE, PERF_SAMPLE_BRANCH_TYPE_SAVE);
	DEFINE(LBRCTX_K_BR_HW_INDEX, PERF_SAMPLE_BRANCH_HW_INDEX);
	DEFINE(LBRCTX_K_BR_PRIV_SAVE, PERF_SAMPLE_BRANCH_PRIV_SAVE);
	DEFINE(LBRCTX_K_PERF_BR_UNKNOWN, PERF_BR_UNKNOWN);
	DEFINE(LBRCTX_K_PERF_BR_COND, PERF_BR_COND);
	DEFINE(LBRCTX_K_PERF_BR_UNCOND, PERF_BR_UNCOND);
	DEFINE(LBRCTX_K_PERF_BR_IND, PERF_BR_IND);
	DEFINE(LBRCTX_K_PERF_BR_CALL, PERF_BR_CALL);
	DEFINE(LBRCTX_K_PERF_BR_IND_CALL, PERF_BR_IND_CALL);
	DEFINE(LBRCTX_K_PERF_BR_RET, PERF_BR_RET);
	DEFINE(LBRCTX_K_PERF_BR_SYSCALL, PERF_BR_SYSCALL);
	DEFINE(LBRCTX_K_PERF_BR_SYSRET, PERF_BR_SYSRET);
	DEFINE(LBRCTX_K_PERF_BR_IRQ, PERF_BR_IRQ);
	DEFINE(LBRCTX_K_PERF_BR_ERET, PERF_BR_ERET);
	DEFINE(LBRCTX_K_PERF_BR_PRIV_USER, PERF_BR_PRIV_USER);
	DEFINE(LBRCTX_K_PERF_BR_PRIV_KERNEL, PERF_BR_PRIV_KERNEL);
	DEFINE(LBRCTX_K_SIZEOF_PERF_BRANCH_ENTRY, sizeof(struct perf_branch_entry));
	DEFINE(LBRCTX_K_SIZEOF_PERF_BRANCH_STACK, sizeof(struct perf_branch_stack));
	DEFINE(LBRCTX_K_PERF_EF_START, PERF_EF_START);
	DEFINE(LBRCTX_K_PERF_EF_RELOAD, PERF_EF_RELOAD);
	DEFINE(LBRCTX_K_PERF_EF_UPDATE, PERF_EF_UPDATE);
	DEFINE(LBRCTX_K_PERF_HES_STOPPED, PERF_HES_STOPPED);
	DEFINE(LBRCTX_K_PERF_HES_UPTODATE, PERF_HES_UPTODATE);
	DEFINE(LBRCTX_K_NSEC_PER_SEC, NSEC_PER_SEC);
}
