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
#include <lbrctx/store.h>

#include "khelpers.h"

using namespace lbrctx;

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

void sort(u64 *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

u64 median(u64 *v, int n)
{
	sort(v, n);
	return v[n / 2];
}

/* x/y with three decimals, for printing without floating point. */
struct Fixed3 {
	u64 whole;
	u32 frac;
};

Fixed3 ratio(u64 x, u64 y)
{
	u64 milli = y ? (x * 1000 + y / 2) / y : 0;
	return {milli / 1000, static_cast<u32>(milli % 1000)};
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

} // namespace

extern "C" int lbrctx_bench_run(void) noexcept
{
	if (int ret = g_store.init("lbrctx_bench_task_data").error())
		return ret;
	int ret = run();
	g_store.shutdown();
	return ret;
}

namespace {

int run()
{
	const int sizes[] = {1000, 10000, 20000};
	u64 attach_ms_x1000[3];
	u64 mem_total = 0;
	u64 lookup_10k = 0;

	for (int s = 0; s < 3; s++) {
		int n = spawn(sizes[s]);
		if (n != sizes[s]) {
			lbrctx_err("bench: started %d of %d threads\n", n, sizes[s]);
			stop(n);
			return -LBRCTX_K_ENOMEM;
		}
		u64 t[kRounds];
		for (int r = 0; r < kRounds; r++) {
			u64 slab0 = lbrctx_kt_slab_unreclaimable_bytes();
			t[r] = attach_global_ns();
			if (sizes[s] == 10000 && r == 0)
				mem_total = lbrctx_kt_slab_unreclaimable_bytes() - slab0;
			if (sizes[s] == 10000 && r == kRounds - 1)
				lookup_10k = lookup_ns(n);
			detach_global();
		}
		attach_ms_x1000[s] = median(t, kRounds) / 1000; /* microseconds */
		stop(n);
	}

	/* 100 live objects: per-task attaches of 100 threads, each handed to its task. */
	int n = spawn(100);
	for (int i = 0; i < n; i++) {
		auto r = g_store.attach(k::Task(g_threads[i]));
		if (!r.is_error())
			g_store.give_to_task(r.release_value());
	}
	u64 lookup_100 = lookup_ns(n);
	stop(n); /* the exits drop the tasks' references */
	lbrctx_shim_rcu_barrier();

	u64 ideal = 10000ULL * sizeof(TaskData);
	Fixed3 mem_ratio = ratio(mem_total, ideal);
	lbrctx_info(
		"P2 bytes_per_task=%llu object_size=%u total_10k=%llu ideal_10k=%llu ratio=%llu.%03u\n",
		mem_total / 10000, static_cast<u32>(sizeof(TaskData)), mem_total, ideal,
		mem_ratio.whole, mem_ratio.frac);
	Fixed3 lin = ratio(attach_ms_x1000[2], attach_ms_x1000[1]);
	lbrctx_info(
		"P3 attach_1k_ms=%llu.%03llu attach_10k_ms=%llu.%03llu attach_20k_ms=%llu.%03llu ratio_20k_10k=%llu.%03u\n",
		attach_ms_x1000[0] / 1000, attach_ms_x1000[0] % 1000, attach_ms_x1000[1] / 1000,
		attach_ms_x1000[1] % 1000, attach_ms_x1000[2] / 1000, attach_ms_x1000[2] % 1000,
		lin.whole, lin.frac);
	Fixed3 lk = ratio(lookup_10k, lookup_100);
	lbrctx_info("L lookup_100_ns=%llu lookup_10k_ns=%llu ratio_10k_100=%llu.%03u\n", lookup_100,
		    lookup_10k, lk.whole, lk.frac);
	lbrctx_shim_rcu_barrier();
	lbrctx_info("bench done: objects %llu\n", g_store.stats().objects);
	return 0;
}

} // namespace
