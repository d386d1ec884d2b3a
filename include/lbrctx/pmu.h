/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lbrctx PMU (module/pmu.cpp) and its branch source (module/source.cpp).
 *
 * Data path: a probed kernel call or return (source) is recorded by this
 * CPU's emulated LBR unit while an lbrctx event is added on the CPU; the
 * sched_switch hook saves the outgoing task's unit into its store object
 * and restores the incoming task's (or resets the unit); a sample (hrtimer
 * or every N branches) copies the unit into the record's branch stack.
 */
#pragma once

#include <lbrctx/atomic.h>
#include <lbrctx/brstack.h>
#include <lbrctx/k/percpu.h>
#include <lbrctx/k/perf_event.h>
#include <lbrctx/lbr.h>
#include <lbrctx/store.h>
#include <lbrctx/units.h>

namespace lbrctx {

class Source;
class UserSource;

namespace pmu {

/* config:0-7 */
enum class Kind : u8 {
	Callstack = 0, /* the LBR sampled by time; counts ns */
	Branches = 1,  /* counts recorded branches; samples every N */
	Saves = 2,     /* per-CPU counts of the switch hook's operations */
	Restores = 3,
	Resets = 4,
};
inline constexpr u32 kKinds = 5;

/* The config layout, as sysfs format/ publishes it (module/shim/pmu.c). */
namespace cfg {
inline constexpr u64 kEvent = 0xff;
inline constexpr u64 kCallStack = 1ull << 8;
inline constexpr u64 kCall = 1ull << 16;
inline constexpr u64 kIndCall = 1ull << 17;
inline constexpr u64 kRet = 1ull << 18;
inline constexpr u64 kFilters = kCall | kIndCall | kRet;
inline constexpr unsigned kDepthShift = 24;
inline constexpr u64 kDepth = 0xffull << kDepthShift;
inline constexpr u64 kValid = kEvent | kCallStack | kFilters | kDepth;
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
 * time_running counting only the time they recorded.
 */
inline constexpr u32 kUnits = 4;
inline constexpr u64 kRotateNs = 4000000;

struct EventState;

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
	/* Per context level: the event being emitted and its branch stack. */
	EventState *emitting[4];
	BranchStack stack[4];
	/* Rotates parked events in, while there are any (hard IRQ). */
	KernelStorage<LBRCTX_K_SIZEOF_HRTIMER, 8> rotate_timer;
	bool rotating;
};

/* One perf event's state, from the "lbrctx_event" cache; its pmu_private. */
struct EventState {
	void *event;					     /* struct perf_event */
	void *handler;					     /* the overflow handler lbrctx wraps */
	KernelStorage<LBRCTX_K_SIZEOF_HLIST_HEAD, 8> head{}; /* this event alone */
	k::RcuHead rcu;
	Kind kind;
	bool sampling;
	bool uses_unit;
	bool global;   /* holds a global store reference */
	bool probes;   /* holds a kernel source reference */
	bool user;     /* holds a user source reference */
	bool ran;      /* added on a CPU at least once */
	bool parked;   /* added, waiting for a unit (kUnits) */
	bool upstream; /* store=upstream: the core holds its task data (perf_ctx_data) */
	s8 slot;       /* its unit on the CPU it is added on, or -1 */
	bool exclude_user;
	bool exclude_idle;
	EntryFormat format;
	lbr::Config config; /* LBR_CTL without LBREn, and the depth */
	u64 period;	    /* ns (Callstack) or branches (Branches) */
	u64 base;	    /* the count or clock already accounted */
	u64 left;	    /* branches until the next sample */
	TaskRef td;	    /* a per-task event's reference, until it ran */
	void *mm;	    /* the user source watches it (a per-task event's task) */
	u64 parked_at;	    /* local_clock() when parked, or of the last fold */
	u64 parked_ns;	    /* parked time not yet taken off time_running */
	u64 parked_total;   /* all its parked time: who is owed a unit */
};

/*
 * Validate config bits and branch filters; each refusal's errno is in
 * module/pmu.cpp. @user_probes: the user source has probes.
 */
Result<lbr::Config> decode_unit_config(const lbrctx_attr &a, bool user_probes);

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
};

class Pmu : Pinned {
public:
	constexpr Pmu() = default;

	/* Module load: the event cache, the per-CPU units, the switch hook, the PMU. Task context. */
	Result<void> init(Store &store, Source &source, UserSource &user);
	/* Module exit, first: unregister the PMU and the switch hook. */
	void unregister();
	/* Module exit, after rcu_barrier(): free the per-CPU units, destroy the cache. */
	void destroy();

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
	/* A write of the store parameter (any time, module load included): 0 or -errno. Task context. */
	int store_mode_check(bool upstream);
	/* The kmem_cache store=upstream gives the core (6.15+), or null. */
	void *upstream_cache() const { return m_upstream_cache; }
	/* The rotation timer of @c: hard IRQ. The next period, or 0 to stop. */
	u64 rotate(CpuState *c);

	/* This CPU's state; interrupts or preemption off. */
	CpuState *this_cpu() const { return m_cpus.this_cpu(); }
	/*
	 * A branch on this CPU, for every unit that records it: the sources
	 * call it (it turns interrupts off). @match_top: a kernel return
	 * pops only its own call.
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

private:
	Result<void> setup_event(EventState *e, const lbrctx_attr &a);
	void release(EventState *e);
	void account(EventState *e);
	u64 current_value(const EventState *e, const CpuState *c) const;
	void emit(EventState *e, CpuState *c, u64 count, bool irq_regs);
	void add_pending_call(CpuState *c, const lbr::Unit &u, const EntryFormat &f, void *regs,
			      BranchStack &st);
	void on_branches(CpuState *c, u32 slots);
	bool bind(CpuState *c, EventState *e);
	void park(CpuState *c, EventState *e);
	void evict(CpuState *c, u32 slot);
	bool take_unit(CpuState *c, EventState *e);
	void fold_parked(EventState *e);
	void save(CpuState *c, TaskData *td, u32 slot);
	bool restore(CpuState *c, TaskData *td, u32 slot);
	/* The switch path's task data: lbrctx's store, or with @upstream the core's. Under RCU, IRQs off. */
	TaskData *task_data(k::Task t, bool upstream);
	static void free_rcu(lbrctx_rcu *r) noexcept;

	Store *m_store = nullptr;
	Source *m_source = nullptr;
	UserSource *m_user = nullptr;
	SlabCache<EventState> m_events;
	k::PerCpu<CpuState> m_cpus;
	k::TracepointSet<1> m_switch;
	/* store=upstream: the cache of the objects the core allocates (TaskData-sized), 6.15+. */
	void *m_upstream_cache = nullptr;
	Atomic<u64> m_nevents{0};
	bool m_registered = false;
};

Pmu &the_pmu();

} // namespace pmu

/*
 * The kernel branch source: fprobes (kretprobes without CONFIG_FPROBE) on
 * the probed functions, live while an event that uses the unit exists.
 */
class Source : Pinned {
public:
	constexpr Source() = default;
	/* Module load: parse the probes parameter. Task context. */
	Result<void> init(const char *spec);
	/* Module exit, after the PMU is gone: unregister everything. */
	void exit();
	/* A reference on the probes: the first registers them (task context, may sleep). */
	Result<void> get();
	/* Drop it: the last schedules the unregistration (any task context). */
	void put();
	/* Replace the probe set (debugfs); re-registers when probes are live. Task context. */
	Result<void> install(const char *spec);
	/* The current set, for debugfs, and as a string. */
	void show(void *seq);
	void spec(char *buf, size_t size);
	void reap();
	u32 registered();
	u32 users();
	u64 missed();
	const char *kind_name() const;

private:
	static constexpr size_t kSpecMax = 256;
	struct Patterns {
		char buf[kSpecMax]; /* NUL-separated patterns */
		const char *pattern[LBRCTX_MAX_PATTERNS];
		u32 n;
	};
	Result<void> parse(const char *spec, Patterns &p) const;
	void unregister_all();
	Result<void> register_all();

	char m_spec[kSpecMax]{};
	Patterns m_patterns{};
	bool m_registered[LBRCTX_MAX_PATTERNS]{};
	u32 m_nregistered = 0;
	u32 m_users = 0;
	bool m_ready = false;
	k::Mutex m_mutex;
	k::LockClass m_mutex_class{};
};

Source &the_source();

} // namespace lbrctx
