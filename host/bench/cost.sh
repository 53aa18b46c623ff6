#!/usr/bin/env bash
# Instructions per page of the store path outside the codec (store_cost.c
# under valgrind's callgrind): called by `make -C host cost` with BUILD
# (output root) and OUT (the host build tree holding bench/store_cost).
# Only the calls into vswap_store_page_flags, vswap_load_page_flags and
# vswap_writeback are counted; the inclusive counts of the lz4 library's
# functions inside them are taken off, so what is left is the library's
# own work (user space: page faults and system calls are the kernel's,
# not counted; host_bench's store_overhead_ns_per_page has them in time).
# Counts repeat exactly for one corpus, and the corpus varies little, so
# two trees compare on any machine, busy or not. Writes
# $BUILD/bench/cost.txt. Env: VSWAP_COST_MIB (per real source, default 8).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:?BUILD not set}" "${OUT:?OUT not set}"
dir=$BUILD/bench
mkdir -p "$dir/cost"
command -v valgrind >/dev/null || { echo "cost.sh: needs valgrind" >&2; exit 2; }

out=$dir/cost/callgrind.out
counts=$(valgrind --tool=callgrind --callgrind-out-file="$out" \
	--toggle-collect=vswap_store_page_flags \
	--toggle-collect=vswap_load_page_flags \
	--toggle-collect=vswap_writeback \
	"$OUT/bench/store_cost" --workload "$here/workload.py" \
	--workdir "$dir/cost" --mib "${VSWAP_COST_MIB:-8}" 2>/dev/null)
# "  1,234 ( 5.6%)  file:function [object]" -> "1234 function"
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
sed -nE 's/^ *([0-9,]+) \( *[0-9.]+%\) +[^ ]*:([^ :]+)( .*)?$/\1 \2/p' |
awk -v counts="$counts" '
	BEGIN {
		n = split(counts, f, " ")
		for (i = 1; i < n; i += 2)
			c[f[i]] = f[i + 1]
	}
	{
		ir = $1; gsub(",", "", ir)
		if (!($2 in incl))
			incl[$2] = ir
	}
	END {
		store = incl["vswap_store_page_flags"]
		load = incl["vswap_load_page_flags"]
		wb = incl["vswap_writeback"]
		lz4c = incl["LZ4_compress_fast_extState"]
		lz4d = incl["LZ4_decompress_safe"]
		printf "corpus: %d pages, %d compressed, %d as-is\n", \
			c["pages"], c["compressed"], c["as_is"]
		printf "store: %.0f instructions per page outside lz4 " \
			"(lz4: %.0f per page)\n", (store - lz4c) / c["pages"], \
			lz4c / c["pages"]
		printf "load: %.0f instructions per page outside lz4 " \
			"(lz4: %.0f per page)\n", (load - lz4d) / c["pages"], \
			lz4d / c["pages"]
		printf "writeback: %.3f instructions per byte written " \
			"(%d bytes)\n", wb / c["bytes_written"], \
			c["bytes_written"]
	}' | tee "$dir/cost.txt"
