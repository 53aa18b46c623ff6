/* SPDX-License-Identifier: MIT */
/*
 * Slot-table memory and work bounded by what is stored (slot_table.h):
 *
 *   refused_store_maps_nothing  at pool_max, stores that need a new table
 *                      chunk (or mid table) are refused (NOSPACE) and map
 *                      nothing: no chunk mapping, no pool or metadata
 *                      bytes (a chunk is charged before it is mapped)
 *   invalidate_walks_resident   a full-range INVALIDATE over 1 TiB of
 *                      capacity reads the entries of the chunks that hold
 *                      pages only, not of every mapped chunk (released
 *                      ones, all EMPTY) nor every slot: counted
 *                      (st.walked), not timed
 *   chunks_in_mid_mapping  the chunks of a mid table are pages of the one
 *                      mapping it heads (no mmap per chunk on the store
 *                      path: that took mmap_lock for writing), small pages
 *                      only (VmFlags nh), resident only where stored
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store.h"
#include "vswap_test.h"

/* Chunk mappings and mid tables that exist (resident or not). */
static uint64_t mapped_chunks(struct vswap_store *s, uint64_t *mids)
{
	struct vswap_slot_table *t = &s->st;
	uint64_t n = 0;

	*mids = 0;
	for (size_t d = 0; d < t->ndir; d++) {
		if (!t->dir[d])
			continue;
		++*mids;
		for (unsigned m = 0; m < SLOT_MID_ENTRIES; m++)
			n += t->dir[d]->chunk[m] != NULL;
	}
	return n;
}

#define MID_SLOTS	(UINT64_C(1) << SLOT_DIR_SHIFT)

static void refused_store_maps_nothing(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st0, st;
	uint64_t mids0, mids, chunks0;
	unsigned char page[PAGE];

	(void)state;
	vswap_params_init(&p, 2 * MID_SLOTS);
	p.pool_max = 4 << 20;
	s = test_store_new_p(&p);
	store_kind(s, 0, PK_TEXT, 0);
	/* The cap at what is charged: nothing more may be taken. */
	st0 = test_stats(s);
	assert_int_equal(vswap_set_pool_max(s, st0.pool_bytes), VSWAP_OK);
	chunks0 = mapped_chunks(s, &mids0);
	assert_int_equal(chunks0, 1);
	assert_int_equal(mids0, 1);
	page_fill(page, PK_TEXT, 1);
	/* A new chunk in the mid table that exists, each. */
	for (uint64_t k = 1; k < SLOT_MID_ENTRIES; k++)
		assert_int_equal(vswap_store_page(s, k * SLOT_CHUNK_ENTRIES,
						  page), VSWAP_E_NOSPACE);
	/* A new mid table (and chunk). */
	for (uint64_t k = 0; k < 64; k++)
		assert_int_equal(vswap_store_page(s, MID_SLOTS +
						  k * SLOT_CHUNK_ENTRIES,
						  page), VSWAP_E_NOSPACE);
	st = test_stats(s);
	assert_int_equal(st.pool_bytes, st0.pool_bytes);
	assert_int_equal(st.meta_bytes, st0.meta_bytes);
	assert_int_equal(st.store_nospace, SLOT_MID_ENTRIES - 1 + 64);
	if (mapped_chunks(s, &mids) != chunks0)
		fail_msg("%u refused stores mapped %" PRIu64 " chunks",
			 SLOT_MID_ENTRIES - 1 + 64,
			 mapped_chunks(s, &mids) - chunks0);
	assert_int_equal(mids, mids0);
	assert_store_valid(s);
	/* Room again: they go in. */
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	store_kind(s, SLOT_CHUNK_ENTRIES, PK_TEXT, 1);
	store_kind(s, MID_SLOTS, PK_TEXT, 1);
	check_slot(s, SLOT_CHUNK_ENTRIES, PK_TEXT, 1);
	assert_int_equal(mapped_chunks(s, &mids), 3);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

#define TIB_SLOTS	(UINT64_C(1) << 28)	/* 1 TiB of 4 KiB pages */
#define NSPREAD		64u
#define NKEEP		4u

static void invalidate_walks_resident(void **state)
{
	struct vswap_store *s = test_store_new(TIB_SLOTS, VSWAP_CODEC_LZ4, 0);
	uint64_t stride = TIB_SLOTS / NSPREAD, w0, mids;

	(void)state;
	/* One page in each of 64 chunks, 64 mid tables; all invalidated
	 * one by one: the chunks are released (all EMPTY, not resident)
	 * but stay mapped. */
	for (uint64_t i = 0; i < NSPREAD; i++)
		store_kind(s, i * stride + 7, PK_TEXT, i);
	for (uint64_t i = 0; i < NSPREAD; i++)
		assert_int_equal(vswap_invalidate(s, i * stride + 7, 1),
				 VSWAP_OK);
	assert_int_equal(test_stats(s).stored_pages, 0);
	assert_int_equal(mapped_chunks(s, &mids), NSPREAD);
	/* A few pages again: 4 resident chunks. */
	for (uint64_t i = 0; i < NKEEP; i++)
		store_kind(s, i * 3 * stride + 100, PK_TEXT, i);
	assert_store_valid(s);
	w0 = s->st.walked;
	assert_int_equal(vswap_invalidate(s, 0, TIB_SLOTS), VSWAP_OK);
	if (s->st.walked - w0 != NKEEP)
		fail_msg("full-range invalidate read the entries of %" PRIu64
			 " chunks, %u hold pages", s->st.walked - w0, NKEEP);
	assert_int_equal(test_stats(s).stored_pages, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

/* The /proc/self/smaps block of the mapping holding @addr: its range,
 * whether VmFlags has "nh", its Rss. False if none does. */
static bool smaps_of(const void *addr, uintptr_t *lo, uintptr_t *hi,
		     bool *nohuge, uint64_t *rss)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b, kb;

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') <
		    strchr(line, ' ')) {
			if (found)
				break;
			in = (uintptr_t)addr >= a && (uintptr_t)addr < b;
			if (in) {
				*lo = a;
				*hi = b;
				found = true;
			}
		} else if (in && sscanf(line, "Rss: %lu kB", &kb) == 1) {
			*rss = (uint64_t)kb << 10;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			*nohuge = strstr(line, " nh") != NULL;
		}
	}
	fclose(f);
	return found;
}

#define NCHUNKS		64u

static void chunks_in_mid_mapping(void **state)
{
	struct vswap_store *s = test_store_new(2 * MID_SLOTS,
					       VSWAP_CODEC_LZ4, 0);
	struct vswap_slot_mid *mid;
	uintptr_t lo = 0, hi = 0;
	bool nohuge = false;
	uint64_t rss = ~UINT64_C(0);

	(void)state;
	/* Every other chunk of mid table 1, one page each. */
	for (uint64_t k = 0; k < NCHUNKS; k++)
		store_kind(s, MID_SLOTS + 2 * k * SLOT_CHUNK_ENTRIES + 5,
			   PK_TEXT, k);
	mid = s->st.dir[1];
	assert_non_null(mid);
	assert_true(smaps_of(mid, &lo, &hi, &nohuge, &rss));
	for (uint64_t k = 0; k < NCHUNKS; k++) {
		uintptr_t c = (uintptr_t)mid->chunk[2 * k];

		if (c < lo || c + SLOT_CHUNK_BYTES > hi)
			fail_msg("chunk %" PRIu64 " at %#lx is outside its mid "
				 "table's mapping %#lx-%#lx", 2 * k,
				 (unsigned long)c, (unsigned long)lo,
				 (unsigned long)hi);
		assert_null(mid->chunk[2 * k + 1]);
	}
	if (!nohuge)
		fail_msg("the slot table's mapping may take huge pages");
	/* Each stored page dirtied one 4 KiB page of its chunk, plus the
	 * mid table's own 12 KiB. */
	if (rss > SLOT_MID_BYTES + NCHUNKS * 4096)
		fail_msg("slot table resident %" PRIu64 " bytes for %u pages",
			 rss, NCHUNKS);
	for (uint64_t k = 0; k < NCHUNKS; k++)
		check_slot(s, MID_SLOTS + 2 * k * SLOT_CHUNK_ENTRIES + 5,
			   PK_TEXT, k);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refused_store_maps_nothing),
		cmocka_unit_test(invalidate_walks_resident),
		cmocka_unit_test(chunks_in_mid_mapping),
	};

	return cmocka_run_group_tests_name("slot_budget", tests, NULL, NULL);
}
