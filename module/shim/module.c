// SPDX-License-Identifier: GPL-2.0
/*
 * Module entry points. The work is done by the C++ core; this file only
 * gives it the kernel's module_init/module_exit hooks and the metadata.
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

module_init(lbrctx_init);
module_exit(lbrctx_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("lbrctx developers");
MODULE_DESCRIPTION("Per-task LBR call-stack PMU with an emulated Arch LBR unit");
