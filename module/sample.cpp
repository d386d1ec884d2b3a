// SPDX-License-Identifier: GPL-2.0
/*
 * Samples, through exported interfaces only: perf_event_overflow() and
 * perf_event_output() are not exported, perf_tp_event() is. Each event
 * owns an hlist that holds only itself, so perf_tp_event() over it reaches
 * exactly that event, and event_init wraps the event's overflow handler:
 * the wrapper (overflow()) attaches the branch stack emit() prepared, then
 * runs the handler the core gave the event. So a sample is C++ (emit) ->
 * shim (perf_tp_event) -> kernel -> shim (the handler) -> C++ (overflow):
 * the kernel calls back, and that callback crosses into C++ once.
 *
 * A sample is taken by the event's hrtimer (lbrctx/lbr/, hard IRQ) or,
 * with the probe sources, every N branches (lbrctx/branches/, in the
 * branch source's handler). With the hardware source, the sample's
 * records are frozen where the timer's interrupt began (hw::pull, Sample),
 * as a PMI freezes a real LBR: nothing of the interrupt's handler, this
 * file included, is among them.
 */
#include <lbrctx/event.h>
#include <lbrctx/hw.h>
#include <lbrctx/usource.h>

namespace lbrctx::pmu {

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
	u32 lvl = k::ctx_level();
	bool stack = e->format.max && e->slot >= 0;
	if (stack && c->hw) {
		u64 ip = 0, sp;
		lbrctx_shim_regs_ip_sp(regs, &ip, &sp);
		hw::pull(c, 1u << e->slot, irq_regs, ip);
	}
	if (stack)
		fill_branch_stack(c->units.slot(static_cast<u32>(e->slot)).unit, e->format,
				  c->stack[lvl]);
	else
		c->stack[lvl].nr = 0;
	if (irq_regs && stack && !c->hw && lbrctx_shim_regs_user_mode(regs))
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
	u32 lvl = k::ctx_level();
	if (c->emitting[lvl] == e && e->format.max)
		lbrctx_shim_sample_brstack(event, data, &c->stack[lvl]);
	lbrctx_shim_call_handler(e->handler, event, data, regs);
}

/* The hrtimer of a sampling lbr event: hard IRQ, on the event's CPU. */
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
 * The probe sources' record path, IRQs off: the units in @slots recorded
 * a branch; sample the events that asked for every N.
 */
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

/* The probe sources: a branch on this CPU, from a handler with interrupts on or off. */
void Pmu::record_here(const lbr::Branch &b, bool match_top)
{
	k::IrqSave irqs;
	CpuState *c = this_cpu();
	if (!c->units.active())
		return;
	if (u32 slots = c->units.record(b, match_top))
		on_branches(c, slots);
}

} // namespace lbrctx::pmu
