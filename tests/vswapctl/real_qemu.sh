# Sourced by run.sh: vswapctl against the real QEMU with virtio-vswap.
# Uses run.sh's helpers (check, run_vc, ok, skip) and $T, $BUILD, $PIDS.
# The disk tier and NUMA parts put real pages into the store without a
# guest: QEMU runs with -accel qtest and qtest_driver.py plays the guest
# driver.
QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}
REAL_QEMU_CHECKS=(
	"real QEMU: stats --json of an empty store"
	"real QEMU: set pool-max, read back via query-vswap"
	"real QEMU: VM without the device"
	"real QEMU: writeback of a device without backing-file names the property"
	"real QEMU: -device virtio-vswap alias, two devices, two rows"
	"real QEMU disk tier: 128 pages stored through the virtqueue"
	"real QEMU disk tier: vswapctl writeback moves them and prints the result"
	"real QEMU disk tier: stats show the disk fields"
	"real QEMU disk tier: disk full: stores refused, nothing lost"
	"real QEMU disk tier: events prints VSWAP_WRITEBACK_ERROR (disk-full) and VSWAP_DISK_READ_ERROR"
	"real QEMU NUMA: 256 pages stored on a device with policy=bind,host-nodes=0"
	"real QEMU NUMA: stats --json: numa_policy bind, node_bytes [{node 0, bytes == segment_bytes}]"
	"real QEMU NUMA: the NODES column shows node 0"
	"real QEMU NUMA: --prometheus has the node 0 sample and the migration counters"
	"real QEMU NUMA: vswapctl numa changes the policy and prints the placement in force"
	"real QEMU NUMA: vswapctl numa with a node this host lacks: QEMU's reason, nothing changed"
	"real QEMU NUMA: vswapctl numa with garbage nodes: usage error (exit 2)"
	"real QEMU integrity: a corrupted disk tier (checksum=on): every load refused with INTEGRITY, no wrong data"
	"real QEMU integrity: events prints VSWAP_INTEGRITY_ERROR; counts agree with query-vswap"
	"real QEMU integrity: a corrupted disk tier (checksum=off, the default): every load refused with INTEGRITY, no wrong data"
	"real QEMU integrity: events prints VSWAP_INTEGRITY_ERROR (checksum=off); counts agree with query-vswap"
)

# qemu_start NAME EXTRA_ARGS...: a paused q35 VM, QMP on $T/NAME.qmp.
qemu_start() {
	local name=$1; shift
	"$QEMU" -accel tcg -M q35 -m 128 -nographic -nodefaults -S \
		-name "$name" -qmp "unix:$T/$name.qmp,server=on,wait=off" \
		-L /usr/share/seabios -L /usr/share/qemu "$@" \
		>"$T/$name.qemu.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 200); do
		[ -S "$T/$name.qmp" ] && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.05
	done
	echo "# QEMU $name did not start:"; sed 's/^/# /' "$T/$name.qemu.log"
	return 1
}

# qemu_start_qtest NAME EXTRA_ARGS...: qemu_start with -accel qtest and the
# qtest socket $T/NAME.qtest that qtest_driver.py plays the guest through.
qemu_start_qtest() {
	local name=$1; shift
	qemu_start "$name" -accel qtest -qtest-log /dev/null \
		-chardev socket,id=qt,path="$T/$name.qtest",server=on,wait=off \
		-qtest chardev:qt "$@"
}

# events_follow NAME: vswapctl events on the second monitor $T/NAME-ev.qmp
# into $T/NAME.events, once it follows; its pid in $evpid.
events_follow() {
	"$VSWAPCTL" events -q "$T/$1-ev.qmp" >"$T/$1.events" 2>"$T/$1.events.err" &
	evpid=$!
	PIDS+=($evpid)
	for _ in $(seq 100); do
		grep -q following "$T/$1.events.err" && break
		sleep 0.05
	done
}

# The disk tier with real pages: a 1 MiB pool and a 1 MiB disk tier
# (backing-max) at 00:04.0, two QMP monitors (commands; events).
real_qemu_disk_tier() {
	local drv="$PY $HERE/qtest_driver.py $T/rqd.qtest" evpid
	if ! qemu_start_qtest rqd -qmp "unix:$T/rqd-ev.qmp,server=on,wait=off" \
		-device virtio-vswap-pci,id=vsd,addr=04.0,backing-file="$T/rqd.swap",backing-max=1M,pool-max=1M; then
		for c in "${REAL_QEMU_CHECKS[@]:5:5}"; do nok "$c"; done
		return
	fi
	events_follow rqd

	check "real QEMU disk tier: 128 pages stored through the virtqueue" \
		bash -c "$drv store 0 128 1 | tee /dev/stderr | grep -qx 'store ok 128'"
	check "real QEMU disk tier: vswapctl writeback moves them and prints the result" bash -c \
		"'$VSWAPCTL' writeback rqd -q '$T/rqd.qmp' --min-age 0 | tee /dev/stderr |
		 '$PY' -c '
import json, sys
lines = sys.stdin.read().splitlines()
assert lines[0] == \"rqd vsd: writeback done\", lines
r = json.loads(lines[1])
assert r[\"pages\"] == 128 and r[\"bytes\"] >= 128 * 4096 and r[\"ios\"] > 0, r
assert r[\"pool-freed\"] > 0 and r[\"segments\"] > 0, r'"
	check "real QEMU disk tier: stats show the disk fields" bash -c \
		"'$VSWAPCTL' stats --json -q '$T/rqd.qmp' | tee /dev/stderr |
		 '$PY' -c '
import json, sys
d = json.load(sys.stdin)[\"devices\"][0]
assert d[\"disk_pages\"] == 128 and d[\"writeback_pages\"] == 128, d
assert d[\"disk_bytes\"] >= 128 * 4096 and d[\"disk_file_bytes\"] > 0, d
assert d[\"writeback_ios\"] > 0 and d[\"writeback_freed_bytes\"] > 0, d
assert d[\"writeback_errors\"] == 0 and d[\"disk_read_errors\"] == 0, d' &&
		 '$VSWAPCTL' stats -q '$T/rqd.qmp' | awk 'NR == 1 { for (i = 1; i <= NF; i++) c[\$i] = i }
			NR == 2 { exit !(\$c[\"DISK\"] != 0 && \$c[\"WB-PAGES\"] == 128) }'"
	# 4 MiB more than the 1 MiB pool and the 768 KiB left on disk take.
	$drv store 1000 1024 2 -- load 1000 1024 2 >"$T/rqd.full" 2>&1
	check "real QEMU disk tier: disk full: stores refused, nothing lost" bash -c \
		"cat '$T/rqd.full'; ok=\$(awk '/^store ok/ {print \$3}' '$T/rqd.full')
		 refused=\$(awk '/^store no-space/ {print \$3}' '$T/rqd.full')
		 [ \"\$refused\" -gt 0 ] && [ \"\$ok\" -gt 0 ] &&
		 grep -qx \"load data \$ok\" '$T/rqd.full' &&
		 grep -qx \"load zero \$refused\" '$T/rqd.full' &&
		 grep -qx 'load mismatch 0' '$T/rqd.full'"
	# A disk tier that lost its data (truncated behind QEMU's back):
	# loads fail with IOERR, never wrong data.
	truncate -s 0 "$T/rqd.swap"
	$drv load 0 128 1 >"$T/rqd.lost" 2>&1
	check "real QEMU disk tier: events prints VSWAP_WRITEBACK_ERROR (disk-full) and VSWAP_DISK_READ_ERROR" bash -c \
		"cat '$T/rqd.lost'; grep -qx 'load ioerr 128' '$T/rqd.lost' || exit 1
		 for _ in \$(seq 50); do
			'$PY' - '$T/rqd.events' <<'PY' && exit 0
import json, sys
ev = {}
for line in open(sys.argv[1]):
    ts, vm, name, data = line.split(' ', 3)
    ev.setdefault(name, []).append(json.loads(data))
wb = ev.get('VSWAP_WRITEBACK_ERROR', [])
rd = ev.get('VSWAP_DISK_READ_ERROR', [])
ok = (wb and all(e['reason'] == 'disk-full' and e['id'] == 'vsd' for e in wb)
      and rd and rd[-1]['total'] == 128)
sys.exit(0 if ok else 1)
PY
			sleep 0.2
		 done
		 cat '$T/rqd.events'; exit 1"
	kill $evpid 2>/dev/null
}

# Host NUMA placement on node 0 (every host has it): the per-node bytes
# QEMU reads in the background (query-vswap refreshes figures older than
# 1 s and answers with the previous ones) in all three outputs.
real_qemu_numa() {
	local drv="$PY $HERE/qtest_driver.py $T/rqn.qtest"
	if ! qemu_start_qtest rqn \
		-device '{"driver":"virtio-vswap-pci","id":"vsn","addr":"04.0","policy":"bind","host-nodes":[0]}'; then
		for c in "${REAL_QEMU_CHECKS[@]:10:7}"; do nok "$c"; done
		return
	fi
	check "real QEMU NUMA: 256 pages stored on a device with policy=bind,host-nodes=0" \
		bash -c "$drv store 0 256 3 | tee /dev/stderr | grep -qx 'store ok 256'"
	# Until a refresh made after the stores is reported.
	for _ in $(seq 50); do
		"$VSWAPCTL" stats --json -q "$T/rqn.qmp" >"$T/rqn.json" 2>&1
		"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"][0]
sys.exit(0 if d["node_bytes"] and d["segment_bytes"] and
         sum(n["bytes"] for n in d["node_bytes"]) == d["segment_bytes"]
         else 1)' "$T/rqn.json" && break
		sleep 0.2
	done
	check "real QEMU NUMA: stats --json: numa_policy bind, node_bytes [{node 0, bytes == segment_bytes}]" bash -c \
		"cat '$T/rqn.json' >&2; '$PY' '$HERE/check_output.py' json '$SCHEMA' <'$T/rqn.json' &&
		 '$PY' -c '
import json, sys
d = json.load(open(sys.argv[1]))[\"devices\"][0]
assert d[\"numa_policy\"] == \"bind\", d
assert d[\"segment_bytes\"] > 0, d
assert d[\"node_bytes\"] == [{\"node\": 0, \"bytes\": d[\"segment_bytes\"]}], d
assert d[\"node_bytes_age_ms\"] is not None, d
assert d[\"numa_migrate_pending_bytes\"] == 0 and d[\"numa_migrate_failures\"] == 0, d' '$T/rqn.json'"
	seg=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["devices"][0]["segment_bytes"])' "$T/rqn.json" 2>/dev/null)
	check "real QEMU NUMA: the NODES column shows node 0" bash -c \
		"'$VSWAPCTL' stats --bytes -q '$T/rqn.qmp' | tee /dev/stderr |
		 awk 'NR == 1 { for (i = 1; i <= NF; i++) c[\$i] = i }
		      NR == 2 { exit !(\$c[\"NODES\"] == \"0:$seg\") }'"
	check "real QEMU NUMA: --prometheus has the node 0 sample and the migration counters" bash -c \
		"'$VSWAPCTL' stats --prometheus -q '$T/rqn.qmp' >'$T/rqn.prom' &&
		 '$PY' '$HERE/check_output.py' prom <'$T/rqn.prom' &&
		 grep -qx 'vswap_node_bytes{vm=\"rqn\",device=\"vsn\",node=\"0\"} $seg' '$T/rqn.prom' &&
		 grep -qx 'vswap_numa_migrated_bytes_total{vm=\"rqn\",device=\"vsn\"} 0' '$T/rqn.prom' &&
		 grep -qx 'vswap_numa_migrate_failures_total{vm=\"rqn\",device=\"vsn\"} 0' '$T/rqn.prom' &&
		 grep -qx 'vswap_segment_bytes{vm=\"rqn\",device=\"vsn\"} $seg' '$T/rqn.prom'"
	check "real QEMU NUMA: vswapctl numa changes the policy and prints the placement in force" bash -c \
		"'$VSWAPCTL' numa rqn -q '$T/rqn.qmp' interleave 0 | tee /dev/stderr |
		 grep -qx 'rqn vsn: policy=interleave host-nodes=0 migration-pending=0' &&
		 '$VSWAPCTL' numa rqn -q '$T/rqn.qmp' default | grep -qx 'rqn vsn: policy=default host-nodes=none migration-pending=0' &&
		 '$VSWAPCTL' numa -q '$T/rqn.qmp' rqn bind 0 | grep -qx 'rqn vsn: policy=bind host-nodes=0 migration-pending=0' &&
		 '$VSWAPCTL' stats --json -q '$T/rqn.qmp' | '$PY' -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"devices\"][0][\"numa_policy\"] != \"bind\")'"
	local absent=5
	[ -e /sys/devices/system/node/node5 ] && absent=63
	check "real QEMU NUMA: vswapctl numa with a node this host lacks: QEMU's reason, nothing changed" bash -c \
		"out=\$('$VSWAPCTL' numa rqn -q '$T/rqn.qmp' bind $absent 2>&1); rc=\$?; echo \"\$out\" >&2
		 [ \$rc = 1 ] && [ \"\$out\" = \"vswapctl: vm rqn: vswap-set-numa-policy vsn: virtio-vswap 'vsn': host node $absent is not online, has no memory or is not allowed to this process (GenericError)\" ] &&
		 '$VSWAPCTL' stats --json -q '$T/rqn.qmp' | '$PY' -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"devices\"][0][\"numa_policy\"] != \"bind\")'"
	check "real QEMU NUMA: vswapctl numa with garbage nodes: usage error (exit 2)" \
		run_vc 2 "'0-x' is not a list of host nodes (0-63) such as 1 or 0-1,3" numa rqn -q "$T/rqn.qmp" bind 0-x
}

# Disk rot, the fault an operator can actually meet: pages written back,
# then bytes of the backing file flipped behind QEMU's back. Every load
# must fail with INTEGRITY (none returns other data), and
# VSWAP_INTEGRITY_ERROR must report them. With checksum=on and with
# checksum=off (the default): objects on disk always carry a checksum.
# real_qemu_integrity_mode on|off FIRST: FIRST indexes the mode's two
# REAL_QEMU_CHECKS.
real_qemu_integrity_mode() {
	local mode=$1 first=$2 vm=rqi-$1
	local drv="$PY $HERE/qtest_driver.py $T/$vm.qtest" evpid
	local c_load=${REAL_QEMU_CHECKS[$first]}
	local c_events=${REAL_QEMU_CHECKS[$((first + 1))]}
	if ! qemu_start_qtest "$vm" -qmp "unix:$T/$vm-ev.qmp,server=on,wait=off" \
		-device virtio-vswap-pci,id=vsi,addr=04.0,checksum="$mode",backing-file="$T/$vm.swap"; then
		nok "$c_load"
		nok "$c_events"
		return
	fi
	events_follow "$vm"
	{
		$drv store 0 64 5 &&
		"$VSWAPCTL" writeback "$vm" -q "$T/$vm.qmp" --min-age 0 &&
		"$PY" - "$T/$vm.swap" <<'PY' &&
import sys
# One flipped byte every 512: each 4 KiB object gets several, some
# headers too (slot or checksum no longer match).
with open(sys.argv[1], "r+b") as f:
    data = bytearray(f.read())
    assert len(data) >= 64 * 4096, len(data)
    for off in range(100, len(data), 512):
        data[off] ^= 0x5a
    f.seek(0)
    f.write(data)
PY
		$drv load 0 64 5
	} >"$T/$vm.log" 2>&1
	check "$c_load" \
		bash -c "cat '$T/$vm.log'; grep -q 'writeback done' '$T/$vm.log' &&
			 grep -qx 'load integrity 64' '$T/$vm.log' &&
			 grep -qx 'load data 0' '$T/$vm.log' &&
			 grep -qx 'load mismatch 0' '$T/$vm.log'"
	check "$c_events" bash -c \
		"for _ in \$(seq 50); do
			'$VSWAPCTL' stats --json -q '$T/$vm.qmp' >'$T/$vm.json' || exit 1
			'$PY' - '$T/$vm.events' '$T/$vm.json' <<'PY' && exit 0
import json, sys
ev = []
for line in open(sys.argv[1]):
    ts, vm, name, data = line.split(' ', 3)
    if name == 'VSWAP_INTEGRITY_ERROR':
        ev.append(json.loads(data))
dev = json.load(open(sys.argv[2]))['devices'][0]
ok = (ev and all(e['id'] == 'vsi' for e in ev)
      and ev[-1]['total'] == 64
      and dev['integrity_errors'] == 64 and dev['disk_read_errors'] == 0)
sys.exit(0 if ok else 1)
PY
			sleep 0.2
		 done
		 cat '$T/$vm.events' '$T/$vm.json'; exit 1"
	kill $evpid 2>/dev/null
}

real_qemu_integrity() {
	real_qemu_integrity_mode on 17
	real_qemu_integrity_mode off 19
}

if [ ! -x "$QEMU" ]; then
	for c in "${REAL_QEMU_CHECKS[@]}"; do skip "$c" "no $QEMU (make qemu)"; done
elif ! "$QEMU" -device help 2>/dev/null | grep -q virtio-vswap; then
	for c in "${REAL_QEMU_CHECKS[@]}"; do skip "$c" "QEMU has no virtio-vswap"; done
else
	if qemu_start rq -device virtio-vswap-pci,id=vs0 && qemu_start rqbare; then
		check "real QEMU: stats --json of an empty store" bash -c \
			"'$VSWAPCTL' stats --json --qmp '$T/rq.qmp' >'$T/rq.json' &&
			 '$PY' '$HERE/check_output.py' json '$SCHEMA' <'$T/rq.json' &&
			 '$PY' - '$T/rq.json' <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d['devices']) == 1, d
dev = d['devices'][0]
assert dev['vm'] == 'rq' and dev['device'] == 'vs0', dev
# Field-name alignment with qapi/vswap.json: list what the table expects
# but this QEMU does not report (null); the core counters must be there.
absent = sorted(k for k, v in dev.items() if v is None)
print('# fields this QEMU does not report:', ' '.join(absent) or 'none',
      file=sys.stderr)
# An empty store: no pages, no payload (pool_bytes may hold metadata).
for k in ('stored_pages', 'zero_pages', 'same_pages', 'compressed_pages',
          'compressed_bytes', 'stores', 'loads'):
    assert dev[k] == 0, (k, dev[k])
assert dev['pool_bytes'] is not None and dev['ratio'] in (None, 0), dev
for k in ('capacity_bytes', 'pool_max_bytes'):
    assert dev[k] is not None, (k, 'not found in query-vswap')
PY"
		check "real QEMU: set pool-max, read back via query-vswap" bash -c \
			"'$VSWAPCTL' set rq -q '$T/rq.qmp' pool-max=64M | grep -q 'pool-max=64M' &&
			 '$VSWAPCTL' stats --json -q '$T/rq.qmp' |
			 '$PY' -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"devices\"][0][\"pool_max_bytes\"] != 67108864)'"
		# Alignment with qapi/vswap.json, shown in the TAP log.
		"$VSWAPCTL" stats --json -q "$T/rq.qmp" 2>/dev/null | "$PY" -c '
import json, sys
dev = json.load(sys.stdin)["devices"][0]
print("# vswapctl fields this QEMU does not report:",
      " ".join(sorted(k for k, v in dev.items() if v is None)) or "none")'
		check "real QEMU: VM without the device" \
			run_vc 1 "vm rqbare has no virtio-vswap device" stats -q "$T/rqbare.qmp"
		check "real QEMU: writeback of a device without backing-file names the property" \
			run_vc 1 "vm rq: vswap-writeback vs0: virtio-vswap 'vs0' has no disk tier (property 'backing-file')" \
			writeback rq -q "$T/rq.qmp" --max-bytes 1M
		if qemu_start rqtwo -device virtio-vswap,id=a -device virtio-vswap-pci,id=b; then
			check "real QEMU: -device virtio-vswap alias, two devices, two rows" bash -c \
				"'$VSWAPCTL' stats -q '$T/rqtwo.qmp' | tail -n +2 | awk '{print \$1, \$2}' | sort |
				 tr '\n' ' ' | grep -qx 'rqtwo a rqtwo b '"
		else
			nok "real QEMU: -device virtio-vswap alias, two devices, two rows"
		fi
	else
		nok "real QEMU starts with -device virtio-vswap-pci"
	fi
	real_qemu_disk_tier
	real_qemu_numa
	real_qemu_integrity
fi
