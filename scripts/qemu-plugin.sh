#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The QEMU TCG plugin of lbrctx's guest LBR hardware (qemu/plugin).
#
#   scripts/qemu-plugin.sh header          print the path of the cached
#                                          qemu-plugin.h of the installed QEMU
#                                          (fetched on first use)
#   scripts/qemu-plugin.sh build OUT_DIR   build OUT_DIR/lbrctx-plugin.so
#                                          (make plugin does it in qemu/plugin)
#   scripts/qemu-plugin.sh source DIR PATH...
#                                          extract PATHs of the same QEMU
#                                          source (Debian's patches applied)
#                                          into DIR, to read them
#
# QEMU's plugin API header, include/qemu/qemu-plugin.h, ships in no Debian
# binary package: only in the qemu source package. A plugin must be built
# against the API of the QEMU that loads it (QEMU refuses a plugin whose
# qemu_plugin_version is outside its [min, cur]), so the header is taken
# from the source version of the installed qemu-system-x86 and cached at
# $LBRCTX_CACHE/qemu-plugin/<version without epoch>/qemu-plugin.h.
#
# The source comes through an apt configuration private to lbrctx, like
# lib.sh's trixie-backports one: its own sources file (deb-src lines for
# the system's own archive URIs), lists and cache under
# $LBRCTX_CACHE/apt-src. The suites are the release's own plus the ones
# that carry the installed version (a point release's -updates, or
# -security), read from apt-cache policy at run time. The downloaded
# tarballs are deleted once the needed files are out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SRCAPT=$LBRCTX_CACHE/apt-src
PLUGIN_API_VERSION=1

src_opts() {
	printf '%s\n' -o "Dir::Etc::sourcelist=/dev/null" \
		-o "Dir::Etc::sourceparts=$SRCAPT/sources.list.d" \
		-o "Dir::Etc::preferencesparts=$SRCAPT/preferences.d" \
		-o "Dir::State::Lists=$SRCAPT/lists" \
		-o "Dir::Cache=$SRCAPT/cache" \
		-o "APT::Sandbox::User=root"
}

# The installed qemu-system-x86's source package version (a binNMU's
# +bN suffix belongs to the binary only).
qemu_source_version() {
	local v
	v=$(dpkg-query -W -f='${source:Version}' qemu-system-x86 2>/dev/null) || true
	[ -n "$v" ] || die "qemu-system-x86 is not installed"
	printf '%s\n' "$v"
}

# "URI SUITE" for every archive that carries the installed binary version,
# from apt-cache policy's version table (the lines under the *** one).
installed_origins() {
	apt-cache policy qemu-system-x86 | awk '
		/^ \*\*\* / { inst = 1; next }
		/^     [^ ]/ && !/^        / { inst = 0 }
		inst && $2 ~ /^[a-z]+:/ { s = $3; sub(/\/.*/, "", s); print $2, s }'
}

src_update() {
	local ver=$1 codename stamp=$SRCAPT/lists/.updated-$1
	mkdir -p "$SRCAPT"/{sources.list.d,preferences.d,lists/partial,cache/archives/partial}
	[ -f "$stamp" ] && return 0
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
	{
		printf '%s %s\n' "$(system_mirror)" "$codename"
		installed_origins
	} | awk '!seen[$0]++' | while read -r uri suite; do
		printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' \
			"$uri" "$suite"
	done >"$SRCAPT/sources.list.d/lbrctx-qemu-src.sources"
	log "updating the private source package list ($(awk '/^Suites:/{printf "%s ", $2}' "$SRCAPT/sources.list.d/lbrctx-qemu-src.sources"))"
	mapfile -t o < <(src_opts)
	apt-get "${o[@]}" update -q >/dev/null || die "apt-get update of the private source lists failed"
	rm -f "$SRCAPT"/lists/.updated-*
	touch "$stamp"
}

# patch_files PATCH: the files a patch touches. Both sides of each header
# (a deleted file has only its --- line), and git's own header (a binary
# hunk has no other).
patch_files() {
	{
		grep -E '^(\+\+\+|---) ' "$1" | grep -v ' /dev/null' |
			sed -n 's|^[-+]\{3\} [^/]*/\([^[:space:]]*\).*|\1|p'
		sed -n 's|^diff --git a/\([^ ]*\) b/\([^ ]*\)$|\1\n\2|p' "$1"
	} | sort -u
}

# extract_files VERSION DEST PATH...: PATHs (relative to the source tree)
# of qemu VERSION into DEST, with every Debian patch that touches one of
# them applied in series order.
extract_files() {
	local ver=$1 dest=$2 tmp orig deb p f t touched
	shift 2
	src_update "$ver"
	tmp=$(mktemp -d "$LBRCTX_CACHE/qemu-src.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	mapfile -t o < <(src_opts)
	log "downloading the qemu $ver source package"
	(cd "$tmp" && apt-get "${o[@]}" source --download-only -q "qemu=$ver" >/dev/null) ||
		die "apt-get source --download-only qemu=$ver failed"
	orig=$(ls "$tmp"/qemu_*.orig.tar.* 2>/dev/null | head -n1)
	deb=$(ls "$tmp"/qemu_*.debian.tar.* 2>/dev/null | head -n1)
	[ -n "$orig" ] || die "no orig tarball in the qemu $ver source package"
	mkdir -p "$tmp/tree"
	[ -z "$deb" ] || tar -xf "$deb" -C "$tmp/tree" debian/patches 2>/dev/null || true
	# The patches to apply: those that touch a wanted file, then, as they
	# need their other files in the state the earlier patches left, those
	# that touch any of these, until no patch adds a file.
	local patches=() want series=$tmp/tree/debian/patches/series n=-1
	declare -A files=()
	for f in "$@"; do files[$f]=1; done
	while [ -f "$series" ] && [ $n -ne ${#files[@]} ]; do
		n=${#files[@]}
		patches=()
		while read -r p; do
			p=${p%%#*}
			p=${p%% *}
			[ -n "$p" ] && [ -f "$tmp/tree/debian/patches/$p" ] || continue
			mapfile -t touched < <(patch_files "$tmp/tree/debian/patches/$p")
			for f in "${touched[@]}"; do
				if [ -n "${files[$f]:-}" ]; then
					patches+=("$p")
					for t in "${touched[@]}"; do files[$t]=1; done
					break
				fi
			done
		done <"$series"
	done
	want=("${!files[@]}")
	local top
	# The tarball's top directory (tar stops at head's exit: no pipefail here).
	top=$(set +o pipefail; tar -tf "$orig" 2>/dev/null | head -n1 | cut -d/ -f1)
	# Files a patch creates are not in the tarball: extract what exists.
	tar -xf "$orig" -C "$tmp/tree" --strip-components=1 --ignore-failed-read \
		"${want[@]/#/$top/}" 2>/dev/null || true
	# Batch mode (-t): the stable-update diffs carry git binary hunks that
	# patch cannot apply (test data). A patch that fails only matters when
	# it touches a file asked for.
	for p in "${patches[@]}"; do
		log "applying Debian's $p"
		if ! patch -t -s -p1 -r - --no-backup-if-mismatch -d "$tmp/tree" \
			<"$tmp/tree/debian/patches/$p" >"$tmp/patch.log" 2>&1; then
			for f in "$@"; do
				patch_files "$tmp/tree/debian/patches/$p" | grep -qxF "$f" &&
					{ cat "$tmp/patch.log" >&2; die "$p does not apply to $f"; }
			done
			log "$p: some hunks failed, in files not asked for"
		fi
	done
	mkdir -p "$dest"
	for f in "$@"; do
		[ -f "$tmp/tree/$f" ] || die "qemu $ver has no $f"
		mkdir -p "$dest/$(dirname "$f")"
		cp "$tmp/tree/$f" "$dest/$f"
	done
	rm -rf "$tmp"
	trap - EXIT
}

# The cached header's path; fetched when missing.
header() {
	local ver dir h api
	ver=$(qemu_source_version)
	# Without the epoch, as Debian names its files: a colon in the path
	# would break the make rules that depend on the header.
	dir=$LBRCTX_CACHE/qemu-plugin/${ver#*:}
	h=$dir/qemu-plugin.h
	if [ ! -f "$h" ]; then
		exec 9>"$LBRCTX_CACHE/.qemu-plugin.lock"
		flock 9
		if [ ! -f "$h" ]; then
			extract_files "$ver" "$dir/tree" include/qemu/qemu-plugin.h
			mv "$dir/tree/include/qemu/qemu-plugin.h" "$h.tmp"
			rm -rf "$dir/tree"
			mv "$h.tmp" "$h"
		fi
	fi
	# The plugin is written to API version 1 (QEMU 7.2): its callbacks
	# take no qemu_plugin_id_t where later versions changed them.
	api=$(sed -n 's/^#define QEMU_PLUGIN_VERSION \([0-9]*\).*/\1/p' "$h")
	[ "$api" = "$PLUGIN_API_VERSION" ] ||
		die "$h has QEMU_PLUGIN_VERSION ${api:-none}; the plugin is written for $PLUGIN_API_VERSION"
	printf '%s\n' "$h"
}

case ${1:-} in
header)
	mkdir -p "$LBRCTX_CACHE"
	need_pkgs qemu-system-x86 patch xz-utils
	header
	;;
build)
	out=${2:?usage: $0 build OUT_DIR}
	make -C "$LBRCTX_TOP" --no-print-directory plugin PLUGIN_OUT="$(mkdir -p "$out" && cd "$out" && pwd)"
	;;
source)
	dest=${2:?usage: $0 source DIR PATH...}
	shift 2
	[ $# -gt 0 ] || die "usage: $0 source DIR PATH..."
	mkdir -p "$LBRCTX_CACHE"
	need_pkgs qemu-system-x86 patch xz-utils
	extract_files "$(qemu_source_version)" "$dest" "$@"
	;;
*) die "usage: $0 header | build OUT_DIR | source DIR PATH..." ;;
esac
