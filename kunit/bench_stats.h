/* SPDX-License-Identifier: GPL-2.0 */
/* The benchmarks' statistics: medians and ratios without floating point. */
#ifndef LBRCTX_KUNIT_BENCH_STATS_H
#define LBRCTX_KUNIT_BENCH_STATS_H

#include <lbrctx/base.h>

namespace lbrctx::bench {

inline void sort(u64 *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

inline u64 median(u64 *v, int n)
{
	sort(v, n);
	return v[n / 2];
}

/* x/y with three decimals, for printing without floating point. */
struct Fixed3 {
	u64 whole;
	u32 frac;
};

inline Fixed3 ratio(u64 x, u64 y)
{
	u64 milli = y ? (x * 1000 + y / 2) / y : 0;
	return {milli / 1000, static_cast<u32>(milli % 1000)};
}

} // namespace lbrctx::bench

#endif
