/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's LBR hardware, without QEMU: what the plugin
 * (lbrctx-plugin.cpp, the glue) feeds with translated blocks, block
 * executions and doorbells, and what the host tests (tests/test_model.cpp)
 * drive with synthetic ones. The contract with the guest's driver is
 * include/lbrctx/hwlbr.h; the units are include/lbrctx/lbr.h's, as the
 * probe sources use them; the last instruction of each block is decoded
 * with include/lbrctx/x86.h.
 *
 * Branches are inferred from consecutive blocks: TCG ends a block at every
 * control transfer, so a block's last instruction and the block that runs
 * next say which branch retired. What the successor alone cannot say is
 * where an interrupted or faulted block would have gone; those entries
 * wait on a small stack per vCPU for the IRET that returns there (see
 * Model::enter()).
 *
 * What the exec path costs, and what each choice saves (the guest's speed
 * is the budget: lbrctx-plugin.cpp's comment has the figures measured):
 *  - No unit enabled anywhere (lazy mode): no exec callback at all, only
 *    the doorbells' (Mode::Lazy).
 *  - One callback per block, at its start, with its interned Block: no
 *    per-instruction callback, and nothing to look up when it runs.
 *  - A block that is a REP string instruction alone, which TCG runs once
 *    per iteration, gets an inline counter increment instead of a call
 *    (rep_only()): a 4 KiB clear_page is 4096 such runs.
 *  - Plain-mode units get their branches in batches (commit()): a branch
 *    costs a few stores, and of each batch only the last depth are
 *    recorded. Call-stack units still take every call and return. On a
 *    host microbenchmark of block() (a synthetic trace, one unit taking
 *    every branch) that is 6 to 7 ns per block, against 18 to 28 ns when
 *    each branch went through lbr::Unit::record(), and 2 ns with no unit.
 *
 * Threading: every call runs on the one thread of single-threaded TCG
 * (lbrctx-plugin.cpp refuses multi-threaded TCG), so nothing here locks.
 */
#pragma once

#include <lbrctx/hwlbr.h>
#include <lbrctx/lbr.h>
#include <lbrctx/x86.h>

#include <memory>
#include <string>
#include <unordered_map>

namespace lbrctx::plugin {

/* The canonical hole: user addresses are below it, kernel ones above (4-level paging). */
inline constexpr u64 kKernelStart = 0xffff800000000000ull;

constexpr bool is_user(u64 a)
{
	return a >> 47 == 0;
}

constexpr bool is_kernel(u64 a)
{
	return a >= kKernelStart;
}

/*
 * A translated block as the branch inference needs it. Interned: every
 * translation of the same code shares one (QEMU tells no block's end of
 * life, and retranslations of the same code are common), so a block's
 * exec callback takes a pointer to it.
 */
struct Block {
	u64 start;
	u64 last;	 /* the last instruction's address */
	u64 fallthrough; /* last + QEMU's size of it */
	u64 target;	 /* a direct Jcc, Jmp or Call's target, else 0 */
	u32 ninsns;
	x86::Kind kind; /* the last instruction's */
	/* Int and Ud: the vector they raise (int3: 3, int n: n, ud2: 6), else -1. */
	s16 soft_vector;
	/* The IDT vector whose handler starts here (hw::Global::vectors), else -1. */
	s16 vector;
};

/* Per vCPU; written to the log at exit, and in part to the control block. */
struct Counters {
	u64 blocks;	    /* block executions seen */
	u64 branches;	    /* branches offered to the units (hw::Control::branches) */
	u64 records;	    /* records the units took, all units together */
	u64 interrupts;	    /* interrupt and exception entries */
	u64 resolved;	    /* entries whose interrupted branch was told later */
	u64 unresolved;	    /* entries whose interrupted branch was never told */
	u64 doorbells;	    /* doorbells run (commands) */
	u64 refused;	    /* commands refused */
	u64 user_doorbells; /* doorbells at user addresses: ignored */
	u64 lost;	    /* a block that follows its predecessor in no way known */
};

class Model {
public:
	enum class Mode : u8 {
		/*
		 * Instrument only the doorbells until a unit is enabled, then
		 * have every block retranslated with its exec callback (the
		 * glue's qemu_plugin_reset()); back when no unit has been
		 * enabled for kIdleBlocks block executions.
		 */
		Lazy,
		/* Every block's exec callback from the start (the benchmark's worst case). */
		Always,
	};
	/* Called when wants_instrumentation() changed; the glue has QEMU retranslate. */
	using Hook = void (*)(void *);

	/* Entries of the pending stack a vCPU keeps (nested interrupts, exceptions, NMIs). */
	static constexpr u32 kStack = 8;
	/* Tasks whose pending entries are kept while they are switched out. */
	static constexpr size_t kMaxTasks = 4096;
	/* Branches a vCPU holds back from its plain-mode units (see commit()). */
	static constexpr u32 kRaw = 512;
	/* Interned blocks kept across a flush of QEMU's code cache. */
	static constexpr size_t kMaxBlocks = 1u << 20;
	/* Lazy: block executions with no unit enabled before the exec callbacks go. */
	static constexpr u64 kIdleBlocks = 1ull << 26;

	/*
	 * @region: the mapped hw::kRegionSize bytes; @nvcpus at most
	 * hw::kMaxVcpus. Writes the global page's and every vCPU page's
	 * identification, as the device would at reset.
	 */
	Model(void *region, u32 nvcpus, Mode mode);
	~Model();
	Model(const Model &) = delete;
	Model &operator=(const Model &) = delete;

	u32 nvcpus() const { return m_nvcpus; }
	Mode mode() const { return m_mode; }
	void set_hook(Hook hook, void *arg)
	{
		m_hook = hook;
		m_hook_arg = arg;
	}

	/*
	 * Translation: the block at @start of @ninsns instructions whose last
	 * one is at @last, @size bytes (QEMU's count) at @bytes.
	 */
	const Block *intern(u64 start, u32 ninsns, u64 last, const u8 *bytes, u32 size);
	/* Translation: whether blocks get their exec callback now. */
	bool instrumented() const { return m_instrumented; }
	/*
	 * Translation: a block that is one REP string instruction alone runs
	 * once per iteration (TCG loops it back to itself), thousands of
	 * times for a page. It gets no exec callback but this counter's
	 * inline increment (QEMU_PLUGIN_INLINE_ADD_U64), which tells block()
	 * that such a block ran in between; rep_block() names it by where it
	 * ended.
	 */
	static bool rep_only(const Block *b)
	{
		return b->ninsns == 1 && b->kind == x86::Kind::RepString;
	}
	u64 *rep_counter() { return &m_rep_runs; }
	bool wants_instrumentation() const { return m_want; }

	/*
	 * Execution, on vCPU @vcpu: block @b starts. The hot path, once per
	 * block execution: no allocation, no lookup, no lock; the fields it
	 * touches lead struct Cpu. follow() does the rest when a unit is on.
	 */
	void block(u32 vcpu, const Block *b)
	{
		Cpu &v = m_cpus[vcpu];
		const Block *p = v.prev;
		v.prev = b;
		const u64 now = v.icount;
		v.icount = now + b->ninsns;
		v.c.blocks++;
		/* Single-threaded TCG: the REP blocks since the last callback ran on this vCPU. */
		const u64 reps = m_rep_runs;
		const bool rep_ran = reps != m_rep_seen;
		m_rep_seen = reps;
		/*
		 * A vCPU with no unit enabled only keeps prev and the count,
		 * so that a unit enabled by the next doorbell sees the branch
		 * out of the doorbell's block.
		 */
		if (!v.enabled) {
			if (m_enabled_cpus == 0 && m_mode == Mode::Lazy && m_want)
				idle();
			return;
		}
		if (p)
			follow(v, p, b, now, rep_ran);
	}
	/* Execution: a doorbell of command @cmd at a kernel address is about to run. */
	void doorbell(u32 vcpu, u8 cmd);
	/* Execution: a doorbell at a user address: counted, nothing else. */
	void user_doorbell(u32 vcpu);

	/* QEMU flushed its code cache: no block refers to the interned ones any more. */
	void flushed();
	/*
	 * Every block was retranslated under the current wants_instrumentation():
	 * the glue's reset completed. No vCPU's previous block is known.
	 */
	void retranslated();

	/* Each reads the units, so it takes in the branches held back first. */
	const Counters &counters(u32 vcpu)
	{
		commit(m_cpus[vcpu]);
		return m_cpus[vcpu].c;
	}
	/* The log: a comment line, then one line of counters per vCPU. */
	std::string report();

	/* For the tests. */
	const lbr::Unit &unit(u32 vcpu, u32 i)
	{
		commit(m_cpus[vcpu]);
		return m_cpus[vcpu].unit[i];
	}
	u32 pending(u32 vcpu) const { return m_cpus[vcpu].depth; }
	size_t tasks() const { return m_tasks.size(); }

private:
	/* A pending interrupt or exception entry (see enter()). */
	struct Entry {
		Block block; /* the interrupted block, a copy: interned ones may go at a flush */
		u64 from;    /* the interrupt record's FROM as recorded */
		u64 handler; /* its TO */
		s16 vector;
		bool exception; /* a fault or trap that may have hit inside block */
		bool resolved;	/* nothing left to tell at its IRET */
		/*
		 * A Sample froze the units until its IRET. The task's, as the
		 * entry is: it goes and comes back with it at a context switch.
		 */
		bool frozen;
	};
	/* An entry on a vCPU's stack: with the units as they were just before its record. */
	struct Frame : Entry {
		u32 snap_mask; /* units snapshotted */
		u64 gen[hw::kUnits];
		lbr::Unit snap[hw::kUnits];
	};
	struct TaskEntries {
		u32 n;
		Entry e[kStack];
	};
	struct Cpu {
		/* Hot: block() reads and writes these for every block. */
		const Block *prev = nullptr;
		u64 icount = 0;	 /* instructions of the blocks started so far: INFO's cycle count */
		u32 enabled = 0; /* units with LBREn */
		u32 frozen =
			0; /* the enabled units while an entry on stack is frozen (set_frozen()) */
		u32 deferred = 0; /* enabled units in plain mode: their branches wait in raw */
		u32 nraw = 0;
		u32 depth = 0; /* frames on stack */
		Counters c{};
		u64 recorded[hw::kUnits]{};
		/* Bumped by every Restore of the unit: a snapshot older than it is void. */
		u64 gen[hw::kUnits]{};
		lbr::Unit unit[hw::kUnits];
		Block prev_copy{}; /* prev, once a flush dropped the interned blocks */
		lbr::Branch raw[kRaw];
		Frame stack[kStack];
	};

	void follow(Cpu &v, const Block *p, const Block *b, u64 now, bool rep_ran);
	[[gnu::noinline]] void follow_all(Cpu &v, const Block *p, const Block *b, u64 now,
					  bool rep_ran);
	/* The rare paths out of follow(), kept out of line so that its common ones stay short. */
	[[gnu::cold]] bool into_rep(Cpu &v, const Block *p, const Block *b, u64 now);
	[[gnu::cold]] u64 rep_block(u64 end) const;
	void branch(Cpu &v, u64 from, u64 to, lbr::BrType type, u64 now);
	[[gnu::noinline]] void record_now(Cpu &v, u32 units, const lbr::Branch &br);
	[[gnu::noinline]] void commit(Cpu &v);
	[[gnu::cold]] void enter(Cpu &v, const Block *p, const Block *b, u64 now);
	[[gnu::cold]] void explicit_entry(Cpu &v, const Block *p, const Block *b, u64 now);
	Frame &push(Cpu &v, const Block *p, const Block *b, u64 from, bool exception,
		    bool resolved);
	[[gnu::cold]] void iret_to(Cpu &v, u64 x, u64 now);
	void resolve(Cpu &v, const Entry &e, u64 x, u64 now);
	[[gnu::cold]] void drop_pending(Cpu &v);
	void pop(Cpu &v);
	void set_frozen(Cpu &v);
	void snapshot(Cpu &v, Frame &f);
	[[gnu::cold]] void idle();
	void set_want(bool want);

	/* The commands (hwlbr.h); each returns the status. */
	s32 cmd_hello(Cpu &v, hw::Control &ctl, u32 vcpu);
	s32 cmd_vectors();
	s32 cmd_save(Cpu &v, hw::Vcpu &page, u32 mask);
	s32 cmd_restore(Cpu &v, hw::Vcpu &page, u32 mask, u64 prev_task, u64 next_task);
	s32 cmd_sample(Cpu &v, hw::Vcpu &page, u32 mask, u64 ip);
	void switch_tasks(Cpu &v, u64 prev_task, u64 next_task);
	void update_enabled(Cpu &v);
	void publish(Cpu &v, hw::Control &ctl);
	s16 vector_of(u64 start) const;

	struct Key {
		u64 start;
		u64 last;
		u32 ninsns;
		u32 size;
		u8 bytes[x86::kMaxLength];
		bool operator==(const Key &o) const;
	};
	struct KeyHash {
		size_t operator()(const Key &k) const;
	};

	u8 *m_region;
	u32 m_nvcpus;
	Mode m_mode;
	bool m_instrumented;
	bool m_want;
	u32 m_enabled_cpus = 0; /* vCPUs with a unit enabled */
	u64 m_idle = 0;		/* block executions since the last unit was disabled */
	Hook m_hook = nullptr;
	void *m_hook_arg = nullptr;
	std::unique_ptr<Cpu[]> m_cpus;
	std::unordered_map<Key, Block, KeyHash> m_blocks;
	std::unordered_map<u64, s16> m_vectors; /* handler address -> vector */
	std::unordered_map<u64, TaskEntries> m_tasks;
	/* REP-only blocks by their fall-through: the block's start (its instruction). */
	std::unordered_map<u64, u64> m_rep_blocks;
	u64 m_rep_runs = 0; /* QEMU's inline increments, one per REP-only block run */
	u64 m_rep_seen = 0;
	u64 m_mismatches = 0; /* blocks whose last instruction x86::decode() sized unlike QEMU */
	std::string m_mismatch_log; /* the first few, for the log */
	u64 m_resets = 0;	    /* retranslations (lazy mode switches) */
	u64 m_evicted = 0;	    /* tasks' entries dropped to bound m_tasks */
};

} // namespace lbrctx::plugin
