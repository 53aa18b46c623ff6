// SPDX-License-Identifier: MIT
/*
 * memsource.c - segments of pool memory from mmap'd arenas; see memsource.h.
 *
 * Lock: ms->lock protects the free list and arena growth. It is the
 * innermost lock of the library (nothing is taken while holding it), and
 * the madvise that returns a freed segment's pages runs outside it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "memsource.h"
#include "vswap.h"

#define ARENA_BYTES	((size_t)VSWAP_ARENA_SEGS << VSWAP_SEG_SHIFT)

int memsource_init(struct vswap_memsource *ms, uint64_t max_segments)
{
	uint64_t n = (max_segments + VSWAP_ARENA_SEGS - 1) >> VSWAP_ARENA_SHIFT;

	memset(ms, 0, sizeof(*ms));
	/* Segment ids are 32-bit and UINT32_MAX means "none". */
	if (n == 0 || n > (UINT32_MAX >> VSWAP_ARENA_SHIFT))
		return VSWAP_E_INVAL;
	ms->arenas = calloc(n, sizeof(*ms->arenas));
	if (!ms->arenas)
		return VSWAP_E_NOMEM;
	if (pthread_mutex_init(&ms->lock, NULL)) {
		free(ms->arenas);
		return VSWAP_E_NOMEM;
	}
	ms->max_arenas = (uint32_t)n;
	ms->free_head = VSWAP_SEG_NONE;
	ms->meta_bytes = n * sizeof(*ms->arenas);
	return VSWAP_OK;
}

void memsource_fini(struct vswap_memsource *ms)
{
	if (!ms->arenas)
		return;
	for (uint32_t i = 0; i < ms->narenas; i++) {
		munmap(ms->arenas[i]->base, ARENA_BYTES);
		free(ms->arenas[i]);
	}
	free(ms->arenas);
	ms->arenas = NULL;
	pthread_mutex_destroy(&ms->lock);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Called with ms->lock held. */
static int grow(struct vswap_memsource *ms)
{
	struct vswap_arena *a;

	if (ms->narenas == ms->max_arenas)
		return -1;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -1;
	a->base = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->base == MAP_FAILED) {
		free(a);
		return -1;
	}
	for (uint32_t i = 0; i < VSWAP_ARENA_SEGS; i++)
		a->segs[i].id = (ms->narenas << VSWAP_ARENA_SHIFT) | i;
	__atomic_store_n(&ms->arenas[ms->narenas], a, __ATOMIC_RELEASE);
	ms->narenas++;
	ms->next_unused = 0;
	__atomic_fetch_add(&ms->meta_bytes, sizeof(*a), __ATOMIC_RELAXED);
	return 0;
}

struct vswap_segment *memsource_alloc(struct vswap_memsource *ms)
{
	struct vswap_segment *seg;

	pthread_mutex_lock(&ms->lock);
	if (ms->free_head != VSWAP_SEG_NONE) {
		seg = memsource_seg(ms, ms->free_head);
		ms->free_head = seg->next_free;
	} else {
		if ((ms->narenas == 0 || ms->next_unused == VSWAP_ARENA_SEGS) &&
		    grow(ms)) {
			pthread_mutex_unlock(&ms->lock);
			return NULL;
		}
		seg = &ms->arenas[ms->narenas - 1]->segs[ms->next_unused++];
	}
	seg->seq = ms->seq++;
	pthread_mutex_unlock(&ms->lock);

	__atomic_store_n(&seg->lv, 0, __ATOMIC_RELAXED);
	seg->used = 0;
	seg->next_free = VSWAP_SEG_NONE;
	seg->prev = seg->next = NULL;
	seg->birth_ns = now_ns();
	__atomic_fetch_add(&ms->seg_bytes, VSWAP_SEG_SIZE, __ATOMIC_RELAXED);
	return seg;
}

void memsource_free(struct vswap_memsource *ms, struct vswap_segment *seg)
{
	/* The pages really go back to the host; reuse faults in zero pages. */
	madvise(memsource_addr(ms, seg->id), VSWAP_SEG_SIZE, MADV_DONTNEED);
	__atomic_fetch_sub(&ms->seg_bytes, VSWAP_SEG_SIZE, __ATOMIC_RELAXED);
	pthread_mutex_lock(&ms->lock);
	seg->next_free = ms->free_head;
	ms->free_head = seg->id;
	pthread_mutex_unlock(&ms->lock);
}
