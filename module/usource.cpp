// SPDX-License-Identifier: GPL-2.0
/*
 * The user branch source (see include/lbrctx/usource.h).
 *
 * A call record is FROM = the call instruction in user memory (found by
 * decoding the bytes before the return address with include/lbrctx/x86.h,
 * the decoder the kernel source and the plugin use; where no call ends
 * there, the byte before the return address), TO = the probed
 * function's entry, CPL 3. A function entered by a tail call (a jmp) from
 * a probed function finds the uretprobe trampoline as its return address:
 * its FROM comes from the return address the kernel keeps for that frame
 * (the task's return instance), the call that entered the tail caller.
 * A call whose call site cannot be read is not recorded (docs/PMU.md).
 * A return record is
 * FROM = the function, TO = the return address. Each record keeps its
 * frame's return-address slot, so that the unit can drop the calls whose
 * frames a longjmp, an exception or uretprobes' nesting limit (64) left
 * without a return (include/lbrctx/lbr.h).
 *
 * The handlers run in the probed task, preemptible: they read user memory
 * first, then record into this CPU's unit with interrupts off. The unit
 * belongs to the task that runs (the switch hook restores it), so a
 * migration between the two steps records into the right state.
 *
 * The probes are registered while an event that records user branches
 * exists (the first registers them; the last schedules their
 * unregistration, as for the kernel source), and their filter limits the
 * breakpoints to monitored address spaces: every one while a system-wide
 * event exists, else those of per-task events' tasks, and the current
 * task's when it has data (an exec'ing monitored task maps its binary).
 */
#include <lbrctx/core.h>
#include <lbrctx/usource.h>
#include <lbrctx/x86.h>

namespace lbrctx {
namespace {

constinit UserSource g_usource;

/*
 * The user call that returns to @ret, into @ip, from the @n bytes before
 * @ret in @b (include/lbrctx/x86.h): a direct call to @ip is a near
 * relative call; any other call (indirect, or through a PLT stub) a near
 * indirect one. @known: a call instruction ends at @ret.
 */
struct Call {
	u64 from;
	lbr::BrType type;
	bool known;
};

Call classify(u64 ret, u64 ip, const u8 *b, u32 n)
{
	x86::CallSite cs = x86::call_before(b, n, ret, ip, 0);
	return {cs.from, cs.kind == x86::Kind::Call ? lbr::BrType::RelCall : lbr::BrType::IndCall,
		cs.kind != x86::Kind::None};
}

/*
 * The call that returns to @ret, into @ip, from the 8 bytes before @ret in
 * user memory (or those on @ret's page, for a call at a mapping's start).
 * Task context, may fault. @readable: some bytes could be read.
 */
Call call_to(u64 ret, u64 ip, bool &readable)
{
	u8 b[8];
	u32 n = sizeof(b);
	if (!lbrctx_shim_read_user(b, ret - n, n)) {
		n = (ret & 0xfff) < n ? static_cast<u32>(ret & 0xfff) : 0;
		if (n && !lbrctx_shim_read_user(b + sizeof(b) - n, ret - n, n))
			n = 0;
	}
	readable = n != 0;
	return classify(ret, ip, b + sizeof(b) - n, n);
}

} // namespace

UserSource &the_user_source()
{
	return g_usource;
}

/* LazyProbes: mutex held; sleeps. A probe that fails to register is logged and left out. */
Result<void> UserSource::register_locked()
{
	if (!m_live)
		return {};
	Set &s = *m_live;
	for (u32 i = 0; i < s.n; i++) {
		Probe &p = s.probes[i];
		if (p.registered)
			continue;
		int ret = lbrctx_shim_uprobe_register(p.consumer[s.cur[i]].get(), p.inode, p.offset,
						      consumer_id(i, s.cur[i]));
		if (ret)
			lbrctx_info("uprobes: %s %#llx %s not probed (%d)\n", p.path, p.offset,
				    p.name, ret);
		p.registered = !ret;
	}
	return {};
}

/* LazyProbes: mutex held; sleeps until no handler of the set runs. */
void UserSource::unregister_locked()
{
	if (!m_live)
		return;
	Set &s = *m_live;
	bool any = false;
	for (u32 i = 0; i < s.n; i++) {
		if (!s.probes[i].registered)
			continue;
		lbrctx_shim_uprobe_unregister(s.probes[i].consumer[s.cur[i]].get());
		s.probes[i].registered = false;
		any = true;
	}
	if (any)
		lbrctx_shim_uprobe_sync();
}

/*
 * The filter says yes to more address spaces now (a first system-wide
 * user, or a task's address space newly watched). uprobe_apply() is not
 * exported, so each registered probe gets its other consumer registered,
 * which installs the breakpoints the filter now wants, and the old one
 * unregistered; handlers of the old consumer ignore hits from the flip
 * on (current()). Task context, sleeps.
 */
void UserSource::refilter()
{
	k::Guard<k::Mutex> m(m_mutex);
	if (!m_users || !m_live)
		return; /* the next get() registers with the filter as it is */
	Set &s = *m_live;
	bool any = false;
	for (u32 i = 0; i < s.n; i++) {
		Probe &p = s.probes[i];
		if (!p.registered)
			continue;
		u8 next = static_cast<u8>(1 - s.cur[i]);
		int ret = lbrctx_shim_uprobe_register(p.consumer[next].get(), p.inode, p.offset,
						      consumer_id(i, next));
		if (ret) {
			lbrctx_info("uprobes: %s %#llx %s not re-applied (%d)\n", p.path, p.offset,
				    p.name, ret);
			continue;
		}
		__atomic_store_n(&s.cur[i], next, __ATOMIC_RELEASE);
		lbrctx_shim_uprobe_unregister(p.consumer[1 - next].get());
		any = true;
	}
	if (any)
		lbrctx_shim_uprobe_sync();
	m_refilters.add(1);
}

/*
 * A handler's @id: is its consumer the probe's current one? Any context.
 * The live set stays while its probes can run handlers: install() and
 * exit() free a set after unregistering its probes and waiting for them.
 */
bool UserSource::current(u32 id)
{
	const Set *s = __atomic_load_n(&m_live, __ATOMIC_ACQUIRE);
	u32 i = id >> 1;
	return s && i < s->n && __atomic_load_n(&s->cur[i], __ATOMIC_ACQUIRE) == (id & 1);
}

Result<void> UserSource::init(const char *spec)
{
	init_lock("lbrctx_usource_mutex");
	m_mm_lock.init("lbrctx_usource_mm_lock", m_mm_lock_class);
	m_ready = true;
	if (!spec || !*spec)
		return {};
	if (auto r = install(spec); r.is_error()) {
		lbrctx_err("uprobes='%s' is not a set of 'PATH OFFSET NAME' lines (%d)\n", spec,
			   r.error());
		m_ready = false;
		return r;
	}
	return {};
}

void UserSource::exit()
{
	if (!m_ready)
		return;
	k::Guard<k::Mutex> m(m_mutex);
	LBRCTX_WARN_ON(m_users);
	unregister_locked();
	free_set(exchange(m_live, nullptr));
	m_ready = false;
}

bool UserSource::configured()
{
	k::Guard<k::Mutex> m(m_mutex);
	return m_live && m_live->n != 0;
}

UserSource::Stats UserSource::stats()
{
	k::Guard<k::Mutex> m(m_mutex);
	Stats st{};
	if (const Set *s = m_live) {
		st.probes = s->n;
		for (u32 i = 0; i < s->n; i++)
			st.registered += s->probes[i].registered;
		st.bytes = s->bytes;
		st.text = s->text_size;
	}
	st.users = m_users;
	st.entries = m_entries.load();
	st.returns = m_returns.load();
	st.unreadable = m_unreadable.load();
	st.refilters = m_refilters.load();
	st.tailcalls = m_tailcalls.load();
	st.unknown = m_unknown.load();
	st.probe_size = sizeof(Probe) + 1;
	return st;
}

/* Task context: true when the filter says yes to more now. */
bool UserSource::watch_mm(void *mm)
{
	k::Guard<k::SpinLock> g(m_mm_lock);
	Watched *free = nullptr;
	for (auto &w : m_mms) {
		if (w.mm == mm) {
			w.refs++;
			return false;
		}
		if (!w.refs && !free)
			free = &w;
	}
	/* Full: the filter then lets every address space have the breakpoints. */
	if (free)
		*free = {mm, 1};
	return true;
}

void UserSource::unwatch(void *mm)
{
	if (!mm)
		return;
	k::Guard<k::SpinLock> g(m_mm_lock);
	for (auto &w : m_mms) {
		if (w.mm == mm && w.refs) {
			if (!--w.refs)
				w.mm = nullptr;
			return;
		}
	}
}

/*
 * Whether @mm gets the breakpoints: registration, mmap (exec too) and,
 * 6.12+, a handler's removal; sleepable, with mmap_lock held. A false
 * "yes" costs a trap; a false "no" loses records, so when in doubt, yes.
 */
bool UserSource::filter(void *mm)
{
	if (the_store().global_active())
		return true;
	k::Task cur = k::Task::current();
	if (mm == lbrctx_shim_task_mm(cur.raw())) {
		k::RcuReadGuard rcu;
		if (the_store().lookup(cur))
			return true;
	}
	k::Guard<k::SpinLock> g(m_mm_lock);
	bool full = true;
	for (auto &w : m_mms) {
		if (w.refs && w.mm == mm)
			return true;
		full &= w.refs != 0;
	}
	return full;
}

void UserSource::on_entry(u32 id, u64 ip, u64 sp)
{
	if (!current(id))
		return;
	m_entries.add(1);
	u64 ret;
	if (!lbrctx_shim_read_user(&ret, sp, sizeof(ret))) {
		m_unreadable.add(1);
		return;
	}
	bool readable = false;
	Call c{};
	/*
	 * A tail call: the slot is a frame a probed function's uretprobe
	 * took, and holds the trampoline. The call is the one that entered
	 * the frame's first function, to the return address the kernel kept.
	 * Known from the slot when it holds the trampoline address a tail
	 * call showed before (the same in every address space whose
	 * "[uprobes]" page went where the kernel asks, just below TASK_SIZE;
	 * no call returns into that page): the bytes below the trampoline
	 * are unmapped, and decoding them takes a fault: 14 of the 55 us a
	 * tail-called pair of libz calls cost under TCG (docs/PERFORMANCE.md,
	 * U3). Else found when no call ends at the return address.
	 */
	u64 kept, callee;
	bool tail = ret && ret == m_trampoline.load() &&
		    lbrctx_shim_uretprobe_frame(sp, &kept, &callee) && kept != ret;
	if (!tail) {
		c = call_to(ret, ip, readable);
		tail = !c.known && lbrctx_shim_uretprobe_frame(sp, &kept, &callee) && kept != ret;
		if (tail)
			m_trampoline.store(ret);
	}
	if (tail) {
		c = call_to(kept, callee, readable);
		m_tailcalls.add(1);
	}
	/* Nothing to decode: no made-up FROM (ret - 1 might be in no mapping). */
	if (!readable) {
		m_unknown.add(1);
		return;
	}
	pmu::the_pmu().record_here({c.from, ip, c.type, true, lbrctx_shim_local_clock(), sp});
}

/*
 * A sample's user @ip is still a breakpoint (int3, 0xcc) and the word at
 * @sp returns just after a call: the task is at a probed function's first
 * instruction, the call retired (hardware would have recorded it) and the
 * uprobe has not run yet. The call as on_entry() will record it, read
 * without faulting. Any context (the sampling hrtimer's hard IRQ).
 */
bool UserSource::pending_call(u64 ip, u64 sp, lbr::Branch &out)
{
	u8 op;
	u64 ret;
	u8 b[8];
	if (!lbrctx_shim_read_user_nofault(&op, ip, 1) || op != 0xcc ||
	    !lbrctx_shim_read_user_nofault(&ret, sp, sizeof(ret)) ||
	    !lbrctx_shim_read_user_nofault(b, ret - sizeof(b), sizeof(b)))
		return false;
	Call c = classify(ret, ip, b, sizeof(b));
	if (!c.known)
		return false;
	out = {c.from, ip, c.type, true, 0, sp};
	return true;
}

void UserSource::on_return(u32 id, u64 func, u64 ret, u64 sp)
{
	if (!current(id))
		return;
	m_returns.add(1);
	/* ret popped the return address: the frame's slot is just below. */
	pmu::the_pmu().record_here(
		{func, ret, lbr::BrType::Return, true, lbrctx_shim_local_clock(), sp - 8});
}

} // namespace lbrctx

using lbrctx::g_usource;

/* The uprobe handlers (module/shim/uprobe.c): the probed task, preemptible, may sleep. */
extern "C" void lbrctx_uprobe_entry(u32 id, u64 ip, u64 sp) noexcept
{
	g_usource.on_entry(id, ip, sp);
}

extern "C" void lbrctx_uprobe_return(u32 id, u64 func, u64 ret_ip, u64 sp) noexcept
{
	g_usource.on_return(id, func, ret_ip, sp);
}

extern "C" bool lbrctx_uprobe_filter(u32 id, void *mm) noexcept
{
	(void)id;
	return g_usource.filter(mm);
}
