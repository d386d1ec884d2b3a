#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed 003's experiment as the seed ran it, in user space: tchain
# (qemu/guest/tchain.c, main -> f1 -> f2 -> f3, f3 blocking between spins)
# under `taskset -c 1` with competing instances, recorded with perf's own
# LBR call-graph mode. Sourced by e2e-user.sh (the tests) and demo.sh. The
# caller sets PERF, work (perf.data directory), art (outputs) and TCHAIN
# (the program, on a file system uprobes can read); K instances (4),
# UROUNDS rounds (40) of USPIN microseconds of spin (300).

# The user probes: the chain's functions and the isolation markers.
uprobes_set() {
	"$UPROBES_TOOL" --write "$TCHAIN:main,f1,f2,f3,mark_a,mark_b"
}

# urecord MODE [perf record options]: K instances of tchain on CPU 1.
urecord() {
	mode=$1
	shift
	rm -f $work/u-$mode.data
	$PERF record -B -N -q -F 4000 -e lbrctx/callstack/ --call-graph lbr -o $work/u-$mode.data "$@" -- \
		taskset -c 1 sh -c "i=0; while [ \$i -lt ${K:-4} ]; do $TCHAIN ${UROUNDS:-40} ${USPIN:-300} & i=\$((i+1)); done; wait" \
		>$art/urecord-$mode.txt 2>&1
	echo $? >$art/urecord-$mode.rc
	# The samples' own IPs (-G), then their LBR call graphs, in the same order.
	# tchain's samples only: system-wide records hold every task's. The
	# scripts stay on tmpfs ($work; the results share is 9p, slow for
	# megabytes on the debug kernels); $art keeps their first 400 lines.
	$PERF script -i $work/u-$mode.data --comm tchain -G -F comm,tid,ip,sym \
		>$work/uscript-ip-$mode.txt 2>/dev/null
	$PERF script -i $work/u-$mode.data --comm tchain -F comm,tid,ip,sym \
		>$work/uscript-$mode.txt 2>/dev/null
	head -n 400 $work/uscript-$mode.txt >$art/uscript-$mode-head.txt
	$PERF report -i $work/u-$mode.data --stdio --no-children -g graph,0,caller --comm tchain \
		>$art/ureport-$mode.txt 2>&1
}

# ucompleteness MODE: "<complete> <total>" over the samples whose IP is in
# f3: complete when their call graph is f3, f2, f1, main.
ucompleteness() {
	awk '
	FNR == 1 { file++ }
	file == 1 {
		# perf script -G: "comm tid ip sym"; one line a sample.
		if (NF >= 4) { s++; in_f3[s] = ($4 == "f3") }
		next
	}
	function flush() {
		if (!started) return
		c++
		if (in_f3[c]) {
			total++
			if (n >= 4 && sym[1] == "f3" && sym[2] == "f2" && sym[3] == "f1" && sym[4] == "main")
				complete++
		}
		n = 0; started = 0
	}
	/^[^ \t]/ { flush(); started = 1; next }
	/^[ \t]+[0-9a-f]+ / { n++; sym[n] = $2; next }
	END { flush(); printf "%d %d\n", complete, total }
	' $work/uscript-ip-$1.txt $work/uscript-$1.txt
}
