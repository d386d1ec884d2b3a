/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x86-64 branch instructions: one decoder for the module (the call
 * that returns to a probed function's return address) and the QEMU plugin
 * (the last instruction of each translated block). Pure logic: it includes
 * types.h alone, so freestanding C++ and host C++ (-DLBRCTX_HOST) both
 * compile it, and every function is constexpr.
 *
 * decode() knows 64-bit mode only and only the instructions that transfer
 * control, the ones that may execute again in place (REP string
 * instructions), the ones that always fault (UD0, UD1, UD2), HLT, and the
 * common NOPs, ENDBR64 among them (and FF /0, /1, /6, whose length comes
 * with group 5). Every other opcode decodes as Kind::None with length 0:
 * the plugin takes lengths from QEMU. References are to the
 * Intel SDM Vol. 2: 2.1 (instruction format), 2.2.1 (REX prefixes), Table
 * 2-2 (32-bit addressing forms with the ModR/M byte), Table 2-3 (with the
 * SIB byte), Table 2-5 (special cases of REX encodings), Appendix A.3
 * (one- and two-byte opcode maps), Table A-6 (opcode extensions for one-
 * and two-byte opcodes by group number).
 *
 * The decoder follows Intel where AMD differs: an operand-size prefix (66)
 * on a near branch is ignored in 64-bit mode (2.2.1.7 and the JMP, CALL,
 * Jcc and RET pages), so the displacement stays 32 bits and the target is
 * RIP + rel32, never truncated to 16 bits. It never reads b[n] or beyond,
 * and never more than 15 bytes (2.3.11: a longer instruction raises #GP).
 */
#pragma once

#include <lbrctx/types.h>

namespace lbrctx::x86 {

enum class Kind : u8 {
	None,	   /* not a control transfer: execution goes on at the next instruction */
	Jcc,	   /* conditional near jump: 70-7F, 0F 80-8F, E3 (JrCXZ), E0-E2 (LOOPcc) */
	Jmp,	   /* direct near jump: E9, EB */
	JmpInd,	   /* indirect near jump: FF /4 */
	Call,	   /* direct near call: E8 */
	CallInd,   /* indirect near call: FF /2 */
	Ret,	   /* near return: C3, C2 iw (F3 C3 "rep ret" and F2 C3 "bnd ret" too) */
	FarCall,   /* FF /3 (9A is invalid in 64-bit mode: None with len 0) */
	FarJmp,	   /* FF /5 (EA is invalid in 64-bit mode: None with len 0) */
	FarRet,	   /* CB, CA iw */
	Syscall,   /* 0F 05, 0F 34 (sysenter) */
	Sysret,	   /* 0F 07 (with or without REX.W), 0F 35 (sysexit) */
	Iret,	   /* CF (48 CF is iretq) */
	Int,	   /* CC, CD ib, F1 (int1); CE (into) is invalid in 64-bit mode */
	Ud,	   /* 0F 0B (ud2), 0F B9 (ud1), 0F FF (ud0), LOCK on what cannot take it: faults */
	RepString, /* F3/F2 + a string instruction (A4-A7, AA-AF, 6C-6F): may run again */
	Halt,	   /* F4 */
};

struct Insn {
	/* Bytes; 0 when the bytes are not an instruction whose length this decoder knows. */
	u8 len = 0;
	Kind kind = Kind::None;
	/* Jcc, Jmp, Call: the target is address + len + rel. */
	bool direct = false;
	s32 rel = 0;
};

/* The architectural limit on an instruction's length (SDM Vol. 2, 2.3.11). */
inline constexpr u32 kMaxLength = 15;

namespace detail {

/* Legacy prefixes, groups 1 to 4 (SDM Vol. 2, 2.1.1), LOCK and REP/REPNE excepted. */
constexpr bool plain_prefix(u8 c)
{
	switch (c) {
	case 0x26: /* ES */
	case 0x2e: /* CS; a "branch not taken" hint on Jcc */
	case 0x36: /* SS */
	case 0x3e: /* DS; "branch taken" on Jcc, "notrack" on FF /2 and FF /4 (CET) */
	case 0x64: /* FS */
	case 0x65: /* GS */
	case 0x66: /* operand size */
	case 0x67: /* address size */
		return true;
	default:
		return false;
	}
}

/* An instruction of @len bytes with no displacement, or nothing if it runs past @lim. */
constexpr Insn fixed(u32 len, Kind kind, u32 lim)
{
	if (len > lim)
		return {};
	return {static_cast<u8>(len), kind, false, 0};
}

/* A direct branch whose rel8 is at b[i]: sign-extended, as every rel8 is. */
constexpr Insn rel8(const u8 *b, u32 i, Kind kind, u32 lim)
{
	if (i + 1 > lim)
		return {};
	return {static_cast<u8>(i + 1), kind, true, static_cast<s8>(b[i])};
}

/* A direct branch whose rel32 (little-endian) is at b[i]. */
constexpr Insn rel32(const u8 *b, u32 i, Kind kind, u32 lim)
{
	if (i + 4 > lim)
		return {};
	u32 v = b[i] | b[i + 1] << 8 | b[i + 2] << 16 | static_cast<u32>(b[i + 3]) << 24;
	return {static_cast<u8>(i + 4), kind, true, static_cast<s32>(v)};
}

/*
 * The bytes of the ModR/M byte at b[i] and of the SIB byte and displacement
 * it implies, or 0 when they run past @lim. 64-bit mode has no 16-bit
 * addressing, so the address-size prefix changes no length here: with 67
 * the forms are those of Table 2-2 on 32-bit registers, as without it.
 *  - mod 11: a register, nothing follows.
 *  - rm 100 (mod 00, 01, 10): a SIB byte follows; a SIB base of 101 with
 *    mod 00 means no base register and a disp32 (Table 2-3).
 *  - mod 00, rm 101: RIP-relative, disp32 (2.2.1.6).
 *  - mod 01: disp8; mod 10: disp32.
 * REX.B and REX.X change none of this: the special cases look at the low
 * three bits alone, so r12 needs a SIB byte like rsp, r13 a displacement
 * like rbp, and mod 00 rm 101 is RIP-relative whatever REX.B says (Table 2-5).
 */
constexpr u32 modrm_bytes(const u8 *b, u32 i, u32 lim)
{
	if (i >= lim)
		return 0;
	const u8 m = b[i];
	const u32 mod = m >> 6, rm = m & 7;
	if (mod == 3)
		return 1;
	u32 len = 1;
	if (rm == 4) {
		if (i + 1 >= lim)
			return 0;
		len = 2;
		if (mod == 0 && (b[i + 1] & 7) == 5)
			len += 4;
	} else if (mod == 0 && rm == 5) {
		len += 4;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return i + len <= lim ? len : 0;
}

/* An instruction whose ModR/M byte is at b[i] and that has no immediate. */
constexpr Insn with_modrm(const u8 *b, u32 i, Kind kind, u32 lim)
{
	u32 m = modrm_bytes(b, i, lim);
	if (!m)
		return {};
	return {static_cast<u8>(i + m), kind, false, 0};
}

/*
 * Group 5, FF /digit (Table A-6): /0 INC, /1 DEC and /6 PUSH are not
 * branches (their length is known all the same); /2 and /4 are the
 * indirect near call and jump; /3 and /5 the far ones, whose operand is a
 * far pointer in memory, so a register operand (mod 11) is #UD; /7 is
 * reserved.
 */
constexpr Insn group5(const u8 *b, u32 i, u32 lim)
{
	if (i >= lim)
		return {};
	const bool reg_operand = b[i] >> 6 == 3;
	switch ((b[i] >> 3) & 7) {
	case 0:
	case 1:
	case 6:
		return with_modrm(b, i, Kind::None, lim);
	case 2:
		return with_modrm(b, i, Kind::CallInd, lim);
	case 3:
		return reg_operand ? Insn{} : with_modrm(b, i, Kind::FarCall, lim);
	case 4:
		return with_modrm(b, i, Kind::JmpInd, lim);
	case 5:
		return reg_operand ? Insn{} : with_modrm(b, i, Kind::FarJmp, lim);
	default:
		return {};
	}
}

/* The two-byte map, 0F xx (Table A-3), from the byte after 0F at b[i]. */
constexpr Insn two_byte(const u8 *b, u32 i, u32 lim)
{
	if (i >= lim)
		return {};
	const u8 op = b[i++];
	if ((op & 0xf0) == 0x80)
		return rel32(b, i, Kind::Jcc, lim); /* Jcc rel32; with 66 still rel32 (Intel) */
	switch (op) {
	case 0x05: /* syscall */
	case 0x34: /* sysenter */
		return fixed(i, Kind::Syscall, lim);
	case 0x07: /* sysret; with REX.W, sysretq */
	case 0x35: /* sysexit; with REX.W, sysexitq */
		return fixed(i, Kind::Sysret, lim);
	case 0x0b: /* ud2 */
		return fixed(i, Kind::Ud, lim);
	case 0xb9: /* ud1 r32, r/m32 */
	case 0xff: /* ud0 r32, r/m32: Intel gives it a ModR/M byte (AMD does not) */
		return with_modrm(b, i, Kind::Ud, lim);
	case 0x0d: /* prefetchw, NOP Ev */
	case 0x18: /* 0F 18-1F: prefetch hints and the reserved NOPs, */
	case 0x19: /* 0F 1F /0 the multi-byte NOP, F3 0F 1E FA ENDBR64 */
	case 0x1a: /* and F3 0F 1E FB ENDBR32: all with a ModR/M byte */
	case 0x1b:
	case 0x1c:
	case 0x1d:
	case 0x1e:
	case 0x1f:
		return with_modrm(b, i, Kind::None, lim);
	default:
		return {};
	}
}

/* The instruction whose opcode is at b[i], after its prefixes; @rep: F2 or F3 among them. */
constexpr Insn opcode(const u8 *b, u32 i, u32 lim, bool rep)
{
	const u8 op = b[i++];
	if ((op & 0xf0) == 0x70)
		return rel8(b, i, Kind::Jcc, lim); /* Jcc rel8 */
	switch (op) {
	case 0xe0: /* loopne */
	case 0xe1: /* loope */
	case 0xe2: /* loop */
	case 0xe3: /* jrcxz; with 67, jecxz */
		return rel8(b, i, Kind::Jcc, lim);
	case 0xeb:
		return rel8(b, i, Kind::Jmp, lim);
	case 0xe9:
		return rel32(b, i, Kind::Jmp, lim);
	case 0xe8:
		return rel32(b, i, Kind::Call, lim);
	case 0xc3:
		return fixed(i, Kind::Ret, lim);
	case 0xc2:
		return fixed(i + 2, Kind::Ret, lim);
	case 0xcb:
		return fixed(i, Kind::FarRet, lim);
	case 0xca:
		return fixed(i + 2, Kind::FarRet, lim);
	case 0xcc: /* int3 */
	case 0xf1: /* int1 (icebp) */
		return fixed(i, Kind::Int, lim);
	case 0xcd:
		return fixed(i + 1, Kind::Int, lim);
	case 0xcf:
		return fixed(i, Kind::Iret, lim);
	case 0xf4:
		return fixed(i, Kind::Halt, lim);
	case 0x90: /* nop; F3 90 is pause, 41 90 xchg %eax,%r8d: none of them a branch */
		return fixed(i, Kind::None, lim);
	case 0x6c: /* ins, outs, movs, cmps, stos, lods, scas */
	case 0x6d:
	case 0x6e:
	case 0x6f:
	case 0xa4:
	case 0xa5:
	case 0xa6:
	case 0xa7:
	case 0xaa:
	case 0xab:
	case 0xac:
	case 0xad:
	case 0xae:
	case 0xaf:
		return fixed(i, rep ? Kind::RepString : Kind::None, lim);
	case 0xff:
		return group5(b, i, lim);
	case 0x0f:
		return two_byte(b, i, lim);
	default:
		/*
		 * Every other opcode, among them the ones 64-bit mode makes
		 * invalid: 9A (far call), EA (far jump) and CE (into); and
		 * C4, C5, 62 (VEX, EVEX), which this decoder does not know.
		 */
		return {};
	}
}

/*
 * Whether LOCK is allowed on the instruction decoded at b[i]: of the ones
 * this decoder knows, only INC and DEC of memory (FF /0, FF /1 with mod
 * other than 11). Called only once the ModR/M byte was decoded.
 */
constexpr bool lockable(const u8 *b, u32 i)
{
	return b[i] == 0xff && ((b[i + 1] >> 3) & 7) <= 1 && b[i + 1] >> 6 != 3;
}

} // namespace detail

/*
 * Decode one 64-bit-mode instruction from the @n bytes at @b (@n may be less
 * than 15; b[n] and beyond are never read).
 *
 * Prefixes: the legacy ones (SDM Vol. 2, 2.1.1) in any order and number,
 * and REX (40-4F). A REX prefix counts only directly before the opcode; one
 * followed by another prefix is ignored (2.2.1), but its byte is still part
 * of the instruction, so the scan goes on past it. Nothing this decoder
 * reports depends on REX: REX.W, REX.B and REX.X change no length of the
 * instructions it knows. A LOCK prefix raises #UD on all of them but INC
 * and DEC of memory (the LOCK page: only read-modify-write instructions on
 * memory take it), so such an instruction decodes as Kind::Ud with its
 * length.
 */
constexpr Insn decode(const u8 *b, u32 n)
{
	const u32 lim = n < kMaxLength ? n : kMaxLength;
	bool lock = false, rep = false;
	u32 i = 0;
	for (;; i++) {
		if (i >= lim)
			return {};
		const u8 c = b[i];
		if (c == 0xf0)
			lock = true;
		else if (c == 0xf2 || c == 0xf3)
			rep = true;
		else if (!detail::plain_prefix(c) && (c & 0xf0) != 0x40)
			break;
	}
	Insn insn = detail::opcode(b, i, lim, rep);
	if (lock && insn.len && !detail::lockable(b, i))
		insn = {insn.len, Kind::Ud, false, 0};
	return insn;
}

/* The target of a direct branch (insn.direct) at @addr: addr + len + rel. */
constexpr u64 target(const Insn &insn, u64 addr)
{
	return addr + insn.len + static_cast<u64>(static_cast<s64>(insn.rel));
}

/* The call that returns to a return address: see call_before(). */
struct CallSite {
	u64 from;  /* the call instruction's address, or ret - 1 when no call decodes there */
	Kind kind; /* Call, CallInd or None */
};

namespace detail {

/*
 * Whether @rex, before the FF /2 whose ModR/M byte is p[j] (of @k bytes at
 * @p), changes the operand: REX.X names the index of a SIB byte, REX.B the
 * register operand (mod 11), the base register, or the SIB base. It changes
 * nothing with a RIP-relative operand or a SIB byte with no base (mod 00,
 * base 101; SDM Vol. 2, Table 2-5).
 */
constexpr bool rex_selects_a_register(u8 rex, const u8 *p, u32 j, u32 k)
{
	if (j >= k)
		return false;
	const u32 mod = p[j] >> 6, rm = p[j] & 7;
	const bool sib = mod != 3 && rm == 4;
	if ((rex & 2) && sib)
		return true;
	if (!(rex & 1))
		return false;
	if (mod == 0 && rm == 5)
		return false;
	if (sib && mod == 0)
		return j + 1 < k && (p[j + 1] & 7) != 5;
	return true;
}

/*
 * Whether the @k bytes at @p have the prefixes call_before() accepts before
 * an FF /2:
 *  - CS or DS, any number of times, before a register operand (mod 11)
 *    only. DS is CET's notrack ("notrack call *%rax"), and a run of CS is
 *    how the kernel pads a retpoline call it rewrites to "call *%reg" (its
 *    emit_indirect()), so that the call still ends at the same return
 *    address: "2e 2e 2e ff d0". Neither puts them before a memory operand,
 *    where 2E and 3E are common ModR/M bytes of the previous instruction
 *    ("49 8b 3e", mov (%r14),%rdi, before "ff 15 <disp32>").
 *  - Then at most one REX, if it selects an extended register (41 for
 *    "call *%r11", 49, 42, 43, ...). A 40-4F byte whose REX would change
 *    nothing is far more often the end of the previous instruction (the
 *    disp8 of "mov 0x48(%rsp),%rax", the rel8 of "je .+0x4a") than a
 *    useless prefix.
 *  - Then FF.
 * Compilers emit no other prefix before FF /2. The price of the first
 * item: a disp8 or ModR/M byte 2E or 3E of the previous instruction before
 * a register call reads as a prefix, and from is one byte early; that is 2
 * of the 3265 indirect calls of a 7.3 vmlinux ("48 8b 3e ff d2").
 */
constexpr bool indirect_call_prefixes(const u8 *p, u32 k)
{
	u32 j = 0;
	while (j < k && (p[j] == 0x2e || p[j] == 0x3e))
		j++;
	const bool segment = j > 0;
	if (j < k && (p[j] & 0xf0) == 0x40) {
		if (!rex_selects_a_register(p[j], p, j + 2, k))
			return false;
		j++;
	}
	if (j + 1 >= k || p[j] != 0xff)
		return false;
	return !segment || p[j + 1] >> 6 == 3;
}

} // namespace detail

/*
 * The call that returns to @ret. @b holds the @n bytes that end just before
 * @ret (b[n - 1] is at ret - 1); bytes before b and at ret are never read.
 * @callee is the function that was entered (the probed address), and a
 * direct call counts as a call of it when its target lies in
 * [callee - slack, callee]: with IBT the probe sits past the ENDBR64 the
 * call lands on (@slack 4), and call-depth tracking or FineIBT lands calls
 * in padding before the function (up to 16 bytes).
 *
 * x86 code cannot be decoded backwards: a byte sequence that ends at @ret
 * can decode as more than one call. "e8 10 ff 52 ff" is a call rel32, and
 * its last three bytes are "call *-0x1(%rdx)"; "89 c7 ff d0" after "48 8b 45
 * e8" (mov -0x18(%rbp),%rax) has an E8 five bytes before @ret, and is in
 * fact "mov %eax,%edi; call *%rax". Each candidate start is decoded forward
 * with decode() and counts only if a call of exactly that length ends at
 * @ret; among the candidates the order is:
 *
 *  1. E8 rel32 at ret - 5 whose target is the callee (within the slack):
 *     Call. Four displacement bytes that happen to point at the callee are
 *     strong evidence; nothing else is.
 *  2. The longest FF /2 (indirect call) that ends at @ret, with the
 *     prefixes detail::indirect_call_prefixes() accepts: CallInd. A shorter
 *     candidate can be the tail of a longer one's displacement ("ff 14 c5
 *     <disp32>" whose disp32 ends in ff d0), while a longer false candidate
 *     needs the previous instruction to end in FF and a ModR/M byte of
 *     exactly the right length, which code rarely does.
 *  3. E8 rel32 at ret - 5 with another target: CallInd, a call through a
 *     PLT stub or a thunk (retpoline, return thunk, call-depth tracking).
 *     It comes after 2 because an E8 whose target is not the callee proves
 *     nothing: E8 is also a common ModR/M byte and disp8 (-0x18). The price
 *     is the thunk call whose rel32 holds an FF /2 ("e8 af ff 14 00" ends
 *     in "ff 14 00", call *(%rax,%rax,1)): the kind is still CallInd, but
 *     from is off by one or two bytes. Measured on a 7.3 vmlinux, that is 6
 *     of its 119552 direct calls taken as thunk calls, while no indirect
 *     call of the kernel, libc, ld.so, libz or python3.11 (at -O2, nor of a
 *     test program at -O0) has an E8 at ret - 5 that rule 3 would prefer.
 *  4. Nothing: {ret - 1, None}. ret - 1 is inside whatever did the call.
 *
 * A prefix before E8 (clang's -mindirect-branch-cs-prefix puts a CS on a
 * call to a retpoline thunk) is not looked for: from is then the E8 byte,
 * one byte into the instruction, because a 2E at ret - 6 is as often the
 * end of the previous instruction.
 */
constexpr CallSite call_before(const u8 *b, u32 n, u64 ret, u64 callee, u32 slack)
{
	bool e8 = false;
	if (n >= 5 && b[n - 5] == 0xe8) {
		const Insn insn = decode(b + n - 5, 5);
		if (insn.len == 5 && insn.kind == Kind::Call) {
			const u64 to = target(insn, ret - 5);
			if (to <= callee && callee - to <= slack)
				return {ret - 5, Kind::Call};
			e8 = true;
		}
	}
	for (u32 k = min(n, kMaxLength); k >= 2; k--) {
		const u8 *p = b + n - k;
		if (!detail::indirect_call_prefixes(p, k))
			continue;
		const Insn insn = decode(p, k);
		if (insn.len == k && insn.kind == Kind::CallInd)
			return {ret - k, Kind::CallInd};
	}
	if (e8)
		return {ret - 5, Kind::CallInd};
	return {ret - 1, Kind::None};
}

} // namespace lbrctx::x86
