#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's own kernels, as users run them (make check-stock).
#
#   scripts/stock.sh release SERIES   the newest stock release of SERIES
#   scripts/stock.sh fetch SERIES     fetch and unpack the stock image and
#                                     headers of SERIES (6.1, 6.12; 7.x:
#                                     scripts/trixie.sh fetch); prints
#                                     "RELEASE DIR"
#   scripts/stock.sh check SERIES     fetch, dkms build on the host, then
#                                     boot the image and install, modprobe
#                                     and test in the guest; prints "ok
#                                     NAME" / "FAIL NAME: why" lines
#   STOCK_SUITE=check scripts/stock.sh check SERIES
#                                     make check's part: no user-space
#                                     suite, no package (STOCK_DEB=1: the
#                                     package), the hardening run's quick
#                                     bounds (STOCK_STRESS_QUICK=0: its
#                                     full form, as make check-all runs it)
#   scripts/stock.sh hw SERIES        the hardware source's suite on the
#                                     image, with the QEMU plugin (hw.sh)
#   STOCK_SUITE=deb scripts/stock.sh check SERIES
#                                     dkms install, modprobe and the
#                                     package alone
#
# The image is Debian's signed package (linux-image-<release>, what
# `apt install linux-image-amd64` gives a user), not -unsigned: its own
# modules then carry Debian's signatures, so lbrctx is the one module that
# taints the kernel for a missing signature, as on a user's machine. QEMU
# boots it without Secure Boot, so lockdown does not refuse unsigned
# modules. Packages come through apt (bookworm's own sources); they are
# unpacked, never installed, under $LBRCTX_CACHE/stock/<release>.
#
# dkms add and dkms build run on the host against the image's headers
# (gcc-12, the compiler Debian built both kernels with): compiling the
# C++ under TCG would take the guest many minutes. dkms install, modprobe
# and the tests run in the guest, whose root is the host root under a
# tmpfs overlay (qemu/stock-init.sh), with the host's DKMS tree copied in.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

release_of() { # SERIES: the newest stock release of SERIES in bookworm (7.x: trixie-backports)
	case $1 in
	6.1) apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' |
		sed 's/^linux-image-//' | sort -V | tail -n1 ;;
	6.12) apt-cache pkgnames linux-image-6.12. | grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' |
		sed 's/^linux-image-//' | sort -V | tail -n1 ;;
	7.x) "$LBRCTX_TOP/scripts/trixie.sh" release ;;
	*) return 1 ;;
	esac
}

fetch() { # SERIES
	local rel d root common kbuild
	rel=$(release_of "$1") || die "stock.sh: no series $1"
	[ -n "$rel" ] || die "stock.sh: no stock image of $1 in the apt sources"
	d=$LBRCTX_CACHE/stock/$rel
	root=$d/root
	if [ ! -f "$d/.ready" ]; then
		rm -rf "$d"
		mkdir -p "$d"
		common=linux-headers-${rel%-amd64}-common
		case $1 in
		6.1) kbuild=linux-kbuild-6.1 ;;
		*) kbuild=linux-kbuild-${rel%-amd64} ;;
		esac
		(cd "$d" && apt-get -o APT::Sandbox::User=root download -q "linux-image-$rel" \
			"linux-headers-$rel" "$common" "$kbuild" >"$d/download.log" 2>&1) ||
			die "stock.sh: download failed ($d/download.log)"
		for p in "$d"/*.deb; do dpkg-deb -x "$p" "$root" || die "stock.sh: cannot unpack $p"; done
		rm -f "$d"/*.deb
		# The arch Makefile includes the common one by absolute path.
		sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root/usr/src/linux-headers-$rel/Makefile"
		stock_modules_ready "$root" "$rel" || die "stock.sh: modules of $rel"
		touch "$d/.ready"
	fi
	printf '%s %s\n' "$rel" "$d"
}


# host_dkms_build RELEASE HEADERS WORKDIR VERSION: dkms add and build on
# the host (gcc-12, bookworm's compiler), and the test fixture.
host_dkms_build() {
	local rel=$1 hdr=$2 w=$3 ver=$4
	mkdir -p "$w/src" "$w/dkms"
	stage_sources "$w/src/lbrctx-$ver"
	cp "$LBRCTX_TOP/dkms.conf" "$w/src/lbrctx-$ver/"
	local trees=(--sourcetree "$w/src" --dkmstree "$w/dkms")
	if dkms add -m lbrctx -v "$ver" "${trees[@]}" >"$w/dkms-add.log" 2>&1 &&
		dkms build -m lbrctx -v "$ver" -k "$rel" --kernelsourcedir "$hdr" "${trees[@]}" \
			>"$w/dkms-build.log" 2>&1; then
		ok stock_dkms_build
	else
		fail stock_dkms_build "see $w/dkms-build.log"
		return 1
	fi
	# The test fixture (lbrctx_tchain.ko) and K1 (lbrctx_k1.ko), against
	# the same headers.
	mkdir -p "$w/tests"
	stage_sources "$w/tests/src"
	if make -C "$w/tests/src" KDIR="$hdr" >"$w/tests/build.log" 2>&1; then
		ok stock_test_modules_build
	else
		fail stock_test_modules_build "see $w/tests/build.log"
		return 1
	fi
}

check() { # SERIES
	local rel d root hdr w ver
	cache_seen_by_guests || exit 1
	need_pkgs dkms gcc-12
	if [ "$1" = 7.x ]; then
		read -r rel d <<<"$(scripts/trixie.sh fetch)" || exit 1
	else
		read -r rel d <<<"$(fetch "$1")" || exit 1
	fi
	root=$d/root
	hdr=$root/usr/src/linux-headers-$rel
	w=${STOCK_WORK:-$LBRCTX_TOP/artifacts/$rel-stock}
	ver=$(dkms_version)
	rm -rf "$w"
	mkdir -p "${w%/*}"
	if [ "$1" = 7.x ]; then
		# Built as a trixie user builds it: dkms and gcc-14 in a trixie
		# root (scripts/trixie.sh), into the same layout as below; its
		# result lines are ours.
		scripts/trixie.sh dkms-build "$w" 2>"$w.trixie.err" || fails=$((fails + 1))
		[ -f "$w/tests/src/lbrctx_tchain.ko" ] && [ -d "$w/dkms/lbrctx/$ver/$rel" ] || return
	else
		host_dkms_build "$rel" "$hdr" "$w" "$ver" || return
	fi
	build_tool "$w/lbrctx-tool"
	build_tchain "$w/tchain"
	# The Debian package (scripts/deb.sh), built and lintian-checked here
	# always; the guest installs it last, but in STOCK_SUITE=check only with
	# STOCK_DEB=1. On 7.x the guest installs it in the
	# trixie root dkms-build used (its gcc-14 is the kernel's), chrooted
	# into: the guest's own root is this machine's bookworm, with gcc-12.
	# The guest's bound if it never stalls (run.sh --idle stops a stalled
	# one, LBRCTX_GUEST_IDLE, 480 s): twice what it took here on a loaded
	# machine.
	local deb= suite=${STOCK_SUITE:-full} pkgroot= limit=1800 wantdeb
	wantdeb=${STOCK_DEB:-$([ "$suite" = check ] && echo 0 || echo 1)}
	[ "$1" = 7.x ] && pkgroot=$(scripts/trixie.sh root)
	if scripts/deb.sh "$w/deb" >"$w/deb.log" 2>&1; then
		ok deb_builds_lintian_clean
	else
		fail deb_builds_lintian_clean "$(tail -n 3 "$w/deb.log" | tr '\n' ' ')"
	fi
	if [ "$wantdeb" = 1 ]; then
		deb=$(ls "$w"/deb/lbrctx-dkms_*_all.deb 2>/dev/null | head -n1)
		# The package's in-guest build: 219-317 s here, 997 s once on a
		# loaded machine (README).
		limit=$((limit + 1800))
	fi
	# The hardening run's full form (make check-all): the pairs matrix and
	# the probed-binary storm.
	[ "${STOCK_STRESS_QUICK:-1}" = 0 ] && limit=$((limit + 1800))
	[ "$suite" = full ] && limit=5400
	local g=$w/guest rc
	echo "${STOCK_TIMEOUT:-$limit}" >"$w/guest.limit"
	tar -C "$w" -cf "$w/dkms.tar" dkms/lbrctx "src/lbrctx-$ver" || { fail stock_dkms_tar "tar of $w/dkms"; return; }
	qemu/run.sh --kernel "$root/boot/vmlinuz-$rel" --stock "$root/lib/modules/$rel" "$hdr" \
		--out "$g" --smp 4 --mem 3G --timeout "${STOCK_TIMEOUT:-$limit}" \
		--in "$w/tests/src/lbrctx_tchain.ko" --in "$w/tests/src/lbrctx_k1.ko" \
		--in "$w/lbrctx-tool" --in "$w/tchain" --in "$w/dkms.tar" \
		--in scripts/lbrctx-uprobes --in qemu/guest/stock.sh --in qemu/guest/e2e.sh \
		--in qemu/guest/seed003.sh --in qemu/guest/e2e-user.sh --in qemu/guest/seed003u.sh \
		--in qemu/guest/uprobe-table.txt --in qemu/guest/stress.sh \
		--in qemu/guest/attr-table.txt --in qemu/guest/priv-table.txt ${deb:+--in "$deb"} \
		-- "LBRCTX_VERSION=$ver STOCK_SUITE=$suite STOCK_DEB=$wantdeb STOCK_PKGROOT=$pkgroot ${STOCK_STRESS_QUICK:+STOCK_STRESS_QUICK=$STOCK_STRESS_QUICK }sh ./stock.sh" >"$w/guest.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then ok stock_guest_run_clean; else
		fail stock_guest_run_clean "status $rc: $(tail -n 5 "$w/guest.log" "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	fi
	for f in stock e2e e2e-user stress; do
		[ -f "$g/$f-results.txt" ] && sed "s/^\(ok\|FAIL\) /\1 $f:/" "$g/$f-results.txt"
	done
	cat "$g/stock-lines.txt" 2>/dev/null
}

# hw SERIES: the hardware source's suite (qemu/guest/hw.sh) on the stock
# image, in a guest with the QEMU plugin's LBR hardware (run.sh --lbr):
# lbrctx built against the image's headers and insmod-ed with source=hw
# (the stock images have no KUnit: no lbrctx_hw suite here).
hwcheck() { # SERIES
	local rel d root hdr w g rc p7 quick=${STOCK_HW_QUICK:-0}
	cache_seen_by_guests || exit 1
	read -r rel d <<<"$(fetch "$1")" || exit 1
	root=$d/root
	hdr=$root/usr/src/linux-headers-$rel
	w=${STOCK_WORK:-$LBRCTX_TOP/artifacts/$rel-stock-hw}
	rm -rf "$w"
	mkdir -p "$w"
	stage_sources "$w/src"
	if make -C "$w/src" KDIR="$hdr" >"$w/build.log" 2>&1; then
		ok stock_hw_modules_build
	else
		fail stock_hw_modules_build "see $w/build.log"
		return
	fi
	build_tool "$w/lbrctx-tool"
	build_tchain "$w/tchain"
	build_hwchain "$w"
	p7=$(scripts/perf.sh path 2>/dev/null) || p7=
	g=$w/guest
	echo "${STOCK_TIMEOUT:-2700}" >"$w/guest.limit"
	qemu/run.sh --kernel "$root/boot/vmlinuz-$rel" --stock "$root/lib/modules/$rel" "$hdr" \
		--lbr --out "$g" --smp 2 --mem 3G --timeout "${STOCK_TIMEOUT:-2700}" \
		--in "$w/src/lbrctx.ko" --in "$w/src/lbrctx_tchain.ko" --in "$w/lbrctx-tool" \
		--in "$w/tchain" --in "$w/hwchain" --in "$w/libhwchain.so" \
		--in qemu/guest/hw.sh --in qemu/guest/e2e.sh --in qemu/guest/seed003.sh \
		--in qemu/guest/seed003u.sh --in qemu/guest/perftest.sh --in qemu/guest/hwchain.sh \
		-- "STOCK=1 PERF7=$p7 HW_QUICK=$quick PERFTEST_RECORD_LBR=$((1 - quick)) sh ./hw.sh" >"$w/guest.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then ok stock_hw_guest_run_clean; else
		fail stock_hw_guest_run_clean "status $rc: $(tail -n 5 "$w/guest.log" "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	fi
	[ -f "$g/hw-results.txt" ] && sed "s/^\(ok\|FAIL\) /\1 hw:/" "$g/hw-results.txt"
	sed "s/kernel=[^ ]*/kernel=$rel/" "$g/hw-lines.txt" 2>/dev/null
}

# all SERIES...: check each; one "<release>-stock: N passed, N failed"
# line each and the total, as make check prints its kernels.
all() {
	local s out p f tp=0 tf=0
	for s in "$@"; do
		out=$LBRCTX_TOP/artifacts/stock-$s.txt
		mkdir -p "$LBRCTX_TOP/artifacts"
		check "$s" >"$out" 2>"$out.err"
		grep -E '^(FAIL|skip) |^(seed003|seed003u|pairs) ' "$out"
		p=$(grep -c '^ok ' "$out") f=$(grep -c '^FAIL ' "$out")
		echo "$(release_of "$s")-stock: $p passed, $f failed"
		tp=$((tp + p)) tf=$((tf + f))
	done
	echo "$tp passed, $tf failed"
	[ $tf -eq 0 ]
}

case ${1:-} in
fetch) if [ "${2:?series}" = 7.x ]; then scripts/trixie.sh fetch; else fetch "$2"; fi ;;
release) r=$(release_of "${2:?series}") && [ -n "$r" ] && echo "$r" ;;
check) cd "$LBRCTX_TOP" && check "${2:?series}"; [ $fails -eq 0 ] ;;
hw) cd "$LBRCTX_TOP" && hwcheck "${2:?series}"; [ $fails -eq 0 ] ;;
all) cd "$LBRCTX_TOP" && shift && { [ $# -gt 0 ] || set -- 6.1 6.12 7.x; } && all "$@" ;;
*) die "usage: stock.sh fetch|check|all SERIES" ;;
esac
