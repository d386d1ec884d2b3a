// SPDX-License-Identifier: GPL-2.0
/*
 * The lbrctx perf PMU: the struct pmu and its sysfs attributes, the kernel
 * callbacks (each calls one C++ function of module/pmu.cpp), and wrappers
 * for the event fields and the exported perf interfaces the C++ uses.
 */
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/perf_event.h>
#include <linux/trace_events.h>
#include <linux/version.h>
#include <asm/irq_regs.h>
#include <lbrctx/config.h>
#include <lbrctx/shim.h>

static struct pmu lbrctx_pmu;

static_assert(sizeof(struct hlist_head) == sizeof(void *));

/*
 * event_init: task context (perf_event_open(), or copy_process() for an
 * inherited child), may sleep.
 */
static int lbrctx_event_init_cb(struct perf_event *event)
{
	return lbrctx_pmu_event_init(event);
}

/* Task context: the event is off every CPU. */
static void lbrctx_destroy_cb(struct perf_event *event)
{
	lbrctx_pmu_event_destroy(event->pmu_private);
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

/* The event's hrtimer: hard IRQ, on the event's CPU. */
static enum hrtimer_restart lbrctx_timer_cb(struct hrtimer *t)
{
	struct perf_event *event = container_of(t, struct perf_event, hw.hrtimer);
	u64 next = lbrctx_pmu_tick(event->pmu_private);

	if (!next)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(next));
	return HRTIMER_RESTART;
}

/* The wrapped overflow handler: the emitter's context (hard IRQ or preemption off). */
static void lbrctx_overflow_cb(struct perf_event *event, struct perf_sample_data *data,
			       struct pt_regs *regs)
{
	lbrctx_pmu_overflow(event, data, regs);
}

/*
 * sysfs: /sys/bus/event_source/devices/lbrctx/{format,events,caps}, from
 * the one table of include/lbrctx/config.h.
 */
#define LBRCTX_FORMAT_ATTR(n, lo, hi, d) PMU_FORMAT_ATTR(n, LBRCTX_CFG_FORMAT(lo, hi));
LBRCTX_CONFIG_FIELDS(LBRCTX_FORMAT_ATTR)
#undef LBRCTX_FORMAT_ATTR

static struct attribute *lbrctx_format_attrs[] = {
#define LBRCTX_FORMAT_PTR(n, lo, hi, d) &format_attr_##n.attr,
	LBRCTX_CONFIG_FIELDS(LBRCTX_FORMAT_PTR)
#undef LBRCTX_FORMAT_PTR
	NULL,
};

static const struct attribute_group lbrctx_format_group = {
	.name = "format",
	.attrs = lbrctx_format_attrs,
};

#define LBRCTX_EVENT_ATTR(n, str, d) PMU_EVENT_ATTR_STRING(n, lbrctx_ev_##n, str);
LBRCTX_EVENTS(LBRCTX_EVENT_ATTR)
#undef LBRCTX_EVENT_ATTR
#define LBRCTX_UNIT_ATTR(n, u) PMU_EVENT_ATTR_STRING(n.unit, lbrctx_ev_##n##_unit, u);
LBRCTX_EVENT_UNITS(LBRCTX_UNIT_ATTR)
#undef LBRCTX_UNIT_ATTR

static struct attribute *lbrctx_event_attrs[] = {
#define LBRCTX_EVENT_PTR(n, str, d) &lbrctx_ev_##n.attr.attr,
	LBRCTX_EVENTS(LBRCTX_EVENT_PTR)
#undef LBRCTX_EVENT_PTR
#define LBRCTX_UNIT_PTR(n, u) &lbrctx_ev_##n##_unit.attr.attr,
	LBRCTX_EVENT_UNITS(LBRCTX_UNIT_PTR)
#undef LBRCTX_UNIT_PTR
	NULL,
};

static const struct attribute_group lbrctx_events_group = {
	.name = "events",
	.attrs = lbrctx_event_attrs,
};

/* perf's sysfs aliases carry no description; this file holds them. */
static ssize_t descriptions_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf,
#define LBRCTX_EVENT_DESC(n, str, d) #n ": " d "\n"
		LBRCTX_EVENTS(LBRCTX_EVENT_DESC)
#undef LBRCTX_EVENT_DESC
		);
}
static DEVICE_ATTR_RO(descriptions);

static struct attribute *lbrctx_misc_attrs[] = { &dev_attr_descriptions.attr, NULL };

static const struct attribute_group lbrctx_misc_group = {
	.attrs = lbrctx_misc_attrs,
};

/*
 * caps/: as the cpu PMU's (arch/x86/events/core.c), so that tools that
 * gate LBR tests on caps/branches find lbrctx's depth there.
 */
static ssize_t branches_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", LBRCTX_LBR_MAX_DEPTH);
}
static DEVICE_ATTR_RO(branches);

static struct attribute *lbrctx_caps_attrs[] = { &dev_attr_branches.attr, NULL };

static const struct attribute_group lbrctx_caps_group = {
	.name = "caps",
	.attrs = lbrctx_caps_attrs,
};

static const struct attribute_group *lbrctx_attr_groups[] = {
	&lbrctx_format_group, &lbrctx_events_group, &lbrctx_misc_group, &lbrctx_caps_group, NULL,
};

static struct pmu lbrctx_pmu = {
	.module = THIS_MODULE,
	/* No hardware context: hitch a ride on the software one, as arm_spe_pmu does. */
	.task_ctx_nr = perf_sw_context,
	.capabilities = PERF_PMU_CAP_NO_NMI,
	.attr_groups = lbrctx_attr_groups,
	.event_init = lbrctx_event_init_cb,
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

u32 lbrctx_shim_pmu_type(void)
{
	return lbrctx_pmu.type;
}

/* store=upstream (module/pmu.cpp): the perf core's per-task store, 6.15+. */
bool lbrctx_shim_upstream_store(void)
{
	return LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0);
}

void lbrctx_shim_pmu_set_task_ctx_cache(void *cache)
{
	lbrctx_pmu.task_ctx_cache = cache;
}

/*
 * event_init, task context, as its last step: perf_event_alloc() attaches
 * the task's (or, CPU-wide, every task's) perf_ctx_data right after
 * perf_init_event(), and __free_event() detaches whenever the flag is set,
 * so it must never be set on an event_init that fails. Only with
 * store=upstream, which is refused before 6.15.
 */
void lbrctx_shim_event_attach_task_data(void *ev)
{
	((struct perf_event *)ev)->attach_state |= PERF_ATTACH_TASK_DATA;
}

/* Under RCU (the switch hook: interrupts off, in an RCU read section). */
void *lbrctx_shim_task_ctx_data(void *task, void *cache)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	struct perf_ctx_data *cd = rcu_dereference(((struct task_struct *)task)->perf_ctx_data);

	return cd && cd->ctx_cache == cache ? cd->data : NULL;
#else
	return NULL;
#endif
}

/* Task context, may sleep. */
bool lbrctx_shim_pmu_has_call_stack(u32 type)
{
	struct perf_event_attr attr = {
		.type = type,
		.size = sizeof(attr),
		.config = type == PERF_TYPE_HARDWARE ? PERF_COUNT_HW_CPU_CYCLES : 0,
		.sample_period = 1000000,
		.sample_type = PERF_SAMPLE_BRANCH_STACK,
		.branch_sample_type = PERF_SAMPLE_BRANCH_KERNEL | PERF_SAMPLE_BRANCH_CALL_STACK,
		.disabled = 1,
	};
	struct perf_event *event;

	event = perf_event_create_kernel_counter(&attr, -1, current, NULL, NULL);
	if (IS_ERR(event))
		return false;
	perf_event_release_kernel(event);
	return true;
}

void lbrctx_shim_event_attr(void *ev, struct lbrctx_attr *a)
{
	struct perf_event *event = ev;
	const struct perf_event_attr *attr = &event->attr;

	*a = (struct lbrctx_attr) {
		.config = attr->config,
		.config1 = attr->config1,
		.config2 = attr->config2,
		.period = attr->sample_period,
		.sample_type = attr->sample_type,
		.branch_sample_type = attr->branch_sample_type,
		.cpu = event->cpu,
		.sample_max_stack = attr->sample_max_stack,
		.type_is_ours = attr->type == event->pmu->type,
		.freq = attr->freq,
		.exclude_user = attr->exclude_user,
		.exclude_kernel = attr->exclude_kernel,
		.exclude_idle = attr->exclude_idle,
		.sigtrap = attr->sigtrap,
		.precise_ip = attr->precise_ip,
		.foreign_leader = event->group_leader != event &&
				  event->group_leader->pmu != event->pmu,
		.has_task = !!(event->attach_state & PERF_ATTACH_TASK),
		.task = event->hw.target,
		.parent = event->parent,
	};
}

void lbrctx_shim_event_setup(void *ev, void *priv)
{
	struct perf_event *event = ev;

	event->pmu_private = priv;
	WRITE_ONCE(event->overflow_handler, lbrctx_overflow_cb);
	event->destroy = lbrctx_destroy_cb;
}

void *lbrctx_shim_event_handler(void *event)
{
	return ((struct perf_event *)event)->overflow_handler;
}

bool lbrctx_shim_handler_is_lbrctx(void *handler)
{
	return handler == lbrctx_overflow_cb;
}

void lbrctx_shim_event_hlist_add(void *ev, void *head)
{
	struct perf_event *event = ev;

	INIT_HLIST_HEAD((struct hlist_head *)head);
	hlist_add_head_rcu(&event->hlist_entry, head);
}

void lbrctx_shim_event_set_period(void *ev, u64 period)
{
	struct perf_event *event = ev;
	struct hw_perf_event *hwc = &event->hw;

	event->attr.sample_period = period;
	event->attr.freq = 0;
	hwc->sample_period = period;
	hwc->last_period = period;
	local64_set(&hwc->period_left, period);
}

void lbrctx_shim_timer_init(void *ev)
{
	struct perf_event *event = ev;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	hrtimer_setup(&event->hw.hrtimer, lbrctx_timer_cb, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
#else
	hrtimer_init(&event->hw.hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	event->hw.hrtimer.function = lbrctx_timer_cb;
#endif
}

void lbrctx_shim_timer_start(void *event, u64 ns)
{
	hrtimer_start(&((struct perf_event *)event)->hw.hrtimer, ns_to_ktime(ns),
		      HRTIMER_MODE_REL_PINNED_HARD);
}

/* From ->stop, which throttling may call inside the callback: never wait. */
void lbrctx_shim_timer_try_cancel(void *event)
{
	hrtimer_try_to_cancel(&((struct perf_event *)event)->hw.hrtimer);
}

void lbrctx_shim_timer_cancel(void *event)
{
	hrtimer_cancel(&((struct perf_event *)event)->hw.hrtimer);
}

/* A CPU's rotation timer: hard IRQ, on that CPU (pinned). */
static enum hrtimer_restart lbrctx_rotate_cb(struct hrtimer *t)
{
	u64 next = lbrctx_pmu_rotate(t);

	if (!next)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(next));
	return HRTIMER_RESTART;
}

void lbrctx_shim_cpu_timer_init(void *t)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
	hrtimer_setup(t, lbrctx_rotate_cb, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
#else
	hrtimer_init(t, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	((struct hrtimer *)t)->function = lbrctx_rotate_cb;
#endif
}

/* IRQs off, on the timer's CPU. */
void lbrctx_shim_cpu_timer_start(void *t, u64 ns)
{
	hrtimer_start(t, ns_to_ktime(ns), HRTIMER_MODE_REL_PINNED_HARD);
}

void lbrctx_shim_cpu_timer_cancel(void *t)
{
	hrtimer_cancel(t);
}

void *lbrctx_shim_irq_regs(void)
{
	return get_irq_regs();
}

void lbrctx_shim_caller_regs(void *regs)
{
	perf_fetch_caller_regs(regs);
}

bool lbrctx_shim_regs_user_mode(const void *regs)
{
	return user_mode((struct pt_regs *)regs);
}

int lbrctx_shim_swevent_recursion_get(void)
{
	return perf_swevent_get_recursion_context();
}

void lbrctx_shim_tp_event(u64 count, void *regs, void *head, int rctx)
{
	u64 record[2] = { 0, 0 };

	BUILD_BUG_ON(sizeof(struct trace_entry) > sizeof(record));
	perf_tp_event(0, count, record, sizeof(record), regs, head, rctx, NULL);
}

/* 6.12's helper neither checks nor clamps, and 7.x warns on a second save. */
void lbrctx_shim_sample_brstack(void *event, void *d, void *stack)
{
	struct perf_sample_data *data = d;

	if (!has_branch_stack(event) || (data->sample_flags & PERF_SAMPLE_BRANCH_STACK))
		return;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	perf_sample_save_brstack(data, event, stack, NULL);
#else
	data->br_stack = stack;
	data->sample_flags |= PERF_SAMPLE_BRANCH_STACK;
#endif
}

void lbrctx_shim_call_handler(void *handler, void *event, void *data, void *regs)
{
	((perf_overflow_handler_t)handler)(event, data, regs);
}
