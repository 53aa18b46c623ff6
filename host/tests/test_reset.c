/* SPDX-License-Identifier: MIT */
/*
 * vswap_reset (device reset): every slot is dropped, content counters go to
 * zero, pool memory goes back to the host, and the store works afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"

#define N 20000u

static void reset_frees_everything(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = test_store_new(N, (enum vswap_codec)c,
						       0);
		struct vswap_stats empty = test_stats(s), full, st;

		for (uint64_t i = 0; i < N; i++)
			store_kind(s, i, (enum page_kind)(PK_ZERO + i % 5), i);
		full = test_stats(s);
		assert_int_equal(full.stored_pages, N);
		assert_true(full.pool_bytes > empty.pool_bytes + N / 5 * PAGE);

		vswap_reset(s);
		assert_store_valid(s);
		st = test_stats(s);
		assert_int_equal(st.stored_pages, 0);
		assert_int_equal(st.zero_pages, 0);
		assert_int_equal(st.same_pages, 0);
		assert_int_equal(st.compressed_pages, 0);
		assert_int_equal(st.incompressible_pages, 0);
		assert_int_equal(st.compressed_bytes, 0);
		assert_int_equal(st.capacity, N);
		/* Back near the new-store value: at most a kept slot table. */
		if (st.pool_bytes > empty.pool_bytes +
		    N * vswap_slot_meta_bytes() + 65536)
			fail_msg("%s: %" PRIu64 " pool bytes after reset, %"
				 PRIu64 " when new, %" PRIu64 " full",
				 vswap_codec_name((enum vswap_codec)c),
				 st.pool_bytes, empty.pool_bytes,
				 full.pool_bytes);
		assert_true(st.pool_bytes_peak >= full.pool_bytes);

		for (uint64_t i = 0; i < N; i += 17)
			check_slot(s, i, PK_EMPTY, 0);
		/* Works afterwards, same slots, new content. */
		for (uint64_t i = 0; i < N; i += 3)
			store_kind(s, i, PK_TEXT, i + 1);
		for (uint64_t i = 0; i < N; i += 3)
			check_slot(s, i, PK_TEXT, i + 1);
		st = test_stats(s);
		assert_int_equal(st.stored_pages, (N + 2) / 3);
		vswap_store_destroy(s);
	}
}

static void reset_empty_and_twice(void **state)
{
	struct vswap_store *s = test_store_new(16, VSWAP_CODEC_LZ4, 0);

	(void)state;
	vswap_reset(s);
	vswap_reset(s);
	store_kind(s, 15, PK_RANDOM, 1);
	vswap_reset(s);
	vswap_reset(s);
	check_slot(s, 15, PK_EMPTY, 0);
	assert_int_equal(test_stats(s).stored_pages, 0);
	vswap_store_destroy(s);
}

/* The pool cap survives a reset. */
static void reset_keeps_configuration(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;

	(void)state;
	vswap_params_init(&p, 64);
	p.pool_max = 8 << 20;
	s = test_store_new_p(&p);
	store_kind(s, 0, PK_TEXT, 0);
	vswap_reset(s);
	st = test_stats(s);
	assert_int_equal(st.pool_max, 8 << 20);
	assert_int_equal(st.capacity, 64);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reset_frees_everything),
		cmocka_unit_test(reset_empty_and_twice),
		cmocka_unit_test(reset_keeps_configuration),
	};

	return cmocka_run_group_tests_name("reset", tests, NULL, NULL);
}
