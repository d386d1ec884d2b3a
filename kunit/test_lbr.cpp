// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_lbr: the emulated Arch LBR unit (include/lbrctx/lbr.h), pure
 * logic, one property a case: fill, overflow, pop past empty, depth
 * change, CPL and type filters, INFO encoding, and the XSAVE-layout save
 * and restore the context-switch hook relies on.
 */
#include <lbrctx/lbr.h>

#include "ktest.h"

using namespace lbrctx;
using namespace lbrctx::lbr;

namespace {

constexpr u64 kAll = ctl::kEnable | ctl::kOs | ctl::kUsr | ctl::kTypeMask;
constexpr u64 kStack = kAll | ctl::kCallStack;

/* Units and saved states are ~800 bytes each: kept off the kernel stack. */
constinit Unit g_unit[5];
constinit xsave::ArchLbrState g_state[2];

Unit &make(u32 slot, u64 c, u32 depth = kMaxDepth)
{
	Unit &u = g_unit[slot];
	u.set_ctl(0);
	u.set_depth(depth); /* clears the records */
	u.set_ctl(c);
	return u;
}

xsave::ArchLbrState &state(u32 slot)
{
	g_state[slot] = {};
	return g_state[slot];
}

Branch call(u64 n, u64 now = 0)
{
	return {0x1000 + n, 0x2000 + n, BrType::RelCall, false, now};
}
Branch ret(u64 n)
{
	return {0x2000 + n, 0x1000 + n + 5, BrType::Return, false, 0};
}

} // namespace

LBRCTX_KUNIT_CASE(lbr_ring_fills_youngest_first)
{
	Unit &u = make(0, kAll);
	for (u64 i = 0; i < 10; i++)
		KEXPECT(test, u.record(call(i)) == Op::Recorded);
	KASSERT_EQ(test, u.count(), 10);
	for (u32 i = 0; i < 10; i++) {
		KEXPECT_EQ(test, u.entry(i).from, 0x1000 + 9 - i);
		KEXPECT_EQ(test, u.entry(i).to, 0x2000 + 9 - i);
	}
	KEXPECT_EQ(test, u.entry(10).to, 0);
}

LBRCTX_KUNIT_CASE(lbr_ring_overflow_drops_the_oldest)
{
	for (u32 depth = 8; depth <= 32; depth += 8) {
		Unit &u = make(0, kAll, depth);
		for (u64 i = 0; i < depth + 5; i++)
			u.record(call(i));
		KEXPECT_EQ(test, u.count(), depth);
		KEXPECT_EQ(test, u.entry(0).to, 0x2000 + depth + 4);
		KEXPECT_EQ(test, u.entry(depth - 1).to, 0x2000 + 5);
		KEXPECT_EQ(test, u.entry(depth).to, 0);
	}
}

LBRCTX_KUNIT_CASE(lbr_ring_records_returns_as_branches)
{
	Unit &u = make(0, kAll);
	u.record(call(1));
	KEXPECT(test, u.record(ret(1)) == Op::Recorded);
	KASSERT_EQ(test, u.count(), 2);
	KEXPECT(test, info_type(u.entry(0).info) == BrType::Return);
	KEXPECT(test, info_type(u.entry(1).info) == BrType::RelCall);
}

LBRCTX_KUNIT_CASE(lbr_call_stack_pushes_calls_and_pops_returns)
{
	Unit &u = make(0, kStack);
	KEXPECT(test, u.record(call(1)) == Op::Pushed);
	KEXPECT(test, u.record(call(2)) == Op::Pushed);
	KEXPECT(test, u.record(call(3)) == Op::Pushed);
	KEXPECT_EQ(test, u.count(), 3);
	KEXPECT(test, u.record(ret(3)) == Op::Popped);
	KEXPECT_EQ(test, u.count(), 2);
	KEXPECT_EQ(test, u.top().to, 0x2002);
	KEXPECT(test, u.record(call(4)) == Op::Pushed);
	KEXPECT_EQ(test, u.entry(0).to, 0x2004);
	KEXPECT_EQ(test, u.entry(1).to, 0x2002);
	KEXPECT_EQ(test, u.entry(2).to, 0x2001);
	/* Other branch types are not stack operations. */
	KEXPECT(test, u.record({1, 2, BrType::Jcc, false, 0}) == Op::Filtered);
	KEXPECT_EQ(test, u.count(), 3);
}

LBRCTX_KUNIT_CASE(lbr_call_stack_pop_past_empty_does_nothing)
{
	Unit &u = make(0, kStack);
	KEXPECT(test, u.record(ret(1)) == Op::PopEmpty);
	u.record(call(1));
	KEXPECT(test, u.record(ret(1)) == Op::Popped);
	KEXPECT(test, u.record(ret(2)) == Op::PopEmpty);
	KEXPECT_EQ(test, u.count(), 0);
	KEXPECT(test, u.record(call(5)) == Op::Pushed);
	KEXPECT_EQ(test, u.count(), 1);
	KEXPECT_EQ(test, u.top().to, 0x2005);
}

LBRCTX_KUNIT_CASE(lbr_call_stack_overflow_keeps_the_innermost_calls)
{
	Unit &u = make(0, kStack, 8);
	for (u64 i = 0; i < 12; i++)
		u.record(call(i));
	KEXPECT_EQ(test, u.count(), 8);
	/* Popping all 8 leaves an empty stack: the 4 outermost calls were lost. */
	for (u64 i = 0; i < 8; i++) {
		KEXPECT_EQ(test, u.top().to, 0x2000 + 11 - i);
		KEXPECT(test, u.record(ret(11 - i)) == Op::Popped);
	}
	KEXPECT(test, u.record(ret(3)) == Op::PopEmpty);
}

LBRCTX_KUNIT_CASE(lbr_depth_must_be_a_supported_value)
{
	Unit &u = make(0, 0);
	static const u64 bad[] = {0, 1, 7, 9, 12, 33, 40, 64, ~0ull};
	for (u64 d : bad) {
		KEXPECT(test, !u.set_depth(d));
		KEXPECT_EQ(test, u.depth(), kDefaultDepth);
	}
	for (u64 d = 8; d <= 32; d += 8) {
		KEXPECT(test, u.set_depth(d));
		KEXPECT_EQ(test, u.depth(), d);
	}
}

LBRCTX_KUNIT_CASE(lbr_depth_change_clears_the_records)
{
	Unit &u = make(0, kAll, 16);
	for (u64 i = 0; i < 10; i++)
		u.record(call(i));
	KEXPECT_EQ(test, u.count(), 10);
	KEXPECT(test, u.set_depth(8));
	KEXPECT_EQ(test, u.count(), 0);
	KEXPECT_EQ(test, u.top().to, 0);
	for (u64 i = 0; i < 9; i++)
		u.record(call(i));
	KEXPECT_EQ(test, u.count(), 8);
}

LBRCTX_KUNIT_CASE(lbr_ctl_refuses_reserved_bits)
{
	Unit &u = make(0, 0);
	KEXPECT(test, !u.set_ctl(1ull << 4));
	KEXPECT(test, !u.set_ctl(1ull << 23));
	KEXPECT(test, !u.set_ctl(1ull << 63));
	KEXPECT_EQ(test, u.lbr_ctl(), 0);
	KEXPECT(test, u.set_ctl(kStack));
	KEXPECT_EQ(test, u.lbr_ctl(), kStack);
}

LBRCTX_KUNIT_CASE(lbr_disabled_unit_records_nothing)
{
	Unit &u = make(0, kAll & ~ctl::kEnable);
	KEXPECT(test, u.record(call(1)) == Op::Filtered);
	KEXPECT_EQ(test, u.count(), 0);
}

LBRCTX_KUNIT_CASE(lbr_cpl_filters_select_kernel_or_user_branches)
{
	Unit &os = make(0, kAll & ~ctl::kUsr);
	Unit &usr = make(1, kAll & ~ctl::kOs);
	Branch k = call(1), user = call(2);
	user.user = true;
	KEXPECT(test, os.record(k) == Op::Recorded);
	KEXPECT(test, os.record(user) == Op::Filtered);
	KEXPECT(test, usr.record(k) == Op::Filtered);
	KEXPECT(test, usr.record(user) == Op::Recorded);
}

LBRCTX_KUNIT_CASE(lbr_type_filters_select_branch_types)
{
	Unit &u = make(0, ctl::kEnable | ctl::kOs | ctl::kIndCall);
	KEXPECT(test, u.record(call(1)) == Op::Filtered); /* a relative call */
	KEXPECT(test, u.record({1, 2, BrType::IndCall, false, 0}) == Op::Recorded);
	KEXPECT(test, u.record(ret(1)) == Op::Filtered);
	KEXPECT(test, u.record({1, 2, BrType::Jcc, false, 0}) == Op::Filtered);
	KEXPECT(test, u.record({1, 2, BrType::Other, false, 0}) == Op::Filtered);
	KEXPECT_EQ(test, u.count(), 1);
	/* Without the RET bit, call-stack mode cannot pop. */
	Unit &s = make(1, ctl::kEnable | ctl::kOs | ctl::kCallStack | ctl::kCalls);
	s.record(call(1));
	KEXPECT(test, s.record(ret(1)) == Op::Filtered);
	KEXPECT_EQ(test, s.count(), 1);
}

LBRCTX_KUNIT_CASE(lbr_info_holds_type_and_saturated_cycle_delta)
{
	Unit &u = make(0, kAll);
	u.record(call(1, 1000));
	u.record(call(2, 1300));
	u.record(call(3, 1300 + 100000));
	u.record({1, 2, BrType::IndCall, false, 1300 + 100000 + 7});
	KEXPECT_EQ(test, u.entry(3).info & info::kCycValid, 0); /* first after reset */
	KEXPECT_EQ(test, u.entry(2).info & info::kCycles, 300);
	KEXPECT(test, u.entry(2).info & info::kCycValid);
	KEXPECT_EQ(test, u.entry(1).info & info::kCycles, 0xffff);
	KEXPECT_EQ(test, u.entry(0).info & info::kCycles, 7);
	KEXPECT(test, info_type(u.entry(0).info) == BrType::IndCall);
	KEXPECT(test, info_type(u.entry(1).info) == BrType::RelCall);
	KEXPECT_EQ(test, (u.entry(1).info & info::kTypeMask) >> info::kTypeShift, 4);
}

LBRCTX_KUNIT_CASE(lbr_save_writes_the_xsave_component_layout)
{
	Unit &u = make(0, kStack, 16);
	for (u64 i = 0; i < 5; i++)
		u.record(call(i));
	xsave::ArchLbrState &s = state(0);
	__builtin_memset(&s, 0xa5, sizeof(s));
	u.save(s);
	KEXPECT_EQ(test, s.lbr_ctl, kStack);
	KEXPECT_EQ(test, s.lbr_depth, 16);
	KEXPECT_EQ(test, s.ler_from | s.ler_to | s.ler_info, 0);
	for (u32 i = 0; i < 5; i++)
		KEXPECT_EQ(test, s.entries[i].to, 0x2000 + 4 - i);
	KEXPECT(test,
		lbrctx::test::all_zero(&s.entries[5], sizeof(s.entries[0]) * (kMaxDepth - 5)));
}

LBRCTX_KUNIT_CASE(lbr_restore_round_trips_and_continues)
{
	Unit &a = make(0, kStack, 24);
	for (u64 i = 0; i < 30; i++)
		a.record(call(i));
	xsave::ArchLbrState &s = state(0);
	a.save(s);
	Unit &b = make(1, 0);
	KASSERT(test, b.restore(s));
	KEXPECT_EQ(test, b.lbr_ctl(), kStack);
	KEXPECT_EQ(test, b.depth(), 24);
	KASSERT_EQ(test, b.count(), 24);
	for (u32 i = 0; i < 24; i++)
		KEXPECT_EQ(test, b.entry(i).to, a.entry(i).to);
	/* The restored stack keeps working: pop one, push one. */
	KEXPECT(test, b.record(ret(29)) == Op::Popped);
	KEXPECT(test, b.record(call(99, 5000)) == Op::Pushed);
	KEXPECT_EQ(test, b.top().to, 0x2000 + 99);
	KEXPECT_EQ(test, b.entry(1).to, 0x2000 + 28);
	/* The first record after a restore carries no valid cycle count. */
	KEXPECT_EQ(test, b.top().info & info::kCycValid, 0);
}

LBRCTX_KUNIT_CASE(lbr_restore_refuses_state_no_save_produces)
{
	Unit &u = make(0, kAll);
	u.record(call(1));
	xsave::ArchLbrState &s = state(0);
	u.save(s);
	s.lbr_depth = 12;
	KEXPECT(test, !u.restore(s));
	KEXPECT_EQ(test, u.count(), 0);
	s.lbr_depth = 32;
	s.lbr_ctl |= 1ull << 40;
	u.record(call(2));
	KEXPECT(test, !u.restore(s));
	KEXPECT_EQ(test, u.count(), 0);
}

LBRCTX_KUNIT_CASE(lbr_restore_if_compatible_resets_on_a_config_mismatch)
{
	Unit &a = make(0, kStack, 32);
	a.record(call(1));
	a.record(call(2));
	xsave::ArchLbrState &s = state(0);
	a.save(s);
	/* Same configuration, LBREn off: the records come back, LBREn stays. */
	Unit &b = make(1, kStack & ~ctl::kEnable, 32);
	KEXPECT(test, b.restore_if_compatible(s));
	KEXPECT_EQ(test, b.count(), 2);
	KEXPECT(test, !b.enabled());
	/* Another depth or mode: a reset unit, never stale records. */
	Unit &c = make(2, kStack, 16);
	c.record(call(7));
	KEXPECT(test, !c.restore_if_compatible(s));
	KEXPECT_EQ(test, c.count(), 0);
	Unit &d = make(3, kAll, 32);
	d.record(call(7));
	KEXPECT(test, !d.restore_if_compatible(s));
	KEXPECT_EQ(test, d.count(), 0);
	/* A zeroed (never saved) state is not compatible with anything. */
	xsave::ArchLbrState &z = state(1);
	Unit &e = make(4, kStack, 32);
	e.record(call(7));
	KEXPECT(test, !e.restore_if_compatible(z));
	KEXPECT_EQ(test, e.count(), 0);
}
