// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the plugin's model (qemu/plugin/model.h): synthetic blocks,
 * decoded from real instruction bytes with include/lbrctx/x86.h, and the
 * driver's commands through a region in memory, as the guest would write
 * it. Each case is named after the property it checks; it prints "ok
 * NAME" or "FAIL NAME: why", and the program exits non-zero on a failure.
 * make plugin-test runs it as built and under ASan and UBSan.
 */
#include "model.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

using namespace lbrctx;
using lbr::BrType;
using plugin::Block;
using plugin::Model;

namespace {

int g_failed = 0;
int g_passed = 0;
std::string g_why;

#define EXPECT(cond)                                                     \
	do {                                                             \
		if (!(cond)) {                                           \
			if (g_why.empty())                               \
				g_why = std::string(#cond) + " (line " + \
					std::to_string(__LINE__) + ")";  \
			return;                                          \
		}                                                        \
	} while (0)

/* Kernel and user addresses, as on x86-64 Linux with 4-level paging. */
constexpr u64 K = 0xffffffff81000000ull;
constexpr u64 U = 0x0000000000401000ull;
/* IDT entries the driver gives (Vectors). */
constexpr u64 kDebugEntry = 0xffffffff81e00010ull;   /* vector 1 */
constexpr u64 kNmiEntry = 0xffffffff81e00020ull;     /* vector 2 */
constexpr u64 kBpEntry = 0xffffffff81e00030ull;	     /* vector 3 */
constexpr u64 kUdEntry = 0xffffffff81e00060ull;	     /* vector 6 */
constexpr u64 kPfEntry = 0xffffffff81e000e0ull;	     /* vector 14 */
constexpr u64 kTimerEntry = 0xffffffff81e00ec0ull;   /* vector 236 */
constexpr u64 kSyscallEntry = 0xffffffff81e10000ull; /* LSTAR: no IDT gate */

constexpr u64 kAll = lbr::ctl::kEnable | lbr::ctl::kOs | lbr::ctl::kUsr | lbr::ctl::kTypeMask;
constexpr u64 kKernelOnly = lbr::ctl::kEnable | lbr::ctl::kOs | lbr::ctl::kTypeMask;
constexpr u64 kUserOnly = lbr::ctl::kEnable | lbr::ctl::kUsr | lbr::ctl::kTypeMask;
constexpr u64 kCallStack = lbr::ctl::kEnable | lbr::ctl::kOs | lbr::ctl::kUsr |
			   lbr::ctl::kCallStack | lbr::ctl::kCalls | lbr::ctl::kReturn;

/* A model over a region in memory, and the driver's side of the page. */
struct Rig {
	u8 *region;
	Model m;

	explicit Rig(u32 nvcpus = 2, Model::Mode mode = Model::Mode::Always)
	    : region(static_cast<u8 *>(std::aligned_alloc(hw::kPageSize, hw::kRegionSize))),
	      m((std::memset(region, 0, hw::kRegionSize), region), nvcpus, mode)
	{}
	~Rig() { std::free(region); }

	hw::Vcpu &page(u32 vcpu) { return *hw::vcpu_page(region, vcpu); }
	hw::Control &ctl(u32 vcpu) { return page(vcpu).ctl; }
	hw::Global &global() { return *hw::global_page(region); }

	/* Ring the doorbell of @c on @vcpu, as the driver there: its status. */
	s32 ring(u32 vcpu, u8 c)
	{
		ctl(vcpu).cpu = vcpu;
		m.doorbell(vcpu, c);
		return ctl(vcpu).status;
	}
	s32 ring(u32 vcpu, hw::Cmd c) { return ring(vcpu, static_cast<u8>(c)); }

	void vectors()
	{
		hw::Global &g = global();
		g.vectors[1] = kDebugEntry;
		g.vectors[2] = kNmiEntry;
		g.vectors[3] = kBpEntry;
		g.vectors[6] = kUdEntry;
		g.vectors[14] = kPfEntry;
		g.vectors[236] = kTimerEntry;
		ring(0, hw::Cmd::Vectors);
	}

	/* Restore unit @i of @vcpu to an empty state with @lbr_ctl. */
	s32 enable(u32 vcpu, u32 i, u64 lbr_ctl, u64 depth = 32)
	{
		page(vcpu).unit[i] = {};
		page(vcpu).unit[i].lbr_ctl = lbr_ctl;
		page(vcpu).unit[i].lbr_depth = depth;
		ctl(vcpu).mask = 1u << i;
		ctl(vcpu).prev_task = ctl(vcpu).next_task = 0;
		return ring(vcpu, hw::Cmd::Restore);
	}

	/* Save unit @i of @vcpu: its records, youngest first. */
	std::vector<xsave::LbrEntry> save(u32 vcpu, u32 i = 0, hw::Cmd how = hw::Cmd::Save)
	{
		ctl(vcpu).mask = 1u << i;
		ring(vcpu, how);
		std::vector<xsave::LbrEntry> r;
		for (const xsave::LbrEntry &e : page(vcpu).unit[i].entries) {
			if (!e.to)
				break;
			r.push_back(e);
		}
		return r;
	}

	/*
	 * A block at @start of @n instructions whose last one, at @last, is
	 * @bytes (QEMU's size: their count).
	 */
	const Block *b(u64 start, u64 last, std::initializer_list<u8> bytes, u32 n = 4)
	{
		std::vector<u8> v(bytes);
		return m.intern(start, n, last, v.data(), static_cast<u32>(v.size()));
	}

	void run(u32 vcpu, std::initializer_list<const Block *> blocks)
	{
		for (const Block *x : blocks)
			m.block(vcpu, x);
	}
};

BrType type_of(const xsave::LbrEntry &e)
{
	return lbr::info_type(e.info);
}

/* Some instructions, as their bytes. */
std::initializer_list<u8> kMov = {0x48, 0x89, 0xc7}; /* mov %rax,%rdi: not a branch */
std::initializer_list<u8> kRet = {0xc3};
std::initializer_list<u8> kCallRax = {0xff, 0xd0};
std::initializer_list<u8> kJmpRax = {0xff, 0xe0};
std::initializer_list<u8> kSyscall = {0x0f, 0x05};
std::initializer_list<u8> kSysretq = {0x48, 0x0f, 0x07};
std::initializer_list<u8> kIretq = {0x48, 0xcf};
std::initializer_list<u8> kInt3 = {0xcc};
std::initializer_list<u8> kUd2 = {0x0f, 0x0b};
std::initializer_list<u8> kHlt = {0xf4};
std::initializer_list<u8> kRepMovsb = {0xf3, 0xa4};
/* je .+0x22 (rel8 0x20), jmp .+0x105 (rel32 0x100), call .+0x205 (rel32 0x200). */
std::initializer_list<u8> kJe = {0x74, 0x20};
std::initializer_list<u8> kJmp = {0xe9, 0x00, 0x01, 0x00, 0x00};
std::initializer_list<u8> kCall = {0xe8, 0x00, 0x02, 0x00, 0x00};

void jcc_taken_is_recorded_and_not_taken_is_not()
{
	Rig r;
	/* Jcc only: the rets that bring execution back to the Jcc are filtered. */
	r.enable(0, 0, lbr::ctl::kEnable | lbr::ctl::kOs | lbr::ctl::kJcc);
	const Block *a = r.b(K, K + 0x10, kJe);
	const Block *taken = r.b(K + 0x32, K + 0x40, kRet);
	const Block *fall = r.b(K + 0x12, K + 0x20, kRet);
	r.run(0, {a, taken, a, fall});
	auto s = r.save(0);
	EXPECT(s.size() == 1);
	EXPECT(s[0].from == K + 0x10 && s[0].to == K + 0x32 && type_of(s[0]) == BrType::Jcc);
	/* The taken Jcc and the first ret: the not-taken Jcc is no branch. */
	EXPECT(r.m.counters(0).branches == 2 && r.m.counters(0).lost == 0);
}

void direct_jmp_and_call_record_their_targets()
{
	Rig r;
	r.enable(0, 0, kAll);
	const Block *j = r.b(K, K + 0x10, kJmp);
	const Block *jt = r.b(K + 0x115, K + 0x120, kCall);
	const Block *ct = r.b(K + 0x325, K + 0x330, kMov);
	r.run(0, {j, jt, ct});
	auto s = r.save(0);
	EXPECT(s.size() == 2);
	EXPECT(s[1].from == K + 0x10 && s[1].to == K + 0x115 && type_of(s[1]) == BrType::RelJmp);
	EXPECT(s[0].from == K + 0x120 && s[0].to == K + 0x325 && type_of(s[0]) == BrType::RelCall);
}

void indirect_call_and_ret_record_where_execution_went()
{
	Rig r;
	r.enable(0, 0, kAll);
	const Block *c = r.b(K, K + 0x10, kCallRax);
	const Block *f = r.b(K + 0x5000, K + 0x5008, kRet);
	const Block *back = r.b(K + 0x12, K + 0x20, kJmpRax);
	const Block *there = r.b(K + 0x7000, K + 0x7004, kMov);
	r.run(0, {c, f, back, there});
	auto s = r.save(0);
	EXPECT(s.size() == 3);
	EXPECT(s[2].to == K + 0x5000 && type_of(s[2]) == BrType::IndCall);
	EXPECT(s[1].from == K + 0x5008 && s[1].to == K + 0x12 && type_of(s[1]) == BrType::Return);
	EXPECT(s[0].from == K + 0x20 && s[0].to == K + 0x7000 && type_of(s[0]) == BrType::IndJmp);
}

void rep_string_reexecution_is_no_branch()
{
	Rig r;
	r.enable(0, 0, kAll);
	/* TCG: [.., rep movsb] then [rep movsb] once per iteration, then the fall-through. */
	const Block *a = r.b(K, K + 0x10, kRepMovsb);
	const Block *again = r.b(K + 0x10, K + 0x10, kRepMovsb, 1);
	const Block *next = r.b(K + 0x12, K + 0x20, kMov);
	r.run(0, {a, again, again, again, next});
	EXPECT(r.save(0).empty());
	EXPECT(r.m.counters(0).branches == 0 && r.m.counters(0).lost == 0);
}

void a_jump_into_a_rep_only_block_is_recorded_though_that_block_reports_nothing()
{
	Rig r;
	r.enable(0, 0, kAll);
	/* jmp to K + 0x115, which is rep movsb alone (no exec callback), then on. */
	const Block *j = r.b(K, K + 0x10, kJmp);
	const Block *rep = r.b(K + 0x115, K + 0x115, kRepMovsb, 1);
	EXPECT(Model::rep_only(rep));
	const Block *after = r.b(K + 0x117, K + 0x120, kMov);
	r.run(0, {j});
	*r.m.rep_counter() += 5;
	r.run(0, {after});
	auto s = r.save(0);
	EXPECT(s.size() == 1 && s[0].from == K + 0x10 && s[0].to == K + 0x115);
	EXPECT(type_of(s[0]) == BrType::RelJmp && r.m.counters(0).lost == 0);
}

void an_iret_back_into_an_interrupted_rep_returns_to_the_rep()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	/* [..., rep movsb at K + 0x10], then its iterations in a REP-only block. */
	const Block *a = r.b(K, K + 0x10, kRepMovsb);
	r.b(K + 0x10, K + 0x10, kRepMovsb, 1);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kIretq);
	const Block *after = r.b(K + 0x12, K + 0x20, kMov);
	r.run(0, {a});
	*r.m.rep_counter() += 3;
	r.run(0, {timer});
	*r.m.rep_counter() += 3;
	r.run(0, {after});
	auto s = r.save(0);
	EXPECT(s.size() == 2);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == K + 0x10);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x10);
	EXPECT(r.m.counters(0).resolved == 1 && r.m.counters(0).lost == 0);

	/* Interrupted when the REP had just ended: the iret returns after it. */
	r.run(0, {a});
	*r.m.rep_counter() += 3;
	r.run(0, {timer, after});
	s = r.save(0);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == K + 0x12);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x12);
}

void far_transfers_have_their_types_and_the_targets_privilege()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	r.enable(0, 1, kUserOnly);
	const Block *usys = r.b(U, U + 0x10, kSyscall);
	const Block *entry = r.b(kSyscallEntry, kSyscallEntry + 0x40, kSysretq);
	const Block *uret = r.b(U + 0x12, U + 0x20, kInt3);
	const Block *bp = r.b(kBpEntry, kBpEntry + 0x10, kIretq);
	const Block *after = r.b(U + 0x21, U + 0x30, kMov);
	r.run(0, {usys, entry, uret, bp, after});
	auto s = r.save(0, 0);
	EXPECT(s.size() == 4);
	EXPECT(type_of(s[3]) == BrType::Syscall && s[3].from == U + 0x10 &&
	       s[3].to == kSyscallEntry);
	EXPECT(type_of(s[2]) == BrType::Sysret && s[2].to == U + 0x12);
	EXPECT(type_of(s[1]) == BrType::SoftInt && s[1].from == U + 0x20 && s[1].to == kBpEntry);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == U + 0x21);
	/* User only: what ends in user mode, the sysret and the iret; not the syscall or int3. */
	auto u = r.save(0, 1);
	EXPECT(u.size() == 2);
	EXPECT(type_of(u[1]) == BrType::Sysret && u[1].from == kSyscallEntry + 0x40);
	EXPECT(type_of(u[0]) == BrType::Iret && u[0].from == kBpEntry + 0x10);
	/* The int3's entry ended at its iret. */
	EXPECT(r.m.pending(0) == 0);

	/* An interrupt from user mode, and its iret: the user-only unit keeps the iret alone. */
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kIretq);
	const Block *resumed = r.b(U + 0x33, U + 0x40, kMov);
	r.run(0, {timer, resumed});
	s = r.save(0, 0);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == U + 0x33);
	u = r.save(0, 1);
	EXPECT(u.size() == 3 && type_of(u[0]) == BrType::Iret && u[0].to == U + 0x33);
	EXPECT(type_of(u[1]) == BrType::Iret && type_of(u[2]) == BrType::Sysret);
}

void ud2_enters_its_handler_as_an_exception_from_itself()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *warn = r.b(K, K + 0x10, kUd2);
	const Block *ud = r.b(kUdEntry, kUdEntry + 0x10, kIretq);
	const Block *after = r.b(K + 0x12, K + 0x20, kMov);
	r.run(0, {warn, ud, after});
	auto s = r.save(0);
	EXPECT(s.size() == 2);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == K + 0x10 && s[1].to == kUdEntry);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x12);
	EXPECT(r.m.pending(0) == 0);
}

void interrupt_after_a_block_that_falls_through_is_from_the_next_instruction()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kMov);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kIretq);
	const Block *next = r.b(K + 0x13, K + 0x20, kMov);
	r.run(0, {a, timer});
	EXPECT(r.m.pending(0) == 1);
	r.run(0, {next});
	auto s = r.save(0);
	EXPECT(s.size() == 2);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == K + 0x13 &&
	       s[1].to == kTimerEntry);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x13);
	EXPECT(r.m.pending(0) == 0);
	/* Certain at entry: nothing was left to resolve. */
	EXPECT(r.m.counters(0).resolved == 0 && r.m.counters(0).unresolved == 0);
	EXPECT(r.m.counters(0).interrupts == 1);
}

void interrupt_that_wakes_hlt_is_from_the_next_instruction()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *idle = r.b(K, K + 0x10, kHlt);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kIretq);
	const Block *next = r.b(K + 0x11, K + 0x20, kMov);
	r.run(0, {idle, timer, next});
	auto s = r.save(0);
	EXPECT(s.size() == 2);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == K + 0x11);
	EXPECT(r.m.pending(0) == 0 && r.m.counters(0).lost == 0);
}

void interrupt_after_a_direct_jump_records_the_jump_first()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *j = r.b(K, K + 0x10, kJmp);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kIretq);
	const Block *t = r.b(K + 0x115, K + 0x120, kMov);
	r.run(0, {j, timer, t});
	auto s = r.save(0);
	EXPECT(s.size() == 3);
	EXPECT(type_of(s[2]) == BrType::RelJmp && s[2].to == K + 0x115);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == K + 0x115);
	/* The jump is not recorded again when the handler returns to its target. */
	EXPECT(type_of(s[0]) == BrType::Iret);
}

void interrupt_after_a_jcc_is_resolved_at_its_iret()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kJe);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kCall);
	const Block *h = r.b(kTimerEntry + 0x20d, kTimerEntry + 0x210, kRet);
	const Block *hret = r.b(kTimerEntry + 0xd, kTimerEntry + 0x18, kIretq);
	const Block *taken = r.b(K + 0x32, K + 0x40, kMov);
	r.run(0, {a, timer, h, hret, taken});
	auto s = r.save(0);
	EXPECT(s.size() == 5);
	/* In order: the interrupt (FROM corrected), the handler, the Jcc told at the iret, the iret. */
	EXPECT(type_of(s[4]) == BrType::Interrupt && s[4].from == K + 0x32 &&
	       s[4].to == kTimerEntry);
	EXPECT(type_of(s[3]) == BrType::RelCall && type_of(s[2]) == BrType::Return);
	EXPECT(type_of(s[1]) == BrType::Jcc && s[1].from == K + 0x10 && s[1].to == K + 0x32);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x32);
	EXPECT(r.m.counters(0).resolved == 1 && r.m.pending(0) == 0);

	/* Not taken: no Jcc, and the FROM is the fall-through. */
	const Block *fall = r.b(K + 0x12, K + 0x20, kMov);
	r.run(0, {a, timer, h, hret, fall});
	s = r.save(0);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x12);
	EXPECT(type_of(s[1]) == BrType::Return);
	EXPECT(type_of(s[3]) == BrType::Interrupt && s[3].from == K + 0x12);
	EXPECT(r.m.counters(0).resolved == 2);
}

void interrupt_after_a_ret_is_resolved_at_its_iret()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *f = r.b(K + 0x5000, K + 0x5008, kRet);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kIretq);
	const Block *caller = r.b(K + 0x12, K + 0x20, kMov);
	r.run(0, {f, timer, caller});
	auto s = r.save(0);
	EXPECT(s.size() == 3);
	EXPECT(type_of(s[2]) == BrType::Interrupt && s[2].from == K + 0x12);
	EXPECT(type_of(s[1]) == BrType::Return && s[1].from == K + 0x5008 && s[1].to == K + 0x12);
	EXPECT(type_of(s[0]) == BrType::Iret);
	EXPECT(r.m.counters(0).resolved == 1);
}

void exception_inside_a_block_records_no_branch_and_the_faulting_instruction()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	/* A load at K + 0x8 faults; the block would have ended in a jmp. */
	const Block *a = r.b(K, K + 0x10, kJmp);
	const Block *pf = r.b(kPfEntry, kPfEntry + 0x8, kIretq);
	const Block *again = r.b(K + 0x8, K + 0x10, kJmp, 2);
	r.run(0, {a, pf, again});
	auto s = r.save(0);
	EXPECT(s.size() == 2);
	EXPECT(type_of(s[1]) == BrType::Interrupt && s[1].from == K + 0x8 && s[1].to == kPfEntry);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x8);
	EXPECT(r.m.counters(0).resolved == 1);

	/* A fetch fault at the jump's target: the jump did retire. */
	const Block *t = r.b(K + 0x115, K + 0x120, kMov);
	r.run(0, {a, pf, t});
	s = r.save(0);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x115);
	EXPECT(type_of(s[1]) == BrType::RelJmp && s[1].to == K + 0x115);
	EXPECT(type_of(s[2]) == BrType::Interrupt && s[2].from == K + 0x115);
}

void sample_freezes_at_the_entry_and_records_the_interrupted_ret()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *c = r.b(K, K + 0x10, kCall); /* to K + 0x215 */
	const Block *f = r.b(K + 0x215, K + 0x220, kRet);
	const Block *nmi = r.b(kNmiEntry, kNmiEntry + 0x8, kCall);
	const Block *h = r.b(kNmiEntry + 0x20d, kNmiEntry + 0x210, kRet);
	const Block *hret = r.b(kNmiEntry + 0xd, kNmiEntry + 0x18, kIretq);
	const Block *back = r.b(K + 0x15, K + 0x20, kMov);
	r.run(0, {c, f, nmi, h});
	/* The driver's sampling path, in the handler: Sample with the interrupted ip. */
	r.ctl(0).ip = K + 0x15;
	auto s = r.save(0, 0, hw::Cmd::Sample);
	EXPECT(r.ctl(0).status == hw::kOk);
	EXPECT(s.size() == 2);
	EXPECT(type_of(s[0]) == BrType::Return && s[0].from == K + 0x220 && s[0].to == K + 0x15);
	EXPECT(type_of(s[1]) == BrType::RelCall && s[1].to == K + 0x215);
	EXPECT(r.m.counters(0).resolved == 1);
	/*
	 * The rest of the handler runs frozen, and its iret, after the
	 * unfreeze, does not record the ret a second time.
	 */
	r.run(0, {hret, back});
	s = r.save(0);
	EXPECT(s.size() == 3);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == K + 0x15);
	EXPECT(type_of(s[1]) == BrType::Return && s[1].from == K + 0x220);
	EXPECT(r.m.counters(0).resolved == 1 && r.m.counters(0).unresolved == 0);
	EXPECT(r.m.pending(0) == 0);
}

void a_restore_after_the_entry_voids_its_snapshot()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kMov);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kJmpRax);
	r.run(0, {a, timer});
	/* The handler restores other records (a context switch in it, say). */
	hw::Vcpu &p = r.page(0);
	p.unit[0] = {};
	p.unit[0].lbr_ctl = kAll;
	p.unit[0].lbr_depth = 8;
	p.unit[0].entries[0] = {K + 0x900, K + 0x990, 0};
	r.ctl(0).mask = 1;
	EXPECT(r.ring(0, hw::Cmd::Restore) == hw::kOk);
	r.ctl(0).ip = K + 0x13;
	auto s = r.save(0, 0, hw::Cmd::Sample);
	EXPECT(s.size() == 1 && s[0].from == K + 0x900);
}

void context_switch_moves_pending_entries_with_the_task()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	constexpr u64 kTaskA = 0xffff888000001000ull, kTaskB = 0xffff888000002000ull;
	/* Task A, in user mode, after a ret: a timer interrupt, and the kernel switches to B. */
	const Block *ua = r.b(U, U + 0x10, kRet);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kCall);
	r.run(0, {ua, timer});
	EXPECT(r.m.pending(0) == 1);
	auto sw = [&](u64 prev, u64 next) {
		r.ctl(0).prev_task = prev;
		r.ctl(0).next_task = next;
		r.ctl(0).mask = 0;
		return r.ring(0, hw::Cmd::Restore);
	};
	EXPECT(sw(kTaskA, kTaskB) == hw::kOk);
	EXPECT(r.m.pending(0) == 0 && r.m.tasks() == 1);
	/* B returns to user mode with an iret of its own: A's entry is not touched. */
	const Block *bret = r.b(K + 0x9000, K + 0x9010, kIretq);
	const Block *ub = r.b(U + 0x7000, U + 0x7010, kMov);
	r.run(0, {bret, ub});
	EXPECT(r.m.counters(0).resolved == 0 && r.m.counters(0).unresolved == 0);
	/* Back to A: its iret to user tells its ret's target. */
	EXPECT(sw(kTaskB, kTaskA) == hw::kOk);
	EXPECT(r.m.pending(0) == 1 && r.m.tasks() == 0);
	const Block *aret = r.b(K + 0x9100, K + 0x9110, kIretq);
	const Block *ua2 = r.b(U + 0x3000, U + 0x3010, kMov);
	r.run(0, {aret, ua2});
	EXPECT(r.m.counters(0).resolved == 1 && r.m.pending(0) == 0);
	auto s = r.save(0);
	EXPECT(type_of(s[0]) == BrType::Iret && s[0].to == U + 0x3000);
	EXPECT(type_of(s[1]) == BrType::Return && s[1].from == U + 0x10 && s[1].to == U + 0x3000);
}

void call_stack_mode_keeps_no_frame_of_the_handler_or_the_interrupted_ret()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kCallStack);
	const Block *main_ = r.b(K, K + 0x10, kCall);			 /* to K + 0x215 */
	const Block *f = r.b(K + 0x215, K + 0x220, kCallRax);		 /* to K + 0x5000 */
	const Block *g = r.b(K + 0x5000, K + 0x5008, kRet);		 /* back to K + 0x222 */
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kCall); /* handler calls */
	const Block *h = r.b(kTimerEntry + 0x20d, kTimerEntry + 0x210, kRet);
	const Block *hret = r.b(kTimerEntry + 0xd, kTimerEntry + 0x18, kIretq);
	const Block *f2 = r.b(K + 0x222, K + 0x230, kMov);
	r.run(0, {main_, f, g, timer, h});
	/* A sample in the handler: main's call alone. */
	r.ctl(0).ip = K + 0x222;
	auto s = r.save(0, 0, hw::Cmd::Sample);
	EXPECT(s.size() == 1 && s[0].from == K + 0x10 && type_of(s[0]) == BrType::RelCall);
	r.run(0, {hret, f2});
	s = r.save(0);
	EXPECT(s.size() == 1 && s[0].from == K + 0x10);

	/* Without the sample: the ret is told at the iret and pops f's call. */
	Rig q;
	q.vectors();
	q.enable(0, 0, kCallStack);
	const Block *qs[] = {q.b(K, K + 0x10, kCall),
			     q.b(K + 0x215, K + 0x220, kCallRax),
			     q.b(K + 0x5000, K + 0x5008, kRet),
			     q.b(kTimerEntry, kTimerEntry + 0x8, kCall),
			     q.b(kTimerEntry + 0x20d, kTimerEntry + 0x210, kRet),
			     q.b(kTimerEntry + 0xd, kTimerEntry + 0x18, kIretq),
			     q.b(K + 0x222, K + 0x230, kMov)};
	for (const Block *x : qs)
		q.m.block(0, x);
	s = q.save(0);
	EXPECT(s.size() == 1 && s[0].from == K + 0x10 && s[0].to == K + 0x215);
}

/*
 * A timer interrupt takes a sample (Sample: frozen at its entry), then its
 * exit preempts the task (irqentry_exit -> preempt_schedule_irq ->
 * __schedule), and the switch hook saves the frozen units into the task
 * and restores another task's. When the task comes back, the switch hook
 * gives it the units it saved: those of the interrupted code, while the
 * task resumes deep in the handler. The freeze is the interrupt's, until
 * its IRET (hwlbr.h, Sample), and it is not part of the XSAVE state: the
 * handler's returns on the way out must not pop the interrupted code's
 * calls, which is what emptied the kernel call stacks of every preempted
 * task. A Restore with no context switch (the driver's hw::Sync, a perf
 * event's del or add in the handler) leaves the freeze as it is too.
 */
void a_freeze_goes_with_its_task_across_a_switch_in_the_handler()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kCallStack);
	constexpr u64 kTaskA = 0xffff888000001000ull, kTaskB = 0xffff888000002000ull;
	/* Task A: f1 -> f2 -> f3, spinning in f3. */
	const Block *a1 = r.b(K, K + 0x10, kCall);	    /* to K + 0x215 */
	const Block *a2 = r.b(K + 0x215, K + 0x220, kCall); /* to K + 0x425 */
	const Block *a3 = r.b(K + 0x425, K + 0x430, kCall); /* to K + 0x635 */
	const Block *spin = r.b(K + 0x635, K + 0x640, kMov);
	/* The timer's handler calls the sampling path, which returns, then the preemption path. */
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kCall); /* to +0x20d */
	const Block *tick = r.b(kTimerEntry + 0x20d, kTimerEntry + 0x210, kRet);
	const Block *exit = r.b(kTimerEntry + 0xd, kTimerEntry + 0x18, kCall);	     /* to +0x21d */
	const Block *preempt = r.b(kTimerEntry + 0x21d, kTimerEntry + 0x230, kCall); /* +0x435 */
	const Block *sched = r.b(kTimerEntry + 0x435, kTimerEntry + 0x440, kMov);
	r.run(0, {a1, a2, a3, spin, timer});
	/* The sample, in the handler's call. */
	r.ctl(0).ip = K + 0x643;
	auto s = r.save(0, 0, hw::Cmd::Sample);
	EXPECT(s.size() == 3 && s[0].from == K + 0x430 && s[2].from == K + 0x10);
	const std::vector<xsave::LbrEntry> sampled = s;
	r.run(0, {tick, exit, preempt, sched});
	/* The switch hook, A to B: pull (Save) into A's store, then push B's (Restore). */
	r.ctl(0).mask = 1;
	EXPECT(r.ring(0, hw::Cmd::Save) == hw::kOk);
	const xsave::ArchLbrState saved_a = r.page(0).unit[0];
	auto sw = [&](u64 prev, u64 next, const xsave::ArchLbrState &st) {
		r.page(0).unit[0] = st;
		r.ctl(0).mask = 1;
		r.ctl(0).prev_task = prev;
		r.ctl(0).next_task = next;
		return r.ring(0, hw::Cmd::Restore);
	};
	xsave::ArchLbrState b_state{};
	b_state.lbr_ctl = kCallStack;
	b_state.lbr_depth = 32;
	EXPECT(sw(kTaskA, kTaskB, b_state) == hw::kOk);
	/* B is not frozen: its call and return are recorded. */
	const Block *bc = r.b(K + 0x9000, K + 0x9010, kCall); /* to K + 0x9215 */
	const Block *bf = r.b(K + 0x9215, K + 0x9220, kRet);
	const Block *bb = r.b(K + 0x9015, K + 0x9020, kCall); /* to K + 0x9225 */
	const Block *bh = r.b(K + 0x9225, K + 0x9230, kMov);
	r.run(0, {bc, bf});
	EXPECT(r.save(0).size() == 1);
	r.run(0, {bb, bh});
	s = r.save(0);
	EXPECT(s.size() == 1 && s[0].from == K + 0x9020);
	/* B's hook, B to A: A's units come back; A resumes in __schedule. */
	b_state = r.page(0).unit[0];
	EXPECT(sw(kTaskB, kTaskA, saved_a) == hw::kOk);
	EXPECT(r.m.pending(0) == 1);
	/* A perf event's del or add on the way (hw::Sync): Save, then Restore of the same. */
	r.ctl(0).mask = 1;
	EXPECT(r.ring(0, hw::Cmd::Save) == hw::kOk);
	EXPECT(sw(0, 0, r.page(0).unit[0]) == hw::kOk);
	/* __schedule, preempt_schedule_irq and the handler return; its IRET goes back to f3. */
	const Block *r1 = r.b(kTimerEntry + 0x500, kTimerEntry + 0x510, kRet); /* to +0x235 */
	const Block *r2 = r.b(kTimerEntry + 0x235, kTimerEntry + 0x240, kRet); /* to +0x1d */
	const Block *hret = r.b(kTimerEntry + 0x1d, kTimerEntry + 0x28, kIretq);
	const Block *back = r.b(K + 0x643, K + 0x650, kMov);
	r.run(0, {r1, r2, hret, back});
	EXPECT(r.m.pending(0) == 0);
	s = r.save(0);
	EXPECT(s.size() == sampled.size());
	for (size_t i = 0; i < s.size(); i++)
		EXPECT(s[i].from == sampled[i].from && s[i].to == sampled[i].to);
	/* Unfrozen after the IRET: f3 returns, and its call goes. */
	const Block *f3ret = r.b(K + 0x650, K + 0x660, kRet); /* to K + 0x435 */
	const Block *f2rest = r.b(K + 0x435, K + 0x440, kMov);
	r.run(0, {f3ret, f2rest});
	s = r.save(0);
	EXPECT(s.size() == 2 && s[0].from == K + 0x220);
}

/*
 * An interrupt inside the handler of a sampled one (a softirq runs with
 * interrupts on; the task came back frozen and enables them): its own
 * Sample tells the branch its interrupted block ended with, here a ret
 * of the handler. That branch retired while the older Sample's freeze
 * held, so it records nothing, and the freeze lasts until the older
 * entry's IRET, not the newer one's: the interrupted code's calls stay.
 */
void a_nested_sample_keeps_the_older_freeze()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kCallStack);
	const Block *a1 = r.b(K, K + 0x10, kCall);	    /* to K + 0x215 */
	const Block *a2 = r.b(K + 0x215, K + 0x220, kCall); /* to K + 0x425 */
	const Block *spin = r.b(K + 0x425, K + 0x430, kMov);
	/* The entry calls the handler, which calls a function that returns. */
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kCall);	/* to +0x20d */
	const Block *hf = r.b(kTimerEntry + 0x20d, kTimerEntry + 0x210, kCall); /* to +0x415 */
	const Block *g = r.b(kTimerEntry + 0x415, kTimerEntry + 0x420, kRet);	/* to +0x215 */
	const Block *nmi = r.b(kNmiEntry, kNmiEntry + 0x8, kCall);		/* to +0x20d */
	const Block *nh = r.b(kNmiEntry + 0x20d, kNmiEntry + 0x210, kRet);	/* to +0xd */
	const Block *nret = r.b(kNmiEntry + 0xd, kNmiEntry + 0x18, kIretq);
	const Block *hr = r.b(kTimerEntry + 0x215, kTimerEntry + 0x220, kRet); /* to +0xd */
	const Block *hret = r.b(kTimerEntry + 0xd, kTimerEntry + 0x18, kIretq);
	const Block *back = r.b(K + 0x433, K + 0x440, kMov);
	r.run(0, {a1, a2, spin, timer, hf});
	r.ctl(0).ip = K + 0x433;
	auto s = r.save(0, 0, hw::Cmd::Sample);
	EXPECT(s.size() == 2 && s[0].from == K + 0x220);
	/* Frozen: the handler's call and ret; then the nested entry, after that ret. */
	r.run(0, {g, nmi});
	EXPECT(r.m.pending(0) == 2);
	r.ctl(0).ip = kTimerEntry + 0x215;
	s = r.save(0, 0, hw::Cmd::Sample);
	EXPECT(s.size() == 2 && s[0].from == K + 0x220 && s[1].from == K + 0x10);
	/* The nested entry ends; the older freeze holds until the handler's own IRET. */
	r.run(0, {nh, nret, hr});
	EXPECT(r.m.pending(0) == 1);
	s = r.save(0);
	EXPECT(s.size() == 2 && s[0].from == K + 0x220);
	r.run(0, {hret, back});
	EXPECT(r.m.pending(0) == 0);
	s = r.save(0);
	EXPECT(s.size() == 2 && s[0].from == K + 0x220 && s[1].from == K + 0x10);
	EXPECT(r.m.counters(0).unresolved == 0);
}

void iret_to_self_ends_no_entry()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kRet);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kMov);
	/* sync_core(): pushq $1f; iretq; 1: */
	const Block *sync = r.b(kTimerEntry + 0xb, kTimerEntry + 0x20, kIretq);
	const Block *after = r.b(kTimerEntry + 0x22, kTimerEntry + 0x30, kIretq);
	const Block *back = r.b(K + 0x40, K + 0x50, kMov);
	r.run(0, {a, timer, sync, after});
	EXPECT(r.m.pending(0) == 1);
	r.run(0, {back});
	EXPECT(r.m.pending(0) == 0 && r.m.counters(0).resolved == 1);
}

void return_to_user_mode_drops_stale_entries()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kRet);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kSysretq);
	const Block *u = r.b(U, U + 0x10, kMov);
	r.run(0, {a, timer, a, timer});
	EXPECT(r.m.pending(0) == 2);
	/* A sysret to user mode: no interrupt frame is left on the kernel stack. */
	r.run(0, {u});
	EXPECT(r.m.pending(0) == 0 && r.m.counters(0).unresolved == 2);
}

void disabling_every_unit_drops_the_pending_entries()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	r.run(0, {r.b(K, K + 0x10, kRet), r.b(kTimerEntry, kTimerEntry + 0x8, kMov)});
	EXPECT(r.m.pending(0) == 1);
	EXPECT(r.enable(0, 0, 0) == hw::kOk);
	EXPECT(r.m.pending(0) == 0);
}

void cycle_field_counts_instructions_since_the_previous_record()
{
	Rig r;
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kJmp, 5);
	const Block *t = r.b(K + 0x115, K + 0x120, kCallRax, 7);
	const Block *f = r.b(K + 0x5000, K + 0x5008, kRet, 3);
	r.run(0, {a, t, f});
	auto s = r.save(0);
	EXPECT(s.size() == 2);
	EXPECT(!(s[1].info & lbr::info::kCycValid)); /* the first after a restore */
	EXPECT((s[0].info & lbr::info::kCycValid) && (s[0].info & lbr::info::kCycles) == 7);
}

void units_filter_independently_and_count_what_they_recorded()
{
	Rig r;
	r.enable(0, 0, kKernelOnly);
	r.enable(0, 2, kUserOnly);
	const Block *k = r.b(K, K + 0x10, kJmp);
	const Block *kt = r.b(K + 0x115, K + 0x120, kMov);
	const Block *u = r.b(U, U + 0x10, kJmp);
	const Block *ut = r.b(U + 0x115, U + 0x120, kMov);
	r.run(0, {k, kt, u, ut, u, ut});
	r.ctl(0).mask = 0b101;
	EXPECT(r.ring(0, hw::Cmd::Save) == hw::kOk);
	EXPECT(r.ctl(0).recorded[0] == 1 && r.ctl(0).recorded[2] == 2);
	EXPECT(r.ctl(0).branches == 3);
	/* Another vCPU's units saw nothing. */
	r.run(1, {k, kt});
	EXPECT(r.m.counters(1).branches == 0);
}

/*
 * Thousands of branches, more than the plain-mode units hold back
 * (Model::kRaw), through units with every filter path: the saved state
 * and the counts are those of lbr::Unit fed every branch as it retired.
 */
void held_back_branches_end_as_if_recorded_one_by_one()
{
	Rig r;
	const u64 ctls[3] = {
		kAll, lbr::ctl::kEnable | lbr::ctl::kOs | lbr::ctl::kIndCall | lbr::ctl::kReturn,
		kCallStack};
	const u64 depths[3] = {32, 8, 16};
	lbr::Unit ref[3];
	for (u32 i = 0; i < 3; i++) {
		EXPECT(r.enable(0, i, ctls[i], depths[i]) == hw::kOk);
		ref[i].set_depth(depths[i]);
		ref[i].set_ctl(ctls[i]);
	}
	/* Blocks that end in an indirect transfer, kernel and user, and where each goes. */
	std::vector<const Block *> bs;
	for (u32 i = 0; i < 16; i++) {
		const u64 base = (i & 1) ? U + i * 0x100 : K + i * 0x100;
		std::initializer_list<u8> end = i % 3 == 0 ? kRet : i % 3 == 1 ? kCallRax : kJmpRax;
		bs.push_back(r.b(base, base + 0x10, end, 1 + i % 5));
	}
	u64 x = 12345, now = 0, taken[3] = {};
	const Block *p = nullptr;
	for (u32 k = 0; k < 5000; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		const Block *b = bs[x % bs.size()];
		r.m.block(0, b);
		if (p) {
			const BrType t = p->kind == x86::Kind::Ret	 ? BrType::Return
					 : p->kind == x86::Kind::CallInd ? BrType::IndCall
									 : BrType::IndJmp;
			const lbr::Branch br{p->last, b->start, t, plugin::is_user(b->start),
					     now,     0};
			for (u32 i = 0; i < 3; i++)
				if (ref[i].record(br) != lbr::Op::Filtered)
					taken[i]++;
		}
		now += b->ninsns;
		p = b;
		/* Now and then a command in between, which commits. */
		if (k % 1777 == 1776)
			r.save(0, 1);
	}
	r.ctl(0).mask = 0b111;
	EXPECT(r.ring(0, hw::Cmd::Save) == hw::kOk);
	for (u32 i = 0; i < 3; i++) {
		xsave::ArchLbrState want{};
		ref[i].save(want);
		const xsave::ArchLbrState &got = r.page(0).unit[i];
		EXPECT(got.lbr_depth == depths[i] && r.m.unit(0, i).count() == ref[i].count());
		for (u32 j = 0; j < lbr::kMaxDepth; j++)
			EXPECT(got.entries[j].from == want.entries[j].from &&
			       got.entries[j].to == want.entries[j].to &&
			       got.entries[j].info == want.entries[j].info);
		EXPECT(r.ctl(0).recorded[i] == taken[i]);
	}
	EXPECT(taken[0] == 4999 && taken[1] > 0 && taken[1] < taken[0]);
}

void hello_acknowledges_the_nonce()
{
	Rig r;
	r.ctl(1).nonce = 0x1234567890abcdefull;
	r.ctl(1).magic = 0;
	EXPECT(r.ring(1, hw::Cmd::Hello) == hw::kOk);
	EXPECT(r.ctl(1).ack == 0x1234567890abcdefull);
	EXPECT(r.ctl(1).magic == hw::kMagic && r.ctl(1).vcpu == 1);
	EXPECT(r.global().magic == hw::kMagic && r.global().nvcpus == 2 &&
	       r.global().page_size == hw::kPageSize);
}

void a_reserved_lbr_ctl_bit_is_refused_and_leaves_the_unit_disabled()
{
	Rig r;
	r.enable(0, 0, kAll);
	EXPECT(r.enable(0, 0, kAll | (1ull << 5)) == hw::kBadCtl);
	EXPECT(!r.m.unit(0, 0).enabled() && r.m.unit(0, 0).count() == 0);
	EXPECT(r.ctl(0).refused == 1);
	r.run(0, {r.b(K, K + 0x10, kJmp), r.b(K + 0x115, K + 0x120, kMov)});
	EXPECT(r.m.counters(0).records == 0);
}

void depth_7_is_refused()
{
	Rig r;
	EXPECT(r.enable(0, 0, kAll, 7) == hw::kBadDepth);
	EXPECT(!r.m.unit(0, 0).enabled());
	EXPECT(r.enable(0, 0, kAll, 1ull << 40) == hw::kBadDepth);
	EXPECT(r.enable(0, 0, kAll, 24) == hw::kOk && r.m.unit(0, 0).depth() == 24);
}

void a_mask_beyond_the_units_is_refused_whole()
{
	Rig r;
	r.page(0).unit[0].lbr_ctl = kAll;
	r.page(0).unit[0].lbr_depth = 32;
	r.ctl(0).mask = 1u | 1u << 5;
	EXPECT(r.ring(0, hw::Cmd::Restore) == hw::kBadMask);
	EXPECT(!r.m.unit(0, 0).enabled());
	r.ctl(0).mask = 1u << 31;
	EXPECT(r.ring(0, hw::Cmd::Save) == hw::kBadMask);
	EXPECT(r.ring(0, hw::Cmd::Sample) == hw::kBadMask);
	EXPECT(r.ctl(0).refused == 3 && r.ctl(0).commands == 3);
}

void a_command_for_another_cpu_is_refused()
{
	Rig r;
	r.page(1).unit[0].lbr_ctl = kAll;
	r.page(1).unit[0].lbr_depth = 32;
	r.ctl(1).mask = 1;
	r.ctl(1).cpu = 0;
	r.m.doorbell(1, static_cast<u8>(hw::Cmd::Restore));
	EXPECT(r.ctl(1).status == hw::kBadCpu && !r.m.unit(1, 0).enabled());
	r.ctl(1).nonce = 5;
	r.ctl(1).ack = 0;
	r.ctl(1).cpu = 7;
	r.m.doorbell(1, static_cast<u8>(hw::Cmd::Hello));
	EXPECT(r.ctl(1).status == hw::kBadCpu && r.ctl(1).ack == 0);
	/* Out of range of the model: ignored. */
	r.m.doorbell(1000, static_cast<u8>(hw::Cmd::Hello));
	r.m.block(1, r.b(K, K + 0x10, kMov));
}

void an_unknown_command_is_refused()
{
	Rig r;
	EXPECT(r.ring(0, 0x77) == hw::kBadCommand);
	EXPECT(r.ctl(0).refused == 1);
}

void garbage_records_are_data_and_only_the_leading_nonzero_ones_count()
{
	Rig r;
	hw::Vcpu &p = r.page(0);
	p.unit[1] = {};
	p.unit[1].lbr_ctl = kAll;
	p.unit[1].lbr_depth = 8;
	u64 x = 0x9e3779b97f4a7c15ull;
	for (xsave::LbrEntry &e : p.unit[1].entries) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		e = {x, x | 1, ~x};
	}
	p.unit[1].ler_from = ~0ull;
	const xsave::ArchLbrState given = p.unit[1];
	r.ctl(0).mask = 2;
	EXPECT(r.ring(0, hw::Cmd::Restore) == hw::kOk);
	/* 32 non-zero records and depth 8: the unit takes 8. */
	EXPECT(r.m.unit(0, 1).count() == 8);
	auto s = r.save(0, 1);
	EXPECT(s.size() == 8);
	for (u32 i = 0; i < 8; i++)
		EXPECT(s[i].from == given.entries[i].from && s[i].to == given.entries[i].to &&
		       s[i].info == given.entries[i].info);
	EXPECT(p.unit[1].ler_from == 0);
	/* A save leaves nothing of the guest's beyond the records. */
	p.unit[1].entries[20] = {1, 2, 3};
	r.save(0, 1);
	for (u32 i = 8; i < lbr::kMaxDepth; i++)
		EXPECT(!p.unit[1].entries[i].from && !p.unit[1].entries[i].to &&
		       !p.unit[1].entries[i].info);
	/* A zero TO ends the records. */
	p.unit[1] = given;
	p.unit[1].entries[3].to = 0;
	r.ctl(0).mask = 2;
	EXPECT(r.ring(0, hw::Cmd::Restore) == hw::kOk && r.m.unit(0, 1).count() == 3);
	/* Branches still go into the unit after the garbage. */
	r.run(0, {r.b(K, K + 0x10, kJmp), r.b(K + 0x115, K + 0x120, kMov)});
	EXPECT(r.m.unit(0, 1).count() == 4 && r.m.unit(0, 1).top().to == K + 0x115);
}

void vectors_outside_the_kernel_are_skipped()
{
	Rig r;
	const Block *early = r.b(kTimerEntry, kTimerEntry + 0x8, kIretq);
	EXPECT(early->vector == -1);
	r.global().vectors[0] = 0x401000;
	r.global().vectors[236] = kTimerEntry;
	r.global().vectors[237] = kTimerEntry;
	EXPECT(r.ring(0, hw::Cmd::Vectors) == hw::kBadPage);
	EXPECT(r.global().vectors_taken == 1);
	/* Blocks translated before the table are classified again. */
	EXPECT(early->vector == 236);
}

void doorbells_at_user_addresses_are_only_counted()
{
	Rig r;
	r.m.user_doorbell(0);
	r.m.user_doorbell(0);
	EXPECT(r.m.counters(0).user_doorbells == 2 && r.m.counters(0).doorbells == 0);
	EXPECT(r.ctl(0).commands == 0);
	/* The doorbell encoding itself. */
	const u8 bell[] = {0x0f, 0x1f, 0x80, 0x04, 0x00, 0x42, 0x4c};
	EXPECT(hw::doorbell_command(bell) == static_cast<u8>(hw::Cmd::Restore));
	const u8 nop[] = {0x0f, 0x1f, 0x80, 0x04, 0x00, 0x00, 0x00};
	EXPECT(hw::doorbell_command(nop) == 0);
}

void a_deep_nest_of_entries_stays_bounded()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kRet);
	const Block *nmi = r.b(kNmiEntry, kNmiEntry + 0x8, kRet);
	r.run(0, {a});
	for (int i = 0; i < 100; i++)
		r.run(0, {nmi});
	EXPECT(r.m.pending(0) == Model::kStack);
	EXPECT(r.m.counters(0).interrupts == 100);
	EXPECT(r.m.counters(0).unresolved == 100 - Model::kStack);
}

void tasks_kept_are_bounded()
{
	Rig r;
	r.vectors();
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kRet);
	const Block *timer = r.b(kTimerEntry, kTimerEntry + 0x8, kMov);
	for (u64 t = 1; t <= Model::kMaxTasks + 10; t++) {
		r.run(0, {a, timer});
		r.ctl(0).prev_task = t;
		r.ctl(0).next_task = ~t;
		r.ctl(0).mask = 0;
		EXPECT(r.ring(0, hw::Cmd::Restore) == hw::kOk);
	}
	EXPECT(r.m.tasks() == Model::kMaxTasks);
	EXPECT(r.m.counters(0).unresolved == 10);
}

void lazy_mode_asks_for_instrumentation_when_a_unit_is_enabled()
{
	int calls = 0;
	Rig r(1, Model::Mode::Lazy);
	r.m.set_hook([](void *c) { ++*static_cast<int *>(c); }, &calls);
	EXPECT(!r.m.instrumented() && !r.m.wants_instrumentation());
	EXPECT(r.enable(0, 0, kAll) == hw::kOk);
	EXPECT(calls == 1 && r.m.wants_instrumentation() && !r.m.instrumented());
	r.m.retranslated();
	EXPECT(r.m.instrumented());
	/* Disabled: the callbacks stay until kIdleBlocks block executions went by. */
	EXPECT(r.enable(0, 0, 0) == hw::kOk);
	const Block *a = r.b(K, K + 0x10, kMov);
	for (u64 i = 0; i + 1 < Model::kIdleBlocks; i++)
		r.m.block(0, a);
	EXPECT(calls == 1);
	r.m.block(0, a);
	EXPECT(calls == 2 && !r.m.wants_instrumentation());
	r.m.retranslated();
	EXPECT(!r.m.instrumented());
}

void a_flush_keeps_the_previous_block()
{
	Rig r;
	r.enable(0, 0, kAll);
	const Block *a = r.b(K, K + 0x10, kJmp);
	r.run(0, {a});
	/* Over kMaxBlocks interned, a flush drops them all. */
	const u8 mov[] = {0x48, 0x89, 0xc7};
	for (u64 i = 0; i <= Model::kMaxBlocks; i++)
		r.m.intern(U + i * 16, 1, U + i * 16, mov, 3);
	r.m.flushed();
	const Block *t = r.b(K + 0x115, K + 0x120, kMov);
	r.run(0, {t});
	auto s = r.save(0);
	EXPECT(s.size() == 1 && s[0].to == K + 0x115);
}

void decoder_disagreement_is_not_trusted()
{
	Rig r;
	r.enable(0, 0, kAll);
	/* QEMU says 3 bytes where x86::decode() reads a 2-byte je: no Jcc is inferred. */
	const Block *a = r.b(K, K + 0x10, {0x74, 0x20, 0x90});
	EXPECT(a->kind == x86::Kind::None && a->fallthrough == K + 0x13);
}

struct Case {
	const char *name;
	void (*fn)();
};

#define CASE(f)       \
	{             \
#f, f \
	}
const Case kCases[] = {
	CASE(jcc_taken_is_recorded_and_not_taken_is_not),
	CASE(direct_jmp_and_call_record_their_targets),
	CASE(indirect_call_and_ret_record_where_execution_went),
	CASE(rep_string_reexecution_is_no_branch),
	CASE(a_jump_into_a_rep_only_block_is_recorded_though_that_block_reports_nothing),
	CASE(an_iret_back_into_an_interrupted_rep_returns_to_the_rep),
	CASE(far_transfers_have_their_types_and_the_targets_privilege),
	CASE(ud2_enters_its_handler_as_an_exception_from_itself),
	CASE(interrupt_after_a_block_that_falls_through_is_from_the_next_instruction),
	CASE(interrupt_that_wakes_hlt_is_from_the_next_instruction),
	CASE(interrupt_after_a_direct_jump_records_the_jump_first),
	CASE(interrupt_after_a_jcc_is_resolved_at_its_iret),
	CASE(interrupt_after_a_ret_is_resolved_at_its_iret),
	CASE(exception_inside_a_block_records_no_branch_and_the_faulting_instruction),
	CASE(sample_freezes_at_the_entry_and_records_the_interrupted_ret),
	CASE(a_restore_after_the_entry_voids_its_snapshot),
	CASE(context_switch_moves_pending_entries_with_the_task),
	CASE(call_stack_mode_keeps_no_frame_of_the_handler_or_the_interrupted_ret),
	CASE(a_freeze_goes_with_its_task_across_a_switch_in_the_handler),
	CASE(a_nested_sample_keeps_the_older_freeze),
	CASE(iret_to_self_ends_no_entry),
	CASE(return_to_user_mode_drops_stale_entries),
	CASE(disabling_every_unit_drops_the_pending_entries),
	CASE(cycle_field_counts_instructions_since_the_previous_record),
	CASE(units_filter_independently_and_count_what_they_recorded),
	CASE(held_back_branches_end_as_if_recorded_one_by_one),
	CASE(hello_acknowledges_the_nonce),
	CASE(a_reserved_lbr_ctl_bit_is_refused_and_leaves_the_unit_disabled),
	CASE(depth_7_is_refused),
	CASE(a_mask_beyond_the_units_is_refused_whole),
	CASE(a_command_for_another_cpu_is_refused),
	CASE(an_unknown_command_is_refused),
	CASE(garbage_records_are_data_and_only_the_leading_nonzero_ones_count),
	CASE(vectors_outside_the_kernel_are_skipped),
	CASE(doorbells_at_user_addresses_are_only_counted),
	CASE(a_deep_nest_of_entries_stays_bounded),
	CASE(tasks_kept_are_bounded),
	CASE(lazy_mode_asks_for_instrumentation_when_a_unit_is_enabled),
	CASE(a_flush_keeps_the_previous_block),
	CASE(decoder_disagreement_is_not_trusted),
};

} // namespace

int main()
{
	for (const Case &c : kCases) {
		g_why.clear();
		c.fn();
		if (g_why.empty()) {
			std::printf("ok %s\n", c.name);
			g_passed++;
		} else {
			std::printf("FAIL %s: %s\n", c.name, g_why.c_str());
			g_failed++;
		}
	}
	std::printf("%d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
