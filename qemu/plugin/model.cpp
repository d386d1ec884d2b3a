// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's LBR hardware: branch inference from TCG's blocks, the
 * pending interrupt entries, and the driver's commands (include/lbrctx/
 * hwlbr.h). See model.h.
 */
#include "model.h"

#include <cstdio>
#include <cstring>

namespace lbrctx::plugin {

using lbr::BrType;
using x86::Kind;

namespace {

/* The vector an Int or Ud instruction raises (SDM Vol. 2, INT n/INTO/INT3/INT1, UD). */
s16 soft_vector_of(Kind kind, const u8 *b, u32 size)
{
	if (kind == Kind::Ud)
		return 6; /* #UD */
	if (kind != Kind::Int || size == 0)
		return -1;
	if (size >= 2 && b[size - 2] == 0xcd)
		return b[size - 1]; /* int n */
	if (b[size - 1] == 0xcc)
		return 3; /* int3: #BP */
	if (b[size - 1] == 0xf1)
		return 1; /* int1: #DB */
	return -1;
}

/*
 * An exception (a fault or trap) may hit any instruction of a block;
 * TCG delivers an interrupt, and an NMI, only between blocks (the check
 * at every block's start, accel/tcg's gen_tb_start(), precedes the
 * plugin's exec callback), so its block completed.
 */
/* A transfer whose target the instruction's bytes do not give. */
constexpr bool is_indirect(Kind k)
{
	switch (k) {
	case Kind::JmpInd:
	case Kind::CallInd:
	case Kind::Ret:
	case Kind::Syscall:
	case Kind::Sysret:
	case Kind::Iret:
	case Kind::FarCall:
	case Kind::FarJmp:
	case Kind::FarRet:
		return true;
	default:
		return false;
	}
}

constexpr bool is_exception(s16 vector)
{
	return vector >= 0 && vector < 32 && vector != 2;
}

} // namespace

bool Model::Key::operator==(const Key &o) const
{
	return start == o.start && last == o.last && ninsns == o.ninsns && size == o.size &&
	       std::memcmp(bytes, o.bytes, size) == 0;
}

size_t Model::KeyHash::operator()(const Key &k) const
{
	/* Start and last tell blocks apart; the bytes rarely differ for the same pair. */
	u64 h = k.start * 0x9e3779b97f4a7c15ull;
	h ^= (k.last - k.start) * 0xc2b2ae3d27d4eb4full + k.ninsns;
	for (u32 i = 0; i < k.size; i++)
		h = (h ^ k.bytes[i]) * 0x100000001b3ull;
	return static_cast<size_t>(h ^ (h >> 29));
}

Model::Model(void *region, u32 nvcpus, Mode mode)
    : m_region(static_cast<u8 *>(region)), m_nvcpus(nvcpus), m_mode(mode),
      m_instrumented(mode == Mode::Always), m_want(mode == Mode::Always), m_cpus(new Cpu[nvcpus])
{
	hw::Global *g = hw::global_page(m_region);
	std::memset(g, 0, sizeof(*g));
	g->magic = hw::kMagic;
	g->version = hw::kVersion;
	g->nvcpus = nvcpus;
	g->page_size = hw::kPageSize;
	for (u32 i = 0; i < nvcpus; i++) {
		hw::Vcpu *page = hw::vcpu_page(m_region, i);
		std::memset(page, 0, sizeof(*page));
		page->ctl.magic = hw::kMagic;
		page->ctl.version = hw::kVersion;
		page->ctl.vcpu = i;
		/*
		 * All disabled, as the LBR after reset (SDM Vol. 3B, 18.1.3:
		 * IA32_LBR_CTL is 0 at reset) at the largest depth CPUID would
		 * enumerate.
		 */
		for (lbr::Unit &u : m_cpus[i].unit)
			u.set_depth(lbr::kMaxDepth);
	}
	m_blocks.reserve(1u << 16);
}

Model::~Model() = default;

s16 Model::vector_of(u64 start) const
{
	if (m_vectors.empty())
		return -1;
	auto it = m_vectors.find(start);
	return it == m_vectors.end() ? -1 : it->second;
}

const Block *Model::intern(u64 start, u32 ninsns, u64 last, const u8 *bytes, u32 size)
{
	Key k{};
	k.start = start;
	k.last = last;
	k.ninsns = ninsns;
	k.size = size < x86::kMaxLength ? size : x86::kMaxLength;
	std::memcpy(k.bytes, bytes, k.size);
	auto [it, fresh] = m_blocks.try_emplace(k);
	Block &b = it->second;
	if (!fresh)
		return &b;
	x86::Insn in = x86::decode(k.bytes, k.size);
	/*
	 * QEMU's size is the truth: the fall-through is last + size. A
	 * decoder that sizes the instruction otherwise has it wrong, so its
	 * kind is not trusted either: counted, and the first few logged.
	 * x86::decode() knows 64-bit code only; the BIOS's 16-bit code at
	 * boot is where this happens (before any unit can be enabled).
	 */
	if (in.len && in.len != size) {
		if (m_mismatches++ < 8) {
			char line[128];
			int n = std::snprintf(line, sizeof(line),
					      "# decode mismatch at %#llx: qemu %u, decode %u:",
					      last, size, in.len);
			for (u32 i = 0; i < k.size && n > 0 && n < 120; i++)
				n += std::snprintf(line + n, sizeof(line) - n, " %02x", k.bytes[i]);
			m_mismatch_log += line;
			m_mismatch_log += '\n';
		}
		in = {};
	}
	b.start = start;
	b.last = last;
	b.fallthrough = last + size;
	b.target = in.direct ? x86::target(in, last) : 0;
	b.ninsns = ninsns;
	b.kind = in.kind;
	b.soft_vector = soft_vector_of(in.kind, k.bytes, k.size);
	b.vector = vector_of(start);
	if (rep_only(&b))
		m_rep_blocks[b.fallthrough] = start;
	return &b;
}

u64 Model::rep_block(u64 end) const
{
	auto it = m_rep_blocks.find(end);
	return it == m_rep_blocks.end() ? 0 : it->second;
}

/*
 * @b follows @p in no way @p's direct branch says: unless @p's target or
 * fall-through was a REP-only block (with no exec callback) that ended
 * where @b starts. Then @p went there, and the REP instruction ran.
 */
bool Model::into_rep(Cpu &v, const Block *p, const Block *b, u64 now)
{
	const u64 r = rep_block(b->start);
	if (!r)
		return false;
	if (r == p->target) {
		switch (p->kind) {
		case Kind::Jcc:
			branch(v, p->last, r, BrType::Jcc, now);
			return true;
		case Kind::Jmp:
			branch(v, p->last, r, BrType::RelJmp, now);
			return true;
		case Kind::Call:
			branch(v, p->last, r, BrType::RelCall, now);
			return true;
		default:
			return false;
		}
	}
	return r == p->fallthrough;
}

/*
 * How block @b follows block @p on @v: the common cases, which make no
 * call but a tail call, so that the compiler saves no register for them.
 * The fall-through of a block TCG split (a page end, the instruction
 * limit, an instruction that ends a block without branching), a Jcc, a
 * direct jump or call, an indirect branch or return, recorded into the
 * plain-mode units' raw ring. Everything else is follow_all()'s.
 */
void Model::follow(Cpu &v, const Block *p, const Block *b, u64 now, bool rep_ran)
{
	const u64 to = b->start;
	BrType type;
	if (rep_ran) [[unlikely]]
		return follow_all(v, p, b, now, rep_ran);
	switch (p->kind) {
	case Kind::None:
	case Kind::Halt:
	case Kind::RepString:
		if (to == p->fallthrough)
			return;
		return follow_all(v, p, b, now, rep_ran);
	case Kind::Jcc:
		if (to == p->fallthrough)
			return;
		if (to != p->target)
			return follow_all(v, p, b, now, rep_ran);
		type = BrType::Jcc;
		break;
	case Kind::Jmp:
		if (to != p->target)
			return follow_all(v, p, b, now, rep_ran);
		type = BrType::RelJmp;
		break;
	case Kind::Call:
		if (to != p->target)
			return follow_all(v, p, b, now, rep_ran);
		type = BrType::RelCall;
		break;
	case Kind::JmpInd:
		if (b->vector >= 0)
			return follow_all(v, p, b, now, rep_ran);
		type = BrType::IndJmp;
		break;
	case Kind::CallInd:
		if (b->vector >= 0)
			return follow_all(v, p, b, now, rep_ran);
		type = BrType::IndCall;
		break;
	case Kind::Ret:
		if (b->vector >= 0)
			return follow_all(v, p, b, now, rep_ran);
		type = BrType::Return;
		break;
	default:
		return follow_all(v, p, b, now, rep_ran);
	}
	/* A call-stack unit takes the branch at once: branch() does, out of line. */
	const u32 active = v.enabled & ~v.frozen;
	if (active & ~v.deferred) [[unlikely]]
		return follow_all(v, p, b, now, rep_ran);
	v.c.branches++;
	if (!(active & v.deferred))
		return;
	lbr::Branch &r = v.raw[v.nraw];
	r.from = p->last;
	r.to = to;
	r.type = type;
	r.user = is_user(to);
	r.now_ns = now;
	r.slot = 0;
	if (++v.nraw == kRaw) [[unlikely]]
		return commit(v);
}

/* Every case of how block @b follows block @p, by @p's last instruction. */
void Model::follow_all(Cpu &v, const Block *p, const Block *b, u64 now, bool rep_ran)
{
	u64 to = b->start;
	/*
	 * A REP-only block ran after @p, which no direct branch names: an
	 * indirect one went to its instruction (an IRET back into an
	 * interrupted REP MOVS, most often), and @b is where it ended.
	 */
	if (rep_ran && is_indirect(p->kind))
		if (const u64 r = rep_block(to))
			to = r;
	switch (p->kind) {
	case Kind::None:
	case Kind::Halt:
		if (to == p->fallthrough)
			return;
		break;
	case Kind::Jcc:
		if (to == p->fallthrough)
			return;
		if (to == p->target)
			return branch(v, p->last, to, BrType::Jcc, now);
		break;
	case Kind::Jmp:
		if (to == p->target)
			return branch(v, p->last, to, BrType::RelJmp, now);
		break;
	case Kind::Call:
		if (to == p->target)
			return branch(v, p->last, to, BrType::RelCall, now);
		break;
	/*
	 * An indirect branch may go anywhere but to an IDT entry: a block
	 * that starts at one was entered by an interrupt or exception.
	 */
	case Kind::JmpInd:
		if (b->vector < 0)
			return branch(v, p->last, to, BrType::IndJmp, now);
		break;
	case Kind::CallInd:
		if (b->vector < 0)
			return branch(v, p->last, to, BrType::IndCall, now);
		break;
	case Kind::Ret:
		if (b->vector < 0)
			return branch(v, p->last, to, BrType::Return, now);
		break;
	case Kind::RepString:
		/*
		 * TCG runs one iteration of a REP string instruction per block
		 * and jumps back to the instruction itself for the next
		 * (target/i386 gen_repz()): that re-execution is no branch, on
		 * hardware the instruction just goes on.
		 */
		if (to == p->last || to == p->fallthrough)
			return;
		break;
	case Kind::Syscall:
		if (b->vector < 0)
			return branch(v, p->last, to, BrType::Syscall, now);
		break;
	case Kind::Sysret:
		if (b->vector < 0) {
			branch(v, p->last, to, BrType::Sysret, now);
			/* Back in user mode, the kernel stack holds no interrupt frame. */
			if (is_user(to))
				drop_pending(v);
			return;
		}
		break;
	case Kind::Iret:
		if (b->vector < 0) {
			/*
			 * An IRET to the next instruction is the kernel's
			 * serializing iret_to_self (sync_core() without
			 * SERIALIZE), which returns from no interrupt. Any
			 * other ends the newest entry: what that tells is
			 * recorded first, and the IRET is the youngest record.
			 */
			if (to != p->fallthrough)
				iret_to(v, to, now);
			return branch(v, p->last, to, BrType::Iret, now);
		}
		break;
	case Kind::Int:
	case Kind::Ud:
		/* Without the vectors (no Vectors command yet) the decode is trusted. */
		if (b->vector < 0 || b->vector == p->soft_vector)
			return explicit_entry(v, p, b, now);
		break;
	case Kind::FarCall:
	case Kind::FarJmp:
	case Kind::FarRet:
		if (b->vector < 0)
			return branch(v, p->last, to, BrType::FarJump, now);
		break;
	}
	if (b->vector >= 0)
		return enter(v, p, b, now);
	if (into_rep(v, p, b, now))
		return;
	/*
	 * Execution went on inside the block: TCG stopped it after an
	 * instruction that modified its own page (self-modifying code, the
	 * kernel's text patching) and resumes at the next one. No branch.
	 */
	if (to > p->start && to <= p->last)
		return;
	v.c.lost++;
}

/*
 * The hot path of a recorded branch: a store into raw for the plain-mode
 * units, and a call only for call-stack ones or every kRaw branches. It
 * stays small enough to inline into follow() without spilling registers.
 */
inline void Model::branch(Cpu &v, u64 from, u64 to, BrType type, u64 now)
{
	v.c.branches++;
	/*
	 * A branch's privilege is its target's: hardware filters a branch
	 * by the CPL it ends at (the kernel's arch/x86/events/utils.c
	 * branch_type() reads it the same way), so a syscall is a kernel
	 * branch and a sysret or iret to user mode a user one.
	 */
	const u32 active = v.enabled & ~v.frozen;
	if (active & v.deferred) {
		/* Field by field: a Branch built aside and copied costs a store-forwarding stall. */
		lbr::Branch &r = v.raw[v.nraw];
		r.from = from;
		r.to = to;
		r.type = type;
		r.user = is_user(to);
		r.now_ns = now;
		r.slot = 0;
		if (++v.nraw == kRaw) [[unlikely]]
			commit(v);
	}
	if (active & ~v.deferred) [[unlikely]]
		record_now(v, active & ~v.deferred, {from, to, type, is_user(to), now, 0});
}

/* Call-stack units: every call and return counts, at once. */
void Model::record_now(Cpu &v, u32 units, const lbr::Branch &br)
{
	for (u32 m = units; m; m &= m - 1) {
		const u32 i = static_cast<u32>(__builtin_ctz(m));
		if (v.unit[i].record(br) != lbr::Op::Filtered) {
			v.recorded[i]++;
			v.c.records++;
		}
	}
}

/*
 * Plain-mode units, a ring of the last depth branches their filter takes,
 * get the branches held back in raw: of those, only the last depth can
 * stay, so only they (and the one before, whose time the first one's
 * cycle count is taken from) are recorded. Recording every branch as it
 * retires cost the plugin most of its time; a store per branch and a
 * filter test at the commit is what remains. Everything that reads or
 * changes a unit, its LBREn, or the freeze commits first, so the held
 * branches always belong to the units' state as it is.
 */
void Model::commit(Cpu &v)
{
	const u32 n = v.nraw;
	if (!n)
		return;
	v.nraw = 0;
	constexpr u64 kAll =
		lbr::ctl::kEnable | lbr::ctl::kOs | lbr::ctl::kUsr | lbr::ctl::kTypeMask;
	for (u32 m = v.enabled & v.deferred & ~v.frozen; m; m &= m - 1) {
		const u32 i = static_cast<u32>(__builtin_ctz(m));
		lbr::Unit &u = v.unit[i];
		const u32 keep = u.depth() + 1;
		u32 taken = 0, start = 0;
		if ((u.lbr_ctl() & kAll) == kAll) {
			/* Every branch passes (the common "all branches" event). */
			taken = n;
			start = n > keep ? n - keep : 0;
		} else {
			for (u32 j = n; j-- > 0;)
				if (u.accepts(v.raw[j]) && ++taken == keep)
					start = j;
		}
		for (u32 j = start; j < n; j++)
			u.record(v.raw[j]);
		v.recorded[i] += taken;
		v.c.records += taken;
	}
}

void Model::snapshot(Cpu &v, Frame &f)
{
	commit(v);
	f.snap_mask = v.enabled;
	for (u32 m = v.enabled; m; m &= m - 1) {
		const u32 i = static_cast<u32>(__builtin_ctz(m));
		f.snap[i] = v.unit[i];
		f.gen[i] = v.gen[i];
	}
}

Model::Frame &Model::push(Cpu &v, const Block *p, const Block *b, u64 from, bool exception,
			  bool resolved)
{
	if (v.depth == kStack) {
		/* Deeper than any real nesting: the oldest entry is the stale one. */
		if (!v.stack[0].resolved)
			v.c.unresolved++;
		for (u32 i = 1; i < kStack; i++)
			v.stack[i - 1] = v.stack[i];
		v.depth--;
		set_frozen(v);
	}
	Frame &f = v.stack[v.depth++];
	f.block = *p;
	f.from = from;
	f.handler = b->start;
	f.vector = b->vector;
	f.exception = exception;
	f.resolved = resolved;
	f.frozen = false;
	snapshot(v, f);
	return f;
}

/*
 * INT n, INT3, INT1 or a UD: an entry the instruction itself asks for,
 * from it. Its handler's IRET must find an entry of its own.
 */
void Model::explicit_entry(Cpu &v, const Block *p, const Block *b, u64 now)
{
	const BrType type = p->kind == Kind::Int ? BrType::SoftInt : BrType::Interrupt;
	if (b->vector >= 0) {
		v.c.interrupts++;
		push(v, p, b, p->last, p->kind == Kind::Ud, true);
	}
	branch(v, p->last, b->start, type, now);
}

/*
 * An interrupt or exception entered @b's handler after block @p. The
 * record's FROM is the interrupted instruction, where the handler's IRET
 * returns: the faulting instruction of a fault, the next one after an
 * interrupt or a trap (hwlbr.h; the SDM's Arch LBR, Vol. 3B, 18.1.3,
 * records interrupts and exceptions as OTHER_BRANCH).
 * It is known at entry when @p completed and its successor is certain:
 * an interrupt after a block that falls through or ends in a direct jump
 * or call (whose branch retired first, and is recorded first). Otherwise
 * (a Jcc, an indirect branch, a return, a far transfer; or an exception,
 * which may have hit any instruction of @p) the record takes a provisional
 * FROM, and the entry waits on the stack for the IRET that tells the
 * address (iret_to(), resolve()) or for a Sample that tells it (ctl.ip).
 */
void Model::enter(Cpu &v, const Block *p, const Block *b, u64 now)
{
	v.c.interrupts++;
	const bool exception = is_exception(b->vector);
	u64 from = p->last;
	bool resolved = false;
	if (!exception) {
		switch (p->kind) {
		case Kind::None:
		case Kind::Halt: /* the IRET returns after the HLT */
			from = p->fallthrough;
			resolved = true;
			break;
		case Kind::Jmp:
		case Kind::Call:
			if (p->target) {
				branch(v, p->last, p->target,
				       p->kind == Kind::Jmp ? BrType::RelJmp : BrType::RelCall,
				       now);
				from = p->target;
				resolved = true;
			}
			break;
		case Kind::Jcc:
		case Kind::RepString:
			from = p->fallthrough;
			break;
		default:
			break;
		}
	}
	push(v, p, b, from, exception, resolved);
	branch(v, from, b->start, BrType::Interrupt, now);
}

/*
 * Tell entry @e's interrupted block where it went: @x, the address the
 * IRET returned to (or the Sample's ctl.ip). Records the block's own
 * branch when it had one, and corrects the interrupt record's FROM.
 */
void Model::resolve(Cpu &v, const Entry &e, u64 x, u64 now)
{
	const Block &p = e.block;
	bool told = true;
	if (e.exception && x >= p.start && x <= p.last) {
		/* A fault at x, inside the block: its last instruction did not run. */
	} else {
		switch (p.kind) {
		case Kind::None:
		case Kind::Halt:
			told = x == p.fallthrough;
			break;
		case Kind::RepString:
			told = x == p.fallthrough || x == p.last;
			break;
		case Kind::Jcc:
			if (x == p.target)
				branch(v, p.last, x, BrType::Jcc, now);
			else
				told = x == p.fallthrough;
			break;
		case Kind::Jmp:
		case Kind::Call:
			told = x == p.target;
			if (told)
				branch(v, p.last, x,
				       p.kind == Kind::Jmp ? BrType::RelJmp : BrType::RelCall, now);
			break;
		case Kind::JmpInd:
			branch(v, p.last, x, BrType::IndJmp, now);
			break;
		case Kind::CallInd:
			branch(v, p.last, x, BrType::IndCall, now);
			break;
		case Kind::Ret:
			branch(v, p.last, x, BrType::Return, now);
			break;
		case Kind::Syscall:
			branch(v, p.last, x, BrType::Syscall, now);
			break;
		case Kind::Sysret:
			branch(v, p.last, x, BrType::Sysret, now);
			if (is_user(x))
				drop_pending(v);
			break;
		case Kind::Iret:
			/* The interrupted block's IRET returned to x first: its own entry ends there. */
			if (x != p.fallthrough)
				iret_to(v, x, now);
			branch(v, p.last, x, BrType::Iret, now);
			break;
		case Kind::Int:
			branch(v, p.last, x, BrType::SoftInt, now);
			break;
		case Kind::Ud:
			branch(v, p.last, x, BrType::Interrupt, now);
			break;
		case Kind::FarCall:
		case Kind::FarJmp:
		case Kind::FarRet:
			branch(v, p.last, x, BrType::FarJump, now);
			break;
		}
	}
	if (!told) {
		/*
		 * Not a successor of the block: the handler changed the
		 * return address (an exception fixup, a signal, an emulated
		 * instruction). The provisional FROM stays.
		 */
		v.c.unresolved++;
		return;
	}
	v.c.resolved++;
	if (x != e.from) {
		commit(v);
		for (u32 m = v.enabled; m; m &= m - 1)
			v.unit[__builtin_ctz(m)].amend_from(e.handler, e.from, x);
	}
}

/* An IRET returned to @x (not to itself): the newest entry ends. */
void Model::iret_to(Cpu &v, u64 x, u64 now)
{
	if (v.depth) {
		/* A copy: resolve() may pop further entries (an interrupted IRET). */
		const Entry e = v.stack[v.depth - 1];
		pop(v);
		if (!e.resolved)
			resolve(v, e, x, now);
	}
	/* Back in user mode, the kernel stack holds no interrupt frame: stale entries go. */
	if (is_user(x))
		drop_pending(v);
}

/*
 * The newest entry ends. A Sample's freeze ends with it, as the PMI
 * handler unfreezes the LBR before it returns (the kernel's
 * intel_pmu_handle_irq()).
 */
void Model::pop(Cpu &v)
{
	v.depth--;
	set_frozen(v);
}

/*
 * The units are frozen while an entry a Sample froze is on the stack:
 * from the Sample until that entry's IRET. Like its entry, a freeze is the
 * task's: a context switch in the handler (a preemption at its exit)
 * takes it away with the entry and brings it back with it, and a Restore
 * leaves it, as XRSTORS leaves IA32_PERF_GLOBAL_STATUS.LBR_FRZ: the
 * freeze is not part of the Arch LBR state. So the handler's returns after
 * the task comes back, to the interrupted code's units that the switch
 * saved frozen and restored, pop nothing of them. Held-back branches are
 * committed under the freeze they retired under.
 */
void Model::set_frozen(Cpu &v)
{
	u32 frozen = 0;
	for (u32 i = 0; i < v.depth; i++) {
		if (v.stack[i].frozen) {
			frozen = v.enabled;
			break;
		}
	}
	if (frozen != v.frozen) {
		commit(v);
		v.frozen = frozen;
	}
}

void Model::drop_pending(Cpu &v)
{
	for (u32 i = 0; i < v.depth; i++)
		if (!v.stack[i].resolved)
			v.c.unresolved++;
	v.depth = 0;
	if (v.frozen) {
		commit(v);
		v.frozen = 0;
	}
}

void Model::idle()
{
	/*
	 * Lazy mode, no unit enabled on any vCPU: after kIdleBlocks block
	 * executions (seconds of guest time) the exec callbacks go again. The
	 * delay keeps a driver that disables and re-enables its units (a
	 * perf event's del and add) from having QEMU flush and retranslate
	 * every block each time.
	 */
	if (++m_idle >= kIdleBlocks)
		set_want(false);
}

void Model::set_want(bool want)
{
	m_idle = 0;
	if (m_want == want || m_mode == Mode::Always)
		return;
	m_want = want;
	if (m_hook)
		m_hook(m_hook_arg);
}

void Model::retranslated()
{
	m_resets++;
	m_instrumented = m_want;
	/* The blocks executed since the reset was asked for had no exec callback. */
	for (u32 i = 0; i < m_nvcpus; i++)
		m_cpus[i].prev = nullptr;
}

void Model::flushed()
{
	if (m_blocks.size() <= kMaxBlocks)
		return;
	for (u32 i = 0; i < m_nvcpus; i++) {
		Cpu &v = m_cpus[i];
		if (v.prev) {
			v.prev_copy = *v.prev;
			v.prev = &v.prev_copy;
		}
	}
	m_blocks.clear();
	m_rep_blocks.clear();
}

void Model::user_doorbell(u32 vcpu)
{
	if (vcpu < m_nvcpus)
		m_cpus[vcpu].c.user_doorbells++;
}

/*
 * Mirror the counters into the control block after every command: the
 * guest can write anything there, and the next command puts it right.
 */
void Model::publish(Cpu &v, hw::Control &ctl)
{
	ctl.commands = v.c.doorbells;
	ctl.refused = v.c.refused;
	ctl.branches = v.c.branches;
	ctl.interrupts = v.c.interrupts;
	ctl.resolved = v.c.resolved;
	ctl.unresolved = v.c.unresolved;
}

void Model::doorbell(u32 vcpu, u8 cmd)
{
	if (vcpu >= m_nvcpus)
		return;
	Cpu &v = m_cpus[vcpu];
	hw::Vcpu &page = *hw::vcpu_page(m_region, vcpu);
	hw::Control &ctl = page.ctl;
	v.c.doorbells++;
	/* Every command reads or replaces the units. */
	commit(v);
	/*
	 * Each operand is read once: under single-threaded TCG the guest
	 * cannot change the page while the command runs, but nothing here
	 * may depend on that.
	 */
	const u32 cpu = ctl.cpu;
	const u32 mask = ctl.mask;
	s32 status = hw::kOk;
	if (cpu != vcpu) {
		status = hw::kBadCpu;
	} else if (cmd >= static_cast<u8>(hw::Cmd::Save) &&
		   cmd <= static_cast<u8>(hw::Cmd::Sample) && (mask & ~((1u << hw::kUnits) - 1))) {
		status = hw::kBadMask;
	} else {
		switch (static_cast<hw::Cmd>(cmd)) {
		case hw::Cmd::Hello:
			status = cmd_hello(v, ctl, vcpu);
			break;
		case hw::Cmd::Vectors:
			status = cmd_vectors();
			break;
		case hw::Cmd::Save:
			status = cmd_save(v, page, mask);
			break;
		case hw::Cmd::Restore:
			status = cmd_restore(v, page, mask, ctl.prev_task, ctl.next_task);
			break;
		case hw::Cmd::Sample:
			status = cmd_sample(v, page, mask, ctl.ip);
			break;
		default:
			status = hw::kBadCommand;
			break;
		}
	}
	if (status != hw::kOk)
		v.c.refused++;
	ctl.status = status;
	publish(v, ctl);
}

s32 Model::cmd_hello(Cpu &, hw::Control &ctl, u32 vcpu)
{
	ctl.magic = hw::kMagic;
	ctl.version = hw::kVersion;
	ctl.vcpu = vcpu;
	ctl.ack = ctl.nonce;
	return hw::kOk;
}

s32 Model::cmd_vectors()
{
	hw::Global &g = *hw::global_page(m_region);
	m_vectors.clear();
	bool bad = false;
	u64 taken = 0;
	for (u32 i = 0; i < hw::kVectors; i++) {
		const u64 a = g.vectors[i];
		if (!a)
			continue;
		/* A handler is kernel code: anything else is a bad page, and skipped. */
		if (!is_kernel(a)) {
			bad = true;
			continue;
		}
		/* Two gates on one handler: the lower vector names it. */
		if (m_vectors.try_emplace(a, static_cast<s16>(i)).second)
			taken++;
	}
	g.vectors_taken = taken;
	/* The interned blocks were classified under the old table. */
	for (auto &[k, b] : m_blocks)
		b.vector = vector_of(b.start);
	return bad ? hw::kBadPage : hw::kOk;
}

s32 Model::cmd_save(Cpu &v, hw::Vcpu &page, u32 mask)
{
	/* XSAVES of the Arch LBR component (SDM Vol. 1, 13.5.14; Vol. 3B, 18.1.3). */
	for (u32 m = mask; m; m &= m - 1) {
		const u32 i = static_cast<u32>(__builtin_ctz(m));
		xsave::ArchLbrState &s = page.unit[i];
		v.unit[i].save(s);
		/*
		 * The rest reads as zero (hwlbr.h). lbr::Unit::save() clears up
		 * to the first zero TO, which suffices for an area only saves
		 * wrote; the guest may have written anything beyond it here.
		 */
		const u32 n = v.unit[i].count();
		std::memset(&s.entries[n], 0, (lbr::kMaxDepth - n) * sizeof(s.entries[0]));
		page.ctl.recorded[i] = v.recorded[i];
	}
	return hw::kOk;
}

s32 Model::cmd_restore(Cpu &v, hw::Vcpu &page, u32 mask, u64 prev_task, u64 next_task)
{
	if (prev_task && next_task)
		switch_tasks(v, prev_task, next_task);
	s32 status = hw::kOk;
	for (u32 m = mask; m; m &= m - 1) {
		const u32 i = static_cast<u32>(__builtin_ctz(m));
		/* A copy first: the unit validates what it takes, and the guest owns the page. */
		xsave::ArchLbrState s;
		std::memcpy(&s, &page.unit[i], sizeof(s));
		v.gen[i]++;
		if (!v.unit[i].restore(s)) {
			/*
			 * XRSTORS would #GP on reserved LBR_CTL bits or an
			 * unsupported depth (SDM Vol. 1, 13.12; Vol. 3B,
			 * 18.1.3): the unit is left reset and disabled.
			 */
			v.unit[i].set_ctl(0);
			if (status == hw::kOk)
				status = (s.lbr_ctl & ~lbr::ctl::kValid) ? hw::kBadCtl
									 : hw::kBadDepth;
		}
	}
	update_enabled(v);
	/* The freeze stays, or comes back with the incoming task's entries, on every unit. */
	set_frozen(v);
	return status;
}

void Model::update_enabled(Cpu &v)
{
	const bool was = v.enabled != 0;
	v.enabled = 0;
	v.deferred = 0;
	for (u32 i = 0; i < hw::kUnits; i++) {
		if (!v.unit[i].enabled())
			continue;
		v.enabled |= 1u << i;
		if (!v.unit[i].call_stack())
			v.deferred |= 1u << i;
	}
	const bool is = v.enabled != 0;
	if (!is)
		drop_pending(v);
	if (was == is)
		return;
	if (is)
		m_enabled_cpus++;
	else
		m_enabled_cpus--;
	if (m_enabled_cpus == 0) {
		/* No vCPU watches its entries any more: the tasks' are stale. */
		m_tasks.clear();
		m_idle = 0;
	} else if (is) {
		set_want(true);
	}
}

/*
 * A context switch: the outgoing task's kernel stack, and the interrupt
 * frames on it, leave with it, and the incoming task's come back. Its
 * entries are kept without snapshots: the Restore that comes with the
 * switch makes them void anyway (gen). A frozen one stays frozen: the
 * task was preempted in the handler of a sampled interrupt, and it gets
 * its freeze back with it (cmd_restore(), set_frozen()).
 */
void Model::switch_tasks(Cpu &v, u64 prev_task, u64 next_task)
{
	if (prev_task == next_task)
		return;
	if (v.depth) {
		auto it = m_tasks.find(prev_task);
		if (it == m_tasks.end()) {
			if (m_tasks.size() >= kMaxTasks) {
				/* Bounded: some task's entries go (tasks that exited leave theirs). */
				auto victim = m_tasks.begin();
				for (u32 i = 0; i < victim->second.n; i++)
					if (!victim->second.e[i].resolved)
						v.c.unresolved++;
				m_tasks.erase(victim);
				m_evicted++;
			}
			it = m_tasks.try_emplace(prev_task).first;
		}
		TaskEntries &t = it->second;
		t.n = v.depth;
		for (u32 i = 0; i < v.depth; i++)
			t.e[i] = v.stack[i];
		v.depth = 0;
	} else {
		m_tasks.erase(prev_task);
	}
	auto it = m_tasks.find(next_task);
	if (it == m_tasks.end())
		return;
	const TaskEntries &t = it->second;
	for (u32 i = 0; i < t.n && i < kStack; i++) {
		Frame &f = v.stack[i];
		static_cast<Entry &>(f) = t.e[i];
		f.snap_mask = 0;
	}
	v.depth = t.n < kStack ? t.n : kStack;
	m_tasks.erase(it);
}

/*
 * Freeze on PMI, then Save (hwlbr.h): a real LBR frozen when the counter
 * overflowed holds nothing of the interrupt that reports it
 * (IA32_DEBUGCTL.FREEZE_LBRS_ON_PMI; SDM Vol. 3B, the Arch LBR section
 * 18.1.3 and the performance-monitoring chapter), and records nothing
 * more until the handler unfreezes it on its way out.
 * The units go back to the snapshot of the newest entry's, which is the
 * interrupt being handled, stay frozen until its IRET (else the rest of
 * the handler's returns would pop the interrupted code's frames in
 * call-stack mode), and are saved.
 */
s32 Model::cmd_sample(Cpu &v, hw::Vcpu &page, u32 mask, u64 ip)
{
	if (v.depth) {
		Frame &f = v.stack[v.depth - 1];
		for (u32 m = f.snap_mask & v.enabled; m; m &= m - 1) {
			const u32 i = static_cast<u32>(__builtin_ctz(m));
			if (f.gen[i] == v.gen[i])
				v.unit[i] = f.snap[i];
		}
		if (!f.resolved) {
			/*
			 * Off the stack while it is told (an interrupted IRET
			 * or SYSRET ends the entries below it too), then back on
			 * top, resolved, so that its own IRET records nothing.
			 * resolve() only takes entries off: there is room. The
			 * branch is recorded under the interrupted code's freeze:
			 * none, unless it is itself the handler of an older
			 * Sample's entry (set_frozen() of the entries below).
			 */
			const Frame told = f;
			v.depth--;
			set_frozen(v);
			resolve(v, told, ip, v.icount);
			v.stack[v.depth++] = told;
		}
		Frame &top = v.stack[v.depth - 1];
		top.resolved = true;
		top.frozen = true;
		set_frozen(v);
		/* A second Sample in the same handler goes back to the same point. */
		snapshot(v, top);
	}
	return cmd_save(v, page, mask);
}

std::string Model::report()
{
	for (u32 i = 0; i < m_nvcpus; i++)
		commit(m_cpus[i]);
	std::string s;
	char line[512];
	std::snprintf(line, sizeof(line),
		      "# lbrctx-plugin mode=%s instrumented=%d resets=%llu blocks_interned=%zu "
		      "decode_mismatches=%llu tasks=%zu tasks_evicted=%llu rep_runs=%llu\n",
		      m_mode == Mode::Lazy ? "lazy" : "always", m_instrumented ? 1 : 0, m_resets,
		      m_blocks.size(), m_mismatches, m_tasks.size(), m_evicted, m_rep_runs);
	s += line;
	s += m_mismatch_log;
	for (u32 i = 0; i < m_nvcpus; i++) {
		const Counters &c = m_cpus[i].c;
		std::snprintf(line, sizeof(line),
			      "vcpu=%u blocks=%llu branches=%llu records=%llu interrupts=%llu "
			      "resolved=%llu unresolved=%llu doorbells=%llu refused=%llu "
			      "user_doorbells=%llu lost=%llu\n",
			      i, c.blocks, c.branches, c.records, c.interrupts, c.resolved,
			      c.unresolved, c.doorbells, c.refused, c.user_doorbells, c.lost);
		s += line;
	}
	return s;
}

} // namespace lbrctx::plugin
