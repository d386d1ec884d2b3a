// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_bench: store benchmarks (make bench). Loading it runs them and
 * prints one line per figure; the work is in kunit/bench.cpp (K1's in
 * kunit/k1.cpp). With u1_path= it holds U1's bare uprobe instead
 * (kunit/bench_uprobe.c); with ulookup=1 it times the user source's
 * handler lookup (kunit/bench_ulookup.cpp).
 */
#include <linux/module.h>
#include <linux/version.h>
#include <lbrctx/shim.h>
#include "khelpers.h"

int lbrctx_bench_run(void);

static unsigned int k1;
module_param(k1, uint, 0444);
MODULE_PARM_DESC(k1, "K1: calls per side and round of the probe-cost benchmark (no store benchmarks then)");
static unsigned int k1_rounds = 11;
module_param(k1_rounds, uint, 0444);
MODULE_PARM_DESC(k1_rounds, "K1: interleaved rounds (default 11)");
static bool ulookup;
module_param(ulookup, bool, 0444);
MODULE_PARM_DESC(ulookup, "the user source's handler lookup over lbrctx's uprobe set (no store benchmarks then)");

static int __init lbrctx_bench_init(void)
{
	int ret;

	if (k1)
		return lbrctx_bench_k1(k1, k1_rounds);
	if (ulookup)
		return lbrctx_bench_ulookup();
	ret = lbrctx_bench_u1_start();

	if (ret)
		return ret < 0 ? ret : 0;
	return lbrctx_bench_run();
}

static void __exit lbrctx_bench_exit(void)
{
	lbrctx_bench_u1_stop();
}

module_init(lbrctx_bench_init);
module_exit(lbrctx_bench_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lbrctx store benchmarks");
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
#else
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
#endif
