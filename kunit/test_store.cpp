// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_store: the per-task store of seeds 000-004, one property a case.
 * Each case leaves the store as it found it, and checks so: the live
 * object count returns to its value before the case once the RCU frees ran.
 */
#include <lbrctx/atomic.h>
#include <lbrctx/store.h>

#include "ktest.h"

using namespace lbrctx;
using lbrctx::test::all_zero;
using lbrctx::test::park;

namespace {

u64 live_objects()
{
	lbrctx_store_stats s;
	lbrctx_store_get_stats(&s);
	return s.objects;
}

u64 allocs()
{
	lbrctx_store_stats s;
	lbrctx_store_get_stats(&s);
	return s.allocs;
}

/* Objects are freed after a grace period: wait for the callbacks. */
u64 live_objects_settled()
{
	lbrctx_shim_rcu_barrier();
	return live_objects();
}

TaskData *lookup(void *task)
{
	lbrctx_shim_rcu_read_lock();
	TaskData *td = lbrctx_store_lookup(task);
	lbrctx_shim_rcu_read_unlock();
	return td;
}



/* Start @n parked kthreads; returns how many started. */
int start_parked(void **tasks, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		tasks[i] = lbrctx_kt_start(park, nullptr, name);
		if (!tasks[i])
			return i;
	}
	return n;
}

void stop_all(void **tasks, int n)
{
	for (int i = 0; i < n; i++)
		if (tasks[i])
			lbrctx_kt_stop(tasks[i]);
}

/* Threads without global data, counted over every thread in the system. */
struct Coverage {
	u32 threads;
	u32 missing;
	u32 exiting;
};

int count_coverage(void *task, void *ctx) noexcept
{
	auto *c = static_cast<Coverage *>(ctx);
	c->threads++;
	TaskData *td = lbrctx_store_lookup(task); /* under the walk's RCU */
	if (!td || !lbrctx_store_has_global(td)) {
		if (lbrctx_shim_task_exiting(task))
			c->exiting++;
		else
			c->missing++;
	}
	return 0;
}

Coverage coverage()
{
	Coverage c{};
	(void)lbrctx_shim_for_each_thread(count_coverage, &c);
	return c;
}

/* Storage for thread-heavy cases, too large for a kthread stack. */
constexpr int kManyThreads = 1000;
constinit void *g_tasks[kManyThreads];

} // namespace

LBRCTX_KUNIT_CASE(store_object_is_one_aligned_zeroed_cache_object)
{
	u64 base = live_objects_settled();
	void *self = lbrctx_shim_current();
	u64 a0 = allocs();
	TaskData *td = nullptr;
	KASSERT_EQ(test, lbrctx_store_attach(self, &td), 0);
	KEXPECT_EQ(test, allocs() - a0, 1); /* exactly one allocation per task */
	KEXPECT_EQ(test, reinterpret_cast<uintptr_t>(td) % 64, 0);
	KEXPECT_EQ(test, reinterpret_cast<uintptr_t>(&td->lbr) % 64, 0);
	KEXPECT(test, all_zero(&td->lbr, sizeof(td->lbr)));
	KEXPECT_EQ(test, sizeof(TaskData), round_up<size_t>(store::kHeaderSize + sizeof(xsave::LbrArea), 64));
	lbrctx_store_stats s;
	lbrctx_store_get_stats(&s);
	KEXPECT_EQ(test, s.object_size, sizeof(TaskData));
	KEXPECT(test, td->task == self);
	/* A second attach of the same task allocates nothing. */
	TaskData *again = nullptr;
	KEXPECT_EQ(test, lbrctx_store_attach(self, &again), 0);
	KEXPECT(test, again == td);
	KEXPECT_EQ(test, allocs() - a0, 1);
	KEXPECT_EQ(test, lbrctx_store_detach(self), 0);
	KEXPECT_EQ(test, lbrctx_store_detach(self), 0);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

LBRCTX_KUNIT_CASE(store_attach_and_detach_move_the_refcount_exactly)
{
	u64 base = live_objects_settled();
	void *self = lbrctx_shim_current();
	TaskData *td = nullptr;
	for (u32 i = 1; i <= 3; i++) {
		KASSERT_EQ(test, lbrctx_store_attach(self, &td), 0);
		KEXPECT_EQ(test, lbrctx_store_refcount(td), i);
	}
	for (u32 i = 3; i > 1; i--) {
		KEXPECT_EQ(test, lbrctx_store_detach(self), 0);
		KEXPECT_EQ(test, lbrctx_store_refcount(td), i - 1);
	}
	KEXPECT_EQ(test, lbrctx_store_detach(self), 0);
	KEXPECT(test, lookup(self) == nullptr); /* unhashed on the last put */
	KEXPECT_EQ(test, live_objects_settled(), base);
}

LBRCTX_KUNIT_CASE(store_detach_beyond_the_last_reference_is_refused)
{
	u64 base = live_objects_settled();
	void *self = lbrctx_shim_current();
	TaskData *td = nullptr;
	KASSERT_EQ(test, lbrctx_store_attach(self, &td), 0);
	KEXPECT_EQ(test, lbrctx_store_detach(self), 0);
	/* No reference left: refused with -ENOENT, and no refcount_t warning. */
	KEXPECT_EQ(test, lbrctx_store_detach(self), -LBRCTX_K_ENOENT);
	KEXPECT_EQ(test, lbrctx_store_detach(self), -LBRCTX_K_ENOENT);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

namespace {

struct RaceCtx {
	void *target;
	Atomic<int> go{0};
	Atomic<int> done{0};
	TaskData *got[8];
	int ret[8];
	Atomic<int> next{0};
};

int race_attach(void *arg) noexcept
{
	auto *c = static_cast<RaceCtx *>(arg);
	int me = c->next.add(1) - 1;
	/* Yield while waiting: without preemption a spinner starves the starter. */
	while (!c->go.load())
		lbrctx_kt_yield();
	c->ret[me] = lbrctx_store_attach(c->target, &c->got[me]);
	c->done.add(1);
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_concurrent_attachers_get_one_object_with_n_references)
{
	constexpr int kN = 8;
	u64 base = live_objects_settled();
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_tgt");
	KASSERT(test, target);
	static RaceCtx c;
	c.target = target;
	c.go.store(0);
	c.done.store(0);
	c.next.store(0);
	u64 a0 = allocs();
	void *threads[kN] = {};
	for (auto &t : threads)
		t = lbrctx_kt_start(race_attach, &c, "lbrctx_race");
	c.go.store(1);
	for (int spins = 0; c.done.load() < kN && spins < 5000; spins++)
		lbrctx_kt_msleep(1);
	KEXPECT_EQ(test, c.done.load(), kN);
	for (int i = 0; i < kN; i++) {
		KEXPECT_EQ(test, c.ret[i], 0);
		KEXPECT(test, c.got[i] == c.got[0]);
	}
	/* Racing attachers may both allocate; the loser frees its copy. */
	KEXPECT(test, allocs() - a0 >= 1);
	KEXPECT_EQ(test, live_objects_settled(), base + 1);
	KEXPECT_EQ(test, lbrctx_store_refcount(c.got[0]), kN);
	for (int i = 0; i < kN; i++)
		KEXPECT_EQ(test, lbrctx_store_detach(target), 0);
	stop_all(threads, kN);
	lbrctx_kt_stop(target);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

LBRCTX_KUNIT_CASE(store_global_attach_covers_1000_threads)
{
	u64 base = live_objects_settled();
	int n = start_parked(g_tasks, kManyThreads, "lbrctx_many");
	KEXPECT_EQ(test, n, kManyThreads);
	KASSERT_EQ(test, lbrctx_store_attach_global(), 0);
	Coverage c = coverage();
	KEXPECT(test, c.threads >= kManyThreads);
	KEXPECT_EQ(test, c.missing, 0);
	for (int i = 0; i < n; i++) {
		TaskData *td = lookup(g_tasks[i]);
		KEXPECT(test, td && lbrctx_store_has_global(td));
	}
	lbrctx_store_stats s;
	lbrctx_store_get_stats(&s);
	KEXPECT_EQ(test, s.global_users, 1);
	KEXPECT_EQ(test, s.global_attached + c.exiting, c.threads);
	KEXPECT_EQ(test, lbrctx_store_detach_global(), 0);
	KEXPECT_EQ(test, lbrctx_store_detach_global(), -LBRCTX_K_EINVAL);
	stop_all(g_tasks, n);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

namespace {

struct Spawner {
	Atomic<int> stop{0};
	Atomic<int> count{0};
	void *tasks[200];
};

/* Forks kthreads for as long as it is told to, up to 200. */
int spawn_loop(void *arg) noexcept
{
	auto *sp = static_cast<Spawner *>(arg);
	while (!sp->stop.load() && sp->count.load() < 200) {
		void *t = lbrctx_kt_start(park, nullptr, "lbrctx_fork");
		if (!t)
			break;
		sp->tasks[sp->count.load()] = t;
		sp->count.add(1);
	}
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_global_attach_covers_threads_forked_during_the_walk)
{
	u64 base = live_objects_settled();
	int n = start_parked(g_tasks, 300, "lbrctx_many");
	static Spawner sp;
	sp.stop.store(0);
	sp.count.store(0);
	void *spawner = lbrctx_kt_start(spawn_loop, &sp, "lbrctx_spawner");
	KASSERT(test, spawner);
	KEXPECT_EQ(test, lbrctx_store_attach_global(), 0);
	/* Let the spawner fork more after the walk, then stop it. */
	lbrctx_kt_msleep(20);
	sp.stop.store(1);
	lbrctx_kt_stop(spawner);
	int forked = sp.count.load();
	KEXPECT(test, forked > 0);
	Coverage c = coverage();
	KEXPECT_EQ(test, c.missing, 0);
	for (int i = 0; i < forked; i++) {
		TaskData *td = lookup(sp.tasks[i]);
		KEXPECT(test, td && lbrctx_store_has_global(td));
	}
	KEXPECT_EQ(test, lbrctx_store_detach_global(), 0);
	stop_all(sp.tasks, forked);
	stop_all(g_tasks, n);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

namespace {

/* Lives a little while, then returns by itself. */
int short_lived(void *arg) noexcept
{
	lbrctx_kt_msleep(static_cast<u32>(reinterpret_cast<uintptr_t>(arg)));
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_threads_exiting_during_the_walk_leak_nothing)
{
	constexpr int kN = 300;
	u64 base = live_objects_settled();
	int n = 0;
	for (; n < kN; n++) {
		g_tasks[n] = lbrctx_kt_start(short_lived, reinterpret_cast<void *>(uintptr_t(n % 7)),
					     "lbrctx_short");
		if (!g_tasks[n])
			break;
	}
	KEXPECT_EQ(test, lbrctx_store_attach_global(), 0);
	stop_all(g_tasks, n); /* reaps those that exited, stops none that run */
	KEXPECT_EQ(test, coverage().missing, 0);
	KEXPECT_EQ(test, lbrctx_store_detach_global(), 0);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

namespace {

struct DetachCtx {
	void *target;
	Atomic<int> go{0};
	Atomic<int> done{0};
	int ret;
};

int detach_target(void *arg) noexcept
{
	auto *c = static_cast<DetachCtx *>(arg);
	while (!c->go.load() && !lbrctx_kt_should_stop())
		lbrctx_kt_msleep(1);
	c->ret = lbrctx_store_detach(c->target);
	c->done.store(1);
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_rcu_reader_keeps_valid_memory_across_a_concurrent_detach)
{
	u64 base = live_objects_settled();
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_tgt");
	KASSERT(test, target);
	TaskData *td = nullptr;
	KASSERT_EQ(test, lbrctx_store_attach(target, &td), 0);
	td->lbr.lbr.lbr_depth = 32;

	static DetachCtx c;
	c.target = target;
	c.go.store(0);
	c.done.store(0);
	c.ret = 1;
	void *seen_task = nullptr;
	u64 seen_depth = 0;
	bool detached_while_reading = false;
	/* Started before the read section: creating a kthread sleeps. */
	void *detacher = lbrctx_kt_start(detach_target, &c, "lbrctx_detach");
	lbrctx_shim_rcu_read_lock();
	TaskData *reader = lbrctx_store_lookup(target);
	/* The last reference goes on another CPU while we read. */
	c.go.store(1);
	/* No yielding inside the read section: spin for at most 2 s. */
	u64 deadline = lbrctx_shim_ktime_ns() + 2000000000ULL;
	while (detacher && !c.done.load() && lbrctx_shim_ktime_ns() < deadline)
		lbrctx_kt_cpu_relax();
	detached_while_reading = c.done.load();
	if (reader) {
		/* KASAN reports here if the object was freed under the reader. */
		seen_task = __atomic_load_n(&reader->task, __ATOMIC_RELAXED);
		seen_depth = __atomic_load_n(&reader->lbr.lbr.lbr_depth, __ATOMIC_RELAXED);
	}
	lbrctx_shim_rcu_read_unlock();

	KEXPECT(test, reader == td);
	KEXPECT(test, detacher != nullptr);
	KEXPECT(test, detached_while_reading);
	KEXPECT_EQ(test, c.ret, 0);
	KEXPECT(test, seen_task == target);
	KEXPECT_EQ(test, seen_depth, 32);
	KEXPECT(test, lookup(target) == nullptr);
	if (detacher)
		lbrctx_kt_stop(detacher);
	lbrctx_kt_stop(target);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

LBRCTX_KUNIT_CASE(store_exiting_task_frees_its_object_once_references_drop)
{
	u64 base = live_objects_settled();
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_exit");
	KASSERT(test, target);
	TaskData *td = nullptr;
	KASSERT_EQ(test, lbrctx_store_attach(target, &td), 0);
	/*
	 * The task exits while attached. lbrctx_kt_stop() keeps its
	 * task_struct pinned until after the checks, so no new task can reuse
	 * the address as a key.
	 */
	lbrctx_shim_get_task(target);
	lbrctx_kt_stop(target);
	/* The exit probe unhashed it; our reference keeps it alive. */
	KEXPECT(test, lookup(target) == nullptr);
	KEXPECT_EQ(test, lbrctx_store_refcount(td), 1);
	KEXPECT_EQ(test, live_objects_settled(), base + 1);
	KEXPECT_EQ(test, lbrctx_store_detach(target), -LBRCTX_K_ENOENT);
	lbrctx_store_put(td);
	KEXPECT_EQ(test, live_objects_settled(), base);
	/* Attaching a dead task is refused. */
	KEXPECT_EQ(test, lbrctx_store_attach(target, &td), -LBRCTX_K_ESRCH);
	lbrctx_shim_put_task(target);
}

namespace {

struct Reaper {
	void **tasks;
	int n;
	Atomic<int> done{0};
};

int reap_all(void *arg) noexcept
{
	auto *r = static_cast<Reaper *>(arg);
	stop_all(r->tasks, r->n);
	r->done.store(1);
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_exit_racing_a_global_detach_does_not_underflow)
{
	u64 base = live_objects_settled();
	for (int round = 0; round < 10; round++) {
		int n = start_parked(g_tasks, 50, "lbrctx_race");
		KASSERT_EQ(test, lbrctx_store_attach_global(), 0);
		static Reaper r;
		r.tasks = g_tasks;
		r.n = n;
		r.done.store(0);
		/* The threads exit (dropping global references) while we detach. */
		void *reaper = lbrctx_kt_start(reap_all, &r, "lbrctx_reaper");
		KEXPECT_EQ(test, lbrctx_store_detach_global(), 0);
		for (int i = 0; reaper && i < 5000 && !r.done.load(); i++)
			lbrctx_kt_msleep(1);
		/*
		 * A kthread told to stop before it first runs never runs its
		 * function: reap here whatever the reaper did not.
		 */
		if (reaper)
			lbrctx_kt_stop(reaper);
		if (!r.done.load())
			stop_all(g_tasks, n);
	}
	/* An underflow would have been a refcount_t WARN on the console. */
	KEXPECT_EQ(test, live_objects_settled(), base);
}

namespace {

struct HookCtx {
	void *child;
};

/* Runs right after the walk: a thread the walk cannot have seen. */
void fork_after_walk(void *arg)
{
	static_cast<HookCtx *>(arg)->child = lbrctx_kt_start(park, nullptr, "lbrctx_late");
}

} // namespace

LBRCTX_KUNIT_CASE(store_child_linked_after_the_walk_is_not_missed)
{
	u64 base = live_objects_settled();
	static HookCtx h;
	h.child = nullptr;
	lbrctx_store_test_set_walk_hook(fork_after_walk, &h);
	int ret = lbrctx_store_attach_global();
	lbrctx_store_test_set_walk_hook(nullptr, nullptr);
	KASSERT_EQ(test, ret, 0);
	KASSERT(test, h.child);
	TaskData *td = lookup(h.child);
	KEXPECT(test, td && lbrctx_store_has_global(td));
	KEXPECT_EQ(test, lbrctx_store_detach_global(), 0);
	lbrctx_kt_stop(h.child);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

namespace {

struct SetuidCtx {
	TaskData *td;
	int attach_ret;
	int cred_ret;
	u32 uid;
	Atomic<int> ready{0};
};

/* Attach to itself, then change credentials the way a setuid exec does. */
int attach_then_setuid(void *arg) noexcept
{
	auto *c = static_cast<SetuidCtx *>(arg);
	c->attach_ret = lbrctx_store_attach(lbrctx_shim_current(), &c->td);
	c->cred_ret = lbrctx_kt_become_uid(1000);
	c->uid = lbrctx_kt_current_uid();
	c->ready.store(1);
	lbrctx_kt_wait_for_stop();
	if (c->attach_ret == 0)
		lbrctx_store_put(c->td);
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_setuid_credential_change_keeps_the_data_of_a_live_task)
{
	u64 base = live_objects_settled();
	static SetuidCtx c;
	c.td = nullptr;
	c.attach_ret = c.cred_ret = -1;
	c.uid = 0;
	c.ready.store(0);
	void *t = lbrctx_kt_start(attach_then_setuid, &c, "lbrctx_setuid");
	KASSERT(test, t);
	for (int i = 0; i < 5000 && !c.ready.load(); i++)
		lbrctx_kt_msleep(1);
	KEXPECT_EQ(test, c.attach_ret, 0);
	KEXPECT_EQ(test, c.cred_ret, 0);
	KEXPECT_EQ(test, c.uid, 1000);
	TaskData *td = lookup(t);
	KEXPECT(test, td != nullptr && td == c.td);
	if (td)
		KEXPECT_EQ(test, lbrctx_store_refcount(td), 1);
	lbrctx_kt_stop(t);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

LBRCTX_KUNIT_CASE(store_init_failure_after_attach_leaks_nothing)
{
	u64 base = live_objects_settled();
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_tgt");
	KASSERT(test, target);
	/* event_init attaches, then fails later: its error path puts. */
	TaskData *td = nullptr;
	KASSERT_EQ(test, lbrctx_store_attach(target, &td), 0);
	lbrctx_store_put(td);
	KEXPECT(test, lookup(target) == nullptr);
	lbrctx_kt_stop(target);
	KEXPECT_EQ(test, live_objects_settled(), base);
}

LBRCTX_KUNIT_CASE(store_attach_error_paths_leak_no_reference)
{
	u64 base = live_objects_settled();
	void *a = lbrctx_kt_start(park, nullptr, "lbrctx_a");
	void *b = lbrctx_kt_start(park, nullptr, "lbrctx_b");
	KASSERT(test, a && b);
	TaskData *ta = nullptr, *tb = nullptr;
	KASSERT_EQ(test, lbrctx_store_attach(a, &ta), 0);

	/* A failed allocation: -ENOMEM, no object, no reference taken. */
	lbrctx_store_test_fail_allocs(0, 1);
	KEXPECT_EQ(test, lbrctx_store_attach(b, &tb), -LBRCTX_K_ENOMEM);
	KEXPECT(test, lookup(b) == nullptr);
	KEXPECT_EQ(test, lbrctx_store_refcount(ta), 1);
	KEXPECT_EQ(test, live_objects(), base + 1);

	/* A global attach whose allocations fail midway rolls back whole. */
	lbrctx_store_test_fail_allocs(5, 1000000);
	KEXPECT_EQ(test, lbrctx_store_attach_global(), -LBRCTX_K_ENOMEM);
	lbrctx_store_test_fail_allocs(0, 0);
	lbrctx_store_stats s;
	lbrctx_store_get_stats(&s);
	KEXPECT_EQ(test, s.global_users, 0);
	KEXPECT_EQ(test, s.global_attached, 0);
	KEXPECT_EQ(test, lbrctx_store_refcount(ta), 1);
	KEXPECT(test, !lbrctx_store_has_global(ta));
	KEXPECT_EQ(test, live_objects_settled(), base + 1);
	KEXPECT_EQ(test, lbrctx_store_detach(a), 0);
	lbrctx_kt_stop(a);
	lbrctx_kt_stop(b);
	KEXPECT_EQ(test, live_objects_settled(), base);
}
