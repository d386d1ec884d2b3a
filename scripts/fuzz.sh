#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# lbrctx under a syscall fuzzer: Debian's trinity, aimed at
# perf_event_open, ioctl, read, mmap and close and at lbrctx's debugfs
# files, in a 4-vCPU guest of the 7.x debug kernel (KASAN, lockdep,
# kmemleak), with lbrctx loaded and then without it, as the baseline, in
# the same boot (qemu/guest/fuzz.sh says how).
#
#   scripts/fuzz.sh               build lbrctx for the kernel, boot the guest,
#                                 print the result lines and the fuzz line
#   FUZZ_LONG=1 scripts/fuzz.sh   the long form (make check-all)
#   scripts/fuzz.sh report DIR    the result lines and the fuzz line of a
#                                 finished guest (DIR: run.sh's --out)
#   scripts/fuzz.sh cmd           the guest command (FUZZ_* passed on)
#   scripts/fuzz.sh append        the guest's extra kernel command line
#   scripts/fuzz.sh pkgs          install trinity (as root; else the apt line)
#
# It passes when the guest ran to its end; no oops, BUG, WARNING, KASAN,
# lockdep, UBSAN, stall or kmemleak report of the lbrctx runs (from insmod
# to rmmod, and the boot) is beyond the baseline's: a report is the
# baseline's when one of the same kind and place (its first line, and the
# function of its RIP line, without times, CPUs, tasks and offsets) came
# in the baseline, and it never is when its text names lbrctx (a frame of
# the module; the "Modules linked in:" line aside); rmmod lbrctx works;
# the store's objects and the PMU's events are back to 0; and some opens
# reached lbrctx. An allocation failure or an OOM kill is a note, not a
# report, unless it names lbrctx. run.sh's own status, which any report
# fails, is not used: the baseline may have reports. The fuzz line:
#
#   fuzz kernel=<release>[-debug] seeds=<n> syscalls=<n> lbrctx_opens=<n>
#        lbrctx_ok=<n> reports=<n> baseline_reports=<n>
#
# syscalls: the syscalls trinity's children made in the lbrctx runs (both
# users, every seed; its own count); lbrctx_opens: the perf_event_open
# calls of lbrctx's type that reached its event_init (lbrctx's debugfs
# counter "opens", inherited events aside; trinity's main process's perf
# fd provider included, whose calls trinity does not count as syscalls);
# lbrctx_ok: those event_init accepted ("opens" less "opens_refused");
# reports: those beyond the baseline; baseline_reports: the baseline's
# own. DIR/fuzz/summary.txt has the runs and every report, each report's
# console text is in DIR/fuzz/reports/.
#
#   LBRCTX_FUZZ_SERIES (7.x), LBRCTX_FUZZ_FLAVOR (debug), FUZZ_TIMEOUT (the
#   guest's bound, s); FUZZ_SEEDS, FUZZ_SYSCALLS, FUZZ_RUN_SECS,
#   FUZZ_CHILDREN, FUZZ_PARANOID, FUZZ_AIM, FUZZ_PHASES, FUZZ_WHO,
#   FUZZ_KMEMLEAK go to the guest (fuzz.sh).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$LBRCTX_TOP" || exit 1

# KASAN reports every bad access, not only the first: a report of the
# lbrctx runs must not hide one of the baseline's, or the other way.
append() { echo kasan_multi_shot; }

guest_cmd() {
	local v a=""
	for v in FUZZ_LONG FUZZ_SEEDS FUZZ_SYSCALLS FUZZ_RUN_SECS FUZZ_CHILDREN FUZZ_PARANOID FUZZ_AIM \
		FUZZ_PHASES FUZZ_WHO FUZZ_KMEMLEAK; do
		[ -n "${!v:-}" ] && a+="$v=$(printf '%q' "${!v}") "
	done
	echo "${a}sh ./fuzz.sh"
}

# reports_of CONSOLE KMEMLEAK_LBRCTX KMEMLEAK_BASELINE OUTDIR: one line a
# kernel report, "N<TAB>region<TAB>run<TAB>mentions<TAB>kind<TAB>signature",
# on stdout; each report's text in OUTDIR/N-region.txt. Regions follow the
# guest's "lbrctx-fuzz: phase P" markers (boot before the first); run its
# "begin NAME" / "end NAME" markers. kind: report, or note (an allocation
# failure, an OOM kill: trinity asks for memory it cannot have, and these
# are not kernel bugs unless they name lbrctx).
reports_of() {
	mkdir -p "$4"
	awk -v outdir="$4" '
	function norm(s) {
		sub(/^\[ *[0-9.]+\] /, "", s)
		gsub(/CPU[:#] ?[0-9]+/, "CPU", s)
		gsub(/PID: [0-9]+/, "PID", s)
		gsub(/UID: [0-9]+/, "UID", s)
		gsub(/pid:? [0-9]+/, "pid", s)
		gsub(/\+0x[0-9a-f]+\/0x[0-9a-f]+/, "", s)
		gsub(/trinity-c[0-9]+/, "trinity-c", s)
		gsub(/[^ ,:]+\/[0-9]+/, "TASK", s)
		gsub(/0x[0-9a-f]+/, "0x", s)
		gsub(/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]+/, "X", s)
		gsub(/jiffies [0-9]+/, "jiffies", s)
		gsub(/kmemleak: [0-9]+ new/, "kmemleak: N new", s)
		gsub(/:[0-9]+ blocked/, " blocked", s)
		gsub(/order:[0-9]+/, "order:N", s)
		gsub(/[ \t]+$/, "", s)
		return s
	}
	function finish() {
		if (!open) return
		n++
		printf "%d\t%s\t%s\t%d\t%s\t%s\n", n, rregion, rrun, mention, kind, sig
		f = sprintf("%s/%03d-%s.txt", outdir, n, rregion)
		printf "%s", body > f
		close(f)
		open = 0
	}
	function start(sg, line, k) {
		finish()
		open = 1; mention = 0; nbody = 0; body = ""; refined = 0
		sig = sg; kind = k; rregion = region; rrun = (run == "" ? "-" : run)
		add(line)
	}
	function add(line,   fn) {
		body = body line "\n"; nbody++
		# A frame of lbrctx (a module frame carries the module name), not
		# the log lines of lbrctx nor the "Modules linked in:" list.
		if (line ~ /\[lbrctx\]/ || (line ~ /lbrctx/ && line ~ /\+0x/)) mention = 1
		# The place: the function of the first kernel RIP line (an oops, a
		# WARNING), or of the first ", at: " (lockdep names the lock and
		# where it was taken); a first line such as "BUG: unable to handle
		# page fault" says nothing of it.
		if (!refined && kind == "report" && (line ~ /RIP: 0010:[A-Za-z_]/ || line ~ /, at: [A-Za-z_]/)) {
			fn = line; sub(/.*(RIP: 0010:|, at: )/, "", fn); sub(/[+ ].*/, "", fn)
			sig = sig " @ " fn; refined = 1
		}
	}
	BEGIN { region = "boot"; run = "" }
	FILENAME != ARGV[1] {
		# kmemleak scans: one report an object.
		if (FNR == 1) { finish(); region = (FILENAME == ARGV[2] ? "kmemleak-lbrctx" : "kmemleak-baseline"); run = "" }
		if ($0 ~ /^unreferenced object /) {
			size = $0; sub(/.*\(size /, "", size); sub(/\).*/, "", size)
			start("kmemleak: unreferenced object (size " size ")", $0, "report"); frames = 0
			next
		}
		if (open) {
			add($0)
			if ($0 ~ /^    / && $0 ~ /\+0x/ && frames < 6) {
				fn = $0; sub(/^ *(\[<[0-9a-f]+>\] )?/, "", fn); sub(/\+0x.*/, "", fn)
				if (fn !~ /^kmemleak_alloc|^__kmalloc|^kmalloc|^kmem_cache_alloc|^slab_post_alloc|^__kmem_cache|^__do_kmalloc|^kmalloc_trace|^__alloc_pages|^alloc_pages/) {
					sig = sig " " fn; frames++
				}
			}
		}
		next
	}
	{
		line = $0; sub(/\r$/, "", line)
		t = line; sub(/^\[ *[0-9.]+\] /, "", t)
		if (t ~ /^lbrctx-fuzz: phase /) { finish(); region = t; sub(/^lbrctx-fuzz: phase /, "", region); next }
		if (t ~ /^lbrctx-fuzz: begin /) { finish(); run = t; sub(/^lbrctx-fuzz: begin /, "", run); next }
		if (t ~ /^lbrctx-fuzz: end /) { finish(); run = ""; next }
		# Not kernel reports (qemu/run.sh keeps them apart too): the ORC
		# unwinder notice in fgraph return trampolines, and user-mode faults.
		if (t ~ /^WARNING: stack going in the wrong direction\? at return_to_handler/ || t ~ /^traps: /) { last = line; next }
		if (t ~ /: page allocation failure: order:/ || t ~ / invoked oom-killer: /) {
			start(norm(t), line, "note")
		} else if (open && t ~ /^Oops: / && nbody <= 10 && sig ~ /^(BUG: (unable to handle|kernel NULL pointer)|kernel BUG at|BUG: KASAN: (null-ptr-deref|wild-memory))/) {
			# The "Oops:" line of a page fault or a BUG() that began a
			# few lines before: the same report.
			add(line)
		} else if (t ~ /^(WARNING: |BUG: |Oops: |UBSAN: |Kernel panic|kernel BUG at )/ ||
		    t ~ /^BUG [^ ]+ \((Not t|T)ainted/ ||
		    (t ~ /general protection fault/ && !open) ||
		    t ~ /^INFO: task .* blocked for more than/ || t ~ /rcu_.*detected stall/ ||
		    t ~ /new suspected memory leak/ || t ~ /Objects remaining/) {
			start(norm(t), line, "report"); rsig_kasan = (t ~ /^BUG: KASAN/)
			# A WARN() prints its message (a refcount_t: line, say) just
			# before its WARNING line: it goes with it.
			if (t ~ /^WARNING: / && last != "" && last !~ /cut here/) body = last "\n" body
		} else if (t ~ /^Call Trace:/ && !open) {
			# A bare dump_stack(): named by the line before its "CPU: N
			# PID: ..." header.
			start("trace after: " norm(hdr), hdrline, "report"); add(line)
		} else if (open) {
			add(line)
			if (t ~ /^---\[ end trace/ || (rsig_kasan && t ~ /^==========/ && nbody > 3) || nbody >= 150) finish()
		}
		if (t ~ /^CPU: [0-9]+ .*PID: [0-9]+/) { hdr = prev; hdrline = prevline }
		if (t !~ /^ /) { prev = t; prevline = line }
		last = line
	}
	END { finish() }' "$1" "$2" "$3"
}

report() { # DIR
	local g=$1 f=$1/fuzz label rel es seeds sys opens okn beyond nbase nnote why line
	[ -d "$g" ] || die "fuzz.sh report: no directory $g"
	mkdir -p "$f"
	rel=$(sed -n 's/^release=//p' "$g/facts" 2>/dev/null)
	label=${rel%-lbrctx}
	grep -q '^kmemleak=1' "$g/facts" 2>/dev/null && label+=-debug
	[ -n "$label" ] || label=unknown
	# The guest ran to its end.
	es=$(cat "$g/exit-status" 2>/dev/null)
	if [ -f "$g/stalled.txt" ]; then
		why="$(cat "$g/stalled.txt")"
	elif [ -z "$es" ]; then
		why="no exit status (console: $g/console.log)"
	elif [ "$es" != 0 ]; then
		why="exit status $es: $(tail -n 3 "$g/guest.log" 2>/dev/null | tr '\n' ' ')"
	else
		why=""
	fi
	if [ -z "$why" ] && grep -q 'lbrctx-fuzz: phase end' "$g/console.log" 2>/dev/null; then
		echo "ok fuzz_guest_ran_to_its_end"
	else
		echo "FAIL fuzz_guest_ran_to_its_end: ${why:-no 'phase end' marker on the console}"
	fi
	grep -E '^(ok|FAIL|skip) ' "$g/fuzz-results.txt" 2>/dev/null ||
		echo "FAIL fuzz_guest_results: no $g/fuzz-results.txt"

	# Kernel reports, by phase: the baseline's, those of the lbrctx runs
	# that came in the baseline too (as-baseline), those beyond it
	# (BEYOND), and notes.
	rm -rf "$f/reports"
	touch "$f/kmemleak-lbrctx.txt" "$f/kmemleak-baseline.txt"
	reports_of "$g/console.log" "$f/kmemleak-lbrctx.txt" "$f/kmemleak-baseline.txt" "$f/reports" >"$f/reports.tsv"
	awk -F'\t' '
	$2 == "baseline" || $2 == "kmemleak-baseline" { if ($5 == "report") base[$6] = 1 }
	{ r[NR] = $0; reg[NR] = $2; men[NR] = $4; kind[NR] = $5; sig[NR] = $6 }
	END {
		for (i = 1; i <= NR; i++) {
			b = (reg[i] == "baseline" || reg[i] == "kmemleak-baseline")
			if (kind[i] == "note" && !(men[i] == 1 && !b))
				cls = "note"
			else if (b)
				cls = "baseline"
			else
				cls = (men[i] == 1 || !(sig[i] in base)) ? "BEYOND" : "as-baseline"
			print cls "\t" r[i]
		}
	}' "$f/reports.tsv" >"$f/reports.txt"
	beyond=$(grep -c '^BEYOND' "$f/reports.txt")
	nbase=$(grep -c '^baseline' "$f/reports.txt")
	nnote=$(grep -c '^note' "$f/reports.txt")
	if [ "$beyond" -eq 0 ]; then
		echo "ok fuzz_no_report_beyond_the_baseline"
	else
		echo "FAIL fuzz_no_report_beyond_the_baseline: $beyond: $(grep '^BEYOND' "$f/reports.txt" | head -n 3 |
			awk -F'\t' '{ printf "[%s %s%s] %s; ", $3, $4, ($5 == 1 ? " names lbrctx" : ""), $7 }')($f/reports/)"
	fi

	# The counts, over the lbrctx runs.
	read -r seeds sys opens okn < <(awk '
		$1 == "run" {
			delete v
			for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			if (v["phase"] != "lbrctx") next
			s[v["seed"]] = 1; sys += v["ran"]; op += v["reached"]; ok += v["ok"]
		}
		END { n = 0; for (k in s) n++; print n, sys + 0, op + 0, ok + 0 }' "$f/runs.txt" 2>/dev/null)
	if [ "${opens:-0}" -gt 0 ]; then
		echo "ok fuzz_opens_reach_lbrctx"
	else
		echo "FAIL fuzz_opens_reach_lbrctx: no perf_event_open reached lbrctx's event_init ($f/runs.txt)"
	fi
	line="fuzz kernel=$label seeds=${seeds:-0} syscalls=${sys:-0} lbrctx_opens=${opens:-0} lbrctx_ok=${okn:-0} reports=$beyond baseline_reports=$nbase"
	{
		echo "$line"
		echo "notes (allocation failures, OOM kills): $nnote"
		echo "guest: $(cat "$g/elapsed" 2>/dev/null || echo '?') s"
		cat "$g/facts" 2>/dev/null
		echo "--- runs"
		cat "$f/runs.txt" 2>/dev/null
		echo "--- reports (class, n, region, run, names lbrctx, kind, signature)"
		cat "$f/reports.txt"
	} >"$f/summary.txt"
	echo "$line"
}

case ${1:-run} in
report) report "${2:?fuzz.sh report DIR}" ;;
cmd) guest_cmd ;;
append) append ;;
pkgs) need_pkgs trinity ;;
run)
	series=${LBRCTX_FUZZ_SERIES:-7.x} flavor=${LBRCTX_FUZZ_FLAVOR:-debug}
	build_pkgs
	guest_pkgs
	need_pkgs trinity
	kdir=$(scripts/kernels.sh build "$series" "$flavor") || die "no $series $flavor kernel"
	rel=$(cat "$kdir/include/config/kernel.release")
	label=${rel%-lbrctx}
	[ "$flavor" = debug ] && label+=-debug
	w=$LBRCTX_TOP/artifacts/fuzz-$label
	rm -rf "$w"
	mkdir -p "$w"
	stage_sources "$w/src"
	make -C "$w/src" KDIR="$kdir" >"$w/build.log" 2>&1 || die "module build failed ($w/build.log)"
	# The guest's bound covers the guest's own bounds: 4 runs (16 in the
	# long form) of at most FUZZ_RUN_SECS + 60 s of trinity and 30 s of
	# its leftovers each (a run that needs 120 s ends the runs), the boot
	# and the kmemleak scans.
	if [ "${FUZZ_LONG:-0}" = 1 ]; then limit=${FUZZ_TIMEOUT:-12000}; else limit=${FUZZ_TIMEOUT:-2400}; fi
	log "fuzzing lbrctx on $label (FUZZ_LONG=${FUZZ_LONG:-0}; guest bound ${limit}s; artifacts/fuzz-$label)"
	start=$(date +%s)
	qemu/run.sh --kernel "$kdir/arch/x86/boot/bzImage" --out "$w/guest" --smp 4 --mem 3G \
		--timeout "$limit" --append "$(append)" --in "$w/src/lbrctx.ko" --in qemu/guest/fuzz.sh \
		-- "$(guest_cmd)" >"$w/run.log" 2>&1
	rc=$?
	log "guest done in $(( $(date +%s) - start ))s (run.sh status $rc, 1 on any report, the baseline's too; $w/run.log)"
	report "$w/guest" | tee "$w/fuzz.txt"
	! grep -q '^FAIL ' "$w/fuzz.txt"
	;;
*) die "fuzz.sh: run, report DIR, cmd, append or pkgs, not $1" ;;
esac
