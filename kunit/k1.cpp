// SPDX-License-Identifier: GPL-2.0
/*
 * K1 of make bench, in lbrctx_bench.ko, and in lbrctx_k1.ko (kunit/k1_run.cpp)
 * for kernels without KUnit: Debian's stock 6.1, the kretprobe source.
 */
#include <lbrctx/base.h>

#include "bench_stats.h"
#include "khelpers.h"

using namespace lbrctx;
using namespace lbrctx::bench;

/*
 * K1: ns per probed kernel call and return. Three identical leaves of
 * lbrctx_tchain.ko, called in turn, @calls times per side and round, in
 * rotating order: cost_none (no probe), cost_floor (this module's copy of
 * lbrctx's source with handlers that only count: the fprobe or kretprobe
 * floor) and cost_rec (lbrctx's probe: make bench points
 * /sys/kernel/debug/lbrctx/probes at it and runs this under an lbrctx
 * branches event, which counts what lbrctx recorded). Task context.
 */
extern "C" int lbrctx_bench_k1(u32 calls, u32 rounds) noexcept
{
	constexpr u32 kMaxRounds = 31;
	if (!calls || !rounds || rounds > kMaxRounds)
		return -LBRCTX_K_EINVAL;
	const char *kind =
		lbrctx_shim_source_kind() == LBRCTX_SOURCE_KRETPROBE ? "kretprobe" : "fprobe";
	if (int ret = lbrctx_bench_k1_floor_start("lbrctx_tchain_cost_floor")) {
		lbrctx_err("bench: K1 floor probe: %d\n", ret);
		return ret;
	}
	/* ns x 10 per call, per side and round */
	u64 t[3][kMaxRounds];
	u64 v = 0;
	for (u32 r = 0; r < rounds; r++) {
		for (u32 k = 0; k < 3; k++) {
			int side = static_cast<int>((r + k) % 3);
			u64 t0 = lbrctx_kt_ktime_ns();
			for (u32 i = 0; i < calls; i++)
				v = lbrctx_bench_k1_call(side, v);
			t[side][r] = (lbrctx_kt_ktime_ns() - t0) * 10 / calls;
		}
		lbrctx_kt_yield();
	}
	u64 entries, exits;
	lbrctx_bench_k1_floor_stop(&entries, &exits);
	u64 none = median(t[0], static_cast<int>(rounds));
	u64 floor = median(t[1], static_cast<int>(rounds));
	u64 rec = median(t[2], static_cast<int>(rounds));
	u64 floor_pair = floor > none ? floor - none : 0;
	u64 rec_pair = rec > none ? rec - none : 0;
	Fixed3 q = ratio(rec_pair, floor_pair);
	lbrctx_info(
		"K1 source=%s none_ns=%llu.%llu floor_ns=%llu.%llu lbrctx_ns=%llu.%llu floor_pair_ns=%llu.%llu lbrctx_pair_ns=%llu.%llu ratio=%llu.%03u calls=%u rounds=%u floor_entries=%llu floor_exits=%llu check=%llu\n",
		kind, none / 10, none % 10, floor / 10, floor % 10, rec / 10, rec % 10,
		floor_pair / 10, floor_pair % 10, rec_pair / 10, rec_pair % 10, q.whole, q.frac,
		calls, rounds, entries, exits, v & 1);
	return 0;
}
