// SPDX-License-Identifier: GPL-2.0
/*
 * K1's floor (make bench): module/shim/source.c built again into
 * lbrctx_bench.ko, with handlers that only count. The same registration
 * (fprobe, or kretprobe where lbrctx's source is one) and the same kernel
 * paths as lbrctx's branch source, and no recording: the kernel's own cost
 * of a probed call and return.
 */
#include "../module/shim/source.c"
#include "khelpers.h"

u64 lbrctx_tchain_cost_none(u64 v);
u64 lbrctx_tchain_cost_floor(u64 v);
u64 lbrctx_tchain_cost_rec(u64 v);

static u64 lbrctx_k1_entries, lbrctx_k1_exits;

/* The probed function's context, preemption off (module/shim/source.c). */
bool lbrctx_source_entry(u64 ip, u64 ret_ip, u64 sp, struct lbrctx_call *c)
{
	WRITE_ONCE(lbrctx_k1_entries, lbrctx_k1_entries + 1);
	return true;
}

void lbrctx_source_exit(u64 ip, struct lbrctx_call *c)
{
	WRITE_ONCE(lbrctx_k1_exits, lbrctx_k1_exits + 1);
}

void lbrctx_source_reap(void)
{
}

/* Task context: the floor's probe on @name (slot 0 of this copy's probes). */
int lbrctx_bench_k1_floor_start(const char *name)
{
	return lbrctx_shim_probe_register(0, name);
}

void lbrctx_bench_k1_floor_stop(u64 *entries, u64 *exits)
{
	lbrctx_shim_probe_unregister(0);
	*entries = READ_ONCE(lbrctx_k1_entries);
	*exits = READ_ONCE(lbrctx_k1_exits);
}

u64 lbrctx_bench_k1_call(int which, u64 v)
{
	switch (which) {
	case 0:
		return lbrctx_tchain_cost_none(v);
	case 1:
		return lbrctx_tchain_cost_floor(v);
	default:
		return lbrctx_tchain_cost_rec(v);
	}
}
