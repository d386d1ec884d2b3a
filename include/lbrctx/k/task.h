/* SPDX-License-Identifier: GPL-2.0 */
/* A task_struct, as C++ sees it: an opaque handle. */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx::k {

class Task {
public:
	constexpr Task() = default;
	constexpr explicit Task(void *t) : m_task(t) {}
	static Task current() { return Task(lbrctx_shim_current()); }

	void *raw() const { return m_task; }
	explicit operator bool() const { return m_task != nullptr; }
	bool operator==(const Task &o) const { return m_task == o.m_task; }
	/* PF_EXITING: set by do_exit() before the sched_process_exit tracepoint. */
	bool exiting() const { return lbrctx_shim_task_exiting(m_task); }
	bool is_idle() const { return lbrctx_shim_task_is_idle(m_task); }

	/*
	 * Call @f(Task) for every thread under rcu_read_lock(): @f must not
	 * sleep; it returns true to stop the walk. Returns whether it stopped.
	 */
	template <class F> static bool for_each_thread(F &f)
	{
		auto tramp = [](void *t, void *ctx) noexcept -> int {
			return (*static_cast<F *>(ctx))(Task(t)) ? 1 : 0;
		};
		return lbrctx_shim_for_each_thread(tramp, &f) != 0;
	}

private:
	void *m_task = nullptr;
};

/*
 * A pinned task_struct (get_task_struct() .. put_task_struct()): the task
 * may exit, its struct stays. Owning: moved, never copied; released when
 * it goes.
 */
class [[nodiscard]] TaskPin {
public:
	constexpr TaskPin() = default;
	explicit TaskPin(Task t) : m_task(t)
	{
		if (m_task)
			lbrctx_shim_get_task(m_task.raw());
	}
	TaskPin(TaskPin &&o) : m_task(exchange(o.m_task, Task())) {}
	TaskPin &operator=(TaskPin &&o)
	{
		if (this != &o) {
			reset();
			m_task = exchange(o.m_task, Task());
		}
		return *this;
	}
	TaskPin(const TaskPin &) = delete;
	TaskPin &operator=(const TaskPin &) = delete;
	~TaskPin() { reset(); }

	Task task() const { return m_task; }
	void reset()
	{
		if (Task t = exchange(m_task, Task()))
			lbrctx_shim_put_task(t.raw());
	}

private:
	Task m_task;
};

} // namespace lbrctx::k
