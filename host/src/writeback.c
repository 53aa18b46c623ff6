// SPDX-License-Identifier: MIT
/*
 * writeback.c - moving the oldest pool segments to the disk tier; the
 * public entry points of the disk tier (attach, writeback, reclaim,
 * events). The batch protocol is described in writeback.h.
 *
 * Lock order (whole library, outermost first):
 *   store->ctx_lock > ctx->lock > wb->lock > pool->compact_lock > slot lock
 *     > pool->lock > tier->lock > ms->lock
 * wb->lock is held across the write (that is its point: one writeback at a
 * time, owning the tier's head chunk); no slot lock is held across I/O
 * except by a load of a slot on disk (its own slot, for one pread).
 *
 * Invariants of a batch (wb->lock held):
 *   every object written has the 8-byte header with checksum (tier.h):
 *   the pool's own with checksums, built in the stage without;
 *   bytes claimed at the head for the batch == bytes written == sum of
 *   tier_obj_size() of the objects written (objs, and those of whole
 *   victims, dead ones included);
 *   after step 4 every claimed byte is either pointed at by exactly one
 *   slot entry or was given back with tier_free() (so a chunk's live bytes
 *   stay == the tier_obj_size() sum of the slots on it, as check.c
 *   verifies);
 *   a victim is owned (COMPACTING, off the sealed list) from take to put.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "stats.h"
#include "store.h"

int wb_init(struct vswap_wb *wb)
{
	memset(wb, 0, sizeof(*wb));
	if (pthread_mutex_init(&wb->lock, NULL))
		return VSWAP_E_NOMEM;
	if (pthread_mutex_init(&wb->gen_lock, NULL)) {
		pthread_mutex_destroy(&wb->lock);
		return VSWAP_E_NOMEM;
	}
	if (pthread_cond_init(&wb->gen_cv, NULL)) {
		pthread_mutex_destroy(&wb->gen_lock);
		pthread_mutex_destroy(&wb->lock);
		return VSWAP_E_NOMEM;
	}
	return VSWAP_OK;
}

void wb_fini(struct vswap_wb *wb)
{
	free(wb->objs);
	free(wb->iov);
	free(wb->stage);
	pthread_cond_destroy(&wb->gen_cv);
	pthread_mutex_destroy(&wb->gen_lock);
	pthread_mutex_destroy(&wb->lock);
}

/* A batch ended or wb->lock was dropped: wake the stores waiting for it. */
static void wb_progress(struct vswap_wb *wb)
{
	pthread_mutex_lock(&wb->gen_lock);
	wb->gen++;
	pthread_cond_broadcast(&wb->gen_cv);
	pthread_mutex_unlock(&wb->gen_lock);
}

static void wb_unlock(struct vswap_wb *wb)
{
	pthread_mutex_unlock(&wb->lock);
	wb_progress(wb);
}

int vswap_store_attach_disk(struct vswap_store *s, int fd, uint64_t max_bytes)
{
	struct wb_obj *objs;
	struct iovec *iov;
	unsigned char *stage = NULL;
	bool build;
	int r;

	if (!s)
		return VSWAP_E_INVAL;
	/* Pool headers without a checksum: writeback builds the disk's. */
	build = s->pool.hdr != TIER_OBJ_HDR;
	objs = calloc(WB_MAX_OBJS, sizeof(*objs));
	iov = calloc(build ? 1 : WB_MAX_IOV, sizeof(*iov));
	if (build)
		stage = malloc(TIER_CHUNK_SIZE);
	if (!objs || !iov || (build && !stage)) {
		free(objs);
		free(iov);
		free(stage);
		return VSWAP_E_NOMEM;
	}
	/*
	 * Every batch writes through the whole stage: fault it in now, not
	 * in the first batch, which may be a store's own writeback at the
	 * cap (256 first touches: 1.3 ms on a shadow-paged build machine).
	 * A write per page: GCC turns malloc + memset(0) into calloc, which
	 * touches nothing.
	 */
	for (size_t i = 0; stage && i < TIER_CHUNK_SIZE; i += VSWAP_PAGE_SIZE)
		((volatile unsigned char *)stage)[i] = 0;
	ctx_quiesce(s);
	pthread_mutex_lock(&s->wb.lock);
	r = tier_attach(&s->tier, fd, max_bytes, s->params.capacity);
	if (!r) {
		s->wb.objs = objs;
		s->wb.iov = iov;
		s->wb.stage = stage;
		objs = NULL;
		iov = NULL;
		stage = NULL;
	}
	pthread_mutex_unlock(&s->wb.lock);
	ctx_unquiesce(s);
	free(objs);
	free(iov);
	free(stage);
	return r;
}

int vswap_tier_release(struct vswap_store *s)
{
	int r;

	if (!s || !tier_attached(&s->tier))
		return VSWAP_E_INVAL;
	/* No context: traffic, and a reset, go on meanwhile. wb->lock: no
	 * chunk is opened (nchunks cannot grow) while we cut the file. */
	pthread_mutex_lock(&s->wb.lock);
	r = tier_release(&s->tier);
	wb_unlock(&s->wb);
	return r;
}

unsigned vswap_take_events(struct vswap_store *s)
{
	if (!s)
		return 0;
	return __atomic_exchange_n(&s->tier.events, 0, __ATOMIC_RELAXED);
}

/*
 * What the re-points of a batch add up to, applied once at its end: the
 * counter moves (pool kinds -> disk) and, per victim, the live bytes that
 * left it. Deferring is safe: the victims are ours (COMPACTING: nobody
 * else frees them), and counters are never one snapshot anyway.
 */
static void acc_flush(struct vswap_store *s, struct vswap_shard *sh,
		      struct wb_acc *a, unsigned nv)
{
	SHARD_ADD(sh, compressed_pages, -a->comp);
	SHARD_ADD(sh, incompressible_pages, -a->raw);
	SHARD_ADD(sh, compressed_bytes, -a->payload);
	SHARD_ADD(sh, obj_bytes, -a->objb);
	SHARD_ADD(sh, disk_pages, a->comp + a->raw);
	SHARD_ADD(sh, disk_bytes, a->payload);
	for (unsigned i = 0; i < nv; i++)
		if (a->freed[i])
			pool_release_owned(&s->pool, s->wb.victims[i].seg,
					   a->freed[i]);
}

/*
 * Step 4 for one object (entry @e of its slot, or NULL): re-point the slot
 * at @o->doff, or drop the disk copy. The pool object becomes dead under
 * the slot lock (the liveness rule of pool.c); its bytes leave the
 * victim's live count in acc_flush().
 */
static bool repoint(struct vswap_store *s, struct wb_acc *a,
		    const struct wb_obj *o, struct vswap_slot *e)
{
	uint64_t w;

	/* slot_lock_used: an EMPTY entry (maybe of a released chunk) stays
	 * untouched. */
	if (e && (w = slot_lock_used(e)) != SLOT_EMPTY) {
		if (slot_in_pool(slot_kind(w)) &&
		    slot_loc(w) == pool_loc(o->handle) &&
		    slot_len(w) == o->len) {
			bool raw = slot_kind(w) == SLOT_RAW;

			/* The disk copy has the live header (slot and
			 * checksum); the pool copy gets the dead length. */
			pool_mark_dead_owned(&s->pool, o->handle, o->len);
			slot_unlock(e, slot_w(slot_disk_kind(slot_kind(w)),
					      o->len, o->doff >> 3));
			a->comp += !raw;
			a->raw += raw;
			a->payload += o->len;
			a->objb += pool_obj_size(&s->pool, o->len);
			a->freed[o->vi] += pool_obj_size(&s->pool, o->len);
			return true;
		}
		slot_unlock(e, w);	/* replaced or dropped meanwhile */
	}
	tier_free(&s->tier, o->doff, tier_obj_size(o->len));
	return false;
}

/* Append [p, p + n) to the write vector, merging with the last entry. */
static void iov_add(struct vswap_wb *wb, unsigned *niov, void *p, size_t n)
{
	struct iovec *last = *niov ? &wb->iov[*niov - 1] : NULL;

	if (last && (unsigned char *)last->iov_base + last->iov_len == p) {
		last->iov_len += n;
		return;
	}
	wb->iov[*niov].iov_base = p;
	wb->iov[*niov].iov_len = n;
	(*niov)++;
}

/*
 * After the write of a victim written whole (bytes [0, used) at @doff; a
 * checksum store only, so pool and disk sizes agree):
 * re-point every object its slot still names, and settle the rest (dead
 * objects, implausible headers) as dead bytes on disk. Walking after the
 * write finds the headers in cache (the write just read them). Returns
 * the pages moved.
 */
/*
 * Slot entries are scattered (the guest's slots are not stored in order):
 * look up and prefetch this many objects ahead of the one re-pointed.
 */
#define WB_PREFETCH	8u

static uint64_t settle_whole(struct vswap_store *s, struct wb_acc *a,
			     unsigned vi)
{
	const struct wb_victim *v = &s->wb.victims[vi];
	struct vswap_segment *seg = v->seg;
	struct wb_obj ring[WB_PREFETCH];
	struct vswap_slot *ering[WB_PREFETCH];
	uint64_t pages = 0, dead = 0, n = 0;
	uint32_t off = 0;

	while (off < seg->used) {
		struct wb_obj *o;
		uint32_t slot, len;
		bool live;

		uint32_t size;

		len = pool_obj_walk(&s->pool, seg->id, off, &slot, &live);
		size = pool_obj_size(&s->pool, len);
		if (!obj_len_sane(len) || off + size > seg->used) {
			dead += seg->used - off;	/* corrupt: stop */
			pool_mark_damaged(seg);
			break;
		}
		if (!live) {
			dead += size;
			off += size;
			continue;
		}
		if (n >= WB_PREFETCH)
			pages += repoint(s, a, &ring[n % WB_PREFETCH],
					 ering[n % WB_PREFETCH]);
		o = &ring[n % WB_PREFETCH];
		o->slot = slot;
		o->handle = pool_handle(seg->id, off);
		o->len = len;
		o->doff = v->doff + off;
		o->vi = vi;
		ering[n % WB_PREFETCH] = slot_table_lookup(&s->st, o->slot);
		__builtin_prefetch(ering[n % WB_PREFETCH], 1);
		n++;
		off += size;
	}
	for (uint64_t i = n > WB_PREFETCH ? n - WB_PREFETCH : 0; i < n; i++)
		pages += repoint(s, a, &ring[i % WB_PREFETCH],
				 ering[i % WB_PREFETCH]);
	if (dead)
		tier_free(&s->tier, v->doff, (uint32_t)dead);
	return pages;
}

/*
 * Gather the live objects of @seg (owned) into the batch, at most @room
 * bytes on disk from @base_off (disk offset; @stage: the stage at the same
 * place, without checksums). Returns the bytes added. Objects whose header
 * is not plausible, or that do not fit (without checksums a disk object
 * can be 8 bytes larger than the pool's), are left in the pool (the victim
 * then does not empty and goes back on the sealed list).
 */
static uint64_t gather(struct vswap_store *s, unsigned vi,
		       unsigned *nobj, unsigned *niov, uint64_t base_off,
		       uint64_t room, unsigned char *stage)
{
	struct vswap_wb *wb = &s->wb;
	struct vswap_segment *seg = wb->victims[vi].seg;
	unsigned char *base = memsource_addr(&s->pool.ms, seg->id);
	uint32_t phdr = s->pool.hdr;
	uint64_t added = 0;

	for (uint32_t off = 0; off < seg->used;) {
		struct wb_obj *o;
		uint32_t slot, len, size, dsize;
		bool live;

		len = pool_obj_walk(&s->pool, seg->id, off, &slot, &live);
		size = pool_obj_size(&s->pool, len);
		if (!obj_len_sane(len) || off + size > seg->used) {
			pool_mark_damaged(seg);
			break;		/* corrupt header: stop here */
		}
		if (!live) {
			off += size;
			continue;
		}
		dsize = tier_obj_size(len);
		if (added + dsize > room)
			break;
		o = &wb->objs[*nobj];
		o->slot = slot;
		o->handle = pool_handle(seg->id, off);
		o->len = len;
		o->doff = base_off + added;
		o->vi = vi;
		if (stage) {
			/* The payload is immutable while we own the victim
			 * (only the pool header gets a dead tag): hash it,
			 * copy it as stored behind the built header. */
			unsigned char *d = stage + added;
			uint32_t h[2] = { obj_slot_code(slot) };

			h[1] = store_csum_copy(s, d + TIER_OBJ_HDR,
					       base + off + phdr, len);
			memcpy(d, h, sizeof(h));
			memset(d + TIER_OBJ_HDR + len, 0,
			       dsize - TIER_OBJ_HDR - len);
		} else {
			iov_add(wb, niov, base + off, size);
		}
		(*nobj)++;
		added += dsize;
		off += size;
	}
	return added;
}

/* Outcome of a batch that found nothing to write. */
#define WB_NOTHING	1

/*
 * One batch (see writeback.h), victims born at or before @born_before, at
 * most @budget bytes. wb->lock held, a context held. Returns VSWAP_OK,
 * WB_NOTHING, or the write's error.
 */
static int wb_batch(struct vswap_store *s, struct vswap_shard *sh,
		    uint64_t born_before, uint64_t budget,
		    struct vswap_writeback_result *res)
{
	struct vswap_wb *wb = &s->wb;
	struct vswap_tier *t = &s->tier;
	struct wb_acc *acc = &wb->acc;
	unsigned nv = 0, nobj = 0, niov = 0, nfreed;
	uint64_t total = 0, room, off, ios = 0;
	int r = VSWAP_OK;

	if (tier_head_room(t) < VSWAP_SEG_SIZE) {
		/* Not room for a full segment: start a fresh chunk (the
		 * unwritten tail costs no file blocks). */
		tier_seal_head(t);
		r = tier_open_head(t);
		if (r)
			return r;
	}
	room = tier_head_room(t);
	if (budget < room)
		room = budget;
	off = ((uint64_t)t->head << TIER_CHUNK_SHIFT) + t->head_used;
	while (nv < WB_MAX_VICTIMS && total < room &&
	       nobj + VSWAP_SEG_SIZE / pool_obj_size(&s->pool, 1) <=
	       WB_MAX_OBJS) {
		struct vswap_segment *seg =
			pool_take_oldest(&s->pool, born_before, room - total);
		struct wb_victim *v;
		uint64_t live;

		if (!seg)
			break;
		v = &wb->victims[nv++];
		v->seg = seg;
		v->doff = off + total;
		live = __atomic_load_n(&seg->lv, __ATOMIC_RELAXED) &
		       SEG_LIVE_MASK;
		/* Whole: pool objects are disk objects (checksum store). */
		v->whole = !wb->stage &&
			   seg->used - live <= seg->used / WB_WHOLE_DEAD_FRAC &&
			   seg->used <= room - total;
		if (v->whole) {
			iov_add(wb, &niov,
				memsource_addr(&s->pool.ms, seg->id),
				seg->used);
			total += seg->used;
		} else {
			total += gather(s, nv - 1, &nobj, &niov, off + total,
					room - total,
					wb->stage ? wb->stage + total : NULL);
		}
	}
	if (!nv)
		return WB_NOTHING;
	if (wb->stage && total) {
		wb->iov[0].iov_base = wb->stage;
		wb->iov[0].iov_len = total;
		niov = 1;
	}
	if (total) {
		(void)tier_claim(t, (uint32_t)total);
		r = tier_write(t, wb->iov, (int)niov, off, total, &ios);
		__atomic_fetch_add(&t->wb_ios, ios, __ATOMIC_RELAXED);
		res->ios += ios;
		/* On the device before the pool copies go (tier_sync). */
		if (!r)
			r = tier_sync(t, off, total);
	}
	if (r) {
		/* Nothing re-pointed: the claimed bytes are garbage, the
		 * data stays in the pool. */
		tier_free(t, off, (uint32_t)total);
		tier_seal_head(t);
		__atomic_fetch_add(&t->wb_errors, 1, __ATOMIC_RELAXED);
		if (r == VSWAP_E_NOSPACE) {
			__atomic_store_n(&t->full, true, __ATOMIC_RELAXED);
			tier_event(t, VSWAP_EVENT_DISK_FULL);
		} else {
			tier_event(t, VSWAP_EVENT_WRITEBACK_ERROR);
		}
	} else {
		uint64_t pages = 0;

		/* Space came back outside our chunks (another file shrank). */
		__atomic_store_n(&t->full, false, __ATOMIC_RELAXED);

		memset(acc, 0, sizeof(*acc));
		for (unsigned i = 0; i < nv; i++)
			if (wb->victims[i].whole)
				pages += settle_whole(s, acc, i);
		for (unsigned i = 0; i < nobj; i++)
			pages += repoint(s, acc, &wb->objs[i],
					 slot_table_lookup(&s->st,
							   wb->objs[i].slot));
		acc_flush(s, sh, acc, nv);
		res->pages += pages;
		res->bytes += total;
		__atomic_fetch_add(&t->wb_pages, pages, __ATOMIC_RELAXED);
		__atomic_fetch_add(&t->wb_bytes, total, __ATOMIC_RELAXED);
	}
	for (unsigned i = 0; i < nv; i++)
		wb->segs[i] = wb->victims[i].seg;
	nfreed = pool_put_victims(&s->pool, wb->segs, nv);
	res->pool_freed += (uint64_t)nfreed * VSWAP_SEG_SIZE;
	res->segments += nfreed;
	__atomic_fetch_add(&t->wb_freed, (uint64_t)nfreed * VSWAP_SEG_SIZE,
			   __ATOMIC_RELAXED);
	return r;
}

/*
 * A whole-store operation (reset above all) waits for every context. The
 * runner of a long writeback holds one, and wb->lock, for its whole run,
 * and a pthread mutex lets it take them straight back after a release:
 * so between batches it looks at the waiter count and, when someone
 * waits, stops. Stop, not wait and resume: the caller of
 * vswap_writeback / vswap_reclaim (QEMU's job, a worker) loops anyway,
 * a reset drops what the run was writing back, and resuming would need a
 * second wait on something the reset does not signal. A new run started
 * while the waiter still waits stops before its first batch, so the
 * waiter gets in within the batch in flight.
 */
static bool wb_should_yield(const struct vswap_store *s)
{
	return __atomic_load_n(&s->quiesce_waiting, __ATOMIC_RELAXED) != 0;
}

/*
 * Batches until nothing qualifies, @max_bytes are written (0 = no limit),
 * pool bytes are <= @target (UINT64_MAX = no target), @max_freed pool
 * bytes were freed (0 = no limit), a batch made no progress, or (@yield)
 * a quiesce is waiting (wb_should_yield; returns OK, @res says what was
 * done). wb->lock and a context held.
 */
static int wb_run(struct vswap_store *s, struct vswap_shard *sh,
		  uint64_t born_before, uint64_t max_bytes, uint64_t target,
		  uint64_t max_freed, bool yield,
		  struct vswap_writeback_result *res)
{
	struct vswap_tier *t = &s->tier;

	/* A head chunk whose objects all died is punched and reused now
	 * rather than holding its blocks until it fills. */
	if (t->head != TIER_NONE &&
	    !(__atomic_load_n(&tier_chunk(t, t->head)->lv, __ATOMIC_RELAXED) &
	      TCH_LIVE_MASK))
		tier_seal_head(t);
	for (;;) {
		uint64_t budget = UINT64_MAX, pages, segs;
		int r;

		if (yield && wb_should_yield(s))
			return VSWAP_OK;
		/* Even a store's own pressure writeback: an announced reset
		 * drops whatever it would write. */
		if (store_reset_pending(s))
			return VSWAP_OK;
		if (target != UINT64_MAX && pool_bytes(&s->pool) <= target)
			return VSWAP_OK;
		if (max_freed && res->pool_freed >= max_freed)
			return VSWAP_OK;
		if (max_bytes) {
			if (res->bytes >= max_bytes)
				return VSWAP_OK;
			budget = max_bytes - res->bytes;
		}
		pages = res->pages;
		segs = res->segments;
		r = wb_batch(s, sh, born_before, budget, res);
		if (r != WB_NOTHING)
			wb_progress(&s->wb);
		if (r == WB_NOTHING)
			return VSWAP_OK;
		if (r)
			return r;
		/* Victims that neither moved a page nor emptied (headers not
		 * plausible) went back on the sealed list: don't take them
		 * again and again. */
		if (res->pages == pages && res->segments == segs)
			return VSWAP_OK;
	}
}

/*
 * Seal open heads born at or before @born_before, so an idle store's last
 * data (in the head it stopped filling) ages into writeback like the rest.
 * Other contexts by trylock only (a busy one is not idle); @own is ours.
 * Costs the unused tail of each sealed head; only heads older than the
 * caller's age threshold, so at most once per head and threshold.
 */
static void seal_old_heads(struct vswap_store *s, struct vswap_ctx *own,
			   uint64_t born_before)
{
	unsigned n = __atomic_load_n(&s->nctx, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n; i++) {
		struct vswap_ctx *c = __atomic_load_n(&s->ctx[i],
						      __ATOMIC_ACQUIRE);

		if (c != own && pthread_mutex_trylock(&c->lock))
			continue;
		if (c->head.seg && c->head.seg->birth_ns <= born_before)
			pool_seal(&s->pool, &c->head);
		if (c != own)
			pthread_mutex_unlock(&c->lock);
	}
	if (!pthread_mutex_trylock(&s->pool.compact_lock)) {
		if (s->pool.gc_head.seg &&
		    s->pool.gc_head.seg->birth_ns <= born_before)
			pool_seal(&s->pool, &s->pool.gc_head);
		pthread_mutex_unlock(&s->pool.compact_lock);
	}
}

int vswap_writeback(struct vswap_store *s, uint64_t min_age_ns,
		    uint64_t max_bytes, struct vswap_writeback_result *res)
{
	struct vswap_writeback_result dummy;
	struct vswap_ctx *c;
	uint64_t now = mono_ns(), born_before;
	int r;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (!s)
		return VSWAP_E_INVAL;
	if (!tier_attached(&s->tier))
		return VSWAP_E_INVAL;
	born_before = now >= min_age_ns ? now - min_age_ns : 0;
	c = ctx_get(s);
	seal_old_heads(s, c, born_before);
	pthread_mutex_lock(&s->wb.lock);
	r = wb_run(s, &c->shard, born_before, max_bytes, UINT64_MAX, 0, true,
		   res);
	wb_unlock(&s->wb);
	ctx_put(c);
	return r;
}

/*
 * Pool bytes pressure writeback aims for: WB_LOW_WATERMARK_PCT of the cap,
 * and at least WB_LOW_WATERMARK_SEGS segments below it (a store needs room
 * for its next segment on top of compaction's headroom, which 10% of a
 * small cap is not). 0 (= write back all) for a cap below that; UINT64_MAX
 * without a cap (nothing to do).
 */
static uint64_t low_watermark(struct vswap_store *s)
{
	uint64_t max = pool_max(&s->pool);
	uint64_t pct = max / 100 * WB_LOW_WATERMARK_PCT;
	uint64_t segs = (uint64_t)WB_LOW_WATERMARK_SEGS * VSWAP_SEG_SIZE;

	if (!max)
		return UINT64_MAX;
	if (max <= segs)
		return 0;
	return pct < max - segs ? pct : max - segs;
}

int vswap_reclaim(struct vswap_store *s, struct vswap_writeback_result *res)
{
	struct vswap_writeback_result dummy;
	struct vswap_ctx *c;
	uint64_t target;
	int r = VSWAP_OK;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (!s)
		return VSWAP_E_INVAL;
	if (!tier_attached(&s->tier))
		return VSWAP_E_INVAL;
	target = low_watermark(s);
	if (target == UINT64_MAX)
		return VSWAP_OK;
	/* Memory that holds nothing goes first, without any I/O. */
	memsource_release_kept(&s->pool.ms);
	if (pool_bytes(&s->pool) <= target)
		return VSWAP_OK;
	c = ctx_get(s);
	pthread_mutex_lock(&s->wb.lock);
	r = wb_run(s, &c->shard, mono_ns(), 0, target, 0, true, res);
	wb_unlock(&s->wb);
	ctx_put(c);
	return r;
}

/*
 * The tier is full: true for one caller per WB_FULL_RETRY_NS, which then
 * tries the disk again (a failed write marks it full again, a good one
 * clears it). The first look after the disk filled may retry at once: one
 * more failed write, then the period applies.
 */
static bool full_retry_due(struct vswap_wb *wb)
{
	uint64_t now = mono_ns();
	uint64_t due = __atomic_load_n(&wb->full_retry_ns, __ATOMIC_RELAXED);

	return now >= due &&
	       __atomic_compare_exchange_n(&wb->full_retry_ns, &due,
					   now + WB_FULL_RETRY_NS, false,
					   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

bool wb_pressure_due(struct vswap_store *s)
{
	return tier_attached(&s->tier) &&
	       (!__atomic_load_n(&s->tier.full, __ATOMIC_RELAXED) ||
		mono_ns() >= __atomic_load_n(&s->wb.full_retry_ns,
					     __ATOMIC_RELAXED)) &&
	       low_watermark(s) != UINT64_MAX;
}

bool wb_pressure(struct vswap_store *s, struct vswap_ctx *c)
{
	struct vswap_writeback_result res = { 0 };
	uint64_t target, gen;

	if (!tier_attached(&s->tier) ||
	    (__atomic_load_n(&s->tier.full, __ATOMIC_RELAXED) &&
	     !full_retry_due(&s->wb)))
		return false;
	target = low_watermark(s);
	if (target == UINT64_MAX || store_reset_pending(s))
		return false;
	tier_event(&s->tier, VSWAP_EVENT_PRESSURE);
	/* Read before the trylock: an unlock after this read bumps it. */
	pthread_mutex_lock(&s->wb.gen_lock);
	gen = s->wb.gen;
	pthread_mutex_unlock(&s->wb.gen_lock);
	if (pthread_mutex_trylock(&s->wb.lock)) {
		/*
		 * A writeback is running (maybe a long proactive one): each
		 * of its batches frees pool memory. Wait for its next batch
		 * or its end, not for the whole run; the caller retries.
		 */
		pthread_mutex_lock(&s->wb.gen_lock);
		while (s->wb.gen == gen)
			pthread_cond_wait(&s->wb.gen_cv, &s->wb.gen_lock);
		pthread_mutex_unlock(&s->wb.gen_lock);
		return true;
	}
	/* No yield: bounded (WB_SYNC_MAX_FREED, 8 batches), and this store
	 * needs the room; stopping would answer it NOSPACE. */
	(void)wb_run(s, &c->shard, mono_ns(), 0, target, WB_SYNC_MAX_FREED,
		     false, &res);
	if (!res.bytes && pool_bytes(&s->pool) > target) {
		/* Nothing sealed to write: the pool is in open heads. Seal
		 * the idle ones and try once more. */
		seal_old_heads(s, c, mono_ns());
		(void)wb_run(s, &c->shard, mono_ns(), 0, target,
			     WB_SYNC_MAX_FREED, false, &res);
	}
	wb_unlock(&s->wb);
	return true;
}
