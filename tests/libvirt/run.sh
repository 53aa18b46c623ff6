#!/usr/bin/env bash
# vswapctl and virtio-vswap through a real libvirtd (TAP on stdout).
#
# Needs root. Creates what libvirtd needs (libvirt-qemu user/group, kvm
# group, /var/log/libvirt), starts libvirtd (and virtlogd) in the background
# only if they are not running, and stops only what it started, also on
# failure. Defines a TCG domain (docs/libvirt.md) whose <emulator> is the
# built QEMU, with -device virtio-vswap-pci through <qemu:commandline>; it
# boots nothing (SeaBIOS finds no disk), which is enough for the monitor.
# Then: virsh qemu-monitor-command query-vswap, vswapctl stats --libvirt,
# vswapctl set through libvirt; destroy + undefine.
#
# Not part of `make check` yet: `make check-libvirt`.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}
VSWAPCTL=$BUILD/host/vswapctl
URI=qemu:///system
DOM=vswapctl-libvirt-test
VIRSH=(virsh -q -c "$URI")

n=0 failed=0
ok()   { n=$((n + 1)); echo "ok $n - $1"; }
nok()  { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit; }
T=$(mktemp -d "${TMPDIR:-/tmp}/vswap-libvirt.XXXXXX")
check() {
	local name=$1; shift
	if "$@" >"$T/out" 2>&1; then ok "$name"; else nok "$name"; sed 's/^/# /' "$T/out"; fi
}

started=()		# pids of daemons this script started
cleanup() {
	local p
	"${VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1
	"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1
	for p in "${started[@]}"; do
		kill "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	skip "libvirt tests" "need root (libvirtd, qemu:///system)"; finish
fi
if [ ! -x "$QEMU" ]; then
	skip "libvirt tests" "no $QEMU (make qemu)"; finish
fi
has_vswap=0
"$QEMU" -device help 2>/dev/null | grep -q '"virtio-vswap-pci"' && has_vswap=1

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
	nok "libvirtd answers on $URI"
	[ -f "$T/libvirtd.log" ] && tail -20 "$T/libvirtd.log" | sed 's/^/# /'
	finish
fi

# --- the domain ---
"${VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1
"${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1
devarg=""
[ $has_vswap = 1 ] &&
	devarg="<qemu:arg value='-device'/><qemu:arg value='virtio-vswap-pci,id=vswap0'/>"
cat >"$T/dom.xml" <<XML
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>$DOM</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$QEMU</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <serial type='pty'/>
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
	nok "domain starts"; sed 's/^/# /' "$T/out"
	tail -20 "/var/log/libvirt/qemu/$DOM.log" 2>/dev/null | sed 's/^/# /'
	finish
fi

if [ $has_vswap = 1 ]; then
	check "virsh qemu-monitor-command query-vswap returns the device" bash -c \
		"${VIRSH[*]} qemu-monitor-command '$DOM' '{\"execute\":\"query-vswap\"}' | tee /dev/stderr |
		 /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)[\"return\"]; sys.exit([d[\"id\"] for d in r] != [\"vswap0\"])'"
	check "vswapctl stats --libvirt shows the row" bash -c \
		"'$VSWAPCTL' stats --libvirt '$URI' | tee /dev/stderr | grep -Eq '^$DOM +vswap0 '"
	check "vswapctl stats --libvirt --json validates" bash -c \
		"'$VSWAPCTL' stats --json --libvirt '$URI' $DOM | /usr/bin/python3 '$REPO/tests/vswapctl/check_output.py' json '$REPO/docs/vswapctl-json-schema.json'"
	check "vswapctl set through libvirt: pool-max=32M" bash -c \
		"'$VSWAPCTL' set '$DOM' --libvirt '$URI' pool-max=32M | tee /dev/stderr | grep -q 'pool-max=32M'"
else
	skip "virsh qemu-monitor-command query-vswap returns the device" "QEMU has no virtio-vswap"
	skip "vswapctl stats --libvirt shows the row" "QEMU has no virtio-vswap"
	check "vswapctl stats --libvirt: a domain without the device is no row" bash -c \
		"'$VSWAPCTL' stats --libvirt '$URI' >'$T/tab' && cat '$T/tab' >&2 && ! grep -q '^$DOM ' '$T/tab'"
	check "vswapctl stats --libvirt DOM: clear error for a domain without the device" bash -c \
		"'$VSWAPCTL' stats --libvirt '$URI' '$DOM' 2>'$T/err'; rc=\$?; cat '$T/err' >&2
		 [ \$rc -eq 1 ] && grep -q 'vm $DOM has no virtio-vswap device' '$T/err'"
fi
check "vswapctl events --libvirt follows, SIGINT ends it with 0" bash -c \
	"'$VSWAPCTL' events --libvirt '$URI' & p=\$!; sleep 1; kill -INT \$p; wait \$p"
check "vswapctl on an undefined domain: clear error" bash -c \
	"'$VSWAPCTL' stats --libvirt '$URI' no-such-dom-xyz 2>&1 | grep -q 'no such libvirt domain'"

check "domain destroyed" "${VIRSH[@]}" destroy "$DOM"
check "domain undefined" "${VIRSH[@]}" undefine "$DOM"
finish
