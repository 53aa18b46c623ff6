/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the one clock of the library: CLOCK_MONOTONIC in nanoseconds.
 *
 * Segment birth times (writeback ages), load latencies, the BIND free-memory
 * cache and the NUMA refresh stamp all compare values taken here, and
 * vswap.h promises CLOCK_MONOTONIC for the ones a caller sees
 * (vswap_writeback's min_age_ns, vswap_stats.nodes_refreshed_ns), so every
 * file reads time through this helper and no other.
 */
#ifndef VSWAP_CLOCK_H
#define VSWAP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* VSWAP_CLOCK_H */
