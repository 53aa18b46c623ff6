// SPDX-License-Identifier: MIT
/*
 * check.c - vswap_store_check(): every invariant of a store, checked on a
 * quiesced store (all contexts held, see context.h):
 *   - every pool entry names an object inside an existing segment whose
 *     header names the same slot (the back-pointer) and, with checksums
 *     on, carries the payload's checksum; no entry is left locked;
 *     ZERO entries carry nothing, no reserved kind appears;
 *   - pool_is_valid(): the walk of every segment ends exactly at its used
 *     bytes, every dead header's tag is a sane length, per-segment live
 *     bytes == the objects their slots point at, garbage, sealed list,
 *     segment bytes (pool.c);
 *   - same-fill dictionary (same_dict_is_valid): chains, free list, bytes;
 *     every index's refcount == the SAME entries holding it;
 *   - budget: charged == segment bytes + arena metadata + slot table +
 *     dictionary;
 *   - slot table (slot_table_is_valid): each chunk's live count == its
 *     non-empty entries (their sum == stored slots), a released chunk is
 *     all zero, table bytes == dir + mid tables + RESIDENT chunks;
 *   - counters: stored == zero + same + compressed + incompressible +
 *     disk, and each matches what the slot table holds;
 *   - disk tier: every entry on disk names an 8-aligned extent inside a
 *     chunk in use whose object (one pread; 8-byte header in every store,
 *     tier.h) names the entry's slot and carries its payload's checksum,
 *     and each chunk's live bytes == the tier_obj_size() sum of the
 *     entries on it
 *     (tier_is_valid, tier.h); the free list is sound.
 * O(stored slots + pool bytes + disk bytes in use); for tests and
 * VSWAP_DEBUG builds.
 */
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "store.h"

struct check_arg {
	struct vswap_store *s;
	uint64_t live;
	int64_t pages, objs, cbytes, dpages, dbytes, zero, same;
	uint64_t *chunk_live;	/* per disk chunk, NULL without a disk */
	uint32_t *same_refs;	/* per dictionary index (nalloc of them) */
	unsigned char *buf;	/* one object read from disk */
	bool ok;
};

/* The checksum a live object of @len bytes at @payload must carry (none
 * without checksums: 4-byte headers, pool.h). */
static bool csum_ok(struct check_arg *a, const void *payload, uint32_t len,
		    uint32_t csum)
{
	if (!a->s->params.checksum)
		return csum == 0;
	return store_csum(a->s, payload, len) == csum;
}

static void check_disk(struct check_arg *a, uint64_t slot, uint64_t w)
{
	struct vswap_tier *t = &a->s->tier;
	uint64_t off = slot_disk_off(w), id = off >> TIER_CHUNK_SHIFT;
	uint32_t len = slot_len(w), size = tier_obj_size(len);

	if (!a->chunk_live || id >= t->nchunks || !obj_len_sane(len) ||
	    (off & (TIER_CHUNK_SIZE - 1)) + size > TIER_CHUNK_SIZE ||
	    (slot_kind(w) == SLOT_DISK_RAW && len != VSWAP_PAGE_SIZE)) {
		a->ok = false;
		return;
	}
	/* The object on disk names this slot and carries its checksum, in
	 * every store (a read that fails proves nothing either way: not
	 * checked). */
	if (tier_read(t, off, a->buf, size) == VSWAP_OK &&
	    (obj_field(a->buf, 0) != obj_slot_code((uint32_t)slot) ||
	     store_csum(a->s, a->buf + TIER_OBJ_HDR, len) !=
	     obj_field(a->buf, 1)))
		a->ok = false;
	a->chunk_live[id] += size;
	a->dpages++;
	a->dbytes += len;
}

static void check_fn(void *arg, uint64_t slot, struct vswap_slot *e)
{
	struct check_arg *a = arg;
	uint64_t w = __atomic_load_n(&e->w, __ATOMIC_RELAXED);
	unsigned kind = slot_kind(w);
	const unsigned char *payload;
	uint32_t csum;

	if (w & SLOT_LOCK)
		a->ok = false;
	if (kind == SLOT_EMPTY)
		return;
	a->pages++;
	switch (kind) {
	case SLOT_DISK_COMP:
	case SLOT_DISK_RAW:
		check_disk(a, slot, w);
		return;
	case SLOT_ZERO:
		a->zero++;
		if (slot_len(w) || slot_loc(w))
			a->ok = false;
		return;
	case SLOT_SAME:
		a->same++;
		if (slot_len(w) || slot_loc(w) >= a->s->same.nalloc)
			a->ok = false;
		else
			a->same_refs[slot_loc(w)]++;
		return;
	case SLOT_COMP:
	case SLOT_RAW:
		break;
	default:
		a->ok = false;	/* reserved kinds never appear */
		return;
	}
	payload = pool_lookup(&a->s->pool, pool_loc_handle(slot_loc(w)),
			      (uint32_t)slot, slot_len(w), &csum);
	if (!payload || !obj_len_sane(slot_len(w)) ||
	    !csum_ok(a, payload, slot_len(w), csum) ||
	    (kind == SLOT_RAW && slot_len(w) != VSWAP_PAGE_SIZE)) {
		a->ok = false;
		return;
	}
	a->objs++;
	a->cbytes += slot_len(w);
	a->live += pool_obj_size(&a->s->pool, slot_len(w));
}

/* Every dictionary index is referenced by exactly its refcount of SAME
 * entries; the dictionary's own structure is sound. */
static bool same_ok(struct check_arg *a)
{
	struct vswap_same_dict *d = &a->s->same;
	uint64_t total = 0;

	if (!same_dict_is_valid(d, &total) || total != (uint64_t)a->same)
		return false;
	for (uint32_t i = 0; i < d->nalloc; i++)
		if (same_dict_refs(d, i) != a->same_refs[i])
			return false;
	return true;
}

/* The whole-store invariants; store quiesced by the caller. */
int vswap_store_check_locked(struct vswap_store *s)
{
	struct check_arg a = { .s = s, .ok = true };
	struct vswap_head *heads[VSWAP_CTX_MAX];
	struct vswap_stats st;
	bool tier_ok = true;
	uint64_t used = 0;

	a.same_refs = calloc(s->same.nalloc + 1, sizeof(*a.same_refs));
	a.buf = malloc(tier_obj_size(VSWAP_PAGE_SIZE));
	if (tier_attached(&s->tier) && s->tier.nchunks)
		a.chunk_live = calloc(s->tier.nchunks, sizeof(*a.chunk_live));
	if (!a.same_refs || !a.buf ||
	    (tier_attached(&s->tier) && s->tier.nchunks && !a.chunk_live)) {
		free(a.same_refs);
		free(a.buf);
		free(a.chunk_live);
		return VSWAP_E_NOMEM;
	}
	slot_table_for_each(&s->st, check_fn, &a);
	if (a.ok)
		tier_ok = tier_is_valid(&s->tier, a.chunk_live);
	if (a.ok)
		a.ok = same_ok(&a);
	free(a.chunk_live);
	free(a.same_refs);
	free(a.buf);
	for (unsigned i = 0; i < s->nctx; i++)
		heads[i] = &s->ctx[i]->head;
	vswap_get_stats(s, &st);
	if (!slot_table_is_valid(&s->st, &used) || used != (uint64_t)a.pages)
		a.ok = false;
	if (!a.ok || !tier_ok || !pool_is_valid(&s->pool, heads, s->nctx, a.live) ||
	    s->pool.ms.charged != s->pool.ms.seg_bytes +
				  s->pool.ms.kept_bytes +
				  s->pool.ms.meta_bytes + s->st.bytes +
				  s->same.bytes ||
	    st.zero_pages != (uint64_t)a.zero ||
	    st.same_pages != (uint64_t)a.same ||
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
