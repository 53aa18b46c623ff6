/* SPDX-License-Identifier: MIT */
/*
 * memsource.h - where every byte of pool memory comes from.
 *
 * The pool (pool.c) asks for fixed-size segments and gives them back; this
 * module is the only place that maps or unmaps pool memory, so NUMA binding
 * (mbind) and per-node residency reporting can be added here alone.
 *
 * Memory is reserved in arenas of VSWAP_ARENA_SEGS segments (one mmap each,
 * MAP_NORESERVE: address space only) so a large pool is a few VMAs rather
 * than one per segment (vm.max_map_count is 65530 by default). Segment ids
 * are dense:
 *   id = arena index * VSWAP_ARENA_SEGS + index in arena
 * and id -> descriptor / address is two loads, lock-free.
 *
 * Huge pages. Arenas are 2 MiB aligned and open to transparent huge pages,
 * and memory is taken and given back a region (VSWAP_REGION_SEGS segments,
 * one huge page) at a time: the first segment handed out of a region
 * faults the whole region in (one fault instead of 512), and its other
 * segments are "kept": free, resident, charged, handed out next without a
 * fault (not cleared: see alloc()). When a region's last segment is freed
 * the whole region is madvise(MADV_DONTNEED)ed at once. Freeing part of a
 * huge page would split it, and on a virtualised host every page left in a
 * split huge page then costs a hypervisor exit at its next touch (about
 * 5 us on a build machine: as much as the fault it saved). Kept memory is
 * bounded (memsource.c, keep_limit): past it, a region's kept segments go
 * back one by one and the region turns "small" (MADV_NOHUGEPAGE, so
 * khugepaged cannot fill its holes behind the accounting) for the life of
 * the store. A region that cannot be charged whole under the cap starts
 * small. Without THP all of this still holds, with small pages.
 *
 * NUMA (mempolicy.h): every arena carries the store's policy (mbind), so pages
 * land where the policy says when they are faulted in; under BIND a
 * segment is only handed out if the bound nodes have the memory for it.
 * The memsource owns the policy state (struct vswap_numa, embedded) and
 * applies it; mempolicy.h is below this header and never includes it.
 */
#ifndef VSWAP_MEMSOURCE_H
#define VSWAP_MEMSOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mempolicy.h"

/*
 * 128 KiB segments: 32 host pages. Big enough for large sequential
 * writeback I/O and to amortise per-segment work (one descriptor, one
 * madvise); small enough that an open head per context wastes little and a
 * small pool_max (a few hundred KiB in tests) still admits stores.
 */
#define VSWAP_SEG_SHIFT		17
#define VSWAP_SEG_SIZE		(UINT32_C(1) << VSWAP_SEG_SHIFT)
/* Arena pointers per leaf of the arena directory (4 KiB). */
#define VSWAP_ARENA_LEAF_SHIFT	9
#define VSWAP_ARENA_LEAF	(1u << VSWAP_ARENA_LEAF_SHIFT)

/* 512 segments = 64 MiB of address space per arena (one mmap, one VMA). */
#define VSWAP_ARENA_SHIFT	9
#define VSWAP_ARENA_SEGS	(1u << VSWAP_ARENA_SHIFT)

#define VSWAP_SEG_NONE		UINT32_MAX

/*
 * Segment descriptor. Lives in its arena's descriptor array (never in the
 * segment memory, which is zapped on free), so it stays addressable for the
 * life of the store even while its segment is free.
 * Fields (owner in brackets):
 *   lv       [atomic] SEG_SEALED | SEG_COMPACTING | live bytes (pool.h)
 *   used     [head owner while open; immutable once sealed] bytes appended
 *   state    [pool lock] enum seg_state, for validation and walks
 *   seq      [set at alloc] allocation sequence number (age order)
 *   birth_ns [set at alloc; a GC head's by its compaction] CLOCK_MONOTONIC
 *            at allocation; for a segment compaction filled, the youngest
 *            birth_ns of the segments its objects came from (pool.c)
 *   prev/next[pool lock] links of the pool's sealed list
 */
struct vswap_segment {
	uint64_t lv;
	uint32_t id;
	uint32_t used;
	uint32_t state;
	uint64_t seq;
	uint64_t birth_ns;
	struct vswap_segment *prev, *next;
};

/* 16 segments = 2 MiB: one x86-64 / arm64 (4 KiB granule) huge page. */
#define VSWAP_REGION_SHIFT	4
#define VSWAP_REGION_SEGS	(1u << VSWAP_REGION_SHIFT)
#define VSWAP_ARENA_REGIONS	(VSWAP_ARENA_SEGS >> VSWAP_REGION_SHIFT)

/*
 * Region state [memsource lock]. A region below the frontier (next_unused)
 * is on exactly one list, or on none:
 *   REGION_HUGE     live + popcount(free) == REGION_SEGS; free = kept
 *                   segments (resident, charged); on the kept list iff
 *                   free != 0
 *   REGION_SMALL    free = segments given back (not resident, not
 *                   charged); on the holes list iff free != 0
 *   REGION_RETURNED live == 0, nothing resident; on the returned list
 */
enum { REGION_RETURNED, REGION_HUGE, REGION_SMALL };

struct vswap_region {
	uint32_t prev, next;	/* region ids (id >> VSWAP_REGION_SHIFT) */
	uint16_t free;		/* bit i: segment i of the region is free */
	uint8_t live;		/* segments handed out */
	uint8_t state;
	bool nohuge;		/* MADV_NOHUGEPAGE: small for good */
};

struct vswap_arena {
	unsigned char *base;			/* VSWAP_ARENA_SEGS * SEG_SIZE */
	struct vswap_segment segs[VSWAP_ARENA_SEGS];
	struct vswap_region regions[VSWAP_ARENA_REGIONS];
};

/*
 * The byte budget of the store lives here too, since every byte of pool
 * memory passes through this module: "charged" counts segments handed out,
 * kept segments, arena metadata, and whatever else the store charges (the
 * slot table), and is what vswap_stats.pool_bytes reports. A charge is a
 * CAS that fails rather than pass the cap, so concurrent callers can never
 * overshoot it.
 *
 * Invariants (under lock):
 *   seg_bytes == (#segments handed out and not yet freed) * VSWAP_SEG_SIZE
 *   kept_bytes == (#free bits of REGION_HUGE regions) * VSWAP_SEG_SIZE
 *   kept_bytes <= keep_limit() after every free, except while
 *              trim_deferred (a compaction pass runs)
 *   charged == seg_bytes + kept_bytes + meta_bytes + bytes charged by the
 *              store
 *   max == 0 || charged <= max, except after vswap_set_pool_max lowered max
 *   every segment of arenas 0..narenas-1 is either handed out, free in its
 *   region (see struct vswap_region), or at index >= next_unused of the
 *   last arena (never touched yet); next_unused is a multiple of
 *   VSWAP_REGION_SEGS.
 */
struct vswap_memsource {
	pthread_mutex_t lock;	/* regions, lists, narenas, next_unused */
	/* Arena i is arena_dir[i >> VSWAP_ARENA_LEAF_SHIFT][i & leaf mask]:
	 * leaves of 512 pointers are made as arenas are, so a store of any
	 * capacity starts with only the directory (8 KiB at 2^32 slots).
	 * Both levels' entries are written once, with release. */
	struct vswap_arena ***arena_dir;
	uint32_t max_arenas;
	uint32_t narenas;
	uint32_t next_unused;		/* in arena narenas - 1 */
	/* Region lists (ids, VSWAP_SEG_NONE = empty), see vswap_region. */
	uint32_t kept_head, holes_head, returned_head;
	unsigned trim_deferred;		/* compaction passes running */
	uint64_t seq;			/* next segment sequence number */
	uint64_t seg_bytes;		/* atomic: segments handed out */
	uint64_t kept_bytes;		/* atomic: kept segments */
	uint64_t meta_bytes;		/* atomic: arena dir + descriptors */
	uint64_t charged;		/* atomic: pool_bytes, see above */
	uint64_t max;			/* atomic: cap of charged, 0 = none;
					 * users: pool_max(), pool.h */
	uint64_t peak;			/* atomic: high-water mark of charged */
	struct vswap_numa numa;		/* placement policy, see mempolicy.h */
};

/*
 * Charge @n bytes if that leaves @headroom bytes below the cap (headroom
 * keeps room for compaction's own destination segment). False if not.
 */
bool memsource_charge(struct vswap_memsource *ms, uint64_t n,
		      uint64_t headroom);
void memsource_uncharge(struct vswap_memsource *ms, uint64_t n);
/* Charge fixed metadata that exists whatever the cap (it was allocated
 * at store creation): never fails. */
void memsource_charge_fixed(struct vswap_memsource *ms, uint64_t n);

int memsource_init(struct vswap_memsource *ms, uint64_t max_segments,
		   uint64_t max_bytes);
void memsource_fini(struct vswap_memsource *ms);
/*
 * A segment with lv = 0, used = 0, charged with @headroom (see
 * memsource_charge) unless it was kept (charged already); NULL with
 * *err = VSWAP_E_NOSPACE (cap) or NOMEM. Its bytes are zero if it is new
 * or was given back; a kept one holds what it held (this store's dead
 * objects): only bytes below used have meaning.
 */
struct vswap_segment *memsource_alloc(struct vswap_memsource *ms,
				      uint64_t headroom, int *err);
/*
 * For the destination of a compaction pass: the next kept segment of the
 * region of segment @near (the previous destination; VSWAP_SEG_NONE for
 * none), else one of a region of its own (a returned or new one) if it can
 * be charged, else as memsource_alloc(@headroom 0). Taking any kept
 * segment instead would keep alive the very regions the pass empties,
 * which then, past the keep limit, split rather than go back whole.
 */
struct vswap_segment *memsource_alloc_fresh(struct vswap_memsource *ms,
					    uint32_t near, int *err);
/* Return a segment: kept, or its memory goes back to the host (above). */
void memsource_free(struct vswap_memsource *ms, struct vswap_segment *seg);
/* The same for @n segments (reorders @segs): small regions' neighbours
 * share a madvise. */
void memsource_free_many(struct vswap_memsource *ms,
			 struct vswap_segment **segs, unsigned n);

/*
 * Every kept segment goes back to the host (its region turns small): for
 * an explicit compaction or reclaim, which ask for memory back now.
 */
void memsource_release_kept(struct vswap_memsource *ms);

/*
 * Around a compaction pass: frees meanwhile keep their segments even past
 * the keep limit, which is enforced once at the end. A pass empties
 * regions segment by segment; trimmed as it went, the emptiest regions,
 * the ones about to go back whole, would be split first and stay small.
 * Nests (a count).
 */
void memsource_defer_trim(struct vswap_memsource *ms);
void memsource_resume_trim(struct vswap_memsource *ms);

/* Bytes of segments handed out or kept: the pool's resident memory. */
uint64_t memsource_held_bytes(struct vswap_memsource *ms);

/*
 * Segment ids handed out at least once so far: [0, result). Takes
 * ms->lock. Ids at or above it were never touched (no pages).
 */
uint32_t memsource_used_ids(struct vswap_memsource *ms);

/*
 * Make @pol/@nodes (already validated) the policy of every arena and of
 * arenas created from now on; *used = memsource_used_ids() at that
 * moment: a segment id at or above it is first handed out (and faulted
 * in) after the change. 0, or a negative errno from mbind (then the old
 * policy stays in force on every arena).
 */
int memsource_set_policy(struct vswap_memsource *ms, uint32_t pol,
			 uint64_t nodes, uint32_t *used);

/* Arena number @i (< narenas). */
static inline struct vswap_arena *memsource_arena_at(struct vswap_memsource *ms,
						     uint32_t i)
{
	struct vswap_arena **leaf =
		__atomic_load_n(&ms->arena_dir[i >> VSWAP_ARENA_LEAF_SHIFT],
				__ATOMIC_ACQUIRE);

	return __atomic_load_n(&leaf[i & (VSWAP_ARENA_LEAF - 1)],
			       __ATOMIC_ACQUIRE);
}

static inline struct vswap_arena *memsource_arena(struct vswap_memsource *ms,
						  uint32_t id)
{
	return memsource_arena_at(ms, id >> VSWAP_ARENA_SHIFT);
}

static inline struct vswap_segment *memsource_seg(struct vswap_memsource *ms,
						  uint32_t id)
{
	return &memsource_arena(ms, id)->segs[id & (VSWAP_ARENA_SEGS - 1)];
}

static inline unsigned char *memsource_addr(struct vswap_memsource *ms,
					    uint32_t id)
{
	return memsource_arena(ms, id)->base +
	       ((size_t)(id & (VSWAP_ARENA_SEGS - 1)) << VSWAP_SEG_SHIFT);
}

#endif /* VSWAP_MEMSOURCE_H */
