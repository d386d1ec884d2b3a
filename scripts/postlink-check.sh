#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Post-link checks for C++ kernel modules. Fails (exit 1) with a message
# naming the object and the reason when a linked object has:
#  - a C++ dynamic initializer or destructor of a global (.ctors/.dtors, a
#    _GLOBAL__sub_I_/_GLOBAL__sub_D_ function, or an .init_array/.fini_array
#    entry that is not the compiler's sanitizer constructor): module loaders
#    run constructors only with CONFIG_CONSTRUCTORS, so such a global would
#    silently stay uninitialized (use constinit/constexpr). With KASAN the
#    compiler adds one constructor and destructor per object that register
#    its instrumented globals (gcc: _sub_I_<prio>_<n>, clang:
#    asan.module_ctor); the kernel runs those, and they are allowed;
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
	syms=$($NM "$o")
	bad=""
	# Section names and sizes: .ctors/.dtors are never allowed.
	while read -r name size; do
		case $name in
		.ctors*|.dtors*) bad="$bad $name" ;;
		.init_array*|.fini_array*)
			# Every 8-byte entry must be a sanitizer constructor/destructor.
			entries=$(( 0x$size / 8 ))
			case $name in
			.init_array*) allowed=$(grep -cE ' [tT] (_sub_I_[0-9]+_[0-9]+|asan\.module_ctor)$' <<<"$syms") ;;
			*) allowed=$(grep -cE ' [tT] (_sub_D_[0-9]+_[0-9]+|asan\.module_dtor)$' <<<"$syms") ;;
			esac
			[ "$entries" -le "$allowed" ] || bad="$bad $name($entries entries, $allowed from the sanitizer)"
			;;
		esac
	done < <($OBJDUMP -h "$o" | awk '$2 ~ /^\.(init_array|fini_array|ctors|dtors)/ {print $2, $3}')
	cxxinit=$(grep -oE ' [tT] _GLOBAL__(sub_)?[ID]_.*$' <<<"$syms" | awk '{print $2}')
	if [ -n "$bad$cxxinit" ]; then
		echo "lbrctx: post-link check: $o has constructor/destructor sections:$bad $(echo $cxxinit)." >&2
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
