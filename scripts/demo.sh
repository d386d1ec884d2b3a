#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: lbrctx on LBR hardware, under perf, as a report and pictures.
#
# Boots Debian's stock 6.12 image (linux-image-<release>, fetched and
# unpacked by scripts/stock.sh; no test kernel is built) in QEMU with the
# guest's LBR hardware: the QEMU plugin (make plugin) behind an ivshmem
# device (qemu/run.sh --lbr). lbrctx, built on the host against the image's
# headers, is loaded with insmod lbrctx.ko source=hw: every taken branch of
# every program is recorded, and no function is named. Then
# (qemu/guest/demo.sh):
#   1. seed 003's experiment: tchain (main -> f1 -> f2 -> f3) under
#      perf record -e lbrctx/callstack/ --call-graph lbr, per process,
#      system-wide and system-wide without save/restore (save_restore=N):
#      the completeness table and callgraph.png;
#   2. an unmodified Debian program (perl running a loop) under
#      perf record -e lbrctx/lbr/u -j any,u,save_type (-b in user space,
#      the branch types kept): perf report --branch-history, the branch
#      statistics and branch-types.png.
#
# Options (make variables or environment):
#   SERIES=6.1|6.12|7.x    boot that test kernel instead (built on first
#                          use, which takes long: scripts/kernels.sh)
#   WORKLOAD='command'     the program of part 2 (a shell command)
# Outputs: artifacts/demo/ (report.txt, callgraph.png, branch-types.png,
# times.txt, the guest's files in guest/).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$LBRCTX_TOP" || exit 1

series=${SERIES:-stock}
w=$LBRCTX_TOP/artifacts/demo
rm -rf "$w"
mkdir -p "$w"
: >"$w/times.txt"
t_all=$(date +%s) t_phase=$t_all
# phase NAME: the time since the previous phase ended, in times.txt.
phase() {
	local now
	now=$(date +%s)
	printf '%-34s %4d s\n' "$1" $((now - t_phase)) >>"$w/times.txt"
	t_phase=$now
}

need_pkgs build-essential kmod xz-utils rsync cpio gnuplot-nox
guest_pkgs
phase "packages"

# The kernel: the stock image (default) or a test kernel.
if [ "$series" = stock ]; then
	log "fetching Debian's stock 6.12 image and headers (scripts/stock.sh, cached)"
	read -r rel d <<<"$(scripts/stock.sh fetch 6.12)" || die "no stock 6.12 image"
	[ -n "${d:-}" ] || die "no stock 6.12 image"
	root=$d/root
	hdr=$root/usr/src/linux-headers-$rel
	kimg=$root/boot/vmlinuz-$rel
	kind="Debian's stock image linux-image-$rel"
	boot=(--stock "$root/lib/modules/$rel" "$hdr" --mem 3G)
else
	kdir=$(scripts/kernels.sh build "$series" default) || die "no $series kernel"
	rel=$(cat "$kdir/include/config/kernel.release")
	hdr=$kdir
	kimg=$kdir/arch/x86/boot/bzImage
	kind="the $series test kernel ${rel%-lbrctx}"
	boot=()
fi
phase "kernel image and headers"

log "building the QEMU plugin (make plugin; its header is fetched on first use)"
make --no-print-directory plugin >"$w/plugin.log" 2>&1 || {
	tail -n 20 "$w/plugin.log" >&2
	die "make plugin failed ($w/plugin.log)"
}
phase "QEMU plugin (make plugin)"

# lbrctx.ko alone (LBRCTX_TESTS=n, as dkms builds it), against the headers.
log "building lbrctx against $rel"
stage_sources "$w/src"
make -C "$w/src" KDIR="$hdr" LBRCTX_TESTS=n -j2 >"$w/build.log" 2>&1 ||
	die "module build failed ($w/build.log)"
build_tchain "$w/tchain"
phase "lbrctx.ko and tchain build"

extra=()
if [ -n "${WORKLOAD:-}" ]; then printf '%s\n' "$WORKLOAD" >"$w/workload"; extra+=(--in "$w/workload"); fi
log "recording in a QEMU guest with the plugin's LBR hardware (about 2 minutes under TCG)"
# oops=panic: an oops ends the guest at once (panic=-1 reboots, and QEMU
# runs with -no-reboot) rather than at the timeout.
qemu/run.sh --kernel "$kimg" "${boot[@]}" --lbr --out "$w/guest" --smp 2 --timeout 600 \
	--append oops=panic \
	--in "$w/src/lbrctx.ko" --in "$w/tchain" --in qemu/guest/demo.sh \
	--in qemu/guest/seed003u.sh "${extra[@]}" \
	-- sh ./demo.sh >"$w/run.log" 2>&1 || {
	grep -m 4 -E '^\[ *[0-9.]+\] (Oops|BUG|WARNING|Kernel panic)|timed out|exit status' "$w/run.log" >&2
	die "demo guest failed ($w/run.log, $w/guest/console.log, $w/guest/guest.log)"
}
phase "guest: boot, record, perf report"
g=$w/guest/demo
krel=$(cat "$g/release.txt")
modes=(per-process system-wide system-wide-nosave)
[ -s "$g/ucompleteness.txt" ] || die "no tchain results ($w/guest)"
[ -s "$g/prog-types.txt" ] || die "no branch stacks of the program ($w/guest, $g/prog-record.txt)"

# Picture 1: user frames (of main, f1, f2, f3) in the LBR call graph of
# each sample in f3, per mode.
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
set title "lbrctx source=hw: perf record --call-graph lbr, seed 003's tchain, samples in f3\n(kernel $krel, no function named)"
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

# Picture 2: the branch types of the program's samples' branch stacks, in
# percent of all entries, by count; the conditional ones in their own colour.
awk '
	{ n[$1] += $3; all += $3 }
	END { for (k in n) printf "%s %.2f %d\n", k, 100 * n[k] / all, n[k] }' \
	"$g/prog-types.txt" | sort -k3,3nr >"$w/types.dat"
prog=$(awk 'NR == 1 { n = split($1, p, "/"); print p[n] }' "$g/workload.txt")
gnuplot <<EOF
set terminal pngcairo size 1100,560 font "sans,11" noenhanced
set output "$w/branch-types.png"
set title "lbrctx source=hw: perf record -b (-j any,u,save_type) of an unmodified $prog\nbranch types of the entries of every sample's branch stack (kernel $krel)"
set xlabel "branch type (perf script -F brstack; COND split by direction)"
set ylabel "% of all branch-stack entries"
set style fill solid 0.85 border -1
set boxwidth 0.7
set key off
set yrange [0:*]
set offsets 0.5, 0.5, graph 0.12, 0
set xtics nomirror
plot "$w/types.dat" using 0:2:(strcol(1) eq "COND_FWD" || strcol(1) eq "COND_BWD" ? 0xd95f02 : 0x1b9e77):xtic(1) \
	with boxes lc rgb variable, \
     "" using 0:2:(\$2 < 0.05 ? "<0.1%" : sprintf("%.1f%%", \$2)) with labels offset 0,0.8
EOF
[ -s "$w/branch-types.png" ] || die "gnuplot wrote no branch-type picture"

pct() { awk -v c="$1" -v n="$2" 'BEGIN { if (n) printf "%.1f", 100 * c / n; else print "n/a" }'; }
{
	echo "lbrctx demo: $kind, QEMU TCG, 2 vCPUs;"
	echo "the guest's LBR is the QEMU plugin's (qemu/run.sh --lbr): insmod lbrctx.ko source=hw"
	echo "  $(grep -m 1 'branch source' "$g/load.txt" | sed 's/^\[[ 0-9.]*\] //')"
	echo "  user functions named (uprobes): $(cat "$g/uprobes-count.txt")"
	echo
	echo "1. Seed 003's experiment, no function named"
	echo "  perf record -e lbrctx/callstack/ --call-graph lbr [-a] -- taskset -c 1 <4 x tchain 40 1000>"
	echo
	echo "perf report --stdio --no-children -G --comm tchain, system-wide (the entry of f3):"
	awk '/\[\.\] f3 *$/ { on = 1 } on && /^$/ { exit } on' "$g/ureport-system-wide.txt" |
		head -n 16 | sed 's/ *$//' | cut -c1-100 | sed 's/^/  /'
	echo "  (the unnamed frames above _start are the frames of the shell that exec'd tchain, dash's:"
	echo "  nothing returns from them, so the LBR call stack keeps them across the execve)"
	echo
	echo "Completeness: samples in f3 whose LBR call graph is f3 <- f2 <- f1 <- main"
	printf '  %-30s %8s %9s %8s\n' mode samples complete percent
	while read -r m c n rc; do
		printf '  %-30s %8d %9d %7s%%\n' "$m" "$n" "$c" "$(pct "$c" "$n")"
		[ "$rc" = 0 ] || echo "  (perf record exited $rc in mode $m)"
	done <"$g/ucompleteness.txt"
	echo "Picture: $w/callgraph.png"
	echo
	echo "2. An unmodified Debian program, perf record -b with the branch types kept"
	read -r ppath ppkg <"$g/prog.txt" 2>/dev/null &&
		echo "  $ppath, as Debian's ${ppkg:-?} package installed it (the host root, shared read-only)"
	echo "  perf record -e lbrctx/lbr/u -j any,u,save_type -- \\"
	sed 's/^/    /' "$g/workload.txt"
	echo "  (-j any,u,save_type: -b in user space, each entry's branch type kept)"
	echo "  $(cat "$g/prog-samples.txt") samples, $(awk '{ n += $3 } END { print n }' "$g/prog-types.txt") branch-stack entries"
	[ "$(cat "$g/prog-record.rc")" = 0 ] || echo "  (perf record exited $(cat "$g/prog-record.rc"))"
	echo
	echo "perf report --branch-history --stdio --no-children -s symbol,dso: the first user-space"
	echo "entry with conditional branches in its history (newest branch first; the TYPE counts on"
	echo "each branch's source, cycles on its target):"
	awk '
		function flush() {
			if (head != "" && !done && head ~ /\[\.\]/ && body ~ /COND/) { print head; printf "%s", body; done = 1 }
			head = ""; body = ""; n = 0
		}
		/^#/ { next }
		/^ +[0-9.]+%/ { flush(); head = $0; next }
		/^$/ { next }
		{ if (head != "" && n < 26) { body = body $0 "\n"; n++ } }
		END { flush() }' "$g/prog-branch-history.txt" | sed 's/ *$//' | cut -c1-110 | sed 's/^/  /'
	echo
	echo "perf report --stdio (branch mode): the branch statistics"
	sed -n '/^# Branch Statistics:/,$p' "$g/prog-report.txt" | grep -v '^#' | grep -v '^$' |
		awk '{ printf "  %-9s %6s", $1, $2 } NR % 4 == 0 { print "" } END { if (NR % 4) print "" }'
	echo
	echo "perf script -F brstack and -F brstacksym: a sample's newest entries (FROM/TO, cycles, TYPE):"
	if [ -s "$g/prog-brstack-example.txt" ]; then
		# Entries: FROM/TO/mispred/in_tx/abort/cycles/TYPE, raw and symbolized.
		paste -d' ' <(tr -s ' ' '\n' <"$g/prog-brstack-example.txt" | grep '^0x.*/.*/') \
			<(tr -s ' ' '\n' <"$g/prog-brstacksym-example.txt" | grep '/.*/.*/.*/') |
			head -n 8 | awk '{
				split($1, r, "/"); split($2, s, "/")
				printf "  %s/%s  %-26s -> %-26s cycles %-4s %s\n", r[1], r[2], s[1], s[2], r[6], r[7]
			}'
	fi
	echo
	echo "Branch types, percent of all entries (perf script -F brstack):"
	awk '{ printf "  %-9s %6.2f%% %9d\n", $1, $2, $3 }' "$w/types.dat"
	echo "Picture: $w/branch-types.png"
	echo
	echo "Time, by phase:"
	sed 's/^/  /' "$w/times.txt"
	echo "  total                              $(($(date +%s) - t_all)) s"
} | tee "$w/report.txt"
