/* SPDX-License-Identifier: MIT */
/*
 * vswap_reset while a long writeback or reclaim runs: the runner gives its
 * context and the writeback lock up at its next batch boundary (store.h:
 * quiesce_waiting), so the reset gets in within a batch or so, not after
 * the whole run; the reset does no file I/O (vswap_tier_release does).
 *
 *   writeback_yields_to_reset  thread A writes back a 64 MiB store of
 *                              incompressible pages (max_bytes 0); once
 *                              its first batch is done, B resets: counted
 *                              in pages A wrote after B started, bounded
 *                              by a few batches (not a wall-clock bound)
 *   reclaim_yields_to_reset    the same with vswap_reclaim after the cap
 *                              was lowered under the pool
 *
 * A reset announced with vswap_reset_begin() (QEMU's device reset, which
 * first waits for the guest's requests in flight) makes work it would
 * throw away stop early; each case also runs without the announcement,
 * where the work is done:
 *
 *   invalidate_stops_for_reset   a full-range INVALIDATE of a full store
 *                                drops nothing more and returns OK
 *   compact_stops_for_reset      a sparse pool is not compacted
 *   pressure_stops_for_reset     a store at the cap answers NOSPACE
 *                                instead of writing back
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"
#include "store.h"

/* 64 MiB of incompressible pages: 64 batches of writeback or so. */
#define N		16384u
/* Pages of one batch: at most one 1 MiB chunk of raw-page disk objects. */
#define BATCH_PAGES	(TIER_CHUNK_SIZE / tier_obj_size(VSWAP_PAGE_SIZE))
/*
 * Pages A may still write after B read the progress counter: the batch in
 * flight when B's reset starts waiting, plus slack for B's read and its
 * entry into vswap_reset not being one step (B may be preempted between
 * them on a loaded machine). Old code: all of the rest, ~N.
 */
#define MAX_LATE_PAGES	(4 * BATCH_PAGES)

struct runner {
	struct vswap_store *s;
	bool reclaim;
	int r;
	struct vswap_writeback_result res;
};

static void *run(void *arg)
{
	struct runner *a = arg;

	if (a->reclaim)
		a->r = vswap_reclaim(a->s, &a->res);
	else
		a->r = vswap_writeback(a->s, 0, 0, &a->res);
	return NULL;
}

static uint64_t wb_pages(struct vswap_store *s)
{
	return __atomic_load_n(&s->tier.wb_pages, __ATOMIC_RELAXED);
}

static void reset_during(bool reclaim)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct runner a = { 0 };
	pthread_t th;
	uint64_t p0, late;
	int fd = tier_tmpfile();

	vswap_params_init(&p, N);
	s = tier_store_new(&p, fd, 0);
	for (uint64_t i = 0; i < N; i++)
		store_kind(s, i, PK_RANDOM, i);
	if (reclaim)	/* low watermark 90% of 4 MiB: nearly all goes */
		assert_int_equal(vswap_set_pool_max(s, 4 * MIB), VSWAP_OK);
	a.s = s;
	a.reclaim = reclaim;
	assert_int_equal(pthread_create(&th, NULL, run, &a), 0);
	/* A has done its first batch: it holds its context, mid-run. */
	while (!wb_pages(s))
		sched_yield();
	p0 = wb_pages(s);
	vswap_reset(s);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.r, VSWAP_OK);
	late = a.res.pages - p0;
	printf("# %s: %" PRIu64 " pages before reset began, %" PRIu64
	       " after, of %u (batch %u pages)\n",
	       reclaim ? "reclaim" : "writeback", p0, late, N,
	       (unsigned)BATCH_PAGES);
	assert_true(a.res.pages >= p0);
	if (late > MAX_LATE_PAGES)
		fail_msg("%" PRIu64 " pages written after reset started "
			 "waiting (bound %u)", late, (unsigned)MAX_LATE_PAGES);
	assert_true(a.res.pages < N);

	/* Reset done: empty, valid, and the tier works again. */
	assert_int_equal(test_stats(s).stored_pages, 0);
	for (uint64_t i = 0; i < N; i += 997)
		check_slot(s, i, PK_EMPTY, 0);
	assert_store_valid(s);
	for (uint64_t i = 0; i < 512; i++)
		store_kind(s, i, PK_RANDOM, i + 7);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, 512);
	for (uint64_t i = 0; i < 512; i++)
		check_slot(s, i, PK_RANDOM, i + 7);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void writeback_yields_to_reset(void **state)
{
	(void)state;
	reset_during(false);
}

static void reclaim_yields_to_reset(void **state)
{
	(void)state;
	reset_during(true);
}

/* Pages over several slot-table chunks, a few segments' worth. */
#define ANNOUNCE_PAGES	8192u

static void invalidate_stops_for_reset(void **state)
{
	(void)state;
	for (int announce = 0; announce < 2; announce++) {
		struct vswap_store *s = test_store_new(ANNOUNCE_PAGES,
						       VSWAP_CODEC_LZ4, 0);

		for (uint64_t i = 0; i < ANNOUNCE_PAGES; i++)
			store_kind(s, i, PK_TEXT, i);
		if (announce)
			vswap_reset_begin(s);
		assert_int_equal(vswap_invalidate(s, 0, ANNOUNCE_PAGES),
				 VSWAP_OK);
		assert_int_equal(test_stats(s).stored_pages,
				 announce ? ANNOUNCE_PAGES : 0);
		assert_store_valid(s);
		vswap_reset(s);
		assert_int_equal(test_stats(s).stored_pages, 0);
		/* the reset ended the announcement: invalidates work again */
		store_kind(s, 5, PK_TEXT, 5);
		assert_int_equal(vswap_invalidate(s, 0, ANNOUNCE_PAGES),
				 VSWAP_OK);
		check_slot(s, 5, PK_EMPTY, 0);
		vswap_store_destroy(s);
	}
}

static void compact_stops_for_reset(void **state)
{
	(void)state;
	for (int announce = 0; announce < 2; announce++) {
		struct vswap_store *s = test_store_new(ANNOUNCE_PAGES,
						       VSWAP_CODEC_LZ4, 0);
		int64_t freed;

		for (uint64_t i = 0; i < ANNOUNCE_PAGES; i++)
			store_kind(s, i, i % 8 ? PK_TEXT : PK_RANDOM, i);
		for (uint64_t i = 0; i < ANNOUNCE_PAGES; i++)
			if (i % 4)
				assert_int_equal(vswap_invalidate(s, i, 1),
						 VSWAP_OK);
		if (announce)
			vswap_reset_begin(s);
		freed = vswap_compact(s);
		printf("# compaction %s announced reset: %" PRId64
		       " bytes freed\n", announce ? "with" : "without", freed);
		if (announce)
			assert_int_equal(freed, 0);
		else
			assert_true(freed > 0);
		for (uint64_t i = 0; i < ANNOUNCE_PAGES; i += 4)
			check_slot(s, i, i % 8 ? PK_TEXT : PK_RANDOM, i);
		assert_store_valid(s);
		vswap_reset(s);
		vswap_store_destroy(s);
	}
}

static void pressure_stops_for_reset(void **state)
{
	(void)state;
	for (int announce = 0; announce < 2; announce++) {
		struct vswap_params p;
		struct vswap_store *s;
		unsigned char page[PAGE];
		uint64_t stored = 0, nospace = 0;
		int fd = tier_tmpfile();

		vswap_params_init(&p, 4 * ANNOUNCE_PAGES);
		p.pool_max = 4 * MIB;
		s = tier_store_new(&p, fd, 0);
		if (announce)
			vswap_reset_begin(s);
		/* 32 MiB of incompressible pages into a 4 MiB pool */
		for (uint64_t i = 0; i < ANNOUNCE_PAGES; i++) {
			int r;

			page_fill(page, PK_RANDOM, i);
			r = vswap_store_page(s, i, page);
			if (r == VSWAP_OK)
				stored++;
			else if (r == VSWAP_E_NOSPACE)
				nospace++;
			else
				fail_msg("store %" PRIu64 ": %s", i,
					 vswap_error_name(r));
		}
		printf("# pressure %s announced reset: %" PRIu64 " stored, %"
		       PRIu64 " NOSPACE, %" PRIu64 " written back\n",
		       announce ? "with" : "without", stored, nospace,
		       wb_pages(s));
		if (announce) {
			assert_int_equal(wb_pages(s), 0);
			assert_true(nospace > 0);
			assert_true(stored < ANNOUNCE_PAGES / 4);
		} else {
			assert_int_equal(stored, ANNOUNCE_PAGES);
			assert_true(wb_pages(s) > 0);
		}
		assert_store_valid(s);
		vswap_reset(s);
		vswap_store_destroy(s);
		close(fd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writeback_yields_to_reset),
		cmocka_unit_test(reclaim_yields_to_reset),
		cmocka_unit_test(invalidate_stops_for_reset),
		cmocka_unit_test(compact_stops_for_reset),
		cmocka_unit_test(pressure_stops_for_reset),
	};

	return cmocka_run_group_tests_name("reset_preempt", tests, NULL, NULL);
}
