// SPDX-License-Identifier: GPL-2.0
/*
 * The context switch (seed 003): the outgoing task's units go into its
 * store object and the incoming task's records come back, so that a
 * system-wide event's LBR call stacks stay complete across switches, as
 * upstream's perf_ctx_data keeps them (intel_pmu_lbr_sched_task()).
 *
 * A task's object holds one configuration's state in its XSAVE area (the
 * Arch LBR component, as XSAVES writes it) and, when the CPUs it ran on
 * had units of further configurations, the others in a side block. One
 * function saves and one restores, for any set of units: with one
 * configuration, the common case, that set is one unit and the XSAVE area
 * is the first place either looks.
 */
#include <lbrctx/event.h>
#include <lbrctx/hw.h>

namespace lbrctx::pmu {
namespace {

bool area_holds(const xsave::ArchLbrState &s, const lbr::Config &c)
{
	return s.lbr_depth == c.depth && (s.lbr_ctl & ~lbr::ctl::kEnable) == c.ctl;
}

bool xsave_used(const TaskData *td)
{
	return td->lbr.header.xstate_bv & LBRCTX_K_XFEATURE_MASK_LBR;
}

/* The area of @td that holds @c: its XSAVE area, else a side area; or null. */
xsave::ArchLbrState *find_area(TaskData *td, const lbr::Config &c, u64 *&slots)
{
	if (xsave_used(td) && area_holds(td->lbr.lbr, c)) {
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

/* The side area to take a new configuration: a free one, else the one saved longest ago. */
SideArea *pick_side(SideBlock *sb)
{
	SideArea *pick = &sb->area[0];
	for (auto &a : sb->area) {
		if (!a.lbr.lbr_depth)
			return &a;
		if (a.stamp < pick->stamp)
			pick = &a;
	}
	return pick;
}

} // namespace

/*
 * Save @c's units @slots into @td. A unit's configuration goes where @td
 * holds it already; a new one to the XSAVE area when that holds none, or
 * one no unit of this CPU has; else to a side area (taken from this CPU's
 * spares; without one the state is not saved, and counted). The switch
 * hook, bind() and evict(): IRQs off.
 */
void Pmu::save(CpuState *c, TaskData *td, u32 slots)
{
	for (u32 m = slots; m; m &= m - 1) {
		const lbr::Unit &u = c->units.slot(__builtin_ctz(m)).unit;
		lbr::Config cfg = lbr::config_of(u);
		u64 *frames = nullptr;
		xsave::ArchLbrState *area = find_area(td, cfg, frames);
		if (!area) {
			bool xsave_free =
				!xsave_used(td) ||
				c->units.find({td->lbr.lbr.lbr_ctl & ~lbr::ctl::kEnable,
					       static_cast<u32>(td->lbr.lbr.lbr_depth)}) < 0;
			if (xsave_free) {
				area = &td->lbr.lbr;
				frames = td->lbr.slots();
			} else {
				/* The core's objects (store=upstream) have no store and take no side block. */
				if (!td->side && td->store)
					td->side = m_store->take_side();
				if (!td->side) {
					c->unsaved++;
					continue;
				}
				SideArea *side = pick_side(td->side);
				area = &side->lbr;
				frames = side->slots;
				side->stamp = lbrctx_shim_local_clock();
			}
		}
		u.save(*area, frames);
		if (area == &td->lbr.lbr)
			td->lbr.header.xstate_bv = LBRCTX_K_XFEATURE_MASK_LBR;
	}
}

/*
 * Restore @c's units @slots from @td (null: none), each from the area
 * that holds its configuration, else reset (never another task's
 * branches). True when any unit took records. IRQs off.
 */
bool Pmu::restore(CpuState *c, TaskData *td, u32 slots)
{
	bool restored = false;
	for (u32 m = slots; m; m &= m - 1) {
		lbr::Unit &u = c->units.slot(__builtin_ctz(m)).unit;
		u64 *frames = nullptr;
		xsave::ArchLbrState *area = td ? find_area(td, lbr::config_of(u), frames) : nullptr;
		if (area && u.restore_if_compatible(*area, frames))
			restored = true;
		else
			u.reset();
	}
	return restored;
}

TaskData *Pmu::task_data(k::Task t)
{
	if (upstream())
		return static_cast<TaskData *>(
			lbrctx_shim_task_ctx_data(t.raw(), m_upstream_cache));
	return m_store->lookup_here(t);
}

/*
 * sched_switch: interrupts off, runqueue locked, before perf switches the
 * events. The outgoing task's units go into its store object; every
 * configured unit takes the incoming task's own records, or is reset when
 * it has none for that configuration. With save_restore=N every switch
 * resets, which is what perf did for system-wide LBR before seed 003.
 */
void Pmu::on_switch(k::Task prev, k::Task next)
{
	CpuState *c = this_cpu();
	if (!m_nevents.load()) {
		/*
		 * The last event is gone: this CPU's units, which stayed
		 * configured and enabled for the tasks that might come back
		 * with an event, are turned off at its first switch after.
		 */
		if (c->units.configured())
			idle(c);
		c->owner = nullptr;
		return;
	}
	c->owner = next.raw();
	/*
	 * Gated per CPU: a CPU where no event took a unit since the last
	 * event anywhere went has nothing to save or restore. Units stay
	 * configured when the CPU's last event goes (del()): a task that
	 * comes back with an event gets its records back here, at the depth
	 * they were saved at.
	 */
	u32 configured = c->units.configured();
	auto &n = c->counts;
	if (!configured) {
		/* Only the switch counters here: the switch restores nothing, as before any LBR event. */
		if (c->nactive)
			n[static_cast<u32>(Kind::Resets)]++;
		return;
	}
	/*
	 * Both doorbells ring in this frame (hw.h): the Save of the outgoing
	 * task and the Restore that gives a task its records back, at another
	 * switch, are at the same call depth, so the hook's own returns after
	 * the Restore pop exactly the calls the Save recorded.
	 */
	if (c->hw)
		hw::pull(c, configured);
	if (!__atomic_load_n(&m_save_restore, __ATOMIC_RELAXED)) {
		restore(c, nullptr, configured);
		n[static_cast<u32>(Kind::Resets)]++;
	} else {
		k::RcuReadGuard rcu;
		/*
		 * The hardware's units stay enabled without users, and
		 * record: all are saved. The probe sources' units record only
		 * while they have users, so those with users are saved; one
		 * whose last user left in the middle of the task's slice (a
		 * close, an ioctl disable) keeps the calls since the switch
		 * in unsaved, and the task's next event starts from the state
		 * saved before them.
		 */
		u32 recorded = c->hw ? configured : c->units.active();
		TaskData *td = recorded ? task_data(prev) : nullptr;
		if (td) {
			save(c, td, recorded);
			n[static_cast<u32>(Kind::Saves)]++;
		}
		bool restored = restore(c, task_data(next), configured);
		n[static_cast<u32>(restored ? Kind::Restores : Kind::Resets)]++;
	}
	if (c->hw)
		hw::push(c, configured | c->hw_pushed, reinterpret_cast<uintptr_t>(prev.raw()),
			 reinterpret_cast<uintptr_t>(next.raw()));
}

/*
 * No lbrctx event exists (sched_switch, interrupts off): @c's units
 * without users are disabled and forgotten, and the hardware told.
 */
void Pmu::idle(CpuState *c)
{
	if (c->hw)
		hw::pull(c, c->units.configured());
	c->units.forget_all();
	if (c->hw)
		hw::push(c, c->units.configured() | c->hw_pushed);
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

} // namespace lbrctx::pmu

/* sched_switch: interrupts off, runqueue locked; @data is the Pmu. */
extern "C" void lbrctx_on_switch(void *data, void *prev, void *next) noexcept
{
	static_cast<lbrctx::pmu::Pmu *>(data)->on_switch(lbrctx::k::Task(prev),
							 lbrctx::k::Task(next));
}
