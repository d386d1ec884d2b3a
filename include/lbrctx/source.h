/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel branch source (module/source.cpp): fprobes (kretprobes
 * without CONFIG_FPROBE; module/shim/source.c) on the functions a user
 * names, registered while an event that records kernel branches exists
 * (LazyProbes: the first user registers, the last one's reap
 * unregisters).
 */
#pragma once

#include <lbrctx/probes.h>

namespace lbrctx {

class Source : public LazyProbes<Source> {
public:
	constexpr Source() = default;
	/* Module load: parse the probes parameter. Task context. */
	Result<void> init(const char *spec);
	/* Module exit, after the PMU is gone: unregister everything. */
	void exit();
	/* Replace the probe set (debugfs); re-registers when probes are live. Task context. */
	Result<void> install(const char *spec);
	Result<void> install(const char *spec, size_t len);
	/* The current set, for debugfs, and as a string. */
	void show(void *seq);
	void spec(char *buf, size_t size);
	u32 registered();
	u64 missed();
	const char *kind_name() const;

	/* LazyProbes: mutex held. -ENOENT when no pattern could be probed. */
	Result<void> register_locked();
	void unregister_locked();

private:
	static constexpr size_t kSpecMax = 256;
	struct Patterns {
		char buf[kSpecMax]; /* NUL-separated patterns */
		const char *pattern[LBRCTX_MAX_PATTERNS];
		u32 n;
	};
	Result<void> parse(const char *spec, Patterns &p) const;

	char m_spec[kSpecMax]{};
	Patterns m_patterns{};
	bool m_registered[LBRCTX_MAX_PATTERNS]{};
	u32 m_nregistered = 0;
	bool m_ready = false;
};

Source &the_source();

} // namespace lbrctx
