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
		 "Kernel functions whose calls and returns feed the probe source: up to 8 comma-separated names, or globs with the fprobe source (default vfs_read,vfs_write). Change at run time through /sys/kernel/debug/lbrctx/probes.");

static char *uprobes;
module_param(uprobes, charp, 0444);
MODULE_PARM_DESC(uprobes,
		 "User functions whose calls and returns feed the probe source: lines 'PATH OFFSET NAME', separated by ';' or newlines, as scripts/lbrctx-uprobes prints them (default none). Change at run time through /sys/kernel/debug/lbrctx/uprobes.");

/* source: where branches come from (module/core.cpp). Read at load only. */
static enum lbrctx_source_param source_param = LBRCTX_SOURCE_AUTO;
static const char *const lbrctx_source_names[] = {
	[LBRCTX_SOURCE_AUTO] = "auto",
	[LBRCTX_SOURCE_HW] = "hw",
	[LBRCTX_SOURCE_PROBES] = "probes",
};

static int lbrctx_source_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(lbrctx_source_names, val);

	if (i < 0) {
		pr_info_ratelimited("lbrctx: source=%.16s: use auto, hw or probes\n", val);
		return -EINVAL;
	}
	source_param = i;
	return 0;
}

static int lbrctx_source_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n", lbrctx_source_names[source_param]);
}

static const struct kernel_param_ops lbrctx_source_ops = {
	.set = lbrctx_source_set,
	.get = lbrctx_source_get,
};
module_param_cb(source, &lbrctx_source_ops, NULL, 0444);
MODULE_PARM_DESC(source,
		 "Where branches come from: auto (default: the QEMU plugin's LBR hardware where its ivshmem device is present, else probes), hw (the hardware; loading fails with ENODEV without it) or probes (fprobes or kretprobes on the probes= functions, uprobes on the uprobes= ones).");

enum lbrctx_source_param lbrctx_param_source(void)
{
	return source_param;
}

/*
 * save_restore: a benchmark's switch. Its writes reach the PMU
 * (lbrctx_save_restore_set()), which the switch path reads without a call.
 */
static bool save_restore = true;

static int lbrctx_save_restore_param_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret)
		lbrctx_save_restore_set(READ_ONCE(save_restore));
	return ret;
}

static const struct kernel_param_ops lbrctx_save_restore_ops = {
	.set = lbrctx_save_restore_param_set,
	.get = param_get_bool,
};
module_param_cb(save_restore, &lbrctx_save_restore_ops, &save_restore, 0644);
MODULE_PARM_DESC(save_restore,
		 "Save and restore each task's LBR state on context switch (default Y). N resets the unit on every switch instead, as perf did for system-wide events before per-task data: for the seed-003 comparison only.");

bool lbrctx_param_save_restore(void)
{
	return READ_ONCE(save_restore);
}

/*
 * store: whose per-task store the switch hook reads. "lbrctx" (default) is
 * lbrctx's own; "upstream" is the perf core's task_struct::perf_ctx_data
 * (6.15+), for the side-by-side benchmarks. A write is refused while
 * lbrctx events exist, and "upstream" where the core's slot may belong
 * to another PMU (module/switch.cpp: Pmu::store_mode_check()).
 */
static bool store_upstream;

int lbrctx_shim_store_set(const char *val)
{
	bool upstream;
	int ret;

	if (sysfs_streq(val, "lbrctx")) {
		upstream = false;
	} else if (sysfs_streq(val, "upstream")) {
		upstream = true;
	} else {
		pr_info_ratelimited("lbrctx: store=%.16s: use lbrctx or upstream\n", val);
		return -EINVAL;
	}
	ret = lbrctx_store_mode_set(upstream);
	if (ret)
		return ret;
	WRITE_ONCE(store_upstream, upstream);
	return 0;
}

static int lbrctx_store_set(const char *val, const struct kernel_param *kp)
{
	return lbrctx_shim_store_set(val);
}

static int lbrctx_store_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n", READ_ONCE(store_upstream) ? "upstream" : "lbrctx");
}

static const struct kernel_param_ops lbrctx_store_ops = {
	.set = lbrctx_store_set,
	.get = lbrctx_store_get,
};
module_param_cb(store, &lbrctx_store_ops, NULL, 0644);
MODULE_PARM_DESC(store,
		 "Per-task store the context-switch hook reads: lbrctx (default) or upstream, the perf core's task_struct::perf_ctx_data (Linux 6.15+, for benchmarks; refused where a CPU PMU records LBR call stacks). Changes are refused while lbrctx events exist.");

bool lbrctx_param_store_upstream(void)
{
	return READ_ONCE(store_upstream);
}

const char *lbrctx_param_probes(void)
{
	return probes;
}

const char *lbrctx_param_uprobes(void)
{
	return uprobes;
}

module_init(lbrctx_init);
module_exit(lbrctx_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("lbrctx developers");
MODULE_VERSION("0.8.0");
MODULE_DESCRIPTION("Per-task LBR call-stack PMU: Arch LBR from a QEMU plugin, or emulated from probes");
