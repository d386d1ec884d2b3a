/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The table of include/lbrctx/x86.h: byte sequences and what decode() and
 * call_before() must answer for them. One table, two runners: the KUnit
 * suite lbrctx_x86 (kunit/test_x86.cpp) and the host test the QEMU plugin
 * builds (qemu/plugin/tests/test_x86.cpp). Freestanding: it includes x86.h
 * alone.
 *
 * Encodings are from the Intel SDM Vol. 2 (Appendix A opcode maps, Tables
 * 2-2, 2-3 and 2-5 for ModR/M and SIB). Where Intel and AMD differ (an
 * operand-size prefix on a near branch, UD0's ModR/M byte), the rows follow
 * Intel, and objdump, which follows AMD there, disagrees on purpose.
 */
#pragma once

#include <lbrctx/x86.h>

namespace lbrctx::x86::table {

struct DecodeRow {
	const char *name;
	u8 bytes[kMaxLength];
	u8 n; /* the bytes decode() is given */
	u8 len;
	Kind kind;
	bool direct;
	s32 rel;
};

inline constexpr s32 kRelMin = -0x7fffffff - 1;

/* clang-format off */
inline constexpr DecodeRow kDecode[] = {
	/* Jcc: 70-7F rel8, 0F 80-8F rel32, E3 JrCXZ and E0-E2 LOOPcc rel8. */
	{"jcc_rel8_forward", {0x74, 0x10}, 2, 2, Kind::Jcc, true, 0x10},
	{"jcc_rel8_backward_sign_extends", {0x75, 0xfe}, 2, 2, Kind::Jcc, true, -2},
	{"jcc_rel8_most_negative", {0x7f, 0x80}, 2, 2, Kind::Jcc, true, -128},
	{"jcc_rel8_most_positive_jo", {0x70, 0x7f}, 2, 2, Kind::Jcc, true, 127},
	{"jcc_rel32_forward", {0x0f, 0x84, 0x00, 0x01, 0x00, 0x00}, 6, 6, Kind::Jcc, true, 0x100},
	{"jcc_rel32_backward", {0x0f, 0x85, 0xf0, 0xff, 0xff, 0xff}, 6, 6, Kind::Jcc, true, -16},
	{"jcc_rel32_most_negative",
	 {0x0f, 0x8f, 0x00, 0x00, 0x00, 0x80}, 6, 6, Kind::Jcc, true, kRelMin},
	{"jcc_rel32_most_positive_jo",
	 {0x0f, 0x80, 0xff, 0xff, 0xff, 0x7f}, 6, 6, Kind::Jcc, true, 0x7fffffff},
	{"jcc_rel32_opsize_prefix_keeps_rel32_as_intel",
	 {0x66, 0x0f, 0x84, 0x10, 0x00, 0x00, 0x00}, 7, 7, Kind::Jcc, true, 0x10},
	{"jcc_rel8_bnd_prefix", {0xf2, 0x74, 0x05}, 3, 3, Kind::Jcc, true, 5},
	{"jcc_rel8_ds_taken_hint", {0x3e, 0x74, 0x05}, 3, 3, Kind::Jcc, true, 5},
	{"jcc_rel32_cs_not_taken_hint",
	 {0x2e, 0x0f, 0x85, 0x00, 0x02, 0x00, 0x00}, 7, 7, Kind::Jcc, true, 0x200},
	{"jcc_rel8_rex_w_is_ignored", {0x48, 0x74, 0x05}, 3, 3, Kind::Jcc, true, 5},
	{"jrcxz_rel8_backward", {0xe3, 0xfe}, 2, 2, Kind::Jcc, true, -2},
	{"jecxz_address_size_prefix", {0x67, 0xe3, 0x10}, 3, 3, Kind::Jcc, true, 0x10},
	{"loop_rel8_backward", {0xe2, 0xf0}, 2, 2, Kind::Jcc, true, -16},
	{"loope_rel8_forward", {0xe1, 0x08}, 2, 2, Kind::Jcc, true, 8},
	{"loopne_rel8_most_negative", {0xe0, 0x80}, 2, 2, Kind::Jcc, true, -128},

	/* Jmp: EB rel8, E9 rel32. */
	{"jmp_rel8_forward", {0xeb, 0x10}, 2, 2, Kind::Jmp, true, 0x10},
	{"jmp_rel8_to_itself", {0xeb, 0xfe}, 2, 2, Kind::Jmp, true, -2},
	{"jmp_rel32_forward", {0xe9, 0x00, 0x10, 0x00, 0x00}, 5, 5, Kind::Jmp, true, 0x1000},
	{"jmp_rel32_backward", {0xe9, 0xfb, 0xff, 0xff, 0xff}, 5, 5, Kind::Jmp, true, -5},
	{"jmp_rel32_opsize_prefix_keeps_rel32_as_intel",
	 {0x66, 0xe9, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Jmp, true, 0x10},
	{"jmp_rel32_bnd_prefix", {0xf2, 0xe9, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Jmp, true, 0x10},
	{"jmp_rel32_rex_w_is_ignored",
	 {0x48, 0xe9, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Jmp, true, 0x10},
	{"jmp_rel32_reads_only_its_five_bytes",
	 {0xe9, 0x01, 0x00, 0x00, 0x00, 0xcc, 0xcc, 0xcc}, 8, 5, Kind::Jmp, true, 1},

	/* JmpInd: FF /4. */
	{"jmp_ind_rax", {0xff, 0xe0}, 2, 2, Kind::JmpInd, false, 0},
	{"jmp_ind_r11_rex_b", {0x41, 0xff, 0xe3}, 3, 3, Kind::JmpInd, false, 0},
	{"jmp_ind_notrack_rax", {0x3e, 0xff, 0xe0}, 3, 3, Kind::JmpInd, false, 0},
	{"jmp_ind_notrack_jump_table_sib_no_base",
	 {0x3e, 0xff, 0x24, 0xc5, 0x40, 0x40, 0x40, 0x00}, 8, 8, Kind::JmpInd, false, 0},
	{"jmp_ind_rip_relative_plt",
	 {0xff, 0x25, 0xe2, 0x2f, 0x00, 0x00}, 6, 6, Kind::JmpInd, false, 0},
	{"jmp_ind_bnd_rip_relative_plt",
	 {0xf2, 0xff, 0x25, 0xe2, 0x2f, 0x00, 0x00}, 7, 7, Kind::JmpInd, false, 0},
	{"jmp_ind_disp8", {0xff, 0x60, 0x08}, 3, 3, Kind::JmpInd, false, 0},
	{"jmp_ind_sib_rsp_disp32",
	 {0xff, 0xa4, 0x24, 0x00, 0x01, 0x00, 0x00}, 7, 7, Kind::JmpInd, false, 0},
	{"jmp_ind_r12_needs_a_sib_byte", {0x41, 0xff, 0x24, 0x24}, 4, 4, Kind::JmpInd, false, 0},
	{"jmp_ind_r13_needs_a_disp8", {0x41, 0xff, 0x65, 0x00}, 4, 4, Kind::JmpInd, false, 0},
	{"jmp_ind_address_size_prefix", {0x67, 0xff, 0x20}, 3, 3, Kind::JmpInd, false, 0},

	/* Call: E8 rel32. */
	{"call_rel32_forward", {0xe8, 0x10, 0x00, 0x00, 0x00}, 5, 5, Kind::Call, true, 0x10},
	{"call_rel32_backward", {0xe8, 0xfb, 0xff, 0xff, 0xff}, 5, 5, Kind::Call, true, -5},
	{"call_rel32_to_the_next_instruction",
	 {0xe8, 0x00, 0x00, 0x00, 0x00}, 5, 5, Kind::Call, true, 0},
	{"call_rel32_most_positive",
	 {0xe8, 0xff, 0xff, 0xff, 0x7f}, 5, 5, Kind::Call, true, 0x7fffffff},
	{"call_rel32_opsize_prefix_keeps_rel32_as_intel",
	 {0x66, 0xe8, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Call, true, 0x10},
	{"call_rel32_bnd_prefix",
	 {0xf2, 0xe8, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Call, true, 0x10},
	{"call_rel32_cs_prefix_of_a_thunk_call",
	 {0x2e, 0xe8, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Call, true, 0x10},
	{"call_rel32_rex_w_is_ignored",
	 {0x48, 0xe8, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Call, true, 0x10},
	{"call_rel32_after_ten_prefixes_is_15_bytes",
	 {0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xe8, 0x10, 0x00, 0x00, 0x00},
	 15, 15, Kind::Call, true, 0x10},
	{"call_rel32_after_eleven_prefixes_is_too_long",
	 {0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xe8, 0x10, 0x00, 0x00},
	 15, 0, Kind::None, false, 0},

	/* CallInd: FF /2, every ModR/M and SIB length. */
	{"call_ind_rax", {0xff, 0xd0}, 2, 2, Kind::CallInd, false, 0},
	{"call_ind_r11_rex_b", {0x41, 0xff, 0xd3}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_r11_rex_wb", {0x49, 0xff, 0xd3}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_notrack_rax", {0x3e, 0xff, 0xd0}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_cs_padded_patched_retpoline",
	 {0x2e, 0x2e, 0x2e, 0xff, 0xd0}, 5, 5, Kind::CallInd, false, 0},
	{"call_ind_through_rax_memory", {0xff, 0x10}, 2, 2, Kind::CallInd, false, 0},
	{"call_ind_disp8", {0xff, 0x50, 0x08}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_disp8_negative", {0xff, 0x50, 0xf8}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_disp32", {0xff, 0x93, 0x00, 0x01, 0x00, 0x00}, 6, 6, Kind::CallInd, false, 0},
	{"call_ind_rip_relative",
	 {0xff, 0x15, 0xe2, 0x2f, 0x00, 0x00}, 6, 6, Kind::CallInd, false, 0},
	{"call_ind_rip_relative_even_with_rex_b",
	 {0x41, 0xff, 0x15, 0xe2, 0x2f, 0x00, 0x00}, 7, 7, Kind::CallInd, false, 0},
	{"call_ind_sib_no_base_table",
	 {0xff, 0x14, 0xc5, 0x40, 0x40, 0x40, 0x00}, 7, 7, Kind::CallInd, false, 0},
	{"call_ind_sib_absolute_disp32",
	 {0xff, 0x14, 0x25, 0x40, 0x40, 0x40, 0x00}, 7, 7, Kind::CallInd, false, 0},
	{"call_ind_sib_no_base_even_with_rex_b",
	 {0x41, 0xff, 0x14, 0x25, 0x40, 0x40, 0x40, 0x00}, 8, 8, Kind::CallInd, false, 0},
	{"call_ind_sib_rsp", {0xff, 0x14, 0x24}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_sib_disp8", {0xff, 0x54, 0x24, 0x08}, 4, 4, Kind::CallInd, false, 0},
	{"call_ind_sib_rbp_base_with_mod01_takes_disp8",
	 {0xff, 0x54, 0x05, 0x08}, 4, 4, Kind::CallInd, false, 0},
	{"call_ind_sib_disp32",
	 {0xff, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00}, 7, 7, Kind::CallInd, false, 0},
	{"call_ind_r13_needs_a_disp8", {0x41, 0xff, 0x55, 0x00}, 4, 4, Kind::CallInd, false, 0},
	{"call_ind_address_size_prefix", {0x67, 0xff, 0x10}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_opsize_prefix_is_ignored_as_intel",
	 {0x66, 0xff, 0xd0}, 3, 3, Kind::CallInd, false, 0},
	{"call_ind_rex_before_a_legacy_prefix_is_ignored",
	 {0x41, 0x3e, 0xff, 0xd0}, 4, 4, Kind::CallInd, false, 0},
	{"call_ind_two_rex_prefixes", {0x48, 0x41, 0xff, 0xd3}, 4, 4, Kind::CallInd, false, 0},
	{"call_ind_after_thirteen_prefixes_is_15_bytes",
	 {0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xff, 0xd0},
	 15, 15, Kind::CallInd, false, 0},

	/* FarCall FF /3 and FarJmp FF /5, memory operands only; 9A and EA are invalid. */
	{"far_call_memory", {0xff, 0x18}, 2, 2, Kind::FarCall, false, 0},
	{"far_call_rex_w_m16_64", {0x48, 0xff, 0x18}, 3, 3, Kind::FarCall, false, 0},
	{"far_call_sib_disp8", {0xff, 0x5c, 0x24, 0x08}, 4, 4, Kind::FarCall, false, 0},
	{"far_call_rip_relative",
	 {0xff, 0x1d, 0x00, 0x10, 0x00, 0x00}, 6, 6, Kind::FarCall, false, 0},
	{"far_call_register_operand_is_invalid", {0xff, 0xd8}, 2, 0, Kind::None, false, 0},
	{"far_call_ptr16_32_is_invalid_in_64_bit_mode",
	 {0x9a, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00}, 7, 0, Kind::None, false, 0},
	{"far_jmp_memory", {0xff, 0x28}, 2, 2, Kind::FarJmp, false, 0},
	{"far_jmp_rex_w_disp8", {0x48, 0xff, 0x68, 0x08}, 4, 4, Kind::FarJmp, false, 0},
	{"far_jmp_register_operand_is_invalid", {0xff, 0xe8}, 2, 0, Kind::None, false, 0},
	{"far_jmp_ptr16_32_is_invalid_in_64_bit_mode",
	 {0xea, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00}, 7, 0, Kind::None, false, 0},

	/* FarRet: CB, CA iw. Ret: C3, C2 iw. */
	{"far_ret", {0xcb}, 1, 1, Kind::FarRet, false, 0},
	{"far_ret_rex_w", {0x48, 0xcb}, 2, 2, Kind::FarRet, false, 0},
	{"far_ret_imm16", {0xca, 0x08, 0x00}, 3, 3, Kind::FarRet, false, 0},
	{"far_ret_rex_w_imm16", {0x48, 0xca, 0x10, 0x00}, 4, 4, Kind::FarRet, false, 0},
	{"ret", {0xc3}, 1, 1, Kind::Ret, false, 0},
	{"ret_imm16", {0xc2, 0x08, 0x00}, 3, 3, Kind::Ret, false, 0},
	{"ret_rep_prefix", {0xf3, 0xc3}, 2, 2, Kind::Ret, false, 0},
	{"ret_bnd_prefix", {0xf2, 0xc3}, 2, 2, Kind::Ret, false, 0},
	{"ret_opsize_prefix_is_still_a_near_return", {0x66, 0xc3}, 2, 2, Kind::Ret, false, 0},
	{"ret_reads_only_its_byte", {0xc3, 0xcc, 0xcc, 0xcc}, 4, 1, Kind::Ret, false, 0},

	/* Syscall, Sysret, Iret, Int. */
	{"syscall", {0x0f, 0x05}, 2, 2, Kind::Syscall, false, 0},
	{"sysenter", {0x0f, 0x34}, 2, 2, Kind::Syscall, false, 0},
	{"sysret", {0x0f, 0x07}, 2, 2, Kind::Sysret, false, 0},
	{"sysretq_rex_w", {0x48, 0x0f, 0x07}, 3, 3, Kind::Sysret, false, 0},
	{"sysexit", {0x0f, 0x35}, 2, 2, Kind::Sysret, false, 0},
	{"sysexitq_rex_w", {0x48, 0x0f, 0x35}, 3, 3, Kind::Sysret, false, 0},
	{"iret", {0xcf}, 1, 1, Kind::Iret, false, 0},
	{"iretq_rex_w", {0x48, 0xcf}, 2, 2, Kind::Iret, false, 0},
	{"iretw_opsize_prefix", {0x66, 0xcf}, 2, 2, Kind::Iret, false, 0},
	{"int3", {0xcc}, 1, 1, Kind::Int, false, 0},
	{"int_imm8", {0xcd, 0x80}, 2, 2, Kind::Int, false, 0},
	{"int1", {0xf1}, 1, 1, Kind::Int, false, 0},
	{"into_is_invalid_in_64_bit_mode", {0xce}, 1, 0, Kind::None, false, 0},

	/* Ud: UD2, UD1 and UD0 (with ModR/M, as Intel), and LOCK on what cannot take it. */
	{"ud2", {0x0f, 0x0b}, 2, 2, Kind::Ud, false, 0},
	{"ud1_register", {0x0f, 0xb9, 0xc8}, 3, 3, Kind::Ud, false, 0},
	{"ud1_disp8", {0x0f, 0xb9, 0x40, 0x08}, 4, 4, Kind::Ud, false, 0},
	{"ud1_address_size_prefix_as_ubsan_traps",
	 {0x67, 0x0f, 0xb9, 0x40, 0x10}, 5, 5, Kind::Ud, false, 0},
	{"ud0_register", {0x0f, 0xff, 0xc0}, 3, 3, Kind::Ud, false, 0},
	{"ud0_rip_relative", {0x0f, 0xff, 0x05, 0x00, 0x00, 0x00, 0x00}, 7, 7, Kind::Ud, false, 0},
	{"lock_call_raises_ud", {0xf0, 0xe8, 0x10, 0x00, 0x00, 0x00}, 6, 6, Kind::Ud, false, 0},
	{"lock_ret_raises_ud", {0xf0, 0xc3}, 2, 2, Kind::Ud, false, 0},
	{"lock_nop_raises_ud", {0xf0, 0x0f, 0x1f, 0x00}, 4, 4, Kind::Ud, false, 0},
	{"lock_inc_register_raises_ud", {0xf0, 0xff, 0xc0}, 3, 3, Kind::Ud, false, 0},
	{"lock_inc_memory_is_not_a_branch", {0xf0, 0xff, 0x43, 0x20}, 4, 4, Kind::None, false, 0},
	{"lock_dec_rip_relative_is_not_a_branch",
	 {0xf0, 0xff, 0x0d, 0x2b, 0xc0, 0x1a, 0x00}, 7, 7, Kind::None, false, 0},

	/* RepString: F3 or F2 before A4-A7, AA-AF, 6C-6F; not pause, not a bare movs. */
	{"rep_movsb", {0xf3, 0xa4}, 2, 2, Kind::RepString, false, 0},
	{"rep_movsq", {0xf3, 0x48, 0xa5}, 3, 3, Kind::RepString, false, 0},
	{"rep_stosb", {0xf3, 0xaa}, 2, 2, Kind::RepString, false, 0},
	{"rep_stosq", {0xf3, 0x48, 0xab}, 3, 3, Kind::RepString, false, 0},
	{"repe_cmpsb", {0xf3, 0xa6}, 2, 2, Kind::RepString, false, 0},
	{"repne_scasb", {0xf2, 0xae}, 2, 2, Kind::RepString, false, 0},
	{"rep_lodsb", {0xf3, 0xac}, 2, 2, Kind::RepString, false, 0},
	{"rep_insb", {0xf3, 0x6c}, 2, 2, Kind::RepString, false, 0},
	{"rep_outsl", {0xf3, 0x6f}, 2, 2, Kind::RepString, false, 0},
	{"rep_movsb_address_size_prefix", {0x67, 0xf3, 0xa4}, 3, 3, Kind::RepString, false, 0},
	{"rep_movsw_opsize_prefix", {0x66, 0xf3, 0xa5}, 3, 3, Kind::RepString, false, 0},
	{"rep_movsb_fs_override", {0xf3, 0x64, 0xa4}, 3, 3, Kind::RepString, false, 0},
	{"movsb_without_rep_is_not_rep_string", {0xa4}, 1, 1, Kind::None, false, 0},
	{"movsq_without_rep_is_not_rep_string", {0x48, 0xa5}, 2, 2, Kind::None, false, 0},
	{"pause_is_not_rep_string", {0xf3, 0x90}, 2, 2, Kind::None, false, 0},

	/* Halt. */
	{"hlt", {0xf4}, 1, 1, Kind::Halt, false, 0},

	/* None with a length: the NOPs compilers pad with, ENDBR, other FF forms. */
	{"nop", {0x90}, 1, 1, Kind::None, false, 0},
	{"nop_opsize_prefix", {0x66, 0x90}, 2, 2, Kind::None, false, 0},
	{"nopl_3", {0x0f, 0x1f, 0x00}, 3, 3, Kind::None, false, 0},
	{"nopl_4", {0x0f, 0x1f, 0x40, 0x00}, 4, 4, Kind::None, false, 0},
	{"nopl_5", {0x0f, 0x1f, 0x44, 0x00, 0x00}, 5, 5, Kind::None, false, 0},
	{"nopw_6", {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}, 6, 6, Kind::None, false, 0},
	{"nopl_7", {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00}, 7, 7, Kind::None, false, 0},
	{"nopl_8", {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}, 8, 8, Kind::None, false, 0},
	{"nopw_9",
	 {0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}, 9, 9, Kind::None, false, 0},
	{"nopw_cs_10",
	 {0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	 10, 10, Kind::None, false, 0},
	{"nopw_data16_cs_11",
	 {0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	 11, 11, Kind::None, false, 0},
	{"nopl_doorbell_disp32",
	 {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x42, 0x4c}, 7, 7, Kind::None, false, 0},
	{"endbr64", {0xf3, 0x0f, 0x1e, 0xfa}, 4, 4, Kind::None, false, 0},
	{"endbr32", {0xf3, 0x0f, 0x1e, 0xfb}, 4, 4, Kind::None, false, 0},
	{"xchg_r8d_eax_is_not_a_branch", {0x41, 0x90}, 2, 2, Kind::None, false, 0},
	{"inc_register_is_not_a_branch", {0xff, 0xc0}, 2, 2, Kind::None, false, 0},
	{"push_rip_relative_is_not_a_branch",
	 {0xff, 0x35, 0xe2, 0x2f, 0x00, 0x00}, 6, 6, Kind::None, false, 0},

	/* Nothing: unknown or invalid opcodes, and bytes cut short. */
	{"ff_slash_7_is_invalid", {0xff, 0xf8}, 2, 0, Kind::None, false, 0},
	{"mov_is_unknown", {0x48, 0x89, 0xe5}, 3, 0, Kind::None, false, 0},
	{"vex_vzeroupper_is_unknown", {0xc5, 0xf8, 0x77}, 3, 0, Kind::None, false, 0},
	{"no_bytes", {}, 0, 0, Kind::None, false, 0},
	{"prefixes_alone", {0x66, 0x66, 0x2e}, 3, 0, Kind::None, false, 0},
	{"rex_alone", {0x48}, 1, 0, Kind::None, false, 0},
	{"escape_alone", {0x0f}, 1, 0, Kind::None, false, 0},
	{"call_rel32_cut_short", {0xe8, 0x10, 0x00, 0x00}, 4, 0, Kind::None, false, 0},
	{"jcc_rel32_cut_short", {0x0f, 0x84, 0x10, 0x00, 0x00}, 5, 0, Kind::None, false, 0},
	{"call_ind_cut_before_its_sib_byte", {0xff, 0x14}, 2, 0, Kind::None, false, 0},
	{"call_ind_cut_in_its_disp32", {0xff, 0x15, 0x00, 0x00, 0x00}, 5, 0, Kind::None, false, 0},
	{"ret_imm16_cut_short", {0xc2, 0x08}, 2, 0, Kind::None, false, 0},
};
/* clang-format on */

/*
 * call_before() rows. @bytes are the @n bytes that end at @ret. Every row
 * also says whether the two copies this decoder replaces disagreed on it
 * (with each other or with the truth): old_kernel() and old_user() below
 * replay them, and the tests check the flag against them.
 */
struct CallRow {
	const char *name;
	u8 bytes[16];
	u8 n;
	u64 ret;
	u64 callee;
	u32 slack;
	u64 from;
	Kind kind;
	bool disputed;
};

inline constexpr u64 kRet = 0x401100;
inline constexpr u64 kCallee = 0x402000;
/* A kernel return address, for a rel32 more than 11 MB back. */
inline constexpr u64 kKernelRet = 0xffffffff81f00000;

/* clang-format off */
inline constexpr CallRow kCalls[] = {
	/* E8 rel32 after nop; mov %rbx,%rdi: kRet + 0xf00 is kCallee, 0x401030 a PLT stub. */
	{"direct_call_to_the_callee_is_call",
	 {0x90, 0x48, 0x89, 0xdf, 0xe8, 0x00, 0x0f, 0x00, 0x00},
	 9, kRet, kCallee, 0, kRet - 5, Kind::Call, false},
	{"direct_call_to_the_endbr64_before_the_callee_is_call_with_slack_4",
	 {0x90, 0x48, 0x89, 0xdf, 0xe8, 0x00, 0x0f, 0x00, 0x00},
	 9, kRet, kCallee + 4, 4, kRet - 5, Kind::Call, true},
	{"direct_call_past_the_slack_goes_through_a_thunk",
	 {0x90, 0x48, 0x89, 0xdf, 0xe8, 0x00, 0x0f, 0x00, 0x00},
	 9, kRet, kCallee + 20, 16, kRet - 5, Kind::CallInd, false},
	{"direct_call_after_the_callee_goes_through_a_thunk",
	 {0x90, 0x48, 0x89, 0xdf, 0xe8, 0x00, 0x0f, 0x00, 0x00},
	 9, kRet, kCallee - 4, 16, kRet - 5, Kind::CallInd, false},
	{"direct_call_to_a_plt_stub_is_call_ind",
	 {0x90, 0x48, 0x89, 0xdf, 0xe8, 0x30, 0xff, 0xff, 0xff},
	 9, kRet, kCallee, 16, kRet - 5, Kind::CallInd, false},

	/*
	 * FF /2: every length, REX, notrack, the kernel's CS padding; after
	 * xor %esi,%esi; mov %rax,%rdi.
	 */
	{"call_rdx_is_two_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0xd2},
	 7, kRet, kCallee, 16, kRet - 2, Kind::CallInd, false},
	{"call_through_rax_memory_is_two_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0x10},
	 7, kRet, kCallee, 16, kRet - 2, Kind::CallInd, true},
	{"call_r11_rex_b_is_three_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0x41, 0xff, 0xd3},
	 8, kRet, kCallee, 16, kRet - 3, Kind::CallInd, true},
	{"call_r11_rex_wb_is_three_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0x49, 0xff, 0xd3},
	 8, kRet, kCallee, 16, kRet - 3, Kind::CallInd, true},
	{"call_disp8_is_three_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0x50, 0x08},
	 8, kRet, kCallee, 16, kRet - 3, Kind::CallInd, true},
	{"call_sib_disp8_is_four_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0x54, 0x24, 0x08},
	 9, kRet, kCallee, 16, kRet - 4, Kind::CallInd, true},
	{"call_r13_disp8_is_four_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0x41, 0xff, 0x55, 0x08},
	 9, kRet, kCallee, 16, kRet - 4, Kind::CallInd, true},
	{"call_rip_relative_is_six_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0x15, 0xe2, 0x2f, 0x00, 0x00},
	 11, kRet, kCallee, 16, kRet - 6, Kind::CallInd, true},
	{"call_disp32_is_six_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0x93, 0x00, 0x01, 0x00, 0x00},
	 11, kRet, kCallee, 16, kRet - 6, Kind::CallInd, true},
	{"call_sib_table_is_seven_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0x14, 0xc5, 0x40, 0x40, 0x40, 0x00},
	 12, kRet, kCallee, 16, kRet - 7, Kind::CallInd, true},
	{"call_absolute_disp32_is_seven_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0xff, 0x14, 0x25, 0x40, 0x40, 0x40, 0x00},
	 12, kRet, kCallee, 16, kRet - 7, Kind::CallInd, true},
	{"call_r12_sib_disp32_with_rex_b_is_eight_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0x41, 0xff, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00},
	 13, kRet, kCallee, 16, kRet - 8, Kind::CallInd, true},
	{"notrack_call_rax_is_three_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0x3e, 0xff, 0xd0},
	 8, kRet, kCallee, 16, kRet - 3, Kind::CallInd, true},
	{"cs_padded_patched_retpoline_call_is_five_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0x2e, 0x2e, 0x2e, 0xff, 0xd0},
	 10, kRet, kCallee, 16, kRet - 5, Kind::CallInd, true},
	{"cs_padded_patched_retpoline_call_r11_is_six_bytes",
	 {0x31, 0xf6, 0x48, 0x89, 0xc7, 0x2e, 0x2e, 0x2e, 0x41, 0xff, 0xd3},
	 11, kRet, kCallee, 16, kRet - 6, Kind::CallInd, true},

	/* Ambiguous bytes: what call_before() believes, and why (x86.h). */
	{"e8_in_the_previous_instruction_is_not_a_call",
	 {0x48, 0x8b, 0x45, 0xe8, 0x89, 0xc7, 0xff, 0xd0},
	 8, kRet, kCallee, 16, kRet - 2, Kind::CallInd, true},
	{"disp8_0x40_before_call_rax_is_not_a_rex_prefix",
	 {0x90, 0x31, 0xf6, 0x48, 0x8b, 0x47, 0x40, 0xff, 0xd0},
	 9, kRet, kCallee, 16, kRet - 2, Kind::CallInd, false},
	{"rel8_0x4a_before_call_rdx_is_not_a_rex_prefix",
	 {0x90, 0x48, 0x85, 0xd2, 0x74, 0x4a, 0xff, 0xd2},
	 8, kRet, kCallee, 16, kRet - 2, Kind::CallInd, false},
	{"modrm_0x3e_before_call_rip_relative_is_not_notrack",
	 {0x49, 0x8b, 0x3e, 0xff, 0x15, 0xb7, 0xd2, 0x02, 0x00},
	 9, kRet, kCallee, 16, kRet - 6, Kind::CallInd, true},
	{"disp32_ending_in_ff_d0_belongs_to_the_longer_call",
	 {0x90, 0xff, 0x14, 0xc5, 0x40, 0x00, 0xff, 0xd0},
	 8, kRet, kCallee, 16, kRet - 7, Kind::CallInd, true},
	{"direct_call_to_the_callee_beats_an_ff_form_in_its_rel32",
	 {0x90, 0x90, 0x90, 0xe8, 0x10, 0xff, 0x52, 0xff},
	 8, kKernelRet, kKernelRet - 0xad00f0, 0, kKernelRet - 5, Kind::Call, false},

	/* No call ends at ret. */
	{"no_call_ends_at_ret",
	 {0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10},
	 8, kRet, kCallee, 16, kRet - 1, Kind::None, true},
	{"a_lone_ff_is_no_call", {0xff}, 1, kRet, kCallee, 16, kRet - 1, Kind::None, true},
	{"no_bytes_is_no_call", {}, 0, kRet, kCallee, 16, kRet - 1, Kind::None, true},
};
/* clang-format on */

/*
 * Answers call_before() gives that are wrong for some programs, pinned so
 * that a change of them is deliberate (x86.h explains each choice). The
 * bytes are from a 7.3 vmlinux and the first row is its pattern made up:
 *  - a call through a thunk whose rel32 holds an FF /2 ("e8 10 ff 52 ff"
 *    ends in call *-0x1(%rdx), "e8 af ff 14 00" in call *(%rax,%rax,1)):
 *    rule 2 beats rule 3, from is off by two bytes;
 *  - a disp8 or ModR/M byte 2E or 3E of the previous instruction before a
 *    register call reads as CS padding or notrack: from is one byte early.
 * The kind, CallInd, is right in all of them.
 */
/* clang-format off */
inline constexpr CallRow kLimitations[] = {
	{"ff_form_in_a_thunk_calls_rel32_beats_the_e8",
	 {0x90, 0x90, 0x90, 0xe8, 0x10, 0xff, 0x52, 0xff},
	 8, kKernelRet, kKernelRet, 16, kKernelRet - 3, Kind::CallInd, false},
	{"ff_14_00_in_a_thunk_calls_rel32_beats_the_e8",
	 {0x89, 0xfb, 0x48, 0xc7, 0xc7, 0x00, 0xea, 0xe0, 0x81, 0x51, 0xe8, 0xaf, 0xff, 0x14, 0x00},
	 15, kKernelRet, kKernelRet, 16, kKernelRet - 3, Kind::CallInd, false},
	{"disp8_0x2e_before_call_rax_reads_as_a_cs_prefix",
	 {0x48, 0x8d, 0x54, 0x24, 0x2f, 0x48, 0x8d, 0x74, 0x24, 0x2e, 0xff, 0xd0},
	 12, kRet, kCallee, 16, kRet - 3, Kind::CallInd, false},
	{"modrm_0x3e_before_call_rdx_reads_as_notrack",
	 {0x48, 0x85, 0xd2, 0x74, 0x07, 0x48, 0x8b, 0x3e, 0xff, 0xd2},
	 10, kRet, kCallee, 16, kRet - 3, Kind::CallInd, false},
};
/* clang-format on */

/*
 * The two copies x86.h replaces, replayed for the table's disputed flags:
 * module/source.cpp's classify() read the 5 bytes before @ret, took an E8
 * as direct when its target was at most 15 bytes before the callee, else
 * FF /2 from ret - 2 or ret - 3 by two byte tests, else ret - 1, always a
 * call; module/usource.cpp's classify() read 8, took an E8 as direct only
 * on the callee itself, FF 15 at ret - 6, FF D0-D7 at ret - 2 (ret - 3
 * after a 41), else "unknown" at ret - 1 (None here).
 */
constexpr CallSite old_kernel(const u8 *bytes, u32 n, u64 ret, u64 ip)
{
	if (n < 5)
		return {ret - 1, Kind::CallInd};
	const u8 *b = bytes + n - 5;
	if (b[0] == 0xe8) {
		s32 rel = static_cast<s32>(b[1] | b[2] << 8 | b[3] << 16 |
					   static_cast<u32>(b[4]) << 24);
		u64 to = ret + static_cast<s64>(rel);
		bool direct = ip >= to && ip - to < 16;
		return {ret - 5, direct ? Kind::Call : Kind::CallInd};
	}
	if (b[3] == 0xff && (b[4] & 0x38) == 0x10)
		return {ret - 2, Kind::CallInd};
	if (b[2] == 0xff && (b[3] & 0x38) == 0x10)
		return {ret - 3, Kind::CallInd};
	return {ret - 1, Kind::CallInd};
}

constexpr CallSite old_user(const u8 *b, u32 n, u64 ret, u64 ip)
{
	if (n >= 5 && b[n - 5] == 0xe8) {
		s32 rel = static_cast<s32>(b[n - 4] | b[n - 3] << 8 | b[n - 2] << 16 |
					   static_cast<u32>(b[n - 1]) << 24);
		u64 to = ret + static_cast<s64>(rel);
		return {ret - 5, to == ip ? Kind::Call : Kind::CallInd};
	}
	if (n >= 6 && b[n - 6] == 0xff && b[n - 5] == 0x15)
		return {ret - 6, Kind::CallInd};
	if (n >= 2 && b[n - 2] == 0xff && (b[n - 1] & 0xf8) == 0xd0)
		return {ret - (n >= 3 && b[n - 3] == 0x41 ? 3 : 2), Kind::CallInd};
	return {ret - 1, Kind::None};
}

constexpr bool same(const CallSite &a, const CallSite &b)
{
	return a.from == b.from && a.kind == b.kind;
}

/* Whether the old copies disagreed on @r, with each other or with the truth. */
constexpr bool disputed(const CallRow &r)
{
	const CallSite truth{r.from, r.kind};
	const CallSite k = old_kernel(r.bytes, r.n, r.ret, r.callee);
	const CallSite u = old_user(r.bytes, r.n, r.ret, r.callee);
	return !same(k, u) || !same(k, truth) || !same(u, truth);
}

/* What the runners print. */
constexpr const char *kind_name(Kind k)
{
	constexpr const char *names[] = {"None",      "Jcc",	"Jmp",	   "JmpInd", "Call",
					 "CallInd",   "Ret",	"FarCall", "FarJmp", "FarRet",
					 "Syscall",   "Sysret", "Iret",	   "Int",    "Ud",
					 "RepString", "Halt"};
	const u32 i = static_cast<u32>(k);
	return i < sizeof(names) / sizeof(names[0]) ? names[i] : "?";
}

constexpr bool same(const Insn &a, const Insn &b)
{
	return a.len == b.len && a.kind == b.kind && a.direct == b.direct && a.rel == b.rel;
}

/* The row's answer. */
constexpr Insn insn(const DecodeRow &r)
{
	return {r.len, r.kind, r.direct, r.rel};
}

/*
 * What decode() must answer for the first @m bytes of @r: the row's answer
 * once all its bytes are there, nothing before. The rest of the row's
 * bytes follow the m in memory, so a decoder that read past n would find
 * them and answer with the row's length: decoding r.bytes with n = m for
 * every m < r.len shows at run time that it never does.
 */
constexpr Insn expected_prefix(const DecodeRow &r, u32 m)
{
	return r.len && m >= r.len ? insn(r) : Insn{};
}

/* Whether some row decodes as @k with a length. */
constexpr bool covers(Kind k)
{
	for (const DecodeRow &r : kDecode)
		if (r.kind == k && r.len)
			return true;
	return false;
}

inline constexpr Kind kKinds[] = {
	Kind::None, Kind::Jcc,	   Kind::Jmp,	 Kind::JmpInd,	  Kind::Call,	 Kind::CallInd,
	Kind::Ret,  Kind::FarCall, Kind::FarJmp, Kind::FarRet,	  Kind::Syscall, Kind::Sysret,
	Kind::Iret, Kind::Int,	   Kind::Ud,	 Kind::RepString, Kind::Halt};

/* One call row for in_bounds(): its bytes at the end, then at the start, of a 16-byte array. */
constexpr void call_before_in_bounds(const CallRow &r)
{
	u8 buf[sizeof(r.bytes)] = {};
	const u32 end = sizeof(buf) - r.n;
	for (u32 i = 0; i < r.n; i++)
		buf[end + i] = r.bytes[i];
	call_before(buf + end, r.n, r.ret, r.callee, r.slack);
	for (u32 i = 0; i < sizeof(buf); i++)
		buf[i] = i < r.n ? r.bytes[i] : 0;
	call_before(buf, r.n, r.ret, r.callee, r.slack);
}

/*
 * Every prefix of every row decoded, and every call row searched, with the
 * bytes at the end and at the start of an array that holds nothing else:
 * in a constant expression a read past the array (past n) or before it
 * (before b) is an error, so static_assert(in_bounds()) proves at compile
 * time that neither function ever reads outside its n bytes on this table.
 */
constexpr bool in_bounds()
{
	for (const DecodeRow &r : kDecode) {
		for (u32 m = 0; m <= r.n; m++) {
			u8 buf[kMaxLength] = {};
			for (u32 i = 0; i < m; i++)
				buf[kMaxLength - m + i] = r.bytes[i];
			decode(buf + kMaxLength - m, m);
			decode(buf, m);
		}
	}
	for (const CallRow &r : kCalls)
		call_before_in_bounds(r);
	for (const CallRow &r : kLimitations)
		call_before_in_bounds(r);
	return true;
}

} // namespace lbrctx::x86::table
