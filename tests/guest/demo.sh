#!/usr/bin/env bash
# `make demo`: a small VM swaps into virtio-vswap under the workload; then a
# short report from QMP of what the host holds for it. Expects `make deps`
# and `make qemu` done (the Makefile target does both first).
#
#   tests/guest/demo.sh [guest MiB, default 192]
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

mem=${1:-192}

[ -x "$QEMU" ] || die "no QEMU at $QEMU: run 'make qemu'"
qemu_has_vswap ||
	die "$QEMU has no virtio-vswap-pci device (qemu-patches/ not applied?)"

log "the test guest: Debian 6.12 cloud kernel (fetched into $CACHE once)," \
	"virtio_vswap.ko built for it, initramfs"
image=$("$TESTLIB/guest/image.sh")
. "$image"

out=$BUILD/guest/demo
mkdir -p "$out"
log "booting a ${mem} MiB, 2-vCPU guest under TCG; workload = 3x its RAM"
log "(takes a few minutes; console in $out/console.log)"
rc=0
"$PY" "$REPO/tests/guest/e2e.py" --backend vswap --qemu "$QEMU" \
	--kernel "$VMLINUZ" --initrd "$INITRD" \
	--workdir "$out" --mem "$mem" --percent 25 --report "$out/report.json" \
	> "$out/tap.txt" 2>&1 || rc=$?
sed -n 's/^\(ok\|not ok\) [0-9]* - /  [\1] /p' "$out/tap.txt"

"$PY" - "$out/report.json" <<'EOF'
import json, sys

r = json.load(open(sys.argv[1]))
h = r.get("host_at_hold") or {}
w = r.get("workload") or {}
MiB = 1 << 20


def mib(b):
    return "%.1f MiB" % (b / MiB)


print()
print("virtio-vswap demo: %d MiB guest, workload %d MiB in 2 processes"
      % (r["mem_mib"], r["workload_mib"]))
if not h:
    print("  (no host numbers: the run failed early, see the lines above)")
    sys.exit(0)
stored = h.get("stored-pages", 0)
zero, same = h.get("zero-pages", 0), h.get("same-pages", 0)
pool = h.get("pool-bytes", 0)
comp = h.get("compressed-bytes", 0)
logical = stored * 4096
zmap = r.get("zero_slots_at_hold", 0)
used = r.get("swap_used_pages_at_hold", 0)
print("While the workload held its memory (after the fill pass):")
print("  guest swap in use        %8d pages  %s" % (used, mib(used * 4096)))
print("    zero pages the guest kernel kept in its swap zeromap")
print("                           %8d        (6.12: never sent to the device)"
      % zmap)
print("  host store: pages        %8d        %s of guest data"
      % (stored, mib(logical)))
print("    zero-filled            %8d        (no pool memory)" % zero)
print("    same-filled            %8d        (no pool memory)" % same)
print("    compressed             %8d" % h.get("compressed-pages", 0))
print("    stored as-is           %8d        (did not compress)"
      % h.get("incompressible-pages", 0))
print("  pool payload (compressed + as-is) %s" % mib(comp))
print("  host pool (real memory)           %s" % mib(pool))
if pool:
    print("  ratio guest data / host memory    %.2fx" % (logical / pool))
print("  without swap the guest would have needed %s more RAM;"
      % mib(used * 4096))
print("  the host holds it in %s" % mib(pool))
print("Workload: %s pages checked, %s wrong; pswpout %s, pswpin %s"
      % (w.get("checked"), w.get("wrong"), r.get("pswpout"), r.get("pswpin")))
a = r.get("host_after_swapoff") or {}
if a:
    print("After swapoff + discard: %s pages stored, pool %s bytes"
          % (a.get("stored-pages"), a.get("pool-bytes")))
b = r.get("host_after_reboot") or {}
if b:
    print("After a guest reboot with data stored: %s pages, pool %s bytes"
          % (b.get("stored-pages"), b.get("pool-bytes")))
print("Whole run: %.0f s (TCG; timings are for ratios, not absolutes)"
      % r.get("seconds", 0))
EOF
exit $rc
