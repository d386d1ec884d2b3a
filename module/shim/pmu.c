// SPDX-License-Identifier: GPL-2.0
/*
 * The lbrctx perf PMU: registration, sysfs attributes and the kernel-typed
 * callbacks. Each callback forwards to the C++ (module/pmu.cpp), which owns
 * the logic; this file only converts between kernel types and the
 * fixed-width ones of include/lbrctx/shim.h.
 *
 * Samples go through exported interfaces only. perf_event_overflow() and
 * perf_event_output() are not exported; perf_tp_event() and
 * perf_swevent_get_recursion_context() are. Each event owns an hlist that
 * holds only itself, so perf_tp_event() over it reaches exactly that event,
 * and the event's overflow_handler is wrapped at event_init so that the
 * branch stack of the sample being emitted is attached before the core's
 * handler writes the record.
 */
#include <linux/hardirq.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/trace_events.h>
#include <linux/version.h>
#include <asm/irq_regs.h>
#include <lbrctx/shim.h>

static struct pmu lbrctx_pmu;

static_assert(sizeof(struct hlist_head) == sizeof(void *));
static_assert(sizeof(struct lbrctx_branch_rec) == 3 * sizeof(u64));

/* The branch stack being emitted on this CPU, per recursion context. */
struct lbrctx_emit {
	struct lbrctx_ev *ev;
	const struct lbrctx_snapshot *snap;
	int rctx;
};

struct lbrctx_brs {
	struct perf_branch_stack stack;
	struct perf_branch_entry entries[LBRCTX_SNAP_MAX];
};

static DEFINE_PER_CPU(struct lbrctx_emit, lbrctx_emit_cur);
static DEFINE_PER_CPU(struct lbrctx_brs[PERF_NR_CONTEXTS], lbrctx_brs);

static struct perf_event *lbrctx_event(struct lbrctx_ev *ev)
{
	return ev->event;
}

/* Arch LBR INFO.BR_TYPE to perf's generic branch type. */
static u8 lbrctx_br_type(u64 info)
{
	switch ((info >> 56) & 0xf) {
	case 0: return PERF_BR_COND;
	case 1: return PERF_BR_IND;
	case 2: return PERF_BR_UNCOND;
	case 3: return PERF_BR_IND_CALL;
	case 4: return PERF_BR_CALL;
	case 5: return PERF_BR_RET;
	default: return PERF_BR_UNKNOWN;
	}
}

static void lbrctx_save_brstack(struct perf_event *event, struct perf_sample_data *data,
				const struct lbrctx_emit *cur)
{
	struct lbrctx_brs *brs = this_cpu_ptr(&lbrctx_brs[cur->rctx]);
	u32 flags = cur->ev->br_flags;
	u32 i, nr = min_t(u32, cur->snap->nr, LBRCTX_SNAP_MAX);

	/* 6.12's helper neither checks nor clamps, and 7.x warns on a second save. */
	if (!has_branch_stack(event) || (data->sample_flags & PERF_SAMPLE_BRANCH_STACK))
		return;
	nr = min_t(u32, nr, event->attr.sample_max_stack);
	for (i = 0; i < nr; i++) {
		const struct lbrctx_branch_rec *r = &cur->snap->rec[i];
		struct perf_branch_entry *e = &brs->entries[i];

		memset(e, 0, sizeof(*e));
		e->from = r->from;
		e->to = r->to;
		if (!(flags & LBRCTX_BR_NO_CYCLES) && (r->info & BIT_ULL(60)))
			e->cycles = r->info & 0xffff;
		if (flags & LBRCTX_BR_TYPE_SAVE)
			e->type = lbrctx_br_type(r->info);
		if (flags & LBRCTX_BR_PRIV_SAVE)
			e->priv = PERF_BR_PRIV_KERNEL;
	}
	brs->stack.nr = nr;
	/* As Arch LBR: no raw index, the records are already in order. */
	brs->stack.hw_idx = -1ULL;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	perf_sample_save_brstack(data, event, &brs->stack, NULL);
#else
	data->br_stack = &brs->stack;
	data->sample_flags |= PERF_SAMPLE_BRANCH_STACK;
#endif
}

/*
 * The wrapped overflow handler: same context as the emitter (hard IRQ for
 * the hrtimer, preemption off for the branch source). Attaches the branch
 * stack of the sample lbrctx is emitting, then runs the core's handler.
 */
static void lbrctx_overflow(struct perf_event *event, struct perf_sample_data *data,
			    struct pt_regs *regs)
{
	struct lbrctx_ev *ev = event->pmu_private;
	struct lbrctx_emit *cur = this_cpu_ptr(&lbrctx_emit_cur);
	perf_overflow_handler_t orig = ev->orig_handler;

	if (cur->ev == ev && cur->snap)
		lbrctx_save_brstack(event, data, cur);
	orig(event, data, regs);
}

int lbrctx_shim_emit(struct lbrctx_ev *ev, u64 count, const struct lbrctx_snapshot *snap,
		     bool irq_regs)
{
	struct perf_event *event = lbrctx_event(ev);
	struct lbrctx_emit *cur, saved;
	struct pt_regs caller, *regs;
	u64 record[2] = { 0, 0 };
	int rctx;

	BUILD_BUG_ON(sizeof(struct trace_entry) > sizeof(record));
	if (irq_regs) {
		regs = get_irq_regs();
		if (!regs)
			return -EAGAIN;
	} else {
		perf_fetch_caller_regs(&caller);
		regs = &caller;
	}
	/* perf_tp_event() filters exclude_kernel only. */
	if (event->attr.exclude_user && user_mode(regs))
		return -EAGAIN;
	if (event->attr.exclude_idle && is_idle_task(current))
		return -EAGAIN;
	rctx = perf_swevent_get_recursion_context();
	if (rctx < 0)
		return -EBUSY;
	cur = this_cpu_ptr(&lbrctx_emit_cur);
	saved = *cur;
	cur->ev = ev;
	cur->snap = snap;
	cur->rctx = rctx;
	/* Puts the recursion context. */
	perf_tp_event(0, count, record, sizeof(record), regs, (struct hlist_head *)&ev->head,
		      rctx, NULL);
	*cur = saved;
	return 0;
}

u32 lbrctx_shim_hw_state(struct lbrctx_ev *ev)
{
	return lbrctx_event(ev)->hw.state;
}

void lbrctx_shim_set_hw_state(struct lbrctx_ev *ev, u32 state)
{
	lbrctx_event(ev)->hw.state = state;
}

void lbrctx_shim_event_add_count(struct lbrctx_ev *ev, u64 n)
{
	local64_add(n, &lbrctx_event(ev)->count);
}

u64 lbrctx_shim_event_count(struct lbrctx_ev *ev)
{
	return local64_read(&lbrctx_event(ev)->count);
}

/* The way cpu-clock turns freq into a fixed period: the core's adjustment never runs here. */
void lbrctx_shim_event_set_period(struct lbrctx_ev *ev, u64 period)
{
	struct perf_event *event = lbrctx_event(ev);
	struct hw_perf_event *hwc = &event->hw;

	event->attr.sample_period = period;
	event->attr.freq = 0;
	hwc->sample_period = period;
	hwc->last_period = period;
	local64_set(&hwc->period_left, period);
}

u64 lbrctx_shim_event_period(struct lbrctx_ev *ev)
{
	return lbrctx_event(ev)->hw.sample_period;
}

/* Hard IRQ, on the event's CPU. */
static enum hrtimer_restart lbrctx_timer_fn(struct hrtimer *t)
{
	struct perf_event *event = container_of(t, struct perf_event, hw.hrtimer);
	u64 next = lbrctx_pmu_tick(event->pmu_private);

	if (!next)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(next));
	return HRTIMER_RESTART;
}

void lbrctx_shim_timer_init(struct lbrctx_ev *ev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	hrtimer_setup(&lbrctx_event(ev)->hw.hrtimer, lbrctx_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_HARD);
#else
	hrtimer_init(&lbrctx_event(ev)->hw.hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	lbrctx_event(ev)->hw.hrtimer.function = lbrctx_timer_fn;
#endif
}

void lbrctx_shim_timer_start(struct lbrctx_ev *ev, u64 ns)
{
	hrtimer_start(&lbrctx_event(ev)->hw.hrtimer, ns_to_ktime(ns),
		      HRTIMER_MODE_REL_PINNED_HARD);
}

/* From ->stop, which throttling may call inside the callback: never wait. */
void lbrctx_shim_timer_try_cancel(struct lbrctx_ev *ev)
{
	hrtimer_try_to_cancel(&lbrctx_event(ev)->hw.hrtimer);
}

/* Task context (event destroy): the event is off every CPU by now. */
void lbrctx_shim_timer_cancel(struct lbrctx_ev *ev)
{
	hrtimer_cancel(&lbrctx_event(ev)->hw.hrtimer);
}

/* Task context: perf_event_open(), or fork for inherited events. */
static void lbrctx_pmu_destroy_cb(struct perf_event *event)
{
	lbrctx_pmu_event_destroy(event->pmu_private);
}

/*
 * event_init: task context (perf_event_open(), or copy_process() for an
 * inherited child), may sleep. The core has set overflow_handler and, for
 * a per-task event, hw.target before calling it.
 */
static int lbrctx_event_init(struct perf_event *event)
{
	struct lbrctx_attr a = {};
	struct lbrctx_ev *ev;
	int ret;

	if (event->attr.type != event->pmu->type)
		return -ENOENT;
	a.config = event->attr.config;
	a.config1 = event->attr.config1;
	a.config2 = event->attr.config2;
	a.period = event->attr.sample_period;
	a.sample_type = event->attr.sample_type;
	a.branch_sample_type = event->attr.branch_sample_type;
	a.cpu = event->cpu;
	a.freq = event->attr.freq;
	a.exclude_user = event->attr.exclude_user;
	a.exclude_kernel = event->attr.exclude_kernel;
	a.exclude_idle = event->attr.exclude_idle;
	a.inherit = event->attr.inherit;
	a.sigtrap = event->attr.sigtrap;
	a.precise_ip = event->attr.precise_ip;
	a.foreign_leader = event->group_leader != event && event->group_leader->pmu != event->pmu;
	a.has_task = !!(event->attach_state & PERF_ATTACH_TASK);
	a.task = event->hw.target;
	a.has_parent = !!event->parent;
	a.parent_ev = event->parent ? event->parent->pmu_private : NULL;

	ret = lbrctx_pmu_event_init(&a, &ev);
	if (ret)
		return ret;
	INIT_HLIST_HEAD((struct hlist_head *)&ev->head);
	ev->event = event;
	event->pmu_private = ev;
	/* An inherited child copies the parent's, already wrapped, handler. */
	if (event->overflow_handler == lbrctx_overflow)
		ev->orig_handler = a.parent_ev->orig_handler;
	else
		ev->orig_handler = event->overflow_handler;
	WRITE_ONCE(event->overflow_handler, lbrctx_overflow);
	hlist_add_head_rcu(&event->hlist_entry, (struct hlist_head *)&ev->head);
	lbrctx_pmu_event_ready(ev);
	event->destroy = lbrctx_pmu_destroy_cb;
	return 0;
}

/* add/del/start/stop/read: IRQs off, on the event's CPU (context switch or IPI). */
static int lbrctx_add_cb(struct perf_event *event, int flags)
{
	return lbrctx_pmu_add(event->pmu_private, flags);
}

static void lbrctx_del_cb(struct perf_event *event, int flags)
{
	lbrctx_pmu_del(event->pmu_private, flags);
}

static void lbrctx_start_cb(struct perf_event *event, int flags)
{
	lbrctx_pmu_start(event->pmu_private, flags);
}

/* Also from the hrtimer callback itself when the core throttles (hard IRQ). */
static void lbrctx_stop_cb(struct perf_event *event, int flags)
{
	lbrctx_pmu_stop(event->pmu_private, flags);
}

static void lbrctx_read_cb(struct perf_event *event)
{
	lbrctx_pmu_read(event->pmu_private);
}

/* sysfs: /sys/bus/event_source/devices/lbrctx/{format,events}. */
PMU_FORMAT_ATTR(event, "config:0-7");
PMU_FORMAT_ATTR(cs, "config:8");
PMU_FORMAT_ATTR(call, "config:16");
PMU_FORMAT_ATTR(ind_call, "config:17");
PMU_FORMAT_ATTR(ret, "config:18");
PMU_FORMAT_ATTR(depth, "config:24-31");

static struct attribute *lbrctx_format_attrs[] = {
	&format_attr_event.attr, &format_attr_cs.attr, &format_attr_call.attr,
	&format_attr_ind_call.attr, &format_attr_ret.attr, &format_attr_depth.attr, NULL,
};

static const struct attribute_group lbrctx_format_group = {
	.name = "format",
	.attrs = lbrctx_format_attrs,
};

PMU_EVENT_ATTR_STRING(callstack, lbrctx_ev_callstack, "event=0x00,cs=1");
PMU_EVENT_ATTR_STRING(callstack.unit, lbrctx_ev_callstack_unit, "ns");
PMU_EVENT_ATTR_STRING(branches, lbrctx_ev_branches, "event=0x01");
PMU_EVENT_ATTR_STRING(saves, lbrctx_ev_saves, "event=0x02");
PMU_EVENT_ATTR_STRING(restores, lbrctx_ev_restores, "event=0x03");
PMU_EVENT_ATTR_STRING(resets, lbrctx_ev_resets, "event=0x04");

static struct attribute *lbrctx_event_attrs[] = {
	&lbrctx_ev_callstack.attr.attr, &lbrctx_ev_callstack_unit.attr.attr,
	&lbrctx_ev_branches.attr.attr, &lbrctx_ev_saves.attr.attr,
	&lbrctx_ev_restores.attr.attr, &lbrctx_ev_resets.attr.attr, NULL,
};

static const struct attribute_group lbrctx_events_group = {
	.name = "events",
	.attrs = lbrctx_event_attrs,
};

/* perf's sysfs aliases carry no description; this file holds them. */
static ssize_t descriptions_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf,
		"callstack: LBR call stack of the running task, sampled by time (period in ns); counts ns\n"
		"branches: kernel calls and returns recorded by the emulated LBR; samples every N\n"
		"saves: context switches that saved the outgoing task's LBR state (per CPU)\n"
		"restores: context switches that restored the incoming task's LBR state (per CPU)\n"
		"resets: context switches that gave the incoming task a reset LBR unit (per CPU)\n");
}
static DEVICE_ATTR_RO(descriptions);

static struct attribute *lbrctx_misc_attrs[] = { &dev_attr_descriptions.attr, NULL };

static const struct attribute_group lbrctx_misc_group = {
	.attrs = lbrctx_misc_attrs,
};

static const struct attribute_group *lbrctx_attr_groups[] = {
	&lbrctx_format_group, &lbrctx_events_group, &lbrctx_misc_group, NULL,
};

static struct pmu lbrctx_pmu = {
	.module = THIS_MODULE,
	/* No hardware context: hitch a ride on the software one, as arm_spe_pmu does. */
	.task_ctx_nr = perf_sw_context,
	.capabilities = PERF_PMU_CAP_NO_NMI,
	.attr_groups = lbrctx_attr_groups,
	.event_init = lbrctx_event_init,
	.add = lbrctx_add_cb,
	.del = lbrctx_del_cb,
	.start = lbrctx_start_cb,
	.stop = lbrctx_stop_cb,
	.read = lbrctx_read_cb,
};

/* Task context (module init). Dynamic type. */
int lbrctx_shim_pmu_register(void)
{
	return perf_pmu_register(&lbrctx_pmu, "lbrctx", -1);
}

void lbrctx_shim_pmu_unregister(void)
{
	perf_pmu_unregister(&lbrctx_pmu);
}

/* In-kernel counters for the lbrctx_pmu KUnit suite (task context). */
void *lbrctx_kt_counter_create(const struct lbrctx_kattr *k, s32 cpu, void *task, int *err)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = k->type ? k->type : lbrctx_pmu.type,
		.config = k->config,
		.config1 = k->config1,
		.sample_period = k->period,
		.sample_type = k->sample_type,
		.branch_sample_type = k->branch_sample_type,
		.freq = k->freq,
		.exclude_kernel = k->exclude_kernel,
		.exclude_user = k->exclude_user,
		.disabled = k->disabled,
	};
	struct perf_event *event;

	event = perf_event_create_kernel_counter(&attr, cpu, task, NULL, NULL);
	if (IS_ERR(event)) {
		*err = PTR_ERR(event);
		return NULL;
	}
	*err = 0;
	return event;
}
EXPORT_SYMBOL_GPL(lbrctx_kt_counter_create);

void lbrctx_kt_counter_release(void *event)
{
	perf_event_release_kernel(event);
}
EXPORT_SYMBOL_GPL(lbrctx_kt_counter_release);

u64 lbrctx_kt_counter_read(void *event)
{
	u64 enabled, running;

	return perf_event_read_value(event, &enabled, &running);
}
EXPORT_SYMBOL_GPL(lbrctx_kt_counter_read);

void lbrctx_kt_counter_enable(void *event)
{
	perf_event_enable(event);
}
EXPORT_SYMBOL_GPL(lbrctx_kt_counter_enable);

void lbrctx_kt_counter_disable(void *event)
{
	perf_event_disable(event);
}
EXPORT_SYMBOL_GPL(lbrctx_kt_counter_disable);

u32 lbrctx_kt_pmu_type(void)
{
	return lbrctx_pmu.type;
}
EXPORT_SYMBOL_GPL(lbrctx_kt_pmu_type);

u32 lbrctx_kt_sw_pmu_type(void)
{
	return PERF_TYPE_SOFTWARE;
}
EXPORT_SYMBOL_GPL(lbrctx_kt_sw_pmu_type);
