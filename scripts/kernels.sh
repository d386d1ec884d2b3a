#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's kernel sources and build the lbrctx test kernels.
#
#   scripts/kernels.sh build SERIES FLAVOR   build (or reuse) one kernel and
#                                            print its build directory
#   scripts/kernels.sh series                list the series: 6.1 6.12 7.x
#   scripts/kernels.sh dir SERIES FLAVOR     print the cached build directory
#                                            (fails if it is not built)
#
# SERIES is 6.1, 6.12 or 7.x (the newest linux-source-7.N that
# trixie-backports carries). FLAVOR is default or debug.
#
# 6.1 and 6.12 come from the system's own apt sources. 7.x comes from
# trixie-backports through an apt configuration private to lbrctx: its own
# sources file, lists and cache under $LBRCTX_CACHE/apt. The mirror URI is
# read from the system's apt configuration at run time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Package name and version for a series.
resolve_pkg() {
	local series=$1 name ver
	case $series in
	6.1|6.12)
		name=linux-source-$series
		ver=$(apt-cache policy "$name" | awk '/Candidate:/{print $2}')
		if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
			[ "$(id -u)" -eq 0 ] && apt-get update -q >/dev/null
			ver=$(apt-cache policy "$name" | awk '/Candidate:/{print $2}')
		fi
		;;
	7.x)
		bpo_update
		mapfile -t o < <(bpo_opts)
		name=$(apt-cache "${o[@]}" pkgnames linux-source-7. | grep -E '^linux-source-7\.[0-9]+$' | sort -V | tail -n1)
		[ -n "$name" ] || die "trixie-backports carries no linux-source-7.x"
		ver=$(apt-cache "${o[@]}" policy "$name" | awk '/Candidate:/{print $2}')
		;;
	*) die "unknown series '$series' (6.1, 6.12 or 7.x)" ;;
	esac
	{ [ -n "$ver" ] && [ "$ver" != "(none)" ]; } || die "no candidate for $name"
	printf '%s %s\n' "$name" "$ver"
}

# fetch SERIES: download and unpack the source; print the source tree path.
fetch_src() {
	local series=$1 name ver dir deb
	read -r name ver < <(resolve_pkg "$series")
	dir=$LBRCTX_CACHE/src/$name-$ver
	if [ -f "$dir/.unpacked" ]; then
		printf '%s\n' "$dir/${name}"
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	log "downloading $name $ver"
	if [ "$series" = 7.x ]; then
		mapfile -t o < <(bpo_opts)
		(cd "$dir" && apt-get "${o[@]}" -o APT::Sandbox::User=root download -q "$name=$ver" >/dev/null) ||
			die "apt-get download $name failed"
	else
		(cd "$dir" && apt-get -o APT::Sandbox::User=root download -q "$name=$ver" >/dev/null) ||
			die "apt-get download $name failed"
	fi
	deb=$(ls "$dir"/*.deb)
	log "unpacking $name $ver"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards '*.tar.xz' ||
		die "cannot extract the source tarball from $deb"
	tar -xf "$dir"/usr/src/"$name".tar.xz -C "$dir" || die "cannot unpack $name.tar.xz"
	rm -rf "$dir/usr" "$deb"
	touch "$dir/.unpacked"
	printf '%s\n' "$dir/$name"
}

# The fragments for SERIES and FLAVOR: base.config, then the series' own
# (qemu/<series>.config) where there is one, then debug.config.
fragments() {
	local series=$1 flavor=$2
	printf '%s\n' "$LBRCTX_TOP/qemu/base.config"
	[ -f "$LBRCTX_TOP/qemu/$series.config" ] && printf '%s\n' "$LBRCTX_TOP/qemu/$series.config"
	[ "$flavor" = debug ] && printf '%s\n' "$LBRCTX_TOP/qemu/debug.config"
	return 0
}

# The cache key hashes the options the fragments set, not their comments.
fragment_hash() {
	# shellcheck disable=SC2046
	cat $(fragments "$1" "$2") | grep -E '^(CONFIG_|# CONFIG_[A-Z0-9_]+ is not set)' |
		sha256sum | cut -c1-12
}

build_dir() {
	local series=$1 flavor=$2 name ver hash
	read -r name ver < <(resolve_pkg "$series")
	hash=$(fragment_hash "$series" "$flavor")
	printf '%s\n' "$LBRCTX_CACHE/build/$name-$ver-$flavor-$hash"
}

build_kernel() {
	local series=$1 flavor=$2 src out frag missing
	case $flavor in default|debug) ;; *) die "unknown flavor '$flavor'" ;; esac
	out=$(build_dir "$series" "$flavor")
	if [ -f "$out/.lbrctx-built" ]; then
		printf '%s\n' "$out"
		return 0
	fi
	build_pkgs
	src=$(fetch_src "$series")
	mkdir -p "$out"
	log "configuring $series/$flavor in $out"
	make -s -C "$src" O="$out" tinyconfig >/dev/null
	# shellcheck disable=SC2046
	(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		$(fragments "$series" "$flavor") >"$out/merge.log" 2>&1) || die "merge_config failed ($out/merge.log)"
	make -s -C "$src" O="$out" olddefconfig >/dev/null
	missing=""
	for frag in $(fragments "$series" "$flavor"); do
		while IFS= read -r line; do
			grep -qxF "$line" "$out/.config" || missing="$missing ${line%%=*}"
		done < <(grep -E '^CONFIG_[A-Z0-9_]+=y$' "$frag")
	done
	[ -z "$missing" ] || die "$series/$flavor: options did not stick after olddefconfig:$missing"
	# A full build leaves Module.symvers, which modpost needs.
	run_with_progress "build $series/$flavor" "$out/build.log" \
		make -C "$src" O="$out" -j"$LBRCTX_JOBS" all || die "kernel build failed"
	cp "$out/.config" "$out/config.used"
	printf '%s\n' "$src" >"$out/.lbrctx-src"
	touch "$out/.lbrctx-built"
	printf '%s\n' "$out"
}

cmd=${1:-}
case $cmd in
build)
	# One build of a kernel at a time (make check builds ahead in the
	# background while guests run): later callers wait, then reuse it.
	mkdir -p "$LBRCTX_CACHE"
	exec 9>"$LBRCTX_CACHE/.build-${2:?series}-${3:-default}.lock"
	flock 9
	build_kernel "$2" "${3:-default}"
	;;
dir)
	d=$(build_dir "${2:?series}" "${3:-default}")
	[ -f "$d/.lbrctx-built" ] || die "kernel ${2}/${3:-default} is not built"
	printf '%s\n' "$d"
	;;
src) fetch_src "${2:?series}" ;;
series) echo "6.1 6.12 7.x" ;;
*) die "usage: $0 build|dir|src SERIES [default|debug] | series" ;;
esac
