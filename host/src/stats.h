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
 *
 * Which counters of struct vswap_stats are kept here: the two lists below
 * (by how they sum: signed current amounts, totals) and every latency
 * histogram (VSWAP_STATS_HISTOGRAMS). They declare the shard's fields and
 * drive the sum in vswap_get_stats(); a name must be a vswap_stats field
 * (the sum does not compile otherwise). The rest of vswap_stats is kept by
 * the pool, the tier and the NUMA state and read from there.
 */
#ifndef VSWAP_STATS_H
#define VSWAP_STATS_H

#include <stdint.h>

#include "vswap.h"

/* disk_pages: DISK_COMP + DISK_RAW entries; disk_bytes their payload. */
#define SHARD_CUR_COUNTERS(X)						\
	X(stored_pages) X(zero_pages) X(same_pages)			\
	X(incompressible_pages) X(compressed_pages) X(compressed_bytes)	\
	X(disk_pages) X(disk_bytes)

#define SHARD_TOTAL_COUNTERS(X)						\
	X(stores) X(loads) X(invalidates) X(invalidated_pages)		\
	X(loads_empty) X(store_nospace) X(store_nomem)			\
	X(integrity_errors) X(loads_from_disk) X(disk_read_errors)

struct vswap_shard {
#define SHARD_CUR_(name)		int64_t name;
	SHARD_CUR_COUNTERS(SHARD_CUR_)
#undef SHARD_CUR_
	int64_t obj_bytes;		/* sum of obj_size(): headers + padding;
					 * not a vswap_stats field */
#define SHARD_TOTAL_(name)		uint64_t name;
	SHARD_TOTAL_COUNTERS(SHARD_TOTAL_)
#undef SHARD_TOTAL_
#define SHARD_HIST_(name, help)		uint64_t name[VSWAP_LAT_BUCKETS];
	VSWAP_STATS_HISTOGRAMS(SHARD_HIST_)
#undef SHARD_HIST_
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
