/* SPDX-License-Identifier: MIT */
/*
 * stream.h - the store as a stream of logical slot records, for live
 * migration (docs/migration.md): a log of slots changed since they were
 * last sent, the export that drains it, the import that rebuilds a store.
 *
 * Dirty log: one bit per slot, in blocks of DIRTY_BLOCK_SLOTS bits
 * allocated on first use (a 2^32-slot store that is mostly empty costs
 * its 32 KiB block directory, not 512 MiB of bitmap).
 * Invariants, while an export is running (store->export != NULL):
 *   - a slot whose content changed (store, invalidate, reset, import)
 *     since the export last read it has its bit set: the changer sets it
 *     after publishing the entry, still holding its context, and the
 *     export clears a bit (atomic exchange of its word) before it locks
 *     and reads the entry, so either it reads the new content or the bit
 *     is set again after it;
 *   - moving content (compaction, writeback, NUMA migration) sets no bit:
 *     the slot's logical content is unchanged;
 *   - count == bits set (each 0 -> 1 counted by its setter, each 1 -> 0
 *     by the clearer), up to the races of one word in flight;
 *   - a block that could not be allocated sets overflow: the next export
 *     call marks every used slot again (correct, only more work).
 * store->export is published and withdrawn with every context held
 * (ctx_quiesce), so an operation sees one value of it from start to end
 * and the export is never freed under a marker.
 *
 * Reset: vswap_reset() (quiesced) clears every bit and bumps reset_gen;
 * the export's next call sends a RESET record before anything else, so
 * the destination drops what it has too.
 */
#ifndef VSWAP_STREAM_H
#define VSWAP_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#define DIRTY_BLOCK_SHIFT	20			/* slots per block */
#define DIRTY_BLOCK_SLOTS	(UINT64_C(1) << DIRTY_BLOCK_SHIFT)
#define DIRTY_BLOCK_WORDS	(DIRTY_BLOCK_SLOTS / 64)

struct vswap_store;

struct vswap_export {
	struct vswap_store *s;
	uint64_t nblocks;
	uint64_t **block;	/* entries atomic; NULL = no bit set there */
	uint64_t count;		/* atomic: bits set */
	bool overflow;		/* atomic: a block was missing, mark again */
	uint64_t cursor;	/* next slot export_next looks at */
	uint32_t reset_gen;	/* the store's reset_gen we last sent */
	uint64_t records;	/* sent so far (tests, stats) */
	uint64_t passes;	/* walks of the whole log completed */
};

/* Record that @slot changed (the caller holds a context). */
void dirty_set(struct vswap_export *x, uint64_t slot);

static inline void dirty_mark(struct vswap_export *x, uint64_t slot)
{
	if (__builtin_expect(x != NULL, 0))
		dirty_set(x, slot);
}

/* Quiesced store (reset): forget every bit. */
void dirty_clear_all(struct vswap_export *x);

#endif /* VSWAP_STREAM_H */
