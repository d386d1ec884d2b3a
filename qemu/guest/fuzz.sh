#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of the fuzzing run (scripts/fuzz.sh; make check: the short
# form, make check-all: the long one, FUZZ_LONG=1). Debian's trinity (the
# host's binary, seen through the 9p root) is aimed at perf_event_open,
# ioctl, read, mmap and close (-c NAME,64 for each: the debug kernel has no
# ia32 emulation; close is marked AVOID in trinity's table, which it says,
# but naming it with -c enables it), over the fds of perf events (its
# "perf" fd provider) and, as root, of lbrctx's debugfs files (its "pseudo"
# provider over -V; nobody cannot open debugfs, 0700), for a fixed number
# of syscalls per seed (-N) and several seeds (-s): first with lbrctx
# loaded, as nobody and as root, then the same without lbrctx, as the
# baseline, in the same boot.
#
# trinity's perf_event_open generator takes 1 type in 8 from sysfs: the
# PMUs under /sys/bus/event_source/devices (type, format/, events/), read
# once when trinity starts. With FUZZ_AIM=1 (the default) that directory
# is a view holding one PMU: lbrctx in the lbrctx runs, so those opens are
# lbrctx's with its own fields fuzzed; the msr PMU in the baseline's, so
# the same share of opens goes to one registered PMU there too. (With the
# software PMU there, the baseline's root run with seed 1 took the 7.3.4
# debug guest down twice: an oops in ftrace_kill once, a silent reset
# once. The msr PMU refuses configs it has no counter for.)
#
# trinity is hostile by design. It runs in a tmpfs scratch directory
# (/tmp/fuzz; guest-init mounts tmpfs on /tmp) with stdin /dev/null and
# its output in that directory: it holds no fd on the results share, which
# each run checks, and the share is root's (0755), so nobody cannot write
# it. Its five syscalls take no path: it cannot reach the read-only 9p root
# by name, mount, unmount, reboot or signal; it reads lbrctx's debugfs
# files but cannot write them. Its children exit when they find themselves
# reparented. Each run is bounded (FUZZ_RUN_SECS: SIGINT, then SIGKILL of
# its processes by pid).
#
# On a new taint (a WARNING, a KASAN report) trinity ends its run at once
# ("end=kernel_became_tainted" in runs.txt). A run whose trinity cannot be
# killed (a task left in the kernel by an oops) is recorded ("stuck=1"),
# not waited for, and ends the runs: in the lbrctx runs it fails
# fuzz_lbrctx_runs_ended, and rmmod and the baseline are not tried; in the
# baseline it is the kernel's (lbrctx is not loaded), and its runs say
# "skip".
#
# Counting: lbrctx's own counters (debugfs pmu: opens, opens_refused),
# read before and after each run: "reached", the perf_event_open calls of
# lbrctx's type that came to its event_init (the core's checks of the
# attr, pid, group and flags passed; inherited events aside), and "ok",
# those event_init accepted. Opens of other types that the core offers to
# every PMU (a type no PMU has, RAW with no CPU PMU) also reach lbrctx's
# event_init, which refuses them (ENOENT); they are not counted. No kprobe
# of ours is on the perf core: the counts cannot disturb what is fuzzed.
#
# Markers "lbrctx-fuzz: begin NAME" / "end NAME" and "lbrctx-fuzz: phase
# P" go to the kernel log, so the host (scripts/fuzz.sh report) can tell
# which run each report on the console belongs to. Writes fuzz-results.txt
# ("ok NAME" / "FAIL NAME: why"), fuzz/runs.txt (one line a run), and per
# run fuzz/NAME.dmesg (its kernel log) and fuzz/NAME.trinity.txt
# (trinity's main lines and the end of its output);
# fuzz/kmemleak-{lbrctx,baseline}.txt.
set -u
out=$(pwd)
RESULTS=$out/fuzz-results.txt
. ./lib.sh
art=$out/fuzz
mkdir -p "$art"
: >"$RESULTS"
: >"$art/runs.txt"
: >"$art/progress.txt"

long=${FUZZ_LONG:-0}
if [ "$long" = 1 ]; then
	seeds=${FUZZ_SEEDS:-1 2 3 4} n=${FUZZ_SYSCALLS:-1000} runmax=${FUZZ_RUN_SECS:-600}
	scans=${FUZZ_KMEMLEAK:-1}
else
	# make check's: one seed, no kmemleak scan (each takes about a minute
	# of the guest's; the debug stress guest scans after every part).
	seeds=${FUZZ_SEEDS:-1} n=${FUZZ_SYSCALLS:-150} runmax=${FUZZ_RUN_SECS:-240}
	scans=${FUZZ_KMEMLEAK:-0}
fi
children=${FUZZ_CHILDREN:-4}
paranoid=${FUZZ_PARANOID:-1}
aim=${FUZZ_AIM:-1}
# For a narrower look (not make check's): the phases, and who runs trinity.
phases=${FUZZ_PHASES:-lbrctx baseline}
whos=${FUZZ_WHO:-user root}
NOBODY=65534
TR=/sys/kernel/tracing
scratch=/tmp/fuzz
EV=/sys/bus/event_source/devices

{
	echo "nproc=$(nproc)"
	echo "release=$(uname -r)"
	echo "long=$long"
	echo "seeds=$seeds"
	echo "syscalls_per_seed=$n"
	echo "children=$children"
	echo "paranoid_for_nobody=$paranoid"
	echo "aim=$aim"
	echo "run_secs=$runmax"
	echo "phases=$phases"
	echo "who=$whos"
	have_kmemleak && echo "kmemleak=1"
	echo "kmemleak_scans=$scans"
	grep -q kasan_multi_shot /proc/cmdline && echo "kasan_multi_shot=1"
} >facts
TRINITY=$(command -v trinity)
if [ -z "$TRINITY" ]; then
	fail trinity_installed "no trinity on the host root (scripts/fuzz.sh installs it: apt-get install trinity)"
	exit 1
fi
echo "trinity=$TRINITY $(dpkg-query -W -f='${Version}' trinity 2>/dev/null)" >>facts

# kmemleak scans when asked (after each phase), not every 10 minutes on
# its own: what it finds is then known to be the phase's, and its scans
# do not take the guest's one TCG thread in the middle of a run.
if have_kmemleak; then
	echo scan=off >$KMEMLEAK
	kmemleak_clear
fi
dmesg -c >boot-dmesg.log
# This script outlives an OOM; trinity goes first.
echo -1000 >/proc/self/oom_score_adj
mkdir -p $scratch && chmod 755 $scratch
# The baseline's victim files for root (the lbrctx runs': lbrctx's
# debugfs directory): a directory holding a 4 KiB file, on tmpfs.
mkdir -p $scratch/victim && head -c 4096 /dev/zero >$scratch/victim/data

# 7.3's fgraph crashes when an fprobe is registered after the last one
# went away (qemu/repro/fgraph-reregister.sh); on 7.x a kernel tracefs
# fprobe holds fgraph from before the load to the end (as stress.sh).
keeper=0
case $(uname -r) in 7.*)
	echo 'f:lbrctx_keep vfs_fsync_range%return' >>$TR/dynamic_events &&
		echo 1 >$TR/events/fprobes/lbrctx_keep/enable && keeper=1 ;;
esac

# opens_now: lbrctx's counters, "OPENS REFUSED" (0 0 when it is not loaded).
opens_now() {
	awk '$1 == "opens" { o = $2 } $1 == "opens_refused" { r = $2 } END { print o + 0, r + 0 }' \
		$D/pmu 2>/dev/null || echo 0 0
}
# alive PID: PID exists and is no zombie (kill -0 is true of a zombie,
# which an oopsed trinity becomes until this shell waits for it).
alive() {
	st=$(sed 's/^.*) //' /proc/$1/stat 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}
stuck=0

kmsg() { echo "lbrctx-fuzz: $*" >/dev/kmsg; }
# tick WHAT: the guest's own timeline, in fuzz/progress.txt.
t0=$(date +%s)
tick() { echo "+$(($(date +%s) - t0))s $*" >>"$art/progress.txt"; }

# trinity_pids: the pids of every trinity process (its main, children and
# their forks: comm trinity-main, trinity-c<N>, or "trinity" before it
# names itself).
trinity_pids() {
	for f in /proc/[0-9]*/comm; do
		read -r c 2>/dev/null <"$f" || continue
		case $c in trinity*) p=${f#/proc/}; echo "${p%/comm}" ;; esac
	done
}

# view PMU: /sys/bus/event_source/devices shows PMU alone, through a bind
# mount of a tmpfs directory holding its link (FUZZ_AIM, above); view_off
# takes it away.
view_on() {
	view_off
	rm -rf $scratch/pmus
	mkdir -p $scratch/pmus && chmod 755 $scratch/pmus
	ln -s "$(readlink -f $EV/$1)" $scratch/pmus/$1 &&
		mount --bind $scratch/pmus $EV
}
view_off() { ! mountpoint -q $EV || umount $EV; }

fuzz_run() { # PHASE WHO SEED
	name=$1-$2-s$3
	d=$scratch/$name
	mkdir -p "$d"
	case $2 in
	user)
		chown $NOBODY:$NOBODY "$d"
		set -- "$1" "$2" "$3" setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
			"$TRINITY" --enable-fds=perf
		;;
	root)
		victim=$scratch/victim
		[ "$1" = lbrctx ] && victim=$D
		# --dangerous: trinity refuses root without it; --clowntown
		# skips its 10 s countdown.
		set -- "$1" "$2" "$3" "$TRINITY" --dangerous --enable-fds=perf,pseudo -V "$victim"
		;;
	esac
	phase=$1 who=$2 seed=$3
	shift 3
	kmsg "begin $name"
	tick "$name: begin"
	read -r o0 r0 <<EOF2
$(opens_now)
EOF2
	start=$(date +%s)
	# -l off: no log files; --ftrace-dump-file: where trinity (as root)
	# dumps the top-level trace on a new taint (its default is /boot).
	(
		cd "$d" || exit 1
		echo 1000 >/proc/self/oom_score_adj
		exec "$@" --clowntown -C "$children" -N "$n" -s "$seed" -l off \
			--ftrace-dump-file="$d/ftrace-dump.txt" \
			-c perf_event_open,64 -c ioctl,64 -c read,64 -c mmap,64 -c close,64 \
			</dev/null >"$d/trinity.out" 2>&1
	) &
	p=$!
	bounded=0 t=0 fdchecked=0 sharefds=0 rc=
	while alive $p; do
		sleep 5
		t=$(($(date +%s) - start))
		# Once it runs: no fd of trinity's main process is on the share.
		if [ $fdchecked = 0 ] && grep -q '^\[main\] Enabled' "$d/trinity.out" 2>/dev/null; then
			ls -l /proc/$p/fd >"$art/$name.fds" 2>&1
			sharefds=$(grep -c "$out" "$art/$name.fds")
			fdchecked=1
		fi
		echo "$name t=$t $(tail -n 1 "$d/trinity.out" 2>/dev/null | cut -c1-160)" >>"$art/progress.txt"
		if [ $t -ge "$runmax" ] && [ $bounded = 0 ]; then
			bounded=1
			kill -INT $p 2>/dev/null
		elif [ $t -ge $((runmax + 120)) ]; then
			stuck=1 rc=stuck
			break
		elif [ $t -ge $((runmax + 60)) ]; then
			kill -KILL $p 2>/dev/null
		fi
	done
	if [ $stuck = 0 ]; then
		wait $p
		rc=$?
	fi
	tick "$name: trinity ended, rc $rc"
	# Its children end with it (trinity kills them; a reparented child
	# exits by itself); what is left after 30 s is killed, by pid.
	i=0
	while [ $stuck = 0 ] && [ $i -lt 30 ] && [ -n "$(trinity_pids)" ]; do sleep 1; i=$((i + 1)); done
	left=$(trinity_pids | tr '\n' ' ')
	[ -n "$left" ] && kill -KILL $left 2>/dev/null
	t=$(($(date +%s) - start))
	tick "$name: no trinity process left (killed: ${left:-none})"
	kmsg "end $name"
	dmesg -c >"$art/$name.dmesg"
	read -r o1 r1 <<EOF2
$(opens_now)
EOF2
	reached=$((o1 - o0))
	counts="reached=$reached ok=$((reached - (r1 - r0)))"
	ran=$(sed -n 's/^.*Ran \([0-9]*\) syscalls.*$/\1/p' "$d/trinity.out" | tail -n 1)
	why=$(sed -n 's/^.*Bailing main loop because \(.*[^.]\)\.*$/\1/p' "$d/trinity.out" | tail -n 1 | tr ' ' '_')
	# trinity's own account of what it enabled: the five, 64-bit only.
	enabled=$(sed -n 's/^.*64-bit syscalls: \([0-9]*\) enabled.*$/\1/p' "$d/trinity.out" | head -n 1)
	{
		grep -a '^\[main\]' "$d/trinity.out" | grep -av 'futex:\|start: 0x'
		echo "--- last 200 lines"
		tail -n 200 "$d/trinity.out"
	} >"$art/$name.trinity.txt"
	[ -s "$d/ftrace-dump.txt" ] && tail -n 2000 "$d/ftrace-dump.txt" >"$art/$name.ftrace-dump.txt"
	[ $stuck = 0 ] && rm -rf "$d"
	tick "$name: end"
	echo "run $name phase=$phase who=$who seed=$seed rc=$rc ran=${ran:-0} secs=$t bounded=$bounded stuck=$stuck end=${why:-none} left=$(echo $left | wc -w) $counts" >>"$art/runs.txt"
	if [ -z "$ran" ] && [ "$phase" = baseline ]; then
		skip "trinity_${name}_ran" "rc $rc, bounded=$bounded, stuck=$stuck, no 'Ran N syscalls' line: the kernel's, lbrctx not loaded"
	else
		expect "trinity_${name}_ran" "rc $rc, no 'Ran N syscalls' line ($(tail -n 2 "$art/$name.trinity.txt" | tr '\n' ' '))" \
			[ -n "$ran" ]
	fi
	expect "trinity_${name}_enabled_5_syscalls" "trinity's line: '$(grep -a -m 1 'syscalls:.*enabled' "$art/$name.trinity.txt")'" \
		[ "${enabled:-0}" = 5 ]
	if [ $fdchecked = 0 ]; then
		skip "trinity_${name}_holds_no_fd_on_the_share" "trinity ended before its fds were looked at"
	else
		expect "trinity_${name}_holds_no_fd_on_the_share" "$sharefds fds on $out: $(grep "$out" "$art/$name.fds" | head -n 2 | tr '\n' ' ')" \
			[ "$sharefds" = 0 ]
	fi
}

run_phase() { # NAME: the lbrctx runs, or the baseline's
	kmsg "phase $1"
	# A WARN_ONCE() that fired before (boot, the other phase) fires again:
	# otherwise a report of the lbrctx runs could not come in the
	# baseline. (Lockdep has no such reset: after its first report it is
	# off until the next boot.)
	echo 1 >/sys/kernel/debug/clear_warn_once
	for who in $whos; do
		if [ "$who" = user ]; then
			echo "$paranoid" >/proc/sys/kernel/perf_event_paranoid
		else
			echo 2 >/proc/sys/kernel/perf_event_paranoid
		fi
		for s in $seeds; do
			[ $stuck = 0 ] && fuzz_run "$1" "$who" "$s"
		done
	done
	echo 2 >/proc/sys/kernel/perf_event_paranoid
}

# 1. With lbrctx.
lbrctx_phase() {
	step $E_INSMOD_LBRCTX insmod "$out/lbrctx.ko"
	base=$(live)
	echo "base $base" >"$art/live.txt"
	expect fuzz_starts_empty "live state after insmod: $base" [ "$base" = "objects=0 events=0" ]
	echo "lbrctx_type=$(cat $EV/lbrctx/type)" >>facts
	if [ "$aim" = 1 ]; then
		view_on lbrctx
		check fuzz_sysfs_view_of_lbrctx $? "mount --bind $scratch/pmus $EV failed"
		ls $EV >"$art/pmus-seen-lbrctx.txt"
	fi
	run_phase lbrctx
	view_off
	expect fuzz_lbrctx_runs_ended "a trinity could not be killed: $(grep 'stuck=1' "$art/runs.txt")" [ $stuck = 0 ]
	# Its task may hold what rmmod waits for: no rmmod, no baseline.
	[ $stuck = 0 ] || return
	ls $EV >"$art/pmus-after.txt"
	now=$(wait_live "objects=0 events=0" 60)
	echo "after $now" >>"$art/live.txt"
	expect fuzz_live_state_returns_to_zero "after the lbrctx runs: '$now'" [ "$now" = "objects=0 events=0" ]
	cat $D/store >"$art/store-after.txt"
	cat $D/pmu >"$art/pmu-after.txt"
	kmsg "phase kmemleak-lbrctx"
	if [ "$scans" = 1 ] && have_kmemleak; then
		tick "kmemleak scan"
		kmemleak_scan "$art/kmemleak-lbrctx.txt"
		kmemleak_forget
	fi
	tick "rmmod"
	kmsg "phase unload"
	rmmod lbrctx >"$art/rmmod.txt" 2>&1
	check rmmod_after_fuzz $? "$(cat "$art/rmmod.txt")"
	ls /sys/kernel/slab 2>/dev/null | grep lbrctx >"$art/slabs-after.txt"
	grep lbrctx /proc/modules >"$art/modules-after.txt"
	[ ! -s "$art/modules-after.txt" ] && [ ! -s "$art/slabs-after.txt" ]
	check fuzz_module_gone_caches_destroyed $? "modules: $(cat "$art/modules-after.txt") caches: $(cat "$art/slabs-after.txt")"
	dmesg -c >"$art/unload.dmesg"
}

# 2. The baseline: the same runs, lbrctx not loaded.
baseline_phase() {
	if [ $stuck = 1 ]; then
		fail fuzz_baseline_ran "not run: a trinity of the lbrctx runs could not be killed"
		return
	fi
	if grep -q '^lbrctx ' /proc/modules; then
		fail fuzz_baseline_ran "lbrctx still loaded: no baseline"
		return
	fi
	if [ "$aim" = 1 ]; then
		view_on msr
		check fuzz_sysfs_view_of_msr $? "mount --bind $scratch/pmus $EV failed"
		ls $EV >"$art/pmus-seen-baseline.txt"
	fi
	run_phase baseline
	view_off
	# A baseline trinity that could not be killed is the kernel's, not
	# lbrctx's: noted in runs.txt, the reports say why.
	kmsg "phase kmemleak-baseline"
	if [ "$scans" = 1 ] && have_kmemleak; then
		tick "kmemleak scan"
		kmemleak_scan "$art/kmemleak-baseline.txt"
		kmemleak_forget
	fi
}

for ph in $phases; do
	case $ph in
	lbrctx) lbrctx_phase ;;
	baseline) baseline_phase ;;
	esac
done
if [ $keeper = 1 ]; then
	echo 0 >$TR/events/fprobes/lbrctx_keep/enable
	echo '-:lbrctx_keep' >>$TR/dynamic_events
fi
tick "end"
kmsg "phase end"
dmesg -c >after-dmesg.log
exit 0
