#!/bin/busybox sh
# /init of the NUMA test guest (tests/numa/run.sh): mount what libnuma
# reads (/sys, /proc), run the test program, report its exit status, and
# power off. The program's TAP lines start with "NUMA: ".
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "NUMA: # kernel $(uname -r), nodes online $(cat /sys/devices/system/node/online)"
/bin/numa_guest
echo "NUMA: # numa_guest exit status $?"
echo "NUMA: # dmesg oom lines: $(dmesg | grep -ci 'out of memory\|oom-kill')"
dmesg | grep -i 'oom-kill\|out of memory' | head -5 | sed 's/^/NUMA: # /'
echo "NUMA: DONE"
poweroff -f
