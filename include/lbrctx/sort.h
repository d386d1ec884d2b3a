/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heap_sort(): an in-place sort of an array of u32 by a caller's order,
 * with no recursion and no allocation (the user source sorts its probe
 * set's indices with it; kunit/test_base.cpp checks it). O(n log n).
 */
#pragma once

#include <lbrctx/types.h>

namespace lbrctx {
namespace sort_detail {

/* Moves v[root] down the heap of @n entries until @before orders it. */
template <class F> void sift(u32 *v, u32 root, u32 n, F before)
{
	for (u32 child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && before(v[child], v[child + 1]))
			child++;
		if (!before(v[root], v[child]))
			return;
		u32 t = v[root];
		v[root] = v[child];
		v[child] = t;
	}
}

} // namespace sort_detail

/* Sorts @v's @n entries so that no entry is @before the one ahead of it. */
template <class F> void heap_sort(u32 *v, u32 n, F before)
{
	for (u32 i = n / 2; i-- > 0;)
		sort_detail::sift(v, i, n, before);
	for (u32 end = n; end-- > 1;) {
		u32 t = v[0];
		v[0] = v[end];
		v[end] = t;
		sort_detail::sift(v, 0, end, before);
	}
}

} // namespace lbrctx
