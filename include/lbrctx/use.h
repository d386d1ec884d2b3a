/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Use<T, Put>: an owning handle on one counted user of a shared resource:
 * the kernel source's probes, the user source's, the store's system-wide
 * users, an address space the user source watches. The owner's get()
 * counts the user and returns the handle; the handle's destruction (or
 * reset()) calls the owner's Put member once. So an event's resources
 * are members that release themselves, and a setup step that fails
 * returns and leaves nothing taken, as with Zircon's and SerenityOS's
 * owning members; no flag records what was taken.
 */
#pragma once

#include <lbrctx/types.h>

namespace lbrctx {

template <class T, void (T::*Put)()> class [[nodiscard]] Use {
public:
	constexpr Use() = default;
	/* The owner's get() counted a user: the handle takes that count over. */
	static Use adopt(T &owner) { return Use(&owner); }
	Use(Use &&o) : m_owner(exchange(o.m_owner, nullptr)) {}
	Use &operator=(Use &&o)
	{
		if (this != &o) {
			reset();
			m_owner = exchange(o.m_owner, nullptr);
		}
		return *this;
	}
	Use(const Use &) = delete;
	Use &operator=(const Use &) = delete;
	~Use() { reset(); }

	explicit operator bool() const { return m_owner != nullptr; }
	T *owner() const { return m_owner; }

	/* Give the user back now. Task context where Put may sleep. */
	void reset()
	{
		if (T *o = exchange(m_owner, nullptr))
			(o->*Put)();
	}

private:
	explicit Use(T *o) : m_owner(o) {}
	T *m_owner = nullptr;
};

} // namespace lbrctx
