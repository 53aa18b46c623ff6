# Settings every test suite shares; source it, don't run it.
#   REPO    the checkout            BUILD   per-run output ($REPO/build)
#   CACHE   downloads and guest kernels, outside the clone, so a fresh
#           clone (CI) reuses them:
#           ${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}/guest
#   QEMU    the patched QEMU ($BUILD/qemu/qemu-system-x86_64)
#   PY      Debian's python3 (it has python3-jsonschema; one earlier on
#           PATH may not)
# and log, die, kernel_dir.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
export BUILD
CACHE=${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}/guest
QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
TESTLIB=$REPO/tests/lib

log() { echo "# $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# kernel_dir <6.12|6.12-generic|6.1>: where fetch-kernels.sh put that kernel (its "env"
# file has KVER, KDIR, VMLINUZ, MODDIR).
kernel_dir() { echo "$CACHE/kernel-$1"; }

# qemu_has_vswap [PROPERTY]: this QEMU has virtio-vswap-pci (with PROPERTY).
qemu_has_vswap() {
	if [ -n "${1:-}" ]; then
		"$QEMU" -device virtio-vswap-pci,help 2>/dev/null | grep -q "^ *$1="
	else
		"$QEMU" -device help 2>/dev/null | grep -q '"virtio-vswap-pci"'
	fi
}
