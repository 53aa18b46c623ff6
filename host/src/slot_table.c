// SPDX-License-Identifier: MIT
/*
 * slot_table.c - lazily allocated radix table of slot entries; see
 * slot_table.h for the layout and the entry encoding.
 *
 * Invariants:
 *   bytes == ndir * 8 + (#mid tables) * 8 KiB + (#chunks) * 16 KiB
 *   a mid table or chunk, once published with a successful CAS, stays at
 *   its address until slot_table_clear()/fini (both require quiescence), so
 *   a pointer obtained from lookup stays valid for the whole operation.
 * Concurrency: installation races are settled by CAS; the loser frees its
 * copy. No lock is held while allocating.
 */
#include <sched.h>
#include <stdlib.h>

#include "slot_table.h"
#include "vswap.h"

int slot_table_init(struct vswap_slot_table *t, uint64_t capacity)
{
	t->capacity = capacity;
	t->ndir = (size_t)((capacity + (UINT64_C(1) << SLOT_DIR_SHIFT) - 1) >>
			   SLOT_DIR_SHIFT);
	t->dir = calloc(t->ndir, sizeof(*t->dir));
	if (!t->dir)
		return VSWAP_E_NOMEM;
	t->bytes = t->ndir * sizeof(*t->dir);
	return VSWAP_OK;
}

void slot_table_clear(struct vswap_slot_table *t)
{
	for (size_t d = 0; d < t->ndir; d++) {
		struct vswap_slot **mid = t->dir[d];

		if (!mid)
			continue;
		for (unsigned m = 0; m < SLOT_MID_ENTRIES; m++)
			free(mid[m]);
		free(mid);
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

/* Install *fresh at *where unless someone else did; returns the winner. */
static void *install(void **where, void *fresh, size_t size,
		     uint64_t *bytes, uint64_t *added)
{
	void *expected = NULL;

	if (__atomic_compare_exchange_n(where, &expected, fresh, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(bytes, size, __ATOMIC_RELAXED);
		*added += size;
		return fresh;
	}
	free(fresh);
	return expected;
}

uint64_t slot_table_grow_bytes(struct vswap_slot_table *t, uint64_t slot)
{
	uint64_t n = SLOT_CHUNK_ENTRIES * sizeof(struct vswap_slot);

	if (!__atomic_load_n(&t->dir[slot >> SLOT_DIR_SHIFT], __ATOMIC_ACQUIRE))
		n += SLOT_MID_ENTRIES * sizeof(struct vswap_slot *);
	return n;
}

struct vswap_slot *slot_table_get(struct vswap_slot_table *t, uint64_t slot,
				  uint64_t *added)
{
	struct vswap_slot **mid;
	struct vswap_slot *chunk;
	size_t m = (slot >> SLOT_CHUNK_SHIFT) & (SLOT_MID_ENTRIES - 1);
	uint64_t dummy = 0;

	if (!added)
		added = &dummy;
	*added = 0;
	mid = __atomic_load_n(&t->dir[slot >> SLOT_DIR_SHIFT], __ATOMIC_ACQUIRE);
	if (!mid) {
		size_t sz = SLOT_MID_ENTRIES * sizeof(*mid);
		void *fresh = calloc(SLOT_MID_ENTRIES, sizeof(*mid));

		if (!fresh)
			return NULL;
		mid = install((void **)&t->dir[slot >> SLOT_DIR_SHIFT],
			      fresh, sz, &t->bytes, added);
	}
	chunk = __atomic_load_n(&mid[m], __ATOMIC_ACQUIRE);
	if (!chunk) {
		size_t sz = SLOT_CHUNK_ENTRIES * sizeof(*chunk);
		void *fresh = calloc(SLOT_CHUNK_ENTRIES, sizeof(*chunk));

		if (!fresh)
			return NULL;
		chunk = install((void **)&mid[m], fresh, sz, &t->bytes, added);
	}
	return &chunk[slot & (SLOT_CHUNK_ENTRIES - 1)];
}

/*
 * Spins this many times (each a pause) before yielding: a slot is held for
 * at most one decompression (~1-2 us), so spinning first is the cheap case;
 * yielding covers a holder that was preempted.
 */
#define SLOT_SPINS	256

uint64_t slot_lock(struct vswap_slot *e)
{
	unsigned spins = 0;

	for (;;) {
		uint64_t old = __atomic_load_n(&e->w0, __ATOMIC_RELAXED);

		if (!(old & SLOT_LOCK) &&
		    __atomic_compare_exchange_n(&e->w0, &old, old | SLOT_LOCK,
						true, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return old;
		if (++spins < SLOT_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else {
			sched_yield();
		}
	}
}

void slot_table_for_each(struct vswap_slot_table *t,
			 void (*fn)(void *arg, uint64_t slot,
				    struct vswap_slot *e),
			 void *arg)
{
	for (size_t d = 0; d < t->ndir; d++) {
		struct vswap_slot **mid =
			__atomic_load_n(&t->dir[d], __ATOMIC_ACQUIRE);

		if (!mid)
			continue;
		for (unsigned m = 0; m < SLOT_MID_ENTRIES; m++) {
			struct vswap_slot *chunk =
				__atomic_load_n(&mid[m], __ATOMIC_ACQUIRE);
			uint64_t base = ((uint64_t)d << SLOT_DIR_SHIFT) |
					((uint64_t)m << SLOT_CHUNK_SHIFT);

			if (!chunk)
				continue;
			for (unsigned i = 0; i < SLOT_CHUNK_ENTRIES; i++)
				if (base + i < t->capacity)
					fn(arg, base + i, &chunk[i]);
		}
	}
}
