# Shared settings for the guest test scripts; source it, don't run it.
# Everything downloaded or built from Debian packages lives in a cache outside
# the clone, so a fresh clone (CI) reuses it:
#   ${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}/guest
# Per-run output (module builds, initramfs, logs) goes under $BUILD/guest.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
CACHE=${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}/guest
GBUILD=$BUILD/guest
QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

log() { echo "# $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# kernel_dir <6.12|6.1>: where fetch-kernels.sh put that kernel (symlink "cur").
kernel_dir() { echo "$CACHE/kernel-$1"; }
