// SPDX-License-Identifier: GPL-2.0
/*
 * The product's test view (include/lbrctx/kunit_api.h). Built only with
 * the test modules (Kbuild: LBRCTX_TESTS); lbrctx.ko of dkms.conf has none.
 */
#include <lbrctx/core.h>
#include <lbrctx/kunit_api.h>
#include <lbrctx/source.h>
#include <lbrctx/usource.h>

using namespace lbrctx;

extern "C" u32 lbrctx_kunit_pmu_type(void) noexcept
{
	return pmu::the_pmu().type();
}

/* Task context. */
extern "C" void lbrctx_kunit_pmu_stats(struct lbrctx_kunit_counts *out) noexcept
{
	pmu::Stats p = pmu::the_pmu().stats();
	Store::Stats s = the_store().stats();
	Source &src = the_source();
	*out = {.events = p.events,
		.records = p.records,
		.saves = p.saves,
		.restores = p.restores,
		.resets = p.resets,
		.samples = p.samples,
		.dropped = p.dropped,
		.parked = p.parked,
		.probes_registered = src.registered(),
		.probe_users = src.users(),
		.objects = s.objects,
		.global_users = s.global_users,
		.global_attached = s.global_attached,
		.opens = p.opens,
		.opens_refused = p.refused};
}

extern "C" void lbrctx_kunit_switch(void *prev, void *next) noexcept
{
	pmu::the_pmu().on_switch(k::Task(prev), k::Task(next));
}

extern "C" u32 lbrctx_kunit_unit(u64 *rec, u32 max, u64 *lbr_ctl) noexcept
{
	k::IrqSave irqs;
	/* The first unit with users (the tests use one configuration at a time). */
	const auto &units = pmu::the_pmu().this_cpu()->units;
	u32 s = units.active() ? __builtin_ctz(units.active()) : 0;
	const lbr::Unit &u = units.slot(s).unit;
	u32 n = min(u.count(), max);
	for (u32 i = 0; i < n; i++) {
		auto r = u.entry(i);
		rec[3 * i] = r.from;
		rec[3 * i + 1] = r.to;
		rec[3 * i + 2] = r.info;
	}
	*lbr_ctl = u.lbr_ctl();
	return n;
}

extern "C" int lbrctx_kunit_probes_set(const char *spec) noexcept
{
	return the_source().install(spec).error();
}

extern "C" void lbrctx_kunit_probes_get(char *buf, size_t size) noexcept
{
	the_source().spec(buf, size);
}

extern "C" int lbrctx_kunit_uprobes_set(const char *spec) noexcept
{
	return the_user_source().install(spec).error();
}

extern "C" u32 lbrctx_kunit_uprobes_count(void) noexcept
{
	return the_user_source().stats().probes;
}

/*
 * The handlers' lookup (UserSource::current()), as a handler makes it:
 * the caller makes sure no uprobes write replaces the set meanwhile.
 */
extern "C" bool lbrctx_kunit_uprobes_current(u32 id) noexcept
{
	return the_user_source().current(id);
}

extern "C" u32 lbrctx_kunit_task_refs(void *task) noexcept
{
	k::RcuReadGuard rcu;
	TaskData *td = the_store().lookup(k::Task(task));
	return td ? td->refs.read() : 0;
}

extern "C" bool lbrctx_kunit_task_has_global(void *task) noexcept
{
	k::RcuReadGuard rcu;
	TaskData *td = the_store().lookup(k::Task(task));
	return td && td->has_global();
}

extern "C" void *lbrctx_kunit_upstream_cache(void) noexcept
{
	return pmu::the_pmu().upstream_cache();
}

extern "C" void *lbrctx_kunit_store_fault(void) noexcept
{
	return the_store().fault().raw();
}

/* Task context. */
extern "C" int lbrctx_kunit_uprobe_check_elf(void *file, u64 offset) noexcept
{
	void *inode = lbrctx_shim_file_inode(file);
	int ret = UserSource::check_elf(file, inode, offset, "kunit", "kunit").error();
	lbrctx_shim_inode_put(inode);
	return ret;
}

/* Interrupts off. */
extern "C" void *lbrctx_kunit_hw_page(void) noexcept
{
	return pmu::the_pmu().this_cpu()->hw;
}

extern "C" int lbrctx_kunit_hw_slot(void) noexcept
{
	u32 active = pmu::the_pmu().this_cpu()->units.active();
	return active ? __builtin_ctz(active) : -1;
}
