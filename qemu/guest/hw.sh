#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of the hardware source's run: a guest with the QEMU plugin's
# LBR hardware (qemu/run.sh --lbr). lbrctx loads with source=hw, and then:
#   1. the lbrctx_hw KUnit suite (lbrctx_hwtest.ko): records of code whose
#      branches are known, field by field; the plugin's refusals;
#   2. the perf end-to-end suite (e2e.sh) on the hardware: its seed003 line;
#      a config filter (cond=1), by the records' types;
#   3. seed 003's user-space experiment with no function named (seed003u.sh):
#      its seed003u ... source=hw line;
#   4. perf's own LBR tests, re-aimed at lbrctx (perftest.sh, with perf
#      built from the 7.x source when PERF7 names it): perftest and brstack;
#   5. call stacks against frame pointers, sample by sample (hwchain);
#   6. hostile input: the pages scribbled while events run, the device
#      removed and rescanned, the module reloaded;
# then rmmod, and what the host checks afterwards (facts, store, kmemleak).
# Results: hw-results.txt ("ok NAME" / "FAIL NAME: why"), lines: hw-lines.txt.
set -u
out=$(pwd)
RESULTS=$out/hw-results.txt
. ./lib.sh
art=$out/hw
mkdir -p "$art"
: >"$RESULTS"
: >hw-lines.txt
work=/tmp/hw
mkdir -p $work && chmod 1777 $work
echo "nproc=$(nproc)" >facts
echo "release=$(uname -r)" >>facts
kmemleak_clear
dmesg -c >boot-dmesg.log
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 0 >/proc/sys/kernel/kptr_restrict
PERF=perf
pct() { awk -v c="$1" -v n="$2" 'BEGIN { if (n) printf "%.1f", 100 * c / n; else printf "0.0" }'; }

# The ivshmem device of the plugin (qemu/run.sh --lbr).
dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor 2>/dev/null):$(cat $d/device 2>/dev/null)" = 0x1af4:0x1110 ] && dev=$d
done
expect lbr_device_present "no 1af4:1110 in /sys/bus/pci/devices" [ -n "$dev" ]

step $E_INSMOD_TCHAIN insmod ./lbrctx_tchain.ko
step $E_INSMOD_LBRCTX insmod ./lbrctx.ko source=hw
dmesg >$art/dmesg-load.log
grep -q 'lbrctx: branch source: hw ' $art/dmesg-load.log
check load_line_names_the_hw_source $? "$(grep 'lbrctx:' $art/dmesg-load.log | head -n 3 | tr '\n' ' ')"
src=$(awk '$1 == "source" { print $2 }' $D/pmu)
expect debugfs_names_the_hw_source "source '$src'" [ "$src" = hw ]
base=$(live)

# 1. KUnit, on the hardware (the host parses the KTAP with kunit.py). A
# stock image has no KUnit, and no lbrctx_hwtest.ko is built for it.
dmesg -c >/dev/null
if [ ! -f ./lbrctx_hwtest.ko ]; then
	skip hwtest_kunit_suite "no KUnit in this kernel (${STOCK:+a stock image})"
elif insmod ./lbrctx_hwtest.ko; then
	dmesg -c >hw-kunit-dmesg.log
	rmmod lbrctx_hwtest
else
	dmesg -c >hw-kunit-dmesg.log
	fail hwtest_module_loads "insmod lbrctx_hwtest.ko failed"
fi

# HW_QUICK=1 (a kernel left out of scripts/check.sh's HW_FULL_SERIES, a
# quick stock guest): parts 1 and 3 (the KUnit suite, this kernel's
# seed003u line), and 4 with HW_PERFTEST=1; not 2, 5 and 6.
if [ "${HW_QUICK:-0}" != 1 ]; then
	# 2. The perf end-to-end suite, its seed003 line from the hardware.
	sh ./e2e.sh >e2e.log 2>&1
	dmesg -c >e2e-dmesg.log
	sed 's/^/e2e:/' e2e-results.txt >>"$RESULTS"
	cat seed003.txt >>hw-lines.txt 2>/dev/null

	# 2b. A config filter (README: -e lbrctx/lbr,cond=1/) keeps conditional
	# branches only, by the records' own type.
	$PERF record -e lbrctx/lbr,cond=1/ -j any,save_type -o $work/cond.data -- \
		sh -c 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done' >$art/cond-record.txt 2>&1
	check cond_filter_records $? "$(tail -n 2 $art/cond-record.txt | tr '\n' ' ')"
	$PERF script -i $work/cond.data -F brstack 2>/dev/null | tr ' ' '\n' | grep / >$art/cond-entries.txt
	total=$(wc -l <$art/cond-entries.txt)
	# An entry is FROM/TO/M/P/-/CYCLES/TYPE (perf script -F brstack).
	other=$(grep -Evc '/COND(/|$)' $art/cond-entries.txt)
	echo "cond filter: $total entries, $other not COND" >$art/cond.txt
	expect cond_filter_has_entries "$(cat $art/cond.txt)" [ "$total" -ge 100 ]
	expect cond_filter_keeps_only_conditional_branches "$(cat $art/cond.txt); $(grep -Ev -m 3 '/COND(/|$)' $art/cond-entries.txt | tr '\n' ' ')" [ "$other" = 0 ]
else
	skip e2e_on_the_hardware "HW_QUICK=1 (LBRCTX_HW_FULL_SERIES)"
fi

# 3. Seed 003's user-space experiment as the seed ran it, and no function named.
TCHAIN=$work/tchain
cp ./tchain $TCHAIN && chmod 755 $TCHAIN
. ./seed003u.sh
have_kmemleak && UROUNDS=${UROUNDS:-20}
USPIN=${USPIN:-1000}
n=$(wc -l <$D/uprobes)
expect no_user_function_named "$n lines in $D/uprobes" [ "$n" = 0 ]
P=/sys/module/lbrctx/parameters/save_restore
echo Y >$P
urecord per-process
urecord system-wide -a
echo N >$P
urecord system-wide-nosave -a
echo Y >$P
for m in per-process system-wide system-wide-nosave; do
	check "u_perf_record_call_graph_lbr_${m}_succeeds" "$(cat $art/urecord-$m.rc)" \
		"$(tail -n 3 $art/urecord-$m.txt | tr '\n' ' ')"
done
set -- $(ucompleteness per-process); pp_c=$1 pp_n=$2
set -- $(ucompleteness system-wide); sw_c=$1 sw_n=$2
set -- $(ucompleteness system-wide-nosave); ns_c=$1 ns_n=$2
pp=$(pct $pp_c $pp_n) sw=$(pct $sw_c $sw_n) ns=$(pct $ns_c $ns_n)
echo "seed003u kernel=$(uname -r | sed 's/-lbrctx$//') source=hw per-process=$pp system-wide=$sw system-wide-nosave=$ns samples=$((pp_n + sw_n + ns_n))" >>hw-lines.txt
echo "per-process $pp_c/$pp_n system-wide $sw_c/$sw_n system-wide-nosave $ns_c/$ns_n" >$art/seed003u-counts.txt
for m in pp sw ns; do
	eval "n=\$${m}_n"
	expect "seed003u_hw_${m}_has_samples_in_f3" "$n samples in f3" [ "$n" -ge 50 ]
done
expect seed003u_hw_system_wide_complete_at_least_99_5 "system-wide $sw%" at_least "$sw" 99.5
expect seed003u_hw_system_wide_within_half_a_point_of_per_process "system-wide $sw% per-process $pp%" \
	within "$sw" "$pp" 0.5
expect seed003u_hw_nosave_shows_short_stacks "nosave $ns% system-wide $sw%" \
	at_least "$sw" "$(awk -v n="$ns" 'BEGIN { print n + 10 }')"

# 4. perf's own LBR tests (tools/perf/tests/shell), re-aimed at lbrctx.
if [ "${HW_QUICK:-0}" = 1 ] && [ "${HW_PERFTEST:-0}" != 1 ]; then
	skip perf_lbr_tests "HW_QUICK=1 (LBRCTX_HW_FULL_SERIES, LBRCTX_HW_PERFTEST_SERIES)"
elif [ -n "${PERF7:-}" ] && [ -x "$PERF7" ]; then
	mkdir -p $art/perftest
	cp ./lib.sh $art/perftest/
	(cd $art/perftest && sh $out/perftest.sh "$PERF7") >$art/perftest.log 2>&1
	sed 's/^/perftest:/' $art/perftest/perftest-results.txt >>"$RESULTS" 2>/dev/null
	grep -E '^(perftest|brstack) ' $art/perftest/perftest.txt >>hw-lines.txt 2>/dev/null
	grep -q '^perftest ' $art/perftest/perftest.txt
	check perftest_ran $? "$(tail -n 3 $art/perftest.log | tr '\n' ' ')"
else
	fail perftest_ran "no perf built from the 7.x source (PERF7='${PERF7:-}')"
fi

if [ "${HW_QUICK:-0}" != 1 ]; then
	# 5. Call stacks against frame pointers (hwchain.sh).
	if [ -f ./hwchain.sh ]; then
		sh ./hwchain.sh >$art/hwchain.log 2>&1
		sed 's/^/hwchain:/' $art/hwchain-results.txt >>"$RESULTS" 2>/dev/null
		grep -E '^hwchain ' $art/hwchain.txt >>hw-lines.txt 2>/dev/null
	fi

	# 6. Hostile input. The pages, scribbled while a system-wide event records
	# and samples: the plugin refuses what WRMSR or XRSTORS would #GP on, the
	# driver what it did not expect; neither crashes, and the events go on.
	res=$dev/resource2
	$PERF record -a -e lbrctx/lbr/ -b -o $work/scribble.data -- sleep 4 >$art/scribble-record.txt 2>&1 &
	rec=$!
	sleep 1
	python3 - "$res" >$art/scribble.txt 2>&1 <<'EOF'
import mmap, os, random, sys, time
f = os.open(sys.argv[1], os.O_RDWR | os.O_SYNC)
m = mmap.mmap(f, 1 << 20)
rnd = random.Random(1)
end = time.time() + 2
n = 0
while time.time() < end:
	# Any byte of the vCPU pages: records, LBR_CTL, depth, the control block.
	page = 1 + rnd.randrange(2)
	off = page * 4096 + rnd.randrange(4096 - 8)
	m[off:off + 8] = rnd.getrandbits(64).to_bytes(8, "little")
	n += 1
print("writes", n)
EOF
	grep -q '^writes [1-9]' $art/scribble.txt
	check pages_scribbled $? "$(tr '\n' ' ' <$art/scribble.txt)"
	wait $rec
	check event_survives_a_scribbled_page $? "$(tail -n 2 $art/scribble-record.txt | tr '\n' ' ')"
	cat $D/pmu >$art/pmu-scribbled.txt
	bad=$(awk '$1 == "hw_refused" || $1 == "hw_bad" { n += $2 } END { print n + 0 }' $D/pmu)
	echo "scribbled: hw_refused+hw_bad=$bad" >>$art/scribble.txt

	# The device removed while an event records (as a hot-unplug would), then
	# rescanned: lbrctx records nothing meanwhile, and the hardware again after.
	$PERF record -a -e lbrctx/lbr/ -b -o $work/unplug.data -- sleep 3 >$art/unplug-record.txt 2>&1 &
	rec=$!
	sleep 1
	echo 1 >$dev/remove
	sleep 0.5
	present=$(awk '$1 == "hw_present" { print $2 }' $D/pmu)
	expect device_removal_is_seen "hw_present '$present'" [ "$present" = 0 ]
	wait $rec
	check event_survives_the_device_going_away $? "$(tail -n 2 $art/unplug-record.txt | tr '\n' ' ')"
	echo 1 >/sys/bus/pci/rescan
	sleep 0.5
	present=$(awk '$1 == "hw_present" { print $2 }' $D/pmu)
	expect device_rescan_is_bound_again "hw_present '$present'" [ "$present" = 1 ]
	$PERF stat -x, -e lbrctx/branches/ -- ls / >$art/stat-after-rescan.txt 2>&1
	n=$(grep 'lbrctx/branches/' $art/stat-after-rescan.txt | cut -d, -f1)
	expect hardware_records_after_the_rescan "count '${n:-none}'" [ "${n:-0}" -gt 100 ]

	# Module reload with the hardware: twice, each time recording.
	wait_live "objects=0 events=0" 20 >/dev/null
	ok_reloads=0
	for i in 1 2; do
		rmmod lbrctx && insmod ./lbrctx.ko source=hw &&
			$PERF stat -x, -e lbrctx/branches/ -- true >$art/reload-$i.txt 2>&1 &&
			ok_reloads=$((ok_reloads + 1))
	done
	expect module_reloads_with_the_hardware "$ok_reloads of 2" [ "$ok_reloads" = 2 ]
else
	skip hwchain_and_hostile_input "HW_QUICK=1 (LBRCTX_HW_FULL_SERIES)"
fi

cat $D/pmu >pmu-after.txt
wait_live "objects=0 events=0" 20 >/dev/null
cat $D/store >store-after.txt
step $E_RMMOD_LBRCTX rmmod lbrctx
step $E_RMMOD_TCHAIN rmmod lbrctx_tchain
grep lbrctx /proc/modules >modules-after.txt
ls /sys/kernel/slab 2>/dev/null | grep lbrctx >slabs-after.txt
ls /sys/kernel/slab >/dev/null 2>&1 && echo "slab_sysfs=1" >>facts
if have_kmemleak; then
	kmemleak_scan kmemleak.txt
	echo "kmemleak=1" >>facts
fi
dmesg -c >final-dmesg.log
echo 0 >exit-status
