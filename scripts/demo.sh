#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: seed 003's experiment under perf, as a report and pictures.
#
# Boots the 7.x test kernel in QEMU (built on first use), loads lbrctx,
# first records seed 003's user-space program (tchain, main -> f1 -> f2 ->
# f3) with `perf record --call-graph lbr` per process, system-wide and
# system-wide without save/restore (callgraph.png), then records the kernel
# replica (lbrctx_tchain: K readers of f1 -> f2 -> f3, which
# blocks between spins, all on one CPU) with `perf record -b` in three
# modes: per-process; system-wide with save/restore; system-wide without
# (save_restore=N). Prints a perf excerpt with symbolized kernel functions,
# the completeness table, the per-task memory figure, and writes a PNG
# histogram of branch-stack depth per mode (gnuplot).
#
# Options (make variables or environment):
#   SERIES=6.1|6.12|7.x    kernel series (default 7.x)
#   PROBES='glob,...'      probed functions (module parameter probes)
#   WORKLOAD='command'     a shell command recorded instead of the readers
# Outputs: artifacts/demo/ (report.txt, callgraph.png, depth.png, the
# guest's files).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$LBRCTX_TOP" || exit 1

series=${SERIES:-7.x}
build_pkgs
guest_pkgs
need_pkgs gnuplot-nox
kdir=$(scripts/kernels.sh build "$series" default) || die "no $series kernel"
rel=$(cat "$kdir/include/config/kernel.release")
w=$LBRCTX_TOP/artifacts/demo
rm -rf "$w"
mkdir -p "$w"
stage_sources "$w/src"
log "building lbrctx against ${rel%-lbrctx}"
make -C "$w/src" KDIR="$kdir" >"$w/build.log" 2>&1 || die "module build failed ($w/build.log)"
build_tchain "$w/tchain"
extra=()
if [ -n "${PROBES:-}" ]; then printf '%s\n' "$PROBES" >"$w/probes"; extra+=(--in "$w/probes"); fi
if [ -n "${WORKLOAD:-}" ]; then printf '%s\n' "$WORKLOAD" >"$w/workload"; extra+=(--in "$w/workload"); fi
log "recording in a QEMU guest (about 2 minutes under TCG)"
qemu/run.sh --kernel "$kdir/arch/x86/boot/bzImage" --out "$w/guest" --smp 2 --timeout 900 \
	--in "$w/src/lbrctx.ko" --in "$w/src/lbrctx_tchain.ko" \
	--in qemu/guest/seed003.sh --in qemu/guest/demo.sh --in "$w/tchain" \
	--in qemu/guest/seed003u.sh --in scripts/lbrctx-uprobes "${extra[@]}" \
	-- sh ./demo.sh >"$w/run.log" 2>&1 ||
	die "demo guest failed ($w/run.log, $w/guest/console.log)"
g=$w/guest/demo
modes=(per-process system-wide system-wide-nosave)

# Depth histogram: one row per depth, one column per mode (percent). Over
# the samples in f3 (the completeness's), or over all samples when a mode
# has none there (another WORKLOAD).
kind=f3- what="samples in lbrctx_tchain_f3"
for m in "${modes[@]}"; do
	[ -s "$g/depth-$m.txt" ] || die "no samples recorded in mode $m ($w/guest)"
	[ -s "$g/depth-f3-$m.txt" ] || { kind="" what="all samples"; }
done
awk '
	FNR == 1 { f++ }
	{ c[f, $1]++; n[f]++; if ($1 > max) max = $1 }
	END {
		top = max + 2 < 8 ? 8 : max + 2
		for (d = 0; d <= top; d++) {
			printf "%d", d
			for (i = 1; i <= 3; i++) printf " %.2f", n[i] ? 100 * c[i, d] / n[i] : 0
			printf "\n"
		}
	}' "$g/depth-${kind}per-process.txt" "$g/depth-${kind}system-wide.txt" \
	"$g/depth-${kind}system-wide-nosave.txt" >"$w/depth.dat"
gnuplot <<EOF
set terminal pngcairo size 1000,560 font "sans,11" noenhanced
set output "$w/depth.png"
set title "lbrctx: branch-stack depth, seed-003 replica, $what (kernel ${rel%-lbrctx})"
set xlabel "branch-stack entries in the sample"
set ylabel "% of the mode's samples"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left box opaque
set yrange [0:125]
set ytics 0,20,100
set xtics nomirror
plot "$w/depth.dat" using 2:xtic(1) title "per-process" lc rgb "#1b9e77", \
     "" using 3 title "system-wide, save/restore" lc rgb "#7570b3", \
     "" using 4 title "system-wide, no save/restore" lc rgb "#d95f02"
EOF
[ -s "$w/depth.png" ] || die "gnuplot wrote no picture"

# The user-space experiment's picture: user frames (of main, f1, f2, f3) in
# the LBR call graph of each sample in f3, per mode.
if [ -s "$g/ucompleteness.txt" ]; then
	awk '
		FNR == 1 { f++ }
		{ c[f, $1]++; n[f]++ }
		END {
			for (d = 0; d <= 4; d++) {
				printf "%d", d
				for (i = 1; i <= 3; i++) printf " %.2f", n[i] ? 100 * c[i, d] / n[i] : 0
				printf "\n"
			}
		}' "$g/udepth-per-process.txt" "$g/udepth-system-wide.txt" \
		"$g/udepth-system-wide-nosave.txt" >"$w/udepth.dat"
	gnuplot <<EOF
set terminal pngcairo size 1000,560 font "sans,11" noenhanced
set output "$w/callgraph.png"
set title "lbrctx: perf record --call-graph lbr, seed 003's tchain, samples in f3 (kernel ${rel%-lbrctx})"
set xlabel "frames of main -> f1 -> f2 -> f3 in the sample's LBR call graph"
set ylabel "% of the mode's samples in f3"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left box opaque
set yrange [0:125]
set ytics 0,20,100
plot "$w/udepth.dat" using 2:xtic(1) title "per-process" lc rgb "#1b9e77", \
     "" using 3 title "system-wide, save/restore" lc rgb "#7570b3", \
     "" using 4 title "system-wide, no save/restore" lc rgb "#d95f02"
EOF
	[ -s "$w/callgraph.png" ] || die "gnuplot wrote no call-graph picture"
fi

{
	if [ -s "$g/ucompleteness.txt" ]; then
		echo "lbrctx demo 1: seed 003's experiment as the seed ran it (kernel ${rel%-lbrctx}, QEMU TCG, 2 vCPUs)"
		echo "  scripts/lbrctx-uprobes --write tchain:main,f1,f2,f3,mark_a,mark_b"
		echo "  perf record -e lbrctx/callstack/ --call-graph lbr [-a] -- taskset -c 1 <4 x tchain 40 300>"
		echo
		echo "perf report --stdio --no-children -G --comm tchain, system-wide (the entry of f3):"
		grep -A 8 -m 1 '\[\.\] f3' "$g/ureport-system-wide.txt" | cut -c1-100 | sed 's/^/  /'
		echo
		echo "Completeness: samples in f3 whose LBR call graph is f3 <- f2 <- f1 <- main"
		printf '  %-30s %8s %9s %8s\n' mode samples complete percent
		while read -r m c n rc; do
			printf '  %-30s %8d %9d %7s%%\n' "$m" "$n" "$c" \
				"$(awk -v c="$c" -v n="$n" 'BEGIN { if (n) printf "%.1f", 100 * c / n; else print "n/a" }')"
			[ "$rc" = 0 ] || echo "  (perf record exited $rc in mode $m)"
		done <"$g/ucompleteness.txt"
		echo "Picture: $w/callgraph.png (user frames in the call graph of samples in f3, per mode)"
		echo
	fi
	echo "lbrctx demo 2: the kernel-side seed-003 replica under perf (kernel ${rel%-lbrctx}, QEMU TCG, 2 vCPUs)"

	echo "workload: ${WORKLOAD:-4 readers of /sys/kernel/debug/lbrctx_tchain/run on CPU 1 (f1 -> f2 -> f3, blocking in f3)}"
	echo "probes:   ${PROBES:-vfs_read,vfs_write,lbrctx_tchain_* (default)}"
	echo
	echo "perf script -F ip,sym,brstacksym, system-wide: the branch stack of a sample in f3, newest first:"
	grep -m 1 -E '[0-9a-f]{4} lbrctx_tchain_f3' "$g/script-system-wide.txt" |
		sed 's/ lbrctx_tchain_f3/ lbrctx_tchain_f3 /' | tr ' ' '\n' | grep '/.*/.*/' | head -n 6 |
		awk -F/ '{ printf "  %-34s -> %s\n", $1, $2 }'
	echo
	echo "perf report --branch-history --stdio, system-wide (head):"
	grep -v '^#' "$g/report-branch-history.txt" | grep -v '^$' | head -n 14 | cut -c1-110 | sed 's/^/  /'
	echo
	echo "Completeness: samples in f3 whose branch stack holds the whole chain f1 -> f2 -> f3"
	printf '  %-30s %8s %9s %8s\n' mode samples complete percent
	while read -r m c n rc; do
		printf '  %-30s %8d %9d %7s%%\n' "$m" "$n" "$c" \
			"$(awk -v c="$c" -v n="$n" 'BEGIN { if (n) printf "%.1f", 100 * c / n; else print "n/a" }')"
		[ "$rc" = 0 ] || echo "  (perf record exited $rc in mode $m)"
	done <"$g/completeness.txt"
	echo
	objs=$(awk '$1 == "objects" { print $2 }' "$g/store-during.txt")
	osz=$(awk '$1 == "object_size" { print $2 }' "$g/store-during.txt")
	ssz=$(cat "$g/slab-size.txt" 2>/dev/null || echo "$osz")
	echo "Per-task memory: one ${osz}-byte object per task (${ssz} bytes in its slab, 64-byte aligned);"
	echo "  during the system-wide record $objs tasks had data: $((objs * ssz)) bytes"
	echo "  (at that rate 10K threads take $((10000 * ssz / 1024)) KiB); after the run: $(grep '^objects' "$g/store-after.txt")"
	echo
	echo "Depth of the branch stack, $what (percent of each mode's samples):"
	printf '  %-6s %12s %12s %12s\n' depth per-process system-wide no-save
	awk '$2 + $3 + $4 > 0 { printf "  %-6d %11.1f%% %11.1f%% %11.1f%%\n", $1, $2, $3, $4 }' "$w/depth.dat"
	echo
	echo "Picture: $w/depth.png (histogram of branch-stack depth per mode)"
} | tee "$w/report.txt"
