// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/lbrctx: files whose contents the C++ makes. A file's
 * id (its i_private) tells lbrctx_debugfs_show() and lbrctx_debugfs_write()
 * which it is.
 */
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <lbrctx/shim.h>

static int lbrctx_file_show(struct seq_file *m, void *v)
{
	lbrctx_debugfs_show((u32)(unsigned long)m->private, m);
	return 0;
}

static int lbrctx_file_open(struct inode *inode, struct file *f)
{
	return single_open(f, lbrctx_file_show, inode->i_private);
}

/*
 * A write is a whole setting, in one write(): its bytes, NUL-terminated,
 * go to the C++, which logs and returns any refusal. A write of
 * LBRCTX_DEBUGFS_WRITE_MAX bytes or more is not copied: the C++ gets its
 * length alone and refuses it (-E2BIG) with its own line. One that cannot
 * be copied is logged here.
 */
static ssize_t lbrctx_file_write(struct file *f, const char __user *ubuf, size_t n,
				 loff_t *pos)
{
	struct seq_file *m = f->private_data;
	u32 id = (u32)(unsigned long)m->private;
	char *buf;
	int ret;

	if (n >= LBRCTX_DEBUGFS_WRITE_MAX)
		return lbrctx_debugfs_write(id, NULL, n) ?: -E2BIG;
	buf = kvmalloc(n + 1, GFP_KERNEL);
	ret = !buf ? -ENOMEM : copy_from_user(buf, ubuf, n) ? -EFAULT : 0;
	if (ret) {
		lbrctx_shim_log(LBRCTX_LOG_INFO, true, "%pD: a write of %zu bytes not copied (%d)\n",
				f, n, ret);
		kvfree(buf);
		return ret;
	}
	buf[n] = 0;
	ret = lbrctx_debugfs_write(id, buf, n);
	kvfree(buf);
	return ret ? ret : n;
}

static const struct file_operations lbrctx_file_fops = {
	.owner = THIS_MODULE,
	.open = lbrctx_file_open,
	.read = seq_read,
	.write = lbrctx_file_write,
	.llseek = seq_lseek,
	.release = single_release,
};

void *lbrctx_shim_debugfs_dir(const char *name, void *parent)
{
	return debugfs_create_dir(name, parent);
}

void lbrctx_shim_debugfs_file(const char *name, void *dir, bool writable, u32 id)
{
	debugfs_create_file(name, writable ? 0644 : 0444, dir, (void *)(unsigned long)id,
			    &lbrctx_file_fops);
}

void lbrctx_shim_debugfs_remove(void *dir)
{
	debugfs_remove(dir);
}

void lbrctx_shim_seq_printf(void *seq, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	seq_printf(seq, "%pV", &vaf);
	va_end(args);
}
