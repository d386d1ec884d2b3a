// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel layout facts for the C++, generated the way asm-offsets is: this
 * file is compiled to assembly only, and Kbuild's filechk_offsets turns the
 * DEFINE()/OFFSET() markers into include/generated/lbrctx/layout.h. The C++
 * static_asserts its own mirror types against these values.
 */
#include <linux/kbuild.h>
#include <linux/perf_event.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/rhashtable-types.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/fpu/types.h>
#include "shim_types.h"

/* Not called: referenced only so the compiler emits the markers. */
void lbrctx_layout_facts(void);
void lbrctx_layout_facts(void)
{
	COMMENT("Kernel object sizes the C++ headers reserve room for.");
	DEFINE(LBRCTX_K_SIZEOF_RCU_HEAD, sizeof(struct rcu_head));
	DEFINE(LBRCTX_K_ALIGNOF_RCU_HEAD, __alignof__(struct rcu_head));
	DEFINE(LBRCTX_K_SIZEOF_REFCOUNT, sizeof(refcount_t));
	DEFINE(LBRCTX_K_SIZEOF_RHASH_HEAD, sizeof(struct rhash_head));
	DEFINE(LBRCTX_K_SIZEOF_LIST_HEAD, sizeof(struct list_head));
	DEFINE(LBRCTX_K_ARCH_KMALLOC_MINALIGN, ARCH_KMALLOC_MINALIGN);
	DEFINE(LBRCTX_K_SIZEOF_HNODE, sizeof(struct lbrctx_hnode));
	DEFINE(LBRCTX_K_ALIGNOF_HNODE, __alignof__(struct lbrctx_hnode));
	BLANK();
	COMMENT("XSAVE area layout (Intel SDM Vol. 1, 13.4).");
	DEFINE(LBRCTX_K_SIZEOF_FXREGS, sizeof(struct fxregs_state));
	DEFINE(LBRCTX_K_SIZEOF_XSTATE_HEADER, sizeof(struct xstate_header));
	DEFINE(LBRCTX_K_XFEATURE_LBR, XFEATURE_LBR);
	DEFINE(LBRCTX_K_XFEATURE_MASK_FPSSE, XFEATURE_MASK_FPSSE);
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
	OFFSET(LBRCTX_K_LBR_ENTRY_FROM, lbr_entry, from);
	OFFSET(LBRCTX_K_LBR_ENTRY_TO, lbr_entry, to);
	OFFSET(LBRCTX_K_LBR_ENTRY_INFO, lbr_entry, info);
}

/* Errno values, so the C++ returns exactly the kernel's. */
void lbrctx_layout_errnos(void);
void lbrctx_layout_errnos(void)
{
	DEFINE(LBRCTX_K_EPERM, EPERM);
	DEFINE(LBRCTX_K_ENOENT, ENOENT);
	DEFINE(LBRCTX_K_ESRCH, ESRCH);
	DEFINE(LBRCTX_K_EAGAIN, EAGAIN);
	DEFINE(LBRCTX_K_ENOMEM, ENOMEM);
	DEFINE(LBRCTX_K_EACCES, EACCES);
	DEFINE(LBRCTX_K_EBUSY, EBUSY);
	DEFINE(LBRCTX_K_EEXIST, EEXIST);
	DEFINE(LBRCTX_K_ENODEV, ENODEV);
	DEFINE(LBRCTX_K_EINVAL, EINVAL);
	DEFINE(LBRCTX_K_ENOSPC, ENOSPC);
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
	DEFINE(LBRCTX_K_PERF_SAMPLE_READ, PERF_SAMPLE_READ);
	DEFINE(LBRCTX_K_BR_USER, PERF_SAMPLE_BRANCH_USER);
	DEFINE(LBRCTX_K_BR_KERNEL, PERF_SAMPLE_BRANCH_KERNEL);
	DEFINE(LBRCTX_K_BR_HV, PERF_SAMPLE_BRANCH_HV);
	DEFINE(LBRCTX_K_BR_ANY, PERF_SAMPLE_BRANCH_ANY);
	DEFINE(LBRCTX_K_BR_ANY_CALL, PERF_SAMPLE_BRANCH_ANY_CALL);
	DEFINE(LBRCTX_K_BR_ANY_RETURN, PERF_SAMPLE_BRANCH_ANY_RETURN);
	DEFINE(LBRCTX_K_BR_IND_CALL, PERF_SAMPLE_BRANCH_IND_CALL);
	DEFINE(LBRCTX_K_BR_CALL, PERF_SAMPLE_BRANCH_CALL);
	DEFINE(LBRCTX_K_BR_CALL_STACK, PERF_SAMPLE_BRANCH_CALL_STACK);
	DEFINE(LBRCTX_K_BR_NO_FLAGS, PERF_SAMPLE_BRANCH_NO_FLAGS);
	DEFINE(LBRCTX_K_BR_NO_CYCLES, PERF_SAMPLE_BRANCH_NO_CYCLES);
	DEFINE(LBRCTX_K_BR_TYPE_SAVE, PERF_SAMPLE_BRANCH_TYPE_SAVE);
	DEFINE(LBRCTX_K_BR_HW_INDEX, PERF_SAMPLE_BRANCH_HW_INDEX);
	DEFINE(LBRCTX_K_BR_PRIV_SAVE, PERF_SAMPLE_BRANCH_PRIV_SAVE);
	DEFINE(LBRCTX_K_BR_MAX, PERF_SAMPLE_BRANCH_MAX);
	DEFINE(LBRCTX_K_PERF_EF_START, PERF_EF_START);
	DEFINE(LBRCTX_K_PERF_EF_RELOAD, PERF_EF_RELOAD);
	DEFINE(LBRCTX_K_PERF_EF_UPDATE, PERF_EF_UPDATE);
	DEFINE(LBRCTX_K_PERF_HES_STOPPED, PERF_HES_STOPPED);
	DEFINE(LBRCTX_K_PERF_HES_UPTODATE, PERF_HES_UPTODATE);
	DEFINE(LBRCTX_K_NSEC_PER_SEC, NSEC_PER_SEC);
	DEFINE(LBRCTX_K_XFEATURE_MASK_LBR, XFEATURE_MASK_LBR);
}
