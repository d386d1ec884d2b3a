#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build perf from the cached 7.x kernel source (kernels.sh src 7.x), for the
# guests' perf-test runs (qemu/guest/perftest.sh). Debian 12's own perf 6.1
# lacks the workloads of perf test -w (brstack, thloop) that perf's LBR
# shell tests run.
#
#   scripts/perf.sh build   build (or reuse) perf and print the binary's path
#   scripts/perf.sh path    print the binary's path (fails if not built);
#                           it downloads nothing: the newest 7.x source
#                           already in the cache
#
# The build is out of tree, in $LBRCTX_CACHE/perf/<source package version>/,
# and is reused while its stamp (.lbrctx-built, which holds the make
# variables below) matches. .lbrctx-src there names the source tree, where
# perftest.sh finds tools/perf/tests/shell. The guests see the host's root,
# so they run the binary at the same path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# What the tests need: perf record/script/report with branch stacks,
# perf report -D, --stitch-lbr, perf test -w, perf bench syscall, and
# the symbols of perf's own binary (libelf). libdw gives perf report its
# srclines in process rather than through forked addr2line processes
# (slow under TCG); libtraceevent parses tracepoint records. Everything
# else is off, so that what the host happens to have installed does not
# change the binary.
PERF_MAKE_VARS=(
	NO_LIBPYTHON=1 NO_LIBPERL=1 NO_JVMTI=1 NO_LIBBPF=1 BUILD_BPF_SKEL=0
	NO_GTK2=1 NO_SLANG=1 NO_LIBUNWIND=1 NO_LIBNUMA=1 NO_LIBPFM4=1
	NO_LIBLLVM=1 NO_CAPSTONE=1 NO_BABELTRACE2=1 NO_LIBDEBUGINFOD=1
	NO_SDT=1 NO_RUST=1 NO_JEVENTS=1 NO_SHELLCHECK=1 NO_AIO=1
	NO_PERF_READ_VDSO32=1 NO_PERF_READ_VDSOX32=1
)
PERF_PKGS=(build-essential flex bison pkg-config libelf-dev libdw-dev libtraceevent-dev)

# The source tree (kernels.sh src 7.x downloads and unpacks it if needed)
# and its package version, from the directory kernels.sh unpacks it in:
# $LBRCTX_CACHE/src/<name>-<version>/<name>.
perf_src() { "$LBRCTX_TOP/scripts/kernels.sh" src 7.x; }
perf_dir() {
	local src=$1 name pkgdir
	name=$(basename "$src")
	pkgdir=$(basename "$(dirname "$src")")
	printf '%s\n' "$LBRCTX_CACHE/perf/${pkgdir#"$name"-}"
}
stamp_text() { printf '%s\n' "${PERF_MAKE_VARS[@]}"; }
built() { [ -f "$1/.lbrctx-built" ] && [ "$(cat "$1/.lbrctx-built")" = "$(stamp_text)" ] && [ -x "$1/perf" ]; }

build_perf() {
	local src out start
	src=$(perf_src)
	out=$(perf_dir "$src")
	if built "$out"; then
		printf '%s\n' "$out/perf"
		return 0
	fi
	need_pkgs "${PERF_PKGS[@]}"
	[ -d "$src/tools/perf" ] || die "no tools/perf in $src"
	rm -rf "$out"
	mkdir -p "$out"
	log "building perf from $src in $out"
	start=$(date +%s)
	run_with_progress "build perf" "$out/build.log" \
		make -C "$src/tools/perf" O="$out" -j"$LBRCTX_JOBS" "${PERF_MAKE_VARS[@]}" ||
		die "perf build failed"
	[ -x "$out/perf" ] || die "the perf build left no $out/perf"
	"$out/perf" version >/dev/null || die "$out/perf does not run"
	printf '%s\n' "$src" >"$out/.lbrctx-src"
	log "perf: $("$out/perf" version), $(du -h "$out/perf" | cut -f1), $(( $(date +%s) - start ))s"
	stamp_text >"$out/.lbrctx-built"
	printf '%s\n' "$out/perf"
}

cmd=${1:-}
case $cmd in
build)
	mkdir -p "$LBRCTX_CACHE"
	exec 9>"$LBRCTX_CACHE/.build-perf.lock"
	flock 9
	build_perf
	;;
path)
	# No download here: the newest 7.x source kernels.sh has unpacked.
	src=$(ls -d "$LBRCTX_CACHE"/src/linux-source-7.*/.unpacked 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$src" ] || die "no 7.x kernel source in $LBRCTX_CACHE/src: run scripts/perf.sh build"
	src=$(dirname "$src")
	src=$(ls -d "$src"/linux-source-7.*)
	out=$(perf_dir "$src")
	built "$out" || die "perf is not built ($out): run scripts/perf.sh build"
	printf '%s\n' "$out/perf"
	;;
*) die "usage: $0 build|path" ;;
esac
