#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: every test on every kernel series. This file is the list of
# what is checked, top to bottom; scripts/check-lib.sh has the mechanics
# (results, guests and their time limits, the two-at-a-time job runner,
# the report). Prints the result lines, then "<kernel>: N passed, N failed"
# per kernel and the total "N passed, N failed"; exits non-zero on any
# failure.
#
# LBRCTX_SERIES / LBRCTX_DEBUG_SERIES / LBRCTX_STOCK_SERIES /
# LBRCTX_STRESS_SERIES pick the series (LBRCTX_DKMS=0 skips the dkms
# builds); artifacts (build logs, KTAP, kunit.py JSON, guest consoles) go
# to $LBRCTX_ARTIFACTS (default: ./artifacts).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$LBRCTX_TOP/scripts/check-lib.sh"

SERIES=${LBRCTX_SERIES-6.1 6.12 7.x}
# The 6.1 debug kernel runs in make check-all: with it make check took about
# an hour here (README, "make check"); the 7.x debug kernel stays.
DEBUG_SERIES=${LBRCTX_DEBUG_SERIES-7.x}
# Debian's stock images, loaded with dkms install and modprobe (part of
# make check-stock's suite: scripts/stock.sh, STOCK_SUITE=check):
# bookworm's 6.1 (the kretprobe source: no test kernel runs it) in make
# check; bookworm's 6.12 and trixie-backports' 7.x in make check-all.
# STOCK_INSTALL_SERIES: stock guests with the install paths alone
# (STOCK_SUITE=deb: dkms install, modprobe, the load line, the package;
# 731 s on 7.x). The CI run of fa1b6c8, with the three stock guests
# and the three hardware guests whole, took 53 minutes (3165 s); a run
# with 7.x's install guest and the plugin's quick suite on stock 6.12
# had passed 36 minutes before its hardware guests (docs/TESTING.md).
STOCK_SERIES=${LBRCTX_STOCK_SERIES-6.1}
STOCK_INSTALL_SERIES=${LBRCTX_STOCK_INSTALL_SERIES-}
# The default kernels' stress guests run in make check-all, to make room
# for the stock and hardware guests: the 7.x debug kernel runs the whole
# of stress.sh with KASAN, kmemleak and lockdep, and the stock guest its
# quick form (the tables, storm, modprobe -r busy, reloads, hotplug).
STRESS_SERIES=${LBRCTX_STRESS_SERIES-}
# The stock guests that also install the Debian package (lbrctx-dkms,
# scripts/deb.sh) with apt, build it in the guest through its postinst,
# modprobe it and apt remove it (STOCK_DEB=1 in scripts/stock.sh): make
# check-all's. The package's apt install took 219 s in the 6.1 guest and
# 249 s in the 7.x one (gcc-14, in the trixie root), run side by side
# (README), and the whole step 543 s of a 763 s stock 6.1 guest in a make
# check of 2542 s (docs/TESTING.md); make check still builds the package
# and lintian-checks it on the host (scripts/stock.sh, before the stock
# guest boots), and dkms installs lbrctx in the stock 6.1 guest.
STOCK_DEB_SERIES=${LBRCTX_STOCK_DEB_SERIES-}
# The stock guests' hardening run (qemu/guest/stress.sh) in its quick form
# (1) or its full one (0: the pairs matrix and the probed-binary storm,
# part 10, run side by side in two 4-vCPU stock guests): make check-all's.
export STOCK_STRESS_QUICK=${LBRCTX_STOCK_STRESS_QUICK-1}
# The user-space suite (qemu/guest/e2e-user.sh) in the debug kernels' KUnit
# guests: make check-all. It was 600 of that guest's 946 s on the 7.x
# debug kernel (README, "make check"); the default kernels' KUnit guests
# and the debug stress guest (uprobes set, storming and live at rmmod under
# KASAN, kmemleak and lockdep) run in make check.
DEBUG_E2E_USER=${LBRCTX_DEBUG_E2E_USER-0}
# The perf end-to-end suite (qemu/guest/e2e.sh) in the debug kernels' KUnit
# guests: make check-all too. It was 280 s of the 7.x debug KUnit guest's
# 427 s in a make check whose wall time went past the budget once perf's
# record_lbr.sh ran on every kernel (docs/TESTING.md); the default kernels'
# KUnit guests run it, and the debug stress guest runs perf record under
# KASAN, kmemleak and lockdep (isolation, storms, pairs, probed binaries).
DEBUG_E2E=${LBRCTX_DEBUG_E2E-0}

# The hardware source's guests (hw.sh, with the QEMU plugin), on every
# default kernel: the lbrctx_hw KUnit suite, seed003u, and perf's
# test_brstack.sh and record_lbr.sh (the perftest and brstack lines;
# HW_PERFTEST_SERIES, HW_RECORD_LBR_SERIES). The newest kernel's runs the
# whole suite (HW_FULL_SERIES): also the e2e suite on the hardware,
# hwchain and hostile input (make check-all: on each kernel). perf's tests
# run at perf_event_max_sample_rate=1000 (qemu/guest/perftest.sh,
# PERFTEST_MAX_RATE): in one 6.1.192 guest pair side by side,
# test_brstack.sh took 37 s at 1000 Hz against 124 s at perf's 4000, and
# record_lbr.sh 239 s against 543 s. The whole suite on all three took
# hw guests of 544, 503 and 583 s in one make check (2542 s wall, over the
# budget): parts 2, 5 and 6 on 6.1 and 6.12 (about 160 s a guest) moved to
# make check-all. The suite on Debian's stock 6.12 image (scripts/stock.sh
# hw; STOCK_HW_SERIES, STOCK_HW_QUICK) is make check-all's.
HW_SERIES=${LBRCTX_HW_SERIES-$SERIES}
HW_FULL_SERIES=${LBRCTX_HW_FULL_SERIES-${SERIES##* }}
HW_PERFTEST_SERIES=${LBRCTX_HW_PERFTEST_SERIES-$SERIES}
HW_RECORD_LBR_SERIES=${LBRCTX_HW_RECORD_LBR_SERIES-$SERIES}
STOCK_HW_SERIES=${LBRCTX_STOCK_HW_SERIES-}
export STOCK_HW_QUICK=${LBRCTX_STOCK_HW_QUICK-0}

# The syscall fuzzer (scripts/fuzz.sh, qemu/guest/fuzz.sh): Debian's
# trinity at perf_event_open, ioctl, read, mmap, close and lbrctx's debugfs
# files, as nobody and as root, then the same without lbrctx as the
# baseline, in one 4-vCPU guest of the debug kernel of each series of
# FUZZ_SERIES (those of DEBUG_SERIES); its "fuzz" line. make check runs
# its short form (one seed of 150 syscalls a run, no kmemleak scan: a
# 281 s guest), make check-all the long one (FUZZ_LONG=1: four seeds of
# 1000, kmemleak scans).
FUZZ_SERIES=${LBRCTX_FUZZ_SERIES-7.x}
FUZZ_LONG=${LBRCTX_FUZZ_LONG-0}

# The checks of our own build rules that do not depend on the kernel (a
# flag change rebuilds the C++ alone; the post-link check fails the three
# negative builds) run on the newest default kernel alone: five of the
# module's full builds per kernel, which make check-all runs on each.
BUILD_RULES_SERIES=${LBRCTX_BUILD_RULES_SERIES-${SERIES##* }}

# ---------------------------------------------------------------------------
# Per kernel, on the host: the module builds, and builds right.
host_checks() { # SERIES FLAVOR
	kernel_env "$1" "$2" || { t_fail kernel_build "scripts/kernels.sh build $1 $2 failed"; return; }
	echo "$LABEL" >"$ART/.jobs/label-$1-$2"
	rm -rf "$W"
	mkdir -p "$W"
	stage_sources "$W/src"
	build_tool "$W/lbrctx-tool"
	build_tchain "$W/tchain"
	build_tailcall "$W/tc"
	build_module "$W/src" "$KDIR" "$W/build.log"
	local rc=$? n
	n=$(warnings "$W/build.log")
	t_check build_w1_warning_free $((rc != 0 || n != 0)) "rc=$rc warnings=$n (see $W/build.log)"
	[ $rc -eq 0 ] || return
	[ "$2" = default ] || return 0
	check_second_make_builds_nothing
	check_header_change_rebuilds_only_dependents include/lbrctx/guard.h
	check_postlink
	check_product_has_no_test_code
	check_modinfo
	case " $BUILD_RULES_SERIES " in
	*" $1 "*)
		check_flag_change_rebuilds_cxx_only
		check_negative_build global_ctor 'constructor/destructor sections'
		check_negative_build pure_virtual 'weak undefined symbols'
		check_negative_build operator_new 'C++ runtime symbols'
		;;
	esac
	# Last: make install builds without W=1, so every object is rebuilt
	# and the flag-change check above would see the C shim rebuilt too.
	check_make_install
}

check_second_make_builds_nothing() {
	build_module "$W/src" "$KDIR" "$W/rebuild.log"
	local n
	n=$(built_lines "$W/rebuild.log" | wc -l)
	t_check second_make_builds_nothing $((n != 0)) "$n build steps ($W/rebuild.log)"
}

# Touch a header: what is rebuilt must be exactly the objects whose fixdep
# dependency list (.cmd) names it, and not every object.
check_header_change_rebuilds_only_dependents() { # HEADER
	local hdr=$1 expected rebuilt nobj
	expected=$(cd "$W/src" && grep -l "$hdr" $(find module kunit -name '.*.o.cmd') |
		sed -E 's|/\.([^/]*)\.cmd$|/\1|' | sort | tr '\n' ' ')
	nobj=$(cd "$W/src" && find module kunit -name '.*.o.cmd' | wc -l)
	touch "$W/src/$hdr"
	build_module "$W/src" "$KDIR" "$W/touch.log"
	rebuilt=$(built_lines "$W/touch.log" | grep -E '^ +(CC|C\+\+) ' | awk '{print $NF}' |
		sed "s|^$W/src/||" | sort | tr '\n' ' ')
	t_expect header_change_rebuilds_only_dependents \
		"touched $hdr: rebuilt '$rebuilt', dependents '$expected' of $nobj objects" \
		test -n "$expected" -a "$rebuilt" = "$expected" -a "$(wc -w <<<"$rebuilt")" -lt "$nobj"
}

check_flag_change_rebuilds_cxx_only() {
	local kinds n ncxx=0 f
	build_module "$W/src" "$KDIR" "$W/flags.log" CXXFLAGS_LBRCTX=-DLBRCTX_FLAGS_PROBE
	kinds=$(built_lines "$W/flags.log" | grep -E '^ +(CC|C\+\+) ' | awk '{print $1}' | sort -u | tr '\n' ' ')
	n=$(built_lines "$W/flags.log" | grep -cE '^ +C\+\+ ')
	for f in $(find "$W/src/module" "$W/src/kunit" -name '*.cpp' -not -path '*/negative/*'); do
		[ -f "${f%.cpp}.o" ] && ncxx=$((ncxx + 1))
	done
	t_expect flag_change_rebuilds_cxx_only "kinds rebuilt: '$kinds', C++ objects rebuilt: $n of $ncxx" \
		test "$kinds" = "C++ " -a "$n" -eq "$ncxx"
	build_module "$W/src" "$KDIR" "$W/flags-back.log"
}

check_postlink() {
	"$W/src/scripts/postlink-check.sh" "$W/src"/*.ko >"$W/postlink.log" 2>&1
	t_check ko_has_no_ctors_or_cxx_runtime_symbols $? "$(cat "$W/postlink.log")"
}

# The product (dkms.conf's build, LBRCTX_TESTS=n) exports nothing and
# holds no test code: no test entry points, kthreads, counters or hooks.
check_product_has_no_test_code() {
	local d=$W/product syms bad
	stage_sources "$d"
	build_module "$d" "$KDIR" "$W/product.log" LBRCTX_TESTS=n
	syms=$(nm "$d/lbrctx.ko" 2>/dev/null)
	bad=$(grep -E '__ksymtab|__export_symbol|lbrctx_kunit|lbrctx_kt_|_test_|kthread|kunit' <<<"$syms" |
		awk '{print $NF}' | tr '\n' ' ')
	t_expect product_ko_has_no_test_symbols "rc: $(test -f "$d/lbrctx.ko"; echo $?) found: $bad" \
		test -f "$d/lbrctx.ko" -a -z "$bad"
	t_expect product_builds_only_lbrctx_ko "$(cd "$d" && ls ./*.ko | tr '\n' ' ')" \
		test "$(cd "$d" && ls ./*.ko)" = "./lbrctx.ko"
	rm -rf "$d"
}

# Each must fail, and with our message (lbrctx.ko alone is enough).
check_negative_build() { # NAME MESSAGE
	local d=$W/neg-$1 rc
	stage_sources "$d"
	make -C "$d" KDIR="$KDIR" LBRCTX_TESTS=n LBRCTX_NEGATIVE="kunit/negative/$1.o" \
		>"$W/neg-$1.log" 2>&1
	rc=$?
	grep -q "lbrctx: post-link check: .*$2" "$W/neg-$1.log"
	t_check "negative_build_$1_fails" $((rc == 0 || $? != 0)) "rc=$rc, message '$2' not found ($W/neg-$1.log)"
	rm -rf "$d"
}

# Every module_param has a description; the version is dkms.conf's.
check_modinfo() {
	local nparam ndesc mver dver
	nparam=$(cat "$W/src"/module/shim/*.c | grep -cE '^module_param(_cb)?\(')
	ndesc=$(modinfo -F parm "$W/src/lbrctx.ko" | grep -cE '^[a-z_]+:[^ ].{20,}')
	t_check modinfo_describes_every_parameter $((nparam == 0 || nparam != ndesc)) \
		"$nparam module_param, $ndesc described: $(modinfo -F parm "$W/src/lbrctx.ko" | tr '\n' ' ')"
	mver=$(modinfo -F version "$W/src/lbrctx.ko")
	dver=$(dkms_version)
	t_expect module_version_is_dkms_version "modinfo '$mver', dkms.conf '$dver'" \
		test -n "$mver" -a "$mver" = "$dver"
}

# make install into a staging root: lbrctx.ko in updates/, known to depmod.
check_make_install() {
	local rel rc
	rel=$(cat "$KDIR/include/config/kernel.release")
	rm -rf "$W/install"
	make -C "$W/src" KDIR="$KDIR" INSTALL_MOD_PATH="$W/install" install >"$W/install.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ -f "$W/install/lib/modules/$rel/updates/lbrctx.ko" ] &&
		grep -q '^updates/lbrctx.ko:' "$W/install/lib/modules/$rel/modules.dep"
	t_check make_install_installs_module $? "rc=$rc ($W/install.log)"
}

# ---------------------------------------------------------------------------
# Per kernel, in QEMU guests.

# KUnit suites (KTAP parsed by the kernel's own kunit.py), then the perf
# end-to-end tests (qemu/guest/e2e.sh) with the seed-003 replica.
# The guest sees the host's root over 9p, except where it mounts tmpfs
# (qemu/guest-init.sh): a copy of tchain the guest runs from the root must
# be outside those, in the checkout or else in the kernel cache.
host_root_copy() { # FILE: prints the path of a copy the guest sees on its 9p root
	local d
	case $LBRCTX_TOP/ in
	/tmp/* | /run/* | /var/tmp/* | /root/*) d=$LBRCTX_CACHE/guest-root/$LABEL ;;
	*) d=$W/guest-root ;;
	esac
	mkdir -p "$d" && cp "$1" "$d/" && echo "$d/$(basename "$1")"
}

kunit_guest() { # SERIES FLAVOR
	kernel_env "$1" "$2" || return
	local g=$W/guest s=$W/src rc host_tchain e2e=1 e2e_user=1
	[ "$2" = debug ] && e2e=$DEBUG_E2E e2e_user=$DEBUG_E2E_USER
	[ "$e2e" = 1 ] || e2e_user=0
	host_tchain=$(host_root_copy "$W/tchain")
	guest kunit "$2" "$g" --smp 2 --in "$s/lbrctx.ko" --in "$s/lbrctx_kunit.ko" \
		--in "$s/lbrctx_tchain.ko" --in qemu/guest/kunit.sh --in qemu/guest/e2e.sh \
		--in qemu/guest/seed003.sh --in qemu/guest/e2e-user.sh --in qemu/guest/seed003u.sh \
		--in qemu/guest/uprobe-table.txt --in "$W/tchain" --in "$W/lbrctx-tool" --in scripts/lbrctx-uprobes \
		--in "$s/lbrctx_bench.ko" --in qemu/guest/tailcall.sh --in qemu/guest/uprobes-size.sh \
		--in "$W/tc/tailcall" --in "$W/tc/liblz.so" \
		-- "TCHAIN_HOST=$host_tchain LBRCTX_E2E=$e2e LBRCTX_E2E_USER=$e2e_user sh ./kunit.sh" >"$W/guest.log" 2>&1
	rc=$?
	t_check guest_run_clean $rc "status $rc: $(tail -n 5 "$W/guest.log" "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	[ -f "$g/facts" ] || return 0
	t_expect guest_has_2_cpus "$(grep nproc "$g/facts")" grep -qx nproc=2 "$g/facts"
	t_expect modules_unload_cleanly "still loaded: $(cat "$g/modules-after.txt" 2>/dev/null)" \
		test -f "$g/modules-after.txt" -a ! -s "$g/modules-after.txt"
	t_expect store_empty_after_suites "debugfs store: $(tr '\n' ' ' <"$g/store-after.txt" 2>/dev/null)" \
		grep -qx 'objects 0' "$g/store-after.txt"
	if grep -q slab_sysfs=1 "$g/facts"; then
		t_expect caches_destroyed_on_unload "left: $(cat "$g/slabs-after.txt")" test ! -s "$g/slabs-after.txt"
	fi
	if grep -q kmemleak=1 "$g/facts"; then
		t_expect kmemleak_reports_nothing "$(head -n 5 "$g/kmemleak.txt")" test ! -s "$g/kmemleak.txt"
	fi
	if [ "$e2e" = 1 ]; then
		t_import e2e "$g/e2e-results.txt" "$g/e2e.log"
	else
		t_expect e2e_left_to_check_all "the guest ran e2e.sh" test ! -e "$g/e2e.log"
	fi
	if [ "$e2e_user" = 1 ]; then
		t_import e2e-user "$g/e2e-user-results.txt" "$g/e2e-user.log"
		t_expect uprobes_line_printed "$(cat "$g/uprobes.txt" 2>/dev/null)" \
			grep -q '^uprobes kernel=.* set=[0-9]' "$g/uprobes.txt"
	else
		t_expect e2e_user_left_to_check_all "the guest ran e2e-user.sh" test ! -e "$g/e2e-user.log"
	fi
	cat "$g/seed003.txt" "$g/seed003u.txt" "$g/uprobes.txt" 2>/dev/null >"$ART/.jobs/$JOB_NAME.lines"
	kunit_results "$g" "$W"
}

# kunit.py's JSON of the guest's KTAP: one result per case.
kunit_results() { # GUESTDIR WORKDIR
	local g=$1 w=$2 raw parsed
	[ -f "$g/kunit-dmesg.log" ] || { t_fail kunit_ran "no KTAP captured"; return; }
	cp "$g/kunit-dmesg.log" "$w/kunit.ktap"
	# 6.1 prints no top-level "KTAP version 1" / "1..N" for a module's
	# suites; supply it (N = the top-level results) so kunit.py sees a
	# complete document.
	if ! grep -qE '^\[[ 0-9.]+\] KTAP version' "$w/kunit.ktap"; then
		local nsuites
		nsuites=$(grep -cE '^\[[ 0-9.]+\] (ok|not ok) [0-9]+ ' "$g/kunit-dmesg.log")
		{ printf '[    0.000000] KTAP version 1\n[    0.000000] 1..%d\n' "$nsuites"
		  cat "$g/kunit-dmesg.log"; } >"$w/kunit.ktap"
	fi
	python3 "$KSRC/tools/testing/kunit/kunit.py" parse --json="$w/kunit.json" \
		"$w/kunit.ktap" >"$w/kunit-parse.txt" 2>&1
	python3 scripts/kunit-results.py "$w/kunit.json" >>"$RESULTS"
	grep -q 'Testing complete.' "$w/kunit-parse.txt" &&
		! grep -qE 'Testing complete.*(failed|errors|crashed):' "$w/kunit-parse.txt"
	t_check kunit_parser_reports_no_errors $? "$(grep 'Testing complete' "$w/kunit-parse.txt")"
	# Every case result line of the KTAP (indented one level) reached the JSON.
	raw=$(grep -cE '^\[[ 0-9.]+\] {5}(ok|not ok) [0-9]+ ' "$w/kunit.ktap" || true)
	parsed=$(grep -cE '^(ok|FAIL|skip) kunit:' "$RESULTS" || true)
	t_expect kunit_parsed_every_case "KTAP has $raw case results, kunit.py JSON $parsed" \
		test "$raw" -gt 0 -a "$raw" -eq "$parsed"
}

# The hardening run (qemu/guest/stress.sh) in a 4-vCPU guest. slub_debug
# 'A' marks lbrctx's two caches for failslab from boot (6.1 has no
# writable /sys/kernel/slab/<cache>/failslab); FZPU keeps the debug checks
# the debug kernels' SLUB_DEBUG_ON would give them.
stress_guest() { # SERIES FLAVOR
	kernel_env "$1" "$2" || return
	local g=$W/stress s=$W/src rc
	guest stress "$2" "$g" --smp 4 --append "slub_debug=FZPUA,lbrctx_task_data,lbrctx_event" \
		--in "$s/lbrctx.ko" --in "$s/lbrctx_tchain.ko" --in "$W/lbrctx-tool" --in "$W/tchain" \
		--in scripts/lbrctx-uprobes --in qemu/guest/stress.sh --in qemu/guest/attr-table.txt --in qemu/guest/priv-table.txt \
		-- "STRESS_LONG=${LBRCTX_STRESS_LONG:-0} sh ./stress.sh" >"$W/stress.log" 2>&1
	rc=$?
	t_check stress_guest_run_clean $rc "status $rc: $(tail -n 5 "$W/stress.log" "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	[ -f "$g/facts" ] && t_expect stress_guest_has_4_cpus "$(grep nproc "$g/facts")" grep -qx nproc=4 "$g/facts"
	t_import stress "$g/stress-results.txt" "$g/stress.log"
	cat "$g/pairs.txt" 2>/dev/null >"$ART/.jobs/$JOB_NAME.lines"
}

# The syscall fuzzer (qemu/guest/fuzz.sh) with the lbrctx.ko of the host
# checks; scripts/fuzz.sh report reads the guest's console and results.
# run.sh's status is no check here: any report on the console fails it,
# and the baseline may have reports of its own.
fuzz_guest() { # SERIES FLAVOR
	kernel_env "$1" "$2" || return
	local g=$W/fuzz t=()
	[ "$FUZZ_LONG" = 1 ] && t=(--timeout "${LBRCTX_FUZZ_TIMEOUT:-12000}")
	guest fuzz "$2" "$g" --smp 4 --mem 3G "${t[@]}" --append "$(scripts/fuzz.sh append)" \
		--in "$W/src/lbrctx.ko" --in qemu/guest/fuzz.sh \
		-- "$(FUZZ_LONG=$FUZZ_LONG scripts/fuzz.sh cmd)" >"$W/fuzz.log" 2>&1
	scripts/fuzz.sh report "$g" >"$W/fuzz.txt" 2>>"$W/fuzz.log"
	t_import fuzz "$W/fuzz.txt" "$W/fuzz.log"
	grep '^fuzz kernel=' "$W/fuzz.txt" >"$ART/.jobs/$JOB_NAME.lines"
}

# The hardware source (qemu/guest/hw.sh) in a guest with the QEMU plugin's
# LBR hardware (run.sh --lbr): lbrctx with source=hw, the lbrctx_hw KUnit
# suite, the perf end-to-end suite, seed 003's user-space experiment with
# no function named, perf's own LBR tests (perf built from the 7.x source),
# call stacks against frame pointers, and hostile input.
hw_guest() { # SERIES FLAVOR
	kernel_env "$1" "$2" || return
	local g=$W/hw s=$W/src rc in=$W/hwin p7
	mkdir -p "$in"
	build_hwchain "$in"
	p7=$(scripts/perf.sh path 2>/dev/null) || p7=
	local full=0 rl=0 pt=0
	case " $HW_FULL_SERIES " in *" $1 "*) full=1 ;; esac
	case " $HW_PERFTEST_SERIES " in *" $1 "*) pt=1 ;; esac
	case " $HW_RECORD_LBR_SERIES " in *" $1 "*) rl=1 ;; esac
	guest hw "$2" "$g" --lbr --smp 2 --in "$s/lbrctx.ko" --in "$s/lbrctx_hwtest.ko" \
		--in "$s/lbrctx_tchain.ko" --in qemu/guest/hw.sh --in qemu/guest/e2e.sh \
		--in qemu/guest/seed003.sh --in qemu/guest/seed003u.sh --in qemu/guest/perftest.sh \
		--in qemu/guest/hwchain.sh --in "$in/hwchain" --in "$in/libhwchain.so" \
		--in "$W/tchain" --in "$W/lbrctx-tool" -- "PERF7=$p7 HW_QUICK=$((1 - full)) HW_PERFTEST=$pt PERFTEST_RECORD_LBR=$rl sh ./hw.sh" >"$W/hw.log" 2>&1
	rc=$?
	t_check hw_guest_run_clean $rc "status $rc: $(tail -n 5 "$W/hw.log" "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	[ -f "$g/facts" ] || return 0
	t_expect hw_modules_unload_cleanly "still loaded: $(cat "$g/modules-after.txt" 2>/dev/null)" \
		test -f "$g/modules-after.txt" -a ! -s "$g/modules-after.txt"
	t_expect hw_store_empty_after_the_suite "debugfs store: $(tr '\n' ' ' <"$g/store-after.txt" 2>/dev/null)" \
		grep -qx 'objects 0' "$g/store-after.txt"
	if grep -q kmemleak=1 "$g/facts"; then
		t_expect hw_kmemleak_reports_nothing "$(head -n 5 "$g/kmemleak.txt")" test ! -s "$g/kmemleak.txt"
	fi
	t_import hw "$g/hw-results.txt" "$g/guest.log"
	cp "$g/hw-lines.txt" "$ART/.jobs/$JOB_NAME.lines" 2>/dev/null
	local kw=$W/hw-kunit
	mkdir -p "$kw"
	[ -f "$g/hw-kunit-dmesg.log" ] && cp "$g/hw-kunit-dmesg.log" "$kw/kunit-dmesg.log"
	kunit_results "$kw" "$kw"
	# The plugin's own account of the run, written when QEMU exited.
	t_expect hw_plugin_wrote_its_log "$(head -n 2 "$g/plugin.log" 2>/dev/null | tr '\n' ' ')" \
		grep -q '^vcpu=0 ' "$g/plugin.log"
}

# A busybox initramfs guest boots and loads the module. With no LBR device
# source=hw is refused (ENODEV) and auto takes the probes; then again with
# the ivshmem device and no plugin behind it (run.sh --lbr-device): the
# driver finds no plugin's magic, and the same holds.
initramfs_guest() { # SERIES FLAVOR
	kernel_env "$1" "$2" || return
	local g
	guest initramfs "$2" "$W/initramfs" --initramfs --in "$W/src/lbrctx.ko" \
		-- 'insmod ./lbrctx.ko && rmmod lbrctx && nproc' >"$W/initramfs.log" 2>&1
	t_check initramfs_guest_loads_module $? "status $? ($W/initramfs/console.log)"
	for g in no_device device; do
		local dev=()
		[ $g = device ] && dev=(--lbr-device)
		guest initramfs "$2" "$W/initramfs-$g" --initramfs "${dev[@]}" --in "$W/src/lbrctx.ko" -- \
			'insmod ./lbrctx.ko source=hw >hw.txt 2>&1; echo "rc=$?" >>hw.txt; dmesg >dmesg.txt;
			 insmod ./lbrctx.ko >auto.txt 2>&1 && dmesg | grep "branch source:" >>auto.txt && rmmod lbrctx' \
			>"$W/initramfs-$g.log" 2>&1
		grep -q 'No such device' "$W/initramfs-$g/hw.txt" && ! grep -q '^rc=0' "$W/initramfs-$g/hw.txt" &&
			grep -q 'lbrctx: source=hw: no LBR hardware' "$W/initramfs-$g/dmesg.txt"
		t_check "source_hw_is_enodev_with_$g" $? \
			"$(tr '\n' ' ' <"$W/initramfs-$g/hw.txt" 2>/dev/null)"
		grep -q 'branch source: \(fprobe\|kretprobe\)' "$W/initramfs-$g/auto.txt"
		t_check "source_auto_takes_the_probes_with_$g" $? \
			"$(tr '\n' ' ' <"$W/initramfs-$g/auto.txt" 2>/dev/null)"
	done
	grep -q 'hw: ivshmem device without the lbrctx plugin' "$W/initramfs-device/dmesg.txt"
	t_check driver_names_a_device_without_the_plugin $? "$(grep lbrctx "$W/initramfs-device/dmesg.txt" | head -n 3 | tr '\n' ' ')"
}

# A Debian stock kernel (scripts/stock.sh, STOCK_SUITE=check): dkms build
# on the host, then in its guest dkms install, modprobe, the load line and
# taint, the perf end-to-end suite with seed-003, the quick hardening run
# (tables, storms, modprobe -r with events open, 20 reloads, hotplug; the
# full one, with the pairs and the probed-binary storm, with
# STOCK_STRESS_QUICK=0),
# modprobe -r, and in the series of STOCK_DEB_SERIES apt install, modprobe
# and apt remove of the .deb. Its line is "<release>-stock: ...".
stock_guest() { # SERIES [SUITE]
	local rel w suite=${2:-check}
	rel=$(scripts/stock.sh release "$1") || { t_fail stock_release "no stock image of $1"; return; }
	echo "$rel-stock" >"$ART/.jobs/label-$1-stock"
	w=$ART/$rel-stock
	local deb=0
	case " $STOCK_DEB_SERIES " in *" $1 "*) deb=1 ;; esac
	[ "$suite" = deb ] && deb=1
	STOCK_SUITE=$suite STOCK_DEB=$deb STOCK_WORK=$w scripts/stock.sh check "$1" \
		>"$ART/stock-$1.txt" 2>"$ART/stock-$1.err"
	t_import stock "$ART/stock-$1.txt" "$ART/stock-$1.err"
	grep -E '^(seed003|seed003u|pairs|K1) ' "$ART/stock-$1.txt" >"$ART/.jobs/$JOB_NAME.lines"
	[ -f "$w/guest/elapsed" ] &&
		echo "guest $(cat "$w/guest/elapsed") of $(cat "$w/guest.limit") s" >"$ART/.jobs/$JOB_NAME.guest"
}

# ---------------------------------------------------------------------------
# The hardware's host side: the QEMU plugin (make plugin: against the
# qemu-plugin.h of the installed QEMU, from Debian's source package) and
# its model's host tests, under ASan and UBSan too; the decoder's table on
# the host; and perf built from the 7.x source, whose tests the hardware
# guests run (scripts/perf.sh).
plugin_checks() {
	make plugin >"$ART/plugin-build.log" 2>&1
	t_check plugin_builds $? "$(tail -n 3 "$ART/plugin-build.log" | tr '\n' ' ')"
	make plugin-test >"$ART/plugin-test.log" 2>&1
	t_check plugin_model_tests_pass $? "$(grep -m 3 '^FAIL' "$ART/plugin-test.log" | tr '\n' ' ')"
	grep -E '^(ok|FAIL) ' "$ART/plugin-test.log" >"$ART/plugin-test.results"
	t_import plugin "$ART/plugin-test.results" "$ART/plugin-test.log"
}

perf7_build() {
	scripts/perf.sh build >"$ART/perf7.log" 2>&1
	t_check perf_7x_builds $? "$(tail -n 3 "$ART/perf7.log" | tr '\n' ' ')"
}

# The hardware source's suite on a stock image (scripts/stock.sh hw).
stock_hw_guest() { # SERIES
	local rel w
	rel=$(scripts/stock.sh release "$1") || { t_fail stock_release "no stock image of $1"; return; }
	echo "$rel-stock" >"$ART/.jobs/label-$1-stock"
	w=$ART/$rel-stock-hw
	STOCK_WORK=$w scripts/stock.sh hw "$1" >"$ART/stock-hw-$1.txt" 2>"$ART/stock-hw-$1.err"
	t_import stock-hw "$ART/stock-hw-$1.txt" "$ART/stock-hw-$1.err"
	grep -E '^(seed003|seed003u|perftest|brstack|hwchain) ' "$ART/stock-hw-$1.txt" >"$ART/.jobs/$JOB_NAME.lines"
}

# ---------------------------------------------------------------------------
# Once, on the host.
host_wide_checks() {
	local missing
	# The tables of docs/PMU.md are the guest's tables.
	missing=$(awk '/^#/ || NF < 2 { next } { print $1, $2 }' qemu/guest/attr-table.txt |
		while read -r n e; do grep -qF "| \`$n\` | \`$e\` |" docs/PMU.md || echo "$n"; done)
	missing+=$(awk '/^#/ || NF < 5 { next } { print $1, $2, $3, $4 }' qemu/guest/priv-table.txt |
		while read -r n a b c; do grep -qF "| \`$n\` | \`$a\` | \`$b\` | \`$c\` |" docs/PMU.md || echo "$n"; done)
	missing+=$(awk '/^#/ || NF < 3 { next } { r = $0; sub(/^[^ ]+ +[^ ]+ +/, "", r); print $1, $2, r }' \
		qemu/guest/uprobe-table.txt |
		while read -r n e r; do grep -qF "| \`$n\` | \`$e\` | \`$r\` |" docs/PMU.md || echo "$n"; done)
	t_expect docs_tables_match_guest_tables \
		"rows of qemu/guest/{attr,priv,uprobe}-table.txt not in docs/PMU.md: $(echo $missing)" test -z "$missing"
	# Every test, check, function or file name the docs show exists.
	missing=$(scripts/docs-check.sh "$(scripts/kernels.sh src 6.1 2>/dev/null)" \
		"$(scripts/kernels.sh src 7.x 2>/dev/null)")
	t_expect docs_name_only_what_exists "named in the docs, found nowhere else: $(echo $missing)" \
		test -z "$missing"
	# The config layout and the events of docs/PMU.md are the table's
	# (include/lbrctx/config.h), which sysfs format/ and events/ come from.
	missing=$(printf '#include "include/lbrctx/config.h"\n#define F(n,lo,hi,d) @F n lo hi\nLBRCTX_CONFIG_FIELDS(F)\n#define E(n,s,d) @E n s\nLBRCTX_EVENTS(E)\n' |
		gcc -E -P -x c - | tr '@' '\n' | while read -r k n a b; do
			case $k in
			F) grep -qF "| \`$n\` | \`config:$a-$b\` |" docs/PMU.md || echo "$n" ;;
			E) grep -qF "| \`lbrctx/$n/\` | \`${a//\"/}\` |" docs/PMU.md || echo "lbrctx/$n/" ;;
			esac
		done)
	t_expect docs_config_table_is_config_h "fields or events of include/lbrctx/config.h not in docs/PMU.md: $(echo $missing)" \
		test -z "$missing"
	# A cache the guests cannot see is refused before anything runs.
	local why
	why=$(LBRCTX_CACHE=/tmp/lbrctx-cache bash -c '. scripts/lib.sh; cache_seen_by_guests' 2>&1)
	t_expect cache_under_tmp_refused_with_its_reason "said: '$why'" \
		grep -q 'LBRCTX_CACHE=/tmp/lbrctx-cache: the guests mount a tmpfs' <<<"$why"
	t_expect cache_default_seen_by_guests "refused: $(LBRCTX_CACHE=/var/cache/lbrctx bash -c '. scripts/lib.sh; cache_seen_by_guests' 2>&1)" \
		env LBRCTX_CACHE=/var/cache/lbrctx bash -c '. scripts/lib.sh; cache_seen_by_guests'
	# The C++ follows .clang-format; the shim, kernel style (docs/ARCHITECTURE.md).
	local unformatted
	unformatted=$(for f in $(cxx_sources); do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
	t_expect cxx_follows_clang_format "not formatted: $(echo $unformatted)" test -z "$unformatted"
	check_shim_checkpatch
	# The shim's share of the module's code (docs/ARCHITECTURE.md).
	scripts/loc.sh >"$ART/loc.txt"
	cp "$ART/loc.txt" "$ART/.jobs/$JOB_NAME.lines"
	# Counted with shim.h and config.h on the shim's side it was 0.290
	# before the owning handles, the inline hot path and the hardware
	# driver's PCI glue (docs/ARCHITECTURE.md); it must not grow back.
	t_expect shim_share_stays_below_27_percent "$(cat "$ART/loc.txt")" \
		awk '{ split($4, r, "="); exit !(r[2] < 0.27) }' "$ART/loc.txt"
}

# The C++ that .clang-format covers: all of it but the headers shared with C.
cxx_sources() {
	ls module/*.cpp include/lbrctx/*.h include/lbrctx/k/*.h kunit/*.cpp kunit/ktest.h kunit/bench_stats.h \
		kunit/negative/*.cpp qemu/plugin/*.cpp qemu/plugin/*.h qemu/plugin/tests/*.cpp | grep -vE 'include/lbrctx/(shim|kunit_api|config)\.h$'
}

# checkpatch.pl of the 7.x tree on the shim reports only what
# docs/ARCHITECTURE.md explains: FILE:TYPE pairs ("*" any file).
CHECKPATCH_EXPLAINED="*:LINUX_VERSION_CODE *:CONSTANT_COMPARISON exports.c:EXPORT_SYMBOL
	print.c:PRINTK_WITHOUT_KERN_LEVEL task.c:OPEN_BRACE shim.h:NEW_TYPEDEFS
	shim.h:PREFER_DEFINED_ATTRIBUTE_MACRO config.h:COMPLEX_MACRO config.h:MACRO_ARG_UNUSED
	pmu.c:COMPLEX_MACRO pmu.c:MACRO_ARG_UNUSED pmu.c:TRAILING_SEMICOLON"
check_shim_checkpatch() {
	local ksrc out bad=
	ksrc=$(scripts/kernels.sh src 7.x) || { t_fail shim_checkpatch_reports_only_the_explained "no 7.x tree"; return; }
	out=$(perl "$ksrc/scripts/checkpatch.pl" --no-tree -f --terse --show-types \
		module/shim/*.c module/shim/*.h include/lbrctx/shim.h include/lbrctx/kunit_api.h \
		include/lbrctx/config.h 2>&1 |
		sed -n 's/^\([^:]*\):[0-9]*: [A-Z]*:\([A-Z_]*\):.*/\1 \2/p' | sort -u)
	while read -r f type; do
		[ -n "$f" ] || continue
		case " $(echo $CHECKPATCH_EXPLAINED) " in
		*" *:$type "* | *" ${f##*/}:$type "*) ;;
		*) bad+=" ${f##*/}:$type" ;;
		esac
	done <<<"$out"
	t_expect shim_checkpatch_reports_only_the_explained "unexplained:$bad" test -z "$bad"
}

dkms_checks() {
	scripts/dkms-check.sh "$ART/dkms" >"$ART/dkms.log" 2>"$ART/dkms.err"
	t_import dkms "$ART/dkms.log" "$ART/dkms.err"
	grep '^dkms kernel=' "$ART/dkms.log" >"$ART/.jobs/$JOB_NAME.lines"
}

# ---------------------------------------------------------------------------
# The plan: per default kernel the host checks, then three guests; per
# debug kernel the W=1 build, the KUnit/e2e guest and the stress guest;
# the host-wide checks and the dkms builds. Two jobs at a time.
cd "$LBRCTX_TOP" || exit 1
cache_seen_by_guests || exit 1
build_pkgs
guest_pkgs
need_pkgs clang-format
# The user probe set's size test names the exports of libsqlite3 and python3.11.
need_pkgs libsqlite3-0 python3.11-minimal
[ -n "$FUZZ_SERIES" ] && need_pkgs trinity
rm -rf "$ART/.jobs"
mkdir -p "$ART/.jobs"
begin=$(date +%s)

# On a fresh machine the kernels build in the background, in the order the
# jobs need them (scripts/kernels.sh holds a lock per kernel; a job that
# needs one waits on it). Package lists are resolved first, one at a time.
for s in $SERIES $DEBUG_SERIES; do scripts/kernels.sh dir "$s" default >/dev/null 2>&1; done
(
	for s in $SERIES; do scripts/kernels.sh build "$s" default; done
	for s in $DEBUG_SERIES; do scripts/kernels.sh build "$s" debug; done
) >"$ART/kernels.log" 2>&1 &
builder=$!
trap 'kill $builder 2>/dev/null' EXIT

# Longest first: the debug kernel's stress and KUnit guests (1330 s and
# 512 s, docs/TESTING.md's runs of 2026-12-07) start side by side as soon
# as its W=1 build and the first default kernel's host checks are done;
# the other host checks and the stock guest (763 s) come next, and the
# default kernels' guests, the shortest, fill both lanes at the end.
KERNELS=()
for s in $DEBUG_SERIES; do
	job "host:$s:debug" "" host_checks "$s" debug
	job "stress:$s:debug" "host:$s:debug" stress_guest "$s" debug
	job "kunit:$s:debug" "host:$s:debug" kunit_guest "$s" debug
	case " $FUZZ_SERIES " in *" $s "*)
		job "fuzz:$s:debug" "host:$s:debug" fuzz_guest "$s" debug ;;
	esac
done
for s in $SERIES; do
	job "host:$s:default" "" host_checks "$s" default
	KERNELS+=("$s:default")
done
for s in $DEBUG_SERIES; do KERNELS+=("$s:debug"); done
for s in $STOCK_SERIES; do
	job "stock:$s" "" stock_guest "$s"
	KERNELS+=("$s:stock")
done
for s in $STOCK_INSTALL_SERIES; do
	case " $STOCK_SERIES " in *" $s "*) continue ;; esac
	job "stock:$s" "" stock_guest "$s" deb
	KERNELS+=("$s:stock")
done
for s in $STOCK_HW_SERIES; do
	job "stock-hw:$s" "plugin perf7" stock_hw_guest "$s"
	case " $STOCK_SERIES $STOCK_INSTALL_SERIES " in *" $s "*) ;; *) KERNELS+=("$s:stock") ;; esac
done
job plugin "" plugin_checks
job perf7 "" perf7_build
for s in $HW_SERIES; do
	job "hw:$s:default" "host:$s:default plugin perf7" hw_guest "$s" default
done
for s in $SERIES; do
	case " $STRESS_SERIES " in *" $s "*)
		job "stress:$s:default" "host:$s:default" stress_guest "$s" default ;;
	esac
	job "kunit:$s:default" "host:$s:default" kunit_guest "$s" default
	job "initramfs:$s:default" "host:$s:default" initramfs_guest "$s" default
done
job "host-wide" "plugin" host_wide_checks # the docs name the plugin it builds
[ "${LBRCTX_DKMS:-1}" = 1 ] && job "dkms" "" dkms_checks

run_jobs
wait $builder

for k in "${KERNELS[@]}"; do
	s=${k%%:*} flavor=${k#*:}
	label=$(cat "$ART/.jobs/label-$s-$flavor" 2>/dev/null || echo "$s-$flavor")
	jobs=()
	for j in "${JOB_NAMES[@]}"; do
		[ "${j#*:}" = "$k" ] || [ "$j" = "stock:$s" -a "$flavor" = stock ] ||
			[ "$j" = "stock-hw:$s" -a "$flavor" = stock ] && jobs+=("$j")
	done
	report_kernel "$label" "${jobs[@]}"
done
host_jobs=(host-wide plugin perf7)
[ "${LBRCTX_DKMS:-1}" = 1 ] && host_jobs+=(dkms)
report_kernel host "${host_jobs[@]}"

echo
for l in "${TIMES[@]}"; do echo "$l"; done
echo "wall time: $(( $(date +%s) - begin )) s"
for l in "${SUMMARY[@]}"; do echo "$l"; done
printf '%d passed, %d failed\n' "$TOTAL_PASS" "$TOTAL_FAIL"
[ "$TOTAL_FAIL" -eq 0 ] && [ "$TOTAL_PASS" -gt 0 ]
