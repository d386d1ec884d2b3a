// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_units: a CPU's set of units, one per configuration
 * (include/lbrctx/units.h), pure logic: allocation, release, the limit and
 * isolation between units. Then what the user branch source checks of a
 * probe set: the ELF test (include/lbrctx/elf.h) on crafted headers, and
 * the set's parser and file checks through the product's own instance, one
 * errno a row.
 */
#include <lbrctx/elf.h>
#include <lbrctx/kunit_api.h>
#include <lbrctx/units.h>
#include <lbrctx/usource.h>

#include "ktest.h"

using namespace lbrctx;
using namespace lbrctx::lbr;

namespace {

constexpr u64 kAny = ctl::kOs | ctl::kUsr | ctl::kTypeMask;
constexpr Config kAll{kAny, 32};
constexpr Config kCallsOnly{ctl::kOs | ctl::kUsr | ctl::kCalls, 32};
constexpr Config kReturnsOnly{ctl::kOs | ctl::kUsr | ctl::kReturn, 32};
constexpr Config kKernelOnly{ctl::kOs | ctl::kTypeMask, 32};
constexpr Config kStack32{kAny | ctl::kCallStack, 32};
constexpr Config kStack8{kAny | ctl::kCallStack, 8};

/* Four units of ~800 bytes each: kept off the kernel stack. */
constinit UnitSet<4> g_set;

/* A set as the module's CPUs start with it: no slot configured. */
UnitSet<4> &fresh_set()
{
	return *new (&g_set) UnitSet<4>();
}

Branch kcall(u64 n)
{
	return {0xffffffff81000000 + n, 0xffffffff82000000 + n, BrType::RelCall, false, 0};
}
Branch kret(u64 n)
{
	return {0xffffffff82000000 + n, 0xffffffff81000005 + n, BrType::Return, false, 0};
}
Branch ucall(u64 n)
{
	return {0x401000 + n, 0x402000 + n, BrType::RelCall, true, 0, 0x7ffff000 - 8 * n};
}

} // namespace

LBRCTX_KUNIT_CASE(units_one_configuration_shares_one_slot)
{
	auto &set = fresh_set();
	bool fresh;
	int a = set.bind(kAll, 1, fresh);
	KASSERT(test, a >= 0);
	KEXPECT(test, fresh);
	KEXPECT_EQ(test, set.bind(kAll, 2, fresh), a);
	KEXPECT(test, !fresh);
	KEXPECT_EQ(test, set.slot(a).users, 2);
	KEXPECT_EQ(test, set.active(), 1u << a);
	KEXPECT(test, set.slot(a).unit.enabled());
	set.unbind(a);
	KEXPECT_EQ(test, set.active(), 1u << a);
	set.unbind(a);
	/*
	 * The last user takes the unit out of active(); it stays enabled (a
	 * hardware unit keeps the running task's call stack until the switch
	 * hook saves it) and keeps its configuration.
	 */
	KEXPECT_EQ(test, set.active(), 0);
	KEXPECT(test, set.slot(a).unit.enabled());
	KEXPECT_EQ(test, set.find(kAll), a);
	KEXPECT_EQ(test, set.configured(), 1u << a);
	/* A stray unbind does not underflow. */
	set.unbind(a);
	KEXPECT_EQ(test, set.slot(a).users, 0);
}

LBRCTX_KUNIT_CASE(units_forget_all_turns_off_only_units_without_users)
{
	auto &set = fresh_set();
	bool fresh;
	int a = set.bind(kAll, 1, fresh);
	int b = set.bind(kCallsOnly, 2, fresh);
	KASSERT(test, a >= 0 && b >= 0);
	set.record(kcall(1), false);
	set.unbind(a);
	set.forget_all();
	/* a had no user: off, unconfigured, empty. b keeps all of it. */
	KEXPECT(test, !set.slot(a).unit.enabled());
	KEXPECT_EQ(test, set.slot(a).unit.count(), 0);
	KEXPECT_EQ(test, set.find(kAll), -1);
	KEXPECT_EQ(test, set.configured(), 1u << b);
	KEXPECT(test, set.slot(b).unit.enabled());
	KEXPECT_EQ(test, set.slot(b).unit.count(), 1);
	KEXPECT_EQ(test, set.active(), 1u << b);
	set.unbind(b);
	set.forget_all();
	KEXPECT_EQ(test, set.configured(), 0);
	/* The next user finds a fresh slot. */
	KEXPECT(test, set.bind(kAll, 3, fresh) >= 0);
	KEXPECT(test, fresh);
}

LBRCTX_KUNIT_CASE(units_distinct_configurations_get_slots_up_to_the_limit)
{
	auto &set = fresh_set();
	const Config c[] = {kAll, kCallsOnly, kReturnsOnly, kStack32};
	bool fresh;
	u32 seen = 0;
	for (u32 i = 0; i < 4; i++) {
		int s = set.bind(c[i], i, fresh);
		KASSERT(test, s >= 0);
		KEXPECT(test, fresh);
		KEXPECT(test, !(seen & (1u << s)));
		seen |= 1u << s;
		KEXPECT(test, set.find(c[i]) == s);
		KEXPECT_EQ(test, set.slot(s).unit.depth(), c[i].depth);
	}
	KEXPECT_EQ(test, set.active(), 0xf);
	/* The fifth configuration finds every slot in use by another. */
	KEXPECT_EQ(test, set.bind(kStack8, 9, fresh), -1);
	KEXPECT_EQ(test, set.find(kStack8), -1);
	/* Another user of a configuration already there still binds. */
	KEXPECT_EQ(test, set.bind(kCallsOnly, 10, fresh), set.find(kCallsOnly));
	/* Released, a slot takes the fifth configuration, fresh. */
	int r = set.find(kReturnsOnly);
	set.unbind(r);
	KEXPECT_EQ(test, set.bind(kStack8, 11, fresh), r);
	KEXPECT(test, fresh);
	KEXPECT_EQ(test, set.slot(r).unit.depth(), 8);
	KEXPECT(test, set.slot(r).unit.call_stack());
	KEXPECT_EQ(test, set.find(kReturnsOnly), -1);
}

LBRCTX_KUNIT_CASE(units_released_slot_keeps_its_records_until_reconfigured)
{
	auto &set = fresh_set();
	bool fresh;
	int a = set.bind(kAll, 1, fresh);
	KASSERT(test, a >= 0);
	for (u64 i = 0; i < 3; i++)
		set.record(kcall(i), false);
	set.unbind(a);
	/* Idle, it records nothing more, and keeps what it had. */
	KEXPECT_EQ(test, set.record(kcall(7), false), 0);
	KEXPECT_EQ(test, set.slot(a).unit.count(), 3);
	KEXPECT_EQ(test, set.bind(kAll, 2, fresh), a);
	KEXPECT(test, !fresh);
	KEXPECT_EQ(test, set.slot(a).unit.count(), 3);
	KEXPECT_EQ(test, set.slot(a).unit.entry(0).from, kcall(2).from);
	set.unbind(a);
	/* Unconfigured slots go first; then the idle one is reconfigured, cleared. */
	const Config others[] = {kCallsOnly, kReturnsOnly, kKernelOnly};
	for (const Config &c : others)
		KEXPECT(test, set.bind(c, 3, fresh) != a);
	KEXPECT_EQ(test, set.bind(kStack32, 4, fresh), a);
	KEXPECT(test, fresh);
	KEXPECT_EQ(test, set.slot(a).unit.count(), 0);
	KEXPECT_EQ(test, set.find(kAll), -1);
}

LBRCTX_KUNIT_CASE(units_idle_slot_configured_longest_ago_is_reused_first)
{
	auto &set = fresh_set();
	bool fresh;
	int a = set.bind(kAll, 10, fresh);
	int b = set.bind(kCallsOnly, 20, fresh);
	int c = set.bind(kReturnsOnly, 30, fresh);
	int d = set.bind(kKernelOnly, 40, fresh);
	KASSERT(test, a >= 0 && b >= 0 && c >= 0 && d >= 0);
	set.unbind(c);
	set.unbind(a);
	set.unbind(b);
	KEXPECT_EQ(test, set.bind(kStack32, 50, fresh), a);
	KEXPECT_EQ(test, set.bind(kStack8, 60, fresh), b);
	KEXPECT_EQ(test, set.find(kReturnsOnly), c);
}

LBRCTX_KUNIT_CASE(units_record_reaches_only_units_with_users_each_by_its_filters)
{
	auto &set = fresh_set();
	bool fresh;
	int calls = set.bind(kCallsOnly, 1, fresh);
	int rets = set.bind(kReturnsOnly, 2, fresh);
	int kern = set.bind(kKernelOnly, 3, fresh);
	int stack = set.bind(kStack32, 4, fresh);
	KASSERT(test, calls >= 0 && rets >= 0 && kern >= 0 && stack >= 0);
	const u32 c = 1u << calls, r = 1u << rets, k = 1u << kern, s = 1u << stack;
	/* A user call, a kernel call above it (a system call's), its return. */
	KEXPECT_EQ(test, set.record(ucall(2), false), c | s);
	KEXPECT_EQ(test, set.record(kcall(1), false), c | k | s);
	KEXPECT_EQ(test, set.record(kret(1), false), r | k | s);
	KEXPECT_EQ(test, set.slot(calls).unit.count(), 2);
	KEXPECT_EQ(test, set.slot(rets).unit.count(), 1);
	KEXPECT_EQ(test, set.slot(kern).unit.count(), 2);
	/* The call-stack unit pushed two calls; the kernel return popped its own. */
	KASSERT_EQ(test, set.slot(stack).unit.count(), 1);
	KEXPECT_EQ(test, set.slot(stack).unit.entry(0).from, ucall(2).from);
	KEXPECT_EQ(test, set.slot(calls).recorded, 2);
	KEXPECT_EQ(test, set.slot(stack).recorded, 3);
	/* A unit whose last user went records nothing. */
	set.unbind(calls);
	KEXPECT_EQ(test, set.record(kcall(3), false), k | s);
	KEXPECT_EQ(test, set.slot(calls).unit.count(), 2);
}

LBRCTX_KUNIT_CASE(units_kernel_return_pops_only_a_stack_whose_top_is_its_call)
{
	auto &set = fresh_set();
	bool fresh;
	int plain = set.bind(kAll, 1, fresh);
	int deep = set.bind(kStack32, 2, fresh);
	int shallow = set.bind(kStack8, 3, fresh);
	KASSERT(test, plain >= 0 && deep >= 0 && shallow >= 0);
	/* Calls are offered as the kernel source offers them; its returns match the top. */
	set.record(kcall(1), false);
	set.record(kcall(2), false);
	/* A return from a function the stacks did not see called: only the plain unit. */
	KEXPECT_EQ(test, set.record(kret(5), true), 1u << plain);
	KEXPECT_EQ(test, set.slot(deep).unit.count(), 2);
	/* The return of the youngest call pops both stacks. */
	KEXPECT_EQ(test, set.record(kret(2), true), (1u << plain) | (1u << deep) | (1u << shallow));
	KEXPECT_EQ(test, set.slot(deep).unit.count(), 1);
	KEXPECT_EQ(test, set.slot(shallow).unit.count(), 1);
	KEXPECT_EQ(test, set.slot(deep).unit.top().to, kcall(1).to);
	/* Nine calls: the depth-8 unit keeps the innermost eight, the other all. */
	for (u64 i = 10; i < 19; i++)
		set.record(kcall(i), false);
	KEXPECT_EQ(test, set.slot(shallow).unit.count(), 8);
	KEXPECT_EQ(test, set.slot(deep).unit.count(), 10);
}

/* ------------------------------------------------------------------------ */

namespace {

/* An x86-64 ELF header with two PT_LOADs: R at [0, 0x1000), R+X at [0x1000, 0x3000). */
constinit u8 g_hdr[elf::kEhdrSize + 2 * elf::kPhdrSize];

void put16(u8 *p, u16 v)
{
	__builtin_memcpy(p, &v, 2);
}
void put32(u8 *p, u32 v)
{
	__builtin_memcpy(p, &v, 4);
}
void put64(u8 *p, u64 v)
{
	__builtin_memcpy(p, &v, 8);
}

void phdr(u32 i, u32 type, u32 flags, u64 off, u64 size)
{
	u8 *ph = g_hdr + elf::kEhdrSize + i * elf::kPhdrSize;
	put32(ph, type);
	put32(ph + 4, flags);
	put64(ph + 8, off);
	put64(ph + 32, size);
}

u8 *make_elf()
{
	__builtin_memset(g_hdr, 0, sizeof(g_hdr));
	g_hdr[0] = 0x7f;
	g_hdr[1] = 'E';
	g_hdr[2] = 'L';
	g_hdr[3] = 'F';
	g_hdr[4] = 2; /* ELFCLASS64 */
	g_hdr[5] = 1; /* ELFDATA2LSB */
	put16(g_hdr + 18, elf::kMachineX86_64);
	put64(g_hdr + 32, elf::kEhdrSize);
	put16(g_hdr + 54, elf::kPhdrSize);
	put16(g_hdr + 56, 2);
	phdr(0, elf::kPtLoad, 4 /* PF_R */, 0, 0x1000);
	phdr(1, elf::kPtLoad, 4 | elf::kPfX, 0x1000, 0x2000);
	return g_hdr;
}

int check(const u8 *h, size_t n, u64 off)
{
	return elf::check_executable_offset(h, n, off).error();
}

} // namespace

LBRCTX_KUNIT_CASE(elf_check_accepts_only_code_offsets_of_x86_64_files)
{
	const size_t n = sizeof(g_hdr);
	const int noexec = -LBRCTX_K_ENOEXEC, inval = -LBRCTX_K_EINVAL;
	u8 *h = make_elf();
	KEXPECT_EQ(test, check(h, n, 0x1000), 0);
	KEXPECT_EQ(test, check(h, n, 0x2fff), 0);
	KEXPECT_EQ(test, check(h, n, 0x10), inval);   /* the read-only segment */
	KEXPECT_EQ(test, check(h, n, 0x3000), inval); /* past the code segment */
	KEXPECT_EQ(test, check(h, elf::kEhdrSize - 1, 0x1000), noexec);
	/* The program headers must lie in the bytes read. */
	KEXPECT_EQ(test, check(h, n - 1, 0x1000), noexec);
	h[1] = 'e';
	KEXPECT_EQ(test, check(h, n, 0x1000), noexec);
	h = make_elf();
	h[4] = 1; /* ELFCLASS32 */
	KEXPECT_EQ(test, check(h, n, 0x1000), noexec);
	h = make_elf();
	h[5] = 2; /* big-endian */
	KEXPECT_EQ(test, check(h, n, 0x1000), noexec);
	h = make_elf();
	put16(h + 18, 183); /* EM_AARCH64 */
	KEXPECT_EQ(test, check(h, n, 0x1000), noexec);
	h = make_elf();
	put16(h + 54, elf::kPhdrSize - 1);
	KEXPECT_EQ(test, check(h, n, 0x1000), noexec);
	h = make_elf();
	put64(h + 32, ~0ull); /* phoff far past the header */
	KEXPECT_EQ(test, check(h, n, 0x1000), noexec);
	h = make_elf();
	phdr(1, 2 /* PT_DYNAMIC */, 4 | elf::kPfX, 0x1000, 0x2000);
	KEXPECT_EQ(test, check(h, n, 0x1000), inval);
}

namespace {

constinit u8 g_file[4096];
constinit char g_spec[4096];

/* The file offset of the first executable PT_LOAD of @path, or 0. */
u64 code_offset(const char *path)
{
	long n = lbrctx_kt_file_read(path, g_file, sizeof(g_file));
	if (n < elf::kEhdrSize)
		return 0;
	u64 phoff = elf::load<u64>(g_file + 32);
	u16 phnum = elf::load<u16>(g_file + 56);
	for (u16 i = 0; i < phnum && phoff + (i + 1) * elf::kPhdrSize <= static_cast<u64>(n); i++) {
		const u8 *ph = g_file + phoff + i * elf::kPhdrSize;
		if (elf::load<u32>(ph) == elf::kPtLoad && (elf::load<u32>(ph + 4) & elf::kPfX))
			return elf::load<u64>(ph + 8);
	}
	return 0;
}

} // namespace

/*
 * The uprobe set's ELF check reads the file it opened (module/usource.cpp,
 * check_file()): a rename over the path after the open changes what the
 * path names, not what is checked. The old check, which opened the path
 * a second time, would have read the file renamed over it.
 */
LBRCTX_KUNIT_CASE(uprobe_elf_check_reads_the_opened_file_not_its_path)
{
	const char *path = "/tmp/lbrctx_toctou";
	test::InitFs fs;
	KASSERT_EQ(test,
		   lbrctx_kt_run("cp /bin/true /tmp/lbrctx_toctou && "
				 "head -c 1048576 /dev/zero >/tmp/lbrctx_toctou.swap"),
		   0);
	u64 off = code_offset(path);
	KASSERT(test, off != 0);
	int err = 0;
	void *file = lbrctx_shim_file_open(path, &err);
	KASSERT(test, file);
	KASSERT_EQ(test, lbrctx_kt_run("mv /tmp/lbrctx_toctou.swap /tmp/lbrctx_toctou"), 0);
	KEXPECT_EQ(test, lbrctx_kunit_uprobe_check_elf(file, off), 0);
	lbrctx_shim_file_close(file);
	/* The path names the other file now (zeros, as long as any offset), and the same check refuses it. */
	void *now = lbrctx_shim_file_open(path, &err);
	KASSERT(test, now);
	KEXPECT_EQ(test, lbrctx_kunit_uprobe_check_elf(now, off), -LBRCTX_K_ENOEXEC);
	lbrctx_shim_file_close(now);
	lbrctx_kt_run("rm -f /tmp/lbrctx_toctou");
}

namespace {

/* Text builders: @v in base @base (16 with a 0x prefix), a string. */
char *put_num(char *o, u64 v, u32 base)
{
	char d[24];
	u32 n = 0;
	do {
		d[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (base == 16) {
		*o++ = '0';
		*o++ = 'x';
	}
	while (n)
		*o++ = d[--n];
	*o = 0;
	return o;
}
char *put_str(char *o, const char *s)
{
	while (*s)
		*o++ = *s++;
	*o = 0;
	return o;
}

/* @spec with "OFF" replaced by @off in hex, into g_spec. */
const char *with_offset(const char *spec, u64 off)
{
	char *o = g_spec;
	for (const char *p = spec; *p;) {
		if (p[0] == 'O' && p[1] == 'F' && p[2] == 'F') {
			o = put_num(o, off, 16);
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	return g_spec;
}

/* @n lines "/bin/sh OFF+i fI" into @buf (24 bytes a line at most). */
const char *lines(char *buf, u32 n, u64 off)
{
	char *o = buf;
	for (u32 i = 0; i < n; i++) {
		o = put_str(o, "/bin/sh ");
		o = put_num(o, off + i, 16);
		o = put_str(o, " f");
		o = put_num(o, i, 10);
		o = put_str(o, "\n");
	}
	return buf;
}

struct SpecRow {
	const char *what;
	const char *spec;
	int err;
};

/* The guest's root is the host's (Debian): /bin/sh, /etc/passwd and /tmp are there. */
constexpr SpecRow spec_rows[] = {
	{"no such file", "/no/such/file OFF f", -LBRCTX_K_ENOENT},
	{"a directory", "/tmp OFF f", -LBRCTX_K_EISDIR},
	{"not an ELF file", "/etc/passwd 0x2 f", -LBRCTX_K_ENOEXEC},
	{"a device", "/dev/null 0x0 f", -LBRCTX_K_EINVAL},
	{"no read_folio (debugfs)", "/sys/kernel/debug/lbrctx/pmu 0x0 f", -LBRCTX_K_EIO},
	{"offset beyond the file", "/bin/sh 0x10000000 f", -LBRCTX_K_EINVAL},
	{"offset in the headers", "/bin/sh 0x10 f", -LBRCTX_K_EINVAL},
	{"relative path", "bin/sh OFF f", -LBRCTX_K_EINVAL},
	{"offset not a number", "/bin/sh zz f", -LBRCTX_K_EINVAL},
	{"offset overflows", "/bin/sh 0x10000000000000000 f", -LBRCTX_K_EINVAL},
	{"name missing", "/bin/sh OFF", -LBRCTX_K_EINVAL},
	{"extra field", "/bin/sh OFF f g", -LBRCTX_K_EINVAL},
	{"given twice", "/bin/sh OFF f\n/bin/sh OFF g", -LBRCTX_K_EEXIST},
	{"a bad line spoils the set", "/bin/sh OFF f;/no/such/file OFF g", -LBRCTX_K_ENOENT},
};

} // namespace

LBRCTX_KUNIT_CASE(uprobes_set_refusals_leave_the_set_as_it_was)
{
	/* 7.x runs kthreads in nullfs: resolve paths in init's root, as a writer of the file would. */
	test::InitFs fs;
	u64 off = code_offset("/bin/sh");
	KASSERT(test, off != 0);
	KASSERT_EQ(test, lbrctx_kunit_uprobes_set(""), 0);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), 0);
	KASSERT_EQ(test, lbrctx_kunit_uprobes_set(with_offset("/bin/sh OFF f\n\n", off)), 0);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), 1);
	/* Two lines, ';'-separated; a decimal offset. */
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_set(with_offset("/bin/sh OFF f;/bin/sh OFF g", off)),
		   -LBRCTX_K_EEXIST);
	char dec[64];
	put_str(put_num(put_str(dec, "/bin/sh "), off + 1, 10), " g;");
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_set(dec), 0);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), 1);
	for (const SpecRow &r : spec_rows) {
		int got = lbrctx_kunit_uprobes_set(with_offset(r.spec, off));
		if (got != r.err)
			lbrctx_kunit_info(test, "row '%s': %d, expected %d", r.what, got, r.err);
		KEXPECT_EQ(test, got, r.err);
		KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), 1);
	}
	/*
	 * The limits: kMaxProbes probes (one file opened once for them all);
	 * one line more is refused before any file is opened.
	 */
	char *big = static_cast<char *>(lbrctx_shim_kvzalloc(UserSource::kSpecMax + 1));
	KASSERT(test, big);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_set(lines(big, UserSource::kMaxProbes + 1, off)),
		   -LBRCTX_K_ENOSPC);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), 1);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_set(lines(big, UserSource::kMaxProbes, off)), 0);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), UserSource::kMaxProbes);
	/* The text's limit: one byte short of it passes the length check, the limit does not. */
	__builtin_memset(big, ' ', UserSource::kSpecMax);
	big[UserSource::kSpecMax] = 0;
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_set(big), -LBRCTX_K_E2BIG);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), UserSource::kMaxProbes);
	big[UserSource::kSpecMax - 1] = 0;
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_set(big), 0); /* blank: the empty set */
	lbrctx_shim_kvfree(big);
	KEXPECT_EQ(test, lbrctx_kunit_uprobes_count(), 0);
}
