// SPDX-License-Identifier: MIT
/*
 * Pages straight to and from a swap block device, for the test guest
 * (static binary in the initramfs, tests/lib/guest/): the host tests that
 * need real pages in a real device's store use it instead of a swap
 * workload, so they know exactly which slot holds what.
 *
 *   blkpages DEV store FIRST COUNT SEED [-- ACTION...]
 *   blkpages DEV load FIRST COUNT SEED [-- ACTION...]
 *   blkpages DEV loadv FIRST COUNT SEED [-- ACTION...]
 *
 * One 4 KiB page per request (O_DIRECT pwrite/pread at slot * 4096), so
 * each page gets its own status. loadv submits the COUNT (at most 64)
 * page reads at once (one Linux AIO io_submit, which plugs: the block
 * layer merges neighbours into one request) and takes each read's own
 * status; its output lines are those of load. Page SLOT of SEED is PRNG output
 * (splitmix64 of SEED and SLOT): it does not compress, and every byte is
 * known. Output, one line per status seen ("PAGES: " is for the host, which
 * reads the console):
 *   PAGES: store ok N | no-space N | ioerr N | integrity N | unsupported N
 *   PAGES: load  (the same statuses)
 *   PAGES: load data N      pages equal to what store wrote with SEED
 *   PAGES: load zero N      empty slots (never stored, or refused)
 *   PAGES: load mismatch N  anything else: wrong data
 * Statuses come from errno, as the driver maps the device's (ENOSPC no
 * space, EIO I/O error, EILSEQ integrity, EOPNOTSUPP unsupported).
 * Exit status 1 if a page loaded with other data (or on a usage error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>

#define PAGE	4096
#define NSTATUS	6

static const char *const status_name[NSTATUS] = {
	"ok", "no-space", "ioerr", "integrity", "unsupported", "other",
};

static int status_of(int err)
{
	switch (err) {
	case 0: return 0;
	case ENOSPC: return 1;
	case EIO: return 2;
	case EILSEQ: return 3;
	case EOPNOTSUPP: return 4;
	default: return 5;
	}
}

static void page_of(uint64_t seed, uint64_t slot, unsigned char *page)
{
	uint64_t z = seed * 1000003 + slot, *w = (uint64_t *)page;

	for (unsigned int i = 0; i < PAGE / 8; i++) {
		uint64_t x = (z += 0x9e3779b97f4a7c15ull);

		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
		w[i] = x ^ (x >> 31);
	}
}

#define LOADV_MAX	64

/*
 * loadv: COUNT page reads in one io_submit; @bufs holds COUNT pages. Each
 * read's result into @err (0 or an errno). Returns -1 if AIO failed.
 */
static int load_vector(int fd, uint64_t first, uint64_t count,
		       unsigned char *bufs, int *err)
{
	struct iocb cb[LOADV_MAX], *cbp[LOADV_MAX];
	struct io_event ev[LOADV_MAX];
	aio_context_t ctx = 0;
	long done = 0;

	if (syscall(SYS_io_setup, LOADV_MAX, &ctx))
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		memset(&cb[i], 0, sizeof(cb[i]));
		cb[i].aio_fildes = (uint32_t)fd;
		cb[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cb[i].aio_buf = (uint64_t)(uintptr_t)(bufs + i * PAGE);
		cb[i].aio_nbytes = PAGE;
		cb[i].aio_offset = (int64_t)((first + i) * PAGE);
		cb[i].aio_data = i;
		cbp[i] = &cb[i];
		memset(bufs + i * PAGE, 0x5a, PAGE);
	}
	if (syscall(SYS_io_submit, ctx, (long)count, cbp) != (long)count) {
		syscall(SYS_io_destroy, ctx);
		return -1;
	}
	while (done < (long)count) {
		long n = syscall(SYS_io_getevents, ctx, 1L, (long)count - done,
				 ev, NULL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			syscall(SYS_io_destroy, ctx);
			return -1;
		}
		for (long j = 0; j < n; j++) {
			int64_t res = ev[j].res;

			err[ev[j].data] = res == PAGE ? 0 : res < 0 ?
					  (int)-res : EIO;
		}
		done += n;
	}
	syscall(SYS_io_destroy, ctx);
	return 0;
}

/* One action; returns 1 if a load returned wrong data. */
static int action(int fd, const char *what, uint64_t first, uint64_t count,
		  uint64_t seed, unsigned char *buf, unsigned char *want)
{
	int vector = !strcmp(what, "loadv");
	int load = vector || !strcmp(what, "load");
	uint64_t st[NSTATUS] = { 0 }, data = 0, zero = 0, mismatch = 0;
	static const unsigned char zeroes[PAGE];
	static unsigned char *bufs;
	int errs[LOADV_MAX];

	if (vector) {
		if (!count || count > LOADV_MAX ||
		    (!bufs && posix_memalign((void **)&bufs, PAGE,
					     LOADV_MAX * PAGE)) ||
		    load_vector(fd, first, count, bufs, errs)) {
			fprintf(stderr, "blkpages: loadv of %llu pages failed\n",
				(unsigned long long)count);
			return 1;
		}
		what = "load";
	}
	for (uint64_t slot = first; slot < first + count; slot++) {
		ssize_t n;
		int err;

		page_of(seed, slot, want);
		if (vector) {
			buf = bufs + (slot - first) * PAGE;
			n = errs[slot - first] ? -1 : PAGE;
			errno = errs[slot - first];
		} else if (load) {
			memset(buf, 0x5a, PAGE);
			n = pread(fd, buf, PAGE, slot * PAGE);
		} else {
			memcpy(buf, want, PAGE);
			n = pwrite(fd, buf, PAGE, slot * PAGE);
		}
		err = n == PAGE ? 0 : n < 0 ? errno : EIO;
		st[status_of(err)]++;
		if (load && !err) {
			if (!memcmp(buf, want, PAGE))
				data++;
			else if (!memcmp(buf, zeroes, PAGE))
				zero++;
			else
				mismatch++;
		}
	}
	for (int s = 0; s < NSTATUS; s++)
		if (st[s])
			printf("PAGES: %s %s %llu\n", what, status_name[s],
			       (unsigned long long)st[s]);
	if (load) {
		printf("PAGES: load data %llu\n", (unsigned long long)data);
		printf("PAGES: load zero %llu\n", (unsigned long long)zero);
		printf("PAGES: load mismatch %llu\n",
		       (unsigned long long)mismatch);
	}
	fflush(stdout);
	return mismatch != 0;
}

int main(int argc, char **argv)
{
	unsigned char *buf, *want;
	int fd, rc = 0, i = 2;

	if (argc < 6) {
		fprintf(stderr, "usage: blkpages DEV store|load FIRST COUNT SEED "
			"[-- ACTION...]\n");
		return 1;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (posix_memalign((void **)&buf, PAGE, PAGE) ||
	    posix_memalign((void **)&want, PAGE, PAGE))
		return 1;
	while (i + 4 <= argc) {
		const char *what = argv[i];

		if (strcmp(what, "store") && strcmp(what, "load") &&
		    strcmp(what, "loadv")) {
			fprintf(stderr, "blkpages: unknown action %s\n", what);
			return 1;
		}
		rc |= action(fd, what, strtoull(argv[i + 1], NULL, 0),
			     strtoull(argv[i + 2], NULL, 0),
			     strtoull(argv[i + 3], NULL, 0), buf, want);
		i += 4;
		if (i < argc && !strcmp(argv[i], "--"))
			i++;
	}
	close(fd);
	return rc;
}
