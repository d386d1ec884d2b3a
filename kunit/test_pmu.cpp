// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_pmu: the PMU through the kernel's own in-kernel counter API
 * (perf_event_create_kernel_counter() runs event_init, add, start, read,
 * del and destroy exactly as perf_event_open() does), the branch source on
 * the lbrctx_tchain.ko functions, and the context-switch hook.
 *
 * In-kernel counters skip the syscall's privilege checks; the guest
 * end-to-end tests cover those with the perf tool.
 */
#include <lbrctx/kunit_api.h>
#include <lbrctx/pmu.h>

#include "ktest.h"

using namespace lbrctx;
using namespace lbrctx::pmu;
using lbrctx::test::Counter;
using lbrctx::test::park;

namespace {

constexpr u64 kCs = cfg::kCallStack;
constexpr u64 kBranchStack = LBRCTX_K_PERF_SAMPLE_BRANCH_STACK;
constexpr u64 kKernAny = LBRCTX_K_BR_KERNEL | LBRCTX_K_BR_ANY;

constexpr u64 depth(u64 d)
{
	return d << cfg::kDepthShift;
}

lbrctx_kunit_counts pmu_stats()
{
	lbrctx_kunit_counts s;
	lbrctx_kunit_pmu_stats(&s);
	return s;
}

/*
 * The events parked now. Out of line: the counts stay out of the frame of
 * the case that asks (its frame is near the debug kernels' 1280 bytes).
 */
[[gnu::noinline]] u64 parked_events()
{
	return pmu_stats().parked;
}

/* The product store's live objects, once the RCU frees ran. */
u64 store_objects()
{
	lbrctx_shim_rcu_barrier();
	return pmu_stats().objects;
}

/* Point the branch source at @spec for one case; put the old set back after. */
class ProbeSet : Pinned {
public:
	ProbeSet(const char *spec)
	{
		lbrctx_kunit_probes_get(m_old, sizeof(m_old));
		m_ret = lbrctx_kunit_probes_set(spec);
	}
	~ProbeSet() { (void)lbrctx_kunit_probes_set(m_old); }
	int error() const { return m_ret; }

private:
	char m_old[260];
	int m_ret;
};

/* This CPU's unit records (FROM, TO, INFO each) and LBR_CTL at one moment. */
struct Snap {
	struct Rec {
		u64 from;
		u64 to;
		u64 info;
	} rec[lbr::kMaxDepth];
	u32 nr;
	u64 ctl;
};

bool near(u64 addr, void (*fn)(void) noexcept)
{
	return addr >= (u64)fn && addr - (u64)fn < 16;
}

/* Is @from inside the function that starts at @fn (an upper bound of 256 bytes)? */
bool inside(u64 from, void (*fn)(void) noexcept)
{
	return from > (u64)fn && from - (u64)fn < 256;
}

} // namespace

LBRCTX_KUNIT_CASE(pmu_is_registered_with_a_dynamic_type)
{
	/* Dynamic types are handed out after the fixed ones, PERF_TYPE_MAX and up. */
	KEXPECT(test, lbrctx_kunit_pmu_type() >= lbrctx_kt_perf_type_max());
}

namespace {
constexpr int einval = -LBRCTX_K_EINVAL, enotsup = -LBRCTX_K_EOPNOTSUPP;

struct Row {
	const char *what;
	lbrctx_kattr a;
	bool per_task;
	int err;
};
constexpr Row rows[] = {
	{"type no PMU has", {.type = 0x7ffffff0}, false, -LBRCTX_K_ENOENT},
	{"reserved config bit 12", {.config = 1ull << 12}, false, einval},
	{"reserved config bit 40", {.config = 1ull << 40}, false, einval},
	{"config1 set", {.config1 = 1}, false, einval},
	{"event 5", {.config = 5}, false, einval},
	{"event 0xff", {.config = 0xff}, false, einval},
	{"depth 1", {.config = kCs | depth(1)}, false, einval},
	{"depth 12", {.config = kCs | depth(12)}, false, einval},
	{"depth 33", {.config = kCs | depth(33)}, false, einval},
	{"depth 255", {.config = kCs | depth(255)}, false, einval},
	{"depth 0 means 32", {.config = kCs}, false, 0},
	{"depth 8", {.config = kCs | depth(8)}, false, 0},
	{"call-stack mode without returns", {.config = kCs | cfg::kCall}, false, einval},
	{"raw samples",
	 {.period = 100000, .sample_type = LBRCTX_K_PERF_SAMPLE_RAW},
	 false,
	 enotsup},
	{"user-only branch stack",
	 {.period = 100000,
	  .sample_type = kBranchStack,
	  .branch_sample_type = LBRCTX_K_BR_USER | LBRCTX_K_BR_ANY},
	 false,
	 enotsup},
	{"conditional branches",
	 {.period = 100000,
	  .sample_type = kBranchStack,
	  .branch_sample_type = LBRCTX_K_BR_KERNEL | (1u << 10)},
	 false,
	 enotsup},
	{"config filter disjoint from branch_sample_type",
	 {.config = cfg::kRet,
	  .period = 100000,
	  .sample_type = kBranchStack,
	  .branch_sample_type = LBRCTX_K_BR_KERNEL | LBRCTX_K_BR_ANY_CALL},
	 false,
	 einval},
	{"kernel call stack sampling",
	 {.config = kCs,
	  .period = 100000,
	  .sample_type = kBranchStack,
	  .branch_sample_type = kKernAny},
	 false,
	 0},
	{"saves sampling", {.config = 2, .period = 1000}, false, enotsup},
	{"saves with a depth", {.config = 2 | depth(8)}, false, einval},
	{"saves per task", {.config = 2}, true, einval},
	{"saves per CPU", {.config = 2}, false, 0},
	{"resets per CPU", {.config = 4}, false, 0},
	{"branches in freq mode", {.config = 1, .period = 1000, .freq = 1}, false, einval},
	{"branches every 4", {.config = 1, .period = 4}, false, einval},
	{"branches every 64", {.config = 1, .period = 64}, false, 0},
	{"branches per task", {.config = 1}, true, 0},
};
} // namespace

LBRCTX_KUNIT_CASE(pmu_event_init_validation_table)
{
	u64 before = store_objects();
	lbrctx_kunit_counts s0 = pmu_stats();
	u64 opens = 0, refused = 0;
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx-target");
	KASSERT(test, target);
	for (const Row &r : rows) {
		Counter c(r.a, r.per_task ? -1 : 0, r.per_task ? target : nullptr);
		if (c.error() != r.err)
			lbrctx_kunit_info(test, "row '%s'", r.what);
		KEXPECT_EQ(test, c.error(), r.err);
		KEXPECT_EQ(test, c.ok(), r.err == 0);
		/* debugfs pmu's opens and opens_refused: another type's is neither. */
		opens += r.err != -LBRCTX_K_ENOENT;
		refused += r.err != 0 && r.err != -LBRCTX_K_ENOENT;
	}
	KEXPECT_EQ(test, pmu_stats().opens - s0.opens, opens);
	KEXPECT_EQ(test, pmu_stats().opens_refused - s0.opens_refused, refused);
	/* Per-task data lives until its task exits. */
	lbrctx_kt_stop(target);
	KEXPECT_EQ(test, store_objects(), before);
	KEXPECT_EQ(test, pmu_stats().events, 0);
}

LBRCTX_KUNIT_CASE(pmu_freq_becomes_a_fixed_period)
{
	/* 4000 Hz: 250 us; 1 MHz is clamped to the 10 us minimum (as cpu-clock does). */
	lbrctx_kattr a{.config = kCs, .period = 4000, .freq = 1};
	Counter c(a, 0, nullptr);
	KASSERT(test, c.ok());
	lbrctx_kattr fast{.config = kCs, .period = 1000000, .freq = 1};
	Counter f(fast, 0, nullptr);
	KEXPECT(test, f.ok());
}

namespace {
struct ChainCtx {
	Snap inside;
	Snap after_switch_out;
	Snap after_switch_in;
	void *other;
	bool do_switch;
};

/* Snapshots are ~800 bytes each: kept off the kernel stack. */
constinit ChainCtx g_chain;
constinit Snap g_before, g_after;

void take_snapshot(Snap &s)
{
	s.nr = lbrctx_kunit_unit(&s.rec[0].from, lbr::kMaxDepth, &s.ctl);
}

void chain_hook(void *p) noexcept
{
	auto *x = static_cast<ChainCtx *>(p);
	unsigned long flags = lbrctx_shim_irq_save();
	take_snapshot(x->inside);
	if (x->do_switch) {
		void *self = lbrctx_shim_current();
		lbrctx_kunit_switch(self, x->other);
		take_snapshot(x->after_switch_out);
		lbrctx_kunit_switch(x->other, self);
		take_snapshot(x->after_switch_in);
	}
	lbrctx_shim_irq_restore(flags);
}

/* A per-task call-stack counter on the current task, fed by the tchain k-chain. */
struct ChainRun {
	ProbeSet probes{"lbrctx_tchain_k*"};
	Counter counter{lbrctx_kattr{.config = kCs}, -1, lbrctx_shim_current()};
};
} // namespace

LBRCTX_KUNIT_CASE(pmu_callstack_holds_the_nested_kernel_chain)
{
	ChainRun run;
	KASSERT_EQ(test, run.probes.error(), 0);
	KASSERT(test, run.counter.ok());
	ChainCtx &x = g_chain;
	Snap &before = g_before, &after = g_after;
	x = {};
	take_snapshot(before);
	lbrctx_tchain_set_hook(chain_hook, &x);
	lbrctx_tchain_ka();
	lbrctx_tchain_set_hook(nullptr, nullptr);
	take_snapshot(after);
	KEXPECT(test, x.inside.ctl & lbr::ctl::kEnable);
	KEXPECT(test, x.inside.ctl & lbr::ctl::kCallStack);
	KASSERT(test, x.inside.nr >= before.nr + 3);
	const Snap::Rec *r = x.inside.rec;
	KEXPECT(test, near(r[0].to, lbrctx_tchain_kc));
	KEXPECT(test, inside(r[0].from, lbrctx_tchain_kb));
	KEXPECT(test, near(r[1].to, lbrctx_tchain_kb));
	KEXPECT(test, inside(r[1].from, lbrctx_tchain_ka));
	KEXPECT(test, near(r[2].to, lbrctx_tchain_ka));
	KEXPECT(test, lbr::info_type(r[0].info) == lbr::BrType::RelCall);
	/* The returns popped the chain again. */
	KEXPECT_EQ(test, after.nr, before.nr);
}

LBRCTX_KUNIT_CASE(pmu_branches_counts_calls_and_returns_exactly)
{
	ProbeSet probes("lbrctx_tchain_leaf");
	KASSERT_EQ(test, probes.error(), 0);
	Counter c(lbrctx_kattr{.config = 1}, -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	u64 before = pmu_stats().records;
	for (int i = 0; i < 100; i++)
		lbrctx_tchain_leaf();
	KEXPECT_EQ(test, c.read(), 200);
	KEXPECT(test, pmu_stats().records - before >= 200);
	/* Disabled, it stops counting; a call-only filter then counts the calls alone. */
	lbrctx_kt_counter_disable(c.event());
	Counter calls(lbrctx_kattr{.config = 1 | cfg::kCall}, -1, lbrctx_shim_current());
	KASSERT(test, calls.ok());
	for (int i = 0; i < 50; i++)
		lbrctx_tchain_leaf();
	KEXPECT_EQ(test, calls.read(), 50);
	KEXPECT_EQ(test, c.read(), 200);
}

LBRCTX_KUNIT_CASE(pmu_disabled_event_records_nothing)
{
	ProbeSet probes("lbrctx_tchain_leaf");
	KASSERT_EQ(test, probes.error(), 0);
	Counter c(lbrctx_kattr{.config = 1, .disabled = 1}, -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	for (int i = 0; i < 10; i++)
		lbrctx_tchain_leaf();
	KEXPECT_EQ(test, c.read(), 0);
	lbrctx_kt_counter_enable(c.event());
	for (int i = 0; i < 10; i++)
		lbrctx_tchain_leaf();
	KEXPECT_EQ(test, c.read(), 20);
}

namespace {

/* The case below; with store=upstream set around it by its caller. */
void switch_resets_and_restores(struct kunit *test)
{
	void *other = lbrctx_kt_start(park, nullptr, "lbrctx-nodata");
	KASSERT(test, other);
	{
		ChainRun run;
		KASSERT_EQ(test, run.probes.error(), 0);
		KASSERT(test, run.counter.ok());
		ChainCtx &x = g_chain;
		x = {};
		x.other = other;
		x.do_switch = true;
		auto before = pmu_stats();
		lbrctx_tchain_set_hook(chain_hook, &x);
		lbrctx_tchain_ka();
		lbrctx_tchain_set_hook(nullptr, nullptr);
		auto after = pmu_stats();
		KEXPECT(test, x.inside.nr >= 3);
		/* The task without data sees a reset unit: none of our branches. */
		KEXPECT_EQ(test, x.after_switch_out.nr, 0);
		/* Switching back restores every record. */
		KASSERT_EQ(test, x.after_switch_in.nr, x.inside.nr);
		for (u32 i = 0; i < x.inside.nr; i++) {
			KEXPECT_EQ(test, x.after_switch_in.rec[i].from, x.inside.rec[i].from);
			KEXPECT_EQ(test, x.after_switch_in.rec[i].to, x.inside.rec[i].to);
		}
		KEXPECT(test, after.saves - before.saves >= 1);
		KEXPECT(test, after.restores - before.restores >= 1);
		KEXPECT(test, after.resets - before.resets >= 1);
	}
	lbrctx_kt_stop(other);
}

} // namespace

LBRCTX_KUNIT_CASE(pmu_switch_resets_for_a_task_without_data_and_restores)
{
	switch_resets_and_restores(test);
}

namespace {

lbrctx_kt_ctx ctx_data(void *task)
{
	lbrctx_kt_ctx c;
	lbrctx_kt_ctx_data(task, &c);
	return c;
}

/* Until @task's perf_ctx_data is gone (an exiting task detaches it late in do_exit()), 2 s at most. */
bool ctx_data_gone(void *task)
{
	for (int i = 0; i < 2000 && ctx_data(task).data; i++)
		lbrctx_kt_msleep(1);
	return !ctx_data(task).data;
}

/* store=upstream for one case, lbrctx's store again after it. */
class UpstreamMode : Pinned {
public:
	UpstreamMode() : m_ret(lbrctx_shim_store_set("upstream")) {}
	~UpstreamMode() { (void)lbrctx_shim_store_set("lbrctx"); }
	int error() const { return m_ret; }

private:
	int m_ret;
};

} // namespace

/*
 * store=upstream: the perf core allocates each task's data from lbrctx's
 * cache (pmu->task_ctx_cache), refcounts it, and frees it on event close
 * and on exit; lbrctx's own store is not used. The hazards: a refused
 * event_init never sets PERF_ATTACH_TASK_DATA (the core would detach a
 * reference it never took), a perf_ctx_data of another cache is not
 * read, a CPU PMU that records call stacks refuses the mode, and the
 * mode cannot change under live events. Before 6.15 the mode is refused.
 */
LBRCTX_KUNIT_CASE(pmu_store_upstream_core_owns_the_task_data)
{
	KEXPECT_EQ(test, lbrctx_shim_store_set("bogus"), -LBRCTX_K_EINVAL);
	if (!lbrctx_shim_upstream_store()) {
		KEXPECT_EQ(test, lbrctx_shim_store_set("upstream"), -LBRCTX_K_EOPNOTSUPP);
		KEXPECT(test, !lbrctx_param_store_upstream());
		KEXPECT(test, !lbrctx_kunit_upstream_cache());
		return;
	}
	void *cache = lbrctx_kunit_upstream_cache();
	KASSERT(test, cache);
	/* The guard's probe: no CPU PMU here, and it knows one that records call stacks. */
	KEXPECT(test, !lbrctx_shim_pmu_has_call_stack(LBRCTX_K_PERF_TYPE_HARDWARE));
	KEXPECT(test, lbrctx_shim_pmu_has_call_stack(lbrctx_kunit_pmu_type()));
	void *task = lbrctx_kt_start(park, nullptr, "lbrctx-upstream");
	KASSERT(test, task);
	u64 before = store_objects();
	{
		UpstreamMode mode;
		KASSERT_EQ(test, mode.error(), 0);
		KEXPECT(test, lbrctx_param_store_upstream());
		{
			Counter a(lbrctx_kattr{.config = kCs}, -1, task);
			KASSERT(test, a.ok());
			lbrctx_kt_ctx d = ctx_data(task);
			KEXPECT(test, d.data != nullptr);
			KEXPECT(test, d.cache == cache);
			KEXPECT_EQ(test, d.refs, 1);
			KEXPECT_EQ(test, d.global, 0);
			KEXPECT_EQ(test, lbrctx_kunit_task_refs(task), 0);
			KEXPECT_EQ(test, lbrctx_shim_store_set("lbrctx"), -LBRCTX_K_EBUSY);
			/* A second event shares the data; a refused one leaves it alone. */
			{
				Counter b(lbrctx_kattr{.config = kCs}, -1, task);
				KASSERT(test, b.ok());
				KEXPECT_EQ(test, ctx_data(task).refs, 2);
			}
			Counter bad(lbrctx_kattr{.config = kCs | depth(7)}, -1, task);
			KEXPECT_EQ(test, bad.error(), -LBRCTX_K_EINVAL);
			KEXPECT_EQ(test, ctx_data(task).refs, 1);
			KEXPECT(test, ctx_data(task).data == d.data);
		}
		/* Event close: the last reference detaches it. */
		KEXPECT(test, !ctx_data(task).data);
		{
			Counter g(lbrctx_kattr{.config = kCs}, 0, nullptr);
			KASSERT(test, g.ok());
			KEXPECT_EQ(test, ctx_data(task).global, 1);
			KEXPECT(test, ctx_data(task).cache == cache);
			KEXPECT_EQ(test, ctx_data(lbrctx_shim_current()).global, 1);
			/* Fork: a thread started now gets data; its exit detaches it. */
			void *late = lbrctx_kt_start(park, nullptr, "lbrctx-upstream-late");
			KASSERT(test, late);
			lbrctx_shim_get_task(late);
			KEXPECT_EQ(test, ctx_data(late).global, 1);
			lbrctx_kt_stop(late);
			KEXPECT(test, ctx_data_gone(late));
			lbrctx_shim_put_task(late);
			KEXPECT_EQ(test, pmu_stats().global_users, 0);
		}
		KEXPECT(test, !ctx_data(task).data);
		KEXPECT(test, !ctx_data(lbrctx_shim_current()).data);
		/* Another PMU's perf_ctx_data in the slot: the switch path does not read it. */
		KASSERT_EQ(test, lbrctx_kt_ctx_data_foreign(task, true), 0);
		{
			k::RcuReadGuard rcu;
			KEXPECT(test, ctx_data(task).data != nullptr);
			KEXPECT(test, !lbrctx_shim_task_ctx_data(task, cache));
		}
		lbrctx_kt_ctx_data_foreign(task, false);
	}
	KEXPECT(test, !lbrctx_param_store_upstream());
	KEXPECT_EQ(test, store_objects(), before);
	lbrctx_kt_stop(task);
}

/* The switch case above, the hook reading the core's perf_ctx_data (6.15+). */
LBRCTX_KUNIT_CASE(pmu_store_upstream_switch_restores_from_the_cores_data)
{
	if (!lbrctx_shim_upstream_store()) {
		KEXPECT_EQ(test, lbrctx_shim_store_set("upstream"), -LBRCTX_K_EOPNOTSUPP);
		return;
	}
	u64 before = store_objects();
	{
		UpstreamMode mode;
		KASSERT_EQ(test, mode.error(), 0);
		switch_resets_and_restores(test);
	}
	KEXPECT_EQ(test, store_objects(), before);
}

namespace {
/* A kthread body that naps 1 ms at a time until stopped: it runs often. */
int nap(void *) noexcept
{
	while (!lbrctx_kt_should_stop())
		lbrctx_kt_msleep(1);
	return 0;
}

u32 refs_of(void *task)
{
	return lbrctx_kunit_task_refs(task);
}
} // namespace

LBRCTX_KUNIT_CASE(pmu_per_task_event_that_never_ran_drops_its_data)
{
	/*
	 * A parked task is never scheduled while the events exist: each event
	 * holds its own reference, and closing them frees the data (as when
	 * the core refuses an open after event_init, say for ptrace access).
	 */
	u64 before = store_objects();
	void *task = lbrctx_kt_start(park, nullptr, "lbrctx-target");
	KASSERT(test, task);
	{
		Counter a(lbrctx_kattr{.config = kCs}, -1, task);
		Counter b(lbrctx_kattr{.config = kCs}, -1, task);
		KEXPECT(test, a.ok() && b.ok());
		KEXPECT_EQ(test, pmu_stats().events, 2);
		KEXPECT_EQ(test, refs_of(task), 2);
		KEXPECT_EQ(test, store_objects(), before + 1);
	}
	KEXPECT_EQ(test, pmu_stats().events, 0);
	KEXPECT_EQ(test, refs_of(task), 0);
	KEXPECT_EQ(test, store_objects(), before);
	lbrctx_kt_stop(task);
}

LBRCTX_KUNIT_CASE(pmu_per_task_event_that_ran_leaves_data_to_its_task)
{
	u64 before = store_objects();
	void *task = lbrctx_kt_start(nap, nullptr, "lbrctx-napper");
	KASSERT(test, task);
	{
		Counter a(lbrctx_kattr{.config = kCs}, -1, task);
		Counter b(lbrctx_kattr{.config = kCs}, -1, task);
		KEXPECT(test, a.ok() && b.ok());
		lbrctx_kt_msleep(30); /* the napper runs with both events */
	}
	KEXPECT_EQ(test, pmu_stats().events, 0);
	/*
	 * The task holds one reference however many events ran on it: perf
	 * swaps the contexts of equivalent tasks, so events cannot own it.
	 */
	KEXPECT_EQ(test, refs_of(task), 1);
	KEXPECT_EQ(test, store_objects(), before + 1);
	lbrctx_kt_stop(task);
	KEXPECT_EQ(test, store_objects(), before);
}

LBRCTX_KUNIT_CASE(pmu_system_wide_event_attaches_every_thread)
{
	u64 before = store_objects();
	{
		Counter c(lbrctx_kattr{.config = kCs}, 0, nullptr);
		KASSERT(test, c.ok());
		auto s = pmu_stats();
		KEXPECT_EQ(test, s.global_users, 1);
		KEXPECT(test, s.global_attached >= 10);
		KEXPECT(test, lbrctx_kunit_task_has_global(lbrctx_shim_current()));
	}
	auto s = pmu_stats();
	KEXPECT_EQ(test, s.global_users, 0);
	KEXPECT_EQ(test, s.global_attached, 0);
	KEXPECT_EQ(test, store_objects(), before);
}

namespace {

/* A counter's count and times, as read(2) gives them. */
struct Reading {
	u64 count;
	u64 enabled;
	u64 running;
};

Reading read_times(const Counter &c)
{
	Reading r;
	r.count = lbrctx_kt_counter_read_times(c.event(), &r.enabled, &r.running);
	return r;
}

/* Branches @calls leaf calls make, for a branches event of @config. */
u64 expected(u64 config, u64 calls)
{
	u64 f = config & cfg::kFilters;
	if (!f)
		return 2 * calls;
	return ((f & cfg::kCall) ? calls : 0) + ((f & cfg::kRet) ? calls : 0);
}

} // namespace

LBRCTX_KUNIT_CASE(pmu_events_of_different_configurations_all_count_all_the_time)
{
	ProbeSet probes("lbrctx_tchain_leaf");
	KASSERT_EQ(test, probes.error(), 0);
	/* Three configurations at once on this task: three units, no waiting. */
	const u64 configs[] = {1, 1 | cfg::kCall, 1 | cfg::kRet};
	Counter a(lbrctx_kattr{.config = configs[0]}, -1, lbrctx_shim_current());
	Counter b(lbrctx_kattr{.config = configs[1]}, -1, lbrctx_shim_current());
	Counter c(lbrctx_kattr{.config = configs[2]}, -1, lbrctx_shim_current());
	KASSERT(test, a.ok() && b.ok() && c.ok());
	for (int i = 0; i < 100; i++)
		lbrctx_tchain_leaf();
	const Counter *cs[] = {&a, &b, &c};
	for (u32 i = 0; i < 3; i++) {
		Reading r = read_times(*cs[i]);
		KEXPECT_EQ(test, r.count, expected(configs[i], 100));
		KEXPECT(test, r.enabled > 0);
		KEXPECT_EQ(test, r.running, r.enabled);
	}
}

LBRCTX_KUNIT_CASE(pmu_configurations_past_the_unit_limit_share_the_time)
{
	ProbeSet probes("lbrctx_tchain_leaf");
	KASSERT_EQ(test, probes.error(), 0);
	/* Six configurations, two more than the units (kUnits = 4). */
	static_assert(kUnits == 4);
	constexpr u32 n = 6;
	static constexpr lbrctx_kattr attrs[n] = {
		{.config = 1},
		{.config = 1 | cfg::kCall},
		{.config = 1 | cfg::kRet},
		{.config = 1 | cfg::kCall | cfg::kRet},
		{.config = 1, .exclude_user = 1},
		{.config = 1 | cfg::kCall, .exclude_user = 1},
	};
	Counter c0(attrs[0], -1, lbrctx_shim_current()), c1(attrs[1], -1, lbrctx_shim_current()),
		c2(attrs[2], -1, lbrctx_shim_current()), c3(attrs[3], -1, lbrctx_shim_current()),
		c4(attrs[4], -1, lbrctx_shim_current()), c5(attrs[5], -1, lbrctx_shim_current());
	const Counter *cs[n] = {&c0, &c1, &c2, &c3, &c4, &c5};
	for (const Counter *c : cs)
		KASSERT(test, c->ok());
	KEXPECT(test, parked_events() >= 2);
	/*
	 * Run for 50 rotation intervals. A stall of the test's CPU (the vCPU
	 * not run by the host, interrupts off) freezes the rotation with the
	 * units where they are, so the shares skew (a 7.3.4 debug guest gave
	 * 82% running to four events and 36% to the other two, whose scaled
	 * counts were then 1.9 times their calls): the loop measures its
	 * longest gap, and the shares are checked only when there was none.
	 */
	Reading rs0[n];
	for (u32 i = 0; i < n; i++)
		rs0[i] = read_times(*cs[i]);
	u64 calls = 0, start = lbrctx_kt_ktime_ns(), last = start, gap = 0;
	for (u64 now = start; now - start < 50 * kRotateNs; now = lbrctx_kt_ktime_ns()) {
		if (now - last > gap)
			gap = now - last;
		last = now;
		for (int i = 0; i < 100; i++)
			lbrctx_tchain_leaf();
		calls += 100;
	}
	/* All read first: printing takes time and makes no calls. */
	Reading rs[n];
	for (u32 i = 0; i < n; i++)
		rs[i] = read_times(*cs[i]);
	const bool even = gap <= 2 * kRotateNs;
	lbrctx_kunit_info(test, "longest gap between the loop's rounds: %llu ns (%s)", gap,
			  even ? "shares checked" : "a stall: shares not checked");
	u32 shared = 0;
	u64 sum_enabled = 0, sum_running = 0;
	for (u32 i = 0; i < n; i++) {
		const Reading &r = rs[i];
		u64 want = expected(attrs[i].config, calls);
		lbrctx_kunit_info(test, "config %#llx: count %llu of %llu, running %llu of %llu ns",
				  attrs[i].config, r.count, want, r.running, r.enabled);
		sum_enabled += r.enabled - rs0[i].enabled;
		sum_running += r.running - rs0[i].running;
		/* Every event ran, and for a share of the time only where it waited. */
		KEXPECT(test, r.running > 0);
		KEXPECT(test, r.running <= r.enabled);
		KEXPECT(test, r.count > 0);
		if (r.running == r.enabled) {
			KEXPECT_EQ(test, r.count, want);
			continue;
		}
		shared++;
		/* Scaled as perf scales it, the count is near what it would be alone. */
		u64 scaled = r.count * (r.enabled / 1000) / (r.running / 1000 ?: 1);
		if (even)
			KEXPECT(test, scaled >= want / 2 && scaled <= want + want / 2);
	}
	/*
	 * Whatever the stalls, kUnits of the n events ran at every instant of
	 * the loop: its running times add up to kUnits / n of its enabled
	 * ones, within 5%. (Not the totals: while the events were opened,
	 * every one open ran; on a 7.3.4 debug guest the totals were 4.9%
	 * over.)
	 */
	KEXPECT(test, sum_running * n * 100 >= sum_enabled * kUnits * 95 &&
			      sum_running * n * 100 <= sum_enabled * kUnits * 105);
	KEXPECT(test, shared >= 2);
}

/*
 * An event whose setup fails after it took the kernel source's probes (the
 * store's allocation is made to fail) gives them back: the members it held
 * release themselves when create() returns the error (include/lbrctx/event.h).
 */
LBRCTX_KUNIT_CASE(pmu_event_refused_midway_gives_back_what_it_took)
{
	if (!lbrctx_kt_fault_injection()) {
		lbrctx_kunit_info(test,
				  "no CONFIG_FAULT_INJECTION: the store cannot be made to fail");
		return;
	}
	ProbeSet probes("lbrctx_tchain_leaf");
	KASSERT_EQ(test, probes.error(), 0);
	void *task = lbrctx_kt_start(park, nullptr, "lbrctx-refused");
	KASSERT(test, task);
	u32 users = pmu_stats().probe_users;
	u64 before = store_objects();
	void *fault = lbrctx_kunit_store_fault();
	lbrctx_kt_fault_set(fault, 100, 1, 1, 0); /* the next allocation fails */
	{
		Counter c(lbrctx_kattr{.config = kCs, .exclude_user = 1}, -1, task);
		KEXPECT(test, !c.ok());
		KEXPECT_EQ(test, c.error(), -LBRCTX_K_ENOMEM);
	}
	lbrctx_kt_fault_set(fault, 0, 1, 1, 0);
	KEXPECT_EQ(test, pmu_stats().probe_users, users);
	KEXPECT_EQ(test, pmu_stats().events, 0u);
	KEXPECT_EQ(test, store_objects(), before);
	lbrctx_kt_stop(task);
}
