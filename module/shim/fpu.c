// SPDX-License-Identifier: GPL-2.0
/* FPU section wrappers for the XSAVE code in C++. */
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <lbrctx/shim.h>

bool lbrctx_shim_cpu_has_xsave(void)
{
	return boot_cpu_has(X86_FEATURE_XSAVE) && boot_cpu_has(X86_FEATURE_OSXSAVE);
}

/* Task context; the section disables preemption until lbrctx_shim_fpu_end(). */
void lbrctx_shim_fpu_begin(void)
{
	kernel_fpu_begin();
}

void lbrctx_shim_fpu_end(void)
{
	kernel_fpu_end();
}
