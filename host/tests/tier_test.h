/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the disk-tier tests (test_tier_*.c), on top of vswap_test.h.
 *
 *   tier_tmpfile()     a fresh, already unlinked file in $TMPDIR (or /tmp),
 *                      open O_RDWR: the test's disk tier
 *   tier_tmpfile_on()  the same on a file system of its own (root: the
 *                      test skips without)
 *   tier_store_new()   a store with a disk tier attached
 *   file_blocks()      bytes the file system allocated to a file
 *   disk_find_header() find a slot's object in a disk file (the format
 *                      docs/writeback.md describes)
 *
 * cmocka and vswap_test.h must be included before this file.
 */
#ifndef VSWAP_TIER_TEST_H
#define VSWAP_TIER_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB	(UINT64_C(1) << 20)
/* Disk chunk of the library (tier.h): the unit files grow and shrink by. */
#define TIER_TEST_CHUNK	MIB

static inline int tier_tmpfile_in(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/vswap-tier-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		fail_msg("mkstemp in %s: %s", dir, strerror(errno));
	unlink(path);
	return fd;
}

static inline int tier_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");

	return tier_tmpfile_in(dir && *dir ? dir : "/tmp");
}

/*
 * A file on a new mount of @fstype with @opts: the mount is detached at
 * once and goes when the file is closed. Skips the test if it cannot
 * mount (not root).
 */
static inline int tier_tmpfile_on(const char *fstype, const char *opts)
{
	char dir[] = "/tmp/vswap-mnt-XXXXXX";
	int fd;

	if (!mkdtemp(dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	if (mount(fstype, dir, fstype, 0, opts)) {
		printf("# mount %s: %s: skipped\n", fstype, strerror(errno));
		rmdir(dir);
		skip();
	}
	fd = tier_tmpfile_in(dir);
	if (umount2(dir, MNT_DETACH))
		printf("# umount %s: %s\n", dir, strerror(errno));
	rmdir(dir);
	return fd;
}

static inline struct vswap_store *tier_store_new(const struct vswap_params *p,
						 int fd, uint64_t max_bytes)
{
	struct vswap_store *s = test_store_new_p(p);
	int r = vswap_store_attach_disk(s, fd, max_bytes);

	if (r != VSWAP_OK)
		fail_msg("attach_disk: %s", vswap_error_name(r));
	return s;
}

static inline uint64_t file_blocks(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		fail_msg("fstat: %s", strerror(errno));
	return (uint64_t)st.st_blocks * 512;
}

static inline uint64_t file_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		fail_msg("fstat: %s", strerror(errno));
	return (uint64_t)st.st_size;
}

/*
 * File offset of the header of @slot's object in the first chunk of @fd,
 * or -1. Objects are packed from offset 0, 8-aligned, each an 8-byte
 * header (u32 ~slot, u32 CRC-32C of the payload, whatever the store's
 * checksum setting) + payload padded to 8; the length is only in the
 * slot entry, so this scans the 8-aligned words for the first header
 * naming @slot. Good enough for the tests' pages, whose payloads hold no
 * such word before it (a wrong find fails the test: its corruption lands
 * on another slot).
 */
static inline int64_t disk_find_header(int fd, uint32_t slot)
{
	uint64_t off;
	uint32_t f;

	for (off = 0; off + 8 <= TIER_TEST_CHUNK &&
	     pread(fd, &f, sizeof(f), (off_t)off) == (ssize_t)sizeof(f);
	     off += 8)
		if (f == ~slot)
			return (int64_t)off;
	return -1;
}

/* Wall time in ns (CLOCK_MONOTONIC, the clock of segment ages). */
static inline uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* VSWAP_TIER_TEST_H */
