#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of the KUnit run: load lbrctx and its suites, keep the KTAP,
# run the perf end-to-end tests (e2e.sh), unload, and record what the host
# checks afterwards. Runs in /tmp/out.
set -u
RESULTS=/tmp/out/kunit-results.txt
. ./lib.sh
echo "nproc=$(nproc)" >facts
echo "release=$(uname -r)" >>facts
kmemleak_clear
dmesg -c >boot-dmesg.log
step $E_INSMOD_TCHAIN insmod ./lbrctx_tchain.ko
step $E_INSMOD_LBRCTX insmod ./lbrctx.ko
set_test_probes
step $E_INSMOD_KUNIT insmod ./lbrctx_kunit.ko
dmesg -c >kunit-dmesg.log
step $E_RMMOD_KUNIT rmmod lbrctx_kunit
# The PMU end to end with the perf tool (e2e.sh), then the user-space
# call stacks (e2e-user.sh), unless told otherwise.
if [ -f ./e2e.sh ] && [ "${LBRCTX_E2E:-1}" = 1 ]; then
	sh ./e2e.sh >e2e.log 2>&1
	dmesg -c >e2e-dmesg.log
	if [ "${LBRCTX_E2E_USER:-1}" = 1 ]; then
		sh ./e2e-user.sh >e2e-user.log 2>&1
		dmesg -c >e2e-user-dmesg.log
	fi
fi
cat $D/pmu >pmu-after.txt
# The store's live state once every suite and perf run is over: nothing may
# be left once the RCU frees of the last closed events have run.
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
dmesg -c >after-dmesg.log
exit 0
