/* SPDX-License-Identifier: MIT */
/*
 * The kernel's view of a store's pool placement, found without the
 * library's NUMA code (header-only; used by host/tests/test_numa.c and the
 * multi-node guest test tests/numa/numa_guest.c):
 *
 *   kernel_pool_nodes()  walks the pool's arenas (internal headers) and
 *                        asks move_pages(2) page by page, in its own
 *                        batches, where each present page is
 *   kernel_arena_policy() get_mempolicy(MPOL_F_ADDR) of the first arena:
 *                        the VMA policy the library set
 *
 * Include after store.h (needs struct vswap_store and memsource.h).
 */
#ifndef VSWAP_NUMA_TEST_H
#define VSWAP_NUMA_TEST_H

#include <numaif.h>
#include <stdint.h>

#define KQ_BATCH	64	/* deliberately not the library's batch size */

/*
 * Pages of the pool per node (count[n]), present pages in total (*present)
 * and pages the kernel reported no node for (not present) in *absent.
 * Returns 0, or -1 if move_pages failed as a whole.
 */
static inline int kernel_pool_nodes(struct vswap_store *s, uint64_t count[64],
				    uint64_t *present, uint64_t *absent)
{
	struct vswap_memsource *ms = &s->pool.ms;
	void *pages[KQ_BATCH];
	int where[KQ_BATCH];
	uint32_t narenas;

	memset(count, 0, 64 * sizeof(count[0]));
	*present = *absent = 0;
	pthread_mutex_lock(&ms->lock);
	narenas = ms->narenas;
	pthread_mutex_unlock(&ms->lock);
	for (uint32_t a = 0; a < narenas; a++) {
		unsigned char *base = memsource_arena_at(ms, a)->base;
		size_t npages = ((size_t)VSWAP_ARENA_SEGS << VSWAP_SEG_SHIFT) /
				VSWAP_PAGE_SIZE;

		for (size_t p = 0; p < npages; p += KQ_BATCH) {
			for (unsigned i = 0; i < KQ_BATCH; i++)
				pages[i] = base + (p + i) * VSWAP_PAGE_SIZE;
			if (move_pages(0, KQ_BATCH, pages, NULL, where, 0))
				return -1;
			for (unsigned i = 0; i < KQ_BATCH; i++) {
				if (where[i] >= 0 && where[i] < 64) {
					count[where[i]]++;
					(*present)++;
				} else {
					(*absent)++;
				}
			}
		}
	}
	return 0;
}

/* VMA policy mode and node mask of the first arena; -1 if none/failed. */
static inline int kernel_arena_policy(struct vswap_store *s, uint64_t *mask)
{
	struct vswap_memsource *ms = &s->pool.ms;
	unsigned long m[2] = { 0, 0 };
	int mode;

	if (!ms->narenas)
		return -1;
	if (get_mempolicy(&mode, m, 65, memsource_arena_at(ms, 0)->base, MPOL_F_ADDR))
		return -1;
	*mask = m[0];
	return mode;
}

#endif /* VSWAP_NUMA_TEST_H */
