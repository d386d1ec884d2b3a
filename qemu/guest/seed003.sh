#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The seed-003 replica's pieces, sourced by e2e.sh (the tests) and demo.sh
# (make demo). The caller sets PERF, work (perf.data directory), art
# (outputs), K (readers), run (the chain's debugfs file) and, optionally,
# WORKLOAD (a shell command recorded instead of the readers).

# record MODE: perf record of the readers; then perf script with symbols.
record() {
	mode=$1
	shift
	rm -f $work/$mode.data
	$PERF record -B -N -q -F 10000 -b -o $work/$mode.data "$@" -- \
		sh -c "${WORKLOAD:-K=$K; run=$run; $(readers_cmd)}" \
		>$art/record-$mode.txt 2>&1
	echo $? >$art/record-$mode.rc
	# On tmpfs ($work): the results share is 9p, slow for megabytes on the
	# debug kernels. $art keeps the first 200 lines.
	$PERF script -i $work/$mode.data -F comm,tid,time,ip,sym,brstacksym \
		>$work/script-$mode.txt 2>$art/script-$mode.err
	head -n 200 $work/script-$mode.txt >$art/script-$mode-head.txt
}

# K readers of the chain, all pinned to CPU 1, competing for it.
readers_cmd() {
	echo 'i=0; while [ $i -lt $K ]; do taskset -c 1 cat $run >/dev/null & i=$((i+1)); done; wait'
}

# completeness FILE: "<complete> <total>" over the samples whose IP is in f3.
completeness() {
	awk '
	# "<ip> <sym>" with the IP in f3 (perf glues the first branch to the symbol).
	$0 ~ /[0-9a-f][0-9a-f][0-9a-f][0-9a-f] lbrctx_tchain_f3([^_0-9a-z]|lbrctx|$)/ {
		n++
		if ($0 ~ /lbrctx_tchain_f2\+0x[0-9a-f]+\/lbrctx_tchain_f3\+/ &&
		    $0 ~ /lbrctx_tchain_f1\+0x[0-9a-f]+\/lbrctx_tchain_f2\+/ &&
		    $0 ~ /\/lbrctx_tchain_f1\+/)
			c++
	}
	END { printf "%d %d\n", c, n }' "$1"
}

pct() { # COMPLETE TOTAL
	awk -v c="$1" -v n="$2" 'BEGIN { if (n) printf "%.1f", 100 * c / n; else printf "0.0" }'
}

