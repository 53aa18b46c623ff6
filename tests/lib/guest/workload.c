// SPDX-License-Identifier: MIT
/*
 * Swap workload for the guest end-to-end test (static binary, runs as a
 * busybox initramfs program).
 *
 *   workload [-m MiB] [-p procs] [-r rounds] [-f percent] [-s seed] [-H]
 *            [-P] [-X] [-1] [-c CORPUS] [-L]
 *
 * Touches MiB of anonymous memory split over procs processes, with a known
 * mix of page kinds chosen by a hash of (seed, page) (pagegen.h):
 *   zero    2/8  all bytes 0
 *   same    1/8  one non-zero 64-bit value repeated (the value is the seed)
 *   text    3/8  words from a small dictionary: compresses well
 *   random  2/8  PRNG output: does not compress
 * or, with -c CORPUS (a file of raw 4 KiB pages read from real processes),
 * real pages tiled over the workload with 10 % zero, 5 % same-filled and
 * 5 % random pages among them (pagegen.h says how).
 * Every non-zero page is a function of (seed, process, page, version), so
 * each byte can be checked. Passes, per process:
 *   fill      sequential write, version 0
 *   verify    sequential read
 *   rounds x  random order: verify, then rewrite with version + 1, over
 *             percent of the pages (default 100) drawn at random
 *   final     sequential verify (not with -1 and no rounds: it would
 *             check again what "verify" just checked)
 * then the memory is freed (munmap) and the process exits.
 *
 * With -H the processes stop after "fill", print "WORKLOAD: HOLD" and wait
 * for a line on stdin before going on (the test looks at the host store
 * while the data is swapped out). With -P as well, each process first asks
 * the kernel to swap out all of its pages (MADV_PAGEOUT) and the HOLD line
 * comes after
 *   WORKLOAD: PAGEDOUT pages=N resident=N
 * (resident: pages mincore() still finds in memory; behind an asynchronous
 * device that includes pages written but still in the swap cache), so that
 * every swap device holds the same pages when the test compares pools.
 * Output, one line each, for the runner:
 *   WORKLOAD: PASS <name> <seconds>
 *   WORKLOAD: KINDS zero=N same=N text=N random=N
 *   WORKLOAD: RESULT pages=N checked=N wrong=N
 * plus "WORKLOAD: WRONG proc=P page=I kind=K" for the first wrong pages.
 * RESULT's seconds are the whole run, work_seconds the same less the hold.
 * -X flips one byte of one text (or real, or random) page after "fill": a
 * check of the checker (it must then report exactly one wrong page per
 * verify pass).
 * -L times, in the verify pass, the first touch of each page (one byte
 * read, clock_gettime before and after) and keeps a histogram of the
 * pages /proc/self/pagemap said were not present (swapped out): the
 * page-in latency the workload sees. Every page is timed and pagemap is
 * read for every page, swapped or not, so the cost of measuring is the
 * same whatever the swap device. Printed at the end:
 *   WORKLOAD: LATENCY n=N resident=N p50=US p90=US p99=US p999=US max=US
 *   WORKLOAD: LATHIST <bucket>:<count> ...   (bucket b: [2^(b/16) ns ..
 *             with 16 steps per power of two; see lat_ns())
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pagegen.h"

#define PAGE		PG_PAGE
#define MAX_REPORT	10
/* Latency histogram: 16 buckets per power of two of nanoseconds. */
#define LAT_SUB		16
#define LAT_BUCKETS	(64 * LAT_SUB)

/* Shared between the processes (MAP_SHARED): results only. */
struct shared {
	uint64_t checked;
	uint64_t wrong;
	uint64_t kinds[PG_NR];
	uint64_t reported;
	uint64_t paged_procs;		/* -P: processes done paging out */
	uint64_t paged_resident;	/* -P: their pages still resident */
	uint64_t lat_resident;		/* pages present at the first read */
	uint64_t lat[LAT_BUCKETS];	/* first touch of pages that were not */
};

static unsigned long percent = 100;
static int corrupt;
static int no_final;
static int latency;
static int pageout;
static struct shared *sh;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Histogram bucket of @ns: 16 per power of two. */
static unsigned int lat_bucket(uint64_t ns)
{
	unsigned int lg, sub;

	if (ns < 2)
		return 0;
	lg = 63 - __builtin_clzll(ns);
	sub = lg >= 4 ? (ns >> (lg - 4)) & (LAT_SUB - 1)
		      : (ns << (4 - lg)) & (LAT_SUB - 1);
	return lg * LAT_SUB + sub;
}

/* Lower bound of bucket @b, ns (the host parser does the same). */
static double lat_ns(unsigned int b)
{
	return (double)(1ull << (b / LAT_SUB)) * (1.0 + (b % LAT_SUB) / 16.0);
}

static int check_page(unsigned char *mem, unsigned char *exp,
		      unsigned int proc, uint64_t i, unsigned int v);

/* The first read pass with -L: time every page's first touch. */
static void timed_verify(unsigned char *mem, unsigned char *exp,
			 unsigned int proc, uint64_t pages)
{
	uint64_t pm[512], i, j, n, t0, t1;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	for (i = 0; i < pages; i += n) {
		n = pages - i < 512 ? pages - i : 512;
		memset(pm, 0, sizeof(pm));
		if (fd >= 0 && pread(fd, pm, n * 8,
				     (off_t)((uintptr_t)(mem + i * PAGE) /
					     PAGE * 8)) < 0)
			memset(pm, 0, sizeof(pm));
		for (j = 0; j < n; j++) {
			t0 = now_ns();
			(void)*(volatile unsigned char *)(mem + (i + j) * PAGE);
			t1 = now_ns();
			if (pm[j] >> 63)	/* present: not a page-in */
				__atomic_add_fetch(&sh->lat_resident, 1,
						   __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&sh->lat[lat_bucket(t1 - t0)],
						   1, __ATOMIC_RELAXED);
			check_page(mem, exp, proc, i + j, 0);
		}
	}
	if (fd >= 0)
		close(fd);
}

static void lat_report(void)
{
	static const double q[] = { 0.50, 0.90, 0.99, 0.999 };
	double at[4] = { 0 }, max = 0;
	uint64_t n = 0, seen = 0;
	unsigned int b, k = 0;

	for (b = 0; b < LAT_BUCKETS; b++)
		n += sh->lat[b];
	for (b = 0; b < LAT_BUCKETS; b++) {
		if (!sh->lat[b])
			continue;
		seen += sh->lat[b];
		while (k < 4 && seen >= q[k] * n)
			at[k++] = lat_ns(b) / 1000.0;
		max = lat_ns(b + 1) / 1000.0;
	}
	printf("WORKLOAD: LATENCY n=%" PRIu64 " resident=%" PRIu64
	       " p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f\n", n,
	       sh->lat_resident, at[0], at[1], at[2], at[3], max);
	printf("WORKLOAD: LATHIST");
	for (b = 0; b < LAT_BUCKETS; b++)
		if (sh->lat[b])
			printf(" %u:%" PRIu64, b, sh->lat[b]);
	printf("\n");
}

/* -c: map the corpus of real pages (pagegen.h) */
static int load_corpus(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) || st.st_size < PAGE) {
		perror(path);
		return -1;
	}
	pg_corpus = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (pg_corpus == MAP_FAILED) {
		perror(path);
		return -1;
	}
	pg_corpus_n = st.st_size / PAGE;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int check_page(unsigned char *mem, unsigned char *exp,
		      unsigned int proc, uint64_t i, unsigned int v)
{
	pg_gen_page(exp, proc, i, v);
	__atomic_add_fetch(&sh->checked, 1, __ATOMIC_RELAXED);
	if (!memcmp(mem + i * PAGE, exp, PAGE))
		return 0;
	__atomic_add_fetch(&sh->wrong, 1, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&sh->reported, 1, __ATOMIC_RELAXED) <= MAX_REPORT)
		printf("WORKLOAD: WRONG proc=%u page=%" PRIu64 " kind=%s version=%u\n",
		       proc, i, pg_kind_name[pg_page_kind(proc, i)], v);
	return 1;
}

static void pass_done(unsigned int proc, const char *name, double t0)
{
	if (proc == 0)
		printf("WORKLOAD: PASS %s %.1f\n", name, now() - t0);
	fflush(stdout);
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

/* -P: swap out all of @mem and count what stays resident. */
static void page_out(unsigned char *mem, uint64_t pages)
{
	unsigned char *vec = malloc(pages);
	uint64_t i, resident = pages;

	if (madvise(mem, pages * PAGE, MADV_PAGEOUT))
		perror("workload: MADV_PAGEOUT");
	if (vec && !mincore(mem, pages * PAGE, vec))
		for (resident = 0, i = 0; i < pages; i++)
			resident += vec[i] & 1;
	free(vec);
	__atomic_add_fetch(&sh->paged_resident, resident, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh->paged_procs, 1, __ATOMIC_RELEASE);
}

static int run(unsigned int proc, uint64_t pages, unsigned int rounds,
	       int hold_fd)
{
	unsigned char *mem, exp[PAGE] __attribute__((aligned(8)));
	unsigned char *ver;
	uint32_t *order;
	uint64_t i, k;
	unsigned int r;
	double t0;

	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ver = calloc(pages, 1);
	order = malloc(pages * sizeof(*order));
	if (mem == MAP_FAILED || !ver || !order) {
		fprintf(stderr, "workload: out of memory\n");
		return 2;
	}

	t0 = now();
	for (i = 0; i < pages; i++) {
		enum pg_kind kd = pg_page_kind(proc, i);

		__atomic_add_fetch(&sh->kinds[kd], 1, __ATOMIC_RELAXED);
		if (kd == PG_ZERO)
			mem[i * PAGE] = 0;	/* touch: a real zero page */
		else
			pg_gen_page(mem + i * PAGE, proc, i, 0);
	}
	pass_done(proc, "fill", t0);

	if (corrupt && proc == 0) {
		for (i = 0; i < pages && pg_page_kind(proc, i) < PG_TEXT; i++)
			;
		if (i < pages)
			mem[i * PAGE + 100] ^= 0x20;
	}

	if (pageout)
		page_out(mem, pages);

	if (hold_fd >= 0) {
		char c;

		/* Wait for the parent's go (it closes or writes the pipe). */
		if (read(hold_fd, &c, 1) < 0)
			perror("workload: hold");
	}

	t0 = now();
	if (latency)
		timed_verify(mem, exp, proc, pages);
	else
		for (i = 0; i < pages; i++)
			check_page(mem, exp, proc, i, 0);
	pass_done(proc, "verify", t0);

	for (r = 0; r < rounds; r++) {
		t0 = now();
		for (i = 0; i < pages; i++)
			order[i] = i;
		for (i = pages - 1; i > 0; i--) {
			uint64_t j = pg_mix(pg_seed ^ (r * 977) ^ (proc * 31) ^ i) % (i + 1);
			uint32_t t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (k = 0; k < pages * percent / 100; k++) {
			i = order[k];
			check_page(mem, exp, proc, i, ver[i]);
			ver[i]++;
			if (pg_page_kind(proc, i) != PG_ZERO)
				pg_gen_page(mem + i * PAGE, proc, i, ver[i]);
		}
		pass_done(proc, "random", t0);
	}

	if (!no_final || rounds) {
		t0 = now();
		for (i = 0; i < pages; i++)
			check_page(mem, exp, proc, i, ver[i]);
		pass_done(proc, "final", t0);
	}

	munmap(mem, pages * PAGE);
	free(ver);
	free(order);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long mib = 64, procs = 2, rounds = 1;
	int hold = 0, opt, status, failed = 0;
	int go[2] = { -1, -1 };
	uint64_t pages, total, filled;
	unsigned int p, k;
	double t0, held = 0;
	pid_t *pid;

	while ((opt = getopt(argc, argv, "m:p:r:f:s:HPX1c:L")) != -1) {
		switch (opt) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'p': procs = strtoul(optarg, NULL, 0); break;
		case 'r': rounds = strtoul(optarg, NULL, 0); break;
		case 'f': percent = strtoul(optarg, NULL, 0); break;
		case 's': pg_seed = strtoull(optarg, NULL, 0); break;
		case 'H': hold = 1; break;
		case 'P': pageout = 1; break;
		case 'X': corrupt = 1; break;
		case '1': no_final = 1; break;
		case 'c':
			if (load_corpus(optarg))
				return 2;
			break;
		case 'L': latency = 1; break;
		default:
			fprintf(stderr, "usage: %s [-m MiB] [-p procs] [-r rounds] [-f percent] [-s seed] [-H] [-P] [-X] [-1] [-c corpus] [-L]\n",
				argv[0]);
			return 2;
		}
	}
	if (!procs || !mib || !percent || percent > 100 || (pageout && !hold))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid = calloc(procs, sizeof(*pid));
	if (sh == MAP_FAILED || !pid || (hold && pipe(go)))
		return 2;

	total = (uint64_t)mib * (1024 * 1024 / PAGE);
	pages = total / procs;
	printf("WORKLOAD: START mib=%lu procs=%lu rounds=%lu percent=%lu seed=%#" PRIx64 " pages=%" PRIu64 " corpus_pages=%" PRIu64 "\n",
	       mib, procs, rounds, percent, pg_seed, pages * procs,
	       pg_corpus_n);
	t0 = now();
	for (p = 0; p < procs; p++) {
		pid[p] = fork();
		if (pid[p] < 0)
			return 2;
		if (pid[p] == 0) {
			if (hold)
				close(go[1]);
			_exit(run(p, pages, rounds, hold ? go[0] : -1));
		}
	}
	/*
	 * The parent only waits and reports: keep it resident, so a test
	 * that takes the swap device away kills the processes whose pages
	 * were on it, never the one that reports (best effort).
	 */
	mlockall(MCL_CURRENT | MCL_FUTURE);
	if (hold) {
		char line[64];

		close(go[0]);
		/* Filled when every process has passed "fill": wait a moment. */
		do {
			usleep(100000);
			for (filled = 0, k = 0; k < PG_NR; k++)
				filled += __atomic_load_n(&sh->kinds[k],
							  __ATOMIC_RELAXED);
		} while (filled < pages * procs);
		held = now();
		while (pageout && __atomic_load_n(&sh->paged_procs,
						  __ATOMIC_ACQUIRE) < procs)
			usleep(100000);
		if (pageout)
			printf("WORKLOAD: PAGEDOUT pages=%" PRIu64 " resident=%" PRIu64 "\n",
			       pages * procs, sh->paged_resident);
		sleep(1);
		printf("WORKLOAD: HOLD\n");
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
		close(go[1]);		/* read() returns 0 in every child */
		held = now() - held;
	}
	for (p = 0; p < procs; p++) {
		if (waitpid(pid[p], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	printf("WORKLOAD: KINDS zero=%" PRIu64 " same=%" PRIu64 " text=%" PRIu64 " random=%" PRIu64 " real=%" PRIu64 "\n",
	       sh->kinds[PG_ZERO], sh->kinds[PG_SAME], sh->kinds[PG_TEXT],
	       sh->kinds[PG_RANDOM], sh->kinds[PG_REAL]);
	if (latency)
		lat_report();
	t0 = now() - t0;
	printf("WORKLOAD: RESULT pages=%" PRIu64 " checked=%" PRIu64 " wrong=%" PRIu64 " failed_procs=%d seconds=%.1f work_seconds=%.2f\n",
	       pages * procs, sh->checked, sh->wrong, failed, t0, t0 - held);
	return (sh->wrong || failed) ? 1 : 0;
}
