// SPDX-License-Identifier: MIT
/*
 * memsource.c - segments of pool memory from mmap'd arenas; see memsource.h.
 *
 * Lock: ms->lock protects the regions' state and lists and arena growth.
 * It is the innermost lock of the library (nothing is taken while holding
 * it). The madvise calls that change a whole region's state (give it back,
 * turn it small) run under it, since a region must not be handed out
 * while its pages go; they are rare (one per 2 MiB freed, or past the
 * keep limit). A small region's freed segment is given back outside it,
 * before its free bit is published.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "clock.h"
#include "memsource.h"
#include "vswap.h"

#define ARENA_BYTES	((size_t)VSWAP_ARENA_SEGS << VSWAP_SEG_SHIFT)
#define HUGE_BYTES	((size_t)VSWAP_REGION_SEGS << VSWAP_SEG_SHIFT)
#define REGION_ALL	((uint16_t)((1u << VSWAP_REGION_SEGS) - 1))

int memsource_init(struct vswap_memsource *ms, uint64_t max_segments,
		   uint64_t max_bytes)
{
	uint64_t n = (max_segments + VSWAP_ARENA_SEGS - 1) >> VSWAP_ARENA_SHIFT;
	uint64_t ndir = (n + VSWAP_ARENA_LEAF - 1) >> VSWAP_ARENA_LEAF_SHIFT;

	memset(ms, 0, sizeof(*ms));
	/* Segment ids are 32-bit and UINT32_MAX means "none". */
	if (n == 0 || n > (UINT32_MAX >> VSWAP_ARENA_SHIFT))
		return VSWAP_E_INVAL;
	ms->arena_dir = calloc(ndir, sizeof(*ms->arena_dir));
	if (!ms->arena_dir)
		return VSWAP_E_NOMEM;
	if (pthread_mutex_init(&ms->lock, NULL)) {
		free(ms->arena_dir);
		return VSWAP_E_NOMEM;
	}
	if (mpol_init(&ms->numa)) {
		pthread_mutex_destroy(&ms->lock);
		free(ms->arena_dir);
		return VSWAP_E_NOMEM;
	}
	ms->max_arenas = (uint32_t)n;
	ms->kept_head = ms->holes_head = ms->returned_head = VSWAP_SEG_NONE;
	ms->meta_bytes = ndir * sizeof(*ms->arena_dir);
	ms->charged = ms->meta_bytes;	/* fixed: may exceed a tiny cap */
	ms->peak = ms->charged;
	ms->max = max_bytes;
	return VSWAP_OK;
}

void memsource_fini(struct vswap_memsource *ms)
{
	if (!ms->arena_dir)
		return;
	for (uint32_t i = 0; i < ms->narenas; i++) {
		munmap(memsource_arena_at(ms, i)->base, ARENA_BYTES);
		free(memsource_arena_at(ms, i));
	}
	for (uint32_t i = 0; i < ms->max_arenas; i += VSWAP_ARENA_LEAF)
		free(ms->arena_dir[i >> VSWAP_ARENA_LEAF_SHIFT]);
	free(ms->arena_dir);
	ms->arena_dir = NULL;
	mpol_fini(&ms->numa);
	pthread_mutex_destroy(&ms->lock);
}

uint64_t memsource_held_bytes(struct vswap_memsource *ms)
{
	return __atomic_load_n(&ms->seg_bytes, __ATOMIC_RELAXED) +
	       __atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED);
}

uint32_t memsource_used_ids(struct vswap_memsource *ms)
{
	uint32_t n;

	pthread_mutex_lock(&ms->lock);
	n = ms->narenas ? ((ms->narenas - 1) << VSWAP_ARENA_SHIFT) +
			  ms->next_unused : 0;
	pthread_mutex_unlock(&ms->lock);
	return n;
}

int memsource_set_policy(struct vswap_memsource *ms, uint32_t pol,
			 uint64_t nodes, uint32_t *used)
{
	struct vswap_numa *nm = &ms->numa;
	struct vswap_numa old;
	int r = 0;

	pthread_mutex_lock(&ms->lock);
	old.mpol = nm->mpol;
	old.nodes = nm->nodes;
	__atomic_store_n(&nm->mpol, pol, __ATOMIC_RELAXED);
	__atomic_store_n(&nm->nodes, nodes, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < ms->narenas && !r; i++)
		r = mpol_apply(nm, memsource_arena_at(ms, i)->base,
			       ARENA_BYTES);
	if (r) {
		/* Put the old policy back on every arena (best effort: it
		 * was accepted before) so all arenas agree again. */
		__atomic_store_n(&nm->mpol, old.mpol, __ATOMIC_RELAXED);
		__atomic_store_n(&nm->nodes, old.nodes, __ATOMIC_RELAXED);
		for (uint32_t i = 0; i < ms->narenas; i++)
			mpol_apply(nm, memsource_arena_at(ms, i)->base,
				   ARENA_BYTES);
	} else if (pol != VSWAP_MPOL_DEFAULT) {
		nm->applied = true;
	}
	/* The admission cache described the old nodes. */
	__atomic_store_n(&nm->free_ns, 0, __ATOMIC_RELAXED);
	*used = ms->narenas ? ((ms->narenas - 1) << VSWAP_ARENA_SHIFT) +
			      ms->next_unused : 0;
	pthread_mutex_unlock(&ms->lock);
	return r;
}

bool memsource_charge(struct vswap_memsource *ms, uint64_t n,
		      uint64_t headroom)
{
	uint64_t max = __atomic_load_n(&ms->max, __ATOMIC_RELAXED);
	uint64_t cur = __atomic_load_n(&ms->charged, __ATOMIC_RELAXED);
	uint64_t peak;

	do {
		if (max && (cur + n + headroom > max || cur + n < cur))
			return false;
	} while (!__atomic_compare_exchange_n(&ms->charged, &cur, cur + n, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	cur += n;
	peak = __atomic_load_n(&ms->peak, __ATOMIC_RELAXED);
	while (cur > peak &&
	       !__atomic_compare_exchange_n(&ms->peak, &peak, cur, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return true;
}

void memsource_charge_fixed(struct vswap_memsource *ms, uint64_t n)
{
	uint64_t cur = __atomic_add_fetch(&ms->charged, n, __ATOMIC_RELAXED);
	uint64_t peak = __atomic_load_n(&ms->peak, __ATOMIC_RELAXED);

	while (cur > peak &&
	       !__atomic_compare_exchange_n(&ms->peak, &peak, cur, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void memsource_uncharge(struct vswap_memsource *ms, uint64_t n)
{
	__atomic_fetch_sub(&ms->charged, n, __ATOMIC_RELAXED);
}

/*
 * The directory leaf for arena ms->narenas (a multiple of the leaf size),
 * charged like the arenas' own metadata. ms->lock held. A leaf made for
 * an arena whose creation then fails stays for the next attempt.
 */
static int grow_dir(struct vswap_memsource *ms, uint64_t headroom)
{
	struct vswap_arena ***slot =
		&ms->arena_dir[ms->narenas >> VSWAP_ARENA_LEAF_SHIFT];
	struct vswap_arena **leaf;
	size_t bytes = VSWAP_ARENA_LEAF * sizeof(*leaf);

	if (*slot)
		return 0;
	if (!memsource_charge(ms, bytes, headroom))
		return VSWAP_E_NOSPACE;
	leaf = calloc(VSWAP_ARENA_LEAF, sizeof(*leaf));
	if (!leaf) {
		memsource_uncharge(ms, bytes);
		return VSWAP_E_NOMEM;
	}
	__atomic_store_n(slot, leaf, __ATOMIC_RELEASE);
	__atomic_fetch_add(&ms->meta_bytes, bytes, __ATOMIC_RELAXED);
	return 0;
}

/*
 * An arena aligned to the huge page size and open to transparent huge
 * pages (memsource.h). On a virtualised host each 4 KiB first touch can
 * exit to the hypervisor: on a build machine 4.4-10 us per page of new
 * pool memory, against 0.25 us in a huge page. Best effort: without THP
 * it is small pages.
 */
static unsigned char *map_arena(void)
{
	size_t len = ARENA_BYTES + HUGE_BYTES;
	unsigned char *m, *base;
	size_t head;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	head = (HUGE_BYTES - ((uintptr_t)m & (HUGE_BYTES - 1))) &
	       (HUGE_BYTES - 1);
	base = m + head;
	if (head)
		munmap(m, head);
	munmap(base + ARENA_BYTES, HUGE_BYTES - head);
#ifdef MADV_HUGEPAGE
	madvise(base, ARENA_BYTES, MADV_HUGEPAGE);
#endif
	return base;
}

static struct vswap_region *region(struct vswap_memsource *ms, uint32_t rid)
{
	return &memsource_arena_at(ms, rid >> (VSWAP_ARENA_SHIFT -
					       VSWAP_REGION_SHIFT))
		->regions[rid & (VSWAP_ARENA_REGIONS - 1)];
}

static void list_push(struct vswap_memsource *ms, uint32_t *head,
		      uint32_t rid)
{
	struct vswap_region *r = region(ms, rid);

	r->prev = VSWAP_SEG_NONE;
	r->next = *head;
	if (*head != VSWAP_SEG_NONE)
		region(ms, *head)->prev = rid;
	*head = rid;
}

static void list_del(struct vswap_memsource *ms, uint32_t *head,
		     uint32_t rid)
{
	struct vswap_region *r = region(ms, rid);

	if (r->prev != VSWAP_SEG_NONE)
		region(ms, r->prev)->next = r->next;
	else
		*head = r->next;
	if (r->next != VSWAP_SEG_NONE)
		region(ms, r->next)->prev = r->prev;
	r->prev = r->next = VSWAP_SEG_NONE;
}

static unsigned char *region_addr(struct vswap_memsource *ms, uint32_t rid)
{
	return memsource_addr(ms, rid << VSWAP_REGION_SHIFT);
}

/*
 * Small pages only in region @rid: khugepaged would otherwise collapse
 * its holes into a full huge page again, memory the pool neither counts
 * nor uses. Sealed neighbours merge into one VMA.
 */
static void region_seal(struct vswap_memsource *ms, uint32_t rid)
{
	struct vswap_region *r = region(ms, rid);

	if (r->nohuge)
		return;
#ifdef MADV_NOHUGEPAGE
	madvise(region_addr(ms, rid), HUGE_BYTES, MADV_NOHUGEPAGE);
#endif
	r->nohuge = true;
}

/*
 * Kept memory may reach 1/32 of the segments handed out, and two regions
 * on any pool (the rest of the region heads are taken from, and a region
 * writeback or compaction is emptying): enough that a pool whose size
 * swings keeps whole huge pages, and never more than about 3 % over what
 * the pool holds data in.
 */
static uint64_t keep_limit(struct vswap_memsource *ms)
{
	uint64_t segb = __atomic_load_n(&ms->seg_bytes, __ATOMIC_RELAXED);

	return segb / 32 > 2 * HUGE_BYTES ? segb / 32 : 2 * HUGE_BYTES;
}

/*
 * Huge region @rid with kept segments turns small: they go back to the
 * host (@resident: one by one, splitting its huge page; else they never
 * were resident) and are no longer charged. ms->lock held.
 */
static void make_small(struct vswap_memsource *ms, uint32_t rid,
		       bool resident)
{
	struct vswap_region *r = region(ms, rid);
	uint64_t n = (uint64_t)__builtin_popcount(r->free) * VSWAP_SEG_SIZE;

	list_del(ms, &ms->kept_head, rid);
	for (unsigned i = 0; resident && i < VSWAP_REGION_SEGS; i++)
		if (r->free & (1u << i))
			madvise(region_addr(ms, rid) +
				((size_t)i << VSWAP_SEG_SHIFT),
				VSWAP_SEG_SIZE, MADV_DONTNEED);
	region_seal(ms, rid);
	r->state = REGION_SMALL;
	list_push(ms, &ms->holes_head, rid);
	__atomic_fetch_sub(&ms->kept_bytes, n, __ATOMIC_RELAXED);
	memsource_uncharge(ms, n);
}

/*
 * Kept memory over @limit: kept regions turn small, the emptiest of the
 * first few on the list first (most memory back, fewest live pages left in
 * a split huge page). ms->lock held.
 */
#define TRIM_SCAN	8

static void trim_kept(struct vswap_memsource *ms, uint64_t limit)
{
	while (ms->kept_head != VSWAP_SEG_NONE &&
	       __atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED) > limit) {
		uint32_t best = ms->kept_head, rid = best;

		for (int i = 0; i < TRIM_SCAN && rid != VSWAP_SEG_NONE; i++) {
			if (region(ms, rid)->live < region(ms, best)->live)
				best = rid;
			rid = region(ms, rid)->next;
		}
		make_small(ms, best, true);
	}
}

/*
 * Region @rid was taken huge and its first segment faulted in: if that
 * gave no huge page (THP off, or no free 2 MiB on the node), its kept
 * segments hold no memory, and charging them would overstate the pool.
 * A free segment of it is untouched (only handed-out ones are), so one
 * mincore of it tells. Takes ms->lock.
 */
static void check_huge(struct vswap_memsource *ms, uint32_t rid)
{
	struct vswap_region *r;
	unsigned char vec = 1;

	pthread_mutex_lock(&ms->lock);
	r = region(ms, rid);
	if (r->state == REGION_HUGE && r->free &&
	    !mincore(region_addr(ms, rid) +
		     ((size_t)__builtin_ctz(r->free) << VSWAP_SEG_SHIFT),
		     VSWAP_PAGE_SIZE, &vec) && !(vec & 1))
		make_small(ms, rid, false);
	pthread_mutex_unlock(&ms->lock);
}

/* Called with ms->lock held. */
static int grow(struct vswap_memsource *ms, uint64_t headroom)
{
	struct vswap_arena *a;
	int r;

	if (ms->narenas == ms->max_arenas)
		return VSWAP_E_NOMEM;
	if (!(ms->narenas & (VSWAP_ARENA_LEAF - 1))) {
		r = grow_dir(ms, headroom);
		if (r)
			return r;
	}
	if (!memsource_charge(ms, sizeof(*a), headroom))
		return VSWAP_E_NOSPACE;
	a = calloc(1, sizeof(*a));
	if (!a) {
		memsource_uncharge(ms, sizeof(*a));
		return VSWAP_E_NOMEM;
	}
	a->base = map_arena();
	if (!a->base) {
		free(a);
		memsource_uncharge(ms, sizeof(*a));
		return VSWAP_E_NOMEM;
	}
	/* Before any page exists: every page of the arena obeys. */
	if (ms->numa.applied && mpol_apply(&ms->numa, a->base, ARENA_BYTES)) {
		munmap(a->base, ARENA_BYTES);
		free(a);
		memsource_uncharge(ms, sizeof(*a));
		return VSWAP_E_NOMEM;
	}
	for (uint32_t i = 0; i < VSWAP_ARENA_SEGS; i++)
		a->segs[i].id = (ms->narenas << VSWAP_ARENA_SHIFT) | i;
	__atomic_store_n(&ms->arena_dir[ms->narenas >> VSWAP_ARENA_LEAF_SHIFT]
			 [ms->narenas & (VSWAP_ARENA_LEAF - 1)], a,
			 __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < VSWAP_ARENA_REGIONS; i++)
		a->regions[i].prev = a->regions[i].next = VSWAP_SEG_NONE;
	ms->narenas++;
	ms->next_unused = 0;
	__atomic_fetch_add(&ms->meta_bytes, sizeof(*a), __ATOMIC_RELAXED);
	return 0;
}

/*
 * A region for a new segment: a returned one, else the next untouched one
 * (growing an arena). Charged whole and huge if the cap allows, else one
 * segment's worth and small. ms->lock held. Returns the segment id.
 */
static int take_region(struct vswap_memsource *ms, uint64_t headroom,
		       uint32_t *id)
{
	struct vswap_region *r;
	uint32_t rid;
	bool fresh = false;
	int err;

	if (ms->returned_head != VSWAP_SEG_NONE) {
		rid = ms->returned_head;
	} else {
		if (ms->narenas == 0 || ms->next_unused == VSWAP_ARENA_SEGS) {
			err = grow(ms, headroom);
			if (err)
				return err;
		}
		rid = (((ms->narenas - 1) << VSWAP_ARENA_SHIFT) +
		       ms->next_unused) >> VSWAP_REGION_SHIFT;
		fresh = true;
	}
	r = region(ms, rid);
	/*
	 * A region that ran small stays small: its emptied page table stays
	 * too, and a fault under a page table gets no huge page. (Freeing
	 * the table takes an munmap, and MADV_COLLAPSE would override a
	 * host's THP setting: neither is worth it for a rare path.)
	 */
	if (!r->nohuge && memsource_charge(ms, HUGE_BYTES, headroom)) {
		r->state = REGION_HUGE;
		r->free = REGION_ALL & ~1u;
		__atomic_fetch_add(&ms->kept_bytes,
				   HUGE_BYTES - VSWAP_SEG_SIZE,
				   __ATOMIC_RELAXED);
	} else if (memsource_charge(ms, VSWAP_SEG_SIZE, headroom)) {
		region_seal(ms, rid);
		r->state = REGION_SMALL;
		r->free = REGION_ALL & ~1u;
	} else {
		return VSWAP_E_NOSPACE;
	}
	if (fresh)
		ms->next_unused += VSWAP_REGION_SEGS;
	else
		list_del(ms, &ms->returned_head, rid);
	r->live = 1;
	list_push(ms, r->state == REGION_HUGE ? &ms->kept_head :
		  &ms->holes_head, rid);
	*id = rid << VSWAP_REGION_SHIFT;
	return VSWAP_OK;
}

/* Hand out the lowest free segment of region @rid, on list @head. Locked. */
static uint32_t take_free_of(struct vswap_memsource *ms, uint32_t *head,
			     uint32_t rid)
{
	struct vswap_region *r = region(ms, rid);
	unsigned i = (unsigned)__builtin_ctz(r->free);

	r->free &= (uint16_t)~(1u << i);
	r->live++;
	if (!r->free)
		list_del(ms, head, rid);
	return (rid << VSWAP_REGION_SHIFT) | i;
}

/* The same for the first region on @head. */
static uint32_t take_free(struct vswap_memsource *ms, uint32_t *head)
{
	return take_free_of(ms, head, *head);
}

/* Whether huge region @rid has kept segments. ms->lock held. */
static bool has_kept(struct vswap_memsource *ms, uint32_t rid)
{
	struct vswap_region *r = region(ms, rid);

	return r->state == REGION_HUGE && r->free;
}

/*
 * memsource_alloc(), and memsource_alloc_fresh() with @near (a segment id,
 * or VSWAP_SEG_NONE for memsource_alloc()).
 */
static struct vswap_segment *alloc(struct vswap_memsource *ms,
				   uint64_t headroom, bool fresh,
				   uint32_t near, int *err)
{
	struct vswap_segment *seg;
	bool kept = false, new_region = false;
	uint32_t id;
	int r;

	/* Bound nodes too full: refuse rather than fault (OOM killer). */
	if (!mpol_admit(&ms->numa, VSWAP_SEG_SIZE)) {
		*err = VSWAP_E_NOSPACE;
		return NULL;
	}
	pthread_mutex_lock(&ms->lock);
	if (fresh && near != VSWAP_SEG_NONE &&
	    has_kept(ms, near >> VSWAP_REGION_SHIFT)) {
		id = take_free_of(ms, &ms->kept_head,
				  near >> VSWAP_REGION_SHIFT);
		kept = true;
	} else if (fresh && __atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED) <=
		   keep_limit(ms) &&
		   take_region(ms, headroom, &id) == VSWAP_OK) {
		new_region = true;
	} else if (ms->kept_head != VSWAP_SEG_NONE) {
		id = take_free(ms, &ms->kept_head);
		kept = true;
	} else if (ms->holes_head != VSWAP_SEG_NONE) {
		if (!memsource_charge(ms, VSWAP_SEG_SIZE, headroom)) {
			pthread_mutex_unlock(&ms->lock);
			*err = VSWAP_E_NOSPACE;
			return NULL;
		}
		id = take_free(ms, &ms->holes_head);
	} else {
		r = take_region(ms, headroom, &id);
		if (r) {
			pthread_mutex_unlock(&ms->lock);
			*err = r;
			return NULL;
		}
		new_region = true;
	}
	/* A kept segment is resident and charged already: no fault, no new
	 * charge. */
	if (kept)
		__atomic_fetch_sub(&ms->kept_bytes, VSWAP_SEG_SIZE,
				   __ATOMIC_RELAXED);
	seg = memsource_seg(ms, id);
	seg->seq = ms->seq++;
	__atomic_fetch_add(&ms->seg_bytes, VSWAP_SEG_SIZE, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ms->lock);

	__atomic_store_n(&seg->lv, 0, __ATOMIC_RELAXED);
	seg->used = 0;
	seg->prev = seg->next = NULL;
	seg->birth_ns = mono_ns();
#ifdef MADV_POPULATE_WRITE
	/*
	 * A head segment is written front to back at once: fault it in (its
	 * whole region, if huge) in one call instead of page faults on the
	 * store path; for a kept one (resident unless THP gave small pages)
	 * this is a walk of its page table. Best effort (Linux >= 5.14;
	 * EINVAL before): failure means lazy faults, except ENOMEM under
	 * BIND: the bound nodes are full, and a lazy fault there would not
	 * fail but invoke the OOM killer. The segment goes back and the
	 * store gets NOSPACE.
	 */
	if (madvise(memsource_addr(ms, id), VSWAP_SEG_SIZE,
		    MADV_POPULATE_WRITE) && errno == ENOMEM &&
	    mpol_policy(&ms->numa) == VSWAP_MPOL_BIND) {
		memsource_free(ms, seg);
		*err = VSWAP_E_NOSPACE;
		return NULL;
	}
#endif
	if (new_region)
		check_huge(ms, id >> VSWAP_REGION_SHIFT);
	/*
	 * A kept segment still holds the bytes of this store's objects that
	 * died in it. Not cleared: nothing reads a segment beyond its used
	 * bytes (a head's owner writes each object before it bumps used),
	 * and the same bytes lie in every sealed segment's garbage until
	 * compaction anyway. Clearing cost a 128 KiB memset per segment on
	 * the store path.
	 */
	return seg;
}

struct vswap_segment *memsource_alloc(struct vswap_memsource *ms,
				      uint64_t headroom, int *err)
{
	return alloc(ms, headroom, false, VSWAP_SEG_NONE, err);
}

struct vswap_segment *memsource_alloc_fresh(struct vswap_memsource *ms,
					    uint32_t near, int *err)
{
	return alloc(ms, 0, true, near, err);
}

void memsource_free(struct vswap_memsource *ms, struct vswap_segment *seg)
{
	memsource_free_many(ms, &seg, 1);
}

/*
 * Segment @id is free: its bit set, its region on list @head (the one of
 * its state) if it was not. Returns the region. ms->lock held.
 */
static struct vswap_region *mark_free(struct vswap_memsource *ms,
				      uint32_t *head, uint32_t id)
{
	uint32_t rid = id >> VSWAP_REGION_SHIFT;
	struct vswap_region *r = region(ms, rid);

	if (!r->free)
		list_push(ms, head, rid);
	r->free |= (uint16_t)(1u << (id & (VSWAP_REGION_SEGS - 1)));
	r->live--;
	return r;
}

/* Region @rid, on list @head, is wholly free and holds no memory. */
static void region_returned(struct vswap_memsource *ms, uint32_t *head,
			    uint32_t rid)
{
	struct vswap_region *r = region(ms, rid);

	list_del(ms, head, rid);
	r->free = 0;
	r->state = REGION_RETURNED;
	list_push(ms, &ms->returned_head, rid);
}

/*
 * Segment @id of a huge region is free: kept, or with the region's last
 * live segment the whole region goes back. ms->lock held.
 */
static void free_huge(struct vswap_memsource *ms, uint32_t id)
{
	uint32_t rid = id >> VSWAP_REGION_SHIFT;

	if (mark_free(ms, &ms->kept_head, id)->live) {
		__atomic_fetch_add(&ms->kept_bytes, VSWAP_SEG_SIZE,
				   __ATOMIC_RELAXED);
		return;
	}
	/* One madvise of the whole huge page: no split. */
	madvise(region_addr(ms, rid), HUGE_BYTES, MADV_DONTNEED);
	__atomic_fetch_sub(&ms->kept_bytes, HUGE_BYTES - VSWAP_SEG_SIZE,
			   __ATOMIC_RELAXED);
	memsource_uncharge(ms, HUGE_BYTES);
	region_returned(ms, &ms->kept_head, rid);
}

/*
 * Segment @id of a small region, given back already, is free; a region
 * wholly free is returned (take_region keeps it small). ms->lock held.
 */
static void free_small(struct vswap_memsource *ms, uint32_t id)
{
	memsource_uncharge(ms, VSWAP_SEG_SIZE);
	if (!mark_free(ms, &ms->holes_head, id)->live)
		region_returned(ms, &ms->holes_head,
				id >> VSWAP_REGION_SHIFT);
}

void memsource_free_many(struct vswap_memsource *ms,
			 struct vswap_segment **segs, unsigned n)
{
	unsigned nsmall = 0;

	/*
	 * A segment of a huge region is kept, or its whole region goes back,
	 * under the lock. One of a small region goes back before its free bit
	 * is published (nobody can take it before), outside the lock; its
	 * region stays small meanwhile (only a free bit's publication can
	 * make it wholly free). Those are collected at the front of @segs.
	 */
	pthread_mutex_lock(&ms->lock);
	for (unsigned i = 0; i < n; i++) {
		uint32_t rid = segs[i]->id >> VSWAP_REGION_SHIFT;

		if (region(ms, rid)->state == REGION_SMALL)
			segs[nsmall++] = segs[i];
		else
			free_huge(ms, segs[i]->id);
		__atomic_fetch_sub(&ms->seg_bytes, VSWAP_SEG_SIZE,
				   __ATOMIC_RELAXED);
	}
	if (!nsmall) {
		if (!ms->trim_deferred)
			trim_kept(ms, keep_limit(ms));
		pthread_mutex_unlock(&ms->lock);
		return;
	}
	pthread_mutex_unlock(&ms->lock);
	/* Sort by id (n is small: a writeback batch), so neighbours in an
	 * arena go back with one madvise, i.e. one TLB shootdown. */
	for (unsigned i = 1; i < nsmall; i++) {
		struct vswap_segment *x = segs[i];
		unsigned j = i;

		for (; j > 0 && segs[j - 1]->id > x->id; j--)
			segs[j] = segs[j - 1];
		segs[j] = x;
	}
	for (unsigned i = 0; i < nsmall;) {
		unsigned k = 1;

		while (i + k < nsmall && segs[i + k]->id == segs[i]->id + k &&
		       (segs[i + k]->id & (VSWAP_ARENA_SEGS - 1)) != 0)
			k++;
		madvise(memsource_addr(ms, segs[i]->id),
			(size_t)k << VSWAP_SEG_SHIFT, MADV_DONTNEED);
		i += k;
	}
	pthread_mutex_lock(&ms->lock);
	for (unsigned i = 0; i < nsmall; i++)
		free_small(ms, segs[i]->id);
	if (!ms->trim_deferred)
		trim_kept(ms, keep_limit(ms));
	pthread_mutex_unlock(&ms->lock);
}

void memsource_defer_trim(struct vswap_memsource *ms)
{
	pthread_mutex_lock(&ms->lock);
	ms->trim_deferred++;
	pthread_mutex_unlock(&ms->lock);
}

void memsource_resume_trim(struct vswap_memsource *ms)
{
	pthread_mutex_lock(&ms->lock);
	if (!--ms->trim_deferred)
		trim_kept(ms, keep_limit(ms));
	pthread_mutex_unlock(&ms->lock);
}

void memsource_release_kept(struct vswap_memsource *ms)
{
	pthread_mutex_lock(&ms->lock);
	trim_kept(ms, 0);
	pthread_mutex_unlock(&ms->lock);
}
