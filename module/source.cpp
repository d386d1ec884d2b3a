// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel branch source: real kernel calls and returns, from fprobe
 * entry and exit handlers (kretprobes without CONFIG_FPROBE; the probes
 * themselves are in module/shim/source.c), fed into this CPU's emulated
 * LBR unit.
 *
 * The probes exist only while an lbrctx event that uses the unit exists:
 * the first such event registers them, and the last one schedules their
 * unregistration on a workqueue (event destroy may run under perf's
 * context mutex, where unregistering ftrace ops is best avoided). While
 * they exist, a handler on a CPU whose unit is disabled returns at once.
 *
 * A call record is FROM = the call instruction (found by decoding the
 * bytes before the return address with include/lbrctx/x86.h, the decoder
 * the user source and the plugin use), TO = the probed function's entry.
 * A direct call (E8 rel32 whose target is the function, or up to 16 bytes
 * before it) is a near relative call; anything else that returns there
 * (an indirect call, a retpoline thunk) is a near indirect call. A return record is FROM = the function,
 * TO = the return address; in call-stack mode a return pops only the
 * record of its own call, so a return whose call was recorded under
 * another task's state (or before the event started) changes nothing.
 */
#include <lbrctx/pmu.h>
#include <lbrctx/source.h>
#include <lbrctx/usource.h>
#include <lbrctx/x86.h>

namespace lbrctx {
namespace {

constinit Source g_source;

bool pattern_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '*' || ch == '?' || ch == '.' || ch == '[' || ch == ']';
}

bool glob_char(char ch)
{
	return ch == '*' || ch == '?' || ch == '[';
}

bool is_sep(char ch)
{
	return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n';
}

/*
 * The kernel call that returns to @ret_ip, into @ip (see the top of the
 * file): decoded by include/lbrctx/x86.h from the bytes before the
 * return address (up to 15, fewer where they would cross into a page that
 * cannot be read). A direct call's target may sit up to 16 bytes before
 * @ip: an ENDBR64 (IBT) or call-depth padding at the function's start.
 */
x86::CallSite decode_call(u64 ret_ip, u64 ip)
{
	static constexpr u32 kTries[] = {x86::kMaxLength, 8, 5};
	u8 b[x86::kMaxLength];
	for (u32 n : kTries) {
		if (ret_ip > n && lbrctx_shim_read_kernel(b, ret_ip - n, n))
			return x86::call_before(b, n, ret_ip, ip, 16);
	}
	return {ret_ip ? ret_ip - 1 : 0, x86::Kind::None};
}

/*
 * The kernel source's call sites, per CPU: decoding reads kernel memory
 * with copy_from_kernel_nofault(), and a probed function is called from
 * the same few sites again and again. Direct mapped by return address;
 * an entry holds the callee too, since an indirect call site reaches
 * many. Interrupts off, on its CPU.
 */
using Site = pmu::SiteEntry;

Site &site_of(pmu::CpuState *c, u64 ret_ip, u64 ip)
{
	Site &s = c->sites[(ret_ip ^ (ret_ip >> 7) ^ (ip >> 4)) % pmu::kSites];
	if (s.ret_ip != ret_ip || s.ip != ip) {
		x86::CallSite cs = decode_call(ret_ip, ip);
		s = {ret_ip, ip, cs.from,
		     cs.kind == x86::Kind::Call ? lbr::BrType::RelCall : lbr::BrType::IndCall};
	}
	return s;
}

} // namespace

Source &the_source()
{
	return g_source;
}

const char *Source::kind_name() const
{
	switch (lbrctx_shim_source_kind()) {
	case LBRCTX_SOURCE_FPROBE:
		return "fprobe (function entry and return, globs)";
	case LBRCTX_SOURCE_KRETPROBE:
		return "kretprobe (no CONFIG_FPROBE in this kernel: exact function names, no globs)";
	default:
		return "none";
	}
}

/*
 * Parse "a,b c" into @p. -E2BIG for a spec too long; -EINVAL for a bad
 * character, too many patterns, none, or a glob the kretprobe source
 * cannot take.
 */
Result<void> Source::parse(const char *spec, Patterns &p) const
{
	size_t len = 0;
	while (spec[len])
		len++;
	if (len >= kSpecMax) {
		lbrctx_refusal("probes: at most %zu characters\n", kSpecMax - 1);
		return err::too_big();
	}
	bool exact_only = lbrctx_shim_source_kind() == LBRCTX_SOURCE_KRETPROBE;
	p.n = 0;
	bool in = false;
	for (size_t i = 0; i <= len; i++) {
		char ch = spec[i];
		if (!ch || is_sep(ch)) {
			p.buf[i] = 0;
			in = false;
			continue;
		}
		if (!pattern_char(ch)) {
			lbrctx_refusal("probes: character '%c' is not allowed in a function glob\n",
				       ch);
			return err::inval();
		}
		if (exact_only && glob_char(ch)) {
			lbrctx_refusal(
				"probes: the kretprobe source takes exact function names, not globs ('%c')\n",
				ch);
			return err::inval();
		}
		if (!in) {
			if (p.n == LBRCTX_MAX_PATTERNS) {
				lbrctx_refusal("probes: at most %d patterns\n",
					       LBRCTX_MAX_PATTERNS);
				return err::inval();
			}
			p.pattern[p.n++] = &p.buf[i];
			in = true;
		}
		p.buf[i] = ch;
	}
	if (!p.n) {
		lbrctx_refusal("probes: no pattern given\n");
		return err::inval();
	}
	return {};
}

/* LazyProbes: the source mutex held. */
void Source::unregister_locked()
{
	for (u32 i = 0; i < LBRCTX_MAX_PATTERNS; i++) {
		if (!m_registered[i])
			continue;
		lbrctx_shim_probe_unregister(i);
		m_registered[i] = false;
	}
	m_nregistered = 0;
}

/*
 * LazyProbes: the source mutex held; may sleep. Probes still registered
 * (a reap pending) serve as they are. A pattern the kernel refuses is
 * logged and left out; -ENOENT when none could be probed.
 */
Result<void> Source::register_locked()
{
	if (m_nregistered)
		return {};
	for (u32 i = 0; i < m_patterns.n; i++) {
		int ret = lbrctx_shim_probe_register(i, m_patterns.pattern[i]);
		if (ret) {
			lbrctx_info("probes: pattern '%s' not probed (%d)\n", m_patterns.pattern[i],
				    ret);
			continue;
		}
		m_registered[i] = true;
		m_nregistered++;
	}
	if (m_nregistered)
		return {};
	lbrctx_refusal("probes: none of '%s' could be probed\n", m_spec);
	return err::noent();
}

/* A debugfs write of @len bytes (@spec is null when it was too long to copy). */
Result<void> Source::install(const char *spec, size_t len)
{
	if (len >= kSpecMax || !spec) {
		lbrctx_refusal("probes: at most %zu characters\n", kSpecMax - 1);
		return err::too_big();
	}
	return install(spec);
}

Result<void> Source::install(const char *spec)
{
	Patterns fresh;
	TRY(parse(spec, fresh));
	k::Guard<k::Mutex> m(m_mutex);
	bool live = m_nregistered != 0;
	if (live)
		unregister_locked();
	size_t i = 0;
	for (; spec[i]; i++)
		m_spec[i] = spec[i];
	m_spec[i] = 0;
	/* Drop a trailing newline from echo. */
	while (i && is_sep(m_spec[i - 1]))
		m_spec[--i] = 0;
	m_patterns = fresh;
	/* The patterns point into buf: rebase them onto our copy. */
	for (u32 j = 0; j < fresh.n; j++)
		m_patterns.pattern[j] = m_patterns.buf + (fresh.pattern[j] - fresh.buf);
	if (live || m_users)
		return register_locked();
	return {};
}

Result<void> Source::init(const char *spec)
{
	init_lock("lbrctx_source_mutex");
	if (auto r = install(spec ? spec : ""); r.is_error()) {
		lbrctx_err("probes='%s' is not a list of function names or globs (%d)\n", spec,
			   r.error());
		return r;
	}
	if (int r = lbrctx_shim_anchor_register())
		lbrctx_warn(
			"fgraph anchor not registered (%d): re-registering probes may hit the kernel's fgraph bug\n",
			r);
	m_ready = true;
	if (lbrctx_shim_source_kind() == LBRCTX_SOURCE_NONE)
		lbrctx_warn(
			"no branch source: this kernel has neither CONFIG_FPROBE nor CONFIG_KRETPROBES; lbrctx events are refused\n");
	return {};
}

void Source::exit()
{
	if (!m_ready)
		return;
	lbrctx_shim_reap_cancel();
	k::Guard<k::Mutex> m(m_mutex);
	LBRCTX_WARN_ON(m_users);
	unregister_locked();
	lbrctx_shim_anchor_unregister();
	m_ready = false;
}

void Source::show(void *seq)
{
	k::Guard<k::Mutex> m(m_mutex);
	lbrctx_shim_seq_printf(seq, "%s\n", m_spec);
}

void Source::spec(char *buf, size_t size)
{
	k::Guard<k::Mutex> m(m_mutex);
	size_t i = 0;
	for (; size && i + 1 < size && m_spec[i]; i++)
		buf[i] = m_spec[i];
	if (size)
		buf[i] = 0;
}

u32 Source::registered()
{
	k::Guard<k::Mutex> m(m_mutex);
	return m_nregistered;
}

u64 Source::missed()
{
	k::Guard<k::Mutex> m(m_mutex);
	u64 n = 0;
	for (u32 i = 0; i < LBRCTX_MAX_PATTERNS; i++)
		if (m_registered[i])
			n += lbrctx_shim_probe_missed(i);
	return n;
}

} // namespace lbrctx

using namespace lbrctx;

/* Workqueue (task context): the deferred unregistration, of both sources. */
extern "C" void lbrctx_source_reap(void) noexcept
{
	g_source.reap();
	the_user_source().reap();
}

/*
 * Function entry: the probed function's context, with preemption disabled
 * by ftrace's recursion lock (a kretprobe handler: interrupts off); any of
 * task, softirq, hard IRQ or NMI. Returns true when the exit handler must
 * run for this call.
 */
extern "C" bool lbrctx_source_entry(u64 ip, u64 ret_ip, u64 sp, struct lbrctx_call *call) noexcept
{
	call->armed = 0;
	call->ret_ip = ret_ip;
	k::IrqSave irqs;
	pmu::Pmu &pmu = pmu::the_pmu();
	pmu::CpuState *c = pmu.this_cpu();
	if (!c->units.active())
		return false;
	u32 lvl = k::ctx_level();
	if (lvl == 3) {
		c->dropped++; /* NMI */
		return false;
	}
	/* Two overlapping patterns probe one call twice: same function, same stack. */
	pmu::CallKey &last = c->last_call[lvl];
	if (sp && last.ip == ip && last.sp == sp)
		return false;
	last = {ip, sp};
	const Site &site = site_of(c, ret_ip, ip);
	pmu.record_on(c, {site.from, ip, site.type, false, lbrctx_shim_local_clock()}, false);
	call->armed = 1;
	return true;
}

extern "C" void lbrctx_source_exit(u64 ip, struct lbrctx_call *call) noexcept
{
	if (!call->armed)
		return;
	k::IrqSave irqs;
	pmu::Pmu &pmu = pmu::the_pmu();
	pmu::CpuState *c = pmu.this_cpu();
	pmu::CallKey &last = c->last_call[k::ctx_level()];
	if (last.ip == ip)
		last = {};
	if (!c->units.active())
		return;
	/* A call-stack unit pops only the record of this call (see the top of the file). */
	pmu.record_on(c, {ip, call->ret_ip, lbr::BrType::Return, false, lbrctx_shim_local_clock()},
		      true);
}
