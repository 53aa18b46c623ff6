/* SPDX-License-Identifier: MIT */
/*
 * Disk tier space: what is invalidated on disk goes back to the file
 * system (hole punching, seen in st_blocks), freed chunks are reused before
 * the file grows, and disk_file_bytes reports the allocation.
 *
 *   invalidate_frees_blocks   everything written back, then invalidated:
 *                             the file's blocks go to 0
 *   partial_invalidate        holes alone keep blocks; emptying the first
 *                             half of the data frees about half of them
 *   chunks_reused             store / write back / invalidate rounds: the
 *                             file does not grow past the first round
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"

#define N	3000u

static struct vswap_store *fill(int fd, unsigned n, uint64_t seed)
{
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 8192);
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < n; i++)
		store_kind(s, i, i % 4 ? PK_TEXT : PK_RANDOM, seed + i);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, n);
	return s;
}

static void invalidate_frees_blocks(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_store *s = fill(fd, N, 0);
	struct vswap_stats st = test_stats(s);
	uint64_t full = file_blocks(fd);

	(void)state;
	printf("# %u pages: disk_bytes %" PRIu64 ", file blocks %" PRIu64 "\n",
	       N, st.disk_bytes, full);
	assert_true(full >= st.disk_bytes);
	assert_true(full <= st.disk_bytes + st.disk_bytes / 4 + 2 * MIB);
	assert_int_equal(st.disk_file_bytes, full);
	assert_int_equal(vswap_invalidate(s, 0, N), VSWAP_OK);
	/* Every sealed chunk is punched at once; the open one is given back
	 * by the next writeback. */
	assert_true(file_blocks(fd) <= TIER_TEST_CHUNK);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(file_blocks(fd), 0);
	st = test_stats(s);
	assert_int_equal(st.disk_pages, 0);
	assert_int_equal(st.disk_bytes, 0);
	assert_int_equal(st.disk_file_bytes, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void partial_invalidate(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_store *s = fill(fd, N, 7);
	uint64_t full = file_blocks(fd), holes, half;

	(void)state;
	/* Every other slot: each chunk keeps half its objects. */
	for (unsigned i = 0; i < N; i += 2)
		assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	holes = file_blocks(fd);
	assert_true(holes >= full - 2 * TIER_TEST_CHUNK);
	/* Now the whole first half: its chunks empty and are punched. */
	assert_int_equal(vswap_invalidate(s, 0, N / 2), VSWAP_OK);
	half = file_blocks(fd);
	printf("# blocks: full %" PRIu64 ", holes %" PRIu64 ", half %" PRIu64
	       "\n", full, holes, half);
	assert_true(half <= full / 2 + 2 * TIER_TEST_CHUNK);
	for (unsigned i = N / 2; i < N; i++)
		check_slot(s, i, i % 2 ? (i % 4 ? PK_TEXT : PK_RANDOM) :
			   PK_ZERO, 7 + i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void chunks_reused(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_store *s = fill(fd, N, 100);
	uint64_t size1 = file_size(fd);

	(void)state;
	for (unsigned round = 1; round < 5; round++) {
		assert_int_equal(vswap_invalidate(s, 0, N), VSWAP_OK);
		for (unsigned i = 0; i < N; i++)
			store_kind(s, i, i % 4 ? PK_TEXT : PK_RANDOM,
				   100 * round + i);
		assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
		assert_true(file_size(fd) <= size1 + TIER_TEST_CHUNK);
		assert_store_valid(s);
	}
	for (unsigned i = 0; i < N; i++)
		check_slot(s, i, i % 4 ? PK_TEXT : PK_RANDOM, 400 + i);
	vswap_store_destroy(s);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(invalidate_frees_blocks),
		cmocka_unit_test(partial_invalidate),
		cmocka_unit_test(chunks_reused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
