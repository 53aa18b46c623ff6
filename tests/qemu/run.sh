#!/usr/bin/env bash
# Device tests of the patched QEMU, as TAP.
#
#   tests/qemu/run.sh [--asan]
#
# Builds (or finds cached) QEMU with scripts/build-qemu.sh --tests, then:
#   - the series' standard header equals the one generated from the ABI header
#   - -device virtio-vswap-pci,help lists every property; the alias works
#   - realize rejects each bad setting with an error naming the property
#   - QMP query-vswap, HMP info vswap, the migration blocker, qom-set pool-max
#   - the disk tier without a guest: backing-file as a path and as
#     /dev/fdset/N (-add-fd), its settings in query-vswap and info vswap,
#     vswap-writeback's errors and a success
#   - host NUMA placement (docs/numa.md): policy and host-nodes refused
#     with libvswap's reasons, bind to node 0 at start-up, and
#     tests/qemu/numa_qmp.py: real pages stored through the virtqueue
#     (tests/vswapctl/qtest_driver.py as the guest driver), query-vswap's
#     per-node bytes, vswap-set-numa-policy successes and refusals, policy
#     changes while pages are stored, every page loaded back bit-exact
#   - the qtest (tests/qtest/virtio-vswap-test.c in the series) through
#     qos-test, every case reported as its own TAP line; each case runs
#     twice, in the main loop and with the queues in an iothread (iothread-*);
#     as root, disk-full writes to a 1 MiB tmpfs mounted here until ENOSPC
# --asan does the same with the separate ASan+UBSan build (build-qemu.sh
# --asan); any sanitizer report fails the test that produced it.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
BUILD=${BUILD:-$repo/build}
export BUILD

flag= out=$BUILD/qemu
if [ "${1:-}" = --asan ]; then
	flag=--asan out=$BUILD/qemu-asan
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
qemu=$out/qemu-system-x86_64
n=0 fails=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

if ! scripts/build-qemu.sh $flag --tests >"$BUILD/qemu-build$flag.log" 2>&1; then
	sed 's/^/# /' "$BUILD/qemu-build$flag.log" | tail -40
	not_ok "build QEMU with qemu-patches/ (scripts/build-qemu.sh $flag --tests)"
	echo "1..$n"
	exit 1
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

q() { timeout 60 "$qemu" -nodefaults -display none -accel tcg "$@"; }

help=$(q -device virtio-vswap-pci,help 2>&1)
missing=
for p in size num-queues queue-size max-pages compress compress-level \
	 pool-max checksum iothread mq write-zeroes ioeventfd vectors \
	 backing-file backing-max writeback-age policy host-nodes; do
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
bad_setting max-pages=0 "'max-pages'"
bad_setting max-pages=100000 "'max-pages'"
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

# One QMP session: query-vswap, info vswap, qom-set, migration blocker.
qmp_out=$( (
	echo '{"execute":"qmp_capabilities"}'
	echo '{"execute":"query-vswap"}'
	echo '{"execute":"qom-set","arguments":{"path":"/machine/peripheral/vs0/virtio-backend","property":"pool-max","value":1048576}}'
	echo '{"execute":"human-monitor-command","arguments":{"command-line":"info vswap"}}'
	echo '{"execute":"migrate","arguments":{"uri":"exec:cat >/dev/null"}}'
	echo '{"execute":"quit"}'
	sleep 5) | q -M q35 -smp 2 -S -device virtio-vswap,id=vs0,size=1G \
		-device virtio-vswap-pci,id=vs1,num-queues=1,compress=zstd \
		-device '{"driver":"virtio-vswap","id":"vs2","policy":"bind","host-nodes":[0]}' \
		-device '{"driver":"virtio-vswap","id":"vs3","policy":"interleave","host-nodes":[0]}' \
		-qmp stdio 2>&1)
echo "$qmp_out" | grep -v '^{"QMP"' | cut -c1-300 | sed 's/^/# /'
qmp_check() {		# what python-expression-on-the-query-vswap-list
	python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    r = m.get("return")
    if isinstance(r, list):
        d = {e.get("id"): e for e in r}
        sys.exit(0 if eval(sys.argv[1]) else 1)
sys.exit(1)' "$2" <<<"$qmp_out" && ok "$1" || not_ok "$1"
}
qmp_check "QMP query-vswap lists the four devices" 'sorted(d) == ["vs0", "vs1", "vs2", "vs3"]'
qmp_check "query-vswap: bind [0] and interleave [0] (JSON -device) in force; default without nodes" \
	'(d["vs2"]["config"]["policy"], d["vs2"]["config"]["host-nodes"]) == ("bind", [0]) and (d["vs0"]["config"]["policy"], d["vs0"]["config"]["host-nodes"]) == ("default", []) and (d["vs3"]["config"]["policy"], d["vs3"]["config"]["host-nodes"]) == ("interleave", [0])'
qmp_check "query-vswap: the NUMA members of an empty store (nodes [], counters 0)" \
	'all(d[i]["store"]["nodes"] == [] and d[i]["store"]["segment-bytes"] == 0 and d[i]["store"]["numa-migrated-bytes"] == 0 and d[i]["store"]["numa-migrate-failures"] == 0 and d[i]["store"]["numa-migrate-pending-bytes"] == 0 for i in d)'
qmp_check "query-vswap: vs0 capacity 262144 slots, 2 queues (one per vCPU)" \
	'd["vs0"]["config"]["capacity"] == 262144 and d["vs0"]["config"]["num-queues"] == 2'
qmp_check "query-vswap: vs1 zstd, 1 queue, 32 latency buckets, zero counters" \
	'd["vs1"]["config"]["compress"] == "zstd" and d["vs1"]["config"]["num-queues"] == 1 and len(d["vs1"]["store"]["load-latency"]) == 32 and not any(d["vs1"]["device"].values())'
check "HMP info vswap shows pool-max set with qom-set" \
	grep -q 'pool-max 1048576' <<<"$qmp_out"
check "migration is blocked with a reason" \
	grep -q 'virtio-vswap: the swap store is not migrated yet' <<<"$qmp_out"

# Both events are in the schema.  VSWAP_INTEGRITY_ERROR is not provoked:
# nothing here can corrupt a stored page (see docs/qemu.md).
schema=$( (echo '{"execute":"qmp_capabilities"}'
	echo '{"execute":"query-qmp-schema"}'
	echo '{"execute":"quit"}') | q -M none -qmp stdio 2>&1)
check "query-qmp-schema has the 4 VSWAP_* events (NO_SPACE, INTEGRITY_ERROR, WRITEBACK_ERROR, DISK_READ_ERROR)" \
	test "$(grep -o '"name": "VSWAP_[A-Z_]*"' <<<"$schema" | sort -u |
		wc -l)" -eq 4
check "query-qmp-schema has the vswap-writeback command" \
	grep -q '"name": "vswap-writeback"' <<<"$schema"
check "query-qmp-schema has the vswap-set-numa-policy command" \
	grep -q '"name": "vswap-set-numa-policy"' <<<"$schema"

# NUMA placement with real pages, over QMP (tests/qemu/numa_qmp.py).
# Its exit status counts too: a crash after some checks is a failure.
mkdir -p "$tmp/numa"
numa_checks=0
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "numa: ${line#ok - }"; numa_checks=$((numa_checks + 1)) ;;
	"not ok - "*) not_ok "numa: ${line#not ok - }" ;;
	"numa_qmp.py exit "*)
		check "numa: numa_qmp.py ran all its checks and exited 0 (${line#numa_qmp.py })" \
			test "${line##* }" = 0 -a $numa_checks -ge 24 ;;
	*) echo "# $line" ;;
	esac
done < <(timeout 600 python3 tests/qemu/numa_qmp.py "$qemu" \
	tests/vswapctl/qtest_driver.py "$tmp/numa" 2>&1; echo "numa_qmp.py exit $?")
grep -q . "$tmp/numa/numa.qemu.log" 2>/dev/null &&
	sed 's/^/# numa QEMU: /' "$tmp/numa/numa.qemu.log" | head -20

# The disk tier over QMP, no guest: vsd has a backing file (a path),
# vsf one passed with -add-fd, vsn none.  The library truncates the file
# it is given, so the junk written before shows the fd was attached.
head -c 100000 /dev/urandom >"$tmp/fdset.swap"
rm -f "$tmp/vsd.swap"
exec {fdset_fd}<>"$tmp/fdset.swap"
qmp_out=$( (
	echo '{"execute":"qmp_capabilities"}'
	echo '{"execute":"query-vswap"}'
	echo '{"execute":"vswap-writeback","arguments":{"id":"nosuch"}}'
	echo '{"execute":"vswap-writeback","arguments":{"id":"vsn"}}'
	echo '{"execute":"vswap-writeback","arguments":{"id":"/machine/peripheral"}}'
	echo '{"execute":"vswap-writeback","arguments":{"id":"vsd","min-age":0,"max-bytes":1048576}}'
	echo '{"execute":"vswap-writeback","arguments":{"id":"/machine/peripheral/vsf/virtio-backend"}}'
	echo '{"execute":"human-monitor-command","arguments":{"command-line":"info vswap"}}'
	echo '{"execute":"quit"}'
	sleep 5) | q -M q35 -S -add-fd fd=$fdset_fd,set=2 \
		-device virtio-vswap,id=vsd,size=1G,backing-file="$tmp/vsd.swap",backing-max=64M,writeback-age=30 \
		-device virtio-vswap,id=vsf,size=1G,backing-file=/dev/fdset/2 \
		-device virtio-vswap,id=vsn,size=1G \
		-qmp stdio 2>&1)
exec {fdset_fd}>&-
echo "$qmp_out" | grep -v '^{"QMP"' | cut -c1-300 | sed 's/^/# /'
qmp_check "query-vswap: vsd's backing-file, backing-max, writeback-age; vsn without backing-file" \
	'd["vsd"]["config"]["backing-file"] == "'"$tmp/vsd.swap"'" and d["vsd"]["config"]["backing-max"] == 64 << 20 and d["vsd"]["config"]["writeback-age"] == 30 and "backing-file" not in d["vsn"]["config"] and d["vsn"]["config"]["writeback-age"] == 0'
qmp_check "query-vswap: every disk tier counter, 0, and a 32-bucket disk-load-latency" \
	'all(d[i]["store"][k] == 0 for i in d for k in ("disk-pages", "disk-bytes", "disk-file-bytes", "writeback-pages", "writeback-bytes", "writeback-ios", "writeback-errors", "writeback-freed-bytes", "loads-from-disk", "disk-read-errors")) and all(d[i]["store"]["disk-load-latency"] == [0] * 32 for i in d)'
check "backing-file: a missing file is created with mode 0600" \
	test "$(stat -c %a "$tmp/vsd.swap" 2>/dev/null)" = 600
check "backing-file=/dev/fdset/N (-add-fd): the store took the fd (file truncated)" \
	test "$(stat -c %s "$tmp/fdset.swap")" -eq 0
check "vswap-writeback: unknown id -> DeviceNotFound" \
	grep -q '"class": "DeviceNotFound", "desc": "Device .nosuch. not found"' <<<"$qmp_out"
check "vswap-writeback: device without backing-file -> clear error" \
	grep -q "virtio-vswap 'vsn' has no disk tier (property 'backing-file')" <<<"$qmp_out"
check "vswap-writeback: not a virtio-vswap device -> clear error" \
	grep -q "'/machine/peripheral' is not a virtio-vswap device" <<<"$qmp_out"
check "vswap-writeback: success by id and by QOM path (-add-fd device), empty pool" \
	test "$(python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    try:
        r = json.loads(line).get("return")
    except ValueError:
        continue
    if isinstance(r, dict) and r == dict.fromkeys(
            ("pages", "bytes", "pool-freed", "ios", "segments"), 0):
        n += 1
print(n)' <<<"$qmp_out")" -eq 2
check "HMP info vswap shows the disk tier" \
	grep -q "disk tier: backing-file $tmp/vsd.swap, backing-max 67108864 bytes, writeback-age 30 s" <<<"$qmp_out"

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
	ok "disk-full qtest runs with backing-max=1M # SKIP no tmpfs (not root)"
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
		ok "qtest $p"
	else
		sed 's/^/# /' "$log" | tail -30
		not_ok "qtest $p (rc=$rc)"
	fi
done

echo "1..$n"
[ $fails -eq 0 ]
