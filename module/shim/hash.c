// SPDX-License-Identifier: GPL-2.0
/*
 * The store's hash table: an rhashtable of struct lbrctx_hnode keyed by
 * task pointer. Lookups run under RCU only; inserts and removals under the
 * store lock (rhashtable takes its own bucket locks besides).
 */
#include <linux/module.h>
#include <linux/rhashtable.h>
#include <lbrctx/shim.h>
#include "shim_types.h"

static const struct rhashtable_params lbrctx_hash_params = {
	.key_len = sizeof(void *),
	.key_offset = offsetof(struct lbrctx_hnode, key),
	.head_offset = offsetof(struct lbrctx_hnode, node),
	.automatic_shrinking = true,
};

static struct rhashtable lbrctx_hash;

int lbrctx_shim_hash_init(void)
{
	return rhashtable_init(&lbrctx_hash, &lbrctx_hash_params);
}

void lbrctx_shim_hash_destroy(void)
{
	rhashtable_destroy(&lbrctx_hash);
}

void lbrctx_shim_hnode_set_key(void *hnode, const void *key)
{
	((struct lbrctx_hnode *)hnode)->key = key;
}

/* The caller holds rcu_read_lock(); the store lock holds one too (sync.c). */
void *lbrctx_shim_hash_lookup(const void *key)
{
	return rhashtable_lookup(&lbrctx_hash, &key, lbrctx_hash_params);
}

int lbrctx_shim_hash_insert(void *hnode)
{
	return rhashtable_lookup_insert_fast(&lbrctx_hash,
					     &((struct lbrctx_hnode *)hnode)->node,
					     lbrctx_hash_params);
}

int lbrctx_shim_hash_remove(void *hnode)
{
	return rhashtable_remove_fast(&lbrctx_hash, &((struct lbrctx_hnode *)hnode)->node,
				      lbrctx_hash_params);
}
