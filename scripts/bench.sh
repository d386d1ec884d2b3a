#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the benchmarks P1 to P5 in a QEMU guest (7.x by default; set
# LBRCTX_BENCH_SERIES). Benchmarks, not tests: each line is a median over
# repeated runs in one boot, A/B interleaved, with its ratio (see
# qemu/guest/bench.sh). Prints the lines and keeps the guest's output in
# artifacts/bench-<kernel>/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$LBRCTX_TOP" || exit 1
series=${LBRCTX_BENCH_SERIES:-7.x}
build_pkgs
guest_pkgs
kdir=$(scripts/kernels.sh build "$series" default) || die "no $series kernel"
rel=$(cat "$kdir/include/config/kernel.release")
label=${rel%-lbrctx}
w=$LBRCTX_TOP/artifacts/bench-$label
rm -rf "$w"
stage_sources "$w/src"
make -C "$w/src" KDIR="$kdir" >"$w/build.log" 2>&1 || die "module build failed ($w/build.log)"
build_tool "$w/lbrctx-tool"
build_tchain "$w/tchain"
log "running the benchmarks on $label (about 10 minutes under TCG)"
bench_guest() { # VCPUS OUT ROUNDS
	qemu/run.sh --kernel "$kdir/arch/x86/boot/bzImage" --out "$2" --smp "$1" --mem 4G \
		--timeout 2400 --in "$w/src/lbrctx.ko" --in "$w/src/lbrctx_bench.ko" \
		--in "$w/src/lbrctx_tchain.ko" --in "$w/lbrctx-tool" --in "$w/tchain" \
		--in scripts/lbrctx-uprobes --in qemu/guest/seed003u.sh --in qemu/guest/bench.sh \
		-- "BENCH_ROUNDS=$3 sh ./bench.sh" >"$2.log" 2>&1 ||
		die "benchmark guest ($1 vCPUs) failed ($2.log, $2/console.log)"
}
bench_guest 2 "$w/guest" 11
# The store benchmarks, K1 and P4 on every CPU again with 8 vCPUs (one
# host thread runs them all under TCG: rates are lower, ratios compare).
log "again with 8 vCPUs: the store benchmarks, K1, P4 on every CPU"
bench_guest 8 "$w/guest8" 5
cat "$w/guest/bench.txt" "$w/guest8/bench.txt" |
	sed "s/^\(P[0-9]b\{0,1\}\|P4all\|L\|U[0-9]\|K[0-9]\) /\1 kernel=$label /" | sort -s -k1,1
