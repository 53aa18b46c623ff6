/* SPDX-License-Identifier: MIT */
/*
 * fresh_map.h - new anonymous memory mapped as libvswap's memsource.c maps
 * the pool's arenas, for the benchmarks' bounds that must pay what a pool
 * pays for new memory (page faults, zeroing): host_bench's calibrations
 * and bench_migration's placed copy. Header-only.
 */
#ifndef VSWAP_BENCH_FRESH_MAP_H
#define VSWAP_BENCH_FRESH_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define FRESH_SEG	((size_t)128 << 10)	/* the pool's segment */
#define FRESH_HUGE	((size_t)2 << 20)	/* x86-64 huge page */

/*
 * A new mapping of @len bytes (a multiple of FRESH_SEG), nothing faulted
 * in yet, or NULL. @huge: aligned to FRESH_HUGE and open to transparent
 * huge pages, as memsource.c maps the pool's arenas; else small pages
 * only. Unmap with fresh_unmap().
 */
static inline unsigned char *fresh_map(size_t len, bool huge)
{
	size_t span = len + FRESH_HUGE;
	unsigned char *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);
	unsigned char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (unsigned char *)(((uintptr_t)p + FRESH_HUGE - 1) &
			      ~(uintptr_t)(FRESH_HUGE - 1));
	if (a != p)
		munmap(p, (size_t)(a - p));
	munmap(a + len, (size_t)(p + span - (a + len)));
	madvise(a, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return a;
}

static inline void fresh_unmap(unsigned char *p, size_t len)
{
	munmap(p, len);
}

#endif /* VSWAP_BENCH_FRESH_MAP_H */
