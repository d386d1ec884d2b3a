// SPDX-License-Identifier: GPL-2.0
/* /sys/kernel/debug/lbrctx: the live state, read from the C++. */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
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

static int lbrctx_pmu_show(struct seq_file *m, void *v)
{
	struct lbrctx_pmu_stats s;

	lbrctx_pmu_get_stats(&s);
	seq_printf(m, "events %llu\n", s.events);
	seq_printf(m, "records %llu\n", s.records);
	seq_printf(m, "saves %llu\n", s.saves);
	seq_printf(m, "restores %llu\n", s.restores);
	seq_printf(m, "resets %llu\n", s.resets);
	seq_printf(m, "samples %llu\n", s.samples);
	seq_printf(m, "dropped %llu\n", s.dropped);
	seq_printf(m, "probes_registered %llu\n", s.probes_registered);
	seq_printf(m, "probe_users %llu\n", s.probe_users);
	seq_printf(m, "probe_missed %llu\n", s.probe_missed);
	seq_printf(m, "save_restore %d\n", lbrctx_param_save_restore());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lbrctx_pmu);

static ssize_t lbrctx_probes_read(struct file *f, char __user *ubuf, size_t n, loff_t *pos)
{
	char buf[512];
	int len = lbrctx_source_show(buf, sizeof(buf));

	return simple_read_from_buffer(ubuf, n, pos, buf, len);
}

static ssize_t lbrctx_probes_write(struct file *f, const char __user *ubuf, size_t n,
				   loff_t *pos)
{
	char buf[256];
	int ret;

	if (n >= sizeof(buf))
		return -E2BIG;
	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = 0;
	ret = lbrctx_source_set(buf);
	return ret ? ret : n;
}

static const struct file_operations lbrctx_probes_fops = {
	.owner = THIS_MODULE,
	.read = lbrctx_probes_read,
	.write = lbrctx_probes_write,
	.llseek = default_llseek,
};

void lbrctx_shim_debugfs_init(void)
{
	lbrctx_debugfs_dir = debugfs_create_dir("lbrctx", NULL);
	debugfs_create_file("store", 0444, lbrctx_debugfs_dir, NULL, &lbrctx_store_fops);
	debugfs_create_file("pmu", 0444, lbrctx_debugfs_dir, NULL, &lbrctx_pmu_fops);
	debugfs_create_file("probes", 0644, lbrctx_debugfs_dir, NULL, &lbrctx_probes_fops);
}

void lbrctx_shim_debugfs_exit(void)
{
	debugfs_remove(lbrctx_debugfs_dir);
}
