/* SPDX-License-Identifier: MIT */
/*
 * stats.h - per-context counter shards.
 *
 * Every hot counter lives in the shard of the context (context.h) that the
 * operation holds, so two threads never write the same cache line; a shard
 * has one writer at a time (the context's lock holder) and any number of
 * readers (vswap_get_stats), hence writes are relaxed atomic stores of
 * load + delta (a plain add in the generated code, no lock prefix) and reads
 * are relaxed atomic loads. vswap_get_stats sums the shards.
 *
 * "current" fields are signed deltas: a page stored through one context and
 * invalidated through another adds +1 to one shard and -1 to the other; only
 * the sum is meaningful. Invariants (sum over shards, quiesced):
 *   stored_pages == zero_pages + same_pages + incompressible_pages
 *                   + compressed_pages + disk_pages
 *   compressed_bytes == sum of payload lengths of pool objects
 *   objects == incompressible_pages + compressed_pages
 *   disk_bytes == sum of payload lengths of slots on disk
 * (a page on disk counts in disk_pages only, whatever its encoding)
 */
#ifndef VSWAP_STATS_H
#define VSWAP_STATS_H

#include <stdint.h>

#include "vswap.h"

struct vswap_shard {
	/* current (signed deltas) */
	int64_t stored_pages;
	int64_t zero_pages;
	int64_t same_pages;
	int64_t incompressible_pages;
	int64_t compressed_pages;
	int64_t compressed_bytes;
	int64_t obj_bytes;		/* sum of obj_size(): headers + padding */
	int64_t disk_pages;		/* DISK_COMP + DISK_RAW entries */
	int64_t disk_bytes;		/* their payload bytes */
	/* totals */
	uint64_t stores;
	uint64_t loads;
	uint64_t invalidates;
	uint64_t invalidated_pages;
	uint64_t loads_empty;
	uint64_t store_nospace;
	uint64_t store_nomem;
	uint64_t integrity_errors;
	uint64_t load_lat_hist[VSWAP_LAT_BUCKETS];
	uint64_t loads_from_disk;
	uint64_t disk_read_errors;
	uint64_t disk_load_lat_hist[VSWAP_LAT_BUCKETS];
} __attribute__((aligned(64)));

/* Single-writer add: see above. @field is evaluated twice: no side effects. */
#define SHARD_ADD(sh, field, delta)					\
	__atomic_store_n(&(sh)->field,					\
			 __atomic_load_n(&(sh)->field, __ATOMIC_RELAXED) \
			 + (delta), __ATOMIC_RELAXED)

#define SHARD_READ(sh, field) __atomic_load_n(&(sh)->field, __ATOMIC_RELAXED)

/* Add (sign = +1) or remove (-1) the content of slot entry @w, in a pool
 * of @hdr-byte object headers. */
void stats_account(struct vswap_shard *sh, uint64_t w, uint32_t hdr,
		   int sign);

#endif /* VSWAP_STATS_H */
