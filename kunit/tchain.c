// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx_tchain: the kernel call chain of the seed-003 replica.
 *
 * Reading /sys/kernel/debug/lbrctx_tchain/run runs lbrctx_tchain_f1 ->
 * lbrctx_tchain_f2 -> lbrctx_tchain_f3. f3 alternates between spinning
 * (where samples land, with f1 -> f2 -> f3 on the call stack) and
 * blocking for a jiffy, so that other tasks run on the CPU in between and
 * the LBR state has to survive context switches.
 *
 * This is a test fixture, in C on purpose: the chain must be traceable by
 * the branch source (built with -mfentry), which lbrctx's C++ is not.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

static unsigned int spin_us = 300;
module_param(spin_us, uint, 0644);
MODULE_PARM_DESC(spin_us, "Microseconds f3 spins between two blocks (default 300)");

static unsigned int rounds = 20;
module_param(rounds, uint, 0644);
MODULE_PARM_DESC(rounds, "Spin-and-block rounds per read (default 20)");

static struct dentry *lbrctx_tchain_dir;

u64 lbrctx_tchain_f1(u64 seed);
u64 lbrctx_tchain_f2(u64 seed);
u64 lbrctx_tchain_f3(u64 seed);
void lbrctx_tchain_set_hook(void (*fn)(void *ctx), void *ctx);
void lbrctx_tchain_ka(void);
void lbrctx_tchain_kb(void);
void lbrctx_tchain_kc(void);
void lbrctx_tchain_leaf(void);
u64 lbrctx_tchain_cost_none(u64 v);
u64 lbrctx_tchain_cost_floor(u64 v);
u64 lbrctx_tchain_cost_rec(u64 v);

noinline u64 lbrctx_tchain_f3(u64 seed)
{
	unsigned int r, i;

	for (r = 0; r < READ_ONCE(rounds); r++) {
		u64 end = ktime_get_ns() + (u64)READ_ONCE(spin_us) * NSEC_PER_USEC;

		while (ktime_get_ns() < end) {
			for (i = 0; i < 2000; i++) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				cpu_relax();
			}
		}
		/* Block: the other readers run now. */
		schedule_timeout_uninterruptible(1);
	}
	return seed;
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_f3);

noinline u64 lbrctx_tchain_f2(u64 seed)
{
	u64 v = lbrctx_tchain_f3(seed ^ 0x2);

	barrier();
	return v + 2;
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_f2);

noinline u64 lbrctx_tchain_f1(u64 seed)
{
	u64 v = lbrctx_tchain_f2(seed ^ 0x1);

	barrier();
	return v + 1;
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_f1);

/*
 * A second chain for the lbrctx_pmu KUnit suite, which cannot probe its
 * own functions while its module is still loading: ka -> kb -> kc, where
 * kc calls the test's hook, and a leaf that does nothing.
 */
static void (*lbrctx_tchain_hook)(void *ctx);
static void *lbrctx_tchain_hook_ctx;

void lbrctx_tchain_set_hook(void (*fn)(void *ctx), void *ctx)
{
	WRITE_ONCE(lbrctx_tchain_hook_ctx, ctx);
	WRITE_ONCE(lbrctx_tchain_hook, fn);
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_set_hook);

noinline void lbrctx_tchain_kc(void)
{
	void (*fn)(void *ctx) = READ_ONCE(lbrctx_tchain_hook);

	if (fn)
		fn(READ_ONCE(lbrctx_tchain_hook_ctx));
	barrier();
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_kc);

noinline void lbrctx_tchain_kb(void)
{
	lbrctx_tchain_kc();
	barrier();
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_kb);

noinline void lbrctx_tchain_ka(void)
{
	lbrctx_tchain_kb();
	barrier();
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_ka);

noinline void lbrctx_tchain_leaf(void)
{
	barrier();
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_leaf);

/*
 * K1 of make bench (kunit/k1.cpp): three identical leaves, called in
 * turn. make bench probes cost_floor with the benchmark's own probe whose
 * handlers only count, and cost_rec with lbrctx's; cost_none stays bare.
 */
noinline u64 lbrctx_tchain_cost_none(u64 v)
{
	barrier();
	return v + 1;
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_cost_none);

noinline u64 lbrctx_tchain_cost_floor(u64 v)
{
	barrier();
	return v + 1;
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_cost_floor);

noinline u64 lbrctx_tchain_cost_rec(u64 v)
{
	barrier();
	return v + 1;
}
EXPORT_SYMBOL_GPL(lbrctx_tchain_cost_rec);

/*
 * Per-task markers for the isolation test: writing to
 * /proc/lbrctx_tchain_mark_a (or _b), which anyone may do, runs
 * lbrctx_tchain_mark_a -> lbrctx_tchain_mark_a_leaf (or the _b pair). A
 * branch stack that holds one of these was recorded while a writer of that
 * file ran.
 */
u64 lbrctx_tchain_mark_a(u64 v);
u64 lbrctx_tchain_mark_a_leaf(u64 v);
u64 lbrctx_tchain_mark_b(u64 v);
u64 lbrctx_tchain_mark_b_leaf(u64 v);

noinline u64 lbrctx_tchain_mark_a_leaf(u64 v)
{
	barrier();
	return v * 3 + 1;
}

noinline u64 lbrctx_tchain_mark_a(u64 v)
{
	u64 r = lbrctx_tchain_mark_a_leaf(v);

	barrier();
	return r + 1;
}

noinline u64 lbrctx_tchain_mark_b_leaf(u64 v)
{
	barrier();
	return v * 5 + 2;
}

noinline u64 lbrctx_tchain_mark_b(u64 v)
{
	u64 r = lbrctx_tchain_mark_b_leaf(v);

	barrier();
	return r + 2;
}

static ssize_t lbrctx_tchain_mark_write(struct file *f, const char __user *ubuf, size_t n,
					loff_t *pos)
{
	u64 v = current->pid;

	if (pde_data(file_inode(f)))
		v = lbrctx_tchain_mark_b(v);
	else
		v = lbrctx_tchain_mark_a(v);
	barrier_data(&v);
	return n;
}

static const struct proc_ops lbrctx_tchain_mark_ops = {
	.proc_write = lbrctx_tchain_mark_write,
	.proc_lseek = noop_llseek,
};

static ssize_t lbrctx_tchain_read(struct file *f, char __user *ubuf, size_t n, loff_t *pos)
{
	char buf[32];
	int len;

	if (*pos)
		return 0;
	len = scnprintf(buf, sizeof(buf), "%llx\n", lbrctx_tchain_f1(current->pid));
	return simple_read_from_buffer(ubuf, n, pos, buf, len);
}

static const struct file_operations lbrctx_tchain_fops = {
	.owner = THIS_MODULE,
	.read = lbrctx_tchain_read,
	.llseek = default_llseek,
};

static int __init lbrctx_tchain_init(void)
{
	lbrctx_tchain_dir = debugfs_create_dir("lbrctx_tchain", NULL);
	debugfs_create_file("run", 0444, lbrctx_tchain_dir, NULL, &lbrctx_tchain_fops);
	if (!proc_create_data("lbrctx_tchain_mark_a", 0666, NULL, &lbrctx_tchain_mark_ops, NULL) ||
	    !proc_create_data("lbrctx_tchain_mark_b", 0666, NULL, &lbrctx_tchain_mark_ops,
			      (void *)1)) {
		remove_proc_entry("lbrctx_tchain_mark_a", NULL);
		debugfs_remove(lbrctx_tchain_dir);
		return -ENOMEM;
	}
	return 0;
}

static void __exit lbrctx_tchain_exit(void)
{
	remove_proc_entry("lbrctx_tchain_mark_b", NULL);
	remove_proc_entry("lbrctx_tchain_mark_a", NULL);
	debugfs_remove(lbrctx_tchain_dir);
}

module_init(lbrctx_tchain_init);
module_exit(lbrctx_tchain_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lbrctx seed-003 replica: a blocking kernel call chain f1 -> f2 -> f3");
