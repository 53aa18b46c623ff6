/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h - CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial
 * value and final xor 0xFFFFFFFF), the CRC of iSCSI, ext4 and btrfs. It
 * checks the migration stream's payloads (stream.c): bytes in flight,
 * where a burst error is what to catch and speed is what the stream needs.
 * Objects at rest keep their seeded XXH32 (checksum.h).
 *
 * Invariants:
 *   - every path (x86-64 SSE4.2 + PCLMULQDQ, three lanes at once; arm64
 *     CRC32 instructions; slicing-by-8 tables elsewhere) returns the same
 *     value for the same bytes;
 *     vswap_crc32c("123456789") == 0xE3069283 (the check value);
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

uint32_t vswap_crc32c(const void *buf, size_t len);
uint32_t vswap_crc32c_copy(void *dst, const void *buf, size_t len);
/* The table path alone, whatever the CPU has (what test_crc32c checks
 * against the instructions' path). */
uint32_t vswap_crc32c_portable(const void *buf, size_t len);
/* Whether vswap_crc32c() takes the CPU's CRC instructions here. */
bool vswap_crc32c_hw(void);

#endif /* VSWAP_CRC32C_H */
