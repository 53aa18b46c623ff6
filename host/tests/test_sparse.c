/* SPDX-License-Identifier: MIT */
/*
 * A store of the maximum capacity (2^32 slots = 16 TiB of virtual swap) is
 * sparse: it reserves nothing, slots near the top work, and memory (both
 * pool_bytes and this process's resident set) grows with what is stored, not
 * with capacity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "vswap_test.h"

#define MiB (UINT64_C(1) << 20)

/* Resident set of this process in bytes, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static const uint64_t top = VSWAP_MAX_CAPACITY;

static void max_capacity_sparse(void **state)
{
	const uint64_t slots[] = { 0, 1, top / 2, top / 2 + 1, top - 4096,
				   top - 2, top - 1 };
	const size_t n = sizeof(slots) / sizeof(slots[0]);
	uint64_t rss0 = rss_bytes();
	struct vswap_store *s = test_store_new(top, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats st;

	(void)state;
	st = test_stats(s);
	assert_int_equal(st.capacity, top);
	if (st.pool_bytes > 64 * MiB)
		fail_msg("empty 2^32 store holds %" PRIu64 " pool bytes",
			 st.pool_bytes);
	for (size_t i = 0; i < n; i++)
		store_kind(s, slots[i], (enum page_kind)(PK_ZERO + i % 4), i);
	for (size_t i = 0; i < n; i++)
		check_slot(s, slots[i], (enum page_kind)(PK_ZERO + i % 4), i);
	check_slot(s, top - 3, PK_EMPTY, 0);
	check_slot(s, top / 2 - 1, PK_EMPTY, 0);
	st = test_stats(s);
	assert_int_equal(st.stored_pages, n);
	if (st.pool_bytes > 64 * MiB)
		fail_msg("2^32 store with %zu pages holds %" PRIu64
			 " pool bytes", n, st.pool_bytes);
	/* ASan's shadow inflates RSS, hence the generous bound. */
	if (rss0 && rss_bytes() > rss0 + 256 * MiB)
		fail_msg("RSS grew from %" PRIu64 " to %" PRIu64 " bytes",
			 rss0, rss_bytes());
	assert_int_equal(vswap_store_page(s, top, (unsigned char[PAGE]){ 0 }),
			 VSWAP_E_RANGE);
	vswap_store_destroy(s);
}

/* Scattered stores all over the range: memory per stored page stays bounded. */
static void scattered_slots(void **state)
{
	struct vswap_store *s = test_store_new(top, VSWAP_CODEC_LZ4, 0);
	struct test_rng r = { 42 };
	const int n = 2000;
	uint64_t slots[2000];
	struct vswap_stats st;

	(void)state;
	for (int i = 0; i < n; i++) {
		slots[i] = rng_below(&r, top);
		store_kind(s, slots[i], PK_SAME, (uint64_t)i);
	}
	for (int i = 0; i < n; i++) {
		/* a later duplicate slot overwrote an earlier one */
		int last = i;

		for (int j = i + 1; j < n; j++)
			if (slots[j] == slots[i])
				last = j;
		check_slot(s, slots[i], PK_SAME, (uint64_t)last);
	}
	st = test_stats(s);
	/*
	 * Same-filled pages cost no pool data: what is held is slot table.
	 * A radix/paged table may allocate a leaf per touched region; bound
	 * it at 64 KiB per stored page, still ~1000x less than a flat table
	 * (2^32 * 16 bytes = 64 GiB).
	 */
	if (st.pool_bytes > (uint64_t)n * 65536 + 64 * MiB)
		fail_msg("%d scattered pages hold %" PRIu64 " pool bytes", n,
			 st.pool_bytes);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(max_capacity_sparse),
		cmocka_unit_test(scattered_slots),
	};

	return cmocka_run_group_tests_name("sparse", tests, NULL, NULL);
}
