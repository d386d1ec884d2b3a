// SPDX-License-Identifier: GPL-2.0
/*
 * The per-task store's system-wide users, the fork and exit probes that
 * keep them complete, and the side blocks of further configurations (see
 * include/lbrctx/store.h and module/store.cpp).
 *
 * Global users. The first attach_global() publishes m_global_active under
 * the store lock and only then walks the threads, so a thread forked at any
 * point is seen either by the walk or by the fork probe (which checks the
 * flag under the same lock); global_refs makes the two idempotent.
 */
#include <lbrctx/store.h>

namespace lbrctx {

SideBlock *Store::take_side()
{
	if (!m_spares.ready())
		return nullptr;
	SideBlock *got = nullptr;
	u32 left = 0;
	for (auto &s : m_spares.this_cpu()->spare) {
		if (!got)
			got = __atomic_exchange_n(&s, nullptr, __ATOMIC_ACQ_REL);
		else if (__atomic_load_n(&s, __ATOMIC_ACQUIRE))
			left++;
	}
	if (left < 2)
		lbrctx_shim_refill_kick();
	return got;
}

void Store::want_sides()
{
	if (!m_spares.ready())
		return;
	for (auto &s : m_spares.this_cpu()->spare) {
		if (!__atomic_load_n(&s, __ATOMIC_ACQUIRE)) {
			lbrctx_shim_refill_kick();
			return;
		}
	}
}

void Store::refill_sides()
{
	if (!m_spares.ready())
		return;
	m_spares.for_each([&](SideSpares &sp) {
		for (auto &s : sp.spare) {
			if (__atomic_load_n(&s, __ATOMIC_ACQUIRE))
				continue;
			auto b = m_side_cache.alloc(LBRCTX_GFP_KERNEL);
			if (b.is_error())
				return;
			SideBlock *expected = nullptr;
			/* Owned by the spares until a switch takes it; on a lost race the SlabPtr frees it. */
			if (__atomic_compare_exchange_n(&s, &expected, b.value().get(), false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				(void)b.value().leak();
		}
	});
}

void Store::drop_global_locked(TaskData *td)
{
	if (!td->global_refs)
		return;
	td->global_refs = 0;
	m_global_attached--;
	put_locked(td);
}

/*
 * Store lock held. Give @task's object the global reference; use @spare
 * (a fresh object with one reference) when the task has none. Returns true
 * when @spare was consumed; otherwise its owner frees it.
 */
bool Store::attach_global_locked(k::Task task, SlabPtr<TaskData> *spare)
{
	if (!m_global_active || task.exiting())
		return false;
	if (TaskData *td = lookup(task)) {
		if (!td->global_refs) {
			get_locked(td);
			td->global_refs = 1;
			m_global_attached++;
		}
		return false;
	}
	if (!spare)
		return false;
	TaskData *td = spare->get();
	if (insert_locked(*spare))
		return false;
	td->global_refs = 1;
	m_global_attached++;
	m_attaches.add(1);
	return true;
}

/* Store lock held. Drop the task's own reference, if it has one. */
void Store::drop_task_owned_locked(TaskData *td)
{
	if (!(td->flags & TaskData::kTaskOwned))
		return;
	td->flags &= ~TaskData::kTaskOwned;
	put_locked(td);
}

/* Store lock held. Drop every global reference. */
void Store::drop_all_global_locked()
{
	m_global_active = false;
	for (ListLink *l = m_all.next, *next; l != &m_all; l = next) {
		next = l->next; /* l may be released below */
		drop_global_locked(from_link(l));
	}
}

Result<void> Store::attach_global()
{
	k::Guard<k::Mutex> mutex(m_global_mutex);
	if (m_global_users++)
		return {};
	{
		Locked lock(*this);
		m_global_active = true;
	}
	/*
	 * The walk allocates with GFP_NOWAIT under RCU; when that fails it
	 * pins the task, allocates with GFP_KERNEL outside RCU, and walks
	 * again (threads already covered cost a lookup).
	 */
	for (;;) {
		k::TaskPin pinned;
		auto visit = [&](k::Task t) -> bool {
			{
				Locked lock(*this);
				TaskData *td = lookup(t);
				if (td && td->global_refs)
					return false;
				if (td || t.exiting()) {
					attach_global_locked(t, nullptr);
					return false;
				}
			}
			auto spare = alloc_object(t, LBRCTX_GFP_NOWAIT);
			if (spare.is_error()) {
				pinned = k::TaskPin(t);
				return true;
			}
			Locked lock(*this);
			attach_global_locked(t, &spare.value());
			return false;
		};
		if (!k::Task::for_each_thread(visit))
			break;
		auto spare = alloc_object(pinned.task(), LBRCTX_GFP_KERNEL);
		if (spare.is_error()) {
			pinned.reset();
			Locked lock(*this);
			drop_all_global_locked();
			m_global_users = 0;
			return Error{spare.error()};
		}
		Locked lock(*this);
		attach_global_locked(pinned.task(), &spare.value());
	}
	return {};
}

Result<void> Store::detach_global()
{
	k::Guard<k::Mutex> mutex(m_global_mutex);
	if (!m_global_users)
		return err::inval();
	if (--m_global_users)
		return {};
	Locked lock(*this);
	drop_all_global_locked();
	return {};
}

void Store::on_fork(k::Task child)
{
	if (!__atomic_load_n(&m_global_active, __ATOMIC_RELAXED))
		return;
	auto spare = alloc_object(child, LBRCTX_GFP_NOWAIT);
	if (spare.is_error())
		return; /* counted in alloc_failures; the child runs without data */
	Locked lock(*this);
	attach_global_locked(child, &spare.value());
}

void Store::on_exit(k::Task task)
{
	{
		k::RcuReadGuard rcu;
		if (!lookup(task))
			return;
	}
	Locked lock(*this);
	TaskData *td = lookup(task);
	if (!td)
		return;
	unhash_locked(td);
	drop_global_locked(td);
	drop_task_owned_locked(td);
}

} // namespace lbrctx

using namespace lbrctx;

/*
 * sched_process_fork, in the parent after copy_process(): task context,
 * must not sleep (6.x runs probes with preemption off; 7.x under SRCU).
 * @data is the Store that hooked it.
 */
extern "C" void lbrctx_on_fork(void *data, void *child) noexcept
{
	static_cast<Store *>(data)->on_fork(k::Task(child));
}

/* sched_process_exit, in the exiting task: must not sleep. */
extern "C" void lbrctx_on_exit(void *data, void *task) noexcept
{
	static_cast<Store *>(data)->on_exit(k::Task(task));
}
