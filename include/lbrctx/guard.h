/* SPDX-License-Identifier: GPL-2.0 */
/* RAII guards. Each is [[nodiscard]] and non-copyable. */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx {

/* Runs a callable when the scope ends, unless dismissed. */
template <class F> class [[nodiscard]] ScopeExit : Pinned {
public:
	explicit ScopeExit(F f) : m_fn(move(f)) {}
	~ScopeExit()
	{
		if (m_armed)
			m_fn();
	}
	void dismiss() { m_armed = false; }

private:
	F m_fn;
	bool m_armed = true;
};

} // namespace lbrctx
