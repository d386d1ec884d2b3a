#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Part 10 of stress.sh (the probed-binary storm) alone, with a watchdog,
# for the stall of the stock guests (docs/TESTING.md, "The storm stall on
# the stock guests"). A loop a CPU runs the probed tchain while events
# open and close one after the other (perf record -a, perf record of one
# process, lbrctx-tool openclose); each event's time goes to
# events-times.txt, and every 5 s of an event its task's state and kernel
# stack go to samples.txt; an event past 120 s gets sysrq-t, the process
# list and lbrctx's debugfs (stall*.txt). Options, as variables:
#   SECS (30), MINEV (6): events run for at least SECS s and MINEV events
#   CPUS ("0 1 2 3"): the CPUs with a storm loop
#   NOUP=1: no probe set (lbrctx is loaded, the storm's program unprobed)
#   MASK=1: an empty tmpfs on /lib/modules/$(uname -r) (what stress.sh
#           does on stock guests)
# Two stock 6.1 guests side by side, with the files of a stock run
# (scripts/stock.sh check 6.1; A=artifacts/6.1.0-57-amd64-stock, R=the
# unpacked image, $LBRCTX_CACHE/stock/6.1.0-57-amd64/root, V=the version):
#   qemu/run.sh --kernel $R/boot/vmlinuz-6.1.0-57-amd64 \
#     --stock $R/lib/modules/6.1.0-57-amd64 $R/usr/src/linux-headers-6.1.0-57-amd64 \
#     --out /tmp/s1 --smp 4 --mem 3G --timeout 2400 --idle 900 \
#     --in $A/dkms/lbrctx/$V/6.1.0-57-amd64/x86_64/module/lbrctx.ko \
#     --in $A/tchain --in $A/lbrctx-tool --in scripts/lbrctx-uprobes \
#     --in qemu/repro/stock-storm.sh -- "MASK=1 sh ./stock-storm.sh"
cd /tmp/out || exit 1
T=/tmp/out/lbrctx-tool
mkdir -p /tmp/work && cp ./tchain /tmp/work/tchain && chmod 755 /tmp/work/tchain
insmod ./lbrctx.ko || exit 1
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 1 >/proc/sys/kernel/sysrq
[ "${MASK:-0}" = 1 ] && mount -t tmpfs none /lib/modules/$(uname -r) && echo masked >>events-times.txt
[ "${NOUP:-0}" = 1 ] || ./lbrctx-uprobes --write /tmp/work/tchain:main,f1,f2,f3 >uprobes.txt 2>&1
rm -f /tmp/work/stop
for cpu in ${CPUS:-0 1 2 3}; do
	taskset -c $cpu sh -c "n=0
		while [ ! -f /tmp/work/stop ]; do
			/tmp/work/tchain 1 0 >/dev/null 2>&1 || { echo \"cpu$cpu failed \$?\"; exit 1; }
			n=\$((n + 1))
		done
		echo \"cpu$cpu runs \$n\"" >>runs.txt &
done
ev=0 end=$(($(date +%s) + ${SECS:-30}))
while [ $ev -lt ${MINEV:-6} ] || [ "$(date +%s)" -lt $end ]; do
	t0=$(date +%s.%N)
	case $((ev % 3)) in
	0) perf record -B -N -q -F 4000 -e lbrctx/callstack/ --call-graph lbr -a -o /tmp/work/us.data -- sleep 0.3 & ;;
	1) perf record -B -N -q -F 4000 -e lbrctx/callstack/ --call-graph lbr -o /tmp/work/us.data -- /tmp/work/tchain 2 0 & ;;
	2) $T openclose 0.3 & ;;
	esac >>events.txt 2>&1
	p=$!
	w=0
	while kill -0 $p 2>/dev/null; do
		sleep 1
		w=$((w + 1))
		if [ $((w % 5)) = 0 ]; then
			echo "== event $ev w=$w uptime $(cut -d' ' -f1 /proc/uptime)"
			for t in /proc/$p/task/*; do
				echo "-- $t $(cat $t/comm) $(cat $t/wchan) $(cut -d' ' -f3 $t/stat)"
				cat $t/stack
			done
		fi >>samples.txt 2>&1
		if [ $w = 120 ]; then
			echo "event $ev (kind $((ev % 3))) pid $p past 120 s" >>stall.txt
			ps -eo pid,ppid,stat,wchan:30,comm,etime >>stall.txt
			cat /sys/kernel/debug/lbrctx/pmu >stall-pmu.txt
			echo t >/proc/sysrq-trigger
			dmesg >stall-dmesg.txt
		fi
	done
	wait $p
	echo "event $ev kind $((ev % 3)) rc $? took $(echo "$(date +%s.%N) - $t0" | bc)" >>events-times.txt
	ev=$((ev + 1))
done
touch /tmp/work/stop
wait
[ "${MASK:-0}" = 1 ] && umount /lib/modules/$(uname -r)
cat /sys/kernel/debug/lbrctx/pmu >pmu-end.txt
./lbrctx-uprobes --clear
rmmod lbrctx
echo "rmmod $?" >>events-times.txt
