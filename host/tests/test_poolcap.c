/* SPDX-License-Identifier: MIT */
/*
 * Pool cap (no disk tier): once the pool is at pool_max, stores answer
 * VSWAP_E_NOSPACE, the slot keeps its old content, the refusal is counted,
 * the pool never grows past the cap, and raising the cap lets stores in again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"

#define CAP_BYTES	(UINT64_C(4) << 20)
#define SLOTS		8192u	/* 32 MiB of incompressible pages: 8x the cap */

static void nospace_keeps_old_content(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	unsigned char page[PAGE];
	uint64_t full_at = 0, nospace = 0;
	int ret;

	(void)state;
	vswap_params_init(&p, SLOTS);
	p.pool_max = CAP_BYTES;
	s = test_store_new_p(&p);
	assert_int_equal(test_stats(s).pool_max, CAP_BYTES);

	/* Fill with incompressible pages until the cap says no. */
	for (uint64_t i = 0; i < SLOTS; i++) {
		page_fill(page, PK_RANDOM, i);
		ret = vswap_store_page(s, i, page);
		if (ret == VSWAP_E_NOSPACE) {
			full_at = i;
			nospace++;
			break;
		}
		assert_int_equal(ret, VSWAP_OK);
	}
	if (!nospace)
		fail_msg("%u incompressible pages stored under a %" PRIu64
			 " byte cap", SLOTS, CAP_BYTES);
	assert_true(full_at > 0);	/* the cap holds at least a page */
	st = test_stats(s);
	assert_true(st.pool_bytes <= CAP_BYTES);
	assert_true(st.pool_bytes_peak <= CAP_BYTES);
	assert_int_equal(st.store_nospace, 1);
	assert_int_equal(st.stored_pages, full_at);
	/* the refused slot was empty and still is */
	check_slot(s, full_at, PK_EMPTY, 0);

	/* More refusals on fresh slots: all counted, nothing stored. */
	for (uint64_t i = full_at + 1; i < full_at + 11 && i < SLOTS; i++) {
		page_fill(page, PK_RANDOM, i);
		ret = vswap_store_page(s, i, page);
		assert_int_equal(ret, VSWAP_E_NOSPACE);
		nospace++;
		check_slot(s, i, PK_EMPTY, 0);
	}
	/*
	 * Overwrites of held slots: NOSPACE keeps the old page; OK (a store
	 * may reuse room) replaces it. Either way the load says which.
	 */
	for (uint64_t i = 0; i < 10; i++) {
		page_fill(page, PK_RANDOM, 100000 + i);
		ret = vswap_store_page(s, i, page);
		if (ret == VSWAP_E_NOSPACE) {
			nospace++;
			check_slot(s, i, PK_RANDOM, i);
		} else {
			assert_int_equal(ret, VSWAP_OK);
			check_slot(s, i, PK_RANDOM, 100000 + i);
		}
	}
	st = test_stats(s);
	assert_int_equal(st.store_nospace, nospace);
	assert_true(st.pool_bytes_peak <= CAP_BYTES);

	/* Zero pages cost no pool memory: they fit at the cap. */
	store_kind(s, 20, PK_ZERO, 0);
	check_slot(s, 20, PK_ZERO, 0);

	/* Every page stored before the cap is intact. */
	for (uint64_t i = 10; i < full_at; i++)
		if (i != 20)
			check_slot(s, i, PK_RANDOM, i);

	/* Raise the cap: stores succeed again. */
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	for (uint64_t i = full_at; i < SLOTS; i++)
		store_kind(s, i, PK_RANDOM, i);
	for (uint64_t i = full_at; i < SLOTS; i += 97)
		check_slot(s, i, PK_RANDOM, i);
	st = test_stats(s);
	assert_int_equal(st.store_nospace, nospace);
	assert_true(st.pool_bytes > CAP_BYTES);
	vswap_store_destroy(s);
}

/* Lowering the cap below current use refuses new data, drops nothing. */
static void lower_cap_below_use(void **state)
{
	struct vswap_store *s = test_store_new(2048, VSWAP_CODEC_LZ4, 0);
	unsigned char page[PAGE];
	struct vswap_stats st;
	int ret;

	(void)state;
	for (uint64_t i = 0; i < 2048; i++)
		store_kind(s, i, PK_RANDOM, i);
	st = test_stats(s);
	assert_int_equal(vswap_set_pool_max(s, st.pool_bytes / 2), VSWAP_OK);
	page_fill(page, PK_RANDOM, 99999);
	ret = vswap_store_page(s, 5000 % 2048, page);
	assert_true(ret == VSWAP_E_NOSPACE || ret == VSWAP_OK);
	/* New pool data does not fit; held data is all still there. */
	for (uint64_t i = 0; i < 2048; i++)
		if (i != 5000 % 2048 || ret == VSWAP_E_NOSPACE)
			check_slot(s, i, PK_RANDOM, i);
	st = test_stats(s);
	assert_int_equal(st.stored_pages, 2048);
	/* Invalidating frees room; then a raise lets everything in. */
	assert_int_equal(vswap_invalidate(s, 0, 2048), VSWAP_OK);
	for (uint64_t i = 0; i < 8; i++)
		store_kind(s, i, PK_RANDOM, i + 7);
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	for (uint64_t i = 0; i < 2048; i++)
		store_kind(s, i, PK_TEXT, i);
	for (uint64_t i = 0; i < 2048; i += 13)
		check_slot(s, i, PK_TEXT, i);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nospace_keeps_old_content),
		cmocka_unit_test(lower_cap_below_use),
	};

	return cmocka_run_group_tests_name("poolcap", tests, NULL, NULL);
}
