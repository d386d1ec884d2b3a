#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of make demo: load lbrctx, record the seed-003 replica (or
# WORKLOAD) under perf in three modes, and leave what the host's report
# and picture need in demo/: perf script and report outputs, the
# completeness counts, the branch-stack depth of every sample, and the
# store's live state while the system-wide record ran.
set -u
out=$(pwd)
. ./lib.sh
art=$out/demo
work=/tmp/demo
mkdir -p "$art" $work
PERF=perf
K=4
run=/sys/kernel/debug/lbrctx_tchain/run
[ -f ./workload ] && WORKLOAD=$(cat ./workload)
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 0 >/proc/sys/kernel/kptr_restrict
step $E_INSMOD_TCHAIN insmod ./lbrctx_tchain.ko
if [ -f ./probes ]; then
	step $E_INSMOD_LBRCTX insmod ./lbrctx.ko probes="$(cat ./probes)"
else
	step $E_INSMOD_LBRCTX insmod ./lbrctx.ko
fi
echo 40 >/sys/module/lbrctx_tchain/parameters/rounds
. ./seed003.sh

# The store while a system-wide event runs (every thread has its data):
# keep the snapshot with the most live objects.
watch_store() {
	max=-1
	while [ ! -f $work/stop ]; do
		cat $D/store >$work/store-now.txt
		n=$(awk '$1 == "objects" { print $2 }' $work/store-now.txt)
		if [ "${n:-0}" -gt $max ]; then max=$n; cp $work/store-now.txt $art/store-during.txt; fi
		sleep 0.2
	done
}

echo Y >/sys/module/lbrctx/parameters/save_restore
record per-process -e lbrctx/callstack/
rm -f $work/stop
watch_store &
w=$!
record system-wide -a -e lbrctx/callstack/
touch $work/stop
wait $w
echo N >/sys/module/lbrctx/parameters/save_restore
record system-wide-nosave -a -e lbrctx/callstack/
echo Y >/sys/module/lbrctx/parameters/save_restore

for m in per-process system-wide system-wide-nosave; do
	echo "$m $(completeness $art/script-$m.txt) $(cat $art/record-$m.rc)" >>$art/completeness.txt
	# Branch-stack depth of every sample (the FROM/TO/flags/cycles entries
	# of perf script's brstacksym), and of the samples in f3, the ones the
	# completeness counts.
	awk -v f3=$art/depth-f3-$m.txt '/^ *[^ ]+ +[0-9]+ +[0-9.]+: / {
		n = 0
		for (i = 1; i <= NF; i++) if (gsub("/", "/", $i) >= 5) n++
		print n
		if ($0 ~ /[0-9a-f][0-9a-f][0-9a-f][0-9a-f] lbrctx_tchain_f3([^_0-9a-z]|lbrctx|$)/) print n >f3
	}' $art/script-$m.txt >$art/depth-$m.txt
done
$PERF report -i $work/system-wide.data --branch-history --stdio --no-children \
	>$art/report-branch-history.txt 2>&1
cat /sys/kernel/slab/lbrctx_task_data/slab_size >$art/slab-size.txt 2>/dev/null
cat /sys/kernel/slab/lbrctx_task_data/object_size >$art/object-size.txt 2>/dev/null
ls /proc | grep -c '^[0-9]' >$art/processes.txt
cat $D/pmu >$art/pmu.txt
wait_live "objects=0 events=0" 20 >/dev/null
cat $D/store >$art/store-after.txt
step $E_RMMOD_LBRCTX rmmod lbrctx
step $E_RMMOD_TCHAIN rmmod lbrctx_tchain
dmesg >$art/dmesg.txt
exit 0
