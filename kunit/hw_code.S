/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code whose branches the lbrctx_hw suite (kunit/test_hw.cpp) knows: every
 * branch instruction and every target has a global label, and the code
 * ends by ringing the Save doorbell (include/lbrctx/hwlbr.h), so that its
 * branches are the youngest records of the units the caller selected in
 * its page. Called with interrupts off. Every function begins with
 * ENDBR64, as IBT wants of an indirect target (it is a NOP where IBT is
 * off): the C++ calls them through pointers. The labels inside them are
 * addresses the C++ compares records with, never branches to
 * (ANNOTATE_NOENDBR).
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/ibt.h>
#include <asm/nospec-branch.h>

/* nopl 0x4c420003(%rax): the Save doorbell (hw::kDoorbell | hw::Cmd::Save). */
#define SAVE_DOORBELL .byte 0x0f, 0x1f, 0x80; .long 0x4c420003

	.text
/*
 * An indirect jump, a direct jump, a direct call and an indirect call to
 * a leaf that returns, and a loop whose Jcc is taken three times.
 */
SYM_FUNC_START(lbrctx_hwt_branches)
	ENDBR
	lea lbrctx_hwt_t_jind(%rip), %rax
SYM_INNER_LABEL(lbrctx_hwt_jind, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	ANNOTATE_RETPOLINE_SAFE
	jmp *%rax
SYM_FUNC_END(lbrctx_hwt_branches)

/* The indirect jump's target: a function of its own, as objtool follows code. */
SYM_FUNC_START(lbrctx_hwt_t_jind)
	ENDBR
SYM_INNER_LABEL(lbrctx_hwt_jrel, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	jmp lbrctx_hwt_t_jrel
SYM_INNER_LABEL(lbrctx_hwt_t_jrel, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
SYM_INNER_LABEL(lbrctx_hwt_call, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	call lbrctx_hwt_leaf
SYM_INNER_LABEL(lbrctx_hwt_r_call, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	lea lbrctx_hwt_leaf(%rip), %rax
SYM_INNER_LABEL(lbrctx_hwt_cind, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	ANNOTATE_RETPOLINE_SAFE
	call *%rax
SYM_INNER_LABEL(lbrctx_hwt_r_cind, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	mov $4, %ecx
SYM_INNER_LABEL(lbrctx_hwt_loop, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	dec %ecx
SYM_INNER_LABEL(lbrctx_hwt_jcc, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	jnz lbrctx_hwt_loop
	SAVE_DOORBELL
	RET
SYM_FUNC_END(lbrctx_hwt_t_jind)

SYM_FUNC_START(lbrctx_hwt_leaf)
	ENDBR
SYM_INNER_LABEL(lbrctx_hwt_ret, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	RET
SYM_FUNC_END(lbrctx_hwt_leaf)

/*
 * Call-stack mode: three nested calls, the innermost returns, then the
 * Save: the stack holds the two calls still open.
 */
SYM_FUNC_START(lbrctx_hwt_nested)
	ENDBR
SYM_INNER_LABEL(lbrctx_hwt_n1, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	call lbrctx_hwt_nest2
	RET
SYM_FUNC_END(lbrctx_hwt_nested)

SYM_FUNC_START(lbrctx_hwt_nest2)
SYM_INNER_LABEL(lbrctx_hwt_n2, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	call lbrctx_hwt_leaf
SYM_INNER_LABEL(lbrctx_hwt_n2_back, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	SAVE_DOORBELL
	RET
SYM_FUNC_END(lbrctx_hwt_nest2)

/* Ring the doorbell of command 0x77, which does not exist. */
SYM_FUNC_START(lbrctx_hwt_bogus_command)
	ENDBR
	.byte 0x0f, 0x1f, 0x80
	.long 0x4c420077
	RET
SYM_FUNC_END(lbrctx_hwt_bogus_command)

/* Ring Restore and Save for the caller's page operands. */
SYM_FUNC_START(lbrctx_hwt_restore)
	ENDBR
	.byte 0x0f, 0x1f, 0x80
	.long 0x4c420004
	RET
SYM_FUNC_END(lbrctx_hwt_restore)

SYM_FUNC_START(lbrctx_hwt_save)
	ENDBR
	SAVE_DOORBELL
	RET
SYM_FUNC_END(lbrctx_hwt_save)
