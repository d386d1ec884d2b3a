/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-task store: PMU task data that lives with the task (seed 003),
 * from a dedicated 64-byte-aligned kmem_cache (seeds 000/001), refcounted,
 * installed lazily with one winner per task, and freed after an RCU grace
 * period on the last put (seed 004).
 *
 * One slab object per monitored task: a one-cache-line header followed by
 * the Arch LBR XSAVE area. Upstream's perf_ctx_data takes two allocations
 * (a kzalloc'd header plus the cache object); this layout takes one.
 */
#pragma once

#include <lbrctx/result.h>
#include <lbrctx/xsave.h>

namespace lbrctx {

/* Room for a kernel object whose size the generated layout gives. */
template <size_t Size, size_t Align> struct alignas(Align) KernelStorage {
	u8 bytes[Size];
};

struct ListLink {
	ListLink *prev;
	ListLink *next;
};

namespace store {
inline constexpr size_t kHeaderSize = 64;
/* Header flag: the object is in the hash table (under the store lock). */
inline constexpr u16 kHashed = 1;
/*
 * Header flag: the task itself holds one reference, dropped when it exits
 * (per-task perf events; see lbrctx_store_attach_task_owned()). Store lock.
 */
inline constexpr u16 kTaskOwned = 2;
} // namespace store

} // namespace lbrctx

struct alignas(64) lbrctx_task_data {
	/* Header: one cache line. */
	lbrctx::KernelStorage<LBRCTX_K_SIZEOF_REFCOUNT, 4> refcount;
	/* References held by global (system-wide) users: 0 or 1. Store lock. */
	u16 global_refs;
	u16 flags;
	/* The key: the task_struct this data belongs to. */
	void *task;
	lbrctx::KernelStorage<LBRCTX_K_SIZEOF_HNODE, 8> hnode;
	lbrctx::ListLink link;
	lbrctx::KernelStorage<LBRCTX_K_SIZEOF_RCU_HEAD, LBRCTX_K_ALIGNOF_RCU_HEAD> rcu;
	/* Payload: the task's LBR state in XSAVE layout, on a 64-byte boundary. */
	lbrctx::xsave::LbrArea lbr;
};

namespace lbrctx {
using TaskData = ::lbrctx_task_data;

static_assert(__builtin_offsetof(TaskData, lbr) == store::kHeaderSize,
	      "the header is one cache line and the payload starts right after it");
static_assert(__builtin_offsetof(TaskData, lbr) % xsave::kAlign == 0,
	      "XSAVE needs the payload 64-byte aligned (SDM Vol. 1, 13.7)");
static_assert(sizeof(TaskData) ==
		      round_up<size_t>(store::kHeaderSize + sizeof(xsave::LbrArea), 64),
	      "one object per task: header plus payload, rounded to the alignment");
static_assert(alignof(TaskData) == 64, "the cache is created with alignof(TaskData)");
static_assert(sizeof(TaskData::hnode) == LBRCTX_K_SIZEOF_HNODE &&
		      alignof(decltype(TaskData::hnode)) >= LBRCTX_K_ALIGNOF_HNODE,
	      "room for the shim's struct lbrctx_hnode");

namespace store {
/* Module load: the cache and the hash table. Task context. */
Result<void> init();
/*
 * Module unload, after the probes are unregistered and synchronized:
 * drops global references, waits for the RCU frees (rcu_barrier) and
 * destroys the cache, which must find zero objects. Task context.
 */
void shutdown();
} // namespace store
} // namespace lbrctx
