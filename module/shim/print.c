// SPDX-License-Identifier: GPL-2.0
/* printk wrappers: C++ cannot use the printk() macro family. */
#include <linux/bug.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <lbrctx/shim.h>

/* @limited: one rate limit for every refusal a user can trigger at will. */
void lbrctx_shim_log(enum lbrctx_log_level level, bool limited, const char *fmt, ...)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);
	struct va_format vaf;
	va_list args;

	if (limited && !__ratelimit(&rs))
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	/* A level passed as an argument: printk parses it from the formatted text. */
	printk("%c%clbrctx: %pV", KERN_SOH_ASCII, '0' + level, &vaf);
	va_end(args);
}

bool lbrctx_shim_warn(bool cond, const char *what, const char *file, int line)
{
	return WARN(cond, "lbrctx: invariant broken: %s at %s:%d\n", what, file, line);
}
