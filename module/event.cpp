// SPDX-License-Identifier: GPL-2.0
/*
 * event_init and ->destroy: an event's attributes checked (each refusal's
 * errno is listed in include/lbrctx/event.h), and its state made with
 * the resources it holds.
 */
#include <lbrctx/event.h>

namespace lbrctx::pmu {
namespace {

constexpr u64 kBrPlm = LBRCTX_K_BR_USER | LBRCTX_K_BR_KERNEL | LBRCTX_K_BR_HV;
/* The branch_sample_type bits any source takes. */
constexpr u64 kBrCommon = kBrPlm | LBRCTX_K_BR_ANY | LBRCTX_K_BR_ANY_CALL | LBRCTX_K_BR_ANY_RETURN |
			  LBRCTX_K_BR_IND_CALL | LBRCTX_K_BR_CALL | LBRCTX_K_BR_CALL_STACK |
			  LBRCTX_K_BR_NO_FLAGS | LBRCTX_K_BR_NO_CYCLES | LBRCTX_K_BR_TYPE_SAVE |
			  LBRCTX_K_BR_HW_INDEX | LBRCTX_K_BR_PRIV_SAVE;
/* And those only the hardware sees: conditional branches and indirect jumps. */
constexpr u64 kBrHw = kBrCommon | LBRCTX_K_BR_COND | LBRCTX_K_BR_IND_JUMP;

/*
 * The far branches a branch_sample_type keeps, as the x86 driver's
 * software filter does (arch/x86/events/intel/lbr.c: ANY_CALL keeps
 * syscalls, interrupts and software interrupts; ANY_RETURN their returns).
 */
constexpr u8 kFarCalls = far_bit(lbr::BrType::Syscall) | far_bit(lbr::BrType::Interrupt) |
			 far_bit(lbr::BrType::SoftInt) | far_bit(lbr::BrType::FarJump) |
			 far_bit(lbr::BrType::Other);
constexpr u8 kFarReturns = far_bit(lbr::BrType::Sysret) | far_bit(lbr::BrType::Iret) |
			   far_bit(lbr::BrType::FarJump) | far_bit(lbr::BrType::Other);

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
	u8 far_keep = 0xff;
	if (!(b & LBRCTX_K_BR_ANY) && !(a.config & cfg::kFar))
		far_keep = ((b & LBRCTX_K_BR_ANY_CALL) ? kFarCalls : 0) |
			   ((b & LBRCTX_K_BR_ANY_RETURN) ? kFarReturns : 0);
	return {.type_save = (b & LBRCTX_K_BR_TYPE_SAVE) != 0,
		.cycles = !(b & LBRCTX_K_BR_NO_CYCLES),
		.priv_save = (b & LBRCTX_K_BR_PRIV_SAVE) != 0,
		.max = max,
		.far_drop = static_cast<u8>(~far_keep)};
}

/* The config's type filter bits as LBR_CTL's branch-type bits (SDM Vol. 3B, 18.1.3.2). */
u64 config_types(u64 c)
{
	return ((c & cfg::kCond) ? lbr::ctl::kJcc : 0) | ((c & cfg::kJmp) ? lbr::ctl::kRelJmp : 0) |
	       ((c & cfg::kIndJmp) ? lbr::ctl::kIndJmp : 0) |
	       ((c & cfg::kCall) ? lbr::ctl::kRelCall : 0) |
	       ((c & cfg::kIndCall) ? lbr::ctl::kIndCall : 0) |
	       ((c & cfg::kRet) ? lbr::ctl::kReturn : 0) | ((c & cfg::kFar) ? lbr::ctl::kOther : 0);
}

/* branch_sample_type's types as LBR_CTL's, as the x86 driver's arch_lbr_ctl_map does. */
u64 sample_types(u64 b)
{
	u64 want = 0;
	if (b & LBRCTX_K_BR_ANY)
		want |= lbr::ctl::kTypeMask;
	if (b & LBRCTX_K_BR_ANY_CALL)
		want |= lbr::ctl::kCalls | lbr::ctl::kOther;
	if (b & LBRCTX_K_BR_CALL)
		want |= lbr::ctl::kRelCall;
	if (b & LBRCTX_K_BR_IND_CALL)
		want |= lbr::ctl::kIndCall;
	if (b & LBRCTX_K_BR_ANY_RETURN)
		want |= lbr::ctl::kReturn | lbr::ctl::kOther;
	if (b & LBRCTX_K_BR_COND)
		want |= lbr::ctl::kJcc;
	if (b & LBRCTX_K_BR_IND_JUMP)
		want |= lbr::ctl::kIndJmp;
	if (b & LBRCTX_K_BR_CALL_STACK)
		want |= lbr::ctl::kCalls | lbr::ctl::kReturn;
	return want;
}

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
	/* Kind indexes the per-CPU counts: no speculation past the check above. */
	kind = array_index_nospec(kind, kKinds);
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

/* saves, restores and resets count the switch hook's work, per CPU. */
Result<void> validate_counting(const lbrctx_attr &a, bool sampling)
{
	if (a.config & ~cfg::kEvent) {
		lbrctx_refusal("saves/restores/resets take no LBR config\n");
		return err::inval();
	}
	if (a.exclude_kernel) {
		lbrctx_refusal(
			"saves/restores/resets count the kernel's context switches: no exclude_kernel\n");
		return err::opnotsupp();
	}
	if (sampling || (a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK)) {
		lbrctx_refusal("saves/restores/resets count only\n");
		return err::opnotsupp();
	}
	if (a.has_task || a.cpu < 0) {
		lbrctx_refusal("saves/restores/resets count per CPU: use -a\n");
		return err::inval();
	}
	return {};
}

/* The sampling period of an event that uses a unit: ns (Lbr) or branches (Branches). */
Result<u64> sample_period(const lbrctx_attr &a, Kind kind, SourceKind src)
{
	if (!a.period)
		return u64{0};
	if (kind == Kind::Branches) {
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
		if (src == SourceKind::Hw) {
			/* The hardware raises no interrupt on the Nth branch (hwlbr.h). */
			lbrctx_refusal(
				"branches sampling every N needs the probe source; with the hw source sample by time (lbrctx/lbr/)\n");
			return err::opnotsupp();
		}
		return a.period;
	}
	u64 p = a.freq ? LBRCTX_K_NSEC_PER_SEC / a.period : a.period;
	return p < kMinPeriodNs ? kMinPeriodNs : p;
}

} // namespace

/*
 * The unit configuration of @a. The CPL filter is the branch stack's
 * privilege bits, as LBR_SELECT takes them (perf_copy_attr() fills them
 * from exclude_* when none are given), else exclude_kernel/exclude_user.
 * The probe sources see calls and returns only; the hardware every type.
 */
Result<lbr::Config> decode_unit_config(const lbrctx_attr &a, SourceKind src, bool user_probes)
{
	u64 c = a.config;
	u64 depth = (c & cfg::kDepth) >> cfg::kDepthShift;
	if (!depth)
		depth = lbr::kDefaultDepth;
	if (!lbr::valid_depth(depth)) {
		lbrctx_refusal("depth %llu: use 8, 16, 24 or 32\n", depth);
		return err::inval();
	}
	bool hw = src == SourceKind::Hw;
	u64 seen = hw ? lbr::ctl::kTypeMask : lbr::ctl::kCalls | lbr::ctl::kReturn;
	bool cs = c & cfg::kCallStack;
	u64 types = lbr::ctl::kTypeMask;
	if (c & cfg::kFilters) {
		types = config_types(c);
		if (types & ~seen) {
			lbrctx_refusal(
				"config filter %#llx: the probe source sees only calls and returns (source=hw sees every branch)\n",
				c & cfg::kFilters);
			return err::opnotsupp();
		}
	}
	bool os = !a.exclude_kernel, usr = !a.exclude_user;
	if (a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK) {
		u64 b = a.branch_sample_type;
		if (b & ~(hw ? kBrHw : kBrCommon)) {
			lbrctx_refusal(
				hw ? "branch_sample_type %#llx: no TSX or branch counters\n"
				   : "branch_sample_type %#llx: only calls and returns have a source (source=hw sees every branch)\n",
				b);
			return err::opnotsupp();
		}
		if (b & kBrPlm) {
			os = b & LBRCTX_K_BR_KERNEL;
			usr = b & LBRCTX_K_BR_USER;
		}
		if (u64 want = sample_types(b))
			types &= want;
		cs |= (b & LBRCTX_K_BR_CALL_STACK) != 0;
	}
	types &= seen;
	if (!os && !(usr && (hw || user_probes))) {
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

/*
 * The resources of an event that records: the sources' probes, the task's
 * store object or every thread's. Each is a member of @h the moment it is
 * taken; a step that fails returns, and the caller's object releases them.
 */
Result<void> take_holds(Pmu &pmu, EventState *e, const lbrctx_attr &a, Holds &h)
{
	bool os = e->config.ctl & lbr::ctl::kOs, usr = e->config.ctl & lbr::ctl::kUsr;
	bool probes = pmu.source() == SourceKind::Probes;
	Store &store = pmu.store();
	UserSource &user = pmu.user_source();
	if (probes && os) {
		if (lbrctx_shim_source_kind() == LBRCTX_SOURCE_NONE) {
			lbrctx_refusal(
				"no branch source: this kernel has neither fprobe nor kretprobes\n");
			return err::opnotsupp();
		}
		h.probes = TRY(pmu.kernel_source().get());
	}
	bool user_probes = probes && usr && user.configured();
	if (e->upstream && user_probes) {
		/* The user source's filter follows lbrctx's store. */
		lbrctx_refusal(
			"store=upstream records kernel branches only: exclude_user, or clear the user probes\n");
		return err::opnotsupp();
	}
	if (user_probes) {
		/*
		 * The filter first: registering (or re-applying registered
		 * probes) asks it which address spaces get breakpoints. An
		 * inherited event's task has its parent's breakpoints already
		 * (fork copies them), and is created under the parent's
		 * context mutex: it re-applies nothing.
		 */
		bool wider = false;
		if (a.has_task) {
			h.mm = user.watch(lbrctx_shim_task_mm(a.task), wider);
			wider = wider && !a.parent;
		} else {
			wider = !store.global_active();
			h.global = TRY(store.add_global_user());
		}
		if (wider)
			user.refilter();
		h.user = TRY(user.get());
	}
	/* store=upstream: the core attaches once event_init succeeded. */
	if (e->upstream)
		return {};
	if (a.has_task)
		h.td = TRY(store.attach(k::Task(a.task)));
	else if (!h.global)
		h.global = TRY(store.add_global_user());
	return {};
}

} // namespace

Result<SlabPtr<EventState>> EventState::create(Pmu &pmu, SlabCache<EventState> &cache, void *event,
					       const lbrctx_attr &a)
{
	Kind kind = TRY(validate(a));
	auto mem = TRY(cache.alloc(LBRCTX_GFP_KERNEL));
	EventState *e = mem.get();
	e->event = event;
	e->kind = kind;
	e->sampling = a.period != 0;
	e->uses_unit = !counting_kind(kind);
	e->exclude_user = a.exclude_user;
	e->exclude_idle = a.exclude_idle;
	e->format = entry_format(a);
	e->slot = -1;
	if (!e->uses_unit) {
		TRY(validate_counting(a, e->sampling));
		return mem;
	}
	bool user_probes = pmu.source() == SourceKind::Probes && pmu.user_source().configured();
	e->config = TRY(decode_unit_config(a, pmu.source(), user_probes));
	e->period = TRY(sample_period(a, kind, pmu.source()));
	e->upstream = pmu.upstream();
	if (auto r = take_holds(pmu, e, a, e->holds); r.is_error()) {
		lbrctx_refusal("event setup failed: %d\n", r.error());
		return Error{r.error()};
	}
	return mem;
}

/* Task context (perf_event_open(), or copy_process() for an inherited child); may sleep. */
int Pmu::event_init(void *event)
{
	lbrctx_attr a;
	lbrctx_shim_event_attr(event, &a);
	if (!a.type_is_ours)
		return -LBRCTX_K_ENOENT;
	m_opens.add(a.parent ? 0 : 1); /* an inherited event is no open */
	auto made = EventState::create(*this, m_events, event, a);
	if (made.is_error()) {
		m_refused.add(a.parent ? 0 : 1);
		return made.error();
	}
	EventState *e = made.value().get();
	/* An inherited child copied its parent's handler, which is lbrctx's wrapper. */
	e->handler = lbrctx_shim_event_handler(event);
	if (a.parent && lbrctx_shim_handler_is_lbrctx(e->handler))
		e->handler =
			static_cast<EventState *>(k::PerfEvent(a.parent).pmu_private())->handler;
	lbrctx_shim_event_hlist_add(event, e->head.get());
	if (e->sampling && e->period) {
		lbrctx_shim_event_set_period(event, e->period);
		if (e->kind == Kind::Lbr)
			lbrctx_shim_timer_init(event);
	}
	m_nevents.add(1);
	/* Owned by the perf event from here, until ->destroy (event_destroy()). */
	lbrctx_shim_event_setup(event, made.value().leak());
	/* Nothing fails past this point: the core's detach relies on it. */
	if (e->upstream && e->uses_unit)
		lbrctx_shim_event_attach_task_data(event);
	return 0;
}

/* ->destroy: task context; the event is off every CPU. */
void Pmu::event_destroy(EventState *e)
{
	if (e->kind == Kind::Lbr && e->sampling)
		lbrctx_shim_timer_cancel(e->event);
	{
		/* Released here, in task context, at the end of this scope. */
		Holds holds = move(e->holds);
		/*
		 * An event that ran hands its task reference to the task: perf
		 * may swap the contexts of two equivalent tasks on a context
		 * switch, so an event does not stay with the task it was
		 * created for, and an event-held reference could free the
		 * data of a task still monitored. One that never ran (say,
		 * refused by the core's permission check after event_init)
		 * drops it.
		 */
		if (holds.td && e->ran)
			m_store->give_to_task(move(holds.td));
	}
	m_nevents.sub(1);
	e->rcu.call(free_rcu);
}

/* RCU callback (softirq): the state's resources went at ->destroy. */
void Pmu::free_rcu(lbrctx_rcu *r) noexcept
{
	the_pmu().m_events.free(lbrctx_container_of(k::RcuHead::from(r), EventState, rcu));
}

} // namespace lbrctx::pmu
