#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of the KUnit run: load lbrctx and its suites, keep the KTAP,
# run the perf end-to-end tests (e2e.sh), unload, and record what the host
# checks afterwards. Runs in /tmp/out.
set -u
echo "nproc=$(nproc)" >facts
echo "release=$(uname -r)" >>facts
kml=/sys/kernel/debug/kmemleak
if [ -e $kml ]; then
	# Forget reports from boot; only leaks made from here on count.
	echo scan >$kml; echo clear >$kml
fi
dmesg -c >boot-dmesg.log
insmod ./lbrctx_tchain.ko || { echo "insmod lbrctx_tchain.ko failed"; exit 14; }
insmod ./lbrctx.ko || { echo "insmod lbrctx.ko failed"; exit 10; }
insmod ./lbrctx_kunit.ko || { echo "insmod lbrctx_kunit.ko failed"; exit 11; }
dmesg -c >kunit-dmesg.log
rmmod lbrctx_kunit || { echo "rmmod lbrctx_kunit failed"; exit 12; }
# The PMU end to end with the perf tool (e2e.sh), unless told otherwise.
if [ -f ./e2e.sh ] && [ "${LBRCTX_E2E:-1}" = 1 ]; then
	sh ./e2e.sh >e2e.log 2>&1
	dmesg -c >e2e-dmesg.log
fi
cat /sys/kernel/debug/lbrctx/pmu >pmu-after.txt
# The store's live state once every suite and perf run is over: nothing may
# be left once the RCU frees of the last closed events have run.
i=0
while [ $i -lt 20 ] && ! grep -qx 'objects 0' /sys/kernel/debug/lbrctx/store; do
	sleep 1; i=$((i + 1))
done
cat /sys/kernel/debug/lbrctx/store >store-after.txt
rmmod lbrctx || { echo "rmmod lbrctx failed"; exit 13; }
rmmod lbrctx_tchain || { echo "rmmod lbrctx_tchain failed"; exit 15; }
grep lbrctx /proc/modules >modules-after.txt
ls /sys/kernel/slab 2>/dev/null | grep lbrctx >slabs-after.txt
ls /sys/kernel/slab >/dev/null 2>&1 && echo "slab_sysfs=1" >>facts
if [ -e $kml ]; then
	# kmemleak reports objects older than 5 s that nothing references.
	sleep 6; echo scan >$kml; sleep 1; echo scan >$kml
	cat $kml >kmemleak.txt
	echo "kmemleak=1" >>facts
fi
dmesg -c >after-dmesg.log
exit 0
