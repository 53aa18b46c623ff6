/* SPDX-License-Identifier: MIT */
/*
 * vswap_reset does no file I/O; vswap_tier_release gives the space back
 * later (include/vswap.h).
 *
 *   reset_leaves_file_stale   after reset, before release: the file is
 *                             untouched (size, blocks, disk_file_bytes),
 *                             old slots read as empty, and an old object
 *                             still in the file no longer verifies (the
 *                             seed was drawn anew); release: 0 blocks
 *   release_keeps_new_objects reset, new data written back at the start
 *                             of the file, then release: the file shrinks
 *                             to the chunks in use, every page bit-exact
 *   release_races_traffic     rounds of reset + stores + writeback in
 *                             one thread while another releases over and
 *                             over (each reset leaves a stale file to
 *                             cut): every page bit-exact, store valid, a
 *                             final release leaves only the chunks used
 *   release_without_disk      INVAL
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
#include "store.h"

#define N	4096u	/* 16 MiB of incompressible pages */

static struct vswap_store *filled(int fd, unsigned n, uint64_t seed)
{
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 4 * N);
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < n; i++)
		store_kind(s, i, PK_RANDOM, seed + i);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, n);
	return s;
}

static void reset_leaves_file_stale(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_store *s = filled(fd, N, 0);
	uint64_t size = file_size(fd), blocks = file_blocks(fd);
	uint32_t old_seed = s->obj_seed, hdr[2];
	unsigned char payload[PAGE];
	int64_t off = disk_find_header(fd, 0);

	(void)state;
	assert_true(blocks >= (uint64_t)N * PAGE);
	/* Slot 0's object: {~0, CRC-32C(seed, payload)} + the raw page. */
	assert_true(off >= 0);
	assert_int_equal(pread(fd, hdr, sizeof(hdr), off), sizeof(hdr));
	assert_int_equal(pread(fd, payload, PAGE, off + 8), PAGE);
	assert_int_equal(vswap_crc32c(old_seed, payload, PAGE), hdr[1]);

	vswap_reset(s);
	assert_int_equal(file_size(fd), size);
	assert_int_equal(file_blocks(fd), blocks);
	assert_int_equal(test_stats(s).disk_file_bytes, blocks);
	assert_int_equal(test_stats(s).disk_pages, 0);
	assert_true(s->obj_seed != old_seed);
	/* The stale object is still there, and no longer this store's. */
	assert_int_equal(pread(fd, hdr, sizeof(hdr), off), sizeof(hdr));
	assert_int_not_equal(vswap_crc32c(s->obj_seed, payload, PAGE), hdr[1]);
	for (unsigned i = 0; i < N; i += 61)
		check_slot(s, i, PK_EMPTY, 0);
	assert_store_valid(s);

	assert_int_equal(vswap_tier_release(s), VSWAP_OK);
	assert_int_equal(file_blocks(fd), 0);
	assert_int_equal(file_size(fd), 0);
	assert_int_equal(test_stats(s).disk_file_bytes, 0);
	assert_int_equal(vswap_tier_release(s), VSWAP_OK);	/* idempotent */
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void release_keeps_new_objects(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_store *s = filled(fd, N, 0);
	uint64_t blocks = file_blocks(fd), after;

	(void)state;
	vswap_reset(s);
	for (unsigned i = 0; i < N / 8; i++)
		store_kind(s, i, PK_RANDOM, 1000 + i);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, N / 8);
	assert_int_equal(vswap_tier_release(s), VSWAP_OK);
	after = file_blocks(fd);
	printf("# blocks: %" PRIu64 " before reset, %" PRIu64
	       " after release (%u pages on disk)\n", blocks, after, N / 8);
	/* The chunks in use since the reset, whole (their tails may still
	 * hold stale bytes), nothing beyond. */
	assert_true(file_size(fd) <= (uint64_t)N / 8 * PAGE + 2 * MIB);
	assert_true(after <= (uint64_t)N / 8 * PAGE + 2 * MIB);
	assert_true(after < blocks / 2);
	for (unsigned i = 0; i < N / 8; i++)
		check_slot(s, i, PK_RANDOM, 1000 + i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

struct traffic {
	struct vswap_store *s;
	atomic_bool stop;
	atomic_uint rounds;
	uint64_t releases;
	int bad;	/* first failure, recorded (no cmocka in threads) */
	char msg[128];
};

#define ROUNDS	12u
#define SLOTS	1024u

/*
 * Per round: reset (the last round's file goes stale), store the round's
 * pages, writing back as it goes (new objects from offset 0, while the
 * other thread cuts the file), load them all: bit-exact.
 */
static void *traffic_run(void *arg)
{
	struct traffic *t = arg;
	unsigned char page[PAGE], want[PAGE];

	for (unsigned round = 0; round < ROUNDS && !t->bad; round++) {
		if (round)
			vswap_reset(t->s);
		for (unsigned i = 0; i < SLOTS; i++) {
			page_fill(page, PK_RANDOM, round * SLOTS + i);
			if (vswap_store_page(t->s, i, page) != VSWAP_OK) {
				t->bad = 1;
				snprintf(t->msg, sizeof(t->msg), "store %u", i);
				break;
			}
			if (i % 256 == 255)
				(void)vswap_writeback(t->s, 0, 0, NULL);
		}
		(void)vswap_writeback(t->s, 0, 0, NULL);
		for (unsigned i = 0; i < SLOTS && !t->bad; i++) {
			page_fill(want, PK_RANDOM, round * SLOTS + i);
			if (vswap_load_page(t->s, i, page) != VSWAP_OK ||
			    memcmp(page, want, PAGE)) {
				t->bad = 1;
				snprintf(t->msg, sizeof(t->msg),
					 "round %u slot %u not bit-exact",
					 round, i);
			}
		}
		atomic_fetch_add(&t->rounds, 1);
	}
	atomic_store(&t->stop, true);
	return NULL;
}

static void *release_run(void *arg)
{
	struct traffic *t = arg;

	while (!atomic_load(&t->stop)) {
		if (vswap_tier_release(t->s) != VSWAP_OK) {
			t->bad = 1;
			snprintf(t->msg, sizeof(t->msg), "release failed");
			break;
		}
		t->releases++;
	}
	return NULL;
}

static void release_races_traffic(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_store *s = filled(fd, N, 0);
	struct traffic t = { .s = s };
	pthread_t ta, tb;
	uint64_t disk;

	(void)state;
	vswap_reset(s);		/* 16 MiB of stale file behind */
	assert_int_equal(pthread_create(&tb, NULL, release_run, &t), 0);
	assert_int_equal(pthread_create(&ta, NULL, traffic_run, &t), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (t.bad)
		fail_msg("%s", t.msg);
	printf("# %u rounds of %u pages, %" PRIu64 " releases\n",
	       atomic_load(&t.rounds), SLOTS, t.releases);
	assert_int_equal(atomic_load(&t.rounds), ROUNDS);
	assert_store_valid(s);
	for (unsigned i = 0; i < SLOTS; i++)
		check_slot(s, i, PK_RANDOM, (ROUNDS - 1) * SLOTS + i);
	assert_int_equal(vswap_tier_release(s), VSWAP_OK);
	disk = test_stats(s).disk_bytes;
	assert_true(file_size(fd) <= 2 * disk + 4 * MIB);
	for (unsigned i = 0; i < SLOTS; i++)
		check_slot(s, i, PK_RANDOM, (ROUNDS - 1) * SLOTS + i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void release_without_disk(void **state)
{
	struct vswap_store *s = test_store_new(16, VSWAP_CODEC_LZ4, 0);

	(void)state;
	assert_int_equal(vswap_tier_release(NULL), VSWAP_E_INVAL);
	assert_int_equal(vswap_tier_release(s), VSWAP_E_INVAL);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reset_leaves_file_stale),
		cmocka_unit_test(release_keeps_new_objects),
		cmocka_unit_test(release_races_traffic),
		cmocka_unit_test(release_without_disk),
	};

	return cmocka_run_group_tests_name("tier_release", tests, NULL, NULL);
}
