#!/usr/bin/env bash
# Host demo: store a real-memory corpus through libvswap and report it.
# Called by `make -C host demo` with BUILD and OUT. Env: VSWAP_DEMO_MIB
# (MiB per real source, default 48), VSWAP_DEMO_CODEC (lz4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:?BUILD not set}" "${OUT:?OUT not set}"
dir=$BUILD/demo
mkdir -p "$dir"
exec "$OUT/bench/host_demo" --workload "$here/workload.py" --workdir "$dir" \
	--mib "${VSWAP_DEMO_MIB:-48}" --codec "${VSWAP_DEMO_CODEC:-lz4}"
