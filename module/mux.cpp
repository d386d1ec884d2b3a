// SPDX-License-Identifier: GPL-2.0
/*
 * The multiplexer: a CPU has a unit per distinct configuration of the
 * events added there, up to kUnits (include/lbrctx/units.h). An event of
 * a further configuration is parked: added, counting nothing, until the
 * CPU's rotation timer gives it a unit taken from the events that have
 * waited least. A parked event's time is taken off its time_running, so
 * that perf scales its count as it does a multiplexed event's.
 *
 * Why lbrctx does this and not the core: the core rotates the events of
 * a context whose PMU refused an add (-EAGAIN), but lbrctx's events live
 * in the software context (task_ctx_nr = perf_sw_context, as arm_spe_pmu),
 * where the core never rotates; and no exported interface lets a PMU say
 * that an added event did not run. So the parked time is folded into
 * total_time_running through k::PerfEvent::sub_time_running(), the one
 * write of a core field besides the count (include/lbrctx/k/perf_event.h),
 * under the context lock with interrupts off, as the core's own updates.
 *
 * Everything here runs with interrupts off on the CPU of @c.
 */
#include <lbrctx/event.h>
#include <lbrctx/hw.h>

namespace lbrctx::pmu {
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

/* ->read (after the core updated the times) and ->del (before it does). */
void Pmu::fold_parked(EventState *e)
{
	if (e->parked)
		note_parked(e, lbrctx_shim_local_clock());
	if (e->parked_ns)
		k::PerfEvent(e->event).sub_time_running(exchange(e->parked_ns, 0ull));
}

/*
 * Give @e its configuration's unit on @c. A unit configured just now
 * takes the records of the task the units hold (c->owner: the running
 * task, or in a switch the incoming one) for that configuration. The
 * others were restored by the switch hook when that task switched in, at
 * the depth its records were saved at, which a restore here, inside
 * perf's sched_in path, would not be (in call-stack mode the hardware
 * counts the kernel's calls and returns: every return from here to the
 * hook's depth would pop one of the task's records). False when every
 * unit is another configuration's.
 */
bool Pmu::bind(CpuState *c, EventState *e)
{
	bool fresh;
	bool was_off = !c->units.configured();
	int s = c->units.bind(e->config, lbrctx_shim_local_clock(), fresh);
	if (s < 0)
		return false;
	if (fresh) {
		/* No switch since events exist: the running task's. */
		if (!c->owner)
			c->owner = k::Task::current().raw();
		k::RcuReadGuard rcu;
		(void)restore(c, task_data(k::Task(c->owner)), 1u << s);
		/*
		 * The switches since the units went off told the hardware no
		 * task: that task's pending interrupt entries come back now.
		 */
		if (c->hw && was_off)
			c->hw_task = c->owner;
		/* More than one configuration: tasks will want side areas. */
		if (c->units.active() & (c->units.active() - 1))
			m_store->want_sides();
	}
	e->slot = static_cast<s8>(s);
	return true;
}

/* @e leaves its unit, which keeps its configuration and records. */
void Pmu::unbind(CpuState *c, EventState *e)
{
	if (e->slot >= 0)
		c->units.unbind(static_cast<u32>(e->slot));
	e->slot = -1;
}

/* @e waits for a unit; the CPU's rotation timer brings it in. */
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
 * Every event on slot @s waits, and the slot is free. The running task's
 * records of that configuration go to its store object, as on a switch,
 * to come back when the configuration does.
 */
void Pmu::evict(CpuState *c, u32 s)
{
	{
		k::RcuReadGuard rcu;
		if (TaskData *td = task_data(k::Task::current()))
			save(c, td, 1u << s);
	}
	for (u32 i = 0; i < c->nactive; i++) {
		EventState *e = c->active[i];
		if (e->slot != static_cast<s8>(s))
			continue;
		account(e);
		unbind(c, e);
		park(c, e);
	}
}

/*
 * A unit for @e, which has none: a free one, else the one whose events
 * have waited least, when @e has waited a rotation period more. Shares of
 * time even out whichever order perf adds events in.
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
	hw::Sync sync(c);
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

} // namespace lbrctx::pmu
