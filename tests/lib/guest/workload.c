// SPDX-License-Identifier: MIT
/*
 * Swap workload for the guest end-to-end test (static binary, runs as a
 * busybox initramfs program).
 *
 *   workload [-m MiB] [-p procs] [-r rounds] [-f percent] [-s seed] [-H] [-X]
 *            [-1]
 *
 * Touches MiB of anonymous memory split over procs processes, with a known
 * mix of page kinds chosen by a hash of (seed, page):
 *   zero    2/8  all bytes 0
 *   same    1/8  one non-zero 64-bit value repeated (the value is the seed)
 *   text    3/8  words from a small dictionary: compresses well
 *   random  2/8  PRNG output: does not compress
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
 * while the data is swapped out). Output, one line each, for the runner:
 *   WORKLOAD: PASS <name> <seconds>
 *   WORKLOAD: KINDS zero=N same=N text=N random=N
 *   WORKLOAD: RESULT pages=N checked=N wrong=N
 * plus "WORKLOAD: WRONG proc=P page=I kind=K" for the first wrong pages.
 * -X flips one byte of one text page after "fill": a check of the checker
 * (it must then report exactly one wrong page per verify pass).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096u
#define WORDS		(PAGE / sizeof(uint64_t))
#define MAX_REPORT	10

enum kind { K_ZERO, K_SAME, K_TEXT, K_RANDOM, K_NR };
static const char *const kind_name[K_NR] = { "zero", "same", "text", "random" };

/* Shared between the processes (MAP_SHARED): results only. */
struct shared {
	uint64_t checked;
	uint64_t wrong;
	uint64_t kinds[K_NR];
	uint64_t reported;
};

static uint64_t seed = 0x5eed5eed;
static unsigned long percent = 100;
static int corrupt;
static int no_final;
static struct shared *sh;

static uint64_t mix(uint64_t x)		/* splitmix64 finaliser */
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static enum kind page_kind(unsigned int proc, uint64_t i)
{
	switch (mix(seed ^ ((uint64_t)proc << 48) ^ i) & 7) {
	case 0: case 1: return K_ZERO;
	case 2: return K_SAME;
	case 3: case 4: case 5: return K_TEXT;
	default: return K_RANDOM;
	}
}

static const char *const dict[] = {
	"swap ", "page ", "host ", "guest ", "memory ", "virtio ", "slot ",
	"store ", "load ", "the ", "of ", "and ", "a ", "to ", "is ", "in ",
	"kernel ", "queue ", "request ", "device ", "compress ", "zero ",
	"\n", ", ", ". ", "data ", "block ", "driver ", "pool ", "node ",
	"writeback ", "tier ",
};

/* Expected content of page i of process proc at version v. */
static void gen_page(unsigned char *buf, unsigned int proc, uint64_t i,
		     unsigned int v)
{
	uint64_t s = mix(seed ^ mix(((uint64_t)proc << 48) ^ i) ^
			 ((uint64_t)v << 32));
	uint64_t *w = (uint64_t *)buf;
	unsigned int n, pos;

	switch (page_kind(proc, i)) {
	case K_ZERO:
		memset(buf, 0, PAGE);
		return;
	case K_SAME:
		s |= 1;				/* never zero */
		for (n = 0; n < WORDS; n++)
			w[n] = s;
		return;
	case K_TEXT:
		pos = 0;
		while (pos < PAGE) {
			const char *word;
			size_t len;

			s = s * 6364136223846793005ull + 1442695040888963407ull;
			word = dict[(s >> 59) % (sizeof(dict) / sizeof(dict[0]))];
			len = strlen(word);
			if (len > PAGE - pos)
				len = PAGE - pos;
			memcpy(buf + pos, word, len);
			pos += len;
		}
		break;
	default:
		for (n = 0; n < WORDS; n++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			w[n] = s;
		}
		break;
	}
	/* A header naming the page, so misplaced data is recognisable. */
	w[0] = 0x5641505350414745ull;		/* "VSWAPPAGE"-ish magic */
	w[1] = ((uint64_t)proc << 56) ^ ((uint64_t)v << 40) ^ i;
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
	gen_page(exp, proc, i, v);
	__atomic_add_fetch(&sh->checked, 1, __ATOMIC_RELAXED);
	if (!memcmp(mem + i * PAGE, exp, PAGE))
		return 0;
	__atomic_add_fetch(&sh->wrong, 1, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&sh->reported, 1, __ATOMIC_RELAXED) <= MAX_REPORT)
		printf("WORKLOAD: WRONG proc=%u page=%" PRIu64 " kind=%s version=%u\n",
		       proc, i, kind_name[page_kind(proc, i)], v);
	return 1;
}

static void pass_done(unsigned int proc, const char *name, double t0)
{
	if (proc == 0)
		printf("WORKLOAD: PASS %s %.1f\n", name, now() - t0);
	fflush(stdout);
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
		enum kind kd = page_kind(proc, i);

		__atomic_add_fetch(&sh->kinds[kd], 1, __ATOMIC_RELAXED);
		if (kd == K_ZERO)
			mem[i * PAGE] = 0;	/* touch: a real zero page */
		else
			gen_page(mem + i * PAGE, proc, i, 0);
	}
	pass_done(proc, "fill", t0);

	if (corrupt && proc == 0) {
		for (i = 0; i < pages && page_kind(proc, i) != K_TEXT; i++)
			;
		if (i < pages)
			mem[i * PAGE + 100] ^= 0x20;
	}

	if (hold_fd >= 0) {
		char c;

		/* Wait for the parent's go (it closes or writes the pipe). */
		if (read(hold_fd, &c, 1) < 0)
			perror("workload: hold");
	}

	t0 = now();
	for (i = 0; i < pages; i++)
		check_page(mem, exp, proc, i, 0);
	pass_done(proc, "verify", t0);

	for (r = 0; r < rounds; r++) {
		t0 = now();
		for (i = 0; i < pages; i++)
			order[i] = i;
		for (i = pages - 1; i > 0; i--) {
			uint64_t j = mix(seed ^ (r * 977) ^ (proc * 31) ^ i) % (i + 1);
			uint32_t t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (k = 0; k < pages * percent / 100; k++) {
			i = order[k];
			check_page(mem, exp, proc, i, ver[i]);
			ver[i]++;
			if (page_kind(proc, i) != K_ZERO)
				gen_page(mem + i * PAGE, proc, i, ver[i]);
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
	uint64_t pages, total;
	unsigned int p;
	double t0;
	pid_t *pid;

	while ((opt = getopt(argc, argv, "m:p:r:f:s:HX1")) != -1) {
		switch (opt) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'p': procs = strtoul(optarg, NULL, 0); break;
		case 'r': rounds = strtoul(optarg, NULL, 0); break;
		case 'f': percent = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'H': hold = 1; break;
		case 'X': corrupt = 1; break;
		case '1': no_final = 1; break;
		default:
			fprintf(stderr, "usage: %s [-m MiB] [-p procs] [-r rounds] [-f percent] [-s seed] [-H] [-X] [-1]\n",
				argv[0]);
			return 2;
		}
	}
	if (!procs || !mib || !percent || percent > 100)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid = calloc(procs, sizeof(*pid));
	if (sh == MAP_FAILED || !pid || (hold && pipe(go)))
		return 2;

	total = (uint64_t)mib * (1024 * 1024 / PAGE);
	pages = total / procs;
	printf("WORKLOAD: START mib=%lu procs=%lu rounds=%lu percent=%lu seed=%#" PRIx64 " pages=%" PRIu64 "\n",
	       mib, procs, rounds, percent, seed, pages * procs);
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
	if (hold) {
		char line[64];

		close(go[0]);
		/* Filled when every process has passed "fill": wait a moment. */
		while (__atomic_load_n(&sh->kinds[K_ZERO], __ATOMIC_RELAXED) +
		       __atomic_load_n(&sh->kinds[K_SAME], __ATOMIC_RELAXED) +
		       __atomic_load_n(&sh->kinds[K_TEXT], __ATOMIC_RELAXED) +
		       __atomic_load_n(&sh->kinds[K_RANDOM], __ATOMIC_RELAXED) <
		       pages * procs)
			usleep(100000);
		sleep(1);
		printf("WORKLOAD: HOLD\n");
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
		close(go[1]);		/* read() returns 0 in every child */
	}
	for (p = 0; p < procs; p++) {
		if (waitpid(pid[p], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	printf("WORKLOAD: KINDS zero=%" PRIu64 " same=%" PRIu64 " text=%" PRIu64 " random=%" PRIu64 "\n",
	       sh->kinds[K_ZERO], sh->kinds[K_SAME], sh->kinds[K_TEXT],
	       sh->kinds[K_RANDOM]);
	printf("WORKLOAD: RESULT pages=%" PRIu64 " checked=%" PRIu64 " wrong=%" PRIu64 " failed_procs=%d seconds=%.1f\n",
	       pages * procs, sh->checked, sh->wrong, failed, now() - t0);
	return (sh->wrong || failed) ? 1 : 0;
}
