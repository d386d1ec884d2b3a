#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb: the lbrctx-dkms Debian package (debian/, dh-dkms), built from a
# copy of the tree, then checked with lintian.
#
#   scripts/deb.sh [OUTDIR]      default OUTDIR: artifacts/deb
#
# Prints the package's path and lintian's tags (each remaining one is
# explained in debian/lintian-explained); exits non-zero if the build
# fails or lintian prints a tag that file does not explain.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

out=${1:-$LBRCTX_TOP/artifacts/deb}
need_pkgs debhelper dh-dkms dpkg-dev lintian
ver=$(dkms_version)
[ -n "$ver" ] || die "deb.sh: no PACKAGE_VERSION in dkms.conf"
cver=$(dpkg-parsechangelog -l "$LBRCTX_TOP/debian/changelog" -S Version)
[ "$cver" = "$ver" ] || die "deb.sh: debian/changelog is at $cver, dkms.conf at $ver"

rm -rf "$out"
mkdir -p "$out/lbrctx-$ver"
src=$out/lbrctx-$ver
stage_sources "$src"
rm -rf "$src/kunit"
cp -a "$LBRCTX_TOP/debian" "$LBRCTX_TOP/dkms.conf" "$src/"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 ||
	die "deb.sh: dpkg-buildpackage failed ($out/build.log)"
deb=$out/lbrctx-dkms_${ver}_all.deb
[ -f "$deb" ] || die "deb.sh: no $deb"
echo "deb $deb"
lintian --tag-display-limit 0 "$deb" >"$out/lintian.txt" 2>&1
bad=0
while read -r line; do
	[ -n "$line" ] || continue
	tag=$(awk '{ print $3 }' <<<"$line")
	if grep -q "^$tag " "$LBRCTX_TOP/debian/lintian-explained"; then
		echo "lintian (explained) $line"
	else
		echo "lintian (unexplained) $line"
		bad=1
	fi
done < <(grep -E '^[EWIP]: ' "$out/lintian.txt")
exit $bad
