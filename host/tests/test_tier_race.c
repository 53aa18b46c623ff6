/* SPDX-License-Identifier: MIT */
/*
 * Writeback racing with traffic (mirrors test_model.c's reference-map
 * approach). Seeded: VSWAP_SEED=... replays, VSWAP_TIER_OPS=... longer.
 *
 *   model_with_writeback  THREADS workers, each owning a disjoint slot
 *                         range with an exact reference map, store / load /
 *                         invalidate while one thread runs proactive
 *                         writeback (random age and budget) and reclaim,
 *                         and a compactor runs; in the second run the pool
 *                         has a cap, so stores also write back under
 *                         pressure. Every
 *                         load is bit-exact; at the end stats match the
 *                         maps, the disk holds exactly the live extents
 *                         (vswap_store_check), and after invalidating
 *                         everything the file has no blocks left.
 *   reset_under_writeback stores, writeback and reclaim from threads while
 *                         the main thread resets the store (device reset)
 *                         a few times: reset waits for a running writeback's
 *                         batch, vswap_tier_release (racing them) cuts the
 *                         file, the store stays sound
 *   same_slot_tearing     writers store whole known pages into a few
 *                         shared slots, readers check every load is one of
 *                         them, while writeback moves them to disk: a
 *                         store or invalidate racing a writeback wins, a
 *                         load in flight is served from memory or disk.
 *
 * Worker threads never call cmocka; the first failure is recorded and the
 * main thread fails with it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"

#define THREADS		3
#define RANGE		1024u
#define DEFAULT_OPS	8000u

static uint64_t g_seed;

struct ref {
	uint8_t kind;
	uint64_t seed;
};

struct failure {
	atomic_int set;
	char msg[256];
};

static void record(struct failure *f, const char *fmt, ...)
{
	va_list ap;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&f->set, &expected, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

struct worker {
	struct vswap_store *s;
	uint64_t first, seed, ops;
	struct ref ref[RANGE];
	struct failure *fail;
};

static enum page_kind pick_kind(struct test_rng *r)
{
	static const enum page_kind mix[] = {
		PK_ZERO, PK_SAME, PK_TEXT, PK_TEXT, PK_TEXT, PK_RANDOM,
		PK_NEAR_SAME,
	};

	return mix[rng_below(r, sizeof(mix) / sizeof(mix[0]))];
}

static bool verify(struct worker *w, uint64_t i, unsigned char *want,
		   unsigned char *got)
{
	int ret;

	page_fill(want, (enum page_kind)w->ref[i].kind, w->ref[i].seed);
	memset(got, 0xa5, PAGE);
	ret = vswap_load_page(w->s, w->first + i, got);
	if (ret != VSWAP_OK) {
		record(w->fail, "load slot %" PRIu64 ": %s", w->first + i,
		       vswap_error_name(ret));
		return false;
	}
	if (memcmp(want, got, PAGE) != 0) {
		record(w->fail, "slot %" PRIu64 " holds wrong data (want %s "
		       "seed %" PRIu64 ")", w->first + i,
		       page_kind_names[w->ref[i].kind], w->ref[i].seed);
		return false;
	}
	return true;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct test_rng r = { w->seed };
	unsigned char want[PAGE], got[PAGE];

	for (uint64_t op = 0; op < w->ops && !atomic_load(&w->fail->set);
	     op++) {
		uint64_t i = rng_below(&r, RANGE);
		uint64_t roll = rng_below(&r, 100);
		int ret;

		if (roll < 45) {
			enum page_kind k = pick_kind(&r);
			uint64_t seed = rng_next(&r);

			page_fill(want, k, seed);
			ret = vswap_store_page(w->s, w->first + i, want);
			if (ret != VSWAP_OK) {
				record(w->fail, "store slot %" PRIu64 ": %s",
				       w->first + i, vswap_error_name(ret));
				break;
			}
			w->ref[i] = (struct ref){ (uint8_t)k, seed };
		} else if (roll < 90) {
			if (!verify(w, i, want, got))
				break;
		} else {
			uint64_t n = 1 + rng_below(&r, roll < 97 ? 4 : 64);

			if (i + n > RANGE)
				n = RANGE - i;
			ret = vswap_invalidate(w->s, w->first + i, n);
			if (ret != VSWAP_OK) {
				record(w->fail, "invalidate: %s",
				       vswap_error_name(ret));
				break;
			}
			for (uint64_t j = i; j < i + n; j++)
				w->ref[j].kind = PK_EMPTY;
		}
	}
	for (uint64_t i = 0; i < RANGE && !atomic_load(&w->fail->set); i++)
		verify(w, i, want, got);
	return NULL;
}

struct side {
	struct vswap_store *s;
	atomic_bool stop;
	uint64_t calls, pages;
	uint64_t seed;
	unsigned sleep_us;
	struct failure *fail;
};

/* Proactive writeback with random age (0-20 ms) and budget, and reclaim. */
static void *writeback_run(void *arg)
{
	struct side *d = arg;
	struct test_rng r = { d->seed };

	while (!atomic_load(&d->stop) && !atomic_load(&d->fail->set)) {
		struct vswap_writeback_result res;
		uint64_t age = rng_below(&r, 20) * 1000000;
		uint64_t budget = rng_below(&r, 4) ? rng_below(&r, 2 * MIB) : 0;
		int ret = rng_below(&r, 4) ? vswap_writeback(d->s, age, budget,
							     &res)
					   : vswap_reclaim(d->s, &res);

		if (ret != VSWAP_OK) {
			record(d->fail, "writeback: %s", vswap_error_name(ret));
			break;
		}
		d->calls++;
		d->pages += res.pages;
		usleep(d->sleep_us);
	}
	return NULL;
}

static void *compactor_run(void *arg)
{
	struct side *d = arg;

	while (!atomic_load(&d->stop) && !atomic_load(&d->fail->set)) {
		if (vswap_compact(d->s) < 0) {
			record(d->fail, "compact failed");
			break;
		}
		usleep(2000);
	}
	return NULL;
}

static void run_model(bool checksum, uint64_t pool_max, unsigned sleep_us)
{
	static struct worker w[THREADS];
	struct failure fail = { 0 };
	struct side wb = { 0 }, gc = { 0 };
	pthread_t th[THREADS], twb, tgc;
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	uint64_t ops = env_u64("VSWAP_TIER_OPS", DEFAULT_OPS), held = 0;
	uint64_t disk_kinds = 0;
	int fd = tier_tmpfile();

	vswap_params_init(&p, THREADS * RANGE);
	p.checksum = checksum;
	p.pool_max = pool_max;
	s = tier_store_new(&p, fd, 0);
	wb = (struct side){ .s = s, .seed = g_seed ^ 0x77, .fail = &fail,
			    .sleep_us = sleep_us };
	gc = (struct side){ .s = s, .fail = &fail };
	for (int t = 0; t < THREADS; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].s = s;
		w[t].first = (uint64_t)t * RANGE;
		w[t].seed = g_seed + (uint64_t)t * 1000003;
		w[t].ops = ops;
		w[t].fail = &fail;
		assert_int_equal(pthread_create(&th[t], NULL, worker_run,
						&w[t]), 0);
	}
	assert_int_equal(pthread_create(&twb, NULL, writeback_run, &wb), 0);
	assert_int_equal(pthread_create(&tgc, NULL, compactor_run, &gc), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	atomic_store(&wb.stop, true);
	atomic_store(&gc.stop, true);
	pthread_join(twb, NULL);
	pthread_join(tgc, NULL);
	if (atomic_load(&fail.set))
		fail_msg("%s", fail.msg);
	assert_store_valid(s);

	st = test_stats(s);
	for (int t = 0; t < THREADS; t++)
		for (uint64_t i = 0; i < RANGE; i++) {
			held += w[t].ref[i].kind != PK_EMPTY;
			disk_kinds += w[t].ref[i].kind == PK_TEXT ||
				      w[t].ref[i].kind == PK_RANDOM ||
				      w[t].ref[i].kind == PK_NEAR_SAME;
		}
	printf("# %" PRIu64 " writeback calls moved %" PRIu64 " pages; now "
	       "%" PRIu64 " on disk, %" PRIu64 " in pool, pool peak %" PRIu64
	       "\n", wb.calls, wb.pages, st.disk_pages,
	       st.compressed_pages + st.incompressible_pages,
	       st.pool_bytes_peak);
	assert_int_equal(st.stored_pages, held);
	assert_int_equal(st.compressed_pages + st.incompressible_pages +
			 st.disk_pages, disk_kinds);
	assert_true(st.writeback_pages > 0);
	assert_int_equal(st.integrity_errors, 0);
	assert_int_equal(st.disk_read_errors, 0);
	if (pool_max) {
		assert_true(st.pool_bytes_peak <= pool_max);
		/* Timing: a slow (sanitizer) build may store slower than
		 * the proactive thread writes back. test_tier_writeback
		 * covers pressure deterministically. */
		if (!(vswap_take_events(s) & VSWAP_EVENT_PRESSURE))
			printf("# the pool never reached its cap in this run\n");
	}

	/* Everything gone: so is every block of the file. */
	assert_int_equal(vswap_invalidate(s, 0, THREADS * RANGE), VSWAP_OK);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(file_blocks(fd), 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void model_with_writeback(void **state)
{
	(void)state;
	/* No cap, frequent proactive writeback. */
	run_model(false, 0, 500);
	/* A cap the data is 3x of, rare proactive writeback: stores write
	 * back under pressure too. */
	run_model(true, 3 * MIB / 2, 50000);
}

static void *reset_storer(void *arg)
{
	struct side *d = arg;
	struct test_rng r = { d->seed };
	unsigned char page[PAGE];

	while (!atomic_load(&d->stop)) {
		uint64_t slot = rng_below(&r, 2048);

		page_fill(page, PK_TEXT, slot);
		if (vswap_store_page(d->s, slot, page) != VSWAP_OK) {
			record(d->fail, "store during resets failed");
			break;
		}
		/* Whatever a load returns: that page, or zeroes (reset). */
		if (vswap_load_page(d->s, slot, page) != VSWAP_OK) {
			record(d->fail, "load during resets failed");
			break;
		}
		d->calls++;
	}
	return NULL;
}

static void reset_under_writeback(void **state)
{
	struct failure fail = { 0 };
	struct side st = { 0 }, wb = { 0 };
	pthread_t ts, tw;
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();

	(void)state;
	vswap_params_init(&p, 2048);
	p.pool_max = 3 * MIB / 2;
	s = tier_store_new(&p, fd, 0);
	st = (struct side){ .s = s, .seed = g_seed, .fail = &fail };
	wb = (struct side){ .s = s, .seed = g_seed ^ 1, .fail = &fail,
			    .sleep_us = 200 };
	assert_int_equal(pthread_create(&ts, NULL, reset_storer, &st), 0);
	assert_int_equal(pthread_create(&tw, NULL, writeback_run, &wb), 0);
	for (int i = 0; i < 6 && !atomic_load(&fail.set); i++) {
		usleep(60 * 1000);
		vswap_reset(s);
		/* Racing the storer and the writeback, as QEMU's worker. */
		if (vswap_tier_release(s) != VSWAP_OK)
			fail_msg("vswap_tier_release after reset %d", i);
	}
	atomic_store(&st.stop, true);
	atomic_store(&wb.stop, true);
	pthread_join(ts, NULL);
	pthread_join(tw, NULL);
	if (atomic_load(&fail.set))
		fail_msg("%s", fail.msg);
	printf("# %" PRIu64 " store+load pairs, %" PRIu64 " writebacks "
	       "moving %" PRIu64 " pages across 6 resets\n", st.calls,
	       wb.calls, wb.pages);
	assert_store_valid(s);
	vswap_reset(s);
	assert_int_equal(vswap_tier_release(s), VSWAP_OK);
	assert_int_equal(file_size(fd), 0);
	assert_int_equal(test_stats(s).disk_pages, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

/* Tearing: a few shared slots, known candidate pages. */
#define TSLOTS		8u
#define TCANDS		6u

struct tear {
	struct vswap_store *s;
	atomic_bool *stop;
	struct failure *fail;
	uint64_t seed;
	bool writer;
	uint64_t loads;
};

static enum page_kind tear_kind(unsigned c)
{
	return c % 3 == 2 ? PK_RANDOM : PK_TEXT;
}

/* The candidate pages, filled before the threads start, then read only. */
static unsigned char cand[TCANDS][PAGE];

static void *tear_run(void *arg)
{
	struct tear *t = arg;
	struct test_rng r = { t->seed };
	unsigned char got[PAGE];

	while (!atomic_load(t->stop) && !atomic_load(&t->fail->set)) {
		uint64_t slot = rng_below(&r, TSLOTS);

		if (t->writer) {
			int ret;

			if (rng_below(&r, 8) == 0)
				ret = vswap_invalidate(t->s, slot, 1);
			else
				ret = vswap_store_page(
					t->s, slot, cand[rng_below(&r, TCANDS)]);
			if (ret != VSWAP_OK)
				record(t->fail, "writer: %s",
				       vswap_error_name(ret));
			continue;
		}
		if (vswap_load_page(t->s, slot, got) != VSWAP_OK) {
			record(t->fail, "load of slot %" PRIu64 " failed",
			       slot);
			break;
		}
		t->loads++;
		if (page_is_zero(got))
			continue;
		{
			bool found = false;

			for (unsigned c = 0; c < TCANDS && !found; c++)
				found = memcmp(got, cand[c], PAGE) == 0;
			if (!found)
				record(t->fail, "slot %" PRIu64 " loaded a "
				       "page nobody stored", slot);
		}
	}
	return NULL;
}

static void same_slot_tearing(void **state)
{
	struct failure fail = { 0 };
	atomic_bool stop = false;
	struct tear t[4];
	pthread_t th[4];
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();
	uint64_t t0 = mono_now(), moved = 0;

	(void)state;
	for (unsigned c = 0; c < TCANDS; c++)
		page_fill(cand[c], tear_kind(c), 1000 + c);
	vswap_params_init(&p, 64);
	p.checksum = true;
	s = tier_store_new(&p, fd, 0);
	/* Fill the slots so the first segments seal and can be written. */
	for (unsigned i = 0; i < 200; i++)
		store_kind(s, i % TSLOTS, tear_kind(i % TCANDS),
			   1000 + i % TCANDS);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct tear){ .s = s, .stop = &stop, .fail = &fail,
				      .seed = g_seed + (uint64_t)i,
				      .writer = i < 2 };
		assert_int_equal(pthread_create(&th[i], NULL, tear_run, &t[i]),
				 0);
	}
	while (mono_now() - t0 < UINT64_C(1500) * 1000000 &&
	       !atomic_load(&fail.set)) {
		struct vswap_writeback_result res;

		if (vswap_writeback(s, 0, 0, &res) != VSWAP_OK)
			record(&fail, "writeback failed");
		moved += res.pages;
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&fail.set))
		fail_msg("%s", fail.msg);
	printf("# %" PRIu64 " pages moved to disk under %" PRIu64 " + %"
	       PRIu64 " loads\n", moved, t[2].loads, t[3].loads);
	assert_true(moved > 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	g_seed = test_seed();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(model_with_writeback),
		cmocka_unit_test(reset_under_writeback),
		cmocka_unit_test(same_slot_tearing),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
