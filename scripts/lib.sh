# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the lbrctx scripts. Source it; do not run it.

LBRCTX_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Kernel sources and builds are cached outside the checkout, keyed by the
# Debian source package version, the flavor and the hash of the fragments.
LBRCTX_CACHE=${LBRCTX_CACHE:-/var/cache/lbrctx}
LBRCTX_JOBS=${LBRCTX_JOBS:-3}

log() { printf '[lbrctx] %s\n' "$*" >&2; }
die() { printf '[lbrctx] error: %s\n' "$*" >&2; exit 1; }

# The guests see this machine's root over 9p, read-only, with a tmpfs over
# /tmp, /run, /var/tmp and /root (qemu/guest-init.sh). The hardware guests
# run perf from the cache (scripts/perf.sh), the 7.x stock guest the trixie
# root (scripts/trixie.sh), so make check and scripts/stock.sh need a cache
# the guests can see: cache_seen_by_guests fails with the reason otherwise.
cache_seen_by_guests() {
	case $(realpath -m "$LBRCTX_CACHE")/ in
	/tmp/* | /run/* | /var/tmp/* | /root/*)
		printf '[lbrctx] error: LBRCTX_CACHE=%s: the guests mount a tmpfs over /tmp, /run, /var/tmp and /root, and read perf and the trixie root from the cache; choose a directory elsewhere\n' \
			"$LBRCTX_CACHE" >&2
		return 1 ;;
	esac
}

# A host script's result lines (dkms-check.sh, stock.sh, trixie.sh): "ok
# NAME" / "FAIL NAME: why" on stdout; fails counts the failures.
fails=0
ok() { printf 'ok %s\n' "$1"; }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; fails=$((fails + 1)); }

# need_pkgs PKG...: make sure the Debian packages are installed. As root
# they are installed; otherwise the exact apt-get line is printed.
_apt_updated=0
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		die "missing packages; run: sudo apt-get install -y ${missing[*]}"
	fi
	log "installing: ${missing[*]}"
	if [ $_apt_updated -eq 0 ]; then
		apt-get update -q >/dev/null || die "apt-get update failed"
		_apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null ||
		die "apt-get install -y ${missing[*]} failed"
}

# Packages needed to build the test kernels and the module.
build_pkgs() {
	need_pkgs build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils \
		kmod python3 dwarves rsync
}

# Packages needed to run guests.
guest_pkgs() {
	need_pkgs qemu-system-x86 busybox-static linux-perf util-linux procps
}

# run_with_progress LABEL LOGFILE CMD...: run CMD with its output in LOGFILE
# and print a progress line every 30 seconds.
run_with_progress() {
	local label=$1 logf=$2 start pid rc
	shift 2
	start=$(date +%s)
	"$@" >"$logf" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if [ $(( ($(date +%s) - start) % 30 )) -lt 5 ] && kill -0 "$pid" 2>/dev/null; then
			log "$label: $(( $(date +%s) - start ))s, $(grep -cE '^  (CC|AS|LD|AR)' "$logf") objects, last: $(tail -n1 "$logf" | cut -c1-60)"
		fi
	done
	wait "$pid"
	rc=$?
	if [ $rc -ne 0 ]; then
		tail -n 30 "$logf" >&2
		log "$label failed after $(( $(date +%s) - start ))s (log: $logf)"
		return $rc
	fi
	log "$label done in $(( $(date +%s) - start ))s"
}

# dkms_version: PACKAGE_VERSION of dkms.conf (debian/changelog must agree).
dkms_version() {
	sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$LBRCTX_TOP/dkms.conf"
}

# Copy the module sources into DIR, leaving build products behind.
stage_sources() {
	mkdir -p "$1"
	rsync -a --delete --exclude='*.o' --exclude='.*.cmd' --exclude='*.ko' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='*.postlink' \
		--exclude='include/generated' --exclude='Module.symvers' \
		--exclude='modules.order' --exclude='.tmp*' \
		"$LBRCTX_TOP"/{Kbuild,Makefile,module,include,kunit,scripts} "$1/"
}

# build_tchain OUT: seed 003's user program (qemu/guest/tchain.c), with
# frame pointers and without inlining, as its comment says.
build_tchain() {
	gcc -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Werror -o "$1" \
		"$LBRCTX_TOP/qemu/guest/tchain.c" || die "cannot build $1"
}

# build_hwchain OUTDIR: the call-stack exactness program (qemu/guest/
# hwchain.c) and its shared library (libhwchain.c), OUTDIR/hwchain and
# OUTDIR/libhwchain.so: frame pointers in every function (leaves too), no
# inlining, no tail calls; the program finds the library beside itself
# (rpath $ORIGIN).
build_hwchain() {
	local cflags=(-O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
		-fno-inline -fno-optimize-sibling-calls -Wall -Werror)
	mkdir -p "$1" || die "cannot create $1"
	gcc "${cflags[@]}" -fPIC -shared -o "$1/libhwchain.so" \
		"$LBRCTX_TOP/qemu/guest/libhwchain.c" || die "cannot build $1/libhwchain.so"
	gcc "${cflags[@]}" -o "$1/hwchain" "$LBRCTX_TOP/qemu/guest/hwchain.c" \
		-L"$1" -lhwchain -Wl,-rpath,'$ORIGIN' || die "cannot build $1/hwchain"
}

# build_tailcall OUTDIR: the tail-call program (qemu/guest/tailcall.c) and
# its libz-style library (liblz.c), OUTDIR/tailcall and OUTDIR/liblz.so:
# -O2, so that sibling calls are jmps, with frame pointers; the program
# finds the library beside itself (rpath $ORIGIN). Each tail call is
# checked to be a jmp: without one the test would test nothing.
build_tailcall() {
	local cflags=(-O2 -g -fno-omit-frame-pointer -foptimize-sibling-calls -Wall -Werror) f
	mkdir -p "$1" || die "cannot create $1"
	gcc "${cflags[@]}" -fPIC -shared -o "$1/liblz.so" "$LBRCTX_TOP/qemu/guest/liblz.c" ||
		die "cannot build $1/liblz.so"
	gcc "${cflags[@]}" -o "$1/tailcall" "$LBRCTX_TOP/qemu/guest/tailcall.c" \
		-L"$1" -llz -Wl,-rpath,'$ORIGIN' || die "cannot build $1/tailcall"
	for f in "liblz.so lz_crc32 lz_crc32_z@plt" "tailcall outer inner" "tailcall twice outer"; do
		set -- "$1" $f
		objdump -d --no-show-raw-insn "$1/$2" |
			awk -v fn="<$3>:" -v to="<$4>" '$2 == fn { in_fn = 1; next } /^$/ { in_fn = 0 }
				in_fn && $2 == "jmp" && $NF == to { found = 1 } END { exit !found }' ||
			die "$1/$2: $3 does not end in a jmp to $4"
	done
}

# build_tool OUT: scripts/lbrctx-tool.c, built for the host, which the
# guests share as their root file system.
build_tool() {
	gcc -O2 -Wall -Wextra -Werror -o "$1" "$LBRCTX_TOP/scripts/lbrctx-tool.c" -lpthread ||
		die "cannot build $1"
}

# The private apt configuration for trixie-backports (kernels.sh's 7.x
# sources, trixie.sh's stock 7.x image): its own sources file, lists and
# cache under $LBRCTX_CACHE/apt; the mirror URI is the system's.
APTDIR=$LBRCTX_CACHE/apt

# The system's main Debian archive URI, from deb822 or one-line sources.
system_mirror() {
	local f uri=""
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i ~ /^(bookworm|trixie|sid)$/) print u}' "$f" | head -n1)
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1=="deb" && $3 ~ /^(bookworm|trixie|sid)$/ {for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:/) {print $i; exit}}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || die "no Debian archive URI found in the system's apt configuration"
	printf '%s\n' "$uri"
}

# apt options for the private trixie-backports configuration.
bpo_opts() {
	printf '%s\n' -o "Dir::Etc::sourcelist=/dev/null" \
		-o "Dir::Etc::sourceparts=$APTDIR/sources.list.d" \
		-o "Dir::Etc::preferencesparts=$APTDIR/preferences.d" \
		-o "Dir::State::Lists=$APTDIR/lists" \
		-o "Dir::Cache=$APTDIR/cache"
}

bpo_update() {
	local stamp=$APTDIR/lists/.updated
	mkdir -p "$APTDIR"/{sources.list.d,preferences.d,lists/partial,cache/archives/partial}
	if [ -f "$stamp" ] && [ -z "$(find "$stamp" -mmin +1440)" ]; then
		return 0
	fi
	cat >"$APTDIR/sources.list.d/lbrctx-trixie-backports.sources" <<EOF
Types: deb
URIs: $(system_mirror)
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	log "updating the private trixie-backports package list"
	mapfile -t o < <(bpo_opts)
	apt-get "${o[@]}" update -q >/dev/null || die "apt-get update of trixie-backports failed"
	touch "$stamp"
}

# stock_modules_ready ROOT RELEASE: an unpacked stock image's module tree,
# its modules uncompressed (.ko.xz -> .ko), then depmod. Debian signs a
# module before compressing it, so the signature stays valid. In the TCG
# guest, depmod's xz decompression of 6.12's and 7.x's 4,200 modules kept
# dkms install over 5 minutes; bookworm's 6.1 ships them uncompressed.
# dkms still compresses lbrctx.ko as the kernel's config asks.
stock_modules_ready() {
	local m=$1/lib/modules/$2
	find "$m" -name '*.ko.xz' -exec xz -d {} + || return 1
	depmod -b "$1" "$2"
}
