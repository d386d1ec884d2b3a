/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Result<T>: a value or a negative errno. Errors keep the kernel's errno
 * meanings exactly, so they cross the extern "C" boundary unchanged.
 */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx {

/* A negative errno, convertible to any Result<T>. */
struct [[nodiscard]] Error {
	int code;
};

namespace err {
constexpr Error nomem()
{
	return Error{-LBRCTX_K_ENOMEM};
}
constexpr Error inval()
{
	return Error{-LBRCTX_K_EINVAL};
}
constexpr Error noent()
{
	return Error{-LBRCTX_K_ENOENT};
}
constexpr Error busy()
{
	return Error{-LBRCTX_K_EBUSY};
}
constexpr Error srch()
{
	return Error{-LBRCTX_K_ESRCH};
}
constexpr Error too_big()
{
	return Error{-LBRCTX_K_E2BIG};
}
constexpr Error opnotsupp()
{
	return Error{-LBRCTX_K_EOPNOTSUPP};
}
constexpr Error nodev()
{
	return Error{-LBRCTX_K_ENODEV};
}
} // namespace err

template <class T> class [[nodiscard]] Result {
public:
	Result(T value) : m_errno(0) { new (&m_value) T(move(value)); }
	Result(Error e) : m_errno(e.code)
	{
		/* An Error of 0 or a positive value is a caller bug. */
		if (LBRCTX_WARN_ON(e.code >= 0))
			m_errno = -LBRCTX_K_EINVAL;
	}
	Result(Result &&o) : m_errno(o.m_errno)
	{
		if (!m_errno)
			new (&m_value) T(move(o.m_value));
	}
	Result(const Result &) = delete;
	Result &operator=(const Result &) = delete;
	~Result()
	{
		if (!m_errno)
			m_value.~T();
	}

	bool is_error() const { return m_errno != 0; }
	int error() const { return m_errno; }
	T &value() { return m_value; }
	T release_value() { return move(m_value); }

private:
	union {
		T m_value;
	};
	int m_errno;
};

template <> class [[nodiscard]] Result<void> {
public:
	Result() : m_errno(0) {}
	Result(Error e) : m_errno(e.code)
	{
		if (LBRCTX_WARN_ON(e.code >= 0))
			m_errno = -LBRCTX_K_EINVAL;
	}
	bool is_error() const { return m_errno != 0; }
	int error() const { return m_errno; }
	void release_value() {}

private:
	int m_errno;
};

/* The errno of a Result<void> as an int for an extern "C" return. */
inline int to_errno(const Result<void> &r)
{
	return r.error();
}

} // namespace lbrctx

/*
 * TRY(expr): evaluate a Result; on error return its errno from the enclosing
 * function (which returns a Result of any type), else yield the value.
 */
#define TRY(expr)                                                    \
	({                                                           \
		auto &&_lbrctx_try = (expr);                         \
		if (_lbrctx_try.is_error())                          \
			return ::lbrctx::Error{_lbrctx_try.error()}; \
		_lbrctx_try.release_value();                         \
	})
