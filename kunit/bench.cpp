// SPDX-License-Identifier: GPL-2.0
/*
 * Store benchmarks, run in a guest by scripts/bench.sh. Each figure is a
 * median over repeated runs in one boot; each line carries the ratio the
 * goal is stated in.
 *
 *   P2  memory: slab bytes a global attach of 10K threads costs, against
 *       the ideal of 10K objects of sizeof(TaskData)
 *   P3  global attach time for 1K, 10K and 20K threads; linear means
 *       20K <= 2.1 x 10K
 *   L   lookup cost from the switch path (RCU, no lock) at 100 and 10K
 *       live objects; it must not grow with the count
 */
#include <lbrctx/atomic.h>
#include <lbrctx/kunit_api.h>
#include <lbrctx/store.h>

#include "bench_stats.h"
#include "khelpers.h"

using namespace lbrctx;
using namespace lbrctx::bench;

extern "C" int lbrctx_bench_run(void) noexcept;

namespace {

constexpr int kMaxThreads = 20000;
constexpr int kRounds = 5;
constinit void *g_threads[kMaxThreads];
/* The store under measurement: the store's class (kunit/bench_store.cpp) with its own cache. */
constinit Store g_store;

int park(void *) noexcept
{
	lbrctx_kt_wait_for_stop();
	return 0;
}

int run();

int spawn(int n)
{
	for (int i = 0; i < n; i++) {
		g_threads[i] = lbrctx_kt_start(park, nullptr, "lbrctx_bench");
		if (!g_threads[i])
			return i;
	}
	return n;
}

void stop(int n)
{
	for (int i = 0; i < n; i++)
		lbrctx_kt_stop(g_threads[i]);
}

u64 attach_global_ns()
{
	u64 t0 = lbrctx_kt_ktime_ns();
	int ret = g_store.attach_global().error();
	u64 t1 = lbrctx_kt_ktime_ns();
	if (ret)
		lbrctx_err("bench: attach_global failed: %d\n", ret);
	return t1 - t0;
}

void detach_global()
{
	(void)g_store.detach_global();
	lbrctx_shim_rcu_barrier();
}

/* ns per lookup over @n attached tasks, 1M lookups in batches under RCU. */
u64 lookup_ns(int n)
{
	constexpr int kLookups = 1 << 20;
	constexpr int kBatch = 1024;
	u64 found = 0;
	u64 t0 = lbrctx_kt_ktime_ns();
	for (int done = 0, i = 0; done < kLookups; done += kBatch) {
		{
			k::RcuReadGuard rcu;
			for (int j = 0; j < kBatch; j++) {
				found += g_store.lookup(k::Task(g_threads[i])) != nullptr;
				if (++i == n)
					i = 0;
			}
		}
		lbrctx_kt_yield();
	}
	u64 t1 = lbrctx_kt_ktime_ns();
	if (found != static_cast<u64>(kLookups))
		lbrctx_err("bench: %llu of %d lookups missed\n", kLookups - found, kLookups);
	return (t1 - t0) / kLookups;
}

/*
 * ns per lookup as the switch path makes them: interrupts off, under RCU,
 * over a working set of 4 of the @n tasks, the few a CPU switches between,
 * with @n objects live. @lookup(task) is non-null when it finds the data.
 */
template <class F> u64 working_set_lookup_ns(int n, const char *what, F lookup)
{
	constexpr int kLookups = 1 << 20;
	constexpr int kBatch = 1024;
	void *set[4];
	for (int k = 0; k < 4; k++)
		set[k] = g_threads[k * (n / 4)];
	u64 found = 0;
	u64 t0 = lbrctx_kt_ktime_ns();
	for (int done = 0; done < kLookups; done += kBatch) {
		{
			k::IrqSave irqs;
			k::RcuReadGuard rcu;
			for (int j = 0; j < kBatch; j++)
				found += lookup(set[j & 3]) != nullptr;
		}
		lbrctx_kt_yield();
	}
	u64 t1 = lbrctx_kt_ktime_ns();
	if (found != static_cast<u64>(kLookups))
		lbrctx_err("bench: %llu of %d %s lookups missed\n", kLookups - found, kLookups,
			   what);
	return (t1 - t0) / kLookups;
}

/* lbrctx's: Store::lookup_here(), this CPU's cache of recent objects. */
u64 switch_lookup_ns(int n)
{
	return working_set_lookup_ns(n, "switch",
				     [](void *t) { return g_store.lookup_here(k::Task(t)); });
}

/* The core's task_struct::perf_ctx_data (store=upstream). */
u64 upstream_lookup_ns(int n)
{
	void *cache = lbrctx_kunit_upstream_cache();
	return working_set_lookup_ns(
		n, "upstream", [cache](void *t) { return lbrctx_shim_task_ctx_data(t, cache); });
}

/*
 * The first CPU-wide lbrctx event through perf (perf_event_create_kernel_counter(),
 * as perf_event_open() runs it) under store=@mode: its latency (*ns) and
 * the slab bytes it added (*bytes). @during runs while it is open.
 */
template <class F> bool open_global(const char *mode, u64 *ns, u64 *bytes, F during)
{
	if (int ret = lbrctx_shim_store_set(mode)) {
		lbrctx_err("bench: store=%s: %d\n", mode, ret);
		return false;
	}
	lbrctx_kattr a{};
	a.type = lbrctx_kunit_pmu_type();
	a.config = 1ull << 8; /* callstack, counting */
	int err = 0;
	u64 s0 = lbrctx_kt_slab_unreclaimable_bytes();
	u64 t0 = lbrctx_kt_ktime_ns();
	void *ev = lbrctx_kt_counter_create(&a, 0, nullptr, &err);
	u64 t1 = lbrctx_kt_ktime_ns();
	u64 s1 = lbrctx_kt_slab_unreclaimable_bytes();
	if (!ev) {
		lbrctx_err("bench: store=%s: CPU-wide event: %d\n", mode, err);
		(void)lbrctx_shim_store_set("lbrctx");
		return false;
	}
	during();
	lbrctx_kt_counter_release(ev);
	lbrctx_shim_rcu_barrier();
	*ns = t1 - t0;
	*bytes = s1 > s0 ? s1 - s0 : 0;
	return true;
}

int run();

} // namespace

extern "C" int lbrctx_bench_run(void) noexcept
{
	if (int ret = g_store.init("lbrctx_bench_task_data").error())
		return ret;
	/*
	 * This module's own probe, registered first: on 7.x fprobe runs on
	 * function graph, whose first user gives every task a return stack;
	 * threads started after that get theirs at fork, outside the figures.
	 */
	int ret = lbrctx_bench_k1_floor_start("lbrctx_tchain_cost_floor");
	if (ret) {
		lbrctx_err("bench: probe: %d\n", ret);
	} else {
		ret = run();
		u64 e, x;
		lbrctx_bench_k1_floor_stop(&e, &x);
	}
	(void)lbrctx_shim_store_set("lbrctx");
	g_store.shutdown();
	return ret;
}

namespace {

/* @x microseconds as milliseconds with three decimals. */
#define MS3(x) (x) / 1000, (x) % 1000

int run()
{
	const int sizes[] = {1000, 10000, 20000};
	bool upstream = lbrctx_shim_upstream_store();
	u64 attach_us[3];
	u64 perf_us[3] = {}, up_us[3] = {};
	u64 mem_total = 0, perf_bytes = 0, up_bytes = 0;
	u64 table_10k = 0, lookup_10k = 0, up_lookup_10k = 0, table_bytes = 0;

	for (int s = 0; s < 3; s++) {
		int n = spawn(sizes[s]);
		if (n != sizes[s]) {
			lbrctx_err("bench: started %d of %d threads\n", n, sizes[s]);
			stop(n);
			return -LBRCTX_K_ENOMEM;
		}
		u64 t[kRounds], pt[kRounds], ut[kRounds], pb[kRounds], ub[kRounds];
		for (int r = 0; r < kRounds; r++) {
			u64 slab0 = lbrctx_kt_slab_unreclaimable_bytes();
			t[r] = attach_global_ns();
			if (sizes[s] == 10000 && r == 0) {
				/* Once the table's deferred growth ran (rhashtable resizes in a worker). */
				lbrctx_kt_msleep(500);
				mem_total = lbrctx_kt_slab_unreclaimable_bytes() - slab0;
				table_bytes = g_store.stats().table_bytes;
			}
			if (sizes[s] == 10000 && r == kRounds - 1) {
				table_10k = lookup_ns(n);
				lookup_10k = switch_lookup_ns(n);
			}
			detach_global();
			/* The same walk through perf, lbrctx's store and the core's, in alternating order. */
			pt[r] = ut[r] = pb[r] = ub[r] = 0;
			for (int k = 0; k < (upstream ? 2 : 1); k++) {
				bool up = upstream && (r + k) % 2 == 1;
				bool last = sizes[s] == 10000 && r == kRounds - 1;
				bool ok =
					up ? open_global("upstream", &ut[r], &ub[r],
							 [&] {
								 if (last)
									 up_lookup_10k =
										 upstream_lookup_ns(
											 n);
							 })
					   : open_global("lbrctx", &pt[r], &pb[r], [] {});
				if (!ok) {
					stop(n);
					return -LBRCTX_K_EIO;
				}
			}
		}
		attach_us[s] = median(t, kRounds) / 1000;
		perf_us[s] = median(pt, kRounds) / 1000;
		up_us[s] = median(ut, kRounds) / 1000;
		if (sizes[s] == 10000) {
			perf_bytes = median(pb, kRounds);
			up_bytes = median(ub, kRounds);
		}
		stop(n);
	}

	/* 100 live objects: per-task attaches of 100 threads, each handed to its task. */
	int n = spawn(100);
	for (int i = 0; i < n; i++) {
		auto r = g_store.attach(k::Task(g_threads[i]));
		if (!r.is_error())
			g_store.give_to_task(r.release_value());
	}
	u64 table_100 = lookup_ns(n);
	u64 lookup_100 = switch_lookup_ns(n);
	u64 up_lookup_100 = 0, ns, bytes;
	if (upstream &&
	    !open_global("upstream", &ns, &bytes, [&] { up_lookup_100 = upstream_lookup_ns(n); })) {
		stop(n);
		return -LBRCTX_K_EIO;
	}
	(void)lbrctx_shim_store_set("lbrctx");
	stop(n); /* the exits drop the tasks' references */
	lbrctx_shim_rcu_barrier();

	u64 ideal = 10000ULL * sizeof(TaskData);
	Fixed3 mem_ratio = ratio(mem_total, ideal);
	/* Breakdown: the objects, the hash table's buckets, and the rest (slab page tails, other slabs). */
	u64 rest = mem_total > ideal + table_bytes ? mem_total - ideal - table_bytes : 0;
	Fixed3 pu = ratio(perf_bytes, up_bytes);
	lbrctx_info(
		"P2 bytes_per_task=%llu object_size=%u total_10k=%llu ideal_10k=%llu ratio=%llu.%03u objects_10k=%llu table_10k=%llu rest_10k=%llu perf_bytes_per_task=%llu upstream_bytes_per_task=%llu ratio_to_upstream=%llu.%03u\n",
		mem_total / 10000, static_cast<u32>(sizeof(TaskData)), mem_total, ideal,
		mem_ratio.whole, mem_ratio.frac, ideal, table_bytes, rest, perf_bytes / 10000,
		up_bytes / 10000, pu.whole, pu.frac);
	Fixed3 lin = ratio(attach_us[2], attach_us[1]);
	Fixed3 uplin = ratio(up_us[2], up_us[1]);
	Fixed3 vs = ratio(perf_us[1], up_us[1]);
	lbrctx_info(
		"P3 attach_1k_ms=%llu.%03llu attach_10k_ms=%llu.%03llu attach_20k_ms=%llu.%03llu ratio_20k_10k=%llu.%03u perf_open_10k_ms=%llu.%03llu upstream_open_1k_ms=%llu.%03llu upstream_open_10k_ms=%llu.%03llu upstream_open_20k_ms=%llu.%03llu upstream_ratio_20k_10k=%llu.%03u ratio_to_upstream_10k=%llu.%03u perf_open_20k_ms=%llu.%03llu\n",
		MS3(attach_us[0]), MS3(attach_us[1]), MS3(attach_us[2]), lin.whole, lin.frac,
		MS3(perf_us[1]), MS3(up_us[0]), MS3(up_us[1]), MS3(up_us[2]), uplin.whole,
		uplin.frac, vs.whole, vs.frac, MS3(perf_us[2]));
	Fixed3 lk = ratio(lookup_10k, lookup_100);
	Fixed3 tk = ratio(table_10k, table_100);
	Fixed3 uk = ratio(up_lookup_10k, up_lookup_100);
	Fixed3 lu = ratio(lookup_10k, up_lookup_10k);
	lbrctx_info(
		"L lookup_100_ns=%llu lookup_10k_ns=%llu ratio_10k_100=%llu.%03u table_100_ns=%llu table_10k_ns=%llu table_ratio_10k_100=%llu.%03u upstream_100_ns=%llu upstream_10k_ns=%llu upstream_ratio_10k_100=%llu.%03u ratio_to_upstream_10k=%llu.%03u\n",
		lookup_100, lookup_10k, lk.whole, lk.frac, table_100, table_10k, tk.whole, tk.frac,
		up_lookup_100, up_lookup_10k, uk.whole, uk.frac, lu.whole, lu.frac);
	lbrctx_shim_rcu_barrier();
	lbrctx_info("bench done: objects %llu\n", g_store.stats().objects);
	return 0;
}

} // namespace
