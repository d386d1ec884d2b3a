// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduler tracepoint probes. A module gets no sched_task callbacks
 * (perf_sched_cb_inc() is not exported), so lbrctx finds the sched
 * tracepoints by name with for_each_kernel_tracepoint() and hooks them with
 * tracepoint_probe_register(), both exported GPL. Which tracepoints, and
 * the unwinding, are the C++'s (k::TracepointSet).
 *
 * Probe context: sched_process_fork runs in the parent, sched_process_exit
 * in the exiting task, both in task context; sched_switch in __schedule()
 * with interrupts off and the runqueue locked. Up to 6.x probes run with
 * preemption disabled; from 7.x they may run under SRCU with preemption
 * enabled. The C++ handlers assume neither: they do not sleep and they do
 * not rely on staying on one CPU.
 */
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <trace/events/sched.h>
#include <lbrctx/shim.h>

static void lbrctx_probe_fork(void *data, struct task_struct *parent, struct task_struct *child)
{
	lbrctx_on_fork(data, child);
}

/* Interrupts off, runqueue locked, in the outgoing task (all kernels). */
static void lbrctx_probe_switch(void *data, bool preempt, struct task_struct *prev,
				struct task_struct *next, unsigned int prev_state)
{
	lbrctx_on_switch(data, prev, next);
}

/* sched_process_exit has a group_dead argument in 7.x, not in 6.1 or 6.12. */
static void __maybe_unused lbrctx_probe_exit_v1(void *data, struct task_struct *p)
{
	lbrctx_on_exit(data, p);
}

static void __maybe_unused lbrctx_probe_exit_v2(void *data, struct task_struct *p,
						bool group_dead)
{
	lbrctx_on_exit(data, p);
}

/*
 * Pick the probe whose type the kernel's own register_trace_*() helper
 * takes, so a signature change is a build error, not a stack mismatch.
 */
#define LBRCTX_PROBE_FITS(event, fn) \
	__builtin_types_compatible_p(typeof(&register_trace_##event), \
				     int (*)(typeof(&fn), void *))

static_assert(LBRCTX_PROBE_FITS(sched_process_fork, lbrctx_probe_fork));
static_assert(LBRCTX_PROBE_FITS(sched_switch, lbrctx_probe_switch));
static_assert(LBRCTX_PROBE_FITS(sched_process_exit, lbrctx_probe_exit_v1) ||
	      LBRCTX_PROBE_FITS(sched_process_exit, lbrctx_probe_exit_v2));

static void *lbrctx_probe(enum lbrctx_tp_probe probe)
{
	switch (probe) {
	case LBRCTX_TP_FORK:
		return lbrctx_probe_fork;
	case LBRCTX_TP_EXIT:
		return __builtin_choose_expr(LBRCTX_PROBE_FITS(sched_process_exit,
							       lbrctx_probe_exit_v2),
					     (void *)lbrctx_probe_exit_v2,
					     (void *)lbrctx_probe_exit_v1);
	default:
		return lbrctx_probe_switch;
	}
}

struct lbrctx_tp_find {
	const char *name;
	struct tracepoint *tp;
};

static void lbrctx_tp_match(struct tracepoint *tp, void *priv)
{
	struct lbrctx_tp_find *f = priv;

	if (!strcmp(tp->name, f->name))
		f->tp = tp;
}

/* Task context. */
void *lbrctx_shim_tracepoint_find(const char *name)
{
	struct lbrctx_tp_find f = { .name = name };

	for_each_kernel_tracepoint(lbrctx_tp_match, &f);
	return f.tp;
}

int lbrctx_shim_tracepoint_register(void *tp, enum lbrctx_tp_probe probe, void *data)
{
	return tracepoint_probe_register(tp, lbrctx_probe(probe), data);
}

void lbrctx_shim_tracepoint_unregister(void *tp, enum lbrctx_tp_probe probe, void *data)
{
	tracepoint_probe_unregister(tp, lbrctx_probe(probe), data);
}

void lbrctx_shim_tracepoint_synchronize(void)
{
	tracepoint_synchronize_unregister();
}
