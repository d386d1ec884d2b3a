/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-side definitions of the objects the C++ embeds as opaque storage.
 * Only the shim (and layout.c, which exports their sizes to the C++)
 * includes this file.
 */
#ifndef LBRCTX_SHIM_TYPES_H
#define LBRCTX_SHIM_TYPES_H

#include <linux/rhashtable-types.h>
#include <linux/uprobes.h>

/* A hash node keyed by a pointer; the C++'s k::HashNode mirrors it. */
struct lbrctx_hnode {
	struct rhash_head node;
	const void *key;
};

/* One user probe: a uprobe and uretprobe consumer on (inode, offset); the C++'s UserProbe holds it. */
struct lbrctx_uprobe {
	struct uprobe_consumer uc;
	struct uprobe *uprobe;	/* 6.12 and later: what uprobe_register() returned */
	struct inode *inode;
	loff_t offset;
	u32 id;
};

#endif
