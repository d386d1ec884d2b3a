// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_k1: K1 of make bench alone, for kernels without KUnit, where
 * lbrctx_bench.ko is not built (Debian's stock 6.1: the kretprobe source).
 * Loading it runs K1 (kunit/k1.cpp) and prints its line; the guest then
 * unloads it. Its own copies of the floor probe (kunit/bench_probe.c),
 * the printk wrappers and the two kernel helpers K1 uses (kunit/ktime.c,
 * which kunit/kthread.c includes too): lbrctx.ko exports nothing without
 * KUnit.
 */
#include <linux/module.h>
#include <lbrctx/shim.h>
#include "khelpers.h"
#include "ktime.c"

static unsigned int k1 = 20000;
module_param(k1, uint, 0444);
MODULE_PARM_DESC(k1, "calls per side and round (default 20000)");
static unsigned int k1_rounds = 11;
module_param(k1_rounds, uint, 0444);
MODULE_PARM_DESC(k1_rounds, "interleaved rounds (default 11)");

/* Task context (insmod): K1 runs here, a few seconds under TCG. */
static int __init lbrctx_k1_init(void)
{
	return lbrctx_bench_k1(k1, k1_rounds);
}

static void __exit lbrctx_k1_exit(void)
{
}

module_init(lbrctx_k1_init);
module_exit(lbrctx_k1_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lbrctx K1 probe-cost benchmark");
