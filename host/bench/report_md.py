#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""host.json -> the markdown tables of docs/benchmarks.md ("Latest numbers").

Usage: report_md.py build/bench/host.json
"""
import json
import sys

j = json.load(open(sys.argv[1]))
m, b, c, t = j["mib_per_s"], j["bytes"], j["corpus"], j["targets"]
MiB = 1 << 20


def pct(n):
    return 100.0 * n / c["pages"]


print("Corpus: %d pages (%.0f MiB): python %.1f %%, cc1 %.1f %%, synthetic "
      "zero %.1f %%, same-filled %.1f %%, random %.1f %%; by content zero "
      "%.1f %%, same-filled %.1f %%, other %.1f %%." % (
          c["pages"], c["pages"] * 4096 / MiB, pct(c["python"]),
          pct(c["cc1"]), pct(c["synthetic-zero"]), pct(c["synthetic-same"]),
          pct(c["synthetic-random"]), pct(c["kind_zero"]),
          pct(c["kind_same-filled"]), pct(c["kind_other"])))
print()
print("| Operation (MiB/s, logical) | raw | libvswap | ratio |")
print("|---|---:|---:|---:|")
rows = [("memcpy", m["memcpy"], None),
        ("lz4 compress / store", m["lz4_compress"], m["store"]),
        ("lz4 decompress / load", m["lz4_decompress"], m["load"]),
        ("zstd-3 compress / store", m["zstd_compress"], m["zstd_store"]),
        ("zstd-3 decompress / load", m["zstd_decompress"], m["zstd_load"])]
for name, raw, lib in rows:
    print("| %s | %.0f | %s | %s |" % (
        name, raw, "%.0f" % lib if lib else "",
        "%.2fx" % (lib / raw) if lib else ""))
print("| store, 2 threads | | %.0f | %.2fx one thread |" % (
    m["store_2_threads"], m["store_2_threads"] / m["store"]))
print("| load, 2 threads | | %.0f | %.2fx one thread |" % (
    m["load_2_threads"], m["load_2_threads"] / m["load"]))
print()
print("| Target | value | limit | result |")
print("|---|---:|---:|---|")
for k, v in t.items():
    print("| `%s` | %.3f | %s %g | %s |" % (
        k, j[k], v["op"], v["limit"], "PASS" if v["pass"] else "**FAIL**"))
print()
print("Space (lz4 store): full store %.1f MiB pool for %.1f MiB logical; "
      "after churn pool %.1f MiB vs codec-only %.1f MiB; after an explicit "
      "compaction %.1f MiB; effective ratio after churn %.2f; raw zstd-3 "
      "would need %.1f MiB (zstd store pool, full: %.1f MiB)." % (
          b["pool_full"] / MiB, j["store_pages"]["stored"] * 4096 / MiB,
          b["pool_after_churn"] / MiB, b["codec_after_churn"] / MiB,
          b["pool_after_compact"] / MiB, j["effective_ratio"],
          b["raw_zstd"] / MiB, b["zstd_pool_full"] / MiB))
print()
sw = j["store_2_threads_switches_per_rep"]
print("Machine at the time: load average %s on %d CPUs; calibration "
      "(ALU spin, 2 threads vs 1) %.2fx; the store's lz4 work into fresh "
      "memory without the store, 2 threads vs 1, %.2fx (what "
      "scaling_2_threads is to be read against); the 2-thread store got %.2f cores, "
      "%.2fx in thread CPU time, %.1f blocking and %.1f preempted context "
      "switches per repetition." % (
          " / ".join("%.2f" % x for x in j["load_average"]), j["cpus"],
          j["machine_scaling_2_threads"], j["lz4_fresh_scaling_2_threads"],
          j["store_2_threads_cores_used"],
          j["scaling_2_threads_cpu"], sw["voluntary"], sw["involuntary"]))
