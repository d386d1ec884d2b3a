#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the initramfs qemu/run.sh --stock builds for a Debian stock
# kernel: busybox, and the modules the guest needs from the image's own
# module tree (virtio-pci, 9p, overlay), in dependency order in
# /modules.order. It mounts the host root (9p, read-only) under an overlay
# whose upper layer is tmpfs, so that apt, dkms and depmod can write; the
# image's module tree (unpacked on the host, at STOCK_MODDIR in
# /stock.env) gets an overlay of its own at /lib/modules/<release>. Then
# it switches to that root and runs qemu/guest-init.sh, as the test guests
# do.
PATH=/bin:/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /stock.env
while read -r m; do
	insmod /modules/$m || echo "stock-init: insmod $m failed" >/dev/console
done </modules.order
mkdir -p /lower /rw /newroot
# The virtio devices are probed after insmod returns: wait for the tag.
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro lbrctx-root /lower 2>/dev/null; do
	i=$((i + 1))
	if [ $i -ge 100 ]; then
		echo "stock-init: cannot mount the host root; modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')" >/dev/console
		ls /sys/bus/virtio/devices/ >/dev/console 2>&1
		reboot -f
	fi
	sleep 0.1
done
mount -t tmpfs -o size=75% tmpfs /rw
mkdir -p /rw/root/u /rw/root/w /rw/mod/u /rw/mod/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/root/u,workdir=/rw/root/w /newroot ||
	{ echo "stock-init: cannot mount the overlay root" >/dev/console; reboot -f; }
rel=$(uname -r)
mkdir -p /newroot/lib/modules/$rel
mount -t overlay overlay -o lowerdir=/lower$STOCK_MODDIR,upperdir=/rw/mod/u,workdir=/rw/mod/w \
	/newroot/lib/modules/$rel ||
	{ echo "stock-init: cannot mount the module tree" >/dev/console; reboot -f; }
# build -> the image's headers, unpacked on the host beside it.
rm -f /newroot/lib/modules/$rel/build
ln -s $STOCK_HEADERS /newroot/lib/modules/$rel/build
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot $STOCK_INIT
