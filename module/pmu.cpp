// SPDX-License-Identifier: GPL-2.0
/*
 * The lbrctx PMU (see include/lbrctx/pmu.h). The shim (module/shim/pmu.c)
 * registers it; each of its kernel callbacks calls one function here.
 *
 * event_init refusals, each with one rate-limited dmesg line:
 *   another PMU's type                                   -ENOENT
 *   reserved config bits, config1/config2, event > 4     -EINVAL
 *   a group leader of another PMU                        -EINVAL
 *   exclude_kernel (kernel branches are all there is)    -EOPNOTSUPP
 *   sigtrap, precise_ip                                  -EOPNOTSUPP
 *   depth other than 0 (= 32), 8, 16, 24, 32             -EINVAL
 *   call-stack mode whose filter drops calls or returns  -EINVAL
 *   config filter and branch_sample_type sharing no type -EINVAL
 *   saves/restores/resets on a task, or without a CPU   -EINVAL
 *   branches sampling in freq mode, or N < 16            -EINVAL
 *   freq with a rate of 0 Hz                             -EINVAL
 *   PERF_SAMPLE_RAW or PERF_SAMPLE_AUX                   -EOPNOTSUPP
 *   branch stack without kernel branches (user/hv only)  -EOPNOTSUPP
 *   branch filters with no source (cond, ind jump, TSX)  -EOPNOTSUPP
 *   saves/restores/resets sampling or with branch stack  -EOPNOTSUPP
 *   no branch source in this kernel (no fprobe/kretprobe) -EOPNOTSUPP
 *   task exiting (per-task data refused)                 -ESRCH
 *   store=upstream and user branches with user probes    -EOPNOTSUPP
 * Privilege is the core's: perf_event_open() calls perf_allow_kernel()
 * unless exclude_kernel, perf_copy_attr() does for kernel branch filters,
 * and CPU-wide events need perf_allow_cpu(), as for any PMU.
 *
 * Samples go through exported interfaces only: perf_event_overflow() and
 * perf_event_output() are not exported, perf_tp_event() is. Each event
 * owns an hlist that holds only itself, so perf_tp_event() over it reaches
 * exactly that event, and event_init wraps the event's overflow handler:
 * the wrapper (overflow()) attaches the branch stack emit() prepared, then
 * runs the handler the core gave the event. So a sample is C++ (emit) ->
 * shim (perf_tp_event) -> kernel -> shim (the handler) -> C++ (overflow):
 * the kernel calls back, and that callback crosses into C++ once.
 */
#include <lbrctx/pmu.h>
#include <lbrctx/usource.h>

namespace lbrctx::pmu {
namespace {

constinit Pmu g_pmu;

constexpr u64 kBrPlm = LBRCTX_K_BR_USER | LBRCTX_K_BR_KERNEL | LBRCTX_K_BR_HV;
constexpr u64 kBrSupported = kBrPlm | LBRCTX_K_BR_ANY | LBRCTX_K_BR_ANY_CALL |
			     LBRCTX_K_BR_ANY_RETURN | LBRCTX_K_BR_IND_CALL | LBRCTX_K_BR_CALL |
			     LBRCTX_K_BR_CALL_STACK | LBRCTX_K_BR_NO_FLAGS | LBRCTX_K_BR_NO_CYCLES |
			     LBRCTX_K_BR_TYPE_SAVE | LBRCTX_K_BR_HW_INDEX | LBRCTX_K_BR_PRIV_SAVE;

constexpr k::TracepointHook kSwitchHook[] = {{"sched_switch", LBRCTX_TP_SWITCH}};

bool counting_kind(Kind k)
{
	return k == Kind::Saves || k == Kind::Restores || k == Kind::Resets;
}

EntryFormat entry_format(const lbrctx_attr &a)
{
	if (!(a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK))
		return {};
	u64 b = a.branch_sample_type;
	/* In-kernel counters skip perf_copy_attr(), which defaults the limit. */
	u16 max = a.sample_max_stack ? a.sample_max_stack : lbr::kMaxDepth;
	return {.type_save = (b & LBRCTX_K_BR_TYPE_SAVE) != 0,
		.cycles = !(b & LBRCTX_K_BR_NO_CYCLES),
		.priv_save = (b & LBRCTX_K_BR_PRIV_SAVE) != 0,
		.max = max};
}

} // namespace

Pmu &the_pmu()
{
	return g_pmu;
}

/*
 * The unit configuration of @a. The CPL filter is the branch stack's
 * privilege bits, as LBR_SELECT takes them (perf_copy_attr() fills them
 * from exclude_* when none are given), else exclude_kernel/exclude_user.
 * @user_probes: the user source has probes, so user-only recording has
 * something to record.
 */
Result<lbr::Config> decode_unit_config(const lbrctx_attr &a, bool user_probes)
{
	u64 c = a.config;
	u64 depth = (c & cfg::kDepth) >> cfg::kDepthShift;
	if (!depth)
		depth = lbr::kDefaultDepth;
	if (!lbr::valid_depth(depth)) {
		lbrctx_refusal("depth %llu: use 8, 16, 24 or 32\n", depth);
		return err::inval();
	}
	bool cs = c & cfg::kCallStack;
	u64 types = lbr::ctl::kTypeMask;
	if (c & cfg::kFilters) {
		types = ((c & cfg::kCall) ? lbr::ctl::kRelCall : 0) |
			((c & cfg::kIndCall) ? lbr::ctl::kIndCall : 0) |
			((c & cfg::kRet) ? lbr::ctl::kReturn : 0);
	}
	bool os = !a.exclude_kernel, usr = !a.exclude_user;
	if (a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK) {
		u64 b = a.branch_sample_type;
		if (b & ~kBrSupported) {
			lbrctx_refusal(
				"branch_sample_type %#llx: only calls and returns have a source\n",
				b);
			return err::opnotsupp();
		}
		if (b & kBrPlm) {
			os = b & LBRCTX_K_BR_KERNEL;
			usr = b & LBRCTX_K_BR_USER;
		}
		u64 want = 0;
		if (b & LBRCTX_K_BR_ANY)
			want |= lbr::ctl::kTypeMask;
		if (b & LBRCTX_K_BR_ANY_CALL)
			want |= lbr::ctl::kCalls;
		if (b & LBRCTX_K_BR_CALL)
			want |= lbr::ctl::kRelCall;
		if (b & LBRCTX_K_BR_IND_CALL)
			want |= lbr::ctl::kIndCall;
		if (b & LBRCTX_K_BR_ANY_RETURN)
			want |= lbr::ctl::kReturn;
		if (b & LBRCTX_K_BR_CALL_STACK) {
			want |= lbr::ctl::kCalls | lbr::ctl::kReturn;
			cs = true;
		}
		if (want)
			types &= want;
	}
	if (!os && !(usr && user_probes)) {
		lbrctx_refusal(
			usr ? "user branches only, and no user probes: write 'PATH OFFSET NAME' lines to /sys/kernel/debug/lbrctx/uprobes (scripts/lbrctx-uprobes)\n"
			    : "no privilege level left: lbrctx records kernel and user branches\n");
		return err::opnotsupp();
	}
	if (!types) {
		lbrctx_refusal(
			"config filter %#llx and branch_sample_type %#llx select no branch type\n",
			c & cfg::kFilters, a.branch_sample_type);
		return err::inval();
	}
	if (cs && (!(types & lbr::ctl::kCalls) || !(types & lbr::ctl::kReturn))) {
		lbrctx_refusal("call-stack mode needs calls and returns recorded\n");
		return err::inval();
	}
	u64 ctl = types | (cs ? lbr::ctl::kCallStack : 0) | (os ? lbr::ctl::kOs : 0) |
		  (usr ? lbr::ctl::kUsr : 0);
	return lbr::Config{ctl, static_cast<u32>(depth)};
}

namespace {

/* The refusals that need no state: each prints its line and returns its errno. */
Result<Kind> validate(const lbrctx_attr &a)
{
	if ((a.config & ~cfg::kValid) || a.config1 || a.config2) {
		lbrctx_refusal("config %#llx config1 %#llx config2 %#llx: reserved bits set\n",
			       a.config, a.config1, a.config2);
		return err::inval();
	}
	u64 kind = a.config & cfg::kEvent;
	if (kind >= kKinds) {
		lbrctx_refusal("event %llu: no such event (0-4)\n", kind);
		return err::inval();
	}
	if (a.foreign_leader) {
		lbrctx_refusal(
			"group leader of another PMU: lbrctx events group only with lbrctx events\n");
		return err::inval();
	}
	if (a.sigtrap) {
		lbrctx_refusal(
			"sigtrap: lbrctx samples from a timer or a probe, not synchronously\n");
		return err::opnotsupp();
	}
	if (a.precise_ip) {
		lbrctx_refusal("precise_ip %u: the sample IP is not precise\n", a.precise_ip);
		return err::opnotsupp();
	}
	if (a.sample_type & (LBRCTX_K_PERF_SAMPLE_RAW | LBRCTX_K_PERF_SAMPLE_AUX)) {
		lbrctx_refusal("sample_type %#llx: no raw or AUX data\n", a.sample_type);
		return err::opnotsupp();
	}
	if (a.freq && !a.period) {
		lbrctx_refusal("freq with a rate of 0 Hz\n");
		return err::inval();
	}
	return static_cast<Kind>(kind);
}

} // namespace

/* Fill @e from @a: the unit configuration, the period, the store and source references. */
Result<void> Pmu::setup_event(EventState *e, const lbrctx_attr &a)
{
	e->kind = TRY(validate(a));
	e->sampling = a.period != 0;
	e->uses_unit = !counting_kind(e->kind);
	e->exclude_user = a.exclude_user;
	e->exclude_idle = a.exclude_idle;
	e->format = entry_format(a);
	e->slot = -1;
	if (!e->uses_unit) {
		if (a.config & ~cfg::kEvent) {
			lbrctx_refusal("saves/restores/resets take no LBR config\n");
			return err::inval();
		}
		if (a.exclude_kernel) {
			lbrctx_refusal(
				"saves/restores/resets count the kernel's context switches: no exclude_kernel\n");
			return err::opnotsupp();
		}
		if (e->sampling || (a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK)) {
			lbrctx_refusal("saves/restores/resets count only\n");
			return err::opnotsupp();
		}
		if (a.has_task || a.cpu < 0) {
			lbrctx_refusal("saves/restores/resets count per CPU: use -a\n");
			return err::inval();
		}
		return {};
	}
	e->config = TRY(decode_unit_config(a, m_user->configured()));
	bool os = e->config.ctl & lbr::ctl::kOs, usr = e->config.ctl & lbr::ctl::kUsr;
	if (e->kind == Kind::Branches && e->sampling) {
		if (a.freq) {
			lbrctx_refusal(
				"branches samples every N branches: give a period (-c N), not a frequency\n");
			return err::inval();
		}
		if (a.period < kMinBranchPeriod) {
			lbrctx_refusal("branches period %llu below %llu\n", a.period,
				       kMinBranchPeriod);
			return err::inval();
		}
		e->period = a.period;
	}
	if (e->kind == Kind::Callstack && e->sampling) {
		u64 p = a.freq ? LBRCTX_K_NSEC_PER_SEC / a.period : a.period;
		e->period = p < kMinPeriodNs ? kMinPeriodNs : p;
	}
	if (os && lbrctx_shim_source_kind() == LBRCTX_SOURCE_NONE) {
		lbrctx_refusal("no branch source: this kernel has neither fprobe nor kretprobes\n");
		return err::opnotsupp();
	}
	Result<void> r;
	if (os) {
		r = m_source->get();
		e->probes = !r.is_error();
	}
	e->upstream = lbrctx_param_store_upstream();
	if (e->upstream && usr && m_user->configured()) {
		/* The user source's filter follows lbrctx's store. */
		lbrctx_refusal(
			"store=upstream records kernel branches only: exclude_user, or clear the user probes\n");
		r = err::opnotsupp();
	}
	if (!r.is_error() && usr && m_user->configured()) {
		/*
		 * The filter first: registering (or re-applying registered
		 * probes) asks it which address spaces get breakpoints. An
		 * inherited event's task has its parent's breakpoints already
		 * (fork copies them), and is created under the parent's
		 * context mutex: it re-applies nothing.
		 */
		bool wider = false;
		if (a.has_task) {
			e->mm = lbrctx_shim_task_mm(a.task);
			wider = m_user->watch(e->mm) && !a.parent;
		} else {
			wider = !m_store->global_active();
			r = m_store->attach_global();
			e->global = !r.is_error();
		}
		if (!r.is_error() && wider)
			m_user->refilter();
		if (!r.is_error()) {
			r = m_user->get();
			e->user = !r.is_error();
		}
	}
	if (r.is_error() || e->upstream) {
		/* store=upstream: the core attaches once event_init succeeded. */
	} else if (a.has_task) {
		auto ref = m_store->attach(k::Task(a.task));
		if (ref.is_error())
			r = Error{ref.error()};
		else
			e->td = ref.release_value();
	} else if (!e->global) {
		r = m_store->attach_global();
		e->global = !r.is_error();
	}
	if (r.is_error())
		lbrctx_refusal("event setup failed: %d\n", r.error());
	return r;
}

void Pmu::release(EventState *e)
{
	if (e->global)
		LBRCTX_WARN_ON(m_store->detach_global().is_error());
	if (e->probes)
		m_source->put();
	if (e->mm)
		m_user->unwatch(e->mm);
	if (e->user)
		m_user->put();
	/*
	 * An event that ran hands its task reference to the task: perf may
	 * swap the contexts of two equivalent tasks on a context switch, so an
	 * event does not stay with the task it was created for, and an
	 * event-held reference could free the data of a task still monitored.
	 * One that never ran (say, refused by the core's permission check
	 * after event_init) drops it.
	 */
	if (e->td && e->ran)
		m_store->give_to_task(move(e->td));
	e->td.reset();
	e->global = e->probes = e->user = false;
	e->mm = nullptr;
}

/* Task context (perf_event_open(), or copy_process() for an inherited child); may sleep. */
int Pmu::event_init(void *event)
{
	lbrctx_attr a;
	lbrctx_shim_event_attr(event, &a);
	if (!a.type_is_ours)
		return -LBRCTX_K_ENOENT;
	auto mem = m_events.alloc(LBRCTX_GFP_KERNEL);
	if (mem.is_error())
		return mem.error();
	EventState *e = mem.value().get();
	if (auto r = setup_event(e, a); r.is_error()) {
		release(e);
		return r.error(); /* the SlabPtr frees the state */
	}
	e->event = event;
	/* An inherited child copied its parent's handler, which is lbrctx's wrapper. */
	e->handler = lbrctx_shim_event_handler(event);
	if (a.parent && lbrctx_shim_handler_is_lbrctx(e->handler))
		e->handler =
			static_cast<EventState *>(k::PerfEvent(a.parent).pmu_private())->handler;
	lbrctx_shim_event_hlist_add(event, e->head.get());
	if (e->sampling && e->period) {
		lbrctx_shim_event_set_period(event, e->period);
		if (e->kind == Kind::Callstack)
			lbrctx_shim_timer_init(event);
	}
	m_nevents.add(1);
	/* Owned by the perf event from here, until ->destroy (event_destroy()). */
	lbrctx_shim_event_setup(event, mem.value().leak());
	/* Nothing fails past this point: the core's detach relies on it. */
	if (e->upstream && e->uses_unit)
		lbrctx_shim_event_attach_task_data(event);
	return 0;
}

/* Task context: the event is off every CPU. */
void Pmu::event_destroy(EventState *e)
{
	if (e->kind == Kind::Callstack && e->sampling)
		lbrctx_shim_timer_cancel(e->event);
	release(e);
	m_nevents.sub(1);
	e->rcu.call(free_rcu);
}

/* RCU callback (softirq). */
void Pmu::free_rcu(lbrctx_rcu *r) noexcept
{
	g_pmu.m_events.free(lbrctx_container_of(k::RcuHead::from(r), EventState, rcu));
}

/* The event's current reading of its source on this CPU: ns, or its unit's records. */
u64 Pmu::current_value(const EventState *e, const CpuState *c) const
{
	if (e->kind == Kind::Callstack)
		return lbrctx_shim_local_clock();
	if (e->kind == Kind::Branches)
		return e->slot >= 0 ? c->units.slot(static_cast<u32>(e->slot)).recorded : e->base;
	return c->counts[static_cast<u32>(e->kind)];
}

/*
 * IRQs off on the event's CPU: fold what happened since the last
 * accounting into the count. A parked event counts nothing.
 */
void Pmu::account(EventState *e)
{
	if (e->parked)
		return;
	u64 v = current_value(e, this_cpu());
	k::PerfEvent(e->event).add_count(v - e->base);
	e->base = v;
}

/*
 * A parked event is added but not recording: take the parked time off
 * its time_running, so that perf scales its count as for a multiplexed
 * event. Called from ->read (after the core updated the times) and
 * ->del (before it does); both under the context lock, IRQs off.
 */
namespace {

/* A parked event's time since parked_at: owed to time_running, and to its share. */
void note_parked(EventState *e, u64 now)
{
	u64 d = now - e->parked_at;
	e->parked_at = now;
	e->parked_ns += d;
	e->parked_total += d;
}

} // namespace

void Pmu::fold_parked(EventState *e)
{
	if (e->parked)
		note_parked(e, lbrctx_shim_local_clock());
	if (e->parked_ns)
		k::PerfEvent(e->event).sub_time_running(exchange(e->parked_ns, 0ull));
}

/*
 * A timer sample from user mode at a probed function's first instruction:
 * the call there retired but its uprobe, which records it, has not run
 * (TCG takes interrupts at the block boundary a call ends). Hardware would
 * have the call; the sample gets it youngest, the unit from the handler.
 * Hard IRQ.
 */
void Pmu::add_pending_call(CpuState *c, const lbr::Unit &u, const EntryFormat &f, void *regs,
			   BranchStack &st)
{
	u64 ctl = u.lbr_ctl();
	if (!m_user || !(ctl & lbr::ctl::kUsr) || !(ctl & lbr::ctl::kCalls))
		return;
	u64 ip, sp;
	lbrctx_shim_regs_ip_sp(regs, &ip, &sp);
	lbr::Branch b;
	if ((st.nr && st.entries[0].to == ip) || !m_user->pending_call(ip, sp, b))
		return;
	if (!(ctl & (b.type == lbr::BrType::RelCall ? lbr::ctl::kRelCall : lbr::ctl::kIndCall)))
		return;
	u64 info = static_cast<u64>(b.type) << lbr::info::kTypeShift;
	push_youngest(st, encode_entry(f, b.from, b.to, info), f.max);
	c->pending_calls++;
}

/*
 * Emit one sample of @e, counting @count, with its unit's records as the
 * branch stack. IRQs off (hrtimer) or preemption off (the branch source).
 */
void Pmu::emit(EventState *e, CpuState *c, u64 count, bool irq_regs)
{
	KernelStorage<LBRCTX_K_SIZEOF_PT_REGS, LBRCTX_K_ALIGNOF_PT_REGS> caller;
	void *regs = caller.get();
	if (irq_regs)
		regs = lbrctx_shim_irq_regs();
	else
		lbrctx_shim_caller_regs(regs);
	/* perf_tp_event() filters exclude_kernel only. */
	bool excluded = !regs || (e->exclude_user && lbrctx_shim_regs_user_mode(regs)) ||
			(e->exclude_idle && k::Task::current().is_idle());
	int rctx = excluded ? -1 : lbrctx_shim_swevent_recursion_get();
	if (rctx < 0) {
		k::PerfEvent(e->event).add_count(count); /* no sample, but the count stays exact */
		return;
	}
	u32 lvl = lbrctx_shim_ctx_level() & 3;
	if (e->format.max && e->slot >= 0)
		fill_branch_stack(c->units.slot(static_cast<u32>(e->slot)).unit, e->format,
				  c->stack[lvl]);
	else
		c->stack[lvl].nr = 0;
	if (irq_regs && e->format.max && e->slot >= 0 && lbrctx_shim_regs_user_mode(regs))
		add_pending_call(c, c->units.slot(static_cast<u32>(e->slot)).unit, e->format, regs,
				 c->stack[lvl]);
	EventState *outer = exchange(c->emitting[lvl], e);
	lbrctx_shim_tp_event(count, regs, e->head.get(), rctx); /* puts rctx */
	c->emitting[lvl] = outer;
	c->samples++;
}

/*
 * The wrapped overflow handler: the emitter's context (hard IRQ for the
 * hrtimer, preemption off for the branch source). Attaches the branch
 * stack of the sample being emitted, then runs the core's handler.
 */
void Pmu::overflow(void *event, void *data, void *regs)
{
	auto *e = static_cast<EventState *>(k::PerfEvent(event).pmu_private());
	CpuState *c = this_cpu();
	u32 lvl = lbrctx_shim_ctx_level() & 3;
	if (c->emitting[lvl] == e && e->format.max)
		lbrctx_shim_sample_brstack(event, data, &c->stack[lvl]);
	lbrctx_shim_call_handler(e->handler, event, data, regs);
}

/* Record path, IRQs off: the units in @slots recorded a branch; sample the events that asked for every N. */
void Pmu::on_branches(CpuState *c, u32 slots)
{
	c->counts[static_cast<u32>(Kind::Branches)]++;
	for (u32 i = 0; i < c->nactive; i++) {
		EventState *e = c->active[i];
		if (e->kind != Kind::Branches || !e->sampling || e->slot < 0 ||
		    !(slots & (1u << e->slot)) ||
		    (k::PerfEvent(e->event).hw_state() & LBRCTX_K_PERF_HES_STOPPED))
			continue;
		if (--e->left)
			continue;
		e->left = e->period;
		u64 v = c->units.slot(static_cast<u32>(e->slot)).recorded;
		u64 delta = v - e->base;
		e->base = v;
		emit(e, c, delta, false);
	}
}

void Pmu::record_here(const lbr::Branch &b, bool match_top)
{
	k::IrqSave irqs;
	CpuState *c = this_cpu();
	if (!c->units.active())
		return;
	if (u32 slots = c->units.record(b, match_top))
		on_branches(c, slots);
}

/* ->start: IRQs off, on the event's CPU. */
void Pmu::start(EventState *e, int)
{
	k::PerfEvent(e->event).set_hw_state(0);
	e->base = current_value(e, this_cpu());
	if (!e->sampling)
		return;
	/* PERF_EVENT_IOC_PERIOD changes the core's period, then stops and reloads. */
	u64 p = k::PerfEvent(e->event).period();
	if (e->kind == Kind::Callstack) {
		e->period = p < kMinPeriodNs ? kMinPeriodNs : p;
		lbrctx_shim_timer_start(e->event, e->period);
	} else if (e->kind == Kind::Branches) {
		e->period = p < kMinBranchPeriod ? kMinBranchPeriod : p;
		if (!e->left || e->left > e->period)
			e->left = e->period;
	}
}

/* ->stop: IRQs off; also from inside the hrtimer callback when the core throttles. */
void Pmu::stop(EventState *e, int flags)
{
	k::PerfEvent ev(e->event);
	u32 st = ev.hw_state();
	if (!(st & LBRCTX_K_PERF_HES_STOPPED)) {
		if (e->kind == Kind::Callstack && e->sampling)
			lbrctx_shim_timer_try_cancel(e->event);
		st |= LBRCTX_K_PERF_HES_STOPPED;
		if (flags & LBRCTX_K_PERF_EF_UPDATE) {
			account(e);
			st |= LBRCTX_K_PERF_HES_UPTODATE;
		}
	}
	ev.set_hw_state(st);
}

/* Area selection of a task's saved state: its XSAVE area, or a side area. */
namespace {

bool area_holds(const xsave::ArchLbrState &s, const lbr::Config &c)
{
	return s.lbr_depth == c.depth && (s.lbr_ctl & ~lbr::ctl::kEnable) == c.ctl;
}

/* The area of @td for @c: the XSAVE area if it holds @c, else a side area that does; or null. */
xsave::ArchLbrState *find_area(TaskData *td, const lbr::Config &c, u64 *&slots)
{
	if ((td->lbr.header.xstate_bv & LBRCTX_K_XFEATURE_MASK_LBR) && area_holds(td->lbr.lbr, c)) {
		slots = td->lbr.slots();
		return &td->lbr.lbr;
	}
	if (SideBlock *sb = td->side) {
		for (auto &a : sb->area) {
			if (a.lbr.lbr_depth && area_holds(a.lbr, c)) {
				slots = a.slots;
				return &a.lbr;
			}
		}
	}
	return nullptr;
}

} // namespace

/*
 * The switch hook and rotation, IRQs off: save slot @s of @c into @td.
 * The XSAVE area takes the configuration it holds, or any when it holds
 * none or one no unit of this CPU has; a side area takes the others.
 */
void Pmu::save(CpuState *c, TaskData *td, u32 s)
{
	const lbr::Unit &u = c->units.slot(s).unit;
	lbr::Config cfg = lbr::config_of(u);
	u64 *slots = nullptr;
	xsave::ArchLbrState *area = find_area(td, cfg, slots);
	if (!area) {
		bool xsave_free = !(td->lbr.header.xstate_bv & LBRCTX_K_XFEATURE_MASK_LBR);
		if (!xsave_free) {
			lbr::Config held{td->lbr.lbr.lbr_ctl & ~lbr::ctl::kEnable,
					 static_cast<u32>(td->lbr.lbr.lbr_depth)};
			xsave_free = c->units.find(held) < 0;
		}
		if (xsave_free) {
			area = &td->lbr.lbr;
			slots = td->lbr.slots();
		} else {
			/* The core's objects (store=upstream) have no store and take no side block. */
			if (!td->side && td->store)
				td->side = m_store->take_side();
			if (!td->side) {
				c->unsaved++;
				return;
			}
			SideArea *pick = &td->side->area[0];
			for (auto &a : td->side->area) {
				if (!a.lbr.lbr_depth) {
					pick = &a;
					break;
				}
				if (a.stamp < pick->stamp)
					pick = &a;
			}
			area = &pick->lbr;
			slots = pick->slots;
			pick->stamp = lbrctx_shim_local_clock();
		}
	}
	u.save(*area, slots);
	if (area == &td->lbr.lbr)
		td->lbr.header.xstate_bv = LBRCTX_K_XFEATURE_MASK_LBR;
}

/* IRQs off: restore slot @s of @c from @td, or reset it. True when records were restored. */
bool Pmu::restore(CpuState *c, TaskData *td, u32 s)
{
	lbr::Unit &u = c->units.slot(s).unit;
	u64 *slots = nullptr;
	xsave::ArchLbrState *area = td ? find_area(td, lbr::config_of(u), slots) : nullptr;
	if (area && u.restore_if_compatible(*area, slots))
		return true;
	u.reset();
	return false;
}

/*
 * IRQs off: give @e its configuration's unit on @c. A unit configured
 * just now takes the running task's records for that configuration.
 * False when every unit is another configuration's.
 */
bool Pmu::bind(CpuState *c, EventState *e)
{
	bool fresh;
	int s = c->units.bind(e->config, lbrctx_shim_local_clock(), fresh);
	if (s < 0)
		return false;
	if (fresh) {
		k::RcuReadGuard rcu;
		(void)restore(c, task_data(k::Task::current(), lbrctx_param_store_upstream()),
			      static_cast<u32>(s));
		/* More than one configuration: tasks will want side areas. */
		if (c->units.active() & (c->units.active() - 1))
			m_store->want_sides();
	}
	e->slot = static_cast<s8>(s);
	return true;
}

/* IRQs off: @e waits for a unit; the CPU's rotation timer brings it in. */
void Pmu::park(CpuState *c, EventState *e)
{
	e->parked = true;
	e->slot = -1;
	e->parked_at = lbrctx_shim_local_clock();
	if (!c->nparked++ && !c->rotating) {
		c->rotating = true;
		lbrctx_shim_cpu_timer_start(c->rotate_timer.get(), kRotateNs);
	}
}

/*
 * IRQs off: every event on slot @s waits, and the slot is free. The
 * running task's records of that configuration go to its store object,
 * as on a switch, to come back when the configuration does.
 */
void Pmu::evict(CpuState *c, u32 s)
{
	{
		k::RcuReadGuard rcu;
		if (TaskData *td = task_data(k::Task::current(), lbrctx_param_store_upstream()))
			save(c, td, s);
	}
	for (u32 i = 0; i < c->nactive; i++) {
		EventState *e = c->active[i];
		if (e->slot != static_cast<s8>(s))
			continue;
		account(e);
		c->units.unbind(s);
		park(c, e);
	}
}

/*
 * IRQs off: a unit for @e, which has none: a free one, else the one whose
 * events have waited least, when @e has waited a rotation period more.
 * Shares of time even out whichever order perf adds events in.
 */
bool Pmu::take_unit(CpuState *c, EventState *e)
{
	if (bind(c, e))
		return true;
	u64 owed = e->parked_total + (e->parked ? lbrctx_shim_local_clock() - e->parked_at : 0);
	int victim = -1;
	u64 least = ~0ull;
	for (u32 i = 0; i < c->nactive; i++) {
		EventState *h = c->active[i];
		if (h->slot >= 0 && h->parked_total < least) {
			least = h->parked_total;
			victim = h->slot;
		}
	}
	if (victim < 0 || owed < least + kRotateNs)
		return false;
	evict(c, static_cast<u32>(victim));
	c->rotations++;
	return bind(c, e);
}

/* ->add: IRQs off, on the CPU the event goes on (context switch in, or IPI). */
int Pmu::add(EventState *e, int flags)
{
	CpuState *c = this_cpu();
	if (c->nactive == kMaxActive)
		return -LBRCTX_K_EAGAIN;
	e->ran = true;
	e->parked = false;
	e->slot = -1;
	c->active[c->nactive++] = e;
	if (e->uses_unit && !take_unit(c, e))
		park(c, e);
	k::PerfEvent(e->event).set_hw_state(LBRCTX_K_PERF_HES_STOPPED | LBRCTX_K_PERF_HES_UPTODATE);
	if (flags & LBRCTX_K_PERF_EF_START)
		start(e, LBRCTX_K_PERF_EF_RELOAD);
	return 0;
}

/* ->del: IRQs off, on the event's CPU. */
void Pmu::del(EventState *e, int)
{
	CpuState *c = this_cpu();
	stop(e, LBRCTX_K_PERF_EF_UPDATE);
	fold_parked(e);
	for (u32 i = 0; i < c->nactive; i++) {
		if (c->active[i] != e)
			continue;
		c->active[i] = c->active[--c->nactive];
		c->active[c->nactive] = nullptr;
		if (e->parked)
			c->nparked--;
		else if (e->slot >= 0)
			c->units.unbind(static_cast<u32>(e->slot));
		e->parked = false;
		e->slot = -1;
		/*
		 * The CPU's last event: its units forget their configurations,
		 * and the switch hook returns at once here until an event is
		 * added again (on_switch()). On a context switch the hook has
		 * saved the outgoing task's records already (sched_switch
		 * fires before perf deletes the task's events).
		 */
		if (!c->nactive)
			c->units.forget_all();
		return;
	}
	LBRCTX_WARN_ON(true); /* deleted an event that was not added here */
}

/* ->read: IRQs off, on the event's CPU (IPI or local). */
void Pmu::read(EventState *e)
{
	if (!(k::PerfEvent(e->event).hw_state() & LBRCTX_K_PERF_HES_STOPPED))
		account(e);
	fold_parked(e);
}

/* The hrtimer of a sampling callstack event: hard IRQ, on the event's CPU. */
u64 Pmu::tick(EventState *e)
{
	if (k::PerfEvent(e->event).hw_state() & LBRCTX_K_PERF_HES_STOPPED)
		return 0;
	u64 now = lbrctx_shim_local_clock();
	if (!e->parked) {
		u64 delta = now - e->base;
		e->base = now;
		emit(e, this_cpu(), delta, true);
	}
	return e->period;
}

/*
 * The rotation timer: hard IRQ, on its CPU, while events wait for a unit.
 * The event owed most (the longest parked) takes a unit from those owed
 * least, with the events of its configuration (take_unit()).
 */
u64 Pmu::rotate(CpuState *c)
{
	if (c != this_cpu() || !c->nparked) {
		c->rotating = false; /* a CPU gone offline, or nothing waits */
		return 0;
	}
	u64 now = lbrctx_shim_local_clock();
	EventState *waiter = nullptr;
	for (u32 i = 0; i < c->nactive; i++) {
		EventState *e = c->active[i];
		if (!e->parked)
			continue;
		note_parked(e, now);
		if (!waiter || e->parked_total > waiter->parked_total)
			waiter = e;
	}
	if (!waiter || !take_unit(c, waiter))
		return kRotateNs;
	/* In: the waiter, and the waiters of its configuration. */
	for (u32 i = 0; i < c->nactive; i++) {
		EventState *e = c->active[i];
		if (!e->parked || !(e->config == waiter->config) || (e != waiter && !bind(c, e)))
			continue;
		e->parked = false;
		e->base = current_value(e, c);
		c->nparked--;
	}
	return kRotateNs;
}

/*
 * sched_switch: interrupts off, runqueue locked, before perf switches the
 * events. The outgoing task's units go into its store object; every
 * configured unit takes the incoming task's own records, or is reset when
 * it has none for that configuration (never another task's branches).
 * With save_restore=N every switch resets, which is what perf did for
 * system-wide LBR before seed 003.
 */
void Pmu::on_switch(k::Task prev, k::Task next)
{
	if (!m_nevents.load())
		return;
	CpuState *c = this_cpu();
	/*
	 * Gated per CPU, as upstream's lbr_users: a CPU with no lbrctx event
	 * added has no configured unit (del() makes its units forget them),
	 * so it has nothing to save or restore.
	 */
	if (!c->nactive)
		return;
	auto &n = c->counts;
	if (!lbrctx_param_save_restore()) {
		for (u32 s = 0; s < kUnits; s++)
			c->units.slot(s).unit.reset();
		n[static_cast<u32>(Kind::Resets)]++;
		return;
	}
	k::RcuReadGuard rcu;
	bool up = lbrctx_param_store_upstream();
	u32 configured = c->units.configured();
	/*
	 * One configuration, the common case: its unit and the XSAVE area,
	 * without the search for an area (save() and restore() do the rest).
	 */
	if (configured && !(configured & (configured - 1)) && c->units.active() == configured) {
		u32 s = __builtin_ctz(configured);
		lbr::Unit &u = c->units.slot(s).unit;
		if (TaskData *td = task_data(prev, up)) {
			if (!(td->lbr.header.xstate_bv & LBRCTX_K_XFEATURE_MASK_LBR) ||
			    area_holds(td->lbr.lbr, lbr::config_of(u))) {
				u.save(td->lbr.lbr, td->lbr.slots());
				td->lbr.header.xstate_bv = LBRCTX_K_XFEATURE_MASK_LBR;
			} else {
				save(c, td, s);
			}
			n[static_cast<u32>(Kind::Saves)]++;
		}
		TaskData *td = task_data(next, up);
		bool restored;
		if (td && (td->lbr.header.xstate_bv & LBRCTX_K_XFEATURE_MASK_LBR) &&
		    area_holds(td->lbr.lbr, lbr::config_of(u)))
			restored = u.restore_if_compatible(td->lbr.lbr, td->lbr.slots());
		else
			restored = restore(c, td, s);
		n[static_cast<u32>(restored ? Kind::Restores : Kind::Resets)]++;
		return;
	}
	if (TaskData *td = task_data(prev, up)) {
		for (u32 m = c->units.active(); m; m &= m - 1)
			save(c, td, __builtin_ctz(m));
		n[static_cast<u32>(Kind::Saves)]++;
	}
	TaskData *td = task_data(next, up);
	bool restored = false;
	for (u32 m = configured; m; m &= m - 1)
		restored |= restore(c, td, __builtin_ctz(m));
	n[static_cast<u32>(restored ? Kind::Restores : Kind::Resets)]++;
}

TaskData *Pmu::task_data(k::Task t, bool upstream)
{
	if (upstream)
		return static_cast<TaskData *>(
			lbrctx_shim_task_ctx_data(t.raw(), m_upstream_cache));
	return m_store->lookup_here(t);
}

/*
 * store=upstream, task context (the parameter's write, or module load
 * before init()). The core's slot has no owner, so the mode is refused
 * where a CPU PMU may use it: a PMU whose events record branch call
 * stacks (the x86 LBR driver sets PERF_ATTACH_TASK_DATA for exactly those).
 * x86_perf_get_lbr() would tell the depth, but 7.x exports it to KVM only.
 */
int Pmu::store_mode_check(bool upstream)
{
	if (m_nevents.load()) {
		lbrctx_refusal("store: %llu lbrctx events exist; close them first\n",
			       m_nevents.load());
		return -LBRCTX_K_EBUSY;
	}
	if (!upstream)
		return 0;
	if (!lbrctx_shim_upstream_store()) {
		lbrctx_refusal(
			"store=upstream needs the perf core's per-task store (task_struct::perf_ctx_data, Linux 6.15 and later); here PERF_ATTACH_TASK_DATA means per-context data\n");
		return -LBRCTX_K_EOPNOTSUPP;
	}
	if (lbrctx_shim_pmu_has_call_stack(LBRCTX_K_PERF_TYPE_HARDWARE)) {
		lbrctx_refusal(
			"store=upstream: this CPU's PMU records LBR call stacks and may own task_struct::perf_ctx_data\n");
		return -LBRCTX_K_EBUSY;
	}
	return 0;
}

Stats Pmu::stats() const
{
	Stats s{};
	s.events = m_nevents.load();
	if (!m_cpus.ready())
		return s;
	m_cpus.for_each([&](const CpuState &c) {
		auto get = [](const u64 &v) { return __atomic_load_n(&v, __ATOMIC_RELAXED); };
		s.records += get(c.counts[static_cast<u32>(Kind::Branches)]);
		s.saves += get(c.counts[static_cast<u32>(Kind::Saves)]);
		s.restores += get(c.counts[static_cast<u32>(Kind::Restores)]);
		s.resets += get(c.counts[static_cast<u32>(Kind::Resets)]);
		s.samples += get(c.samples);
		s.dropped += get(c.dropped);
		s.unsaved += get(c.unsaved);
		s.rotations += get(c.rotations);
		s.pending_calls += get(c.pending_calls);
		s.parked += __atomic_load_n(&c.nparked, __ATOMIC_RELAXED);
		for (u32 u = 0; u < kUnits; u++) {
			s.unwound += c.units.slot(u).unit.unwound();
			s.units += __atomic_load_n(&c.units.slot(u).users, __ATOMIC_RELAXED) != 0;
		}
	});
	return s;
}

Result<void> Pmu::init(Store &store, Source &source, UserSource &user)
{
	m_store = &store;
	m_source = &source;
	m_user = &user;
	TRY(m_events.create("lbrctx_event"));
	if (auto r = m_cpus.init(); r.is_error()) {
		(void)m_events.destroy();
		return r;
	}
	for (u32 cpu = 0; cpu < lbrctx_shim_nr_cpu_ids(); cpu++) {
		if (!lbrctx_shim_cpu_possible(cpu))
			continue;
		m_cpus.on(cpu)->cpu = cpu;
		lbrctx_shim_cpu_timer_init(m_cpus.on(cpu)->rotate_timer.get());
	}
	if (lbrctx_shim_upstream_store()) {
		/* store=upstream's objects: TaskData-sized, as lbrctx's, so the hook reads both alike. */
		m_upstream_cache = lbrctx_shim_cache_create("lbrctx_upstream_data",
							    sizeof(TaskData), alignof(TaskData));
		if (!m_upstream_cache) {
			destroy();
			return err::nomem();
		}
		lbrctx_shim_pmu_set_task_ctx_cache(m_upstream_cache);
	}
	if (auto r = m_switch.attach(kSwitchHook, this); r.is_error()) {
		destroy();
		return r;
	}
	if (int ret = lbrctx_shim_pmu_register()) {
		lbrctx_err("cannot register the PMU: %d\n", ret);
		m_switch.detach();
		lbrctx_shim_tracepoint_synchronize();
		destroy();
		return Error{ret};
	}
	m_registered = true;
	return {};
}

/* Module exit, first: no event can exist (each holds a module reference). */
void Pmu::unregister()
{
	if (m_registered)
		lbrctx_shim_pmu_unregister();
	m_registered = false;
	m_switch.detach();
}

void Pmu::destroy()
{
	if (m_cpus.ready())
		m_cpus.for_each(
			[](CpuState &c) { lbrctx_shim_cpu_timer_cancel(c.rotate_timer.get()); });
	m_cpus.destroy();
	(void)m_events.destroy();
	/* After rcu_barrier(): the core frees its objects through call_rcu(). */
	if (m_upstream_cache)
		lbrctx_shim_cache_destroy(m_upstream_cache);
	m_upstream_cache = nullptr;
}

} // namespace lbrctx::pmu

using lbrctx::pmu::EventState;
using lbrctx::pmu::g_pmu;

/* The store parameter's write (module/shim/module.c): task context. */
extern "C" int lbrctx_store_mode_check(bool upstream) noexcept
{
	return g_pmu.store_mode_check(upstream);
}

/* The PMU's callbacks (module/shim/pmu.c), each in the context its method states. */
extern "C" int lbrctx_pmu_event_init(void *event) noexcept
{
	return g_pmu.event_init(event);
}

extern "C" void lbrctx_pmu_event_destroy(void *priv) noexcept
{
	g_pmu.event_destroy(static_cast<EventState *>(priv));
}

extern "C" int lbrctx_pmu_add(void *priv, int flags) noexcept
{
	return g_pmu.add(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_del(void *priv, int flags) noexcept
{
	g_pmu.del(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_start(void *priv, int flags) noexcept
{
	g_pmu.start(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_stop(void *priv, int flags) noexcept
{
	g_pmu.stop(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_read(void *priv) noexcept
{
	g_pmu.read(static_cast<EventState *>(priv));
}

extern "C" u64 lbrctx_pmu_tick(void *priv) noexcept
{
	return g_pmu.tick(static_cast<EventState *>(priv));
}

extern "C" void lbrctx_pmu_overflow(void *event, void *data, void *regs) noexcept
{
	g_pmu.overflow(event, data, regs);
}

/* The rotation timer of a CPU: hard IRQ. */
extern "C" u64 lbrctx_pmu_rotate(void *timer) noexcept
{
	return g_pmu.rotate(lbrctx_container_of(timer, lbrctx::pmu::CpuState, rotate_timer));
}

/* sched_switch: interrupts off, runqueue locked; @data is the Pmu. */
extern "C" void lbrctx_on_switch(void *data, void *prev, void *next) noexcept
{
	static_cast<lbrctx::pmu::Pmu *>(data)->on_switch(lbrctx::k::Task(prev),
							 lbrctx::k::Task(next));
}
