#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of make bench. Benchmarks, not tests: every figure is a ratio
# or a value measured within this one boot, A/B interleaved, as medians.
#   P2, P3 (and L): the store benchmarks of lbrctx_bench.ko (kunit/bench.cpp),
#       with lbrctx's store and the core's (store=upstream, 7.x) side by side
#   K1: ns per probed kernel call+return: lbrctx against its empty-handler floor
#   P1: pipe ping-pong on one CPU, system-wide call-stack event on / off,
#       probes off the path and the default probes, each store, and a
#       per-task event on another CPU
#   P4: fork+exit rate, system-wide call-stack event on / off, each store;
#       and with a forker on every CPU (p4all)
#   P5: call-stack sampling at 10 kHz on CPU 0: samples, lost, cost per sample
#   P1b: P1 with two configurations (two units) against one
#   U1: one probed user call and return: lbrctx against a bare uprobe pair
#   U2: seed003u's completeness figures over 5 rounds
#   U3: all of libz probed, a workload calling it: lbrctx against the
#       kernel's own uprobe and uretprobe pairs (qemu/guest/u3.sh)
# Writes bench.txt (the P lines) and the raw outputs beside it.
# With BENCH_H set, one boot of H1 and H2's series instead (see below).
set -u
out=$(pwd)
. ./lib.sh
T=$out/lbrctx-tool
R=${BENCH_ROUNDS:-11}
dmesg -c >/dev/null

# H1, H2: one boot of scripts/bench.sh's series for the QEMU plugin's LBR
# hardware, which makes the figures out of several such boots. The boot's
# kind, BENCH_H: none (no plugin: lbrctx is not loaded), idle (the plugin
# in lazy mode, lbrctx loaded with source=hw, no event), always (the plugin
# in always mode, the same), on (lazy mode, and every run of the workload
# under perf stat -a -e lbrctx/branches/: one unit per CPU, every branch
# type, kernel and user). The workload: gzip -c of a 20 MiB file in tmpfs,
# to /dev/null, one warm-up run and then H_RUNS runs, each timed in this
# guest by benchrun (CLOCK_MONOTONIC around the fork and wait of gzip
# alone, inside perf stat for the on boot). The file: 1 MiB of text-like
# lines (words and numbers) that mawk makes from srand(23), 20 times over;
# gzip's window is 32 KiB, so the repeats compress as the first copy does.
# benchrun appends a mark to h-marks.txt just before and just after each
# run, where the host reads QEMU's CPU time. Writes h.txt ("warmup|run NS
# COUNT RUNNING": COUNT is perf stat's lbrctx/branches/ count of the run
# and RUNNING the event's running time, in ns summed over the CPUs, both
# "-" when no perf stat ran) and h-data.txt (the file's size and sha256,
# the same in every boot).
if [ -n "${BENCH_H:-}" ]; then
	case $BENCH_H in none | idle | always | on) ;; *) echo "BENCH_H=$BENCH_H?"; exit $E_STEP ;; esac
	if [ "$BENCH_H" != none ]; then
		step $E_INSMOD_LBRCTX insmod ./lbrctx.ko source=hw
		dmesg >h-dmesg.txt
		src=$(awk '$1 == "source" { print $2 }' $D/pmu)
		[ "$src" = hw ] || { echo "lbrctx's source is '$src', not hw"; exit $E_STEP; }
	fi
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	# benchrun's marks, around each run, for the host (scripts/bench.sh h_cpu).
	BENCHRUN_MARKS=$out/h-marks.txt
	export BENCHRUN_MARKS
	awk 'BEGIN {
		srand(23)
		split("the of and to in is that for it as with was on be by at this are from or an " \
		      "which have not but all were can has one their more its also been other", w, " ")
		n = 0
		while (n < 1048576) {
			l = ""
			k = 4 + int(rand() * 12)
			for (i = 0; i < k; i++)
				l = l w[1 + int(rand() * 40)] " " int(rand() * 1000) " "
			print l
			n += length(l) + 1
		}
	}' >/tmp/h-chunk || exit $E_STEP
	i=0
	while [ $i -lt 20 ]; do cat /tmp/h-chunk; i=$((i + 1)); done >/tmp/h.dat
	rm /tmp/h-chunk
	echo "$(wc -c </tmp/h.dat) $(sha256sum </tmp/h.dat | cut -d' ' -f1)" >h-data.txt
	: >h.txt
	: >h-ns.txt
	hrun() { # warmup|run
		if [ "$BENCH_H" = on ]; then
			perf stat -a -x, -e lbrctx/branches/ -o h-stat.txt -- \
				./benchrun h-ns.txt gzip -c /tmp/h.dat >/dev/null || exit $E_STEP
			c=$(awk -F, '/lbrctx/ { print $1, $4 }' h-stat.txt)
			cat h-stat.txt >>h-stat-all.txt
		else
			./benchrun h-ns.txt gzip -c /tmp/h.dat >/dev/null || exit $E_STEP
			c="- -"
		fi
		set -- "$1" $(tail -n 1 h-ns.txt)
		[ "$3" = 0 ] || { echo "gzip exited $3"; exit $E_STEP; }
		case $c in "- -" | [0-9]*" "[0-9]*) ;; *) echo "perf stat counted '$c'"; exit $E_STEP ;; esac
		echo "$1 $2 $c" >>h.txt
	}
	hrun warmup
	i=0
	while [ $i -lt ${H_RUNS:-3} ]; do
		hrun run
		i=$((i + 1))
	done
	[ "$BENCH_H" = none ] || cat $D/pmu >h-pmu.txt
	exit 0
fi
# lbrctx stays loaded from here to the end: reloading it within one boot
# hits 7.3's fgraph re-registration bug (qemu/repro/fgraph-reregister.sh).
VCPUS=$(nproc)
P=/sys/kernel/debug/lbrctx/probes
ST=/sys/module/lbrctx/parameters/store
step $E_INSMOD_TCHAIN insmod ./lbrctx_tchain.ko
step $E_INSMOD_LBRCTX insmod ./lbrctx.ko
set_test_probes
default_probes=$(cat $P)
# The store benchmarks open CPU-wide events through perf: one probed
# function keeps the probes' registration, the same for both stores, small.
step $E_STEP sh -c "echo lbrctx_tchain_cost_rec >$P"
insmod ./lbrctx_bench.ko || { dmesg >bench-dmesg.log; exit $E_INSMOD_BENCH; }
dmesg -c >bench-dmesg.log
cat /sys/kernel/debug/lbrctx/store >store-after.txt
step $E_RMMOD_BENCH rmmod lbrctx_bench
sed -n "s/^\[[ 0-9.]*\] lbrctx: \(P[0-9] \|L \)\(.*\)$/\1vcpus=$VCPUS \2/p" bench-dmesg.log >bench.txt
upstream=0
[ "$(cat $ST)" = lbrctx ] && echo upstream >$ST 2>/dev/null && echo lbrctx >$ST && upstream=1

# K1: the branch source's cost per probed call and return, lbrctx's
# recording against the same probe with empty handlers (kunit/bench_probe.c)
# and no probe, in one module load; the lbrctx branches event on the
# loading task counts what lbrctx recorded (2 per call, calls x rounds).
N=${K1_N:-20000}
step $E_STEP sh -c "echo lbrctx_tchain_cost_rec >$P"
perf stat -x, -e lbrctx/branches/ -o k1-stat.txt -- insmod ./lbrctx_bench.ko k1=$N k1_rounds=$R \
	>k1-insmod.txt 2>&1 || { dmesg >k1-dmesg.log; exit $E_INSMOD_BENCH; }
step $E_RMMOD_BENCH rmmod lbrctx_bench
dmesg -c >k1-dmesg.log
rec=$(awk -F, '/lbrctx/ { print $1 }' k1-stat.txt)
sed -n "s/^\[[ 0-9.]*\] lbrctx: K1 \(.*\)$/K1 vcpus=$VCPUS \1 recorded=$rec expected=$((2 * N * R))/p" k1-dmesg.log >>bench.txt
if [ "$VCPUS" != 2 ]; then
	# The many-CPU boot: the store benchmarks above, and P4 on every CPU.
	step $E_STEP sh -c "echo '$default_probes' >$P"
	step $E_STEP sh -c "$T p4all $R ${P4_N:-100} >p4all.txt 2>&1"
	set -- $(cat p4all.txt)
	echo "P4all vcpus=$VCPUS ${4} ${2} ${3} rounds=$R $(echo ${6} | sed 's/n=/forks_per_cpu=/')" >>bench.txt
	step $E_RMMOD_LBRCTX rmmod lbrctx
	step $E_RMMOD_TCHAIN rmmod lbrctx_tchain
	exit 0
fi

# The PMU benchmarks, with the default probes (vfs_read, vfs_write and the
# test chain).
echo -1 >/proc/sys/kernel/perf_event_paranoid

# ab WHAT N OUT: R rounds of lbrctx-tool WHAT (one off/on pair a round),
# lbrctx's store and, on 7.x, the core's (store=upstream) in alternating
# order; OUT.lbrctx and OUT.upstream get "off on" per round.
ab() {
	: >$3.lbrctx; : >$3.upstream
	i=0
	while [ $i -lt $R ]; do
		for k in 0 1; do
			m=lbrctx
			[ $(((i + k) % 2)) = 1 ] && m=upstream
			[ $m = upstream ] && [ $upstream = 0 ] && continue
			echo $m >$ST || exit $E_STEP
			$T $1 1 $2 | sed 's/^[a-z0-9]* off_[a-z_]*=\([0-9.]*\) on_[a-z_]*=\([0-9.]*\).*/\1 \2/' >>$3.$m
		done
		i=$((i + 1))
	done
	echo lbrctx >$ST
}
# abratio FILE: "off on ratio" from the medians of FILE's two columns.
abratio() {
	[ -s "$1" ] || { echo "0 0 not-measured"; return; }
	o=$(awk '{ print $1 }' $1 | median) n=$(awk '{ print $2 }' $1 | median)
	awk -v o="$o" -v n="$n" 'BEGIN { printf "%.0f %.0f %.3f\n", o, n, n / o }'
}

# P1 measures the context-switch path: the probes are moved off the
# ping-pong's path (the test chain only), so the event on adds the switch
# hook's save and restore and nothing else. With the default probes
# (vfs_read and vfs_write, which every pipe read and write calls) it adds
# the branch source's cost too: both are the headline. p1other puts the
# event on a task of CPU 1, so CPU 0's switches meet no event there;
# p1othersw does the same with a software event, the perf core's own cost
# of a per-task event (its sched hooks run on every CPU's switches).
step $E_STEP sh -c "echo 'lbrctx_tchain_*' >$P"
ab p1 ${P1_N:-20000} p1
step $E_STEP sh -c "$T p1other $R ${P1_N:-20000} >p1other.txt 2>&1"
step $E_STEP sh -c "$T p1othersw $R ${P1_N:-20000} >p1othersw.txt 2>&1"
step $E_STEP sh -c "echo '$default_probes' >$P"
ab p1 ${P1_N:-20000} p1vfs
set -- $(abratio p1.lbrctx); off=$1 on=$2 r_off=$3
set -- $(abratio p1.upstream); up_off=$1 up_on=$2 r_up=$3
set -- $(abratio p1vfs.lbrctx); r_vfs=$3
set -- $(abratio p1vfs.upstream); r_vfs_up=$3
set -- $(cat p1other.txt); r_other=${4#ratio=}
set -- $(cat p1othersw.txt); r_other_sw=${4#ratio=}
echo "P1 vcpus=$VCPUS ratio_probes_off=$r_off ratio_default_probes=$r_vfs off_ns=$off on_ns=$on rounds=$R round_trips=${P1_N:-20000} upstream_ratio_probes_off=$r_up upstream_ratio_default_probes=$r_vfs_up upstream_off_ns=$up_off upstream_on_ns=$up_on ratio_other_cpu=$r_other ratio_other_cpu_sw_event=$r_other_sw" >>bench.txt

# P1 with two configurations: the system-wide call-stack event, and beside
# it a per-task branches event on the ping-pong tasks, whose configuration
# takes a second unit (include/lbrctx/units.h). Probes off the path, as P1.
step $E_STEP sh -c "echo 'lbrctx_tchain_*' >$P"
step $E_STEP sh -c "$T p1two $R ${P1_N:-20000} >p1two.txt 2>&1"
step $E_STEP sh -c "echo '$default_probes' >$P"
sed -n 's/^p1two /P1b /p' p1two.txt >>bench.txt

ab p4 ${P4_N:-400} p4
set -- $(abratio p4.lbrctx); off=$1 on=$2 r=$3
set -- $(abratio p4.upstream); up_off=$1 up_on=$2 r_up=$3
echo "P4 vcpus=$VCPUS ratio=$r off_per_s=$off on_per_s=$on rounds=$R forks=${P4_N:-400} upstream_ratio=$r_up upstream_off_per_s=$up_off upstream_on_per_s=$up_on" >>bench.txt
step $E_STEP sh -c "$T p4all $R ${P4_N:-400} >p4all.txt 2>&1"
set -- $(cat p4all.txt)
echo "P4all vcpus=$VCPUS ${4} ${2} ${3} rounds=$R $(echo ${6} | sed 's/n=/forks_per_cpu=/')" >>bench.txt

# P5: 10 kHz is a 100000 ns period. Each round runs the same read loop on
# CPU 0 without and with `perf record -C 0`, in alternating order. The
# probes are off the loop's path (test chain only): the difference is the
# cost of sampling, not of probing vfs_read.
step $E_STEP sh -c "echo 'lbrctx_tchain_*' >$P"
N=${P5_N:-200000}
: >p5-off.txt; : >p5-on.txt; : >p5-samples.txt; : >p5-loop.txt; : >p5-lost.txt; : >p5-dropped.txt
i=0
while [ $i -lt 5 ]; do
	for with in $((i % 2)) $(((i + 1) % 2)); do
		if [ $with = 0 ]; then
			taskset -c 0 $T reads $N | sed 's/.*ns_per_read=//' >>p5-off.txt
			continue
		fi
		d0=$(awk '$1 == "dropped" { print $2 }' /sys/kernel/debug/lbrctx/pmu)
		perf record -q -B -N -C 0 -e lbrctx/callstack/ -c 100000 -b -o /tmp/p5.data -- \
			taskset -c 0 $T reads $N >p5-run.txt 2>&1
		d1=$(awk '$1 == "dropped" { print $2 }' /sys/kernel/debug/lbrctx/pmu)
		sed -n 's/.*ns_per_read=//p' p5-run.txt >>p5-on.txt
		perf report -i /tmp/p5.data --stats >p5-stats.txt 2>&1
		awk '/SAMPLE events:/ { print $3 }' p5-stats.txt | head -n 1 >>p5-samples.txt
		# The samples taken while the read loop itself ran.
		perf script -i /tmp/p5.data -F comm 2>/dev/null | grep -c 'lbrctx-tool' >>p5-loop.txt
		awk '/LOST events:/ { s += $3 } END { print s + 0 }' p5-stats.txt >>p5-lost.txt
		echo $((d1 - d0)) >>p5-dropped.txt
	done
	i=$((i + 1))
done
off=$(median <p5-off.txt) on=$(median <p5-on.txt) samples=$(median <p5-samples.txt)
loop=$(median <p5-loop.txt)
lost=$(awk '{ s += $1 } END { print s + 0 }' p5-lost.txt)
dropped=$(awk '{ s += $1 } END { print s + 0 }' p5-dropped.txt)
# Cost per sample: the read loop's extra time with sampling on, over the
# samples taken while the loop ran (comm lbrctx-tool); also the rate those
# samples give over the loop's run time.
awk -v off="$off" -v on="$on" -v s="$samples" -v ls="$loop" -v n=$N -v lost="$lost" -v dr="$dropped" 'BEGIN {
	cost = ls ? (on - off) * n / ls : 0
	rate = ls / (n * on * 1e-9)
	printf "P5 rate_hz=10000 loop_rate_hz=%.0f samples_median=%d loop_samples_median=%d lost_total=%d dropped_total=%d read_off_ns=%.1f read_on_ns=%.1f ratio=%.3f ns_per_sample=%.0f rounds=5\n", rate, s, ls, lost, dr, off, on, on / off, cost
}' >>bench.txt
echo "$default_probes" >$P

# U1: one probed user call and return. lbrctx-tool ucalls calls
# lbrctx_u1_target N times; each round times it in rotating order with no
# probe, with U1's bare uprobe and uretprobe (lbrctx_bench.ko u1_path=:
# lbrctx's own uprobe wrappers with handlers that only count), and under a
# per-task lbrctx branches event (lbrctx's user source, recording). ratio:
# lbrctx's cost per call over the bare pair's.
mkdir -p /tmp/u1 && cp $T /tmp/u1/lbrctx-tool && chmod 755 /tmp/u1/lbrctx-tool
U1T=/tmp/u1/lbrctx-tool
U1OFF=$("$UPROBES_TOOL" "$U1T:lbrctx_u1_target" | awk '{ print $2 }')
step $E_STEP sh -c "'$UPROBES_TOOL' --write '$U1T:lbrctx_u1_target' >u1-uprobes.txt 2>&1"
N=${U1_N:-20000}
: >u1-none.txt; : >u1-bare.txt; : >u1-lbrctx.txt
i=0
while [ $i -lt $R ]; do
	for k in 0 1 2; do
		case $(((i + k) % 3)) in
		0) $U1T ucalls $N | sed 's/.*ns_per_call=//' >>u1-none.txt ;;
		1) step $E_INSMOD_BENCH insmod ./lbrctx_bench.ko u1_path=$U1T u1_offset=$U1OFF
		   $U1T ucalls $N | sed 's/.*ns_per_call=//' >>u1-bare.txt
		   step $E_RMMOD_BENCH rmmod lbrctx_bench ;;
		2) perf stat -x, -e lbrctx/branches/u -o /tmp/u1/stat.txt -- $U1T ucalls $N |
			sed 's/.*ns_per_call=//' >>u1-lbrctx.txt
		   awk -F, '/lbrctx/ { print $1 }' /tmp/u1/stat.txt >>u1-branches.txt ;;
		esac
	done
	i=$((i + 1))
done
dmesg | grep 'U1 bare probe:' | tail -n 1 >u1-bare-dmesg.txt
"$T" write /sys/kernel/debug/lbrctx/uprobes "" >/dev/null
none=$(median <u1-none.txt) bare=$(median <u1-bare.txt) lb=$(median <u1-lbrctx.txt)
br=$(median <u1-branches.txt)
awk -v n0="$none" -v b="$bare" -v l="$lb" -v br="$br" -v r=$R -v c=$N 'BEGIN {
	printf "U1 none_ns=%.1f bare_ns=%.1f lbrctx_ns=%.1f bare_pair_ns=%.1f lbrctx_pair_ns=%.1f ratio=%.3f branches_median=%d calls=%d rounds=%d\n", n0, b, l, b - n0, l - n0, (l - n0) / (b - n0), br, c, r
}' >>bench.txt

# U3: the user source on a real library, whole (qemu/guest/u3.sh).
. ./u3.sh

# U2: seed003u's completeness figures (qemu/guest/seed003u.sh), 5 rounds.
PERF=perf work=/tmp/u2 art=/tmp/u2/art TCHAIN=/tmp/u2/tchain
mkdir -p $art && cp ./tchain $TCHAIN && chmod 755 $TCHAIN
. ./seed003u.sh
uprobes_set >u2-uprobes.txt 2>&1
SR=/sys/module/lbrctx/parameters/save_restore
: >u2.txt
i=0
while [ $i -lt 5 ]; do
	echo Y >$SR
	urecord per-process
	urecord system-wide -a
	echo N >$SR
	urecord system-wide-nosave -a
	echo Y >$SR
	line=
	for m in per-process system-wide system-wide-nosave; do
		set -- $(ucompleteness $m)
		line="$line $(awk -v c="$1" -v n="$2" 'BEGIN { printf "%.1f", n ? 100 * c / n : 0 }') $2"
	done
	echo "$line" >>u2.txt
	i=$((i + 1))
done
"$T" write /sys/kernel/debug/lbrctx/uprobes "" >/dev/null
awk '{ pp[NR] = $1; sw[NR] = $3; ns[NR] = $5; s += $2 + $4 + $6 }
function med(v, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }; return v[int((n + 1) / 2)] }
function lo(v, n,   i, m) { m = v[1]; for (i = 2; i <= n; i++) if (v[i] < m) m = v[i]; return m }
END { printf "U2 per_process_median=%.1f system_wide_median=%.1f system_wide_min=%.1f system_wide_nosave_median=%.1f samples_total=%d rounds=%d\n", med(pp, NR), med(sw, NR), lo(sw, NR), med(ns, NR), s, NR }' u2.txt >>bench.txt

step $E_RMMOD_LBRCTX rmmod lbrctx
step $E_RMMOD_TCHAIN rmmod lbrctx_tchain
[ -s bench.txt ]
