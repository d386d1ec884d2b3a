#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# init for lbrctx test guests. Used as init= with the host root shared
# read-only over 9p, and as /init of the busybox initramfs. It mounts what a
# test needs, mounts the writable results share at /tmp/out, runs
# /tmp/out/cmd.sh with its output in /tmp/out/guest.log, writes its exit
# status to /tmp/out/exit-status and powers off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH HOME=/root TERM=dumb

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts 2>/dev/null
# What udev would add: bash's <(...) (dkms uses it) needs /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
for d in /tmp /run /var/tmp /root; do
	[ -d "$d" ] && mount -t tmpfs tmpfs "$d"
done
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /tmp/out
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 lbrctx-out /tmp/out; then
	echo "lbrctx-guest: cannot mount the results share" >/dev/console
	reboot -f
fi
cd /tmp/out || reboot -f
echo "lbrctx-guest: running cmd.sh" >/dev/console
sh /tmp/out/cmd.sh >/tmp/out/guest.log 2>&1
echo $? >/tmp/out/exit-status
sync
echo "lbrctx-guest: done, status $(cat /tmp/out/exit-status)" >/dev/console
reboot -f
