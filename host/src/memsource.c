// SPDX-License-Identifier: MIT
/*
 * memsource.c - segments of pool memory from mmap'd arenas; see memsource.h.
 *
 * Lock: ms->lock protects the free list and arena growth. It is the
 * innermost lock of the library (nothing is taken while holding it), and
 * the madvise that returns a freed segment's pages runs outside it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "clock.h"
#include "memsource.h"
#include "vswap.h"

#define ARENA_BYTES	((size_t)VSWAP_ARENA_SEGS << VSWAP_SEG_SHIFT)

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
	ms->free_head = VSWAP_SEG_NONE;
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
	a->base = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->base == MAP_FAILED) {
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
	ms->narenas++;
	ms->next_unused = 0;
	__atomic_fetch_add(&ms->meta_bytes, sizeof(*a), __ATOMIC_RELAXED);
	return 0;
}

struct vswap_segment *memsource_alloc(struct vswap_memsource *ms,
				      uint64_t headroom, int *err)
{
	struct vswap_segment *seg;
	int r;

	if (!memsource_charge(ms, VSWAP_SEG_SIZE, headroom)) {
		*err = VSWAP_E_NOSPACE;
		return NULL;
	}
	/* Bound nodes too full: refuse rather than fault (OOM killer). */
	if (!mpol_admit(&ms->numa, VSWAP_SEG_SIZE)) {
		memsource_uncharge(ms, VSWAP_SEG_SIZE);
		*err = VSWAP_E_NOSPACE;
		return NULL;
	}
	pthread_mutex_lock(&ms->lock);
	if (ms->free_head != VSWAP_SEG_NONE) {
		seg = memsource_seg(ms, ms->free_head);
		ms->free_head = seg->next_free;
	} else {
		if (ms->narenas == 0 || ms->next_unused == VSWAP_ARENA_SEGS) {
			r = grow(ms, headroom);
			if (r) {
				pthread_mutex_unlock(&ms->lock);
				memsource_uncharge(ms, VSWAP_SEG_SIZE);
				*err = r;
				return NULL;
			}
		}
		seg = &memsource_arena_at(ms, ms->narenas - 1)
			       ->segs[ms->next_unused++];
	}
	seg->seq = ms->seq++;
	pthread_mutex_unlock(&ms->lock);

	__atomic_store_n(&seg->lv, 0, __ATOMIC_RELAXED);
	seg->used = 0;
	seg->next_free = VSWAP_SEG_NONE;
	seg->prev = seg->next = NULL;
	seg->birth_ns = mono_ns();
	__atomic_fetch_add(&ms->seg_bytes, VSWAP_SEG_SIZE, __ATOMIC_RELAXED);
#ifdef MADV_POPULATE_WRITE
	/*
	 * A head segment is written front to back at once: fault its 32 pages
	 * in one call instead of 32 page faults on the store path. Best
	 * effort (Linux >= 5.14; EINVAL before): failure means lazy faults,
	 * except ENOMEM under BIND: the bound nodes are full, and a lazy
	 * fault there would not fail but invoke the OOM killer. The segment
	 * goes back and the store gets NOSPACE.
	 */
	if (madvise(memsource_addr(ms, seg->id), VSWAP_SEG_SIZE,
		    MADV_POPULATE_WRITE) && errno == ENOMEM &&
	    mpol_policy(&ms->numa) == VSWAP_MPOL_BIND) {
		memsource_free(ms, seg);
		*err = VSWAP_E_NOSPACE;
		return NULL;
	}
#endif
	return seg;
}

void memsource_free(struct vswap_memsource *ms, struct vswap_segment *seg)
{
	memsource_free_many(ms, &seg, 1);
}

void memsource_free_many(struct vswap_memsource *ms,
			 struct vswap_segment **segs, unsigned n)
{
	/* Sort by id (n is small: a writeback batch), so neighbours in an
	 * arena go back with one madvise, i.e. one TLB shootdown. */
	for (unsigned i = 1; i < n; i++) {
		struct vswap_segment *x = segs[i];
		unsigned j = i;

		for (; j > 0 && segs[j - 1]->id > x->id; j--)
			segs[j] = segs[j - 1];
		segs[j] = x;
	}
	for (unsigned i = 0; i < n;) {
		unsigned k = 1;

		while (i + k < n && segs[i + k]->id == segs[i]->id + k &&
		       (segs[i + k]->id & (VSWAP_ARENA_SEGS - 1)) != 0)
			k++;
		/* The pages really go back to the host; reuse faults in
		 * zero pages. */
		madvise(memsource_addr(ms, segs[i]->id),
			(size_t)k << VSWAP_SEG_SHIFT, MADV_DONTNEED);
		i += k;
	}
	__atomic_fetch_sub(&ms->seg_bytes, (uint64_t)n * VSWAP_SEG_SIZE,
			   __ATOMIC_RELAXED);
	memsource_uncharge(ms, (uint64_t)n * VSWAP_SEG_SIZE);
	pthread_mutex_lock(&ms->lock);
	for (unsigned i = 0; i < n; i++) {
		segs[i]->next_free = ms->free_head;
		ms->free_head = segs[i]->id;
	}
	pthread_mutex_unlock(&ms->lock);
}
