// SPDX-License-Identifier: GPL-2.0
/*
 * lbrctx's guest LBR hardware as a QEMU TCG plugin (plugin API version 1,
 * QEMU 7.2): the glue between QEMU and the model (model.h). The contract
 * with the guest's driver is include/lbrctx/hwlbr.h.
 *
 *   -plugin lbrctx-plugin.so,shm=FILE[,log=FILE][,mode=lazy|always]
 *
 * shm is the memory-backend-file of the ivshmem-plain device the driver
 * maps (hw::kRegionSize bytes, share=on); the plugin maps the same file
 * MAP_SHARED, so both see one page cache. log gets the counters at exit.
 * mode (model.h, Model::Mode): lazy, the default, instruments only the
 * doorbells until the driver enables a unit; always instruments every
 * block from the start.
 *
 * What QEMU 7.2 guarantees that this relies on (read in its source):
 *  - An instruction's exec callback runs before the instruction, on the
 *    vCPU's thread, as a helper call TCG emitted at the instruction's
 *    start (accel/tcg/translator.c translator_loop(): plugin_gen_insn_start()
 *    before ops->translate_insn()). So a doorbell's command is done when
 *    the NOP executes, before the next instruction, as WRMSR's would be.
 *  - A block's exec callback runs at its start, after the check for a
 *    pending interrupt or exit request (gen_tb_start() precedes
 *    plugin_gen_tb_start() in translator_loop()): a block that check cut
 *    at its start runs no callback. Interrupts are delivered only between
 *    blocks (accel/tcg/cpu-exec.c cpu_handle_interrupt()), so the block
 *    before an interrupt's handler completed; an exception may end a
 *    block at any instruction (cpu_loop_exit()).
 *  - qemu_plugin_reset() (plugins/loader.c plugin_reset_uninstall()) is
 *    asynchronous: it queues safe work on the calling vCPU
 *    (async_safe_run_on_cpu(), all vCPUs stopped) that flushes every
 *    translation (tb_flush()), then unregisters every callback of the
 *    plugin, the translation, flush and atexit ones included, then calls
 *    the plugin's reset callback. Until then the blocks translated before
 *    keep calling the callbacks they were translated with. Nothing can
 *    run a stale block after the flush: QEMU keeps no other code.
 *  - tb_flush() (accel/tcg/tb-maint.c do_tb_flush()) calls the flush
 *    callbacks once every block is gone.
 *
 * Cost, measured on QEMU 7.2, a 7.3 guest kernel with 2 vCPUs, busybox
 * gzip of 20 MB twice, as QEMU's own CPU time over the workload, median
 * of 5 runs of the four cases side by side (the 2-core host was loaded,
 * so single runs vary by 30%): no plugin 8.3 s; lazy with no unit
 * enabled 8.6 s (1.04x; the median of the per-run ratios 0.99x: only the
 * doorbells are instrumented); always, no unit, 11.4 s (1.38x, 1.35x:
 * one exec callback per block is the floor of this design); a unit
 * recording every branch 16.1 s (1.95x, 1.85x; 2.3x to 2.9x before the
 * model held plain-mode branches back and kept the common path free of
 * calls, see model.h). About 1.3 billion block executions.
 *
 * Threading: single-threaded TCG only (-accel tcg,thread=single, as
 * qemu/run.sh runs it): every vCPU, and so every callback, runs on one
 * thread, and neither the model nor this glue takes a lock. The API tells
 * a plugin nothing of the threading, so the plugin watches which thread
 * translates, and stops QEMU at once when a second one does.
 * Multi-threaded TCG would need: the interned blocks and the tasks'
 * entries under a lock (or per-thread copies); the REP-only blocks'
 * counter per vCPU, which API 1 cannot give (an inline op adds to one
 * address for every vCPU, non-atomically), so an exec callback on those
 * blocks again; the lazy mode's global state (which vCPUs have a unit on,
 * the idle count) atomic; the vector table published with release and
 * acquire; and a fence between a driver that reads another CPU's page and
 * the plugin (hwlbr.h). A reset asked for by one vCPU while the others run
 * is fine as it is: its safe work stops them all.
 */
#include "model.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include <qemu-plugin.h>
}

using lbrctx::plugin::Block;
using lbrctx::plugin::Model;
namespace hw = lbrctx::hw;

extern "C" {
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
}

namespace {

struct Glue {
	qemu_plugin_id_t id = 0;
	/*
	 * The model, in storage of its own: on_block() then finds its vCPU
	 * array at a fixed address, one dependent load fewer per block than
	 * through a pointer.
	 */
	alignas(Model) unsigned char storage[sizeof(Model)];
	Model *model = nullptr;
	FILE *log = nullptr;
	/* A qemu_plugin_reset() is queued: a second would be dropped (ctx->resetting). */
	bool reset_pending = false;
	bool have_thread = false;
	pthread_t thread{};
};

Glue g;

[[noreturn]] void fatal(const char *what)
{
	/* qemu_plugin_outs() goes to QEMU's log only with -d plugin: stderr always shows. */
	std::fprintf(stderr, "lbrctx-plugin: %s\n", what);
	std::fflush(stderr);
	_exit(1);
}

/* Execution: a block starts. The model's hot path, inlined here. */
void on_block(unsigned int vcpu, void *udata)
{
	std::launder(reinterpret_cast<Model *>(g.storage))
		->block(vcpu, static_cast<const Block *>(udata));
}

void on_doorbell(unsigned int vcpu, void *udata)
{
	g.model->doorbell(vcpu, static_cast<u8>(reinterpret_cast<uintptr_t>(udata)));
}

void on_user_doorbell(unsigned int vcpu, void *)
{
	g.model->user_doorbell(vcpu);
}

/*
 * Translation. The doorbells get an exec callback always; that scan is
 * all the plugin costs while no unit is enabled (lazy mode): TCG runs
 * every other block as it would without the plugin. Once instrumented,
 * each block gets one exec callback, with its interned Block: one
 * indirect call per block execution, rather than one per instruction
 * (an insn callback on the last instruction would be as exact, but a
 * block cut by an exception would not run it, and the model needs the
 * block's start first).
 */
void on_tb_trans(qemu_plugin_id_t, struct qemu_plugin_tb *tb)
{
	const pthread_t self = pthread_self();
	if (!g.have_thread) {
		g.thread = self;
		g.have_thread = true;
	} else if (!pthread_equal(self, g.thread)) {
		fatal("a second TCG thread translates: multi-threaded TCG is not supported "
		      "(run QEMU with -accel tcg,thread=single)");
	}
	const size_t n = qemu_plugin_tb_n_insns(tb);
	if (n == 0)
		return;
	struct qemu_plugin_insn *insn = nullptr;
	for (size_t i = 0; i < n; i++) {
		insn = qemu_plugin_tb_get_insn(tb, i);
		if (qemu_plugin_insn_size(insn) != hw::kDoorbellLength)
			continue;
		const u8 cmd =
			hw::doorbell_command(static_cast<const u8 *>(qemu_plugin_insn_data(insn)));
		if (!cmd)
			continue;
		/*
		 * Only the kernel's: a user program could ring the doorbell too,
		 * but WRMSR and XSAVES are privileged, and so is this.
		 */
		if (lbrctx::plugin::is_kernel(qemu_plugin_insn_vaddr(insn)))
			qemu_plugin_register_vcpu_insn_exec_cb(
				insn, on_doorbell, QEMU_PLUGIN_CB_NO_REGS,
				reinterpret_cast<void *>(uintptr_t{cmd}));
		else
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_user_doorbell,
							       QEMU_PLUGIN_CB_NO_REGS, nullptr);
	}
	if (!g.model->instrumented())
		return;
	const Block *b = g.model->intern(qemu_plugin_tb_vaddr(tb), static_cast<u32>(n),
					 qemu_plugin_insn_vaddr(insn),
					 static_cast<const u8 *>(qemu_plugin_insn_data(insn)),
					 static_cast<u32>(qemu_plugin_insn_size(insn)));
	if (Model::rep_only(b))
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
							 g.model->rep_counter(), 1);
	else
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS,
						     const_cast<Block *>(b));
}

void on_flush(qemu_plugin_id_t)
{
	g.model->flushed();
}

void on_exit(qemu_plugin_id_t, void *)
{
	if (!g.log)
		return;
	const std::string r = g.model->report();
	std::fwrite(r.data(), 1, r.size(), g.log);
	std::fclose(g.log);
	g.log = nullptr;
}

void register_callbacks()
{
	qemu_plugin_register_vcpu_tb_trans_cb(g.id, on_tb_trans);
	qemu_plugin_register_flush_cb(g.id, on_flush);
	qemu_plugin_register_atexit_cb(g.id, on_exit, nullptr);
}

/* The reset's safe work, every block flushed: retranslation starts now. */
void on_reset(qemu_plugin_id_t)
{
	register_callbacks();
	g.reset_pending = false;
	g.model->retranslated();
}

/* The model wants the exec callbacks on or off (lazy mode): have QEMU retranslate. */
void on_want(void *)
{
	if (g.reset_pending)
		return;
	g.reset_pending = true;
	qemu_plugin_reset(g.id, on_reset);
}

bool arg(std::string_view a, std::string_view key, std::string_view &value)
{
	if (a.size() <= key.size() || a.substr(0, key.size()) != key || a[key.size()] != '=')
		return false;
	value = a.substr(key.size() + 1);
	return true;
}

} // namespace

extern "C" QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
						      int argc, char **argv)
{
	std::string_view shm, log, mode = "lazy";
	for (int i = 0; i < argc; i++) {
		std::string_view v;
		if (arg(argv[i], "shm", v))
			shm = v;
		else if (arg(argv[i], "log", v))
			log = v;
		else if (arg(argv[i], "mode", v))
			mode = v;
		else {
			std::fprintf(stderr, "lbrctx-plugin: unknown argument '%s'\n", argv[i]);
			return 1;
		}
	}
	if (mode != "lazy" && mode != "always") {
		std::fprintf(stderr, "lbrctx-plugin: mode must be lazy or always\n");
		return 1;
	}
	if (shm.empty()) {
		std::fprintf(stderr,
			     "lbrctx-plugin: shm=FILE (the ivshmem memory backend) is required\n");
		return 1;
	}
	if (!info->system_emulation || std::string_view(info->target_name) != "x86_64") {
		std::fprintf(stderr, "lbrctx-plugin: x86_64 system emulation only\n");
		return 1;
	}
	/* Hot-pluggable vCPUs included: their pages must be there when they come. */
	const int nvcpus = info->system.max_vcpus;
	if (nvcpus < 1 || static_cast<u32>(nvcpus) > hw::kMaxVcpus) {
		std::fprintf(stderr, "lbrctx-plugin: %d vCPUs; the region has pages for %u\n",
			     nvcpus, hw::kMaxVcpus);
		return 1;
	}

	const std::string path(shm);
	const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		std::fprintf(stderr, "lbrctx-plugin: %s: %s\n", path.c_str(), std::strerror(errno));
		return 1;
	}
	if (static_cast<u64>(st.st_size) < hw::kRegionSize) {
		std::fprintf(stderr, "lbrctx-plugin: %s has %lld bytes, not %zu\n", path.c_str(),
			     static_cast<long long>(st.st_size),
			     static_cast<size_t>(hw::kRegionSize));
		close(fd);
		return 1;
	}
	void *region = mmap(nullptr, hw::kRegionSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (region == MAP_FAILED) {
		std::fprintf(stderr, "lbrctx-plugin: mmap %s: %s\n", path.c_str(),
			     std::strerror(errno));
		return 1;
	}
	if (!log.empty()) {
		g.log = std::fopen(std::string(log).c_str(), "w");
		if (!g.log) {
			std::fprintf(stderr, "lbrctx-plugin: %s: %s\n", std::string(log).c_str(),
				     std::strerror(errno));
			munmap(region, hw::kRegionSize);
			return 1;
		}
	}

	g.id = id;
	/* Lives as long as QEMU: the callbacks use it until exit, and it is never unloaded. */
	g.model = new (g.storage) Model(region, static_cast<u32>(nvcpus),
					mode == "always" ? Model::Mode::Always : Model::Mode::Lazy);
	g.model->set_hook(on_want, nullptr);
	register_callbacks();
	return 0;
}
