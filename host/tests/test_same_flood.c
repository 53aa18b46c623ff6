/* SPDX-License-Identifier: MIT */
/*
 * The same-fill dictionary under hash flooding (same_dict.h): a guest picks
 * its pages' fill values, so it picks the dictionary's keys. Values crafted
 * to share one bucket under an unkeyed hash must not make stores, drops or
 * a reset walk long chains; the work is counted (same_dict.probes, the
 * chain entries visited), not timed. And the dictionary's memory is pool
 * memory: it shows in pool_bytes and is refused at pool_max.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "vswap_test.h"

/* Fibonacci hashing's multiplier, the unkeyed hash libvswap used. */
#define PHI	UINT64_C(0x9e3779b97f4a7c15)

/* PHI^-1 mod 2^64 (Newton: each step doubles the correct low bits). */
static uint64_t phi_inverse(void)
{
	uint64_t x = PHI;

	for (int i = 0; i < 6; i++)
		x *= 2 - PHI * x;
	assert_true(x * PHI == 1);
	return x;
}

/*
 * The k-th crafted value (k >= 1): v * PHI == k, so the top bits of
 * v * PHI, the old bucket index at every table size up to 2^47 buckets,
 * are all zero: every value in bucket 0.
 */
static uint64_t crafted(uint64_t inv, uint64_t k)
{
	return k * inv;
}

static void store_fill(struct vswap_store *s, uint64_t slot, uint64_t v)
{
	unsigned char page[PAGE];

	fill_same(page, v);
	assert_int_equal(vswap_store_page(s, slot, page), VSWAP_OK);
}

static uint64_t probes(struct vswap_store *s)
{
	return s->same.probes;
}

/*
 * 8 Ki crafted values: the old hash put them all in one chain, ~N^2/2 =
 * 33 M probes to store them and as many to drop them. A keyed hash keeps
 * a lookup at about one probe: allow 4 per operation.
 */
#define NFLOOD	8192u
#define PROBES_PER_OP	4u

static void flood_one_bucket(void **state)
{
	struct vswap_store *s = test_store_new(NFLOOD, VSWAP_CODEC_LZ4, 0);
	uint64_t inv = phi_inverse(), p0;
	unsigned char page[PAGE], want[PAGE];

	(void)state;
	p0 = probes(s);
	for (uint64_t k = 1; k <= NFLOOD; k++)
		store_fill(s, k - 1, crafted(inv, k));
	/* Every value went into the dictionary (none refused). */
	assert_int_equal(test_stats(s).same_pages, NFLOOD);
	if (probes(s) - p0 > (uint64_t)NFLOOD * PROBES_PER_OP)
		fail_msg("storing %u crafted values walked %" PRIu64
			 " chain entries", NFLOOD, probes(s) - p0);
	assert_store_valid(s);
	for (uint64_t k = 1; k <= NFLOOD; k += 97) {
		fill_same(want, crafted(inv, k));
		assert_int_equal(vswap_load_page(s, k - 1, page), VSWAP_OK);
		assert_memory_equal(page, want, PAGE);
	}
	/* Dropping them (every refcount to 0): no chain walk either. */
	p0 = probes(s);
	assert_int_equal(vswap_invalidate(s, 0, NFLOOD), VSWAP_OK);
	if (probes(s) - p0 > (uint64_t)NFLOOD * PROBES_PER_OP)
		fail_msg("dropping %u crafted values walked %" PRIu64
			 " chain entries", NFLOOD, probes(s) - p0);
	assert_store_valid(s);
	/* And the reset of a flooded store. */
	for (uint64_t k = 1; k <= NFLOOD; k++)
		store_fill(s, k - 1, crafted(inv, k + NFLOOD));
	p0 = probes(s);
	vswap_reset(s);
	if (probes(s) - p0 > (uint64_t)NFLOOD * PROBES_PER_OP)
		fail_msg("reset of %u crafted values walked %" PRIu64
			 " chain entries", NFLOOD, probes(s) - p0);
	assert_int_equal(test_stats(s).same_pages, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

/*
 * The dictionary is charged to the pool like segments: its bytes are in
 * pool_bytes (and meta_bytes), and at pool_max a value that needs new
 * dictionary memory is refused: the page then goes the compressed way,
 * which at the cap (no segment, no disk) is NOSPACE, counted as such.
 */
#define NCAP	3000u

/* Distinct, non-zero (an odd multiplier is a bijection). */
static uint64_t value_of(uint64_t k)
{
	return (k + 1) * UINT64_C(0x0123456789abcdef);
}

static void dict_memory_is_pool_memory(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats base, st;
	uint64_t dict, max, k, ok = 0;
	int r = VSWAP_OK;

	(void)state;
	vswap_params_init(&p, 4 * NCAP);
	p.pool_max = 64 << 20;
	s = test_store_new_p(&p);
	/* Zero pages first: every slot-table chunk is resident, so what
	 * grows below is the dictionary alone. */
	for (k = 0; k < 4 * NCAP; k++)
		store_kind(s, k, PK_ZERO, 0);
	base = test_stats(s);
	assert_int_equal(s->same.bytes, 0);
	for (k = 0; k < NCAP; k++)
		store_fill(s, k, value_of(k));
	st = test_stats(s);
	dict = s->same.bytes;
	assert_true(dict >= NCAP * 16);
	assert_int_equal(st.pool_bytes - base.pool_bytes, dict);
	assert_int_equal(st.meta_bytes - base.meta_bytes, dict);
	assert_int_equal(st.same_pages, NCAP);

	/* Cap at what is charged now: no byte more may be taken. */
	max = st.pool_bytes;
	assert_int_equal(vswap_set_pool_max(s, max), VSWAP_OK);
	for (k = NCAP; k < 4 * NCAP; k++) {
		unsigned char page[PAGE];

		fill_same(page, value_of(k));
		r = vswap_store_page(s, k, page);
		assert_true(test_stats(s).pool_bytes <= max);
		if (r)
			break;
		ok++;
	}
	/* Values still fitting the dictionary's last block went in; the
	 * first one needing more memory was refused like a full pool. */
	assert_int_equal(r, VSWAP_E_NOSPACE);
	assert_true(ok < 4 * NCAP - NCAP);
	st = test_stats(s);
	assert_int_equal(s->same.bytes, dict);
	assert_int_equal(st.same_pages, NCAP + ok);
	assert_int_equal(st.compressed_pages, 0);
	assert_int_equal(st.store_nospace, 1);
	assert_store_valid(s);
	/* Memory back: the value goes in. */
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	store_fill(s, k, value_of(k));
	assert_true(s->same.bytes > dict);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flood_one_bucket),
		cmocka_unit_test(dict_memory_is_pool_memory),
	};

	return cmocka_run_group_tests_name("same_flood", tests, NULL, NULL);
}
