/* SPDX-License-Identifier: MIT */
/*
 * Differential model test: random sequences of store / load / invalidate
 * (ranges) over every page kind and codec, checked against a trivial
 * reference map (slot -> kind, seed). Seeded and reproducible: the seed is
 * printed; VSWAP_SEED=... replays it, VSWAP_MODEL_OPS=... makes it longer.
 *
 *   model_single      one thread, one store per codec
 *   model_threads     THREADS threads, each owning a disjoint slot range
 *                     (so its reference is exact) + a compactor thread +
 *                     a stats reader; at the end stats == the reference
 *                     and vswap_store_check() (also run mid-traffic) is ok
 *   same_slot_tearing writers store whole known pages into a few shared
 *                     slots while readers check every load is one of them
 *                     and a compactor moves the objects under them
 *
 * Worker threads never call cmocka (it is not thread-safe): they record the
 * first failure and the main thread fails the test with it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"

#define THREADS		4
#define RANGE		1024u		/* slots per thread */
#define DEFAULT_OPS	15000u		/* per thread */

static uint64_t g_seed;

struct ref {
	uint8_t kind;			/* enum page_kind, PK_EMPTY = none */
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
	uint64_t first;			/* owns [first, first + RANGE) */
	uint64_t seed, ops;
	struct ref ref[RANGE];
	uint64_t stores, loads, invalidates;
	struct failure *fail;
};

/* Pick a page kind: all kinds, text most often (it is the common case). */
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
	w->loads++;
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

		if (roll < 45) {			/* store */
			enum page_kind k = pick_kind(&r);
			uint64_t seed = rng_next(&r);

			page_fill(want, k, seed);
			ret = vswap_store_page(w->s, w->first + i, want);
			w->stores++;
			if (ret != VSWAP_OK) {
				record(w->fail, "store slot %" PRIu64 ": %s",
				       w->first + i, vswap_error_name(ret));
				break;
			}
			w->ref[i] = (struct ref){ (uint8_t)k, seed };
		} else if (roll < 90) {			/* load */
			if (!verify(w, i, want, got))
				break;
		} else {				/* invalidate */
			uint64_t n = 1 + rng_below(&r, roll < 97 ? 4 : 64);

			if (i + n > RANGE)
				n = RANGE - i;
			ret = vswap_invalidate(w->s, w->first + i, n);
			w->invalidates++;
			if (ret != VSWAP_OK) {
				record(w->fail, "invalidate %" PRIu64 "+%"
				       PRIu64 ": %s", w->first + i, n,
				       vswap_error_name(ret));
				break;
			}
			for (uint64_t j = i; j < i + n; j++)
				w->ref[j].kind = PK_EMPTY;
		}
	}
	/* final sweep over the whole range */
	for (uint64_t i = 0; i < RANGE && !atomic_load(&w->fail->set); i++)
		verify(w, i, want, got);
	return NULL;
}

/* Reference counts of what the workers' maps hold. */
static void expect_stats(struct vswap_store *s, struct worker *w, int n)
{
	uint64_t count[PK__COUNT] = { 0 }, stores = 0, loads = 0, held = 0;
	struct vswap_stats st = test_stats(s);

	for (int t = 0; t < n; t++) {
		for (uint64_t i = 0; i < RANGE; i++)
			count[w[t].ref[i].kind]++;
		stores += w[t].stores;
		loads += w[t].loads;
	}
	held = n * RANGE - count[PK_EMPTY];
	assert_int_equal(st.stored_pages, held);
	assert_int_equal(st.zero_pages, count[PK_ZERO]);
	assert_int_equal(st.same_pages, count[PK_SAME]);
	assert_int_equal(st.compressed_pages + st.incompressible_pages,
			 count[PK_TEXT] + count[PK_RANDOM] +
			 count[PK_NEAR_SAME]);
	assert_true(st.incompressible_pages >= count[PK_RANDOM]);
	assert_int_equal(st.stores, stores);
	assert_int_equal(st.loads, loads);
	assert_int_equal(st.integrity_errors, 0);
}

static void run_model(enum vswap_codec codec, int nthreads, bool checksum,
		      bool with_compactor);

static void model_single(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++)
		run_model((enum vswap_codec)c, 1, c == VSWAP_CODEC_ZSTD, false);
}

static void model_threads(void **state)
{
	(void)state;
	run_model(VSWAP_CODEC_LZ4, THREADS, false, true);
	run_model(VSWAP_CODEC_LZ4, THREADS, true, true);
	run_model(VSWAP_CODEC_ZSTD, THREADS, false, false);
}

struct side {
	struct vswap_store *s;
	atomic_bool stop;
	uint64_t calls;
	struct failure *fail;
};

static void *compactor_run(void *arg)
{
	struct side *c = arg;

	while (!atomic_load(&c->stop)) {
		struct vswap_stats st;
		int64_t r = vswap_compact(c->s);

		if (r < 0)
			record(c->fail, "vswap_compact: %s",
			       vswap_error_name((int)r));
		if (c->calls % 64 == 0 && vswap_store_check(c->s) != VSWAP_OK)
			record(c->fail, "vswap_store_check failed mid-run");
		vswap_get_stats(c->s, &st);
		if (st.stored_pages > 2 * THREADS * RANGE)
			record(c->fail, "stored_pages %" PRIu64 " mid-run",
			       st.stored_pages);
		c->calls++;
		/* a pause so four workers on two cores still make progress */
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
	return NULL;
}

static void run_model(enum vswap_codec codec, int nthreads, bool checksum,
		      bool with_compactor)
{
	static struct worker w[THREADS];
	struct failure fail = { 0 };
	struct vswap_params p;
	pthread_t tid[THREADS], ctid;
	struct side side;
	const uint64_t ops = env_u64("VSWAP_MODEL_OPS", DEFAULT_OPS);
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	vswap_params_init(&p, (uint64_t)nthreads * RANGE + 100);
	p.codec = codec;
	p.checksum = checksum;
	memset(w, 0, sizeof(w));
	side = (struct side){ .s = test_store_new_p(&p), .fail = &fail };
	for (int t = 0; t < nthreads; t++) {
		w[t].s = side.s;
		w[t].first = (uint64_t)t * RANGE;
		w[t].seed = g_seed ^ ((uint64_t)(codec + 1) << 40) ^
			    ((uint64_t)nthreads << 32) ^ (uint64_t)t;
		w[t].ops = ops;
		w[t].fail = &fail;
	}
	if (with_compactor)
		assert_int_equal(pthread_create(&ctid, NULL, compactor_run,
						&side), 0);
	for (int t = 0; t < nthreads; t++)
		assert_int_equal(pthread_create(&tid[t], NULL, worker_run,
						&w[t]), 0);
	for (int t = 0; t < nthreads; t++)
		pthread_join(tid[t], NULL);
	if (with_compactor) {
		atomic_store(&side.stop, true);
		pthread_join(ctid, NULL);
	}
	if (atomic_load(&fail.set))
		fail_msg("%s, %d thread(s), seed %" PRIu64 ": %s",
			 vswap_codec_name(codec), nthreads, g_seed, fail.msg);
	/* no traffic beyond the owned ranges: slack slots stay empty */
	check_slot(side.s, (uint64_t)nthreads * RANGE + 50, PK_EMPTY, 0);
	w[0].loads++;
	assert_store_valid(side.s);
	expect_stats(side.s, w, nthreads);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("# model %s, %d thread(s)%s%s, %" PRIu64 " ops each: "
		      "ok in %.2f s\n", vswap_codec_name(codec), nthreads,
		      checksum ? ", checksums" : "",
		      with_compactor ? " + compactor" : "", ops,
		      (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
	vswap_store_destroy(side.s);
}

/*
 * Same-slot tearing: writers store pages from a known set into SHARED slots;
 * readers load them and every load must equal one member of the set (the
 * zero page is in it: never-written and invalidated slots read as zeroes).
 */
#define SHARED	3
#define KNOWN	8

struct tear {
	struct vswap_store *s;
	unsigned char known[KNOWN][PAGE];
	atomic_bool stop;
	atomic_uint_fast64_t loads, stores;
	struct failure fail;
	uint64_t seed;
};

static void *tear_writer(void *arg)
{
	struct tear *t = arg;
	struct test_rng r = { t->seed ^ (uint64_t)pthread_self() };

	while (!atomic_load(&t->stop) && !atomic_load(&t->fail.set)) {
		uint64_t slot = rng_below(&r, SHARED);
		int ret;

		if (rng_below(&r, 50) == 0)
			ret = vswap_invalidate(t->s, slot, 1);
		else
			ret = vswap_store_page(t->s, slot,
					       t->known[rng_below(&r, KNOWN)]);
		if (ret != VSWAP_OK)
			record(&t->fail, "writer: %s", vswap_error_name(ret));
		atomic_fetch_add(&t->stores, 1);
	}
	return NULL;
}

static void *tear_reader(void *arg)
{
	struct tear *t = arg;
	struct test_rng r = { t->seed ^ 0x77 ^ (uint64_t)pthread_self() };
	unsigned char got[PAGE];

	while (!atomic_load(&t->stop) && !atomic_load(&t->fail.set)) {
		uint64_t slot = rng_below(&r, SHARED);
		int ret = vswap_load_page(t->s, slot, got), k;

		if (ret != VSWAP_OK) {
			record(&t->fail, "reader: %s", vswap_error_name(ret));
			break;
		}
		for (k = 0; k < KNOWN; k++)
			if (memcmp(got, t->known[k], PAGE) == 0)
				break;
		if (k == KNOWN) {
			size_t same[KNOWN] = { 0 };

			for (k = 0; k < KNOWN; k++)
				for (size_t b = 0; b < PAGE; b++)
					same[k] += got[b] == t->known[k][b];
			record(&t->fail, "torn load of slot %" PRIu64 ": "
			       "matches no known page (bytes in common: "
			       "%zu %zu %zu %zu %zu %zu %zu %zu)", slot,
			       same[0], same[1], same[2], same[3], same[4],
			       same[5], same[6], same[7]);
			break;
		}
		atomic_fetch_add(&t->loads, 1);
	}
	return NULL;
}

/* Compaction moving the shared slots' objects while they are read. */
static void *tear_compactor(void *arg)
{
	struct tear *t = arg;

	while (!atomic_load(&t->stop) && !atomic_load(&t->fail.set)) {
		if (vswap_compact(t->s) < 0)
			record(&t->fail, "vswap_compact failed");
		nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	}
	return NULL;
}

static void same_slot_tearing(void **state)
{
	static struct tear t;
	static const enum page_kind kinds[KNOWN] = {
		PK_ZERO, PK_SAME, PK_SAME, PK_TEXT, PK_TEXT, PK_RANDOM,
		PK_RANDOM, PK_NEAR_SAME,
	};
	pthread_t w[2], r[2], ct;
	/* per codec: this many loads and stores at least, racing */
	const uint64_t want = env_u64("VSWAP_MODEL_OPS", DEFAULT_OPS) / 3;

	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		memset(&t, 0, sizeof(t));
		t.seed = g_seed;
		for (int k = 0; k < KNOWN; k++)
			page_fill(t.known[k], kinds[k], g_seed + (uint64_t)k);
		{
			struct vswap_params p;

			vswap_params_init(&p, SHARED);
			p.codec = (enum vswap_codec)c;
			p.checksum = c == VSWAP_CODEC_LZ4;
			t.s = test_store_new_p(&p);
		}
		for (int i = 0; i < 2; i++) {
			pthread_create(&w[i], NULL, tear_writer, &t);
			pthread_create(&r[i], NULL, tear_reader, &t);
		}
		pthread_create(&ct, NULL, tear_compactor, &t);
		while ((atomic_load(&t.loads) < want ||
			atomic_load(&t.stores) < want) &&
		       !atomic_load(&t.fail.set)) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		atomic_store(&t.stop, true);
		for (int i = 0; i < 2; i++) {
			pthread_join(w[i], NULL);
			pthread_join(r[i], NULL);
		}
		pthread_join(ct, NULL);
		assert_store_valid(t.s);
		{
			struct vswap_stats st = test_stats(t.s);

			assert_true(st.stored_pages <= SHARED);
			assert_int_equal(st.stored_pages,
					 st.zero_pages + st.same_pages +
					 st.compressed_pages +
					 st.incompressible_pages);
		}
		if (atomic_load(&t.fail.set))
			fail_msg("%s, seed %" PRIu64 ": %s",
				 vswap_codec_name((enum vswap_codec)c), g_seed,
				 t.fail.msg);
		print_message("# tearing %s%s: %" PRIu64 " loads, %" PRIu64
			      " stores, %" PRIu64 " compactions, all whole "
			      "pages\n", vswap_codec_name((enum vswap_codec)c),
			      c == VSWAP_CODEC_LZ4 ? " (checksums)" : "",
			      (uint64_t)atomic_load(&t.loads),
			      (uint64_t)atomic_load(&t.stores),
			      test_stats(t.s).compactions);
		vswap_store_destroy(t.s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(model_single),
		cmocka_unit_test(model_threads),
		cmocka_unit_test(same_slot_tearing),
	};

	g_seed = test_seed();
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
