#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest end-to-end tests of lbrctx's user branch source with Debian's perf:
# perf's LBR call-graph mode on a probed program, seed 003's experiment as
# the seed ran it (its seed003u line), the user-probe bad-input table,
# isolation of user records, probed binaries that go away, functions
# entered by tail calls (tailcall.sh) and probe sets of real size
# (uprobes-size.sh, its uprobes line). Run by kunit.sh after e2e.sh, with
# lbrctx loaded. Writes "ok NAME"/"FAIL NAME: why" lines to
# e2e-user-results.txt and perf's outputs to e2e-user/.
set -u
out=$(pwd)
RESULTS=$out/e2e-user-results.txt
. ./lib.sh
art=$out/e2e-user
mkdir -p "$art"
: >"$RESULTS"
work=/tmp/e2e-user
mkdir -p $work && chmod 1777 $work
PERF=perf
T=$out/lbrctx-tool
UP=$D/uprobes
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 0 >/proc/sys/kernel/kptr_restrict
have_kmemleak && UROUNDS=${UROUNDS:-20}
# 1 ms spins, not the seed's 300 us: 50 samples in f3 per mode even when
# TCG starves the guest (a loaded 6.1 guest once had 41 at 300 us).
USPIN=${USPIN:-1000}

# The probed program lives on tmpfs: uprobes read its pages (read_folio or
# shmem); the 9p results share is checked on its own below.
TCHAIN=$work/tchain
cp ./tchain $TCHAIN && chmod 755 $TCHAIN
. ./seed003u.sh

# 1. Naming what to probe: the resolution tool and the debugfs file.
uprobes_set >$art/uprobes-set.txt 2>&1
check uprobes_tool_writes_the_set $? "$(tr '\n' ' ' <$art/uprobes-set.txt)"
cat $UP >$art/uprobes-file.txt
[ "$(grep -c " main$\| f1$\| f2$\| f3$\| mark_a$\| mark_b$" $art/uprobes-file.txt)" = 6 ] &&
	cmp -s $art/uprobes-file.txt $art/uprobes-set.txt
check uprobes_file_reads_back_the_set $? "$(tr '\n' ' ' <$art/uprobes-file.txt)"
"$UPROBES_TOOL" "$TCHAIN:no_such_function" >$art/tool-nomatch.txt 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "matches no function" $art/tool-nomatch.txt
check uprobes_tool_refuses_a_glob_that_matches_nothing $? "rc $rc: $(cat $art/tool-nomatch.txt)"
F3=$(awk '$3 == "f3" { print $2 }' $art/uprobes-file.txt)
F2=$(awk '$3 == "f2" { print $2 }' $art/uprobes-file.txt)

# 2. Seed 003's experiment: per-process, system-wide, system-wide without
# save/restore.
P=/sys/module/lbrctx/parameters/save_restore
echo Y >$P
urecord per-process
urecord system-wide -a
echo N >$P
urecord system-wide-nosave -a
echo Y >$P
for m in per-process system-wide system-wide-nosave; do
	check "perf_record_call_graph_lbr_${m}_succeeds" "$(cat $art/urecord-$m.rc)" \
		"$(tail -n 3 $art/urecord-$m.txt | tr '\n' ' ')"
done
set -- $(ucompleteness per-process); pp_c=$1 pp_n=$2
set -- $(ucompleteness system-wide); sw_c=$1 sw_n=$2
set -- $(ucompleteness system-wide-nosave); ns_c=$1 ns_n=$2
pct() { awk -v c="$1" -v n="$2" 'BEGIN { if (n) printf "%.1f", 100 * c / n; else printf "0.0" }'; }
pp=$(pct $pp_c $pp_n) sw=$(pct $sw_c $sw_n) ns=$(pct $ns_c $ns_n)
echo "seed003u kernel=$(uname -r | sed 's/-lbrctx$//') source=probes per-process=$pp system-wide=$sw system-wide-nosave=$ns samples=$((pp_n + sw_n + ns_n))" >$out/seed003u.txt
echo "per-process $pp_c/$pp_n system-wide $sw_c/$sw_n system-wide-nosave $ns_c/$ns_n" >$art/seed003u-counts.txt
for m in pp sw ns; do
	eval "n=\$${m}_n"
	expect "seed003u_${m}_has_samples_in_f3" "$n samples in f3" [ "$n" -ge 50 ]
done
expect seed003u_system_wide_complete_at_least_99_5 "system-wide $sw%" at_least "$sw" 99.5
expect seed003u_system_wide_within_half_a_point_of_per_process "system-wide $sw% per-process $pp%" \
	within "$sw" "$pp" 0.5
expect seed003u_nosave_shows_short_stacks "nosave $ns% system-wide $sw%" \
	at_least "$sw" "$(awk -v n="$ns" 'BEGIN { print n + 10 }')"

# 3. perf's views of the user LBR call graph, symbolized, in order.
# chain_in FILE A B C [D]: the report's call-graph lines name A, B, C, D one
# after the other (the last word of each line, graph decoration aside:
# "|" lines and a branch's "|--N%--" or "--N%--" prefix; of two sibling
# branches, the first).
chain_in() {
	awk -v s="$2 $3 $4 ${5:-}" 'BEGIN { n = split(s, want, " ") }
		$NF == "|" || NF == 0 { next }
		{ w = $NF; sub(/^\|/, "", w); sub(/^-+/, "", w); sub(/^[0-9.]+%-+/, "", w) }
		w == want[i + 1] { i++; if (i == n) { found = 1; exit } next }
		{ i = (w == want[1]) ? 1 : 0 }
		END { exit !found }' "$1"
}
# report OUT DATA FALLBACK ARGS...: perf report -i DATA ARGS into OUT.
# perf 6.1 itself crashes now and then on a system-wide LBR call-graph
# record (a general protection fault in perf, seen on 6.12 and 7.3.4, twice
# on the same file): perf reads entries[0] of every branch stack
# (lbr_callchain_add_lbr_ip), also of the empty ones that the -a record's
# unprobed programs have. The crash's output (OUT.crash) and the data file
# are kept, and the report is made of FALLBACK (the per-process record,
# where only tchain's startup has empty stacks) instead.
report() {
	_o=$1 _d=$2 _f=$3
	shift 3
	$PERF report -i $_d "$@" >$_o 2>&1
	_rc=$?
	if [ $_rc -ge 128 ]; then
		mv $_o $_o.crash
		echo "perf report -i $_d $* exited $_rc; reporting $_f instead" >>$_o.crash
		cp $_d $art/ 2>/dev/null
		$PERF report -i $_f "$@" >$_o 2>&1
	fi
}
# perf report, callee first (the default) and caller first (-G, -g caller).
# Callee first, fractal: each branch's share of its parent, so f3's chain
# shows at the default 0.5% however small f3's share of all samples (under
# 0.5% on the debug kernels). Caller first, -g ...,0: every call graph.
report $art/report-callee.txt $work/u-system-wide.data $work/u-per-process.data --stdio --no-children -g fractal,0.5,callee \
	--comm tchain
chain_in $art/report-callee.txt f3 f2 f1 main
check perf_report_shows_the_user_chain_callee_first $? "$(grep -m1 -A6 '\[\.\] f3' $art/report-callee.txt | tr '\n' ' ')"
chain_in $art/ureport-system-wide.txt main f1 f2 f3
check perf_report_caller_graph_shows_main_f1_f2_f3 $? "$(grep -m1 -A8 '\[\.\] f3' $art/ureport-system-wide.txt | tr '\n' ' ')"
report $art/report-caller.txt $work/u-system-wide.data $work/u-per-process.data --stdio --no-children -g graph,0,caller \
	--comm tchain
chain_in $art/report-caller.txt main f1 f2 f3
check perf_report_g_caller_symbolizes $? "$(grep -m1 -A8 '\[\.\] f3' $art/report-caller.txt | tr '\n' ' ')"
awk 'p && /^[ \t]+[0-9a-f]+ f3$/ { a = 1; p = 0; next } a == 1 && / f2$/ { a = 2; next } a == 2 && / f1$/ { a = 3; next }
	a == 3 && / main$/ { found = 1 } /^[^ \t]/ { p = 1; a = 0 } END { exit !found }' $work/uscript-system-wide.txt
check perf_script_shows_the_user_callchain $? "$(grep -m1 -A5 '^tchain' $work/uscript-system-wide.txt | tr '\n' ' ')"
# A user-only branch stack, sampled in kernel mode too (a sleep in f3): the
# kernel part of the call graph, then the user chain from the branch stack.
awk 'p && /^[ \t]+[0-9a-f]+ [a-z_]/ && $2 !~ /^(f[123]|main)$/ { k = 1 } /^[^ \t]/ { p = 1; k = 0; a = 0; next }
	k && / f3$/ { a = 1; next } a == 1 && / f2$/ { a = 2; next } a == 2 && / f1$/ { found = 1 }
	END { exit !found }' $work/uscript-system-wide.txt
check perf_script_kernel_samples_resolve_the_user_chain $? "no kernel-mode sample with f3 f2 f1 under it"
# --branch-history: the branch stack itself (-j), user calls and returns.
# On a stock kernel (no vmlinux) perf reads kernel srclines through
# addr2line on /proc/kcore, which fails, and the report comes out empty
# (seen on Debian's 6.1 image): there the samples are user-mode only (/u).
bh_ev=lbrctx/callstack/
[ -n "${STOCK:-}" ] && bh_ev=lbrctx/callstack/u
$PERF record -B -N -q -e $bh_ev -F 4000 -j any_call,any_ret,u -o $work/u-bh.data -- \
	$TCHAIN 40 1000 >$art/record-bh.txt 2>&1
$PERF report -i $work/u-bh.data --branch-history --stdio --no-children >$art/report-branch-history.txt 2>&1
grep -q 'f2' $art/report-branch-history.txt && grep -q 'f3' $art/report-branch-history.txt
check perf_report_branch_history_shows_user_functions $? "$(grep -v '^#' $art/report-branch-history.txt | head -n 6 | tr '\n' ' ')"
$PERF script -i $work/u-bh.data -F ip,sym,brstacksym >$art/script-bh.txt 2>&1
grep -q 'f2+0x[0-9a-f]*/f3+' $art/script-bh.txt
check perf_script_brstacksym_shows_user_calls $? "$(head -n 3 $art/script-bh.txt | tr '\n' ' ')"

# 4. Isolation: per-process, task B (mark_b) never sees task A's user
# functions (mark_a), while A runs on the same CPU under a system-wide
# event of another configuration (kernel and user, no branch stack).
rm -f $work/iso-stop
$PERF stat -a -e lbrctx/callstack/ -o $art/iso-sw.txt -- sh -c "while [ ! -f $work/iso-stop ]; do sleep 0.2; done" &
sw=$!
taskset -c 1 sh -c "while [ ! -f $work/iso-stop ]; do $TCHAIN 4 300 a; done" &
a=$!
sleep 0.5
$PERF record -B -N -q -F 4000 -e lbrctx/callstack/ --call-graph lbr -o $work/iso.data -- \
	taskset -c 1 $TCHAIN 24 300 b >$art/iso-record.txt 2>&1
touch $work/iso-stop
wait $a $sw
$PERF script -i $work/iso.data -F comm,tid,ip,sym >$art/iso-script.txt 2>&1
nb=$(grep -c ' mark_b$' $art/iso-script.txt)
na=$(grep -c ' mark_a$' $art/iso-script.txt)
echo "isolation-user samples_with_b=$nb samples_with_a=$na" >$art/isolation.txt
expect isolation_user_own_marker_seen "no call graph holds mark_b" [ "$nb" -gt 0 ]
expect isolation_user_no_foreign_marker "$na call graphs of B hold A's mark_a" [ "$na" -eq 0 ]

# 5. Bad input: each row's errno, its one dmesg line (a refusal) or none
# (a set taken), and the set unchanged after a refusal. The refusals share
# one rate limit (10 lines in 5 s): they are written at most one each
# 0.6 s, so that each row's own line is there to count.
mkdir -p $work/dir
echo "not an ELF file" >$work/dir/text.txt
uprobes_set >/dev/null 2>&1
cat $UP >$work/set-before.txt
F3DEC=$(printf '%d' "$F3")
sed -e "s|TCHAIN|$TCHAIN|g; s|WORK|$work/dir|g; s|F3DEC|$F3DEC|g; s|F3|$F3|g; s|F2|$F2|g" \
	./uprobe-table.txt >$work/uprobe-table.txt
# The limits (docs/PMU.md): 16384 probes, 4 MiB of text.
awk -v t="$TCHAIN" -v o="$F3DEC" 'BEGIN { for (i = 0; i <= 16384; i++) printf "%s %#x f%d\n", t, o + i, i }' \
	>$work/too-many.txt
head -c 4194304 /dev/zero | tr '\0' 'x' >$work/too-long.txt
refusals() { dmesg | grep -c 'lbrctx: uprobes:'; }
: >$art/uprobe-refusals.txt
while read -r name want text; do
	case $name in '#'* | '') continue ;; esac
	case $name in
	too_many) text=@$work/too-many.txt ;;
	too_long) text=@$work/too-long.txt ;;
	esac
	[ "$want" = ok ] || sleep 0.6
	n0=$(refusals)
	got=$($T write $UP "$text")
	n1=$(refusals)
	if [ "$got" = "$want" ]; then ok "uprobe:$name"; else fail "uprobe:$name" "got $got, want $want"; fi
	if [ "$want" != ok ]; then
		echo "$name: $(dmesg | grep 'lbrctx: uprobes:' | tail -n $((n1 - n0)) | tr '\n' ' ')" >>$art/uprobe-refusals.txt
		expect "uprobe:${name}_logs_one_line" "$((n1 - n0)) lines: $(dmesg | grep 'lbrctx: uprobes:' | tail -n 2 | tr '\n' ' ')" \
			[ $((n1 - n0)) -eq 1 ]
		cat $UP | cmp -s - $work/set-before.txt
		check "uprobe:${name}_leaves_the_set" $? "set now: $(head -c 300 $UP | tr '\n' ' ')"
	else
		expect "uprobe:${name}_logs_nothing" "$((n1 - n0)) lines: $(dmesg | grep 'lbrctx: uprobes:' | tail -n 2 | tr '\n' ' ')" \
			[ $((n1 - n0)) -eq 0 ]
	fi
	uprobes_set >/dev/null 2>&1
	cat $UP >$work/set-before.txt
done <$work/uprobe-table.txt

# 6. Guest realities: 9p. Its inodes have read_folio (v9fs_addr_operations
# in every cache mode), so registration takes a binary there. On the root
# (cache=loose) a lookup finds the probed inode again, and the probes fire;
# on the results share (no cache=) every lookup makes a new inode, so the
# program run there is not the probed inode and records nothing.
branches_u() { # COMMAND...: user branches lbrctx recorded while it ran
	$PERF stat -x, -e lbrctx/branches/u -o $work/stat.txt -- "$@" >/dev/null 2>&1
	awk -F, '/lbrctx/ { print $1 }' $work/stat.txt
}
if [ -n "${STOCK:-}" ]; then
	skip uprobes_on_the_9p_root_record "a stock kernel's guest root is an overlay over the 9p root"
elif [ -x "${TCHAIN_HOST:-}" ]; then
	F3H=$("$UPROBES_TOOL" "$TCHAIN_HOST:f3" | awk '{ print $2 }')
	got=$($T write $UP "$TCHAIN_HOST $F3H f3")
	n=$(branches_u $TCHAIN_HOST 2 100)
	expect uprobes_on_the_9p_root_record "write $got, branches '$n'" test "$got" = ok -a "${n:-0}" -ge 2
else
	fail uprobes_on_the_9p_root_record "no TCHAIN_HOST ('${TCHAIN_HOST:-}')"
fi
got=$($T write $UP "$out/tchain $F3 f3")
n=$(branches_u $out/tchain 2 100)
expect uprobes_on_9p_without_cache_find_a_new_inode "write $got, branches '$n'" test "$got" = ok -a "${n:-1}" -eq 0
# Probes on a running process's binary apply to it at once: a user-only
# count of a process started before the set was written.
$T write $UP "" >/dev/null
$TCHAIN 1 100 - 100000 &
run=$!
sleep 0.3
uprobes_set >/dev/null 2>&1
$PERF stat -x, -e lbrctx/branches/u -p $run -o $art/running-stat.txt -- sleep 0.5 >/dev/null 2>&1
kill $run 2>/dev/null
wait $run
n=$(awk -F, '/lbrctx/ { print $1 }' $art/running-stat.txt)
expect uprobes_apply_to_a_running_process "branches '$n'" [ "${n:-0}" -gt 0 ]
# A probed binary deleted while its probes are live, and one renamed over:
# the probes keep the old inode; nothing leaks or oopses (the console check).
cp $TCHAIN $work/tdel && chmod 755 $work/tdel
"$UPROBES_TOOL" --write "$work/tdel:f1,f2,f3" >/dev/null 2>&1
n=$(branches_u sh -c "$work/tdel 4 100 & sleep 0.1; rm $work/tdel; wait")
expect uprobes_on_a_deleted_binary_keep_recording "branches '$n'" [ "${n:-0}" -gt 0 ]
cp $TCHAIN $work/tmv && chmod 755 $work/tmv
"$UPROBES_TOOL" --write "$work/tmv:f1,f2,f3" >/dev/null 2>&1
cp $TCHAIN $work/tmv.new && mv $work/tmv.new $work/tmv
n=$(branches_u $work/tmv 2 100)
expect uprobes_stay_on_the_old_inode_after_a_rename_over_it "branches '$n' on the new file" [ "${n:-1}" -eq 0 ]
$T write $UP "" >/dev/null
expect uprobes_set_empties "$(cat $UP)" [ ! -s $UP ]

# 7. Functions entered by tail calls (tailcall.sh), and probe sets of real
# size (uprobes-size.sh: the uprobes line), where the guest was given them
# (make check's KUnit guests are; the stock images' guests are not).
for part in tailcall uprobes-size; do
	if [ -f ./$part.sh ]; then
		. ./$part.sh
	else
		skip "$part" "no $part.sh in this guest"
	fi
done
uprobes_set >/dev/null 2>&1
cat $D/pmu >$art/pmu-after.txt
exit 0
