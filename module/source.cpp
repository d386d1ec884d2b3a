// SPDX-License-Identifier: GPL-2.0
/*
 * The branch source: real kernel calls and returns, from fprobe entry and
 * exit handlers (module/shim/source.c), fed into this CPU's emulated LBR.
 *
 * The probes exist only while an lbrctx event that uses the unit exists:
 * the first such event registers them, and the last one schedules their
 * unregistration on a workqueue (event destroy may run under perf's
 * context mutex, where unregistering ftrace ops is best avoided). While
 * they exist, a handler on a CPU whose unit is disabled returns at once.
 *
 * A call record is FROM = the call instruction (found by decoding the
 * bytes before the return address), TO = the probed function's entry. A
 * direct call (E8 rel32 whose target is the function) is a near relative
 * call; anything else that returns there (an indirect call, a retpoline
 * thunk) is a near indirect call. A return record is FROM = the function,
 * TO = the return address; in call-stack mode a return pops only the
 * record of its own call, so a return whose call was recorded under
 * another task's state (or before the event started) changes nothing.
 */
#include <lbrctx/pmu.h>

namespace lbrctx::source {
namespace {

constexpr size_t kSpecMax = 256;

struct State {
	/* The probe set, under the source mutex. */
	char spec[kSpecMax];
	char buf[kSpecMax];		/* spec split into NUL-terminated patterns */
	const char *pattern[LBRCTX_MAX_PATTERNS];
	u32 npatterns;
	bool registered[LBRCTX_MAX_PATTERNS];
	u32 nregistered;
	u32 users;
	bool ready;
};

constinit State g{};

class [[nodiscard]] SourceMutex : Pinned {
public:
	SourceMutex() { lbrctx_shim_source_mutex_lock(); }
	~SourceMutex() { lbrctx_shim_source_mutex_unlock(); }
};

bool pattern_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '*' || ch == '?' || ch == '.' || ch == '[' || ch == ']';
}

bool is_sep(char ch) { return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n'; }

/* Parse "a,b c" into @buf/@pattern. -EINVAL for a bad character or too many patterns. */
int parse(const char *spec, char (&buf)[kSpecMax], const char *(&pattern)[LBRCTX_MAX_PATTERNS],
	  u32 &n)
{
	size_t len = 0;
	while (spec[len])
		len++;
	if (len >= kSpecMax)
		return -LBRCTX_K_E2BIG;
	n = 0;
	bool in = false;
	for (size_t i = 0; i <= len; i++) {
		char ch = spec[i];
		if (ch && !is_sep(ch) && !pattern_char(ch)) {
			lbrctx_shim_log_rl(LBRCTX_LOG_INFO, "probes: character '%c' is not allowed in a function glob\n", ch);
			return -LBRCTX_K_EINVAL;
		}
		if (ch && !is_sep(ch)) {
			if (!in) {
				if (n == LBRCTX_MAX_PATTERNS) {
					lbrctx_shim_log_rl(LBRCTX_LOG_INFO, "probes: at most %d patterns\n", LBRCTX_MAX_PATTERNS);
					return -LBRCTX_K_EINVAL;
				}
				pattern[n++] = &buf[i];
				in = true;
			}
			buf[i] = ch;
		} else {
			buf[i] = 0;
			in = false;
		}
	}
	if (!n) {
		lbrctx_shim_log_rl(LBRCTX_LOG_INFO, "probes: no pattern given\n");
		return -LBRCTX_K_EINVAL;
	}
	return 0;
}

/* Source mutex held. */
void unregister_all()
{
	for (u32 i = 0; i < LBRCTX_MAX_PATTERNS; i++) {
		if (!g.registered[i])
			continue;
		lbrctx_shim_probe_unregister(i);
		g.registered[i] = false;
	}
	g.nregistered = 0;
}

/* Source mutex held; may sleep. -ENOENT when no pattern could be probed. */
int register_all()
{
	for (u32 i = 0; i < g.npatterns; i++) {
		int ret = lbrctx_shim_probe_register(i, g.pattern[i]);
		if (ret) {
			lbrctx_info("probes: pattern '%s' not probed (%d)\n", g.pattern[i], ret);
			continue;
		}
		g.registered[i] = true;
		g.nregistered++;
	}
	if (g.nregistered)
		return 0;
	lbrctx_shim_log_rl(LBRCTX_LOG_INFO, "probes: none of '%s' could be probed\n", g.spec);
	return -LBRCTX_K_ENOENT;
}

struct Call {
	u64 from;
	lbr::BrType type;
};

/* Decode the call instruction that returns to @ret_ip (see the top of the file). */
Call classify(u64 ret_ip, u64 ip)
{
	u8 b[5];
	if (!ret_ip || !lbrctx_shim_read_kernel(b, ret_ip - 5, sizeof(b)))
		return {ret_ip ? ret_ip - 1 : 0, lbr::BrType::IndCall};
	if (b[0] == 0xe8) {
		s32 rel = static_cast<s32>(b[1] | b[2] << 8 | b[3] << 16 | static_cast<u32>(b[4]) << 24);
		u64 target = ret_ip + static_cast<s64>(rel);
		/* ip may sit past an ENDBR64 at the function's start. */
		bool direct = ip >= target && ip - target < 16;
		return {ret_ip - 5, direct ? lbr::BrType::RelCall : lbr::BrType::IndCall};
	}
	/* FF /2: call r/m64, 2 or 3 bytes for a register operand (with REX.B). */
	if (b[3] == 0xff && (b[4] & 0x38) == 0x10)
		return {ret_ip - 2, lbr::BrType::IndCall};
	if (b[2] == 0xff && (b[3] & 0x38) == 0x10)
		return {ret_ip - 3, lbr::BrType::IndCall};
	return {ret_ip - 1, lbr::BrType::IndCall};
}

/*
 * Replace the probe set with @spec (module load and the debugfs file);
 * re-registers when probes are live. Task context.
 */
int install(const char *spec)
{
	char buf[kSpecMax];
	const char *pattern[LBRCTX_MAX_PATTERNS];
	u32 n;
	int ret = parse(spec, buf, pattern, n);
	if (ret)
		return ret;
	SourceMutex m;
	bool live = g.nregistered != 0;
	if (live)
		unregister_all();
	size_t i = 0;
	for (; spec[i]; i++)
		g.spec[i] = spec[i];
	g.spec[i] = 0;
	/* Drop a trailing newline from echo. */
	while (i && is_sep(g.spec[i - 1]))
		g.spec[--i] = 0;
	for (i = 0; i < kSpecMax; i++)
		g.buf[i] = buf[i];
	g.npatterns = n;
	for (u32 j = 0; j < n; j++)
		g.pattern[j] = g.buf + (pattern[j] - buf);
	if (live || g.users)
		return register_all();
	return 0;
}

} // namespace

Result<void> init()
{
	const char *spec = lbrctx_param_probes();
	int ret = install(spec ? spec : "");
	if (ret) {
		lbrctx_err("probes='%s' is not a list of function globs (%d)\n", spec, ret);
		return Error{ret};
	}
	if (int r = lbrctx_shim_anchor_register())
		lbrctx_warn("fgraph anchor not registered (%d): re-registering probes may hit the kernel's fgraph bug\n", r);
	g.ready = true;
	lbrctx_info("branch source: %s; probes '%s'\n", lbrctx_shim_source_name(), spec ? spec : "");
	if (!lbrctx_shim_source_available())
		lbrctx_warn("no branch source: this kernel has neither CONFIG_FPROBE nor CONFIG_KRETPROBES; lbrctx events are refused\n");
	return {};
}

void exit()
{
	if (!g.ready)
		return;
	lbrctx_shim_flush_reap();
	SourceMutex m;
	LBRCTX_WARN_ON(g.users);
	unregister_all();
	lbrctx_shim_anchor_unregister();
	g.ready = false;
}

Result<void> get()
{
	SourceMutex m;
	if (g.users++ || g.nregistered)
		return {};
	int ret = register_all();
	if (ret) {
		g.users--;
		return Error{ret};
	}
	return {};
}

void put()
{
	SourceMutex m;
	if (!LBRCTX_WARN_ON(!g.users) && !--g.users)
		lbrctx_shim_schedule_reap();
}

u32 registered()
{
	SourceMutex m;
	return g.nregistered;
}

u32 users()
{
	SourceMutex m;
	return g.users;
}

u64 missed()
{
	SourceMutex m;
	u64 n = 0;
	for (u32 i = 0; i < LBRCTX_MAX_PATTERNS; i++)
		if (g.registered[i])
			n += lbrctx_shim_probe_missed(i);
	return n;
}

} // namespace lbrctx::source

using namespace lbrctx;

/* Workqueue: the last user went away; unregister unless a new one came. */
extern "C" void lbrctx_source_reap(void) noexcept
{
	source::SourceMutex m;
	if (!source::g.users)
		source::unregister_all();
}

/*
 * Function entry (see module/shim/source.c for the context). Returns true
 * when the exit handler must run for this call.
 */
extern "C" bool lbrctx_source_entry(u64 ip, u64 ret_ip, u64 sp, struct lbrctx_call *call) noexcept
{
	call->armed = 0;
	call->ret_ip = ret_ip;
	unsigned long flags = lbrctx_shim_irq_save();
	pmu::CpuState *c = pmu::this_cpu();
	if (!c->unit.enabled()) {
		lbrctx_shim_irq_restore(flags);
		return false;
	}
	if (lbrctx_shim_in_nmi()) {
		c->dropped++;
		lbrctx_shim_irq_restore(flags);
		return false;
	}
	/* Two overlapping patterns probe one call twice: same function, same stack. */
	pmu::CallKey &last = c->last_call[lbrctx_shim_ctx_level() & 3];
	if (sp && last.ip == ip && last.sp == sp) {
		lbrctx_shim_irq_restore(flags);
		return false;
	}
	last = {ip, sp};
	auto k = source::classify(ret_ip, ip);
	auto op = c->unit.record({k.from, ip, k.type, false, lbrctx_shim_local_clock()});
	if (op != lbr::Op::Filtered)
		pmu::on_branch(c);
	call->armed = 1;
	lbrctx_shim_irq_restore(flags);
	return true;
}

/* Function return: the same contexts as the entry, possibly on another CPU. */
extern "C" void lbrctx_source_exit(u64 ip, struct lbrctx_call *call) noexcept
{
	if (!call->armed)
		return;
	unsigned long flags = lbrctx_shim_irq_save();
	pmu::CpuState *c = pmu::this_cpu();
	pmu::CallKey &last = c->last_call[lbrctx_shim_ctx_level() & 3];
	if (last.ip == ip)
		last = {};
	lbr::Unit &u = c->unit;
	if (u.enabled() && (!u.call_stack() || u.top().to == ip)) {
		auto op = u.record({ip, call->ret_ip, lbr::BrType::Return, false, lbrctx_shim_local_clock()});
		if (op != lbr::Op::Filtered)
			pmu::on_branch(c);
	}
	lbrctx_shim_irq_restore(flags);
}

/* debugfs "probes" read: the current set. */
extern "C" int lbrctx_source_show(char *buf, size_t size) noexcept
{
	source::SourceMutex m;
	size_t n = 0;
	for (; source::g.spec[n] && n + 2 < size; n++)
		buf[n] = source::g.spec[n];
	buf[n++] = '\n';
	return static_cast<int>(n);
}

/* debugfs "probes" write: replace the set; re-registers when probes are live. Task context. */
extern "C" int lbrctx_source_set(const char *spec) noexcept
{
	return source::install(spec);
}
