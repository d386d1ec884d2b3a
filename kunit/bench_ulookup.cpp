// SPDX-License-Identifier: GPL-2.0
/*
 * The user source's handler lookup (qemu/guest/uprobes-size.sh, make
 * check's uprobes line): loaded with ulookup=1, lbrctx_bench.ko times
 * what each uprobe handler does first, UserSource::current() (the probe's
 * index in the live set, and its current consumer), over the set written
 * to /sys/kernel/debug/lbrctx/uprobes, at ids spread over all of it. It
 * prints "ulookup probes=N ps=P call_ps=C hits=H": P picoseconds a lookup
 * (the median of 7 rounds of 4M lookups), through one call into lbrctx.ko
 * (lbrctx_kunit_uprobes_current()), the same at every set size; C the same
 * loop calling a function of its own that looks nothing up.
 */
#include <lbrctx/kunit_api.h>

#include "bench_stats.h"
#include "khelpers.h"

using namespace lbrctx;
using namespace lbrctx::bench;

namespace {

constexpr u32 kLookups = 1u << 22;
constexpr u32 kBatch = 4096;
constexpr int kRounds = 7;

/* A call that looks nothing up: the loop's and the call's own cost. */
[[gnu::noinline]] bool no_lookup(u32 id)
{
	asm volatile("" : "+r"(id));
	return id & 2;
}

/* Picoseconds a call of @lookup at ids spread over [0, @n) takes: the median of kRounds. */
template <class F> u64 time_ps(u32 n, u32 &hits, F lookup)
{
	u64 ps[kRounds];
	for (int r = 0; r < kRounds; r++) {
		u32 x = 2463534242u;
		hits = 0;
		u64 t0 = lbrctx_kt_ktime_ns();
		for (u32 done = 0; done < kLookups; done += kBatch) {
			for (u32 j = 0; j < kBatch; j++) {
				x = x * 1664525u + 1013904223u;
				/* An index in [0, n), uniform: consumer 0 of that probe. */
				u32 i = static_cast<u32>((static_cast<u64>(x) * n) >> 32);
				hits += lookup(i << 1);
			}
			lbrctx_kt_yield();
		}
		ps[r] = (lbrctx_kt_ktime_ns() - t0) * 1000 / kLookups;
	}
	return median(ps, kRounds);
}

} // namespace

extern "C" int lbrctx_bench_ulookup(void) noexcept
{
	const u32 n = lbrctx_kunit_uprobes_count();
	if (!n) {
		lbrctx_err("bench: ulookup: no user probe set\n");
		return -LBRCTX_K_ENOENT;
	}
	u32 hits, none;
	u64 ps = time_ps(n, hits, [](u32 id) { return lbrctx_kunit_uprobes_current(id); });
	u64 call = time_ps(n, none, [](u32 id) { return no_lookup(id); });
	lbrctx_info("bench: ulookup probes=%u ps=%llu call_ps=%llu hits=%u\n", n, ps, call, hits);
	return 0;
}
