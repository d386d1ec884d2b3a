// SPDX-License-Identifier: GPL-2.0
/*
 * The per-task store (see include/lbrctx/store.h).
 *
 * References. An object's refcount is the number of per-task references
 * (attach) plus its global_refs (0 or 1, the reference system-wide users
 * hold). Every transition to zero happens under the store lock
 * (refcount_dec_and_lock), together with the removal from the hash table
 * and the object list, so the hash never holds an object whose count is
 * zero and a lookup under the lock can always take a reference.
 *
 * Exit. sched_process_exit unhashes the task's object, so a later task
 * that reuses the task_struct address never finds it, and drops the global
 * reference. Per-task references stay with their holders, who put them by
 * pointer; the object is freed, after an RCU grace period, on the last put.
 * attach() refuses exiting tasks under the store lock: PF_EXITING is set
 * before the exit tracepoint fires, so no object is hashed after its
 * task's exit probe ran.
 *
 * Global users. The first attach_global() publishes global_active under
 * the store lock and only then walks the threads, so a thread forked at any
 * point is seen either by the walk or by the fork probe (which checks the
 * flag under the same lock); global_refs makes the two idempotent.
 */
#include <lbrctx/slab.h>
#include <lbrctx/store.h>

namespace lbrctx::store {
namespace {

struct State {
	SlabCache<TaskData> cache;
	/* All live objects, hashed or not; under the store lock. */
	ListLink all;
	/* Under the store lock. */
	bool global_active;
	u64 global_attached;
	/* Under the global mutex. */
	u32 global_users;
	bool ready;
	Atomic<u64> attaches;
	Atomic<u64> detaches;
	Atomic<u64> injected_failures;
	/* Test hooks: fail allocations, and run a callback after the walk. */
	Atomic<u32> fail_after;
	Atomic<u32> fail_count;
	void (*walk_hook)(void *ctx);
	void *walk_hook_ctx;
};

constinit State g{.all = {&g.all, &g.all}};

TaskData *from_hnode(void *hnode)
{
	if (!hnode)
		return nullptr;
	return reinterpret_cast<TaskData *>(static_cast<u8 *>(hnode) -
					    __builtin_offsetof(TaskData, hnode));
}

TaskData *from_link(ListLink *l)
{
	return reinterpret_cast<TaskData *>(reinterpret_cast<u8 *>(l) -
					    __builtin_offsetof(TaskData, link));
}

/* RAII for the store spinlock. Never held across an allocation that sleeps. */
class [[nodiscard]] StoreLock : Pinned {
public:
	StoreLock() { lbrctx_shim_store_lock(); }
	~StoreLock() { lbrctx_shim_store_unlock(); }
};

class [[nodiscard]] GlobalMutex : Pinned {
public:
	GlobalMutex() { lbrctx_shim_global_lock(); }
	~GlobalMutex() { lbrctx_shim_global_unlock(); }
};

bool inject_failure()
{
	if (!g.fail_count.load())
		return false;
	u32 after = g.fail_after.load();
	if (after) {
		g.fail_after.sub(1);
		return false;
	}
	g.fail_count.sub(1);
	g.injected_failures.add(1);
	return true;
}

/* A fresh object for @task with one reference. Context as @gfp allows. */
Result<TaskData *> alloc_object(void *task, enum lbrctx_gfp gfp)
{
	if (inject_failure())
		return err::nomem();
	/* The cache zeroes the object: the payload starts as reset LBR state. */
	TaskData *td = TRY(g.cache.alloc(gfp)).leak(); /* owned by the store */
	lbrctx_shim_refcount_set(&td->refcount, 1);
	td->task = task;
	lbrctx_shim_hnode_set_key(&td->hnode, task);
	return td;
}

/* Store lock held. The object has a reference; make it findable. */
int insert_locked(TaskData *td)
{
	int ret = lbrctx_shim_hash_insert(&td->hnode);
	if (ret)
		return ret;
	td->flags |= kHashed;
	td->link.next = g.all.next;
	td->link.prev = &g.all;
	g.all.next->prev = &td->link;
	g.all.next = &td->link;
	return 0;
}

void unhash_locked(TaskData *td)
{
	if (!(td->flags & kHashed))
		return;
	LBRCTX_WARN_ON(lbrctx_shim_hash_remove(&td->hnode));
	td->flags &= ~kHashed;
}

/* Store lock held; the refcount just reached zero. Free after a grace period. */
void release_locked(TaskData *td)
{
	unhash_locked(td);
	td->link.prev->next = td->link.next;
	td->link.next->prev = td->link.prev;
	lbrctx_shim_call_rcu_task_data(&td->rcu);
}

/* Store lock held. Drop one reference; the last one releases. */
void put_locked(TaskData *td)
{
	if (lbrctx_shim_refcount_dec_and_test(&td->refcount))
		release_locked(td);
	g.detaches.add(1);
}

/* Store lock held. Take a reference on a hashed object. */
void get_locked(TaskData *td)
{
	/* Hashed objects never have a zero count (see the top of this file). */
	LBRCTX_WARN_ON(!lbrctx_shim_refcount_inc_not_zero(&td->refcount));
	g.attaches.add(1);
}

TaskData *lookup(const void *task) { return from_hnode(lbrctx_shim_hash_lookup(task)); }

/* Store lock held. Drop the global reference, if the object has one. */
void drop_global_locked(TaskData *td)
{
	if (!td->global_refs)
		return;
	td->global_refs = 0;
	g.global_attached--;
	put_locked(td);
}

/*
 * Store lock held. Give @task's object the global reference; use @spare
 * (a fresh object with one reference) when the task has none. Returns true
 * when @spare was consumed.
 */
bool attach_global_locked(void *task, TaskData *spare)
{
	if (!g.global_active || lbrctx_shim_task_exiting(task))
		return false;
	TaskData *td = lookup(task);
	if (td) {
		if (!td->global_refs) {
			get_locked(td);
			td->global_refs = 1;
			g.global_attached++;
		}
		return false;
	}
	if (!spare || insert_locked(spare))
		return false;
	spare->global_refs = 1;
	g.global_attached++;
	g.attaches.add(1);
	return true;
}

/* Store lock held. Drop the task's own reference, if it has one. */
void drop_task_owned_locked(TaskData *td)
{
	if (!(td->flags & kTaskOwned))
		return;
	td->flags &= ~kTaskOwned;
	put_locked(td);
}

/* Store lock held. Drop every global reference. */
void drop_all_global_locked()
{
	g.global_active = false;
	ListLink *l = g.all.next;
	while (l != &g.all) {
		ListLink *next = l->next; /* l may be released below */
		drop_global_locked(from_link(l));
		l = next;
	}
}

struct WalkCtx {
	void *pinned; /* a task whose object must be allocated outside RCU */
};

/* Under rcu_read_lock() from the thread walk: must not sleep. */
int walk_one(void *task, void *ctx)
{
	{
		StoreLock lock;
		TaskData *td = lookup(task);
		if (td && td->global_refs)
			return 0;
		if (td || lbrctx_shim_task_exiting(task)) {
			attach_global_locked(task, nullptr);
			return 0;
		}
	}
	auto spare = alloc_object(task, LBRCTX_GFP_NOWAIT);
	if (spare.is_error()) {
		/* Allocate this one outside RCU with GFP_KERNEL, then restart. */
		lbrctx_shim_get_task(task);
		static_cast<WalkCtx *>(ctx)->pinned = task;
		return 1;
	}
	TaskData *td = spare.value();
	bool used;
	{
		StoreLock lock;
		used = attach_global_locked(task, td);
	}
	if (!used)
		g.cache.free(td);
	return 0;
}

} // namespace

Result<void> init()
{
	TRY(g.cache.create("lbrctx_task_data"));
	if (int ret = lbrctx_shim_hash_init()) {
		(void)g.cache.destroy();
		return Error{ret};
	}
	g.ready = true;
	return {};
}

/*
 * Task context, after the probes are unregistered and synchronized. Drops
 * what global users left behind, waits for the RCU frees, and destroys the
 * cache, which must find zero objects.
 */
void shutdown()
{
	if (!g.ready)
		return;
	{
		StoreLock lock;
		drop_all_global_locked();
		/* Tasks that outlive the module give their data back now. */
		for (ListLink *l = g.all.next, *next; l != &g.all; l = next) {
			next = l->next;
			drop_task_owned_locked(from_link(l));
		}
		LBRCTX_WARN_ON(g.all.next != &g.all);
	}
	g.global_users = 0;
	lbrctx_shim_rcu_barrier();
	if (g.all.next != &g.all)
		return; /* leaked references: keep the cache rather than free live objects */
	lbrctx_shim_hash_destroy();
	(void)g.cache.destroy();
	g.ready = false;
}

} // namespace lbrctx::store

using namespace lbrctx;
using namespace lbrctx::store;

/*
 * Get or create @task's data with one more reference. Task context (may
 * sleep in the allocation). Two racing attachers of one task end with one
 * object and two references. -ESRCH for an exiting task.
 */
extern "C" int lbrctx_store_attach(void *task, struct lbrctx_task_data **out) noexcept
{
	if (lbrctx_shim_task_exiting(task))
		return -LBRCTX_K_ESRCH;
	{
		StoreLock lock;
		if (TaskData *td = lookup(task)) {
			get_locked(td);
			*out = td;
			return 0;
		}
	}
	auto fresh = alloc_object(task, LBRCTX_GFP_KERNEL);
	if (fresh.is_error())
		return fresh.error();
	TaskData *td = fresh.value();
	int ret = -LBRCTX_K_ESRCH;
	{
		StoreLock lock;
		if (lbrctx_shim_task_exiting(task)) {
			/* Refused; the fresh object is freed below. */
		} else if (TaskData *winner = lookup(task)) {
			/* Lost the race: one object, one more reference. */
			get_locked(winner);
			*out = winner;
			ret = 0;
		} else {
			ret = insert_locked(td);
			if (ret == 0) {
				g.attaches.add(1);
				*out = td;
				return 0;
			}
		}
	}
	g.cache.free(td);
	return ret;
}

/*
 * Hand a reference taken by lbrctx_store_attach() to the task itself, which
 * holds it until it exits (or the module unloads); it is dropped instead
 * when the task already holds one or has exited. What a per-task perf
 * event does with its reference once it has run: perf may swap the
 * contexts of two equivalent tasks on a context switch, so an event does
 * not stay with the task it was created for, and an event-held reference
 * could free the data of a task that is still monitored. Task context.
 */
extern "C" void lbrctx_store_own(struct lbrctx_task_data *td) noexcept
{
	bool extra;
	{
		StoreLock lock;
		extra = (td->flags & kTaskOwned) || !(td->flags & kHashed);
		if (!extra)
			td->flags |= kTaskOwned;
	}
	if (extra)
		lbrctx_store_put(td);
}

/* Attach @task's data and hand the reference to the task. Task context. */
extern "C" int lbrctx_store_attach_task_owned(void *task) noexcept
{
	struct lbrctx_task_data *td;
	int ret = lbrctx_store_attach(task, &td);
	if (ret)
		return ret;
	lbrctx_store_own(td);
	return 0;
}

/* Drop a reference taken by lbrctx_store_attach(). Task context. */
extern "C" void lbrctx_store_put(struct lbrctx_task_data *td) noexcept
{
	if (lbrctx_shim_refcount_dec_and_store_lock(&td->refcount)) {
		release_locked(td);
		lbrctx_shim_store_unlock();
	}
	g.detaches.add(1);
}

/*
 * Drop one per-task reference of @task's data. -ENOENT when the task has
 * no data or only the global reference: a detach beyond the last per-task
 * reference is refused, never an underflow.
 */
extern "C" int lbrctx_store_detach(void *task) noexcept
{
	StoreLock lock;
	TaskData *td = lookup(task);
	if (!td || lbrctx_shim_refcount_read(&td->refcount) <= td->global_refs)
		return -LBRCTX_K_ENOENT;
	put_locked(td);
	return 0;
}

/* Caller holds rcu_read_lock(). Any context, including the switch path. */
extern "C" struct lbrctx_task_data *lbrctx_store_lookup(const void *task) noexcept
{
	return lookup(task);
}

extern "C" u32 lbrctx_store_refcount(const struct lbrctx_task_data *td) noexcept
{
	return lbrctx_shim_refcount_read(&td->refcount);
}

extern "C" bool lbrctx_store_has_global(const struct lbrctx_task_data *td) noexcept
{
	return td->global_refs != 0;
}

/*
 * Give every thread data with a global reference, now and on fork, until
 * the matching detach. Task context; sleeps. The walk allocates with
 * GFP_NOWAIT under RCU; when that fails it pins the task, allocates with
 * GFP_KERNEL outside RCU, and walks again (threads already covered cost a
 * lookup). On failure it rolls back and returns -ENOMEM.
 */
extern "C" int lbrctx_store_attach_global(void) noexcept
{
	GlobalMutex mutex;
	if (g.global_users++)
		return 0;
	{
		StoreLock lock;
		g.global_active = true;
	}
	for (;;) {
		WalkCtx ctx{};
		if (!lbrctx_shim_for_each_thread(walk_one, &ctx))
			break;
		auto spare = alloc_object(ctx.pinned, LBRCTX_GFP_KERNEL);
		if (spare.is_error()) {
			lbrctx_shim_put_task(ctx.pinned);
			StoreLock lock;
			drop_all_global_locked();
			g.global_users = 0;
			return spare.error();
		}
		bool used;
		{
			StoreLock lock;
			used = attach_global_locked(ctx.pinned, spare.value());
		}
		if (!used)
			g.cache.free(spare.value());
		lbrctx_shim_put_task(ctx.pinned);
	}
	if (g.walk_hook)
		g.walk_hook(g.walk_hook_ctx);
	return 0;
}

/* -EINVAL when there is no global user to drop. Task context. */
extern "C" int lbrctx_store_detach_global(void) noexcept
{
	GlobalMutex mutex;
	if (!g.global_users)
		return -LBRCTX_K_EINVAL;
	if (--g.global_users)
		return 0;
	StoreLock lock;
	drop_all_global_locked();
	return 0;
}

/* sched_process_fork probe, in the parent: must not sleep. */
extern "C" void lbrctx_store_on_fork(void *child) noexcept
{
	if (!__atomic_load_n(&g.global_active, __ATOMIC_RELAXED))
		return;
	auto spare = alloc_object(child, LBRCTX_GFP_NOWAIT);
	if (spare.is_error())
		return; /* counted in alloc_failures; the child runs without data */
	bool used;
	{
		StoreLock lock;
		used = attach_global_locked(child, spare.value());
	}
	if (!used)
		g.cache.free(spare.value());
}

/* sched_process_exit probe, in the exiting task: must not sleep. */
extern "C" void lbrctx_store_on_exit(void *task) noexcept
{
	lbrctx_shim_rcu_read_lock();
	bool has = lookup(task) != nullptr;
	lbrctx_shim_rcu_read_unlock();
	if (!has)
		return;
	StoreLock lock;
	TaskData *td = lookup(task);
	if (!td)
		return;
	unhash_locked(td);
	drop_global_locked(td);
	drop_task_owned_locked(td);
}

/* RCU callback (softirq): the grace period after the last put has passed. */
extern "C" void lbrctx_store_free_rcu(void *rcu_head) noexcept
{
	auto *td = reinterpret_cast<TaskData *>(static_cast<u8 *>(rcu_head) -
						 __builtin_offsetof(TaskData, rcu));
	g.cache.free(td);
}

extern "C" void lbrctx_store_get_stats(struct lbrctx_store_stats *s) noexcept
{
	*s = {};
	s->objects = static_cast<u64>(g.cache.live());
	s->allocs = g.cache.allocs();
	s->alloc_failures = g.cache.alloc_failures() + g.injected_failures.load();
	s->attaches = g.attaches.load();
	s->detaches = g.detaches.load();
	s->object_size = g.cache.object_size();
	{
		GlobalMutex mutex;
		s->global_users = g.global_users;
	}
	StoreLock lock;
	s->global_attached = g.global_attached;
}

/* Test hook: let @after allocations succeed, then fail the next @count. */
extern "C" void lbrctx_store_test_fail_allocs(u32 after, u32 count) noexcept
{
	g.fail_after.store(after);
	g.fail_count.store(count);
}

/* Test hook: run @fn at the end of the first global attach's walk. */
extern "C" void lbrctx_store_test_set_walk_hook(void (*fn)(void *), void *ctx) noexcept
{
	GlobalMutex mutex;
	g.walk_hook = fn;
	g.walk_hook_ctx = ctx;
}
