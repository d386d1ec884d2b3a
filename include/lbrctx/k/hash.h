/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HashTable: the kernel's rhashtable keyed by a pointer. Lookups run under
 * RCU alone; inserts and removals under the owner's lock (rhashtable takes
 * its own bucket locks besides). Nodes are HashNode, embedded in the
 * object; the C++ sets the key, only the kernel touches the link.
 */
#pragma once

#include <lbrctx/result.h>

namespace lbrctx::k {

struct HashNode {
	void *link; /* struct rhash_head: the kernel's */
	const void *key;
};
static_assert(sizeof(HashNode) == LBRCTX_K_SIZEOF_HNODE &&
		      alignof(HashNode) >= LBRCTX_K_ALIGNOF_HNODE,
	      "HashNode mirrors the shim's struct lbrctx_hnode");
static_assert(__builtin_offsetof(HashNode, key) == LBRCTX_K_HNODE_KEY,
	      "the key follows the rhash_head");

class HashTable : Pinned {
public:
	constexpr HashTable() = default;
	/* Task context. */
	Result<void> init()
	{
		if (int ret = lbrctx_shim_hash_init(m_ht.get()))
			return Error{ret};
		m_ready = true;
		return {};
	}
	void destroy()
	{
		if (m_ready)
			lbrctx_shim_hash_destroy(m_ht.get());
		m_ready = false;
	}
	/* Under RCU (or the owner's lock, which takes an RCU section too). */
	HashNode *lookup(const void *key)
	{
		return static_cast<HashNode *>(lbrctx_shim_hash_lookup(m_ht.get(), key));
	}
	/* The bucket array's bytes. */
	u64 table_bytes() { return m_ready ? lbrctx_shim_hash_table_bytes(m_ht.get()) : 0; }
	/* -EEXIST when the key is there already. */
	int insert(HashNode &n) { return lbrctx_shim_hash_insert(m_ht.get(), &n); }
	int remove(HashNode &n) { return lbrctx_shim_hash_remove(m_ht.get(), &n); }

private:
	KernelStorage<LBRCTX_K_SIZEOF_RHASHTABLE, LBRCTX_K_ALIGNOF_RHASHTABLE> m_ht{};
	bool m_ready = false;
};

} // namespace lbrctx::k
