#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fold tbprof.c profiles into guest symbols and compare configurations.

  tbprof.py --json guest.json [--kallsyms FILE] [--ko virtio_vswap.ko]
            [--base noswap] [--top 40] CONFIG...

guest.json is a guest_bench.py --profile run. For each CONFIG (e2e
workload, the first size that has it) the instructions of every block
start address are charged to the kernel symbol (the guest's
/proc/kallsyms that guest_bench.py saved beside the runs; the run had
KASLR off), the module function (/proc/modules and each module's .text
base, as the run recorded them; nm of --ko for its functions) or
"[user]". With --base the base configuration's count of each symbol is
subtracted, and the rest divided by the pages the configuration swapped
(pswpin + pswpout): instructions per swapped page by symbol, the way
report.py computes the total. --groups adds totals by kind of work
(GROUPS: the device's driver, virtio, the block layer, ...).
"""
import argparse
import bisect
import collections
import json
import os
import re
import subprocess
import sys

KERNEL_START = 0xffff800000000000

# --groups: where a guest function belongs, by name (first match wins);
# the rest is the kernel's reclaim, rmap, page fault and page allocator
# work ("mm"), which every swap configuration pays.
GROUPS = [
    ("driver", r"\[(virtio_vswap|virtio_blk|zram)\]"),
    ("virtio", r"^(virtqueue|vring|vp_|virtio|detach_buf|vm_notify)"),
    ("block", r"^(__)?(blk|bio|bvec|sbitmap|submit_bio|dd_|elv|mempool|"
              r"sg_|__sg)"),
    ("compression", r"(lz4|LZ4|zs_|zsmalloc|zcomp|zswap)"),
    ("ipi/tlb", r"(smp_call|flush_tlb|tlb|csd|llist|call_function)"),
    ("entropy", r"(blake2s|mix_pool|crng|random|fast_mix)"),
    ("irq/sched/time", r"(irq|apic|schedule|sched|pick_|update_|enqueue|"
                       r"dequeue|psi_|ttwu|wake|hrtimer|ktime|clock|tick|"
                       r"rcu|idle|switch_to|finish_task|cpuidle|"
                       r"select_task|load_avg|cfs|account)"),
    ("swap", r"(swap|^xas_|^xa_|^__xa)"),
    ("user", r"^\[user\]$"),
]


def group_of(name):
    for g, rx in GROUPS:
        if re.search(rx, name):
            return g
    return "mm"


def load_kallsyms(path):
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            a, t, n = line.split()[:3]
            if t.lower() in "tw":
                addrs.append(int(a, 16))
                names.append(n)
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def ko_symbols(ko):
    out = subprocess.run(["nm", "--defined-only", ko], capture_output=True,
                         text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1].lower() == "t":
            syms.append((int(p[0], 16), p[2]))
    return sorted(syms)


def modules(rec):
    """[(start, end, name, text_base)] from the run's /proc/modules."""
    text = {}
    mods = []
    for line in rec.get("modules", []):
        p = line.split()
        if p[0] == "text" and len(p) == 3:
            text[p[1].split("/")[3]] = int(p[2], 16)
        elif len(p) >= 6:
            mods.append((int(p[5], 16), int(p[1]), p[0]))
    return [(a, a + n, name, text.get(name)) for a, n, name in mods]


class Symbolizer:
    def __init__(self, kallsyms, kos):
        self.addrs, self.names = load_kallsyms(kallsyms)
        self.kos = {os.path.basename(k)[:-3].replace("-", "_"): ko_symbols(k)
                    for k in kos}

    def name(self, addr, mods):
        if addr < KERNEL_START:
            return "[user]"
        for start, end, mod, text in mods:
            if start <= addr < end:
                syms = self.kos.get(mod)
                if syms and text is not None:
                    i = bisect.bisect_right([s[0] for s in syms],
                                            addr - text) - 1
                    if i >= 0:
                        return "%s [%s]" % (syms[i][1], mod)
                return "[%s]" % mod
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.names[i] if i >= 0 else "[kernel?]"


def profile(path, sym, mods):
    by = collections.Counter()
    with open(path) as f:
        for line in f:
            a, n = line.split()
            by[sym.name(int(a, 16), mods)] += int(n)
    return by


def pages(rec):
    v = rec["vmstat"]
    return sum(v["end"].get(k, 0) - v["start"].get(k, 0)
               for k in ("pswpin", "pswpout"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--json", required=True)
    ap.add_argument("--kallsyms",
                    help="the guest's kallsyms.txt (default: in --runs)")
    ap.add_argument("--ko", action="append", default=[])
    ap.add_argument("--base", help="configuration to subtract (noswap)")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--groups", action="store_true",
                    help="first the totals by group of functions (GROUPS)")
    ap.add_argument("--runs", help="guest_bench.py's --workdir, if the "
                    "runs do not say where their profile is")
    ap.add_argument("configs", nargs="+")
    a = ap.parse_args()
    data = json.load(open(a.json))
    workdir = os.path.dirname(os.path.abspath(a.json))
    sym = Symbolizer(a.kallsyms or os.path.join(a.runs or workdir,
                                                  "kallsyms.txt"), a.ko)
    runs = {}
    for r in data["runs"]:
        if r.get("status") == "ok" and r["config"] not in runs:
            runs[r["config"]] = r
    profs = {}
    for c in set(a.configs + ([a.base] if a.base else [])):
        if c not in runs:
            sys.exit("no completed %s run in %s" % (c, a.json))
        r = runs[c]
        path = r.get("profile") or os.path.join(a.runs or workdir, r["dir"],
                                                "tbprof.txt")
        profs[c] = profile(path, sym, modules(r))
    base = profs[a.base] if a.base else collections.Counter()
    for c in a.configs:
        n = pages(runs[c]) if a.base else 1
        delta = {k: v - base.get(k, 0) for k, v in profs[c].items()}
        for k, v in base.items():
            delta.setdefault(k, -v)
        total = sum(delta.values())
        print("== %s: %s instructions%s" % (
            c, format(total, ","),
            " over %s, %d swapped pages: %.0f per page" % (a.base, n, total / n)
            if a.base else ""))
        if a.groups:
            by = collections.Counter()
            for k, v in delta.items():
                by[group_of(k)] += v
            print("  by group: " + ", ".join(
                "%s %.0f" % (g, v / n) for g, v in by.most_common()))
        for k, v in sorted(delta.items(), key=lambda kv: -abs(kv[1]))[:a.top]:
            print("%10.0f %6.1f%%  %s" % (v / n, 100.0 * v / total if total
                                          else 0, k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
