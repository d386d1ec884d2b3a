#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a test kernel in QEMU (TCG; KVM is not used), run a command in the
# guest and copy its results out.
#
#   qemu/run.sh --kernel BZIMAGE --out DIR [options] -- COMMAND...
#
#   --kernel F      bzImage to boot
#   --out DIR       results directory (created, emptied); the guest sees it
#                   read-write at /tmp/out, and runs COMMAND there
#   --in FILE       copy FILE into DIR/ before boot (repeatable)
#   --initramfs     boot a busybox-static initramfs instead of the host root
#   --stock MODDIR HEADERS
#                   boot a Debian stock kernel: MODDIR is its unpacked
#                   module tree (/lib/modules/<release>, depmod run), HEADERS
#                   its unpacked headers; the guest root is the host root
#                   under a tmpfs overlay (qemu/stock-init.sh)
#   --smp N         vCPUs (default 2)    --mem M   memory (default 2G)
#   --timeout S     kill the guest after S seconds (default 300)
#   --idle S        kill it once nothing under DIR changed for S seconds:
#                   a guest still writing its results is slow, not hung
#                   (default 480, or $LBRCTX_GUEST_IDLE); either way
#                   DIR/stalled.txt names the last output and its last line
#   --append ARGS   extra kernel command line
#   --lbr           give the guest LBR hardware: the QEMU plugin
#                   (qemu/plugin; $LBRCTX_PLUGIN, default
#                   qemu/plugin/lbrctx-plugin.so, which make plugin builds)
#                   and its ivshmem-plain device (1af4:1110), whose memory
#                   is the 1 MiB file DIR/lbr.shm; the plugin writes its
#                   counters to DIR/plugin.log when QEMU exits
#   --lbr-device    the ivshmem device alone, no plugin behind it (what a
#                   driver must refuse: lbrctx's source=hw fails, ENODEV)
#   --lbr-mode MODE the plugin's mode (with --lbr): lazy (the default:
#                   blocks are instrumented once a unit is enabled) or
#                   always (from the start)
#
# Exit status: the guest command's (qemu/guest/lib.sh names the guest
# scripts' own), or 124 on timeout, or 125 when the guest ended without
# reporting one. A console that shows an oops, BUG, WARNING,
# KASAN, lockdep, kmemleak, refcount or stall report fails the run (status 1
# if the command itself succeeded). The console is DIR/console.log, the
# command's output DIR/guest.log.
set -uo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

kernel="" out="" initramfs=0 smp=2 mem=2G timeout=300 append="" ins=() stock_mod="" stock_hdr=""
idle=${LBRCTX_GUEST_IDLE:-480}
lbr=0 lbr_mode=""
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--in) ins+=("$2"); shift 2 ;;
	--initramfs) initramfs=1; shift ;;
	--stock) stock_mod=$2; stock_hdr=$3; shift 3 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--idle) idle=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--lbr) lbr=1; shift ;;
	--lbr-device) lbr=2; shift ;;
	--lbr-mode) lbr_mode=$2; shift 2 ;;
	--) shift; break ;;
	*) die "run.sh: unknown option $1" ;;
	esac
done
[ -f "$kernel" ] || die "run.sh: --kernel: no such file: $kernel"
[ -n "$out" ] || die "run.sh: --out is required"
[ $# -gt 0 ] || die "run.sh: no guest command"
[ -z "$lbr_mode" ] || [ $lbr -eq 1 ] || die "run.sh: --lbr-mode needs --lbr"
case $lbr_mode in ""|lazy|always) ;; *) die "run.sh: --lbr-mode: lazy or always, not $lbr_mode" ;; esac
plugin=${LBRCTX_PLUGIN:-$LBRCTX_TOP/qemu/plugin/lbrctx-plugin.so}
if [ $lbr -eq 1 ] && [ ! -f "$plugin" ]; then
	die "run.sh: --lbr: no plugin at $plugin (make plugin builds it; LBRCTX_PLUGIN names another)"
fi
guest_pkgs

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Every guest script sources qemu/guest/lib.sh.
for f in "$LBRCTX_TOP/qemu/guest/lib.sh" "${ins[@]}"; do cp -L "$f" "$out/" || die "run.sh: cannot copy $f"; done
printf '%s\n' "$*" >"$out/cmd.sh"

# acpi=noirq: PCI interrupts are routed through the PIRQ table. Under TCG a
# debug kernel (KASAN, lockdep) runs ACPI's AML so slowly that _PRT hits
# AE_AML_LOOP_TIMEOUT, virtio-pci gets no IRQ and the 9p root never mounts.
cmdline="console=ttyS0,115200 loglevel=7 panic=-1 no_hash_pointers acpi=noirq"
# One TCG thread for all vCPUs: with multi-threaded TCG a vCPU can run a
# stale translation of kernel text another vCPU just patched (ftrace,
# static calls, alternatives), and lbrctx patches text on every probe
# registration. Seen here: int3 oopses and calls into freed trampolines.
accel=${LBRCTX_QEMU_ACCEL:-tcg,thread=single}
# la57=off: four-level paging, as on the machines users run. Seen once here
# with "-cpu max" (five-level): a KASAN wild-memory-access in
# do_raw_spin_lock from an early interrupt during identify_cpu() on the 7.x
# debug kernel, before any module was loaded.
# -cx16: no CMPXCHG16B. QEMU 7.2's TCG (Debian 12's qemu-system-x86) has
# helper_cmpxchg16b compute the flags it keeps from env->cc_op as last
# stored, not the translator's current CC_OP (no gen_update_cc_op before
# the helper; fixed in 8.0 by "target/i386: Inline cmpxchg16b"). When that
# stale CC_OP is CC_OP_EFLAGS (the block began after an IRET, a POPF or a
# failed cmpxchg16b) and an ADD precedes it in the block, RFLAGS becomes
# the low half of the ADD's operand: an interrupt pushes it, IRET loads its
# TF, IOPL, DF, and a cpu_exec exit copies all of it into env->eflags.
# Debian's stock kernels inline exactly that (SLUB's fastpath with
# SLAB_FREELIST_HARDENED: add; ...; cmpxchg16b %gs:(%rsi)): kernel #DB
# WARNINGs, double faults. Without CX16 the kernel calls
# this_cpu_cmpxchg16b_emu instead. LBRCTX_QEMU_CPU overrides the model.
cpu=${LBRCTX_QEMU_CPU:-max,la57=off,-cx16}
qargs=(-nographic -no-reboot -monitor none -serial "file:$out/console.log"
	-accel "$accel" -cpu "$cpu" -smp "$smp" -m "$mem" -kernel "$kernel"
	-fsdev "local,id=out,path=$out,security_model=none,multidevs=remap"
	-device "virtio-9p-pci,fsdev=out,mount_tag=lbrctx-out")
if [ $lbr -ne 0 ]; then
	# The plugin and the guest's driver share this file (include/lbrctx/
	# hwlbr.h): QEMU maps it as the device's BAR 2 (share=on), the plugin
	# maps it too. Its size is hw::kRegionSize. QEMU splits options at
	# commas, so no path may hold one.
	shm=$out/lbr.shm
	case $shm$plugin in *,*) die "run.sh: --lbr: a comma in $shm or $plugin" ;; esac
	truncate -s 1M "$shm" || die "run.sh: cannot create $shm"
	qargs+=(-object "memory-backend-file,id=lbrctx-lbr,mem-path=$shm,size=1M,share=on"
		-device "ivshmem-plain,memdev=lbrctx-lbr")
	[ $lbr -eq 1 ] && qargs+=(-plugin "$plugin,shm=$shm,log=$out/plugin.log${lbr_mode:+,mode=$lbr_mode}")
fi
if [ -n "$stock_mod" ]; then
	rd=$out/.initramfs
	rel=$(basename "$stock_mod")
	mkdir -p "$rd"/{bin,sbin,proc,sys,dev,modules}
	cp /bin/busybox "$rd/bin/busybox"
	for a in $("$rd/bin/busybox" --list); do
		[ -e "$rd/bin/$a" ] || ln -s busybox "$rd/bin/$a"
	done
	base=$(dirname "$(dirname "$(dirname "$stock_mod")")")
	: >"$rd/modules.order"
	# One module per --show-depends: further names would be its parameters.
	for m in $(for n in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe -d "$base" -S "$rel" --show-depends "$n"
	done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++'); do
		case $m in
		*.xz) xz -dc "$m" >"$rd/modules/$(basename "${m%.xz}")" ;;
		*) cp "$m" "$rd/modules/" ;;
		esac && basename "${m%.xz}" >>"$rd/modules.order"
	done
	printf 'STOCK_MODDIR=%s
STOCK_HEADERS=%s
STOCK_INIT=%s
' "$stock_mod" "$stock_hdr" \
		"$LBRCTX_TOP/qemu/guest-init.sh" >"$rd/stock.env"
	cp "$LBRCTX_TOP/qemu/stock-init.sh" "$rd/init"
	(cd "$rd" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"
	rm -rf "$rd"
	qargs+=(-initrd "$out/initramfs.cpio.gz"
		-fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap"
		-device "virtio-9p-pci,fsdev=root,mount_tag=lbrctx-root")
	cmdline="$cmdline rdinit=/init"
elif [ $initramfs -eq 1 ]; then
	rd=$out/.initramfs
	mkdir -p "$rd"/{bin,sbin,proc,sys,dev,tmp,run,root,etc}
	cp /bin/busybox "$rd/bin/busybox"
	for a in $("$rd/bin/busybox" --list); do
		[ -e "$rd/bin/$a" ] || ln -s busybox "$rd/bin/$a"
	done
	cp "$LBRCTX_TOP/qemu/guest-init.sh" "$rd/init"
	(cd "$rd" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"
	rm -rf "$rd"
	qargs+=(-initrd "$out/initramfs.cpio.gz")
	cmdline="$cmdline rdinit=/init"
else
	# The tag has no /dev/ prefix: 6.1 strips one from root= and 7.x does not.
	qargs+=(-fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap"
		-device "virtio-9p-pci,fsdev=root,mount_tag=lbrctx-root")
	cmdline="$cmdline root=lbrctx-root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro init=$LBRCTX_TOP/qemu/guest-init.sh"
fi

start=$(date +%s)
timeout -k 5 "$timeout" qemu-system-x86_64 "${qargs[@]}" -append "$cmdline $append" \
	>"$out/qemu.log" 2>&1 </dev/null &
qpid=$!
# A guest that still writes (its console, its results, its outputs) is
# slow, not hung: it is stopped when nothing under DIR has changed for
# --idle seconds, whatever the time; --timeout bounds the whole run. QEMU's
# own log and the plugin's shared memory (written through a mapping) are
# not the guest's progress.
touch "$out/.progress"
last=$start stalled=0
while kill -0 "$qpid" 2>/dev/null; do
	sleep 5
	now=$(date +%s)
	if [ -n "$(find "$out" -newer "$out/.progress" -type f ! -name qemu.log ! -name lbr.shm \
		! -name .progress -print -quit 2>/dev/null)" ]; then
		touch "$out/.progress"
		last=$now
	elif [ $((now - last)) -ge "$idle" ]; then
		stalled=1
		pkill -TERM -P "$qpid" 2>/dev/null
		kill "$qpid" 2>/dev/null
		break
	fi
done
wait "$qpid"
qrc=$?
elapsed=$(( $(date +%s) - start ))

# The last thing the guest did: the newest of its outputs, and its last line.
last_step() {
	local f
	f=$(find "$out" -type f ! -name qemu.log ! -name lbr.shm ! -name .progress \
		-printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)
	[ -n "$f" ] && printf '%s: %s' "${f#"$out"/}" "$(tail -n 1 "$f" 2>/dev/null | cut -c1-200)"
}

rc=125
if [ $stalled -eq 1 ]; then
	log "guest stalled: nothing written for ${idle}s after ${elapsed}s; last: $(last_step)"
	echo "stalled after ${elapsed}s; last: $(last_step)" >"$out/stalled.txt"
	rc=124
elif [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	log "guest timed out after ${timeout}s (console: $out/console.log); last: $(last_step)"
	echo "timed out after ${timeout}s; last: $(last_step)" >"$out/stalled.txt"
	rc=124
elif [ -f "$out/exit-status" ]; then
	rc=$(cat "$out/exit-status")
else
	log "guest ended without an exit status (qemu $qrc; console: $out/console.log)"
	tail -n 20 "$out/qemu.log" >&2
fi

# Kernel reports that fail the run whatever the command said.
splat='Oops|BUG:|WARNING:|Call Trace:|KASAN|circular locking|possible recursive locking|suspicious RCU usage|new suspected memory leak|unreferenced object 0x|refcount_t:|general protection fault|Kernel panic|UBSAN|soft lockup|hung_task|blocked for more than|rcu_.*detected stall|Objects remaining'
# One line is not a report: the ORC unwinder's notice when perf unwinds a
# callchain (perf record -g) from an interrupt that landed inside ftrace's
# return trampoline, which fgraph-based fprobes (6.14+) put on the stack.
# It comes with no WARN() and no trace; it is kept in tolerated.txt.
# And a user program's fault is not a kernel report either: "traps: NAME[PID]
# general protection fault ip:..." is printed (show_signal()) only for a
# fault in user mode, and the test that ran the program checks how it
# exited. Such lines are kept in user-faults.txt.
tolerated='^\[ *[0-9.]+\] WARNING: stack going in the wrong direction\? at return_to_handler\+0x[0-9a-f]+/0x[0-9a-f]+[[:space:]]*$|^\[ *[0-9.]+\] traps: [^ ]+\[[0-9]+\] general protection fault ip:[0-9a-f]+ sp:[0-9a-f]+ error:[0-9a-f]+'
grep -aE "$tolerated" "$out/console.log" | grep -v ' traps: ' >"$out/tolerated.txt" 2>/dev/null
grep -aE "$tolerated" "$out/console.log" | grep ' traps: ' >"$out/user-faults.txt" 2>/dev/null
[ -s "$out/tolerated.txt" ] || rm -f "$out/tolerated.txt"
[ -s "$out/user-faults.txt" ] || rm -f "$out/user-faults.txt"
if grep -aEv "$tolerated" "$out/console.log" 2>/dev/null | grep -aEq "$splat"; then
	log "kernel reports on the guest console:"
	grep -aEv "$tolerated" "$out/console.log" | grep -aE -m 20 "$splat" >&2
	[ "$rc" -eq 0 ] && rc=1
fi
echo "$elapsed" >"$out/elapsed"
# The guest scripts' exit statuses, named in qemu/guest/lib.sh.
name=$(awk -v rc="$rc" -F'[=\t#]+' '/^E_[A-Z_]+=[0-9]+/ && $2 == rc { print $3 }' "$LBRCTX_TOP/qemu/guest/lib.sh")
[ -n "$name" ] && log "guest exit status $rc:$name (console: $out/console.log)"
exit "$rc"
