// SPDX-License-Identifier: MIT
/*
 * store.c - the public API of libvswap: create/destroy, store, load,
 * invalidate, reset, limits, compaction, statistics.
 *
 * Every entry point validates its arguments in one place (check_slot /
 * check_range) before touching anything, then runs holding one context
 * (context.h). The data path of a store:
 *   1. same-filled check (early exit on the first differing word): a zero
 *      page is an entry of kind ZERO, any other fill value takes a
 *      reference in the store's value dictionary (same_dict.h) and the
 *      entry holds its index; a full dictionary sends the page on to 2.;
 *   2. otherwise copy the page into the context and compress the copy
 *      into the pool head or the context's scratch, OUTSIDE any slot lock
 *      (the caller's page may be guest memory that changes meanwhile, and
 *      a codec fed a changing input may emit a block that does not
 *      decode: LZ4 1.9.4 does, about once in 60,000 such pages);
 *   3. append the object (header: slot + checksum, pool.h) to the
 *      context's pool head;
 *   4. lock the slot, kill the old content (dead tag, dictionary
 *      reference, disk extent), publish the new entry with the unlock.
 * A load locks the slot for the whole decode, so the object cannot be freed
 * or moved by compaction or writeback underneath it. A slot on disk is one
 * pread under its slot lock (decode_disk). A store that hits the pool cap
 * with a disk tier attached writes the oldest segments back (writeback.c)
 * and retries once before answering NOSPACE.
 *
 * Lock order: see writeback.c (ctx->lock > wb->lock > compact_lock > slot
 * > pool > tier > ms).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "debug.h"
#include "entropy.h"
#include "store.h"

/* Default params.max_compressed: 75% of a page, as the header promises. */
#define VSWAP_DEFAULT_MAX_COMPRESSED	3072u

void vswap_params_init(struct vswap_params *p, uint64_t capacity)
{
	if (!p)
		return;
	memset(p, 0, sizeof(*p));
	p->capacity = capacity;
	p->codec = VSWAP_CODEC_LZ4;
	p->level = 0;
	p->pool_max = 0;
	p->checksum = false;
	p->max_compressed = VSWAP_DEFAULT_MAX_COMPRESSED;
}

size_t vswap_slot_meta_bytes(void)
{
	/* The entry; a pool object adds its header (pool.h: 4 bytes, 8 with
	 * checksums). */
	return sizeof(struct vswap_slot);
}

static int check_params(const struct vswap_params *p, int *level)
{
	const struct vswap_codec_ops *ops;

	if (!p || p->capacity == 0 || p->capacity > VSWAP_MAX_CAPACITY)
		return VSWAP_E_INVAL;
	ops = vswap_codec_ops(p->codec);
	if (!ops)
		return VSWAP_E_INVAL;
	if (p->level != 0 &&
	    (p->level < ops->level_min || p->level > ops->level_max))
		return VSWAP_E_INVAL;
	if (p->max_compressed > VSWAP_PAGE_SIZE)
		return VSWAP_E_INVAL;
	if (vswap_mempolicy_check(p->mpol, p->mpol_nodes, NULL, 0))
		return VSWAP_E_INVAL;	/* NUMA placement (mempolicy.c) */
	*level = p->level ? p->level : ops->level_default;
	return VSWAP_OK;
}

static unsigned ctx_cap_for_host(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	/* 2 x CPUs: a thread preempted while holding a context does not
	 * stall the others; at least 2 so two callers never wait. */
	n *= 2;
	return n > VSWAP_CTX_MAX ? VSWAP_CTX_MAX : (unsigned)n;
}

struct vswap_store *vswap_store_create(const struct vswap_params *p, int *err)
{
	struct vswap_store *s = NULL;
	struct vswap_ctx *c;
	uint64_t max_segs;
	uint32_t max_seg_ids;	/* unused: no segment exists yet */
	int level = 0;
	int r;

	r = check_params(p, &level);
	if (r)
		goto out;
	r = VSWAP_E_NOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->params = *p;
	s->params.level = level;
	if (!s->params.max_compressed)
		s->params.max_compressed = VSWAP_DEFAULT_MAX_COMPRESSED;
	s->codec = vswap_codec_ops(p->codec);
	s->ctx_cap = ctx_cap_for_host();
	r = entropy_get(&s->id, sizeof(s->id));
	if (r)
		goto free_store;
	s->obj_seed = (uint32_t)s->id ^ (uint32_t)(s->id >> 32);
	r = slot_table_init(&s->st, p->capacity);
	if (r)
		goto free_store;
	/*
	 * Segment ids needed in the worst case: every slot holding a raw
	 * page, twice over (garbage not yet compacted), plus one open head
	 * per context and the GC head.
	 */
	max_segs = (p->capacity * obj_size(OBJ_HDR_MAX, VSWAP_PAGE_SIZE) +
		    VSWAP_SEG_SIZE -
		    1) / VSWAP_SEG_SIZE * 2 + s->ctx_cap + 2;
	r = pool_init(&s->pool, &s->st, max_segs, p->pool_max, p->checksum);
	if (r)
		goto free_table;
	memsource_charge_fixed(&s->pool.ms, s->st.bytes);	/* directory */
	/* NUMA placement: no arena exists yet, this only records it. */
	r = VSWAP_E_NOMEM;
	if (p->mpol != VSWAP_MPOL_DEFAULT &&
	    memsource_set_policy(&s->pool.ms, p->mpol, p->mpol_nodes,
				 &max_seg_ids))
		goto free_pool;
	r = same_dict_init(&s->same);
	if (r)
		goto free_pool;
	tier_init(&s->tier);	/* no disk until vswap_store_attach_disk */
	r = wb_init(&s->wb);
	if (r)
		goto free_same;
	r = VSWAP_E_NOMEM;
	if (pthread_mutex_init(&s->ctx_lock, NULL))
		goto free_wb;
	/* Only thread affinity depends on the key: run without if exhausted. */
	s->has_key = pthread_key_create(&s->ctx_key, NULL) == 0;
	/* One context up front: codec setup errors show up here, not later. */
	c = ctx_create(s);
	if (!c)
		goto free_lock;
	ctx_put(c);
	if (err)
		*err = VSWAP_OK;
	return s;

free_lock:
	if (s->has_key)
		pthread_key_delete(s->ctx_key);
	pthread_mutex_destroy(&s->ctx_lock);
free_wb:
	wb_fini(&s->wb);
free_same:
	same_dict_fini(&s->same);
free_pool:
	pool_fini(&s->pool);
free_table:
	slot_table_fini(&s->st);
free_store:
	free(s);
	s = NULL;
out:
	if (err)
		*err = r;
	return NULL;
}

/*
 * Kill what entry @w holds (its slot locked, or store quiesced): the pool
 * object's dead tag, the disk extent, the dictionary reference. The caller
 * then publishes the entry's next value.
 */
static void drop_entry(struct vswap_store *s, struct vswap_shard *sh,
		       uint64_t w)
{
	switch (slot_kind(w)) {
	case SLOT_COMP:
	case SLOT_RAW:
		pool_free(&s->pool, pool_loc_handle(slot_loc(w)), slot_len(w));
		break;
	case SLOT_DISK_COMP:
	case SLOT_DISK_RAW:
		tier_free(&s->tier, slot_disk_off(w),
			  tier_obj_size(slot_len(w)));
		break;
	case SLOT_SAME:
		same_dict_put(&s->same, slot_loc(w));
		break;
	}
	stats_account(sh, w, s->pool.hdr, -1);
}

/* Word @i of a page at any alignment (callers' buffers need not be
 * 8-byte aligned); compiles to a plain load. */
static inline uint64_t word(const unsigned char *p, unsigned i)
{
	uint64_t v;

	memcpy(&v, p + (size_t)i * 8, sizeof(v));
	return v;
}

/*
 * Same-filled check: true if the page is one 64-bit value repeated. Tests
 * the last word first, then 8 words per step with one branch, so a typical
 * page exits after the first 64 bytes or less.
 */
static bool page_same_filled(const void *page, uint64_t *val)
{
	const unsigned char *p = page;
	uint64_t v = word(p, 0);

	if (word(p, VSWAP_PAGE_SIZE / 8 - 1) != v)
		return false;
	for (unsigned i = 0; i < VSWAP_PAGE_SIZE / 8; i += 8) {
		uint64_t d = (word(p, i) ^ v) | (word(p, i + 1) ^ v) |
			     (word(p, i + 2) ^ v) | (word(p, i + 3) ^ v) |
			     (word(p, i + 4) ^ v) | (word(p, i + 5) ^ v) |
			     (word(p, i + 6) ^ v) | (word(p, i + 7) ^ v);

		if (d)
			return false;
	}
	*val = v;
	return true;
}

static void fill_page(void *page, uint64_t v)
{
	unsigned char *p = page;

	if (v == 0) {
		memset(page, 0, VSWAP_PAGE_SIZE);
		return;
	}
	for (unsigned i = 0; i < VSWAP_PAGE_SIZE / 8; i++)
		memcpy(p + (size_t)i * 8, &v, sizeof(v));
}

/*
 * Entry of @slot for a store, with a reservation of its chunk (slot_table.h),
 * growing the slot table if needed. Table growth (a mid table, a chunk that
 * is missing or was released) is pool memory: it is charged against the cap
 * before it is taken (and the unused part of the charge returned), so it
 * cannot pass the cap.
 */
static struct vswap_slot *get_entry(struct vswap_store *s, uint64_t slot,
				    int *err)
{
	struct vswap_slot *e;
	uint64_t need, added;
	int r = slot_table_get(&s->st, slot, 0, &e, &added);

	while (r == SLOT_TABLE_AGAIN) {
		need = slot_table_grow_bytes(&s->st, slot);
		if (need && !pool_charge_meta(&s->pool, need)) {
			*err = VSWAP_E_NOSPACE;
			return NULL;
		}
		r = slot_table_get(&s->st, slot, need, &e, &added);
		memsource_uncharge(&s->pool.ms, need - added);
	}
	if (r) {
		*err = VSWAP_E_NOMEM;
		return NULL;
	}
	return e;
}

/* Drop one count of @slot's chunk; a chunk released gives its bytes back. */
static void table_unref(struct vswap_store *s, uint64_t slot)
{
	uint64_t freed = slot_table_unref(&s->st, slot);

	if (freed)
		memsource_uncharge(&s->pool.ms, freed);
}

static int check_slot(const struct vswap_store *s, uint64_t slot,
		      const void *page)
{
	if (!s || !page)
		return VSWAP_E_INVAL;
	if (slot >= s->params.capacity)
		return VSWAP_E_RANGE;
	return VSWAP_OK;
}

/*
 * At the cap: with VSWAP_NOWAIT, WOULDBLOCK if writing back could make
 * room (the caller retries from a thread that may block); else write the
 * oldest data back and say whether to retry the allocation.
 */
static bool store_make_room(struct vswap_store *s, struct vswap_ctx *c,
			    unsigned flags, int *r)
{
	if (*r != VSWAP_E_NOSPACE)
		return false;
	if (flags & VSWAP_NOWAIT) {
		if (wb_pressure_due(s))
			*r = VSWAP_E_WOULDBLOCK;
		return false;
	}
	return wb_pressure(s, c);
}

/* get_entry(), writing back at the cap as @flags allow (a few tries: a
 * concurrent writeback's batch may free little). */
static struct vswap_slot *get_entry_room(struct vswap_store *s,
					 struct vswap_ctx *c, uint64_t slot,
					 unsigned flags, int *r)
{
	struct vswap_slot *e = get_entry(s, slot, r);

	for (int i = 0; !e && i < WB_STORE_TRIES &&
	     store_make_room(s, c, flags, r); i++)
		e = get_entry(s, slot, r);
	return e;
}

/* The entry of a page filled with @value into *w: false if it needs the
 * dictionary and that is full (the page is then compressed instead). */
static bool fill_entry(struct vswap_store *s, uint64_t value, uint64_t *w)
{
	uint32_t idx;

	if (!value) {
		*w = slot_w(SLOT_ZERO, 0, 0);
		return true;
	}
	if (!same_dict_get(&s->same, &s->pool.ms, POOL_GC_HEADROOM, value,
			   &idx))
		return false;
	*w = slot_w(SLOT_SAME, 0, idx);
	return true;
}

/*
 * Append a payload @src of @n bytes for @slot to @c's head (writing back
 * at the cap as @flags allow) and copy it there, unless it was compressed
 * there already (pool_head_room); *w gets the entry of @kind naming it.
 * The checksum is of the bytes stored: @src is never guest memory that
 * may change meanwhile (the page was copied into the context first).
 */
static int store_payload(struct vswap_store *s, struct vswap_ctx *c,
			 uint64_t slot, unsigned kind, const void *src,
			 uint32_t n, unsigned flags, uint64_t *w)
{
	uint32_t csum = s->params.checksum ? store_csum(s, src, n) : 0;
	uint64_t handle;
	void *dst;
	int r;

	r = pool_alloc(&s->pool, &c->head, (uint32_t)slot, n, csum, 0,
		       &handle, &dst);
	/* src is not in the head here: pool_alloc only fails when it
	 * needed a new segment, i.e. the head had no room for it. */
	for (int i = 0; i < WB_STORE_TRIES &&
	     store_make_room(s, c, flags, &r); i++)
		r = pool_alloc(&s->pool, &c->head, (uint32_t)slot, n, csum, 0,
			       &handle, &dst);
	if (r)
		return r;
	if (dst != src)
		memcpy(dst, src, n);
	*w = slot_w(kind, n, pool_loc(handle));
	return VSWAP_OK;
}

/*
 * Make @w the content of @slot, whose entry @e the caller reserved
 * (get_entry): the old content is dropped, the export (if any) told.
 */
static void store_publish(struct vswap_store *s, struct vswap_ctx *c,
			  struct vswap_slot *e, uint64_t slot, uint64_t w)
{
	uint64_t old = slot_lock(e);

	drop_entry(s, &c->shard, old);
	slot_unlock(e, w);
	/* An overwrite: the entry was counted already, not the reservation. */
	if (slot_kind(old) != SLOT_EMPTY)
		table_unref(s, slot);
	stats_account(&c->shard, w, s->pool.hdr, +1);
	dirty_mark(s->export, slot);
}

/*
 * For VSWAP_NOWAIT callers: whether entry @e (NULL: none) is locked now (its
 * holder may be a load reading the disk tier, for as long as the disk
 * takes) or names a disk extent (dropping it may punch a hole in the
 * file). Either may block: the caller goes to a thread that may.
 */
static bool entry_busy_or_on_disk(struct vswap_slot *e)
{
	uint64_t w = e ? __atomic_load_n(&e->w, __ATOMIC_ACQUIRE) : 0;

	return (w & SLOT_LOCK) || slot_on_disk(slot_kind(w));
}

/*
 * The context for a store or load of @slot with @flags; NULL (the call
 * answers WOULDBLOCK) when VSWAP_NOWAIT finds every context held or the
 * slot busy or on disk.
 */
static struct vswap_ctx *ctx_for_slot(struct vswap_store *s, uint64_t slot,
				      unsigned flags)
{
	struct vswap_ctx *c = ctx_get_flags(s, flags);

	if (c && (flags & VSWAP_NOWAIT) &&
	    entry_busy_or_on_disk(slot_table_lookup(&s->st, slot))) {
		ctx_put(c);
		return NULL;
	}
	return c;
}

int vswap_store_page_flags(struct vswap_store *s, uint64_t slot,
			   const void *page, unsigned flags)
{
	struct vswap_ctx *c;
	struct vswap_slot *e;
	uint64_t w = 0;
	uint64_t val;
	int r = check_slot(s, slot, page);

	if (r)
		return r;
	if (flags & ~VSWAP_NOWAIT)
		return VSWAP_E_INVAL;
	c = ctx_for_slot(s, slot, flags);
	if (!c)
		return VSWAP_E_WOULDBLOCK;
	/* At the cap with a disk tier: write the oldest data back, retry. */
	e = get_entry_room(s, c, slot, flags, &r);
	if (!e)
		goto fail;
	/* Not same-filled, or the dictionary is full (a tiny object then). */
	if (!page_same_filled(page, &val) || !fill_entry(s, val, &w)) {
		/* Compress straight into the head when it has room for the
		 * worst case (all but the last few KiB of a segment). */
		unsigned char *out = pool_head_room(&s->pool, &c->head,
						    VSWAP_CODEC_SCRATCH);
		const void *src;
		unsigned kind = SLOT_COMP;
		int n;

		if (!out)
			out = c->scratch;
		/*
		 * The codec, the checksum and a raw object all read one
		 * copy: @page may be guest memory that changes under us. A
		 * block compressed from changing bytes may not decode (every
		 * load of the slot, and a migration to a store with another
		 * codec, would fail), and a checksum of other bytes than
		 * those stored fails every load (t_source_changes). The
		 * same-filled check above reads @page itself: whatever it
		 * answers represents the page as it was at some moment.
		 */
		memcpy(c->page, page, VSWAP_PAGE_SIZE);
		/*
		 * Full capacity (>= the codecs' worst-case bound), not
		 * max_compressed: LZ4's limited-output mode checks every
		 * sequence and is measurably slower on the common,
		 * compressible page; the size test is ours, below.
		 */
		n = s->codec->compress(c->codec, c->page, out,
				       VSWAP_CODEC_SCRATCH);
		src = out;
		/* Doesn't fit, or a codec failure: the raw page is always a
		 * correct representation. */
		if (n <= 0 || (uint32_t)n > s->params.max_compressed) {
			src = c->page;
			n = VSWAP_PAGE_SIZE;
			kind = SLOT_RAW;
		}
		r = store_payload(s, c, slot, kind, src, (uint32_t)n, flags,
				  &w);
		if (r)
			goto fail;
	}

	store_publish(s, c, e, slot, w);
	SHARD_ADD(&c->shard, stores, 1);
	ctx_put(c);
	return VSWAP_OK;

fail:
	if (e)
		table_unref(s, slot);
	/* A WOULDBLOCK store is not a store yet: its retry is counted. */
	if (r != VSWAP_E_WOULDBLOCK)
		SHARD_ADD(&c->shard, stores, 1);
	if (r == VSWAP_E_NOSPACE)
		SHARD_ADD(&c->shard, store_nospace, 1);
	else if (r != VSWAP_E_WOULDBLOCK)
		SHARD_ADD(&c->shard, store_nomem, 1);
	ctx_put(c);
	return r;
}

int vswap_store_page(struct vswap_store *s, uint64_t slot, const void *page)
{
	return vswap_store_page_flags(s, slot, page, 0);
}

/* Histogram bucket of a duration: floor(log2(ns)), clamped. */
static unsigned lat_bucket(uint64_t ns)
{
	unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;

	return b < VSWAP_LAT_BUCKETS ? b : VSWAP_LAT_BUCKETS - 1;
}

/*
 * Verify and decode a payload @src of @len bytes, checksum @csum from its
 * header, of an entry of @kind into @page. @verify: @csum is real (a pool
 * object of a checksum store, or any object read from disk).
 */
static int decode_payload(struct vswap_store *s, struct vswap_ctx *c,
			  unsigned kind, const void *src, uint32_t len,
			  uint32_t csum, bool verify, void *page)
{
	if (verify && store_csum(s, src, len) != csum)
		return VSWAP_E_INTEGRITY;
	if (kind == SLOT_RAW || kind == SLOT_DISK_RAW) {
		if (len != VSWAP_PAGE_SIZE)
			return VSWAP_E_INTEGRITY;
		memcpy(page, src, VSWAP_PAGE_SIZE);
		return VSWAP_OK;
	}
	if (s->codec->decompress(c->codec, src, len, page))
		return VSWAP_E_INTEGRITY;
	return VSWAP_OK;
}

/*
 * A slot on disk: one pread of its object (8-byte header + payload, tier.h,
 * in every store) into the context's scratch. The header must name this
 * slot and carry the payload's checksum under this store's seed (store.h:
 * another store's object for the same slot does not verify), whatever the
 * store's checksum setting: a misdirected or zeroed read, or bytes that changed in the file,
 * are INTEGRITY, never data. A dead object's header carries its length as
 * its tag; no entry points at one.
 */
static int decode_disk(struct vswap_store *s, struct vswap_ctx *c,
		       uint32_t slot, uint64_t w, void *page)
{
	uint32_t len = slot_len(w);

	if (!obj_len_sane(len) || !tier_attached(&s->tier))
		return VSWAP_E_INTEGRITY;
	if (tier_read(&s->tier, slot_disk_off(w), c->scratch,
		      tier_obj_size(len)))
		return VSWAP_E_IO;
	if (obj_field(c->scratch, 0) != obj_slot_code(slot))
		return VSWAP_E_INTEGRITY;
	return decode_payload(s, c, slot_kind(w), c->scratch + TIER_OBJ_HDR,
			      len, obj_field(c->scratch, 1), true, page);
}

/* Decode entry @w of @slot (locked) into @page. */
static int decode(struct vswap_store *s, struct vswap_ctx *c, uint32_t slot,
		  uint64_t w, void *page)
{
	uint32_t len = slot_len(w), csum;
	const void *src;
	uint64_t val;

	switch (slot_kind(w)) {
	case SLOT_EMPTY:
		memset(page, 0, VSWAP_PAGE_SIZE);
		SHARD_ADD(&c->shard, loads_empty, 1);
		return VSWAP_OK;
	case SLOT_ZERO:
		memset(page, 0, VSWAP_PAGE_SIZE);
		return VSWAP_OK;
	case SLOT_SAME:
		if (!same_dict_value(&s->same, slot_loc(w), &val))
			return VSWAP_E_INTEGRITY;
		fill_page(page, val);
		return VSWAP_OK;
	case SLOT_COMP:
	case SLOT_RAW:
		src = pool_lookup(&s->pool, pool_loc_handle(slot_loc(w)), slot,
				  len, &csum);
		if (!src)
			return VSWAP_E_INTEGRITY;
		return decode_payload(s, c, slot_kind(w), src, len, csum,
				      s->params.checksum, page);
	case SLOT_DISK_COMP:
	case SLOT_DISK_RAW:
		return decode_disk(s, c, slot, w, page);
	default:
		return VSWAP_E_INTEGRITY;	/* unknown kind: never guess */
	}
}

int vswap_load_page_flags(struct vswap_store *s, uint64_t slot, void *page,
			  unsigned flags)
{
	struct vswap_ctx *c;
	struct vswap_slot *e;
	uint64_t t0, w = SLOT_EMPTY;
	unsigned bucket;
	int r = check_slot(s, slot, page);

	if (r)
		return r;
	if (flags & ~VSWAP_NOWAIT)
		return VSWAP_E_INVAL;
	t0 = mono_ns();
	c = ctx_for_slot(s, slot, flags);
	if (!c)
		return VSWAP_E_WOULDBLOCK;	/* not a load yet */
	e = slot_table_lookup(&s->st, slot);
	if (!e || slot_peek_empty(e)) {
		memset(page, 0, VSWAP_PAGE_SIZE);
		SHARD_ADD(&c->shard, loads_empty, 1);
	} else {
		/* Held across a disk read too: nobody may free (and reuse)
		 * the extent underneath; only this slot waits. */
		w = slot_lock_used(e);
		if ((flags & VSWAP_NOWAIT) && slot_on_disk(slot_kind(w))) {
			/* Not a load yet: its retry is counted. */
			slot_unlock(e, w);
			ctx_put(c);
			return VSWAP_E_WOULDBLOCK;
		}
		r = decode(s, c, (uint32_t)slot, w, page);
		if (w != SLOT_EMPTY)
			slot_unlock(e, w);
		if (r == VSWAP_E_INTEGRITY)
			SHARD_ADD(&c->shard, integrity_errors, 1);
		if (r == VSWAP_E_IO) {
			SHARD_ADD(&c->shard, disk_read_errors, 1);
			tier_event(&s->tier, VSWAP_EVENT_READ_ERROR);
		}
	}
	bucket = lat_bucket(mono_ns() - t0);	/* SHARD_ADD expands it twice */
	SHARD_ADD(&c->shard, loads, 1);
	SHARD_ADD(&c->shard, load_latency[bucket], 1);
	if (slot_on_disk(slot_kind(w))) {
		SHARD_ADD(&c->shard, loads_from_disk, 1);
		SHARD_ADD(&c->shard, disk_load_latency[bucket], 1);
	}
	ctx_put(c);
	return r;
}

int vswap_load_page(struct vswap_store *s, uint64_t slot, void *page)
{
	return vswap_load_page_flags(s, slot, page, 0);
}

int vswap_invalidate(struct vswap_store *s, uint64_t first, uint64_t count)
{
	return vswap_invalidate_flags(s, first, count, 0);
}

int vswap_invalidate_flags(struct vswap_store *s, uint64_t first,
			   uint64_t count, unsigned flags)
{
	struct vswap_ctx *c;
	uint64_t slot, end;
	int r = VSWAP_OK;

	if (!s || (flags & ~VSWAP_NOWAIT))
		return VSWAP_E_INVAL;
	if (first >= s->params.capacity || count > s->params.capacity - first)
		return count == 0 ? VSWAP_OK : VSWAP_E_RANGE;
	if (count == 0)
		return VSWAP_OK;
	end = first + count;
	c = ctx_get_flags(s, flags);
	if (!c)
		return VSWAP_E_WOULDBLOCK;
	/*
	 * Chunk by chunk: only RESIDENT chunks have entries worth reading
	 * (slot_table_resident_chunk), so a full-range invalidate of a huge,
	 * sparse store costs O(mapped mid tables + RESIDENT chunks), not
	 * O(capacity) nor O(chunks ever mapped).
	 */
	for (slot = first; slot < end && !r;) {
		uint64_t next, stop;
		struct vswap_slot *chunk;

		/* The announced reset drops the rest (vswap_reset_begin). */
		if (store_reset_pending(s))
			break;
		chunk = slot_table_resident_chunk(&s->st, slot, &next);

		stop = next < end ? next : end;
		if (!chunk) {
			slot = stop;
			continue;
		}
		__atomic_fetch_add(&s->st.walked, 1, __ATOMIC_RELAXED);
		for (; slot < stop; slot++) {
			struct vswap_slot *e =
				&chunk[slot & (SLOT_CHUNK_ENTRIES - 1)];
			uint64_t w;

			if (slot_peek_empty(e))
				continue;
			/* NOWAIT: a slot a disk load holds, or a disk extent
			 * (dropping it may punch the file), is for a thread
			 * that may block; what went before stays dropped. */
			if ((flags & VSWAP_NOWAIT) && entry_busy_or_on_disk(e)) {
				r = VSWAP_E_WOULDBLOCK;
				break;
			}
			w = slot_lock_used(e);
			if (w == SLOT_EMPTY)
				continue;
			if ((flags & VSWAP_NOWAIT) &&
			    slot_on_disk(slot_kind(w))) {	/* written back */
				slot_unlock(e, w);
				r = VSWAP_E_WOULDBLOCK;
				break;
			}
			drop_entry(s, &c->shard, w);
			SHARD_ADD(&c->shard, invalidated_pages, 1);
			slot_unlock(e, SLOT_EMPTY);
			table_unref(s, slot);	/* may release the chunk */
			dirty_mark(s->export, slot);
		}
	}
	if (!r)		/* a WOULDBLOCK one is counted at its retry */
		SHARD_ADD(&c->shard, invalidates, 1);
	ctx_put(c);
	return r;
}

struct drop_all_arg {
	struct vswap_store *s;
	struct vswap_shard *shard;
	bool forget_disk;
};

static void drop_all_fn(void *arg, uint64_t slot, struct vswap_slot *e)
{
	struct drop_all_arg *a = arg;
	uint64_t w = __atomic_load_n(&e->w, __ATOMIC_RELAXED);

	(void)slot;
	if (a->forget_disk && slot_on_disk(slot_kind(w)))
		stats_account(a->shard, w, a->s->pool.hdr, -1);
	else if (slot_kind(w) != SLOT_EMPTY)
		drop_entry(a->s, a->shard, w);
	__atomic_store_n(&e->w, SLOT_EMPTY, __ATOMIC_RELAXED);
}

/*
 * Drop every slot and give all pool memory back. Store quiesced.
 * @forget_disk: entries on disk are only uncounted, not freed on their
 * chunks (tier_free may punch an emptied chunk: file I/O); the caller
 * then forgets every chunk (tier_reset).
 */
static void drop_all(struct vswap_store *s, bool forget_disk)
{
	struct drop_all_arg a = { s, &s->ctx[0]->shard, forget_disk };
	uint64_t before;

	slot_table_for_each(&s->st, drop_all_fn, &a);
	for (unsigned i = 0; i < s->nctx; i++)
		pool_seal(&s->pool, &s->ctx[i]->head);
	pool_seal_gc_head(&s->pool);
	before = s->st.bytes;
	slot_table_clear(&s->st);
	memsource_uncharge(&s->pool.ms, before - s->st.bytes);
	memsource_uncharge(&s->pool.ms, same_dict_clear(&s->same));
	__atomic_store_n(&s->pool.gc_active, false, __ATOMIC_RELAXED);
	__atomic_store_n(&s->pool.gc_idle_until, 0, __ATOMIC_RELAXED);
}

/*
 * A new store id and object seed (store.h), drawn while quiesced: every
 * object written before (stale bytes left in the disk file until
 * vswap_tier_release, if something ever pointed at them again) fails
 * its checksum. Without entropy, a step of splitmix64: still a different
 * seed, which is all a reset needs (the binding to this store holds).
 */
static void redraw_id(struct vswap_store *s)
{
	uint64_t id;

	if (entropy_get(&id, sizeof(id)) || id == s->id) {
		id = s->id + UINT64_C(0x9E3779B97F4A7C15);
		id = (id ^ (id >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
		id = (id ^ (id >> 27)) * UINT64_C(0x94D049BB133111EB);
		id ^= id >> 31;
	}
	s->id = id;
	s->obj_seed = (uint32_t)id ^ (uint32_t)(id >> 32);
}

void vswap_reset_begin(struct vswap_store *s)
{
	if (s)
		__atomic_store_n(&s->reset_pending, 1, __ATOMIC_RELAXED);
}

/*
 * No file I/O here (the caller may be a vCPU thread holding QEMU's big
 * lock): disk entries are forgotten with their chunks; the file's space
 * comes back with vswap_tier_release() from a worker.
 */
void vswap_reset(struct vswap_store *s)
{
	if (!s)
		return;
	ctx_quiesce(s);
	drop_all(s, true);
	tier_reset(&s->tier);	/* every chunk free; stale bytes stay */
	redraw_id(s);		/* ... and can never verify */
	if (s->export)		/* the destination resets too */
		dirty_clear_all(s->export);
	s->reset_gen++;
	__atomic_store_n(&s->reset_pending, 0, __ATOMIC_RELAXED);
	VSWAP_ASSERT(vswap_store_check_locked(s) == VSWAP_OK);
	ctx_unquiesce(s);
}

void vswap_store_destroy(struct vswap_store *s)
{
	if (!s)
		return;
	vswap_export_stop(s->export);	/* the caller's job; be safe */
	ctx_quiesce(s);
	drop_all(s, false);	/* emptied chunks punched, as before */
	ctx_unquiesce(s);
	for (unsigned i = 0; i < s->nctx; i++)
		ctx_destroy(s, s->ctx[i]);
	if (s->has_key)
		pthread_key_delete(s->ctx_key);
	pthread_mutex_destroy(&s->ctx_lock);
	wb_fini(&s->wb);
	same_dict_fini(&s->same);
	tier_fini(&s->tier);	/* the fd is the caller's: not closed */
	pool_fini(&s->pool);
	slot_table_fini(&s->st);
	free(s);
}

int vswap_set_pool_max(struct vswap_store *s, uint64_t pool_max)
{
	if (!s)
		return VSWAP_E_INVAL;
	pool_set_max(&s->pool, pool_max);
	return VSWAP_OK;
}

static bool compact_should_stop(void *store)
{
	return store_stopping(store);
}

/*
 * Seal every open head not in use now (@own is ours; a context another
 * thread holds is being appended to and keeps its head), and the GC head:
 * an emptied head segment goes back, a sparse one becomes a compaction
 * candidate. Without it, an emptied store would hold a segment per context
 * (and, in their huge regions, the kept segments around them). trylock
 * only: we hold @own, and ctx_quiesce takes contexts in index order.
 */
static void seal_idle_heads(struct vswap_store *s, struct vswap_ctx *own)
{
	unsigned n = __atomic_load_n(&s->nctx, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n; i++) {
		struct vswap_ctx *c = __atomic_load_n(&s->ctx[i],
						      __ATOMIC_ACQUIRE);

		if (c == own) {
			pool_seal(&s->pool, &c->head);
		} else if (!pthread_mutex_trylock(&c->lock)) {
			pool_seal(&s->pool, &c->head);
			pthread_mutex_unlock(&c->lock);
		}
	}
	pool_seal_gc_head(&s->pool);
}

/* vswap_compact (@release_kept) and vswap_trim. */
static int64_t compact(struct vswap_store *s, bool release_kept)
{
	struct vswap_ctx *c;
	uint64_t before, after;

	if (!s)
		return VSWAP_E_INVAL;
	c = ctx_get(s);
	before = memsource_held_bytes(&s->pool.ms);
	if (!store_stopping(s))
		seal_idle_heads(s, c);
	pool_compact_all(&s->pool, compact_should_stop, s, release_kept);
	after = memsource_held_bytes(&s->pool.ms);
	ctx_put(c);
	VSWAP_ASSERT(vswap_store_check(s) == VSWAP_OK);
	return after < before ? (int64_t)(before - after) : 0;
}

int64_t vswap_compact(struct vswap_store *s)
{
	return compact(s, true);
}

int64_t vswap_trim(struct vswap_store *s)
{
	return compact(s, false);
}


/*
 * The import (stream.c) of a ready pool object: a payload compressed by
 * this store's codec (@raw false) or a raw page, already verified by the
 * caller. Like a store without NOWAIT, it writes back at the cap.
 */
int store_put_object(struct vswap_store *s, uint64_t slot, bool raw,
		     const void *payload, uint32_t len)
{
	struct vswap_ctx *c = ctx_get(s);
	uint64_t w;
	int r;
	struct vswap_slot *e = get_entry_room(s, c, slot, 0, &r);

	if (e) {
		r = store_payload(s, c, slot, raw ? SLOT_RAW : SLOT_COMP,
				  payload, len, 0, &w);
		if (r)
			table_unref(s, slot);
		else
			store_publish(s, c, e, slot, w);
	}
	ctx_put(c);
	return r;
}

/*
 * The import (stream.c) of a same-filled page, zero included, without
 * building the page and scanning it again. A value the full dictionary
 * cannot take is stored as a page (in @scratch, the caller's), which
 * compresses it into a tiny object, as a store would.
 */
int store_put_fill(struct vswap_store *s, uint64_t slot, uint64_t value,
		   void *scratch)
{
	struct vswap_ctx *c = ctx_get(s);
	int r;
	struct vswap_slot *e = get_entry_room(s, c, slot, 0, &r);
	uint64_t w;
	bool done = true;

	if (e && fill_entry(s, value, &w)) {
		store_publish(s, c, e, slot, w);
		r = VSWAP_OK;
	} else if (e) {
		table_unref(s, slot);
		done = false;
	}
	ctx_put(c);
	if (done)
		return r;
	fill_page(scratch, value);
	return vswap_store_page(s, slot, scratch);
}

/*
 * What @slot holds, for the export (stream.c), holding context @c. On OK
 * with v->e set, the slot stays locked (its object cannot move or go)
 * until store_view_end(); a payload is in the pool or, read from the
 * disk tier, in @c's scratch, checked against its checksum when it has
 * one (always on disk, in the pool with params.checksum).
 * Errors: INTEGRITY, IO (the slot is unlocked then).
 */
int store_view(struct vswap_store *s, struct vswap_ctx *c, uint64_t slot,
	       struct slot_view *v)
{
	struct vswap_slot *e = slot_table_lookup(&s->st, slot);
	uint64_t w;
	uint32_t len, csum;
	int r = VSWAP_OK;

	memset(v, 0, sizeof(*v));
	if (!e || slot_peek_empty(e))
		return VSWAP_OK;		/* SLOT_EMPTY */
	w = slot_lock_used(e);
	if (w == SLOT_EMPTY)
		return VSWAP_OK;
	len = slot_len(w);
	v->kind = slot_kind(w);
	switch (v->kind) {
	case SLOT_ZERO:
		break;
	case SLOT_SAME:
		if (!same_dict_value(&s->same, slot_loc(w), &v->value))
			r = VSWAP_E_INTEGRITY;
		break;
	case SLOT_COMP:
	case SLOT_RAW:
		v->payload = pool_lookup(&s->pool, pool_loc_handle(slot_loc(w)),
					 (uint32_t)slot, len, &csum);
		if (!v->payload ||
		    (s->params.checksum && store_csum(s, v->payload, len) != csum))
			r = VSWAP_E_INTEGRITY;
		break;
	case SLOT_DISK_COMP:
	case SLOT_DISK_RAW:
		if (!obj_len_sane(len) || !tier_attached(&s->tier)) {
			r = VSWAP_E_INTEGRITY;
			break;
		}
		if (tier_read(&s->tier, slot_disk_off(w), c->scratch,
			      tier_obj_size(len))) {
			r = VSWAP_E_IO;
			break;
		}
		v->payload = c->scratch + TIER_OBJ_HDR;
		if (obj_field(c->scratch, 0) != obj_slot_code((uint32_t)slot) ||
		    store_csum(s, v->payload, len) != obj_field(c->scratch, 1))
			r = VSWAP_E_INTEGRITY;
		v->kind = v->kind == SLOT_DISK_RAW ? SLOT_RAW : SLOT_COMP;
		break;
	default:
		r = VSWAP_E_INTEGRITY;
	}
	if ((v->kind == SLOT_RAW && len != VSWAP_PAGE_SIZE) ||
	    (v->kind == SLOT_COMP && !obj_len_sane(len)))
		r = VSWAP_E_INTEGRITY;
	if (r) {
		slot_unlock(e, w);
		memset(v, 0, sizeof(*v));
		return r;
	}
	v->len = len;
	v->e = e;
	v->w = w;
	return VSWAP_OK;
}

void store_view_end(struct slot_view *v)
{
	if (v->e)
		slot_unlock(v->e, v->w);
}
