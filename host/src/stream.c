// SPDX-License-Identifier: MIT
/*
 * stream.c - the migration stream: dirty log, export, import (stream.h has
 * the invariants, vswap.h the record format).
 *
 * Export order: every call walks the dirty bitmap from where the last one
 * stopped (a cursor that wraps), so a slot that keeps changing cannot
 * starve the others. A record is the slot's content when the export read
 * it, under its slot lock: the payload is hashed and copied out
 * (vswap_crc32c_copy) while nobody can free or move it.
 *
 * Import: each record is checked whole (bounds, kind, codec, length,
 * checksum) before it changes anything; a payload compressed with this
 * store's codec is installed as is, one with another codec is decoded
 * (with a decoder of that codec made for this call) and stored again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "store.h"

static inline uint64_t get_le(const unsigned char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void put_le(unsigned char *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- dirty log ---- */

static uint64_t *dirty_block(struct vswap_export *x, uint64_t b, bool alloc)
{
	uint64_t *blk = __atomic_load_n(&x->block[b], __ATOMIC_ACQUIRE);
	uint64_t *fresh, *expected = NULL;

	if (blk || !alloc)
		return blk;
	fresh = calloc(DIRTY_BLOCK_WORDS, sizeof(uint64_t));
	if (!fresh)
		return NULL;
	if (__atomic_compare_exchange_n(&x->block[b], &expected, fresh, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return fresh;
	free(fresh);
	return expected;
}

void dirty_set(struct vswap_export *x, uint64_t slot)
{
	uint64_t *blk = dirty_block(x, slot >> DIRTY_BLOCK_SHIFT, true);
	uint64_t bit, *word;

	if (!blk) {
		__atomic_store_n(&x->overflow, true, __ATOMIC_RELEASE);
		return;
	}
	word = &blk[(slot & (DIRTY_BLOCK_SLOTS - 1)) / 64];
	bit = UINT64_C(1) << (slot % 64);
	if (__atomic_load_n(word, __ATOMIC_RELAXED) & bit)
		return;
	if (!(__atomic_fetch_or(word, bit, __ATOMIC_ACQ_REL) & bit))
		__atomic_fetch_add(&x->count, 1, __ATOMIC_RELAXED);
}

void dirty_clear_all(struct vswap_export *x)
{
	for (uint64_t b = 0; b < x->nblocks; b++)
		if (x->block[b])
			memset(x->block[b], 0,
			       DIRTY_BLOCK_WORDS * sizeof(uint64_t));
	x->count = 0;
	x->overflow = false;
}

/* Mark every slot that holds something (start, or after an overflow);
 * the caller holds a context. */
static void dirty_mark_used(struct vswap_export *x)
{
	struct vswap_store *s = x->s;

	for (uint64_t slot = 0; slot < s->params.capacity;) {
		uint64_t next, stop;
		struct vswap_slot *chunk =
			slot_table_resident_chunk(&s->st, slot, &next);

		stop = next < s->params.capacity ? next : s->params.capacity;
		for (; chunk && slot < stop; slot++)
			if (!slot_peek_empty(&chunk[slot &
						    (SLOT_CHUNK_ENTRIES - 1)]))
				dirty_set(x, slot);
		slot = stop;
	}
}

static void export_free(struct vswap_export *x)
{
	for (uint64_t b = 0; b < x->nblocks; b++)
		free(x->block[b]);
	free(x->block);
	free(x);
}

int vswap_export_start(struct vswap_store *s, struct vswap_export **out)
{
	struct vswap_export *x;
	struct vswap_ctx *c;

	if (!s || !out)
		return VSWAP_E_INVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return VSWAP_E_NOMEM;
	x->s = s;
	x->nblocks = (s->params.capacity + DIRTY_BLOCK_SLOTS - 1) >>
		     DIRTY_BLOCK_SHIFT;
	x->block = calloc(x->nblocks, sizeof(*x->block));
	if (!x->block) {
		free(x);
		return VSWAP_E_NOMEM;
	}
	ctx_quiesce(s);
	if (s->export) {
		ctx_unquiesce(s);
		export_free(x);
		return VSWAP_E_BUSY;
	}
	s->export = x;
	x->reset_gen = s->reset_gen;
	ctx_unquiesce(s);
	/* Traffic goes on: a change from here on marks its slot itself. A
	 * context held keeps a reset (which clears the bits) out. */
	c = ctx_get(s);
	dirty_mark_used(x);
	ctx_put(c);
	*out = x;
	return VSWAP_OK;
}

void vswap_export_stop(struct vswap_export *x)
{
	struct vswap_store *s;

	if (!x)
		return;
	s = x->s;
	ctx_quiesce(s);
	if (s->export == x)
		s->export = NULL;
	ctx_unquiesce(s);
	export_free(x);
}

/* Record bytes of a slot of each kind, for the pending estimate. */
void vswap_export_pending(struct vswap_export *x, uint64_t *slots,
			  uint64_t *bytes)
{
	struct vswap_stats *st;
	uint64_t n, objs;

	/* count may dip below 0 for a moment (a marker's bit is seen
	 * before its increment): read it signed, clamp. */
	int64_t count = x ? (int64_t)__atomic_load_n(&x->count,
						     __ATOMIC_RELAXED) : 0;

	n = count > 0 ? (uint64_t)count : 0;
	if (x && __atomic_load_n(&x->overflow, __ATOMIC_ACQUIRE))
		n = x->s->params.capacity;	/* unknown: say "a lot" */
	if (slots)
		*slots = n;
	if (!bytes)
		return;
	*bytes = n * (VSWAP_REC_HDR + VSWAP_REC_CRC);
	st = n ? malloc(sizeof(*st)) : NULL;
	if (!st)
		return;
	/* The store's mix of kinds and object sizes, as a guess for the
	 * pending slots: headers and checksums, plus payload per object. */
	vswap_get_stats(x->s, st);
	objs = st->compressed_pages + st->incompressible_pages +
	       st->disk_pages;
	if (st->stored_pages && objs)
		*bytes += (uint64_t)((double)n * (double)objs /
				     (double)st->stored_pages *
				     ((double)(st->compressed_bytes +
					       st->disk_bytes) /
				      (double)objs));
	free(st);
}

static unsigned rec_kind(unsigned slot_kind)
{
	switch (slot_kind) {
	case SLOT_ZERO:
		return VSWAP_REC_ZERO;
	case SLOT_SAME:
		return VSWAP_REC_SAME;
	case SLOT_COMP:
		return VSWAP_REC_COMP;
	case SLOT_RAW:
		return VSWAP_REC_RAW;
	default:
		return VSWAP_REC_EMPTY;
	}
}

/*
 * Finish the record whose header is at @out: its body (a fill @value, or
 * @len bytes of @payload copied, or nothing) and the CRC of header and
 * body. Returns the record's size.
 */
static size_t rec_seal(unsigned char *out, const uint64_t *value,
		       const void *payload, uint32_t len)
{
	unsigned char *body = out + VSWAP_REC_HDR + VSWAP_REC_CRC;
	uint32_t h = vswap_crc32c(0, out, VSWAP_REC_HDR);

	if (value) {
		put_le(body, *value, 8);
		len = 8;
		h = vswap_crc32c(h, body, len);
	} else if (payload) {
		h = vswap_crc32c_copy(h, body, payload, len);
	}
	put_le(out + VSWAP_REC_HDR, h, VSWAP_REC_CRC);
	return VSWAP_REC_HDR + VSWAP_REC_CRC + len;
}

/* Write the record of @slot at @out (room for VSWAP_REC_MAX); its size. */
static int export_slot(struct vswap_export *x, struct vswap_ctx *c,
		       uint64_t slot, unsigned char *out, size_t *size)
{
	struct vswap_store *s = x->s;
	struct slot_view v;
	unsigned kind;
	int r = store_view(s, c, slot, &v);

	if (r)
		return r;
	kind = rec_kind(v.kind);
	put_le(out, slot, 4);
	out[4] = (unsigned char)kind;
	out[5] = kind == VSWAP_REC_COMP ? (unsigned char)s->params.codec : 0;
	put_le(out + 6, kind >= VSWAP_REC_COMP ? v.len : 0, 2);
	*size = rec_seal(out, kind == VSWAP_REC_SAME ? &v.value : NULL,
			 kind >= VSWAP_REC_COMP ? v.payload : NULL,
			 kind >= VSWAP_REC_COMP ? v.len : 0);
	store_view_end(&v);
	x->records++;
	return VSWAP_OK;
}

int64_t vswap_export_next(struct vswap_export *x, void *buf, size_t cap)
{
	struct vswap_store *s;
	struct vswap_ctx *c;
	unsigned char *out = buf;
	size_t used = 0;
	uint64_t words, visited = 0;
	int r = VSWAP_OK;

	if (!x || !buf || cap < VSWAP_REC_MAX)
		return VSWAP_E_INVAL;
	s = x->s;
	/* Held throughout: a reset waits for this call (it is bounded by
	 * @cap), so the records and the RESET are in order. */
	c = ctx_get(s);
	/* The log lost track (no memory for a bitmap block): every used
	 * slot is pending again. Still no memory: say so, never "nothing
	 * pending" with slots unaccounted for. */
	if (__atomic_exchange_n(&x->overflow, false, __ATOMIC_ACQ_REL)) {
		dirty_mark_used(x);
		if (__atomic_load_n(&x->overflow, __ATOMIC_ACQUIRE)) {
			ctx_put(c);
			return VSWAP_E_NOMEM;
		}
	}
	if (x->reset_gen != s->reset_gen) {
		x->reset_gen = s->reset_gen;
		memset(out, 0, VSWAP_REC_HDR);
		out[4] = VSWAP_REC_RESET;
		used = rec_seal(out, NULL, NULL, 0);
	}
	words = x->nblocks * DIRTY_BLOCK_WORDS;
	while (visited < words && __atomic_load_n(&x->count, __ATOMIC_RELAXED)) {
		uint64_t wi = x->cursor / 64 % words;
		uint64_t b = wi / DIRTY_BLOCK_WORDS;
		uint64_t *blk = dirty_block(x, b, false);
		uint64_t bits, *word;

		if (!blk) {	/* skip the whole block */
			visited += DIRTY_BLOCK_WORDS - wi % DIRTY_BLOCK_WORDS;
			x->cursor = (b + 1) % x->nblocks * DIRTY_BLOCK_SLOTS;
			x->passes += !x->cursor;
			continue;
		}
		word = &blk[wi % DIRTY_BLOCK_WORDS];
		visited++;
		x->cursor = (wi + 1) % words * 64;
		x->passes += !x->cursor;
		if (!__atomic_load_n(word, __ATOMIC_RELAXED))
			continue;
		bits = __atomic_exchange_n(word, 0, __ATOMIC_ACQ_REL);
		__atomic_fetch_sub(&x->count, (uint64_t)__builtin_popcountll(bits),
				   __ATOMIC_RELAXED);
		while (bits) {
			unsigned i = (unsigned)__builtin_ctzll(bits);
			uint64_t slot = wi * 64 + i;
			size_t size;

			if (cap - used < VSWAP_REC_MAX)
				break;
			r = export_slot(x, c, slot, out + used, &size);
			if (r)
				break;
			used += size;
			bits &= bits - 1;
		}
		if (bits) {	/* out of room, or a slot failed: still pending */
			uint64_t back = __atomic_fetch_or(word, bits,
							  __ATOMIC_ACQ_REL);

			__atomic_fetch_add(&x->count, (uint64_t)
					   __builtin_popcountll(bits & ~back),
					   __ATOMIC_RELAXED);
			x->cursor = wi * 64 + (unsigned)__builtin_ctzll(bits);
			break;
		}
	}
	if (!r && !__atomic_load_n(&x->count, __ATOMIC_RELAXED))
		x->passes++;	/* nothing left: as good as a whole walk */
	if (!r && !used && __atomic_load_n(&x->overflow, __ATOMIC_ACQUIRE))
		r = VSWAP_E_NOMEM;	/* lost track meanwhile: not "done" */
	ctx_put(c);
	/* A slot that failed stays pending (its bit is back) and fails the
	 * next call first; what was built before it goes out now. */
	if (r && !used)
		return r;
	return (int64_t)used;
}

uint64_t vswap_export_passes(const struct vswap_export *x)
{
	return x ? x->passes : 0;
}

/* ---- import ---- */

struct import {
	struct vswap_store *s;
	const struct vswap_codec_ops *ops;	/* decoder of a foreign codec */
	void *dec;
	enum vswap_codec dec_codec;
	unsigned char page[VSWAP_PAGE_SIZE] __attribute__((aligned(64)));
};

/* A page compressed with @codec, not this store's: decode, store again. */
static int import_foreign(struct import *im, uint64_t slot,
			  enum vswap_codec codec, const void *src,
			  uint32_t len, const char **what)
{
	if (!im->dec || im->dec_codec != codec) {
		if (im->dec)
			im->ops->ctx_destroy(im->dec);
		im->ops = vswap_codec_ops(codec);
		im->dec = im->ops->ctx_create(im->ops->level_default);
		im->dec_codec = codec;
		if (!im->dec) {
			*what = "no memory for a decoder";
			return VSWAP_E_NOMEM;
		}
	}
	if (im->ops->decompress(im->dec, src, len, im->page)) {
		*what = "the page does not decompress";
		return VSWAP_E_INVAL;
	}
	return vswap_store_page(im->s, slot, im->page);
}

/* One record at @p (@avail bytes); its size in *size. */
static int import_one(struct import *im, const unsigned char *p,
		      size_t avail, size_t *size, uint64_t *slot,
		      const char **what)
{
	struct vswap_store *s = im->s;
	unsigned kind, codec, len;
	const unsigned char *body = p + VSWAP_REC_HDR + VSWAP_REC_CRC;
	size_t body_len;

	*what = "truncated record";
	if (avail < VSWAP_REC_HDR + VSWAP_REC_CRC)
		return VSWAP_E_INVAL;
	*slot = get_le(p, 4);
	kind = p[4];
	codec = p[5];
	len = (unsigned)get_le(p + 6, 2);
	*size = VSWAP_REC_HDR + VSWAP_REC_CRC;
	*what = "bad header";
	if (kind > VSWAP_REC_RESET)
		return VSWAP_E_INVAL;
	if ((kind != VSWAP_REC_COMP && codec) ||
	    (kind < VSWAP_REC_COMP && len) || (kind == VSWAP_REC_RESET &&
					       (*slot || len)))
		return VSWAP_E_INVAL;
	*what = "bad length";
	if (kind >= VSWAP_REC_COMP && kind != VSWAP_REC_RESET &&
	    (!obj_len_sane(len) ||
	     (kind == VSWAP_REC_RAW && len != VSWAP_PAGE_SIZE)))
		return VSWAP_E_INVAL;
	/* A page "compressed" with no codec can never be loaded. */
	*what = "unknown codec";
	if (kind == VSWAP_REC_COMP &&
	    (codec >= VSWAP_CODEC__COUNT || codec == VSWAP_CODEC_NONE))
		return VSWAP_E_INVAL;
	body_len = kind == VSWAP_REC_SAME ? 8 :
		   kind == VSWAP_REC_COMP || kind == VSWAP_REC_RAW ? len : 0;
	*what = "truncated record";
	if (avail - *size < body_len)
		return VSWAP_E_INVAL;
	*size += body_len;
	*what = "checksum mismatch";
	if (vswap_crc32c(vswap_crc32c(0, p, VSWAP_REC_HDR), body, body_len) !=
	    (uint32_t)get_le(p + VSWAP_REC_HDR, VSWAP_REC_CRC))
		return VSWAP_E_INVAL;
	if (kind == VSWAP_REC_RESET) {
		vswap_reset(s);
		/*
		 * The disk tier's file keeps its blocks after a reset until
		 * a release, which a device runs after its own resets only:
		 * give them back here (best effort: the next reset retries).
		 * Import already does file I/O (pages beyond pool_max).
		 */
		if (tier_attached(&s->tier))
			(void)vswap_tier_release(s);
		return VSWAP_OK;
	}
	*what = "slot beyond the capacity";
	if (*slot >= s->params.capacity)
		return VSWAP_E_RANGE;
	*what = "cannot store the page";
	switch (kind) {
	case VSWAP_REC_EMPTY:
		return vswap_invalidate(s, *slot, 1);
	case VSWAP_REC_ZERO:
		return store_put_fill(s, *slot, 0, im->page);
	case VSWAP_REC_SAME:
		return store_put_fill(s, *slot, get_le(body, 8), im->page);
	case VSWAP_REC_COMP:
		if (codec != (unsigned)s->params.codec)
			return import_foreign(im, *slot,
					      (enum vswap_codec)codec, body,
					      len, what);
		break;
	}
	return store_put_object(s, *slot, kind == VSWAP_REC_RAW, body, len);
}

int vswap_import(struct vswap_store *s, const void *buf, size_t len,
		 char *why, size_t why_len)
{
	struct import *im;
	const unsigned char *p = buf;
	size_t off = 0, size = 0;
	uint64_t slot = 0;
	const char *what = "";
	int r = VSWAP_OK;

	if (!s || (!buf && len))
		return VSWAP_E_INVAL;
	im = aligned_alloc(64, sizeof(*im));
	if (!im)
		return VSWAP_E_NOMEM;
	im->s = s;
	im->ops = NULL;
	im->dec = NULL;
	for (; off < len; off += size) {
		r = import_one(im, p + off, len - off, &size, &slot, &what);
		if (r)
			break;
	}
	if (im->dec)
		im->ops->ctx_destroy(im->dec);
	free(im);
	if (r && why && why_len)
		snprintf(why, why_len, "record at byte %zu (slot %llu): %s: %s",
			 off, (unsigned long long)slot, what,
			 vswap_strerror(r));
	return r;
}
