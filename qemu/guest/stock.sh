#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/stock.sh, on a Debian stock kernel: dkms install
# and modprobe as a user does them, the module's version, vermagic, load
# line and taint, then the perf end-to-end and user-space tests and the
# hardening run with the module dkms installed. Writes stock-results.txt
# ("ok NAME" / "FAIL NAME: why") and stock-lines.txt (the seed003 lines).
# Last, the lbrctx-dkms package: apt install, modprobe, apt remove.
# STOCK_SUITE=check (make check): no user-space suite, and the hardening
# run's quick bounds (stress.sh, STRESS_QUICK=1; its full form with
# STOCK_STRESS_QUICK=0, make check-all's); the package with
# STOCK_DEB=1 (scripts/stock.sh). STOCK_SUITE=deb: install, modprobe and
# the package, no tests.
set -u
suite=${STOCK_SUITE:-full}
out=$(pwd)
RESULTS=$out/stock-results.txt
. ./lib.sh
: >"$RESULTS"
art=$out/stock
mkdir -p $art
rel=$(uname -r)
echo "nproc=$(nproc)" >facts
echo "release=$rel" >>facts
dmesg >boot-dmesg.log
taint0=$(cat /proc/sys/kernel/tainted)
expect stock_kernel_boots_untainted "tainted=$taint0" [ "$taint0" = 0 ]

# dkms_installed PREFIX FILE: dkms status (into FILE) lists lbrctx as
# installed for this kernel, and modinfo finds that version.
dkms_installed() {
	${DKMS:-} dkms status >$2 2>&1
	grep -q "lbrctx/$LBRCTX_VERSION, $rel, x86_64: installed" $2
	check ${1}dkms_status_installed $? "$(cat $2)"
	v=$(modinfo -F version lbrctx 2>&1)
	expect ${1}modinfo_version "version '$v'" [ "$v" = "$LBRCTX_VERSION" ]
}
# modprobe_loads PREFIX LOG: modprobe lbrctx, its dmesg in LOG, and the
# load line naming the branch source $want.
modprobe_loads() {
	dmesg -c >/dev/null
	modprobe lbrctx
	check ${1}modprobe_lbrctx $? "modprobe lbrctx failed"
	dmesg >$2
	grep -q "lbrctx: branch source: $want " $2
	check "${1}load_line_names_${want}_source" $? "$(grep 'lbrctx:' $2 | head -n 3 | tr '\n' ' ')"
}

# 1. dkms install: the host built lbrctx/$LBRCTX_VERSION for this release
# (dkms add, dkms build) into a private tree, handed over as dkms.tar
# (the host's paths may be under /tmp, which is the guest's own tmpfs):
# the sources go where dkms add puts them, /usr/src/lbrctx-<version>, the
# built tree to /var/lib/dkms, and dkms install runs from there.
mkdir -p /var/lib/dkms /tmp/dkms-in
tar -C /tmp/dkms-in -xf ./dkms.tar
check dkms_tree_handed_over $? "tar -xf dkms.tar failed"
cp -a /tmp/dkms-in/src/lbrctx-$LBRCTX_VERSION /usr/src/
cp -a /tmp/dkms-in/dkms/lbrctx /var/lib/dkms/
ln -sfn /usr/src/lbrctx-$LBRCTX_VERSION /var/lib/dkms/lbrctx/$LBRCTX_VERSION/source
dkms status >$art/dkms-status-before.txt 2>&1
dkms install lbrctx/$LBRCTX_VERSION -k $rel >$art/dkms-install.log 2>&1
check dkms_install $? "$(tail -n 3 $art/dkms-install.log | tr '\n' ' ')"
dkms_installed "" $art/dkms-status.txt
ko=$(modinfo -n lbrctx 2>/dev/null)
expect module_in_updates "modinfo -n: '$ko'" sh -c "echo '$ko' | grep -q '^/lib/modules/$rel/updates/'"
vm=$(modinfo -F vermagic lbrctx 2>&1)
expect modinfo_vermagic_is_this_kernel "vermagic '$vm'" [ "${vm%% *}" = "$rel" ]

# 2. modprobe: the load line names the branch source this kernel's config
# gives (no CONFIG_FPROBE in Debian's 6.1: kretprobe); the taint is out of
# tree (O, 4096) and unsigned (E, 8192), exactly.
want=kretprobe
grep -q '^CONFIG_FPROBE=y' /lib/modules/$rel/build/.config && want=fprobe
modprobe_loads "" $art/dmesg-load.log
t=$(cat /proc/sys/kernel/tainted)
expect taint_is_out_of_tree_and_unsigned_only "tainted=$t (want 12288: O and E)" [ "$t" = 12288 ]
grep -q 'lbrctx: module verification failed: signature and/or required key missing' $art/dmesg-load.log
check dmesg_names_the_missing_signature $? "$(head -n 3 $art/dmesg-load.log | tr '\n' ' ')"
! grep -v 'lbrctx' $art/dmesg-load.log | grep -qiE 'warn|error|fail'
check load_prints_nothing_else $? "$(grep -v lbrctx $art/dmesg-load.log | head -n 3 | tr '\n' ' ')"
cat $D/probes >$art/probes.txt
if [ $want = kretprobe ]; then
	# The kretprobe source: exact names only; a glob is refused, the set unchanged.
	echo 'vfs_*' >$D/probes 2>$art/glob.txt
	rc=$?
	# (not cmp: a debugfs file's size is 0, and cmp compares sizes first)
	[ $rc -ne 0 ] && [ "$(cat $D/probes)" = "$(cat $art/probes.txt)" ]
	check kretprobe_source_refuses_globs $? "rc=$rc probes now '$(cat $D/probes)'"
fi

# 3. The user-facing tests, with the module modprobe loaded (not in
# STOCK_SUITE=deb, the install paths alone: parts 1, 2 and 4).
if [ "$suite" = deb ]; then
	modprobe -r lbrctx
	check modprobe_r_before_the_package $? "modprobe -r lbrctx failed"
else
	step $E_INSMOD_TCHAIN insmod ./lbrctx_tchain.ko
	dmesg -c >/dev/null
	STOCK=1 sh ./e2e.sh >e2e.log 2>&1
	[ "$suite" = full ] && STOCK=1 sh ./e2e-user.sh >e2e-user.log 2>&1
	cat seed003.txt seed003u.txt 2>/dev/null | sed "s/kernel=[^ ]*/kernel=$rel/" >stock-lines.txt
	# K1 of make bench on this kernel's branch source (the kretprobe one
	# on 6.1): lbrctx_k1.ko (kunit/k1_mod.c) times one probed call and
	# return of three identical leaves of lbrctx_tchain: no probe, its own
	# copy of the source with handlers that only count (the floor), and
	# lbrctx's probe, under an lbrctx branches event that counts what
	# lbrctx recorded (2 per call). A figure, printed as the K1 line; the
	# checks are on the counts, not on the times.
	n=20000 r=11
	echo lbrctx_tchain_cost_rec >$D/probes
	check k1_probe_set $? "cannot set $D/probes to lbrctx_tchain_cost_rec"
	dmesg -c >/dev/null
	perf stat -x, -e lbrctx/branches/ -o $art/k1-stat.txt -- insmod ./lbrctx_k1.ko k1=$n k1_rounds=$r \
		>$art/k1-insmod.txt 2>&1
	check k1_module_runs $? "$(tail -n 2 $art/k1-insmod.txt | tr '\n' ' ')"
	rmmod lbrctx_k1 2>/dev/null
	dmesg -c >$art/k1-dmesg.log
	k1=$(sed -n 's/^\[[ 0-9.]*\] lbrctx: K1 \(.*\)$/\1/p' $art/k1-dmesg.log)
	rec=$(awk -F, '/lbrctx/ { print $1 }' $art/k1-stat.txt)
	echo "K1 kernel=$rel vcpus=$(nproc) $k1 recorded=$rec expected=$((2 * n * r))" >>stock-lines.txt
	expect k1_measures_the_${want}_source "K1 line: '$k1'" sh -c "echo '$k1' | grep -q '^source=$want '"
	expect k1_floor_saw_every_call_and_return "K1 line: '$k1'" \
		sh -c "echo '$k1' | grep -q ' floor_entries=$((n * r)) floor_exits=$((n * r)) '"
	expect k1_lbrctx_recorded_every_call_and_return "recorded=$rec expected=$((2 * n * r))" \
		[ "$rec" = $((2 * n * r)) ]
	modprobe -r lbrctx
	check modprobe_r_after_the_tests $? "modprobe -r lbrctx failed"
	step $E_RMMOD_TCHAIN rmmod lbrctx_tchain
	# The hardening run loads and unloads with modprobe itself (STOCK=1).
	# Its quick form, but in the full suite or with STOCK_STRESS_QUICK=0
	# (make check-all): the full one, with the pairs and the storm.
	quick=0
	[ "$suite" = full ] || quick=1
	quick=${STOCK_STRESS_QUICK:-$quick}
	STOCK=1 STRESS_QUICK=$quick sh ./stress.sh >stress.log 2>&1
	grep '^pairs ' pairs.txt 2>/dev/null | sed "s/kernel=[^ ]*/kernel=$rel/" >>stock-lines.txt
	grep lbrctx /proc/modules >modules-after.txt
	expect modules_unload_cleanly "still loaded: $(cat modules-after.txt)" [ ! -s modules-after.txt ]
	ls /sys/kernel/slab 2>/dev/null | grep lbrctx >slabs-after.txt
	expect caches_destroyed_on_unload "left: $(cat slabs-after.txt)" [ ! -s slabs-after.txt ]
fi

[ "${STOCK_DEB:-0}" = 1 ] || exit 0

# 4. The Debian package, as a user installs it: the dkms-installed module
# goes first (dkms remove), then apt builds lbrctx.ko in this guest
# (dh-dkms's postinst: dkms add, build, install), modprobe loads it, and
# apt remove leaves nothing in /lib/modules or the DKMS tree. On 7.x apt,
# dkms and gcc-14 are the trixie root's (STOCK_PKGROOT, on the 9p root, so
# what the guest writes there stays in its tmpfs), chrooted into with
# this kernel's module tree and headers bound in; modprobe runs here.
deb=$(ls ./lbrctx-dkms_*_all.deb 2>/dev/null | head -n1)
if [ -z "$deb" ]; then
	fail deb_present "no lbrctx-dkms_*_all.deb beside stock.sh"
	exit 0
fi
pr=${STOCK_PKGROOT:-}
pkg() { "$@"; }
if [ -n "$pr" ]; then
	hdrs=$(readlink /lib/modules/$rel/build)
	mkdir -p $pr/usr/lib/modules/$rel $pr${hdrs%/usr/src/*} &&
		mount --bind /proc $pr/proc && mount --bind /sys $pr/sys && mount --bind /dev $pr/dev &&
		mount --bind /lib/modules/$rel $pr/usr/lib/modules/$rel &&
		mount --bind ${hdrs%/usr/src/*} $pr${hdrs%/usr/src/*} &&
		cp $deb $pr/tmp/
	check deb_root_mounted $? "cannot bind the module tree and headers into $pr"
	deb=/tmp/${deb##*/}
	pkg() { chroot $pr /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }
	echo "deb_root=$pr $(pkg gcc --version | head -n1)" >>facts
fi
dkms remove lbrctx/$LBRCTX_VERSION --all >$art/dkms-remove.log 2>&1
check dkms_remove $? "$(tail -n 3 $art/dkms-remove.log | tr '\n' ' ')"
# dkms remove leaves the sources part 1 put in /usr/src, as it leaves
# those of dkms add; they hold files the package does not ship (its
# scripts/ has postlink-check.sh alone, which the build runs), so dpkg
# would keep the directory after apt remove. A user removes them by hand;
# so does this guest.
rm -rf /var/lib/dkms/lbrctx /usr/src/lbrctx-$LBRCTX_VERSION
find /lib/modules/$rel -name 'lbrctx*' >$art/left-before-deb.txt 2>/dev/null
expect dkms_remove_leaves_no_module "left: $(cat $art/left-before-deb.txt)" [ ! -s $art/left-before-deb.txt ]
t0=$(date +%s)
pkg env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb" >$art/apt-install.log 2>&1
check apt_install_deb $? "$(tail -n 5 $art/apt-install.log | tr '\n' ' ')"
echo "deb_install_seconds=$(( $(date +%s) - t0 ))" >>facts
DKMS=pkg
dkms_installed deb_ $art/dkms-status-deb.txt
modprobe_loads deb_ $art/dmesg-load-deb.log
perf stat -x, -e lbrctx/branches/ -- true >$art/deb-stat.txt 2>&1
grep -q 'lbrctx/branches/' $art/deb-stat.txt
check deb_module_counts "$?" "$(tail -n 2 $art/deb-stat.txt | tr '\n' ' ')"
modprobe -r lbrctx
check deb_modprobe_r $? "modprobe -r lbrctx failed"
pkg env DEBIAN_FRONTEND=noninteractive apt-get remove -y lbrctx-dkms >$art/apt-remove.log 2>&1
check apt_remove_deb $? "$(tail -n 5 $art/apt-remove.log | tr '\n' ' ')"
find /lib/modules/$rel -name 'lbrctx*' >$art/left-modules.txt 2>/dev/null
expect apt_remove_leaves_no_module "left: $(cat $art/left-modules.txt)" [ ! -s $art/left-modules.txt ]
ls -d $pr/var/lib/dkms/lbrctx $pr/usr/src/lbrctx-$LBRCTX_VERSION >$art/left-dkms.txt 2>/dev/null
expect apt_remove_leaves_no_dkms_tree "left: $(cat $art/left-dkms.txt)" [ ! -s $art/left-dkms.txt ]
exit 0
