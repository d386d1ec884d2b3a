// SPDX-License-Identifier: GPL-2.0
/* /sys/kernel/debug/lbrctx: the live state, read from the C++. */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <lbrctx/shim.h>

static struct dentry *lbrctx_debugfs_dir;

static int lbrctx_store_show(struct seq_file *m, void *v)
{
	struct lbrctx_store_stats s;

	lbrctx_store_get_stats(&s);
	seq_printf(m, "objects %llu\n", s.objects);
	seq_printf(m, "attaches %llu\n", s.attaches);
	seq_printf(m, "detaches %llu\n", s.detaches);
	seq_printf(m, "global_users %llu\n", s.global_users);
	seq_printf(m, "global_attached %llu\n", s.global_attached);
	seq_printf(m, "alloc_failures %llu\n", s.alloc_failures);
	seq_printf(m, "allocs %llu\n", s.allocs);
	seq_printf(m, "object_size %llu\n", s.object_size);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lbrctx_store);

void lbrctx_shim_debugfs_init(void)
{
	lbrctx_debugfs_dir = debugfs_create_dir("lbrctx", NULL);
	debugfs_create_file("store", 0444, lbrctx_debugfs_dir, NULL, &lbrctx_store_fops);
}

void lbrctx_shim_debugfs_exit(void)
{
	debugfs_remove(lbrctx_debugfs_dir);
}
