#!/usr/bin/env bash
# libvswap benchmark: corpus of real memory, raw limits, store/load, churn.
# Called by `make -C host bench` with BUILD (output root) and OUT (the host
# build tree holding bench/host_bench). Writes $BUILD/bench/host.json, the
# table as host.txt, a markdown summary host.md (report_md.py, the form
# docs/benchmarks.md quotes) and host.png (gnuplot, if installed).
# Env: VSWAP_BENCH_MIB (per real source, default 64), VSWAP_BENCH_REPS (5).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:?BUILD not set}" "${OUT:?OUT not set}"
dir=$BUILD/bench
mkdir -p "$dir"

echo "# load before the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cpus"
rc=0
"$OUT/bench/host_bench" --workload "$here/workload.py" --workdir "$dir" \
	--json "$dir/host.json" --mib "${VSWAP_BENCH_MIB:-64}" \
	--reps "${VSWAP_BENCH_REPS:-5}" | tee "$dir/host.txt" || rc=$?

if [ -f "$dir/host.json" ]; then
	python3 "$here/report_md.py" "$dir/host.json" >"$dir/host.md" &&
		echo "markdown summary: $dir/host.md"
fi
if [ -f "$dir/host.json" ] && command -v gnuplot >/dev/null; then
	python3 "$here/plot_data.py" "$dir/host.json" >"$dir/host.dat"
	gnuplot -e "datafile='$dir/host.dat'; outfile='$dir/host.png'" \
		"$here/host.gp" && echo "plot: $dir/host.png"
fi
exit "$rc"
