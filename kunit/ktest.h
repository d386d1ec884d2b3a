/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KUnit from C++. The suites and their case tables are C (kunit/suites.c),
 * because <kunit/test.h> is a kernel header; each case body is a C++
 * function that reports through these checks. A failed check marks the case
 * failed with the file, line and expression; ASSERT forms also return.
 */
#pragma once

#include <lbrctx/base.h>

#include <lbrctx/kunit_api.h>

#include "cases.h"
#include "khelpers.h"

namespace lbrctx::test {

inline bool check(struct kunit *t, bool ok, const char *what, const char *file, int line)
{
	if (!ok)
		lbrctx_kunit_fail(t, file, line, what);
	return ok;
}

inline bool check_eq(struct kunit *t, long long a, long long b, const char *sa, const char *sb,
		     const char *file, int line)
{
	if (a != b)
		lbrctx_kunit_fail_eq(t, file, line, sa, sb, a, b);
	return a == b;
}

inline bool all_zero(const void *p, size_t n)
{
	const u8 *b = static_cast<const u8 *>(p);
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A kernel FPU section (kernel_fpu_begin/end): task context, preemption off, no sleeping. */
class [[nodiscard]] FpuSection : Pinned {
public:
	FpuSection() { lbrctx_kt_fpu_begin(); }
	~FpuSection() { lbrctx_kt_fpu_end(); }
};

/*
 * Path lookups in init's root for a scope: 7.x runs kthreads (the KUnit
 * case's too) in nullfs, where every lookup fails; earlier kernels share
 * init's fs_struct already.
 */
class [[nodiscard]] InitFs : Pinned {
public:
	InitFs() : m_old(lbrctx_kt_init_fs_begin()) {}
	~InitFs() { lbrctx_kt_init_fs_end(m_old); }

private:
	void *m_old;
};

/* An in-kernel lbrctx counter (of lbrctx's type unless @a says), released when it goes out of scope. */
class Counter : Pinned {
public:
	Counter(lbrctx_kattr a, s32 cpu, void *task)
	{
		if (!a.type)
			a.type = lbrctx_kunit_pmu_type();
		m_event = lbrctx_kt_counter_create(&a, cpu, task, &m_err);
	}
	~Counter()
	{
		if (m_event)
			lbrctx_kt_counter_release(m_event);
	}
	int error() const { return m_err; }
	bool ok() const { return m_event != nullptr; }
	u64 read() const { return lbrctx_kt_counter_read(m_event); }
	void *event() const { return m_event; }

private:
	void *m_event = nullptr;
	int m_err = 0;
};

/* A kthread body that parks until stopped: a task to attach data to. */
inline int park(void *) noexcept
{
	lbrctx_kt_wait_for_stop();
	return 0;
}

} // namespace lbrctx::test

#define KEXPECT(t, cond) ::lbrctx::test::check((t), !!(cond), #cond, __FILE__, __LINE__)
#define KEXPECT_EQ(t, a, b) \
	::lbrctx::test::check_eq((t), (long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define KASSERT(t, cond)               \
	do {                           \
		if (!KEXPECT(t, cond)) \
			return;        \
	} while (0)
#define KASSERT_EQ(t, a, b)               \
	do {                              \
		if (!KEXPECT_EQ(t, a, b)) \
			return;           \
	} while (0)

/* Define a case body declared in cases.h. */
#define LBRCTX_KUNIT_CASE(name) extern "C" void name(struct kunit *test) noexcept
