/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user branch source (module/usource.cpp): uprobes on user function
 * entries and uretprobes on their returns, fed into the emulated LBR as
 * CPL 3 records. Users name functions with scripts/lbrctx-uprobes, which
 * resolves them to "PATH OFFSET NAME" lines for
 * /sys/kernel/debug/lbrctx/uprobes (or the uprobes= module parameter).
 */
#pragma once

#include <lbrctx/atomic.h>
#include <lbrctx/k/lock.h>
#include <lbrctx/lbr.h>
#include <lbrctx/probes.h>

namespace lbrctx {

class UserSource : public LazyProbes<UserSource> {
public:
	/*
	 * Probes at most, over any number of files (-ENOSPC beyond): one
	 * consumer each, all registered while events need them. A set is
	 * allocated to the size of what was written (kvmalloc).
	 */
	static constexpr u32 kMaxProbes = 16384;
	/* A set's text at most, in bytes (a write of this many or more is -E2BIG). */
	static constexpr size_t kSpecMax = 4u << 20;
	static_assert(kSpecMax == LBRCTX_DEBUGFS_WRITE_MAX,
		      "the debugfs file copies the longest set");
	/* Monitored address spaces the filter remembers (per-task events). */
	static constexpr u32 kMaxMms = 64;

	struct Stats {
		u32 probes;	/* in the set */
		u32 registered; /* registered now */
		u32 users;	/* events holding a reference */
		u64 entries;	/* handler runs */
		u64 returns;	/* ret_handler runs */
		u64 unreadable; /* entries whose return address could not be read */
		u64 refilters;	/* registered probes re-applied for a wider filter */
		u64 tailcalls;	/* entries by a tail call: the kernel's return address taken */
		u64 unknown;	/* entries whose call site could not be read: not recorded */
		u64 bytes;	/* the set's memory, as the allocator took it */
		u64 text;	/* of which its text */
		u32 probe_size; /* bytes a probe takes besides its text */
	};

	constexpr UserSource() = default;

	/* Module load: the uprobes parameter's set (@spec may be null). Task context. */
	Result<void> init(const char *spec);
	/* Module exit, after the PMU is gone: unregister, wait for handlers, drop the files. */
	void exit();
	/*
	 * Replace the set with the lines of @spec (@len bytes; null when
	 * @len is kSpecMax or more, which is refused), all or none: each
	 * refusal is one rate-limited line and its errno (docs/PMU.md).
	 * Re-registers when probes are live. Task context, sleeps.
	 */
	Result<void> install(const char *spec, size_t len);
	Result<void> install(const char *spec);
	void show(void *seq);
	bool configured();
	/* LazyProbes: mutex held; sleeps. A probe the kernel refuses is logged and left out. */
	Result<void> register_locked();
	void unregister_locked();
	Stats stats();

	/*
	 * The filter's address spaces: a per-task event watches its task's
	 * for as long as it holds the handle (MmWatch). @wider: the filter's
	 * answer widened (refilter() then). Task context.
	 */
	class MmWatch;
	MmWatch watch(void *mm, bool &wider);
	/* Re-apply registered probes after the filter widened. Task context, sleeps. */
	void refilter();

	/* The handlers (module/shim/uprobe.c): the probed task, preemptible, may sleep. */
	void on_entry(u32 id, u64 ip, u64 sp);
	void on_return(u32 id, u64 func, u64 ret, u64 sp);
	bool filter(void *mm);
	/* A sample at a probed entry whose uprobe has not run: the call it will record. */
	bool pending_call(u64 ip, u64 sp, lbr::Branch &out);
	/*
	 * The handlers' lookup: is @id's consumer its probe's current one?
	 * An index, O(1) in the set's size. Any context.
	 */
	bool current(u32 id);

private:
	bool watch_mm(void *mm);
	void unwatch(void *mm);

	/*
	 * A handler's id: the probe's index and which of its two consumers
	 * (refilter() flips between them).
	 */
	static constexpr u32 consumer_id(u32 i, u8 which) { return i << 1 | which; }

	struct Probe {
		KernelStorage<LBRCTX_K_SIZEOF_UPROBE, 8> consumer[2];
		/*
		 * The probed file's inode, referenced while in the set, and
		 * dropped when the set is freed: a raw reference, as the set
		 * hangs off a module-lifetime global, and a global's destructor
		 * is what a module must not have (.fini_array; docs/ARCHITECTURE.md).
		 */
		void *inode;
		u64 offset;
		const char *path; /* in the set's text; consecutive lines of one file share it */
		const char *name;
		bool registered;
	};
	/*
	 * A set: one allocation (kvmalloc) sized by what was written: this
	 * header, the probes, the consumer each has registered (cur, a byte
	 * a probe: the handlers' lookup reads nothing else of the set), and
	 * the text the probes' strings point into.
	 */
	struct Set {
		u32 n;
		Probe *probes;
		u8 *cur;
		char *text;
		size_t text_size;
		size_t bytes; /* as the allocator took them */
	};
	static void free_set(Set *set);
	/* A set of its own, freed with its files' references when the handle goes. */
	class OwnedSet {
	public:
		explicit OwnedSet(Set *s = nullptr) : m_set(s) {}
		OwnedSet(OwnedSet &&o) : m_set(exchange(o.m_set, nullptr)) {}
		OwnedSet(const OwnedSet &) = delete;
		OwnedSet &operator=(const OwnedSet &) = delete;
		~OwnedSet() { free_set(m_set); }
		Set *get() const { return m_set; }
		Set *release() { return exchange(m_set, nullptr); }

	private:
		Set *m_set;
	};
	static OwnedSet alloc_set(u32 n, size_t text);
	Result<OwnedSet> parse(const char *spec);
	Result<void> check_files(Set &set);
	Result<void> check_twice(const Set &set);

public:
	/*
	 * The check of an opened @file, whose inode is @inode: an x86-64 ELF
	 * file whose @offset lies in an executable segment. Task context.
	 */
	static Result<void> check_elf(void *file, void *inode, u64 offset, const char *path,
				      const char *name);

private:
	Set *m_live = nullptr; /* the handlers load it (acquire) */
	bool m_ready = false;
	/* The filter's monitored address spaces, and how many events watch each. */
	struct Watched {
		void *mm;
		u32 refs;
	} m_mms[kMaxMms]{};
	k::SpinLock m_mm_lock;
	k::LockClass m_mm_lock_class{};
	Atomic<u64> m_entries{0};
	Atomic<u64> m_returns{0};
	Atomic<u64> m_unreadable{0};
	Atomic<u64> m_refilters{0};
	Atomic<u64> m_tailcalls{0};
	Atomic<u64> m_unknown{0};
	/* The slot value of the last tail call found: a uretprobe trampoline. */
	Atomic<u64> m_trampoline{0};
};

/* An address space the user source's filter watches, until the handle goes. */
class [[nodiscard]] UserSource::MmWatch {
public:
	constexpr MmWatch() = default;
	MmWatch(UserSource &src, void *mm) : m_src(&src), m_mm(mm) {}
	MmWatch(MmWatch &&o) : m_src(exchange(o.m_src, nullptr)), m_mm(o.m_mm) {}
	MmWatch &operator=(MmWatch &&o)
	{
		if (this != &o) {
			reset();
			m_src = exchange(o.m_src, nullptr);
			m_mm = o.m_mm;
		}
		return *this;
	}
	MmWatch(const MmWatch &) = delete;
	MmWatch &operator=(const MmWatch &) = delete;
	~MmWatch() { reset(); }
	void reset()
	{
		if (UserSource *s = exchange(m_src, nullptr))
			s->unwatch(m_mm);
	}

private:
	UserSource *m_src = nullptr;
	void *m_mm = nullptr;
};

inline UserSource::MmWatch UserSource::watch(void *mm, bool &wider)
{
	wider = false;
	if (!mm)
		return {};
	wider = watch_mm(mm);
	return MmWatch(*this, mm);
}

UserSource &the_user_source();

} // namespace lbrctx
