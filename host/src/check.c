// SPDX-License-Identifier: MIT
/*
 * check.c - vswap_store_check(): every invariant of a store, checked on a
 * quiesced store (all contexts held, see context.h):
 *   - every non-empty pool entry points at a live object whose header names
 *     the same slot and length; no entry is left locked;
 *   - pool_is_valid(): per-segment live bytes, garbage, sealed list, segment
 *     bytes (pool.c);
 *   - budget: charged == segment bytes + arena metadata + slot table;
 *   - slot table (slot_table_is_valid): each chunk's live count == its
 *     non-empty entries (their sum == stored slots), a released chunk is
 *     all zero, table bytes == dir + mid tables + RESIDENT chunks;
 *   - counters: stored == zero + same + compressed + incompressible +
 *     disk, and they match what the slot table holds;
 *   - disk tier: every entry on disk names an 8-aligned extent inside a
 *     chunk in use whose header (one pread) names the entry's slot and
 *     length, and each chunk's live bytes == the obj_size() sum of the
 *     entries on it (tier_is_valid, tier.h); the free list is sound.
 * O(stored slots + pool bytes); for tests and VSWAP_DEBUG builds.
 */
#include <stdlib.h>

#include "debug.h"
#include "store.h"

struct check_arg {
	struct vswap_store *s;
	uint64_t live;
	int64_t pages, objs, cbytes, dpages, dbytes;
	uint64_t *chunk_live;	/* per disk chunk, NULL without a disk */
	bool ok;
};

static void check_fn(void *arg, uint64_t slot, struct vswap_slot *e)
{
	struct check_arg *a = arg;
	uint64_t w0 = __atomic_load_n(&e->w0, __ATOMIC_RELAXED);
	unsigned kind = slot_kind(w0);

	if (w0 & SLOT_LOCK)
		a->ok = false;
	if (kind == SLOT_EMPTY)
		return;
	a->pages++;
	if (slot_on_disk(kind)) {
		struct vswap_tier *t = &a->s->tier;
		uint64_t id = e->w1 >> TIER_CHUNK_SHIFT;
		uint32_t size = obj_size(slot_len(w0));
		uint64_t h;

		if (!a->chunk_live || id >= t->nchunks || (e->w1 & 7) ||
		    (e->w1 & (TIER_CHUNK_SIZE - 1)) + size > TIER_CHUNK_SIZE ||
		    slot_len(w0) > VSWAP_PAGE_SIZE ||
		    (kind == SLOT_DISK_RAW &&
		     slot_len(w0) != VSWAP_PAGE_SIZE)) {
			a->ok = false;
			return;
		}
		/* The object on disk names this slot and length (a read
		 * that fails proves nothing either way: not checked). */
		if (tier_read(t, e->w1, &h, sizeof(h)) == VSWAP_OK &&
		    ((h >> OBJ_SLOT_SHIFT) != slot ||
		     (h & OBJ_LEN_MASK) != slot_len(w0)))
			a->ok = false;
		a->chunk_live[id] += size;
		a->dpages++;
		a->dbytes += slot_len(w0);
		return;
	}
	if (!slot_in_pool(kind)) {
		if (kind != SLOT_SAME)
			a->ok = false;	/* reserved kinds never appear */
		return;
	}
	{
		const unsigned char *hdrp =
			(const unsigned char *)pool_payload(&a->s->pool, e->w1) -
			OBJ_HDR_SIZE;
		uint64_t h = *(const uint64_t *)hdrp;

		if ((h >> OBJ_SLOT_SHIFT) != slot || (h & OBJ_DEAD) ||
		    (h & OBJ_LEN_MASK) != slot_len(w0) ||
		    (kind == SLOT_RAW && slot_len(w0) != VSWAP_PAGE_SIZE))
			a->ok = false;
	}
	a->objs++;
	a->cbytes += slot_len(w0);
	a->live += obj_size(slot_len(w0));
}

/* The whole-store invariants; store quiesced by the caller. */
int vswap_store_check_locked(struct vswap_store *s)
{
	struct check_arg a = { .s = s, .ok = true };
	struct vswap_head *heads[VSWAP_CTX_MAX];
	struct vswap_stats st;
	bool tier_ok = true;
	uint64_t used = 0;

	if (tier_attached(&s->tier) && s->tier.nchunks) {
		a.chunk_live = calloc(s->tier.nchunks, sizeof(*a.chunk_live));
		if (!a.chunk_live)
			return VSWAP_E_NOMEM;
	}
	slot_table_for_each(&s->st, check_fn, &a);
	if (a.ok)
		tier_ok = tier_is_valid(&s->tier, a.chunk_live);
	free(a.chunk_live);
	for (unsigned i = 0; i < s->nctx; i++)
		heads[i] = &s->ctx[i]->head;
	vswap_get_stats(s, &st);
	if (!slot_table_is_valid(&s->st, &used) || used != (uint64_t)a.pages)
		a.ok = false;
	if (!a.ok || !tier_ok || !pool_is_valid(&s->pool, heads, s->nctx, a.live) ||
	    s->pool.ms.charged != s->pool.ms.seg_bytes +
				  s->pool.ms.meta_bytes + s->st.bytes ||
	    st.stored_pages != (uint64_t)a.pages ||
	    st.compressed_pages + st.incompressible_pages != (uint64_t)a.objs ||
	    st.compressed_bytes != (uint64_t)a.cbytes ||
	    st.disk_pages != (uint64_t)a.dpages ||
	    st.disk_bytes != (uint64_t)a.dbytes ||
	    st.stored_pages != st.zero_pages + st.same_pages +
			       st.compressed_pages + st.incompressible_pages +
			       st.disk_pages)
		return VSWAP_E_INTEGRITY;
	return VSWAP_OK;
}

int vswap_store_check(struct vswap_store *s)
{
	int r;

	if (!s)
		return VSWAP_E_INVAL;
	ctx_quiesce(s);
	r = vswap_store_check_locked(s);
	ctx_unquiesce(s);
	return r;
}
