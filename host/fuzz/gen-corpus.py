#!/usr/bin/env python3
"""Write the seed corpora of host/fuzz/ (corpus/<target>/*), a few inputs
each, in the formats fuzz_ops.c and fuzz_tier_load.c describe. Run it again
after a format change; the outputs are committed.

Usage: host/fuzz/gen-corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# fuzz_common.h enum fz_kind
ZERO, SAME, BYTE, TEXT, RANDOM, NEAR_SAME, TILE, MIXED = range(8)


def page(kind, arg=0, tile=b""):
    if kind in (SAME, NEAR_SAME):
        return bytes([kind]) + struct.pack("<Q", arg)
    if kind == BYTE:
        return bytes([kind, arg & 0xff])
    if kind in (TEXT, RANDOM, MIXED):
        return bytes([kind]) + struct.pack("<I", arg)
    if kind == TILE:
        return bytes([kind, len(tile) - 1]) + tile
    return bytes([kind])


def slot(n):
    return struct.pack("<H", n)


# fuzz_ops.c run_op(): op byte % 16
def store(s, *pg):
    return bytes([0]) + slot(s) + page(*pg)


def load(s):
    return bytes([4]) + slot(s)


def nowait_load(s):
    return bytes([6]) + slot(s)


def nowait_store(s, *pg):
    return bytes([6 | 0x10]) + slot(s) + page(*pg)


def invalidate(s, n):
    return bytes([7]) + slot(s) + bytes([n])


def writeback():
    return bytes([8])


def compact(release=False):
    return bytes([9 | (0x10 if release else 0)])


def reset(release=False):
    return bytes([10 | (0x20 if release else 0)])


def set_cap(b):
    return bytes([11, b])


def reclaim():
    return bytes([12])


def sweep():
    return bytes([13])


def run(s, n, *pg, vary=True):
    return bytes([15 if vary else 14]) + slot(s) + bytes([n - 1]) + page(*pg)


def cfg(codec=0, checksum=0, disk=0, level=0, mc=0, cap_i=3, cap=0,
        dmax=0):
    b0 = codec | checksum << 2 | disk << 3 | level << 4 | mc << 6
    return bytes([b0, cap_i, cap, dmax])


def every_kind(base):
    out = b""
    kinds = [(ZERO,), (SAME, 0x0101010101010101), (BYTE, 0x5a),
             (TEXT, 7), (RANDOM, 9), (NEAR_SAME, 0xffffffffffffffff),
             (TILE, 0, b"abcdefgh"), (MIXED, 3000)]
    for i, k in enumerate(kinds):
        out += store(base + i, *k)
    return out


OPS = {
    # lz4, no cap, no disk: every kind, overwrite, loads, ranges
    "kinds-lz4": cfg() + every_kind(0) + every_kind(4) + sweep() +
    invalidate(2, 3) + load(2) + load(5) + invalidate(0xfff0, 1) +
    store(0xfff7, ZERO) + sweep(),
    # zstd + checksums, 1025 slots across two table chunks, compaction
    "zstd-compact": cfg(codec=1, checksum=1, cap_i=4) +
    run(1000, 60, TEXT, 1) + run(1000, 60, RANDOM, 5) +
    invalidate(1000, 40) + compact() + sweep() + reset() + sweep(),
    # a pool cap with a disk tier: pressure writeback, NOWAIT, reclaim
    "disk-pressure": cfg(checksum=1, disk=1, cap_i=6, cap=0x40 | 16) +
    run(0, 200, RANDOM, 11) + run(300, 100, TEXT, 2) + nowait_load(0) +
    nowait_store(1, RANDOM, 1) + writeback() + reclaim() + sweep() +
    set_cap(0x40 | 8) + run(500, 50, MIXED, 1500) + sweep(),
    # no checksums, proactive writeback, loads from disk, then reset
    "disk-writeback": cfg(codec=2, disk=1, cap_i=3, dmax=1) +
    run(0, 120, RANDOM, 3) + run(120, 100, TEXT, 4) + writeback() +
    sweep() + invalidate(0, 50) + store(60, ZERO) + sweep() + reset() +
    run(0, 10, TEXT, 1) + sweep(),
    # the disk's space given back beside live objects and after a reset
    "disk-release": cfg(disk=1, cap_i=6, cap=0x40 | 16) +
    run(0, 200, RANDOM, 12) + invalidate(0, 150) + compact(release=True) +
    sweep() + reset(release=True) + run(0, 100, RANDOM, 13) + sweep(),
    # a tiny cap without a disk: NOSPACE keeps the old page
    "nospace": cfg(cap_i=3, cap=0xc0 | 40) + run(0, 80, RANDOM, 1) +
    set_cap(0) + run(0, 10, TEXT, 6) + set_cap(0xc0 | 1) +
    store(5, RANDOM, 99) + sweep(),
    # levels and max_compressed at their edges; a refused level
    "params": cfg(codec=1, level=1, mc=1) + every_kind(0) + sweep(),
    "bad-level": cfg(codec=0, level=3) + bytes([0x90]),
}

# fuzz_tier_load.c patch(): type % 4, arguments, then len-1 and bytes
def absolute(off, data):
    return bytes([0]) + struct.pack("<I", off) + bytes([len(data) - 1]) + data


def at_slot(s, delta, data):
    return (bytes([1, s]) + struct.pack("<h", delta) +
            bytes([len(data) - 1]) + data)


def truncate(off):
    return bytes([2]) + struct.pack("<I", off)


def copy(frm, n, to):
    return (bytes([3]) + struct.pack("<I", frm) + struct.pack("<H", n) +
            struct.pack("<I", to))


TIER = {
    "none": bytes([0]),
    "header-lz4": bytes([0]) + at_slot(2, 0, b"\x00\x00\x00\x00"),
    "payload-zstd": bytes([1]) + at_slot(3, 40, b"\xff" * 16),
    "checksum-none-csum": bytes([5]) + at_slot(6, 4, b"\x01\x02\x03\x04"),
    "truncate-lz4-csum": bytes([3]) + truncate(200000),
    "copy-zstd-csum": bytes([4]) + copy(0, 4096, 8192),
    "scatter": bytes([2]) + absolute(100, b"\x00" * 64) +
    absolute(70000, b"junk") + at_slot(10, -8, b"\xaa" * 32),
}


# fuzz_import.c: byte 0 the destination (codec x checksum; bit 7: the
# harness seals the records), then records (vswap.h: u32 slot, u8 kind,
# u8 codec, u16 len, u32 crc of header and body, body)
def crc32c(data):
    """CRC-32C, as src/crc32c.c (reflected 0x82F63B78, init/xorout ~0)."""
    crc = 0xffffffff
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff


EMPTY_R, ZERO_R, SAME_R, COMP_R, RAW_R, RESET_R = range(6)


def rec(slot, kind, codec=0, body=b"", value=None):
    if value is not None:
        body = struct.pack("<Q", value)
    length = len(body) if kind in (COMP_R, RAW_R) else 0
    hdr = struct.pack("<IBBH", slot, kind, codec, length)
    return hdr + struct.pack("<I", crc32c(hdr + body)) + body


def lz4_literals(page):
    """An LZ4 block holding @page as one run of literals."""
    n = len(page) - 15
    return bytes([0xf0]) + b"\xff" * (n // 255) + bytes([n % 255]) + page


TEXT_PAGE = (b"swap page of the guest kept in host memory " * 100)[:4096]
RAND_PAGE = bytes((i * 2654435761 >> 13) & 0xff for i in range(4096))
IMPORT = {
    "kinds-lz4": bytes([0]) + rec(0, ZERO_R) + rec(1, SAME_R, value=0x55) +
    rec(2, RAW_R, body=RAND_PAGE) + rec(3, COMP_R, 0, lz4_literals(TEXT_PAGE))
    + rec(1, EMPTY_R),
    "zstd-codec-into-none-csum": bytes([5]) + rec(5, COMP_R, 1, TEXT_PAGE) +
    rec(6, COMP_R, 0, lz4_literals(RAND_PAGE)),
    "none-codec-refused": bytes([0]) + rec(4, ZERO_R) +
    rec(5, COMP_R, 2, TEXT_PAGE),
    "sealed-by-harness": bytes([0x80]) + rec(1, ZERO_R)[:8] + b"\0" * 4 +
    rec(2, SAME_R, value=0x77)[:8] + b"\0" * 4 + struct.pack("<Q", 0x77),
    "reset": bytes([3]) + rec(7, ZERO_R) + rec(0, RESET_R) +
    rec(8, SAME_R, value=0xffffffffffffffff),
    "bad-checksum": bytes([0]) + rec(9, ZERO_R) +
    rec(2, RAW_R, body=RAND_PAGE)[:-1] + b"\x00",
}


def write(target, inputs):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in inputs.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


write("fuzz_ops", OPS)
write("fuzz_tier_load", TIER)
write("fuzz_import", IMPORT)
