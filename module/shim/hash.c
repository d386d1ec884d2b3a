// SPDX-License-Identifier: GPL-2.0
/*
 * rhashtables of struct lbrctx_hnode keyed by a pointer, in storage the
 * C++ owns (k::HashTable). Lookups run under RCU; the owner serializes
 * inserts and removals (rhashtable takes its own bucket locks besides).
 */
#include <linux/rhashtable.h>
#include <lbrctx/shim.h>
#include "shim_types.h"

static const struct rhashtable_params lbrctx_hash_params = {
	.key_len = sizeof(void *),
	.key_offset = offsetof(struct lbrctx_hnode, key),
	.head_offset = offsetof(struct lbrctx_hnode, node),
	.automatic_shrinking = true,
};

int lbrctx_shim_hash_init(void *ht)
{
	return rhashtable_init(ht, &lbrctx_hash_params);
}

void lbrctx_shim_hash_destroy(void *ht)
{
	rhashtable_destroy(ht);
}

/* The bucket array's size in bytes (a statistic). */
u64 lbrctx_shim_hash_table_bytes(void *ht)
{
	struct rhashtable *t = ht;
	u64 bytes;

	rcu_read_lock();
	bytes = struct_size(rcu_dereference(t->tbl), buckets, rcu_dereference(t->tbl)->size);
	rcu_read_unlock();
	return bytes;
}

void *lbrctx_shim_hash_lookup(void *ht, const void *key)
{
	return rhashtable_lookup(ht, &key, lbrctx_hash_params);
}

int lbrctx_shim_hash_insert(void *ht, void *hnode)
{
	return rhashtable_lookup_insert_fast(ht, &((struct lbrctx_hnode *)hnode)->node,
					     lbrctx_hash_params);
}

int lbrctx_shim_hash_remove(void *ht, void *hnode)
{
	return rhashtable_remove_fast(ht, &((struct lbrctx_hnode *)hnode)->node,
				      lbrctx_hash_params);
}
