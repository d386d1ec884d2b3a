/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The emulated LBR unit: one per CPU, with Architectural LBR semantics
 * (Intel SDM Vol. 3B, 18.1.3 "Architectural Last Branch Records").
 *
 * Virtual machines have no LBR hardware, so lbrctx carries this model of
 * it. It is pure logic: the branch source (module/source.cpp) feeds it real
 * kernel calls and returns, the context-switch hook saves and restores it
 * in the XSAVE layout of the Arch LBR state component, and the PMU reads it
 * when a sample is taken. The unit itself takes no locks; its owner keeps
 * interrupts off around every call (one unit per CPU, as in hardware).
 *
 * What is modelled:
 *  - IA32_LBR_CTL: LBREn, the CPL filters (OS = CPL 0, USR = CPL > 0),
 *    call-stack mode, and the branch-type filter bits 16..22. A branch is
 *    recorded only when LBREn, its CPL bit and its type bit are all set.
 *  - IA32_LBR_DEPTH: 8, 16, 24 or 32 (the depths CPUID leaf 1CH may
 *    enumerate); any other value is refused, as WRMSR would #GP. Writing
 *    the depth clears every record.
 *  - Records FROM/TO/INFO, entry 0 the youngest. INFO holds the branch
 *    type in bits 59:56 and a 16-bit cycle-count-like delta (nanoseconds
 *    since the previous record, saturated) with CYC_CNT_VALID in bit 60;
 *    the first record after a reset or a restore has no valid count.
 *  - Call-stack mode: a call pushes, a return pops the youngest record
 *    (popping an empty stack does nothing). Only calls and returns are
 *    considered, as the SDM requires the filter to select just those.
 *    Beyond the SDM, for user records: each call keeps the address of
 *    its return-address slot (the stack pointer at the function's entry),
 *    and a user call or return first drops the records whose frames the
 *    stack has left (a longjmp, an unwound exception, a return uretprobes
 *    did not see), and any kernel record above them: so the call stack
 *    matches the real stack again at the next user call. The slots are
 *    kept beside the records (save()/restore() take an array for them).
 *  - Plain mode: a ring of the last @depth branches.
 *  In both modes the oldest record is dropped when the array is full.
 */
#pragma once

#include <lbrctx/xsave.h>

namespace lbrctx::lbr {

/* IA32_LBR_CTL bits (the kernel's ARCH_LBR_* in arch/x86/events/intel/lbr.c). */
namespace ctl {
inline constexpr u64 kEnable = 1ull << 0;
inline constexpr u64 kOs = 1ull << 1;
inline constexpr u64 kUsr = 1ull << 2;
inline constexpr u64 kCallStack = 1ull << 3;
inline constexpr u64 kJcc = 1ull << 16;
inline constexpr u64 kRelJmp = 1ull << 17;
inline constexpr u64 kIndJmp = 1ull << 18;
inline constexpr u64 kRelCall = 1ull << 19;
inline constexpr u64 kIndCall = 1ull << 20;
inline constexpr u64 kReturn = 1ull << 21;
inline constexpr u64 kOther = 1ull << 22;
inline constexpr u64 kTypeMask = 0x7full << 16;
inline constexpr u64 kCalls = kRelCall | kIndCall;
/* Every defined bit; the rest are reserved (the kernel's ARCH_LBR_CTL_MASK plus LBREn). */
inline constexpr u64 kValid = kEnable | kOs | kUsr | kCallStack | kTypeMask;
} // namespace ctl

/* LBR_INFO fields. */
namespace info {
inline constexpr u64 kCycles = 0xffff;
inline constexpr unsigned kTypeShift = 56;
inline constexpr u64 kTypeMask = 0xfull << kTypeShift;
inline constexpr u64 kCycValid = 1ull << 60;
} // namespace info

/*
 * LBR_INFO.BR_TYPE encodings (SDM Vol. 3B, Table 18-55): 0-5 the near
 * branches, 1xxx OTHER_BRANCH. lbrctx's hardware (include/lbrctx/hwlbr.h)
 * says in the low three bits which far transfer an OTHER_BRANCH was, as
 * a driver would otherwise have to decode FROM's instruction to tell; a
 * reader that tests bit 3 alone sees OTHER_BRANCH, as the SDM defines it.
 */
enum class BrType : u8 {
	Jcc = 0,
	IndJmp = 1,
	RelJmp = 2,
	IndCall = 3,
	RelCall = 4,
	Return = 5,
	Other = 8,	/* a far transfer of no kind below */
	Syscall = 9,	/* syscall, sysenter */
	Sysret = 10,	/* sysret, sysexit */
	Interrupt = 11, /* an interrupt, NMI or exception entered through the IDT */
	SoftInt = 12,	/* int n, int3, int1, into */
	Iret = 13,	/* iret */
	FarJump = 14,	/* a far call, jump or return (lcall, ljmp, lret) */
};

inline constexpr u32 kMinDepth = 8;
inline constexpr u32 kMaxDepth = xsave::kLbrMaxDepth;
inline constexpr u32 kDefaultDepth = kMaxDepth;

constexpr bool valid_depth(u64 d)
{
	return d >= kMinDepth && d <= kMaxDepth && d % 8 == 0;
}

constexpr u64 type_bit(BrType t)
{
	switch (t) {
	case BrType::Jcc:
		return ctl::kJcc;
	case BrType::IndJmp:
		return ctl::kIndJmp;
	case BrType::RelJmp:
		return ctl::kRelJmp;
	case BrType::IndCall:
		return ctl::kIndCall;
	case BrType::RelCall:
		return ctl::kRelCall;
	case BrType::Return:
		return ctl::kReturn;
	default:
		return ctl::kOther;
	}
}

constexpr bool is_call(BrType t)
{
	return t == BrType::RelCall || t == BrType::IndCall;
}

constexpr BrType info_type(u64 inf)
{
	u64 v = (inf & info::kTypeMask) >> info::kTypeShift;
	if (v <= 5 || (v >= 8 && v <= 14))
		return static_cast<BrType>(v);
	return BrType::Other;
}

/* An OTHER_BRANCH: a far transfer of any kind. */
constexpr bool is_far(BrType t)
{
	return static_cast<u8>(t) >= 8;
}

/* One retired branch, as the branch source reports it. */
struct Branch {
	u64 from;
	u64 to;
	BrType type;
	bool user;  /* retired at CPL > 0 */
	u64 now_ns; /* the clock the cycle field is taken from */
	/* User calls and returns: the return-address slot of the frame. */
	u64 slot = 0;
};

enum class Op : u8 {
	Filtered, /* not recorded: disabled, CPL or type filtered */
	Recorded, /* plain mode: added to the ring */
	Pushed,	  /* call-stack mode: a call pushed */
	Popped,	  /* call-stack mode: a return popped the youngest call */
	PopEmpty, /* call-stack mode: a return with nothing to pop */
};

class Unit {
public:
	constexpr Unit() = default;

	u64 lbr_ctl() const { return ctl_; }
	u32 depth() const { return depth_; }
	u32 count() const { return count_; }
	/* Records dropped because the stack left their frames (see the top). */
	u64 unwound() const { return unwound_; }
	bool enabled() const { return ctl_ & ctl::kEnable; }
	bool call_stack() const { return ctl_ & ctl::kCallStack; }

	/* WRMSR IA32_LBR_CTL. False (and no change) for reserved bits. */
	bool set_ctl(u64 v)
	{
		if (v & ~ctl::kValid)
			return false;
		ctl_ = v;
		return true;
	}

	/* WRMSR IA32_LBR_DEPTH. False for an unsupported depth; a write clears the records. */
	bool set_depth(u64 d)
	{
		if (!valid_depth(d))
			return false;
		depth_ = static_cast<u32>(d);
		reset();
		return true;
	}

	/*
	 * Clear every record (the kernel's intel_pmu_arch_lbr_reset). Only
	 * the count(): entry() reads nothing beyond it, and the switch hook
	 * calls this on every switch to a task without data.
	 */
	void reset()
	{
		head_ = depth_ - 1;
		count_ = 0;
		last_ns_ = 0;
	}

	/* The @i-th youngest record; zero beyond count(). */
	xsave::LbrEntry entry(u32 i) const
	{
		if (i >= count_)
			return {};
		return ring_[index(i)];
	}

	/* The youngest record, or a zero one. */
	xsave::LbrEntry top() const { return entry(0); }
	/* The @i-th youngest record's frame slot: 0 for a kernel record. */
	u64 slot(u32 i) const { return i < count_ ? slot_[index(i)] : 0; }

	/*
	 * Set the FROM of the youngest record from @old_from to @to to @from;
	 * the rest of it (TO, INFO, the frame slot) stays. The QEMU plugin's
	 * hardware (include/lbrctx/hwlbr.h) records an interrupt when its
	 * handler starts, before it can always tell which instruction was
	 * interrupted, and corrects the record when the handler returns there.
	 * False when no record matches (the filter dropped it, or newer ones
	 * pushed it out).
	 */
	bool amend_from(u64 to, u64 old_from, u64 from)
	{
		for (u32 i = 0; i < count_; i++) {
			xsave::LbrEntry &e = ring_[index(i)];
			if (e.to == to && e.from == old_from) {
				e.from = from;
				return true;
			}
		}
		return false;
	}

	/* Whether LBREn, the branch's CPL bit and its type bit are all set (record()'s filter). */
	bool accepts(const Branch &b) const
	{
		return enabled() && (ctl_ & (b.user ? ctl::kUsr : ctl::kOs)) &&
		       (ctl_ & type_bit(b.type));
	}

	Op record(const Branch &b)
	{
		if (!accepts(b))
			return Op::Filtered;
		if (call_stack()) {
			if (b.user && b.slot)
				unwind(b.slot, is_call(b.type));
			if (b.type == BrType::Return)
				return (b.user && slot(0) != b.slot) ? Op::PopEmpty : pop();
			if (!is_call(b.type))
				return Op::Filtered;
		}
		push(b);
		return call_stack() ? Op::Pushed : Op::Recorded;
	}

	/*
	 * XSAVE of the Arch LBR component: youngest record first, the rest
	 * zero; the records' frame slots into @slots (kMaxDepth of them;
	 * restore() reads only those of the records).
	 */
	void save(xsave::ArchLbrState &s, u64 *slots = nullptr) const
	{
		s.lbr_ctl = ctl_;
		s.lbr_depth = depth_;
		s.ler_from = s.ler_to = s.ler_info = 0;
		for (u32 i = 0; i < count_; i++)
			s.entries[i] = entry(i);
		if (slots)
			for (u32 i = 0; i < count_; i++)
				slots[i] = slot(i);
		/*
		 * The rest reads as zero, as XSAVES leaves it. A saved area is
		 * its records followed by zeros (or the zeroed allocation), so
		 * clearing up to the first zero TO clears all of it.
		 */
		for (u32 i = count_; i < kMaxDepth && s.entries[i].to; i++)
			s.entries[i] = {};
	}

	/*
	 * XRSTOR of the Arch LBR component. The valid records are the leading
	 * ones with a non-zero TO. False, and a reset unit, when the saved
	 * state is not one a save could have produced (reserved LBR_CTL bits
	 * or an unsupported depth): XRSTOR would fault on it.
	 */
	bool restore(const xsave::ArchLbrState &s, const u64 *slots = nullptr)
	{
		if ((s.lbr_ctl & ~ctl::kValid) || !valid_depth(s.lbr_depth)) {
			reset();
			return false;
		}
		ctl_ = s.lbr_ctl;
		depth_ = static_cast<u32>(s.lbr_depth);
		restore_records(s, slots);
		return true;
	}

	/*
	 * What the context-switch hook does for an incoming task: take its
	 * saved records when they were recorded under the configuration the
	 * unit has now (LBR_CTL apart from LBREn, and the depth), else reset.
	 * LBREn stays as the unit's owner set it. True when records were taken.
	 */
	bool restore_if_compatible(const xsave::ArchLbrState &s, const u64 *slots = nullptr)
	{
		if (s.lbr_depth != depth_ ||
		    (s.lbr_ctl & ~ctl::kEnable) != (ctl_ & ~ctl::kEnable)) {
			reset();
			return false;
		}
		restore_records(s, slots);
		return true;
	}

private:
	/*
	 * The ring's index of the @i-th youngest record (i < depth_). A compare
	 * rather than a modulo: the depth is not a constant, and a division
	 * per recorded branch is what the QEMU plugin, which records every
	 * branch of the guest, spent most of its time on.
	 */
	u32 index(u32 i) const
	{
		const u32 j = head_ + depth_ - i;
		return j >= depth_ ? j - depth_ : j;
	}

	/*
	 * Call-stack mode, before a user call (@inclusive) or return at frame
	 * @slot: drop the records above whose frames are gone, that is kernel
	 * records and user calls whose slot is at or below @slot (the stack
	 * grows down; a return keeps its own call, at @slot).
	 */
	void unwind(u64 slot, bool inclusive)
	{
		while (count_) {
			u64 s = slot_[head_];
			if (s && (inclusive ? s > slot : s >= slot))
				break;
			pop();
			unwound_++;
		}
	}

	void push(const Branch &b)
	{
		u64 inf = static_cast<u64>(b.type) << info::kTypeShift;
		if (last_ns_ && b.now_ns >= last_ns_) {
			u64 d = b.now_ns - last_ns_;
			inf |= info::kCycValid | (d > info::kCycles ? info::kCycles : d);
		}
		last_ns_ = b.now_ns ? b.now_ns : 1;
		head_ = head_ + 1 == depth_ ? 0 : head_ + 1;
		ring_[head_] = {b.from, b.to, inf};
		slot_[head_] = b.user ? b.slot : 0;
		if (count_ < depth_)
			count_++;
	}

	Op pop()
	{
		if (!count_)
			return Op::PopEmpty;
		ring_[head_] = {};
		slot_[head_] = 0;
		head_ = head_ ? head_ - 1 : depth_ - 1;
		count_--;
		return Op::Popped;
	}

	void restore_records(const xsave::ArchLbrState &s, const u64 *slots)
	{
		u32 n = 0;
		while (n < depth_ && s.entries[n].to)
			n++;
		for (u32 i = 0; i < n; i++) {
			ring_[n - 1 - i] = s.entries[i];
			slot_[n - 1 - i] = slots ? slots[i] : 0;
		}
		count_ = n;
		head_ = (n + depth_ - 1) % depth_;
		last_ns_ = 0;
	}

	xsave::LbrEntry ring_[kMaxDepth]{};
	u64 slot_[kMaxDepth]{};
	u64 unwound_ = 0;
	u64 ctl_ = 0;
	u64 last_ns_ = 0;
	u32 depth_ = kDefaultDepth;
	u32 head_ = kDefaultDepth - 1;
	u32 count_ = 0;
};

} // namespace lbrctx::lbr
