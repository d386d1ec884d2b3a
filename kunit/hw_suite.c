// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_hwtest.ko: the lbrctx_hw suite, which needs the QEMU plugin's LBR
 * hardware (qemu/run.sh --lbr) and lbrctx.ko loaded with source=hw; the
 * hardware guest (qemu/guest/hw.sh) loads it. Case bodies: kunit/test_hw.cpp.
 */
#include <kunit/test.h>
#include <linux/module.h>
#include <linux/version.h>
#include <lbrctx/shim.h>
#include "cases.h"

#include "report.c"

#define LBRCTX_CASE_ENTRY(name) KUNIT_CASE(name),

static struct kunit_case lbrctx_hw_cases[] = {
	LBRCTX_HW_CASES(LBRCTX_CASE_ENTRY)
	{}
};

static struct kunit_suite lbrctx_hw_suite = {
	.name = "lbrctx_hw",
	.test_cases = lbrctx_hw_cases,
};

kunit_test_suites(&lbrctx_hw_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suite for lbrctx's hardware source");
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
#else
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
#endif
