#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The shim's share of lbrctx.ko's code, as docs/ARCHITECTURE.md states it:
# code lines (comments and blank lines stripped by the compiler's own
# preprocessor, gcc -fpreprocessed, which keeps the directives) of the
# product's sources, the files that dkms.conf's build (LBRCTX_TESTS=n)
# compiles or includes. shim: module/shim/*.[ch], include/lbrctx/shim.h
# (the boundary's declarations) and include/lbrctx/config.h (plain C the
# shim includes); cxx: module/*.cpp and the rest of include/lbrctx/;
# module/shim/exports.c,
# module/kunit_api.cpp and include/lbrctx/kunit_api.h are built with the
# tests only and not counted. Prints "loc shim=<n> cxx=<n> ratio=<r>".
set -euo pipefail
cd "$(dirname "$0")/.."
count() {
	local f n=0
	for f in "$@"; do
		n=$((n + $(gcc -fpreprocessed -dD -E -P -x c "$f" 2>/dev/null | grep -cv '^[[:space:]]*$')))
	done
	echo $n
}
mapfile -t shim < <(ls module/shim/*.c module/shim/*.h include/lbrctx/shim.h include/lbrctx/config.h |
	grep -v '/exports\.c$')
mapfile -t cxx < <(ls module/*.cpp include/lbrctx/*.h include/lbrctx/k/*.h |
	grep -vE 'kunit_api|include/lbrctx/(shim|config)\.h$')
s=$(count "${shim[@]}")
c=$(count "${cxx[@]}")
awk -v s="$s" -v c="$c" 'BEGIN { printf "loc shim=%d cxx=%d ratio=%.3f\n", s, c, s / (s + c) }'
