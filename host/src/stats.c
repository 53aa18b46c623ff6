// SPDX-License-Identifier: MIT
/*
 * stats.c - keeping and reading the counters of a store (see stats.h for
 * the shard discipline). The only cross-shard operation is the sum in
 * vswap_get_stats(); nothing here takes a lock but the NUMA part's one
 * short one (the migration cursor, mempolicy.c).
 */
#include <string.h>

#include "stats.h"
#include "store.h"

/* Add (sign = +1) or remove (-1) one entry's content from the counters. */
void stats_account(struct vswap_shard *sh, uint64_t w, uint32_t hdr, int sign)
{
	uint32_t len = slot_len(w);

	switch (slot_kind(w)) {
	case SLOT_EMPTY:
		return;
	case SLOT_ZERO:
		SHARD_ADD(sh, zero_pages, sign);
		break;
	case SLOT_SAME:
		SHARD_ADD(sh, same_pages, sign);
		break;
	case SLOT_COMP:
		SHARD_ADD(sh, compressed_pages, sign);
		SHARD_ADD(sh, compressed_bytes, (int64_t)sign * len);
		SHARD_ADD(sh, obj_bytes, (int64_t)sign * obj_size(hdr, len));
		break;
	case SLOT_RAW:
		SHARD_ADD(sh, incompressible_pages, sign);
		SHARD_ADD(sh, compressed_bytes, (int64_t)sign * len);
		SHARD_ADD(sh, obj_bytes, (int64_t)sign * obj_size(hdr, len));
		break;
	case SLOT_DISK_COMP:
	case SLOT_DISK_RAW:
		SHARD_ADD(sh, disk_pages, sign);
		SHARD_ADD(sh, disk_bytes, (int64_t)sign * len);
		break;
	default:
		return;
	}
	SHARD_ADD(sh, stored_pages, sign);
}

/* NUMA placement (mempolicy.h): policy, last refresh, migration. */
static void stats_fill_numa(struct vswap_memsource *ms,
			    struct vswap_stats *out)
{
	const struct vswap_numa *n = &ms->numa;

	for (unsigned i = 0; i < VSWAP_MAX_NODES; i++)
		out->node_bytes[i] = __atomic_load_n(&n->node_bytes[i],
						     __ATOMIC_RELAXED);
	out->nodes_refreshed_ns = __atomic_load_n(&n->refreshed_ns,
						  __ATOMIC_ACQUIRE);
	out->segment_bytes = memsource_held_bytes(ms);
	out->numa_migrated_bytes = __atomic_load_n(&n->migrated,
						   __ATOMIC_RELAXED);
	out->numa_migrate_failures = __atomic_load_n(&n->failed,
						     __ATOMIC_RELAXED);
	out->numa_migrate_pending_bytes = mpol_pending_bytes(&ms->numa,
							     out->segment_bytes);
	out->mpol = mpol_policy(n);
	out->mpol_nodes = mpol_nodes_of(n);
}

static uint64_t clamp0(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

uint64_t vswap_pool_bytes(const struct vswap_store *cs)
{
	/* An atomic read only; the cast drops const for the helper. */
	return cs ? pool_bytes(&((struct vswap_store *)cs)->pool) : 0;
}

void vswap_get_stats(const struct vswap_store *cs, struct vswap_stats *out)
{
	/* Only atomic reads below; the cast drops const for the helpers. */
	struct vswap_store *s = (struct vswap_store *)cs;
	struct {			/* signed sums of the current amounts */
#define CUR_SUM_(name)		int64_t name;
		SHARD_CUR_COUNTERS(CUR_SUM_)
#undef CUR_SUM_
	} cur = { 0 };
	unsigned n;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->capacity = s->params.capacity;
	out->pool_max = pool_max(&s->pool);
	n = __atomic_load_n(&s->nctx, __ATOMIC_ACQUIRE);
	/* The shards' part: sum the lists of stats.h over every context. */
	for (unsigned i = 0; i < n; i++) {
		struct vswap_shard *sh =
			&__atomic_load_n(&s->ctx[i], __ATOMIC_ACQUIRE)->shard;

#define SUM_CUR_(name)		cur.name += SHARD_READ(sh, name);
		SHARD_CUR_COUNTERS(SUM_CUR_)
#undef SUM_CUR_
#define SUM_TOTAL_(name)	out->name += SHARD_READ(sh, name);
		SHARD_TOTAL_COUNTERS(SUM_TOTAL_)
#undef SUM_TOTAL_
#define SUM_HIST_(name, help)						\
		for (unsigned b = 0; b < VSWAP_LAT_BUCKETS; b++)	\
			out->name[b] += SHARD_READ(sh, name[b]);
		VSWAP_STATS_HISTOGRAMS(SUM_HIST_)
#undef SUM_HIST_
	}
	/* Signed deltas sum to >= 0 once quiesced; in flight, a page
	 * stored through one shard and dropped through another may be
	 * seen dropped first: report 0, not 2^64 - 1. */
#define SET_CUR_(name)		out->name = clamp0(cur.name);
	SHARD_CUR_COUNTERS(SET_CUR_)
#undef SET_CUR_

	/*
	 * The rest comes from where it is kept, one read each: the pool and
	 * its memsource, the slot table, the same-fill dictionary, the tier
	 * and the NUMA state. These don't line up with a loop over
	 * VSWAP_STATS_COUNTERS (different objects and field names, sums such
	 * as meta_bytes, the peak's fix-up), so they are written out.
	 */
	out->pool_bytes = pool_bytes(&s->pool);
	out->pool_bytes_peak = __atomic_load_n(&s->pool.ms.peak,
					       __ATOMIC_RELAXED);
	if (out->pool_bytes_peak < out->pool_bytes)
		out->pool_bytes_peak = out->pool_bytes;
	/* Slot table + arena descriptors + same-fill dictionary + object
	 * headers (8 B each with checksums, 4 B without). */
	out->meta_bytes = __atomic_load_n(&s->st.bytes, __ATOMIC_RELAXED) +
			  __atomic_load_n(&s->pool.ms.meta_bytes,
					  __ATOMIC_RELAXED) +
			  __atomic_load_n(&s->same.bytes, __ATOMIC_RELAXED) +
			  (out->compressed_pages + out->incompressible_pages) *
			  s->pool.hdr;
	out->compactions = __atomic_load_n(&s->pool.compactions,
					   __ATOMIC_RELAXED);
	out->compacted_bytes = __atomic_load_n(&s->pool.compacted_bytes,
					       __ATOMIC_RELAXED);
	out->disk_file_bytes = tier_file_bytes(&s->tier);
	out->writeback_pages = __atomic_load_n(&s->tier.wb_pages,
					       __ATOMIC_RELAXED);
	out->writeback_bytes = __atomic_load_n(&s->tier.wb_bytes,
					       __ATOMIC_RELAXED);
	out->writeback_ios = __atomic_load_n(&s->tier.wb_ios, __ATOMIC_RELAXED);
	out->writeback_errors = __atomic_load_n(&s->tier.wb_errors,
						__ATOMIC_RELAXED);
	out->writeback_freed_bytes = __atomic_load_n(&s->tier.wb_freed,
						     __ATOMIC_RELAXED);
	stats_fill_numa(&s->pool.ms, out);
}

