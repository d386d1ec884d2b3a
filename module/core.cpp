// SPDX-License-Identifier: GPL-2.0
/*
 * Module core: load and unload of the per-task store, the branch source
 * and the PMU, and the debugfs files that show their live state. The order
 * of exit is fixed by the design card: unregister the PMU and probes,
 * tracepoint_synchronize_unregister(), rcu_barrier(), then destroy the
 * caches.
 */
#include <lbrctx/core.h>
#include <lbrctx/hw.h>
#include <lbrctx/source.h>
#include <lbrctx/usource.h>

namespace lbrctx {
namespace {

/* /sys/kernel/debug/lbrctx/<file>: the id each file's callbacks get. */
enum DebugFile : u32 {
	kStoreFile,
	kPmuFile,
	kProbesFile,
	kUprobesFile,
};

struct Module {
	Store store;
	void *debugfs;
	bool store_ready;
	bool source_ready;
	bool user_ready;
	bool hw_ready;
	bool pmu_ready;
};

/* constinit: module loaders do not run constructors. */
constinit Module g_module{};

/*
 * The default probes of the probe source: the VFS entry points, which
 * any workload that reads or writes calls. Tests and demos name their own
 * (the probes parameter, or /sys/kernel/debug/lbrctx/probes).
 */
constexpr const char *kDefaultProbes = "vfs_read,vfs_write";

void teardown()
{
	Module &m = g_module;
	lbrctx_shim_debugfs_remove(m.debugfs);
	m.debugfs = nullptr;
	if (m.pmu_ready)
		pmu::the_pmu().unregister();
	if (m.source_ready)
		the_source().exit();
	if (m.user_ready)
		the_user_source().exit(); /* unregistered and synced: no handler runs */
	if (m.hw_ready)
		hw::the_driver().exit(); /* unbound: no CPU uses its page */
	if (m.store_ready)
		m.store.unhook();
	/* No probe runs past this point; then RCU frees, then the caches. */
	lbrctx_shim_tracepoint_synchronize();
	if (m.store_ready)
		m.store.shutdown(); /* rcu_barrier(), then the store's cache */
	if (m.pmu_ready)
		pmu::the_pmu().destroy();
	m.store_ready = m.source_ready = m.user_ready = m.hw_ready = m.pmu_ready = false;
}

/*
 * The source parameter: the hardware where its device is (auto, hw), the
 * probes otherwise (auto, probes). The load message names the one in use.
 */
Result<void> choose_source()
{
	Module &m = g_module;
	enum lbrctx_source_param want = lbrctx_param_source();
	if (want != LBRCTX_SOURCE_PROBES) {
		auto r = hw::the_driver().init();
		if (!r.is_error()) {
			m.hw_ready = true;
			lbrctx_info(
				"branch source: hw (the QEMU plugin's Arch LBR, %u vCPUs; every taken branch)\n",
				hw::the_driver().nvcpus());
			return {};
		}
		if (want == LBRCTX_SOURCE_HW) {
			lbrctx_err(
				"source=hw: no LBR hardware (the ivshmem device of qemu/plugin, or the plugin behind it): %d\n",
				r.error());
			return r;
		}
	}
	lbrctx_info("branch source: %s; probes '%s'\n", the_source().kind_name(),
		    lbrctx_param_probes() ? lbrctx_param_probes() : kDefaultProbes);
	return {};
}

Result<void> init()
{
	Module &m = g_module;
	if (auto r = m.store.init("lbrctx_task_data", "lbrctx_task_side"); r.is_error()) {
		lbrctx_err("cannot create the task data store: %d\n", r.error());
		return r;
	}
	m.store_ready = true;
	const char *spec = lbrctx_param_probes();
	if (auto r = the_source().init(spec ? spec : kDefaultProbes); r.is_error()) {
		teardown();
		return r;
	}
	m.source_ready = true;
	if (auto r = the_user_source().init(lbrctx_param_uprobes()); r.is_error()) {
		teardown();
		return r;
	}
	m.user_ready = true;
	if (auto r = choose_source(); r.is_error()) {
		teardown();
		return r;
	}
	hw::Driver *hw = m.hw_ready ? &hw::the_driver() : nullptr;
	if (auto r = pmu::the_pmu().init(m.store, the_source(), the_user_source(), hw);
	    r.is_error()) {
		teardown();
		return r;
	}
	m.pmu_ready = true;
	m.debugfs = lbrctx_shim_debugfs_dir("lbrctx", nullptr);
	lbrctx_shim_debugfs_file("store", m.debugfs, false, kStoreFile);
	lbrctx_shim_debugfs_file("pmu", m.debugfs, false, kPmuFile);
	lbrctx_shim_debugfs_file("probes", m.debugfs, true, kProbesFile);
	lbrctx_shim_debugfs_file("uprobes", m.debugfs, true, kUprobesFile);
	m.store.fault().expose("fail_task_data", m.debugfs);
	lbrctx_info("loaded (xsave %s, task data %u bytes)\n",
		    lbrctx_shim_cpu_has_xsave() ? "yes" : "no", static_cast<u32>(sizeof(TaskData)));
	return {};
}

void show_store(void *seq)
{
	Store::Stats s = g_module.store.stats();
	lbrctx_shim_seq_printf(seq,
			       "objects %llu\nattaches %llu\ndetaches %llu\nglobal_users %llu\n"
			       "global_attached %llu\nalloc_failures %llu\nallocs %llu\n"
			       "object_size %llu\nside_blocks %llu\n",
			       s.objects, s.attaches, s.detaches, s.global_users, s.global_attached,
			       s.alloc_failures, s.allocs, s.object_size, g_module.store.sides());
}

void show_pmu(void *seq)
{
	pmu::Stats s = pmu::the_pmu().stats();
	hw::Stats h = hw::the_driver().stats();
	Source &src = the_source();
	UserSource::Stats u = the_user_source().stats();
	lbrctx_shim_seq_printf(
		seq,
		"events %llu\nrecords %llu\nsaves %llu\nrestores %llu\nresets %llu\n"
		"samples %llu\ndropped %llu\nprobes_registered %u\nprobe_users %u\n"
		"probe_missed %llu\nsave_restore %d\nunits %llu\nparked %llu\n"
		"rotations %llu\nunsaved %llu\nuprobes %u\nuprobes_registered %u\n"
		"uprobe_users %u\nuprobe_entries %llu\nuprobe_returns %llu\n"
		"uprobe_unreadable %llu\nuprobe_refilters %llu\nuprobe_tailcalls %llu\n"
		"uprobe_unknown_callers %llu\nuprobes_bytes %llu\nuprobes_text_bytes %llu\n"
		"uprobe_size %u\nunwound %llu\n"
		"pending_calls %llu\nsource %s\nhw_present %d\nhw_commands %llu\n"
		"hw_refused %llu\nhw_bad %llu\nopens %llu\nopens_refused %llu\n",
		s.events, s.records, s.saves, s.restores, s.resets, s.samples, s.dropped,
		src.registered(), src.users(), src.missed(), lbrctx_param_save_restore(), s.units,
		s.parked, s.rotations, s.unsaved, u.probes, u.registered, u.users, u.entries,
		u.returns, u.unreadable, u.refilters, u.tailcalls, u.unknown, u.bytes, u.text,
		u.probe_size, s.unwound, s.pending_calls,
		pmu::the_pmu().source() == pmu::SourceKind::Hw ? "hw" : "probes",
		hw::the_driver().present(), h.commands, h.refused, h.bad, s.opens, s.refused);
}

} // namespace

Store &the_store()
{
	return g_module.store;
}

} // namespace lbrctx

using namespace lbrctx;

/* Task context (module_init). */
extern "C" int lbrctx_core_init(void) noexcept
{
	return init().error();
}

/* Task context (module_exit). */
extern "C" void lbrctx_core_exit(void) noexcept
{
	teardown();
	lbrctx_info("unloaded\n");
}

/* Workqueue, kicked by Store::take_side(): task context, may sleep. */
extern "C" void lbrctx_store_refill(void) noexcept
{
	the_store().refill_sides();
}

/* debugfs read (seq_file show): task context, may sleep. */
extern "C" void lbrctx_debugfs_show(u32 id, void *seq) noexcept
{
	switch (id) {
	case kStoreFile:
		show_store(seq);
		break;
	case kPmuFile:
		show_pmu(seq);
		break;
	case kProbesFile:
		the_source().show(seq);
		break;
	case kUprobesFile:
		the_user_source().show(seq);
		break;
	}
}

/*
 * debugfs write of @n bytes, copied and NUL-terminated into @buf (null
 * when @n is LBRCTX_DEBUGFS_WRITE_MAX or more: refused for its length).
 * Every refusal logs its line. Task context, may sleep.
 */
extern "C" int lbrctx_debugfs_write(u32 id, const char *buf, size_t n) noexcept
{
	if (id == kProbesFile)
		return the_source().install(buf, n).error();
	if (id == kUprobesFile)
		return the_user_source().install(buf, n).error();
	lbrctx_refusal("debugfs file %u takes no writes\n", id);
	return -LBRCTX_K_EINVAL;
}
