#!/usr/bin/env bash
# vswapctl tests, TAP on stdout.
#
#   tests/vswapctl/run.sh           unit tests (suite vswapctl, fast tier):
#                                   the command line, and every output
#                                   against qmp_peer.py, a QMP *server*
#                                   double answering query-vswap with the
#                                   canned replies in this directory; no
#                                   QEMU
#   tests/vswapctl/run.sh --qemu    against the real QEMU
#                                   ($BUILD/qemu/qemu-system-x86_64 with
#                                   virtio-vswap) and the test guest
#                                   (real_qemu.py; suite vswapctl-qemu);
#                                   skipped without that QEMU
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/common.sh"	# REPO, BUILD, PY (with python3-jsonschema)
. "$TESTLIB/tap.sh"
VSWAPCTL=$BUILD/host/vswapctl
SCHEMA=$REPO/docs/vswapctl-json-schema.json

T=$(mktemp -d "${TMPDIR:-/tmp}/vswapctl-test.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

mode=unit
case ${1:-} in
--qemu) mode=qemu ;;
"") ;;
*) die "usage: $0 [--qemu]" ;;
esac

# run_vc RC_WANT GREP_STDERR ARGS...: vswapctl exits RC_WANT and stderr
# contains GREP_STDERR (fixed string; '' = don't look).
run_vc() {
	local want=$1 pat=$2 rc; shift 2
	"$VSWAPCTL" "$@" >"$T/stdout" 2>"$T/stderr"; rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "exit status $rc, want $want" >&2
		cat "$T/stdout" "$T/stderr" >&2
		return 1
	fi
	if [ -n "$pat" ] && ! grep -qF -- "$pat" "$T/stderr"; then
		echo "stderr lacks: $pat" >&2; cat "$T/stderr" >&2
		return 1
	fi
}

# peer NAME ARGS...: start qmp_peer.py on $T/NAME.sock and wait for it.
peer() {
	local name=$1; shift
	"$PY" "$HERE/qmp_peer.py" --socket "$T/$name.sock" --log "$T/$name.log" \
		"$@" >"$T/$name.peer" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		grep -q ready "$T/$name.peer" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# peer $name did not start"; cat "$T/$name.peer"
	return 1
}

# --- build ---
if ! make -s -C "$REPO/host/vswapctl" BUILD="$BUILD" >"$T/out" 2>&1; then
	not_ok "vswapctl builds" "$T/out"; tap_end
fi
ok "vswapctl builds into \$BUILD/host/vswapctl"

# --- the real QEMU, once it has the device, and the test guest ---
if [ $mode = qemu ]; then
	guest=()
	if ! qemu_has_vswap; then
		:	# real_qemu.py skips everything, saying why
	elif image=$("$TESTLIB/guest/image.sh" 2>"$T/image.log"); then
		. "$image"
		guest=(--kernel "$VMLINUZ" --initrd "$INITRD")
	else
		not_ok "the test guest image (tests/lib/guest/image.sh)" "$T/image.log"
	fi
	tap_pipe timeout 1200 "$PY" "$HERE/real_qemu.py" --qemu "$QEMU" \
		--vswapctl "$VSWAPCTL" --workdir "$T/real" "${guest[@]}"
	tap_end
fi

check "vswapctl builds with -Wall -Wextra -Werror" \
	make -s -j"$(nproc)" -C "$REPO/host/vswapctl" BUILD="$T/build" EXTRA_CFLAGS=-Werror

# --- command line ---
check "--help lists the commands" \
	bash -c "'$VSWAPCTL' --help | grep -q writeback && '$VSWAPCTL' stats --help | grep -q -- --prometheus"
check "no command: usage error (2)" run_vc 2 "missing command"
check "unknown command: usage error (2)" run_vc 2 "unknown command 'frob'" frob
check "bad option: usage error (2)" run_vc 2 "bad option" stats --frob
check "--max-bytes 12Q is not a size (2)" \
	run_vc 2 "--max-bytes: '12Q' is not a size" writeback vm1 --max-bytes 12Q
check "--max-bytes -1 is not a size (2)" \
	run_vc 2 "'-1' is not a size" writeback vm1 --max-bytes=-1
check "--max-bytes 2^64 overflows (2)" \
	run_vc 2 "is not a size" writeback vm1 --max-bytes 16777216T
check "--min-age 5x is rejected (2)" \
	run_vc 2 "--min-age: '5x'" writeback vm1 --min-age 5x
check "writeback without VM (2)" run_vc 2 "missing VM" writeback
check "set with unknown key (2)" run_vc 2 "unknown setting 'colour'" set vm1 colour=red
check "set pool-max=lots (2)" run_vc 2 "pool-max: 'lots' is not a size" set vm1 pool-max=lots
check "set idle-compact=soon (2)" run_vc 2 "idle-compact: 'soon' is not a duration" set vm1 idle-compact=soon
check "numa with a misspelt policy: usage error (2), nothing sent" \
	run_vc 2 "'bnd' is not a policy (default, preferred, bind or interleave)" numa vm1 bnd 0
check "events: --qmp and --libvirt together (2)" \
	run_vc 2 "pick one" events --qmp /x --libvirt
check "events --count 0: usage error (2)" run_vc 2 "--count: at least 1" events --qmp /x --count 0

if command -v groff >/dev/null; then
	check "man page docs/vswapctl.1 renders without warnings" bash -c \
		"groff -man -Tutf8 -ww '$REPO/docs/vswapctl.1' 2>&1 >/dev/null | (! grep .)"
else
	skip "man page docs/vswapctl.1 renders without warnings" "no groff"
fi

# --- dead sockets ---
# A monitor another client holds: QEMU accepts one at a time, with a
# backlog of 1; here the backlog is full, so a blocking connect would wait
# for ever. vswapctl gives up after its 10 s and says why.
"$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
open(sys.argv[2], "w").write("ready")
time.sleep(60)' "$T/busy.sock" "$T/busy.ready" &
busy_pid=$!
for _ in $(seq 50); do [ -e "$T/busy.ready" ] && break; sleep 0.1; done
check "monitor busy (backlog full): exit 1 within the timeout, says why" bash -c \
	"timeout 30 '$VSWAPCTL' stats --qmp '$T/busy.sock' 2>'$T/busy.err'; [ \$? -eq 1 ] &&
	 grep -qF 'the monitor is busy: a QMP socket serves one client at a time' '$T/busy.err'"
kill $busy_pid 2>/dev/null

check "missing socket: exit 1, names the path" \
	run_vc 1 "$T/nope.sock: cannot connect: No such file" stats --qmp "$T/nope.sock"
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/dead.sock"
check "socket nobody listens on: exit 1, connection refused" \
	run_vc 1 "cannot connect: Connection refused" stats --qmp "$T/dead.sock"
check "dead socket: --json still valid, error listed" bash -c \
	"'$VSWAPCTL' stats --json --qmp '$T/dead.sock' 2>/dev/null | '$PY' '$REPO/tests/lib/check_output.py' json '$SCHEMA' && \
	 '$VSWAPCTL' stats --json --qmp '$T/dead.sock' 2>/dev/null | grep -q 'Connection refused'"
check "writeback to a dead socket: exit 1" \
	run_vc 1 "cannot connect" writeback "$T/dead.sock"

# --- against the QMP peer ---
peer web1 --name web1 --reply "$HERE/canned-query-vswap.json" --noise || exit 1
peer two --reply "$HERE/canned-two-devices.json" --writeback --compact --events 3 || exit 1
peer bare --name bare || exit 1
peer old --name old --no-vswap-cmd || exit 1
peer frag --name frag --reply "$HERE/canned-query-vswap.json" --noise --fragment || exit 1

check "stats table: one row with the canned values" bash -c \
	"'$VSWAPCTL' stats --qmp '$T/web1.sock' >'$T/tab' &&
	 head -1 '$T/tab' | grep -q '^VM  *DEVICE  *CAPACITY' &&
	 grep -Eq '^web1 +vs0 +16G +lz4 +1G +10000 +2000 +500 +7.63M +8M +4.88 +0:6M,1:2M +1M +256$' '$T/tab'"
check "stats --bytes prints sizes in bytes" bash -c \
	"'$VSWAPCTL' stats --bytes --qmp '$T/web1.sock' | grep -Eq ' 17179869184 .* 8388608 '"
check "QMP protocol: capabilities first, events before replies skipped" bash -c \
	"head -1 '$T/web1.log' | grep -q '\"qmp_capabilities\"'"
check "QMP framing: messages split into 5-byte pieces" bash -c \
	"'$VSWAPCTL' stats --json --qmp '$T/frag.sock' >'$T/jf' && '$VSWAPCTL' stats --json --qmp '$T/web1.sock' >'$T/jw' &&
	 sed 's/web1/frag/g' '$T/jw' | diff - '$T/jf'"
check "VM named by query-name, else by socket file name" bash -c \
	"'$VSWAPCTL' stats --qmp '$T/two.sock' | grep -q '^two.sock '"
check "absent fields show as '-'" bash -c \
	"'$VSWAPCTL' stats --qmp '$T/two.sock' | grep -Eq '^two.sock +/machine/peripheral-anon/device\[3\]/virtio-backend +2G +- +- +3 +- +- +- +4K +3.00 +- +- +-$'"
check "--json validates against docs/vswapctl-json-schema.json" bash -c \
	"'$VSWAPCTL' stats --json --qmp '$T/web1.sock' --qmp '$T/two.sock' >'$T/j' &&
	 '$PY' '$REPO/tests/lib/check_output.py' json '$SCHEMA' <'$T/j'"
check "docs/vswapctl-json-schema.json is what 'vswapctl schema' prints" bash -c \
	"'$VSWAPCTL' schema >'$T/schema.json' && diff -u '$SCHEMA' '$T/schema.json'"
check "qapi/vswap.json VswapStoreStats is what gen-counters.py makes of vswap.h" \
	"$PY" "$REPO/scripts/gen-counters.py" --check
check "every store counter is in vswap.h, QAPI, vswapctl and its schema" \
	"$PY" "$HERE/check_counters.py" "$REPO" "$T/schema.json"
cat >"$T/expect.json" <<'JSON'
{ "web1|vs0|stored_pages": 10000, "web1|vs0|pool_bytes": 8388608,
  "web1|vs0|capacity_bytes": 17179869184, "web1|vs0|codec": "lz4",
  "web1|vs0|ratio": 4.8828125, "web1|vs0|disk_bytes": 1048576,
  "web1|vs0|writeback_pages": 256, "web1|vs0|stores": 12000,
  "web1|vs0|requests": 15100, "web1|vs0|bad_requests": 9,
  "web1|vs0|disk_pages": 512, "web1|vs0|loads_from_disk": 17,
  "web1|vs0|node_bytes": [{"node": 0, "bytes": 6291456}, {"node": 1, "bytes": 2097152}],
  "web1|vs0|numa_policy": "bind", "web1|vs0|node_bytes_age_ms": 412,
  "web1|vs0|segment_bytes": 8308608, "web1|vs0|numa_migrated_bytes": 2097152,
  "web1|vs0|numa_migrate_failures": 3, "web1|vs0|numa_migrate_pending_bytes": 131072,
  "two.sock|vs0|numa_policy": null, "two.sock|vs0|segment_bytes": null,
  "web1|vs0|qom_path": "/machine/peripheral/vs0/virtio-backend",
  "two.sock|vs0|ratio": null, "two.sock|vs0|disk_bytes": null,
  "two.sock|vs0|pool_max_bytes": 0, "web1|vs0|idle_compact_seconds": 30,
  "two.sock|vs0|idle_compact_seconds": null,
  "two.sock|/machine/peripheral-anon/device[3]/virtio-backend|zero_pages": null }
JSON
check "--json carries the canned values, null for absent ones" bash -c \
	"'$PY' '$REPO/tests/lib/check_output.py' json '$SCHEMA' '$T/expect.json' <'$T/j'"
check "--json: two VMs, three devices, no errors" bash -c \
	"'$PY' -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (len(d[\"devices\"])==3 and d[\"errors\"]==[]))' <'$T/j'"
check "--prometheus: well-formed exposition with HELP/TYPE" bash -c \
	"'$VSWAPCTL' stats --prometheus --qmp '$T/web1.sock' --qmp '$T/two.sock' >'$T/p' &&
	 '$PY' '$REPO/tests/lib/check_output.py' prom <'$T/p'"
check "--prometheus: labels, counters, per-node samples" bash -c \
	"grep -qx 'vswap_stored_pages{vm=\"web1\",device=\"vs0\"} 10000' '$T/p' &&
	 grep -qx '# TYPE vswap_stores_total counter' '$T/p' &&
	 grep -qx 'vswap_node_bytes{vm=\"web1\",device=\"vs0\",node=\"1\"} 2097152' '$T/p' &&
	 grep -qx 'vswap_numa_migrated_bytes_total{vm=\"web1\",device=\"vs0\"} 2097152' '$T/p' &&
	 grep -qx 'vswap_numa_migrate_pending_bytes{vm=\"web1\",device=\"vs0\"} 131072' '$T/p' &&
	 ! grep -q 'vswap_disk_bytes{vm=\"two.sock\"' '$T/p'"
check "stats VM filter: only that VM" bash -c \
	"'$VSWAPCTL' stats -q '$T/web1.sock' -q '$T/two.sock' web1 | tail -n +2 | grep -vq '^two'"
check "stats VM filter: unknown VM is an error" \
	run_vc 1 "vm ghost: not found" stats -q "$T/web1.sock" ghost
check "VM without the device: clear error, exit 1" \
	run_vc 1 "vm bare has no virtio-vswap device" stats --qmp "$T/bare.sock"
check "QEMU without query-vswap: same clear error" \
	run_vc 1 "vm old has no virtio-vswap device" stats --qmp "$T/old.sock"
check "one bad VM does not hide the good one" bash -c \
	"'$VSWAPCTL' stats -q '$T/old.sock' -q '$T/web1.sock' 2>/dev/null | grep -q '^web1 '; [ \${PIPESTATUS[0]} -eq 1 ]"
peer ctl --name "$(printf 'we\033[2Jb\nx')" --reply "$HERE/canned-query-vswap.json" || exit 1
check "table: control characters of a VM name are shown as '?'" bash -c \
	"'$VSWAPCTL' stats -q '$T/ctl.sock' | grep -q '^we?\[2Jb?x ' &&
	 [ \$('$VSWAPCTL' stats -q '$T/ctl.sock' | wc -l) -eq 2 ]"
peer web1b --name web1 --reply "$HERE/canned-query-vswap.json" || exit 1
check "two VMs named alike: one series each, the second left out with an error (exit 1)" bash -c \
	"'$VSWAPCTL' stats --prometheus -q '$T/web1.sock' -q '$T/web1b.sock' >'$T/dup' 2>'$T/dup.err'; [ \$? -eq 1 ] &&
	 [ \$(grep -c '^vswap_capacity_bytes{vm=\"web1\",device=\"vs0\"}' '$T/dup') -eq 1 ] &&
	 grep -qF 'vm web1 device vs0: also reported by qmp:$T/web1.sock; left out' '$T/dup.err'"

# set
check "set pool-max=64M: qom-set on the device, read back" bash -c \
	"'$VSWAPCTL' set web1 --qmp '$T/web1.sock' pool-max=64M | grep -qx 'web1 vs0: pool-max=64M (67108864)' &&
	 grep -q '\"execute\": \"qom-set\", \"arguments\": {\"path\": \"/machine/peripheral/vs0/virtio-backend\", \"property\": \"pool-max\", \"value\": 67108864}' '$T/web1.log' &&
	 '$VSWAPCTL' stats --bytes -q '$T/web1.sock' | grep -q ' 67108864 '"
check "sizes: 2GiB and 64k are sizes, 1.5G is not" bash -c \
	"'$VSWAPCTL' set web1 -q '$T/web1.sock' pool-max=2GiB | grep -q 'pool-max=2G (2147483648)' &&
	 '$VSWAPCTL' set web1 -q '$T/web1.sock' pool-max=64k | grep -q 'pool-max=64K (65536)' &&
	 ! '$VSWAPCTL' set web1 -q '$T/web1.sock' pool-max=1.5G 2>/dev/null"
check "set idle-compact=10m: qom-set of 600 s, read back" bash -c \
	"'$VSWAPCTL' set web1 -q '$T/web1.sock' idle-compact=10m | grep -qx 'web1 vs0: idle-compact=600' &&
	 grep -q '\"property\": \"idle-compact\", \"value\": 600}' '$T/web1.log'"
check "set idle-compact=0 (off) and pool-max in one call" bash -c \
	"'$VSWAPCTL' set web1 -q '$T/web1.sock' idle-compact=0 pool-max=1G | grep -qx 'web1 vs0: idle-compact=0 pool-max=1G (1073741824)'"
check "set idle-compact past its uint32 limit: usage error (2), nothing applied" bash -c \
	"'$VSWAPCTL' set web1 -q '$T/web1.sock' pool-max=3G idle-compact=50000d 2>&1 | grep -q \"idle-compact: '50000d' is above its limit 4294967295\" &&
	 { '$VSWAPCTL' set web1 -q '$T/web1.sock' pool-max=3G idle-compact=50000d 2>/dev/null; [ \$? -eq 2 ]; } &&
	 ! grep -q 3221225472 '$T/web1.log'"
check "set on a VM with two devices needs --device" \
	run_vc 1 "has 2 virtio-vswap devices; pick one with --device" set "$T/two.sock" pool-max=1G
check "set --device by qom-path" bash -c \
	"'$VSWAPCTL' set '$T/two.sock' -d '/machine/peripheral-anon/device[3]/virtio-backend' pool-max=1G | grep -q 'pool-max=1G'"
check "set --device that does not exist" \
	run_vc 1 "vm two.sock has no virtio-vswap device 'vs9'" set "$T/two.sock" -d vs9 pool-max=1G
check "set on a VM without the device" \
	run_vc 1 "vm bare has no virtio-vswap device" set "$T/bare.sock" pool-max=1G

# writeback
check "writeback where QEMU lacks vswap-writeback: clear QMP error" \
	run_vc 1 "this QEMU has no 'vswap-writeback' command" writeback web1 -q "$T/web1.sock"
check "writeback sends id, min-age (s), max-bytes (bytes)" bash -c \
	"'$VSWAPCTL' writeback '$T/two.sock' --device vs0 --min-age 5m --max-bytes 1G >/dev/null &&
	 grep -q '\"arguments\": {\"id\": \"vs0\", \"min-age\": 300, \"max-bytes\": 1073741824}' '$T/two.log'"
check "writeback on an unknown VM name" \
	run_vc 1 "vm nosuch: not found behind the --qmp sockets" writeback nosuch -q "$T/web1.sock"
peer slow --reply "$HERE/canned-two-devices.json" --writeback --job-delay 11 || exit 1
check "writeback that takes longer than the 10 s reply timeout: waited for" bash -c \
	"timeout 60 '$VSWAPCTL' writeback '$T/slow.sock' --device vs0 | grep -q 'slow.sock vs0: writeback done'"

# compact
check "compact where QEMU lacks vswap-compact: clear QMP error" \
	run_vc 1 "this QEMU has no 'vswap-compact' command" compact web1 -q "$T/web1.sock"
check "compact sends the id only, prints done and the result" bash -c \
	"'$VSWAPCTL' compact '$T/two.sock' --device vs0 >'$T/compact' &&
	 grep 'vswap-compact' '$T/two.log' | grep -q '\"arguments\": {\"id\": \"vs0\"}' &&
	 [ \"\$(sed -n 1p '$T/compact')\" = 'two.sock vs0: compact done' ] &&
	 [ \"\$(sed -n 2p '$T/compact')\" = '{\"freed\":2097152,\"pool-bytes\":8388608}' ]"
check "compact takes no --max-bytes (2)" \
	run_vc 2 "--max-bytes: only for writeback" compact vm1 --max-bytes 1M
check "compact without VM (2)" run_vc 2 "missing VM" compact

# events
check "events: prints VSWAP_* only, with time and VM" bash -c \
	"timeout 10 '$VSWAPCTL' events -q '$T/two.sock' --count 3 >'$T/ev' &&
	 [ \$(grep -c ' two.sock VSWAP_NO_SPACE {' '$T/ev') -eq 3 ] && ! grep -q POWERDOWN '$T/ev' &&
	 grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z ' '$T/ev'"
check "events --json: one object per line" bash -c \
	"timeout 10 '$VSWAPCTL' events -q '$T/two.sock' --count 1 --json |
	 '$PY' -c 'import json,sys; o=json.loads(sys.stdin.readline()); sys.exit(o[\"event\"]!=\"VSWAP_NO_SPACE\" or o[\"data\"][\"id\"]!=\"vs0\")'"
# wait_for FILE STRING: until FILE contains STRING (5 s at most).
wait_for() {
	for _ in $(seq 100); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
peer sig --name sig || exit 1
"$VSWAPCTL" events -q "$T/sig.sock" >"$T/sig.out" 2>&1 &
evpid=$!
if wait_for "$T/sig.out" "vswapctl: following VSWAP_* events"; then
	kill -INT $evpid; wait $evpid; rc=$?
	if [ $rc -eq 0 ]; then ok "events: SIGINT stops it with exit 0"
	else not_ok "events: SIGINT stops it with exit 0"; echo "# exit $rc"; diag <"$T/sig.out"; fi
else
	kill $evpid; wait $evpid; not_ok "events: SIGINT stops it with exit 0"; diag <"$T/sig.out"
fi
peer gone --name gone || exit 1
gonepid=${PIDS[-1]}
"$VSWAPCTL" events -q "$T/gone.sock" >"$T/gone.out" 2>&1 &
evpid=$!
if wait_for "$T/gone.out" "vswapctl: following VSWAP_* events"; then
	kill $gonepid; wait $gonepid 2>/dev/null
	wait $evpid; rc=$?
	if [ $rc -eq 1 ] && grep -q "vm gone: connection closed" "$T/gone.out"; then
		ok "events: monitor going away is exit 1"
	else
		not_ok "events: monitor going away is exit 1"; echo "# exit $rc"; diag <"$T/gone.out"
	fi
else
	kill $evpid; wait $evpid; not_ok "events: monitor going away is exit 1"; diag <"$T/gone.out"
fi

# Two monitors, one goes away: the other is still followed, and the
# failure is the exit status even when Ctrl-C ends the rest.
peer gone2 --name gone2 || exit 1
gone2pid=${PIDS[-1]}
peer stay --name stay || exit 1
"$VSWAPCTL" events -q "$T/gone2.sock" -q "$T/stay.sock" >"$T/two.out" 2>&1 &
evpid=$!
if wait_for "$T/two.out" "vswapctl: following VSWAP_* events"; then
	kill $gone2pid; wait $gone2pid 2>/dev/null
	wait_for "$T/two.out" "vm gone2: connection closed"
	if kill -0 $evpid 2>/dev/null; then alive=1; else alive=0; fi
	kill -INT $evpid; wait $evpid; rc=$?
	if [ $alive = 1 ] && [ $rc -eq 1 ]; then
		ok "events: one of two monitors going away: the other still followed, exit 1 at Ctrl-C"
	else
		not_ok "events: one of two monitors going away: the other still followed, exit 1 at Ctrl-C"
		echo "# alive $alive, exit $rc"; diag <"$T/two.out"
	fi
else
	kill $evpid; wait $evpid; not_ok "events: one of two monitors going away: the other still followed, exit 1 at Ctrl-C"; diag <"$T/two.out"
fi

tap_end
