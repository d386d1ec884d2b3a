/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One perf event's state (module/event.cpp): from the "lbrctx_event"
 * cache, the event's pmu_private from a successful event_init until
 * ->destroy.
 *
 * What the event holds, it holds as owning members, one type per
 * resource: its task's store object (TaskRef), a user of the kernel
 * source's probes, of the user source's, a system-wide user of the store
 * and the address space the user source watches for it. create() takes
 * them in turn with TRY: a step that fails returns, and the members
 * already taken release themselves with the object. destroy() moves them
 * out (they are released in task context, where their owners may sleep),
 * and the memory goes after an RCU grace period.
 */
#pragma once

#include <lbrctx/pmu.h>
#include <lbrctx/source.h>
#include <lbrctx/usource.h>

namespace lbrctx::pmu {

/*
 * The resources an event holds; each releases itself. Reverse order of
 * declaration is the order of release: the store's system-wide user
 * first, the task's object last.
 */
struct Holds {
	TaskRef td;			   /* a per-task event's store object, until it ran */
	LazyProbes<UserSource>::User user; /* the user source's probes */
	UserSource::MmWatch mm;		   /* the user source's filter watches the task's mm */
	LazyProbes<Source>::User probes;   /* the kernel source's probes */
	Store::GlobalUser global;	   /* a CPU-wide event: every thread has data */
};

/*
 * The refusals of event_init, each with one rate-limited dmesg line (the
 * table is docs/PMU.md's, checked against qemu/guest/attr-table.txt):
 *   another PMU's type                                   -ENOENT
 *   reserved config bits, config1/config2, event > 4     -EINVAL
 *   a group leader of another PMU                        -EINVAL
 *   sigtrap, precise_ip                                  -EOPNOTSUPP
 *   depth other than 0 (= 32), 8, 16, 24, 32             -EINVAL
 *   call-stack mode whose filter drops calls or returns  -EINVAL
 *   config filter and branch_sample_type sharing no type -EINVAL
 *   saves/restores/resets on a task, or without a CPU   -EINVAL
 *   branches sampling in freq mode, or N < 16            -EINVAL
 *   freq with a rate of 0 Hz                             -EINVAL
 *   PERF_SAMPLE_RAW or PERF_SAMPLE_AUX                   -EOPNOTSUPP
 *   no privilege level left to record                    -EOPNOTSUPP
 *   a branch type the source cannot see (probes: jumps, conditional and
 *   far branches; any source: TSX, branch counters)      -EOPNOTSUPP
 *   saves/restores/resets sampling or with branch stack  -EOPNOTSUPP
 *   branches sampling every N with the hw source         -EOPNOTSUPP
 *   no branch source in this kernel (no fprobe/kretprobe) -EOPNOTSUPP
 *   task exiting (per-task data refused)                 -ESRCH
 *   store=upstream and user branches with user probes    -EOPNOTSUPP
 * Privilege is the core's: perf_event_open() calls perf_allow_kernel()
 * unless exclude_kernel, perf_copy_attr() does for kernel branch filters,
 * and CPU-wide events need perf_allow_cpu(), as for any PMU.
 */
struct EventState {
	void *event;					     /* struct perf_event */
	void *handler;					     /* the overflow handler lbrctx wraps */
	KernelStorage<LBRCTX_K_SIZEOF_HLIST_HEAD, 8> head{}; /* this event alone */
	k::RcuHead rcu;
	Kind kind;
	bool sampling;
	bool uses_unit;
	bool ran;      /* added on a CPU at least once */
	bool parked;   /* added, waiting for a unit (kUnits) */
	bool upstream; /* store=upstream: the core holds its task data (perf_ctx_data) */
	s8 slot;       /* its unit on the CPU it is added on, or -1 */
	bool exclude_user;
	bool exclude_idle;
	EntryFormat format;
	lbr::Config config; /* LBR_CTL without LBREn, and the depth */
	u64 period;	    /* ns (Lbr) or branches (Branches) */
	u64 base;	    /* the count or clock already accounted */
	u64 left;	    /* branches until the next sample */
	u64 parked_at;	    /* local_clock() when parked, or of the last fold */
	u64 parked_ns;	    /* parked time not yet taken off time_running */
	u64 parked_total;   /* all its parked time: who is owed a unit */
	Holds holds;

	/*
	 * event_init: the state of @event, whose attributes are @a, with
	 * everything it needs taken; or the refusal's errno, nothing held.
	 * Task context, may sleep.
	 */
	static Result<SlabPtr<EventState>> create(Pmu &pmu, SlabCache<EventState> &cache,
						  void *event, const lbrctx_attr &a);
};

/*
 * The unit configuration of @a: LBR_CTL without LBREn, and the depth.
 * @src: where branches come from; @user_probes: the user source has probes.
 */
Result<lbr::Config> decode_unit_config(const lbrctx_attr &a, SourceKind src, bool user_probes);

} // namespace lbrctx::pmu
