/* SPDX-License-Identifier: MIT */
/*
 * Writeback triggers and what they cost and free.
 *
 *   pressure_keeps_cap     pool_max 2 MiB + a disk: 10x that stored, no
 *                          store refused, pool bytes never above the cap,
 *                          writes large; vswap_reclaim() reaches 90%
 *   no_disk_nospace        the same without a disk: NOSPACE as before
 *   proactive_age          only segments older than min_age are written
 *   compacted_keeps_age    data compaction moved keeps its age: a
 *                          segment compaction filled is written back by
 *                          age as the ones its objects came from would be
 *   proactive_budget       a byte budget is honoured (whole segments)
 *   freed_per_written      host bytes freed per byte written >= 0.9 with
 *                          some holes in the segments
 *   pressure_threads       three threads store 3x the cap at once while a
 *                          fourth runs proactive writeback: no store is
 *                          refused (a store at the cap waits for a batch of
 *                          the running writeback, not for all of it)
 *   api_errors             attach argument checks, writeback without disk
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"

#define SEG	(128u << 10)	/* pool segment (memsource.h) */

static enum page_kind mix(unsigned i)
{
	return i % 5 == 4 ? PK_RANDOM : PK_TEXT;
}

static void pressure_keeps_cap(void **state)
{
	const uint64_t cap = 2 * MIB;
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_stats st;
	struct vswap_store *s;
	int fd = tier_tmpfile();
	unsigned n = 6000;

	(void)state;
	vswap_params_init(&p, 8192);
	p.pool_max = cap;
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < n; i++) {
		store_kind(s, i, mix(i), i);
		if (i % 500 == 0)
			assert_true(test_stats(s).pool_bytes <= cap);
	}
	st = test_stats(s);
	printf("# pool peak %" PRIu64 " / cap %" PRIu64 ", disk %" PRIu64
	       " pages, %" PRIu64 " writes of %" PRIu64 " B on average\n",
	       st.pool_bytes_peak, cap, st.disk_pages, st.writeback_ios,
	       st.writeback_bytes / (st.writeback_ios ? st.writeback_ios : 1));
	assert_true(st.pool_bytes_peak <= cap);
	assert_int_equal(st.store_nospace, 0);
	assert_true(st.disk_pages > n / 2);
	assert_true(st.writeback_ios > 0);
	assert_true(st.writeback_bytes / st.writeback_ios >= 65536);
	assert_true(vswap_take_events(s) & VSWAP_EVENT_PRESSURE);
	assert_int_equal(vswap_take_events(s), 0);
	assert_int_equal(vswap_reclaim(s, &res), VSWAP_OK);
	assert_true(test_stats(s).pool_bytes <= cap / 100 * 90);
	for (unsigned i = 0; i < n; i++)
		check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void no_disk_nospace(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	unsigned char page[PAGE];
	unsigned ok = 0, nospace = 0;

	(void)state;
	vswap_params_init(&p, 8192);
	p.pool_max = 2 * MIB;
	s = test_store_new_p(&p);
	for (unsigned i = 0; i < 3000; i++) {
		int r;

		page_fill(page, mix(i), i);
		r = vswap_store_page(s, i, page);
		assert_true(r == VSWAP_OK || r == VSWAP_E_NOSPACE);
		ok += r == VSWAP_OK;
		nospace += r == VSWAP_E_NOSPACE;
	}
	assert_true(ok > 0 && nospace > 0);
	assert_true(test_stats(s).pool_bytes_peak <= 2 * MIB);
	assert_int_equal(vswap_reclaim(s, NULL), VSWAP_E_INVAL);
	vswap_store_destroy(s);
}

/*
 * The age tests' batch A: a store on the disk @fd with text pages in slots
 * [0, @na); *@per_seg: about how many of them a segment holds.
 */
static struct vswap_store *batch_a(int fd, unsigned na, uint64_t *per_seg)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;

	vswap_params_init(&p, 4096);
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < na; i++)
		store_kind(s, i, PK_TEXT, i);
	st = test_stats(s);
	*per_seg = SEG / (st.compressed_bytes / st.compressed_pages) + 1;
	return s;
}

static void proactive_age(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_store *s;
	struct vswap_stats st;
	int fd = tier_tmpfile();
	const unsigned na = 1000, nb = 1000;
	uint64_t per_seg, t_mid;

	(void)state;
	s = batch_a(fd, na, &per_seg);
	usleep(50 * 1000);
	t_mid = mono_now();
	for (unsigned i = na; i < na + nb; i++)
		store_kind(s, i, PK_TEXT, i);
	/* Nothing is a minute old. */
	assert_int_equal(vswap_writeback(s, UINT64_C(60) * 1000000000, 0,
					 &res), VSWAP_OK);
	assert_int_equal(res.pages, 0);
	/* Born before t_mid: batch A (its last segment was opened during A,
	 * so it may carry up to one segment of B). */
	assert_int_equal(vswap_writeback(s, mono_now() - t_mid, 0, &res),
			 VSWAP_OK);
	st = test_stats(s);
	printf("# age: %" PRIu64 " pages written (A = %u, %" PRIu64
	       " per segment)\n", res.pages, na, per_seg);
	assert_int_equal(st.disk_pages, res.pages);
	assert_true(res.pages + per_seg >= na);
	assert_true(res.pages <= na + per_seg);
	/* Everything, now. */
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, na + nb);
	for (unsigned i = 0; i < na + nb; i++)
		check_slot(s, i, PK_TEXT, i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void compacted_keeps_age(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_store *s;
	int fd = tier_tmpfile();
	const unsigned na = 2000, nb = 1000;
	uint64_t per_seg, t_mid, compactions;

	(void)state;
	s = batch_a(fd, na, &per_seg);
	/* Batch A sparse: three of four pages freed. */
	for (unsigned i = 0; i < na; i++)
		if (i % 4)
			assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	usleep(50 * 1000);
	t_mid = mono_now();
	compactions = test_stats(s).compactions;
	for (unsigned i = na; i < na + nb; i++)
		store_kind(s, i, PK_TEXT, i);
	/* A's survivors move into new segments after t_mid: during B's
	 * stores (the automatic compaction) or now. */
	assert_true(vswap_compact(s) >= 0);
	assert_true(test_stats(s).compactions > compactions);
	/* Born before t_mid: A's survivors, wherever compaction put them
	 * (a GC segment that also took from a segment of B is young: at
	 * most a segment's worth). */
	assert_int_equal(vswap_writeback(s, mono_now() - t_mid, 0, &res),
			 VSWAP_OK);
	printf("# compacted: %" PRIu64 " pages written (A's survivors = %u, "
	       "%" PRIu64 " per segment)\n", res.pages, na / 4, per_seg);
	assert_true(res.pages + per_seg >= na / 4);
	assert_true(res.pages <= na / 4 + per_seg);
	for (unsigned i = 0; i < na; i += 4)
		check_slot(s, i, PK_TEXT, i);
	for (unsigned i = na; i < na + nb; i++)
		check_slot(s, i, PK_TEXT, i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void proactive_budget(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();
	uint64_t budget = 300 << 10, total = 0;

	(void)state;
	vswap_params_init(&p, 4096);
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < 2000; i++)
		store_kind(s, i, mix(i), i);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(vswap_writeback(s, 0, budget, &res), VSWAP_OK);
		assert_true(res.bytes <= budget);
		assert_true(res.bytes + SEG >= budget);
		assert_true(res.pool_freed >= res.bytes);
		total += res.bytes;
	}
	assert_int_equal(test_stats(s).writeback_bytes, total);
	/* A budget below any segment's live data writes nothing. */
	assert_int_equal(vswap_writeback(s, 0, 4096, &res), VSWAP_OK);
	assert_int_equal(res.bytes, 0);
	for (unsigned i = 0; i < 2000; i++)
		check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void freed_per_written(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	struct test_rng r = { 42 };
	int fd = tier_tmpfile();
	double ratio;

	(void)state;
	vswap_params_init(&p, 8192);
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < 4000; i++)
		store_kind(s, i, mix(i), i);
	/* 5% holes, spread over every segment. */
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(vswap_invalidate(s, rng_below(&r, 4000), 1),
				 VSWAP_OK);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	ratio = (double)res.pool_freed / (double)res.bytes;
	printf("# written %" PRIu64 " B in %" PRIu64 " writes, freed %" PRIu64
	       " B: %.3f\n", res.bytes, res.ios, res.pool_freed, ratio);
	assert_true(ratio >= 0.9);
	assert_true(res.bytes / res.ios >= 65536);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

struct pthr {
	struct vswap_store *s;
	unsigned first, n;
	atomic_int *refused;
	atomic_bool *stop;
};

static void *pthr_store(void *arg)
{
	struct pthr *t = arg;
	unsigned char page[PAGE];

	for (unsigned i = t->first; i < t->first + t->n; i++) {
		page_fill(page, mix(i), i);
		if (vswap_store_page(t->s, i, page) != VSWAP_OK)
			atomic_fetch_add(t->refused, 1);
	}
	return NULL;
}

static void *pthr_writeback(void *arg)
{
	struct pthr *t = arg;

	while (!atomic_load(t->stop))
		if (vswap_writeback(t->s, 1000000, 0, NULL) != VSWAP_OK)
			atomic_fetch_add(t->refused, 1000000);
	return NULL;
}

static void pressure_threads(void **state)
{
	const uint64_t cap = 2 * MIB;
	struct vswap_params p;
	struct vswap_store *s;
	atomic_int refused = 0;
	atomic_bool stop = false;
	struct pthr t[4];
	pthread_t th[4];
	int fd = tier_tmpfile();

	(void)state;
	vswap_params_init(&p, 8192);
	p.pool_max = cap;
	s = tier_store_new(&p, fd, 0);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct pthr){ s, (unsigned)i * 2000, 2000, &refused,
				      &stop };
		assert_int_equal(pthread_create(&th[i], NULL, i < 3 ?
						pthr_store : pthr_writeback,
						&t[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop, true);
	pthread_join(th[3], NULL);
	assert_int_equal(atomic_load(&refused), 0);
	assert_true(test_stats(s).pool_bytes_peak <= cap);
	for (unsigned i = 0; i < 6000; i++)
		check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void api_errors(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile(), pfd[2], ro, ap;
	char path[64];

	(void)state;
	vswap_params_init(&p, 64);
	s = test_store_new_p(&p);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_E_INVAL);
	assert_int_equal(vswap_writeback(NULL, 0, 0, NULL), VSWAP_E_INVAL);
	assert_int_equal(vswap_store_attach_disk(NULL, fd, 0), VSWAP_E_INVAL);
	assert_int_equal(vswap_store_attach_disk(s, -1, 0), VSWAP_E_INVAL);
	assert_int_equal(vswap_store_attach_disk(s, fd, 4096), VSWAP_E_INVAL);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(vswap_store_attach_disk(s, pfd[0], 0), VSWAP_E_INVAL);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	ap = open(path, O_RDWR | O_APPEND);
	assert_true(ro >= 0 && ap >= 0);
	assert_int_equal(vswap_store_attach_disk(s, ro, 0), VSWAP_E_INVAL);
	assert_int_equal(vswap_store_attach_disk(s, ap, 0), VSWAP_E_INVAL);
	assert_int_equal(vswap_store_attach_disk(s, fd, 0), VSWAP_OK);
	assert_int_equal(vswap_store_attach_disk(s, fd, 0), VSWAP_E_BUSY);
	assert_int_equal(vswap_take_events(NULL), 0);
	vswap_store_destroy(s);
	close(pfd[0]);
	close(pfd[1]);
	close(ro);
	close(ap);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pressure_keeps_cap),
		cmocka_unit_test(no_disk_nospace),
		cmocka_unit_test(proactive_age),
		cmocka_unit_test(compacted_keeps_age),
		cmocka_unit_test(proactive_budget),
		cmocka_unit_test(freed_per_written),
		cmocka_unit_test(pressure_threads),
		cmocka_unit_test(api_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
