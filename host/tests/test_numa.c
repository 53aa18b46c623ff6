/* SPDX-License-Identifier: MIT */
/*
 * Host NUMA placement on the machine the tests run on (usually one node;
 * the multi-node behaviour is tested in a guest, tests/numa/):
 *   - policy validation: every refusal is INVAL with a reason, and leaves
 *     the store's policy as it was;
 *   - bind to node 0 puts every pool page on node 0, by the library's
 *     refresh and by an independent move_pages query (numa_test.h); the
 *     arenas carry the policy as their VMA policy (get_mempolicy);
 *   - the refresh accounts exactly the pool's resident segment bytes,
 *     also after invalidation and compaction gave memory back;
 *   - migrating to the policy already in force moves nothing;
 *   - stores and loads running while the policy changes and migration
 *     runs get every page back bit-exact.
 */
#define _GNU_SOURCE
#include <numa.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "store.h"
#include "vswap_test.h"
#include "numa_test.h"

static uint64_t node_sum(const struct vswap_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < VSWAP_MAX_NODES; i++)
		n += st->node_bytes[i];
	return n;
}

/* Highest node the kernel knows, +1: a node number no host has. */
static unsigned absent_node(void)
{
	return (unsigned)numa_max_node() + 1 < VSWAP_MAX_NODES ?
	       (unsigned)numa_max_node() + 1 : VSWAP_MAX_NODES - 1;
}

static void names_round_trip(void **state)
{
	enum vswap_mempolicy pol;

	(void)state;
	for (int i = 0; i < VSWAP_MPOL__COUNT; i++) {
		const char *n = vswap_mempolicy_name((enum vswap_mempolicy)i);

		assert_non_null(n);
		assert_int_equal(vswap_mempolicy_parse(n, &pol), VSWAP_OK);
		assert_int_equal(pol, i);
	}
	assert_null(vswap_mempolicy_name(VSWAP_MPOL__COUNT));
	assert_int_equal(vswap_mempolicy_parse("local", &pol), VSWAP_E_INVAL);
	assert_int_equal(vswap_mempolicy_parse(NULL, &pol), VSWAP_E_INVAL);
	/* QEMU's HostMemPolicy order: the glue casts. */
	assert_int_equal(VSWAP_MPOL_DEFAULT, 0);
	assert_int_equal(VSWAP_MPOL_PREFERRED, 1);
	assert_int_equal(VSWAP_MPOL_BIND, 2);
	assert_int_equal(VSWAP_MPOL_INTERLEAVE, 3);
}

static void expect_refused(enum vswap_mempolicy pol, uint64_t nodes,
			   const char *reason_part)
{
	char why[160] = "";

	assert_int_equal(vswap_mempolicy_check(pol, nodes, why, sizeof(why)),
			 VSWAP_E_INVAL);
	if (!strstr(why, reason_part))
		fail_msg("policy %d nodes %#" PRIx64 ": reason '%s' lacks '%s'",
			 pol, nodes, why, reason_part);
	/* no reason buffer: same verdict */
	assert_int_equal(vswap_mempolicy_check(pol, nodes, NULL, 0),
			 VSWAP_E_INVAL);
}

static void validation(void **state)
{
	unsigned bad = absent_node();
	char name[32];
	char why[160];
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	int err = 0;

	(void)state;
	snprintf(name, sizeof(name), "host node %u ", bad);
	assert_int_equal(vswap_mempolicy_check(VSWAP_MPOL_DEFAULT, 0, NULL, 0),
			 VSWAP_OK);
	for (int pol = VSWAP_MPOL_PREFERRED; pol < VSWAP_MPOL__COUNT; pol++)
		assert_int_equal(vswap_mempolicy_check(pol, 1, why,
						       sizeof(why)), VSWAP_OK);
	expect_refused(VSWAP_MPOL__COUNT, 1, "unknown NUMA policy");
	expect_refused((enum vswap_mempolicy)-1, 1, "unknown NUMA policy");
	expect_refused(VSWAP_MPOL_DEFAULT, 1, "takes no host nodes");
	expect_refused(VSWAP_MPOL_BIND, 0, "'bind' needs at least one");
	expect_refused(VSWAP_MPOL_INTERLEAVE, 0, "'interleave' needs");
	expect_refused(VSWAP_MPOL_PREFERRED, 0, "'preferred' needs");
	expect_refused(VSWAP_MPOL_PREFERRED, 3, "exactly one host node");
	expect_refused(VSWAP_MPOL_BIND, UINT64_C(1) << bad, name);
	expect_refused(VSWAP_MPOL_INTERLEAVE, 1 | UINT64_C(1) << bad, name);
	expect_refused(VSWAP_MPOL_BIND, UINT64_C(1) << 63, "host node 63 ");

	/* At creation: the store is refused. */
	vswap_params_init(&p, 64);
	p.mpol = VSWAP_MPOL_BIND;
	p.mpol_nodes = UINT64_C(1) << bad;
	assert_null(vswap_store_create(&p, &err));
	assert_int_equal(err, VSWAP_E_INVAL);
	p.mpol = VSWAP_MPOL__COUNT;
	p.mpol_nodes = 1;
	assert_null(vswap_store_create(&p, &err));
	assert_int_equal(err, VSWAP_E_INVAL);

	/* At run time: refused, the policy in force stays. */
	p.mpol = VSWAP_MPOL_BIND;
	p.mpol_nodes = 1;
	s = test_store_new_p(&p);
	st = test_stats(s);
	assert_int_equal(st.mpol, VSWAP_MPOL_BIND);
	assert_int_equal(st.mpol_nodes, 1);
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_BIND,
						   UINT64_C(1) << bad),
			 VSWAP_E_INVAL);
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_DEFAULT, 1),
			 VSWAP_E_INVAL);
	assert_int_equal(vswap_store_set_mempolicy(NULL, VSWAP_MPOL_DEFAULT, 0),
			 VSWAP_E_INVAL);
	st = test_stats(s);
	assert_int_equal(st.mpol, VSWAP_MPOL_BIND);
	assert_int_equal(st.mpol_nodes, 1);
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_DEFAULT, 0),
			 VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(st.mpol, VSWAP_MPOL_DEFAULT);
	assert_int_equal(st.mpol_nodes, 0);
	assert_int_equal(vswap_migrate(NULL, 0, NULL), VSWAP_E_INVAL);
	assert_int_equal(vswap_refresh_nodes(NULL), VSWAP_E_INVAL);
	vswap_store_destroy(s);
}

/* Store @n pages of mixed kinds into slots [0, n), seeds from @seed. */
static void fill(struct vswap_store *s, uint64_t n, uint64_t seed)
{
	unsigned char page[PAGE];

	for (uint64_t i = 0; i < n; i++) {
		enum page_kind k = (i % 3) ? PK_RANDOM : PK_TEXT;

		page_fill(page, k, seed + i);
		assert_int_equal(vswap_store_page(s, i, page), VSWAP_OK);
	}
}

static void verify(struct vswap_store *s, uint64_t n, uint64_t seed)
{
	unsigned char page[PAGE], want[PAGE];

	for (uint64_t i = 0; i < n; i++) {
		page_fill(want, (i % 3) ? PK_RANDOM : PK_TEXT, seed + i);
		assert_int_equal(vswap_load_page(s, i, page), VSWAP_OK);
		assert_memory_equal(page, want, PAGE);
	}
}

/* Library refresh and independent kernel query agree, all on node 0. */
static void assert_all_on_node0(struct vswap_store *s)
{
	uint64_t count[64], present, absent;
	struct vswap_stats st;

	assert_int_equal(vswap_refresh_nodes(s), VSWAP_OK);
	st = test_stats(s);
	assert_true(st.nodes_refreshed_ns > 0);
	assert_true(st.segment_bytes > 0);
	/* Every handed-out segment is populated when taken (and nothing
	 * runs concurrently here): resident == segment bytes. */
	assert_int_equal(st.node_bytes[0], st.segment_bytes);
	assert_int_equal(node_sum(&st), st.segment_bytes);
	assert_int_equal(kernel_pool_nodes(s, count, &present, &absent), 0);
	assert_int_equal(count[0] * PAGE, st.segment_bytes);
	assert_int_equal(present * PAGE, st.segment_bytes);
}

static void bind_node0_lands_on_node0(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	uint64_t mask = 0;

	(void)state;
	vswap_params_init(&p, 4096);
	p.mpol = VSWAP_MPOL_BIND;
	p.mpol_nodes = 1;
	s = test_store_new_p(&p);
	fill(s, 3000, 11);
	assert_int_equal(kernel_arena_policy(s, &mask), MPOL_BIND);
	assert_int_equal(mask, 1);
	assert_all_on_node0(s);
	verify(s, 3000, 11);

	/* Interleave over {0} and preferred 0: the VMA policy follows at
	 * once, the pages stay on node 0. */
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_INTERLEAVE,
						   1), VSWAP_OK);
	assert_int_equal(kernel_arena_policy(s, &mask), MPOL_INTERLEAVE);
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_PREFERRED,
						   1), VSWAP_OK);
	assert_int_equal(kernel_arena_policy(s, &mask), MPOL_PREFERRED);
	assert_int_equal(mask, 1);
	fill(s, 4096, 12);
	assert_all_on_node0(s);
	/* Back to default: the arenas lose their explicit policy. */
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_DEFAULT, 0),
			 VSWAP_OK);
	assert_int_equal(kernel_arena_policy(s, &mask), MPOL_DEFAULT);
	verify(s, 4096, 12);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

static void refresh_counts_resident_bytes(void **state)
{
	struct vswap_store *s = test_store_new(16384, VSWAP_CODEC_LZ4, 0);
	uint64_t count[64], present, absent;
	struct vswap_stats st;

	(void)state;
	/* Empty store: nothing resident, and the refresh says so. */
	assert_int_equal(vswap_refresh_nodes(s), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(node_sum(&st), 0);
	assert_int_equal(st.mpol, VSWAP_MPOL_DEFAULT);
	assert_int_equal(st.numa_migrate_pending_bytes, 0);

	fill(s, 16384, 21);
	assert_int_equal(vswap_refresh_nodes(s), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(node_sum(&st), st.segment_bytes);
	assert_true(st.segment_bytes >= 10000 * PAGE);	/* 2/3 raw pages */
	assert_true(st.segment_bytes < st.pool_bytes);	/* + metadata */

	/* Give memory back: the refresh follows (freed segments have no
	 * pages any more), and the kernel agrees. */
	assert_int_equal(vswap_invalidate(s, 0, 12000), VSWAP_OK);
	assert_true(vswap_compact(s) >= 0);
	assert_int_equal(vswap_refresh_nodes(s), VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(node_sum(&st), st.segment_bytes);
	assert_int_equal(kernel_pool_nodes(s, count, &present, &absent), 0);
	assert_int_equal(present * PAGE, st.segment_bytes);
	assert_true(st.segment_bytes < 6000 * PAGE);
	vswap_store_destroy(s);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Cost of a refresh, for docs/numa.md: pages queried per second. */
static void refresh_rate(void **state)
{
	struct vswap_store *s = test_store_new(32768, VSWAP_CODEC_NONE, 0);
	struct timespec t0, t1;
	struct vswap_stats st;
	double t;
	int rounds = 5;

	(void)state;
	fill(s, 32768, 31);	/* 128 MiB of raw pages */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < rounds; i++)
		assert_int_equal(vswap_refresh_nodes(s), VSWAP_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st = test_stats(s);
	t = secs(&t0, &t1) / rounds;
	printf("# refresh: %" PRIu64 " MiB of pool in %.2f ms = %.1f Mpages/s\n",
	       st.segment_bytes >> 20, t * 1e3,
	       (double)st.segment_bytes / PAGE / t / 1e6);
	assert_int_equal(node_sum(&st), st.segment_bytes);
	vswap_store_destroy(s);
}

static void migrate_same_policy_is_noop(void **state)
{
	struct vswap_migrate_result res;
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;

	(void)state;
	vswap_params_init(&p, 4096);
	p.mpol = VSWAP_MPOL_BIND;
	p.mpol_nodes = 1;
	s = test_store_new_p(&p);
	fill(s, 2048, 41);
	/* Created with the policy: nothing pending. */
	st = test_stats(s);
	assert_int_equal(st.numa_migrate_pending_bytes, 0);
	assert_int_equal(vswap_migrate(s, 0, &res), VSWAP_OK);
	assert_int_equal(res.bytes_moved, 0);
	assert_int_equal(res.bytes_remaining, 0);

	/* Set again: all of it is pending, examined, nothing moves. */
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_BIND, 1),
			 VSWAP_OK);
	st = test_stats(s);
	assert_int_equal(st.numa_migrate_pending_bytes, st.segment_bytes);
	/*
	 * Nothing moves, yet a small budget bounds each call by what it
	 * examines: one query batch here (8 x PAGE rounds up to it), so the
	 * pending bytes go down by at most a batch per call.
	 */
	{
		uint64_t pending = st.numa_migrate_pending_bytes, calls = 0;
		const uint64_t batch = (uint64_t)VSWAP_NUMA_QUERY_PAGES * PAGE;

		assert_true(pending > batch);	/* more than one step */
		do {
			assert_int_equal(vswap_migrate(s, PAGE, &res),
					 VSWAP_OK);
			assert_int_equal(res.bytes_moved, 0);
			assert_int_equal(res.pages_failed, 0);
			if (pending - res.bytes_remaining > batch)
				fail_msg("one step of max_bytes %u examined "
					 "%" PRIu64 " bytes", PAGE,
					 pending - res.bytes_remaining);
			assert_true(res.bytes_remaining < pending);
			pending = res.bytes_remaining;
			calls++;
		} while (pending);
		assert_true(calls >= 2);
	}
	st = test_stats(s);
	assert_int_equal(st.numa_migrate_pending_bytes, 0);
	assert_int_equal(st.numa_migrated_bytes, 0);
	assert_int_equal(st.numa_migrate_failures, 0);

	/* DEFAULT: nowhere to move to, nothing pending. */
	assert_int_equal(vswap_store_set_mempolicy(s, VSWAP_MPOL_DEFAULT, 0),
			 VSWAP_OK);
	assert_int_equal(test_stats(s).numa_migrate_pending_bytes, 0);
	assert_int_equal(vswap_migrate(s, 0, &res), VSWAP_OK);
	assert_int_equal(res.bytes_moved + res.bytes_remaining, 0);
	verify(s, 2048, 41);
	assert_all_on_node0(s);
	vswap_store_destroy(s);
}

#define CONC_SLOTS	4096u
#define CONC_THREADS	3

struct conc {
	struct vswap_store *s;
	unsigned id;
	volatile int *stop;
	uint64_t ops, bad;
	/* version of each slot this thread owns: page seed = slot*1000+v */
	uint32_t ver[CONC_SLOTS];
};

/* Each thread owns the slots == id mod CONC_THREADS: stores new versions
 * and loads them back, checking every byte. */
static void *conc_worker(void *arg)
{
	struct conc *c = arg;
	unsigned char page[PAGE], want[PAGE];
	struct test_rng r = { 1000 + c->id };

	while (!__atomic_load_n(c->stop, __ATOMIC_RELAXED)) {
		uint64_t slot = rng_below(&r, CONC_SLOTS / CONC_THREADS) *
				CONC_THREADS + c->id;
		enum page_kind k = (slot % 2) ? PK_RANDOM : PK_TEXT;

		if (slot >= CONC_SLOTS)
			continue;
		if (rng_below(&r, 2)) {
			c->ver[slot]++;
			page_fill(page, k, slot * 1000 + c->ver[slot]);
			if (vswap_store_page(c->s, slot, page) != VSWAP_OK)
				c->bad++;
		} else {
			if (c->ver[slot])
				page_fill(want, k, slot * 1000 + c->ver[slot]);
			else
				memset(want, 0, PAGE);
			if (vswap_load_page(c->s, slot, page) != VSWAP_OK ||
			    memcmp(page, want, PAGE))
				c->bad++;
		}
		if (rng_below(&r, 64) == 0)
			vswap_invalidate(c->s, slot, 1), c->ver[slot] = 0;
		c->ops++;
	}
	return NULL;
}

static void concurrent_traffic_during_migration(void **state)
{
	static const struct { enum vswap_mempolicy pol; uint64_t nodes; }
	steps[] = {
		{ VSWAP_MPOL_BIND, 1 }, { VSWAP_MPOL_INTERLEAVE, 1 },
		{ VSWAP_MPOL_PREFERRED, 1 }, { VSWAP_MPOL_DEFAULT, 0 },
	};
	struct conc *w = calloc(CONC_THREADS, sizeof(*w));
	pthread_t th[CONC_THREADS];
	struct vswap_migrate_result res;
	struct vswap_store *s;
	volatile int stop = 0;
	uint64_t ops = 0, calls = 0;

	(void)state;
	assert_non_null(w);
	s = test_store_new(CONC_SLOTS, VSWAP_CODEC_LZ4, 0);
	for (unsigned i = 0; i < CONC_THREADS; i++) {
		w[i].s = s;
		w[i].id = i;
		w[i].stop = &stop;
		assert_int_equal(pthread_create(&th[i], NULL, conc_worker,
						&w[i]), 0);
	}
	for (unsigned round = 0; round < 40; round++) {
		assert_int_equal(vswap_store_set_mempolicy(s,
				 steps[round % 4].pol, steps[round % 4].nodes),
				 VSWAP_OK);
		do {
			assert_int_equal(vswap_migrate(s, 64 * PAGE, &res),
					 VSWAP_OK);
			calls++;
		} while (res.bytes_remaining && calls < 100000);
		assert_int_equal(vswap_refresh_nodes(s), VSWAP_OK);
		usleep(5000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < CONC_THREADS; i++) {
		pthread_join(th[i], NULL);
		ops += w[i].ops;
		assert_int_equal(w[i].bad, 0);
	}
	printf("# %" PRIu64 " store/load/invalidate ops, %" PRIu64
	       " migrate calls over 40 policy changes, all loads bit-exact\n",
	       ops, calls);
	assert_true(ops > 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_round_trip),
		cmocka_unit_test(validation),
		cmocka_unit_test(bind_node0_lands_on_node0),
		cmocka_unit_test(refresh_counts_resident_bytes),
		cmocka_unit_test(refresh_rate),
		cmocka_unit_test(migrate_same_policy_is_noop),
		cmocka_unit_test(concurrent_traffic_during_migration),
	};

	if (numa_available() < 0) {
		printf("1..0 # SKIP kernel without NUMA support\n");
		return 0;
	}
	return cmocka_run_group_tests_name("numa", tests, NULL, NULL);
}
