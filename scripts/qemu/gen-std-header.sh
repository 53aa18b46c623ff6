#!/usr/bin/env bash
# Generate QEMU's include/standard-headers/linux/virtio_vswap.h from the
# project's wire ABI header, with exactly the transformation QEMU's own
# scripts/update-linux-headers.sh applies to every standard header (its
# cp_portable function, taken from the QEMU tree given here, not copied).
#
# Usage: scripts/qemu/gen-std-header.sh QEMU_SRC ABI_HEADER OUT_FILE
set -euo pipefail
qemu_src=$1 abi=$2 out=$3

script=$qemu_src/scripts/update-linux-headers.sh
fn=$(sed -n '/^cp_portable() {$/,/^}$/p' "$script")
if [ -z "$fn" ]; then
	echo "gen-std-header: no cp_portable() in $script" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$abi" "$tmp/virtio_vswap.h"
mkdir "$tmp/out"
# cp_portable uses $arch; empty means "a linux/ standard header".
(arch=; eval "$fn"; cp_portable "$tmp/virtio_vswap.h" "$tmp/out")
mkdir -p "$(dirname "$out")"
cp "$tmp/out/virtio_vswap.h" "$out"
