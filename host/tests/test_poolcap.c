/* SPDX-License-Identifier: MIT */
/*
 * Pool cap (no disk tier): once the pool is at pool_max, stores answer
 * VSWAP_E_NOSPACE, the slot keeps its old content, the refusal is counted,
 * the pool never grows past the cap (also with several threads storing at
 * once), garbage under the cap is reclaimed before saying no, and raising
 * the cap lets stores in again.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
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

	assert_store_valid(s);
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

/* A cap below one segment: pool data never fits, nothing breaks. */
static void tiny_cap(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	unsigned char page[PAGE];

	(void)state;
	vswap_params_init(&p, 256);
	p.pool_max = 1;
	s = test_store_new_p(&p);
	page_fill(page, PK_TEXT, 1);
	assert_int_equal(vswap_store_page(s, 3, page), VSWAP_E_NOSPACE);
	check_slot(s, 3, PK_EMPTY, 0);
	st = test_stats(s);
	assert_int_equal(st.stored_pages, 0);
	assert_int_equal(st.store_nospace, 1);
	assert_true(st.pool_bytes_peak <= 1 || st.pool_bytes_peak ==
		    test_stats(s).pool_bytes);
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	assert_int_equal(vswap_store_page(s, 3, page), VSWAP_OK);
	check_slot(s, 3, PK_TEXT, 1);
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

/*
 * Zero pages into every slot: the slot table is allocated before the pool
 * reaches its cap, so a test of the data path is not disturbed by table
 * growth (see metadata_counts_against_cap for that).
 */
static void touch_all_slots(struct vswap_store *s)
{
	for (uint64_t i = 0; i < SLOTS; i++)
		store_kind(s, i, PK_ZERO, 0);
}

/*
 * Regression test (failed against 8b34afe, fixed in e87a964): pool_max
 * caps pool_bytes, which counts the slot table, but only segment allocation
 * checked the cap.
 * Slot-table chunks (16 KiB per 1024 slots) for fresh slots were allocated
 * with no check, so a guest storing pages -- even zero pages, "no pool
 * memory" -- into scattered slots grew host memory far past pool_max
 * (here 4 MiB cap, ~130 MiB held), bounded only by capacity * 16 bytes.
 * Expected: such a store answers NOSPACE when the table would pass the cap.
 */
static void metadata_counts_against_cap(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	unsigned char page[PAGE];
	const uint64_t spread = 1024;	/* one fresh table chunk per store */

	(void)state;
	vswap_params_init(&p, SLOTS * spread);
	p.pool_max = CAP_BYTES;
	s = test_store_new_p(&p);
	for (uint64_t i = 0; i < SLOTS; i++) {
		page_fill(page, PK_RANDOM, i);
		if (vswap_store_page(s, i * spread, page) != VSWAP_OK)
			break;
	}
	/* at the cap: zero pages cost no pool data, but do cost table */
	for (uint64_t i = 0; i < SLOTS; i++)
		vswap_store_page(s, i * spread + 1, (unsigned char[PAGE]){ 0 });
	st = test_stats(s);
	vswap_store_destroy(s);
	if (st.pool_bytes_peak > CAP_BYTES)
		fail_msg("pool_bytes_peak %" PRIu64 " > pool_max %" PRIu64
			 " (pool_bytes %" PRIu64 ", meta %" PRIu64 ")",
			 st.pool_bytes_peak, CAP_BYTES, st.pool_bytes,
			 st.meta_bytes);
}

/*
 * A store at its cap (slot table allocated first), then every other page
 * invalidated: half the pool is garbage, no segment is empty. Returns the
 * store; *full_at is the first slot that got NOSPACE.
 */
static struct vswap_store *full_then_half_free(uint64_t *full_at)
{
	struct vswap_params p;
	struct vswap_store *s;
	unsigned char page[PAGE];

	vswap_params_init(&p, SLOTS);
	p.pool_max = CAP_BYTES;
	s = test_store_new_p(&p);
	touch_all_slots(s);
	*full_at = SLOTS;
	for (uint64_t i = 0; i < SLOTS; i++) {
		page_fill(page, PK_RANDOM, i);
		if (vswap_store_page(s, i, page) == VSWAP_E_NOSPACE) {
			*full_at = i;
			break;
		}
	}
	assert_true(*full_at < SLOTS / 2);
	for (uint64_t i = 0; i < *full_at; i += 2)
		assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	return s;
}

/* Store new pages into the free upper half of the slots; count successes. */
static uint64_t refill(struct vswap_store *s, uint64_t full_at)
{
	unsigned char page[PAGE];
	uint64_t ok = 0;

	for (uint64_t i = 0; i < full_at / 2; i++) {
		page_fill(page, PK_RANDOM, 50000 + i);
		if (vswap_store_page(s, SLOTS / 2 + i, page) == VSWAP_OK)
			ok++;
	}
	return ok;
}

/* Garbage under the cap is reclaimed (compacted) before stores say no. */
static void garbage_reclaimed_at_cap(void **state)
{
	uint64_t full_at, ok;
	struct vswap_store *s = full_then_half_free(&full_at);

	(void)state;
	ok = refill(s, full_at);
	/* a segment or two of slack: heads and the compactor's own head */
	if (ok + 2 * VSWAP_PAGE_SIZE * 64 / PAGE < full_at / 2)
		fail_msg("only %" PRIu64 " of %" PRIu64 " stores fit after "
			 "freeing half the pool (garbage not reclaimed?)", ok,
			 full_at / 2);
	for (uint64_t i = 1; i < full_at; i += 2)
		check_slot(s, i, PK_RANDOM, i);
	for (uint64_t i = 0; i < full_at / 2; i += 7) {
		unsigned char got[PAGE];

		assert_int_equal(vswap_load_page(s, SLOTS / 2 + i, got),
				 VSWAP_OK);
	}
	assert_store_valid(s);
	vswap_store_destroy(s);
}

/*
 * Regression test (failed against 8b34afe, fixed in e87a964): compaction
 * under the cap took its destination segment without a cap check, so
 * reclaiming garbage at the cap pushed pool_bytes past pool_max (by less
 * than a segment). The cap must hold at all times.
 */
static void compaction_stays_under_cap(void **state)
{
	uint64_t full_at;
	struct vswap_store *s = full_then_half_free(&full_at);
	struct vswap_stats st;

	(void)state;
	refill(s, full_at);
	st = test_stats(s);
	vswap_store_destroy(s);
	assert_true(st.compactions > 0);
	if (st.pool_bytes_peak > CAP_BYTES)
		fail_msg("reclaiming at the cap: pool_bytes_peak %" PRIu64
			 " > pool_max %" PRIu64 " (%" PRIu64 " compactions)",
			 st.pool_bytes_peak, CAP_BYTES, st.compactions);
}

/* Several threads storing at once never push the pool past the cap. */
struct cap_race {
	struct vswap_store *s;
	uint64_t first;
	atomic_uint_fast64_t nospace, errors;
};

static void *cap_writer(void *arg)
{
	struct cap_race *c = arg;
	unsigned char page[PAGE];

	for (uint64_t i = c->first; i < c->first + SLOTS / 4; i++) {
		int ret;

		page_fill(page, PK_RANDOM, i);
		ret = vswap_store_page(c->s, i, page);
		if (ret == VSWAP_E_NOSPACE)
			atomic_fetch_add(&c->nospace, 1);
		else if (ret != VSWAP_OK)
			atomic_fetch_add(&c->errors, 1);
	}
	return NULL;
}

static void cap_holds_under_concurrency(void **state)
{
	struct vswap_params p;
	struct cap_race c[4];
	pthread_t t[4];
	struct vswap_store *s;
	struct vswap_stats st;
	uint64_t nospace = 0;

	(void)state;
	vswap_params_init(&p, SLOTS);
	p.pool_max = CAP_BYTES;
	s = test_store_new_p(&p);
	touch_all_slots(s);
	for (int i = 0; i < 4; i++) {
		c[i] = (struct cap_race){ .s = s, .first = SLOTS / 4 * i };
		assert_int_equal(pthread_create(&t[i], NULL, cap_writer,
						&c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(atomic_load(&c[i].errors), 0);
		nospace += atomic_load(&c[i].nospace);
	}
	st = test_stats(s);
	assert_true(nospace > 0);
	assert_int_equal(st.store_nospace, nospace);
	assert_int_equal(st.stored_pages, SLOTS);	/* zero or random */
	assert_int_equal(st.zero_pages, nospace);
	if (st.pool_bytes_peak > CAP_BYTES)
		fail_msg("pool peaked at %" PRIu64 " bytes, over the %" PRIu64
			 " cap, with 4 threads storing", st.pool_bytes_peak,
			 CAP_BYTES);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

/*
 * The cap moving under traffic: writers store into their own slots while the
 * main thread flips pool_max between tight and unlimited. Every store is OK
 * (the slot holds the new page) or NOSPACE (it keeps the old one); each
 * writer's record of that must match every slot at the end.
 */
struct flip {
	struct vswap_store *s;
	uint64_t first;
	uint64_t seed_of[SLOTS / 4];	/* 0 = empty */
	uint64_t ok, nospace, errors;
};

static void *flip_writer(void *arg)
{
	struct flip *f = arg;
	struct test_rng r = { f->first + 1 };
	unsigned char page[PAGE];

	for (int op = 0; op < 6000; op++) {
		uint64_t i = rng_below(&r, SLOTS / 4);
		uint64_t seed = (uint64_t)op * 8 + f->first + 1;
		int ret;

		page_fill(page, PK_RANDOM, seed);
		ret = vswap_store_page(f->s, f->first + i, page);
		if (ret == VSWAP_OK) {
			f->seed_of[i] = seed;
			f->ok++;
		} else if (ret == VSWAP_E_NOSPACE) {
			f->nospace++;
		} else {
			f->errors++;
		}
	}
	return NULL;
}

static void cap_flips_under_traffic(void **state)
{
	static struct flip f[2];
	struct vswap_store *s = test_store_new(SLOTS, VSWAP_CODEC_LZ4, 0);
	pthread_t t[2];
	struct vswap_stats st;
	int flips = 0;

	(void)state;
	for (int i = 0; i < 2; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].s = s;
		f[i].first = SLOTS / 4 * (uint64_t)i;
		assert_int_equal(pthread_create(&t[i], NULL, flip_writer,
						&f[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		/* flip until this writer is done */
		while (pthread_tryjoin_np(t[i], NULL) != 0) {
			assert_int_equal(vswap_set_pool_max(s, flips % 2 ?
						0 : CAP_BYTES / 2), VSWAP_OK);
			flips++;
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);
		}
	}
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(f[0].errors + f[1].errors, 0);
	assert_int_equal(st.store_nospace, f[0].nospace + f[1].nospace);
	print_message("# %d cap flips: %" PRIu64 " stores ok, %" PRIu64
		      " nospace\n", flips, f[0].ok + f[1].ok,
		      f[0].nospace + f[1].nospace);
	for (int w = 0; w < 2; w++)
		for (uint64_t i = 0; i < SLOTS / 4; i++)
			check_slot(s, f[w].first + i,
				   f[w].seed_of[i] ? PK_RANDOM : PK_EMPTY,
				   f[w].seed_of[i]);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nospace_keeps_old_content),
		cmocka_unit_test(tiny_cap),
		cmocka_unit_test(lower_cap_below_use),
		cmocka_unit_test(garbage_reclaimed_at_cap),
		cmocka_unit_test(compaction_stays_under_cap),
		cmocka_unit_test(metadata_counts_against_cap),
		cmocka_unit_test(cap_holds_under_concurrency),
		cmocka_unit_test(cap_flips_under_traffic),
	};

	return cmocka_run_group_tests_name("poolcap", tests, NULL, NULL);
}
