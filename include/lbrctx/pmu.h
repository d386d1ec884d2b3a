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
#include <lbrctx/lbr.h>
#include <lbrctx/result.h>
#include <lbrctx/store.h>

namespace lbrctx::pmu {

/* config:0-7 */
enum class Kind : u8 {
	Callstack = 0,	/* the LBR sampled by time; counts ns */
	Branches = 1,	/* counts recorded branches; samples every N */
	Saves = 2,	/* per-CPU counts of the switch hook's operations */
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

/* Timer sampling: the shortest period (cpu-clock's), and the ns per second. */
inline constexpr u64 kMinPeriodNs = 10000;
/* Branch sampling: the smallest N of "every N branches". */
inline constexpr u64 kMinBranchPeriod = 16;
/* Events one CPU can have added at once. */
inline constexpr u32 kMaxActive = 16;

struct EventState;

/* Dedupe of one call seen by two overlapping patterns: per context level. */
struct CallKey {
	u64 ip;
	u64 sp;
};

struct CpuState {
	lbr::Unit unit;
	/* Added events that configure the unit. */
	u32 unit_users;
	u32 nactive;
	EventState *active[kMaxActive];
	/* Monotonic, this CPU: index by Kind (Callstack unused). */
	u64 counts[kKinds];
	u64 samples;
	u64 dropped;
	CallKey last_call[4];
	lbrctx_snapshot snap[4];
};

/*
 * One perf event's state, from the "lbrctx_event" cache. The shim's view
 * (struct lbrctx_ev) comes first.
 */
struct EventState {
	lbrctx_ev ev;
	KernelStorage<LBRCTX_K_SIZEOF_RCU_HEAD, LBRCTX_K_ALIGNOF_RCU_HEAD> rcu;
	Kind kind;
	bool sampling;
	bool uses_unit;
	bool global;		/* holds a global store reference */
	bool probes;		/* holds a branch source reference */
	u64 unit_ctl;		/* LBR_CTL with LBREn */
	u32 depth;
	u64 period;		/* ns (Callstack) or branches (Branches) */
	u64 base;		/* the count or clock already accounted */
	u64 left;		/* branches until the next sample */
	TaskData *td;		/* per-task reference, or null */
	bool ran;		/* added on a CPU at least once */
};

static_assert(__builtin_offsetof(EventState, ev) == 0, "the shim casts lbrctx_ev to EventState");

/* The event's unit configuration, decoded from its attributes. */
struct UnitConfig {
	u64 ctl;
	u32 depth;
};

/* Validate config bits and branch filters; the errno of each refusal is documented in pmu.cpp. */
Result<UnitConfig> decode_unit_config(const lbrctx_attr &a);

/* This CPU's state; interrupts or preemption off. */
CpuState *this_cpu();
/* Account one recorded branch on @c (the source calls it with interrupts off). */
void on_branch(CpuState *c);
/* Copy the unit's records into @snap. */
void snapshot(const lbr::Unit &u, lbrctx_snapshot &snap);
/* True while any lbrctx event exists. */
bool any_events();

/* Module load: the event cache, the per-CPU units, the PMU. Task context. */
Result<void> init();
/* Module exit: unregister the PMU. */
void exit();
/* Module exit, after rcu_barrier(): free the per-CPU units, destroy the cache. */
void destroy_caches();

} // namespace lbrctx::pmu

namespace lbrctx::source {
/* A reference on the probes: the first registers them (task context, may sleep). */
Result<void> get();
/* Drop it: the last schedules the unregistration (any task context). */
void put();
Result<void> init();
/* Module exit: unregister everything, after the PMU is gone. */
void exit();
u32 registered();
u32 users();
u64 missed();
} // namespace lbrctx::source
