/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h - CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial
 * value and final xor 0xFFFFFFFF), the CRC of iSCSI, ext4 and btrfs: the
 * library's one checksum. It checks the migration stream's payloads
 * (stream.c, seed 0) and every object at rest, in the pool with
 * checksum=on and always on the disk tier (store.h: store_csum, seeded
 * with the store's obj_seed). Any error burst of up to 32 bits changes it.
 *
 * @seed is a CRC to continue, zlib style: crc(crc(0, A), B) == crc(0, AB).
 * Two different seeds give values that differ, for the same bytes, by a
 * constant that depends only on the length and is never zero: an object
 * another store wrote with its own seed never passes this store's check.
 *
 * Invariants:
 *   - every path (x86-64 SSE4.2 + PCLMULQDQ, three lanes at once; arm64
 *     CRC32 instructions; slicing-by-8 tables elsewhere) returns the same
 *     value for the same bytes;
 *     vswap_crc32c(0, "123456789", 9) == 0xE3069283 (the check value);
 *   - the _copy variant returns the same value and copies exactly @len
 *     bytes; @dst and @buf do not overlap.
 * Stateless; the tables are constants; the CPU check is the compiler's
 * (x86-64) or the kernel's hwcaps (arm64).
 */
#ifndef VSWAP_CRC32C_H
#define VSWAP_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t vswap_crc32c(uint32_t seed, const void *buf, size_t len);
uint32_t vswap_crc32c_copy(uint32_t seed, void *dst, const void *buf,
			   size_t len);
/* The table path alone, whatever the CPU has (what test_crc32c checks
 * against the instructions' path). */
uint32_t vswap_crc32c_portable(uint32_t seed, const void *buf, size_t len);
/* Whether vswap_crc32c() takes the CPU's CRC instructions here. */
bool vswap_crc32c_hw(void);

#endif /* VSWAP_CRC32C_H */
