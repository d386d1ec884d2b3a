/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A CPU's set of emulated LBR units: one per distinct configuration of the
 * events added on the CPU, up to N at once. Hardware has one LBR per CPU,
 * so events whose LBR_CTL or depth differ are multiplexed there; here each
 * configuration gets a unit of its own, every event runs all the time, and
 * each sees exactly the records its configuration would have recorded. A
 * branch is offered to every unit that has users; each applies its own
 * filters.
 *
 * A slot keeps its configuration (and records) when its last user goes:
 * the context-switch hook restores the incoming task's records into every
 * configured slot before perf adds that task's events, which then find
 * their slot ready (module/mux.cpp, bind()). A slot is reconfigured only
 * for a configuration that finds no slot of its own. Pure logic; its
 * owner keeps interrupts off.
 */
#pragma once

#include <lbrctx/lbr.h>

namespace lbrctx::lbr {

/* What makes two events' units the same: LBR_CTL without LBREn, and the depth. */
struct Config {
	u64 ctl;
	u32 depth;
	bool operator==(const Config &o) const { return ctl == o.ctl && depth == o.depth; }
};

inline Config config_of(const Unit &u)
{
	return {u.lbr_ctl() & ~ctl::kEnable, u.depth()};
}

template <u32 N> class UnitSet {
public:
	struct Slot {
		Unit unit;
		u32 users; /* events bound to it */
		bool configured;
		u64 recorded; /* branches it recorded (monotonic) */
		u64 since;    /* when its configuration got the slot */
	};

	static constexpr u32 size() { return N; }
	Slot &slot(u32 i) { return m_slots[i]; }
	const Slot &slot(u32 i) const { return m_slots[i]; }
	/* Slots with users: the units that record. */
	u32 active() const { return m_active; }
	/* Slots with a configuration: the units a switch saves and restores. */
	u32 configured() const { return m_configured; }

	/* The configured slot of @c, or -1. */
	int find(const Config &c) const
	{
		for (u32 i = 0; i < N; i++)
			if (m_slots[i].configured && config_of(m_slots[i].unit) == c)
				return static_cast<int>(i);
		return -1;
	}

	/*
	 * Bind a user of configuration @c: its configured slot, else a slot
	 * with no users, configured for @c now (@fresh: its records are not
	 * @c's; the caller may restore them). -1 when all N slots have users
	 * of other configurations.
	 */
	int bind(const Config &c, u64 now, bool &fresh)
	{
		fresh = false;
		int s = find(c);
		if (s < 0) {
			s = idle_slot();
			if (s < 0)
				return -1;
			configure(static_cast<u32>(s), c, now);
			fresh = true;
		}
		Slot &sl = m_slots[s];
		if (!sl.users++) {
			sl.unit.set_ctl(c.ctl | ctl::kEnable);
			m_active |= 1u << s;
		}
		return s;
	}

	/*
	 * A user goes. The last takes the unit out of active(): it records no
	 * probe branch. LBREn stays, as the configuration and the records: a
	 * hardware unit goes on recording the running task's calls and
	 * returns, so that its call stack stays whole until the switch hook
	 * saves it, at the depth the hook restores it at. forget_all() turns
	 * the units off.
	 */
	void unbind(u32 s)
	{
		Slot &sl = m_slots[s];
		if (!sl.users || --sl.users)
			return;
		m_active &= ~(1u << s);
	}

	/*
	 * No user is left anywhere: every unit without users is disabled and
	 * forgets its configuration and records, so the switch hook has
	 * nothing to do on this CPU until a user binds again.
	 */
	void forget_all()
	{
		for (u32 i = 0; i < N; i++) {
			Slot &sl = m_slots[i];
			if (sl.users || !sl.configured)
				continue;
			sl.unit.set_ctl(0);
			sl.unit.reset();
			sl.configured = false;
			m_configured &= ~(1u << i);
		}
	}

	/*
	 * Offer @b to every unit with users; @match_top: a kernel return pops
	 * only a call-stack unit whose youngest record is its call (as the
	 * kernel source's returns do). Returns the mask of slots that
	 * recorded it.
	 */
	u32 record(const Branch &b, bool match_top)
	{
		u32 mask = 0;
		for (u32 m = m_active; m; m &= m - 1) {
			u32 i = __builtin_ctz(m);
			Unit &u = m_slots[i].unit;
			if (match_top && u.call_stack() && u.top().to != b.from)
				continue;
			if (u.record(b) != Op::Filtered) {
				m_slots[i].recorded++;
				mask |= 1u << i;
			}
		}
		return mask;
	}

private:
	/* A slot without users: an unconfigured one first, else the one configured longest ago. */
	int idle_slot() const
	{
		int best = -1;
		for (u32 i = 0; i < N; i++) {
			const Slot &sl = m_slots[i];
			if (sl.users)
				continue;
			if (!sl.configured)
				return static_cast<int>(i);
			if (best < 0 || sl.since < m_slots[best].since)
				best = static_cast<int>(i);
		}
		return best;
	}

	void configure(u32 s, const Config &c, u64 now)
	{
		Slot &sl = m_slots[s];
		sl.unit.set_ctl(0);
		sl.unit.set_depth(c.depth); /* clears the records, as the MSR write does */
		sl.unit.set_ctl(c.ctl);
		sl.configured = true;
		m_configured |= 1u << s;
		sl.since = now;
	}

	Slot m_slots[N]{};
	u32 m_active = 0;
	u32 m_configured = 0;
};

} // namespace lbrctx::lbr
