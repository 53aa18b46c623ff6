/* SPDX-License-Identifier: MIT */
/*
 * Accounting: every counter agrees exactly with what the test did; zero and
 * same-filled pages cost no pool memory; incompressible pages cost exactly
 * 4096 payload bytes; invalidation gives the memory back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "memsource.h"

static uint64_t hist_sum(const struct vswap_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < VSWAP_LAT_BUCKETS; i++)
		n += st->load_latency[i];
	return n;
}

/* A scripted sequence; after each step every counter is what it must be. */
static void counters_follow_script(void **state)
{
	struct vswap_store *s = test_store_new(100, VSWAP_CODEC_LZ4, 0);
	unsigned char page[PAGE];
	struct vswap_stats st;

	(void)state;
	st = test_stats(s);
	assert_int_equal(st.capacity, 100);
	assert_int_equal(st.pool_max, 0);
	assert_int_equal(st.stored_pages, 0);
	assert_int_equal(st.compressed_bytes, 0);
	assert_int_equal(st.stores + st.loads + st.invalidates, 0);
	assert_int_equal(st.invalidated_pages + st.loads_empty, 0);
	assert_int_equal(st.store_nospace + st.store_nomem, 0);
	assert_int_equal(st.integrity_errors, 0);
	assert_int_equal(hist_sum(&st), 0);

	/* slots 0-2 zero, 10-13 same, 20-24 text, 30-31 random */
	for (uint64_t i = 0; i < 3; i++)
		store_kind(s, i, PK_ZERO, i);
	for (uint64_t i = 10; i < 14; i++)
		store_kind(s, i, PK_SAME, i);
	for (uint64_t i = 20; i < 25; i++)
		store_kind(s, i, PK_TEXT, i);
	for (uint64_t i = 30; i < 32; i++)
		store_kind(s, i, PK_RANDOM, i);
	st = test_stats(s);
	assert_int_equal(st.stores, 14);
	assert_int_equal(st.stored_pages, 14);
	assert_int_equal(st.zero_pages, 3);
	assert_int_equal(st.same_pages, 4);
	assert_int_equal(st.compressed_pages, 5);
	assert_int_equal(st.incompressible_pages, 2);
	assert_true(st.compressed_bytes > 2 * PAGE);
	assert_true(st.compressed_bytes < 2 * PAGE + 5 * 3072);

	/* 6 loads: 4 held, 2 empty */
	check_slot(s, 0, PK_ZERO, 0);
	check_slot(s, 10, PK_SAME, 10);
	check_slot(s, 20, PK_TEXT, 20);
	check_slot(s, 30, PK_RANDOM, 30);
	check_slot(s, 50, PK_EMPTY, 0);
	check_slot(s, 99, PK_EMPTY, 0);
	st = test_stats(s);
	assert_int_equal(st.loads, 6);
	assert_int_equal(st.loads_empty, 2);
	assert_true(hist_sum(&st) >= st.loads - st.loads_empty);
	assert_true(hist_sum(&st) <= st.loads);

	/* invalidate [12, 22): 2 same + 2 text held, 6 empty slots */
	assert_int_equal(vswap_invalidate(s, 12, 10), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(st.invalidates, 1);
	assert_int_equal(st.invalidated_pages, 4);
	assert_int_equal(st.stored_pages, 10);
	assert_int_equal(st.same_pages, 2);
	assert_int_equal(st.compressed_pages, 3);

	/* overwrite text 22 by zero, random 30 by text, zero 0 by random */
	store_kind(s, 22, PK_ZERO, 0);
	store_kind(s, 30, PK_TEXT, 300);
	store_kind(s, 0, PK_RANDOM, 400);
	st = test_stats(s);
	assert_int_equal(st.stores, 17);
	assert_int_equal(st.stored_pages, 10);
	assert_int_equal(st.zero_pages, 3);
	assert_int_equal(st.same_pages, 2);
	assert_int_equal(st.compressed_pages, 3);
	assert_int_equal(st.incompressible_pages, 2);

	/* a refused store counts nowhere but (maybe) stores */
	page_fill(page, PK_TEXT, 1);
	assert_int_equal(vswap_store_page(s, 100, page), VSWAP_E_RANGE);
	st = test_stats(s);
	assert_int_equal(st.stored_pages, 10);
	assert_int_equal(st.compressed_pages, 3);

	assert_store_valid(s);
	/* drop everything: content counters back to 0 */
	assert_int_equal(vswap_invalidate(s, 0, 100), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(st.invalidated_pages, 14);
	assert_int_equal(st.stored_pages, 0);
	assert_int_equal(st.zero_pages + st.same_pages, 0);
	assert_int_equal(st.compressed_pages + st.incompressible_pages, 0);
	assert_int_equal(st.compressed_bytes, 0);
	assert_int_equal(st.integrity_errors, 0);
	assert_true(st.pool_bytes_peak >= st.pool_bytes);
	vswap_store_destroy(s);
}

/* Pool memory that is not metadata: what page payloads cost. */
static uint64_t data_bytes(const struct vswap_stats *st)
{
	return st->pool_bytes - st->meta_bytes;
}

static void zero_and_same_cost_no_pool(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = test_store_new(20000,
						(enum vswap_codec)c, 0);
		struct vswap_stats a, b;

		/* one real page first, so the store has its head segment */
		store_kind(s, 19999, PK_TEXT, 1);
		a = test_stats(s);
		for (uint64_t i = 0; i < 10000; i++)
			store_kind(s, i, PK_ZERO, 0);
		for (uint64_t i = 10000; i < 19999; i++)
			store_kind(s, i, PK_SAME, i);
		b = test_stats(s);
		assert_int_equal(b.zero_pages, 10000);
		assert_int_equal(b.same_pages, 9999);
		assert_int_equal(b.compressed_bytes, a.compressed_bytes);
		assert_true(b.pool_bytes >= b.meta_bytes);
		if (data_bytes(&b) != data_bytes(&a))
			fail_msg("%s: 19999 zero/same pages grew non-metadata "
				 "pool bytes from %" PRIu64 " to %" PRIu64,
				 vswap_codec_name((enum vswap_codec)c),
				 data_bytes(&a), data_bytes(&b));
		/* whatever grew is slot table (<= its per-slot bound) and
		 * the dictionary of 9999 fill values (16 B each + <= 2
		 * buckets of 4 B, in 16 KiB blocks) */
		assert_true(b.meta_bytes - a.meta_bytes <=
			    20000 * vswap_slot_meta_bytes() + 9999 * 24 +
			    16384 + 65536);
		vswap_store_destroy(s);
	}
}

static void incompressible_costs_a_page(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = test_store_new(64,
						(enum vswap_codec)c, 0);
		struct vswap_stats st;

		for (uint64_t i = 0; i < 50; i++) {
			store_kind(s, i, PK_RANDOM, i);
			st = test_stats(s);
			assert_int_equal(st.incompressible_pages, i + 1);
			assert_int_equal(st.compressed_bytes, (i + 1) * PAGE);
		}
		for (uint64_t i = 0; i < 50; i++)
			check_slot(s, i, PK_RANDOM, i);
		vswap_store_destroy(s);
	}
}

/* codec "none": every pool page is stored as-is, 4096 bytes. */
static void codec_none_stores_as_is(void **state)
{
	struct vswap_store *s = test_store_new(64, VSWAP_CODEC_NONE, 0);
	struct vswap_stats st;

	(void)state;
	for (uint64_t i = 0; i < 10; i++)
		store_kind(s, i, PK_TEXT, i);
	for (uint64_t i = 10; i < 20; i++)
		store_kind(s, i, PK_NEAR_SAME, i);
	st = test_stats(s);
	assert_int_equal(st.compressed_pages + st.incompressible_pages, 20);
	assert_int_equal(st.compressed_bytes, 20 * PAGE);
	vswap_store_destroy(s);
}

/* max_compressed decides: text that compresses to ~1.5 KiB goes as-is at 512. */
static void max_compressed_threshold(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;

	(void)state;
	vswap_params_init(&p, 64);
	p.max_compressed = 512;
	s = test_store_new_p(&p);
	for (uint64_t i = 0; i < 8; i++)
		store_kind(s, i, PK_TEXT, i);
	st = test_stats(s);
	assert_int_equal(st.incompressible_pages, 8);
	assert_int_equal(st.compressed_pages, 0);
	assert_int_equal(st.compressed_bytes, 8 * PAGE);
	for (uint64_t i = 0; i < 8; i++)
		check_slot(s, i, PK_TEXT, i);
	vswap_store_destroy(s);

	p.max_compressed = 4000;
	s = test_store_new_p(&p);
	for (uint64_t i = 0; i < 8; i++)
		store_kind(s, i, PK_TEXT, i);
	st = test_stats(s);
	assert_int_equal(st.compressed_pages, 8);
	assert_true(st.compressed_bytes <= 8 * 4000);
	vswap_store_destroy(s);
}

static void invalidate_frees(void **state)
{
	struct vswap_store *s = test_store_new(4096, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats full, empty, before;

	(void)state;
	before = test_stats(s);
	for (uint64_t i = 0; i < 4096; i++)
		store_kind(s, i, i % 2 ? PK_TEXT : PK_RANDOM, i);
	full = test_stats(s);
	assert_true(full.pool_bytes > before.pool_bytes + 2048 * PAGE);
	assert_int_equal(vswap_invalidate(s, 0, 4096), VSWAP_OK);
	empty = test_stats(s);
	assert_int_equal(empty.stored_pages, 0);
	assert_int_equal(empty.compressed_bytes, 0);
	assert_int_equal(empty.invalidated_pages, 4096);
	/* "their memory is freed at once": every segment is empty now,
	 * and only the open head's region (a huge page) stays. */
	if (empty.pool_bytes > before.pool_bytes + 4096 * 16 + (1 << 20) +
			       ((uint64_t)VSWAP_REGION_SEGS << VSWAP_SEG_SHIFT))
		fail_msg("pool bytes %" PRIu64 " after dropping everything, "
			 "%" PRIu64 " when new", empty.pool_bytes,
			 before.pool_bytes);
	assert_true(empty.pool_bytes_peak >= full.pool_bytes);
	vswap_store_destroy(s);
}

static void slot_meta_bound(void **state)
{
	struct vswap_store *s;
	struct vswap_stats st;
	const uint64_t n = 1 << 20;

	(void)state;
	assert_true(vswap_slot_meta_bytes() > 0);
	assert_true(vswap_slot_meta_bytes() <= 16);

	/* A full table of zero pages holds no objects: metadata only. */
	s = test_store_new(n, VSWAP_CODEC_LZ4, 0);
	for (uint64_t i = 0; i < n; i++)
		store_kind(s, i, PK_ZERO, 0);
	st = test_stats(s);
	assert_int_equal(st.zero_pages, n);
	if (st.meta_bytes > n * 16 + (1 << 16))
		fail_msg("%" PRIu64 " meta bytes for %" PRIu64 " zero pages "
			 "(%.2f per slot)", st.meta_bytes, n,
			 (double)st.meta_bytes / (double)n);
	assert_true(st.pool_bytes >= st.meta_bytes);
	vswap_store_destroy(s);
}

/* Every load of a held page lands in exactly one latency bucket. */
static void latency_histogram_counts_every_load(void **state)
{
	struct vswap_store *s = test_store_new(2000, VSWAP_CODEC_LZ4, 0);
	unsigned char page[PAGE];
	struct vswap_stats st;
	uint64_t empty;

	(void)state;
	for (uint64_t i = 0; i < 1000; i++)
		store_kind(s, i, (enum page_kind)(PK_ZERO + i % 5), i);
	for (int round = 0; round < 3; round++)
		for (uint64_t i = 0; i < 1000; i++)
			assert_int_equal(vswap_load_page(s, i, page), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(st.loads, 3000);
	assert_int_equal(hist_sum(&st), 3000);
	/* empty loads: in the histogram or not, but consistently */
	for (uint64_t i = 1000; i < 1500; i++)
		assert_int_equal(vswap_load_page(s, i, page), VSWAP_OK);
	st = test_stats(s);
	empty = hist_sum(&st) - 3000;
	assert_true(empty == 0 || empty == 500);
	assert_int_equal(st.loads_empty, 500);
	/* nothing takes 2^31 ns (2 s) or more here */
	assert_int_equal(st.load_latency[VSWAP_LAT_BUCKETS - 1], 0);
	vswap_store_destroy(s);
}

static void set_pool_max_echo(void **state)
{
	struct vswap_store *s = test_store_new(16, VSWAP_CODEC_LZ4, 0);

	(void)state;
	assert_int_equal(vswap_set_pool_max(s, 1 << 30), VSWAP_OK);
	assert_int_equal(test_stats(s).pool_max, 1 << 30);
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	assert_int_equal(test_stats(s).pool_max, 0);
	vswap_store_destroy(s);
}

/* vswap_pool_bytes() is vswap_stats.pool_bytes, without the snapshot. */
static void pool_bytes_call(void **state)
{
	struct vswap_store *s = test_store_new(256, VSWAP_CODEC_LZ4, 0);
	uint64_t empty;

	(void)state;
	assert_int_equal(vswap_pool_bytes(NULL), 0);
	empty = vswap_pool_bytes(s);
	assert_int_equal(empty, test_stats(s).pool_bytes);
	for (uint64_t i = 0; i < 256; i++)
		store_kind(s, i, PK_RANDOM, i);
	assert_true(vswap_pool_bytes(s) >= empty + 256 * PAGE);
	assert_int_equal(vswap_pool_bytes(s), test_stats(s).pool_bytes);
	/* the decision QEMU makes after lowering the cap */
	assert_int_equal(vswap_set_pool_max(s, vswap_pool_bytes(s) / 2),
			 VSWAP_OK);
	assert_true(vswap_pool_bytes(s) > test_stats(s).pool_max);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counters_follow_script),
		cmocka_unit_test(zero_and_same_cost_no_pool),
		cmocka_unit_test(incompressible_costs_a_page),
		cmocka_unit_test(codec_none_stores_as_is),
		cmocka_unit_test(max_compressed_threshold),
		cmocka_unit_test(invalidate_frees),
		cmocka_unit_test(slot_meta_bound),
		cmocka_unit_test(latency_histogram_counts_every_load),
		cmocka_unit_test(set_pool_max_echo),
		cmocka_unit_test(pool_bytes_call),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
