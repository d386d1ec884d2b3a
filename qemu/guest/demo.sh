#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of make demo, in a guest with the QEMU plugin's LBR hardware
# (qemu/run.sh --lbr): lbrctx loads with source=hw, so every taken branch
# of every program is recorded and no function is named (no uprobes).
#   1. Seed 003's experiment (seed003u.sh): tchain, main -> f1 -> f2 -> f3,
#      under perf's LBR call-graph mode, per process, system-wide, and
#      system-wide without save/restore; udepth-MODE.txt: the user frames
#      of each sample in f3.
#   2. An unmodified Debian program (perl running a loop, or WORKLOAD)
#      under perf record -b with the branch types saved: perf.data, perf
#      script's branch stacks and perf report's outputs.
# Outputs in demo/ for the host's report and pictures (scripts/demo.sh).
set -u
out=$(pwd)
. ./lib.sh
art=$out/demo
work=/tmp/demo
mkdir -p "$art" $work
PERF=perf
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 0 >/proc/sys/kernel/kptr_restrict
uname -r >$art/release.txt
t0=$(date +%s)
stamp() { echo "$1 $(($(date +%s) - t0))" >>$art/times.txt; }

step $E_INSMOD_LBRCTX insmod ./lbrctx.ko source=hw
dmesg | grep 'lbrctx:' >$art/load.txt
awk '$1 == "source" { print $2 }' $D/pmu >$art/source.txt
wc -l <$D/uprobes >$art/uprobes-count.txt
stamp loaded

# 1. Seed 003's experiment, nothing named: the hardware records every
# branch, perf's LBR call-graph mode rebuilds the stacks.
TCHAIN=$work/tchain
cp ./tchain $TCHAIN && chmod 755 $TCHAIN
. ./seed003u.sh
USPIN=${USPIN:-1000}
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
stamp tchain

# 2. An unmodified program of the host root: perf record -b with each
# branch's type saved, in user space (-j any,u,save_type: the kernel's
# entries would start every stack with the sampling interrupt's own path).
# Perl: its interpreter's hot loop (Perl_runops_standard calling one
# Perl_pp_* function per op) is named by libperl's own dynamic symbols.
if [ -f ./workload ]; then
	WORKLOAD=$(cat ./workload)
else
	WORKLOAD="/usr/bin/perl -e 'my \$n = 0; for my \$i (1 .. 200000) { if (\$i % 3 == 0) { \$n += \$i } elsif (\$i & 1) { \$n-- } } print \"\$n\\n\"'"
fi
printf '%s\n' "$WORKLOAD" >$art/workload.txt
# The program (the command's first word) and its Debian package.
p=$(command -v "${WORKLOAD%% *}") && p=$(readlink -f "$p") &&
	echo "$p $(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1)" >$art/prog.txt
$PERF record -B -e lbrctx/lbr/u -j any,u,save_type -o $work/prog.data -- sh -c "exec $WORKLOAD" \
	>$art/prog-record.txt 2>&1
echo $? >$art/prog-record.rc
stamp record
# perf 6.1 looks every branch address up with addr2line: the binaries have
# no debug information, so it answers ??:0 at best, and it cannot read the
# kernel's (/proc/kcore): then perf writes to a dead pipe and SIGPIPE ends
# it. An addr2line that always fails gives perf's own SYMBOL+OFFSET form,
# and no SIGPIPE (ignored) stops the reports.
mkdir -p $work/bin
printf '#!/bin/sh\nexit 1\n' >$work/bin/addr2line
chmod 755 $work/bin/addr2line
(
	trap '' PIPE
	PATH=$work/bin:$PATH
	$PERF report -i $work/prog.data --branch-history --stdio --no-children -s symbol,dso \
		>$art/prog-branch-history.txt 2>$work/prog-branch-history.err
	$PERF report -i $work/prog.data --stdio --no-children \
		>$art/prog-report.txt 2>$work/prog-report.err
)
# One line a sample: its comm, IP and symbol, then the branch stack's
# FROM/TO/mispred/in_tx/abort/cycles/TYPE entries, newest first; and the
# same entries symbolized (brstacksym alone: perf prints it right after the
# symbol, with no space between).
$PERF script -i $work/prog.data -F comm,ip,sym,brstack >$work/prog-brstack.txt 2>/dev/null
$PERF script -i $work/prog.data -F brstacksym >$work/prog-brstacksym.txt 2>/dev/null
head -n 200 $work/prog-brstacksym.txt >$art/prog-brstacksym-head.txt
# The types, over every entry of every sample, per privilege level of the
# branch instruction (a FROM address with its top bits set is the kernel's:
# the returns to user space); COND split by direction, as perf report's
# statistics split it.
awk '
function above(a, b) { return length(a) != length(b) ? length(a) > length(b) : a > b }
{
	for (i = 1; i <= NF; i++) {
		if (split($i, f, "/") < 7) continue
		t = f[7] == "" ? "N/A" : f[7]
		if (t == "COND") t = above(f[2], f[1]) ? "COND_FWD" : "COND_BWD"
		lvl = (f[1] ~ /^0xffff/) ? "kernel" : "user"
		n[t " " lvl]++
	}
}
END { for (k in n) print k, n[k] }' $work/prog-brstack.txt | sort >$art/prog-types.txt
grep -c . $work/prog-brstack.txt >$art/prog-samples.txt
# An example: of the samples with 4 conditional branches in their stacks,
# the middle one (in the program's hot loop rather than its start-up), raw
# and symbolized (the two scripts print the samples in one order).
n=$(awk '{ c = 0; for (i = 1; i <= NF; i++) if ($i ~ /\/COND$/) c++ } c >= 4 { l[++k] = NR }
	END { if (k) print l[int((k + 1) / 2)] }' $work/prog-brstack.txt)
if [ -n "$n" ]; then
	sed -n "${n}p" $work/prog-brstack.txt >$art/prog-brstack-example.txt
	sed -n "${n}p" $work/prog-brstacksym.txt >$art/prog-brstacksym-example.txt
fi
# The record, to read again on the host (perf report -i, as root).
cp $work/prog.data $art/prog.data
stamp report

wait_live "objects=0 events=0" 20 >/dev/null
cat $D/pmu >$art/pmu-after.txt
step $E_RMMOD_LBRCTX rmmod lbrctx
dmesg >$art/dmesg.txt
stamp done
exit 0
