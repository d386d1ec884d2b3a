#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# perf's own LBR shell tests, tools/perf/tests/shell/test_brstack.sh and
# record_lbr.sh of the perf built by scripts/perf.sh, run against lbrctx
# (loaded by the caller) in a guest:
#
#   sh perftest.sh [PERF [SHELLDIR]]
#
# PERF (or $PERF) is the perf binary (scripts/perf.sh path); SHELLDIR (or
# $PERF_SHELLDIR) is its source's tools/perf/tests/shell, by default the
# one under the tree named in .lbrctx-src beside PERF. A "perf" symlink to
# PERF goes first in PATH, so the tests run that perf.
#
# The tests and the lib/ files they source are copied to /tmp/perftest
# and re-aimed with sed (reaim.sed below); only their events and their
# "cpu" capability gate change:
#   - every perf record that names no event, and every "-e cycles", gets
#     -e lbrctx/lbr/ (timer-sampled, plain LBR: the branch filter of the
#     command line, or --call-graph lbr, chooses the mode);
#   - /sys/bus/event_source/devices/{cpu,cpu_core}/caps/branches becomes
#     /sys/bus/event_source/devices/lbrctx/caps/branches.
# Writes perftest-reaim.diff (the originals against the re-aimed copies),
# perftest-<test>.txt (each test's full output), perftest-brstack-*.txt,
# perftest-results.txt ("ok NAME" / "FAIL NAME: why" / "skip NAME: why":
# one per test script, per sub-test, per filter permutation, and each
# permutation's records holding entries, which test_filter does not ask)
# and perftest.txt, which holds the two lines it also prints:
#   perftest kernel=<release> test_brstack=<ok|FAIL> record_lbr=<ok|FAIL|skipped>
#   brstack kernel=<release> source=hw cond=N uncond=N ind_call=N call=N
#     ret=N filters=<passed>/<total>
# A test is ok when its script exits 0 (2 is its "skip": a FAIL here).
set -u
out=$(pwd)
RESULTS=$out/perftest-results.txt
. ./lib.sh
: >"$RESULTS"
: >"$out/perftest.txt"
EVENT=lbrctx/lbr/
CAPS=/sys/bus/event_source/devices/lbrctx/caps/branches
TESTS="test_brstack record_lbr"
# Bounds each test script (the guest's own timeout bounds the whole run).
TEST_TIMEOUT=${PERFTEST_TIMEOUT:-1500}
rel=$(uname -r | sed 's/-lbrctx$//')
work=/tmp/perftest
rm -rf $work
mkdir -p $work/orig/lib $work/shell/lib $work/bin

say() { echo "$1"; echo "$1" >>"$out/perftest.txt"; }
summary() {
	say "perftest kernel=$rel test_brstack=$1 record_lbr=$2"
	say "brstack kernel=$rel source=hw cond=$3 uncond=$4 ind_call=$5 call=$6 ret=$7 filters=$8"
}
give_up() {
	fail "$1" "$2"
	summary FAIL FAIL 0 0 0 0 0 0/7
	cat "$RESULTS"
	exit 0
}

PERF=${1:-${PERF:-}}
[ -n "$PERF" ] && [ -x "$PERF" ] || give_up perftest_perf_available "no perf binary given ('$PERF')"
SHELLDIR=${2:-${PERF_SHELLDIR:-}}
if [ -z "$SHELLDIR" ] && [ -f "$(dirname "$PERF")/.lbrctx-src" ]; then
	SHELLDIR=$(cat "$(dirname "$PERF")/.lbrctx-src")/tools/perf/tests/shell
fi
[ -f "$SHELLDIR/test_brstack.sh" ] || give_up perftest_sources "no test_brstack.sh in '$SHELLDIR'"
ln -s "$PERF" $work/bin/perf
PATH=$work/bin:$PATH
export PATH
"$PERF" version >"$out/perftest-perf-version.txt" 2>&1
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo 0 >/proc/sys/kernel/kptr_restrict
# perf record's default frequency is 4000 Hz, lowered by perf itself to
# the kernel's perf_event_max_sample_rate. Under TCG most of these tests'
# time is perf record and perf report -D over those samples, so the limit
# is PERFTEST_MAX_RATE (Hz; default 1000; 0 keeps the kernel's), set as an
# administrator would and put back at the end. The tests' checks are
# counts above zero and ratios, which fewer samples keep.
rate=${PERFTEST_MAX_RATE:-1000}
rate_before=$(cat /proc/sys/kernel/perf_event_max_sample_rate)
trap 'echo "$rate_before" >/proc/sys/kernel/perf_event_max_sample_rate' EXIT
[ "$rate" -gt 0 ] && echo "$rate" >/proc/sys/kernel/perf_event_max_sample_rate
echo "perf_event_max_sample_rate=$(cat /proc/sys/kernel/perf_event_max_sample_rate)" >"$out/perftest-rate.txt"

# The re-aiming, applied to each test and each lib/ file it sources
# (which name no event: they come out unchanged):
#   1. "-e cycles" -> "-e lbrctx/lbr/";
#   2. on lines that are no comment and hold no " -e ", a perf record in
#      command position (line start, after a blank or "!") gets
#      "-e lbrctx/lbr/" after "record";
#   3. the cpu and cpu_core PMUs' caps/branches -> lbrctx's.
cat >$work/reaim.sed <<EOF
s#-e cycles\([[:space:]]\|\$\)#-e $EVENT\1#g
/^[[:space:]]*#/!{
/ -e /!s#\(^\|[[:space:]!]\)perf record #\1perf record -e $EVENT #g
}
s#/sys/bus/event_source/devices/\(cpu\|cpu_core\)/caps/branches#$CAPS#g
EOF
cp $work/reaim.sed "$out/perftest-reaim.sed"
: >"$out/perftest-reaim.diff"
reaim_bad=""
for t in $TESTS; do
	cp "$SHELLDIR/$t.sh" $work/orig/
	# The lib/ files the test sources: . "${shelldir}"/lib/NAME
	for l in $(sed -n 's#^[[:space:]]*\. "\${shelldir}"/lib/\([^[:space:]]*\).*#\1#p' "$SHELLDIR/$t.sh"); do
		cp "$SHELLDIR/lib/$l" $work/orig/lib/
	done
done
changed=""
for f in $(cd $work/orig && find . -type f | sort); do
	sed -f $work/reaim.sed "$work/orig/$f" >"$work/shell/$f"
	(cd $work && diff -u "orig/${f#./}" "shell/${f#./}") >>"$out/perftest-reaim.diff" ||
		changed="$changed ${f#./}"
	# Left over: a cycles event, the cpu PMU's caps, or a perf record in
	# command position without exactly one -e, lbrctx's.
	bad=$({
		grep -n -e cycles -e devices/cpu "$work/shell/$f"
		awk -v ev=" -e $EVENT " '!/^[[:space:]]*#/ && /(^|[[:space:]!])perf record / {
			l = $0; if (gsub(/ -e /, "", l) != 1 || !index($0, ev)) print FNR ": " $0 }' "$work/shell/$f"
	} | head -n 2 | tr '\n' ' ')
	[ -n "$bad" ] && reaim_bad="$reaim_bad $f: $bad"
done
expect perftest_reaim "left after sed:$reaim_bad" [ -z "$reaim_bad" ]
echo "re-aimed:$changed; copied unchanged:$(cd $work/orig && find . -type f | sed 's#^\./##' | sort |
	while read -r f; do case " $changed " in *" $f "*) ;; *) printf ' %s' "$f" ;; esac; done)" >"$out/perftest-reaim-files.txt"
chmod +x $work/shell/*.sh

# What a TCG guest's cpu PMU lacks that the scripts touch (named, not run):
skip perftest_brstack_trap_eret_branches "arm64 only (BRBE's IRQ/ERET types, perf test -w traploop); test_brstack.sh skips it itself on $(uname -m)"
say "perftest-note record_lbr 'LBR callgraph': perf report --stitch-lbr stitches a thread's stacks only when they hold max_branches entries, the cpu PMU's caps/branches (perf.data's CPU_PMU_CAPS), which a TCG guest's cpu PMU does not have: the check is perf report's exit status; no stitching is exercised"

# run_test NAME: the re-aimed script, its output in perftest-NAME.txt.
run_test() {
	_s=$(date +%s)
	(cd $work/shell && timeout "$TEST_TIMEOUT" bash ./$1.sh) >"$out/perftest-$1.txt" 2>&1
	_rc=$?
	echo "exit $_rc after $(($(date +%s) - _s)) s" >>"$out/perftest-$1.txt"
	return $_rc
}
# sub NAME LABEL FILE: the last "LABEL [...]" line of a test's output is
# [Passed] or [Success].
sub() {
	_l=$(grep -F "$2 [" "$3" | tail -n 1)
	case $_l in
	*"[Passed]"* | *"[Success]"*) ok "$1" ;;
	"") fail "$1" "not run ($(tail -n 1 "$3"))" ;;
	*) fail "$1" "$(echo "$_l" | sed 's/.*\[/[/')" ;;
	esac
}

res_brstack=FAIL
run_test test_brstack && res_brstack=ok
T=$out/perftest-test_brstack.txt
check perftest_test_brstack "$([ $res_brstack = ok ]; echo $?)" "$(tail -n 1 $T); $(grep -m 1 -E '^skip|missing symbol|Unexpected|\[Failed' $T)"
sub perftest_brstack_user_branches "Testing user branch stack sampling" $T
sub perftest_brstack_syscalls "Testing syscalls" $T
# Its gate (perf record --branch-filter any,k) failing prints this instead.
if grep -q 'Testing that k option \[Skipped' $T; then
	fail perftest_brstack_kernel_branches "$(grep -m 1 'Testing that k option \[Skipped' $T)"
else
	sub perftest_brstack_kernel_branches "Testing kernel branch sampling" $T
fi
# Where the script got to trap & eret, an x86 run must skip it itself.
if grep -q '^Testing trap & eret branches$' $T && [ "$(uname -m)" != aarch64 ] &&
	! grep -q 'Testing trap & eret branches \[Skipped not arm64\]' $T; then
	fail perftest_brstack_trap_eret_self_skip "no '[Skipped not arm64]' line"
fi
# The filter permutations: as the script lists them, then their results
# in order (a permutation's line, then its "filtering [...]" line).
filters=$(sed -n 's/^test_filter[[:space:]]*"\([^"]*\)".*/\1/p' $work/shell/test_brstack.sh)
awk '/^Testing branch stack filtering permutation \(/ {
		s = $0; sub(/^[^(]*\(/, "", s); sub(/,[^,]*\)$/, "", s); f = s; next }
	/^Testing branch stack filtering \[/ && f != "" {
		r = $0; sub(/^[^[]*/, "", r); print f " " r; f = "" }' $T >$work/filters.txt
nf=0 np=0
for f in $filters; do
	nf=$((nf + 1))
	r=$(awk -v f="$f" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' $work/filters.txt)
	n=perftest_brstack_filter_$(echo "$f" | tr , _)
	case $r in
	"[Passed]") ok "$n"; np=$((np + 1)) ;;
	"") fail "$n" "not run ($(tail -n 1 $T))" ;;
	*) fail "$n" "$r" ;;
	esac
done

# test_filter passes a permutation whose samples hold no entries at all
# (perf script prints an empty line for each, the file is not empty and
# no entry breaks the filter): the same records again, here they must
# hold entries.
: >"$out/perftest-brstack-filter-entries.txt"
for f in $filters; do
	perf record -e $EVENT -o $work/filter.data --branch-filter "$f,save_type,u" -- \
		perf test -w brstack >$work/filter-record.txt 2>&1
	rc=$?
	n=$(perf script -i $work/filter.data -F brstack 2>/dev/null | tr -s ' \t' '\n\n' | grep -c /)
	echo "$f record_exit=$rc entries=$n" >>"$out/perftest-brstack-filter-entries.txt"
	expect "perftest_brstack_filter_$(echo "$f" | tr , _)_has_entries" \
		"record exit $rc, $n entries ($(tail -n 1 $work/filter-record.txt))" [ "$n" -gt 0 ]
done

# record_lbr.sh: its system-wide and parallel tests are most of its time
# under TCG (PERFTEST_RECORD_LBR=0 leaves it out, as a quick stock guest
# does).
res_lbr=skipped
if [ "${PERFTEST_RECORD_LBR:-1}" = 1 ]; then
	res_lbr=FAIL
	run_test record_lbr && res_lbr=ok
	T=$out/perftest-record_lbr.txt
	check perftest_record_lbr "$([ $res_lbr = ok ]; echo $?)" "$(tail -n 1 $T); $(grep -m 1 -E '^Skip|Unexpected|\[Failed' $T)"
	# Its tests, as the script names them: LBR callgraph, then "LBR <name> test".
	{
		echo "LBR callgraph"
		sed -n 's/^[[:space:]]*\(parallel_\)\{0,1\}lbr_test "[^"]*" "\([^"$][^"]*\)".*/LBR \2 test/p' $work/shell/record_lbr.sh
	} >$work/lbr-tests.txt
	while IFS= read -r l; do
		sub "perftest_lbr_$(echo "$l" | sed 's/^LBR //; s/ test$//' | tr ' ' _)" "$l" $T
	done <$work/lbr-tests.txt
else
	skip perftest_record_lbr "PERFTEST_RECORD_LBR=0"
fi

# Branch types of the brstack workload in user space, with their types.
perf record -e $EVENT --branch-filter any,save_type,u -o $work/brstack.data -- \
	perf test -w brstack >"$out/perftest-brstack-record.txt" 2>&1
rc=$?
perf script -i $work/brstack.data -F brstack >$work/brstack.script 2>"$out/perftest-brstack-script.err"
# An entry: FROM/TO/EVENTS/INTX/ABORT/CYCLES/TYPE/SPEC.
tr -s ' \t' '\n\n' <$work/brstack.script | awk -F/ 'NF >= 8 { n[$7 == "" ? "-" : $7]++ }
	END { for (t in n) print t, n[t] }' | sort >"$out/perftest-brstack-types.txt"
head -n 50 $work/brstack.script >"$out/perftest-brstack-script-head.txt"
cnt() { awk -v t="$1" '$1 == t { print $2; f = 1 } END { if (!f) print 0 }' "$out/perftest-brstack-types.txt"; }
samples=$(grep -c . $work/brstack.script)
check perftest_brstack_record "$([ $rc -eq 0 ] && [ "$samples" -gt 0 ]; echo $?)" \
	"record exit $rc, $samples samples with branches: $(tail -n 2 "$out/perftest-brstack-record.txt" | tr '\n' ' ')"
missing=""
for t in COND UNCOND IND_CALL CALL RET; do
	[ "$(cnt $t)" -gt 0 ] || missing="$missing $t"
done
expect perftest_brstack_types "none of:$missing ($(tr '\n' ' ' <"$out/perftest-brstack-types.txt"))" [ -z "$missing" ]

summary $res_brstack $res_lbr "$(cnt COND)" "$(cnt UNCOND)" "$(cnt IND_CALL)" "$(cnt CALL)" "$(cnt RET)" "$np/$nf"
cat "$RESULTS"
exit 0
