/* SPDX-License-Identifier: MIT */
/*
 * Disk tier round trips: every page kind, every codec, checksums on and
 * off, through vswap_writeback() and back; overwrite and invalidate of
 * slots on disk; corruption on disk is caught (never wrong data); reset
 * forgets the file.
 *
 *   roundtrip_all        codec x checksum: store, write back everything,
 *                        every load bit-exact and counted as from disk,
 *                        then overwrite / invalidate on disk, again
 *   corrupt_payload      a payload byte flipped in the file: INTEGRITY with
 *                        checksums on
 *   corrupt_header       a header's slot changed in the file: INTEGRITY
 *                        with checksums off (the back-pointer check), and
 *                        vswap_store_check() sees it
 *   reset_then_release_truncates  reset leaves the file as it is (no
 *                        I/O), vswap_tier_release empties it; the store
 *                        works after
 *   stale_file_ignored   old content of the file is never read
 *   block_device         the disk tier on a loop device (root; skipped
 *                        otherwise): round trip, and its size is the limit
 *   block_device_wiped   reset + vswap_tier_release zero what the pages
 *                        left on a loop device (what QEMU does at exit)
 *   block_device_wiped_written  the same on a loop device that cannot
 *                        punch (its file on ramfs): the zeroes are written
 */
#define _GNU_SOURCE		/* fallocate */
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"

#define NPAGES	600u

static const enum page_kind kinds[] = {
	PK_ZERO, PK_SAME, PK_TEXT, PK_RANDOM, PK_NEAR_SAME, PK_TEXT,
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

static enum page_kind kind_of(uint64_t i)
{
	return kinds[i % NKINDS];
}

static bool in_pool_kind(enum page_kind k)
{
	return k != PK_ZERO && k != PK_SAME;
}

static uint64_t sum_hist(const uint64_t *h)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < VSWAP_LAT_BUCKETS; b++)
		n += h[b];
	return n;
}

static void one_config(enum vswap_codec codec, bool csum)
{
	struct vswap_params p;
	struct vswap_writeback_result res;
	struct vswap_stats st;
	struct vswap_store *s;
	uint64_t pooled = 0;
	int fd = tier_tmpfile();

	vswap_params_init(&p, 4096);
	p.codec = codec;
	p.checksum = csum;
	s = tier_store_new(&p, fd, 0);
	for (uint64_t i = 0; i < NPAGES; i++) {
		store_kind(s, i, kind_of(i), i);
		pooled += in_pool_kind(kind_of(i));
	}
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	/* min_age 0: every head is sealed and written, nothing stays. */
	st = test_stats(s);
	assert_int_equal(st.disk_pages, pooled);
	assert_int_equal(res.pages, pooled);
	assert_int_equal(st.compressed_pages + st.incompressible_pages, 0);
	assert_int_equal(st.stored_pages, NPAGES);
	assert_int_equal(st.writeback_pages, pooled);
	assert_int_equal(st.writeback_bytes, res.bytes);
	assert_true(st.disk_bytes > 0 && st.disk_bytes < res.bytes);
	assert_true(res.ios >= 1 && res.pool_freed >= res.bytes);
	assert_true(st.disk_file_bytes >= st.disk_bytes);
	assert_store_valid(s);

	for (uint64_t i = 0; i < NPAGES; i++)
		check_slot(s, i, kind_of(i), i);
	st = test_stats(s);
	assert_int_equal(st.loads_from_disk, pooled);
	assert_int_equal(sum_hist(st.disk_load_latency), pooled);
	assert_int_equal(sum_hist(st.load_latency), NPAGES);
	assert_int_equal(st.disk_read_errors, 0);
	assert_int_equal(st.integrity_errors, 0);

	/* Overwrite the even slots (disk copy dropped), invalidate every
	 * third: what stays on disk still loads, and the counters follow. */
	for (uint64_t i = 0; i < NPAGES; i += 2)
		store_kind(s, i, kind_of(i + 1), i + 1000);
	assert_int_equal(vswap_invalidate(s, 0, NPAGES / 3), VSWAP_OK);
	assert_store_valid(s);
	for (uint64_t i = 0; i < NPAGES; i++) {
		if (i < NPAGES / 3)
			check_slot(s, i, PK_ZERO, 0);
		else if (i % 2 == 0)
			check_slot(s, i, kind_of(i + 1), i + 1000);
		else
			check_slot(s, i, kind_of(i), i);
	}
	/* And once more through disk. */
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_store_valid(s);
	for (uint64_t i = NPAGES / 3; i < NPAGES; i++) {
		if (i % 2 == 0)
			check_slot(s, i, kind_of(i + 1), i + 1000);
		else
			check_slot(s, i, kind_of(i), i);
	}
	vswap_store_destroy(s);
	close(fd);
}

static void roundtrip_all(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++)
		for (int k = 0; k < 2; k++)
			one_config((enum vswap_codec)c, k);
}

/* Store text pages into slots 0..n, write all back; returns the store. */
static struct vswap_store *stored_on_disk(int fd, bool csum, unsigned n)
{
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 1024);
	p.checksum = csum;
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < n; i++)
		store_kind(s, i, PK_TEXT, i);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, n);
	return s;
}

static void corrupt_payload(void **state)
{
	unsigned char page[PAGE], b;
	int fd = tier_tmpfile();
	struct vswap_store *s = stored_on_disk(fd, true, 64);
	int64_t off = disk_find_header(fd, 5);

	(void)state;
	assert_true(off >= 0);		/* payload from off + 8 (checksums) */
	assert_int_equal(pread(fd, &b, 1, off + 11), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off + 11), 1);
	assert_int_equal(vswap_load_page(s, 5, page), VSWAP_E_INTEGRITY);
	assert_int_equal(test_stats(s).integrity_errors, 1);
	check_slot(s, 4, PK_TEXT, 4);
	check_slot(s, 6, PK_TEXT, 6);
	/* Overwriting the slot drops the bad copy; the slot works again. */
	store_kind(s, 5, PK_TEXT, 99);
	check_slot(s, 5, PK_TEXT, 99);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void corrupt_header(void **state)
{
	unsigned char page[PAGE];
	int fd = tier_tmpfile();
	struct vswap_store *s = stored_on_disk(fd, false, 64);
	int64_t off = disk_find_header(fd, 7);
	uint32_t h;

	(void)state;
	assert_true(off >= 0);
	assert_int_equal(pread(fd, &h, 4, off), 4);
	h ^= 2;				/* names another slot now */
	assert_int_equal(pwrite(fd, &h, 4, off), 4);
	assert_int_equal(vswap_load_page(s, 7, page), VSWAP_E_INTEGRITY);
	check_slot(s, 8, PK_TEXT, 8);
	/* The invariant check reads the headers too. */
	assert_int_equal(vswap_store_check(s), VSWAP_E_INTEGRITY);
	vswap_store_destroy(s);
	close(fd);
}

/* Reset leaves the file alone (no I/O); vswap_tier_release cuts it. */
static void reset_then_release_truncates(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_store *s = stored_on_disk(fd, true, 200);
	uint64_t size;

	(void)state;
	size = file_size(fd);
	assert_true(size > 0);
	vswap_reset(s);
	assert_int_equal(file_size(fd), size);
	assert_int_equal(vswap_tier_release(s), VSWAP_OK);
	assert_int_equal(file_size(fd), 0);
	assert_int_equal(test_stats(s).disk_pages, 0);
	check_slot(s, 3, PK_ZERO, 0);
	assert_store_valid(s);
	for (unsigned i = 0; i < 100; i++)
		store_kind(s, i, PK_RANDOM, i);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	for (unsigned i = 0; i < 100; i++)
		check_slot(s, i, PK_RANDOM, i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

/* A file with old content: attach truncates it, nothing stale is read. */
static void stale_file_ignored(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	unsigned char junk[PAGE];
	int fd = tier_tmpfile();

	(void)state;
	memset(junk, 0x5a, sizeof(junk));
	for (int i = 0; i < 64; i++)
		assert_int_equal(pwrite(fd, junk, PAGE, (off_t)i * PAGE), PAGE);
	vswap_params_init(&p, 256);
	s = tier_store_new(&p, fd, 0);
	assert_int_equal(file_size(fd), 0);
	for (unsigned i = 0; i < 256; i++)
		check_slot(s, i, PK_ZERO, 0);
	vswap_store_destroy(s);
	close(fd);
}

struct loopdev {
	int ctl, fd, file;
};

/*
 * A loop device over a fresh @bytes file; skips the test without one.
 * Autoclear: it comes apart when the test's fd closes, even if a failed
 * assertion never reaches loop_close().
 */
static void loop_open_on(struct loopdev *l, int file, uint64_t bytes)
{
	struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };
	char dev[64];
	int n;

	l->file = file;
	assert_int_equal(ftruncate(l->file, (off_t)bytes), 0);
	l->ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	n = l->ctl >= 0 ? ioctl(l->ctl, LOOP_CTL_GET_FREE) : -1;
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	l->fd = n >= 0 ? open(dev, O_RDWR | O_CLOEXEC) : -1;
	if (l->fd < 0 || ioctl(l->fd, LOOP_SET_FD, l->file) ||
	    ioctl(l->fd, LOOP_SET_STATUS64, &info)) {
		printf("# no loop device (%s): skipped\n", strerror(errno));
		if (l->fd >= 0) {
			ioctl(l->fd, LOOP_CLR_FD, 0);
			close(l->fd);
		}
		if (l->ctl >= 0)
			close(l->ctl);
		close(l->file);
		skip();
	}
}

static void loop_close(struct loopdev *l)
{
	ioctl(l->fd, LOOP_CLR_FD, 0);
	close(l->fd);
	close(l->ctl);
	close(l->file);
}

static void loop_open(struct loopdev *l, uint64_t bytes)
{
	loop_open_on(l, tier_tmpfile(), bytes);
}

/*
 * The same over a file on ramfs, which has no fallocate: the loop device
 * then cannot write zeroes without writing them, as many real devices.
 */
static void loop_open_unmappable(struct loopdev *l, uint64_t bytes)
{
	loop_open_on(l, tier_tmpfile_on("ramfs", "mode=0700"), bytes);
	if (!fallocate(l->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		       4096) || errno != EOPNOTSUPP) {
		printf("# this kernel's loop device on ramfs can punch: the "
		       "written-zeroes path is not reached: skipped\n");
		loop_close(l);
		skip();
	}
}

/* Bytes of [0, len) of @fd that are not zero. */
static uint64_t nonzero_bytes(int fd, uint64_t len)
{
	static uint8_t buf[1 << 16];
	uint64_t n = 0;

	for (uint64_t off = 0; off < len; off += sizeof(buf)) {
		assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)off),
				 (ssize_t)sizeof(buf));
		for (size_t i = 0; i < sizeof(buf); i++)
			n += buf[i] != 0;
	}
	return n;
}

static void block_device(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	struct loopdev l;
	int r;

	(void)state;
	loop_open(&l, 4 * 1048576);
	vswap_params_init(&p, 8192);
	p.checksum = true;
	s = tier_store_new(&p, l.fd, 0);
	for (unsigned i = 0; i < 600; i++)
		store_kind(s, i, kind_of(i), i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_true(res.pages > 0);
	for (unsigned i = 0; i < 600; i++)
		check_slot(s, i, kind_of(i), i);
	assert_int_equal(test_stats(s).disk_file_bytes, 0);
	/* 4 MiB of device: 4 chunks, then the disk is full. */
	for (unsigned i = 600; i < 4600; i++)
		store_kind(s, i, PK_RANDOM, i);
	r = vswap_writeback(s, 0, 0, &res);
	assert_int_equal(r, VSWAP_E_NOSPACE);
	assert_true(vswap_take_events(s) & VSWAP_EVENT_DISK_FULL);
	for (unsigned i = 0; i < 4600; i++)
		check_slot(s, i, i < 600 ? kind_of(i) : PK_RANDOM, i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	loop_close(&l);
}

/*
 * A store about to go (QEMU's exit): reset, then release, leaves no byte
 * of the guest's pages on the block device; the reset alone leaves them.
 */
static void wiped_on(struct loopdev *l)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	uint64_t dev = 4 * 1048576;

	vswap_params_init(&p, 8192);
	s = tier_store_new(&p, l->fd, 0);
	for (unsigned i = 0; i < 700; i++)	/* 2.8 MiB of 4 */
		store_kind(s, i, PK_RANDOM, i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_true(res.bytes > 2 * 1048576);
	vswap_reset(s);
	assert_true(nonzero_bytes(l->fd, dev) > 2 * 1048576);
	assert_int_equal(vswap_tier_release(s), VSWAP_OK);
	assert_int_equal(nonzero_bytes(l->fd, dev), 0);
	/* and the store writes to the device again */
	for (unsigned i = 0; i < 300; i++)
		store_kind(s, i, PK_TEXT, i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	for (unsigned i = 0; i < 300; i++)
		check_slot(s, i, PK_TEXT, i);
	vswap_store_destroy(s);
	loop_close(l);
}

/* A device that unmaps zeroes (PUNCH_HOLE): a loop device on a file. */
static void block_device_wiped(void **state)
{
	struct loopdev l;

	(void)state;
	loop_open(&l, 4 * 1048576);
	wiped_on(&l);
}

/* One that cannot: the zeroes are written (ZERO_RANGE). */
static void block_device_wiped_written(void **state)
{
	struct loopdev l;

	(void)state;
	loop_open_unmappable(&l, 4 * 1048576);
	wiped_on(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_all),
		cmocka_unit_test(corrupt_payload),
		cmocka_unit_test(corrupt_header),
		cmocka_unit_test(reset_then_release_truncates),
		cmocka_unit_test(stale_file_ignored),
		cmocka_unit_test(block_device),
		cmocka_unit_test(block_device_wiped),
		cmocka_unit_test(block_device_wiped_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
