// SPDX-License-Identifier: GPL-2.0
/*
 * The lbrctx PMU (see include/lbrctx/pmu.h). The shim (module/shim/pmu.c)
 * registers it and forwards each callback here.
 *
 * event_init refusals, each with one rate-limited dmesg line:
 *   another PMU's type                                   -ENOENT (shim)
 *   reserved config bits, config1/config2, event > 4     -EINVAL
 *   a group leader of another PMU                        -EINVAL
 *   exclude_kernel (kernel branches are all there is)    -EOPNOTSUPP
 *   sigtrap, precise_ip                                  -EOPNOTSUPP
 *   depth other than 0 (= 32), 8, 16, 24, 32             -EINVAL
 *   call-stack mode whose filter drops calls or returns  -EINVAL
 *   config filter and branch_sample_type sharing no type -EINVAL
 *   saves/restores/resets on a task, or without a CPU   -EINVAL
 *   branches sampling in freq mode, or N < 16            -EINVAL
 *   PERF_SAMPLE_RAW or PERF_SAMPLE_AUX                   -EOPNOTSUPP
 *   branch stack without kernel branches (user/hv only)  -EOPNOTSUPP
 *   branch filters with no source (cond, ind jump, TSX)  -EOPNOTSUPP
 *   saves/restores/resets sampling or with branch stack  -EOPNOTSUPP
 *   no branch source in this kernel (no fprobe/kretprobe) -EOPNOTSUPP
 *   task exiting (per-task data refused)                 -ESRCH
 * Privilege is the core's: perf_event_open() calls perf_allow_kernel()
 * unless exclude_kernel, perf_copy_attr() does for kernel branch filters,
 * and CPU-wide events need perf_allow_cpu(), as for any PMU.
 */
#include <lbrctx/pmu.h>
#include <lbrctx/slab.h>

namespace lbrctx::pmu {
namespace {

struct State {
	SlabCache<EventState> events;
	void *percpu;		/* CpuState per CPU */
	Atomic<u64> nevents;
	bool registered;
};

constinit State g{};

EventState *state_of(lbrctx_ev *ev) { return reinterpret_cast<EventState *>(ev); }

#define lbrctx_refuse(err, ...) (lbrctx_shim_log_rl(LBRCTX_LOG_INFO, __VA_ARGS__), (err))

constexpr u64 kBrPlm = LBRCTX_K_BR_USER | LBRCTX_K_BR_KERNEL | LBRCTX_K_BR_HV;
constexpr u64 kBrSupported = kBrPlm | LBRCTX_K_BR_ANY | LBRCTX_K_BR_ANY_CALL |
			     LBRCTX_K_BR_ANY_RETURN | LBRCTX_K_BR_IND_CALL | LBRCTX_K_BR_CALL |
			     LBRCTX_K_BR_CALL_STACK | LBRCTX_K_BR_NO_FLAGS |
			     LBRCTX_K_BR_NO_CYCLES | LBRCTX_K_BR_TYPE_SAVE |
			     LBRCTX_K_BR_HW_INDEX | LBRCTX_K_BR_PRIV_SAVE;

bool counting_kind(Kind k) { return k == Kind::Saves || k == Kind::Restores || k == Kind::Resets; }

u32 br_flags(const lbrctx_attr &a)
{
	if (!(a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK))
		return 0;
	u64 b = a.branch_sample_type;
	u32 f = 0;
	if (b & LBRCTX_K_BR_TYPE_SAVE)
		f |= LBRCTX_BR_TYPE_SAVE;
	if (b & LBRCTX_K_BR_NO_CYCLES)
		f |= LBRCTX_BR_NO_CYCLES;
	if (b & LBRCTX_K_BR_PRIV_SAVE)
		f |= LBRCTX_BR_PRIV_SAVE;
	if (b & LBRCTX_K_BR_NO_FLAGS)
		f |= LBRCTX_BR_NO_FLAGS;
	return f;
}

CpuState *cpu_state(u32 cpu) { return static_cast<CpuState *>(lbrctx_shim_per_cpu_ptr(g.percpu, cpu)); }

/* The event's current reading of its source on this CPU. */
u64 current_value(const EventState *e, const CpuState *c)
{
	if (e->kind == Kind::Callstack)
		return lbrctx_shim_local_clock();
	return c->counts[static_cast<u32>(e->kind)];
}

/* IRQs off on the event's CPU: fold what happened since the last accounting into the count. */
void account(EventState *e)
{
	u64 v = current_value(e, this_cpu());
	lbrctx_shim_event_add_count(&e->ev, v - e->base);
	e->base = v;
}

void emit(EventState *e, CpuState *c, u64 delta, bool irq_regs)
{
	auto &snap = c->snap[lbrctx_shim_ctx_level() & 3];
	snapshot(c->unit, snap);
	if (lbrctx_shim_emit(&e->ev, delta, &snap, irq_regs) == 0)
		c->samples++;
	else
		lbrctx_shim_event_add_count(&e->ev, delta); /* no sample, but the count stays exact */
}

void release(EventState *e)
{
	if (e->global)
		LBRCTX_WARN_ON(lbrctx_store_detach_global());
	if (e->probes)
		source::put();
	/*
	 * An event that ran hands its task reference to the task (see
	 * lbrctx_store_own()); one that never ran, say refused by the core's
	 * permission check after event_init, drops it.
	 */
	if (e->td && e->ran)
		lbrctx_store_own(e->td);
	else if (e->td)
		lbrctx_store_put(e->td);
	e->td = nullptr;
	e->global = e->probes = false;
}

} // namespace

CpuState *this_cpu() { return static_cast<CpuState *>(lbrctx_shim_this_cpu_ptr(g.percpu)); }

bool any_events() { return g.nevents.load() != 0; }

void snapshot(const lbr::Unit &u, lbrctx_snapshot &snap)
{
	u32 n = u.count();
	for (u32 i = 0; i < n; i++) {
		auto r = u.entry(i);
		snap.rec[i] = {r.from, r.to, r.info};
	}
	snap.nr = n;
}

/* Record path, IRQs off: count the branch, and sample the events that asked for every N. */
void on_branch(CpuState *c)
{
	u64 v = ++c->counts[static_cast<u32>(Kind::Branches)];
	for (u32 i = 0; i < c->nactive; i++) {
		EventState *e = c->active[i];
		if (e->kind != Kind::Branches || !e->sampling ||
		    (lbrctx_shim_hw_state(&e->ev) & LBRCTX_K_PERF_HES_STOPPED))
			continue;
		if (--e->left)
			continue;
		e->left = e->period;
		u64 delta = v - e->base;
		e->base = v;
		emit(e, c, delta, false);
	}
}

Result<UnitConfig> decode_unit_config(const lbrctx_attr &a)
{
	u64 c = a.config;
	u64 depth = (c & cfg::kDepth) >> cfg::kDepthShift;
	if (!depth)
		depth = lbr::kDefaultDepth;
	if (!lbr::valid_depth(depth))
		return lbrctx_refuse(err::inval(), "depth %llu: use 8, 16, 24 or 32\n", depth);
	bool cs = c & cfg::kCallStack;
	u64 types = lbr::ctl::kTypeMask;
	if (c & cfg::kFilters) {
		types = ((c & cfg::kCall) ? lbr::ctl::kRelCall : 0) |
			((c & cfg::kIndCall) ? lbr::ctl::kIndCall : 0) |
			((c & cfg::kRet) ? lbr::ctl::kReturn : 0);
	}
	if (a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK) {
		u64 b = a.branch_sample_type;
		if (b & ~kBrSupported)
			return lbrctx_refuse(err::opnotsupp(),
					     "branch_sample_type %#llx: only calls and returns have a source\n", b);
		if (!(b & LBRCTX_K_BR_KERNEL))
			return lbrctx_refuse(err::opnotsupp(),
					     "branch_sample_type %#llx: kernel branches are the only source\n", b);
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
	if (!types)
		return lbrctx_refuse(err::inval(), "config filter %#llx and branch_sample_type %#llx select no branch type\n",
				     c & cfg::kFilters, a.branch_sample_type);
	if (cs && (!(types & lbr::ctl::kCalls) || !(types & lbr::ctl::kReturn)))
		return lbrctx_refuse(err::inval(), "call-stack mode needs calls and returns recorded\n");
	u64 ctl = lbr::ctl::kEnable | types | (cs ? lbr::ctl::kCallStack : 0) |
		  lbr::ctl::kOs | (a.exclude_user ? 0 : lbr::ctl::kUsr);
	return UnitConfig{ctl, static_cast<u32>(depth)};
}

Result<void> init()
{
	TRY(g.events.create("lbrctx_event"));
	g.percpu = lbrctx_shim_percpu_alloc(sizeof(CpuState), alignof(CpuState));
	if (!g.percpu) {
		(void)g.events.destroy();
		return err::nomem();
	}
	for (u32 cpu = 0; cpu < lbrctx_shim_nr_cpu_ids(); cpu++) {
		if (lbrctx_shim_cpu_possible(cpu))
			new (cpu_state(cpu)) CpuState{};
	}
	if (int ret = lbrctx_shim_pmu_register()) {
		lbrctx_err("cannot register the PMU: %d\n", ret);
		lbrctx_shim_percpu_free(g.percpu);
		g.percpu = nullptr;
		(void)g.events.destroy();
		return Error{ret};
	}
	g.registered = true;
	return {};
}

/* Module exit, first: no event can exist (each holds a module reference). */
void exit()
{
	if (g.registered)
		lbrctx_shim_pmu_unregister();
	g.registered = false;
}

/* Module exit, after rcu_barrier(): the event states are freed. */
void destroy_caches()
{
	if (g.percpu)
		lbrctx_shim_percpu_free(g.percpu);
	g.percpu = nullptr;
	(void)g.events.destroy();
}

} // namespace lbrctx::pmu

using namespace lbrctx;
using namespace lbrctx::pmu;

/* Task context (perf_event_open(), or copy_process() for an inherited child); may sleep. */
extern "C" int lbrctx_pmu_event_init(const struct lbrctx_attr *ap, struct lbrctx_ev **out) noexcept
{
	const lbrctx_attr &a = *ap;
	if ((a.config & ~cfg::kValid) || a.config1 || a.config2)
		return lbrctx_refuse(-LBRCTX_K_EINVAL, "config %#llx config1 %#llx config2 %#llx: reserved bits set\n",
				     a.config, a.config1, a.config2);
	u64 kind_v = a.config & cfg::kEvent;
	if (kind_v >= kKinds)
		return lbrctx_refuse(-LBRCTX_K_EINVAL, "event %llu: no such event (0-4)\n", kind_v);
	auto kind = static_cast<Kind>(kind_v);
	if (a.foreign_leader)
		return lbrctx_refuse(-LBRCTX_K_EINVAL, "group leader of another PMU: lbrctx events group only with lbrctx events\n");
	if (a.exclude_kernel)
		return lbrctx_refuse(-LBRCTX_K_EOPNOTSUPP, "exclude_kernel: lbrctx records kernel branches only, nothing would be left\n");
	if (a.sigtrap)
		return lbrctx_refuse(-LBRCTX_K_EOPNOTSUPP, "sigtrap: lbrctx samples from a timer or a probe, not synchronously\n");
	if (a.precise_ip)
		return lbrctx_refuse(-LBRCTX_K_EOPNOTSUPP, "precise_ip %u: the sample IP is not precise\n", a.precise_ip);
	if (a.sample_type & (LBRCTX_K_PERF_SAMPLE_RAW | LBRCTX_K_PERF_SAMPLE_AUX))
		return lbrctx_refuse(-LBRCTX_K_EOPNOTSUPP, "sample_type %#llx: no raw or AUX data\n",
				     a.sample_type);
	bool sampling = a.period != 0;
	UnitConfig uc{};
	u64 period = 0;
	if (counting_kind(kind)) {
		if (a.config & ~cfg::kEvent)
			return lbrctx_refuse(-LBRCTX_K_EINVAL, "saves/restores/resets take no LBR config\n");
		if (sampling || (a.sample_type & LBRCTX_K_PERF_SAMPLE_BRANCH_STACK))
			return lbrctx_refuse(-LBRCTX_K_EOPNOTSUPP, "saves/restores/resets count only\n");
		if (a.has_task || a.cpu < 0)
			return lbrctx_refuse(-LBRCTX_K_EINVAL, "saves/restores/resets count per CPU: use -a\n");
	} else {
		auto r = decode_unit_config(a);
		if (r.is_error())
			return r.error();
		uc = r.value();
		if (kind == Kind::Branches && sampling) {
			if (a.freq)
				return lbrctx_refuse(-LBRCTX_K_EINVAL, "branches samples every N branches: give a period (-c N), not a frequency\n");
			if (a.period < kMinBranchPeriod)
				return lbrctx_refuse(-LBRCTX_K_EINVAL, "branches period %llu below %llu\n",
						     a.period, kMinBranchPeriod);
			period = a.period;
		}
		if (kind == Kind::Callstack && sampling) {
			period = a.freq ? LBRCTX_K_NSEC_PER_SEC / a.period : a.period;
			if (period < kMinPeriodNs)
				period = kMinPeriodNs;
		}
		if (!lbrctx_shim_source_available())
			return lbrctx_refuse(-LBRCTX_K_EOPNOTSUPP, "no branch source: this kernel has neither fprobe nor kretprobes\n");
	}

	if (a.freq && !a.period)
		return lbrctx_refuse(-LBRCTX_K_EINVAL, "freq with a rate of 0 Hz\n");

	auto mem = g.events.alloc(LBRCTX_GFP_KERNEL);
	if (mem.is_error())
		return mem.error();
	EventState *e = mem.value().leak(); /* owned by the event until destroy */
	e->kind = kind;
	e->sampling = sampling;
	e->uses_unit = !counting_kind(kind);
	e->unit_ctl = uc.ctl;
	e->depth = uc.depth;
	e->period = period;
	e->ev.br_flags = br_flags(a);
	int ret = 0;
	if (e->uses_unit) {
		auto r = source::get();
		ret = r.is_error() ? r.error() : 0;
		e->probes = !ret;
		if (!ret && a.has_task)
			ret = lbrctx_store_attach(a.task, &e->td);
		else if (!ret) {
			ret = lbrctx_store_attach_global();
			e->global = !ret;
		}
	}
	if (ret) {
		lbrctx_shim_log_rl(LBRCTX_LOG_INFO, "event setup failed: %d\n", ret);
		release(e);
		g.events.free(e);
		return ret;
	}
	g.nevents.add(1);
	*out = &e->ev;
	/* The shim fills ev.event, then these need it. */
	return 0;
}

/* Called by the shim once ev.event is set (still event_init). */
extern "C" void lbrctx_pmu_event_ready(struct lbrctx_ev *ev) noexcept
{
	EventState *e = state_of(ev);
	if (e->sampling && e->period) {
		lbrctx_shim_event_set_period(ev, e->period);
		if (e->kind == Kind::Callstack)
			lbrctx_shim_timer_init(ev);
	}
}

/* Task context: the event is off every CPU. */
extern "C" void lbrctx_pmu_event_destroy(struct lbrctx_ev *ev) noexcept
{
	EventState *e = state_of(ev);
	if (e->kind == Kind::Callstack && e->sampling)
		lbrctx_shim_timer_cancel(ev);
	release(e);
	g.nevents.sub(1);
	lbrctx_shim_call_rcu_event(&e->rcu);
}

/* RCU callback (softirq). */
extern "C" void lbrctx_pmu_free_rcu(void *rcu_head) noexcept
{
	auto *e = reinterpret_cast<EventState *>(static_cast<u8 *>(rcu_head) -
						 __builtin_offsetof(EventState, rcu));
	g.events.free(e);
}

/* ->start: IRQs off, on the event's CPU. */
extern "C" void lbrctx_pmu_start(struct lbrctx_ev *ev, int flags) noexcept
{
	EventState *e = state_of(ev);
	(void)flags;
	lbrctx_shim_set_hw_state(ev, 0);
	e->base = current_value(e, this_cpu());
	if (!e->sampling)
		return;
	/* PERF_EVENT_IOC_PERIOD changes the core's period, then stops and reloads. */
	u64 p = lbrctx_shim_event_period(ev);
	if (e->kind == Kind::Callstack) {
		e->period = p < kMinPeriodNs ? kMinPeriodNs : p;
		lbrctx_shim_timer_start(ev, e->period);
	} else if (e->kind == Kind::Branches) {
		e->period = p < kMinBranchPeriod ? kMinBranchPeriod : p;
		if (!e->left || e->left > e->period)
			e->left = e->period;
	}
}

/* ->stop: IRQs off; also from inside the hrtimer callback when the core throttles. */
extern "C" void lbrctx_pmu_stop(struct lbrctx_ev *ev, int flags) noexcept
{
	EventState *e = state_of(ev);
	u32 st = lbrctx_shim_hw_state(ev);
	if (!(st & LBRCTX_K_PERF_HES_STOPPED)) {
		if (e->kind == Kind::Callstack && e->sampling)
			lbrctx_shim_timer_try_cancel(ev);
		st |= LBRCTX_K_PERF_HES_STOPPED;
		if (flags & LBRCTX_K_PERF_EF_UPDATE) {
			account(e);
			st |= LBRCTX_K_PERF_HES_UPTODATE;
		}
	}
	lbrctx_shim_set_hw_state(ev, st);
}

/* ->add: IRQs off, on the CPU the event goes on (context switch in, or IPI). */
extern "C" int lbrctx_pmu_add(struct lbrctx_ev *ev, int flags) noexcept
{
	EventState *e = state_of(ev);
	CpuState *c = this_cpu();
	if (c->nactive == kMaxActive)
		return -LBRCTX_K_EAGAIN;
	e->ran = true;
	if (e->uses_unit) {
		lbr::Unit &u = c->unit;
		if (c->unit_users) {
			/* One unit per CPU: events that need another configuration wait their turn. */
			if (u.depth() != e->depth ||
			    (u.lbr_ctl() & ~lbr::ctl::kEnable) != (e->unit_ctl & ~lbr::ctl::kEnable))
				return -LBRCTX_K_EAGAIN;
		} else {
			if (u.depth() != e->depth)
				u.set_depth(e->depth); /* clears the records, as the MSR write does */
			if ((u.lbr_ctl() & ~lbr::ctl::kEnable) != (e->unit_ctl & ~lbr::ctl::kEnable))
				u.reset();
			u.set_ctl(e->unit_ctl);
		}
		c->unit_users++;
	}
	c->active[c->nactive++] = e;
	lbrctx_shim_set_hw_state(ev, LBRCTX_K_PERF_HES_STOPPED | LBRCTX_K_PERF_HES_UPTODATE);
	if (flags & LBRCTX_K_PERF_EF_START)
		lbrctx_pmu_start(ev, LBRCTX_K_PERF_EF_RELOAD);
	return 0;
}

/* ->del: IRQs off, on the event's CPU. */
extern "C" void lbrctx_pmu_del(struct lbrctx_ev *ev, int flags) noexcept
{
	(void)flags;
	EventState *e = state_of(ev);
	CpuState *c = this_cpu();
	lbrctx_pmu_stop(ev, LBRCTX_K_PERF_EF_UPDATE);
	for (u32 i = 0; i < c->nactive; i++) {
		if (c->active[i] != e)
			continue;
		c->active[i] = c->active[--c->nactive];
		c->active[c->nactive] = nullptr;
		if (e->uses_unit && !--c->unit_users)
			c->unit.set_ctl(c->unit.lbr_ctl() & ~lbr::ctl::kEnable);
		return;
	}
	LBRCTX_WARN_ON(true); /* deleted an event that was not added here */
}

/* ->read: IRQs off, on the event's CPU (IPI or local). */
extern "C" void lbrctx_pmu_read(struct lbrctx_ev *ev) noexcept
{
	if (!(lbrctx_shim_hw_state(ev) & LBRCTX_K_PERF_HES_STOPPED))
		account(state_of(ev));
}

/* The hrtimer of a sampling callstack event: hard IRQ, on the event's CPU. */
extern "C" u64 lbrctx_pmu_tick(struct lbrctx_ev *ev) noexcept
{
	EventState *e = state_of(ev);
	if (lbrctx_shim_hw_state(ev) & LBRCTX_K_PERF_HES_STOPPED)
		return 0;
	CpuState *c = this_cpu();
	u64 now = lbrctx_shim_local_clock();
	u64 delta = now - e->base;
	e->base = now;
	emit(e, c, delta, true);
	return e->period;
}

/*
 * sched_switch: interrupts off, runqueue locked, before perf switches the
 * events. The outgoing task's unit goes into its store object; the
 * incoming task gets its own records back, or a reset unit when it has
 * none (never another task's branches). With save_restore=N every switch
 * resets, which is what perf did for system-wide LBR before seed 003.
 */
extern "C" void lbrctx_pmu_switch(void *prev, void *next) noexcept
{
	if (!any_events())
		return;
	CpuState *c = this_cpu();
	auto &n = c->counts;
	if (!lbrctx_param_save_restore()) {
		c->unit.reset();
		n[static_cast<u32>(Kind::Resets)]++;
		return;
	}
	lbrctx_shim_rcu_read_lock();
	if (TaskData *td = lbrctx_store_lookup(prev)) {
		c->unit.save(td->lbr.lbr);
		td->lbr.header.xstate_bv = LBRCTX_K_XFEATURE_MASK_LBR;
		n[static_cast<u32>(Kind::Saves)]++;
	}
	TaskData *td = lbrctx_store_lookup(next);
	if (td && (td->lbr.header.xstate_bv & LBRCTX_K_XFEATURE_MASK_LBR) &&
	    c->unit.restore_if_compatible(td->lbr.lbr)) {
		n[static_cast<u32>(Kind::Restores)]++;
	} else {
		c->unit.reset();
		n[static_cast<u32>(Kind::Resets)]++;
	}
	lbrctx_shim_rcu_read_unlock();
}

extern "C" void lbrctx_pmu_get_stats(struct lbrctx_pmu_stats *s) noexcept
{
	*s = {};
	s->events = g.nevents.load();
	if (g.percpu) {
		for (u32 cpu = 0; cpu < lbrctx_shim_nr_cpu_ids(); cpu++) {
			if (!lbrctx_shim_cpu_possible(cpu))
				continue;
			const CpuState *c = cpu_state(cpu);
			s->records += __atomic_load_n(&c->counts[static_cast<u32>(Kind::Branches)], __ATOMIC_RELAXED);
			s->saves += __atomic_load_n(&c->counts[static_cast<u32>(Kind::Saves)], __ATOMIC_RELAXED);
			s->restores += __atomic_load_n(&c->counts[static_cast<u32>(Kind::Restores)], __ATOMIC_RELAXED);
			s->resets += __atomic_load_n(&c->counts[static_cast<u32>(Kind::Resets)], __ATOMIC_RELAXED);
			s->samples += __atomic_load_n(&c->samples, __ATOMIC_RELAXED);
			s->dropped += __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
		}
	}
	s->probes_registered = source::registered();
	s->probe_users = source::users();
	s->probe_missed = source::missed();
}

/* For lbrctx_kunit: this CPU's unit records, youngest first (IRQs off inside). */
extern "C" void lbrctx_pmu_test_snapshot(struct lbrctx_snapshot *snap, u64 *lbr_ctl) noexcept
{
	unsigned long flags = lbrctx_shim_irq_save();
	CpuState *c = this_cpu();
	snapshot(c->unit, *snap);
	*lbr_ctl = c->unit.lbr_ctl();
	lbrctx_shim_irq_restore(flags);
}
