#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The docs name only what exists: every `name_with_underscores` (a test,
# a check, a table row, a function) shown in README.md or docs/*.md must
# occur in a tracked file that is not documentation, and every path shown
# must exist. A kernel name the docs cite (seed 003's perf_ctx_data, say)
# may exist in the kernel instead: the perf core, x86 LBR and uprobes
# sources of the kernel trees given. Prints each name or path that does
# not exist; nothing when all do.
#
#   scripts/docs-check.sh [KERNEL-SOURCE-TREE...]
set -uo pipefail
ktrees=("$@")
cd "$(dirname "$0")/.."
docs=(README.md docs/*.md)
mapfile -t code < <(git ls-files | grep -vE '\.md$')
kfiles=()
for k in "${ktrees[@]}"; do
	[ -d "$k" ] || continue
	kfiles+=("$k"/include/linux/perf_event.h "$k"/include/linux/sched.h "$k"/kernel/events/core.c
		"$k"/arch/x86/events/intel/lbr.c "$k"/kernel/events/uprobes.c "$k"/include/linux/uprobes.h)
done
grep -ohE '`[^`]+`' "${docs[@]}" | tr -d '`' | tr ' ,()' '\n\n\n\n' | sort -u |
while read -r t; do
	case $t in
	*/*)	# a path of the tree: module/shim/pmu.c, qemu/guest/e2e.sh
		p=${t%%:*}
		[[ $p =~ ^(module|include|kunit|scripts|qemu|docs|debian)/[A-Za-z0-9_./-]+$ ]] || continue
		[[ $p == include/generated/* ]] && continue	# a build product
		[[ $p == *'*'* ]] && continue
		[ -e "$p" ] && continue
		for k in "${ktrees[@]}"; do [ -e "$k/$p" ] && continue 2; done	# a kernel's file
		echo "$p" ;;
	*)	[[ $t =~ ^[a-z][a-z0-9]*(_[a-z0-9]+){2,}$ ]] || continue
		grep -qw -- "$t" "${code[@]}" 2>/dev/null && continue
		[ ${#kfiles[@]} -gt 0 ] && grep -qw -- "$t" "${kfiles[@]}" 2>/dev/null && continue
		echo "$t" ;;
	esac
done
