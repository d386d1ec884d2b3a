#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of make bench: load lbrctx and run the store benchmarks.
set -u
dmesg -c >/dev/null
insmod ./lbrctx.ko || exit 10
insmod ./lbrctx_bench.ko || { dmesg >bench-dmesg.log; exit 11; }
dmesg -c >bench-dmesg.log
cat /sys/kernel/debug/lbrctx/store >store-after.txt
rmmod lbrctx_bench && rmmod lbrctx || exit 12
sed -n 's/^\[[ 0-9.]*\] lbrctx: \(P[0-9] .*\|L .*\)$/\1/p' bench-dmesg.log >bench.txt
[ -s bench.txt ]
