#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build ordinary Python data structures, then wait.

The benchmark corpus reads this process's anonymous memory while it waits:
heap pages as a real interpreter leaves them (object headers, refcounts,
pointers, strings, floats, dict tables), not synthetic data.

Usage: workload.py MIB [SEED]
Prints "ready <rss-kib>" on stdout when built; exits when stdin closes.
"""
import random
import sys

TAGS = ["alpha", "beta", "gamma", "delta", "swap", "guest", "host", "numa",
        "zstd", "lz4", "cold", "hot", "dirty", "clean", "pinned"]
WORDS = ("the quick brown fox jumps over the lazy dog while a virtual "
         "machine swaps pages to compressed host memory and back again "
         "under pressure from a workload that never stops").split()


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    keep = []
    # Rounds of mixed structures until the resident set reaches the target.
    i = 0
    while rss_kib() < mib * 1024:
        n = 5000
        # records: dicts of str/int/float/list, like parsed JSON
        records = [{"id": i + k,
                    "name": "user%07d" % (i + k),
                    "email": "user%07d@example.org" % (i + k),
                    "score": rng.random() * 100.0,
                    "tags": [rng.choice(TAGS) for _ in range(3)],
                    "active": rng.random() < 0.5}
                   for k in range(n)]
        # an index over them
        index = {r["name"]: r for r in records}
        # log-like text lines
        lines = [" ".join(rng.choice(WORDS) for _ in range(8)) +
                 " %d %.3f" % (i + k, rng.random()) for k in range(n)]
        # integers and floats in lists, a set, tuples
        ints = [rng.randrange(1 << 40) for _ in range(n)]
        floats = [rng.gauss(0.0, 1.0) for _ in range(n)]
        uniq = set(rng.randrange(1 << 20) for _ in range(n // 2))
        pairs = [(k, str(k)) for k in range(i, i + n // 2)]
        # a little binary payload (compressed blobs, hashes: random bytes)
        blobs = [rng.randbytes(64) for _ in range(n // 20)]
        keep.append((records, index, lines, ints, floats, uniq, pairs, blobs))
        # churn: drop some old objects so the heap has holes and reuse
        if len(keep) > 3 and rng.random() < 0.3:
            victim = keep[rng.randrange(len(keep) - 1)]
            victim[2].clear()
        i += n
    sys.stdout.write("ready %d\n" % rss_kib())
    sys.stdout.flush()
    sys.stdin.read()


if __name__ == "__main__":
    main()
