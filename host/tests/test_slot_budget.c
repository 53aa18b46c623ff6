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
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refused_store_maps_nothing),
		cmocka_unit_test(invalidate_walks_resident),
	};

	return cmocka_run_group_tests_name("slot_budget", tests, NULL, NULL);
}
