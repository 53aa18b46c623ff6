/* SPDX-License-Identifier: MIT */
/*
 * same_dict.h - the dictionary of same-fill values of a store.
 *
 * A same-filled page (one 64-bit value repeated, not zero) costs no pool
 * memory: its slot entry (slot_table.h, kind SAME) holds an index into this
 * dictionary, which holds the value once with a count of the entries that
 * use it. Zero pages have their own kind and never come here. Few distinct
 * values occur in practice (0xff.., a handful of patterns), so the
 * dictionary is small; it is bounded by SAME_DICT_MAX values, and a store
 * that finds it full (or cannot charge its growth) stores the page as an
 * ordinary compressed object instead, which is always correct.
 *
 * Layout:
 *   ent[]     blocks of SAME_DICT_BLOCK entries {value, refs, next, prev},
 *             allocated on demand, never moved or freed before fini: an
 *             index stays valid, and a value at an index with refs > 0
 *             never changes;
 *   bucket[]  hash table (power of two) of doubly linked chains through
 *             ent.next/ent.prev, from value to index; rebuilt when it
 *             grows; prev == NONE marks the first entry of a chain, so a
 *             value is unchained in O(1), never by walking its chain;
 *   free list of indexes whose refs dropped to 0, through ent.next.
 * Hash flooding: the guest chooses the fill values, i.e. the keys. With a
 * public hash it could put every value in one bucket (~65 Ki crafted
 * values: seconds per store, and a reset walking 2^31 entries). So:
 *   - the bucket of a value is SipHash-1-3 of it under a 128-bit key drawn
 *     from getrandom(2) per store (and again at every clear, i.e. reset):
 *     the key is what keeps a guest from computing which values collide;
 *     it never leaves the host process;
 *   - a chain never grows beyond SAME_DICT_CHAIN_MAX entries: a value
 *     whose chain is full is refused (stored compressed instead), so even
 *     a guest that learnt the key (a timing side channel, say) gets at
 *     most that many probes per lookup; with a secret key and load <= 1
 *     a chain that long is about e^-1/16! ~ 2e-14 likely per bucket;
 *   - removal is O(1) (prev links), and clear frees blocks without any
 *     per-value work.
 * Memory: blocks and bucket array are charged to the pool budget
 * (memsource, with the GC headroom kept, like slot-table growth) BEFORE
 * they are allocated: they count in pool_bytes and meta_bytes, and at
 * pool_max a value that needs new dictionary memory is refused; the page
 * then takes the compressed path, which at a full pool is VSWAP_E_NOSPACE
 * (or a writeback) like any other store.
 * Fields:
 *   lock      everything below but the lock-free reads of same_dict_value
 *   key       SipHash key; changed only by clear (quiesced)
 *   blk[i]    atomic pointer (published with release, read with acquire)
 *   nalloc    indexes handed out so far (the high-water mark); all < it
 *             are in blocks that exist
 *   nlive     indexes with refs > 0
 *   bytes     atomic: blocks + bucket array, what the pool is charged
 *             (memsource) and what meta_bytes reports
 *   probes    chain entries visited by lookups: the work a guest's choice
 *             of values can cause (bounded per lookup, see above), for
 *             tests
 * Refcounts: refs of index i == the number of SAME entries holding i. An
 * entry takes its reference (same_dict_get) before it is installed and the
 * entry's killer drops it (same_dict_put) under the slot lock, so a load
 * holding the slot lock reads a value nobody can change
 * (same_dict_value: no dictionary lock on the load path).
 *
 * Invariants (quiesced; same_dict_is_valid): nlive == indexes with refs > 0
 * == nalloc - length of the free list; every live index is on exactly the
 * chain of its value's bucket, no value twice; a chain's prev links mirror
 * its next links (the first has prev NONE); no chain is longer than
 * SAME_DICT_CHAIN_MAX; bytes == blocks * block bytes + nbucket * 4.
 *
 * Lock order: the dictionary lock is a leaf below ms->lock's callers: it is
 * taken holding a context and maybe a slot lock (same_dict_put), and while
 * held only memsource charges (ms->lock) happen.
 */
#ifndef VSWAP_SAME_DICT_H
#define VSWAP_SAME_DICT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "memsource.h"

/* 1024 entries of 24 bytes: one 24 KiB block per 1024 distinct values. */
#define SAME_DICT_BLOCK_SHIFT	10
#define SAME_DICT_BLOCK		(1u << SAME_DICT_BLOCK_SHIFT)
/*
 * At most 64 Ki distinct values (1.5 MiB of blocks + 256 KiB of buckets):
 * beyond that the pages compress to tiny objects all the same; the bound
 * keeps the dictionary a small, fixed structure.
 */
#define SAME_DICT_BLOCKS	64u
#define SAME_DICT_MAX		(SAME_DICT_BLOCKS * SAME_DICT_BLOCK)
#define SAME_DICT_NONE		UINT32_MAX
/*
 * Longest chain allowed (see "Hash flooding" above): far beyond what a
 * random key ever produces at load <= 1, small enough that a lookup is a
 * few cache lines whatever the guest does.
 */
#define SAME_DICT_CHAIN_MAX	16u

struct same_ent {
	uint64_t value;		/* atomic (lock-free readers) */
	uint32_t refs;		/* atomic; written under the lock */
	uint32_t next;		/* chain or free list; under the lock */
	uint32_t prev;		/* chain (NONE: first); under the lock */
	uint32_t unused;	/* padding to 8 */
};

struct vswap_same_dict {
	pthread_mutex_t lock;
	uint64_t key[2];
	struct same_ent *blk[SAME_DICT_BLOCKS];
	uint32_t *bucket;
	uint32_t nbucket;	/* 0 or a power of two */
	uint32_t nalloc;
	uint32_t nlive;
	uint32_t free_head;
	uint64_t bytes;
	uint64_t probes;
};

/* VSWAP_OK, VSWAP_E_NOMEM, or VSWAP_E_IO (no random key: entropy.h). */
int same_dict_init(struct vswap_same_dict *d);
void same_dict_fini(struct vswap_same_dict *d);
/*
 * Free the blocks and buckets of a dictionary without references (store
 * quiesced, every entry dropped) and draw a new key (keeping the old one
 * if getrandom fails: still secret); returns the bytes to uncharge.
 */
uint64_t same_dict_clear(struct vswap_same_dict *d);

/*
 * A reference to @value (not 0): its index in *idx. Grows the dictionary
 * if needed, charging @ms (leaving @headroom below the cap, never
 * compacting). False: the dictionary is full, the value's chain is full,
 * or the charge or allocation failed: the caller stores the page another
 * way. Visits at most SAME_DICT_CHAIN_MAX entries.
 */
bool same_dict_get(struct vswap_same_dict *d, struct vswap_memsource *ms,
		   uint64_t headroom, uint64_t value, uint32_t *idx);
/* Drop a reference the caller's entry held. O(1): no chain walk. */
void same_dict_put(struct vswap_same_dict *d, uint64_t idx);
/*
 * The value at @idx, which an entry the caller holds locked references.
 * False if @idx is not a live index (a corrupt entry: INTEGRITY).
 */
bool same_dict_value(struct vswap_same_dict *d, uint64_t idx, uint64_t *value);

/* Refs of @idx (0 if none), for the invariant check. */
uint32_t same_dict_refs(struct vswap_same_dict *d, uint64_t idx);
/*
 * Debug (quiesced): the invariants above, and *refs_total gets the sum of
 * all refcounts (== the number of SAME entries, check.c).
 */
bool same_dict_is_valid(struct vswap_same_dict *d, uint64_t *refs_total);

#endif /* VSWAP_SAME_DICT_H */
