// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_base: the foundation the rest stands on. Aligned dedicated caches,
 * XSAVE on their objects, and the C++ runtime properties the module relies
 * on (virtual dispatch, constinit globals, Result/TRY).
 */
#include <lbrctx/brstack.h>
#include <lbrctx/guard.h>
#include <lbrctx/k/fault.h>
#include <lbrctx/k/ref.h>
#include <lbrctx/pmu.h>
#include <lbrctx/slab.h>
#include <lbrctx/sort.h>
#include <lbrctx/use.h>
#include <lbrctx/xsave.h>

#include "ktest.h"

using namespace lbrctx;
using lbrctx::test::all_zero;

namespace {

/*
 * A 64-byte-aligned type of 832 bytes: the legacy region, the XSAVE header
 * and 256 bytes of extended state, as a task's XSAVE area would hold.
 */
struct alignas(64) XsaveTestArea {
	u8 legacy[xsave::kLegacySize];
	xsave::Header header;
	u8 extended[256];
};
static_assert(sizeof(XsaveTestArea) == 832, "");
static_assert(alignof(XsaveTestArea) == 64, "XSAVE needs 64-byte alignment (SDM Vol. 1, 13.7)");

/* An odd-sized payload: sizeof must round up to the alignment. */
struct alignas(64) OddPayload {
	u8 bytes[600];
};
static_assert(sizeof(OddPayload) == 640, "");

bool aligned64(const void *p)
{
	return (reinterpret_cast<uintptr_t>(p) & 63) == 0;
}

} // namespace

LBRCTX_KUNIT_CASE(slab_objects_are_64_byte_aligned_and_zeroed)
{
	constexpr int kObjects = 48;
	SlabCache<XsaveTestArea> cache;
	KASSERT_EQ(test, cache.create("lbrctx_kunit_align").error(), 0);

	XsaveTestArea *objs[kObjects] = {};
	for (int round = 0; round < 2; round++) {
		for (auto &o : objs) {
			auto r = cache.alloc(LBRCTX_GFP_KERNEL);
			KASSERT(test, !r.is_error());
			o = r.value().leak(); /* freed below through cache.free() */
			KEXPECT(test, aligned64(o));
			KEXPECT(test, all_zero(o, sizeof(*o)));
			/* Dirty it, so the second round proves zeroing of reused objects. */
			o->legacy[0] = 0xa5;
			o->extended[255] = 0x5a;
		}
		for (auto &o : objs)
			cache.free(o);
	}
	KEXPECT_EQ(test, cache.live(), 0);
	KEXPECT_EQ(test, cache.destroy().error(), 0);
}

LBRCTX_KUNIT_CASE(slab_object_size_is_type_size_rounded_to_alignment)
{
	SlabCache<OddPayload> cache;
	KASSERT_EQ(test, cache.create("lbrctx_kunit_odd").error(), 0);
	KEXPECT_EQ(test, cache.object_size(), round_up<size_t>(600, 64));
	{
		auto a = cache.alloc(LBRCTX_GFP_KERNEL);
		auto b = cache.alloc(LBRCTX_GFP_KERNEL);
		KASSERT(test, !a.is_error() && !b.is_error());
		KEXPECT(test, aligned64(a.value().get()) && aligned64(b.value().get()));
		KEXPECT_EQ(test, cache.live(), 2);
	}
	/* The SlabPtr owners freed both objects when they went out of scope. */
	KEXPECT_EQ(test, cache.live(), 0);
	KEXPECT_EQ(test, cache.destroy().error(), 0);
}

LBRCTX_KUNIT_CASE(slab_destroy_finds_zero_objects)
{
	SlabCache<XsaveTestArea> cache;
	KASSERT_EQ(test, cache.create("lbrctx_kunit_destroy").error(), 0);
	for (int i = 0; i < 100; i++) {
		auto r = cache.alloc(i & 1 ? LBRCTX_GFP_NOWAIT : LBRCTX_GFP_KERNEL);
		KASSERT(test, !r.is_error());
	}
	KEXPECT_EQ(test, cache.allocs(), 100);
	KEXPECT_EQ(test, cache.live(), 0);
	/*
	 * The kernel checks too: SLUB's kmem_cache_destroy() reports
	 * "Objects remaining" with a backtrace, which fails the guest run.
	 */
	KEXPECT_EQ(test, cache.destroy().error(), 0);
	KEXPECT(test, !cache.created());
}

LBRCTX_KUNIT_CASE(slab_destroy_with_live_object_is_refused)
{
	SlabCache<XsaveTestArea> cache;
	KASSERT_EQ(test, cache.create("lbrctx_kunit_busy").error(), 0);
	auto r = cache.alloc(LBRCTX_GFP_KERNEL);
	KASSERT(test, !r.is_error());
	XsaveTestArea *o = r.value().leak(); /* freed below */
	KEXPECT_EQ(test, cache.destroy().error(), -LBRCTX_K_EBUSY);
	KEXPECT(test, cache.created());
	cache.free(o);
	KEXPECT_EQ(test, cache.destroy().error(), 0);
}

LBRCTX_KUNIT_CASE(xsave_and_xrstor_execute_on_cache_objects)
{
	KASSERT(test, lbrctx_shim_cpu_has_xsave());
	SlabCache<XsaveTestArea> cache;
	KASSERT_EQ(test, cache.create("lbrctx_kunit_xsave").error(), 0);
	ScopeExit destroy([&] { KEXPECT_EQ(test, cache.destroy().error(), 0); });

	auto ra = cache.alloc(LBRCTX_GFP_KERNEL);
	auto rb = cache.alloc(LBRCTX_GFP_KERNEL);
	KASSERT(test, !ra.is_error() && !rb.is_error());
	/* Owned by this scope: freed before the cache is destroyed. */
	SlabPtr<XsaveTestArea> a = ra.release_value(), b = rb.release_value();
	/* XSAVE raises #GP on a misaligned area (SDM Vol. 1, 13.7). */
	KASSERT(test, aligned64(a.get()) && aligned64(b.get()));

	u32 orig, probe, restored, saved_a, saved_b, mask;
	{
		test::FpuSection fpu;
		orig = xsave::read_mxcsr();
		/* Rounding control (bits 13-14) to round-toward-zero. */
		probe = orig | 0x6000;
		xsave::write_mxcsr(probe);
		xsave::save(a.get(), xsave::kMaskFpSse);
		xsave::write_mxcsr(orig);
		xsave::restore(a.get(), xsave::kMaskFpSse);
		restored = xsave::read_mxcsr();
		xsave::save(b.get(), xsave::kMaskFpSse);
		xsave::write_mxcsr(orig);
	}
	__builtin_memcpy(&saved_a, &a->legacy[xsave::kMxcsrOffset], 4);
	__builtin_memcpy(&saved_b, &b->legacy[xsave::kMxcsrOffset], 4);
	__builtin_memcpy(&mask, &a->legacy[xsave::kMxcsrMaskOffset], 4);
	KEXPECT(test, probe != orig);
	KEXPECT_EQ(test, saved_a, probe);  /* XSAVE wrote the object */
	KEXPECT_EQ(test, restored, probe); /* XRSTOR read it back */
	KEXPECT_EQ(test, saved_b, probe);
	/* A non-default MXCSR takes SSE out of its init state: XSTATE_BV[1]. */
	KEXPECT(test, a->header.xstate_bv & 2);
	KEXPECT(test, mask != 0);
}

namespace {

class Shape {
public:
	constexpr Shape() = default;
	virtual int sides() const { return 0; }

protected:
	~Shape() = default;
};

class Triangle final : public Shape {
public:
	constexpr Triangle() = default;
	int sides() const override { return 3; }
};

class Square final : public Shape {
public:
	constexpr Square() = default;
	int sides() const override { return 4; }
};

/* constinit objects with vtables: initialized at compile time, no .init_array. */
constinit Triangle g_triangle;
constinit Square g_square;
constinit Shape *g_shapes[] = {&g_triangle, &g_square};

struct Counter {
	constexpr explicit Counter(int start) : value(start * 2 + 1) {}
	int value;
};
constinit Counter g_counter{20};
constinit int g_answer = 42;

} // namespace

LBRCTX_KUNIT_CASE(virtual_dispatch_reaches_the_override)
{
	/* A volatile index keeps the compiler from devirtualizing the calls. */
	volatile int idx = 0;
	KEXPECT_EQ(test, g_shapes[idx]->sides(), 3);
	idx = 1;
	KEXPECT_EQ(test, g_shapes[idx]->sides(), 4);
}

LBRCTX_KUNIT_CASE(constinit_globals_hold_their_values_without_constructors)
{
	KEXPECT_EQ(test, g_counter.value, 41);
	KEXPECT_EQ(test, g_answer, 42);
	g_answer++;
	KEXPECT_EQ(test, g_answer, 43);
	g_answer--;
}

namespace {

Result<int> parse_depth(int v)
{
	if (v < 8 || v > 32)
		return err::inval();
	return v;
}

Result<int> doubled_depth(int v)
{
	int d = TRY(parse_depth(v));
	return d * 2;
}

Result<void> needs_memory(bool fail)
{
	if (fail)
		return err::nomem();
	return {};
}

Result<long> chain(bool fail)
{
	TRY(needs_memory(fail));
	return 7L;
}

} // namespace

LBRCTX_KUNIT_CASE(result_and_try_propagate_errnos)
{
	auto ok = doubled_depth(16);
	KASSERT(test, !ok.is_error());
	KEXPECT_EQ(test, ok.value(), 32);

	auto bad = doubled_depth(33);
	KEXPECT(test, bad.is_error());
	KEXPECT_EQ(test, bad.error(), -LBRCTX_K_EINVAL);

	auto nomem = chain(true);
	KEXPECT_EQ(test, nomem.error(), -LBRCTX_K_ENOMEM);
	auto fine = chain(false);
	KASSERT(test, !fine.is_error());
	KEXPECT_EQ(test, fine.value(), 7);
	KEXPECT_EQ(test, to_errno(needs_memory(true)), -LBRCTX_K_ENOMEM);
}

LBRCTX_KUNIT_CASE(scope_exit_runs_unless_dismissed)
{
	int runs = 0;
	{
		ScopeExit a([&] { runs++; });
		ScopeExit b([&] { runs += 10; });
		b.dismiss();
	}
	KEXPECT_EQ(test, runs, 1);
}

namespace {

/* A counted object whose last put is recorded rather than freed. */
struct Counted {
	k::RefCount refs;
	int released = 0;
	static void put_ref(Counted *c)
	{
		if (c->refs.dec_and_test())
			c->released++;
	}
};
constinit Counted g_counted;

} // namespace

LBRCTX_KUNIT_CASE(refptr_moves_leaks_and_puts_exactly_once)
{
	Counted &c = g_counted;
	c.refs.set(2);
	c.released = 0;
	{
		auto a = k::RefPtr<Counted>::adopt(&c);
		auto b = k::RefPtr<Counted>::adopt(&c);
		k::RefPtr<Counted> moved = move(a);
		KEXPECT(test, !a && moved.get() == &c);
		KEXPECT_EQ(test, c.refs.read(), 2);
		moved = move(b); /* puts what moved held */
		KEXPECT_EQ(test, c.refs.read(), 1);
		Counted *raw = moved.leak();
		KEXPECT(test, raw == &c && !moved);
		moved.reset(); /* nothing to put */
		KEXPECT_EQ(test, c.refs.read(), 1);
		auto back = k::RefPtr<Counted>::adopt(raw);
	}
	KEXPECT_EQ(test, c.refs.read(), 0);
	KEXPECT_EQ(test, c.released, 1);
}

namespace {
constinit k::FaultAttr g_fault;
} // namespace

LBRCTX_KUNIT_CASE(fault_attr_fails_once_its_space_is_spent)
{
	g_fault.init();
	KEXPECT(test, !g_fault.should_fail(100)); /* FAULT_ATTR_INITIALIZER: never */
	if (!lbrctx_kt_fault_injection()) {
		lbrctx_kunit_info(test, "no CONFIG_FAULT_INJECTION: should_fail() is always false");
		return;
	}
	/* Always, without limit, once 300 bytes have gone through (space must exceed a size). */
	lbrctx_kt_fault_set(g_fault.raw(), 100, 1, -1, 301);
	int ok = 0;
	while (ok < 10 && !g_fault.should_fail(100))
		ok++;
	KEXPECT_EQ(test, ok, 3);
	KEXPECT(test, g_fault.should_fail(100));
	lbrctx_kt_fault_set(g_fault.raw(), 0, 1, 1, 0);
	KEXPECT(test, !g_fault.should_fail(100));
}

namespace {
constinit lbr::Unit g_unit;
constinit pmu::BranchStack g_stack;
} // namespace

LBRCTX_KUNIT_CASE(branch_entries_match_the_kernels_bitfields)
{
	lbr::Unit &u = g_unit;
	u.set_ctl(0);
	u.set_depth(8);
	u.set_ctl(lbr::ctl::kEnable | lbr::ctl::kOs | lbr::ctl::kUsr | lbr::ctl::kTypeMask);
	const u64 kfn = 0xffffffff81000000ull, ufn = 0x401000;
	u.record({kfn + 0x10, kfn + 0x100, lbr::BrType::RelCall, false, 1000});
	u.record({ufn + 0x20, ufn + 0x200, lbr::BrType::IndCall, true, 1000 + 0x1234});
	u.record({kfn + 0x110, kfn + 0x15, lbr::BrType::Return, false, 1000 + 0x1234 + 0xffff0});
	pmu::fill_branch_stack(u, {.type_save = true, .cycles = true, .priv_save = true, .max = 8},
			       g_stack);
	KASSERT_EQ(test, g_stack.nr, 3);
	struct Want {
		u64 from, to;
		u32 cycles, type, priv;
	} want[] = {
		{kfn + 0x110, kfn + 0x15, 0xffff, LBRCTX_K_PERF_BR_RET,
		 LBRCTX_K_PERF_BR_PRIV_KERNEL},
		{ufn + 0x20, ufn + 0x200, 0x1234, LBRCTX_K_PERF_BR_IND_CALL,
		 LBRCTX_K_PERF_BR_PRIV_USER},
		{kfn + 0x10, kfn + 0x100, 0, LBRCTX_K_PERF_BR_CALL, LBRCTX_K_PERF_BR_PRIV_KERNEL},
	};
	for (u32 i = 0; i < 3; i++) {
		lbrctx_kt_brentry e;
		lbrctx_kt_branch_entry(&g_stack.entries[i].from, &e);
		KEXPECT_EQ(test, e.from, want[i].from);
		KEXPECT_EQ(test, e.to, want[i].to);
		KEXPECT_EQ(test, e.cycles, want[i].cycles);
		KEXPECT_EQ(test, e.type, want[i].type);
		KEXPECT_EQ(test, e.priv, want[i].priv);
		KEXPECT_EQ(test, e.mispred + e.predicted, 0);
	}
	/* Without the format bits, entries carry FROM and TO alone. */
	pmu::fill_branch_stack(u, {.max = 2}, g_stack);
	KEXPECT_EQ(test, g_stack.nr, 2);
	KEXPECT_EQ(test, g_stack.entries[0].flags, 0);
	KEXPECT_EQ(test, g_stack.hw_idx, ~0ull);
}

namespace {

/* A counted resource in the manner of the sources and the store: users, and puts. */
struct Users {
	u32 users;
	u32 puts;
	void put()
	{
		users--;
		puts++;
	}
	using User = Use<Users, &Users::put>;
	User get()
	{
		users++;
		return User::adopt(*this);
	}
};
constinit Users g_users{};

/* A setup of three steps, the last of which fails: it returns what it took. */
Result<void> setup_failing_at_the_third(Users::User &a, Users::User &b)
{
	a = g_users.get();
	b = g_users.get();
	return err::nomem();
}

} // namespace

LBRCTX_KUNIT_CASE(use_handle_gives_its_user_back_exactly_once)
{
	g_users = {};
	{
		Users::User a = g_users.get();
		Users::User moved = move(a);
		KEXPECT(test, !a && moved && moved.owner() == &g_users);
		KEXPECT_EQ(test, g_users.users, 1u);
		moved = g_users.get(); /* gives back what moved held */
		KEXPECT_EQ(test, g_users.users, 1u);
		KEXPECT_EQ(test, g_users.puts, 1u);
		moved.reset();
		moved.reset(); /* nothing left to give */
		KEXPECT_EQ(test, g_users.puts, 2u);
	}
	{
		/* An owner of handles whose setup fails midway: its members give back all. */
		struct Holds {
			Users::User a, b;
		} h;
		KEXPECT_EQ(test, setup_failing_at_the_third(h.a, h.b).error(), -LBRCTX_K_ENOMEM);
		KEXPECT_EQ(test, g_users.users, 2u);
	}
	KEXPECT_EQ(test, g_users.users, 0u);
	KEXPECT_EQ(test, g_users.puts, 4u);
}

LBRCTX_KUNIT_CASE(array_index_nospec_clamps_what_the_bound_refuses)
{
	/* The event kind is the user value it guards (module/event.cpp): 0..4 pass, the rest are 0. */
	for (u64 kind = 0; kind < 300; kind++)
		KEXPECT_EQ(test, array_index_nospec(kind, pmu::kKinds),
			   kind < pmu::kKinds ? kind : 0);
	KEXPECT_EQ(test, array_index_nospec(~0ull, 5), 0u);
	KEXPECT_EQ(test, array_index_nospec(1ull << 63, 5), 0u);
	KEXPECT_EQ(test, array_index_nospec(4, 5), 4u);
	KEXPECT_EQ(test, array_index_nospec(0, 0), 0u);
}

LBRCTX_KUNIT_CASE(heap_sort_orders_every_length_and_keeps_the_entries)
{
	/* Every length 0..40, from a scrambled permutation with repeats (v % 7), by two orders. */
	for (u32 n = 0; n <= 40; n++) {
		u32 v[40], count[7] = {};
		for (u32 i = 0; i < n; i++) {
			v[i] = (i * 17 + 5) % 41 % 7;
			count[v[i]]++;
		}
		heap_sort(v, n, [](u32 a, u32 b) { return a < b; });
		for (u32 i = 1; i < n; i++)
			KEXPECT(test, v[i - 1] <= v[i]);
		for (u32 i = 0; i < n; i++)
			count[v[i]]--;
		for (u32 c : count)
			KEXPECT_EQ(test, c, 0u);
		heap_sort(v, n, [](u32 a, u32 b) { return a > b; });
		for (u32 i = 1; i < n; i++)
			KEXPECT(test, v[i - 1] >= v[i]);
	}
	/* Already sorted and reversed inputs of a larger set. */
	static u32 big[4096];
	for (u32 i = 0; i < 4096; i++)
		big[i] = 4095 - i;
	heap_sort(big, 4096, [](u32 a, u32 b) { return a < b; });
	u32 bad = 0;
	for (u32 i = 0; i < 4096; i++)
		bad += big[i] != i;
	KEXPECT_EQ(test, bad, 0u);
	heap_sort(big, 4096, [](u32 a, u32 b) { return a < b; });
	bad = 0;
	for (u32 i = 0; i < 4096; i++)
		bad += big[i] != i;
	KEXPECT_EQ(test, bad, 0u);
}
