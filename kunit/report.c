// SPDX-License-Identifier: GPL-2.0
/*
 * The reporting bridge of the C++ case bodies (kunit/ktest.h) to KUnit,
 * included by each test module's suite file (kunit/suites.c,
 * kunit/hw_suite.c).
 */
#include <kunit/test.h>
#include <lbrctx/shim.h>
#include "cases.h"

void lbrctx_kunit_fail(struct kunit *test, const char *file, int line, const char *what)
{
	KUNIT_FAIL(test, "%s:%d: expected %s", file, line, what);
}

void lbrctx_kunit_fail_eq(struct kunit *test, const char *file, int line, const char *lhs,
			  const char *rhs, long long lv, long long rv)
{
	KUNIT_FAIL(test, "%s:%d: expected %s == %s, got %lld != %lld", file, line, lhs, rhs, lv,
		   rv);
}

void lbrctx_kunit_info(struct kunit *test, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	kunit_info(test, "%pV", &vaf);
	va_end(args);
}
