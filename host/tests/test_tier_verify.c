/* SPDX-License-Identifier: MIT */
/*
 * The disk tier verifies everything it reads back, in a store WITHOUT
 * checksums too (checksum=off, the default): writeback gives every object
 * on disk the 8-byte header of a checksum store (slot + CRC-32C of the
 * payload, tier.h), and a disk load checks both. Bytes that change in the
 * file make the load fail with INTEGRITY; it never returns another page.
 *
 *   disk_format          checksum off: a raw page's object on disk is
 *                        ~slot, CRC-32C(the store's seed, payload), the
 *                        page itself; bytes
 *                        written == payload + 8-byte headers + padding
 *   corrupt_payload      checksum off: one payload byte flipped in the file
 *                        (first, middle, last byte of raw and compressed
 *                        objects): INTEGRITY each time, neighbours intact,
 *                        vswap_store_check() sees it, overwriting heals
 *   corrupt_header       checksum off: the slot field, then the checksum
 *                        field changed in the file: INTEGRITY
 *   clean_roundtrip      both settings, every codec: pages through disk
 *                        bit-exact, store valid (extents of 8-byte headers)
 *   invalidate_frees     checksum off: invalidating what is on disk gives
 *                        every block back (live bytes counted with the
 *                        disk extent sizes), then the file is reused
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "vswap_test.h"
#include "tier_test.h"

#define NPAGES	256u

static enum page_kind kind_of(uint64_t i)
{
	return i % 3 == 0 ? PK_RANDOM : PK_TEXT;
}

/* Slots [0, n) stored (raw and compressed pages) and written back. */
static struct vswap_store *on_disk(int fd, bool csum,
				   enum vswap_codec codec, unsigned n,
				   struct vswap_writeback_result *res)
{
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 4096);
	p.checksum = csum;
	p.codec = codec;
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < n; i++)
		store_kind(s, i, kind_of(i), i);
	assert_int_equal(vswap_writeback(s, 0, 0, res), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, n);
	return s;
}

static void disk_format(void **state)
{
	struct vswap_writeback_result res;
	unsigned char page[PAGE], obj[8 + PAGE];
	struct vswap_stats st;
	struct vswap_store *s;
	int fd = tier_tmpfile();
	uint32_t h[2];

	(void)state;
	s = on_disk(fd, false, VSWAP_CODEC_LZ4, NPAGES, &res);
	st = test_stats(s);
	/* Every object: payload + 8-byte header, padded to 8 (+ 0..7). */
	assert_int_equal(res.bytes % 8, 0);
	assert_true(res.bytes >= st.disk_bytes + 8 * st.disk_pages);
	assert_true(res.bytes <= st.disk_bytes + 15 * st.disk_pages);
	/* A raw page's object: its length is known (a page). */
	for (uint32_t slot = 0; slot < 30; slot += 3) {
		int64_t off = disk_find_header(fd, slot);

		assert_true(off >= 0);
		assert_int_equal(pread(fd, obj, sizeof(obj), off),
				 (ssize_t)sizeof(obj));
		memcpy(h, obj, sizeof(h));
		page_fill(page, PK_RANDOM, slot);
		assert_int_equal(h[0], ~slot);
		assert_int_equal(h[1], vswap_crc32c(s->obj_seed, page, PAGE));
		assert_memory_equal(obj + 8, page, PAGE);
	}
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

/* Flip bit 0x20 of the byte at @off of the file. */
static void flip_byte(int fd, int64_t off)
{
	unsigned char b;

	assert_true(off >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
}

static void corrupt_payload(void **state)
{
	/* Payload offsets from the header: first, middle, last byte of a
	 * raw page; first and a later byte of a compressed one. */
	static const struct { uint32_t slot; int64_t at; } bad[] = {
		{ 3, 8 }, { 6, 8 + 2048 }, { 9, 8 + PAGE - 1 },
		{ 4, 8 }, { 7, 8 + 40 },
	};
	const unsigned nbad = sizeof(bad) / sizeof(bad[0]);
	unsigned char page[PAGE];
	int fd = tier_tmpfile();
	struct vswap_store *s = on_disk(fd, false, VSWAP_CODEC_LZ4, 64, NULL);

	(void)state;
	for (unsigned i = 0; i < nbad; i++)
		flip_byte(fd, disk_find_header(fd, bad[i].slot) + bad[i].at);
	for (unsigned i = 0; i < nbad; i++) {
		memset(page, 0xa5, sizeof(page));
		assert_int_equal(vswap_load_page(s, bad[i].slot, page),
				 VSWAP_E_INTEGRITY);
	}
	assert_int_equal(test_stats(s).integrity_errors, nbad);
	assert_int_equal(vswap_store_check(s), VSWAP_E_INTEGRITY);
	for (uint32_t slot = 0; slot < 64; slot++) {
		bool hit = false;

		for (unsigned i = 0; i < nbad; i++)
			hit |= bad[i].slot == slot;
		if (!hit)
			check_slot(s, slot, kind_of(slot), slot);
	}
	/* Overwriting drops the bad copies; the slots work again. */
	for (unsigned i = 0; i < nbad; i++)
		store_kind(s, bad[i].slot, PK_TEXT, 1000 + i);
	assert_store_valid(s);
	for (unsigned i = 0; i < nbad; i++)
		check_slot(s, bad[i].slot, PK_TEXT, 1000 + i);
	vswap_store_destroy(s);
	close(fd);
}

static void corrupt_header(void **state)
{
	unsigned char page[PAGE];
	int fd = tier_tmpfile();
	struct vswap_store *s = on_disk(fd, false, VSWAP_CODEC_LZ4, 64, NULL);
	int64_t off5 = disk_find_header(fd, 5);
	int64_t off12 = disk_find_header(fd, 12);

	(void)state;
	flip_byte(fd, off5);		/* slot field: names another slot */
	flip_byte(fd, off12 + 4);	/* checksum field */
	assert_int_equal(vswap_load_page(s, 5, page), VSWAP_E_INTEGRITY);
	assert_int_equal(vswap_load_page(s, 12, page), VSWAP_E_INTEGRITY);
	assert_int_equal(test_stats(s).integrity_errors, 2);
	assert_int_equal(vswap_store_check(s), VSWAP_E_INTEGRITY);
	check_slot(s, 4, kind_of(4), 4);
	check_slot(s, 6, kind_of(6), 6);
	check_slot(s, 13, kind_of(13), 13);
	vswap_store_destroy(s);
	close(fd);
}

static void clean_roundtrip(void **state)
{
	(void)state;
	for (int csum = 0; csum < 2; csum++) {
		for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
			struct vswap_writeback_result res;
			int fd = tier_tmpfile();
			struct vswap_store *s =
				on_disk(fd, csum, (enum vswap_codec)c, NPAGES,
					&res);

			assert_int_equal(res.pages, NPAGES);
			assert_store_valid(s);
			for (uint64_t i = 0; i < NPAGES; i++)
				check_slot(s, i, kind_of(i), i);
			assert_int_equal(test_stats(s).integrity_errors, 0);
			vswap_store_destroy(s);
			close(fd);
		}
	}
}

static void invalidate_frees(void **state)
{
	const unsigned n = 3000;
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile();
	uint64_t full;

	(void)state;
	vswap_params_init(&p, 4096);
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < n; i++)
		store_kind(s, i, kind_of(i), i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	full = file_blocks(fd);
	assert_true(full >= res.bytes);
	/* Half of it: live bytes stay exact (the check compares them with
	 * the extents of the entries left). */
	assert_int_equal(vswap_invalidate(s, 0, n / 2), VSWAP_OK);
	assert_store_valid(s);
	for (unsigned i = n / 2; i < n; i++)
		check_slot(s, i, kind_of(i), i);
	assert_int_equal(vswap_invalidate(s, n / 2, n - n / 2), VSWAP_OK);
	assert_true(file_blocks(fd) <= TIER_TEST_CHUNK);
	/* The open chunk is given back by the next writeback. */
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(file_blocks(fd), 0);
	assert_int_equal(test_stats(s).disk_pages, 0);
	assert_store_valid(s);
	/* The file is reused, not grown. */
	for (unsigned i = 0; i < n; i++)
		store_kind(s, i, kind_of(i), i + 7);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_true(file_size(fd) <= full + TIER_TEST_CHUNK);
	for (unsigned i = 0; i < n; i++)
		check_slot(s, i, kind_of(i), i + 7);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(disk_format),
		cmocka_unit_test(corrupt_payload),
		cmocka_unit_test(corrupt_header),
		cmocka_unit_test(clean_roundtrip),
		cmocka_unit_test(invalidate_frees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
