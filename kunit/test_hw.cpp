// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_hw: the QEMU plugin's LBR hardware (include/lbrctx/hwlbr.h), as
 * lbrctx drives it (source=hw). Each case has an lbrctx event of one
 * configuration on its own task, so that this CPU's first unit with users
 * is that configuration's, and runs code whose branches it knows
 * (kunit/hw_code.S): the records are compared field by field with the
 * addresses of that code's own labels. The bad-input cases write into the
 * unit's page what a driver never would and ring the doorbell, and each
 * has the outcome hwlbr.h defines.
 */
#include <lbrctx/hwlbr.h>
#include <lbrctx/k/lock.h>
#include <lbrctx/kunit_api.h>
#include <lbrctx/pmu.h>

#include "ktest.h"

using namespace lbrctx;
using lbrctx::test::Counter;

extern "C" {
extern const u8 lbrctx_hwt_branches[], lbrctx_hwt_jind[], lbrctx_hwt_t_jind[], lbrctx_hwt_jrel[],
	lbrctx_hwt_t_jrel[], lbrctx_hwt_call[], lbrctx_hwt_r_call[], lbrctx_hwt_cind[],
	lbrctx_hwt_r_cind[], lbrctx_hwt_loop[], lbrctx_hwt_jcc[], lbrctx_hwt_leaf[],
	lbrctx_hwt_ret[], lbrctx_hwt_nested[], lbrctx_hwt_n1[], lbrctx_hwt_nest2[];
void lbrctx_hwt_bogus_command(void) noexcept;
void lbrctx_hwt_restore(void) noexcept;
void lbrctx_hwt_save(void) noexcept;
}

namespace {

using Code = void (*)() noexcept;

u64 at(const u8 *label)
{
	return reinterpret_cast<u64>(label);
}

/* What a case wants of one record: FROM, TO and the type in INFO. */
struct Want {
	u64 from;
	u64 to;
	lbr::BrType type;
};

/*
 * Run @code on this CPU with interrupts off, the page's operands naming
 * its first unit with users; @code ends with the Save doorbell. @out gets
 * the unit's state as the hardware saved it; false without a unit.
 */
bool run(struct kunit *test, const u8 *code, xsave::ArchLbrState &out, s32 &status)
{
	k::IrqSave irqs;
	auto *p = static_cast<hw::Vcpu *>(lbrctx_kunit_hw_page());
	int slot = lbrctx_kunit_hw_slot();
	if (!KEXPECT(test, p) || !KEXPECT(test, slot >= 0))
		return false;
	p->ctl.cpu = lbrctx_shim_cpu_id();
	p->ctl.mask = 1u << slot;
	p->ctl.status = -1;
	reinterpret_cast<Code>(const_cast<u8 *>(code))();
	out = p->unit[slot];
	status = p->ctl.status;
	return true;
}

/* The youngest records of @s are @want, field by field. */
void expect_records(struct kunit *test, const xsave::ArchLbrState &s, const Want *want, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		const xsave::LbrEntry &e = s.entries[i];
		if (!KEXPECT_EQ(test, e.from, want[i].from) ||
		    !KEXPECT_EQ(test, e.to, want[i].to) ||
		    !KEXPECT_EQ(test, static_cast<u32>(lbr::info_type(e.info)),
				static_cast<u32>(want[i].type)))
			lbrctx_kunit_info(test, "record %u: from %llx to %llx info %llx", i, e.from,
					  e.to, e.info);
	}
}

/* This case's event: of configuration @a, on the case's own task. */
lbrctx_kattr kernel_all()
{
	return lbrctx_kattr{.config = 0, .exclude_user = 1};
}

/* Ring @code with the page's operands set by @set; the status. Interrupts off inside. */
template <class F> s32 ring(Code code, F set)
{
	k::IrqSave irqs;
	auto *p = static_cast<hw::Vcpu *>(lbrctx_kunit_hw_page());
	if (!p)
		return -2;
	p->ctl.cpu = lbrctx_shim_cpu_id();
	p->ctl.status = -1;
	set(*p, lbrctx_kunit_hw_slot());
	code();
	return p->ctl.status;
}

/* The state a case reads back: 800 bytes, off the stack (the cases run one at a time). */
constinit xsave::ArchLbrState g_state;

} // namespace

LBRCTX_KUNIT_CASE(hw_records_every_taken_branch_of_known_code_exactly)
{
	Counter c(kernel_all(), -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	xsave::ArchLbrState &s = g_state;
	s32 status;
	KASSERT(test, run(test, lbrctx_hwt_branches, s, status));
	KEXPECT_EQ(test, status, hw::kOk);
	/* Youngest first: the loop's three taken Jcc, the two calls and their returns, the jumps. */
	const Want want[] = {
		{at(lbrctx_hwt_jcc), at(lbrctx_hwt_loop), lbr::BrType::Jcc},
		{at(lbrctx_hwt_jcc), at(lbrctx_hwt_loop), lbr::BrType::Jcc},
		{at(lbrctx_hwt_jcc), at(lbrctx_hwt_loop), lbr::BrType::Jcc},
		{at(lbrctx_hwt_ret), at(lbrctx_hwt_r_cind), lbr::BrType::Return},
		{at(lbrctx_hwt_cind), at(lbrctx_hwt_leaf), lbr::BrType::IndCall},
		{at(lbrctx_hwt_ret), at(lbrctx_hwt_r_call), lbr::BrType::Return},
		{at(lbrctx_hwt_call), at(lbrctx_hwt_leaf), lbr::BrType::RelCall},
		{at(lbrctx_hwt_jrel), at(lbrctx_hwt_t_jrel), lbr::BrType::RelJmp},
		{at(lbrctx_hwt_jind), at(lbrctx_hwt_t_jind), lbr::BrType::IndJmp},
	};
	expect_records(test, s, want, sizeof(want) / sizeof(want[0]));
	/* The call into the code, from this case's code. */
	KEXPECT_EQ(test, s.entries[9].to, at(lbrctx_hwt_branches));
	/* The not-taken Jcc left no record: nothing between the last taken one and the Save. */
	KEXPECT_EQ(test, s.lbr_depth, 32u);
	KEXPECT(test, s.lbr_ctl & lbr::ctl::kEnable);
}

LBRCTX_KUNIT_CASE(hw_call_stack_mode_keeps_the_calls_still_open)
{
	Counter c(lbrctx_kattr{.config = pmu::cfg::kCallStack, .exclude_user = 1}, -1,
		  lbrctx_shim_current());
	KASSERT(test, c.ok());
	xsave::ArchLbrState &s = g_state;
	s32 status;
	KASSERT(test, run(test, lbrctx_hwt_nested, s, status));
	KEXPECT_EQ(test, status, hw::kOk);
	/* The leaf's call was popped by its return; the two calls around it are open. */
	const Want want[] = {
		{at(lbrctx_hwt_n1), at(lbrctx_hwt_nest2), lbr::BrType::RelCall},
	};
	expect_records(test, s, want, 1);
	KEXPECT_EQ(test, s.entries[1].to, at(lbrctx_hwt_nested));
	KEXPECT(test, s.lbr_ctl & lbr::ctl::kCallStack);
}

LBRCTX_KUNIT_CASE(hw_type_filter_records_only_its_type)
{
	Counter c(lbrctx_kattr{.config = pmu::cfg::kCond, .exclude_user = 1}, -1,
		  lbrctx_shim_current());
	KASSERT(test, c.ok());
	xsave::ArchLbrState &s = g_state;
	s32 status;
	KASSERT(test, run(test, lbrctx_hwt_branches, s, status));
	const Want want[] = {
		{at(lbrctx_hwt_jcc), at(lbrctx_hwt_loop), lbr::BrType::Jcc},
		{at(lbrctx_hwt_jcc), at(lbrctx_hwt_loop), lbr::BrType::Jcc},
		{at(lbrctx_hwt_jcc), at(lbrctx_hwt_loop), lbr::BrType::Jcc},
	};
	expect_records(test, s, want, 3);
	u32 other = 0, n = 0;
	for (; n < lbr::kMaxDepth && s.entries[n].to; n++)
		other += lbr::info_type(s.entries[n].info) != lbr::BrType::Jcc;
	KEXPECT_EQ(test, other, 0u);
	KEXPECT(test, n >= 3);
}

LBRCTX_KUNIT_CASE(hw_user_only_unit_records_no_kernel_branch)
{
	/* A kthread runs no user code: its user-only unit stays empty through kernel code. */
	Counter c(lbrctx_kattr{.config = 0, .exclude_kernel = 1}, -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	xsave::ArchLbrState &s = g_state;
	s32 status;
	KASSERT(test, run(test, lbrctx_hwt_branches, s, status));
	KEXPECT_EQ(test, status, hw::kOk);
	KEXPECT_EQ(test, s.entries[0].to, 0u);
	KEXPECT(test, (s.lbr_ctl & (lbr::ctl::kUsr | lbr::ctl::kOs)) == lbr::ctl::kUsr);
}

LBRCTX_KUNIT_CASE(hw_plugin_refuses_reserved_lbr_ctl_bits_as_xrstors_would)
{
	Counter c(kernel_all(), -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	/* The Restore and the Save as one, interrupts off (see the case below). */
	k::IrqSave irqs;
	u64 refused = 0;
	s32 st = ring(lbrctx_hwt_restore, [&](hw::Vcpu &p, int slot) {
		refused = p.ctl.refused;
		p.ctl.mask = 1u << slot;
		p.unit[slot] = {};
		p.unit[slot].lbr_ctl = lbr::ctl::kEnable | lbr::ctl::kOs | (1ull << 30);
		p.unit[slot].lbr_depth = 32;
	});
	KEXPECT_EQ(test, st, hw::kBadCtl);
	/* The unit was reset and disabled: a Save finds no LBREn and no record. */
	xsave::ArchLbrState &s = g_state;
	s32 status;
	KASSERT(test, run(test, reinterpret_cast<const u8 *>(lbrctx_hwt_save), s, status));
	KEXPECT_EQ(test, status, hw::kOk);
	KEXPECT(test, !(s.lbr_ctl & lbr::ctl::kEnable));
	KEXPECT_EQ(test, s.entries[0].to, 0u);
	auto *p = static_cast<hw::Vcpu *>(lbrctx_kunit_hw_page());
	KEXPECT(test, p && p->ctl.refused > refused);
}

LBRCTX_KUNIT_CASE(hw_plugin_refuses_an_unsupported_depth)
{
	Counter c(kernel_all(), -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	static constexpr u64 kDepths[] = {0, 7, 33, 64, ~0ull};
	for (u64 depth : kDepths) {
		s32 st = ring(lbrctx_hwt_restore, [&](hw::Vcpu &p, int slot) {
			p.ctl.mask = 1u << slot;
			p.unit[slot] = {};
			p.unit[slot].lbr_ctl = lbr::ctl::kOs | lbr::ctl::kTypeMask;
			p.unit[slot].lbr_depth = depth;
		});
		KEXPECT_EQ(test, st, hw::kBadDepth);
	}
}

LBRCTX_KUNIT_CASE(hw_plugin_refuses_a_wrong_cpu_a_bad_mask_and_an_unknown_command)
{
	Counter c(kernel_all(), -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	s32 st = ring(lbrctx_hwt_save, [](hw::Vcpu &p, int slot) {
		p.ctl.cpu += 1;
		p.ctl.mask = 1u << slot;
	});
	KEXPECT_EQ(test, st, hw::kBadCpu);
	st = ring(lbrctx_hwt_save, [](hw::Vcpu &p, int) { p.ctl.mask = 1u << 5; });
	KEXPECT_EQ(test, st, hw::kBadMask);
	st = ring(lbrctx_hwt_bogus_command, [](hw::Vcpu &, int) {});
	KEXPECT_EQ(test, st, hw::kBadCommand);
}

LBRCTX_KUNIT_CASE(hw_plugin_takes_records_as_data_up_to_the_first_empty_one)
{
	Counter c(kernel_all(), -1, lbrctx_shim_current());
	KASSERT(test, c.ok());
	/*
	 * LBREn clear: nothing records between the Restore and the Save. Both
	 * with interrupts off, as one: a tick, a switch or the rotation timer
	 * between them reprograms the slot for the case's own event (seen
	 * once: the Save found LBREn, depth 32 and kernel records).
	 */
	k::IrqSave irqs;
	constexpr u64 ctl = lbr::ctl::kOs | lbr::ctl::kTypeMask;
	s32 st = ring(lbrctx_hwt_restore, [&](hw::Vcpu &p, int slot) {
		p.ctl.mask = 1u << slot;
		p.unit[slot] = {};
		p.unit[slot].lbr_ctl = ctl;
		p.unit[slot].lbr_depth = 8;
		p.unit[slot].entries[0] = {~0ull, 0x1234, ~0ull};
		p.unit[slot].entries[1] = {0, 0xffffffff81000000ull, 0xdeadbeef};
		p.unit[slot].entries[2] = {5, 0, 6}; /* a torn record: no TO */
		p.unit[slot].entries[3] = {7, 8, 9};
	});
	KEXPECT_EQ(test, st, hw::kOk);
	xsave::ArchLbrState &s = g_state;
	s32 status;
	KASSERT(test, run(test, reinterpret_cast<const u8 *>(lbrctx_hwt_save), s, status));
	KEXPECT_EQ(test, status, hw::kOk);
	KEXPECT_EQ(test, s.lbr_ctl, ctl);
	KEXPECT_EQ(test, s.lbr_depth, 8u);
	KEXPECT_EQ(test, s.entries[0].from, ~0ull);
	KEXPECT_EQ(test, s.entries[0].to, 0x1234u);
	KEXPECT_EQ(test, s.entries[1].to, 0xffffffff81000000ull);
	KEXPECT_EQ(test, s.entries[1].info, 0xdeadbeefu);
	KEXPECT_EQ(test, s.entries[2].to, 0u);
	KEXPECT_EQ(test, s.entries[3].to, 0u);
}
