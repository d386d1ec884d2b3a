// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx KUnit suites. Case bodies are C++ (kunit/test_*.cpp); this file
 * holds the suite tables and the reporting bridge they use.
 */
#include <kunit/test.h>
#include <linux/module.h>
#include <linux/version.h>
#include <lbrctx/shim.h>
#include "cases.h"

#include "report.c"

#define LBRCTX_CASE_ENTRY(name) KUNIT_CASE(name),

static struct kunit_case lbrctx_base_cases[] = {
	LBRCTX_BASE_CASES(LBRCTX_CASE_ENTRY)
	{}
};

static struct kunit_suite lbrctx_base_suite = {
	.name = "lbrctx_base",
	.test_cases = lbrctx_base_cases,
};

static struct kunit_case lbrctx_store_cases[] = {
	LBRCTX_STORE_CASES(LBRCTX_CASE_ENTRY)
	{}
};

static struct kunit_suite lbrctx_store_suite = {
	.name = "lbrctx_store",
	.test_cases = lbrctx_store_cases,
};

static struct kunit_case lbrctx_lbr_cases[] = {
	LBRCTX_LBR_CASES(LBRCTX_CASE_ENTRY)
	{}
};

static struct kunit_suite lbrctx_lbr_suite = {
	.name = "lbrctx_lbr",
	.test_cases = lbrctx_lbr_cases,
};

static struct kunit_case lbrctx_pmu_cases[] = {
	LBRCTX_PMU_CASES(LBRCTX_CASE_ENTRY)
	{}
};

static struct kunit_suite lbrctx_pmu_suite = {
	.name = "lbrctx_pmu",
	.test_cases = lbrctx_pmu_cases,
};

static struct kunit_case lbrctx_units_cases[] = {
	LBRCTX_UNITS_CASES(LBRCTX_CASE_ENTRY)
	{}
};

static struct kunit_suite lbrctx_units_suite = {
	.name = "lbrctx_units",
	.test_cases = lbrctx_units_cases,
};

static struct kunit_case lbrctx_x86_cases[] = {
	LBRCTX_X86_CASES(LBRCTX_CASE_ENTRY)
	{}
};

static struct kunit_suite lbrctx_x86_suite = {
	.name = "lbrctx_x86",
	.test_cases = lbrctx_x86_cases,
};

kunit_test_suites(&lbrctx_base_suite, &lbrctx_store_suite, &lbrctx_lbr_suite,
		  &lbrctx_units_suite, &lbrctx_x86_suite, &lbrctx_pmu_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for lbrctx");
/* lbrctx.ko's EXPORT_SYMBOL_IF_KUNIT symbols; the namespace is a string from 6.13. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");
#else
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
#endif
