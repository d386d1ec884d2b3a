#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# U3 (make bench; sourced by qemu/guest/bench.sh, or run alone with lbrctx
# loaded, in the results directory, beside lib.sh, lbrctx-uprobes and u3):
# the user source's cost on a real library, whole. u3 (qemu/guest/u3.c)
# calls libz's crc32() and adler32() U3_N times each; every exported
# function of libz (88 in Debian 12's) is probed, each in two ways:
#   kernel: the kernel's own uprobe and uretprobe on each (tracefs
#           uprobe_events, a p: and an r: event per function, enabled,
#           into a 64 KiB trace buffer);
#   lbrctx: lbrctx's user source (lbrctx-uprobes --write LIBZ:*) under a
#           per-task perf stat -e lbrctx/branches/u, recording.
# Each of U3_ROUNDS rounds (default: R, bench.sh's rounds, or 11) runs u3
# with no probe, the kernel's pairs and lbrctx's, and both again with
# "u3 N direct" (crc32_z and adler32_z called, no tail call), in rotating
# order. The line, appended to bench.txt: the medians of u3's own ns per
# call, the pairs' added ns per call, and ratio = lbrctx's added cost over
# the kernel pairs' (goal: at most 1.10); direct_*: the same without the
# tail calls (what the tail-call path costs lbrctx).
#   U3 kernel=<release> funcs=<n> calls=<n> none_ns=<ns> kernel_ns=<ns>
#      lbrctx_ns=<ns> kernel_pair_ns=<ns> lbrctx_pair_ns=<ns> ratio=<r>
#      kernel_hits=<n> branches=<n> direct_kernel_pair_ns=<ns>
#      direct_lbrctx_pair_ns=<ns> direct_ratio=<r> rounds=<n>
# (kernel_hits: the kernel's crc32 entry event's hits per tail-call run,
# U3_N when every call hit; branches: lbrctx's records in its median
# round.)
# libz is copied to /tmp/u3 and u3 runs with LD_LIBRARY_PATH there, so
# both probe that one file; u3 prints the file it mapped, which is checked.
set -u
[ -n "${E_STEP:-}" ] || . ./lib.sh
U3_N=${U3_N:-5000}
U3_ROUNDS=${U3_ROUNDS:-${R:-11}}
TR=/sys/kernel/tracing
[ -f $TR/uprobe_events ] || mount -t tracefs nodev $TR
mkdir -p /tmp/u3
cp ./u3 /tmp/u3/u3 && chmod 755 /tmp/u3/u3
cp "$(readlink -f /lib/x86_64-linux-gnu/libz.so.1)" /tmp/u3/libz.so.1
LIBZ=/tmp/u3/libz.so.1
u3() { LD_LIBRARY_PATH=/tmp/u3 /tmp/u3/u3 "$U3_N" "$@"; }
ns() { sed -n 's/.*ns_per_call=\([^ ]*\).*/\1/p'; }
u3 >u3-first.txt 2>&1
step $E_STEP grep -q "lib=$LIBZ " u3-first.txt

# The functions, once: lbrctx's set and the kernel's events name the same.
step $E_STEP sh -c "'$UPROBES_TOOL' '$LIBZ:*' >u3-funcs.txt"
funcs=$(grep -c . u3-funcs.txt)
echo 64 >$TR/buffer_size_kb
awk '{ printf "p:u3/e%d %s:%s\nr:u3/r%d %s:%s\n", NR, $1, $2, NR, $1, $2 }' u3-funcs.txt |
	while read -r l; do echo "$l" >>$TR/uprobe_events || echo "refused: $l"; done >u3-events.txt 2>&1
step $E_STEP test ! -s u3-events.txt
crc=$(awk '$3 == "crc32" { print "e" NR }' u3-funcs.txt)
step $E_STEP sh -c "'$UPROBES_TOOL' --write '$LIBZ:*' >u3-uprobes.txt 2>&1"

: >u3-none.txt; : >u3-kernel.txt; : >u3-lbrctx.txt; : >u3-branches.txt
: >u3-kernel-direct.txt; : >u3-lbrctx-direct.txt
kernel_on() { echo 1 >$TR/events/u3/enable; u3 "$@" | ns; echo 0 >$TR/events/u3/enable; }
lbrctx_on() {
	perf stat -x, -e lbrctx/branches/u -o /tmp/u3/stat.txt -- \
		env LD_LIBRARY_PATH=/tmp/u3 /tmp/u3/u3 "$U3_N" "$@" | ns
}
i=0
while [ "$i" -lt "$U3_ROUNDS" ]; do
	for k in 0 1 2 3 4; do
		case $(((i + k) % 5)) in
		0) u3 | ns >>u3-none.txt ;;
		1) kernel_on >>u3-kernel.txt ;;
		2) lbrctx_on >>u3-lbrctx.txt
		   awk -F, '/lbrctx/ { print $1 }' /tmp/u3/stat.txt >>u3-branches.txt ;;
		3) kernel_on direct >>u3-kernel-direct.txt ;;
		4) lbrctx_on direct >>u3-lbrctx-direct.txt ;;
		esac
	done
	i=$((i + 1))
done
# uprobe_profile: "FILE EVENT HITS", the hits since the event was made.
hits=$(awk -v e="$crc" '$2 == e { print $3 }' $TR/uprobe_profile)
"$UPROBES_TOOL" --clear >/dev/null 2>&1
echo >$TR/uprobe_events
none=$(median <u3-none.txt) kern=$(median <u3-kernel.txt) lb=$(median <u3-lbrctx.txt)
br=$(median <u3-branches.txt)
kd=$(median <u3-kernel-direct.txt) ld=$(median <u3-lbrctx-direct.txt)
awk -v rel="$(uname -r | sed 's/-lbrctx$//')" -v f="$funcs" -v c=$((2 * U3_N)) -v n0="$none" \
	-v k="$kern" -v l="$lb" -v h="$((hits / U3_ROUNDS))" -v br="$br" -v r="$U3_ROUNDS" \
	-v kd="$kd" -v ld="$ld" 'BEGIN {
	printf "U3 kernel=%s funcs=%d calls=%d none_ns=%.1f kernel_ns=%.1f lbrctx_ns=%.1f kernel_pair_ns=%.1f lbrctx_pair_ns=%.1f ratio=%.3f kernel_hits=%d branches=%d direct_kernel_pair_ns=%.1f direct_lbrctx_pair_ns=%.1f direct_ratio=%.3f rounds=%d\n",
		rel, f, c, n0, k, l, k - n0, l - n0, (l - n0) / (k - n0), h, br, kd - n0, ld - n0, (ld - n0) / (kd - n0), r
}' >>bench.txt
