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
	/* Probes at most: one consumer each, all registered while events need them. */
	static constexpr u32 kMaxProbes = 64;
	/* A set's text at most, in bytes (a write of more is -E2BIG). */
	static constexpr size_t kSpecMax = 16384;
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
	};

	constexpr UserSource() = default;

	/* Module load: the uprobes parameter's set (@spec may be null). Task context. */
	Result<void> init(const char *spec);
	/* Module exit, after the PMU is gone: unregister, wait for handlers, drop the files. */
	void exit();
	/*
	 * Replace the set with @spec's lines, all or none: each refusal is
	 * one rate-limited line and its errno (docs/PMU.md). Re-registers
	 * when probes are live. Task context, sleeps.
	 */
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

private:
	bool watch_mm(void *mm);
	void unwatch(void *mm);

	/*
	 * A handler's id: the probe's index and which of its two consumers
	 * (refilter() flips between them).
	 */
	static constexpr u32 consumer_id(u32 i, u8 which) { return i << 1 | which; }
	bool current(u32 id);

	struct Probe {
		KernelStorage<LBRCTX_K_SIZEOF_UPROBE, 8> consumer[2];
		u8 cur;	     /* the consumer registered */
		/*
		 * The probed file's inode, referenced while in the set, and
		 * dropped by release(): a raw reference, as the set lives in a
		 * module-lifetime global, and a global's destructor is what a
		 * module must not have (.fini_array; docs/ARCHITECTURE.md).
		 */
		void *inode;
		u64 offset;
		const char *path; /* in the set's text */
		const char *name;
		bool registered;
	};
	struct Set {
		char text[kSpecMax];
		Probe probes[kMaxProbes];
		u32 n;
	};
	Result<void> parse(const char *spec, Set &set);
	Result<void> check_file(Probe &p);

public:
	/*
	 * The check of an opened @file, whose inode is @inode: an x86-64 ELF
	 * file whose @offset lies in an executable segment. Task context.
	 */
	static Result<void> check_elf(void *file, void *inode, u64 offset, const char *path,
				      const char *name);

private:
	void release(Set &set);

	Set m_sets[2]{}; /* the live set and the one being installed */
	u32 m_live = 0;
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
