/* SPDX-License-Identifier: MIT */
/*
 * The 16-byte metadata layout (slot_table.h, pool.h, same_dict.h):
 *   - dead objects carry their length in the header: segment walks
 *     (compaction, writeback, the invariant check) step over objects that
 *     were invalidated or overwritten, whatever their size;
 *   - same-filled pages: zero pages cost their entry only, other fill
 *     values share a refcounted dictionary entry (many distinct values,
 *     refcounts back to 0 and reused, a full dictionary falls back to
 *     compressed objects);
 *   - a disk load checks the object header: a wrong slot, a wrong
 *     checksum, a dead header, a zeroed extent are all INTEGRITY;
 *   - 2^32 - 1 is a valid slot number (the back-pointer is 32 bits);
 *   - writeback finds the oldest segments behind more than its scan limit
 *     of sealed segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"

/* A text page whose compressed size varies with the seed (holes of many
 * sizes in the segments). */
static void fill_sized(void *page, uint64_t seed)
{
	unsigned char *p = page;
	unsigned keep = 64 + (unsigned)(seed * 37 % (PAGE - 64));

	fill_text(page, seed);
	memset(p + keep, 0, PAGE - keep);
}

static void store_sized(struct vswap_store *s, uint64_t slot, uint64_t seed)
{
	unsigned char page[PAGE];

	fill_sized(page, seed);
	assert_int_equal(vswap_store_page(s, slot, page), VSWAP_OK);
}

static void check_sized(struct vswap_store *s, uint64_t slot, uint64_t seed)
{
	unsigned char want[PAGE], got[PAGE];

	fill_sized(want, seed);
	assert_int_equal(vswap_load_page(s, slot, got), VSWAP_OK);
	assert_memory_equal(want, got, PAGE);
}

#define NDEAD	6000u

/*
 * Invalidate every third slot and overwrite every third (new size): the
 * walks of compaction and of the invariant check must step over all those
 * dead objects by the lengths in their headers.
 */
static void dead_objects_walk(void **state)
{
	struct vswap_store *s = test_store_new(NDEAD, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats st;
	int64_t freed;

	(void)state;
	for (uint64_t i = 0; i < NDEAD; i++)
		store_sized(s, i, i);
	for (uint64_t i = 0; i < NDEAD; i += 3)
		assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	for (uint64_t i = 1; i < NDEAD; i += 3)
		store_sized(s, i, i + 7777);
	assert_store_valid(s);
	freed = vswap_compact(s);
	assert_true(freed > 0);
	st = test_stats(s);
	assert_true(st.compactions > 0);
	assert_store_valid(s);
	for (uint64_t i = 0; i < NDEAD; i++) {
		if (i % 3 == 0)
			check_slot(s, i, PK_ZERO, 0);
		else if (i % 3 == 1)
			check_sized(s, i, i + 7777);
		else
			check_sized(s, i, i);
	}
	/* Moved objects die too when overwritten after the move. */
	for (uint64_t i = 2; i < NDEAD; i += 3)
		store_sized(s, i, i + 99);
	assert_true(vswap_compact(s) >= 0);
	assert_store_valid(s);
	for (uint64_t i = 2; i < NDEAD; i += 3)
		check_sized(s, i, i + 99);
	vswap_store_destroy(s);
}

/* The same through writeback: whole victims (dead objects included) and
 * gathered ones, then loads from disk. */
static void dead_objects_writeback(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();

	(void)state;
	for (int csum = 0; csum < 2; csum++) {
		vswap_params_init(&p, NDEAD);
		p.checksum = csum;
		s = tier_store_new(&p, fd, 0);
		for (uint64_t i = 0; i < NDEAD; i++)
			store_sized(s, i, i);
		/* sparse at the start (gathered), dense after (whole) */
		for (uint64_t i = 0; i < NDEAD / 2; i += 2)
			assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
		for (uint64_t i = NDEAD / 2; i < NDEAD; i += 40)
			store_sized(s, i, i + 5);
		assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
		assert_true(res.pages > 0);
		assert_store_valid(s);
		for (uint64_t i = 0; i < NDEAD; i++) {
			if (i < NDEAD / 2 && i % 2 == 0)
				check_slot(s, i, PK_ZERO, 0);
			else if (i >= NDEAD / 2 && (i - NDEAD / 2) % 40 == 0)
				check_sized(s, i, i + 5);
			else
				check_sized(s, i, i);
		}
		assert_int_equal(test_stats(s).integrity_errors, 0);
		vswap_store_destroy(s);
	}
	close(fd);
}

static uint64_t fill_value(uint64_t i)
{
	return (i + 1) * UINT64_C(0x9e3779b97f4a7c15) | 1;	/* never 0 */
}

static void store_fill(struct vswap_store *s, uint64_t slot, uint64_t v)
{
	unsigned char page[PAGE];

	fill_same(page, v);
	assert_int_equal(vswap_store_page(s, slot, page), VSWAP_OK);
}

static void check_fill(struct vswap_store *s, uint64_t slot, uint64_t v)
{
	unsigned char want[PAGE], got[PAGE];

	fill_same(want, v);
	assert_int_equal(vswap_load_page(s, slot, got), VSWAP_OK);
	assert_memory_equal(want, got, PAGE);
}

#define NDICT	5000u	/* distinct values: several blocks, bucket growth */

static void same_dictionary(void **state)
{
	struct vswap_store *s = test_store_new(4 * NDICT, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats st, empty = test_stats(s);

	(void)state;
	/* Many distinct values, each in two slots; zero pages beside. */
	for (uint64_t i = 0; i < NDICT; i++) {
		store_fill(s, i, fill_value(i));
		store_fill(s, NDICT + i, fill_value(i));
		store_kind(s, 2 * NDICT + i, PK_ZERO, 0);
	}
	st = test_stats(s);
	assert_int_equal(st.same_pages, 2 * NDICT);
	assert_int_equal(st.zero_pages, NDICT);
	assert_int_equal(st.compressed_pages + st.incompressible_pages, 0);
	/* metadata only: 8 B entries + the dictionary, no pool object */
	assert_int_equal(st.pool_bytes - st.meta_bytes,
			 empty.pool_bytes - empty.meta_bytes);
	assert_true(st.meta_bytes - empty.meta_bytes <=
		    3 * NDICT * vswap_slot_meta_bytes() + NDICT * 24 +
		    16384 + 65536);
	assert_store_valid(s);
	for (uint64_t i = 0; i < NDICT; i++) {
		check_fill(s, i, fill_value(i));
		check_fill(s, NDICT + i, fill_value(i));
		check_slot(s, 2 * NDICT + i, PK_ZERO, 0);
	}
	/* Refcounts drop: one copy of each overwritten with another value
	 * of the set (shared), then all of the first copies invalidated: the
	 * odd values' refcounts reach 0 and their entries are reused. */
	for (uint64_t i = 0; i < NDICT; i++)
		store_fill(s, NDICT + i, fill_value(i & ~UINT64_C(1)));
	assert_store_valid(s);
	assert_int_equal(vswap_invalidate(s, 0, NDICT), VSWAP_OK);
	assert_store_valid(s);
	for (uint64_t i = 0; i < NDICT; i++)
		check_fill(s, NDICT + i, fill_value(i & ~UINT64_C(1)));
	/* New values take the freed indexes: the dictionary does not grow
	 * (over the zero pages: no slot-table growth either). */
	st = test_stats(s);
	for (uint64_t i = 0; i < NDICT / 2; i++)
		store_fill(s, 2 * NDICT + i, fill_value(NDICT + i));
	assert_int_equal(test_stats(s).meta_bytes, st.meta_bytes);
	assert_store_valid(s);
	for (uint64_t i = 0; i < NDICT / 2; i++)
		check_fill(s, 2 * NDICT + i, fill_value(NDICT + i));
	/* Everything gone: every refcount is 0, the check agrees. */
	assert_int_equal(vswap_invalidate(s, 0, 4 * NDICT), VSWAP_OK);
	assert_store_valid(s);
	assert_int_equal(test_stats(s).same_pages, 0);
	/* Reset gives the dictionary (~150 KiB here) back; only the arena
	 * descriptors stay (never shrunk, < 64 KiB). */
	vswap_reset(s);
	assert_true(test_stats(s).pool_bytes <= empty.pool_bytes + 65536);
	vswap_store_destroy(s);
}

/*
 * More distinct fill values than the dictionary holds (64 Ki): the rest
 * are stored as compressed objects, bit-exact all the same.
 */
#define NFULL	(65536u + 3000u)

static void same_dictionary_full(void **state)
{
	struct vswap_store *s = test_store_new(NFULL, VSWAP_CODEC_LZ4, 0);
	struct vswap_stats st;

	(void)state;
	for (uint64_t i = 0; i < NFULL; i++)
		store_fill(s, i, fill_value(i));
	st = test_stats(s);
	assert_int_equal(st.same_pages, 65536);
	assert_int_equal(st.compressed_pages, NFULL - 65536);
	assert_store_valid(s);
	for (uint64_t i = 0; i < NFULL; i += 7)
		check_fill(s, i, fill_value(i));
	/* Free some values: new ones go to the dictionary again. */
	assert_int_equal(vswap_invalidate(s, 0, 100), VSWAP_OK);
	for (uint64_t i = 0; i < 100; i++)
		store_fill(s, i, fill_value(NFULL + i));
	st = test_stats(s);
	assert_int_equal(st.same_pages, 65536);
	assert_store_valid(s);
	for (uint64_t i = 0; i < 100; i++)
		check_fill(s, i, fill_value(NFULL + i));
	vswap_store_destroy(s);
}

/* A store with slots 0..15 on disk (text pages). */
static struct vswap_store *on_disk(int fd, bool csum)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 64);
	p.checksum = csum;
	s = tier_store_new(&p, fd, 0);
	for (uint64_t i = 0; i < 16; i++)
		store_kind(s, i, PK_TEXT, i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(res.pages, 16);
	return s;
}

/* Flip @mask in u32 field @i of the header at @off (0: slot, 1: tag). */
static void flip_header(int fd, int64_t off, unsigned i, uint32_t mask)
{
	uint32_t f;

	assert_true(off >= 0);
	assert_int_equal(pread(fd, &f, 4, off + 4 * i), 4);
	f ^= mask;
	assert_int_equal(pwrite(fd, &f, 4, off + 4 * i), 4);
}

/* Set u32 field @i of the header at @off to @v. */
static void set_header(int fd, int64_t off, unsigned i, uint32_t v)
{
	assert_true(off >= 0);
	assert_int_equal(pwrite(fd, &v, 4, off + 4 * i), 4);
}

static void disk_header_checked(void **state)
{
	unsigned char page[PAGE];

	(void)state;
	for (int csum = 0; csum < 2; csum++) {
		int fd = tier_tmpfile();
		struct vswap_store *s = on_disk(fd, csum);

		/* wrong slot (the back-pointer) */
		flip_header(fd, disk_find_header(fd, 3), 0, 1u << 4);
		assert_int_equal(vswap_load_page(s, 3, page),
				 VSWAP_E_INTEGRITY);
		/* what a dead copy of the slot looks like: its length in
		 * the tag (on disk every header has one, tier.h) */
		set_header(fd, disk_find_header(fd, 9), 1, 1000);
		assert_int_equal(vswap_load_page(s, 9, page),
				 VSWAP_E_INTEGRITY);
		assert_int_equal(test_stats(s).integrity_errors, 2);
		assert_int_equal(vswap_store_check(s), VSWAP_E_INTEGRITY);
		for (uint64_t i = 0; i < 16; i++)
			if (i != 3 && i != 9)
				check_slot(s, i, PK_TEXT, i);
		/* Overwriting drops the bad copies. */
		store_kind(s, 3, PK_TEXT, 33);
		store_kind(s, 9, PK_TEXT, 99);
		assert_store_valid(s);
		check_slot(s, 3, PK_TEXT, 33);
		check_slot(s, 9, PK_TEXT, 99);
		vswap_store_destroy(s);
		close(fd);
	}
}

/*
 * A zeroed extent (a hole where an object should be) is refused even for
 * slot 0 and an as-is page without checksums: the slot field is stored
 * inverted, so zeroes never name slot 0.
 */
static void zeroed_extent_refused(void **state)
{
	static const unsigned char zero[4104];
	struct vswap_writeback_result res;
	unsigned char page[PAGE];
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();
	int64_t off;

	(void)state;
	vswap_params_init(&p, 16);
	s = tier_store_new(&p, fd, 0);
	store_kind(s, 0, PK_RANDOM, 1);
	store_kind(s, 1, PK_TEXT, 1);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(res.pages, 2);
	off = disk_find_header(fd, 0);
	assert_int_equal(off, 0);
	assert_int_equal(pwrite(fd, zero, sizeof(zero), off),
			 (ssize_t)sizeof(zero));
	assert_int_equal(vswap_load_page(s, 0, page), VSWAP_E_INTEGRITY);
	check_slot(s, 1, PK_TEXT, 1);
	vswap_store_destroy(s);
	close(fd);
}

/* The highest slot number of the largest capacity, through compaction
 * (the back-pointer re-points it) and the disk tier. */
static void last_slot_number(void **state)
{
	const uint64_t last = VSWAP_MAX_CAPACITY - 1;
	const uint64_t slots[] = { 0, 1, last - 1024, last - 1, last };
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();

	(void)state;
	vswap_params_init(&p, VSWAP_MAX_CAPACITY);
	p.checksum = true;
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < 5; i++) {
		store_kind(s, slots[i], PK_TEXT, i);
		store_kind(s, slots[i] ^ 2, PK_RANDOM, i);	/* neighbours */
	}
	/* Holes, so compaction moves the survivors (last among them). */
	for (unsigned i = 0; i < 5; i++)
		store_kind(s, slots[i] ^ 2, PK_TEXT, i + 10);
	store_kind(s, last, PK_SAME, 7);
	store_kind(s, last, PK_TEXT, 4);
	assert_store_valid(s);
	assert_true(vswap_compact(s) >= 0);
	assert_store_valid(s);
	for (unsigned i = 0; i < 5; i++) {
		check_slot(s, slots[i], PK_TEXT, i);
		check_slot(s, slots[i] ^ 2, PK_TEXT, i + 10);
	}
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(res.pages, 10);
	assert_store_valid(s);
	for (unsigned i = 0; i < 5; i++) {
		check_slot(s, slots[i], PK_TEXT, i);
		check_slot(s, slots[i] ^ 2, PK_TEXT, i + 10);
	}
	assert_int_equal(test_stats(s).loads_from_disk, 10);
	assert_int_equal(vswap_invalidate(s, last, 1), VSWAP_OK);
	check_slot(s, last, PK_ZERO, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

/*
 * More sealed segments than pool_take_oldest scans (1024): writeback
 * still takes the oldest first, and in the end every one of them.
 * About 1100 segments of as-is pages (140 MiB of pool and of file).
 */
#define NSEG_PAGES	(1100u * 31u)	/* 31 as-is objects per segment */

static void writeback_beyond_scan_limit(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();

	(void)state;
	vswap_params_init(&p, NSEG_PAGES);
	s = tier_store_new(&p, fd, 0);
	for (uint64_t i = 0; i < NSEG_PAGES; i++)
		store_kind(s, i, PK_RANDOM, i);
	/* 2 MiB: the oldest segments only. */
	assert_int_equal(vswap_writeback(s, 0, 2 * MIB, &res), VSWAP_OK);
	assert_true(res.pages > 0 && res.pages <= 2 * MIB / PAGE);
	check_slot(s, 0, PK_RANDOM, 0);
	check_slot(s, 31, PK_RANDOM, 31);
	assert_int_equal(test_stats(s).loads_from_disk, 2);
	check_slot(s, NSEG_PAGES - 1, PK_RANDOM, NSEG_PAGES - 1);
	assert_int_equal(test_stats(s).loads_from_disk, 2);
	/* All of it. */
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, NSEG_PAGES);
	assert_store_valid(s);
	for (uint64_t i = 0; i < NSEG_PAGES; i += 97)
		check_slot(s, i, PK_RANDOM, i);
	vswap_store_destroy(s);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dead_objects_walk),
		cmocka_unit_test(dead_objects_writeback),
		cmocka_unit_test(same_dictionary),
		cmocka_unit_test(same_dictionary_full),
		cmocka_unit_test(disk_header_checked),
		cmocka_unit_test(zeroed_extent_refused),
		cmocka_unit_test(last_slot_number),
		cmocka_unit_test(writeback_beyond_scan_limit),
	};

	return cmocka_run_group_tests_name("meta", tests, NULL, NULL);
}
