// SPDX-License-Identifier: GPL-2.0
/*
 * The user branch source: a uprobe and uretprobe consumer per probed user
 * function, and the file and user-memory access the C++ needs around it
 * (module/usource.cpp). The uprobe API has three generations:
 *   6.1:   int uprobe_register(inode, offset, uc); uprobe_unregister(inode,
 *          offset, uc) waits for handlers; filter(uc, ctx, mm)
 *   6.12:  struct uprobe *uprobe_register(inode, offset, ref_ctr_offset, uc)
 *          (ERR_PTR); uprobe_unregister_nosync(), then one
 *          uprobe_unregister_sync(); filter(uc, mm)
 *   6.13-: as 6.12, and handler and ret_handler take a __u64 *data session
 *          cookie (UPROBE_HANDLER_IGNORE comes with it); ret_handler runs
 *          when the handler returned 0
 * Handler context (all): the probed task, on its way back to user space
 * after the breakpoint (or in sys_uretprobe / sys_uprobe), IRQs on,
 * preemptible, may sleep and fault. In the handler regs->ip is the probed
 * address and regs->sp the return-address slot; in ret_handler func is the
 * probed address, regs->ip the return address and regs->sp the slot + 8.
 */
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/shmem_fs.h>
#include <linux/uaccess.h>
#include <linux/uprobes.h>
#include <linux/version.h>
#include <lbrctx/shim.h>
#include "shim_types.h"

#if IS_ENABLED(CONFIG_UPROBES)

static u32 lbrctx_uprobe_id(struct uprobe_consumer *uc)
{
	return container_of(uc, struct lbrctx_uprobe, uc)->id;
}

#ifdef UPROBE_HANDLER_IGNORE
static int lbrctx_uprobe_handler(struct uprobe_consumer *uc, struct pt_regs *regs, __u64 *data)
#else
static int lbrctx_uprobe_handler(struct uprobe_consumer *uc, struct pt_regs *regs)
#endif
{
	lbrctx_uprobe_entry(lbrctx_uprobe_id(uc), instruction_pointer(regs),
			    user_stack_pointer(regs));
	return 0;
}

#ifdef UPROBE_HANDLER_IGNORE
static int lbrctx_uretprobe_handler(struct uprobe_consumer *uc, unsigned long func,
				    struct pt_regs *regs, __u64 *data)
#else
static int lbrctx_uretprobe_handler(struct uprobe_consumer *uc, unsigned long func,
				    struct pt_regs *regs)
#endif
{
	lbrctx_uprobe_return(lbrctx_uprobe_id(uc), func, instruction_pointer(regs),
			     user_stack_pointer(regs));
	return 0;
}

/* Registration and mmap (sleepable, mmap_lock held) and, 6.12+, a handler's REMOVE. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
static bool lbrctx_uprobe_filter_cb(struct uprobe_consumer *uc, struct mm_struct *mm)
#else
static bool lbrctx_uprobe_filter_cb(struct uprobe_consumer *uc, enum uprobe_filter_ctx ctx,
				    struct mm_struct *mm)
#endif
{
	return lbrctx_uprobe_filter(lbrctx_uprobe_id(uc), mm);
}

/* Task context, may sleep; the caller keeps @inode referenced until unregistered. */
int lbrctx_shim_uprobe_register(void *up, void *inode, u64 offset, u32 id)
{
	struct lbrctx_uprobe *u = up;

	memset(u, 0, sizeof(*u));
	u->uc.handler = lbrctx_uprobe_handler;
	u->uc.ret_handler = lbrctx_uretprobe_handler;
	u->uc.filter = lbrctx_uprobe_filter_cb;
	u->inode = inode;
	u->offset = offset;
	u->id = id;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	u->uprobe = uprobe_register(inode, offset, 0, &u->uc);
	if (IS_ERR(u->uprobe))
		return PTR_ERR(u->uprobe);
	return 0;
#else
	return uprobe_register(inode, offset, &u->uc);
#endif
}

/* Task context, may sleep. 6.12+: handlers may run until lbrctx_shim_uprobe_sync(). */
void lbrctx_shim_uprobe_unregister(void *up)
{
	struct lbrctx_uprobe *u = up;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	uprobe_unregister_nosync(u->uprobe, &u->uc);
#else
	uprobe_unregister(u->inode, u->offset, &u->uc);
#endif
}

void lbrctx_shim_uprobe_sync(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	uprobe_unregister_sync();
#endif
}

bool lbrctx_shim_uprobes_available(void)
{
	return true;
}

/*
 * In a uprobe handler (current, before the kernel's prepare_uretprobe()
 * for this hit): the newest live return instance whose slot is @sp. The
 * task's own list, which only the task changes (7.x frees instances after
 * an RCU grace period, for readers of other tasks); instances below @sp
 * are frames a longjmp left, which the kernel drops at its next hijack.
 * Several instances share a slot when functions tail-call each other: each
 * keeps the first one's return address, and the oldest is the called one.
 */
bool lbrctx_shim_uretprobe_frame(u64 sp, u64 *ret, u64 *func)
{
	struct uprobe_task *utask = current->utask;
	struct return_instance *ri;

	if (!utask)
		return false;
	for (ri = utask->return_instances; ri && ri->stack < sp; ri = ri->next)
		;
	if (!ri || ri->stack != sp)
		return false;
	*ret = ri->orig_ret_vaddr;
	for (; ri && ri->stack == sp; ri = ri->next)
		*func = ri->func;
	return true;
}

#else

int lbrctx_shim_uprobe_register(void *up, void *inode, u64 offset, u32 id)
{
	return -EOPNOTSUPP;
}

void lbrctx_shim_uprobe_unregister(void *up)
{
}

void lbrctx_shim_uprobe_sync(void)
{
}

bool lbrctx_shim_uprobes_available(void)
{
	return false;
}

bool lbrctx_shim_uretprobe_frame(u64 sp, u64 *ret, u64 *func)
{
	return false;
}

#endif

/*
 * Task context. A regular file, opened for reading, whose pages uprobes can
 * read (read_folio or shmem, as uprobe_register() requires); else NULL and
 * @err: -ENOENT, -EISDIR, -EINVAL (not a regular file), -EIO or the open's.
 * Its inode and its bytes are that open file's (the TOCTOU of a path
 * looked up twice is avoided by using nothing but the file).
 */
void *lbrctx_shim_file_open(const char *name, int *err)
{
	struct file *f = filp_open(name, O_RDONLY | O_LARGEFILE, 0);
	struct inode *inode;

	if (IS_ERR(f)) {
		*err = PTR_ERR(f);
		return NULL;
	}
	inode = file_inode(f);
	if (S_ISDIR(inode->i_mode))
		*err = -EISDIR;
	else if (!S_ISREG(inode->i_mode))
		*err = -EINVAL;
	else if (!inode->i_mapping->a_ops->read_folio && !shmem_mapping(inode->i_mapping))
		*err = -EIO;
	else
		return f;
	filp_close(f, NULL);
	return NULL;
}

/* The inode of an open @file, referenced (igrab), for uprobe_register(). */
void *lbrctx_shim_file_inode(void *file)
{
	return igrab(file_inode((struct file *)file));
}

/* Task context: up to @n bytes of @file at @off; the count, or -errno. */
long lbrctx_shim_file_pread(void *file, u64 off, void *buf, size_t n)
{
	loff_t pos = off;

	return kernel_read(file, buf, n, &pos);
}

void lbrctx_shim_file_close(void *file)
{
	filp_close(file, NULL);
}

void lbrctx_shim_inode_put(void *inode)
{
	iput(inode);
}

u64 lbrctx_shim_inode_size(void *inode)
{
	return i_size_read(inode);
}

/* Task context, may fault and sleep: false when @addr is not readable. */
bool lbrctx_shim_read_user(void *dst, u64 addr, size_t n)
{
	return !copy_from_user(dst, (const void __user *)(unsigned long)addr, n);
}

/* Any context (IRQ, NMI): never sleeps or faults; false when @addr is not readable now. */
bool lbrctx_shim_read_user_nofault(void *dst, u64 addr, size_t n)
{
	return !copy_from_user_nofault(dst, (const void __user *)(unsigned long)addr, n);
}

/* Any context: @regs' instruction and stack pointers. */
void lbrctx_shim_regs_ip_sp(const void *regs, u64 *ip, u64 *sp)
{
	*ip = instruction_pointer((struct pt_regs *)regs);
	*sp = user_stack_pointer((struct pt_regs *)regs);
}

void *lbrctx_shim_task_mm(void *task)
{
	return READ_ONCE(((struct task_struct *)task)->mm);
}
