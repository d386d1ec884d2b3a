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

namespace {

constexpr u64 kUserStack = 0x7ffff0000000;

/* A user call of function @n from a frame whose return-address slot is @slot. */
Branch ucall(u64 n, u64 slot)
{
	return {0x401000 + n, 0x402000 + n, BrType::RelCall, true, 0, slot};
}

Branch uret(u64 n, u64 slot)
{
	return {0x402000 + n, 0x401000 + n + 5, BrType::Return, true, 0, slot};
}

Branch kcall(u64 n)
{
	return {0xffffffff81000000 + n, 0xffffffff82000000 + n, BrType::RelCall, false, 0};
}

} // namespace

LBRCTX_KUNIT_CASE(lbr_call_stack_holds_kernel_calls_above_user_calls)
{
	/* main -> f1 in user space, then a syscall's kernel chain: one unit, both kinds. */
	Unit &u = make(0, kStack);
	u.record(ucall(0, kUserStack - 0x10));
	u.record(ucall(1, kUserStack - 0x40));
	u.record(kcall(1));
	u.record(kcall(2));
	KASSERT_EQ(test, u.count(), 4);
	KEXPECT_EQ(test, u.entry(0).to, 0xffffffff82000002);
	KEXPECT_EQ(test, u.entry(1).to, 0xffffffff82000001);
	KEXPECT_EQ(test, u.entry(2).to, 0x402001);
	KEXPECT_EQ(test, u.entry(3).to, 0x402000);
	KEXPECT_EQ(test, u.slot(0), 0);
	KEXPECT_EQ(test, u.slot(2), kUserStack - 0x40);
	/* A user-only unit (USR, no OS) takes the user calls alone. */
	Unit &usr = make(1, kStack & ~ctl::kOs);
	KEXPECT(test, usr.record(ucall(0, kUserStack - 0x10)) == Op::Pushed);
	KEXPECT(test, usr.record(kcall(1)) == Op::Filtered);
	KEXPECT_EQ(test, usr.count(), 1);
}

LBRCTX_KUNIT_CASE(lbr_user_call_drops_the_frames_the_stack_left)
{
	/*
	 * main -> f1 -> f2 -> f3, then f3 longjmps back to main, which calls
	 * g from the frame f1 was called from: f1, f2 and f3 are gone.
	 */
	Unit &u = make(0, kStack);
	u.record(ucall(0, kUserStack - 0x10)); /* main */
	u.record(ucall(1, kUserStack - 0x40)); /* f1 */
	u.record(ucall(2, kUserStack - 0x80)); /* f2 */
	u.record(kcall(7));		       /* a syscall in f2 whose return was not seen */
	u.record(ucall(3, kUserStack - 0xc0)); /* f3: the kernel record is dropped first */
	KEXPECT_EQ(test, u.count(), 4);
	u64 before = u.unwound();
	KEXPECT(test, u.record(ucall(9, kUserStack - 0x40)) == Op::Pushed); /* g */
	KASSERT_EQ(test, u.count(), 2);
	KEXPECT_EQ(test, u.entry(0).to, 0x402009);
	KEXPECT_EQ(test, u.entry(1).to, 0x402000);
	KEXPECT_EQ(test, u.unwound() - before, 3);
	/* g returns: main's call is on top again. */
	KEXPECT(test, u.record(uret(9, kUserStack - 0x40)) == Op::Popped);
	KEXPECT_EQ(test, u.count(), 1);
	KEXPECT_EQ(test, u.entry(0).to, 0x402000);
}

LBRCTX_KUNIT_CASE(lbr_user_return_pops_only_its_own_frame)
{
	Unit &u = make(0, kStack);
	u.record(ucall(0, kUserStack - 0x10));
	u.record(ucall(1, kUserStack - 0x40));
	/* A return from a frame the unit never saw called (above f1's): nothing popped. */
	KEXPECT(test, u.record(uret(5, kUserStack - 0x20)) == Op::PopEmpty);
	/* f1's call was dropped as gone by it, since its frame is below. */
	KEXPECT_EQ(test, u.count(), 1);
	KEXPECT_EQ(test, u.entry(0).to, 0x402000);
	/* main's own return pops main. */
	KEXPECT(test, u.record(uret(0, kUserStack - 0x10)) == Op::Popped);
	KEXPECT_EQ(test, u.count(), 0);
	/* In plain mode nothing is dropped: every branch is a record. */
	Unit &ring = make(1, kAll);
	ring.record(ucall(0, kUserStack - 0x10));
	ring.record(ucall(1, kUserStack - 0x40));
	ring.record(ucall(2, kUserStack - 0x10));
	KEXPECT_EQ(test, ring.count(), 3);
}

LBRCTX_KUNIT_CASE(lbr_save_and_restore_carry_the_frame_slots)
{
	static u64 slots[kMaxDepth];
	Unit &u = make(0, kStack);
	u.record(ucall(0, kUserStack - 0x10));
	u.record(ucall(2, kUserStack - 0x80));
	u.record(kcall(1));
	xsave::ArchLbrState &s = state(0);
	u.save(s, slots);
	KEXPECT_EQ(test, slots[0], 0);
	KEXPECT_EQ(test, slots[1], kUserStack - 0x80);
	KEXPECT_EQ(test, slots[2], kUserStack - 0x10);
	Unit &v = make(1, kStack);
	KASSERT(test, v.restore_if_compatible(s, slots));
	KEXPECT_EQ(test, v.count(), 3);
	KEXPECT_EQ(test, v.slot(0), 0);
	KEXPECT_EQ(test, v.slot(1), kUserStack - 0x80);
	KEXPECT_EQ(test, v.slot(2), kUserStack - 0x10);
	/* The restored frames unwind like live ones. */
	v.record(ucall(3, kUserStack - 0x10));
	KEXPECT_EQ(test, v.count(), 1);
}
