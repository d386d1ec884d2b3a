# SPDX-License-Identifier: GPL-2.0
# The mechanics of make check (scripts/check.sh): result lines, the kernel
# a job works on, the guests and their time limits, the job runner that
# keeps two jobs going at a time, and the report. Source it; do not run it.

ART=${LBRCTX_ARTIFACTS:-$LBRCTX_TOP/artifacts}
JOBS=${LBRCTX_CHECK_JOBS:-2}

# ---------------------------------------------------------------------------
# Results. Each job writes its own file of lines: "ok NAME", "FAIL NAME:
# why", or "skip NAME"; the report counts them per kernel.
t_pass() { printf 'ok %s\n' "$1" >>"$RESULTS"; }
t_fail() { printf 'FAIL %s: %s\n' "$1" "$2" >>"$RESULTS"; }
# t_check NAME STATUS WHY: pass when STATUS (an exit status) is 0.
t_check() {
	if [ "$2" -eq 0 ]; then t_pass "$1"; else t_fail "$1" "$3"; fi
}
# t_expect NAME WHY COMMAND...: pass when COMMAND (a test) succeeds.
t_expect() {
	local name=$1 why=$2
	shift 2
	if "$@" 2>/dev/null; then t_pass "$name"; else t_fail "$name" "$why"; fi
}
# t_import PREFIX FILE LOG: a guest script's result lines, as ours.
t_import() {
	local line name
	if [ ! -s "$2" ]; then
		t_fail "$1_ran" "no $1 results ($(tail -n 3 "$3" 2>/dev/null | tr '\n' ' '))"
		return
	fi
	while IFS= read -r line; do
		case $line in
		"ok "*) t_pass "$1:${line#ok }" ;;
		"FAIL "*) name=${line#FAIL }; t_fail "$1:${name%%: *}" "${name#*: }" ;;
		"skip "*) printf '%s\n' "$line" >>"$RESULTS" ;;
		esac
	done <"$2"
}

# Lines of a build log that show something being built.
built_lines() { grep -E '^ +(CC|C\+\+|LD|AR|GEN|CHECK) ' "$1" || true; }
# build_module DIR KDIR LOG [MAKE ARGS...]: W=1 build of staged sources.
build_module() {
	local dir=$1 kdir=$2 log=$3
	shift 3
	make -C "$dir" KDIR="$kdir" W=1 "$@" >"$log" 2>&1
}
warnings() { grep -c 'warning:' "$1"; }

# ---------------------------------------------------------------------------
# The kernel a job works on: kernel_env SERIES FLAVOR sets KDIR, KSRC,
# LABEL (the release, "-debug" for the debug flavor) and W (its artifacts).
kernel_env() {
	local suffix=
	[ "$2" = debug ] && suffix=-debug
	KDIR=$(scripts/kernels.sh build "$1" "$2") || return 1
	KSRC=$(cat "$KDIR/.lbrctx-src")
	LABEL=$(cat "$KDIR/include/config/kernel.release")
	LABEL=${LABEL%-lbrctx}$suffix
	W=$ART/$LABEL
}

# ---------------------------------------------------------------------------
# Guests. A guest is stopped when it stalls: nothing under its output
# directory changed for GUEST_IDLE seconds (qemu/run.sh --idle), which a
# guest that is only slow (a kernel building beside it on a fresh machine)
# never does, as it keeps writing its results. The limit below only bounds
# a guest that keeps writing forever: the guest's own work, measured on
# this machine with nothing else running, times a margin (guest_limit
# KIND FLAVOR).
guest_work() {
	case $1/$2 in
	kunit/default) echo 150 ;;	# KUnit 15 s, e2e about 90 s
	kunit/debug) echo 600 ;;	# e2e with 12 rounds: 400-520 s
	stress/default) echo 300 ;;
	stress/debug) echo 700 ;;
	initramfs/*) echo 20 ;;
	hw/default) echo 900 ;;		# the hardware suite: perf's own tests are most of it
	fuzz/debug) echo 300 ;;		# trinity's short form: 281 s (docs/TESTING.md)
	*) echo 600 ;;
	esac
}
GUEST_MARGIN=${LBRCTX_GUEST_MARGIN:-6}
GUEST_IDLE=${LBRCTX_GUEST_IDLE:-480}
guest_limit() { echo $(( $(guest_work "$1" "$2") * GUEST_MARGIN )); }

# guest KIND FLAVOR OUTDIR [run.sh options...] -- COMMAND: boot the
# kernel of kernel_env in QEMU; record its time against its limit in
# OUTDIR/limit.txt. Returns run.sh's status.
guest() {
	local kind=$1 flavor=$2 out=$3 limit rc
	shift 3
	limit=$(guest_limit "$kind" "$flavor")
	qemu/run.sh --kernel "$KDIR/arch/x86/boot/bzImage" --out "$out" --timeout "$limit" \
		--idle "$GUEST_IDLE" "$@"
	rc=$?
	[ -f "$out/stalled.txt" ] && cat "$out/stalled.txt" >&2
	printf '%s %s %s\n' "$kind" "$(cat "$out/elapsed" 2>/dev/null || echo "$limit")" "$limit" \
		>"$out.limit"
	note_guest "$out"
	return $rc
}

# ---------------------------------------------------------------------------
# Jobs: job NAME "DEPS" FUNCTION ARGS... queues a job; run_jobs runs them,
# JOBS at a time (TCG runs each guest on one host thread; this machine has
# two cores), each once its dependencies are done. A job's results go to
# $ART/.jobs/NAME.results, its output to NAME.log, its times to NAME.time.
JOB_NAMES=() JOB_DEPS=() JOB_CMDS=()
job() {
	local name=$1 deps=$2
	shift 2
	JOB_NAMES+=("$name")
	JOB_DEPS+=("$deps")
	JOB_CMDS+=("$(printf '%q ' "$@")")
}

run_job() { # INDEX
	local name=${JOB_NAMES[$1]} start
	start=$(date +%s)
	(
		RESULTS=$ART/.jobs/$name.results
		JOB_NAME=$name
		: >"$RESULTS"
		eval "${JOB_CMDS[$1]}"
	) >"$ART/.jobs/$name.log" 2>&1
	echo "$start $(date +%s)" >"$ART/.jobs/$name.time"
}

# kernel_ready NAME: true if job NAME ("kind:SERIES:FLAVOR") needs no kernel
# or its kernel is built. The list is in priority order (longest first);
# a job whose kernel is still building is passed over while others can
# run, and started anyway once nothing else can.
declare -A KERNEL_READY=()
kernel_ready() {
	local s f
	IFS=: read -r _ s f <<<"$1"
	[ -n "$f" ] || return 0
	[ -n "${KERNEL_READY[$s:$f]:-}" ] && return 0
	scripts/kernels.sh dir "$s" "$f" >/dev/null 2>&1 || return 1
	KERNEL_READY[$s:$f]=1
}

run_jobs() {
	local -A state pid_job
	local i n=${#JOB_NAMES[@]} running=0 d ready pid done_pid pass waiting tick=
	mkdir -p "$ART/.jobs"
	for ((i = 0; i < n; i++)); do state[${JOB_NAMES[$i]}]=pending; done
	while :; do
		waiting=0
		for pass in built any; do
			[ $pass = any ] && [ $running -gt 0 ] && break
			for ((i = 0; i < n && running < JOBS; i++)); do
				[ "${state[${JOB_NAMES[$i]}]}" = pending ] || continue
				ready=1
				for d in ${JOB_DEPS[$i]}; do [ "${state[$d]:-done}" = done ] || ready=0; done
				[ $ready = 1 ] || continue
				if [ $pass = built ] && ! kernel_ready "${JOB_NAMES[$i]}"; then
					waiting=1
					continue
				fi
				log "start ${JOB_NAMES[$i]}"
				run_job "$i" &
				pid_job[$!]=$i
				state[${JOB_NAMES[$i]}]=running
				running=$((running + 1))
			done
		done
		[ $running -gt 0 ] || break
		# A kernel finishing in the background wakes nobody: poll for it.
		if [ $waiting = 1 ] && [ $running -lt $JOBS ] && [ -z "$tick" ]; then
			sleep 20 &
			tick=$!
		fi
		wait -n -p done_pid "${!pid_job[@]}" $tick
		[ "$done_pid" = "$tick" ] && { tick=; continue; }
		i=${pid_job[$done_pid]:-}
		[ -n "$i" ] || continue
		unset "pid_job[$done_pid]"
		state[${JOB_NAMES[$i]}]=done
		running=$((running - 1))
		log "done ${JOB_NAMES[$i]} ($(awk '{ print $2 - $1 }' "$ART/.jobs/${JOB_NAMES[$i]}.time") s)"
	done
	[ -z "$tick" ] || kill "$tick" 2>/dev/null
}

# ---------------------------------------------------------------------------
# The report. report_kernel LABEL JOB...: the jobs' own lines (seed003,
# K1, pairs, dkms, loc: JOB.lines), their result lines, then
# "<label>: N passed, N failed"; the totals add up.
TOTAL_PASS=0 TOTAL_FAIL=0 SUMMARY=() TIMES=()
report_kernel() {
	local label=$1 j p f first=0 last=0 t0 t1 line
	shift
	for j in "$@"; do cat "$ART/.jobs/$j.lines" 2>/dev/null; done
	for j in "$@"; do
		[ -f "$ART/.jobs/$j.results" ] || continue
		cat "$ART/.jobs/$j.results"
	done
	f=$(for j in "$@"; do cat "$ART/.jobs/$j.results" 2>/dev/null; done | grep -c '^FAIL ' || true)
	p=$(for j in "$@"; do cat "$ART/.jobs/$j.results" 2>/dev/null; done | grep -c '^ok ' || true)
	for j in "$@"; do
		[ -f "$ART/.jobs/$j.time" ] || continue
		read -r t0 t1 <"$ART/.jobs/$j.time"
		{ [ $first = 0 ] || [ "$t0" -lt $first ]; } && first=$t0
		[ "$t1" -gt $last ] && last=$t1
		line+=" ${j%%:*} $((t1 - t0)) s"
		[ -f "$ART/.jobs/$j.guest" ] && line+=" ($(cat "$ART/.jobs/$j.guest"))"
		line+=","
	done
	TIMES+=("stage $label: $((last - first)) s wall:${line%,}")
	printf '%s: %d passed, %d failed\n' "$label" "$p" "$f"
	SUMMARY+=("$label: $p passed, $f failed")
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
}

# note_guest OUTDIR: this job's guest used N of its L s limit (P%), for the report.
note_guest() {
	local kind used limit
	read -r kind used limit <"$1.limit" 2>/dev/null || return 0
	echo "guest $used of $limit s, $((100 * used / limit))%" >"$ART/.jobs/$JOB_NAME.guest"
}
