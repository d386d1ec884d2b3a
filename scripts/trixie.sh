#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's stock 7.x kernel from trixie-backports, built for as a trixie
# user would: dkms in a trixie root, with trixie's gcc-14.
#
#   scripts/trixie.sh release      the newest stock 7.x release
#   scripts/trixie.sh fetch        fetch and unpack its image and headers;
#                                  prints "RELEASE DIR"
#   scripts/trixie.sh root         debootstrap (or reuse) the trixie root;
#                                  prints its path
#   scripts/trixie.sh dkms-build WORKDIR
#                                  dkms add and build, and the test
#                                  fixture, in that root; prints "ok NAME"
#                                  / "FAIL NAME: why" lines
#
# The image is the signed one, for stock.sh's reason (see there); in
# trixie-backports linux-image-<release> only depends on linux-base-,
# linux-binary- (the signed vmlinuz) and linux-modules-<release>, which
# are fetched with it. Packages come through the private trixie-backports
# apt configuration (scripts/lib.sh, as kernels.sh uses it) and are
# unpacked, never installed, under $LBRCTX_CACHE/stock/<release>. The
# root is cached under $LBRCTX_CACHE/trixie-root/<hash of its packages>;
# the headers and WORKDIR are bind-mounted into it at their host paths.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# What a trixie user installs to build a DKMS module for a stock kernel
# (the headers' own dependencies: gcc-14, pahole, the kbuild tools' libs),
# and python3, which lbrctx-dkms depends on (lbrctx-uprobes): the stock
# guest installs the package in this root, with no network for apt.
ROOT_PKGS="gcc g++ make libc6-dev dkms kmod libelf-dev bc pahole libssl3t64 xz-utils python3"

mapfile -t o < <(bpo_opts)
cand() { apt-cache "${o[@]}" policy "$1" | awk '/Candidate:/{print $2}' | grep -v '(none)'; }

release_of() { # the newest 7.x release whose signed image and headers are there
	local rel
	bpo_update
	for rel in $(apt-cache "${o[@]}" pkgnames linux-image-7. |
		grep -E '^linux-image-7\.[0-9]+\.[0-9]+\+deb[0-9]+-amd64$' | sed 's/^linux-image-//' | sort -rV); do
		cand "linux-image-$rel" >/dev/null && cand "linux-headers-$rel" >/dev/null &&
			{ printf '%s\n' "$rel"; return 0; }
	done
	return 1
}

# Packages of a release: the image and those of its dependencies that are
# the release's own, the headers, their common part and the kbuild tools.
pkgs_of() { # RELEASE
	local rel=$1
	printf '%s\n' "linux-image-$rel" "linux-headers-$rel" "linux-headers-${rel%-amd64}-common" \
		"linux-kbuild-${rel%-amd64}"
	apt-cache "${o[@]}" show "linux-image-$rel" "linux-headers-$rel" | sed -n 's/^Depends: //p' |
		tr ',|' '\n\n' | awk -v r="-$rel" '{n=$1; if (substr(n, length(n) - length(r) + 1) == r) print n}'
}

fetch() {
	local rel d root p
	rel=$(release_of) || die "trixie.sh: no stock 7.x image with headers in trixie-backports"
	d=$LBRCTX_CACHE/stock/$rel
	root=$d/root
	if [ ! -f "$d/.ready" ]; then
		rm -rf "$d"
		mkdir -p "$d"
		mapfile -t p < <(pkgs_of "$rel" | sort -u)
		log "downloading ${p[*]}"
		(cd "$d" && apt-get "${o[@]}" -o APT::Sandbox::User=root download -q "${p[@]}" \
			>"$d/download.log" 2>&1) || die "trixie.sh: download failed ($d/download.log)"
		for p in "$d"/*.deb; do dpkg-deb -x "$p" "$root" || die "trixie.sh: cannot unpack $p"; done
		ls -l "$d"/*.deb >"$d/debs.txt"
		rm -f "$d"/*.deb
		# The arch Makefile names its output tree and includes the common
		# one by absolute path.
		sed -i -e "s|^include /usr/src/|include $root/usr/src/|" \
			-e "s|^KBUILD_OUTPUT=/usr/src/|KBUILD_OUTPUT=$root/usr/src/|" \
			"$root/usr/src/linux-headers-$rel/Makefile"
		# Everything is under usr/lib/modules/<release> (vmlinuz too):
		# stock.sh's layout by links, as merged /usr and /boot have it.
		ln -s usr/lib "$root/lib" && mkdir -p "$root/boot" &&
			ln -s "../usr/lib/modules/$rel/vmlinuz" "$root/boot/vmlinuz-$rel" || die "trixie.sh: links"
		stock_modules_ready "$root" "$rel" || die "trixie.sh: modules of $rel"
		touch "$d/.ready"
	fi
	printf '%s %s\n' "$rel" "$d"
}

root_dir() {
	printf '%s/trixie-root/%s\n' "$LBRCTX_CACHE" \
		"$(printf '%s\n' trixie minbase $ROOT_PKGS | sha256sum | cut -c1-12)"
}
unmount_under() { # DIR: whatever is still mounted there, innermost first
	local m
	for m in $(findmnt -rn -o TARGET | grep -E "^$1(/|$)" | sort -r); do umount -l "$m"; done
}
make_root() {
	local r start
	r=$(root_dir)
	mkdir -p "${r%/*}"
	exec 8>"$r.lock"
	flock 8
	if [ ! -f "$r/.lbrctx-root" ]; then
		need_pkgs debootstrap
		unmount_under "$r"
		rm -rf --one-file-system "$r"
		start=$(date +%s)
		log "debootstrap trixie into $r (log: $r.log)"
		debootstrap --variant=minbase --include="${ROOT_PKGS// /,}" trixie "$r" \
			"$(system_mirror)" >"$r.log" 2>&1 || die "trixie.sh: debootstrap failed ($r.log)"
		chroot "$r" apt-get clean
		log "debootstrap done in $(( $(date +%s) - start ))s, $(du -sh "$r" | cut -f1)"
		touch "$r/.lbrctx-root"
	fi
	exec 8>&-
	printf '%s\n' "$r"
}

t() { if eval "$3"; then ok "$1"; else fail "$1" "$2"; fi; } # NAME WHY TEST

# shellcheck disable=SC2016,SC2034 # t() evaluates its tests, given in single quotes
dkms_build() { # WORKDIR
	local w rel d r hdr ver ko vm mv n mlog cc gv trees u
	w=$(realpath -m "$1")
	read -r rel d <<<"$(fetch)" && [ -n "$d" ] || exit 1
	r=$(make_root) || exit 1
	hdr=$d/root/usr/src/linux-headers-$rel
	ver=$(dkms_version)
	rm -rf "$w"
	mkdir -p "$w/src" "$w/dkms" "$w/tests"
	stage_sources "$w/src/lbrctx-$ver"
	cp "$LBRCTX_TOP/dkms.conf" "$w/src/lbrctx-$ver/"
	stage_sources "$w/tests/src"
	trap 'unmount_under "$r"' EXIT
	mount -t proc proc "$r/proc" && mount --bind /dev "$r/dev" &&
		mkdir -p "$r$d/root" "$r$w" && mount --bind "$d/root" "$r$d/root" &&
		mount -o remount,bind,ro "$r$d/root" && mount --bind "$w" "$r$w" ||
		die "trixie.sh: cannot mount into $r"
	in_root() { chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }
	gv=$(in_root gcc --version | head -n1)
	trees=(--sourcetree "$w/src" --dkmstree "$w/dkms")
	t trixie_dkms_build "see $w/dkms-build.log" 'in_root dkms add -m lbrctx -v "$ver" "${trees[@]}" \
		>"$w/dkms-add.log" 2>&1 && in_root dkms build -m lbrctx -v "$ver" -k "$rel" \
		--kernelsourcedir "$hdr" "${trees[@]}" >"$w/dkms-build.log" 2>&1'
	# The test fixture (lbrctx_tchain.ko) and K1 (lbrctx_k1.ko), in the same
	# root and headers.
	t trixie_test_modules_build "see $w/tests/build.log" 'in_root make -C "$w/tests/src" KDIR="$hdr" \
		>"$w/tests/build.log" 2>&1 && modinfo -F vermagic "$w/tests/src/lbrctx_tchain.ko" | grep "^$rel " >/dev/null'
	unmount_under "$r"
	trap - EXIT
	# The root's compiler is the kernel's: the same gcc-14 build.
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$hdr/.config")
	t trixie_gcc_matches_kernel "root '$gv', kernel '$cc'" '[ -n "$gv" ] && [ "${cc#* }" = "${gv#* }" ]'
	ko=$(find "$w/dkms/lbrctx/$ver/$rel" -name 'lbrctx.ko*' 2>/dev/null | head -n1)
	[ -n "$ko" ] || { fail trixie_dkms_module "no lbrctx.ko under $w/dkms/lbrctx/$ver/$rel"; return; }
	xz -dcf "$ko" >"$w/lbrctx.ko" # nm needs the ELF, should DKMS compress it
	vm=$(modinfo -F vermagic "$ko") mv=$(modinfo -F version "$ko")
	t trixie_dkms_vermagic_and_version "vermagic '$vm' version '$mv'" '[ "${vm%% *}" = "$rel" ] && [ "$mv" = "$ver" ]'
	mlog=$(find "$w/dkms/lbrctx/$ver" -name make.log | head -n1)
	n=$(grep -c 'warning:' "$mlog" 2>/dev/null)
	t trixie_dkms_warning_free "${n:-no make.log,} warnings ($mlog)" '[ -n "$mlog" ] && [ "${n:-0}" -eq 0 ]'
	t trixie_dkms_postlink "$(scripts/postlink-check.sh "$w/lbrctx.ko" 2>&1)" 'scripts/postlink-check.sh "$w/lbrctx.ko" 2>/dev/null'
	t trixie_config_fprobe "no CONFIG_FPROBE=y in $hdr/.config" 'grep -q "^CONFIG_FPROBE=y" "$hdr/.config"'
	# Both sources' names are in the C++; the shim links only one.
	u=$(nm -u "$w/lbrctx.ko" | awk '{ print $2 }')
	t trixie_branch_source_fprobe "$ko does not call register_fprobe alone" \
		'grep -qx register_fprobe <<<"$u" && ! grep -qx register_kretprobe <<<"$u"'
	echo "trixie kernel=$rel version=$ver gcc='$gv' module=${ko#"$w"/}"
}

case ${1:-} in
release) release_of ;;
fetch) fetch ;;
root) make_root ;;
dkms-build) cd "$LBRCTX_TOP" && dkms_build "${2:?usage: trixie.sh dkms-build WORKDIR}"; [ $fails -eq 0 ] ;;
*) die "usage: trixie.sh release|fetch|root|dkms-build WORKDIR" ;;
esac
