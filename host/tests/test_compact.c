/* SPDX-License-Identifier: MIT */
/*
 * Compaction: after heavy scattered invalidation the pool holds sparse
 * segments; vswap_compact (or the automatic compaction) gives them back and
 * every remaining page survives the move, also while traffic continues.
 * A segment whose walk meets a corrupt header is compacted up to it and
 * then left alone, without holding up the others. A store emptied of all
 * its pages holds no pool memory after a compaction or a trim.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "store.h"
#include "vswap_test.h"

#define N 16384u
#define MiB (UINT64_C(1) << 20)

static uint64_t data_bytes(const struct vswap_stats *st)
{
	return st->pool_bytes - st->meta_bytes;
}

static void compact_after_invalidation(void **state)
{
	struct vswap_store *s = test_store_new(N, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats full, holes, after;
	int64_t freed;

	(void)state;
	for (uint64_t i = 0; i < N; i++)
		store_kind(s, i, i % 8 ? PK_TEXT : PK_RANDOM, i);
	full = test_stats(s);
	/* keep one page in four, scattered over every segment */
	for (uint64_t i = 0; i < N; i++)
		if (i % 4)
			assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	holes = test_stats(s);
	assert_int_equal(holes.stored_pages, N / 4);
	assert_true(holes.compressed_bytes < full.compressed_bytes / 3);

	assert_store_valid(s);
	freed = vswap_compact(s);
	assert_true(freed >= 0);
	assert_store_valid(s);
	after = test_stats(s);
	print_message("# compact freed %" PRId64 "; pool %" PRIu64 " -> %"
		      PRIu64 " bytes\n", freed, holes.pool_bytes,
		      after.pool_bytes);
	/* what it says it freed is what pool_bytes lost (nothing else ran) */
	assert_int_equal((uint64_t)freed, holes.pool_bytes - after.pool_bytes);
	/* Either the explicit call freed memory, or automatic compaction
	 * already had (then the hole-y state was never this big). */
	if (freed == 0 && holes.compactions == 0)
		fail_msg("nothing compacted: pool %" PRIu64 " bytes for %"
			 PRIu64 " live payload bytes", holes.pool_bytes,
			 holes.compressed_bytes);
	assert_true(after.pool_bytes <= holes.pool_bytes);
	assert_true(after.compactions > 0);
	assert_true(after.compacted_bytes > 0);
	/* Packed: live payload plus headers and one partial segment or so. */
	if (data_bytes(&after) > after.compressed_bytes * 5 / 4 + 4 * MiB)
		fail_msg("after compaction %" PRIu64 " data bytes hold %"
			 PRIu64 " payload bytes", data_bytes(&after),
			 after.compressed_bytes);
	for (uint64_t i = 0; i < N; i++)
		check_slot(s, i, i % 4 ? PK_EMPTY : i % 8 ? PK_TEXT : PK_RANDOM,
			   i);
	/* A second compaction has nothing left to do. */
	assert_true(vswap_compact(s) >= 0);
	for (uint64_t i = 0; i < N; i += 4)
		check_slot(s, i, i % 8 ? PK_TEXT : PK_RANDOM, i);
	vswap_store_destroy(s);
}

/*
 * Overwriting the same few slots over and over leaves only garbage behind;
 * automatic compaction (and freeing of emptied segments) keeps the pool
 * bounded by the live data, not by the history of stores.
 */
static void overwrite_churn_stays_bounded(void **state)
{
	struct vswap_store *s = test_store_new(64, VSWAP_CODEC_LZ4, 0);
	const uint64_t n = env_u64("VSWAP_MODEL_OPS", 30000) * 2;
	struct vswap_stats st;

	(void)state;
	for (uint64_t op = 0; op < n; op++)
		store_kind(s, op % 64, op % 7 ? PK_TEXT : PK_RANDOM, op);
	st = test_stats(s);
	assert_int_equal(st.stored_pages, 64);
	/* 64 live pages are < 256 KiB; allow a few segments of heads/slack */
	if (st.pool_bytes > 4 * MiB)
		fail_msg("%" PRIu64 " overwrites of 64 slots hold %" PRIu64
			 " pool bytes (%" PRIu64 " live payload)", n,
			 st.pool_bytes, st.compressed_bytes);
	for (uint64_t i = 0; i < 64; i++) {
		uint64_t last = (n - 1 - i) / 64 * 64 + i;	/* last op on i */

		check_slot(s, i, last % 7 ? PK_TEXT : PK_RANDOM, last);
	}
	assert_store_valid(s);
	vswap_store_destroy(s);
}

/*
 * Host memory corruption, simulated from inside: a dead object's header
 * gets a length no object has. Compaction moves the live objects before
 * it, marks the segment DAMAGED and never picks it again (every walk
 * would stop at the same header); the other sparse segments are still
 * compacted, and every page loads bit-exact, the ones past the damage
 * from where they are.
 */
static void damaged_segment_left_alone(void **state)
{
	struct vswap_store *s = test_store_new(N, VSWAP_CODEC_LZ4, 0);
	struct vswap_pool *p = &s->pool;
	struct vswap_segment *seg, *damaged = NULL;
	uint32_t bad_off = 0;
	uint64_t sparse = 0;

	(void)state;
	for (uint64_t i = 0; i < N; i++)
		store_kind(s, i, PK_TEXT, i);
	for (uint64_t i = 0; i < N; i++)
		if (i % 4)
			assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	/* a sealed segment with a dead object and a live one after it */
	for (seg = p->sealed_first; seg && !damaged; seg = seg->next) {
		uint32_t off = 0, dead_off = UINT32_MAX;

		while (off < seg->used) {
			uint32_t slot, len;
			bool live;

			len = pool_obj_walk(p, seg->id, off, &slot, &live);
			if (!live && dead_off == UINT32_MAX) {
				dead_off = off;
			} else if (live && dead_off != UINT32_MAX) {
				damaged = seg;
				bad_off = dead_off;
				break;
			}
			off += pool_obj_size(p, len);
		}
	}
	assert_non_null(damaged);
	assert_int_equal(p->hdr, OBJ_HDR_PLAIN);
	/* the dead object's only field is its length: make it 0 */
	obj_set_field(memsource_addr(&p->ms, damaged->id) + bad_off, 0, 0);

	vswap_compact(s);
	assert_true(__atomic_load_n(&damaged->lv, __ATOMIC_RELAXED) &
		    SEG_DAMAGED);
	assert_int_equal(damaged->state, SEG_STATE_SEALED);
	for (seg = p->sealed_first; seg; seg = seg->next)
		if (seg != damaged &&
		    (__atomic_load_n(&seg->lv, __ATOMIC_RELAXED) &
		     SEG_LIVE_MASK) <= VSWAP_SEG_SIZE - POOL_GC_MIN_FREE)
			sparse++;
	assert_int_equal(sparse, 0);
	for (uint64_t i = 0; i < N; i += 4)
		check_slot(s, i, PK_TEXT, i);
	/* writeback does not take it either: take every other one */
	{
		struct vswap_segment **taken;
		uint64_t n = 0, max = p->nsealed;

		taken = calloc(max, sizeof(*taken));
		assert_non_null(taken);
		while (n < max &&
		       (seg = pool_take_oldest(p, UINT64_MAX, VSWAP_SEG_SIZE)))
			taken[n++] = seg;
		assert_int_equal(n, max - 1);
		for (uint64_t i = 0; i < n; i++) {
			assert_ptr_not_equal(taken[i], damaged);
			pool_put_victim(p, taken[i]);
		}
		free(taken);
	}
	vswap_store_destroy(s);
}

static void compact_empty_store(void **state)
{
	struct vswap_store *s = test_store_new(16, VSWAP_CODEC_ZSTD, 0);

	(void)state;
	assert_true(vswap_compact(s) >= 0);
	store_kind(s, 3, PK_TEXT, 3);
	assert_true(vswap_compact(s) >= 0);
	check_slot(s, 3, PK_TEXT, 3);
	vswap_store_destroy(s);
}

/*
 * A store that held pages from several threads (so several contexts, each
 * with an open head, and huge regions around them) and then lost them all
 * (the guest's swapoff + discard) holds no pool memory after a compaction:
 * the open heads are sealed and freed, kept segments given back.
 */
struct filler {
	struct vswap_store *s;
	uint64_t first, count;
	pthread_barrier_t *go;
};

static void *fill_range(void *arg)
{
	struct filler *f = arg;

	pthread_barrier_wait(f->go);
	for (uint64_t i = f->first; i < f->first + f->count; i++)
		store_kind(f->s, i, i % 3 ? PK_TEXT : PK_RANDOM, i);
	return NULL;
}

static void emptied_store_gives_all_back(int64_t (*compact)(
						 struct vswap_store *))
{
	enum { THREADS = 4, PER = 2048 };
	struct vswap_store *s = test_store_new(THREADS * PER, VSWAP_CODEC_LZ4,
					       0);
	struct filler f[THREADS];
	pthread_t t[THREADS];
	pthread_barrier_t go;
	struct vswap_stats emptied, after;

	pthread_barrier_init(&go, NULL, THREADS);
	for (unsigned i = 0; i < THREADS; i++) {
		f[i] = (struct filler){ s, (uint64_t)i * PER, PER, &go };
		assert_int_equal(pthread_create(&t[i], NULL, fill_range, &f[i]),
				 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	assert_int_equal(vswap_invalidate(s, 0, THREADS * PER), VSWAP_OK);
	emptied = test_stats(s);
	assert_int_equal(emptied.stored_pages, 0);
	print_message("# emptied: %" PRIu64 " data bytes (open heads, kept)"
		      "\n", data_bytes(&emptied));
	/* the open heads are still there: the case this test is about */
	assert_true(data_bytes(&emptied) > 0);
	assert_int_equal(compact(s), (int64_t)data_bytes(&emptied));
	after = test_stats(s);
	assert_int_equal(data_bytes(&after), 0);
	assert_store_valid(s);
	/* and the store goes on as before */
	store_kind(s, 5, PK_TEXT, 5);
	check_slot(s, 5, PK_TEXT, 5);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

static void compact_emptied_store(void **state)
{
	(void)state;
	emptied_store_gives_all_back(vswap_compact);
}

/* The same with vswap_trim: with nothing live, nothing is kept either. */
static void trim_emptied_store(void **state)
{
	(void)state;
	emptied_store_gives_all_back(vswap_trim);
}

/* Compaction racing stores, loads and invalidations of a verifying thread. */
struct race {
	struct vswap_store *s;
	atomic_bool stop;
	atomic_uint_fast64_t compact_calls, compact_errors;
};

static void *compactor(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		if (vswap_compact(r->s) < 0)
			atomic_fetch_add(&r->compact_errors, 1);
		atomic_fetch_add(&r->compact_calls, 1);
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
	return NULL;
}

static void compact_during_traffic(void **state)
{
	enum { SLOTS = 4096 };
	static uint64_t seed_of[SLOTS];	/* 0 = empty */
	struct race r = { .s = test_store_new(SLOTS, VSWAP_CODEC_LZ4, 0) };
	struct test_rng rng = { 7 };
	pthread_t t;
	const uint64_t ops = env_u64("VSWAP_MODEL_OPS", 30000);

	(void)state;
	memset(seed_of, 0, sizeof(seed_of));
	assert_int_equal(pthread_create(&t, NULL, compactor, &r), 0);
	for (uint64_t op = 0; op < ops; op++) {
		uint64_t slot = rng_below(&rng, SLOTS);

		switch (rng_below(&rng, 4)) {
		case 0:
		case 1:
			seed_of[slot] = op + 1;
			store_kind(r.s, slot, op % 5 ? PK_TEXT : PK_RANDOM,
				   op + 1);
			break;
		case 2:
			assert_int_equal(vswap_invalidate(r.s, slot, 1),
					 VSWAP_OK);
			seed_of[slot] = 0;
			break;
		default:
			if (seed_of[slot])
				check_slot(r.s, slot, (seed_of[slot] - 1) % 5 ?
					   PK_TEXT : PK_RANDOM, seed_of[slot]);
			else
				check_slot(r.s, slot, PK_EMPTY, 0);
		}
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&r.compact_errors), 0);
	assert_store_valid(r.s);
	print_message("# %" PRIu64 " compact calls during %" PRIu64 " ops\n",
		      (uint64_t)atomic_load(&r.compact_calls), ops);
	for (uint64_t i = 0; i < SLOTS; i++) {
		if (seed_of[i])
			check_slot(r.s, i, (seed_of[i] - 1) % 5 ? PK_TEXT :
				   PK_RANDOM, seed_of[i]);
		else
			check_slot(r.s, i, PK_EMPTY, 0);
	}
	vswap_store_destroy(r.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compact_after_invalidation),
		cmocka_unit_test(overwrite_churn_stays_bounded),
		cmocka_unit_test(damaged_segment_left_alone),
		cmocka_unit_test(compact_empty_store),
		cmocka_unit_test(compact_emptied_store),
		cmocka_unit_test(trim_emptied_store),
		cmocka_unit_test(compact_during_traffic),
	};

	return cmocka_run_group_tests_name("compact", tests, NULL, NULL);
}
