#!/usr/bin/env bash
# Device tests of the patched QEMU, as TAP.
#
#   tests/qemu/run.sh [--asan]
#
# Builds (or finds cached) QEMU with scripts/build-qemu.sh --tests, then:
#   - the series' standard header equals the one generated from the ABI
#     header, and the whole series regenerates byte for byte from
#     qemu-patches/tree and commits (scripts/qemu/gen-series.sh --check)
#   - -device virtio-vswap-pci,help lists every property; the alias works
#   - realize rejects each bad setting with an error naming the property
#   - tests/qemu/monitor.py (QEMU's python/qemu/machine and qmp, no guest):
#     QMP query-vswap, HMP info vswap, save to a file and load (and a
#     smaller destination refused), qom-set
#     pool-max, the schema; the disk tier without a guest: backing-file as
#     a path and as /dev/fdset/N (-add-fd), its settings in query-vswap and
#     info vswap, vswap-writeback's errors and a success
#   - host NUMA placement (docs/numa.md): policy and host-nodes refused
#     with libvswap's reasons, bind to node 0 at start-up, and
#     tests/qemu/numa_guest.py: the test guest (tests/lib/guest/) stores
#     real pages on the device's block device; query-vswap's per-node
#     bytes, vswap-set-numa-policy successes and refusals with those pages
#     stored, HMP and QOM, every page loaded back bit-exact
#   - the qtest (tests/qtest/virtio-vswap-test.c in the series) through
#     qos-test, every case reported as its own TAP line; each case runs
#     twice, in the main loop and with the queues in an iothread (iothread-*);
#     as root, disk-full writes to a 1 MiB tmpfs mounted here until ENOSPC
#     and disk-block-device puts the tier on a loop device (else skipped)
# --asan does the same with the separate ASan+UBSan build (build-qemu.sh
# --asan); any sanitizer report fails the test that produced it.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/common.sh	# REPO, BUILD, PY, TESTLIB
. "$TESTLIB/tap.sh"

flag= out=$BUILD/qemu
if [ "${1:-}" = --asan ]; then
	flag=--asan out=$BUILD/qemu-asan
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
qemu=$out/qemu-system-x86_64

if ! scripts/build-qemu.sh $flag --tests >"$BUILD/qemu-build$flag.log" 2>&1; then
	sed 's/^/# /' "$BUILD/qemu-build$flag.log" | tail -40
	not_ok "build QEMU with qemu-patches/ (scripts/build-qemu.sh $flag --tests)"
	tap_end
fi
grep '^build-qemu: done' "$BUILD/qemu-build$flag.log" | sed 's/^/# /'
ok "build QEMU with qemu-patches/ ($(cat "$out/VERSION"))"

# The series carries include/standard-headers/linux/virtio_vswap.h so that
# each patch builds on its own; it must be exactly what QEMU's own
# update-linux-headers.sh transformation makes of include/linux/virtio_vswap.h.
cache=${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}
src=$cache/qemu-$(cut -d' ' -f1 "$out/VERSION")/src
tmp=$(mktemp -d)
full_dir=$tmp/full
trap 'mountpoint -q "$full_dir" && umount "$full_dir"; rm -rf "$tmp"' EXIT
scripts/qemu/gen-std-header.sh "$src" include/linux/virtio_vswap.h "$tmp/gen.h"
git -C "$src" show HEAD:include/standard-headers/linux/virtio_vswap.h \
	> "$tmp/series.h" 2>/dev/null
check "qemu-patches/ standard header equals the generated one" \
	cmp -s "$tmp/gen.h" "$tmp/series.h"

# The committed series is exactly what tree/ and commits/ generate
# (the fast tier runs scripts/qemu/check-series.py, no QEMU source).
check "qemu-patches/*.patch regenerate byte for byte (gen-series.sh --check)" \
	scripts/qemu/gen-series.sh --check --no-deps

q() { timeout 60 "$qemu" -nodefaults -display none -accel tcg "$@"; }

help=$(q -device virtio-vswap-pci,help 2>&1)
missing=
for p in size num-queues queue-size max-pages compress compress-level \
	 pool-max checksum idle-compact iothread mq write-zeroes ioeventfd \
	 vectors backing-file backing-max writeback-age policy host-nodes; do
	grep -q "^ *$p=" <<<"$help" || missing+=" $p"
done
check "-device virtio-vswap-pci,help lists every property${missing:+ (missing:$missing)}" \
	test -z "$missing"
check "-device virtio-vswap,help (alias) lists the same" \
	grep -q 'pool-max=' <(q -device virtio-vswap,help 2>&1)

bad_setting() {		# property-setting expected-word [qemu-args...]
	local msg
	# -S with no monitor: a QEMU that accepted the setting just waits
	msg=$(timeout 10 "$qemu" -nodefaults -display none -accel tcg -M q35 -S \
		"${@:3}" -device "virtio-vswap,$1" 2>&1 </dev/null |
		grep -v '==WARNING: ASan')
	if [ $? -ne 0 ] && grep -q -- "$2" <<<"$msg"; then
		ok "realize rejects $1 ($(head -1 <<<"$msg" | cut -c1-100))"
	else
		not_ok "realize rejects $1: got: $msg"
	fi
}
bad_setting size=1000 "'size'"
bad_setting size=0 "'size'"
bad_setting size=32T "'size'"
bad_setting num-queues=0 "'num-queues'"
bad_setting num-queues=4,mq=off "'num-queues'"
bad_setting queue-size=100 "'queue-size'"
# queue-size as the guest gets it: query-vswap reports the size in force,
# and an explicit size the virtio core overrides (QEMU 10.0.13 gives every
# queue 1024) is said, not silently reported as set.
queue_size_in_force() {	# property-value
	local out err got
	err=$(mktemp -p "$tmp")
	out=$(printf '%s\n' '{"execute":"qmp_capabilities"}' \
		'{"execute":"query-vswap"}' '{"execute":"quit"}' |
		timeout 60 "$qemu" -nodefaults -display none -accel tcg -M q35 \
			-S -qmp stdio -device virtio-vswap,id=vq,queue-size="$1" \
			2>"$err")
	sed -i '/==WARNING: ASan/d' "$err"	# --asan: not QEMU's word
	got=$(grep -o '"queue-size": [0-9]*' <<<"$out" | grep -o '[0-9]*$')
	if [ -z "$got" ]; then
		not_ok "queue-size=$1: no query-vswap answer: $out $(cat "$err")"
	elif [ "$1" = 0 ] || [ "$got" = "$1" ]; then
		check "queue-size=$1: query-vswap reports $got in force, no warning" \
			test ! -s "$err"
	else
		check "queue-size=$1: query-vswap reports the $got in force and QEMU warns ($(head -c 120 "$err"))" \
			grep -q "'queue-size=$1' is not in force: this QEMU offers $got entries per virtqueue" "$err"
	fi
}
queue_size_in_force 4
queue_size_in_force 1024
queue_size_in_force 0
bad_setting max-pages=0 "'max-pages'"
bad_setting max-pages=100000 "'max-pages'"
bad_setting x-inline-budget-us=100001 "'x-inline-budget-us' must be at most 100000"
bad_setting compress=gzip "compress"
bad_setting compress=none,compress-level=3 "'compress-level'"
bad_setting compress=zstd,compress-level=99 "'compress-level'"
bad_setting iothread=io0,ioeventfd=off "'iothread' needs ioeventfd=on" \
	-object iothread,id=io0
bad_setting iothread=nosuch "'nosuch' not found"
# The disk tier (docs/qemu.md "Disk tier").
bad_setting backing-file=/nonexistent-dir/vswap.swap \
	"'backing-file': Could not create '/nonexistent-dir/vswap.swap': No such file or directory"
bad_setting backing-file=/dev/null "'backing-file': '/dev/null' is not a regular file"
bad_setting backing-file="$tmp" "'backing-file': Could not create '$tmp': Is a directory"
bad_setting writeback-age=60 "'writeback-age' needs 'backing-file'"
bad_setting backing-max=64M "'backing-max' needs 'backing-file'"
bad_setting backing-file="$tmp/bad.swap",backing-max=1000 \
	"'backing-max' must be 0 (no limit) or at least 1 MiB"
bad_setting backing-file="$tmp/bad.swap",backing-max=lots "Parameter 'backing-max' expects size"
bad_setting backing-file=/dev/fdset/7 "'backing-file': Failed to find fdset"
# The backing file holds guest memory and belongs to one store (issue 13 #4).
bad_setting backing-reuse=on "'backing-reuse' needs 'backing-file'"
install -m 644 /dev/null "$tmp/shared.swap"
bad_setting backing-file="$tmp/shared.swap" \
	"'backing-file': '$tmp/shared.swap' is accessible to group or others (mode 0644)"
head -c 8192 /dev/urandom >"$tmp/used.swap" && chmod 600 "$tmp/used.swap"
bad_setting backing-file="$tmp/used.swap" \
	"'backing-file': '$tmp/used.swap' is not empty (8192 bytes): it may be the disk tier of another VM"
ln -s "$tmp/used.swap" "$tmp/link.swap"
bad_setting backing-file="$tmp/link.swap" \
	"'backing-file': '$tmp/link.swap' is a symbolic link: give the file or device node it names (readlink -f), or pass a file descriptor (add-fd)"
# A second QEMU with the same file: refused while the first holds it.
install -m 600 /dev/null "$tmp/locked.swap"
timeout 60 "$qemu" -nodefaults -display none -accel tcg -M q35 -S \
	-device virtio-vswap,backing-file="$tmp/locked.swap" </dev/null &
first=$!
for _ in $(seq 50); do
	grep -q locked.swap /proc/locks /proc/$first/fdinfo/* 2>/dev/null && break
	sleep 0.1
done
sleep 1
bad_setting backing-file="$tmp/locked.swap" \
	"'backing-file': '$tmp/locked.swap' is in use by another process (the disk tier of another VM?)"
kill $first; wait $first 2>/dev/null
# accepted: QEMU still runs (waiting, -S) after realize; then stopped.
accepts() {		# -device-setting
	timeout 3 "$qemu" -nodefaults -display none -accel tcg -M q35 -S \
		-device "virtio-vswap,$1" </dev/null >/dev/null 2>&1
	[ $? -eq 124 ]
}
check "backing-file: the lock goes with the QEMU that held it" \
	accepts backing-file="$tmp/locked.swap"
check "backing-file: backing-reuse=on takes a non-empty file" \
	accepts backing-file="$tmp/used.swap",backing-reuse=on

# Host NUMA placement (docs/numa.md): libvswap's reasons, naming the
# properties.  A node this host lacks: 5, or 63 on a host that has a node 5.
absent=5
[ -e /sys/devices/system/node/node5 ] && absent=63
# host-nodes is a list (as for memory backends): JSON -device or -global.
bad_setting_json() {	# json expected-word [qemu-args...]
	local msg
	msg=$(timeout 10 "$qemu" -nodefaults -display none -accel tcg -M q35 -S \
		"${@:3}" -device "$1" 2>&1 </dev/null | grep -v '==WARNING: ASan')
	if [ $? -ne 0 ] && grep -q -- "$2" <<<"$msg"; then
		ok "realize rejects $1 ${*:3} ($(head -1 <<<"$msg" | cut -c1-160))"
	else
		not_ok "realize rejects $1 ${*:3}: got: $msg"
	fi
}
bad_setting_json '{"driver":"virtio-vswap","policy":"bind","host-nodes":['$absent']}' \
	"'policy=bind', 'host-nodes=\[$absent\]': host node $absent is not online, has no memory or is not allowed to this process"
bad_setting_json '{"driver":"virtio-vswap","policy":"preferred","host-nodes":[0,1]}' \
	"'policy=preferred', 'host-nodes=\[0, 1\]': policy 'preferred' takes exactly one host node"
bad_setting policy=bind "'policy=bind', 'host-nodes=\[\]': policy 'bind' needs at least one host node"
bad_setting policy=interleave "policy 'interleave' needs at least one host node"
bad_setting_json '{"driver":"virtio-vswap","host-nodes":[0]}' \
	"'policy=default', 'host-nodes=\[0\]': policy 'default' takes no host nodes"
bad_setting_json '{"driver":"virtio-vswap","policy":"bind","host-nodes":[64]}' \
	"'host-nodes': host node 64 is above the highest supported, 63"
bad_setting_json '{"driver":"virtio-vswap","policy":"bind","host-nodes":["zero"]}' \
	"Parameter 'host-nodes\[0\]' expects uint64"
bad_setting_json '{"driver":"virtio-vswap","policy":"bind","host-nodes":"0"}' \
	"Invalid parameter type for 'host-nodes', expected: array"
# -device key=value cannot carry a list at all; -global (QEMU's string
# visitor) reads "0-1,3"-style lists, so the same rules apply there.
bad_setting policy=bind,host-nodes=0 "Invalid parameter type for 'host-nodes', expected: array"
bad_setting policy=preferred \
	"'policy=preferred', 'host-nodes=\[0, 1\]': policy 'preferred' takes exactly one host node" \
	-global virtio-vswap-device.host-nodes=0-1
bad_setting policy=bind "can't apply global virtio-vswap-device.host-nodes=zero: .*expects list of uint64 values or ranges" \
	-global virtio-vswap-device.host-nodes=zero
bad_setting policy=near "Parameter 'policy' does not accept value 'near'"

# QMP and HMP without a guest (QEMU's python/qemu/machine and qmp).
mkdir -p "$tmp/monitor"
tap_pipe timeout 300 "$PY" tests/qemu/monitor.py "$qemu" "$tmp/monitor"

# NUMA placement with real pages: the test guest stores them.
if image=$("$TESTLIB/guest/image.sh" 2>"$tmp/image.log"); then
	. "$image"
	tap_pipe timeout 900 "$PY" tests/qemu/numa_guest.py --qemu "$qemu" \
		--kernel "$VMLINUZ" --initrd "$INITRD" --workdir "$tmp/numa"
else
	not_ok "numa: the test guest image (tests/lib/guest/image.sh)" "$tmp/image.log"
fi

# The qtest: every qos-test case under virtio-vswap, one TAP line each.
qos=$out/qos-test
export QTEST_QEMU_BINARY=$qemu
export QTEST_QEMU_STORAGE_DAEMON_BINARY=/bin/false
# disk-full: a real full filesystem (1 MiB tmpfs) when we may mount one;
# else the qtest fills the disk tier up to backing-max instead.
mkdir -p "$full_dir"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m,mode=0700 vswap-full "$full_dir" 2>/dev/null; then
	export VSWAP_QTEST_FULL_DIR=$full_dir
	ok "disk-full qtest runs on a full 1 MiB tmpfs (ENOSPC)"
else
	unset VSWAP_QTEST_FULL_DIR
	skip "disk-full qtest runs on a full 1 MiB tmpfs (ENOSPC)" \
		"no tmpfs (not root): it fills backing-max=1M instead"
fi
mapfile -t paths < <(timeout 120 "$qos" -l 2>/dev/null | grep 'virtio-vswap-tests/' | sort -u)
check "qos-test has virtio-vswap test cases (${#paths[@]})" test ${#paths[@]} -ge 10
check "qos-test runs every case with iothread=io0 too" \
	test "$(printf '%s\n' "${paths[@]}" | grep -c '/iothread-')" -ge 5
for p in "${paths[@]}"; do
	log=$tmp/qos.log
	timeout 300 "$qos" --tap -p "$p" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^ok ' "$log" && ! grep -q '^not ok' "$log" &&
	   ! grep -q 'runtime error\|ERROR: AddressSanitizer' "$log"; then
		if grep -q '^ok .* # SKIP' "$log"; then
			skip "qtest $p" "$(sed -n 's/^ok .* # SKIP *//p' "$log" | head -1)"
		else
			ok "qtest $p"
		fi
	else
		sed 's/^/# /' "$log" | tail -30
		not_ok "qtest $p (rc=$rc)"
	fi
done

tap_end
