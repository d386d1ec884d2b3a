// SPDX-License-Identifier: GPL-2.0
/*
 * Module entry points and parameters. The work is done by the C++ core
 * (module/core.cpp); this file gives it the kernel's module_init and
 * module_exit hooks and the metadata.
 */
#include <linux/module.h>
#include <lbrctx/shim.h>

static int __init lbrctx_init(void)
{
	return lbrctx_core_init();
}

static void __exit lbrctx_exit(void)
{
	lbrctx_core_exit();
}

static char *probes;
module_param(probes, charp, 0444);
MODULE_PARM_DESC(probes,
		 "Kernel functions whose calls and returns feed the emulated LBR: up to 8 comma-separated names, or globs with the fprobe source (default vfs_read,vfs_write,lbrctx_tchain_*; lbrctx_tchain_f1,f2,f3 by name with the kretprobe source). Change at run time through /sys/kernel/debug/lbrctx/probes.");

static char *uprobes;
module_param(uprobes, charp, 0444);
MODULE_PARM_DESC(uprobes,
		 "User functions whose calls and returns feed the emulated LBR: lines 'PATH OFFSET NAME', separated by ';' or newlines, as scripts/lbrctx-uprobes prints them (default none). Change at run time through /sys/kernel/debug/lbrctx/uprobes.");

static bool save_restore = true;
module_param(save_restore, bool, 0644);
MODULE_PARM_DESC(save_restore,
		 "Save and restore each task's LBR state on context switch (default Y). N resets the unit on every switch instead, as perf did for system-wide events before per-task data: for the seed-003 comparison only.");

const char *lbrctx_param_probes(void)
{
	return probes;
}

const char *lbrctx_param_uprobes(void)
{
	return uprobes;
}

bool lbrctx_param_save_restore(void)
{
	return READ_ONCE(save_restore);
}

module_init(lbrctx_init);
module_exit(lbrctx_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("lbrctx developers");
MODULE_VERSION("0.7.0");
MODULE_DESCRIPTION("Per-task LBR call-stack PMU with an emulated Arch LBR unit");
