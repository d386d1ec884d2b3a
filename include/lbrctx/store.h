/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-task store: PMU task data that lives with the task (seed 003),
 * from a dedicated 64-byte-aligned kmem_cache (seeds 000/001), refcounted,
 * installed lazily with one winner per task, and freed after an RCU grace
 * period on the last put (seed 004).
 *
 * One slab object per monitored task: a one-cache-line header followed by
 * the Arch LBR XSAVE area. Upstream's perf_ctx_data takes two allocations
 * (a kzalloc'd header plus the cache object); this layout takes one.
 *
 * Ownership. A reference is a k::RefPtr<TaskData>; its last put goes
 * through Store::put(), which takes the store lock for the transition to
 * zero (refcount_dec_and_lock), so the hash table never holds an object
 * whose count is zero. Two kinds of reference are not RefPtrs, because
 * no single owner holds them: the global reference of system-wide users
 * (global_refs) and the task's own (kTaskOwned); the store drops both.
 */
#pragma once

#include <lbrctx/k/fault.h>
#include <lbrctx/k/hash.h>
#include <lbrctx/k/lock.h>
#include <lbrctx/k/percpu.h>
#include <lbrctx/k/rcu.h>
#include <lbrctx/k/ref.h>
#include <lbrctx/k/task.h>
#include <lbrctx/k/tracepoint.h>
#include <lbrctx/slab.h>
#include <lbrctx/use.h>
#include <lbrctx/xsave.h>

namespace lbrctx {

class Store;

struct ListLink {
	ListLink *prev;
	ListLink *next;
};

/*
 * A task's LBR state under a configuration its XSAVE area does not hold
 * (include/lbrctx/units.h: a CPU has a unit per configuration): compact,
 * in a side block the task takes when it first needs one.
 */
struct SideArea {
	xsave::ArchLbrState lbr;
	u64 slots[xsave::kLbrMaxDepth];
	u64 stamp; /* when saved last: the oldest area is reused first */
};

struct SideBlock {
	static constexpr u32 kAreas = 3;
	SideArea area[kAreas];
};

struct alignas(64) TaskData {
	/* Per-task references plus global_refs. */
	k::RefCount refs;
	/* The reference of system-wide users: 0 or 1. Store lock. */
	u8 global_refs;
	/* kHashed, kTaskOwned. Store lock. */
	u8 flags;
	u16 pad;
	Store *store;
	/* Key: the task_struct this data belongs to. */
	k::HashNode node;
	union {
		/* Every live object, until it is released (store lock). */
		ListLink link;
		/* Once released: the deferred free. RCU readers never touch it. */
		k::RcuHead rcu;
	};
	/* Further configurations' state, or null; set by the switch hook, freed with the object. */
	SideBlock *side;
	/* Payload: the task's LBR state in XSAVE layout, on a 64-byte boundary. */
	xsave::LbrArea lbr;

	static constexpr u8 kHashed = 1;
	/* The task itself holds one reference, dropped when it exits. */
	static constexpr u8 kTaskOwned = 2;

	k::Task task() const { return k::Task(const_cast<void *>(node.key)); }
	bool has_global() const { return global_refs != 0; }
	/* k::RefPtr<TaskData> puts through here. */
	static void put_ref(TaskData *td);
};

using TaskRef = k::RefPtr<TaskData>;

inline constexpr size_t kTaskHeaderSize = 64;
static_assert(__builtin_offsetof(TaskData, lbr) == kTaskHeaderSize,
	      "the header is one cache line and the payload starts right after it");
static_assert(__builtin_offsetof(TaskData, lbr) % xsave::kAlign == 0,
	      "XSAVE needs the payload 64-byte aligned (SDM Vol. 1, 13.7)");
static_assert(sizeof(TaskData) == round_up<size_t>(kTaskHeaderSize + sizeof(xsave::LbrArea), 64),
	      "one object per task: header plus payload, rounded to the alignment");
static_assert(alignof(TaskData) == 64, "the cache is created with alignof(TaskData)");

class Store : Pinned {
public:
	struct Stats {
		u64 objects;	     /* live slab objects */
		u64 allocs;	     /* objects ever allocated */
		u64 alloc_failures;  /* the cache's and injected ones */
		u64 attaches;	     /* references taken */
		u64 detaches;	     /* references dropped */
		u64 global_users;    /* system-wide users */
		u64 global_attached; /* objects holding a global reference */
		u64 object_size;
		u64 table_bytes; /* the hash table's bucket array */
	};

	constexpr Store() = default;

	/*
	 * Task context: the cache @cache_name, the hash table, and the fork
	 * and exit tracepoints; with @side_name, side blocks too (take_side()).
	 * A Store must have static storage duration (its lockdep classes are
	 * members).
	 */
	Result<void> init(const char *cache_name, const char *side_name = nullptr);
	/* Unhook the fork and exit tracepoints (they may run until tracepoint_synchronize_unregister()). */
	void unhook() { m_tracepoints.detach(); }
	/*
	 * Task context, after every user is gone: unhooks the tracepoints and
	 * waits for their probes, drops what global users and tasks still
	 * hold, waits for the RCU frees (rcu_barrier()) and destroys the
	 * cache, which must find zero objects.
	 */
	void shutdown();

	/* Get or create @task's data with one more reference. Task context, may sleep. -ESRCH when exiting. */
	Result<TaskRef> attach(k::Task task);
	/*
	 * Hand @ref to its task, which holds it until it exits (or the store
	 * shuts down); dropped instead when the task holds one already or
	 * has exited. Task context.
	 */
	void give_to_task(TaskRef ref);
	/*
	 * Give every thread data with a global reference, now and on fork,
	 * until the matching detach_global(). Task context, sleeps. -ENOMEM,
	 * rolled back whole, when allocations fail.
	 */
	Result<void> attach_global();
	/* -EINVAL when there is no global user to drop. Task context. */
	Result<void> detach_global();
	/*
	 * A system-wide user as an owning handle (attach_global(), and
	 * detach_global() when the handle goes). Task context, sleeps.
	 */
	void put_global() { LBRCTX_WARN_ON(detach_global().is_error()); }
	using GlobalUser = Use<Store, &Store::put_global>;
	Result<GlobalUser> add_global_user()
	{
		TRY(attach_global());
		return GlobalUser::adopt(*this);
	}

	/* A system-wide user exists (a hint: read without the lock). */
	bool global_active() const { return __atomic_load_n(&m_global_active, __ATOMIC_RELAXED); }

	/* @task's data, or null. Under RCU; any context. */
	TaskData *lookup(k::Task task);
	/*
	 * lookup() through this CPU's cache of the objects it found last
	 * (kRecent of them, replaced in turn): the switch path's, whose prev
	 * and next are the few tasks that run here, however many objects
	 * live. IRQs off (which is an RCU read section too).
	 */
	TaskData *lookup_here(k::Task task);
	/* Entries per CPU of lookup_here()'s cache: one cache line of keys. */
	static constexpr u32 kRecent = 8;

	Stats stats();
	k::FaultAttr &fault() { return m_fail; }

	/*
	 * A zeroed side block from this CPU's spares, or null (none left:
	 * the caller goes without). Interrupts off: the switch hook. Taking
	 * one kicks the refill, which runs in a workqueue (refill_sides()).
	 */
	SideBlock *take_side();
	/* Task context: top every CPU's spares up (GFP_KERNEL). */
	void refill_sides();
	/*
	 * IRQs off: a second configuration is in use on this CPU; have its
	 * spares ready. Kicks the refill only when one is missing: a kick
	 * runs a kworker here, and a switch to it would come back to this.
	 */
	void want_sides();
	u64 sides() const { return static_cast<u64>(m_side_cache.live()); }

	/* sched_process_fork (in the parent) and sched_process_exit: must not sleep. */
	void on_fork(k::Task child);
	void on_exit(k::Task task);
	/* The last put of a reference (TaskData::put_ref). Any task context. */
	void put(TaskData *td);

private:
	class Locked;

	Result<SlabPtr<TaskData>> alloc_object(k::Task task, lbrctx_gfp gfp);
	int insert_locked(SlabPtr<TaskData> &fresh);
	void unhash_locked(TaskData *td);
	void release_locked(TaskData *td);
	void put_locked(TaskData *td);
	void get_locked(TaskData *td);
	void drop_global_locked(TaskData *td);
	bool attach_global_locked(k::Task task, SlabPtr<TaskData> *spare);
	void drop_task_owned_locked(TaskData *td);
	void drop_all_global_locked();
	static void free_rcu(lbrctx_rcu *r) noexcept;

	SlabCache<TaskData> m_cache;
	SlabCache<SideBlock> m_side_cache;
	struct SideSpares {
		SideBlock *spare[4];
	};
	k::PerCpu<SideSpares> m_spares;
	/*
	 * lookup_here()'s cache. Only its CPU fills an entry, with IRQs off;
	 * unhash_locked()
	 * clears every CPU's entry of the object before the RCU free, so an
	 * entry read under RCU is a live object. The filler re-checks
	 * kHashed after a full barrier, and the unhasher clears kHashed
	 * before one: whichever runs second sees the other, so no entry
	 * outlives the object's unhash.
	 */
	struct Recent {
		const void *key[kRecent]; /* the task of td[i] when filled */
		TaskData *td[kRecent];
		u32 next; /* the entry the next miss fills */
	};
	k::PerCpu<Recent> m_recent;
	k::HashTable m_hash;
	k::TracepointSet<2> m_tracepoints;
	k::FaultAttr m_fail;
	/* Protects the hash table, the object list, flags and global_refs. */
	k::SpinLock m_lock;
	k::LockClass m_lock_class{};
	/* Serializes global attach and detach, which sleep. */
	k::Mutex m_global_mutex;
	k::LockClass m_global_mutex_class{};
	/* Every live object, hashed or not (a ring through init()). Store lock. */
	ListLink m_all{};
	/* Store lock; read without it by the fork probe, as a hint. */
	bool m_global_active = false;
	u64 m_global_attached = 0;
	/* Global mutex. */
	u32 m_global_users = 0;
	bool m_ready = false;
	Atomic<u64> m_attaches{0};
	Atomic<u64> m_detaches{0};
	Atomic<u64> m_injected{0};
};

inline void TaskData::put_ref(TaskData *td)
{
	td->store->put(td);
}

/*
 * The store lock, with an RCU read section inside it: lookups under the
 * lock read the rhashtable, and on 6.1 a spinlock alone does not satisfy
 * rhashtable's lockdep checks (PROVE_RCU: "suspicious
 * rcu_dereference_check() usage"). Never held across a sleep.
 */
class [[nodiscard]] Store::Locked : Pinned {
public:
	explicit Locked(Store &s) : m_guard(s.m_lock) {}
	Locked(Store &s, k::AdoptLock a) : m_guard(s.m_lock, a) {}

private:
	k::Guard<k::SpinLock> m_guard;
	k::RcuReadGuard m_rcu; /* destroyed first: unlocked inside the lock */
};

inline TaskData *from_node(k::HashNode *n)
{
	return n ? lbrctx_container_of(n, TaskData, node) : nullptr;
}

inline TaskData *from_link(ListLink *l)
{
	return lbrctx_container_of(l, TaskData, link);
}

} // namespace lbrctx
