// SPDX-License-Identifier: GPL-2.0
/*
 * The two kernel helpers every test module's timing loop uses, included
 * by kunit/kthread.c (lbrctx_kunit, lbrctx_bench) and kunit/k1_mod.c
 * (lbrctx_k1, built where kthread.c's KUnit and fault-injection helpers
 * are not).
 */
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include "khelpers.h"

/* Task context, may sleep. */
void lbrctx_kt_yield(void)
{
	cond_resched();
}

/* Task or IRQ context (not NMI: ktime_get_ns() reads under a seqcount). */
u64 lbrctx_kt_ktime_ns(void)
{
	return ktime_get_ns();
}
