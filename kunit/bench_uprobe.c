// SPDX-License-Identifier: GPL-2.0
/*
 * U1's floor (make bench): lbrctx's own uprobe wrappers, module/shim/uprobe.c
 * built again into lbrctx_bench.ko, with handlers that only count. The
 * same registration and the same kernel paths as lbrctx's user source
 * (the breakpoint, single-stepping out of line, the return hijack and, on
 * 7.x, the uretprobe syscall), and no recording. Loading lbrctx_bench.ko
 * with u1_path= and u1_offset= registers one such probe instead of running
 * the store benchmarks; unloading it unregisters the probe.
 */
#include <linux/moduleparam.h>
#include "../module/shim/uprobe.c"
#include "khelpers.h"

static char *u1_path;
module_param(u1_path, charp, 0444);
MODULE_PARM_DESC(u1_path, "U1: the file of the bare probe (no store benchmarks then)");
static unsigned long u1_offset;
module_param(u1_offset, ulong, 0444);
MODULE_PARM_DESC(u1_offset, "U1: the probed function's offset in u1_path");

static struct lbrctx_uprobe lbrctx_u1_probe;
static void *lbrctx_u1_inode;
static u64 lbrctx_u1_entries, lbrctx_u1_returns;

/* The probed task, preemptible (module/shim/uprobe.c): count and return. */
void lbrctx_uprobe_entry(u32 id, u64 ip, u64 sp)
{
	WRITE_ONCE(lbrctx_u1_entries, lbrctx_u1_entries + 1);
}

void lbrctx_uprobe_return(u32 id, u64 func, u64 ret_ip, u64 sp)
{
	WRITE_ONCE(lbrctx_u1_returns, lbrctx_u1_returns + 1);
}

/* Every process that maps the file: the benchmark's loop is the only one. */
bool lbrctx_uprobe_filter(u32 id, void *mm)
{
	return true;
}

/* Module init, task context: 0 without u1_path, 1 with the probe registered. */
int lbrctx_bench_u1_start(void)
{
	int err = 0, ret;
	void *file;

	if (!u1_path)
		return 0;
	file = lbrctx_shim_file_open(u1_path, &err);
	if (!file)
		return err;
	lbrctx_u1_inode = lbrctx_shim_file_inode(file);
	lbrctx_shim_file_close(file);
	ret = lbrctx_shim_uprobe_register(&lbrctx_u1_probe, lbrctx_u1_inode, u1_offset, 0);
	if (ret) {
		lbrctx_shim_inode_put(lbrctx_u1_inode);
		lbrctx_u1_inode = NULL;
		return ret;
	}
	pr_info("lbrctx_bench: U1 bare probe on %s %#lx\n", u1_path, u1_offset);
	return 1;
}

/* Module exit, task context, sleeps until no handler runs. */
void lbrctx_bench_u1_stop(void)
{
	if (!lbrctx_u1_inode)
		return;
	lbrctx_shim_uprobe_unregister(&lbrctx_u1_probe);
	lbrctx_shim_uprobe_sync();
	lbrctx_shim_inode_put(lbrctx_u1_inode);
	pr_info("lbrctx_bench: U1 bare probe: %llu entries, %llu returns\n",
		READ_ONCE(lbrctx_u1_entries), READ_ONCE(lbrctx_u1_returns));
}
