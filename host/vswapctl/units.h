/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: sizes and durations as operators type and read them.
 *
 * Sizes: a decimal integer with an optional binary suffix K, M, G or T
 * (case-insensitive, 1K = 1024), optionally followed by "B" or "iB":
 * "4096", "64K", "1G", "2GiB". Anything else, or a value above UINT64_MAX,
 * is not a size. Durations: seconds with an optional s/m/h/d suffix.
 */
#ifndef VSWAPCTL_UNITS_H
#define VSWAPCTL_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool parse_size(const char *s, uint64_t *out);
bool parse_seconds(const char *s, uint64_t *out);

/* "0", "4K", "1.5M", "16G": at most 3 significant digits. */
void format_size(uint64_t bytes, char *buf, size_t len);

#endif /* VSWAPCTL_UNITS_H */
