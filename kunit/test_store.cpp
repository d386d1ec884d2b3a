// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_store: the per-task store of seeds 000-004, one property a case.
 * Each case runs on a Store of its own (the class is compiled into this
 * module, kunit/store_impl.cpp), with its own cache and its own fork and
 * exit hooks, and shuts it down at the end: shutdown destroys the cache,
 * which must find zero objects, and SLUB reports any it does find.
 */
#include <lbrctx/atomic.h>
#include <lbrctx/store.h>

#include "ktest.h"

using namespace lbrctx;
using lbrctx::test::all_zero;
using lbrctx::test::park;

namespace {

/* Static storage: the store's lockdep classes are members. */
constinit Store g_store;

/* One case's store: initialized for the case, shut down after it. */
class Fixture : Pinned {
public:
	explicit Fixture(struct kunit *t) : m_test(t)
	{
		m_init = g_store.init("lbrctx_kunit_task_data").error();
	}
	~Fixture()
	{
		lbrctx_kt_fault_set(g_store.fault().raw(), 0, 1, 1, 0);
		g_store.shutdown();
	}
	bool ready() const { return KEXPECT_EQ(m_test, m_init, 0); }
	Store &store() { return g_store; }
	/* Objects are freed after a grace period: wait for the callbacks. */
	u64 live()
	{
		k::rcu_barrier();
		return g_store.stats().objects;
	}

private:
	struct kunit *m_test;
	int m_init;
};

TaskData *lookup(k::Task task)
{
	k::RcuReadGuard rcu;
	return g_store.lookup(task);
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

Coverage coverage()
{
	Coverage c{};
	auto count = [&](k::Task t) {
		c.threads++;
		TaskData *td = g_store.lookup(t); /* under the walk's RCU */
		if (!td || !td->has_global()) {
			if (t.exiting())
				c.exiting++;
			else
				c.missing++;
		}
		return false;
	};
	k::Task::for_each_thread(count);
	return c;
}

/* Storage for thread-heavy cases, too large for a kthread stack. */
constexpr int kManyThreads = 1000;
constinit void *g_tasks[kManyThreads];

} // namespace

LBRCTX_KUNIT_CASE(store_object_is_one_aligned_zeroed_cache_object)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	k::Task self = k::Task::current();
	auto r = f.store().attach(self);
	KASSERT(test, !r.is_error());
	TaskRef ref = r.release_value();
	TaskData *td = ref.get();
	KEXPECT_EQ(test, f.store().stats().allocs, 1); /* exactly one allocation per task */
	KEXPECT_EQ(test, reinterpret_cast<uintptr_t>(td) % 64, 0);
	KEXPECT_EQ(test, reinterpret_cast<uintptr_t>(&td->lbr) % 64, 0);
	KEXPECT(test, all_zero(&td->lbr, sizeof(td->lbr)));
	KEXPECT_EQ(test, sizeof(TaskData),
		   round_up<size_t>(kTaskHeaderSize + sizeof(xsave::LbrArea), 64));
	KEXPECT_EQ(test, f.store().stats().object_size, sizeof(TaskData));
	KEXPECT(test, td->task() == self);
	/* A second attach of the same task allocates nothing. */
	auto again = f.store().attach(self);
	KASSERT(test, !again.is_error());
	KEXPECT(test, again.value().get() == td);
	KEXPECT_EQ(test, f.store().stats().allocs, 1);
}

LBRCTX_KUNIT_CASE(store_references_move_the_refcount_exactly)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	k::Task self = k::Task::current();
	TaskRef refs[3];
	for (u32 i = 0; i < 3; i++) {
		auto r = f.store().attach(self);
		KASSERT(test, !r.is_error());
		refs[i] = r.release_value();
		KEXPECT_EQ(test, refs[i]->refs.read(), i + 1);
	}
	TaskData *td = refs[0].get();
	/* Moving a reference does not touch the count; resetting puts it once. */
	TaskRef moved = move(refs[2]);
	KEXPECT(test, !refs[2]);
	KEXPECT_EQ(test, td->refs.read(), 3);
	moved.reset();
	moved.reset();
	KEXPECT_EQ(test, td->refs.read(), 2);
	refs[1].reset();
	KEXPECT_EQ(test, td->refs.read(), 1);
	KEXPECT(test, lookup(self) == td);
	refs[0].reset();
	KEXPECT(test, lookup(self) == nullptr); /* unhashed on the last put */
	KEXPECT_EQ(test, f.live(), 0);
}

LBRCTX_KUNIT_CASE(store_last_put_unhashes_and_frees_after_a_grace_period)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_tgt");
	KASSERT(test, target);
	{
		auto r = f.store().attach(k::Task(target));
		KASSERT(test, !r.is_error());
		KEXPECT(test, lookup(k::Task(target)) == r.value().get());
		KEXPECT_EQ(test, f.live(), 1);
	}
	/* The Result's reference was put on scope exit: gone from the table at once. */
	KEXPECT(test, lookup(k::Task(target)) == nullptr);
	KEXPECT_EQ(test, f.live(), 0);
	lbrctx_kt_stop(target);
}

namespace {

struct RaceCtx {
	void *target;
	Atomic<int> go{0};
	Atomic<int> done{0};
	Atomic<int> next{0};
	/* Each attacher's reference, handed to the test (statics hold no RefPtr: no destructors). */
	TaskData *got[8];
	int ret[8];
};
constinit RaceCtx g_race{};

int race_attach(void *) noexcept
{
	RaceCtx &c = g_race;
	int me = c.next.add(1) - 1;
	/* Yield while waiting: without preemption a spinner starves the starter. */
	while (!c.go.load())
		lbrctx_kt_yield();
	auto r = g_store.attach(k::Task(c.target));
	c.ret[me] = r.error();
	c.got[me] = r.is_error() ? nullptr : r.release_value().leak();
	c.done.add(1);
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_concurrent_attachers_get_one_object_with_n_references)
{
	constexpr int kN = 8;
	Fixture f(test);
	KASSERT(test, f.ready());
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_tgt");
	KASSERT(test, target);
	RaceCtx &c = g_race;
	c.target = target;
	c.go.store(0);
	c.done.store(0);
	c.next.store(0);
	void *threads[kN] = {};
	for (auto &t : threads)
		t = lbrctx_kt_start(race_attach, nullptr, "lbrctx_race");
	c.go.store(1);
	for (int spins = 0; c.done.load() < kN && spins < 5000; spins++)
		lbrctx_kt_msleep(1);
	KEXPECT_EQ(test, c.done.load(), kN);
	for (int i = 0; i < kN; i++) {
		KEXPECT_EQ(test, c.ret[i], 0);
		KEXPECT(test, c.got[i] == c.got[0]);
	}
	/* Racing attachers may both allocate; the loser frees its copy. */
	KEXPECT(test, f.store().stats().allocs >= 1);
	KEXPECT_EQ(test, f.live(), 1);
	if (c.got[0])
		KEXPECT_EQ(test, c.got[0]->refs.read(), kN);
	for (auto &td : c.got)
		if (td)
			TaskRef::adopt(exchange(td, nullptr))
				.reset(); /* the attachers' references */
	stop_all(threads, kN);
	lbrctx_kt_stop(target);
	KEXPECT_EQ(test, f.live(), 0);
}

LBRCTX_KUNIT_CASE(store_global_attach_covers_1000_threads)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	int n = start_parked(g_tasks, kManyThreads, "lbrctx_many");
	KEXPECT_EQ(test, n, kManyThreads);
	KASSERT(test, !f.store().attach_global().is_error());
	Coverage c = coverage();
	KEXPECT(test, c.threads >= kManyThreads);
	KEXPECT_EQ(test, c.missing, 0);
	for (int i = 0; i < n; i++) {
		TaskData *td = lookup(k::Task(g_tasks[i]));
		KEXPECT(test, td && td->has_global());
	}
	Store::Stats s = f.store().stats();
	KEXPECT_EQ(test, s.global_users, 1);
	KEXPECT_EQ(test, s.global_attached + c.exiting, c.threads);
	KEXPECT_EQ(test, f.store().detach_global().error(), 0);
	KEXPECT_EQ(test, f.store().detach_global().error(), -LBRCTX_K_EINVAL);
	stop_all(g_tasks, n);
	KEXPECT_EQ(test, f.live(), 0);
}

namespace {

struct Spawner {
	Atomic<int> stop{0};
	Atomic<int> count{0};
	void *tasks[200];
};
constinit Spawner g_spawner{};

/* Forks kthreads for as long as it is told to, up to 200. */
int spawn_loop(void *) noexcept
{
	Spawner &sp = g_spawner;
	while (!sp.stop.load() && sp.count.load() < 200) {
		void *t = lbrctx_kt_start(park, nullptr, "lbrctx_fork");
		if (!t)
			break;
		sp.tasks[sp.count.load()] = t;
		sp.count.add(1);
	}
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_global_attach_covers_threads_forked_during_the_walk)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	int n = start_parked(g_tasks, 300, "lbrctx_many");
	Spawner &sp = g_spawner;
	sp.stop.store(0);
	sp.count.store(0);
	void *spawner = lbrctx_kt_start(spawn_loop, nullptr, "lbrctx_spawner");
	KASSERT(test, spawner);
	KEXPECT_EQ(test, f.store().attach_global().error(), 0);
	/* Let the spawner fork more after the walk, then stop it. */
	lbrctx_kt_msleep(20);
	sp.stop.store(1);
	lbrctx_kt_stop(spawner);
	int forked = sp.count.load();
	KEXPECT(test, forked > 0);
	KEXPECT_EQ(test, coverage().missing, 0);
	for (int i = 0; i < forked; i++) {
		TaskData *td = lookup(k::Task(sp.tasks[i]));
		KEXPECT(test, td && td->has_global());
	}
	KEXPECT_EQ(test, f.store().detach_global().error(), 0);
	stop_all(sp.tasks, forked);
	stop_all(g_tasks, n);
	KEXPECT_EQ(test, f.live(), 0);
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
	Fixture f(test);
	KASSERT(test, f.ready());
	int n = 0;
	for (; n < kN; n++) {
		g_tasks[n] = lbrctx_kt_start(
			short_lived, reinterpret_cast<void *>(uintptr_t(n % 7)), "lbrctx_short");
		if (!g_tasks[n])
			break;
	}
	KEXPECT_EQ(test, f.store().attach_global().error(), 0);
	stop_all(g_tasks, n); /* reaps those that exited, stops none that run */
	KEXPECT_EQ(test, coverage().missing, 0);
	KEXPECT_EQ(test, f.store().detach_global().error(), 0);
	KEXPECT_EQ(test, f.live(), 0);
}

namespace {

struct PutCtx {
	TaskData *ref; /* a reference, put by the putter */
	Atomic<int> go{0};
	Atomic<int> done{0};
};
constinit PutCtx g_put{};

int put_when_told(void *) noexcept
{
	PutCtx &c = g_put;
	while (!c.go.load() && !lbrctx_kt_should_stop())
		lbrctx_kt_msleep(1);
	if (c.ref)
		TaskRef::adopt(exchange(c.ref, nullptr)).reset();
	c.done.store(1);
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_rcu_reader_keeps_valid_memory_across_a_concurrent_put)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_tgt");
	KASSERT(test, target);
	PutCtx &c = g_put;
	auto r = f.store().attach(k::Task(target));
	KASSERT(test, !r.is_error());
	TaskData *td = r.release_value().leak(); /* the putter's to put */
	c.ref = td;
	td->lbr.lbr.lbr_depth = 32;
	c.go.store(0);
	c.done.store(0);
	void *seen_task = nullptr;
	u64 seen_depth = 0;
	bool put_while_reading;
	/* Started before the read section: creating a kthread sleeps. */
	void *putter = lbrctx_kt_start(put_when_told, nullptr, "lbrctx_put");
	TaskData *reader;
	{
		k::RcuReadGuard rcu;
		reader = f.store().lookup(k::Task(target));
		/* The last reference goes on another CPU while we read. */
		c.go.store(1);
		/* No yielding inside the read section: spin for at most 2 s. */
		u64 deadline = lbrctx_kt_ktime_ns() + 2000000000ULL;
		while (putter && !c.done.load() && lbrctx_kt_ktime_ns() < deadline)
			lbrctx_kt_cpu_relax();
		put_while_reading = c.done.load();
		if (reader) {
			/* KASAN reports here if the object was freed under the reader. */
			seen_task = const_cast<void *>(
				__atomic_load_n(&reader->node.key, __ATOMIC_RELAXED));
			seen_depth = __atomic_load_n(&reader->lbr.lbr.lbr_depth, __ATOMIC_RELAXED);
		}
	}
	KEXPECT(test, reader == td);
	KEXPECT(test, putter != nullptr);
	KEXPECT(test, put_while_reading);
	KEXPECT(test, seen_task == target);
	KEXPECT_EQ(test, seen_depth, 32);
	KEXPECT(test, lookup(k::Task(target)) == nullptr);
	if (putter)
		lbrctx_kt_stop(putter);
	if (c.ref)
		TaskRef::adopt(exchange(c.ref, nullptr)).reset(); /* the putter never ran */
	lbrctx_kt_stop(target);
	KEXPECT_EQ(test, f.live(), 0);
}

LBRCTX_KUNIT_CASE(store_exiting_task_frees_its_object_once_references_drop)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_exit");
	KASSERT(test, target);
	auto r = f.store().attach(k::Task(target));
	KASSERT(test, !r.is_error());
	TaskRef ref = r.release_value();
	/*
	 * The task exits while attached. lbrctx_kt_stop() keeps its
	 * task_struct pinned until after the checks, so no new task can reuse
	 * the address as a key.
	 */
	k::TaskPin pin(k::Task{target});
	lbrctx_kt_stop(target);
	/* The exit probe unhashed it; our reference keeps it alive. */
	KEXPECT(test, lookup(k::Task(target)) == nullptr);
	KEXPECT_EQ(test, ref->refs.read(), 1);
	KEXPECT_EQ(test, f.live(), 1);
	ref.reset();
	KEXPECT_EQ(test, f.live(), 0);
	/* Attaching a dead task is refused. */
	KEXPECT_EQ(test, f.store().attach(k::Task(target)).error(), -LBRCTX_K_ESRCH);
}

/*
 * The switch path's per-CPU cache (Store::lookup_here()): a hit is the
 * hashed object, and the unhash at exit clears every CPU's entry, so a
 * task's cached object is not found once the task exited, even while a
 * reference keeps the object alive.
 */
LBRCTX_KUNIT_CASE(store_switch_lookup_cache_forgets_an_unhashed_object)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_recent");
	KASSERT(test, target);
	auto r = f.store().attach(k::Task(target));
	KASSERT(test, !r.is_error());
	TaskRef ref = r.release_value();
	k::TaskPin pin(k::Task{target});
	void *other = lbrctx_shim_current();
	{
		k::IrqSave irqs;
		KEXPECT(test, f.store().lookup_here(k::Task(target)) == ref.get());
		KEXPECT(test, f.store().lookup_here(k::Task(target)) == ref.get());
		KEXPECT(test, f.store().lookup_here(k::Task(other)) == nullptr);
	}
	lbrctx_kt_stop(target);
	{
		k::IrqSave irqs;
		KEXPECT(test, f.store().lookup_here(k::Task(target)) == nullptr);
	}
	KEXPECT_EQ(test, ref->refs.read(), 1);
	ref.reset();
	KEXPECT_EQ(test, f.live(), 0);
}

namespace {

struct Reaper {
	void **tasks;
	int n;
	Atomic<int> done{0};
};
constinit Reaper g_reaper{};

int reap_all(void *) noexcept
{
	Reaper &r = g_reaper;
	stop_all(r.tasks, r.n);
	r.done.store(1);
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_exit_racing_a_global_detach_does_not_underflow)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	for (int round = 0; round < 10; round++) {
		int n = start_parked(g_tasks, 50, "lbrctx_race");
		KASSERT_EQ(test, f.store().attach_global().error(), 0);
		Reaper &r = g_reaper;
		r.tasks = g_tasks;
		r.n = n;
		r.done.store(0);
		/* The threads exit (dropping global references) while we detach. */
		void *reaper = lbrctx_kt_start(reap_all, nullptr, "lbrctx_reaper");
		KEXPECT_EQ(test, f.store().detach_global().error(), 0);
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
	KEXPECT_EQ(test, f.live(), 0);
}

/*
 * A thread forked once the first global attach has walked every thread:
 * the walk cannot have seen it, and the fork probe must give it data.
 */
LBRCTX_KUNIT_CASE(store_child_linked_after_the_walk_is_not_missed)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	KASSERT_EQ(test, f.store().attach_global().error(), 0);
	void *child = lbrctx_kt_start(park, nullptr, "lbrctx_late");
	KASSERT(test, child);
	TaskData *td = lookup(k::Task(child));
	KEXPECT(test, td && td->has_global());
	KEXPECT_EQ(test, f.store().detach_global().error(), 0);
	lbrctx_kt_stop(child);
	KEXPECT_EQ(test, f.live(), 0);
}

namespace {

struct SetuidCtx {
	TaskData *ref; /* the kthread's own reference */
	int attach_ret;
	int cred_ret;
	u32 uid;
	Atomic<int> ready{0};
};
constinit SetuidCtx g_setuid{};

/* Attach to itself, then change credentials the way a setuid exec does. */
int attach_then_setuid(void *) noexcept
{
	SetuidCtx &c = g_setuid;
	auto r = g_store.attach(k::Task::current());
	c.attach_ret = r.error();
	c.ref = r.is_error() ? nullptr : r.release_value().leak();
	c.cred_ret = lbrctx_kt_become_uid(1000);
	c.uid = lbrctx_kt_current_uid();
	c.ready.store(1);
	lbrctx_kt_wait_for_stop();
	if (c.ref)
		TaskRef::adopt(exchange(c.ref, nullptr)).reset();
	return 0;
}

} // namespace

LBRCTX_KUNIT_CASE(store_setuid_credential_change_keeps_the_data_of_a_live_task)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	SetuidCtx &c = g_setuid;
	c.attach_ret = c.cred_ret = -1;
	c.uid = 0;
	c.ready.store(0);
	void *t = lbrctx_kt_start(attach_then_setuid, nullptr, "lbrctx_setuid");
	KASSERT(test, t);
	for (int i = 0; i < 5000 && !c.ready.load(); i++)
		lbrctx_kt_msleep(1);
	KEXPECT_EQ(test, c.attach_ret, 0);
	KEXPECT_EQ(test, c.cred_ret, 0);
	KEXPECT_EQ(test, c.uid, 1000);
	TaskData *td = lookup(k::Task(t));
	KEXPECT(test, td != nullptr && td == c.ref);
	if (td)
		KEXPECT_EQ(test, td->refs.read(), 1);
	lbrctx_kt_stop(t);
	KEXPECT_EQ(test, f.live(), 0);
}

LBRCTX_KUNIT_CASE(store_task_owned_reference_is_dropped_at_exit)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_owner");
	KASSERT(test, target);
	k::Task t(target);
	for (int i = 0; i < 2; i++) {
		auto r = f.store().attach(t);
		KASSERT(test, !r.is_error());
		/* The first becomes the task's own; the second is dropped: one either way. */
		f.store().give_to_task(r.release_value());
		KEXPECT_EQ(test, lookup(t)->refs.read(), 1);
	}
	KEXPECT_EQ(test, f.live(), 1);
	lbrctx_kt_stop(target);
	KEXPECT(test, lookup(t) == nullptr);
	KEXPECT_EQ(test, f.live(), 0);
}

LBRCTX_KUNIT_CASE(store_shutdown_takes_back_what_tasks_still_own)
{
	void *target = lbrctx_kt_start(park, nullptr, "lbrctx_owner");
	KASSERT(test, target);
	{
		Fixture f(test);
		KASSERT(test, f.ready());
		auto r = f.store().attach(k::Task(target));
		KASSERT(test, !r.is_error());
		f.store().give_to_task(r.release_value());
		KEXPECT_EQ(test, f.live(), 1);
		/* The fixture's shutdown drops the task's reference and destroys the cache. */
	}
	KEXPECT_EQ(test, g_store.stats().objects, 0);
	KEXPECT_EQ(test, g_store.init("lbrctx_kunit_task_data").error(), 0);
	g_store.shutdown();
	lbrctx_kt_stop(target);
}

LBRCTX_KUNIT_CASE(store_attach_error_paths_leak_no_reference)
{
	Fixture f(test);
	KASSERT(test, f.ready());
	if (!lbrctx_kt_fault_injection()) {
		lbrctx_kunit_info(test,
				  "no CONFIG_FAULT_INJECTION: allocation failures not injected");
		return;
	}
	void *a = lbrctx_kt_start(park, nullptr, "lbrctx_a");
	void *b = lbrctx_kt_start(park, nullptr, "lbrctx_b");
	KASSERT(test, a && b);
	auto ra = f.store().attach(k::Task(a));
	KASSERT(test, !ra.is_error());
	TaskRef ta = ra.release_value();
	void *attr = f.store().fault().raw();

	/* A failed allocation: -ENOMEM, no object, no reference taken. */
	lbrctx_kt_fault_set(attr, 100, 1, 1, 0);
	KEXPECT_EQ(test, f.store().attach(k::Task(b)).error(), -LBRCTX_K_ENOMEM);
	KEXPECT(test, lookup(k::Task(b)) == nullptr);
	KEXPECT_EQ(test, ta->refs.read(), 1);
	KEXPECT_EQ(test, f.live(), 1);

	/* A global attach whose allocations fail after five rolls back whole. */
	lbrctx_kt_fault_set(attr, 100, 1, -1, 5 * sizeof(TaskData) + 1);
	KEXPECT_EQ(test, f.store().attach_global().error(), -LBRCTX_K_ENOMEM);
	lbrctx_kt_fault_set(attr, 0, 1, 1, 0);
	Store::Stats s = f.store().stats();
	KEXPECT_EQ(test, s.global_users, 0);
	KEXPECT_EQ(test, s.global_attached, 0);
	KEXPECT(test, s.alloc_failures >= 2);
	KEXPECT(test, s.allocs >= 6); /* the five that succeeded were taken back */
	KEXPECT_EQ(test, ta->refs.read(), 1);
	KEXPECT(test, !ta->has_global());
	KEXPECT_EQ(test, f.live(), 1);
	ta.reset();
	lbrctx_kt_stop(a);
	lbrctx_kt_stop(b);
	KEXPECT_EQ(test, f.live(), 0);
}
