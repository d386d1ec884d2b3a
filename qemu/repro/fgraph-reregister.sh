#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Reproducer, without lbrctx: register and unregister fgraph-based fprobe
# events (%return) three times. On the 7.3.4 test kernel round 2 oopses;
# on 6.12 all three rounds pass. Run it as a guest command:
#   qemu/run.sh --kernel <bzImage> --out /tmp/r --in qemu/repro/fgraph-reregister.sh -- sh ./fgraph-reregister.sh
cd /sys/kernel/tracing
for i in 1 2 3; do
echo 'f:myp vfs_write%return' >> dynamic_events && echo 1 > events/fprobes/myp/enable
echo 'f:myq vfs_read%return' >> dynamic_events && echo 1 > events/fprobes/myq/enable
ls / > /dev/null; echo hi > /tmp/x; cat /tmp/x
echo 0 > events/fprobes/myp/enable; echo 0 > events/fprobes/myq/enable
echo '-:myp' >> dynamic_events; echo '-:myq' >> dynamic_events
sleep 1
echo round $i done
done
