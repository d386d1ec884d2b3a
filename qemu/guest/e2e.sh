#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest end-to-end tests of the lbrctx PMU with the real perf tool (Debian's,
# from the host root), run by kunit.sh with lbrctx and lbrctx_tchain loaded.
# Writes one "ok NAME" or "FAIL NAME: why" line per test to e2e-results.txt,
# the seed-003 replica's line to seed003.txt, and perf's outputs to e2e/.
set -u
out=$(pwd)
RESULTS=$out/e2e-results.txt
. ./lib.sh
art=$out/e2e
mkdir -p "$art"
: >"$RESULTS"
work=/tmp/e2e
mkdir -p $work

PERF=perf
command -v $PERF >/dev/null || { fail perf_available "no perf in the guest"; exit 0; }
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 0 >/proc/sys/kernel/kptr_restrict
run=/sys/kernel/debug/lbrctx_tchain/run
param=/sys/module/lbrctx/parameters/save_restore
K=${E2E_READERS:-4}
# Debug kernels (KASAN, kmemleak) run several times slower under TCG: fewer rounds.
rounds=40
have_kmemleak && rounds=12
echo "${E2E_ROUNDS:-$rounds}" >/sys/module/lbrctx_tchain/parameters/rounds
# The test chain is among the probed functions (lbrctx's default is the VFS alone).
set_test_probes
# The branch source in use (/sys/kernel/debug/lbrctx/pmu: probes or hw).
SOURCE=$(awk '$1 == "source" { print $2 }' $D/pmu)

# perf list shows the events.
$PERF list pmu >$art/perf-list.txt 2>&1 || $PERF list >$art/perf-list.txt 2>&1
missing=
for e in lbr callstack branches saves restores resets; do
	grep -q "lbrctx/$e/" $art/perf-list.txt || missing="$missing $e"
done
expect perf_list_shows_events "missing:$missing" [ -z "$missing" ]

# perf stat counts branches of a per-process event (calls and returns of
# vfs_read/vfs_write and the f1 -> f2 -> f3 chain).
$PERF stat -x, -e lbrctx/branches/ -- cat $run >$art/stat-branches.txt 2>&1
n=$(grep 'lbrctx/branches/' $art/stat-branches.txt | cut -d, -f1)
expect perf_stat_counts_branches "count '${n:-none}' ($(tail -n 2 $art/stat-branches.txt | tr '\n' ' '))" \
	[ "${n:-0}" -ge 8 ]

# System-wide switch counters: with an event open the hook runs on every switch.
$PERF stat -a -x, -e lbrctx/saves/,lbrctx/restores/,lbrctx/resets/ -- sleep 0.3 \
	>$art/stat-switch.txt 2>&1
n=$(grep 'lbrctx/resets/' $art/stat-switch.txt | cut -d, -f1)
expect perf_stat_counts_switch_resets "resets '${n:-none}' ($(tr '\n' ' ' <$art/stat-switch.txt))" \
	[ "${n:-0}" -gt 0 ]

# A bad config is refused: perf record fails to open it, perf stat says so.
$PERF record -B -N -q -e lbrctx/event=0x5/ -o $work/bad.data -- true >$art/record-bad.txt 2>&1
rc=$?
$PERF stat -e lbrctx/event=0x5/ -- true >$art/stat-bad.txt 2>&1
[ $rc -ne 0 ] && grep -q 'not supported' $art/stat-bad.txt
check perf_refuses_unknown_event $? "record rc=$rc; stat: $(grep lbrctx $art/stat-bad.txt)"

. ./seed003.sh

echo Y >$param
record per-process -e lbrctx/callstack/
record system-wide -a -e lbrctx/callstack/
echo N >$param
record system-wide-nosave -a -e lbrctx/callstack/
echo Y >$param

for m in per-process system-wide system-wide-nosave; do
	check "perf_record_${m}_succeeds" "$(cat $art/record-$m.rc)" "$(tail -n 3 $art/record-$m.txt | tr '\n' ' ')"
done

set -- $(completeness $work/script-per-process.txt); pp_c=$1 pp_n=$2
set -- $(completeness $work/script-system-wide.txt); sw_c=$1 sw_n=$2
set -- $(completeness $work/script-system-wide-nosave.txt); ns_c=$1 ns_n=$2
pp=$(pct $pp_c $pp_n) sw=$(pct $sw_c $sw_n) ns=$(pct $ns_c $ns_n)
echo "seed003 kernel=$(uname -r | sed 's/-lbrctx$//') source=$SOURCE per-process=$pp system-wide=$sw system-wide-nosave=$ns samples=$((pp_n + sw_n + ns_n))" >$out/seed003.txt
echo "per-process $pp_c/$pp_n system-wide $sw_c/$sw_n system-wide-nosave $ns_c/$ns_n" >>$art/seed003-counts.txt

# perf script shows symbolized kernel functions in the branch stacks.
grep -q 'lbrctx_tchain_f1+0x[0-9a-f]*/lbrctx_tchain_f2+' $work/script-system-wide.txt &&
	grep -q 'vfs_read' $work/script-system-wide.txt
check perf_script_shows_symbolized_chain $? \
	"no f1->f2 or vfs_read entry in $(head -c 300 $work/script-system-wide.txt | tr '\n' ' ')"
# On a stock kernel perf's srclines go through addr2line on /proc/kcore
# and the .ko.xz modules, which fails; bounded there (240 s; timeout runs
# the perf binary, so lib.sh's --kallsyms is given here).
if [ -n "${STOCK:-}" ]; then
	timeout 240 perf report ${PERF_KALLSYMS:-} -i $work/system-wide.data --branch-history \
		--stdio --no-children >$art/report-branch-history.txt 2>&1
else
	$PERF report -i $work/system-wide.data --branch-history --stdio --no-children \
		>$art/report-branch-history.txt 2>&1
fi
rc=$?
echo "exit $rc" >>$art/report-branch-history.txt
if [ -n "${STOCK:-}" ] && grep -q '^addr2line .*: could not read first record' $art/report-branch-history.txt &&
	! grep -q 'lbrctx_tchain_f' $art/report-branch-history.txt; then
	# Seen on Debian's 6.1 image (addr2line /proc/kcore) and 6.12
	# (addr2line overlay.ko.xz, then no end): no vmlinux with code, so
	# perf reads kernel srclines through addr2line, fails, prints nothing.
	skip perf_report_branch_history_symbolizes "stock kernel without a vmlinux: perf's addr2line fails, exit $rc ($(grep -m 1 '^addr2line' $art/report-branch-history.txt))"
else
	grep -q 'lbrctx_tchain_f' $art/report-branch-history.txt
	check perf_report_branch_history_symbolizes $? "$(head -n 5 $art/report-branch-history.txt | tr '\n' ' ')"
fi

for m in per-process system-wide system-wide-nosave; do
	eval "n=\$$(echo $m | sed 's/per-process/pp/; s/system-wide-nosave/ns/; s/system-wide/sw/')_n"
	expect "seed003_${m}_has_samples" "$n samples in f3" [ "$n" -ge 50 ]
done
expect seed003_system_wide_complete_at_least_99_5 "system-wide $sw%" at_least "$sw" 99.5
expect seed003_system_wide_within_half_a_point_of_per_process "system-wide $sw% per-process $pp%" \
	within "$sw" "$pp" 0.5
expect seed003_nosave_shows_short_stacks "nosave $ns% system-wide $sw%" \
	at_least "$sw" "$(awk -v n="$ns" 'BEGIN { print n + 10 }')"

# store=upstream: the switch hook reads the perf core's task_struct::
# perf_ctx_data (6.15+), which the core attaches for lbrctx's events from
# lbrctx's cache; the seed-003 system-wide run again on it. Refused on
# older kernels, and while lbrctx events exist.
ST=/sys/module/lbrctx/parameters/store
# lbrctx-tool write prints the errno name of the write (dash's echo says
# "I/O error" for any).
T=$out/lbrctx-tool
case $(uname -r) in
6.1.* | 6.12.*)
	e=$($T write $ST upstream)
	expect store_upstream_refused_before_6_15 "write: $e, store=$(cat $ST)" \
		[ "$e" != ok -a "$(cat $ST)" = lbrctx ]
	expect store_upstream_refusal_is_eopnotsupp "write: $e" [ "$e" = EOPNOTSUPP ]
	;;
*)
	e=$($T write $ST upstream)
	expect store_upstream_accepted "write: $e, store=$(cat $ST)" [ "$e" = ok -a "$(cat $ST)" = upstream ]
	record system-wide-upstream -a -e lbrctx/callstack/
	check perf_record_system-wide-upstream_succeeds "$(cat $art/record-system-wide-upstream.rc)" \
		"$(tail -n 3 $art/record-system-wide-upstream.txt | tr '\n' ' ')"
	set -- $(completeness $work/script-system-wide-upstream.txt); up_c=$1 up_n=$2
	up=$(pct $up_c $up_n)
	echo "seed003-upstream kernel=$(uname -r | sed 's/-lbrctx$//') source=$SOURCE system-wide=$up samples=$up_n" >>$out/seed003.txt
	expect seed003_upstream_store_has_samples "$up_n samples in f3" [ "$up_n" -ge 50 ]
	expect seed003_upstream_store_system_wide_complete_at_least_99_5 "system-wide $up%" at_least "$up" 99.5
	# No change while an event exists (once perf stat's events are open).
	$PERF stat -a -e lbrctx/callstack/ -- sleep 5 >$art/store-busy-stat.txt 2>&1 &
	i=0
	while [ "$(awk '$1 == "events" { print $2 }' $D/pmu)" = 0 ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	e=$($T write $ST lbrctx)
	wait
	expect store_change_refused_while_events_exist "write: $e, store=$(cat $ST)" \
		[ "$e" = EBUSY -a "$(cat $ST)" = upstream ]
	echo lbrctx >$ST
	expect store_back_to_lbrctx "store=$(cat $ST)" [ "$(cat $ST)" = lbrctx ]
	;;
esac
e=$($T write $ST bogus)
expect store_unknown_value_refused "write: $e, store=$(cat $ST)" [ "$e" = EINVAL -a "$(cat $ST)" = lbrctx ]
# Branch-count sampling: every 16 branches, with branch stacks. The
# hardware raises no interrupt on the Nth branch: there it is refused.
echo 2 >/sys/module/lbrctx_tchain/parameters/rounds
$PERF record -B -N -q -e lbrctx/branches/ -c 16 -b -o $work/branches.data -- \
	sh -c "for i in 1 2 3 4 5 6; do cat $run; done" >$art/record-branches.txt 2>&1
rc=$?
if [ "$SOURCE" = hw ]; then
	[ $rc -ne 0 ] && dmesg | grep -q 'branches sampling every N needs the probe source'
	check branch_sampling_refused_with_the_hw_source $? "rc=$rc: $(tail -n 2 $art/record-branches.txt | tr '\n' ' ')"
else
	$PERF script -i $work/branches.data -F ip,sym,brstacksym >$art/script-branches.txt 2>&1
	grep -q '/vfs_read+\|/lbrctx_tchain_f' $art/script-branches.txt
	check perf_record_branch_sampling_has_stacks $? "$(head -n 3 $art/script-branches.txt | tr '\n' ' ')"
fi

# Callchains from the core keep working next to the branch stack. f3
# spins 20 x 2 ms here: at 5 kHz that is ~200 samples with f1 -> f2 -> f3
# on the chain, and still some when TCG starves the guest's vCPU (CI runs
# two guests on two cores; a debug kernel once got none in 20 x 300 us).
echo 20 >/sys/module/lbrctx_tchain/parameters/rounds
echo 2000 >/sys/module/lbrctx_tchain/parameters/spin_us
$PERF record -B -N -q -e lbrctx/callstack/ -F 5000 -g -b -o $work/cg.data -- cat $run \
	>$art/record-cg.txt 2>&1
echo 300 >/sys/module/lbrctx_tchain/parameters/spin_us
$PERF script -i $work/cg.data -F ip,sym >$work/script-cg.txt 2>&1
# One paragraph per sample: its IP line, then its callchain.
cg=$(awk -v RS= '{ n++ } /lbrctx_tchain_f1/ { f1++ } /lbrctx_tchain_f3/ { f3++ }
	END { printf "samples=%d with_f1=%d with_f3=%d", n, f1, f3 }' $work/script-cg.txt)
echo "$cg" >$art/script-cg-summary.txt
f1=$(echo "$cg" | sed 's/.*with_f1=\([0-9]*\).*/\1/')
expect perf_record_callchain_with_branch_stack "$cg" at_least "$f1" 5
cat $D/pmu >$art/pmu-after.txt
exit 0
