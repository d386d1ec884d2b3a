// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_bench: store benchmarks (make bench). Loading it runs them and
 * prints one line per figure; the work is in kunit/bench.cpp. With
 * u1_path= it holds U1's bare uprobe instead (kunit/bench_uprobe.c).
 */
#include <linux/module.h>
#include <linux/version.h>
#include <lbrctx/shim.h>
#include "khelpers.h"

int lbrctx_bench_run(void);

static int __init lbrctx_bench_init(void)
{
	int ret = lbrctx_bench_u1_start();

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
