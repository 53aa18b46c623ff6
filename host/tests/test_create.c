/* SPDX-License-Identifier: MIT */
/*
 * Store creation and destruction: valid parameters give a working store,
 * every invalid one gives NULL and VSWAP_E_INVAL (never an abort).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "memsource.h"

static void params_init_defaults(void **state)
{
	struct vswap_params p;

	(void)state;
	memset(&p, 0xa5, sizeof(p));
	vswap_params_init(&p, 1000);
	assert_int_equal(p.capacity, 1000);
	assert_int_equal(p.codec, VSWAP_CODEC_LZ4);
	assert_int_equal(p.level, 0);
	assert_int_equal(p.pool_max, 0);
	/* 0 means "default (3072)"; an explicit value must be that default. */
	assert_true(p.max_compressed == 0 || p.max_compressed == 3072);
}

/* Create with @p; expect INVAL and NULL. */
static void expect_inval(const struct vswap_params *p, const char *what)
{
	int err = 12345;
	struct vswap_store *s = vswap_store_create(p, &err);

	if (s) {
		vswap_store_destroy(s);
		fail_msg("%s: store created, want VSWAP_E_INVAL", what);
	}
	if (err != VSWAP_E_INVAL)
		fail_msg("%s: err %d (%s), want VSWAP_E_INVAL", what, err,
			 vswap_error_name(err));
	/* err may be NULL too. */
	assert_null(vswap_store_create(p, NULL));
}

static void create_valid(void **state)
{
	static const uint64_t caps[] = { 1, 2, 4095, 1u << 20,
					 VSWAP_MAX_CAPACITY };
	(void)state;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
			struct vswap_store *s;
			struct vswap_stats st;
			int err = 12345;
			struct vswap_params p;

			vswap_params_init(&p, caps[i]);
			p.codec = (enum vswap_codec)c;
			s = vswap_store_create(&p, &err);
			if (!s)
				fail_msg("capacity %" PRIu64 " codec %s: %s",
					 caps[i], vswap_codec_name(p.codec),
					 vswap_error_name(err));
			assert_int_equal(err, VSWAP_OK);
			st = test_stats(s);
			assert_int_equal(st.capacity, caps[i]);
			assert_int_equal(st.pool_max, 0);
			assert_int_equal(st.stored_pages, 0);
			assert_int_equal(st.stores, 0);
			assert_int_equal(st.loads, 0);
			/* The highest slot works, the next one is out of range. */
			store_kind(s, caps[i] - 1, PK_TEXT, i);
			check_slot(s, caps[i] - 1, PK_TEXT, i);
			vswap_store_destroy(s);
		}
	}
}

static void create_all_levels(void **state)
{
	(void)state;

	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		int min = INT_MIN, max = INT_MAX;

		vswap_codec_level_bounds((enum vswap_codec)c, &min, &max);
		assert_true(min <= max);
		assert_true(min != INT_MIN && max != INT_MAX);
		/* "0 always means codec default": 0 must be accepted. */
		for (int lvl = min; lvl <= max; lvl++) {
			struct vswap_store *s;

			if (lvl > min + 3 && lvl < max - 3 && lvl != 0)
				continue;	/* ends and the default suffice */
			s = test_store_new(64, (enum vswap_codec)c, lvl);
			store_kind(s, 7, PK_TEXT, (uint64_t)lvl);
			check_slot(s, 7, PK_TEXT, (uint64_t)lvl);
			vswap_store_destroy(s);
		}
	}
}

static void create_invalid(void **state)
{
	struct vswap_params p;
	int err = 12345;

	(void)state;
	assert_null(vswap_store_create(NULL, &err));
	assert_int_equal(err, VSWAP_E_INVAL);

	vswap_params_init(&p, 0);
	expect_inval(&p, "capacity 0");
	vswap_params_init(&p, VSWAP_MAX_CAPACITY + 1);
	expect_inval(&p, "capacity 2^32 + 1");
	vswap_params_init(&p, UINT64_MAX);
	expect_inval(&p, "capacity UINT64_MAX");

	vswap_params_init(&p, 16);
	p.codec = VSWAP_CODEC__COUNT;
	expect_inval(&p, "codec __COUNT");
	p.codec = (enum vswap_codec)-1;
	expect_inval(&p, "codec -1");
	p.codec = (enum vswap_codec)1000;
	expect_inval(&p, "codec 1000");

	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		int min, max;
		char what[64];

		vswap_codec_level_bounds((enum vswap_codec)c, &min, &max);
		vswap_params_init(&p, 16);
		p.codec = (enum vswap_codec)c;
		p.level = max + 1;
		snprintf(what, sizeof(what), "%s level %d",
			 vswap_codec_name(p.codec), p.level);
		expect_inval(&p, what);
		p.level = INT_MAX;
		expect_inval(&p, "level INT_MAX");
		if (min - 1 != 0) {
			p.level = min - 1;
			snprintf(what, sizeof(what), "%s level %d",
				 vswap_codec_name(p.codec), p.level);
			expect_inval(&p, what);
		}
		p.level = INT_MIN;
		expect_inval(&p, "level INT_MIN");
	}

	/*
	 * A threshold above the page size: the header does not say; either
	 * INVAL, or accepted and a random page is still never expanded.
	 */
	vswap_params_init(&p, 16);
	p.max_compressed = PAGE + 1;
	{
		struct vswap_store *s = vswap_store_create(&p, &err);

		if (!s) {
			assert_int_equal(err, VSWAP_E_INVAL);
		} else {
			struct vswap_stats st;

			store_kind(s, 1, PK_RANDOM, 9);
			check_slot(s, 1, PK_RANDOM, 9);
			st = test_stats(s);
			assert_int_equal(st.compressed_bytes, PAGE);
			vswap_store_destroy(s);
		}
	}
}

static void destroy_null(void **state)
{
	(void)state;
	vswap_store_destroy(NULL);
}

/* "Two stores share nothing": what one holds is invisible to the other. */
static void stores_independent(void **state)
{
	struct vswap_store *a = test_store_new(16, VSWAP_CODEC_LZ4, 0);
	struct vswap_store *b = test_store_new(16, VSWAP_CODEC_ZSTD, 0);
	struct vswap_stats st;

	(void)state;
	store_kind(a, 3, PK_TEXT, 1);
	store_kind(b, 3, PK_RANDOM, 2);
	check_slot(a, 3, PK_TEXT, 1);
	check_slot(b, 3, PK_RANDOM, 2);
	check_slot(b, 4, PK_EMPTY, 0);
	vswap_store_destroy(a);
	check_slot(b, 3, PK_RANDOM, 2);
	st = test_stats(b);
	assert_int_equal(st.stored_pages, 1);
	assert_int_equal(st.stores, 1);
	vswap_store_destroy(b);
}

/*
 * An idle store costs little at any capacity (issue 15 #5: an idle
 * device at most 64 KiB). At 2^32 slots (16 TiB) the slot-table
 * directory is 32 KiB and the arena directory 8 KiB; the arena pointer
 * array sized for the worst case used to make it 4 MiB. And the first
 * page stored makes one arena leaf, not the whole table.
 */
#define REGION_BYTES	((uint64_t)VSWAP_REGION_SEGS << VSWAP_SEG_SHIFT)

static void idle_cost_any_capacity(void **state)
{
	static const uint64_t caps[] = { 16, UINT64_C(1) << 24,
					 UINT64_C(1) << 28, VSWAP_MAX_CAPACITY };

	(void)state;
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct vswap_store *s = test_store_new(caps[i],
						       VSWAP_CODEC_LZ4, 0);
		uint64_t idle = vswap_pool_bytes(s);

		assert_true(idle <= 64 * 1024);
		store_kind(s, caps[i] - 1, PK_TEXT, 7);
		check_slot(s, caps[i] - 1, PK_TEXT, 7);
		/* one region (a huge page: the segment and the rest kept,
		 * memsource.h), one arena, one leaf, one slot-table chunk */
		assert_true(vswap_pool_bytes(s) - idle <=
			    REGION_BYTES + 256 * 1024);
		vswap_store_destroy(s);
	}
}

/* NULL store or page: INVAL, nothing else happens. */
static void null_arguments(void **state)
{
	struct vswap_store *s = test_store_new(16, VSWAP_CODEC_LZ4, 0);
	unsigned char page[PAGE] = { 1 };
	struct vswap_stats st;

	(void)state;
	assert_int_equal(vswap_store_page(NULL, 0, page), VSWAP_E_INVAL);
	assert_int_equal(vswap_load_page(NULL, 0, page), VSWAP_E_INVAL);
	assert_int_equal(vswap_invalidate(NULL, 0, 1), VSWAP_E_INVAL);
	assert_int_equal(vswap_set_pool_max(NULL, 0), VSWAP_E_INVAL);
	assert_int_equal(vswap_compact(NULL), VSWAP_E_INVAL);
	assert_int_equal(vswap_store_page(s, 0, NULL), VSWAP_E_INVAL);
	assert_int_equal(vswap_load_page(s, 0, NULL), VSWAP_E_INVAL);
	vswap_reset(NULL);
	st = test_stats(s);
	assert_int_equal(st.stored_pages, 0);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(params_init_defaults),
		cmocka_unit_test(create_valid),
		cmocka_unit_test(create_all_levels),
		cmocka_unit_test(create_invalid),
		cmocka_unit_test(destroy_null),
		cmocka_unit_test(stores_independent),
		cmocka_unit_test(idle_cost_any_capacity),
		cmocka_unit_test(null_arguments),
	};

	return cmocka_run_group_tests_name("create", tests, NULL, NULL);
}
