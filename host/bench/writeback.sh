#!/usr/bin/env bash
# Writeback benchmark (bench_writeback.c): libvswap writeback vs a raw
# sequential write of the same bytes to the same file system, host bytes
# freed per byte written, write sizes. Called by the top-level
# `make bench-writeback` with BUILD (output root) and OUT (the host build
# tree holding bench/bench_writeback). Writes $BUILD/bench/writeback.json
# and the printed table as writeback.txt; exits non-zero if a target is
# missed. The disk tier's files live in $BUILD/bench/writeback (deleted
# as soon as they are open). Env: VSWAP_WB_MIB (per real corpus source,
# default 32), VSWAP_WB_REPS (9).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:?BUILD not set}" "${OUT:?OUT not set}"
dir=$BUILD/bench
mkdir -p "$dir/writeback"

echo "# load before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cpus;" \
	"file system: $(df -T "$dir/writeback" | awk 'NR == 2 { print $2 }')"
rc=0
"$OUT/bench/bench_writeback" --workload "$here/workload.py" \
	--workdir "$dir/writeback" --json "$dir/writeback.json" \
	--mib "${VSWAP_WB_MIB:-32}" --reps "${VSWAP_WB_REPS:-9}" |
	tee "$dir/writeback.txt" || rc=$?
exit "$rc"
