// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_x86: the branch decoder (include/lbrctx/x86.h), pure logic,
 * against the table in kunit/x86_table.h, which the QEMU plugin's host
 * test (qemu/plugin/tests/test_x86.cpp) runs too: every row decoded, every
 * prefix of every row decoded without a read past n, the 15-byte limit,
 * branch targets, and call_before() on the calls the module's two old
 * copies of it disagreed on. A failed row is named in the case's log.
 */
#include <lbrctx/x86.h>

#include "ktest.h"
#include "x86_table.h"

using namespace lbrctx;
using namespace lbrctx::x86;

/* Every prefix of every row in a constant expression: a read outside the bytes cannot compile. */
static_assert(table::in_bounds(), "decode() and call_before() stay within their n bytes");

namespace {

bool expect_insn(struct kunit *test, const char *row, const Insn &got, const Insn &want)
{
	if (table::same(got, want))
		return true;
	lbrctx_kunit_info(test,
			  "row %s: got len %u %s direct %d rel %d, want len %u %s direct %d rel %d",
			  row, got.len, table::kind_name(got.kind), got.direct, got.rel, want.len,
			  table::kind_name(want.kind), want.direct, want.rel);
	return false;
}

bool expect_site(struct kunit *test, const table::CallRow &r, const CallSite &got)
{
	const CallSite want{r.from, r.kind};
	if (table::same(got, want))
		return true;
	lbrctx_kunit_info(test, "row %s: got ret - %lld %s, want ret - %lld %s", r.name,
			  static_cast<long long>(r.ret - got.from), table::kind_name(got.kind),
			  static_cast<long long>(r.ret - want.from), table::kind_name(want.kind));
	return false;
}

CallSite search(const table::CallRow &r)
{
	return call_before(r.bytes, r.n, r.ret, r.callee, r.slack);
}

} // namespace

LBRCTX_KUNIT_CASE(decoder_classifies_every_table_row)
{
	for (const table::DecodeRow &r : table::kDecode)
		KEXPECT(test, expect_insn(test, r.name, decode(r.bytes, r.n), table::insn(r)));
}

LBRCTX_KUNIT_CASE(decoder_table_covers_every_kind)
{
	for (Kind k : table::kKinds)
		if (!KEXPECT(test, table::covers(k)))
			lbrctx_kunit_info(test, "no row decodes as %s", table::kind_name(k));
}

LBRCTX_KUNIT_CASE(decoder_never_reads_past_n)
{
	/* Kept off the kernel stack: a row's bytes at the end of a buffer with nothing after. */
	static u8 buf[64];
	for (const table::DecodeRow &r : table::kDecode) {
		for (u32 m = 0; m <= r.n; m++) {
			const Insn want = table::expected_prefix(r, m);
			/* The rest of the row follows: a read past m would complete it. */
			KEXPECT(test, expect_insn(test, r.name, decode(r.bytes, m), want));
			__builtin_memset(buf, 0xcc, sizeof(buf));
			__builtin_memcpy(buf + sizeof(buf) - m, r.bytes, m);
			const Insn got = decode(buf + sizeof(buf) - m, m);
			KEXPECT(test, expect_insn(test, r.name, got, want));
			KEXPECT(test, got.len <= m);
		}
	}
}

LBRCTX_KUNIT_CASE(decoder_refuses_instructions_longer_than_15_bytes)
{
	u8 b[20];
	/* 13 prefixes + FF D0 are 15 bytes; 14 are 16, #GP, whatever n says. */
	for (u32 prefixes = 0; prefixes <= 16; prefixes++) {
		__builtin_memset(b, 0x2e, sizeof(b));
		b[prefixes] = 0xff;
		b[prefixes + 1] = 0xd0;
		const Insn got = decode(b, sizeof(b));
		KEXPECT_EQ(test, got.len, prefixes + 2 <= kMaxLength ? prefixes + 2 : 0);
		KEXPECT(test, got.kind == (got.len ? Kind::CallInd : Kind::None));
	}
	/* 10 prefixes + E8 rel32 are 15; 11 are 16. */
	for (u32 prefixes = 9; prefixes <= 12; prefixes++) {
		__builtin_memset(b, 0x66, sizeof(b));
		b[prefixes] = 0xe8;
		__builtin_memset(b + prefixes + 1, 0, 4);
		KEXPECT_EQ(test, decode(b, sizeof(b)).len, prefixes <= 10 ? prefixes + 5 : 0);
	}
}

LBRCTX_KUNIT_CASE(decoder_target_is_address_plus_length_plus_sign_extended_rel)
{
	const u8 jmp_self[] = {0xeb, 0xfe};
	const u8 call_back[] = {0xe8, 0x00, 0x00, 0x00, 0x80};
	const u8 jcc_fwd[] = {0x66, 0x0f, 0x84, 0xff, 0xff, 0xff, 0x7f};
	KEXPECT(test, target(decode(jmp_self, 2), 0x401000) == 0x401000);
	KEXPECT(test, target(decode(call_back, 5), 0xffffffff81000000) ==
			      0xffffffff81000005 - 0x80000000ull);
	/* With 66, Intel keeps rel32 and RIP: no truncation to 16 bits. */
	KEXPECT(test, target(decode(jcc_fwd, 7), 0x7f0000001000) == 0x7f0000001007 + 0x7fffffffull);
}

LBRCTX_KUNIT_CASE(call_before_answers_every_table_row)
{
	for (const table::CallRow &r : table::kCalls)
		KEXPECT(test, expect_site(test, r, search(r)));
}

LBRCTX_KUNIT_CASE(call_before_finds_the_call_both_old_copies_disagreed_on)
{
	u32 disputed = 0;
	for (const table::CallRow &r : table::kCalls) {
		/* The row's flag is what the replayed old copies really answered. */
		if (!KEXPECT(test, table::disputed(r) == r.disputed))
			lbrctx_kunit_info(test, "row %s: disputed flag", r.name);
		if (!r.disputed)
			continue;
		disputed++;
		KEXPECT(test, expect_site(test, r, search(r)));
	}
	KEXPECT(test, disputed >= 20);
}

LBRCTX_KUNIT_CASE(call_before_never_reads_outside_its_n_bytes)
{
	static u8 buf[48];
	for (const table::CallRow &r : table::kCalls) {
		/*
		 * CS bytes before b would lengthen any register call, an FF D0
		 * at b + n would be a call of its own: neither may change
		 * the answer.
		 */
		__builtin_memset(buf, 0x2e, sizeof(buf));
		__builtin_memcpy(buf + 16, r.bytes, r.n);
		buf[16 + r.n] = 0xff;
		buf[16 + r.n + 1] = 0xd0;
		KEXPECT(test,
			expect_site(test, r, call_before(buf + 16, r.n, r.ret, r.callee, r.slack)));
	}
}

LBRCTX_KUNIT_CASE(call_before_keeps_its_known_limitations)
{
	for (const table::CallRow &r : table::kLimitations)
		KEXPECT(test, expect_site(test, r, search(r)));
}
