#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Tail calls (docs/PMU.md, "User-space call stacks"): probed functions
# entered by a jmp from another probed function find the uretprobe
# trampoline as their return address. qemu/guest/tailcall.c (main -> work
# -> outer --jmp--> inner, twice --jmp--> outer --jmp--> inner) and its
# libz-style liblz.so (lz_crc32 --jmp--> lz_crc32_z, through the PLT),
# recorded with perf's LBR call-graph mode: every record's FROM and TO
# lie in the program's file mappings, perf report -G shows no 0x7fff...
# frame, and the tail-called functions' calls come from work's call
# sites. Sourced by e2e-user.sh (PERF, work, art, the result helpers);
# tailcall and liblz.so are in the current directory.

TC=$work/tailcall
mkdir -p $TC
cp ./tailcall ./liblz.so $TC/ && chmod 755 $TC/tailcall
"$UPROBES_TOOL" --write "$TC/tailcall:main,work,outer,twice,inner" "$TC/liblz.so:lz_crc32,lz_crc32_z" \
	>$art/tailcall-set.txt 2>&1
check tailcall_probes_set $? "$(tr '\n' ' ' <$art/tailcall-set.txt)"
tail0=$(stat_of pmu uprobe_tailcalls)
$PERF record -B -N -q -F 4000 -e lbrctx/callstack/u --call-graph lbr -o $work/tailcall.data -- \
	$TC/tailcall ${TCROUNDS:-300} $art/tailcall-maps.txt >$art/tailcall-record.txt 2>&1
check tailcall_record_succeeds $? "$(tail -n 3 $art/tailcall-record.txt | tr '\n' ' ')"
tail1=$(stat_of pmu uprobe_tailcalls)
echo "uprobe_tailcalls ${tail0:-none} -> ${tail1:-none}" >$art/tailcall-counts.txt
expect tailcall_calls_take_the_kernels_return_address "uprobe_tailcalls ${tail0:-none} -> ${tail1:-none}" \
	[ "${tail1:-0}" -gt "${tail0:-0}" ]

# Every record's addresses against the file mappings (16 hex digits compare as strings).
$PERF script -i $work/tailcall.data --comm tailcall -F brstack >$work/tailcall-brstack.txt 2>&1
awk 'function pad(a) { sub(/^0x/, "", a); a = tolower(a); while (length(a) < 16) a = "0" a; return a }
	FNR == 1 { file++ }
	file == 1 { if ($6 ~ /^\//) { split($1, r, "-"); n++; lo[n] = pad(r[1]); hi[n] = pad(r[2]) } next }
	{ for (i = 1; i <= NF; i++) {
		if ($i !~ /^0x[0-9a-f]+\/0x[0-9a-f]+\//) continue
		split($i, f, "/")
		for (k = 1; k <= 2; k++) {
			a = pad(f[k]); total++; inside = 0
			for (j = 1; j <= n; j++) if (a >= lo[j] && a < hi[j]) { inside = 1; break }
			if (!inside) { out++; if (out <= 5) bad = bad " " f[k] }
		}
	} }
	END { printf "addresses=%d outside=%d%s\n", total, out, bad ? " first:" bad : "" }' \
	$art/tailcall-maps.txt $work/tailcall-brstack.txt >$art/tailcall-addresses.txt
echo "$(cat $art/tailcall-addresses.txt)" | grep -q '^addresses=[1-9][0-9]* outside=0$'
check tailcall_records_lie_in_the_programs_mappings $? "$(cat $art/tailcall-addresses.txt)"

# The tail-called functions' calls come from work (the call that entered their tail caller).
$PERF script -i $work/tailcall.data --comm tailcall -F brstacksym >$work/tailcall-brstacksym.txt 2>&1
head -n 50 $work/tailcall-brstacksym.txt >$art/tailcall-brstacksym-head.txt
for f in inner lz_crc32_z; do
	grep -q "work+0x[0-9a-f]*/$f+0x0/" $work/tailcall-brstacksym.txt
	check "tailcall_${f}_is_called_from_work" $? "no record work+.../$f+0x0 ($(grep -o "[^ ]*/$f+0x0/[^ ]*" $work/tailcall-brstacksym.txt | sort | uniq -c | sort -rn | head -n 3 | tr '\n' ' '))"
done

# perf report -G: the callers of the tail-called functions, and no made-up frame.
$PERF report -i $work/tailcall.data --stdio --no-children -G --comm tailcall >$art/tailcall-report.txt 2>&1
n=$(grep -c '0x7fff' $art/tailcall-report.txt)
expect tailcall_report_has_no_0x7fff_frame "$n lines: $(grep -m 3 '0x7fff' $art/tailcall-report.txt | tr '\n' ' ')" [ "$n" -eq 0 ]
chain_in $art/tailcall-report.txt main work inner
check tailcall_report_shows_main_work_inner $? "$(grep -m1 -A8 '\[\.\] inner' $art/tailcall-report.txt | tr '\n' ' ')"
chain_in $art/tailcall-report.txt main work lz_crc32_z
check tailcall_report_shows_main_work_lz_crc32_z $? "$(grep -m1 -A8 '\[\.\] lz_crc32_z' $art/tailcall-report.txt | tr '\n' ' ')"
