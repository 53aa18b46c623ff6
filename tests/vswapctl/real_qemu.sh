# Sourced by run.sh: vswapctl against the real QEMU with virtio-vswap.
# Uses run.sh's helpers (check, run_vc, ok, skip) and $T, $BUILD, $PIDS.
QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}

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

if [ ! -x "$QEMU" ]; then
	skip "real QEMU: stats --json of an empty store" "no $QEMU (make qemu)"
	skip "real QEMU: set pool-max, read back via query-vswap" "no QEMU"
	skip "real QEMU: VM without the device" "no QEMU"
	skip "real QEMU: writeback succeeds or names the missing command" "no QEMU"
	skip "real QEMU: -device virtio-vswap alias, two devices, two rows" "no QEMU"
elif ! "$QEMU" -device help 2>/dev/null | grep -q virtio-vswap; then
	skip "real QEMU: stats --json of an empty store" "QEMU has no virtio-vswap"
	skip "real QEMU: set pool-max, read back via query-vswap" "QEMU has no virtio-vswap"
	skip "real QEMU: VM without the device" "QEMU has no virtio-vswap"
	skip "real QEMU: writeback succeeds or names the missing command" "QEMU has no virtio-vswap"
	skip "real QEMU: -device virtio-vswap alias, two devices, two rows" "QEMU has no virtio-vswap"
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
		check "real QEMU: writeback succeeds or names the missing command" bash -c \
			"'$VSWAPCTL' writeback rq -q '$T/rq.qmp' --max-bytes 1M 2>'$T/wb.err'; rc=\$?
			 cat '$T/wb.err' >&2
			 [ \$rc -eq 0 ] || { [ \$rc -eq 1 ] && grep -q \"no 'vswap-writeback' command\" '$T/wb.err'; }"
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
fi
