/* SPDX-License-Identifier: MIT */
/*
 * Slot-table chunks follow use (slot_table.h, "Chunk release"): a chunk
 * whose every slot went empty gives its 16 KiB back, pool_bytes and
 * meta_bytes drop with it, a store into a released chunk charges it again
 * (and is refused at the cap like any table growth), and all of this is
 * safe with stores, loads, invalidates and compaction racing on the same
 * chunks.
 *
 * What stays after everything is freed: the mid tables (12 KiB per 2^20
 * slots = 4 GiB of swap touched) and, with compressed pages, what the
 * pool keeps (open head segments, arena descriptors: the pool's own rule,
 * not the table's; test_reset covers that).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"

#define CHUNK_SLOTS	1024u			/* slots per table chunk */
#define CHUNK_BYTES	(CHUNK_SLOTS * 8u)	/* 8 KiB */
#define MID_SLOTS	(UINT64_C(1) << 20)	/* slots per mid table */
#define MID_BYTES	12288u			/* kept once touched */
#define CAP		(UINT64_C(16) << 20)	/* 64 GiB of swap, 16 mids */
/*
 * The pool's arena descriptors (in meta_bytes, never shrunk: pool.c's
 * rule, not the table's) once compressed pages were stored; the table's
 * own bytes are checked exactly by vswap_store_check.
 */
#define POOL_KEPT	(UINT64_C(64) << 10)
/*
 * The same-fill dictionary (metadata, kept until reset like the arena
 * descriptors): one 24 KiB block of 1024 values and a bucket array of 4 B
 * per bucket, at most 2 buckets per value. DICT_ONE: its size for up to 64
 * values.
 */
#define DICT_BLOCK	24576u
#define DICT_ONE	(DICT_BLOCK + 64u * 4u)

/* Scattered slots: 3 per chunk over NCHUNK chunks in 4 mid tables. */
#define NCHUNK		96u
#define NMID		4u

static uint64_t scattered(unsigned i)
{
	unsigned chunk = i / 3, mid = chunk % NMID;

	return (uint64_t)mid * 3 * MID_SLOTS +
	       (uint64_t)(chunk / NMID) * 5 * CHUNK_SLOTS +
	       (uint64_t)(i % 3) * 341 + chunk % 7;
}

static void release_exact(void **state)
{
	struct vswap_store *s = test_store_new(CAP, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats empty = test_stats(s), full, st;
	uint64_t kept = NMID * MID_BYTES, dict;

	(void)state;
	/* Same-filled pages: no pool object, only the table and the
	 * dictionary (144 fill values: one block, <= 256 buckets) are
	 * charged; the dictionary stays until reset. */
	for (unsigned i = 0; i < 3 * NCHUNK; i++)
		store_kind(s, scattered(i), i % 2 ? PK_SAME : PK_ZERO, i);
	full = test_stats(s);
	dict = full.pool_bytes - (empty.pool_bytes + kept +
				  NCHUNK * CHUNK_BYTES);
	assert_true(dict > DICT_BLOCK && dict <= DICT_BLOCK + 256 * 4);
	assert_int_equal(full.meta_bytes, empty.meta_bytes + kept +
			 NCHUNK * CHUNK_BYTES + dict);
	kept += dict;
	assert_store_valid(s);

	/* Two of three slots gone: every chunk still holds one. */
	for (unsigned i = 0; i < 3 * NCHUNK; i++)
		if (i % 3)
			assert_int_equal(vswap_invalidate(s, scattered(i), 1),
					 VSWAP_OK);
	assert_int_equal(test_stats(s).pool_bytes, full.pool_bytes);
	assert_store_valid(s);
	/* The last one of each: the chunk goes back. */
	for (unsigned i = 0; i < 3 * NCHUNK; i += 3)
		assert_int_equal(vswap_invalidate(s, scattered(i), 1),
				 VSWAP_OK);
	st = test_stats(s);
	printf("# %u chunks over %u mid tables: pool_bytes empty %" PRIu64
	       ", full %" PRIu64 ", all freed %" PRIu64
	       " (was %" PRIu64 " without release)\n", NCHUNK, NMID,
	       empty.pool_bytes, full.pool_bytes, st.pool_bytes,
	       full.pool_bytes - NMID * 4096u);
	assert_int_equal(st.pool_bytes, empty.pool_bytes + kept);
	assert_int_equal(st.meta_bytes, empty.meta_bytes + kept);
	assert_int_equal(st.stored_pages, 0);
	assert_store_valid(s);
	for (unsigned i = 0; i < 3 * NCHUNK; i++)
		check_slot(s, scattered(i), PK_EMPTY, 0);
	assert_int_equal(test_stats(s).pool_bytes, empty.pool_bytes + kept);

	/* Released chunks work again, charged again; bit-exact. */
	for (unsigned i = 0; i < 3 * NCHUNK; i++)
		store_kind(s, scattered(i), (enum page_kind)(PK_ZERO + i % 5),
			   i + 7);
	assert_store_valid(s);
	for (unsigned i = 0; i < 3 * NCHUNK; i++)
		check_slot(s, scattered(i), (enum page_kind)(PK_ZERO + i % 5),
			   i + 7);
	st = test_stats(s);
	assert_true(st.meta_bytes >= empty.meta_bytes + kept +
				     NCHUNK * CHUNK_BYTES);
	/* A whole-range invalidate empties them all again. */
	assert_int_equal(vswap_invalidate(s, 0, CAP), VSWAP_OK);
	assert_store_valid(s);
	st = test_stats(s);
	printf("# after compressed pages: pool_bytes %" PRIu64 " = empty + "
	       "mids + %" PRIu64 " (pool: open heads, arena descriptors); "
	       "meta_bytes %" PRIu64 "\n", st.pool_bytes,
	       st.pool_bytes - empty.pool_bytes - kept, st.meta_bytes);
	assert_true(st.meta_bytes >= empty.meta_bytes + kept);
	assert_true(st.meta_bytes <= empty.meta_bytes + kept + POOL_KEPT);
	vswap_store_destroy(s);
}

/* Re-charging a released chunk respects the cap like table growth does. */
static void release_recharge_at_cap(void **state)
{
	struct vswap_store *s = test_store_new(CAP, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats empty = test_stats(s), st;
	unsigned char page[PAGE];

	(void)state;
	store_kind(s, 0, PK_SAME, 1);			/* chunk 0 */
	store_kind(s, CHUNK_SLOTS, PK_SAME, 2);		/* chunk 1 */
	store_kind(s, CHUNK_SLOTS + 1, PK_SAME, 3);
	assert_int_equal(vswap_invalidate(s, CHUNK_SLOTS, 2), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(st.pool_bytes,
			 empty.pool_bytes + MID_BYTES + CHUNK_BYTES + DICT_ONE);
	/* At the cap: a store into released chunk 1 needs 8 KiB. */
	assert_int_equal(vswap_set_pool_max(s, st.pool_bytes), VSWAP_OK);
	page_fill(page, PK_SAME, 4);
	assert_int_equal(vswap_store_page(s, CHUNK_SLOTS + 5, page),
			 VSWAP_E_NOSPACE);
	assert_int_equal(test_stats(s).pool_bytes, st.pool_bytes);
	assert_store_valid(s);
	/* Chunk 0 is resident: no charge, not refused. */
	store_kind(s, 5, PK_SAME, 5);
	assert_int_equal(vswap_set_pool_max(s, 0), VSWAP_OK);
	store_kind(s, CHUNK_SLOTS + 5, PK_SAME, 4);
	assert_store_valid(s);
	check_slot(s, 0, PK_SAME, 1);
	check_slot(s, 5, PK_SAME, 5);
	check_slot(s, CHUNK_SLOTS + 5, PK_SAME, 4);
	check_slot(s, CHUNK_SLOTS, PK_EMPTY, 0);
	assert_int_equal(vswap_invalidate(s, 0, 2 * CHUNK_SLOTS), VSWAP_OK);
	assert_int_equal(test_stats(s).pool_bytes,
			 empty.pool_bytes + MID_BYTES + DICT_ONE);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

/*
 * Threads own disjoint slots interleaved in the same few chunks (slot i of
 * a chunk's used set belongs to thread i % NTHR), so each keeps its own
 * reference map, while all of them empty and refill the chunks together:
 * chunks are released and re-charged under racing stores, loads,
 * invalidates, loads of others' slots and compaction.
 */
#define NTHR		3
#define RCHUNKS		4u
#define PER_CHUNK	12u	/* used slots per chunk: 4 per thread */
#define RCAP		(RCHUNKS * CHUNK_SLOTS)

struct worker {
	struct vswap_store *s;
	unsigned id;
	uint64_t seed, ops;
	uint8_t kind[RCHUNKS * PER_CHUNK];
	uint64_t pseed[RCHUNKS * PER_CHUNK];
	unsigned long bad;
	char msg[160];
};

static uint64_t rslot(unsigned j)	/* j-th used slot */
{
	return (uint64_t)(j / PER_CHUNK) * CHUNK_SLOTS +
	       (uint64_t)(j % PER_CHUNK) * 85;
}

static void verify(struct worker *w, unsigned j)
{
	unsigned char want[PAGE], got[PAGE];
	int r;

	page_fill(want, (enum page_kind)w->kind[j], w->pseed[j]);
	r = vswap_load_page(w->s, rslot(j), got);
	if ((r != VSWAP_OK || memcmp(want, got, PAGE)) && !w->bad++)
		snprintf(w->msg, sizeof(w->msg),
			 "thread %u slot %" PRIu64 " (%s): %s%s", w->id,
			 rslot(j), page_kind_names[w->kind[j]],
			 vswap_error_name(r), r ? "" : ", content differs");
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct test_rng rng = { w->seed };
	unsigned char page[PAGE];

	for (uint64_t op = 0; op < w->ops; op++) {
		unsigned c = (unsigned)rng_below(&rng, RCHUNKS);
		unsigned j = c * PER_CHUNK + w->id +
			     NTHR * (unsigned)rng_below(&rng, PER_CHUNK / NTHR);
		unsigned k = (unsigned)rng_below(&rng, 100);
		int r;

		if (k < 40) {
			enum page_kind kind = (enum page_kind)(PK_ZERO +
						rng_below(&rng, 4));
			uint64_t sd = rng_next(&rng);

			page_fill(page, kind, sd);
			r = vswap_store_page(w->s, rslot(j), page);
			if (r != VSWAP_OK && !w->bad++)
				snprintf(w->msg, sizeof(w->msg),
					 "store: %s", vswap_error_name(r));
			w->kind[j] = (uint8_t)kind;
			w->pseed[j] = sd;
		} else if (k < 65) {
			verify(w, j);
		} else if (k < 85) {
			vswap_invalidate(w->s, rslot(j), 1);
			w->kind[j] = PK_EMPTY;
		} else if (k < 97) {
			/* Empty all of mine in chunk c. */
			for (unsigned i = w->id; i < PER_CHUNK; i += NTHR) {
				vswap_invalidate(w->s,
						 rslot(c * PER_CHUNK + i), 1);
				w->kind[c * PER_CHUNK + i] = PK_EMPTY;
			}
		} else if (k < 99) {
			/* Anybody's slot, any slot: never an error. */
			r = vswap_load_page(w->s, rng_below(&rng, RCAP), page);
			if (r != VSWAP_OK && !w->bad++)
				snprintf(w->msg, sizeof(w->msg),
					 "foreign load: %s",
					 vswap_error_name(r));
		} else {
			vswap_compact(w->s);
		}
	}
	for (unsigned j = w->id; j < RCHUNKS * PER_CHUNK; j += NTHR)
		verify(w, j);
	return NULL;
}

static void release_concurrent(void **state)
{
	uint64_t seed = test_seed();
	uint64_t ops = env_u64("VSWAP_RELEASE_OPS", 60000);
	struct vswap_store *s = test_store_new(RCAP, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats empty = test_stats(s), st;
	static struct worker w[NTHR];
	pthread_t t[NTHR];

	(void)state;
	for (unsigned round = 0; round < 2; round++) {
		for (unsigned i = 0; i < NTHR; i++) {
			memset(&w[i], 0, sizeof(w[i]));
			w[i].s = s;
			w[i].id = i;
			w[i].seed = seed + i * 7919 + round;
			w[i].ops = ops;
			assert_int_equal(pthread_create(&t[i], NULL, worker_fn,
							&w[i]), 0);
		}
		for (unsigned i = 0; i < NTHR; i++)
			pthread_join(t[i], NULL);
		for (unsigned i = 0; i < NTHR; i++)
			if (w[i].bad)
				fail_msg("%lu failures, first: %s", w[i].bad,
					 w[i].msg);
		assert_store_valid(s);
		/* Every slot still matches its owner's map. */
		for (unsigned j = 0; j < RCHUNKS * PER_CHUNK; j++) {
			struct worker *o = &w[j % PER_CHUNK % NTHR];

			check_slot(s, rslot(j), (enum page_kind)o->kind[j],
				   o->pseed[j]);
		}
		assert_int_equal(vswap_invalidate(s, 0, RCAP), VSWAP_OK);
		assert_store_valid(s);
		st = test_stats(s);
		assert_int_equal(st.stored_pages, 0);
		assert_true(st.meta_bytes >= empty.meta_bytes + MID_BYTES);
		assert_true(st.meta_bytes <=
			    empty.meta_bytes + MID_BYTES + POOL_KEPT);
	}
	printf("# %d threads x %" PRIu64 " ops x 2 rounds; all freed: "
	       "meta_bytes %" PRIu64 " (empty %" PRIu64 ")\n", NTHR, ops,
	       st.meta_bytes, empty.meta_bytes);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(release_exact),
		cmocka_unit_test(release_recharge_at_cap),
		cmocka_unit_test(release_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
