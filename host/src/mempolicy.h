/* SPDX-License-Identifier: MIT */
/*
 * mempolicy.h - host NUMA placement of the pool's segments (docs/numa.md).
 *
 * The policy is applied where pool memory is taken, in memsource.c: every
 * arena (one mmap) carries the store's policy as its VMA policy (mbind
 * without MPOL_MF_MOVE), set when the arena is created and again on every
 * policy change, so a page faulted in (MADV_POPULATE_WRITE when a segment
 * is handed out, or a segment reused after MADV_DONTNEED) lands where the
 * policy says. Pages already present stay; migration (mempolicy.c) moves them
 * segment by segment with move_pages(2), which reports every page's fate.
 *
 * Who owns what: this header is the policy, below the memsource: the
 * state (struct vswap_numa) and what is done with it to a range of memory
 * (mbind, BIND admission); it knows nothing of segments or arenas. The
 * memsource (memsource.h) embeds the state, includes this header and calls
 * these on its arenas; never the other way round. The public NUMA calls
 * (vswap_store_set_mempolicy, vswap_migrate, vswap_refresh_nodes) walk the
 * memsource's segments and so live above both, in mempolicy.c, which
 * includes memsource.h.
 *
 * Fields (protection in brackets):
 *   mpol, nodes   [ms->lock to write; atomic to read] policy in force.
 *                 Written together under ms->lock, so an arena created by
 *                 grow() (under ms->lock) always gets the current pair.
 *   applied       [ms->lock] arenas carry an explicit VMA policy (a
 *                 policy other than DEFAULT was set once): new arenas
 *                 need an mbind even for DEFAULT.
 *   lock          policy changes and the migration cursor; taken before
 *                 ms->lock, never inside it.
 *   cursor, limit [lock] migration examines segment ids [cursor, limit):
 *                 a policy change sets cursor = 0 and limit = the ids
 *                 used so far (gen++), so every segment taken before the
 *                 change is examined once afterwards; later ones are
 *                 faulted in under the new policy already.
 *   gen           [lock] policy generation: a migration batch that sees
 *                 it change does not advance the (reset) cursor.
 *   migrate_lock  one vswap_migrate at a time per store.
 *   free_bytes, free_ns  [atomic] BIND admission cache: free memory of
 *                 the bound nodes as the kernel reported it at free_ns,
 *                 minus the segments admitted since.
 *   node_bytes[], refreshed_ns  [atomic] result of the last refresh.
 *   migrated, failed  [atomic] migration totals.
 *
 * Invariants: mpol == DEFAULT <=> nodes == 0; every node of nodes passed
 * vswap_mempolicy_check() when it was set; limit == 0 under DEFAULT;
 * cursor <= limit <= segments ever used.
 */
#ifndef VSWAP_MEMPOLICY_H
#define VSWAP_MEMPOLICY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vswap.h"

struct vswap_numa {
	uint32_t mpol;
	uint64_t nodes;
	bool applied;
	pthread_mutex_t lock;
	uint32_t cursor;
	uint32_t limit;
	uint64_t gen;
	pthread_mutex_t migrate_lock;
	int64_t free_bytes;
	uint64_t free_ns;
	uint64_t node_bytes[VSWAP_MAX_NODES];
	uint64_t refreshed_ns;
	uint64_t migrated;
	uint64_t failed;
};

int mpol_init(struct vswap_numa *n);
void mpol_fini(struct vswap_numa *n);

/*
 * Give [base, base + len) the policy in force (mbind, no move). Called
 * with ms->lock held. 0 or a negative errno.
 */
int mpol_apply(const struct vswap_numa *n, void *base, size_t len);

/*
 * May a new segment of @bytes be faulted in? Always true unless the policy
 * is BIND; under BIND false when the bound nodes' free memory (cached for
 * VSWAP_NUMA_FREE_CACHE_MS) minus @bytes would drop below the reserve the
 * kernel needs to allocate without its OOM killer (see mempolicy.c).
 */
bool mpol_admit(struct vswap_numa *n, uint64_t bytes);

/*
 * Segment bytes migration has still to examine (0 under DEFAULT), given
 * @held, the memsource's segment bytes now (free segments in the range to
 * examine hold nothing, so that caps the answer). Takes n->lock.
 */
uint64_t mpol_pending_bytes(struct vswap_numa *n, uint64_t held);

/* Policy in force, read atomically (one of the pair may be a change
 * newer than the other for an instant; callers only report it). */
static inline uint32_t mpol_policy(const struct vswap_numa *n)
{
	return __atomic_load_n(&n->mpol, __ATOMIC_RELAXED);
}

static inline uint64_t mpol_nodes_of(const struct vswap_numa *n)
{
	return __atomic_load_n(&n->nodes, __ATOMIC_RELAXED);
}

#endif /* VSWAP_MEMPOLICY_H */
