/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event config layout and the named events: the one table that the
 * sysfs format/ and events/ files (module/shim/pmu.c), the decoder
 * (module/event.cpp), scripts/lbrctx-tool.c and docs/PMU.md come from.
 * Plain C macros: the shim, the C++ and a user-space tool include it.
 * make check compares docs/PMU.md's table with it (docs_config_table).
 *
 * LBRCTX_CONFIG_FIELDS(X): X(name, first bit, last bit, description).
 * The type filters select LBR_CTL's branch-type bits (SDM Vol. 3B,
 * 18.1.3.2); none set selects every type.
 */
#ifndef LBRCTX_CONFIG_H
#define LBRCTX_CONFIG_H

#define LBRCTX_CONFIG_FIELDS(X)                                                          \
	X(event, 0, 7, "the event: 0 the LBR sampled by time, 1 branches, 2 saves, 3 restores, 4 resets") \
	X(cs, 8, 8, "call-stack mode (LBR_CTL.CALL_STACK)")                              \
	X(call, 16, 16, "record near relative calls")                                    \
	X(ind_call, 17, 17, "record near indirect calls")                                \
	X(ret, 18, 18, "record near returns")                                            \
	X(cond, 19, 19, "record conditional branches (the hw source)")                   \
	X(jmp, 20, 20, "record near relative jumps (the hw source)")                     \
	X(ind_jmp, 21, 21, "record near indirect jumps (the hw source)")                 \
	X(far, 22, 22, "record far branches: syscalls, interrupts, returns from them (the hw source)") \
	X(depth, 24, 31, "LBR_DEPTH: 8, 16, 24 or 32 (0: 32)")

/*
 * LBRCTX_EVENTS(X): X(name, sysfs string, description): the aliases of
 * /sys/bus/event_source/devices/lbrctx/events; LBRCTX_EVENT_UNITS(X):
 * X(name, unit), their <name>.unit files.
 */
#define LBRCTX_EVENTS(X)                                                                 \
	X(lbr, "event=0x00", "the running task's LBR, sampled by time (period in ns); counts ns") \
	X(callstack, "event=0x00,cs=1", "the running task's LBR call stack, sampled by time (period in ns); counts ns") \
	X(branches, "event=0x01", "branches the LBR recorded; samples every N")      \
	X(saves, "event=0x02", "context switches that saved the outgoing task's LBR state (per CPU)") \
	X(restores, "event=0x03", "context switches that restored the incoming task's LBR state (per CPU)") \
	X(resets, "event=0x04", "context switches that gave the incoming task a reset LBR (per CPU)")

#define LBRCTX_EVENT_UNITS(X) X(lbr, "ns") X(callstack, "ns")

/* The deepest LBR (LBR_DEPTH 32): caps/branches, as the cpu PMU's. */
#define LBRCTX_LBR_MAX_DEPTH 32

/* Each field's first bit, as LBRCTX_CFG_<name>_SHIFT, and its width. */
enum lbrctx_cfg_shift {
#define LBRCTX_CFG_X(n, lo, hi, d) LBRCTX_CFG_##n##_SHIFT = (lo), LBRCTX_CFG_##n##_BITS = (hi) - (lo) + 1,
	LBRCTX_CONFIG_FIELDS(LBRCTX_CFG_X)
#undef LBRCTX_CFG_X
};

/* Field @name of a config with value @v: LBRCTX_CFG(depth, 8). */
#define LBRCTX_CFG(name, v) ((unsigned long long)(v) << LBRCTX_CFG_##name##_SHIFT)
#define LBRCTX_CFG_MASK(name)                                                   \
	(((1ULL << (LBRCTX_CFG_##name##_BITS - 1) << 1) - 1) << LBRCTX_CFG_##name##_SHIFT)

/* The sysfs format string of a field: "config:lo-hi". */
#define LBRCTX_CFG_FORMAT(lo, hi) "config:" #lo "-" #hi

#endif /* LBRCTX_CONFIG_H */
