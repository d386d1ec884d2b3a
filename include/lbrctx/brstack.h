/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Samples' branch stacks: the emulated unit's records in the perf ABI's
 * layout (uapi/linux/perf_event.h). Pure logic, like lbr.h.
 */
#pragma once

#include <lbrctx/lbr.h>

namespace lbrctx::pmu {

/*
 * The perf ABI's branch entry and stack (uapi/linux/perf_event.h): FROM,
 * TO and a word of bitfields, whose x86-64 layout (least significant bit
 * first) is: mispred 0, predicted 1, in_tx 2, abort 3, cycles 4-19, type
 * 20-23, spec 24-25, new_type 26-29, priv 30-32. The KUnit case
 * branch_entries_match_the_kernels_bitfields decodes ours with the
 * kernel's struct.
 */
namespace brentry {
inline constexpr unsigned kCyclesShift = 4;
inline constexpr unsigned kTypeShift = 20;
inline constexpr unsigned kPrivShift = 30;
} // namespace brentry

struct BranchEntry {
	u64 from;
	u64 to;
	u64 flags;
};

struct BranchStack {
	u64 nr;
	u64 hw_idx;
	BranchEntry entries[lbr::kMaxDepth];
};
static_assert(sizeof(BranchEntry) == LBRCTX_K_SIZEOF_PERF_BRANCH_ENTRY, "");
static_assert(__builtin_offsetof(BranchStack, entries) == LBRCTX_K_SIZEOF_PERF_BRANCH_STACK,
	      "entries[] follows nr and hw_idx");

/* How an event wants its branch entries (from branch_sample_type). */
struct EntryFormat {
	bool type_save;
	bool cycles;
	bool priv_save;
	u16 max; /* attr.sample_max_stack */
	/*
	 * Far branches (lbr::BrType 8 + bit) the event's filter leaves out.
	 * Arch LBR has one OTHER_BRANCH filter bit; the x86 driver keeps, of
	 * the far branches it records, those the event's branch_sample_type
	 * asked for (intel_pmu_lbr_filter()), and so does this.
	 */
	u8 far_drop;
};

/* A far branch type's bit in EntryFormat::far_drop. */
constexpr u8 far_bit(lbr::BrType t)
{
	return static_cast<u8>(1u << ((static_cast<u8>(t) - 8) & 7));
}

/* Arch LBR INFO.BR_TYPE (SDM Vol. 3B, Table 18-55) to perf's generic branch type. */
constexpr u64 perf_br_type(lbr::BrType t)
{
	switch (t) {
	case lbr::BrType::Jcc:
		return LBRCTX_K_PERF_BR_COND;
	case lbr::BrType::IndJmp:
		return LBRCTX_K_PERF_BR_IND;
	case lbr::BrType::RelJmp:
		return LBRCTX_K_PERF_BR_UNCOND;
	case lbr::BrType::IndCall:
		return LBRCTX_K_PERF_BR_IND_CALL;
	case lbr::BrType::RelCall:
		return LBRCTX_K_PERF_BR_CALL;
	case lbr::BrType::Return:
		return LBRCTX_K_PERF_BR_RET;
	case lbr::BrType::Syscall:
		return LBRCTX_K_PERF_BR_SYSCALL;
	case lbr::BrType::Sysret:
		return LBRCTX_K_PERF_BR_SYSRET;
	case lbr::BrType::Interrupt:
		return LBRCTX_K_PERF_BR_IRQ;
	case lbr::BrType::Iret:
		return LBRCTX_K_PERF_BR_ERET;
	default:
		return LBRCTX_K_PERF_BR_UNKNOWN;
	}
}

/* x86-64: kernel addresses are the upper canonical half. */
constexpr bool kernel_address(u64 addr)
{
	return addr >> 63;
}

/* The entry of a record FROM -> @to with LBR_INFO @info, as @f wants it. */
inline BranchEntry encode_entry(const EntryFormat &f, u64 from, u64 to, u64 info)
{
	u64 flags = 0;
	if (f.cycles && (info & lbr::info::kCycValid))
		flags |= (info & lbr::info::kCycles) << brentry::kCyclesShift;
	if (f.type_save)
		flags |= perf_br_type(lbr::info_type(info)) << brentry::kTypeShift;
	if (f.priv_save)
		flags |= static_cast<u64>(kernel_address(to) ? LBRCTX_K_PERF_BR_PRIV_KERNEL
							     : LBRCTX_K_PERF_BR_PRIV_USER)
			 << brentry::kPrivShift;
	return {from, to, flags};
}

/* Encode the unit's records, youngest first, into @out. */
inline void fill_branch_stack(const lbr::Unit &u, const EntryFormat &f, BranchStack &out)
{
	u32 n = 0;
	for (u32 i = 0; i < u.count() && n < f.max; i++) {
		auto r = u.entry(i);
		lbr::BrType t = lbr::info_type(r.info);
		if (f.far_drop && lbr::is_far(t) && (f.far_drop & far_bit(t)))
			continue;
		out.entries[n++] = encode_entry(f, r.from, r.to, r.info);
	}
	out.nr = n;
	/* As Arch LBR: no raw index, the records are already in age order. */
	out.hw_idx = ~0ull;
}

/* Put @e youngest in @out, the oldest dropping out past @max entries. */
inline void push_youngest(BranchStack &out, const BranchEntry &e, u32 max)
{
	u32 n = min(static_cast<u32>(out.nr) + 1, max);
	for (u32 i = n - 1; i > 0; i--)
		out.entries[i] = out.entries[i - 1];
	if (n)
		out.entries[0] = e;
	out.nr = n;
}

} // namespace lbrctx::pmu
