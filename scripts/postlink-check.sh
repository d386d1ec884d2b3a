#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Post-link checks for C++ kernel modules. Fails (exit 1) with a message
# naming the object and the reason when a linked object has:
#  - an .init_array, .ctors or .fini_array section: module loaders run
#    constructors only with CONFIG_CONSTRUCTORS, so a global with a dynamic
#    initializer would silently stay uninitialized (use constinit/constexpr);
#  - an undefined __cxa_*, _Unwind_*, __gxx_personality* or operator
#    new/delete symbol: there is no C++ runtime in the kernel;
#  - any weak undefined symbol: it resolves to address 0 without a word from
#    modpost (g++ emits __cxa_pure_virtual that way).
#
# Usage: postlink-check.sh OBJECT...
set -u
NM=${NM:-nm}
OBJDUMP=${OBJDUMP:-objdump}
rc=0
for o in "$@"; do
	[ -f "$o" ] || { echo "lbrctx: post-link check: $o: no such file" >&2; rc=1; continue; }
	bad=$($OBJDUMP -h "$o" | awk '{print $2}' | grep -E '^\.(init_array|ctors|fini_array|dtors)(\.|$)')
	if [ -n "$bad" ]; then
		echo "lbrctx: post-link check: $o has constructor/destructor sections: $(echo $bad)." >&2
		echo "lbrctx:   A global has a dynamic initializer or destructor; make it constinit or constexpr." >&2
		rc=1
	fi
	und=$($NM -u "$o" | awk '{print $NF}' |
		grep -E '^(__cxa_|_Unwind_|__gxx_personality|_Znw|_Zna|_ZdlPv|_ZdaPv)')
	if [ -n "$und" ]; then
		echo "lbrctx: post-link check: $o needs C++ runtime symbols the kernel does not have: $(echo $und)." >&2
		echo "lbrctx:   (no exceptions, no global new/delete, no pure virtuals; use placement new and SlabCache<T>)" >&2
		rc=1
	fi
	weak=$($NM "$o" | awk '$1 == "w" || $1 == "v" {print $2}')
	if [ -n "$weak" ]; then
		echo "lbrctx: post-link check: $o has weak undefined symbols, which resolve to 0 silently: $(echo $weak)." >&2
		rc=1
	fi
done
exit $rc
