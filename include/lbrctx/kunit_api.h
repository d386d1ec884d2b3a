/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The product's test view: what lbrctx.ko shows lbrctx_kunit.ko of its own
 * instances (module/kunit_api.cpp), exported with EXPORT_SYMBOL_IF_KUNIT
 * (module/shim/exports.c). Built only with the test modules; reads, and
 * the one call a test needs to play the scheduler (lbrctx_kunit_switch).
 */
#ifndef LBRCTX_KUNIT_API_H
#define LBRCTX_KUNIT_API_H

#include <lbrctx/shim.h>

struct lbrctx_kunit_counts {
	u64 events;		/* the PMU's */
	u64 records;
	u64 saves;
	u64 restores;
	u64 resets;
	u64 samples;
	u64 dropped;
	u64 parked;		/* events waiting for a unit now */
	u32 probes_registered;	/* the branch source's */
	u32 probe_users;
	u64 objects;		/* the store's */
	u64 global_users;
	u64 global_attached;
	u64 opens;		/* the PMU's event_init of its type, inherited aside */
	u64 opens_refused;
};

#ifdef __cplusplus
extern "C" {
#endif
u32 lbrctx_kunit_pmu_type(void) LBRCTX_NOEXCEPT;
void lbrctx_kunit_pmu_stats(struct lbrctx_kunit_counts *out) LBRCTX_NOEXCEPT;
/* What the sched_switch hook does for @prev -> @next. Interrupts off. */
void lbrctx_kunit_switch(void *prev, void *next) LBRCTX_NOEXCEPT;
/*
 * This CPU's unit: up to @max records, youngest first, as FROM, TO, INFO
 * triples in @rec, and its LBR_CTL. Returns the number of records.
 */
u32 lbrctx_kunit_unit(u64 *rec, u32 max, u64 *lbr_ctl) LBRCTX_NOEXCEPT;
/* The branch source's probe set, as /sys/kernel/debug/lbrctx/probes. */
int lbrctx_kunit_probes_set(const char *spec) LBRCTX_NOEXCEPT;
void lbrctx_kunit_probes_get(char *buf, size_t size) LBRCTX_NOEXCEPT;
/* The user branch source's set, as a write of /sys/kernel/debug/lbrctx/uprobes; its size. */
int lbrctx_kunit_uprobes_set(const char *spec) LBRCTX_NOEXCEPT;
u32 lbrctx_kunit_uprobes_count(void) LBRCTX_NOEXCEPT;
/* The user source's handler lookup: is @id (probe index << 1 | consumer) current? */
bool lbrctx_kunit_uprobes_current(u32 id) LBRCTX_NOEXCEPT;
/* @task's data in the product store: its references (0: none), its global one. */
u32 lbrctx_kunit_task_refs(void *task) LBRCTX_NOEXCEPT;
bool lbrctx_kunit_task_has_global(void *task) LBRCTX_NOEXCEPT;
/* The product store's fault_attr (debugfs fail_task_data), for lbrctx_kt_fault_set(). */
void *lbrctx_kunit_store_fault(void) LBRCTX_NOEXCEPT;
/* The uprobe set's check of an opened @file (UserSource::check_elf()): 0 or -errno. */
int lbrctx_kunit_uprobe_check_elf(void *file, u64 offset) LBRCTX_NOEXCEPT;
/*
 * The hardware source (module/hw.cpp): this CPU's page (struct hw::Vcpu)
 * or NULL, and its first unit with users or -1. Interrupts off.
 */
void *lbrctx_kunit_hw_page(void) LBRCTX_NOEXCEPT;
int lbrctx_kunit_hw_slot(void) LBRCTX_NOEXCEPT;
/* The kmem_cache store=upstream gives the perf core, or NULL before 6.15. */
void *lbrctx_kunit_upstream_cache(void) LBRCTX_NOEXCEPT;
#ifdef __cplusplus
}
#endif

#endif
