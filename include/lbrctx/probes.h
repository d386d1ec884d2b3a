/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LazyProbes<D>: probes that exist only while events need them, the
 * lifecycle the kernel source (module/source.cpp) and the user source
 * (module/usource.cpp) share. The first user registers them (task
 * context, may sleep); the last one schedules their unregistration on a
 * workqueue (an event's destroy may run under perf's context mutex, where
 * unregistering ftrace ops or uprobes is best avoided), which undoes it
 * unless a user came back meanwhile. A user is a Use handle.
 *
 * D provides, with the mutex held: Result<void> register_locked() (may
 * sleep; an error refuses the user) and void unregister_locked().
 */
#pragma once

#include <lbrctx/k/lock.h>
#include <lbrctx/result.h>
#include <lbrctx/use.h>

namespace lbrctx {

template <class D> class LazyProbes : Pinned {
public:
	/* The Use handle's release: the last user schedules the unregistration. */
	void put()
	{
		k::Guard<k::Mutex> m(m_mutex);
		if (!LBRCTX_WARN_ON(!m_users) && !--m_users)
			lbrctx_shim_reap_schedule();
	}

	using User = Use<LazyProbes, &LazyProbes::put>;

	/* A user of the probes: the first registers them. Task context, may sleep. */
	Result<User> get()
	{
		k::Guard<k::Mutex> m(m_mutex);
		if (!m_users)
			TRY(self().register_locked());
		m_users++;
		return User::adopt(*this);
	}

	/* Workqueue: the last user went; unregister unless one came back. */
	void reap()
	{
		k::Guard<k::Mutex> m(m_mutex);
		if (!m_users)
			self().unregister_locked();
	}

	u32 users()
	{
		k::Guard<k::Mutex> m(m_mutex);
		return m_users;
	}

protected:
	constexpr LazyProbes() = default;
	void init_lock(const char *name) { m_mutex.init(name, m_mutex_class); }

	k::Mutex m_mutex;
	k::LockClass m_mutex_class{};
	u32 m_users = 0;

private:
	D &self() { return static_cast<D &>(*this); }
};

} // namespace lbrctx
