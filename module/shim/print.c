// SPDX-License-Identifier: GPL-2.0
/* printk wrappers: C++ cannot use the printk() macro family. */
#include <linux/bug.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <lbrctx/shim.h>

static void lbrctx_vlog(enum lbrctx_log_level level, struct va_format *vaf)
{
	switch (level) {
	case LBRCTX_LOG_ERR:
		pr_err("lbrctx: %pV", vaf);
		break;
	case LBRCTX_LOG_WARNING:
		pr_warn("lbrctx: %pV", vaf);
		break;
	default:
		pr_info("lbrctx: %pV", vaf);
		break;
	}
}

void lbrctx_shim_log(enum lbrctx_log_level level, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	lbrctx_vlog(level, &vaf);
	va_end(args);
}

void lbrctx_shim_log_rl(enum lbrctx_log_level level, const char *fmt, ...)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);
	struct va_format vaf;
	va_list args;

	if (!__ratelimit(&rs))
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	lbrctx_vlog(level, &vaf);
	va_end(args);
}

bool lbrctx_shim_warn(bool cond, const char *what, const char *file, int line)
{
	return WARN(cond, "lbrctx: invariant broken: %s at %s:%d\n", what, file, line);
}

int lbrctx_shim_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list args;
	int n;

	va_start(args, fmt);
	n = vscnprintf(buf, size, fmt, args);
	va_end(args);
	return n;
}
