#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of make bench. Benchmarks, not tests: every figure is a ratio
# or a value measured within this one boot, A/B interleaved, as medians.
#   P2, P3 (and L): the store benchmarks of lbrctx_bench.ko (kunit/bench.cpp)
#   P1: pipe ping-pong on one CPU, system-wide call-stack event on / off
#   P4: fork+exit rate, system-wide call-stack event on / off
#   P5: call-stack sampling at 10 kHz on CPU 0: samples, lost, cost per sample
#   P1b: P1 with two configurations (two units) against one
#   U1: one probed user call and return: lbrctx against a bare uprobe pair
#   U2: seed003u's completeness figures over 5 rounds
# Writes bench.txt (the P lines) and the raw outputs beside it.
set -u
out=$(pwd)
. ./lib.sh
T=$out/lbrctx-tool
R=${BENCH_ROUNDS:-11}
dmesg -c >/dev/null
# lbrctx stays loaded from here to the end: reloading it within one boot
# hits 7.3's fgraph re-registration bug (qemu/repro/fgraph-reregister.sh).
step $E_INSMOD_TCHAIN insmod ./lbrctx_tchain.ko
step $E_INSMOD_LBRCTX insmod ./lbrctx.ko
insmod ./lbrctx_bench.ko || { dmesg >bench-dmesg.log; exit $E_INSMOD_BENCH; }
dmesg -c >bench-dmesg.log
cat /sys/kernel/debug/lbrctx/store >store-after.txt
step $E_RMMOD_BENCH rmmod lbrctx_bench
sed -n 's/^\[[ 0-9.]*\] lbrctx: \(P[0-9] .*\|L .*\)$/\1/p' bench-dmesg.log >bench.txt

# The PMU benchmarks, with the default probes (vfs_read, vfs_write and the
# test chain).
echo -1 >/proc/sys/kernel/perf_event_paranoid

# P1 measures the context-switch path: the probes are moved off the
# ping-pong's path (the test chain only), so the event on adds the switch
# hook's save and restore and nothing else. A second run with the default
# probes (vfs_read and vfs_write, which every pipe read and write calls)
# adds the branch source's cost: ratio_vfs_probed.
P=/sys/kernel/debug/lbrctx/probes
default_probes=$(cat $P)
step $E_STEP sh -c "echo 'lbrctx_tchain_*' >$P"
step $E_STEP sh -c "$T p1 $R ${P1_N:-20000} >p1.txt 2>&1"
step $E_STEP sh -c "echo '$default_probes' >$P"
step $E_STEP sh -c "$T p1 $R ${P1_N:-20000} >p1-vfs.txt 2>&1"
set -- $(cat p1-vfs.txt)
vfs=${4#ratio=}
set -- $(cat p1.txt)
echo "P1 ${4} ${2} ${3} rounds=$R $(echo ${6} | sed 's/n=/round_trips=/') ratio_vfs_probed=$vfs upstream_ratio=not-measured" >>bench.txt

# P1 with two configurations: the system-wide call-stack event, and beside
# it a per-task branches event on the ping-pong tasks, whose configuration
# takes a second unit (include/lbrctx/units.h). Probes off the path, as P1.
step $E_STEP sh -c "echo 'lbrctx_tchain_*' >$P"
step $E_STEP sh -c "$T p1two $R ${P1_N:-20000} >p1two.txt 2>&1"
step $E_STEP sh -c "echo '$default_probes' >$P"
sed -n 's/^p1two /P1b /p' p1two.txt >>bench.txt

step $E_STEP sh -c "$T p4 $R ${P4_N:-400} >p4.txt 2>&1"
set -- $(cat p4.txt)
echo "P4 ${4} ${2} ${3} rounds=$R $(echo ${6} | sed 's/n=/forks=/')" >>bench.txt

# P5: 10 kHz is a 100000 ns period. Each round runs the same read loop on
# CPU 0 without and with `perf record -C 0`, in alternating order. The
# probes are off the loop's path (test chain only): the difference is the
# cost of sampling, not of probing vfs_read.
step $E_STEP sh -c "echo 'lbrctx_tchain_*' >$P"
N=${P5_N:-200000}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
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
