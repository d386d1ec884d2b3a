#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `dkms build` of lbrctx (dkms.conf) against Debian's stock kernel headers,
# in a private DKMS tree; it builds only and loads nothing.
#
#   scripts/dkms-check.sh WORKDIR
#
# Targets: the headers of linux-headers-amd64 (bookworm's 6.1, installed as
# a package as a user would), and bookworm's 6.12 headers (bookworm-security),
# whose packages depend on their kernel image and so are unpacked under
# $LBRCTX_CACHE/headers instead of installed. Both were built with gcc-12,
# the compiler here. Prints one "ok NAME" / "FAIL NAME: why" line per check
# and "dkms <kernel>" lines; exits non-zero on a failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

w=${1:?usage: dkms-check.sh WORKDIR}

need_pkgs dkms linux-headers-amd64 gcc-12
ver=$(dkms_version)
[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"

rm -rf "$w"
mkdir -p "$w/src" "$w/dkms"
stage_sources "$w/src/lbrctx-$ver"
cp "$LBRCTX_TOP/dkms.conf" "$w/src/lbrctx-$ver/"
trees=(--sourcetree "$w/src" --dkmstree "$w/dkms")
if dkms add -m lbrctx -v "$ver" "${trees[@]}" >"$w/add.log" 2>&1; then
	ok dkms_add
else
	fail dkms_add "$(tail -n 3 "$w/add.log" | tr '\n' ' ')"
	exit 1
fi

# headers_612: unpack bookworm's 6.12 headers; print "KVER DIR".
headers_612() {
	local kver pkgs d root
	kver=$(apt-cache pkgnames linux-headers-6.12 | grep -E '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' | sort -V | tail -n1)
	kver=${kver#linux-headers-}
	[ -n "$kver" ] || return 1
	d=$LBRCTX_CACHE/headers/$kver
	root=$d/root
	if [ ! -f "$d/.unpacked" ]; then
		rm -rf "$d"
		mkdir -p "$d"
		pkgs=("linux-headers-$kver" "linux-headers-${kver%-amd64}-common" "linux-kbuild-${kver%-amd64}")
		(cd "$d" && apt-get -o APT::Sandbox::User=root download -q "${pkgs[@]}" >"$d/download.log" 2>&1) || return 1
		for p in "$d"/*.deb; do dpkg-deb -x "$p" "$root" || return 1; done
		rm -f "$d"/*.deb
		# The arch Makefile includes the common one by absolute path.
		sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root/usr/src/linux-headers-$kver/Makefile"
		touch "$d/.unpacked"
	fi
	printf '%s %s\n' "$kver" "$root/usr/src/linux-headers-$kver"
}

kver61=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -oE 'linux-headers-6\.1\.[0-9]+-[0-9]+-amd64' | head -n1)
kver61=${kver61#linux-headers-}
targets=("$kver61 /usr/src/linux-headers-$kver61")
if t=$(headers_612); then
	targets+=("$t")
else
	fail dkms_headers_6_12 "cannot fetch bookworm's 6.12 headers"
fi

for t in "${targets[@]}"; do
	read -r kver ksrc <<<"$t"
	name=dkms_build_${kver//[.+-]/_}
	if dkms build -m lbrctx -v "$ver" -k "$kver" --kernelsourcedir "$ksrc" "${trees[@]}" \
		>"$w/build-$kver.log" 2>&1; then
		ok "$name"
	else
		fail "$name" "see $w/build-$kver.log and $w/dkms/lbrctx/$ver/build/make.log"
		continue
	fi
	ko=$(find "$w/dkms/lbrctx/$ver/$kver" -name 'lbrctx.ko*' | head -n1)
	if [ -z "$ko" ]; then
		fail "${name}_module" "no lbrctx.ko under $w/dkms/lbrctx/$ver/$kver"
		continue
	fi
	vm=$(modinfo -F vermagic "$ko")
	mv=$(modinfo -F version "$ko")
	if [ "${vm%% *}" = "$kver" ] && [ "$mv" = "$ver" ]; then
		ok "${name}_vermagic_and_version"
	else
		fail "${name}_vermagic_and_version" "vermagic '$vm' version '$mv'"
	fi
	n=$(grep -c 'warning:' "$w/dkms/lbrctx/$ver/build/make.log" 2>/dev/null)
	if [ "${n:-0}" -eq 0 ]; then ok "${name}_warning_free"; else fail "${name}_warning_free" "$n warnings"; fi
	if "$LBRCTX_TOP/scripts/postlink-check.sh" "$ko" >"$w/postlink-$kver.log" 2>&1; then
		ok "${name}_postlink"
	else
		fail "${name}_postlink" "$(cat "$w/postlink-$kver.log")"
	fi
	# Which branch source the build chose: without CONFIG_FPROBE (Debian's
	# 6.1) it is the kretprobe fallback, and the load message says so.
	src=$(grep -q '^CONFIG_FPROBE=y' "$ksrc/.config" && echo fprobe || echo kretprobe)
	# (Both sources' names are in the C++; the shim links only one.)
	other=$([ $src = fprobe ] && echo kretprobe || echo fprobe)
	undef=$(nm -u "$ko" 2>/dev/null | awk '{ print $2 }')
	if echo "$undef" | grep -qx "register_$src" && ! echo "$undef" | grep -qx "register_$other"; then
		ok "${name}_branch_source_$src"
	else
		fail "${name}_branch_source_$src" "$ko does not call register_$src alone"
	fi
	echo "dkms kernel=$kver version=$ver branch_source=$src module=${ko#"$w"/}"
done
[ $fails -eq 0 ]
