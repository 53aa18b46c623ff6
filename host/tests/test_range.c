/* SPDX-License-Identifier: MIT */
/*
 * Slot and range checks: out-of-range slots and ranges (including first +
 * count wrapping past UINT64_MAX) answer VSWAP_E_RANGE and drop nothing;
 * count 0 is a no-op; in-range invalidation drops exactly its range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"

#define CAP 1000u

/* Every slot of a CAP store holds (PK_TEXT or PK_SAME, slot). */
static enum page_kind kind_of(uint64_t slot)
{
	return slot % 3 ? PK_TEXT : PK_SAME;
}

static struct vswap_store *full_store(void)
{
	struct vswap_store *s = test_store_new(CAP, VSWAP_CODEC_LZ4, 0);

	for (uint64_t i = 0; i < CAP; i++)
		store_kind(s, i, kind_of(i), i);
	return s;
}

static void check_all(struct vswap_store *s, uint64_t hole_first,
		      uint64_t hole_count)
{
	for (uint64_t i = 0; i < CAP; i++) {
		bool hole = i >= hole_first && i - hole_first < hole_count;

		check_slot(s, i, hole ? PK_EMPTY : kind_of(i), i);
	}
}

static void slot_out_of_range(void **state)
{
	static const uint64_t bad[] = { CAP, CAP + 1, UINT64_C(1) << 32,
					UINT64_MAX - 1, UINT64_MAX };
	struct vswap_store *s = full_store();
	unsigned char page[PAGE];
	struct vswap_stats st;

	(void)state;
	page_fill(page, PK_RANDOM, 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vswap_store_page(s, bad[i], page),
				 VSWAP_E_RANGE);
		assert_int_equal(vswap_load_page(s, bad[i], page),
				 VSWAP_E_RANGE);
	}
	st = test_stats(s);
	assert_int_equal(st.stored_pages, CAP);
	assert_int_equal(st.incompressible_pages, 0);
	check_all(s, 0, 0);
	vswap_store_destroy(s);
}

static void invalidate_out_of_range(void **state)
{
	static const struct { uint64_t first, count; } bad[] = {
		{ CAP, 1 },
		{ CAP - 1, 2 },		/* last slot + one past */
		{ 0, CAP + 1 },
		{ 1, UINT64_MAX },	/* 1 + count wraps to 0 */
		{ 2, UINT64_MAX - 1 },	/* wraps to 0 exactly */
		{ 500, UINT64_MAX - 100 },	/* wraps to 399 < CAP */
		{ UINT64_MAX, 1 },	/* wraps to 0 */
		{ UINT64_MAX, 2 },	/* wraps to 1 */
		{ UINT64_MAX - 5, 10 },	/* wraps to 4 */
		{ UINT64_C(1) << 32, 1 },
	};
	struct vswap_store *s = full_store();
	struct vswap_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = vswap_invalidate(s, bad[i].first, bad[i].count);

		if (ret != VSWAP_E_RANGE)
			fail_msg("invalidate(%" PRIu64 ", %" PRIu64 ") = %s, "
				 "want range", bad[i].first, bad[i].count,
				 vswap_error_name(ret));
	}
	st = test_stats(s);
	assert_int_equal(st.stored_pages, CAP);
	assert_int_equal(st.invalidated_pages, 0);
	check_all(s, 0, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

static void invalidate_count_zero(void **state)
{
	struct vswap_store *s = full_store();
	struct vswap_stats st;

	(void)state;
	assert_int_equal(vswap_invalidate(s, 0, 0), VSWAP_OK);
	assert_int_equal(vswap_invalidate(s, 500, 0), VSWAP_OK);
	assert_int_equal(vswap_invalidate(s, CAP - 1, 0), VSWAP_OK);
	/* An empty range past the end: a no-op, or RANGE; never a drop. */
	{
		int r1 = vswap_invalidate(s, CAP + 5, 0);
		int r2 = vswap_invalidate(s, UINT64_MAX, 0);

		assert_true(r1 == VSWAP_OK || r1 == VSWAP_E_RANGE);
		assert_true(r2 == VSWAP_OK || r2 == VSWAP_E_RANGE);
	}
	st = test_stats(s);
	assert_int_equal(st.stored_pages, CAP);
	assert_int_equal(st.invalidated_pages, 0);
	check_all(s, 0, 0);
	vswap_store_destroy(s);
}

static void invalidate_exact_ranges(void **state)
{
	static const struct { uint64_t first, count; } ok[] = {
		{ 0, 1 }, { CAP - 1, 1 }, { 10, 90 }, { 0, CAP },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct vswap_store *s = full_store();
		struct vswap_stats st;

		assert_int_equal(vswap_invalidate(s, ok[i].first, ok[i].count),
				 VSWAP_OK);
		st = test_stats(s);
		assert_int_equal(st.stored_pages, CAP - ok[i].count);
		assert_int_equal(st.invalidated_pages, ok[i].count);
		assert_int_equal(st.invalidates, 1);
		check_all(s, ok[i].first, ok[i].count);
		/* Again: nothing held any more, nothing counted. */
		assert_int_equal(vswap_invalidate(s, ok[i].first, ok[i].count),
				 VSWAP_OK);
		st = test_stats(s);
		assert_int_equal(st.invalidated_pages, ok[i].count);
		assert_int_equal(st.invalidates, 2);
		vswap_store_destroy(s);
	}
}

/* The whole 2^32 range at once is fine on a sparse store. */
static void invalidate_whole_huge_store(void **state)
{
	struct vswap_store *s = test_store_new(VSWAP_MAX_CAPACITY,
					       VSWAP_CODEC_LZ4, 0);
	struct vswap_stats st;

	(void)state;
	store_kind(s, 0, PK_TEXT, 1);
	store_kind(s, VSWAP_MAX_CAPACITY - 1, PK_TEXT, 2);
	assert_int_equal(vswap_invalidate(s, 1, VSWAP_MAX_CAPACITY),
			 VSWAP_E_RANGE);
	assert_int_equal(vswap_invalidate(s, 0, VSWAP_MAX_CAPACITY), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(st.stored_pages, 0);
	assert_int_equal(st.invalidated_pages, 2);
	check_slot(s, VSWAP_MAX_CAPACITY - 1, PK_EMPTY, 0);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slot_out_of_range),
		cmocka_unit_test(invalidate_out_of_range),
		cmocka_unit_test(invalidate_count_zero),
		cmocka_unit_test(invalidate_exact_ranges),
		cmocka_unit_test(invalidate_whole_huge_store),
	};

	return cmocka_run_group_tests_name("range", tests, NULL, NULL);
}
