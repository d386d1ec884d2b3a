// SPDX-License-Identifier: GPL-2.0
/*
 * The per-task store (see include/lbrctx/store.h).
 *
 * References. An object's refcount is its per-task references plus its
 * global_refs (0 or 1) plus one while the task owns it (kTaskOwned).
 * Every transition to zero happens under the store lock, together with the
 * removal from the hash table and the object list, so a lookup under the
 * lock can always take a reference.
 *
 * Exit. sched_process_exit unhashes the task's object, so a later task
 * that reuses the task_struct address never finds it, and drops the global
 * and the task's own references. Other references stay with their holders;
 * the object is freed, after an RCU grace period, on the last put.
 * attach() refuses exiting tasks under the store lock: PF_EXITING is set
 * before the exit tracepoint fires, so no object is hashed after its
 * task's exit probe ran.
 *
 * System-wide users, the fork and exit probes and the side blocks are in
 * module/store_global.cpp.
 */
#include <lbrctx/store.h>

namespace lbrctx {

namespace {

constexpr k::TracepointHook kTaskHooks[] = {
	{"sched_process_fork", LBRCTX_TP_FORK},
	{"sched_process_exit", LBRCTX_TP_EXIT},
};

} // namespace

Result<void> Store::init(const char *cache_name, const char *side_name)
{
	m_all = {&m_all, &m_all};
	m_lock.init("lbrctx_store_lock", m_lock_class);
	m_global_mutex.init("lbrctx_store_global_mutex", m_global_mutex_class);
	m_fail.init();
	TRY(m_cache.create(cache_name));
	Result<void> r;
	if (side_name) {
		r = m_side_cache.create(side_name);
		if (!r.is_error())
			r = m_spares.init();
	}
	if (!r.is_error())
		r = m_recent.init();
	if (!r.is_error())
		r = m_hash.init();
	if (!r.is_error())
		r = m_tracepoints.attach(kTaskHooks, this);
	if (r.is_error()) {
		m_hash.destroy();
		m_recent.destroy();
		m_spares.destroy();
		(void)m_side_cache.destroy();
		(void)m_cache.destroy();
		return r;
	}
	m_ready = true;
	return {};
}

void Store::shutdown()
{
	if (!m_ready)
		return;
	m_tracepoints.detach();
	lbrctx_shim_tracepoint_synchronize();
	{
		Locked lock(*this);
		drop_all_global_locked();
		/* Tasks that outlive the store give their data back now. */
		for (ListLink *l = m_all.next, *next; l != &m_all; l = next) {
			next = l->next;
			drop_task_owned_locked(from_link(l));
		}
		LBRCTX_WARN_ON(m_all.next != &m_all);
	}
	m_global_users = 0;
	k::rcu_barrier();
	if (m_all.next != &m_all)
		return; /* leaked references: keep the cache rather than free live objects */
	if (m_spares.ready()) {
		lbrctx_shim_refill_cancel();
		m_spares.for_each([&](SideSpares &sp) {
			for (auto &s : sp.spare)
				m_side_cache.free(exchange(s, nullptr));
		});
		m_spares.destroy();
	}
	m_hash.destroy();
	m_recent.destroy();
	(void)m_side_cache.destroy();
	(void)m_cache.destroy();
	m_ready = false;
}

/*
 * A fresh object for @task with one reference, owned by the SlabPtr until
 * insert_locked() publishes it. Context as @gfp allows.
 */
Result<SlabPtr<TaskData>> Store::alloc_object(k::Task task, lbrctx_gfp gfp)
{
	if (m_fail.should_fail(sizeof(TaskData))) {
		m_injected.add(1);
		return err::nomem();
	}
	/* The cache zeroes the object: the payload starts as reset LBR state. */
	auto td = TRY(m_cache.alloc(gfp));
	td->refs.set(1);
	td->store = this;
	td->node.key = task.raw();
	return td;
}

/*
 * Store lock held. Publish a fresh object: from here the store owns it,
 * and it is freed by release_locked() on its last put.
 */
int Store::insert_locked(SlabPtr<TaskData> &fresh)
{
	TaskData *td = fresh.get();
	if (int ret = m_hash.insert(td->node))
		return ret;
	(void)fresh.leak(); /* owned by the store now */
	td->flags |= TaskData::kHashed;
	td->link.next = m_all.next;
	td->link.prev = &m_all;
	m_all.next->prev = &td->link;
	m_all.next = &td->link;
	return 0;
}

void Store::unhash_locked(TaskData *td)
{
	if (!(td->flags & TaskData::kHashed))
		return;
	LBRCTX_WARN_ON(m_hash.remove(td->node));
	__atomic_store_n(&td->flags, static_cast<u8>(td->flags & ~TaskData::kHashed),
			 __ATOMIC_RELAXED);
	/* Pairs with the fence in lookup_here(): see m_recent. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	m_recent.for_each([&](Recent &r) {
		for (auto &slot : r.td) {
			TaskData *expected = td;
			__atomic_compare_exchange_n(&slot, &expected, nullptr, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
	});
}

/* Store lock held; the refcount just reached zero. Free after a grace period. */
void Store::release_locked(TaskData *td)
{
	unhash_locked(td);
	td->link.prev->next = td->link.next;
	td->link.next->prev = td->link.prev;
	/* The link is dead from here; its room becomes the rcu head. */
	td->rcu.call(free_rcu);
}

/* RCU callback (softirq): the grace period after the last put has passed. */
void Store::free_rcu(lbrctx_rcu *r) noexcept
{
	TaskData *td = lbrctx_container_of(k::RcuHead::from(r), TaskData, rcu);
	if (td->side)
		td->store->m_side_cache.free(td->side);
	td->store->m_cache.free(td);
}

/* Store lock held. Drop one reference; the last one releases. */
void Store::put_locked(TaskData *td)
{
	if (td->refs.dec_and_test())
		release_locked(td);
	m_detaches.add(1);
}

/* Store lock held. Take a reference on a hashed object. */
void Store::get_locked(TaskData *td)
{
	/* Hashed objects never have a zero count (see the top of this file). */
	LBRCTX_WARN_ON(!td->refs.inc_not_zero());
	m_attaches.add(1);
}

void Store::put(TaskData *td)
{
	if (td->refs.dec_and_lock(m_lock)) {
		Locked lock(*this, k::AdoptLock{});
		release_locked(td);
	}
	m_detaches.add(1);
}

TaskData *Store::lookup(k::Task task)
{
	return from_node(m_hash.lookup(task.raw()));
}

TaskData *Store::lookup_here(k::Task task)
{
	if (!m_recent.ready())
		return lookup(task);
	Recent &r = *m_recent.this_cpu();
	for (u32 i = 0; i < kRecent; i++) {
		if (r.key[i] != task.raw())
			continue;
		/* Only unhash_locked() changes td[i] under us: to null. */
		TaskData *td = __atomic_load_n(&r.td[i], __ATOMIC_RELAXED);
		if (td && td->node.key == task.raw())
			return td;
	}
	TaskData *td = lookup(task);
	if (!td)
		return nullptr;
	u32 i = r.next++ % kRecent;
	__atomic_store_n(&r.td[i], nullptr, __ATOMIC_RELAXED);
	r.key[i] = task.raw();
	__atomic_store_n(&r.td[i], td, __ATOMIC_RELAXED);
	/* Pairs with the fence in unhash_locked(): see m_recent. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&td->flags, __ATOMIC_RELAXED) & TaskData::kHashed)) {
		TaskData *expected = td;
		__atomic_compare_exchange_n(&r.td[i], &expected, nullptr, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
	return td;
}

/* Store lock held. Drop the global reference, if the object has one. */
Result<TaskRef> Store::attach(k::Task task)
{
	if (task.exiting())
		return err::srch();
	{
		Locked lock(*this);
		if (TaskData *td = lookup(task)) {
			get_locked(td);
			return TaskRef::adopt(td); /* the reference get_locked() took */
		}
	}
	auto fresh = TRY(alloc_object(task, LBRCTX_GFP_KERNEL));
	Locked lock(*this);
	if (task.exiting())
		return err::srch(); /* the fresh object is freed on return */
	if (TaskData *winner = lookup(task)) {
		/* Lost the race: one object, one more reference. */
		get_locked(winner);
		return TaskRef::adopt(winner);
	}
	TaskData *td = fresh.get();
	if (int ret = insert_locked(fresh))
		return Error{ret};
	m_attaches.add(1);
	return TaskRef::adopt(td); /* its first reference */
}

void Store::give_to_task(TaskRef ref)
{
	TaskData *td = ref.get();
	Locked lock(*this);
	if ((td->flags & TaskData::kTaskOwned) || !(td->flags & TaskData::kHashed))
		return; /* @ref is put when the lock is dropped */
	td->flags |= TaskData::kTaskOwned;
	/* The reference is the task's now: drop_task_owned_locked() puts it. */
	(void)ref.leak();
}

Store::Stats Store::stats()
{
	Stats s{};
	s.objects = static_cast<u64>(m_cache.live());
	s.allocs = m_cache.allocs();
	s.alloc_failures = m_cache.alloc_failures() + m_injected.load();
	s.attaches = m_attaches.load();
	s.detaches = m_detaches.load();
	s.object_size = m_cache.object_size();
	s.table_bytes = m_hash.table_bytes();
	{
		k::Guard<k::Mutex> mutex(m_global_mutex);
		s.global_users = m_global_users;
	}
	Locked lock(*this);
	s.global_attached = m_global_attached;
	return s;
}

} // namespace lbrctx
