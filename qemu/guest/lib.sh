#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the guest scripts (kunit.sh, e2e.sh, stress.sh, demo.sh,
# bench.sh): result lines, the module steps with their exit statuses, the
# live-state wait and the kmemleak scan. Source it after setting RESULTS
# (the result file) where results are written.

D=/sys/kernel/debug/lbrctx
KMEMLEAK=/sys/kernel/debug/kmemleak
# scripts/lbrctx-uprobes, copied into the guest's directory by check.sh.
UPROBES_TOOL=$(pwd)/lbrctx-uprobes

# Exit statuses of the guest scripts: one meaning each (qemu/run.sh names
# them). 1 is a failed check of the script itself.
E_INSMOD_TCHAIN=20	# insmod lbrctx_tchain.ko failed
E_INSMOD_LBRCTX=21	# insmod lbrctx.ko failed
E_INSMOD_KUNIT=22	# insmod lbrctx_kunit.ko failed
E_INSMOD_BENCH=23	# insmod lbrctx_bench.ko failed
E_RMMOD_LBRCTX=24	# rmmod lbrctx failed
E_RMMOD_TCHAIN=25	# rmmod lbrctx_tchain failed
E_RMMOD_KUNIT=26	# rmmod lbrctx_kunit failed
E_RMMOD_BENCH=27	# rmmod lbrctx_bench failed
E_STEP=28		# a benchmark or demo step failed (its output says which)

# Debian's 6.12 headers ship a vmlinux that holds BTF and no code
# (/lib/modules/<release>/build/vmlinux, for building modules with BTF).
# perf 6.1 takes it for the kernel's symbol table when a record has no
# build-ids (perf record -B), and every kernel address in perf script and
# perf report is [unknown]. Where that file has no .text, perf script and
# perf report read /proc/kallsyms instead (--kallsyms).
_vmlinux=/lib/modules/$(uname -r)/build/vmlinux
if [ -f "$_vmlinux" ] && ! readelf -S "$_vmlinux" 2>/dev/null | grep -q ' \.text '; then
	PERF_KALLSYMS=--kallsyms=/proc/kallsyms
	perf() {
		case ${1:-} in
		script | report)
			_sub=$1
			shift
			command perf "$_sub" $PERF_KALLSYMS "$@"
			;;
		*) command perf "$@" ;;
		esac
	}
fi

# step STATUS COMMAND...: run a step the rest depends on; on failure say
# which and exit with STATUS.
step() {
	_st=$1
	shift
	"$@" && return 0
	echo "lbrctx-guest: '$*' failed (exit $_st)"
	exit "$_st"
}

# Results: one "ok NAME" or "FAIL NAME: why" line per check.
ok() { echo "ok $1" >>"$RESULTS"; }
fail() { echo "FAIL $1: $2" >>"$RESULTS"; }
# check NAME STATUS WHY: ok when STATUS (a command's exit status) is 0.
check() {
	if [ "$2" -eq 0 ]; then ok "$1"; else fail "$1" "$3"; fi
}
# expect NAME WHY COMMAND...: ok when COMMAND (a test) succeeds.
expect() {
	_name=$1 _why=$2
	shift 2
	if "$@" 2>/dev/null; then ok "$_name"; else fail "$_name" "$_why"; fi
}
# at_least X Y: X >= Y; within X Y D: |X - Y| <= D (fractional values too).
# skip NAME WHY: a check that cannot run here, with the reason (a result line, never a pass).
skip() { echo "skip $1: $2" >>"$RESULTS"; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
within() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { x = a - b; if (x < 0) x = -x; exit !(x <= d + 0) }'; }

stat_of() { awk -v k="$2" '$1 == k { print $2 }' $D/"$1"; }
# The live state: store objects and PMU events.
live() { echo "objects=$(stat_of store objects) events=$(stat_of pmu events)"; }

# wait_live STATE [SECONDS]: wait until the live state is STATE (the RCU
# frees of closed events and exiting tasks need a moment); prints it.
wait_live() {
	_i=0
	while [ $_i -lt "${2:-30}" ] && [ "$(live)" != "$1" ]; do sleep 1; _i=$((_i + 1)); done
	live
}

# median: the median of the numbers on stdin, one a line (the mean of the
# middle two for an even count).
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
have_kmemleak() { [ -e $KMEMLEAK ]; }
# Forget what kmemleak found so far (boot, earlier scenarios).
kmemleak_clear() {
	have_kmemleak || return 0
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
}
# Forget what the last scan found (kmemleak_scan just scanned: no new scan).
kmemleak_forget() { ! have_kmemleak || echo clear >$KMEMLEAK; }
# kmemleak_scan FILE: what kmemleak finds now, into FILE (empty: nothing).
# It reports objects older than 5 s that nothing references.
kmemleak_scan() {
	: >"$1"
	have_kmemleak || return 0
	sleep 6
	echo scan >$KMEMLEAK
	sleep 1
	echo scan >$KMEMLEAK
	cat $KMEMLEAK >"$1"
}

# The tests' kernel probe set: the VFS entry points and the test chain
# (lbrctx_tchain.ko). lbrctx's own default is the VFS entry points alone;
# the kretprobe source (no CONFIG_FPROBE) takes names, not globs.
TEST_PROBES='vfs_read,vfs_write,lbrctx_tchain_*'
TEST_PROBE_NAMES='vfs_read,vfs_write,lbrctx_tchain_f1,lbrctx_tchain_f2,lbrctx_tchain_f3'
set_test_probes() {
	echo "$TEST_PROBES" >/sys/kernel/debug/lbrctx/probes 2>/dev/null ||
		echo "$TEST_PROBE_NAMES" >/sys/kernel/debug/lbrctx/probes
}
