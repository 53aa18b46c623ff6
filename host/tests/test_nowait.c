/* SPDX-License-Identifier: MIT */
/*
 * VSWAP_NOWAIT: the store and load calls an event loop makes inline never
 * block on the disk tier; what would is refused with WOULDBLOCK, changes
 * nothing, counts nothing, and succeeds when called again without the flag.
 *
 *   memory_pages       pages in memory: NOWAIT loads and stores work as
 *                      the plain calls (every kind)
 *   disk_load          a page on disk: NOWAIT load WOULDBLOCK, no counter
 *                      moves; the plain load returns it from disk
 *   cap_store          at pool-max with a disk tier: NOWAIT store
 *                      WOULDBLOCK, the slot keeps its old page; the plain
 *                      store writes back and succeeds
 *   cap_store_no_disk  at pool-max without a disk tier: NOSPACE as before
 *                      (nothing to wait for)
 *   bad_flags          an unknown flag: INVAL
 *   disk_store         a store over a page on disk (dropping its extent
 *                      may punch the file): NOWAIT WOULDBLOCK, the page
 *                      stays; the plain store replaces it
 *   busy_slot          a slot whose lock another thread holds (a disk
 *                      load holds it across its pread): NOWAIT load and
 *                      store WOULDBLOCK at once instead of spinning
 *   disk_invalidate    an invalidate reaching a page on disk (its extent
 *                      may be punched out of the file): NOWAIT
 *                      WOULDBLOCK there, the slots before it dropped; the
 *                      plain call drops the rest
 *   contexts_held      every context of the store held (disk loads,
 *                      writeback, an export hold theirs across file I/O):
 *                      NOWAIT WOULDBLOCK instead of waiting for one
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "context.h"
#include "store.h"
#include "vswap_test.h"
#include "tier_test.h"

static void memory_pages(void **state)
{
	static const enum page_kind kinds[] = {
		PK_ZERO, PK_SAME, PK_TEXT, PK_RANDOM, PK_NEAR_SAME,
	};
	struct vswap_store *s = test_store_new(256, VSWAP_CODEC_LZ4, 0);
	unsigned char page[VSWAP_PAGE_SIZE], want[VSWAP_PAGE_SIZE];
	struct vswap_stats st;

	(void)state;
	for (uint64_t i = 0; i < 100; i++) {
		page_fill(page, kinds[i % 5], i);
		assert_int_equal(vswap_store_page_flags(s, i, page,
							VSWAP_NOWAIT), VSWAP_OK);
	}
	for (uint64_t i = 0; i < 101; i++) {
		if (i < 100)
			page_fill(want, kinds[i % 5], i);
		else
			memset(want, 0, sizeof(want));	/* never stored */
		assert_int_equal(vswap_load_page_flags(s, i, page,
						       VSWAP_NOWAIT), VSWAP_OK);
		assert_memory_equal(page, want, VSWAP_PAGE_SIZE);
	}
	st = test_stats(s);
	assert_int_equal(st.stores, 100);
	assert_int_equal(st.loads, 101);
	assert_int_equal(st.loads_empty, 1);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

/* A store on disk tier @fd with text pages 0..@n-1 all written back. */
static struct vswap_store *disk_store_new(int fd, uint64_t n)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 1024);
	s = tier_store_new(&p, fd, 0);
	for (uint64_t i = 0; i < n; i++)
		store_kind(s, i, PK_TEXT, i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(res.pages, n);
	return s;
}

static void disk_load(void **state)
{
	struct vswap_stats before, after;
	unsigned char page[VSWAP_PAGE_SIZE];
	int fd = tier_tmpfile();
	struct vswap_store *s = disk_store_new(fd, 64);

	(void)state;

	before = test_stats(s);
	memset(page, 0xa5, sizeof(page));
	assert_int_equal(vswap_load_page_flags(s, 7, page, VSWAP_NOWAIT),
			 VSWAP_E_WOULDBLOCK);
	after = test_stats(s);
	assert_int_equal(after.loads, before.loads);
	assert_int_equal(after.loads_from_disk, before.loads_from_disk);
	assert_int_equal(after.disk_pages, 64);
	assert_store_valid(s);

	check_slot(s, 7, PK_TEXT, 7);		/* the plain load */
	after = test_stats(s);
	assert_int_equal(after.loads, before.loads + 1);
	assert_int_equal(after.loads_from_disk, before.loads_from_disk + 1);
	vswap_store_destroy(s);
	close(fd);
}

/*
 * NOWAIT stores of random pages (they need pool memory) into slots 0, 1...
 * until one is refused; returns that slot, its code in *r, and in *before
 * the stats just before it.
 */
static uint64_t store_until_refused(struct vswap_store *s, int *r,
				    struct vswap_stats *before)
{
	unsigned char page[VSWAP_PAGE_SIZE];
	uint64_t slot;

	for (slot = 0; slot < 4096; slot++) {
		*before = test_stats(s);
		page_fill(page, PK_RANDOM, slot);
		*r = vswap_store_page_flags(s, slot, page, VSWAP_NOWAIT);
		if (*r != VSWAP_OK)
			return slot;
	}
	fail_msg("the pool never reached its cap");
	return 0;
}

static void cap_store(void **state)
{
	struct vswap_params p;
	struct vswap_stats before, after;
	struct vswap_store *s;
	unsigned char page[VSWAP_PAGE_SIZE];
	uint64_t slot;
	int fd = tier_tmpfile(), r;

	(void)state;
	vswap_params_init(&p, 4096);
	p.pool_max = 1 << 20;
	s = tier_store_new(&p, fd, 0);
	slot = store_until_refused(s, &r, &before);
	assert_int_equal(r, VSWAP_E_WOULDBLOCK);
	after = test_stats(s);
	assert_int_equal(after.stores, before.stores);
	assert_int_equal(after.store_nospace, 0);
	assert_int_equal(after.writeback_pages, 0);
	check_slot(s, slot, PK_ZERO, 0);	/* nothing stored there */
	assert_store_valid(s);

	/* The plain call makes room on disk and stores. */
	page_fill(page, PK_RANDOM, slot);
	assert_int_equal(vswap_store_page(s, slot, page), VSWAP_OK);
	after = test_stats(s);
	assert_true(after.writeback_pages > 0);
	assert_int_equal(after.stores, before.stores + 1);
	for (uint64_t i = 0; i <= slot; i++)
		check_slot(s, i, PK_RANDOM, i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void cap_store_no_disk(void **state)
{
	struct vswap_params p;
	struct vswap_stats before;
	struct vswap_store *s;
	int r;

	(void)state;
	vswap_params_init(&p, 4096);
	p.pool_max = 1 << 20;
	s = test_store_new_p(&p);
	(void)store_until_refused(s, &r, &before);
	assert_int_equal(r, VSWAP_E_NOSPACE);
	assert_int_equal(test_stats(s).store_nospace, 1);
	assert_int_equal(test_stats(s).stores, before.stores + 1);
	vswap_store_destroy(s);
}

static void disk_store(void **state)
{
	unsigned char page[VSWAP_PAGE_SIZE];
	int fd = tier_tmpfile();
	struct vswap_store *s = disk_store_new(fd, 64);

	(void)state;
	page_fill(page, PK_RANDOM, 99);
	assert_int_equal(vswap_store_page_flags(s, 9, page, VSWAP_NOWAIT),
			 VSWAP_E_WOULDBLOCK);
	check_slot(s, 9, PK_TEXT, 9);
	assert_int_equal(vswap_store_page(s, 9, page), VSWAP_OK);
	check_slot(s, 9, PK_RANDOM, 99);
	/* now in memory: NOWAIT works again */
	assert_int_equal(vswap_store_page_flags(s, 9, page, VSWAP_NOWAIT),
			 VSWAP_OK);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void disk_invalidate(void **state)
{
	struct vswap_stats before;
	int fd = tier_tmpfile();
	struct vswap_store *s = disk_store_new(fd, 32);

	(void)state;
	for (uint64_t i = 100; i < 110; i++)		/* in memory */
		store_kind(s, i, PK_TEXT, i);
	/* memory only: NOWAIT works */
	assert_int_equal(vswap_invalidate_flags(s, 100, 5, VSWAP_NOWAIT),
			 VSWAP_OK);
	check_slot(s, 104, PK_EMPTY, 0);
	check_slot(s, 105, PK_TEXT, 105);
	/* reaches the disk: refused there, nothing on disk dropped */
	before = test_stats(s);
	assert_int_equal(vswap_invalidate_flags(s, 0, 4, VSWAP_NOWAIT),
			 VSWAP_E_WOULDBLOCK);
	assert_int_equal(test_stats(s).disk_pages, before.disk_pages);
	assert_int_equal(test_stats(s).invalidates, before.invalidates);
	check_slot(s, 0, PK_TEXT, 0);
	assert_int_equal(vswap_invalidate_flags(s, 0, 4, 0), VSWAP_OK);
	check_slot(s, 0, PK_EMPTY, 0);
	assert_int_equal(test_stats(s).disk_pages, before.disk_pages - 4);
	assert_int_equal(vswap_invalidate_flags(s, 0, 4, 2), VSWAP_E_INVAL);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void busy_slot(void **state)
{
	struct vswap_store *s = test_store_new(256, VSWAP_CODEC_LZ4, 0);
	unsigned char page[VSWAP_PAGE_SIZE];
	struct vswap_slot *e;
	uint64_t w;

	(void)state;
	store_kind(s, 3, PK_TEXT, 3);
	e = slot_table_lookup(&s->st, 3);
	assert_non_null(e);
	w = slot_lock_used(e);		/* as a disk load would, for long */
	assert_int_equal(vswap_load_page_flags(s, 3, page, VSWAP_NOWAIT),
			 VSWAP_E_WOULDBLOCK);
	page_fill(page, PK_SAME, 4);
	assert_int_equal(vswap_store_page_flags(s, 3, page, VSWAP_NOWAIT),
			 VSWAP_E_WOULDBLOCK);
	/* other slots are served */
	assert_int_equal(vswap_store_page_flags(s, 4, page, VSWAP_NOWAIT),
			 VSWAP_OK);
	slot_unlock(e, w);
	check_slot(s, 3, PK_TEXT, 3);
	check_slot(s, 4, PK_SAME, 4);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

static void contexts_held(void **state)
{
	struct vswap_store *s = test_store_new(256, VSWAP_CODEC_LZ4, 0);
	unsigned char page[VSWAP_PAGE_SIZE];
	struct vswap_stats before;

	(void)state;
	store_kind(s, 1, PK_TEXT, 1);
	before = test_stats(s);
	ctx_quiesce(s);			/* every context, and no new one */
	assert_int_equal(vswap_load_page_flags(s, 1, page, VSWAP_NOWAIT),
			 VSWAP_E_WOULDBLOCK);
	page_fill(page, PK_TEXT, 2);
	assert_int_equal(vswap_store_page_flags(s, 2, page, VSWAP_NOWAIT),
			 VSWAP_E_WOULDBLOCK);
	ctx_unquiesce(s);
	assert_int_equal(test_stats(s).stores, before.stores);
	assert_int_equal(test_stats(s).loads, before.loads);
	check_slot(s, 1, PK_TEXT, 1);
	check_slot(s, 2, PK_EMPTY, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

static void bad_flags(void **state)
{
	struct vswap_store *s = test_store_new(16, VSWAP_CODEC_LZ4, 0);
	unsigned char page[VSWAP_PAGE_SIZE] = { 1 };

	(void)state;
	assert_int_equal(vswap_store_page_flags(s, 0, page, 0x2),
			 VSWAP_E_INVAL);
	assert_int_equal(vswap_load_page_flags(s, 0, page, 0x80000000u),
			 VSWAP_E_INVAL);
	assert_string_equal(vswap_error_name(VSWAP_E_WOULDBLOCK), "wouldblock");
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_pages),
		cmocka_unit_test(disk_load),
		cmocka_unit_test(cap_store),
		cmocka_unit_test(cap_store_no_disk),
		cmocka_unit_test(bad_flags),
		cmocka_unit_test(disk_store),
		cmocka_unit_test(disk_invalidate),
		cmocka_unit_test(busy_slot),
		cmocka_unit_test(contexts_held),
	};

	return cmocka_run_group_tests_name("nowait", tests, NULL, NULL);
}
