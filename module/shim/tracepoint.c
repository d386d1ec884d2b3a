// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduler tracepoint probes. A module gets no sched_task callbacks
 * (perf_sched_cb_inc is not exported), so lbrctx finds the sched
 * tracepoints by name with for_each_kernel_tracepoint() and hooks them with
 * tracepoint_probe_register(), both exported GPL.
 *
 * Probe context: sched_process_fork runs in the parent, sched_process_exit
 * in the exiting task, both in task context; sched_switch in __schedule()
 * with interrupts off and the runqueue locked. Up to 6.x probes run with
 * preemption disabled; from 7.x they may run under SRCU with preemption
 * enabled. The C++ handlers assume neither: they do not sleep and they do
 * not rely on staying on one CPU.
 */
#include <linux/module.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/sched.h>
#include <lbrctx/shim.h>

static void lbrctx_probe_fork(void *data, struct task_struct *parent,
			      struct task_struct *child)
{
	lbrctx_store_on_fork(child);
}

/* Interrupts off, runqueue locked, in the outgoing task (all kernels). */
static void lbrctx_probe_switch(void *data, bool preempt, struct task_struct *prev,
				struct task_struct *next, unsigned int prev_state)
{
	lbrctx_pmu_switch(prev, next);
}

/* sched_process_exit has a group_dead argument in 7.x, not in 6.1 or 6.12. */
static void __maybe_unused lbrctx_probe_exit_v1(void *data, struct task_struct *p)
{
	lbrctx_store_on_exit(p);
}

static void __maybe_unused lbrctx_probe_exit_v2(void *data, struct task_struct *p,
						bool group_dead)
{
	lbrctx_store_on_exit(p);
}

/*
 * Pick the probe whose type the kernel's own register_trace_*() helper
 * takes, so a signature change is a build error, not a stack mismatch.
 */
#define LBRCTX_PROBE_FITS(event, fn) \
	__builtin_types_compatible_p(typeof(&register_trace_##event), \
				     int (*)(typeof(&fn), void *))

#define lbrctx_exit_probe \
	__builtin_choose_expr(LBRCTX_PROBE_FITS(sched_process_exit, lbrctx_probe_exit_v2), \
			      (void *)lbrctx_probe_exit_v2, (void *)lbrctx_probe_exit_v1)

static_assert(LBRCTX_PROBE_FITS(sched_process_fork, lbrctx_probe_fork));
static_assert(LBRCTX_PROBE_FITS(sched_switch, lbrctx_probe_switch));
static_assert(LBRCTX_PROBE_FITS(sched_process_exit, lbrctx_probe_exit_v1) ||
	      LBRCTX_PROBE_FITS(sched_process_exit, lbrctx_probe_exit_v2));

struct lbrctx_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
};

static struct lbrctx_tp lbrctx_tps[] = {
	{ .name = "sched_process_fork", .probe = lbrctx_probe_fork },
	{ .name = "sched_process_exit" },
	{ .name = "sched_switch", .probe = lbrctx_probe_switch },
};

static void lbrctx_find_tp(struct tracepoint *tp, void *priv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lbrctx_tps); i++)
		if (!strcmp(tp->name, lbrctx_tps[i].name))
			lbrctx_tps[i].tp = tp;
}

void lbrctx_shim_probes_unregister(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lbrctx_tps); i++) {
		if (!lbrctx_tps[i].registered)
			continue;
		tracepoint_probe_unregister(lbrctx_tps[i].tp, lbrctx_tps[i].probe, NULL);
		lbrctx_tps[i].registered = false;
	}
}

int lbrctx_shim_probes_register(void)
{
	size_t i;
	int ret;

	lbrctx_tps[1].probe = lbrctx_exit_probe;
	for_each_kernel_tracepoint(lbrctx_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(lbrctx_tps); i++) {
		if (!lbrctx_tps[i].tp) {
			pr_err("lbrctx: tracepoint %s not found\n", lbrctx_tps[i].name);
			ret = -ENOENT;
			goto fail;
		}
		ret = tracepoint_probe_register(lbrctx_tps[i].tp, lbrctx_tps[i].probe, NULL);
		if (ret) {
			pr_err("lbrctx: cannot hook tracepoint %s: %d\n", lbrctx_tps[i].name, ret);
			goto fail;
		}
		lbrctx_tps[i].registered = true;
	}
	return 0;
fail:
	lbrctx_shim_probes_unregister();
	return ret;
}

void lbrctx_shim_tracepoint_synchronize_unregister(void)
{
	tracepoint_synchronize_unregister();
}
