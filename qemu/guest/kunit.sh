#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of the KUnit run: load lbrctx and its suites, keep the KTAP,
# unload, and record what the host checks afterwards. Runs in /tmp/out.
set -u
echo "nproc=$(nproc)" >facts
echo "release=$(uname -r)" >>facts
kml=/sys/kernel/debug/kmemleak
if [ -e $kml ]; then
	# Forget reports from boot; only leaks made from here on count.
	echo scan >$kml; echo clear >$kml
fi
dmesg -c >boot-dmesg.log
insmod ./lbrctx.ko || { echo "insmod lbrctx.ko failed"; exit 10; }
insmod ./lbrctx_kunit.ko || { echo "insmod lbrctx_kunit.ko failed"; exit 11; }
dmesg -c >kunit-dmesg.log
# The store's live state once every suite has run: nothing may be left.
cat /sys/kernel/debug/lbrctx/store >store-after.txt
rmmod lbrctx_kunit || { echo "rmmod lbrctx_kunit failed"; exit 12; }
rmmod lbrctx || { echo "rmmod lbrctx failed"; exit 13; }
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
