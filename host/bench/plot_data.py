#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""host.json -> gnuplot rows: operation, raw MiB/s, libvswap MiB/s."""
import json
import sys

m = json.load(open(sys.argv[1]))["mib_per_s"]
rows = [
    ("lz4 compress / store", m["lz4_compress"], m["store"]),
    ("lz4 decompress / load", m["lz4_decompress"], m["load"]),
    ("store, 2 threads", 0, m["store_2_threads"]),
    ("load, 2 threads", 0, m["load_2_threads"]),
    ("zstd-3 compress / store", m["zstd_compress"], m["zstd_store"]),
    ("zstd-3 decompress / load", m["zstd_decompress"], m["zstd_load"]),
    ("memcpy", m["memcpy"], 0),
]
for name, raw, lib in rows:
    print('"%s" %.1f %.1f' % (name, raw, lib))
