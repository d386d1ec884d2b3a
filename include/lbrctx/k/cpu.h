/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hot paths' view of this CPU, inline: the per-CPU offset, the
 * preemption count (and from it the interrupt context level) and the
 * interrupt flag, each as the kernel's own inline functions do it
 * (arch/x86/include/asm/percpu.h, preempt.h, irqflags.h), chosen by facts
 * the generated layout gives (module/shim/layout.c). Where the kernel's
 * way is not those instructions (paravirt interrupt ops, traced interrupt
 * state), the shim's wrappers are called instead. The context-switch hook
 * and the kernel branch source use these: every shim call there costs a
 * call and a return on every switch and every probed call.
 */
#pragma once

#include <lbrctx/base.h>

namespace lbrctx::k {

/* this_cpu_ptr(@pcp): preemption or interrupts off. */
inline void *this_cpu_ptr(void *pcp)
{
#if LBRCTX_K_PERCPU_INLINE
	unsigned long off;
	asm("movq %%gs:this_cpu_off, %0" : "=r"(off));
	return reinterpret_cast<void *>(reinterpret_cast<unsigned long>(pcp) + off);
#else
	return lbrctx_shim_this_cpu_ptr(pcp);
#endif
}

/* preempt_count(), with PREEMPT_NEED_RESCHED in it (the masks below ignore it). */
inline u32 preempt_count_raw()
{
	u32 v;
#if LBRCTX_K_PREEMPT_IN_PCPU_HOT
	asm volatile("movl %%gs:pcpu_hot+%c1, %0" : "=r"(v) : "i"(LBRCTX_K_PCPU_HOT_PREEMPT_COUNT));
#else
	asm volatile("movl %%gs:__preempt_count, %0" : "=r"(v));
#endif
	return v;
}

inline bool in_nmi()
{
	return preempt_count_raw() & LBRCTX_K_NMI_MASK;
}

/* interrupt_context_level(): 0 task, 1 softirq, 2 hard IRQ, 3 NMI. */
inline u32 ctx_level()
{
	u32 pc = preempt_count_raw();
	return !!(pc & LBRCTX_K_NMI_MASK) + !!(pc & (LBRCTX_K_NMI_MASK | LBRCTX_K_HARDIRQ_MASK)) +
	       !!(pc & (LBRCTX_K_NMI_MASK | LBRCTX_K_HARDIRQ_MASK | LBRCTX_K_SOFTIRQ_OFFSET));
}

/* local_irq_save(): the previous flags. */
inline unsigned long irq_save()
{
#if LBRCTX_K_IRQ_INLINE
	unsigned long flags;
	asm volatile("pushf; pop %0; cli" : "=rm"(flags) : : "memory");
	return flags;
#else
	return lbrctx_shim_irq_save();
#endif
}

/* local_irq_restore(): interrupts back on only if they were (X86_EFLAGS_IF). */
inline void irq_restore(unsigned long flags)
{
#if LBRCTX_K_IRQ_INLINE
	if (flags & (1ul << 9))
		asm volatile("sti" : : : "memory");
#else
	lbrctx_shim_irq_restore(flags);
#endif
}

} // namespace lbrctx::k
