#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of make demo: load lbrctx, record seed 003's user-space
# experiment (tchain under perf's LBR call-graph mode), then the kernel
# replica (or WORKLOAD), each in three modes, and leave what the host's
# report and pictures need in demo/: perf script and report outputs, the
# completeness counts, the call-graph and branch-stack depths, and the
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
	set_test_probes
fi
echo 40 >/sys/module/lbrctx_tchain/parameters/rounds

# 1. User space first: seed 003's experiment as the seed ran it
# (qemu/guest/seed003u.sh): tchain, main -> f1 -> f2 -> f3, under perf's
# LBR call-graph mode, per process, system-wide, and system-wide without
# save/restore. udepth-MODE.txt: the user frames of each sample in f3.
if [ -z "${WORKLOAD:-}" ]; then
	TCHAIN=$work/tchain
	cp ./tchain $TCHAIN && chmod 755 $TCHAIN
	. ./seed003u.sh
	uprobes_set >$art/uprobes-set.txt 2>&1
	echo Y >/sys/module/lbrctx/parameters/save_restore
	urecord per-process
	urecord system-wide -a
	echo N >/sys/module/lbrctx/parameters/save_restore
	urecord system-wide-nosave -a
	echo Y >/sys/module/lbrctx/parameters/save_restore
	for m in per-process system-wide system-wide-nosave; do
		echo "$m $(ucompleteness $m) $(cat $art/urecord-$m.rc)" >>$art/ucompleteness.txt
		awk '
		FNR == 1 { file++ }
		file == 1 { if (NF >= 4) { s++; in_f3[s] = ($4 == "f3") } next }
		function flush() { if (started && in_f3[++c]) print n; n = 0; started = 0 }
		/^[^ \t]/ { flush(); started = 1; next }
		/^[ \t]+[0-9a-f]+ / { if ($2 == "f3" || $2 == "f2" || $2 == "f1" || $2 == "main") n++; next }
		END { flush() }' $work/uscript-ip-$m.txt $work/uscript-$m.txt >$art/udepth-$m.txt
	done
	echo >$D/uprobes
fi

# 2. The kernel-side replica (qemu/guest/seed003.sh).
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
	echo "$m $(completeness $work/script-$m.txt) $(cat $art/record-$m.rc)" >>$art/completeness.txt
	# Branch-stack depth of every sample (the FROM/TO/flags/cycles entries
	# of perf script's brstacksym), and of the samples in f3, the ones the
	# completeness counts.
	awk -v f3=$art/depth-f3-$m.txt '/^ *[^ ]+ +[0-9]+ +[0-9.]+: / {
		n = 0
		for (i = 1; i <= NF; i++) if (gsub("/", "/", $i) >= 5) n++
		print n
		if ($0 ~ /[0-9a-f][0-9a-f][0-9a-f][0-9a-f] lbrctx_tchain_f3([^_0-9a-z]|lbrctx|$)/) print n >f3
	}' $work/script-$m.txt >$art/depth-$m.txt
done
cp $work/script-system-wide.txt $art/script-system-wide.txt
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
