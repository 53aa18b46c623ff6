/* SPDX-License-Identifier: MIT */
/*
 * A disk object belongs to the store that wrote it (tier.h): two stores
 * (two VMs given the same backing path one after the other, or a file
 * region copied from one to the other) write an object for the same slot
 * at the same offset; the other store's object, put in place of ours,
 * must fail the load with INTEGRITY, never come back as our page. Both
 * checksum settings (pool headers written as-is, or built at writeback).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"

#define SLOT	5u

/* A store whose slot SLOT (a raw page of @seed, among neighbours) is on
 * disk at the returned offset. */
static struct vswap_store *one_on_disk(int fd, bool csum, uint64_t seed,
				       int64_t *off)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 64);
	p.checksum = csum;
	s = tier_store_new(&p, fd, 0);
	for (uint32_t i = 0; i < 8; i++)
		store_kind(s, i, PK_RANDOM, seed * 100 + i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, 8);
	*off = disk_find_header(fd, SLOT);
	assert_true(*off >= 0);
	return s;
}

static void foreign_object(bool csum)
{
	unsigned char obj[8 + PAGE], theirs[PAGE], got[PAGE];
	int fda = tier_tmpfile(), fdb = tier_tmpfile();
	struct vswap_store *a, *b;
	int64_t offa, offb;
	int r;

	a = one_on_disk(fda, csum, 1, &offa);
	b = one_on_disk(fdb, csum, 2, &offb);
	/* Same slot, same layout: same offset in both files. */
	assert_int_equal(offa, offb);
	page_fill(theirs, PK_RANDOM, 200 + SLOT);
	check_slot(a, SLOT, PK_RANDOM, 100 + SLOT);
	/* B's object (header and payload) over A's. */
	assert_int_equal(pread(fdb, obj, sizeof(obj), offb),
			 (ssize_t)sizeof(obj));
	assert_memory_equal(obj + 8, theirs, PAGE);
	assert_int_equal(pwrite(fda, obj, sizeof(obj), offa),
			 (ssize_t)sizeof(obj));
	memset(got, 0, sizeof(got));
	r = vswap_load_page(a, SLOT, got);
	if (r == VSWAP_OK && !memcmp(got, theirs, PAGE))
		fail_msg("checksum %s: store A returned store B's page",
			 csum ? "on" : "off");
	assert_int_equal(r, VSWAP_E_INTEGRITY);
	assert_int_equal(test_stats(a).integrity_errors, 1);
	assert_int_equal(vswap_store_check(a), VSWAP_E_INTEGRITY);
	/* B is untouched and still reads its own. */
	check_slot(b, SLOT, PK_RANDOM, 200 + SLOT);
	vswap_store_destroy(b);
	close(fdb);
	/* Overwriting the slot heals it. */
	store_kind(a, SLOT, PK_RANDOM, 100 + SLOT);
	check_slot(a, SLOT, PK_RANDOM, 100 + SLOT);
	assert_store_valid(a);
	vswap_store_destroy(a);
	close(fda);
}

static void foreign_object_plain(void **state)
{
	(void)state;
	foreign_object(false);
}

static void foreign_object_csum(void **state)
{
	(void)state;
	foreign_object(true);
}

/*
 * Two stores on one file, one after the other (the second attach
 * truncates: nothing of the first is readable), then the first store's
 * bytes written back over the second's: the second never takes them.
 */
static void reused_file(void **state)
{
	unsigned char obj[8 + PAGE], got[PAGE];
	int fd = tier_tmpfile();
	struct vswap_store *a, *b;
	int64_t offa, offb;

	(void)state;
	a = one_on_disk(fd, false, 1, &offa);
	assert_int_equal(pread(fd, obj, sizeof(obj), offa),
			 (ssize_t)sizeof(obj));
	vswap_store_destroy(a);
	b = one_on_disk(fd, false, 2, &offb);
	assert_int_equal(offa, offb);
	assert_int_equal(pwrite(fd, obj, sizeof(obj), offb),
			 (ssize_t)sizeof(obj));
	assert_int_equal(vswap_load_page(b, SLOT, got), VSWAP_E_INTEGRITY);
	vswap_store_destroy(b);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(foreign_object_plain),
		cmocka_unit_test(foreign_object_csum),
		cmocka_unit_test(reused_file),
	};

	return cmocka_run_group_tests_name("tier_foreign", tests, NULL, NULL);
}
