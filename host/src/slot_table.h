/* SPDX-License-Identifier: MIT */
/*
 * slot_table.h - the sparse table of slot entries (one per guest swap slot).
 *
 * Layout: a three-level radix table, allocated lazily.
 *   dir[slot >> 20]                -> mid table   (1024 chunk pointers and
 *                                     1024 chunk state words, 12 KiB)
 *   mid->chunk[(slot >> 10) & 1023] -> chunk      (1024 entries, 8 KiB,
 *                                     8 KiB x index past the mid table)
 *   chunk[slot & 1023]             -> struct vswap_slot (8 bytes)
 * dir is sized from the capacity at init (4096 pointers = 32 KiB for the
 * maximum 2^32 slots); mid tables and chunk pointers are installed with a
 * CAS on first store and stay at their address until slot_table_clear()
 * (quiesced) or fini. A chunk covers 4 MiB of guest swap: small enough that
 * a sparse guest wastes little, large enough that the guest's clustered
 * slot allocation fills it.
 * A mid table is the head of one mapping that reserves the address space
 * of its 1024 chunks too (12 KiB + 8 MiB, MAP_NORESERVE, small pages),
 * made once per 4 GiB of guest swap; a chunk is then only a pointer into
 * it, its pages faulted in by the first store. An mmap per chunk took mmap_lock for writing on the
 * store path, and waited behind every other thread's page fault and pool
 * populate (the two-thread store blocked there about ten times a run).
 *
 * Chunk release (memory follows use): mid->state[m] of chunk m is
 *   bit 31 (CHUNK_RESIDENT): the chunk's 8 KiB are charged (in t->bytes
 *          and the pool budget) and may be resident;
 *   bits 0-30 (live): non-empty entries + reservations of stores in flight.
 * A store reserves its chunk (slot_table_get) before it looks at the entry
 * and gives the reservation back with slot_table_unref() unless it turned
 * an EMPTY entry into a used one (then the reservation is that entry's
 * count). Whoever takes live to 0 (slot_table_unref) tries to release the
 * chunk: trylock all 1024 entries, CAS state RESIDENT|0 -> 0, then
 * madvise(MADV_DONTNEED) drops the pages; the all-zero pages that come back
 * on the next touch are 1024 unlocked EMPTY entries, so the zap is also the
 * unlock. A reservation on a released chunk (state 0) charges the chunk
 * again (slot_table.c has the race analysis).
 *
 * Entry, one 64-bit word w (atomic; it is its own lock):
 *   bits 0-2   kind (enum vswap_slot_kind)
 *   bit  3     lock (SLOT_LOCK)
 *   bits 4-16  payload length (13 bits, 1..4096; 0 for EMPTY, ZERO, SAME)
 *   bits 17-63 location (47 bits), by kind:
 *     COMP, RAW: the pool object, segment id << 14 | offset / 8 (pool.h:
 *                pool_loc; offsets are 8-aligned in a 128 KiB segment)
 *     DISK_COMP, DISK_RAW: byte offset / 8 of the object in the disk
 *                tier's file (tier.h; the file stays below 2^50 bytes);
 *                the object is the payload as it was in the pool behind
 *                an 8-byte header with checksum (in every store), its
 *                extent tier_obj_size(length) bytes
 *     SAME:      index of the fill value in the store's dictionary
 *                (same_dict.h), which holds one reference for this entry
 *     ZERO, EMPTY: 0
 * The checksum of a payload lives in its object's header (pool.h), not
 * here. Metadata per stored page: 8 bytes of entry + an object header of
 * 4 bytes (8 with checksums); a ZERO page 8, a SAME page 8 plus its share
 * of the dictionary entry of its value.
 * Locking: the lock bit protects the entry and, for a pool or disk kind,
 * the object it names (header included). Take it with slot_lock(), which
 * returns w without the lock bit; release with slot_unlock(e, new_w),
 * which publishes the new w and drops the lock in one release store. Since
 * the whole entry is one word, an unlocked acquire load of w is a
 * consistent snapshot: the segment walks (pool.h: pool_obj_walk) use that
 * to decide whether an object is live without taking the lock.
 * EMPTY is exactly w == 0: nobody ever stores another EMPTY value. Only a
 * store holding a reservation of the chunk may lock an EMPTY entry
 * (slot_lock); every other locker uses slot_lock_used(), which leaves an
 * EMPTY entry alone, so nobody else writes to (and faults back in) the
 * pages of a released chunk.
 */
#ifndef VSWAP_SLOT_TABLE_H
#define VSWAP_SLOT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vswap_slot_kind {
	SLOT_EMPTY = 0,		/* holds nothing: loads zeroes */
	SLOT_SAME = 1,		/* same-filled page; dictionary index */
	SLOT_COMP = 2,		/* compressed pool object */
	SLOT_RAW = 3,		/* incompressible page stored as-is (4096 B) */
	SLOT_DISK_COMP = 4,	/* compressed object on the disk tier */
	SLOT_DISK_RAW = 5,	/* as-is page on the disk tier */
	SLOT_ZERO = 6,		/* zero-filled page */
	/* 7 reserved */
};

#define SLOT_KIND_MASK		UINT64_C(0x7)
#define SLOT_LOCK		UINT64_C(0x8)
#define SLOT_LEN_SHIFT		4
#define SLOT_LEN_MASK		UINT64_C(0x1fff)	/* 13 bits: 0..8191 */
#define SLOT_LOC_SHIFT		17
#define SLOT_LOC_BITS		47
#define SLOT_LOC_MAX		((UINT64_C(1) << SLOT_LOC_BITS) - 1)

/* Atomics: w is only accessed with __atomic builtins (it is the lock). */
struct vswap_slot {
	uint64_t w;
};

_Static_assert(sizeof(struct vswap_slot) == 8, "8 bytes of entry per slot");

static inline unsigned slot_kind(uint64_t w)
{
	return (unsigned)(w & SLOT_KIND_MASK);
}

static inline uint32_t slot_len(uint64_t w)
{
	return (uint32_t)((w >> SLOT_LEN_SHIFT) & SLOT_LEN_MASK);
}

static inline uint64_t slot_loc(uint64_t w)
{
	return w >> SLOT_LOC_SHIFT;
}

/* @loc <= SLOT_LOC_MAX, @len <= SLOT_LEN_MASK (callers' invariants). */
static inline uint64_t slot_w(unsigned kind, uint32_t len, uint64_t loc)
{
	return (uint64_t)kind | ((uint64_t)len << SLOT_LEN_SHIFT) |
	       (loc << SLOT_LOC_SHIFT);
}

/* Disk kinds: the object's byte offset in the file. */
static inline uint64_t slot_disk_off(uint64_t w)
{
	return slot_loc(w) << 3;
}

static inline bool slot_in_pool(unsigned kind)
{
	return kind == SLOT_COMP || kind == SLOT_RAW;
}

static inline bool slot_on_disk(unsigned kind)
{
	return kind == SLOT_DISK_COMP || kind == SLOT_DISK_RAW;
}

/* The kind a pool object of @kind gets when written back, and back. */
static inline unsigned slot_disk_kind(unsigned kind)
{
	return kind == SLOT_RAW ? SLOT_DISK_RAW : SLOT_DISK_COMP;
}

#define SLOT_CHUNK_SHIFT	10
#define SLOT_CHUNK_ENTRIES	(1u << SLOT_CHUNK_SHIFT)
#define SLOT_MID_SHIFT		10
#define SLOT_MID_ENTRIES	(1u << SLOT_MID_SHIFT)
#define SLOT_DIR_SHIFT		(SLOT_CHUNK_SHIFT + SLOT_MID_SHIFT)

#define SLOT_CHUNK_BYTES	(SLOT_CHUNK_ENTRIES * sizeof(struct vswap_slot))
#define CHUNK_RESIDENT		(UINT32_C(1) << 31)
#define CHUNK_LIVE_MASK		(CHUNK_RESIDENT - 1)

struct vswap_slot_mid {
	struct vswap_slot *chunk[SLOT_MID_ENTRIES];	/* atomic; NULL: unused */
	uint32_t state[SLOT_MID_ENTRIES];		/* atomic, see above */
};

#define SLOT_MID_BYTES		sizeof(struct vswap_slot_mid)
/* The mapping a mid table heads: itself, then its chunks' space. */
#define SLOT_MID_SPAN		(SLOT_MID_BYTES + \
				 (size_t)SLOT_MID_ENTRIES * SLOT_CHUNK_BYTES)

struct vswap_slot_table {
	uint64_t capacity;			/* slots; immutable */
	size_t ndir;				/* dir entries; immutable */
	/* dir[i], chunk[] and state[] only with __atomic builtins */
	struct vswap_slot_mid **dir;		/* ndir mid tables */
	/* atomic: dir + mids + RESIDENT chunks (what the pool is charged) */
	uint64_t bytes;
	uint64_t releases;			/* atomic: chunks given back */
	/* atomic: chunks whose entries a range walk (invalidate) read: the
	 * RESIDENT ones of the range only (slot_table_resident_chunk); the
	 * work a large INVALIDATE costs, for tests */
	uint64_t walked;
};

int slot_table_init(struct vswap_slot_table *t, uint64_t capacity);
void slot_table_fini(struct vswap_slot_table *t);
/* Free every mid table and chunk. Caller guarantees nobody else is inside. */
void slot_table_clear(struct vswap_slot_table *t);

/*
 * Entry of @slot, or NULL if its chunk was never mapped (slot empty). The
 * pointer stays valid until clear/fini; the chunk may be released (all
 * EMPTY) meanwhile, which only the EMPTY fast paths see.
 */
static inline struct vswap_slot *slot_table_lookup(struct vswap_slot_table *t,
						   uint64_t slot)
{
	struct vswap_slot_mid *mid;
	struct vswap_slot *chunk;

	mid = __atomic_load_n(&t->dir[slot >> SLOT_DIR_SHIFT], __ATOMIC_ACQUIRE);
	if (!mid)
		return NULL;
	chunk = __atomic_load_n(&mid->chunk[(slot >> SLOT_CHUNK_SHIFT) &
					    (SLOT_MID_ENTRIES - 1)],
				__ATOMIC_ACQUIRE);
	if (!chunk)
		return NULL;
	return &chunk[slot & (SLOT_CHUNK_ENTRIES - 1)];
}

/* slot_table_get() could not reserve within its budget: recompute it. */
#define SLOT_TABLE_AGAIN	1

/*
 * Entry of @slot for a store, in *e, with a reservation of its chunk taken
 * (give it back with slot_table_unref() unless the store turned an EMPTY
 * entry into a used one). Maps the chunk (and its mid table) if needed.
 * Charges at most @budget bytes: a missing mid table and a chunk that is
 * not RESIDENT; *added gets the bytes it charged (added to t->bytes).
 * Nothing is allocated or mapped that the budget does not cover (the
 * mid table and a missing chunk's mapping are checked before they are
 * made), so a caller refused at the cap leaves no trace.
 * Returns VSWAP_OK, VSWAP_E_NOMEM, or SLOT_TABLE_AGAIN when @budget was
 * short (nothing reserved; *added may be non-zero all the same).
 */
int slot_table_get(struct vswap_slot_table *t, uint64_t slot, uint64_t budget,
		   struct vswap_slot **e, uint64_t *added);

/* Bytes slot_table_get(@slot) would charge right now. */
uint64_t slot_table_grow_bytes(struct vswap_slot_table *t, uint64_t slot);

/*
 * Drop one count (an entry that went EMPTY, or a store's reservation) of
 * the chunk of @slot; the caller holds no slot lock of that chunk. Returns
 * the bytes given back (SLOT_CHUNK_BYTES if this released the chunk, else
 * 0), already taken off t->bytes: the caller uncharges them from the pool.
 */
uint64_t slot_table_unref(struct vswap_slot_table *t, uint64_t slot);

/*
 * Quiesced table: every chunk's live count == its non-empty entries, no
 * entry locked, a non-RESIDENT chunk all zero, bytes == dir + mids +
 * RESIDENT chunks. *used (may be NULL) gets the non-empty entries.
 */
bool slot_table_is_valid(struct vswap_slot_table *t, uint64_t *used);

/*
 * For range walks (invalidate): the chunk holding @slot if it may hold a
 * used entry, i.e. it is mapped and RESIDENT, else NULL; *next gets the
 * first slot after that chunk (after the mid table if that is missing).
 * A chunk seen not RESIDENT (acquire) was all EMPTY at that instant (a
 * used entry holds its chunk RESIDENT), so skipping it is the walk
 * running before any store still to come: the same answer as peeking
 * every entry EMPTY, without reading 1024 entries (or faulting the zero
 * page back into a released chunk). Work per chunk skipped: O(1).
 */
static inline struct vswap_slot *
slot_table_resident_chunk(struct vswap_slot_table *t, uint64_t slot,
			  uint64_t *next)
{
	struct vswap_slot_mid *mid;
	size_t m = (size_t)((slot >> SLOT_CHUNK_SHIFT) &
			    (SLOT_MID_ENTRIES - 1));

	mid = __atomic_load_n(&t->dir[slot >> SLOT_DIR_SHIFT], __ATOMIC_ACQUIRE);
	if (!mid) {
		*next = (slot | ((UINT64_C(1) << SLOT_DIR_SHIFT) - 1)) + 1;
		return NULL;
	}
	*next = (slot | (SLOT_CHUNK_ENTRIES - 1)) + 1;
	if (!(__atomic_load_n(&mid->state[m], __ATOMIC_ACQUIRE) &
	      CHUNK_RESIDENT))
		return NULL;
	return __atomic_load_n(&mid->chunk[m], __ATOMIC_ACQUIRE);
}

/*
 * Lock @e (spin, then yield); returns w without the lock bit. Only for a
 * store holding a reservation of @e's chunk (see above).
 */
uint64_t slot_lock(struct vswap_slot *e);

/*
 * Lock @e unless it is EMPTY: returns its w (locked) or SLOT_EMPTY (not
 * locked, nothing to unlock). Never writes to an EMPTY entry.
 */
uint64_t slot_lock_used(struct vswap_slot *e);

static inline void slot_unlock(struct vswap_slot *e, uint64_t w)
{
	__atomic_store_n(&e->w, w & ~SLOT_LOCK, __ATOMIC_RELEASE);
}

/* Unlocked peek: true if the entry is EMPTY and not locked right now. */
static inline bool slot_peek_empty(struct vswap_slot *e)
{
	return __atomic_load_n(&e->w, __ATOMIC_ACQUIRE) == SLOT_EMPTY;
}

/* Call fn on every entry of a RESIDENT chunk (for reset/destroy/debug;
 * a released chunk is all EMPTY). */
void slot_table_for_each(struct vswap_slot_table *t,
			 void (*fn)(void *arg, uint64_t slot,
				    struct vswap_slot *e),
			 void *arg);

#endif /* VSWAP_SLOT_TABLE_H */
