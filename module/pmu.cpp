// SPDX-License-Identifier: GPL-2.0
/*
 * The lbrctx PMU (include/lbrctx/pmu.h says which file holds which job).
 * The shim (module/shim/pmu.c) registers it; each of its kernel callbacks
 * calls one function here or in the files beside it. This file: load and
 * unload, ->add, ->del, ->start, ->stop, ->read, and the counts.
 */
#include <lbrctx/event.h>
#include <lbrctx/hw.h>

namespace lbrctx::pmu {
namespace {

constinit Pmu g_pmu;

constexpr k::TracepointHook kSwitchHook[] = {{"sched_switch", LBRCTX_TP_SWITCH}};

} // namespace

Pmu &the_pmu()
{
	return g_pmu;
}

/* The event's current reading of its source on @c: ns, or its unit's records. IRQs off. */
u64 Pmu::current_value(const EventState *e, CpuState *c) const
{
	if (e->kind == Kind::Lbr)
		return lbrctx_shim_local_clock();
	if (e->kind == Kind::Branches)
		return e->slot >= 0 ? c->units.slot(static_cast<u32>(e->slot)).recorded : e->base;
	/* Kind was checked at event_init and is not speculated past there (event.cpp). */
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
	CpuState *c = this_cpu();
	if (c->hw && e->kind == Kind::Branches && e->slot >= 0)
		hw::pull(c, 1u << e->slot);
	u64 v = current_value(e, c);
	k::PerfEvent(e->event).add_count(v - e->base);
	e->base = v;
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
	if (e->uses_unit) {
		hw::Sync sync(c);
		if (!take_unit(c, e))
			park(c, e);
	}
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
		hw::Sync sync(c);
		c->active[i] = c->active[--c->nactive];
		c->active[c->nactive] = nullptr;
		if (e->parked)
			c->nparked--;
		else
			unbind(c, e);
		e->parked = false;
		/*
		 * The CPU's last event leaves its units configured and, for
		 * the hardware, enabled: the switch hook goes on saving and
		 * restoring there while events exist anywhere, so that the next
		 * task with an event finds its records restored at the hook's
		 * depth, not at perf's sched_in (bind()); Pmu::idle() turns
		 * them off. On a context switch the hook has saved the
		 * outgoing task's records already (sched_switch fires before
		 * perf deletes the task's events).
		 */
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

/* ->start: IRQs off, on the event's CPU. */
void Pmu::start(EventState *e, int)
{
	k::PerfEvent(e->event).set_hw_state(0);
	CpuState *c = this_cpu();
	if (c->hw && e->kind == Kind::Branches && e->slot >= 0)
		hw::pull(c, 1u << e->slot);
	e->base = current_value(e, c);
	if (!e->sampling)
		return;
	/* PERF_EVENT_IOC_PERIOD changes the core's period, then stops and reloads. */
	u64 p = k::PerfEvent(e->event).period();
	if (e->kind == Kind::Lbr) {
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
		if (e->kind == Kind::Lbr && e->sampling)
			lbrctx_shim_timer_try_cancel(e->event);
		st |= LBRCTX_K_PERF_HES_STOPPED;
		if (flags & LBRCTX_K_PERF_EF_UPDATE) {
			account(e);
			st |= LBRCTX_K_PERF_HES_UPTODATE;
		}
	}
	ev.set_hw_state(st);
}

Stats Pmu::stats() const
{
	Stats s{};
	s.events = m_nevents.load();
	s.opens = m_opens.load();
	s.refused = m_refused.load();
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

Result<void> Pmu::init(Store &store, Source &source, UserSource &user, hw::Driver *hw)
{
	m_store = &store;
	m_source = &source;
	m_user = &user;
	m_hw = hw;
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
	if (m_hw)
		m_hw->attach_cpus(*this);
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

/* The CPU's state of a given CPU: the hardware driver gives each its page. */
CpuState *Pmu::cpu_state(u32 cpu) const
{
	return m_cpus.ready() ? m_cpus.on(cpu) : nullptr;
}

} // namespace lbrctx::pmu

using lbrctx::pmu::EventState;
using lbrctx::pmu::the_pmu;

/* The parameters' writes (module/shim/module.c): task context, module load included. */
extern "C" int lbrctx_store_mode_set(bool upstream) noexcept
{
	if (int ret = the_pmu().store_mode_check(upstream))
		return ret;
	the_pmu().set_upstream(upstream);
	return 0;
}

extern "C" void lbrctx_save_restore_set(bool on) noexcept
{
	the_pmu().set_save_restore(on);
}

/* The PMU's callbacks (module/shim/pmu.c), each in the context its method states. */
extern "C" int lbrctx_pmu_event_init(void *event) noexcept
{
	return the_pmu().event_init(event);
}

extern "C" void lbrctx_pmu_event_destroy(void *priv) noexcept
{
	the_pmu().event_destroy(static_cast<EventState *>(priv));
}

extern "C" int lbrctx_pmu_add(void *priv, int flags) noexcept
{
	return the_pmu().add(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_del(void *priv, int flags) noexcept
{
	the_pmu().del(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_start(void *priv, int flags) noexcept
{
	the_pmu().start(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_stop(void *priv, int flags) noexcept
{
	the_pmu().stop(static_cast<EventState *>(priv), flags);
}

extern "C" void lbrctx_pmu_read(void *priv) noexcept
{
	the_pmu().read(static_cast<EventState *>(priv));
}

extern "C" u64 lbrctx_pmu_tick(void *priv) noexcept
{
	return the_pmu().tick(static_cast<EventState *>(priv));
}

extern "C" void lbrctx_pmu_overflow(void *event, void *data, void *regs) noexcept
{
	the_pmu().overflow(event, data, regs);
}

/* The rotation timer of a CPU: hard IRQ. */
extern "C" u64 lbrctx_pmu_rotate(void *timer) noexcept
{
	return the_pmu().rotate(lbrctx_container_of(timer, lbrctx::pmu::CpuState, rotate_timer));
}
