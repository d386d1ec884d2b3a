#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the benchmarks P1 to P5 in a QEMU guest (7.x by default; set
# LBRCTX_BENCH_SERIES). Benchmarks, not tests: each line is a median over
# repeated runs in one boot, A/B interleaved, with its ratio (see
# qemu/guest/bench.sh). Then H1 and H2, the QEMU plugin's LBR hardware, in
# a boot series of their own (below). Prints the lines and keeps the
# guests' output in artifacts/bench-<kernel>/.
#
#   LBRCTX_BENCH_ONLY=H   H1 and H2 alone; =P everything but them
#   LBRCTX_BENCH_H_CYCLES (default 3), LBRCTX_BENCH_H_RUNS (default 3):
#                         H's boot cycles, and timed runs per boot
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$LBRCTX_TOP" || exit 1
series=${LBRCTX_BENCH_SERIES:-7.x}
only=${LBRCTX_BENCH_ONLY:-}
case $only in "" | H | P) ;; *) die "LBRCTX_BENCH_ONLY: H or P, not $only" ;; esac
build_pkgs
guest_pkgs
kdir=$(scripts/kernels.sh build "$series" default) || die "no $series kernel"
rel=$(cat "$kdir/include/config/kernel.release")
label=${rel%-lbrctx}
w=$LBRCTX_TOP/artifacts/bench-$label
# A partial run keeps the other part's output.
if [ -z "$only" ]; then rm -rf "$w"; fi
mkdir -p "$w"
stage_sources "$w/src"
make -C "$w/src" KDIR="$kdir" >"$w/build.log" 2>&1 || die "module build failed ($w/build.log)"
build_tool "$w/lbrctx-tool"
build_tchain "$w/tchain"
gcc -O2 -Wall -Wextra -Werror -o "$w/benchrun" qemu/guest/benchrun.c || die "cannot build $w/benchrun"
# U3's workload, against Debian's libz itself (no zlib1g-dev needed).
gcc -O2 -Wall -Wextra -Werror -o "$w/u3" qemu/guest/u3.c /lib/x86_64-linux-gnu/libz.so.1 ||
	die "cannot build $w/u3"
bench_guest() { # VCPUS OUT ROUNDS
	qemu/run.sh --kernel "$kdir/arch/x86/boot/bzImage" --out "$2" --smp "$1" --mem 4G \
		--timeout 2400 --in "$w/src/lbrctx.ko" --in "$w/src/lbrctx_bench.ko" \
		--in "$w/src/lbrctx_tchain.ko" --in "$w/lbrctx-tool" --in "$w/tchain" \
		--in scripts/lbrctx-uprobes --in qemu/guest/seed003u.sh --in qemu/guest/bench.sh \
		--in "$w/u3" --in qemu/guest/u3.sh -- "BENCH_ROUNDS=$3 sh ./bench.sh" >"$2.log" 2>&1 ||
		die "benchmark guest ($1 vCPUs) failed ($2.log, $2/console.log)"
}
if [ "$only" != H ]; then
	log "running the benchmarks on $label (about 10 minutes under TCG)"
	bench_guest 2 "$w/guest" 11
	# The store benchmarks, K1 and P4 on every CPU again with 8 vCPUs (one
	# host thread runs them all under TCG: rates are lower, ratios compare).
	log "again with 8 vCPUs: the store benchmarks, K1, P4 on every CPU"
	bench_guest 8 "$w/guest8" 5
fi

# H1 and H2: the QEMU plugin that is the guest's LBR hardware (qemu/plugin,
# run.sh --lbr), what it costs the guest and what it records. One workload
# (qemu/guest/bench.sh's BENCH_H: gzip -c of a fixed 20 MiB file, a warm-up
# and H_RUNS runs timed in the guest) in boots of four kinds, interleaved:
# none (no plugin), idle (lazy mode, lbrctx source=hw, no event), on (lazy
# mode, each run under perf stat -a -e lbrctx/branches/), always (always
# mode, no event), and again, LBRCTX_BENCH_H_CYCLES times; 2 vCPUs.
#   H1: the median run of each kind over all its boots, in ms, and each
#       plugin kind's ratio to none; min_ratio_*: the same of the kinds'
#       fastest runs. Guest time is host time under TCG, so a loaded host
#       slows the runs it overlaps: cpu_share_min is the lowest share of a
#       host CPU that a boot's QEMU got (CPU time over real time, the whole
#       boot; each boot's is in h/KIND-CYCLE.time), and cpu_*: the same
#       runs measured in QEMU's CPU time instead (h_cpu, the host's clock
#       ticks at benchrun's marks, polled: about 50 ms either way), which
#       the host's other load changes less; cpu_runs: the runs measured so.
#   H2: the on boots, every perf stat'd run (warm-ups too) summed: the
#       plugin's branches (offered to the units) and records (taken by
#       them), from plugin.log, written at QEMU's exit, summed over vCPUs
#       and boots (units are enabled only while perf stat runs), and perf
#       stat's lbrctx/branches/ counts (the driver's sum of the plugin's
#       per-unit recorded counters), each over the guest time the event
#       was enabled (perf stat's running time of the event, summed over the
#       CPUs, over the number of CPUs: enabled_s). ratio is perf's count over the plugin's records.
#       workload_s is the same runs' gzip time (benchrun's).
# h_cpu OUT: while OUT's QEMU runs, its CPU time (utime + stime of the
# process, clock ticks) each time the guest's benchrun appends a mark to
# OUT/h-marks.txt (just before and just after each run): "MARKS TICKS"
# lines in OUT.cpu. Polled every 50 ms; bench.sh stops it.
h_cpu() {
	local o=$1 pid= n=0 m st
	: >"$o.cpu"
	while [ -z "$pid" ]; do
		pid=$(pgrep -f "^qemu-system-x86_64 .*file:$o/console.log" | head -n 1)
		[ -n "$pid" ] || sleep 0.2
	done
	while [ -r "/proc/$pid/stat" ]; do
		if [ -r "$o/h-marks.txt" ]; then
			mapfile -t m <"$o/h-marks.txt"
			if [ ${#m[@]} != $n ]; then
				read -r -a st <"/proc/$pid/stat" || break
				n=${#m[@]}
				echo "$n $((st[13] + st[14]))" >>"$o.cpu"
			fi
		fi
		sleep 0.05
	done
}

h_series() {
	local hw=$w/h cycles=${LBRCTX_BENCH_H_CYCLES:-3} runs=${LBRCTX_BENCH_H_RUNS:-3} vcpus=2 c k o
	local plugin=${LBRCTX_PLUGIN:-$LBRCTX_TOP/qemu/plugin/lbrctx-plugin.so}
	rm -rf "$hw"
	mkdir -p "$hw"
	if [ -z "${LBRCTX_PLUGIN:-}" ] && [ ! -f "$plugin" ]; then
		make plugin >"$hw/plugin-build.log" 2>&1 || die "make plugin failed ($hw/plugin-build.log)"
	fi
	[ -f "$plugin" ] || die "no plugin at $plugin"
	if [ -z "${LBRCTX_PLUGIN:-}" ] &&
		! make -q qemu/plugin/lbrctx-plugin.so QEMU_PLUGIN_H="$(scripts/qemu-plugin.sh header 2>/dev/null)" 2>/dev/null; then
		log "H: $plugin is older than its sources (make plugin rebuilds it); measuring it as it is"
	fi
	# Every boot loads this copy, whatever happens to the tree's meanwhile.
	cp "$plugin" "$hw/lbrctx-plugin.so" || die "cannot copy $plugin"
	log "H1, H2: $cycles cycles of 4 boots (none, idle, on, always), $runs runs each, plugin $plugin"
	for c in $(seq 1 "$cycles"); do
		for k in none idle on always; do
			o=$hw/$k-$c
			local lbr=()
			case $k in
			idle | on) lbr=(--lbr --lbr-mode lazy) ;;
			always) lbr=(--lbr --lbr-mode always) ;;
			esac
			# The boot's real, user and system seconds (run.sh and QEMU):
			# how much of a host CPU the guest got, on a shared host.
			local TIMEFORMAT='%R %U %S' mon
			h_cpu "$o" &
			mon=$!
			{ time LBRCTX_PLUGIN=$hw/lbrctx-plugin.so qemu/run.sh --kernel "$kdir/arch/x86/boot/bzImage" \
				--out "$o" --smp $vcpus --mem 4G --timeout 1200 "${lbr[@]}" \
				--in "$w/src/lbrctx.ko" --in "$w/benchrun" --in qemu/guest/bench.sh \
				-- "BENCH_H=$k H_RUNS=$runs sh ./bench.sh" >"$o.log" 2>&1; } 2>"$o.time" ||
				{ kill $mon; die "H guest ($k, cycle $c) failed ($o.log, $o/console.log)"; }
			kill $mon 2>/dev/null
			wait $mon 2>/dev/null
			[ "$(wc -l <"$o/h.txt")" = $((runs + 1)) ] || die "H guest ($k, cycle $c): $o/h.txt"
			if [ $k != none ]; then
				grep -q '^vcpu=0 ' "$o/plugin.log" || die "H guest ($k, cycle $c): no $o/plugin.log"
				# No event, no unit: lazy mode never instrumented, and no branch was offered.
				[ $k != idle ] || awk '
					/^# lbrctx-plugin/ { for (i = 2; i <= NF; i++) if ($i ~ /^(instrumented|resets)=/ && $i !~ /=0$/) bad = 1 }
					/^vcpu=/ { for (i = 1; i <= NF; i++) if ($i ~ /^branches=/ && $i != "branches=0") bad = 1 }
					END { exit bad }' "$o/plugin.log" || log "H: the idle boot $o was instrumented"
			fi
		done
	done
	[ "$(cat "$hw"/*/h-data.txt | sort -u | wc -l)" = 1 ] || die "H: the workload's file differs between boots"
	set -- $(cat "$hw/none-1/h-data.txt")
	local bytes=$1
	# The host's share: of all boots, the lowest (user + system) / real of
	# run.sh and its QEMU (one TCG thread: near 1 when it had a CPU to
	# itself; the boots' idle moments lower it a little).
	local share
	share=$(cat "$hw"/*.time | awk '{ s = ($2 + $3) / $1; if (NR == 1 || s < m) m = s } END { printf "%.2f", m }')
	# Each kind's median run and its fastest (the runs the host's other
	# load disturbed least), in ms.
	for k in none idle on always; do
		cat "$hw/$k"-*/h.txt | awk '$1 == "run" { print $2 / 1e6 }' | sort -n |
			awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1] }' \
			>"$hw/$k.median"
	done
	# QEMU's CPU time of each timed run (the marks' pairs after the warm-up's), in ms.
	local tck
	tck=$(getconf CLK_TCK)
	for k in none idle on always; do
		awk -v tck="$tck" '
			FNR == 1 { split("", t) }
			{ t[$1] = $2 }
			$1 % 2 == 0 && $1 >= 4 && ($1 - 1) in t { print ($2 - t[$1 - 1]) * 1000 / tck }' "$hw/$k"-*.cpu | sort -n |
			awk '{ v[NR] = $1 } END { print NR ? (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) : 0, NR }' \
			>"$hw/$k.cpu-median"
	done
	awk -v off="$(cat "$hw/none.median")" -v idle="$(cat "$hw/idle.median")" \
		-v on="$(cat "$hw/on.median")" -v al="$(cat "$hw/always.median")" \
		-v coff="$(cat "$hw/none.cpu-median")" -v cidle="$(cat "$hw/idle.cpu-median")" \
		-v con="$(cat "$hw/on.cpu-median")" -v cal="$(cat "$hw/always.cpu-median")" \
		-v bytes="$bytes" -v cycles="$cycles" -v runs="$runs" -v share="$share" '
	function r(a, b) { return b ? a / b : 0 }
	BEGIN {
		split(off, o, " "); split(idle, i, " "); split(on, n, " "); split(al, a, " ")
		split(coff, co, " "); split(cidle, ci, " "); split(con, cn, " "); split(cal, ca, " ")
		printf "H1 workload=gzip-c workload_bytes=%d off_ms=%.0f plugin_idle_ms=%.0f plugin_on_ms=%.0f ratio_idle=%.3f ratio_on=%.3f", \
			bytes, o[1], i[1], n[1], i[1] / o[1], n[1] / o[1]
		printf " always_idle_ms=%.0f ratio_always_idle=%.3f", a[1], a[1] / o[1]
		printf " min_ratio_idle=%.3f min_ratio_on=%.3f min_ratio_always_idle=%.3f", i[2] / o[2], n[2] / o[2], a[2] / o[2]
		printf " cpu_off_ms=%.0f cpu_ratio_idle=%.3f cpu_ratio_on=%.3f cpu_ratio_always_idle=%.3f cpu_runs=%d", \
			co[1], r(ci[1], co[1]), r(cn[1], co[1]), r(ca[1], co[1]), co[2] + ci[2] + cn[2] + ca[2]
		printf " cpu_share_min=%s on_event=perf-stat-a-lbrctx/branches/ boots_per_kind=%d runs_per_boot=%d\n", \
			share, cycles, runs
	}' >"$hw/h.txt"
	# H2 over the on boots.
	local ns perf run br rec
	ns=$(cat "$hw"/on-*/h.txt | awk '{ s += $2 } END { printf "%.0f", s }')
	perf=$(cat "$hw"/on-*/h.txt | awk '{ s += $3 } END { printf "%.0f", s }')
	run=$(cat "$hw"/on-*/h.txt | awk -v n=$vcpus '{ s += $4 } END { printf "%.0f", s / n }')
	set -- $(cat "$hw"/on-*/plugin.log | awk '/^vcpu=/ {
		for (i = 1; i <= NF; i++) { split($i, f, "="); if (f[1] == "branches") b += f[2]; if (f[1] == "records") r += f[2] }
	} END { printf "%.0f %.0f\n", b, r }')
	br=$1 rec=$2
	awk -v ns="$ns" -v run="$run" -v perf="$perf" -v br="$br" -v rec="$rec" -v cycles="$cycles" -v runs="$runs" 'BEGIN {
		s = run / 1e9
		printf "H2 branches_per_s=%.0f perf_branches_per_s=%.0f records_per_s=%.0f ratio=%.6f enabled_s=%.3f workload_s=%.3f branches=%.0f records=%.0f perf_branches=%.0f boots=%d runs=%d\n",
			br / s, perf / s, rec / s, rec ? perf / rec : 0, s, ns / 1e9, br, rec, perf, cycles, cycles * (runs + 1)
	}' >>"$hw/h.txt"
}
[ "$only" = P ] || h_series

{
	[ "$only" = H ] || cat "$w/guest/bench.txt" "$w/guest8/bench.txt"
	[ "$only" = P ] || cat "$w/h/h.txt"
} | sed "s/^\(P[0-9]b\{0,1\}\|P4all\|L\|U[0-9]\|K[0-9]\|H[0-9]\) /\1 kernel=$label /" | sort -s -k1,1
