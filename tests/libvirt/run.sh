#!/usr/bin/env bash
# vswapctl and virtio-vswap through a real libvirtd (TAP on stdout).
#
# Needs root. Creates what libvirtd needs (libvirt-qemu user/group, kvm
# group, /var/log/libvirt), starts libvirtd (and virtlogd) in the background
# only if they are not running, and stops only what it started, also on
# failure. Defines a TCG domain (docs/libvirt.md) whose <emulator> is the
# built QEMU, with -device virtio-vswap-pci through <qemu:commandline>.
# Then: virsh qemu-monitor-command query-vswap, vswapctl stats --libvirt,
# vswapctl set through libvirt; destroy + undefine.
#
# With the test guest image (tests/lib/guest/image.sh: the 6.12 kernel, an
# initramfs with the driver; built here if need be) the domain boots it,
# swaps a workload into the device, and the test checks that vswapctl sees
# the stored pages through libvirt and that a pool cap below the store's
# size raises VSWAP_NO_SPACE, followed by `vswapctl events --libvirt`.
# Before the pool cap, with the workload's pages in the store (and on the
# disk tier), `virsh suspend`, `virsh save`, `virsh restore --paused`
# (docs/migration.md): the restored store holds what query-vswap showed
# before the save (pages by kind); after `virsh resume` the held workload
# reads every page back bit-exact, and a new one fills the store again.
# With a QEMU that has the disk tier (backing-file), the device gets a
# backing file in a directory owned by libvirt-qemu (docs/libvirt.md, "The
# disk tier") with backing-max=64M, and the guest phase also moves data to
# disk with `virsh qemu-monitor-command ... vswap-writeback` and with
# `vswapctl writeback`, compacts the pool with `vswapctl compact`, and sees
# VSWAP_WRITEBACK_ERROR (disk-full) when the
# pool cap pushes more than backing-max to disk. The restore takes the same
# backing-file path: the saved QEMU has emptied the file when it exited.
# Without the image (it could not be built) the domain boots nothing, which
# is enough for the monitor.
#
# Not part of `make check` yet: `make check-libvirt`.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/common.sh"
. "$TESTLIB/tap.sh"
VSWAPCTL=$BUILD/host/vswapctl
URI=qemu:///system
DOM=vswapctl-libvirt-test
VIRSH=(timeout 120 virsh -q -c "$URI")
T=$(mktemp -d "${TMPDIR:-/tmp}/vswap-libvirt.XXXXXX")

started=()		# pids of daemons this script started
cleanup() {
	local p
	"${VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1
	"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1
	for p in "${started[@]}"; do
		kill "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	# If libvirtd could not destroy it, the domain's QEMU (ours) still runs.
	p=$(cat "/run/libvirt/qemu/$DOM.pid" 2>/dev/null)
	if [ -n "$p" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "guest=$DOM,"; then
		echo "# killing the domain's QEMU (pid $p) libvirtd left behind" >&2
		kill -9 "$p"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	skip "libvirt tests" "need root (libvirtd, qemu:///system)"; tap_end
fi
if [ ! -x "$QEMU" ]; then
	skip "libvirt tests" "no $QEMU (make qemu)"; tap_end
fi
has_vswap=0 has_tier=0
qemu_has_vswap && has_vswap=1
qemu_has_vswap backing-file && has_tier=1

# --- what libvirtd needs ---
check "dependencies installed" "$REPO/scripts/install-deps.sh" host libvirt
check "libvirt-qemu user, kvm group, /var/log/libvirt exist" bash -c '
	getent group kvm >/dev/null || groupadd -r kvm
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	getent passwd libvirt-qemu >/dev/null ||
		useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /run/libvirt
	id libvirt-qemu'
check "vswapctl built" make -s -C "$REPO/host/vswapctl" BUILD="$BUILD"

# start_daemon NAME: background NAME unless one runs; remember its pid.
start_daemon() {
	local name=$1
	if pgrep -x "$name" >/dev/null; then
		echo "# $name already running: using it" >&2
		return 0
	fi
	"$name" >"$T/$name.log" 2>&1 &
	started+=($!)
	echo "# started $name (pid $!)" >&2
}
start_daemon virtlogd
start_daemon libvirtd
up=0
for _ in $(seq 100); do
	if "${VIRSH[@]}" list --all >/dev/null 2>&1; then up=1; break; fi
	sleep 0.2
done
if [ $up = 1 ]; then
	ok "libvirtd answers on $URI"
else
	not_ok "libvirtd answers on $URI"
	[ -f "$T/libvirtd.log" ] && tail -20 "$T/libvirtd.log" | sed 's/^/# /'
	tap_end
fi

# --- the test guest image ---
guest=0
if [ $has_vswap = 1 ] && image=$("$TESTLIB/guest/image.sh" 2>"$T/image.log"); then
	. "$image"
	# QEMU runs as libvirt-qemu: give it copies on a path it can reach.
	chmod 755 "$T"
	mkdir -p "$T/boot"
	cp "$VMLINUZ" "$T/boot/vmlinuz"
	cp "$INITRD" "$T/boot/initrd"
	guest=1
elif [ $has_vswap = 1 ]; then
	sed 's/^/# /' "$T/image.log"
fi
[ $guest = 1 ] || echo "# no test guest image: the domain boots nothing" >&2

# --- a guest swapping into the device, seen through libvirt ---
gsend() {		# one command line to the guest's control port
	seq=$((seq + 1))
	"$PY" "$HERE/guest_console.py" --send "$T/ctl.sock" "$seq $1"
}
gwait() {		# gwait FILE ERE SECONDS [FROM]: ERE after byte FROM
	local end=$((SECONDS + $3)) from=$((${4:-0} + 1))
	while [ $SECONDS -lt $end ]; do
		tail -c +$from "$1" 2>/dev/null | grep -qE "$2" && return 0
		sleep 0.5
	done
	echo "no '$2' in $1 after $3 s; its tail:"; tail -5 "$1"
	return 1
}
fsize() { stat -c %s "$1"; }
console() {		# copy the guest console (serial 0) to console.log
	"$PY" "$HERE/guest_console.py" "$T/console.sock" "$T/console.log" &
	conpid=$!
	started+=($conpid)
}
# Hot-plug through libvirt (issue 15 #2). libvirt 9.0 has no element for
# the device, so `virsh attach-device`/`detach-device` cannot add or
# remove it; QMP device_add/device_del through `virsh
# qemu-monitor-command` can, into the domain's spare pcie-root-port
# (docs/libvirt.md, "Hot-plug").
hotplug_phase() {
	local port
	port=$("${VIRSH[@]}" dumpxml "$DOM" | "$PY" -c '
import sys, xml.etree.ElementTree as ET
for c in ET.parse(sys.stdin).getroot().iter("controller"):
    if c.get("model") == "pcie-root-port" and c.find("alias") is not None:
        print(c.find("alias").get("name"))
        break')
	check "hot-plug: the domain has a spare pcie-root-port (${port:-none})" \
		test -n "$port" || return
	check "hot-plug: virsh qemu-monitor-command device_add virtio-vswap-pci into $port" \
		"${VIRSH[@]}" qemu-monitor-command "$DOM" \
		"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtio-vswap-pci\",\"id\":\"vswaphp\",\"bus\":\"$port\",\"size\":1073741824}}"
	gsend "for i in \$(seq 60); do [ -e /sys/block/vswap1 ] && break; sleep 0.5; done; swap_on /dev/vswap1 && swapoff /dev/vswap1"
	check "hot-plug: the guest driver binds it; swapon /dev/vswap1, swapoff" \
		gwait "$T/console.log" "VSWAP: RC $seq 0" 90
	check "hot-plug: vswapctl stats --libvirt lists both devices of the domain" bash -c \
		"'$VSWAPCTL' stats --libvirt '$URI' '$DOM' | tee /dev/stderr | grep -Eq '^$DOM +vswaphp '"
	check "hot-plug: virsh qemu-monitor-command device_del; the guest lets it go, query-vswap has vswap0 only" bash -c \
		"${VIRSH[*]} qemu-monitor-command '$DOM' '{\"execute\":\"device_del\",\"arguments\":{\"id\":\"vswaphp\"}}' >&2 || exit 1
		 for i in \$(seq 120); do
			${VIRSH[*]} qemu-monitor-command '$DOM' '{\"execute\":\"query-vswap\"}' |
			'$PY' -c 'import json,sys; sys.exit([d[\"id\"] for d in json.load(sys.stdin)[\"return\"]] != [\"vswap0\"])' && exit 0
			sleep 0.5
		 done; exit 1"
	gsend "[ ! -e /sys/block/vswap1 ]"
	check "hot-plug: /dev/vswap1 gone in the guest" \
		gwait "$T/console.log" "VSWAP: RC $seq 0" 30
}

guest_phase() {
	local evpid rc
	seq=0
	"$VSWAPCTL" events --libvirt "$URI" --json >"$T/events.log" 2>"$T/events.err" &
	evpid=$!
	started+=($evpid)
	# virsh's own event loop, as docs/libvirt.md shows it
	timeout 900 virsh -c "$URI" qemu-monitor-event --domain "$DOM" \
		--event '^VSWAP_' --regex --loop --timestamp >"$T/virsh-events.log" 2>&1 &
	started+=($!)
	check "vswapctl events --libvirt: registered" \
		gwait "$T/events.err" "following VSWAP_" 60
	console
	check "guest: boots the test guest image (tests/lib/guest) under libvirt" \
		gwait "$T/console.log" "VSWAP: READY" 180 || return
	gsend "load_vswap && swap_on /dev/vswap0"
	check "guest: driver loaded, swapon /dev/vswap0" \
		gwait "$T/console.log" "VSWAP: RC $seq 0" 60 || return
	hotplug_phase
	gsend "hold_start -m 384 -p 1 -r 1"
	check "guest: 384 MiB workload in 256 MiB swapped out, holding" \
		gwait "$T/console.log" "WORKLOAD: HOLD" 300 || return
	"$VSWAPCTL" stats --libvirt "$URI" "$DOM" | sed 's/^/# /'
	check "vswapctl stats --libvirt: the guest's pages are in the store" bash -c \
		"'$VSWAPCTL' stats --json --libvirt '$URI' '$DOM' | '$PY' -c '
import json, sys
d = json.load(sys.stdin)[\"devices\"][0]
# (zero_pages stays 0 here: Linux 6.12 keeps zero pages out of swap I/O)
assert d[\"stored_pages\"] > 10000 and d[\"compressed_pages\"] > 0, d
assert d[\"pool_bytes\"] > 0 and d[\"ratio\"] > 1, d'"
	check "vswapctl stats --libvirt --prometheus: stored pages of the domain" bash -c \
		"'$VSWAPCTL' stats --prometheus --libvirt '$URI' |
		 awk -v want='vswap_stored_pages{vm=\"$DOM\",device=\"vswap0\"}' \
		     '\$1 == want && \$2 > 10000 { f = 1 } END { exit !f }'"
	[ $has_tier = 1 ] && tier_phase
	save_restore_phase || return
	check "vswapctl set --libvirt pool-max=1M (below the store's size)" bash -c \
		"'$VSWAPCTL' set '$DOM' --libvirt '$URI' pool-max=1M | grep -q 'pool-max=1M'"
	gsend "workload -m 128 -p 1 -r 0"
	check "VSWAP_NO_SPACE reaches vswapctl events --libvirt" \
		gwait "$T/events.log" '"event":"VSWAP_NO_SPACE"' 180
	if [ $has_tier = 1 ]; then
		check "VSWAP_WRITEBACK_ERROR reason disk-full (backing-max reached) reaches vswapctl events --libvirt" \
			gwait "$T/events.log" '"event":"VSWAP_WRITEBACK_ERROR".*"reason":"disk-full"' 60
	fi
	check "virsh qemu-monitor-event --event '^VSWAP_' --regex --loop sees VSWAP_NO_SPACE" \
		gwait "$T/virsh-events.log" 'event VSWAP_NO_SPACE' 60
	head -2 "$T/virsh-events.log" | sed 's/^/# /'
	sed 's/^/# /' "$T/events.log" | head -3
	kill -INT $evpid
	wait $evpid; rc=$?
	if [ $rc -eq 0 ]; then ok "vswapctl events --libvirt: SIGINT ends it with 0"
	else not_ok "vswapctl events --libvirt: SIGINT ends it with 0"; echo "# exit $rc"; sed 's/^/# /' "$T/events.err"; fi
}

# --- the disk tier through libvirt (the guest holds its swapped-out data) ---
qmp() {			# qmp JSON: virsh qemu-monitor-command, the reply on stdout
	"${VIRSH[@]}" qemu-monitor-command "$DOM" "$1"
}
# Ask for 16 MiB; the reply must say pages moved, at most that many bytes.
wb_by_virsh() {
	qmp '{"execute":"vswap-writeback","arguments":{"id":"vswap0","min-age":0,"max-bytes":16777216}}' |
		tee "$T/wb.json" || return 1
	"$PY" - "$T/wb.json" "$T/tier/$DOM.swap" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1]))["return"]
assert r["pages"] > 0 and 0 < r["bytes"] <= 16 << 20, r
PY
	qmp '{"execute":"query-vswap"}' > "$T/q.json" || return 1
	"$PY" - "$T/q.json" "$T/tier/$DOM.swap" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))["return"][0]["store"]
print("disk-pages", s["disk-pages"], "disk-bytes", s["disk-bytes"],
      "disk-file-bytes", s["disk-file-bytes"])
assert s["disk-pages"] > 0 and s["writeback-errors"] == 0, s
assert os.path.getsize(sys.argv[2]) >= s["disk-bytes"], "file too small"
PY
}
wb_by_vswapctl() {
	"$VSWAPCTL" writeback "$DOM" --libvirt "$URI" --min-age 0 \
		--max-bytes 16M > "$T/wb.txt" || return 1
	cat "$T/wb.txt"
	"$PY" - "$T/wb.txt" "$DOM vswap0: writeback done" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == sys.argv[2], lines
r = json.loads(lines[1])
assert r["pages"] > 0 and 0 < r["bytes"] <= 16 << 20, r
PY
}
# vswap-compact through vswapctl: done, and the pool it reports is the
# pool query-vswap then shows (the guest is idle).
compact_by_vswapctl() {
	"$VSWAPCTL" compact "$DOM" --libvirt "$URI" > "$T/compact.txt" || return 1
	cat "$T/compact.txt"
	qmp '{"execute":"query-vswap"}' > "$T/q.json" || return 1
	"$PY" - "$T/compact.txt" "$DOM vswap0: compact done" "$T/q.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == sys.argv[2], lines
r = json.loads(lines[1])
s = json.load(open(sys.argv[3]))["return"][0]["store"]
assert r["freed"] >= 0 and r["pool-bytes"] == s["pool-bytes"], (r, s)
PY
}
tier_stats() {
	"$VSWAPCTL" stats --json --libvirt "$URI" "$DOM" > "$T/st.json" || return 1
	"$PY" - "$T/st.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["devices"][0]
print("disk_pages", d["disk_pages"], "writeback_bytes", d["writeback_bytes"])
assert d["disk_pages"] > 0 and d["writeback_bytes"] > 16 << 20, d
PY
}
tier_phase() {
	check "virsh qemu-monitor-command vswap-writeback (max-bytes 16M) moves pool data to the backing file" \
		wb_by_virsh
	check "vswapctl writeback --libvirt --min-age 0 --max-bytes 16M moves more" \
		wb_by_vswapctl
	check "vswapctl stats --libvirt --json: disk_pages, writeback_bytes > 16M" \
		tier_stats
	check "vswapctl compact --libvirt: done, its pool-bytes what query-vswap shows" \
		compact_by_vswapctl
	# The replies, for the log (docs/libvirt.md quotes them).
	cat "$T/wb.json" "$T/wb.txt" 2>/dev/null | sed 's/^/# /'
}

# --- virsh save + virsh restore with the guest's pages in the store ---
# virsh save is a migration to a file (docs/migration.md): the store goes
# in the stream. Suspended first, so that query-vswap just before the save
# shows what the file holds; the restored store must hold the same pages
# by kind (pool and disk-tier objects counted together: the restoring QEMU
# places them its own way, as tests/guest/e2e.py store_content does). The
# held workload then reads back and checks every page it swapped out.

# store_content OUT: query-vswap's content numbers, one line, and apart
# (not compared) the pages on disk
store_content() {
	qmp '{"execute":"query-vswap"}' >"$T/sq.json" || return 1
	"$PY" - "$T/sq.json" >"$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["return"][0]["store"]
obj = s["compressed-pages"] + s["incompressible-pages"] + s["disk-pages"]
print("stored-pages=%d zero-pages=%d same-pages=%d object-pages=%d"
      % (s["stored-pages"], s["zero-pages"], s["same-pages"], obj))
print("(disk-pages=%d)" % s["disk-pages"])
PY
}
domstate_is() {		# domstate_is STATE
	local st
	st=$("${VIRSH[@]}" domstate "$DOM" | head -1) || return 1
	echo "domstate: $st"
	[ "$st" = "$1" ]
}
sr_suspend() {
	local n
	"${VIRSH[@]}" suspend "$DOM" && domstate_is paused &&
		store_content "$T/sr-saved.txt" || return 1
	cat "$T/sr-saved.txt"
	n=$(sed -n '1s/^stored-pages=\([0-9]*\) .*/\1/p' "$T/sr-saved.txt")
	[ "${n:-0}" -gt 10000 ]
}
sr_save() {
	"${VIRSH[@]}" save "$DOM" "$T/dom.save" && domstate_is "shut off" ||
		return 1
	ls -l "$T/dom.save"
	# The saved QEMU empties its disk tier when it exits: the restoring
	# QEMU takes the same path and refuses a non-empty file (backing-reuse).
	[ $has_tier = 0 ] || [ "$(fsize "$T/tier/$DOM.swap")" -eq 0 ]
}
sr_restore() {
	if ! "${VIRSH[@]}" restore "$T/dom.save" --paused; then
		tail -20 "/var/log/libvirt/qemu/$DOM.log"
		return 1
	fi
	domstate_is paused
}
sr_resume() {
	"${VIRSH[@]}" resume "$DOM" && domstate_is running
}
sr_same() {
	store_content "$T/sr-restored.txt" || return 1
	echo "saved:    $(head -1 "$T/sr-saved.txt")"
	echo "restored: $(head -1 "$T/sr-restored.txt")"
	[ "$(head -1 "$T/sr-saved.txt")" = "$(head -1 "$T/sr-restored.txt")" ]
}
workload_ok() {		# workload_ok FROM ROUNDS: its RESULT line after byte FROM
	gwait "$T/console.log" "WORKLOAD: RESULT" 600 "$1" || return 1
	tail -c +$(($1 + 1)) "$T/console.log" | grep -a "WORKLOAD: RESULT" |
		tail -1 | tr -d '\r' | tee "$T/result"
	"$PY" - "$T/result" "$2" <<'PY'
import sys
r = dict(kv.split("=", 1) for kv in open(sys.argv[1]).read().split()[2:])
r = {k: float(v) for k, v in r.items()}
# the pass after the fill, each round (-f 100) and the final pass read all
assert r["wrong"] == 0 and r["failed_procs"] == 0, r
assert r["checked"] == r["pages"] * (2 + int(sys.argv[2])), r
PY
}
save_restore_phase() {
	local from
	check "virsh suspend; query-vswap of the paused domain: pages in the store" \
		sr_suspend || return
	check "virsh save of the paused domain with pages in the store: domain shut off" \
		sr_save || return
	diag "saved file: $(($(fsize "$T/dom.save") >> 20)) MiB"
	# the console copy ends with the saved QEMU; the restored one gets its own
	for _ in $(seq 50); do kill -0 $conpid 2>/dev/null || break; sleep 0.1; done
	kill $conpid 2>/dev/null
	check "virsh restore --paused (same XML, same backing-file path): domain paused" \
		sr_restore || return
	check "restored store holds what was saved (stored, zero, same, pool+disk objects)" \
		sr_same
	diag "saved:    $(tr '\n' ' ' <"$T/sr-saved.txt")"
	diag "restored: $(tr '\n' ' ' <"$T/sr-restored.txt")"
	console
	check "virsh resume: domain running" sr_resume || return
	from=$(fsize "$T/console.log")
	gsend "hold_release"
	check "guest: answers on its control port after the restore (hold_release)" \
		gwait "$T/console.log" "VSWAP: RC $seq 0" 60 "$from" || return
	check "guest: the held workload reads every page back after the restore, bit-exact" \
		workload_ok "$from" 1
	diag "$(cat "$T/result")"
	# The pool-cap test below needs a full store again.
	from=$(fsize "$T/console.log")
	gsend "hold_start -m 384 -p 1 -r 1"
	check "guest: a new 384 MiB workload swapped out, holding" \
		gwait "$T/console.log" "WORKLOAD: HOLD" 300 "$from"
}

# --- the domain ---
"${VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1
"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1
devarg="" osboot="" mem=128 vcpu=1 serials="<serial type='pty'/>"
# addr=: away from the slots libvirt gives its own devices (the root port)
devopts=virtio-vswap-pci,id=vswap0,bus=pcie.0,addr=0x10,size=2G
if [ $has_tier = 1 ]; then
	# The disk tier: QEMU (user libvirt-qemu) creates the file in a
	# directory it owns; libvirt does not know the path, so it relabels
	# nothing (docs/libvirt.md).
	install -d -o libvirt-qemu -g libvirt-qemu -m 700 "$T/tier"
	devopts+=,backing-file=$T/tier/$DOM.swap,backing-max=64M
fi
[ $has_vswap = 1 ] &&
	devarg="<qemu:arg value='-device'/><qemu:arg value='$devopts'/>"
if [ $guest = 1 ]; then
	mem=256 vcpu=2
	osboot="<kernel>$T/boot/vmlinuz</kernel><initrd>$T/boot/initrd</initrd><cmdline>console=ttyS0 loglevel=4 panic=-1</cmdline>"
	serials="<serial type='unix'><source mode='bind' path='$T/console.sock'/><target port='0'/></serial>
    <serial type='unix'><source mode='bind' path='$T/ctl.sock'/><target port='1'/></serial>"
fi
cat >"$T/dom.xml" <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$DOM</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>$vcpu</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    $osboot
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$QEMU</emulator>
    <controller type='usb' model='none'/>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>
    <memballoon model='none'/>
    $serials
  </devices>
  <qemu:commandline>
    <qemu:arg value='-L'/><qemu:arg value='/usr/share/seabios'/>
    <qemu:arg value='-L'/><qemu:arg value='/usr/share/qemu'/>
    $devarg
  </qemu:commandline>
</domain>
XML
check "domain defined (type=qemu, built QEMU as emulator)" "${VIRSH[@]}" define "$T/dom.xml"
if "${VIRSH[@]}" start "$DOM" >"$T/out" 2>&1; then
	ok "domain starts"
else
	not_ok "domain starts"; sed 's/^/# /' "$T/out"
	tail -20 "/var/log/libvirt/qemu/$DOM.log" 2>/dev/null | sed 's/^/# /'
	tap_end
fi

if [ $has_vswap = 1 ]; then
	check "virsh qemu-monitor-command query-vswap returns the device" bash -c \
		"${VIRSH[*]} qemu-monitor-command '$DOM' '{\"execute\":\"query-vswap\"}' | tee /dev/stderr |
		 '$PY' -c 'import json,sys; r=json.load(sys.stdin)[\"return\"]; sys.exit([d[\"id\"] for d in r] != [\"vswap0\"])'"
	check "vswapctl stats --libvirt shows the row" bash -c \
		"'$VSWAPCTL' stats --libvirt '$URI' | tee /dev/stderr | grep -Eq '^$DOM +vswap0 '"
	check "vswapctl stats --libvirt --json validates" bash -c \
		"'$VSWAPCTL' stats --json --libvirt '$URI' $DOM | '$PY' '$TESTLIB/check_output.py' json '$REPO/docs/vswapctl-json-schema.json'"
	check "virsh qemu-monitor-command --hmp 'info vswap' shows the device" bash -c \
		"${VIRSH[*]} qemu-monitor-command '$DOM' --hmp 'info vswap' | tee /dev/stderr | grep -q vswap0"
	check "virsh qemu-monitor-command qom-set pool-max=2G, seen in query-vswap" bash -c \
		"${VIRSH[*]} qemu-monitor-command '$DOM' '{\"execute\":\"qom-set\",\"arguments\":{\"path\":\"/machine/peripheral/vswap0/virtio-backend\",\"property\":\"pool-max\",\"value\":2147483648}}' &&
		 ${VIRSH[*]} qemu-monitor-command '$DOM' '{\"execute\":\"query-vswap\"}' |
		 '$PY' -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"return\"][0][\"config\"][\"pool-max\"] != 2147483648)'"
	check "vswapctl set through libvirt: pool-max=32M" bash -c \
		"'$VSWAPCTL' set '$DOM' --libvirt '$URI' pool-max=32M | tee /dev/stderr | grep -q 'pool-max=32M'"
	check "vswapctl set through libvirt: pool-max=0 (unlimited) again" bash -c \
		"'$VSWAPCTL' set '$DOM' --libvirt '$URI' pool-max=0 | grep -q 'pool-max=0$'"
	[ $guest = 1 ] && guest_phase
else
	skip "virsh qemu-monitor-command query-vswap returns the device" "QEMU has no virtio-vswap"
	skip "vswapctl stats --libvirt shows the row" "QEMU has no virtio-vswap"
	check "vswapctl stats --libvirt: a domain without the device is no row" bash -c \
		"'$VSWAPCTL' stats --libvirt '$URI' >'$T/tab' && cat '$T/tab' >&2 && ! grep -q '^$DOM ' '$T/tab'"
	check "vswapctl stats --libvirt DOM: clear error for a domain without the device" bash -c \
		"'$VSWAPCTL' stats --libvirt '$URI' '$DOM' 2>'$T/err'; rc=\$?; cat '$T/err' >&2
		 [ \$rc -eq 1 ] && grep -q 'vm $DOM has no virtio-vswap device' '$T/err'"
fi
# --foreground: otherwise timeout forwards SIGINT to vswapctl and also to its
# whole process group, and the second signal kills vswapctl (SA_RESETHAND:
# a second Ctrl-C kills on purpose) -- exit 130 in about one run of three.
check "vswapctl events --libvirt follows, SIGINT ends it with 0" bash -c \
	"timeout --foreground -k 5 120 '$VSWAPCTL' events --libvirt '$URI' 2>'$T/ev2.err' & p=\$!
	 for i in \$(seq 600); do grep -q 'following VSWAP_' '$T/ev2.err' && break; sleep 0.1; done
	 kill -INT \$p; wait \$p; rc=\$?
	 echo \"exit \$rc\"; cat '$T/ev2.err'; exit \$rc"
check "vswapctl on an undefined domain: clear error" bash -c \
	"'$VSWAPCTL' stats --libvirt '$URI' no-such-dom-xyz 2>&1 | grep -q 'no such libvirt domain'"

check "domain destroyed" "${VIRSH[@]}" destroy "$DOM"
check "domain undefined" "${VIRSH[@]}" undefine "$DOM"
tap_end
