#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Probe sets of real size (docs/PMU.md, "The user probe set: its size"):
# every exported function of Debian's libsqlite3 and of python3.11,
# written through scripts/lbrctx-uprobes to the debugfs file, each alone
# and both in one set; registration lazy (none without an event, the whole
# set with the first, none after the last); a probe the kernel refuses
# logged and skipped; the memory a probe takes; the time to write and to
# register; and the handlers' lookup at 64 and 4096 probes
# (lbrctx_bench.ko ulookup=1, kunit/bench_ulookup.cpp). Writes the line
# "uprobes kernel=... set=... registered=... write_ms=... lookup_ns_64=...
# lookup_ns_4096=..." to uprobes.txt and the figures behind it to
# uprobes-detail.txt. Sourced by e2e-user.sh (T, UP, work, art, out, the
# result helpers); lbrctx_bench.ko, tailcall and liblz.so are in the
# current directory.

SQ=/usr/lib/x86_64-linux-gnu/libsqlite3.so.0
PY=/usr/bin/python3.11
US=$work/usize
mkdir -p $US
echo >$US/empty.txt
: >$out/uprobes-detail.txt
detail() { echo "$*" >>$out/uprobes-detail.txt; }
# The write() of FILE's lines, timed by lbrctx-tool: "<errno name> <ms>".
timed_write() {
	$T writetime $UP "$1" | awk '{ sub(/^ns=/, "", $2); printf "%s %.1f\n", $1, $2 / 1e6 }'
}
# hold NAME SPEC...: an event held open in the background until unhold
# NAME; held_ms NAME: the time its open took.
hold() {
	_n=$1
	shift
	$T hold 900 "$@" >$US/hold-$_n.txt 2>&1 &
	echo $! >$US/hold-$_n.pid
	_i=0
	while [ $_i -lt 150 ] && ! grep -q '^opened' $US/hold-$_n.txt; do sleep 0.2; _i=$((_i + 1)); done
}
held_ms() { awk '/^opened ns=/ { sub(/^ns=/, "", $2); printf "%.1f\n", $2 / 1e6 }' $US/hold-$1.txt; }
unhold() {
	_p=$(cat $US/hold-$1.pid)
	kill $_p 2>/dev/null
	wait $_p 2>/dev/null
}
# wait_registered N: until N probes are registered (the reap of the last
# event's runs on a workqueue), at most 30 s; prints the count.
wait_registered() {
	_i=0
	while [ $_i -lt 150 ] && [ "$(stat_of pmu uprobes_registered)" != "$1" ]; do sleep 0.2; _i=$((_i + 1)); done
	stat_of pmu uprobes_registered
}
kib() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

# 1. A whole library, a whole program, both: through the tool, read back.
$T write $UP "" >/dev/null
ok_sets=1
for what in sqlite:$SQ python:$PY; do
	name=${what%%:*} file=${what#*:}
	if [ ! -e "$file" ]; then
		fail "uprobes_whole_${name}_through_the_tool" "$file is not installed"
		ok_sets=0
		continue
	fi
	"$UPROBES_TOOL" "$file:*" >$US/set-$name.txt 2>$US/tool-$name.txt
	"$UPROBES_TOOL" --write "$file:*" >/dev/null 2>>$US/tool-$name.txt
	rc=$?
	n=$(wc -l <$US/set-$name.txt)
	eval "n_$name=$n"
	cat $UP >$US/read-$name.txt
	[ $rc -eq 0 ] && cmp -s $US/read-$name.txt $US/set-$name.txt && [ "$(stat_of pmu uprobes)" = "$n" ]
	check "uprobes_whole_${name}_through_the_tool" $? \
		"rc $rc, $n lines, the set holds $(stat_of pmu uprobes): $(head -c 300 $US/tool-$name.txt | tr '\n' ' ')"
done
if [ $ok_sets = 1 ]; then
	cat $US/set-sqlite.txt $US/set-python.txt >$US/set-both.txt
	"$UPROBES_TOOL" --write "$SQ:*" "$PY:*" >/dev/null 2>$US/tool-both.txt
	rc=$?
	n=$(wc -l <$US/set-both.txt)
	[ $rc -eq 0 ] && cat $UP | cmp -s - $US/set-both.txt && [ "$(stat_of pmu uprobes)" = "$n" ]
	check uprobes_library_and_program_in_one_set $? \
		"rc $rc, $n lines, the set holds $(stat_of pmu uprobes): $(head -c 300 $US/tool-both.txt | tr '\n' ' ')"
	expect uprobes_set_holds_at_least_1370 "$n probes" [ "$n" -ge 1370 ]
	detail "uprobes-set libsqlite3=$n_sqlite python3.11=$n_python both=$n bytes_of_text_written=$(wc -c <$US/set-both.txt)"

	# 2. Memory: the set's block (kvmalloc) and the kernel's own per registered uprobe.
	bytes=$(stat_of pmu uprobes_bytes) text=$(stat_of pmu uprobes_text_bytes) psize=$(stat_of pmu uprobe_size)
	grep 'lbrctx' /proc/vmallocinfo >$art/uprobes-vmallocinfo.txt
	vm=$(awk '/UserSource|lbrctx_shim_kvzalloc/ { s += $2 } END { print s + 0 }' $art/uprobes-vmallocinfo.txt)
	reg0=$(stat_of pmu uprobes_registered)
	expect uprobes_none_registered_without_an_event "registered $reg0" [ "$reg0" = 0 ]

	# 3. Time: the write without events (nothing registers), the first
	# event's open with the set and with none (registration: the
	# difference), a second per-task event (re-applied: each probe's other
	# consumer registered, the first unregistered), and the write with an
	# event open (the set registered as it is taken). A kernel-only event
	# holds the kernel probes meanwhile, so that no open registers those.
	hold keeper config=0x100 exclude=user pid=self
	set -- $(timed_write $US/set-both.txt) $(timed_write $US/set-both.txt) $(timed_write $US/set-both.txt)
	w_noev=$(median3 "$2" "$4" "$6")
	expect uprobes_write_without_an_event "$1 $3 $5" [ "$1 $3 $5" = "ok ok ok" ]
	o_empty="" o_set=""
	for i in 1 2 3; do
		$T write $UP "" >/dev/null
		hold empty config=0x100 pid=self
		o_empty="$o_empty $(held_ms empty)"
		unhold empty
		$T write $UP @$US/set-both.txt >/dev/null
		s0=$(kib SUnreclaim)
		hold first config=0x100 pid=self
		o_set="$o_set $(held_ms first)"
		s1=$(kib SUnreclaim)
		reg1=$(stat_of pmu uprobes_registered)
		[ $i = 3 ] && break
		unhold first
		wait_registered 0 >/dev/null
	done
	open_empty=$(median3 $o_empty) open_set=$(median3 $o_set)
	expect uprobes_first_event_registers_the_set "registered $reg1 of $n" [ "$reg1" = "$n" ]
	hold second config=0x100 pid=self
	open_second=$(held_ms second)
	unhold second
	w_c="" w_e=""
	for i in 1 2 3; do
		set -- $(timed_write $US/empty.txt)
		w_c="$w_c $2"
		set -- $(timed_write $US/set-both.txt)
		w_e="$w_e $2"
	done
	w_clear=$(median3 $w_c) w_ev=$(median3 $w_e)
	reg2=$(stat_of pmu uprobes_registered)
	expect uprobes_write_with_an_event_registers_the_set "$1, registered $reg2 of $n" [ "$1" = ok -a "$reg2" = "$n" ]
	unhold first
	reg3=$(wait_registered 0)
	unhold keeper
	expect uprobes_last_event_unregisters_the_set "registered $reg3" [ "$reg3" = 0 ]
	reg_1000=$(awk -v a="$open_set" -v b="$open_empty" -v n="$n" 'BEGIN { printf "%.1f", (a - b) * 1000 / n }')
	detail "uprobes-memory probes=$n set_bytes=$bytes per_probe=$((bytes / n)) probe_size=$psize text_per_probe=$((text / n)) vmalloc_bytes=$vm kernel_slab_kib_per_1000=$(( (s1 - s0) * 1000 / n ))"
	detail "uprobes-time probes=$n write_ms=$w_noev write_with_event_ms=$w_ev clear_with_event_ms=$w_clear first_event_open_ms=$open_set empty_set_open_ms=$open_empty register_ms_per_1000=$reg_1000 second_event_open_ms=$open_second"
	$T write $UP "" >/dev/null
fi

# 4. A probe the kernel refuses (hlt, which uprobes cannot single-step) is
# logged and skipped; the set's other probe registers.
if [ ! -f ./tailcall ]; then
	skip uprobes_kernel_refusal_is_logged_and_skipped "no tailcall in this guest"
else
	cp ./tailcall ./liblz.so $US/ && chmod 755 $US/tailcall
	$US/tailcall sleep 60 &
	sleeper=$!
	"$UPROBES_TOOL" --write "$US/tailcall:inner,refused" >$US/refused-set.txt 2>&1
	n0=$(dmesg | grep -c 'lbrctx: uprobes: .* not probed')
	hold wide config=0x100 pid=-1 cpu=0
	reg=$(stat_of pmu uprobes_registered)
	n1=$(dmesg | grep -c 'lbrctx: uprobes: .* not probed')
	unhold wide
	kill $sleeper 2>/dev/null
	wait $sleeper 2>/dev/null
	dmesg | grep 'lbrctx: uprobes: .* not probed' | tail -n $((n1 - n0)) >$art/uprobes-refused.txt
	[ "$reg" = 1 ] && [ $((n1 - n0)) -eq 1 ] && grep -q "tailcall 0x[0-9a-f]* refused not probed" $art/uprobes-refused.txt
	check uprobes_kernel_refusal_is_logged_and_skipped $? \
		"registered $reg of 2, $((n1 - n0)) lines: $(tr '\n' ' ' <$art/uprobes-refused.txt)"
	wait_registered 0 >/dev/null
	$T write $UP "" >/dev/null
fi

# 5. The handlers' lookup at 64 and 4096 probes: consecutive offsets of
# python3.11's code (nothing registers: the lookup reads the set alone).
lookup() { # N: "<ps> <hits> <call_ps>"
	awk -v p="$PY" -v o="$PYOFF" -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%s %#x f%d\n", p, o + i, i }' \
		>$US/lookup-$1.txt
	if [ "$($T write $UP @$US/lookup-$1.txt)" = ok ] && insmod ./lbrctx_bench.ko ulookup=1; then
		rmmod lbrctx_bench
		dmesg | grep "bench: ulookup probes=$1 " | tail -n 1 |
			sed 's/.* ps=\([0-9]*\) call_ps=\([0-9]*\) hits=\([0-9]*\).*/\1 \3 \2/'
	fi
}
PYOFF=$(printf '%d' "$("$UPROBES_TOOL" "$PY:Py_Main" 2>/dev/null | awk '{ print $2 }')" 2>/dev/null)
set --
[ -f ./lbrctx_bench.ko ] && set -- $(lookup 64) $(lookup 4096)
ps64=${1:-} hits64=${2:-} call64=${3:-} ps4096=${4:-} hits4096=${5:-} call4096=${6:-}
$T write $UP "" >/dev/null
if [ -f ./lbrctx_bench.ko ]; then
	expect uprobes_lookup_measured_at_64_and_4096 "ps $ps64 $ps4096, hits $hits64 $hits4096 (of 4194304)" \
		[ -n "$ps4096" -a "$hits64" = 4194304 -a "$hits4096" = 4194304 ]
	expect uprobes_lookup_does_not_grow_with_the_set "ps at 64: $ps64, at 4096: $ps4096" \
		[ "${ps4096:-1}" -le $((2 * ${ps64:-0})) ]
else
	skip uprobes_lookup_measured_at_64_and_4096 "no lbrctx_bench.ko in this guest (no KUnit)"
fi
detail "uprobes-lookup ps_64=$ps64 ps_4096=$ps4096 empty_call_ps_64=$call64 empty_call_ps_4096=$call4096"
ns() { awk -v p="$1" 'BEGIN { printf "%d", p / 1000 + 0.5 }'; }
echo "uprobes kernel=$(uname -r | sed 's/-lbrctx$//') set=${n:-0} registered=${reg2:-0} write_ms=$(awk -v m="${w_ev:-0}" 'BEGIN { printf "%d", m + 0.5 }') lookup_ns_64=$(ns "${ps64:-0}") lookup_ns_4096=$(ns "${ps4096:-0}")" \
	>$out/uprobes.txt
