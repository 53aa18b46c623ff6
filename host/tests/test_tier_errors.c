/* SPDX-License-Identifier: MIT */
/*
 * Disk tier failures from real failure sources (the kernel's, not mocks):
 * nothing is ever lost or returned wrong.
 *
 *   enospc_tmpfs        the file lives on a 2 MiB tmpfs (mount needs root:
 *                       skipped otherwise): writes hit ENOSPC; the data
 *                       stays in memory, errors are counted and raised,
 *                       stores end in NOSPACE, every accepted page loads;
 *                       invalidating makes room again
 *   enospc_space_returns the tmpfs fills up because of another file; once
 *                       that file is deleted (no slot of ours freed, no
 *                       caller writeback), stores reach the disk again
 *                       within WB_FULL_RETRY_NS
 *   max_bytes_full      the same with the attach-time size limit
 *   read_error_truncated the file is truncated behind the library's back:
 *                       loads of pages on disk fail with IO, counted
 *   pipe_then_back      the fd is made a pipe (dup2): reads and writes fail
 *                       with IO, the data stays in memory; with the file
 *                       back, everything loads again
 *   write_error_readonly the fd is made read-only (dup2): writeback fails
 *                       (EBADF), nothing moves, then succeeds once writable
 */
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <cmocka.h>

#include "vswap_test.h"
#include "tier_test.h"
#include "writeback.h"	/* WB_FULL_RETRY_NS */

static enum page_kind mix(unsigned i)
{
	return i % 5 == 4 ? PK_RANDOM : PK_TEXT;
}

/* Store slots [0, n) with seeds seed + i; ok[i] says which were accepted. */
static unsigned store_all(struct vswap_store *s, unsigned n, uint64_t seed,
			  bool *ok)
{
	unsigned char page[PAGE];
	unsigned nospace = 0;

	for (unsigned i = 0; i < n; i++) {
		int r;

		page_fill(page, mix(i), seed + i);
		r = vswap_store_page(s, i, page);
		if (r != VSWAP_OK && r != VSWAP_E_NOSPACE)
			fail_msg("store %u: %s", i, vswap_error_name(r));
		ok[i] = r == VSWAP_OK;
		nospace += !ok[i];
	}
	return nospace;
}

static void check_all(struct vswap_store *s, unsigned n, uint64_t seed,
		      const bool *ok)
{
	for (unsigned i = 0; i < n; i++)
		if (ok[i])
			check_slot(s, i, mix(i), seed + i);
		else
			check_slot(s, i, PK_ZERO, 0);
}

#define NFILL	4000u

static void full_disk(int fd, uint64_t max_bytes, bool expect_errors)
{
	static bool ok[NFILL];
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	unsigned nospace, ev;

	vswap_params_init(&p, 8192);
	p.pool_max = MIB;
	s = tier_store_new(&p, fd, max_bytes);
	nospace = store_all(s, NFILL, 0, ok);
	st = test_stats(s);
	ev = vswap_take_events(s);
	printf("# refused %u stores; disk %" PRIu64 " pages, %" PRIu64
	       " writes, %" PRIu64 " errors, events %#x\n", nospace,
	       st.disk_pages, st.writeback_ios, st.writeback_errors, ev);
	assert_true(nospace > 0);
	assert_true(st.disk_pages > 0);
	assert_int_equal(st.store_nospace, nospace);
	assert_true(st.pool_bytes_peak <= MIB);
	assert_true(ev & VSWAP_EVENT_DISK_FULL);
	if (expect_errors)
		assert_true(st.writeback_errors >= 1);
	else
		assert_int_equal(st.writeback_errors, 0);
	check_all(s, NFILL, 0, ok);
	assert_store_valid(s);

	/* Room again: the first half goes; stores are accepted again. */
	assert_int_equal(vswap_invalidate(s, 0, NFILL / 2), VSWAP_OK);
	for (unsigned i = 0; i < 200; i++)
		store_kind(s, i, mix(i), 5000 + i);
	for (unsigned i = 0; i < 200; i++)
		check_slot(s, i, mix(i), 5000 + i);
	for (unsigned i = NFILL / 2; i < NFILL; i++)
		if (ok[i])
			check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	vswap_store_destroy(s);
}

static void enospc_tmpfs(void **state)
{
	int fd = tier_tmpfile_on("tmpfs", "size=2m,mode=0700");

	(void)state;
	full_disk(fd, 0, true);
	close(fd);
}

/* Fill @fd up to @bytes (or ENOSPC) with a non-zero pattern. */
static void write_filler(int fd, size_t bytes)
{
	static unsigned char buf[64 << 10];

	memset(buf, 0xa5, sizeof(buf));
	for (size_t done = 0; done < bytes; done += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
}

static void enospc_space_returns(void **state)
{
	static bool ok[NFILL], ok2[NFILL];
	char dir[] = "/tmp/vswap-tmpfs-XXXXXX", filler[64];
	struct vswap_params p;
	struct vswap_store *s;
	unsigned refused, refused2;
	uint64_t on_disk;
	int fd, ffd;

	(void)state;
	if (!mkdtemp(dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=4m,mode=0700")) {
		printf("# mount tmpfs: %s: skipped\n", strerror(errno));
		rmdir(dir);
		skip();
	}
	/* Someone else's file takes all but about 1 MiB. */
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	ffd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(ffd >= 0);
	write_filler(ffd, 3 * MIB);
	close(ffd);
	fd = tier_tmpfile_in(dir);
	vswap_params_init(&p, 2 * NFILL);
	p.pool_max = MIB;
	s = tier_store_new(&p, fd, 0);
	refused = store_all(s, NFILL, 0, ok);
	on_disk = test_stats(s).disk_pages;
	printf("# disk full: %u of %u stores refused, %" PRIu64 " on disk\n",
	       refused, NFILL, on_disk);
	assert_true(refused > 0);
	assert_true(vswap_take_events(s) & VSWAP_EVENT_DISK_FULL);

	/* Space comes back outside our file: nothing of ours was freed. */
	assert_int_equal(unlink(filler), 0);
	usleep(WB_FULL_RETRY_NS / 1000 + 100000);
	refused2 = 0;
	for (unsigned i = 0; i < NFILL; i++) {
		unsigned char page[PAGE];
		int r;

		page_fill(page, mix(i), 7000 + i);
		r = vswap_store_page(s, NFILL + i, page);
		if (r != VSWAP_OK && r != VSWAP_E_NOSPACE)
			fail_msg("store %u: %s", NFILL + i, vswap_error_name(r));
		ok2[i] = r == VSWAP_OK;
		refused2 += !ok2[i];
	}
	printf("# after the filler went: %u of %u stores refused\n", refused2,
	       NFILL);
	/* The pool stayed full: what was accepted went to the 3 MiB freed,
	 * about three times what the first MiB of disk took. */
	assert_true(NFILL - refused2 > 2 * on_disk);
	check_all(s, NFILL, 0, ok);
	for (unsigned i = 0; i < NFILL; i++)
		check_slot(s, NFILL + i, ok2[i] ? mix(i) : PK_ZERO,
			   ok2[i] ? 7000 + i : 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
	if (umount2(dir, MNT_DETACH))
		printf("# umount %s: %s\n", dir, strerror(errno));
	rmdir(dir);
}

static void max_bytes_full(void **state)
{
	int fd = tier_tmpfile();

	(void)state;
	full_disk(fd, 2 * MIB, false);
	assert_true(file_size(fd) <= 2 * MIB);
	close(fd);
}

/* 500 pages, all written back; returns the store. */
static struct vswap_store *on_disk(int fd, unsigned n)
{
	struct vswap_params p;
	struct vswap_store *s;

	vswap_params_init(&p, 1024);
	p.checksum = true;
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < n; i++)
		store_kind(s, i, mix(i), i);
	assert_int_equal(vswap_writeback(s, 0, 0, NULL), VSWAP_OK);
	assert_int_equal(test_stats(s).disk_pages, n);
	return s;
}

static void read_error_truncated(void **state)
{
	unsigned char page[PAGE];
	int fd = tier_tmpfile();
	struct vswap_store *s = on_disk(fd, 500);
	unsigned nio = 0;

	(void)state;
	assert_int_equal(ftruncate(fd, 0), 0);
	for (unsigned i = 0; i < 500; i++) {
		int r = vswap_load_page(s, i, page);

		assert_true(r == VSWAP_E_IO);
		nio++;
	}
	assert_int_equal(test_stats(s).disk_read_errors, nio);
	assert_int_equal(test_stats(s).integrity_errors, 0);
	assert_true(vswap_take_events(s) & VSWAP_EVENT_READ_ERROR);
	/* The slots can be stored over and invalidated as usual. */
	for (unsigned i = 0; i < 100; i++)
		store_kind(s, i, mix(i), 900 + i);
	for (unsigned i = 0; i < 100; i++)
		check_slot(s, i, mix(i), 900 + i);
	assert_int_equal(vswap_invalidate(s, 0, 1024), VSWAP_OK);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(fd);
}

static void pipe_then_back(void **state)
{
	unsigned char page[PAGE];
	struct vswap_writeback_result res;
	int fd = tier_tmpfile();
	struct vswap_store *s = on_disk(fd, 300);
	int saved = dup(fd), pfd[2];

	(void)state;
	assert_true(saved >= 0);
	assert_int_equal(pipe(pfd), 0);
	assert_true(dup2(pfd[0], fd) == fd);
	assert_int_equal(vswap_load_page(s, 3, page), VSWAP_E_IO);
	/* New data can't go out either: it stays in memory. */
	for (unsigned i = 300; i < 600; i++)
		store_kind(s, i, mix(i), i);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_E_IO);
	assert_int_equal(res.pages, 0);
	assert_true(test_stats(s).writeback_errors >= 1);
	assert_true(vswap_take_events(s) & VSWAP_EVENT_WRITEBACK_ERROR);
	for (unsigned i = 300; i < 600; i++)
		check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	/* The file back: everything is there. */
	assert_true(dup2(saved, fd) == fd);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(res.pages, 300);
	for (unsigned i = 0; i < 600; i++)
		check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(pfd[0]);
	close(pfd[1]);
	close(saved);
	close(fd);
}

static void write_error_readonly(void **state)
{
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_store *s;
	int fd = tier_tmpfile(), saved = dup(fd), ro;
	char path[64];

	(void)state;
	vswap_params_init(&p, 1024);
	s = tier_store_new(&p, fd, 0);
	for (unsigned i = 0; i < 400; i++)
		store_kind(s, i, mix(i), i);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0 && saved >= 0);
	assert_true(dup2(ro, fd) == fd);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_E_IO);
	assert_int_equal(test_stats(s).disk_pages, 0);
	assert_int_equal(test_stats(s).writeback_errors, 1);
	for (unsigned i = 0; i < 400; i++)
		check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	assert_true(dup2(saved, fd) == fd);
	assert_int_equal(vswap_writeback(s, 0, 0, &res), VSWAP_OK);
	assert_int_equal(res.pages, 400);
	for (unsigned i = 0; i < 400; i++)
		check_slot(s, i, mix(i), i);
	assert_store_valid(s);
	vswap_store_destroy(s);
	close(ro);
	close(saved);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(enospc_tmpfs),
		cmocka_unit_test(enospc_space_returns),
		cmocka_unit_test(max_bytes_full),
		cmocka_unit_test(read_error_truncated),
		cmocka_unit_test(pipe_then_back),
		cmocka_unit_test(write_error_readonly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
