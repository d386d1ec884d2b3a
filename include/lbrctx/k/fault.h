/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FaultAttr: the kernel's fault-injection framework (<linux/fault-inject.h>,
 * Documentation/fault-injection): a struct fault_attr consulted through
 * should_fail(), configured from debugfs. Without CONFIG_FAULT_INJECTION
 * (Debian's stock kernels) it never fails.
 */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx::k {

class FaultAttr : Pinned {
public:
	constexpr FaultAttr() = default;
	/* Task context: FAULT_ATTR_INITIALIZER, so nothing fails until configured. */
	void init() { lbrctx_shim_fault_init(m_attr.get()); }
	/* Expose probability, interval, times, space, ... under @dir/@name. */
	void expose(const char *name, void *dir)
	{
		lbrctx_shim_fault_debugfs(name, dir, m_attr.get());
	}
	/* Any context. @size counts against the attribute's "space". */
	bool should_fail(size_t size) { return lbrctx_shim_should_fail(m_attr.get(), size); }
	void *raw() { return m_attr.get(); }

private:
	KernelStorage<LBRCTX_K_SIZEOF_FAULT_ATTR, 8> m_attr{};
};

} // namespace lbrctx::k
