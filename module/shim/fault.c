// SPDX-License-Identifier: GPL-2.0
/*
 * A fault_attr for the C++ (k::FaultAttr): the kernel's fault-injection
 * framework. Without CONFIG_FAULT_INJECTION nothing ever fails, and
 * without CONFIG_FAULT_INJECTION_DEBUG_FS the attribute has no files.
 */
#include <linux/types.h>
#include <linux/gfp.h>
#include <linux/fault-inject.h>
#include <lbrctx/shim.h>

void lbrctx_shim_fault_init(void *attr)
{
#ifdef CONFIG_FAULT_INJECTION
	*(struct fault_attr *)attr = (struct fault_attr)FAULT_ATTR_INITIALIZER;
#endif
}

bool lbrctx_shim_should_fail(void *attr, size_t size)
{
#ifdef CONFIG_FAULT_INJECTION
	return should_fail(attr, size);
#else
	return false;
#endif
}

void lbrctx_shim_fault_debugfs(const char *name, void *dir, void *attr)
{
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	fault_create_debugfs_attr(name, dir, attr);
#endif
}
