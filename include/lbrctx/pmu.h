/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lbrctx PMU. Its jobs, one file each:
 *   module/event.cpp   event_init: the attributes checked, an EventState
 *                      made with the resources it holds (include/lbrctx/event.h)
 *   module/pmu.cpp     the PMU itself: load and unload, add, del, start,
 *                      stop, read, the counts
 *   module/mux.cpp     units for events of different configurations, and
 *                      the rotation of those waiting for one
 *   module/switch.cpp  the sched_switch hook: the units saved into the
 *                      outgoing task's store object, restored from the
 *                      incoming task's
 *   module/sample.cpp  samples: the branch stack, through perf_tp_event()
 *   module/hw.cpp      the units of the QEMU plugin's LBR hardware, where
 *                      the branch source is that hardware (include/lbrctx/hw.h)
 *
 * Data path: a branch (the hardware's, or a probed call or return) is
 * recorded by a unit of this CPU while an lbrctx event is added here; the
 * sched_switch hook saves the outgoing task's units into its store object
 * and restores the incoming task's (or resets them); a sample copies a
 * unit's records into the sample's branch stack.
 */
#pragma once

#include <lbrctx/atomic.h>
#include <lbrctx/brstack.h>
#include <lbrctx/config.h>
#include <lbrctx/k/percpu.h>
#include <lbrctx/k/perf_event.h>
#include <lbrctx/k/tracepoint.h>
#include <lbrctx/lbr.h>
#include <lbrctx/store.h>
#include <lbrctx/units.h>

namespace lbrctx {

class Source;
class UserSource;
namespace hw {
class Driver;
struct Vcpu;
} // namespace hw

namespace pmu {

/* config:0-7, the event (include/lbrctx/config.h). */
enum class Kind : u8 {
	Lbr = 0,      /* the LBR sampled by time; counts ns */
	Branches = 1, /* counts recorded branches; samples every N */
	Saves = 2,    /* per-CPU counts of the switch hook's operations */
	Restores = 3,
	Resets = 4,
};
inline constexpr u32 kKinds = 5;

/* The config layout, from the one table of include/lbrctx/config.h. */
namespace cfg {
inline constexpr u64 kEvent = LBRCTX_CFG_MASK(event);
inline constexpr u64 kCallStack = LBRCTX_CFG_MASK(cs);
inline constexpr u64 kCall = LBRCTX_CFG_MASK(call);
inline constexpr u64 kIndCall = LBRCTX_CFG_MASK(ind_call);
inline constexpr u64 kRet = LBRCTX_CFG_MASK(ret);
inline constexpr u64 kCond = LBRCTX_CFG_MASK(cond);
inline constexpr u64 kJmp = LBRCTX_CFG_MASK(jmp);
inline constexpr u64 kIndJmp = LBRCTX_CFG_MASK(ind_jmp);
inline constexpr u64 kFar = LBRCTX_CFG_MASK(far);
inline constexpr u64 kFilters = kCall | kIndCall | kRet | kCond | kJmp | kIndJmp | kFar;
inline constexpr unsigned kDepthShift = LBRCTX_CFG_depth_SHIFT;
inline constexpr u64 kDepth = LBRCTX_CFG_MASK(depth);
#define LBRCTX_CFG_OR(n, lo, hi, d) | LBRCTX_CFG_MASK(n)
inline constexpr u64 kValid = 0 LBRCTX_CONFIG_FIELDS(LBRCTX_CFG_OR);
#undef LBRCTX_CFG_OR
static_assert(kEvent == 0xff && kDepth == 0xffull << 24 && kValid == 0xff7f01ffull,
	      "the layout docs/PMU.md and scripts/lbrctx-tool.c were written for");
static_assert(LBRCTX_LBR_MAX_DEPTH == lbr::kMaxDepth, "caps/branches is the unit's depth");
} // namespace cfg

/* Timer sampling: the shortest period (cpu-clock's). */
inline constexpr u64 kMinPeriodNs = 10000;
/* Branch sampling: the smallest N of "every N branches". */
inline constexpr u64 kMinBranchPeriod = 16;
/* Events one CPU can have added at once (beyond: -EAGAIN to add). */
inline constexpr u32 kMaxActive = 32;
/*
 * Distinct unit configurations one CPU records at once (include/lbrctx/
 * units.h). Events of a further configuration are parked and rotated in,
 * every kRotateNs (perf's default multiplexing interval), their
 * time_running counting only the time they recorded (module/mux.cpp).
 */
inline constexpr u32 kUnits = 4;
inline constexpr u64 kRotateNs = 4000000;

struct EventState;
/* The kernel source's decoded call sites per CPU (module/source.cpp). */
inline constexpr u32 kSites = 64;
struct SiteEntry {
	u64 ret_ip;
	u64 ip;
	u64 from;
	lbr::BrType type;
};

/* Dedupe of one call seen by two overlapping patterns: per context level. */
struct CallKey {
	u64 ip;
	u64 sp;
};

struct CpuState {
	lbr::UnitSet<kUnits> units;
	u32 nactive;
	EventState *active[kMaxActive];
	/* Monotonic, this CPU: index by Kind (Branches: every unit's records). */
	u64 counts[kKinds];
	u64 samples;
	u64 dropped;
	u64 unsaved; /* a configuration's state not saved: no side block was left */
	u64 rotations;
	u64 pending_calls; /* samples given a call whose uprobe had not run (add_pending_call) */
	u32 nparked;	   /* added events waiting for a unit */
	u32 cpu;
	CallKey last_call[4];
	SiteEntry sites[kSites];
	/* Per context level: the event being emitted and its branch stack. */
	EventState *emitting[4];
	BranchStack stack[4];
	/* Rotates parked events in, while there are any (hard IRQ). */
	KernelStorage<LBRCTX_K_SIZEOF_HRTIMER, 8> rotate_timer;
	bool rotating;
	/*
	 * The task whose records the units hold: the incoming task of the
	 * last switch while lbrctx events existed (the switch hook sets it
	 * before perf switches the events, and a cgroup event is added in
	 * the outgoing task's sched_out, after the hook: there it is the task
	 * about to run, not current), else null. Only this CPU, IRQs off.
	 */
	void *owner;
	/*
	 * The hardware source: this CPU's page of the plugin's LBR, or null
	 * (module/hw.cpp). The units above are then a copy of the
	 * hardware's, read before use and written back after a change.
	 */
	hw::Vcpu *hw;
	u32 hw_pushed;		 /* units the hardware was last given */
	const void *hw_task;	 /* bind() restored for this task: the next push names it */
	u64 hw_recorded[kUnits]; /* the hardware's count at the last read */
	u64 hw_commands;	 /* doorbells rung */
	u64 hw_refused;		 /* commands refused, or not run */
	u64 hw_bad;		 /* unit states refused (lbr::Unit::restore) */
};

struct Stats {
	u64 events;   /* lbrctx events that exist */
	u64 records;  /* branches recorded, all CPUs, all units */
	u64 saves;    /* switches: the outgoing task's state saved */
	u64 restores; /* switches: the incoming task's state restored */
	u64 resets;   /* switches: the incoming task got reset units */
	u64 samples;
	u64 dropped;	   /* records not taken: NMI, recursion */
	u64 unwound;	   /* user calls dropped as their frames were left */
	u64 unsaved;	   /* a configuration's state not saved on a switch */
	u64 rotations;	   /* parked events rotated in */
	u64 parked;	   /* events waiting for a unit now */
	u64 units;	   /* units with users now */
	u64 pending_calls; /* samples given the call a pending uprobe records */
	u64 opens;	   /* event_init of lbrctx's type, inherited events aside */
	u64 refused;	   /* of those, refused (each logs its line, rate-limited) */
};

/* Where branches come from: the module parameter source (module/shim/module.c). */
enum class SourceKind : u8 {
	Probes, /* fprobes or kretprobes, and uprobes, on named functions */
	Hw,	/* the QEMU plugin's LBR hardware (module/hw.cpp) */
};

class Pmu : Pinned {
public:
	constexpr Pmu() = default;

	/* Module load: the event cache, the per-CPU units, the switch hook, the PMU. Task context. */
	Result<void> init(Store &store, Source &source, UserSource &user, hw::Driver *hw);
	/* Module exit, first: unregister the PMU and the switch hook. */
	void unregister();
	/* Module exit, after rcu_barrier(): free the per-CPU units, destroy the cache. */
	void destroy();

	/* The PMU callbacks, each in the context its definition states. */
	int event_init(void *event);
	void event_destroy(EventState *e);
	int add(EventState *e, int flags);
	void del(EventState *e, int flags);
	void start(EventState *e, int flags);
	void stop(EventState *e, int flags);
	void read(EventState *e);
	u64 tick(EventState *e);
	void overflow(void *event, void *data, void *regs);
	void on_switch(k::Task prev, k::Task next);
	/* The rotation timer of @c: hard IRQ. The next period, or 0 to stop. */
	u64 rotate(CpuState *c);

	/* A write of the store parameter (any time, module load included): 0 or -errno. Task context. */
	int store_mode_check(bool upstream);
	/* The parameters the switch path reads, set by their writes (module/shim/module.c). */
	void set_save_restore(bool on) { __atomic_store_n(&m_save_restore, on, __ATOMIC_RELAXED); }
	void set_upstream(bool on) { __atomic_store_n(&m_upstream, on, __ATOMIC_RELAXED); }
	bool upstream() const { return __atomic_load_n(&m_upstream, __ATOMIC_RELAXED); }
	/* The kmem_cache store=upstream gives the core (6.15+), or null. */
	void *upstream_cache() const { return m_upstream_cache; }

	/* This CPU's state; interrupts or preemption off. */
	CpuState *this_cpu() const { return m_cpus.this_cpu(); }
	/* @cpu's state, or null before init(); task context (the hardware driver). */
	CpuState *cpu_state(u32 cpu) const;
	/*
	 * A branch on this CPU, for every unit that records it: the probe
	 * sources call it (it turns interrupts off). @match_top: a kernel
	 * return pops only its own call.
	 */
	void record_here(const lbr::Branch &b, bool match_top = false);
	/* The same, on @c with interrupts off already (the kernel source). */
	void record_on(CpuState *c, const lbr::Branch &b, bool match_top)
	{
		if (u32 slots = c->units.record(b, match_top))
			on_branches(c, slots);
	}
	Stats stats() const;
	u32 type() const { return lbrctx_shim_pmu_type(); }
	SourceKind source() const { return m_hw ? SourceKind::Hw : SourceKind::Probes; }
	Store &store() const { return *m_store; }
	Source &kernel_source() const { return *m_source; }
	UserSource &user_source() const { return *m_user; }

private:
	friend struct EventState;
	/* module/pmu.cpp */
	void account(EventState *e);
	u64 current_value(const EventState *e, CpuState *c) const;
	/* module/sample.cpp */
	void emit(EventState *e, CpuState *c, u64 count, bool irq_regs);
	void add_pending_call(CpuState *c, const lbr::Unit &u, const EntryFormat &f, void *regs,
			      BranchStack &st);
	void on_branches(CpuState *c, u32 slots);
	/* module/mux.cpp */
	bool bind(CpuState *c, EventState *e);
	void park(CpuState *c, EventState *e);
	void evict(CpuState *c, u32 slot);
	bool take_unit(CpuState *c, EventState *e);
	void fold_parked(EventState *e);
	void unbind(CpuState *c, EventState *e);
	/* module/switch.cpp */
	void save(CpuState *c, TaskData *td, u32 slots);
	bool restore(CpuState *c, TaskData *td, u32 slots);
	void idle(CpuState *c);
	/* The switch path's task data: lbrctx's store, or with store=upstream the core's. Under RCU, IRQs off. */
	TaskData *task_data(k::Task t);
	static void free_rcu(lbrctx_rcu *r) noexcept;

	Store *m_store = nullptr;
	Source *m_source = nullptr;
	UserSource *m_user = nullptr;
	hw::Driver *m_hw = nullptr;
	SlabCache<EventState> m_events;
	k::PerCpu<CpuState> m_cpus;
	k::TracepointSet<1> m_switch;
	/* store=upstream: the cache of the objects the core allocates (TaskData-sized), 6.15+. */
	void *m_upstream_cache = nullptr;
	Atomic<u64> m_nevents{0};
	Atomic<u64> m_opens{0};
	Atomic<u64> m_refused{0};
	bool m_registered = false;
	bool m_save_restore = true;
	bool m_upstream = false;
};

Pmu &the_pmu();

} // namespace pmu
} // namespace lbrctx
