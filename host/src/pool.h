/* SPDX-License-Identifier: MIT */
/*
 * pool.h - the log-structured pool of compressed objects.
 *
 * Memory comes in segments (memsource.h). Each context owns an open "head"
 * segment and appends objects to it, so one segment holds objects stored at
 * about the same time, by one thread: segments are age-coherent, and writing
 * back (or compacting) the oldest ones frees whole host pages. A full head is
 * sealed onto the pool's sealed list (oldest first). Freed objects leave
 * holes; compaction copies the live objects of sparse sealed segments into
 * the pool's GC head and frees the emptied segment.
 *
 * Object layout in a segment, 8-byte aligned, back to back from offset 0:
 *   header, p->hdr bytes (fixed per store):
 *     with checksums (8 bytes): u32 owning slot number (the back-pointer;
 *       every slot number < 2^32 is valid; stored inverted, see
 *       obj_slot_code), u32 tag: while the object is live the checksum of
 *       the payload, once it is dead its length;
 *     without (4 bytes): one u32 field: the owning slot (inverted) while
 *       the object is live, its length once it is dead;
 *   payload (length bytes), padding to 8.
 * So a header holds no redundancy: 8 bytes with checksums, 4 without.
 * Liveness is not a bit: an object is live iff its slot's entry points at
 * it (slot_table.h). A live object's length is the entry's; whoever kills
 * it (pool_free, pool_mark_dead_owned: the slot-lock holder, before the
 * unlock that publishes the entry no longer pointing here) writes the
 * length into the dead field (the tag, or the only field), so a walk of
 * the segment can still step over it. A 4-byte dead header reads as a
 * slot number too: harmless, since no entry points at a dead object's
 * location (it is not reused while its segment lives), so that "slot"'s
 * entry never points here. Header fields are only accessed as 32-bit
 * atomics.
 * pool_obj_walk() is that walk's step; it needs the segment to stay
 * allocated (owned as a victim, or a quiesced store): no location is
 * reused meanwhile, so "the entry points here" names this very object.
 * Handle (in memory): segment id << 32 | offset of the header; an entry
 * stores the 46-bit pool_loc() of it (segment id << 14 | offset / 8).
 *
 * Segment lv word (atomic): SEG_SEALED | SEG_COMPACTING | SEG_DAMAGED |
 * live bytes, where live bytes = sum of obj_size() of the segment's live
 * objects. Putting the flags in the same word as the count makes "who
 * frees an emptied segment" a single atomic decision (see pool.c).
 * SEG_DAMAGED: a walk of the segment met a header no object can have
 * (host memory corruption); compaction and writeback pick it no more, as
 * every walk would stop at the same place and its live objects past that
 * point cannot be moved. Loads of them still check each object; the
 * segment is freed as usual when its last live object dies.
 */
#ifndef VSWAP_POOL_H
#define VSWAP_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "memsource.h"
#include "slot_table.h"
#include "vswap.h"

/* Header bytes with checksums (slot + tag) and without (slot only). */
#define OBJ_HDR_CSUM		8u
#define OBJ_HDR_PLAIN		4u
#define OBJ_HDR_MAX		OBJ_HDR_CSUM

_Static_assert(VSWAP_SEG_SIZE <= (UINT32_C(8) << 14),
	       "a segment offset / 8 fits the 14 bits pool_loc gives it");
_Static_assert(32 + 14 <= SLOT_LOC_BITS, "a pool location fits an entry");

#define SEG_SEALED		(UINT64_C(1) << 63)
#define SEG_COMPACTING		(UINT64_C(1) << 62)
#define SEG_DAMAGED		(UINT64_C(1) << 61)
#define SEG_LIVE_MASK		UINT64_C(0xffffffff)

/* seg->state, informational (validation, walks); transitions in pool.c. */
enum seg_state { SEG_STATE_FREE = 0, SEG_STATE_HEAD, SEG_STATE_SEALED,
		 SEG_STATE_COMPACTING, SEG_STATE_WRITEBACK };

/* Bytes of an object: header (@hdr bytes) + payload, padded to 8. */
static inline uint32_t obj_size(uint32_t hdr, uint32_t len)
{
	return (hdr + len + 7u) & ~7u;
}

static inline uint64_t pool_handle(uint32_t seg_id, uint32_t off)
{
	return ((uint64_t)seg_id << 32) | off;
}

/* Header field @i (0: slot or dead length, 1: tag) of the object at @hdr. */
static inline uint32_t obj_field(const void *hdr, unsigned i)
{
	return __atomic_load_n((const uint32_t *)hdr + i, __ATOMIC_RELAXED);
}

static inline void obj_set_field(void *hdr, unsigned i, uint32_t v)
{
	__atomic_store_n((uint32_t *)hdr + i, v, __ATOMIC_RELAXED);
}

/*
 * The slot field holds the slot number inverted (its own inverse), so an
 * all-zero extent (a hole, a zeroed read) never names slot 0, the slot most
 * likely in use; it names slot 2^32 - 1, which exists only at the maximum
 * capacity. A dead length (<= 4096) is stored as is.
 */
static inline uint32_t obj_slot_code(uint32_t v)
{
	return ~v;
}

/* Handle <-> entry location (slot_table.h); offsets are 8-aligned. */
static inline uint64_t pool_loc(uint64_t handle)
{
	return ((handle >> 32) << 14) | ((uint32_t)handle >> 3);
}

static inline uint64_t pool_loc_handle(uint64_t loc)
{
	return pool_handle((uint32_t)(loc >> 14), (uint32_t)(loc & 0x3fff) << 3);
}

/* An open segment being appended to. Owned by whoever owns the head. */
struct vswap_head {
	struct vswap_segment *seg;	/* NULL = no open segment */
	uint32_t used;			/* bytes appended so far */
};

/*
 * Compaction policy. garbage = sum over sealed segments of (SEG_SIZE - live).
 *   - Automatic (from the store path, when a context needs a new segment):
 *     starts when garbage reaches 3% of the segment bytes (and at least two
 *     segments' worth, since less can never free a segment) and stops below
 *     1% (or when no segment qualifies). 3% keeps pool bytes within the 5%
 *     overhead budget next to headers, tails and the slot table; the gap to
 *     1% makes each active period long enough to amortise its scans. Each
 *     new segment pays for at most POOL_GC_AUTO_STEPS evacuations, so a
 *     store's worst case is bounded (a few x 128 KiB of copying).
 *   - Automatic candidates need >= 1/8 of their bytes free: evacuating a
 *     segment costs its live bytes, so this bounds write amplification to
 *     7x; uniformly sprinkled holes below that wait for more holes.
 *   - Under the pool cap and in vswap_compact(): any segment with >= 1/32
 *     free (a 97%-full segment is not worth copying even then).
 * Victims are the sealed segments with the least live data (greedy); one
 * scan of the sealed list fills a cache of POOL_GC_CANDIDATES victims.
 */
#define POOL_GC_START_PCT	3
#define POOL_GC_STOP_PCT	1
#define POOL_GC_AUTO_MIN_FREE	(VSWAP_SEG_SIZE / 8)
#define POOL_GC_MIN_FREE	(VSWAP_SEG_SIZE / 32)
#define POOL_GC_AUTO_STEPS	4
/* Bound on compaction steps per allocation under the pool cap. */
#define POOL_GC_CAP_STEPS	64
/* Victims remembered per sealed-list scan (32 x 8 B on the pool). */
#define POOL_GC_CANDIDATES	32

struct vswap_pool {
	struct vswap_memsource ms;
	struct vswap_slot_table *st;	/* to re-point slots on a move */
	uint32_t hdr;			/* header bytes; immutable */

	pthread_mutex_t lock;		/* sealed list, segment state */
	struct vswap_segment *sealed_first, *sealed_last;	/* oldest first */
	uint64_t nsealed;		/* length of the sealed list */
	int64_t garbage;		/* atomic; see above */

	pthread_mutex_t compact_lock;	/* one compactor at a time */
	struct vswap_head gc_head;	/* under compact_lock */
	/*
	 * Under compact_lock. gc_pass: an explicit pass (pool_compact_all)
	 * is evacuating a victim, and the GC head's segments come from
	 * memsource_alloc_fresh(): the next one from the region of gc_near,
	 * the pass's last GC segment (VSWAP_SEG_NONE: none yet), while it
	 * has room.
	 */
	bool gc_pass;
	uint32_t gc_near;
	/* victim cache, under compact_lock; best (least live) last */
	struct vswap_segment *cand[POOL_GC_CANDIDATES];
	unsigned ncand;
	bool gc_active;			/* atomic; hysteresis state */
	int64_t gc_idle_until;		/* atomic; no auto start below this
					 * garbage (last scan found nothing) */
	uint64_t compactions;		/* atomic; segments compacted */
	uint64_t compacted_bytes;	/* atomic; live bytes moved */
};

/* Flags of pool_alloc(). */
#define POOL_ALLOC_GC	1u	/* from compaction: uses the GC headroom */

/*
 * Stores and metadata leave one segment of the cap free, so compaction can
 * always take its destination segment without passing the cap: moving a
 * victim's live bytes (< SEG_SIZE) never needs more than one new segment
 * before the victim is freed.
 */
#define POOL_GC_HEADROOM	VSWAP_SEG_SIZE

/* @csum: objects carry a checksum (8-byte headers, else 4). */
int pool_init(struct vswap_pool *p, struct vswap_slot_table *st,
	      uint64_t max_segments, uint64_t pool_max, bool csum);

static inline uint32_t pool_obj_size(const struct vswap_pool *p, uint32_t len)
{
	return obj_size(p->hdr, len);
}
void pool_fini(struct vswap_pool *p);

/*
 * Append an object of @len payload bytes for @slot, checksum @csum, to
 * @head. On success *handle names it and *payload is where to copy the
 * payload; the object is counted live at once and must be installed in the
 * slot (or freed with pool_free) before anybody else can walk its segment.
 * Errors: VSWAP_E_NOSPACE (cap), VSWAP_E_NOMEM.
 */
int pool_alloc(struct vswap_pool *p, struct vswap_head *head, uint32_t slot,
	       uint32_t len, uint32_t csum, unsigned flags, uint64_t *handle,
	       void **payload);
/*
 * Where a payload of up to @max_len bytes can be written in @head without
 * sealing it, or NULL. Writing there claims nothing: a following
 * pool_alloc() on the same head with len <= @max_len returns exactly this
 * payload address (only the head's owner touches it in between). Lets the
 * store compress straight into the pool instead of copying from scratch.
 */
static inline void *pool_head_room(struct vswap_pool *p,
				   struct vswap_head *head, uint32_t max_len)
{
	if (!head->seg || head->used + pool_obj_size(p, max_len) >
			  VSWAP_SEG_SIZE)
		return NULL;
	return memsource_addr(&p->ms, head->seg->id) + head->used + p->hdr;
}

/*
 * Free the object @handle of @len payload bytes. Called with the owning
 * slot locked, before the unlock that stops the entry pointing at it.
 */
void pool_free(struct vswap_pool *p, uint64_t handle, uint32_t len);
/* Seal @head's segment (if any) so it can be compacted or freed. */
void pool_seal(struct vswap_pool *p, struct vswap_head *head);

static inline const void *pool_payload(struct vswap_pool *p, uint64_t handle)
{
	return memsource_addr(&p->ms, (uint32_t)(handle >> 32)) +
	       (uint32_t)handle + p->hdr;
}

/*
 * Payload of the object @handle names, if it is an object of @slot whose
 * @len bytes lie inside its segment, and its checksum in *csum (0 without
 * checksums); NULL if
 * the handle or the header says otherwise (a corrupt slot entry or header:
 * the load reports INTEGRITY, never reads wild memory). Caller holds the
 * slot lock of an entry pointing at @handle (so the object is live).
 */
static inline const void *pool_lookup(struct vswap_pool *p, uint64_t handle,
				      uint32_t slot, uint32_t len,
				      uint32_t *csum)
{
	uint32_t id = (uint32_t)(handle >> 32), off = (uint32_t)handle;
	const unsigned char *base;

	if ((id >> VSWAP_ARENA_SHIFT) >= p->ms.max_arenas || (off & 7) ||
	    len > VSWAP_PAGE_SIZE ||
	    off > VSWAP_SEG_SIZE - pool_obj_size(p, len) ||
	    !memsource_arena(&p->ms, id))
		return NULL;
	base = memsource_addr(&p->ms, id) + off;
	if (obj_field(base, 0) != obj_slot_code(slot))
		return NULL;
	*csum = p->hdr == OBJ_HDR_CSUM ? obj_field(base, 1) : 0;
	return base + p->hdr;
}

/*
 * One step of a walk over the objects of segment @seg_id, which stays
 * allocated meanwhile (a victim we own, or a quiesced store): the object
 * at @off is live iff its slot's entry points at it right now (an unlocked
 * snapshot of the entry word). Returns its payload length (the entry's
 * when live, the dead header's length field otherwise), *slot the
 * header's slot field and *live. A return of 0 or > VSWAP_PAGE_SIZE means
 * a corrupt header: the walk stops there. Acquire on the entry: a killer
 * writes the length before the release that unlocks the entry, so an
 * entry seen no longer pointing here comes with the length in the header.
 */
static inline uint32_t pool_obj_walk(struct vswap_pool *p, uint32_t seg_id,
				     uint32_t off, uint32_t *slot, bool *live)
{
	const unsigned char *hdr = memsource_addr(&p->ms, seg_id) + off;
	struct vswap_slot *e = NULL;

	*slot = obj_slot_code(obj_field(hdr, 0));
	*live = false;
	if (*slot < p->st->capacity)
		e = slot_table_lookup(p->st, *slot);
	if (e) {
		uint64_t w = __atomic_load_n(&e->w, __ATOMIC_ACQUIRE);

		if (slot_in_pool(slot_kind(w)) &&
		    slot_loc(w) == pool_loc(pool_handle(seg_id, off))) {
			*live = true;
			return slot_len(w);
		}
	}
	/* Dead: the length is in the tag, or in the only field (read again:
	 * it may have been the slot when read above). */
	return obj_field(hdr, p->hdr == OBJ_HDR_CSUM ? 1 : 0);
}

static inline bool obj_len_sane(uint32_t len)
{
	return len && len <= VSWAP_PAGE_SIZE;
}

/* Pool bytes: segments held + arena metadata + slot table (ms.charged). */
static inline uint64_t pool_bytes(struct vswap_pool *p)
{
	return __atomic_load_n(&p->ms.charged, __ATOMIC_RELAXED);
}

/*
 * The pool cap (vswap_params.pool_max, 0 = none). Its one home is the
 * memsource, whose charge CAS enforces it (memsource.h); everything above
 * the pool reads and changes it through these two, at any time.
 */
static inline uint64_t pool_max(struct vswap_pool *p)
{
	return __atomic_load_n(&p->ms.max, __ATOMIC_RELAXED);
}

static inline void pool_set_max(struct vswap_pool *p, uint64_t max)
{
	__atomic_store_n(&p->ms.max, max, __ATOMIC_RELAXED);
}

/*
 * Charge @n bytes of store metadata (slot table growth) against the cap,
 * compacting first if that is what it takes. False: no room (NOSPACE).
 * Called holding a context and no slot lock.
 */
bool pool_charge_meta(struct vswap_pool *p, uint64_t n);

/*
 * Compact until nothing is worth moving or @stop(@stop_arg) says so (asked
 * before each segment), then, if @release_kept, give kept segments back
 * (memsource.h). Takes compact_lock one victim at a time.
 */
void pool_compact_all(struct vswap_pool *p, bool (*stop)(void *),
		      void *stop_arg, bool release_kept);
/*
 * Writeback victim: the first segment of the sealed list (seal order, i.e.
 * oldest first) born at or before @born_before (CLOCK_MONOTONIC ns) with
 * 0 < live <= @max_live and not DAMAGED, among the first POOL_WB_SCAN;
 * returned marked COMPACTING, unlinked, state WRITEBACK, so compaction
 * and pool_free() leave it to us. NULL if none. Its objects stay
 * readable (and immutable but for the tags of dying objects) until
 * pool_put_victim(s)().
 */
struct vswap_segment *pool_take_oldest(struct vswap_pool *p,
				       uint64_t born_before, uint64_t max_live);
/*
 * pool_take_oldest() looks at no more than this many segments from the old
 * end of the sealed list (bounding its time under pool->lock, about 10 us):
 * a victim that does not fit the room left waits for the next batch, and
 * a segment sealed late behind many younger ones waits for them to go.
 */
#define POOL_WB_SCAN		1024u
/*
 * End of a compaction or writeback of @seg: clear COMPACTING; free the
 * segment if nothing on it is live (returns true), else put it back on the
 * sealed list.
 */
bool pool_put_victim(struct vswap_pool *p, struct vswap_segment *seg);
/*
 * The same for @n victims at once (one pool->lock, neighbours freed with
 * one madvise). The freed ones end up first in @segs; returns their count.
 */
unsigned pool_put_victims(struct vswap_pool *p, struct vswap_segment **segs,
			  unsigned n);
/* A victim's walk met a corrupt header: leave it out of later picks. */
static inline void pool_mark_damaged(struct vswap_segment *seg)
{
	__atomic_fetch_or(&seg->lv, SEG_DAMAGED, __ATOMIC_RELAXED);
}
/*
 * Writeback's free of an object of a victim it owns (COMPACTING), with
 * the owning slot locked: write the dead tag only; the victim's live bytes
 * drop in one pool_release_owned() per victim (nobody else may free a
 * COMPACTING segment, so the deferred count decides nothing meanwhile).
 */
static inline void pool_mark_dead_owned(struct vswap_pool *p, uint64_t handle,
					uint32_t len)
{
	void *hdr = memsource_addr(&p->ms, (uint32_t)(handle >> 32)) +
		    (uint32_t)handle;

	/* Only the slot-lock holder writes a live object's header. */
	obj_set_field(hdr, p->hdr == OBJ_HDR_CSUM ? 1 : 0, len);
}
void pool_release_owned(struct vswap_pool *p, struct vswap_segment *seg,
			uint64_t bytes);
/* Seal the GC head (reset). Caller holds every context. */
void pool_seal_gc_head(struct vswap_pool *p);

/*
 * Debug: check the invariants of pool.c, given every open context head and
 * the live bytes the slot table says exist. Quiesced store only.
 */
bool pool_is_valid(struct vswap_pool *p, struct vswap_head *const *heads,
		   unsigned nheads, uint64_t expect_live);

#endif /* VSWAP_POOL_H */
