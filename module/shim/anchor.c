// SPDX-License-Identifier: GPL-2.0
/*
 * The fgraph anchor (kernels whose fprobe runs on fgraph, 6.14 and later).
 *
 * On the 7.3 test kernel, once the last fgraph-based fprobe is unregistered,
 * the next one registered crashes the kernel when its probe fires (a call
 * into freed memory). The kernel's own fprobe events do it too, without
 * lbrctx: qemu/repro/fgraph-reregister.sh. Holding one fgraph user keeps
 * that transition from happening while lbrctx is loaded, so lbrctx holds an
 * fprobe on lbrctx_fgraph_anchor(), a function nothing calls, from load to
 * unload. This is the only lbrctx.ko object built with the ftrace flags.
 */
#include <linux/fprobe.h>
#include <linux/module.h>
#include <linux/version.h>
#include <lbrctx/shim.h>

noinline void lbrctx_fgraph_anchor(void);
noinline void lbrctx_fgraph_anchor(void)
{
	barrier();
}

#if IS_ENABLED(CONFIG_FPROBE) && LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
static notrace int lbrctx_anchor_entry(struct fprobe *fp, unsigned long ip, unsigned long ret_ip,
			       struct ftrace_regs *fregs, void *data)
{
	return 0;
}

static notrace void lbrctx_anchor_exit(struct fprobe *fp, unsigned long ip, unsigned long ret_ip,
			       struct ftrace_regs *fregs, void *data)
{
}

static struct fprobe lbrctx_anchor = {
	.entry_handler = lbrctx_anchor_entry,
	.exit_handler = lbrctx_anchor_exit,
};
static bool lbrctx_anchor_registered;

/* Task context (module init). By address: the module is not live yet. */
notrace int lbrctx_shim_anchor_register(void)
{
	unsigned long ip = (unsigned long)lbrctx_fgraph_anchor;
	int ret = register_fprobe_ips(&lbrctx_anchor, &ip, 1);

	lbrctx_anchor_registered = !ret;
	return ret;
}

notrace void lbrctx_shim_anchor_unregister(void)
{
	if (lbrctx_anchor_registered)
		unregister_fprobe(&lbrctx_anchor);
	lbrctx_anchor_registered = false;
}
#else
notrace int lbrctx_shim_anchor_register(void)
{
	return 0;
}

notrace void lbrctx_shim_anchor_unregister(void)
{
}
#endif
