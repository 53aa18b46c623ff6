// SPDX-License-Identifier: MIT
/*
 * pool.c - log-structured segments: append, free, seal, compact.
 *
 * Lock order (whole library, outermost first):
 *   store->ctx_lock > ctx->lock > wb->lock > pool->compact_lock > slot lock
 *     > pool->lock > tier->lock > ms->lock
 * A thread holds at most one slot lock and never takes a slot lock while
 * holding pool->lock.
 *
 * Who may touch what:
 *   - A head (and its segment's bytes beyond "used") belongs to the thread
 *     that owns the head: a context holder, or the compact_lock holder for
 *     gc_head. Nobody else reads a head segment's objects.
 *   - A sealed segment's bytes are immutable except the tags of headers
 *     (pool.h: the checksum of a live object becomes its length when it
 *     dies; written by the slot-lock holder only). Its "used" is final.
 *   - seg->lv is changed only with atomic RMW: += at append (head owner),
 *     -= at free (slot-lock holder), |= SEALED (sealer, under pool->lock),
 *     |=/&= COMPACTING (compactor, under pool->lock).
 *
 * Object liveness: an object is live iff its slot's entry points at it
 * (there is no dead bit); that entry's lock is held whenever the object
 * becomes dead, and the killer writes the dead tag before unlocking, so a
 * compactor holding the slot lock and seeing the entry still point at the
 * object may move it safely, and a walk that sees the entry point
 * elsewhere finds the length in the tag (pool.h: pool_obj_walk).
 *
 * Who frees an emptied sealed segment (exactly one party, decided by the
 * atomic RMW that observes live reach 0):
 *   - pool_free(), if its fetch_sub saw SEALED and not COMPACTING;
 *   - pool_seal(), if its fetch_or(SEALED) saw live == 0;
 *   - the compactor, if its final fetch_and(~COMPACTING) saw live == 0.
 * A compactor that finds live == 0 when setting COMPACTING leaves the
 * segment to the pool_free() that emptied it. Writeback (writeback.c)
 * takes its victims the same way (pool_take_oldest: COMPACTING set, state
 * WRITEBACK, unlinked) and gives them back with pool_put_victim(), which is
 * the compactor's final step; so neither ever sees the other's victims.
 *
 * Invariants (quiesced; checked by pool_is_valid):
 *   garbage == sum over sealed segments of (SEG_SIZE - live)
 *   for every segment: the walk of its headers ends exactly at used;
 *   live == sum of obj_size() of the objects its slots point at; every
 *   other (dead) header carries a length 1..4096 in its tag
 *   nsealed == length of the sealed list; every sealed seg has SEALED set
 *   ms.seg_bytes == SEG_SIZE * (nsealed + number of open heads)
 */
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "vswap.h"

#define SEG_SIZE	VSWAP_SEG_SIZE

int pool_init(struct vswap_pool *p, struct vswap_slot_table *st,
	      uint64_t max_segments, uint64_t pool_max, bool csum)
{
	int r;

	memset(p, 0, sizeof(*p));
	r = memsource_init(&p->ms, max_segments, pool_max);
	if (r)
		return r;
	p->st = st;
	p->hdr = csum ? OBJ_HDR_CSUM : OBJ_HDR_PLAIN;
	p->gc_near = VSWAP_SEG_NONE;
	if (pthread_mutex_init(&p->lock, NULL))
		goto fail;
	if (pthread_mutex_init(&p->compact_lock, NULL)) {
		pthread_mutex_destroy(&p->lock);
		goto fail;
	}
	return VSWAP_OK;
fail:
	memsource_fini(&p->ms);
	return VSWAP_E_NOMEM;
}

void pool_fini(struct vswap_pool *p)
{
	pthread_mutex_destroy(&p->compact_lock);
	pthread_mutex_destroy(&p->lock);
	memsource_fini(&p->ms);
}

/* pool->lock held. */
static void sealed_link(struct vswap_pool *p, struct vswap_segment *seg)
{
	seg->next = NULL;
	seg->prev = p->sealed_last;
	if (p->sealed_last)
		p->sealed_last->next = seg;
	else
		p->sealed_first = seg;
	p->sealed_last = seg;
	p->nsealed++;
}

/* pool->lock held. */
static void sealed_unlink(struct vswap_pool *p, struct vswap_segment *seg)
{
	if (seg->prev)
		seg->prev->next = seg->next;
	else
		p->sealed_first = seg->next;
	if (seg->next)
		seg->next->prev = seg->prev;
	else
		p->sealed_last = seg->prev;
	seg->prev = seg->next = NULL;
	p->nsealed--;
}

/* pool->lock held; the caller frees the memory after dropping it. */
static void retire_locked(struct vswap_pool *p, struct vswap_segment *seg,
			  bool linked)
{
	if (linked)
		sealed_unlink(p, seg);
	__atomic_store_n(&seg->state, SEG_STATE_FREE, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&p->garbage, (int64_t)SEG_SIZE, __ATOMIC_RELAXED);
}

void pool_seal(struct vswap_pool *p, struct vswap_head *head)
{
	struct vswap_segment *seg = head->seg;
	uint64_t old;
	bool empty;

	if (!seg)
		return;
	head->seg = NULL;
	pthread_mutex_lock(&p->lock);
	seg->used = head->used;
	__atomic_store_n(&seg->state, SEG_STATE_SEALED, __ATOMIC_RELAXED);
	sealed_link(p, seg);
	old = __atomic_fetch_or(&seg->lv, SEG_SEALED, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&p->garbage,
			   (int64_t)(SEG_SIZE - (old & SEG_LIVE_MASK)),
			   __ATOMIC_RELAXED);
	empty = (old & SEG_LIVE_MASK) == 0;
	if (empty)
		retire_locked(p, seg, true);
	pthread_mutex_unlock(&p->lock);
	if (empty)
		memsource_free(&p->ms, seg);
}

void pool_free(struct vswap_pool *p, uint64_t handle, uint32_t len)
{
	uint32_t id = (uint32_t)(handle >> 32);
	struct vswap_segment *seg = memsource_seg(&p->ms, id);
	uint32_t size = pool_obj_size(p, len);
	uint64_t old;

	pool_mark_dead_owned(p, handle, len);	/* the dead tag, then count */
	old = __atomic_fetch_sub(&seg->lv, size, __ATOMIC_ACQ_REL);

	if (!(old & SEG_SEALED))
		return;		/* an open head: its owner seals it later */
	__atomic_fetch_add(&p->garbage, (int64_t)size, __ATOMIC_RELAXED);
	if ((old & SEG_LIVE_MASK) != size || (old & SEG_COMPACTING))
		return;
	/* We emptied a sealed segment nobody is compacting: we free it. */
	pthread_mutex_lock(&p->lock);
	retire_locked(p, seg, true);
	pthread_mutex_unlock(&p->lock);
	memsource_free(&p->ms, seg);
}

static bool compact_one(struct vswap_pool *p, uint32_t min_free);

/*
 * Hysteresis of automatic compaction (pool.h); called when a store needs a
 * new segment, i.e. once per SEG_SIZE of appended data, so its cost (a
 * trylock and at most POOL_GC_AUTO_STEPS segments moved) is bounded and
 * amortised over the stores that filled the previous segment.
 */
static void maybe_compact(struct vswap_pool *p)
{
	int64_t garbage = __atomic_load_n(&p->garbage, __ATOMIC_RELAXED);
	uint64_t segb = __atomic_load_n(&p->ms.seg_bytes, __ATOMIC_RELAXED);
	bool active = __atomic_load_n(&p->gc_active, __ATOMIC_RELAXED);

	if (!active && garbage >= 2 * (int64_t)SEG_SIZE &&
	    (uint64_t)garbage * 100 >= segb * POOL_GC_START_PCT &&
	    garbage >= __atomic_load_n(&p->gc_idle_until, __ATOMIC_RELAXED))
		active = true;
	else if (active && (garbage < (int64_t)SEG_SIZE ||
			    (uint64_t)garbage * 100 < segb * POOL_GC_STOP_PCT))
		active = false;
	__atomic_store_n(&p->gc_active, active, __ATOMIC_RELAXED);
	if (!active || pthread_mutex_trylock(&p->compact_lock))
		return;
	for (int i = 0; i < POOL_GC_AUTO_STEPS; i++) {
		if (!compact_one(p, POOL_GC_AUTO_MIN_FREE)) {
			/* Holes too thin to be worth moving, or no room
			 * under the cap to move them to: don't rescan the
			 * sealed list until a segment's worth more. */
			__atomic_store_n(&p->gc_idle_until,
					 __atomic_load_n(&p->garbage,
							 __ATOMIC_RELAXED) +
					 (int64_t)SEG_SIZE, __ATOMIC_RELAXED);
			__atomic_store_n(&p->gc_active, false,
					 __ATOMIC_RELAXED);
			break;
		}
		garbage = __atomic_load_n(&p->garbage, __ATOMIC_RELAXED);
		segb = __atomic_load_n(&p->ms.seg_bytes, __ATOMIC_RELAXED);
		if ((uint64_t)garbage * 100 < segb * POOL_GC_STOP_PCT) {
			__atomic_store_n(&p->gc_active, false,
					 __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&p->compact_lock);
}

static int new_segment(struct vswap_pool *p, unsigned flags,
		       struct vswap_segment **out)
{
	struct vswap_segment *seg;
	int r = VSWAP_OK;

	if (flags & POOL_ALLOC_GC) {
		seg = p->gc_pass ?
		      memsource_alloc_fresh(&p->ms, p->gc_near, &r) :
		      memsource_alloc(&p->ms, 0, &r);
		if (seg && p->gc_pass)
			p->gc_near = seg->id;
		/* As old as what move_object() puts in it. */
		if (seg)
			seg->birth_ns = 0;
	} else {
		maybe_compact(p);
		seg = memsource_alloc(&p->ms, POOL_GC_HEADROOM, &r);
		if (!seg && r == VSWAP_E_NOSPACE) {
			/* At the cap: reclaim garbage, then try again. */
			pthread_mutex_lock(&p->compact_lock);
			for (int i = 0; i < POOL_GC_CAP_STEPS && !seg &&
			     r == VSWAP_E_NOSPACE; i++) {
				if (!compact_one(p, POOL_GC_MIN_FREE))
					break;
				seg = memsource_alloc(&p->ms, POOL_GC_HEADROOM,
						      &r);
			}
			pthread_mutex_unlock(&p->compact_lock);
		}
	}
	if (!seg)
		return r;
	__atomic_store_n(&seg->state, SEG_STATE_HEAD, __ATOMIC_RELAXED);
	*out = seg;
	return VSWAP_OK;
}

bool pool_charge_meta(struct vswap_pool *p, uint64_t n)
{
	bool ok = memsource_charge(&p->ms, n, POOL_GC_HEADROOM);

	if (ok)
		return true;
	pthread_mutex_lock(&p->compact_lock);
	for (int i = 0; i < POOL_GC_CAP_STEPS && !ok; i++) {
		if (!compact_one(p, POOL_GC_MIN_FREE))
			break;
		ok = memsource_charge(&p->ms, n, POOL_GC_HEADROOM);
	}
	pthread_mutex_unlock(&p->compact_lock);
	return ok;
}

int pool_alloc(struct vswap_pool *p, struct vswap_head *head, uint32_t slot,
	       uint32_t len, uint32_t csum, unsigned flags, uint64_t *handle,
	       void **payload)
{
	uint32_t size = pool_obj_size(p, len);
	unsigned char *base;
	uint32_t off;

	if (!head->seg || head->used + size > SEG_SIZE) {
		struct vswap_segment *seg = NULL;
		int r;

		pool_seal(p, head);
		r = new_segment(p, flags, &seg);
		if (r)
			return r;
		head->seg = seg;
		head->used = 0;
	}
	off = head->used;
	base = memsource_addr(&p->ms, head->seg->id) + off;
	obj_set_field(base, 0, obj_slot_code(slot));
	if (p->hdr == OBJ_HDR_CSUM)
		obj_set_field(base, 1, csum);
	head->used += size;
	__atomic_fetch_add(&head->seg->lv, size, __ATOMIC_RELAXED);
	*handle = pool_handle(head->seg->id, off);
	*payload = base + p->hdr;
	return VSWAP_OK;
}

/*
 * Move the object at @off of @seg (COMPACTING, owned by us), @len payload
 * bytes, to the GC head if its slot still points at it. compact_lock held.
 * Returns false only when the GC head could not take it (no segment under
 * the cap): the object stays where it is, and so would every later one.
 */
static bool move_object(struct vswap_pool *p, struct vswap_segment *seg,
			uint32_t off, uint32_t slot, uint32_t len)
{
	uint64_t handle = pool_handle(seg->id, off);
	struct vswap_slot *e;
	uint32_t csum;
	uint64_t w, nh;
	void *dst;

	e = slot_table_lookup(p->st, slot);
	if (!e)
		return true;
	w = slot_lock_used(e);	/* an EMPTY entry stays untouched */
	if (w == SLOT_EMPTY)
		return true;
	if (!slot_in_pool(slot_kind(w)) || slot_loc(w) != pool_loc(handle) ||
	    slot_len(w) != len) {
		slot_unlock(e, w);	/* freed or replaced meanwhile */
		return true;
	}
	/* Live under our lock: the checksum (if any) is carried along. */
	csum = p->hdr == OBJ_HDR_CSUM ?
	       obj_field(memsource_addr(&p->ms, seg->id) + off, 1) : 0;
	if (pool_alloc(p, &p->gc_head, slot, len, csum, POOL_ALLOC_GC, &nh,
		       &dst)) {
		slot_unlock(e, w);	/* no memory: leave it where it is */
		return false;
	}
	/*
	 * A copy is as young as its original, not as its move: compaction
	 * (an idle device runs one per idle spell) must not keep cold
	 * data from age-based writeback. A GC segment is as young as the
	 * youngest segment it took objects from.
	 */
	if (p->gc_head.seg->birth_ns < seg->birth_ns)
		p->gc_head.seg->birth_ns = seg->birth_ns;
	memcpy(dst, pool_payload(p, handle), len);
	pool_free(p, handle, len);
	slot_unlock(e, slot_w(slot_kind(w), len, pool_loc(nh)));
	__atomic_fetch_add(&p->compacted_bytes, pool_obj_size(p, len),
			   __ATOMIC_RELAXED);
	return true;
}

/*
 * Refill the victim cache: the POOL_GC_CANDIDATES sealed segments with the
 * least live data among those with at least @min_free free bytes, least
 * live last. compact_lock and pool->lock held.
 */
static void fill_candidates(struct vswap_pool *p, uint32_t min_free)
{
	struct vswap_segment *seg;
	uint64_t live_of[POOL_GC_CANDIDATES];
	unsigned n = 0;

	for (seg = p->sealed_first; seg; seg = seg->next) {
		uint64_t lv = __atomic_load_n(&seg->lv, __ATOMIC_RELAXED);
		uint64_t live = lv & SEG_LIVE_MASK;
		unsigned i;

		if (live > SEG_SIZE - min_free || (lv & SEG_DAMAGED))
			continue;
		if (n == POOL_GC_CANDIDATES) {
			if (live >= live_of[0])
				continue;
			/* drop the fullest (index 0), insert in order */
			memmove(&p->cand[0], &p->cand[1],
				(n - 1) * sizeof(p->cand[0]));
			memmove(&live_of[0], &live_of[1],
				(n - 1) * sizeof(live_of[0]));
			n--;
		}
		/* keep descending order of live: least live at the end */
		for (i = n; i > 0 && live_of[i - 1] < live; i--) {
			p->cand[i] = p->cand[i - 1];
			live_of[i] = live_of[i - 1];
		}
		p->cand[i] = seg;
		live_of[i] = live;
		n++;
	}
	p->ncand = n;
}

/*
 * Claim sealed @seg for compaction or writeback (@state), pool->lock held:
 * set SEG_COMPACTING, take it off the sealed list. Fails, leaving it alone,
 * when it is already empty: its last pool_free() is on its way to free it.
 */
static bool claim_sealed_locked(struct vswap_pool *p,
				struct vswap_segment *seg, uint32_t state)
{
	uint64_t old = __atomic_fetch_or(&seg->lv, SEG_COMPACTING,
					 __ATOMIC_ACQ_REL);

	if (!(old & SEG_LIVE_MASK)) {
		__atomic_fetch_and(&seg->lv, ~SEG_COMPACTING, __ATOMIC_RELAXED);
		return false;
	}
	sealed_unlink(p, seg);
	__atomic_store_n(&seg->state, state, __ATOMIC_RELAXED);
	return true;
}

/*
 * Pick a victim and mark it COMPACTING, unlinked from the sealed list.
 * compact_lock held. NULL if no sealed segment has @min_free free bytes.
 * A cached candidate is re-checked: it may have been freed, reused as a
 * head, or be fuller than @min_free now asks.
 */
static struct vswap_segment *pick_victim(struct vswap_pool *p,
					 uint32_t min_free)
{
	struct vswap_segment *seg = NULL;
	bool refilled = false;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (!p->ncand) {
			if (refilled)
				break;
			fill_candidates(p, min_free);
			refilled = true;
			continue;
		}
		seg = p->cand[--p->ncand];
		if (__atomic_load_n(&seg->state, __ATOMIC_RELAXED) !=
		    SEG_STATE_SEALED ||
		    (__atomic_load_n(&seg->lv, __ATOMIC_RELAXED) &
		     SEG_LIVE_MASK) > SEG_SIZE - min_free) {
			seg = NULL;
			continue;
		}
		if (claim_sealed_locked(p, seg, SEG_STATE_COMPACTING))
			break;
		seg = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	return seg;
}

/*
 * Evacuate one victim with at least @min_free free bytes (least live
 * first). compact_lock held. Returns false if there was no victim, or if
 * the GC head ran out of room under the cap (the victim keeps what was
 * not moved): the callers loop on true, and without this a store at a
 * cap below the pool's use walked the same victim POOL_GC_CAP_STEPS
 * times, failing to move each object, on every refused store.
 * Cost: at most SEG_SIZE bytes copied, one slot lock per live object,
 * plus an occasional scan of the sealed list.
 */
static bool compact_one(struct vswap_pool *p, uint32_t min_free)
{
	struct vswap_segment *best = pick_victim(p, min_free);
	bool moved_all = true;

	if (!best)
		return false;
	for (uint32_t off = 0; off < best->used;) {
		uint32_t slot, len;
		bool live;

		len = pool_obj_walk(p, best->id, off, &slot, &live);
		if (!obj_len_sane(len) ||
		    off + pool_obj_size(p, len) > best->used) {
			pool_mark_damaged(best);
			break;	/* live objects past here stay */
		}
		if (live && !move_object(p, best, off, slot, len)) {
			moved_all = false;
			break;
		}
		off += pool_obj_size(p, len);
	}

	if (pool_put_victim(p, best))
		__atomic_fetch_add(&p->compactions, 1, __ATOMIC_RELAXED);
	return moved_all;
}

bool pool_put_victim(struct vswap_pool *p, struct vswap_segment *seg)
{
	uint64_t old;
	bool empty;

	pthread_mutex_lock(&p->lock);
	old = __atomic_fetch_and(&seg->lv, ~SEG_COMPACTING, __ATOMIC_ACQ_REL);
	empty = !(old & SEG_LIVE_MASK);
	if (empty) {
		retire_locked(p, seg, false);
	} else {
		__atomic_store_n(&seg->state, SEG_STATE_SEALED,
				 __ATOMIC_RELAXED);
		sealed_link(p, seg);
	}
	pthread_mutex_unlock(&p->lock);
	if (empty)
		memsource_free(&p->ms, seg);
	return empty;
}

void pool_release_owned(struct vswap_pool *p, struct vswap_segment *seg,
			uint64_t bytes)
{
	uint64_t old = __atomic_fetch_sub(&seg->lv, bytes, __ATOMIC_ACQ_REL);

	if (old & SEG_SEALED)
		__atomic_fetch_add(&p->garbage, (int64_t)bytes,
				   __ATOMIC_RELAXED);
}

unsigned pool_put_victims(struct vswap_pool *p, struct vswap_segment **segs,
			  unsigned n)
{
	unsigned nfree = 0;

	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < n; i++) {
		struct vswap_segment *seg = segs[i];
		uint64_t old = __atomic_fetch_and(&seg->lv, ~SEG_COMPACTING,
						  __ATOMIC_ACQ_REL);

		if (!(old & SEG_LIVE_MASK)) {
			retire_locked(p, seg, false);
			segs[nfree++] = seg;
		} else {
			__atomic_store_n(&seg->state, SEG_STATE_SEALED,
					 __ATOMIC_RELAXED);
			sealed_link(p, seg);
		}
	}
	pthread_mutex_unlock(&p->lock);
	memsource_free_many(&p->ms, segs, nfree);
	return nfree;
}

struct vswap_segment *pool_take_oldest(struct vswap_pool *p,
				       uint64_t born_before, uint64_t max_live)
{
	struct vswap_segment *seg, *taken = NULL;
	unsigned scanned = 0;

	pthread_mutex_lock(&p->lock);
	for (seg = p->sealed_first; seg && scanned++ < POOL_WB_SCAN;
	     seg = seg->next) {
		uint64_t lv = __atomic_load_n(&seg->lv, __ATOMIC_RELAXED);
		uint64_t live = lv & SEG_LIVE_MASK;

		if (seg->birth_ns > born_before || !live || live > max_live ||
		    (lv & SEG_DAMAGED))
			continue;
		if (claim_sealed_locked(p, seg, SEG_STATE_WRITEBACK)) {
			taken = seg;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	/* Not seg: when the scan limit ends the loop it names an unclaimed one. */
	return taken;
}

void pool_compact_all(struct vswap_pool *p, bool (*stop)(void *),
		      void *stop_arg, bool release_kept)
{
	uint64_t steps;

	/* Each step removes a candidate or frees a segment; the bound only
	 * guards against traffic that keeps creating candidates. */
	pthread_mutex_lock(&p->lock);
	steps = p->nsealed + 16;
	pthread_mutex_unlock(&p->lock);
	/*
	 * The lock is dropped between victims: a store at the cap takes it
	 * to compact for room, and so waits for one victim at most, not for
	 * the whole pass (an operator's vswap-compact of a large pool).
	 * Meanwhile the GC head fills regions of its own, one after the
	 * other (memsource_alloc_fresh).
	 */
	pthread_mutex_lock(&p->compact_lock);
	p->gc_near = VSWAP_SEG_NONE;
	pthread_mutex_unlock(&p->compact_lock);
	memsource_defer_trim(&p->ms);
	while (steps-- && !stop(stop_arg)) {
		bool more;

		pthread_mutex_lock(&p->compact_lock);
		p->gc_pass = true;
		more = compact_one(p, POOL_GC_MIN_FREE);
		p->gc_pass = false;
		pthread_mutex_unlock(&p->compact_lock);
		if (!more)
			break;
	}
	memsource_resume_trim(&p->ms);
	if (release_kept && !stop(stop_arg))
		memsource_release_kept(&p->ms);
}

void pool_seal_gc_head(struct vswap_pool *p)
{
	pthread_mutex_lock(&p->compact_lock);
	pool_seal(p, &p->gc_head);
	pthread_mutex_unlock(&p->compact_lock);
}

static bool seg_is_valid(struct vswap_pool *p, struct vswap_segment *seg,
			 uint32_t used, uint64_t *live_sum)
{
	uint64_t live = 0;
	uint32_t off = 0;

	while (off < used) {
		uint32_t slot, len;
		bool is_live;

		len = pool_obj_walk(p, seg->id, off, &slot, &is_live);
		if (!obj_len_sane(len))
			return false;	/* dead tags are lengths too */
		if (is_live)
			live += pool_obj_size(p, len);
		off += pool_obj_size(p, len);
	}
	*live_sum += live;
	return off == used && used <= SEG_SIZE &&
	       live == (__atomic_load_n(&seg->lv, __ATOMIC_RELAXED) &
			SEG_LIVE_MASK);
}

bool pool_is_valid(struct vswap_pool *p, struct vswap_head *const *heads,
		   unsigned nheads, uint64_t expect_live)
{
	struct vswap_segment *seg;
	uint64_t n = 0, nopen, live = 0;
	int64_t garbage = 0;

	for (seg = p->sealed_first; seg; seg = seg->next) {
		uint64_t lv = __atomic_load_n(&seg->lv, __ATOMIC_RELAXED);

		if (!(lv & SEG_SEALED) || (lv & SEG_COMPACTING) ||
		    seg->state != SEG_STATE_SEALED ||
		    !seg_is_valid(p, seg, seg->used, &live))
			return false;
		garbage += (int64_t)(SEG_SIZE - (lv & SEG_LIVE_MASK));
		n++;
	}
	if (p->gc_head.seg &&
	    !seg_is_valid(p, p->gc_head.seg, p->gc_head.used, &live))
		return false;
	for (unsigned i = 0; i < nheads; i++)
		if (heads[i]->seg &&
		    !seg_is_valid(p, heads[i]->seg, heads[i]->used, &live))
			return false;
	nopen = (p->gc_head.seg != NULL);
	for (unsigned i = 0; i < nheads; i++)
		nopen += (heads[i]->seg != NULL);
	return n == p->nsealed && garbage == p->garbage &&
	       live == expect_live &&
	       (n + nopen) * SEG_SIZE == p->ms.seg_bytes;
}
