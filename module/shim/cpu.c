// SPDX-License-Identifier: GPL-2.0
/* Per-CPU memory, execution context and clocks, for the C++. */
#include <linux/cpumask.h>
#include <linux/hardirq.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched/clock.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <lbrctx/shim.h>

/*
 * Through an integer, as the kernel's __my_cpu_ptr(): with gcc 14 (trixie's
 * 7.x images) __percpu is the __seg_gs address space, which a pointer cast
 * to or from a generic pointer warns about; __force is for sparse only.
 */
void *lbrctx_shim_percpu_alloc(size_t size, size_t align)
{
	return (void *)(__force uintptr_t)__alloc_percpu(size, align);
}

void lbrctx_shim_percpu_free(void *pcp)
{
	free_percpu((void __percpu *)(__force uintptr_t)pcp);
}

void *lbrctx_shim_this_cpu_ptr(void *pcp)
{
	return this_cpu_ptr((void __percpu *)(__force uintptr_t)pcp);
}

void *lbrctx_shim_per_cpu_ptr(void *pcp, u32 cpu)
{
	return per_cpu_ptr((void __percpu *)(__force uintptr_t)pcp, cpu);
}

u32 lbrctx_shim_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

bool lbrctx_shim_cpu_possible(u32 cpu)
{
	return cpu_possible(cpu);
}

u64 lbrctx_shim_local_clock(void)
{
	return local_clock();
}

bool lbrctx_shim_read_kernel(void *dst, u64 addr, size_t n)
{
	return !copy_from_kernel_nofault(dst, (const void *)(unsigned long)addr, n);
}

/* XSAVE present and enabled by the kernel (CR4.OSXSAVE): the load message says so. */
bool lbrctx_shim_cpu_has_xsave(void)
{
	return boot_cpu_has(X86_FEATURE_XSAVE) && boot_cpu_has(X86_FEATURE_OSXSAVE);
}
