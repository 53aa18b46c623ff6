/* SPDX-License-Identifier: MIT */
/*
 * Round trip: every page kind through every codec (and levels of each) comes
 * back bit-exact; an empty slot loads zeroes; overwriting replaces the page
 * whatever the kinds before and after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"

#define SEEDS 12	/* pages per kind; PK_SAME seeds cover its 5 patterns */

/* Fixed same-filled words, beyond the seeded ones. */
static const uint64_t same_words[] = {
	UINT64_C(0x0101010101010101), UINT64_C(0xffffffffffffffff),
	UINT64_C(0x0123456789abcdef), UINT64_C(0x8000000000000000),
	UINT64_C(0x00000000000000ff), UINT64_C(0xdeadbeefdeadbeef),
	UINT64_C(0x0000000100000000), UINT64_C(0x7f7f7f7f7f7f7f7e),
};

static void round_trip_one(enum vswap_codec codec, int level)
{
	const uint64_t nwords = sizeof(same_words) / sizeof(same_words[0]);
	const uint64_t cap = PK__COUNT * SEEDS + nwords + 8;
	struct vswap_store *s = test_store_new(cap, codec, level);
	unsigned char page[PAGE], got[PAGE];
	struct vswap_stats st;
	uint64_t slot = 0;

	for (int k = PK_ZERO; k < PK__COUNT; k++)
		for (uint64_t i = 0; i < SEEDS; i++)
			store_kind(s, slot++, (enum page_kind)k, i * 7919 + k);
	for (uint64_t i = 0; i < nwords; i++) {
		fill_same(page, same_words[i]);
		assert_int_equal(vswap_store_page(s, slot + i, page), VSWAP_OK);
	}

	slot = 0;
	for (int k = PK_ZERO; k < PK__COUNT; k++)
		for (uint64_t i = 0; i < SEEDS; i++)
			check_slot(s, slot++, (enum page_kind)k, i * 7919 + k);
	for (uint64_t i = 0; i < nwords; i++) {
		fill_same(page, same_words[i]);
		memset(got, 0x5a, PAGE);
		assert_int_equal(vswap_load_page(s, slot + i, got), VSWAP_OK);
		assert_memory_equal(got, page, PAGE);
	}

	st = test_stats(s);
	assert_int_equal(st.stored_pages, (PK__COUNT - 1) * SEEDS + nwords);
	assert_int_equal(st.zero_pages, SEEDS);
	assert_int_equal(st.same_pages, SEEDS + nwords);
	/* near-same pages are not same-filled: they go to the pool */
	assert_int_equal(st.compressed_pages + st.incompressible_pages,
			 3 * SEEDS);
	assert_int_equal(st.integrity_errors, 0);
	vswap_store_destroy(s);
}

static void round_trip_default_levels(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++)
		round_trip_one((enum vswap_codec)c, 0);
}

static void round_trip_lz4_levels(void **state)
{
	int min, max;

	(void)state;
	vswap_codec_level_bounds(VSWAP_CODEC_LZ4, &min, &max);
	round_trip_one(VSWAP_CODEC_LZ4, min);
	round_trip_one(VSWAP_CODEC_LZ4, max);
	if (min <= 1 && max >= 1)
		round_trip_one(VSWAP_CODEC_LZ4, 1);
}

static void round_trip_zstd_levels(void **state)
{
	static const int levels[] = { 1, 3, 9, 19 };
	int min, max;

	(void)state;
	vswap_codec_level_bounds(VSWAP_CODEC_ZSTD, &min, &max);
	round_trip_one(VSWAP_CODEC_ZSTD, min);
	round_trip_one(VSWAP_CODEC_ZSTD, max);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i] >= min && levels[i] <= max)
			round_trip_one(VSWAP_CODEC_ZSTD, levels[i]);
}

/* Text pages are compressed (not stored as-is) by the real codecs. */
static void text_is_compressed(void **state)
{
	(void)state;
	for (int c = VSWAP_CODEC_LZ4; c <= VSWAP_CODEC_ZSTD; c++) {
		struct vswap_store *s = test_store_new(64, (enum vswap_codec)c,
						       0);
		struct vswap_stats st;

		for (uint64_t i = 0; i < 16; i++)
			store_kind(s, i, PK_TEXT, i);
		st = test_stats(s);
		assert_int_equal(st.compressed_pages, 16);
		assert_int_equal(st.incompressible_pages, 0);
		assert_true(st.compressed_bytes < 16 * 3072);
		assert_true(st.compressed_bytes > 0);
		vswap_store_destroy(s);
	}
}

static void empty_slot_loads_zeroes(void **state)
{
	unsigned char got[PAGE];
	struct vswap_stats st;

	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = test_store_new(1000,
						(enum vswap_codec)c, 0);
		static const uint64_t slots[] = { 0, 1, 500, 999 };

		for (size_t i = 0; i < 4; i++) {
			memset(got, 0xa5, PAGE);
			assert_int_equal(vswap_load_page(s, slots[i], got),
					 VSWAP_OK);
			assert_true(page_is_zero(got));
		}
		/* A neighbour holding a page changes nothing. */
		store_kind(s, 501, PK_RANDOM, 1);
		memset(got, 0xa5, PAGE);
		assert_int_equal(vswap_load_page(s, 500, got), VSWAP_OK);
		assert_true(page_is_zero(got));
		st = test_stats(s);
		assert_int_equal(st.loads_empty, 5);
		assert_int_equal(st.stored_pages, 1);
		vswap_store_destroy(s);
	}
}

/* Every kind -> every kind on one slot, each load right. */
static void overwrite_every_transition(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = test_store_new(4, (enum vswap_codec)c,
						       0);
		uint64_t seed = 1;
		struct vswap_stats st;

		for (int a = PK_ZERO; a < PK__COUNT; a++) {
			for (int b = PK_ZERO; b < PK__COUNT; b++) {
				store_kind(s, 2, (enum page_kind)a, seed);
				check_slot(s, 2, (enum page_kind)a, seed);
				seed++;
				store_kind(s, 2, (enum page_kind)b, seed);
				check_slot(s, 2, (enum page_kind)b, seed);
				st = test_stats(s);
				assert_int_equal(st.stored_pages, 1);
				assert_int_equal(st.zero_pages, b == PK_ZERO);
				assert_int_equal(st.same_pages, b == PK_SAME);
				seed++;
			}
		}
		/* Ends on near-same: one pool object, nothing leaked. */
		st = test_stats(s);
		assert_int_equal(st.compressed_pages + st.incompressible_pages,
				 1);
		assert_true(st.compressed_bytes <= PAGE);
		vswap_store_destroy(s);
	}
}

/*
 * Almost same-filled pages, the odd byte where a shortcut same-filled check
 * (first/last word, sampled words) would miss it: must round-trip exactly.
 */
static void almost_same_pages(void **state)
{
	static const size_t at[] = { 0, 7, 8, 2047, 2048, 4087, 4088, 4095 };
	static const uint64_t words[] = { 0, UINT64_C(0xffffffffffffffff),
					  UINT64_C(0x0123456789abcdef) };
	unsigned char page[PAGE], got[PAGE];

	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = test_store_new(64, (enum vswap_codec)c,
						       0);
		uint64_t slot = 0;
		struct vswap_stats st;

		for (size_t w = 0; w < 3; w++) {
			for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
				fill_same(page, words[w]);
				page[at[i]] ^= 0x80;
				assert_int_equal(vswap_store_page(s, slot, page),
						 VSWAP_OK);
				memset(got, 0x5a, PAGE);
				assert_int_equal(vswap_load_page(s, slot, got),
						 VSWAP_OK);
				if (memcmp(got, page, PAGE) != 0)
					fail_msg("%s: word %016" PRIx64 " with "
						 "byte %zu flipped comes back "
						 "different",
						 vswap_codec_name(
							(enum vswap_codec)c),
						 words[w], at[i]);
				slot++;
			}
		}
		st = test_stats(s);
		assert_int_equal(st.zero_pages + st.same_pages, 0);
		assert_int_equal(st.stored_pages, slot);
		vswap_store_destroy(s);
	}
}

/* The caller's buffer is not kept: changing it after the store is harmless. */
static void store_copies_the_page(void **state)
{
	struct vswap_store *s = test_store_new(4, VSWAP_CODEC_NONE, 0);
	unsigned char page[PAGE];

	(void)state;
	page_fill(page, PK_RANDOM, 77);
	assert_int_equal(vswap_store_page(s, 0, page), VSWAP_OK);
	memset(page, 0, PAGE);
	check_slot(s, 0, PK_RANDOM, 77);
	vswap_store_destroy(s);
}

/* Unaligned caller buffers work (the API takes void *). */
static void unaligned_buffers(void **state)
{
	static unsigned char buf[PAGE + 64], out[PAGE + 64];
	unsigned char want[PAGE];

	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = test_store_new(8, (enum vswap_codec)c,
						       0);

		for (int k = PK_ZERO; k < PK__COUNT; k++) {
			page_fill(want, (enum page_kind)k, 3);
			memcpy(buf + 3, want, PAGE);
			assert_int_equal(vswap_store_page(s, 1, buf + 3),
					 VSWAP_OK);
			assert_int_equal(vswap_load_page(s, 1, out + 5),
					 VSWAP_OK);
			assert_memory_equal(out + 5, want, PAGE);
		}
		vswap_store_destroy(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_default_levels),
		cmocka_unit_test(round_trip_lz4_levels),
		cmocka_unit_test(round_trip_zstd_levels),
		cmocka_unit_test(text_is_compressed),
		cmocka_unit_test(empty_slot_loads_zeroes),
		cmocka_unit_test(overwrite_every_transition),
		cmocka_unit_test(almost_same_pages),
		cmocka_unit_test(store_copies_the_page),
		cmocka_unit_test(unaligned_buffers),
	};

	return cmocka_run_group_tests_name("roundtrip", tests, NULL, NULL);
}
