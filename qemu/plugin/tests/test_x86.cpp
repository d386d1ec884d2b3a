// SPDX-License-Identifier: GPL-2.0
/*
 * The host runner of kunit/x86_table.h: include/lbrctx/x86.h as the QEMU
 * plugin compiles it (-DLBRCTX_HOST), checked against the same table and
 * the same properties as the KUnit suite lbrctx_x86 (kunit/test_x86.cpp).
 * One line per row and per property, "ok NAME" or "FAIL NAME: why"; the
 * exit status is 1 if anything failed.
 *
 *   g++ -std=c++20 -DLBRCTX_HOST -Iinclude -Ikunit -Wall -Wextra -Werror -O2 \
 *       qemu/plugin/tests/test_x86.cpp -o /tmp/test_x86 && /tmp/test_x86
 */
#include <cstdio>
#include <cstring>
#include <string>

#include "x86_table.h"

using namespace lbrctx;
using namespace lbrctx::x86;

/* Every prefix of every row in a constant expression: a read outside the bytes cannot compile. */
static_assert(table::in_bounds(), "decode() and call_before() stay within their n bytes");
static_assert(table::covers(Kind::CallInd) && decode(table::kDecode[0].bytes, 2).kind == Kind::Jcc,
	      "the decoder runs at compile time");

namespace {

int g_failed;
int g_passed;

/* The first failed CHECK of the current test, for its FAIL line. */
std::string g_why;

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond) && g_why.empty())                                                 \
			g_why = std::string(#cond) + " at line " + std::to_string(__LINE__) + \
				explain(__VA_ARGS__);                                         \
	} while (0)

std::string explain()
{
	return "";
}

std::string explain(const Insn &got, const Insn &want)
{
	char s[160];
	std::snprintf(s, sizeof(s),
		      ": got len %u %s direct %d rel %d, want len %u %s direct %d rel %d", got.len,
		      table::kind_name(got.kind), got.direct, got.rel, want.len,
		      table::kind_name(want.kind), want.direct, want.rel);
	return s;
}

std::string explain(const CallSite &got, const CallSite &want, u64 ret)
{
	char s[160];
	std::snprintf(s, sizeof(s), ": got ret - %lld %s, want ret - %lld %s",
		      static_cast<long long>(ret - got.from), table::kind_name(got.kind),
		      static_cast<long long>(ret - want.from), table::kind_name(want.kind));
	return s;
}

std::string explain(const char *row)
{
	return std::string(" (row ") + row + ")";
}

void report(const std::string &name)
{
	if (g_why.empty()) {
		std::printf("ok %s\n", name.c_str());
		g_passed++;
	} else {
		std::printf("FAIL %s: %s\n", name.c_str(), g_why.c_str());
		g_failed++;
	}
	g_why.clear();
}

CallSite truth(const table::CallRow &r)
{
	return {r.from, r.kind};
}

/* The bytes copied to the end of a buffer, so that nothing of the row follows them. */
Insn decode_at_end(const u8 *bytes, u32 n)
{
	u8 buf[64];
	std::memset(buf, 0xcc, sizeof(buf));
	std::memcpy(buf + sizeof(buf) - n, bytes, n);
	return decode(buf + sizeof(buf) - n, n);
}

void decoder_classifies_every_table_row()
{
	for (const table::DecodeRow &r : table::kDecode) {
		const Insn got = decode(r.bytes, r.n);
		CHECK(table::same(got, table::insn(r)), got, table::insn(r));
		CHECK(!got.len || got.len <= r.n);
		report(std::string("decode:") + r.name);
	}
}

void decoder_table_covers_every_kind()
{
	for (Kind k : table::kKinds)
		CHECK(table::covers(k), table::kind_name(k));
	report("decoder_table_covers_every_kind");
}

void decoder_never_reads_past_n()
{
	for (const table::DecodeRow &r : table::kDecode) {
		for (u32 m = 0; m <= r.n; m++) {
			const Insn want = table::expected_prefix(r, m);
			/* The rest of the row follows: a read past m would complete it. */
			const Insn got = decode(r.bytes, m);
			CHECK(table::same(got, want), got, want);
			CHECK(got.len <= m);
			CHECK(table::same(decode_at_end(r.bytes, m), want), r.name);
		}
	}
	report("decoder_never_reads_past_n");
}

void decoder_refuses_instructions_longer_than_15_bytes()
{
	u8 b[20];
	/* 13 prefixes + FF D0 are 15 bytes; 14 are 16, #GP, whatever n says. */
	for (u32 prefixes = 0; prefixes <= 16; prefixes++) {
		std::memset(b, 0x2e, sizeof(b));
		b[prefixes] = 0xff;
		b[prefixes + 1] = 0xd0;
		const Insn got = decode(b, sizeof(b));
		const u32 want = prefixes + 2 <= kMaxLength ? prefixes + 2 : 0;
		CHECK(got.len == want, got,
		      Insn{static_cast<u8>(want), want ? Kind::CallInd : Kind::None});
	}
	/* 10 prefixes + E8 rel32 are 15; 11 are 16. */
	for (u32 prefixes = 9; prefixes <= 12; prefixes++) {
		std::memset(b, 0x66, sizeof(b));
		b[prefixes] = 0xe8;
		std::memset(b + prefixes + 1, 0, 4);
		CHECK(decode(b, sizeof(b)).len == (prefixes <= 10 ? prefixes + 5 : 0));
	}
	report("decoder_refuses_instructions_longer_than_15_bytes");
}

void decoder_target_is_address_plus_length_plus_sign_extended_rel()
{
	const u8 jmp_self[] = {0xeb, 0xfe};
	const u8 call_back[] = {0xe8, 0x00, 0x00, 0x00, 0x80};
	const u8 jcc_fwd[] = {0x66, 0x0f, 0x84, 0xff, 0xff, 0xff, 0x7f};
	CHECK(target(decode(jmp_self, 2), 0x401000) == 0x401000);
	CHECK(target(decode(call_back, 5), 0xffffffff81000000) ==
	      0xffffffff81000005 - 0x80000000ull);
	/* With 66, Intel keeps rel32 and RIP: no truncation to 16 bits. */
	CHECK(target(decode(jcc_fwd, 7), 0x7f0000001000) == 0x7f0000001007 + 0x7fffffffull);
	report("decoder_target_is_address_plus_length_plus_sign_extended_rel");
}

void call_before_answers_every_table_row()
{
	for (const table::CallRow &r : table::kCalls) {
		const CallSite got = call_before(r.bytes, r.n, r.ret, r.callee, r.slack);
		CHECK(table::same(got, truth(r)), got, truth(r), r.ret);
		report(std::string("call_before:") + r.name);
	}
}

void call_before_finds_the_call_both_old_copies_disagreed_on()
{
	u32 disputed = 0;
	for (const table::CallRow &r : table::kCalls) {
		/* The row's flag is what the replayed old copies really answered. */
		CHECK(table::disputed(r) == r.disputed, r.name);
		if (!r.disputed)
			continue;
		disputed++;
		const CallSite got = call_before(r.bytes, r.n, r.ret, r.callee, r.slack);
		CHECK(table::same(got, truth(r)), got, truth(r), r.ret);
	}
	CHECK(disputed >= 20);
	report("call_before_finds_the_call_both_old_copies_disagreed_on (" +
	       std::to_string(disputed) + " rows)");
}

void call_before_never_reads_outside_its_n_bytes()
{
	for (const table::CallRow &r : table::kCalls) {
		/*
		 * CS bytes before b would lengthen any register call, an FF D0
		 * at b + n would be a call of its own: neither may change
		 * the answer.
		 */
		u8 buf[48];
		std::memset(buf, 0x2e, sizeof(buf));
		std::memcpy(buf + 16, r.bytes, r.n);
		buf[16 + r.n] = 0xff;
		buf[16 + r.n + 1] = 0xd0;
		const CallSite got = call_before(buf + 16, r.n, r.ret, r.callee, r.slack);
		CHECK(table::same(got, truth(r)), got, truth(r), r.ret);
	}
	report("call_before_never_reads_outside_its_n_bytes");
}

void call_before_keeps_its_known_limitations()
{
	for (const table::CallRow &r : table::kLimitations) {
		const CallSite got = call_before(r.bytes, r.n, r.ret, r.callee, r.slack);
		CHECK(table::same(got, truth(r)), got, truth(r), r.ret);
		report(std::string("call_before_limitation:") + r.name);
	}
}

} // namespace

int main()
{
	decoder_classifies_every_table_row();
	decoder_table_covers_every_kind();
	decoder_never_reads_past_n();
	decoder_refuses_instructions_longer_than_15_bytes();
	decoder_target_is_address_plus_length_plus_sign_extended_rel();
	call_before_answers_every_table_row();
	call_before_finds_the_call_both_old_copies_disagreed_on();
	call_before_never_reads_outside_its_n_bytes();
	call_before_keeps_its_known_limitations();
	std::printf("# %d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
