/* SPDX-License-Identifier: MIT */
/*
 * A corpus of REAL memory pages, built at run time from processes this
 * program starts itself, plus known shares of synthetic pages.
 *
 * Header-only (every C file in bench/ is its own program, see host/Makefile).
 *
 * Sources
 *   python   bench/workload.py builds dicts, lists of strings, ints, floats,
 *            sets, tuples and a few random blobs, says "ready", waits; its
 *            anonymous memory is read then.
 *   cc1      gcc's compiler proper, run on a generated C file at -O2; it is
 *            stopped with SIGSTOP at intervals, read, and continued.
 *   zero / same / random   synthetic pages added as fixed shares of the
 *            final corpus (CORPUS_*_PCT), then everything is shuffled.
 *
 * Reading a process: /proc/PID/maps gives the mappings; only private
 * anonymous ones (no backing file: heap, stack, anonymous mmap) are read.
 * /proc/PID/pagemap says which pages are present (not present or swapped:
 * skipped) and, as root, their PFN: pages mapped to the shared zero page (or
 * the huge zero page) are skipped, they are not memory the process holds.
 * The zero page's PFN is found by reading a fresh anonymous page of our own
 * process and looking it up. /proc/PID/mem gives the contents.
 */
#ifndef VSWAP_BENCH_CORPUS_H
#define VSWAP_BENCH_CORPUS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CPAGE 4096u

/* Shares of the final corpus, in percent. */
#define CORPUS_ZERO_PCT		10
#define CORPUS_SAME_PCT		5
#define CORPUS_RANDOM_PCT	5

enum corpus_src {
	SRC_PYTHON, SRC_CC1, SRC_ZERO, SRC_SAME, SRC_RANDOM, SRC__COUNT
};

static const char *const corpus_src_names[SRC__COUNT] = {
	"python", "cc1", "synthetic-zero", "synthetic-same", "synthetic-random",
};

/* What a page is, as the store will see it. */
enum corpus_kind { CK_ZERO, CK_SAME, CK_OTHER, CK__COUNT };

static const char *const corpus_kind_names[CK__COUNT] = {
	"zero", "same-filled", "other",
};

struct corpus {
	unsigned char *pages;	/* n pages, 4096 bytes each */
	uint8_t *src;		/* enum corpus_src per page */
	size_t n, cap;
	size_t by_src[SRC__COUNT];
	size_t by_kind[CK__COUNT];
	/* skipped while reading processes */
	size_t skipped_absent, skipped_zero_pfn, snapshots;
	uint64_t zero_pfn, huge_zero_pfn;	/* 0 if unknown */
	bool have_pfns;
	char err[256];
};

static inline void corpus_fail(struct corpus *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline enum corpus_kind page_kind_of(const unsigned char *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 1; i < CPAGE / 8; i++)
		if (w[i] != w[0])
			return CK_OTHER;
	return w[0] ? CK_SAME : CK_ZERO;
}

static inline uint64_t pagemap_entry(int fd, uintptr_t addr)
{
	uint64_t e = 0;

	if (pread(fd, &e, 8, (off_t)(addr / CPAGE * 8)) != 8)
		return 0;
	return e;
}

#define PM_PRESENT	(UINT64_C(1) << 63)
#define PM_PFN(e)	((e) & ((UINT64_C(1) << 55) - 1))

/* PFNs of the zero page and the huge zero page, from our own process. */
static inline void corpus_find_zero_pfns(struct corpus *c)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	size_t huge = 4u << 20;
	volatile unsigned char *p;
	uint64_t e;

	if (fd < 0)
		return;
	p = mmap(NULL, CPAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		(void)p[0];	/* a read fault maps the shared zero page */
		e = pagemap_entry(fd, (uintptr_t)p);
		if ((e & PM_PRESENT) && PM_PFN(e)) {
			c->zero_pfn = PM_PFN(e);
			c->have_pfns = true;
		}
		munmap((void *)p, CPAGE);
	}
	/* With THP, a read fault in a huge-page region maps the huge zero page. */
	p = mmap(NULL, huge, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED) {
		uintptr_t a = ((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);

		madvise((void *)p, huge, MADV_HUGEPAGE);
		(void)*(volatile unsigned char *)a;
		e = pagemap_entry(fd, a);
		if ((e & PM_PRESENT) && PM_PFN(e) && PM_PFN(e) != c->zero_pfn)
			c->huge_zero_pfn = PM_PFN(e);
		munmap((void *)p, huge);
	}
	close(fd);
}

static inline bool is_zero_pfn(const struct corpus *c, uint64_t pfn)
{
	if (!c->have_pfns)
		return false;
	if (pfn == c->zero_pfn)
		return true;
	/* the huge zero page is 512 consecutive frames */
	return c->huge_zero_pfn && pfn >= c->huge_zero_pfn &&
	       pfn < c->huge_zero_pfn + 512;
}

static inline bool corpus_init(struct corpus *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->cap = cap;
	c->pages = mmap(NULL, cap * CPAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	c->src = calloc(cap, 1);
	if (c->pages == MAP_FAILED || !c->src) {
		corpus_fail(c, "cannot allocate a corpus of %zu pages", cap);
		return false;
	}
	corpus_find_zero_pfns(c);
	return true;
}

static inline void corpus_free(struct corpus *c)
{
	if (c->pages && c->pages != MAP_FAILED)
		munmap(c->pages, c->cap * CPAGE);
	free(c->src);
	c->pages = NULL;
	c->src = NULL;
}

static inline unsigned char *corpus_page(const struct corpus *c, size_t i)
{
	return c->pages + i * CPAGE;
}

static inline void corpus_add(struct corpus *c, const unsigned char *page,
			      enum corpus_src src)
{
	memcpy(corpus_page(c, c->n), page, CPAGE);
	c->src[c->n++] = (uint8_t)src;
	c->by_src[src]++;
}

/*
 * Append up to @budget present, non-zero-page pages of the private anonymous
 * mappings of @pid. Returns pages added.
 */
static inline size_t corpus_read_process(struct corpus *c, pid_t pid,
					 enum corpus_src src, size_t budget)
{
	char path[64], line[512];
	FILE *maps;
	int pm, mem;
	size_t added = 0;
	unsigned char buf[CPAGE];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY);
	if (!maps || pm < 0 || mem < 0) {
		corpus_fail(c, "cannot read /proc/%d: %s", (int)pid,
			    strerror(errno));
		goto out;
	}
	c->snapshots++;
	while (fgets(line, sizeof(line), maps) && added < budget &&
	       c->n < c->cap) {
		unsigned long lo, hi, off, inode;
		char perms[8], dev[16], name[256] = "";
		int k = sscanf(line, "%lx-%lx %7s %lx %15s %lu %255s", &lo, &hi,
			       perms, &off, dev, &inode, name);

		if (k < 6 || perms[3] != 'p' || perms[0] != 'r' || inode != 0)
			continue;
		/* anonymous: no name, or the heap / a stack */
		if (name[0] && strcmp(name, "[heap]") != 0 &&
		    strncmp(name, "[stack", 6) != 0 &&
		    strncmp(name, "[anon", 5) != 0)
			continue;
		for (uintptr_t a = lo; a < hi && added < budget &&
		     c->n < c->cap; a += CPAGE) {
			uint64_t e = pagemap_entry(pm, a);

			if (!(e & PM_PRESENT)) {
				c->skipped_absent++;
				continue;
			}
			if (is_zero_pfn(c, PM_PFN(e))) {
				c->skipped_zero_pfn++;
				continue;
			}
			if (pread(mem, buf, CPAGE, (off_t)a) != CPAGE)
				continue;
			corpus_add(c, buf, src);
			added++;
		}
	}
out:
	if (maps)
		fclose(maps);
	if (pm >= 0)
		close(pm);
	if (mem >= 0)
		close(mem);
	return added;
}

/* Start @argv with a pipe to its stdin and from its stdout. */
static inline pid_t spawn(char *const argv[], int *to_child, int *from_child)
{
	int in[2], out[2];
	pid_t pid;

	if (pipe(in) || pipe(out))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*to_child = in[1];
	*from_child = out[0];
	return pid;
}

/* The python workload: build @mib MiB of structures, read them. */
static inline bool corpus_from_python(struct corpus *c, const char *script,
				      unsigned mib, size_t budget)
{
	char arg[16], line[128] = "";
	char *argv[] = { "python3", (char *)script, arg, "7", NULL };
	int to, from, status;
	FILE *f;
	pid_t pid;

	snprintf(arg, sizeof(arg), "%u", mib);
	pid = spawn(argv, &to, &from);
	if (pid < 0) {
		corpus_fail(c, "cannot start python3");
		return false;
	}
	f = fdopen(from, "r");
	if (!f || !fgets(line, sizeof(line), f) ||
	    strncmp(line, "ready", 5) != 0) {
		corpus_fail(c, "python workload %s did not get ready", script);
		close(to);
		waitpid(pid, &status, 0);
		return false;
	}
	corpus_read_process(c, pid, SRC_PYTHON, budget);
	close(to);	/* stdin closes: the workload exits */
	fclose(f);
	waitpid(pid, &status, 0);
	return c->by_src[SRC_PYTHON] > 0;
}

/*
 * A C file that keeps cc1 -O2 busy for a few seconds with a few hundred MB:
 * many functions with loops, switches, structs, inlining candidates.
 */
static inline bool write_gen_c(const char *path, unsigned nfuncs)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fprintf(f, "/* generated by the libvswap benchmark */\n"
		"struct rec { long id; double score; char name[32]; "
		"struct rec *next; };\n"
		"static inline long mix(long a, long b) "
		"{ return (a * 31) ^ (b >> 3); }\n");
	for (unsigned i = 0; i < nfuncs; i++) {
		fprintf(f,
			"long f%u(struct rec *r, long n, const char *s)\n{\n"
			"\tlong acc = %u;\n"
			"\tfor (long i = 0; i < n; i++) {\n"
			"\t\tswitch ((i + acc) %% 7) {\n"
			"\t\tcase 0: acc = mix(acc, r->id + i); break;\n"
			"\t\tcase 1: acc += (long)(r->score * %u.5); break;\n"
			"\t\tcase 2: acc ^= s[i & 15] * %uL; break;\n"
			"\t\tcase 3: r = r->next ? r->next : r; break;\n"
			"\t\tcase 4: acc = mix(acc, %u); break;\n"
			"\t\tcase 5: r->name[i & 31] = (char)acc; break;\n"
			"\t\tdefault: acc -= i * %u;\n"
			"\t\t}\n"
			"\t\tif (acc > %uL * n) acc /= 3;\n"
			"\t}\n",
			i, i, i % 97, i % 251, i * 7, i % 13 + 1, i + 1000);
		if (i > 0)
			fprintf(f, "\tif (n > 1) acc += f%u(r, n / 2, s);\n",
				i - 1);
		fprintf(f, "\treturn acc;\n}\n");
	}
	return fclose(f) == 0;
}

static inline void sleep_s(double s)
{
	struct timespec ts = { (time_t)s,
			       (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/*
 * cc1 on a generated file, read at SIGSTOP points every @interval seconds,
 * at most @per_snap pages each time, @budget in all.
 */
static inline bool corpus_from_cc1(struct corpus *c, const char *workdir,
				   size_t budget, size_t per_snap,
				   double interval)
{
	char src[512], asm_out[512], cc1[512] = "";
	FILE *p = popen("gcc -print-prog-name=cc1", "r");
	size_t got = 0;
	pid_t pid;
	int status = 0;
	bool done = false;

	if (!p || !fgets(cc1, sizeof(cc1), p)) {
		if (p)
			pclose(p);
		corpus_fail(c, "gcc -print-prog-name=cc1 failed");
		return false;
	}
	pclose(p);
	cc1[strcspn(cc1, "\n")] = 0;
	if (cc1[0] != '/') {
		corpus_fail(c, "cc1 not found (gcc said \"%s\")", cc1);
		return false;
	}
	snprintf(src, sizeof(src), "%s/corpus-gen.c", workdir);
	snprintf(asm_out, sizeof(asm_out), "%s/corpus-gen.s", workdir);
	if (!write_gen_c(src, 2500)) {
		corpus_fail(c, "cannot write %s", src);
		return false;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(cc1, cc1, "-quiet", "-O2", src, "-o", asm_out,
		      (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		corpus_fail(c, "fork: %s", strerror(errno));
		return false;
	}
	while (!done && got < budget) {
		sleep_s(interval);
		if (kill(pid, SIGSTOP) != 0)
			break;
		if (waitpid(pid, &status, WUNTRACED) != pid ||
		    !WIFSTOPPED(status)) {
			done = true;	/* it finished meanwhile */
			break;
		}
		got += corpus_read_process(c, pid, SRC_CC1,
					   budget - got < per_snap ?
					   budget - got : per_snap);
		kill(pid, SIGCONT);
	}
	if (!done) {
		kill(pid, SIGKILL);
		kill(pid, SIGCONT);
		waitpid(pid, &status, 0);
	}
	unlink(asm_out);
	return c->by_src[SRC_CC1] > 0;
}

/* Add the synthetic shares so they are the stated percent of the total. */
static inline void corpus_add_synthetic(struct corpus *c, uint64_t seed)
{
	size_t real = c->n;
	size_t total = real * 100 /
		       (100 - CORPUS_ZERO_PCT - CORPUS_SAME_PCT -
			CORPUS_RANDOM_PCT);
	size_t nz = total * CORPUS_ZERO_PCT / 100;
	size_t ns = total * CORPUS_SAME_PCT / 100;
	size_t nr = total * CORPUS_RANDOM_PCT / 100;
	unsigned char page[CPAGE];
	uint64_t *w = (uint64_t *)page;
	uint64_t x = seed;

	for (size_t i = 0; i < nz + ns + nr && c->n < c->cap; i++) {
		enum corpus_src s = i < nz ? SRC_ZERO :
				    i < nz + ns ? SRC_SAME : SRC_RANDOM;

		for (size_t j = 0; j < CPAGE / 8; j++) {
			/* splitmix64 */
			uint64_t z = (x += UINT64_C(0x9e3779b97f4a7c15));

			z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
			z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
			z ^= z >> 31;
			if (s == SRC_ZERO)
				w[j] = 0;
			else if (s == SRC_SAME)
				w[j] = j ? w[0] : (z | 1);
			else
				w[j] = z;
		}
		corpus_add(c, page, s);
	}
}

/* Shuffle (fixed seed) so kinds and sources are mixed as in a swap stream. */
static inline void corpus_shuffle(struct corpus *c, uint64_t seed)
{
	unsigned char tmp[CPAGE];
	uint64_t x = seed;

	for (size_t i = c->n; i > 1; i--) {
		uint64_t z = (x += UINT64_C(0x9e3779b97f4a7c15));
		size_t j;
		uint8_t t;

		z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
		z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
		j = (size_t)((z ^ (z >> 31)) % i);
		memcpy(tmp, corpus_page(c, i - 1), CPAGE);
		memcpy(corpus_page(c, i - 1), corpus_page(c, j), CPAGE);
		memcpy(corpus_page(c, j), tmp, CPAGE);
		t = c->src[i - 1];
		c->src[i - 1] = c->src[j];
		c->src[j] = t;
	}
}

static inline void corpus_classify(struct corpus *c)
{
	memset(c->by_kind, 0, sizeof(c->by_kind));
	for (size_t i = 0; i < c->n; i++)
		c->by_kind[page_kind_of(corpus_page(c, i))]++;
}

/*
 * The whole recipe: python (@mib MiB), cc1 (up to @mib MiB over snapshots),
 * synthetic shares, shuffle, classify. @workdir holds the generated C file.
 */
static inline bool corpus_build(struct corpus *c, const char *script,
				const char *workdir, unsigned mib)
{
	size_t budget = (size_t)mib * 256;	/* pages per real source */

	if (!corpus_init(c, budget * 2 * 100 / 75 + 1024))
		return false;
	mkdir(workdir, 0755);
	if (!corpus_from_python(c, script, mib, budget))
		return false;
	if (!corpus_from_cc1(c, workdir, budget, budget / 3, 0.6))
		return false;
	corpus_add_synthetic(c, 0x5eed);
	corpus_shuffle(c, 0xc0ffee);
	corpus_classify(c);
	return true;
}

static inline void corpus_print(const struct corpus *c, FILE *f)
{
	fprintf(f, "corpus: %zu pages (%.1f MiB)\n", c->n,
		(double)c->n * CPAGE / (1 << 20));
	for (int s = 0; s < SRC__COUNT; s++)
		fprintf(f, "  %-17s %8zu pages  %5.1f%%\n", corpus_src_names[s],
			c->by_src[s], 100.0 * (double)c->by_src[s] /
			(double)c->n);
	fprintf(f, "  by content:");
	for (int k = 0; k < CK__COUNT; k++)
		fprintf(f, " %s %.1f%%", corpus_kind_names[k],
			100.0 * (double)c->by_kind[k] / (double)c->n);
	fprintf(f, "\n  read from processes: %zu snapshots; skipped %zu "
		"absent pages, %zu mapped to the zero page%s\n", c->snapshots,
		c->skipped_absent, c->skipped_zero_pfn,
		c->have_pfns ? "" : " (no PFNs: not root?)");
}

#endif /* VSWAP_BENCH_CORPUS_H */
