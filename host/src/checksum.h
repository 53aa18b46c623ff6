/* SPDX-License-Identifier: MIT */
/*
 * checksum.h - 32-bit object checksum (XXH32, written out here: no extra
 * dependency; same output as the reference XXH32 with seed 0).
 *
 * What is hashed: the payload bytes exactly as they sit in the pool
 * (compressed bytes, or the raw page for incompressible objects). Why:
 *   - it is cheaper than hashing the original page (a 4:1 page hashes 1 KiB,
 *     not 4 KiB) on both the store and the load path;
 *   - it is verified BEFORE the decompressor ever reads corrupted input;
 *   - the same value stays valid when the object is moved by compaction or
 *     written back to disk as-is (compressed writeback), so the disk tier
 *     can verify what it reads without decompressing. Objects on disk
 *     always carry it: a store without checksums gets it computed at
 *     writeback (tier.h).
 * Codec bugs that produce a wrong page from intact input are not caught by
 * this; decompression failures (bad length, LZ4/zstd error) are.
 */
#ifndef VSWAP_CHECKSUM_H
#define VSWAP_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint32_t vswap_xxh32(const void *buf, size_t len, uint32_t seed);
/* The same, copying the @len bytes to @dst (not overlapping @buf) in the
 * same pass. */
uint32_t vswap_xxh32_copy(void *dst, const void *buf, size_t len,
			  uint32_t seed);

#endif /* VSWAP_CHECKSUM_H */
