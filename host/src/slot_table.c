// SPDX-License-Identifier: MIT
/*
 * slot_table.c - lazily allocated radix table of slot entries; see
 * slot_table.h for the layout, the entry encoding and the chunk state word.
 *
 * Invariants (quiesced; slot_table_is_valid() checks them):
 *   bytes == ndir * 8 + (#mid tables) * SLOT_MID_BYTES +
 *            (#RESIDENT chunks) * SLOT_CHUNK_BYTES
 *   live(chunk) == its non-empty entries (in flight: + reservations), so
 *     live >= non-empty entries at every instant;
 *   a chunk that is not RESIDENT has live == 0 and all entries zero;
 *   a mid table or chunk mapping, once published with a successful CAS,
 *     stays at its address until slot_table_clear()/fini (both require
 *     quiescence): a pointer from lookup stays valid for the whole
 *     operation. Chunk pages may be dropped (MADV_DONTNEED) and come back
 *     zero-filled; the address stays mapped.
 *
 * Who changes live: a store reserves (+1) before it locks its entry; it
 * unrefs (-1) after unlocking if the entry was used before (overwrite) or
 * if the store failed. An invalidate unrefs after it unlocked the entry it
 * emptied. Compaction, writeback and loads never make an entry EMPTY or
 * used, and lock only used entries (slot_lock_used): they need no count,
 * since a used entry holds its chunk RESIDENT.
 *
 * Release (slot_table_unref took live to 0):
 *   1. state != RESIDENT|0: someone reserved, or it is released: done.
 *   2. trylock all 1024 entries (CAS 0 -> LOCK). Any entry not 0 (a store
 *      holds it, or another releaser does): unlock what we took, give up.
 *      The holder either leaves the chunk with live > 0, whose next drop
 *      to 0 retries, or is itself a releaser further along.
 *   3. CAS state RESIDENT|0 -> 0. Success: the chunk is ours; madvise()
 *      zeroes it, which also unlocks every entry; bytes -= 8 KiB and the
 *      caller uncharges the pool. Failure with live > 0: a store reserved
 *      meanwhile: unlock all, done. Failure with state 0 (another releaser
 *      released it between 1 and 2, and our trylocks faulted pages back):
 *      madvise() all the same (holding every lock of an all-EMPTY chunk,
 *      zeroing it is always content-safe), nothing to uncharge.
 *   A store that reserves a chunk in state 0 (missing or released) charges
 *   8 KiB first (within its budget) and CASes 0 -> RESIDENT|1; it may do
 *   so while a releaser still holds the locks (after its step-3 CAS): its
 *   slot_lock() then spins until the madvise() zeroes the entry, and it
 *   writes into a freshly zeroed page. So between a releaser's CAS and its
 *   madvise() the chunk may be charged twice over (8 KiB, transient).
 *   Nobody writes to a released chunk without a reservation: loads,
 *   invalidates, compaction and writeback use slot_lock_used(), which
 *   never writes to an entry it saw EMPTY (no CAS either: a failing lock
 *   cmpxchg still writes on x86), and a used entry cannot be in a released
 *   chunk. One window remains: a slot_lock_used() caller that read a used
 *   w, then stalled while the entry was emptied and its chunk released,
 *   runs its CAS on the zero page; the CAS fails (the entry changed) but
 *   faults one 4 KiB page back in. That costs resident memory only, not
 *   accounting or content (the page reads as zeroes), and the chunk's next
 *   release drops it again.
 *
 * Lock order: releasers take the 1024 entry locks of one chunk in index
 * order with trylock only (never wait while holding any), so they add no
 * edge to the lock order of libvswap.md; a releaser holds no other lock.
 */
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "slot_table.h"
#include "vswap.h"

_Static_assert(SLOT_CHUNK_BYTES % 4096 == 0, "chunks are whole pages");

int slot_table_init(struct vswap_slot_table *t, uint64_t capacity)
{
	t->capacity = capacity;
	t->ndir = (size_t)((capacity + (UINT64_C(1) << SLOT_DIR_SHIFT) - 1) >>
			   SLOT_DIR_SHIFT);
	t->dir = calloc(t->ndir, sizeof(*t->dir));
	if (!t->dir)
		return VSWAP_E_NOMEM;
	t->bytes = t->ndir * sizeof(*t->dir);
	t->releases = 0;
	t->walked = 0;
	return VSWAP_OK;
}

_Static_assert(SLOT_MID_BYTES % 4096 == 0, "chunks follow at a page");

/*
 * A mid table heading the address space of its chunks (slot_table.h):
 * zeroed as calloc's would be, charged as SLOT_MID_BYTES (only what is
 * touched becomes resident), small pages (a huge page would make 256
 * chunks resident for one), no swap reservation.
 */
static struct vswap_slot_mid *mid_create(void)
{
	void *m = mmap(NULL, SLOT_MID_SPAN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
#ifdef MADV_NOHUGEPAGE
	madvise(m, SLOT_MID_SPAN, MADV_NOHUGEPAGE);
#endif
	return m;
}

static void mid_destroy(struct vswap_slot_mid *mid)
{
	munmap(mid, SLOT_MID_SPAN);
}

static struct vswap_slot *mid_chunk_addr(struct vswap_slot_mid *mid,
					 size_t m)
{
	return (struct vswap_slot *)((unsigned char *)mid + SLOT_MID_BYTES +
				     m * SLOT_CHUNK_BYTES);
}

void slot_table_clear(struct vswap_slot_table *t)
{
	for (size_t d = 0; d < t->ndir; d++) {
		struct vswap_slot_mid *mid = t->dir[d];

		if (!mid)
			continue;
		mid_destroy(mid);
		t->dir[d] = NULL;
	}
	t->bytes = t->ndir * sizeof(*t->dir);
}

void slot_table_fini(struct vswap_slot_table *t)
{
	if (!t->dir)
		return;
	slot_table_clear(t);
	free(t->dir);
	t->dir = NULL;
	t->bytes = 0;
}

static struct vswap_slot_mid *mid_of(struct vswap_slot_table *t,
				     uint64_t slot)
{
	return __atomic_load_n(&t->dir[slot >> SLOT_DIR_SHIFT],
			       __ATOMIC_ACQUIRE);
}

static size_t mid_index(uint64_t slot)
{
	return (size_t)((slot >> SLOT_CHUNK_SHIFT) & (SLOT_MID_ENTRIES - 1));
}

uint64_t slot_table_grow_bytes(struct vswap_slot_table *t, uint64_t slot)
{
	struct vswap_slot_mid *mid = mid_of(t, slot);

	if (!mid)
		return SLOT_MID_BYTES + SLOT_CHUNK_BYTES;
	if (__atomic_load_n(&mid->state[mid_index(slot)], __ATOMIC_ACQUIRE) &
	    CHUNK_RESIDENT)
		return 0;
	return SLOT_CHUNK_BYTES;
}

int slot_table_get(struct vswap_slot_table *t, uint64_t slot, uint64_t budget,
		   struct vswap_slot **e, uint64_t *added)
{
	struct vswap_slot_mid **mp = &t->dir[slot >> SLOT_DIR_SHIFT];
	struct vswap_slot_mid *mid;
	struct vswap_slot *chunk;
	size_t m = mid_index(slot);
	uint32_t st;

	*added = 0;
	*e = NULL;
	mid = __atomic_load_n(mp, __ATOMIC_ACQUIRE);
	if (!mid) {
		struct vswap_slot_mid *fresh, *expected = NULL;

		if (budget < SLOT_MID_BYTES)
			return SLOT_TABLE_AGAIN;
		fresh = mid_create();
		if (!fresh)
			return VSWAP_E_NOMEM;
		if (__atomic_compare_exchange_n(mp, &expected, fresh, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			__atomic_fetch_add(&t->bytes, SLOT_MID_BYTES,
					   __ATOMIC_RELAXED);
			*added += SLOT_MID_BYTES;
			budget -= SLOT_MID_BYTES;
			mid = fresh;
		} else {
			mid_destroy(fresh);
			mid = expected;
		}
	}
	chunk = __atomic_load_n(&mid->chunk[m], __ATOMIC_ACQUIRE);
	if (!chunk) {
		struct vswap_slot *expected = NULL;
		struct vswap_slot *fresh = mid_chunk_addr(mid, m);

		/* A chunk never used is never RESIDENT: its charge is due,
		 * and is checked BEFORE it is published, so a store refused
		 * at the cap touches nothing (no page, no page table). */
		if (budget < SLOT_CHUNK_BYTES)
			return SLOT_TABLE_AGAIN;
		/* Racing stores publish the same address. */
		__atomic_compare_exchange_n(&mid->chunk[m], &expected, fresh,
					    false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
		chunk = fresh;
	}
	/* Reserve: +1 on a RESIDENT chunk, or charge it and 0 -> RESIDENT|1
	 * (not RESIDENT implies live == 0: nobody reserves without it). */
	st = __atomic_load_n(&mid->state[m], __ATOMIC_RELAXED);
	for (;;) {
		uint32_t want;

		if (st & CHUNK_RESIDENT) {
			want = st + 1;
		} else {
			if (budget < SLOT_CHUNK_BYTES)
				return SLOT_TABLE_AGAIN;
			want = CHUNK_RESIDENT | 1;
		}
		if (__atomic_compare_exchange_n(&mid->state[m], &st, want,
						true, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			break;
	}
	if (!(st & CHUNK_RESIDENT)) {
		__atomic_fetch_add(&t->bytes, SLOT_CHUNK_BYTES,
				   __ATOMIC_RELAXED);
		*added += SLOT_CHUNK_BYTES;
	}
	*e = &chunk[slot & (SLOT_CHUNK_ENTRIES - 1)];
	return VSWAP_OK;
}

static void unlock_first(struct vswap_slot *chunk, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		__atomic_store_n(&chunk[i].w, SLOT_EMPTY, __ATOMIC_RELEASE);
}

/* Drop the pages of @chunk, whose every entry we hold locked and EMPTY. */
static void chunk_zap(struct vswap_slot *chunk)
{
	/* Fails only on a bad range; then the memory just stays. */
	if (madvise(chunk, SLOT_CHUNK_BYTES, MADV_DONTNEED))
		unlock_first(chunk, SLOT_CHUNK_ENTRIES);
}

/* live of chunk (mid, m) reached 0: try to give it back (header comment). */
static uint64_t chunk_release(struct vswap_slot_table *t,
			      struct vswap_slot_mid *mid, size_t m)
{
	struct vswap_slot *chunk = __atomic_load_n(&mid->chunk[m],
						   __ATOMIC_ACQUIRE);
	uint32_t st = CHUNK_RESIDENT;

	if (__atomic_load_n(&mid->state[m], __ATOMIC_ACQUIRE) != st)
		return 0;
	for (unsigned i = 0; i < SLOT_CHUNK_ENTRIES; i++) {
		uint64_t zero = SLOT_EMPTY;

		if (!__atomic_compare_exchange_n(&chunk[i].w, &zero, SLOT_LOCK,
						 false, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED)) {
			unlock_first(chunk, i);
			return 0;
		}
	}
	if (__atomic_compare_exchange_n(&mid->state[m], &st, 0, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		chunk_zap(chunk);
		__atomic_fetch_sub(&t->bytes, SLOT_CHUNK_BYTES,
				   __ATOMIC_RELAXED);
		__atomic_fetch_add(&t->releases, 1, __ATOMIC_RELAXED);
		return SLOT_CHUNK_BYTES;
	}
	if (st & CHUNK_LIVE_MASK)
		unlock_first(chunk, SLOT_CHUNK_ENTRIES);
	else
		chunk_zap(chunk);	/* released by another meanwhile */
	return 0;
}

uint64_t slot_table_unref(struct vswap_slot_table *t, uint64_t slot)
{
	struct vswap_slot_mid *mid = mid_of(t, slot);
	size_t m = mid_index(slot);
	uint32_t st;

	st = __atomic_sub_fetch(&mid->state[m], 1, __ATOMIC_ACQ_REL);
	if (st != CHUNK_RESIDENT)
		return 0;
	return chunk_release(t, mid, m);
}

/*
 * Spins this many times (each a pause) before yielding: a slot is held for
 * at most one decompression (~1-2 us), so spinning first is the cheap case;
 * yielding covers a holder that was preempted.
 */
#define SLOT_SPINS	256

static inline void slot_backoff(unsigned *spins)
{
	if (++*spins < SLOT_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	} else {
		sched_yield();
	}
}

uint64_t slot_lock(struct vswap_slot *e)
{
	unsigned spins = 0;

	for (;;) {
		uint64_t old = __atomic_load_n(&e->w, __ATOMIC_RELAXED);

		if (!(old & SLOT_LOCK) &&
		    __atomic_compare_exchange_n(&e->w, &old, old | SLOT_LOCK,
						true, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return old;
		slot_backoff(&spins);
	}
}

uint64_t slot_lock_used(struct vswap_slot *e)
{
	unsigned spins = 0;

	for (;;) {
		uint64_t old = __atomic_load_n(&e->w, __ATOMIC_ACQUIRE);

		if (old == SLOT_EMPTY)
			return SLOT_EMPTY;
		if (!(old & SLOT_LOCK) &&
		    __atomic_compare_exchange_n(&e->w, &old, old | SLOT_LOCK,
						true, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return old;
		slot_backoff(&spins);
	}
}

void slot_table_for_each(struct vswap_slot_table *t,
			 void (*fn)(void *arg, uint64_t slot,
				    struct vswap_slot *e),
			 void *arg)
{
	for (size_t d = 0; d < t->ndir; d++) {
		struct vswap_slot_mid *mid =
			__atomic_load_n(&t->dir[d], __ATOMIC_ACQUIRE);

		if (!mid)
			continue;
		for (unsigned m = 0; m < SLOT_MID_ENTRIES; m++) {
			struct vswap_slot *chunk =
				__atomic_load_n(&mid->chunk[m], __ATOMIC_ACQUIRE);
			uint64_t base = ((uint64_t)d << SLOT_DIR_SHIFT) |
					((uint64_t)m << SLOT_CHUNK_SHIFT);

			if (!chunk || !(__atomic_load_n(&mid->state[m],
							__ATOMIC_ACQUIRE) &
					CHUNK_RESIDENT))
				continue;
			for (unsigned i = 0; i < SLOT_CHUNK_ENTRIES; i++)
				if (base + i < t->capacity)
					fn(arg, base + i, &chunk[i]);
		}
	}
}

bool slot_table_is_valid(struct vswap_slot_table *t, uint64_t *used)
{
	uint64_t bytes = t->ndir * sizeof(*t->dir), n = 0;
	bool ok = true;

	for (size_t d = 0; d < t->ndir; d++) {
		struct vswap_slot_mid *mid = t->dir[d];

		if (!mid)
			continue;
		bytes += SLOT_MID_BYTES;
		for (unsigned m = 0; m < SLOT_MID_ENTRIES; m++) {
			struct vswap_slot *chunk = mid->chunk[m];
			uint32_t st = mid->state[m], live = 0;

			if (st & CHUNK_RESIDENT)
				bytes += SLOT_CHUNK_BYTES;
			if (!chunk) {
				ok &= st == 0;
				continue;
			}
			/* Reads a released chunk's pages: the shared zero
			 * page, nothing is allocated. */
			for (unsigned i = 0; i < SLOT_CHUNK_ENTRIES; i++) {
				uint64_t w = __atomic_load_n(&chunk[i].w,
							      __ATOMIC_RELAXED);

				ok &= !(w & SLOT_LOCK);
				ok &= w == SLOT_EMPTY ||
				      slot_kind(w) != SLOT_EMPTY;
				ok &= (st & CHUNK_RESIDENT) || w == 0;
				live += w != SLOT_EMPTY;
			}
			ok &= (st & CHUNK_LIVE_MASK) == live;
			n += live;
		}
	}
	if (used)
		*used = n;
	return ok && bytes == t->bytes;
}
