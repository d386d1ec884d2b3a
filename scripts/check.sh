#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test on every kernel series.
#
# For each series (6.1, 6.12, 7.x) it builds or reuses the test kernel,
# builds the module against it (W=1, warning-free), checks incremental
# rebuilds, the post-link checks and the negative builds, then runs the
# KUnit suites in a QEMU guest and parses the KTAP with the kernel's own
# kunit.py, and runs the perf end-to-end tests (qemu/guest/e2e.sh) with the
# seed-003 replica, whose line it prints, and the hardening run
# (qemu/guest/stress.sh: bad-input and privilege tables, isolation, stress
# scenarios; 4 vCPUs) in a second guest. The debug kernels (KASAN, lockdep,
# kmemleak, failslab, ...) of 7.x and 6.1 run the KUnit suites, the e2e
# tests and the stress run too; `make check-all` adds the 6.12 debug
# kernel. Then `dkms build` against Debian's stock headers
# (scripts/dkms-check.sh). Prints "<kernel>: N passed, N failed" per kernel
# and a final "N passed, N failed"; exits non-zero on any failure.
#
# LBRCTX_SERIES / LBRCTX_DEBUG_SERIES pick the series (LBRCTX_DKMS=0 skips
# the dkms builds); artifacts (build logs, KTAP, kunit.py JSON, guest
# consoles) go to $LBRCTX_ARTIFACTS (default: ./artifacts).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

SERIES=${LBRCTX_SERIES-6.1 6.12 7.x}
DEBUG_SERIES=${LBRCTX_DEBUG_SERIES-7.x 6.1}
ART=${LBRCTX_ARTIFACTS:-$LBRCTX_TOP/artifacts}
mkdir -p "$ART"

total_pass=0 total_fail=0 summary=() seed003_lines=()
k_pass=0 k_fail=0

t_pass() { k_pass=$((k_pass + 1)); printf '  ok   %s\n' "$1"; }
t_fail() { k_fail=$((k_fail + 1)); printf '  FAIL %s: %s\n' "$1" "$2"; }
t_check() { # NAME CONDITION-RESULT(0/1) REASON
	if [ "$2" -eq 0 ]; then t_pass "$1"; else t_fail "$1" "$3"; fi
}

# Lines of a build log that show something being built.
built_lines() { grep -E '^ +(CC|C\+\+|LD|AR|GEN|CHECK) ' "$1" || true; }

host_tests() { # KDIR WORKDIR
	local kdir=$1 w=$2 src=$2/src log rc n
	stage_sources "$src"

	make -C "$src" KDIR="$kdir" W=1 >"$w/build.log" 2>&1
	rc=$?
	n=$(grep -c 'warning:' "$w/build.log")
	t_check build_w1_warning_free $(( rc != 0 || n != 0 )) "rc=$rc warnings=$n (see $w/build.log)"
	[ $rc -eq 0 ] || return 1

	make -C "$src" KDIR="$kdir" W=1 >"$w/rebuild.log" 2>&1
	n=$(built_lines "$w/rebuild.log" | wc -l)
	t_check second_make_builds_nothing $(( n != 0 )) "$n build steps ($w/rebuild.log)"

	# Touch a header; what is rebuilt must be exactly the objects whose
	# fixdep dependency list (.cmd) names it, and not every object.
	local hdr=include/lbrctx/guard.h expected rebuilt nobj
	expected=$(cd "$src" && grep -l "$hdr" $(find module kunit -name '.*.o.cmd') |
		sed -E 's|/\.([^/]*)\.cmd$|/\1|' | sort | tr '\n' ' ')
	nobj=$(cd "$src" && find module kunit -name '.*.o.cmd' | wc -l)
	touch "$src/$hdr"
	make -C "$src" KDIR="$kdir" W=1 >"$w/touch.log" 2>&1
	rebuilt=$(built_lines "$w/touch.log" | grep -E '^ +(CC|C\+\+) ' | awk '{print $NF}' | sed "s|^$src/||" | sort | tr '\n' ' ')
	t_check header_change_rebuilds_only_dependents \
		$([ -n "$expected" ] && [ "$rebuilt" = "$expected" ] && [ "$(wc -w <<<"$rebuilt")" -lt "$nobj" ] && echo 0 || echo 1) \
		"touched $hdr: rebuilt '$rebuilt', dependents '$expected' of $nobj objects"

	make -C "$src" KDIR="$kdir" W=1 CXXFLAGS_LBRCTX=-DLBRCTX_FLAGS_PROBE >"$w/flags.log" 2>&1
	rebuilt=$(built_lines "$w/flags.log" | grep -E '^ +(CC|C\+\+) ' | awk '{print $1}' | sort -u | tr '\n' ' ')
	n=$(built_lines "$w/flags.log" | grep -cE '^ +C\+\+ ')
	local ncxx f
	ncxx=0
	for f in $(find "$src/module" "$src/kunit" -name '*.cpp' -not -path '*/negative/*'); do
		[ -f "${f%.cpp}.o" ] && ncxx=$((ncxx + 1))
	done
	t_check flag_change_rebuilds_cxx_only $([ "$rebuilt" = "C++ " ] && [ "$n" -eq "$ncxx" ] && echo 0 || echo 1) \
		"kinds rebuilt: '$rebuilt', C++ objects rebuilt: $n of $ncxx"
	make -C "$src" KDIR="$kdir" W=1 >>"$w/flags.log" 2>&1 || return 1

	"$src/scripts/postlink-check.sh" "$src/lbrctx.ko" "$src/lbrctx_kunit.ko" >"$w/postlink.log" 2>&1
	t_check ko_has_no_ctors_or_cxx_runtime_symbols $? "$(cat "$w/postlink.log")"

	# modinfo: every module_param has a description; the version is dkms.conf's.
	local nparam ndesc mver dver
	nparam=$(cat "$src"/module/shim/*.c | grep -c '^module_param(')
	ndesc=$(modinfo -F parm "$src/lbrctx.ko" | grep -cE '^[a-z_]+:[^ ].{20,}')
	t_check modinfo_describes_every_parameter $(( nparam == 0 || nparam != ndesc )) \
		"$nparam module_param, $ndesc described: $(modinfo -F parm "$src/lbrctx.ko" | tr '\n' ' ')"
	mver=$(modinfo -F version "$src/lbrctx.ko")
	dver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$LBRCTX_TOP/dkms.conf")
	t_check module_version_is_dkms_version $([ -n "$mver" ] && [ "$mver" = "$dver" ] && echo 0 || echo 1) \
		"modinfo '$mver', dkms.conf '$dver'"

	# make install into a staging root: lbrctx.ko in updates/, known to depmod.
	local rel
	rel=$(cat "$kdir/include/config/kernel.release")
	rm -rf "$w/install"
	make -C "$src" KDIR="$kdir" INSTALL_MOD_PATH="$w/install" install >"$w/install.log" 2>&1
	rc=$?
	t_check make_install_installs_module \
		$([ $rc -eq 0 ] && [ -f "$w/install/lib/modules/$rel/updates/lbrctx.ko" ] &&
		  grep -q '^updates/lbrctx.ko:' "$w/install/lib/modules/$rel/modules.dep" && echo 0 || echo 1) \
		"rc=$rc ($w/install.log)"

	# Negative builds: each must fail, and with our message.
	local neg expect
	for neg in global_ctor:'constructor/destructor sections' \
		pure_virtual:'weak undefined symbols' \
		operator_new:'C++ runtime symbols'; do
		expect=${neg#*:}
		neg=${neg%%:*}
		rm -rf "$w/neg-$neg"
		stage_sources "$w/neg-$neg"
		make -C "$w/neg-$neg" KDIR="$kdir" LBRCTX_NEGATIVE=kunit/negative/$neg.o \
			>"$w/neg-$neg.log" 2>&1
		rc=$?
		grep -q "lbrctx: post-link check: .*$expect" "$w/neg-$neg.log"
		t_check "negative_build_${neg}_fails" $(( rc == 0 || $? != 0 )) \
			"rc=$rc, message '$expect' not found ($w/neg-$neg.log)"
		rm -rf "$w/neg-$neg"
	done
	return 0
}

# Run the KUnit suites in a guest; count cases from kunit.py's JSON.
guest_kunit() { # KDIR KSRC WORKDIR SRC
	local kdir=$1 ksrc=$2 w=$3 src=$4 g=$3/guest rc
	qemu/run.sh --kernel "$kdir/arch/x86/boot/bzImage" --out "$g" --smp 2 --timeout 1200 \
		--in "$src/lbrctx.ko" --in "$src/lbrctx_kunit.ko" --in "$src/lbrctx_tchain.ko" \
		--in qemu/guest/kunit.sh --in qemu/guest/e2e.sh --in qemu/guest/seed003.sh \
		-- sh ./kunit.sh >"$w/guest.log" 2>&1
	rc=$?
	t_check guest_run_clean $rc "status $rc: $(tail -n 5 "$w/guest.log" "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	[ -f "$g/facts" ] || return 0
	t_check guest_has_2_cpus $(grep -qx 'nproc=2' "$g/facts"; echo $?) "$(grep nproc "$g/facts")"
	t_check modules_unload_cleanly $([ -f "$g/modules-after.txt" ] && [ ! -s "$g/modules-after.txt" ] && echo 0 || echo 1) \
		"still loaded: $(cat "$g/modules-after.txt" 2>/dev/null)"
	t_check store_empty_after_suites \
		$(grep -qx 'objects 0' "$g/store-after.txt" 2>/dev/null && grep -qx 'global_users 0' "$g/store-after.txt" && echo 0 || echo 1) \
		"debugfs store: $(tr '\n' ' ' <"$g/store-after.txt" 2>/dev/null)"
	if grep -q slab_sysfs=1 "$g/facts"; then
		t_check caches_destroyed_on_unload $([ ! -s "$g/slabs-after.txt" ] && echo 0 || echo 1) \
			"left: $(cat "$g/slabs-after.txt")"
	fi
	if grep -q kmemleak=1 "$g/facts"; then
		t_check kmemleak_reports_nothing $([ ! -s "$g/kmemleak.txt" ] && echo 0 || echo 1) \
			"$(head -n 5 "$g/kmemleak.txt")"
	fi
	guest_e2e "$g"
	[ -f "$g/kunit-dmesg.log" ] || { t_fail kunit_ran "no KTAP captured"; return 0; }
	cp "$g/kunit-dmesg.log" "$w/kunit.ktap"
	# 6.1 prints no top-level "KTAP version 1" / "1..N" for a module's
	# suites; supply it (N = the top-level results) so kunit.py sees a
	# complete document.
	if ! grep -qE '^\[[ 0-9.]+\] KTAP version' "$w/kunit.ktap"; then
		local nsuites
		nsuites=$(grep -cE '^\[[ 0-9.]+\] (ok|not ok) [0-9]+ ' "$w/kunit.ktap")
		{ printf '[    0.000000] KTAP version 1\n[    0.000000] 1..%d\n' "$nsuites"
		  cat "$g/kunit-dmesg.log"; } >"$w/kunit.ktap"
	fi
	python3 "$ksrc/tools/testing/kunit/kunit.py" parse --json="$w/kunit.json" \
		"$w/kunit.ktap" >"$w/kunit-parse.txt" 2>&1
	local counts
	counts=$(python3 - "$w/kunit.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = f = 0
def walk(node, prefix):
    global p, f
    for g in node.get("sub_groups", []):
        walk(g, prefix + g["name"] + ".")
    for c in node.get("test_cases", []):
        st = c.get("status")
        name = prefix + c["name"]
        if st == "PASS":
            p += 1
            print("  ok   kunit:" + name)
        elif st == "SKIP":
            print("  skip kunit:" + name)
        else:
            f += 1
            print("  FAIL kunit:" + name + ": " + str(st))
walk(d, "")
print("COUNTS %d %d" % (p, f))
PY
	)
	printf '%s\n' "$counts" | grep -v '^COUNTS'
	local kp kf
	read -r _ kp kf < <(printf '%s\n' "$counts" | grep '^COUNTS')
	k_pass=$((k_pass + ${kp:-0}))
	k_fail=$((k_fail + ${kf:-0}))
	t_check kunit_parser_reports_no_errors \
		$(grep -q 'Testing complete.' "$w/kunit-parse.txt" && ! grep -qE 'Testing complete.*(failed|errors|crashed):' "$w/kunit-parse.txt" && echo 0 || echo 1) \
		"$(grep 'Testing complete' "$w/kunit-parse.txt")"
	# Every case result line of the KTAP (indented one level) must have
	# reached kunit.py's JSON, and there must be some.
	local raw
	raw=$(grep -cE '^\[[ 0-9.]+\] {5}(ok|not ok) [0-9]+ ' "$w/kunit.ktap" || true)
	t_check kunit_parsed_every_case $(( raw == 0 || ${kp:-0} + ${kf:-0} != raw )) \
		"KTAP has $raw case results, kunit.py JSON $((${kp:-0} + ${kf:-0})) ($w/kunit-parse.txt)"
}

# Results of a guest script: one "ok NAME" or "FAIL NAME: why" line each.
guest_results() { # PREFIX FILE LOG
	local line name
	if [ ! -s "$2" ]; then
		t_fail "$1_ran" "no $1 results ($(tail -n 3 "$3" 2>/dev/null | tr '\n' ' '))"
		return
	fi
	while IFS= read -r line; do
		case $line in
		"ok "*) t_pass "$1:${line#ok }" ;;
		"FAIL "*) name=${line#FAIL }; t_fail "$1:${name%%:*}" "${name#*: }" ;;
		esac
	done <"$2"
}

# The perf end-to-end results of qemu/guest/e2e.sh.
guest_e2e() { # GUESTDIR
	guest_results e2e "$1/e2e-results.txt" "$1/e2e.log"
	[ -s "$1/seed003.txt" ] && seed003_lines+=("$(cat "$1/seed003.txt")")
}

# The hardening run (qemu/guest/stress.sh) in a 4-vCPU guest.
guest_stress() { # KDIR WORKDIR SRC
	local g=$2/stress rc
	# slub_debug 'A' marks lbrctx's two caches for failslab from boot (6.1
	# has no writable /sys/kernel/slab/<cache>/failslab); FZPU keeps the
	# debug checks the debug kernels' SLUB_DEBUG_ON would give them.
	qemu/run.sh --kernel "$1/arch/x86/boot/bzImage" --out "$g" --smp 4 --timeout 1500 \
		--append "slub_debug=FZPUA,lbrctx_task_data,lbrctx_event" \
		--in "$3/lbrctx.ko" --in "$3/lbrctx_tchain.ko" --in "$2/lbrctx-tool" \
		--in qemu/guest/stress.sh --in qemu/guest/attr-table.txt --in qemu/guest/priv-table.txt \
		-- "STRESS_LONG=${LBRCTX_STRESS_LONG:-0} sh ./stress.sh" >"$2/stress.log" 2>&1
	rc=$?
	t_check stress_guest_run_clean $rc "status $rc: $(tail -n 5 "$2/stress.log" "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	[ -f "$g/facts" ] && t_check stress_guest_has_4_cpus $(grep -qx 'nproc=4' "$g/facts"; echo $?) \
		"$(grep nproc "$g/facts")"
	guest_results stress "$g/stress-results.txt" "$g/stress.log"
}

# A busybox initramfs guest boots and loads the module.
guest_initramfs() { # KDIR WORKDIR SRC
	local g=$2/initramfs rc
	qemu/run.sh --initramfs --kernel "$1/arch/x86/boot/bzImage" --out "$g" --timeout 300 \
		--in "$3/lbrctx.ko" -- 'insmod ./lbrctx.ko && rmmod lbrctx && nproc' >"$2/initramfs.log" 2>&1
	rc=$?
	t_check initramfs_guest_loads_module $rc "status $rc ($g/console.log)"
}

finish_kernel() { # LABEL
	local l
	for l in "${seed003_lines[@]}"; do echo "$l"; done
	seed003_lines=()
	printf '%s: %d passed, %d failed\n' "$1" "$k_pass" "$k_fail"
	summary+=("$1: $k_pass passed, $k_fail failed")
	total_pass=$((total_pass + k_pass))
	total_fail=$((total_fail + k_fail))
	k_pass=0 k_fail=0
}

cd "$LBRCTX_TOP" || exit 1
build_pkgs
guest_pkgs

# run_kernel SERIES FLAVOR: build or reuse the kernel, then its tests.
run_kernel() {
	local s=$1 flavor=$2 kdir ksrc rel label w rc n
	local suffix=${flavor/default/}
	suffix=${suffix:+-$suffix}
	log "kernel series $s ($flavor)"
	scripts/kernels.sh dir "$s" "$flavor" >/dev/null 2>&1 ||
		log "waiting for its build (progress: $ART/kernels.log)"
	if ! kdir=$(scripts/kernels.sh build "$s" "$flavor"); then
		t_fail kernel_build "scripts/kernels.sh build $s $flavor failed"
		finish_kernel "$s$suffix"
		return
	fi
	ksrc=$(cat "$kdir/.lbrctx-src")
	rel=$(cat "$kdir/include/config/kernel.release")
	label=${rel%-lbrctx}$suffix
	w=$ART/$label
	rm -rf "$w"
	mkdir -p "$w"
	if [ "$flavor" = default ]; then
		if host_tests "$kdir" "$w"; then
			build_tool "$w/lbrctx-tool"
			guest_kunit "$kdir" "$ksrc" "$w" "$w/src"
			guest_stress "$kdir" "$w" "$w/src"
			guest_initramfs "$kdir" "$w" "$w/src"
		fi
	else
		stage_sources "$w/src"
		make -C "$w/src" KDIR="$kdir" W=1 >"$w/build.log" 2>&1
		rc=$?
		n=$(grep -c 'warning:' "$w/build.log")
		t_check build_w1_warning_free $(( rc != 0 || n != 0 )) "rc=$rc warnings=$n ($w/build.log)"
		if [ $rc -eq 0 ]; then
			build_tool "$w/lbrctx-tool"
			guest_kunit "$kdir" "$ksrc" "$w" "$w/src"
			guest_stress "$kdir" "$w" "$w/src"
		fi
	fi
	finish_kernel "$label"
}

# Build the kernels in the background, in the order the tests use them, so
# that on a fresh machine one kernel builds while the previous one's guests
# run (scripts/kernels.sh holds a lock per kernel; run_kernel waits on it).
# Package lists are resolved first, one series at a time.
for s in $SERIES $DEBUG_SERIES; do scripts/kernels.sh dir "$s" default >/dev/null 2>&1; done
(
	for s in $SERIES; do scripts/kernels.sh build "$s" default; done
	for s in $DEBUG_SERIES; do scripts/kernels.sh build "$s" debug; done
) >"$ART/kernels.log" 2>&1 &
builder=$!
trap 'kill $builder 2>/dev/null' EXIT

for s in $SERIES; do
	run_kernel "$s" default
done
for s in $DEBUG_SERIES; do
	run_kernel "$s" debug
done

wait $builder
# Host checks: the tables of docs/PMU.md are the guest's tables; dkms build
# against Debian's stock headers (build only).
log "host checks: docs tables, dkms build against Debian's stock headers"
missing=$(awk '/^#/ || NF < 2 { next } { print $1, $2 }' qemu/guest/attr-table.txt |
	while read -r n e; do grep -qF "| \`$n\` | \`$e\` |" docs/PMU.md || echo "$n"; done)
missing+=$(awk '/^#/ || NF < 5 { next } { print $1, $2, $3, $4 }' qemu/guest/priv-table.txt |
	while read -r n a b c; do grep -qF "| \`$n\` | \`$a\` | \`$b\` | \`$c\` |" docs/PMU.md || echo "$n"; done)
t_check docs_tables_match_guest_tables $([ -z "$missing" ] && echo 0 || echo 1) \
	"rows of qemu/guest/{attr,priv}-table.txt not in docs/PMU.md: $(echo $missing)"
if [ "${LBRCTX_DKMS:-1}" = 1 ]; then
	scripts/dkms-check.sh "$ART/dkms" >"$ART/dkms.log" 2>"$ART/dkms.err"
	guest_results dkms "$ART/dkms.log" "$ART/dkms.err"
	grep '^dkms kernel=' "$ART/dkms.log"
fi
finish_kernel host

echo
for l in "${summary[@]}"; do echo "$l"; done
printf '%d passed, %d failed\n' "$total_pass" "$total_fail"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
