#!/bin/busybox sh
# /init of the test guest. Sets up /proc, /sys, /dev, then runs commands the
# host sends, one per line, on the second serial port (ttyS1):
#   "<seq> <shell command>"  ->  output on the console (ttyS0), then
#   "VSWAP: RC <seq> <exit status>"
# The functions below are the vocabulary the host uses (tests/lib/vm.py).
# Lines the host parses start with "VSWAP: ", "WORKLOAD: " (workload) or
# "PAGES: " (blkpages).

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp

say() { echo "VSWAP: $*"; }

# load_mods <name>: a kernel module and its dependencies, in order.
load_mods() {
	for m in $(cat "/lib/modules/$1.order"); do
		grep -q "^$m " /proc/modules || insmod "/lib/modules/$m.ko" || return 1
	done
}

load_vswap() {
	# Kernels with virtio as modules (Debian 12's 6.1): the transport first.
	if [ -f /lib/modules/virtio_pci.order ]; then
		load_mods virtio_pci || return 1
	fi
	insmod /lib/modules/virtio_vswap.ko "$@" || return 1
	say "MODULE loaded devices=$(ls /sys/block | grep -c '^vswap')"
}

# vswap_devs: "VSWAP: DEV vswapN <PCI address>" for every vswap disk, so
# the host knows which -device (addr=) became which /dev/vswapN.
vswap_devs() {
	for d in /sys/block/vswap*; do
		pci=$(readlink -f "$d/device/..")
		say "DEV ${d##*/} ${pci##*/}"
	done
}

# swap_on <dev> [discard policy for swapon -d: "" | once | pages]
swap_on() {
	mkswap "$1" >/dev/null || return 1
	swapon -d"${2:-}" "$1" || return 1
	say "SWAPON $1 $(grep "^$1 " /proc/swaps | awk '{print $3}')kB"
}

vmstat() {
	say "VMSTAT $(awk '/^(pswpin|pswpout|swpin_zero|swpout_zero|zswpin|zswpout|zswpwb) /{printf "%s=%s ", $1, $2}' /proc/vmstat)"
}

# vswap_stat [N]: the driver's counters, one line per file.
vswap_stat() {
	d=/sys/block/vswap${1:-0}/vswap
	for f in stat errors slot_free device; do
		say "SYSFS $f $(cat $d/$f)"
	done
}

zram_setup() {			# zram_setup <MiB>
	load_mods zram || return 1
	echo lz4 > /sys/block/zram0/comp_algorithm 2>/dev/null
	echo "${1}M" > /sys/block/zram0/disksize
}

zram_stat() {
	say "ZRAM mm_stat $(cat /sys/block/zram0/mm_stat)"
}

# zswap_setup: zswap with lz4 on zsmalloc in front of whatever swap is on
# (kernels with CONFIG_ZSWAP: the generic flavour); debugfs for its stats.
zswap_setup() {
	p=/sys/module/zswap/parameters
	[ -d $p ] || { say "ZSWAP not in this kernel"; return 1; }
	load_mods lz4 || return 1
	echo lz4 > $p/compressor && echo zsmalloc > $p/zpool &&
		echo Y > $p/enabled || return 1
	grep -q debugfs /proc/mounts || mount -t debugfs none /sys/kernel/debug
	say "ZSWAP $(cat $p/enabled) $(cat $p/compressor) $(cat $p/zpool)"
}

zswap_stat() {
	d=/sys/kernel/debug/zswap
	say "ZSWAP stat $(for f in pool_total_size stored_pages written_back_pages \
		reject_compress_poor reject_alloc_fail pool_limit_hit; do
		printf '%s=%s ' $f "$(cat $d/$f 2>/dev/null)"; done)"
}

# dmesg_check: count kernel warnings, bugs and oopses so far.
dmesg_check() {
	n=$(dmesg | grep -cE 'WARNING:|BUG:|Oops|Call Trace|general protection|Kernel panic')
	say "DMESG bad=$n"
	[ "$n" -eq 0 ] || dmesg | grep -E -A5 'WARNING:|BUG:|Oops' | head -40
}

# hold_start <workload args>: run the workload in the background, stopped
# after its fill pass; hold_release lets it go on.
hold_start() {
	rm -f /tmp/go
	mkfifo /tmp/go
	( workload -H "$@" 4<>/tmp/go <&4 > /dev/console 2>&1 & )
}

# hold_start_cg <MiB> <workload args>: hold_start with the workload in a
# cgroup of its own limited to MiB of memory, so that only its pages are
# swapped out: /init and this shell stay resident (a test that takes the
# swap device away kills what was on it, and must not kill init).
hold_start_cg() {
	[ -e /sys/fs/cgroup/cgroup.controllers ] ||
		mount -t cgroup2 none /sys/fs/cgroup || return 1
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control || return 1
	mkdir -p /sys/fs/cgroup/wl
	echo "${1}M" > /sys/fs/cgroup/wl/memory.max || return 1
	shift
	rm -f /tmp/go
	mkfifo /tmp/go
	# sh -c: its $$ is the new process (a subshell's $$ would be init's)
	( sh -c 'echo $$ > /sys/fs/cgroup/wl/cgroup.procs &&
		 exec workload -H "$@"' workload "$@" \
		4<>/tmp/go <&4 > /dev/console 2>&1 & )
}

hold_release() {
	echo go > /tmp/go
}

# reclaim <bytes>: proactive reclaim of the whole guest (cgroup v2
# memory.reclaim of the root group): pushes anonymous pages to swap without
# any allocation behind it, so a swap device that refuses stores makes it
# fail (EAGAIN), never the OOM killer. At most 60 s: with stores refused,
# reclaim that still frees a little each pass (pages the device does take)
# can go on for many minutes under TCG (seen once: 13 min, where the same
# run usually ends in seconds); a signal ends the kernel's loop (EINTR).
reclaim() {
	[ -e /sys/fs/cgroup/memory.reclaim ] ||
		mount -t cgroup2 none /sys/fs/cgroup || return 1
	timeout 60 sh -c "echo $1 > /sys/fs/cgroup/memory.reclaim"
	r=$?
	say "RECLAIM rc=$r"
	return $r
}

meminfo() {
	say "MEM $(awk '/^(MemTotal|MemFree|SwapTotal|SwapFree):/{printf "%s%s ", $1, $2}' /proc/meminfo)"
}

say "BOOT $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) $(awk '/MemTotal/{print "mem=" $2 "kB"}' /proc/meminfo)"
if [ -e /dev/ttyS1 ]; then
	stty -F /dev/ttyS1 raw -echo
	exec 3</dev/ttyS1
	say "READY"
	while IFS= read -r line <&3; do
		seq=${line%% *}
		cmd=${line#* }
		eval "$cmd"
		say "RC $seq $?"
	done
fi
say "no control channel; powering off"
poweroff -f
