/* SPDX-License-Identifier: MIT */
/*
 * libvswap benchmark against the raw limits, measured in the same run on the
 * same pages (a corpus of real memory, see corpus.h).
 *
 *   raw      memcpy, LZ4_compress_default, LZ4_decompress_safe,
 *            ZSTD_compress2 (level set once on one reused context) /
 *            ZSTD_decompressDCtx, each a best-of-N timed loop over the corpus
 *   store    libvswap store and load, one thread; store and load with two
 *            threads (each half the slots); lz4 (the default) and zstd
 *   churn    invalidate a random half, refill with other corpus pages; then
 *            pool bytes vs codec-only bytes (the ideal packing of the same
 *            decisions), metadata per slot, effective ratio
 *   overhead the store's and the load's time per page outside the codec:
 *            minus raw lz4 on only the pages they run it on (informative,
 *            with what it makes store_vs_raw_lz4 on a faster-lz4 host);
 *            after the timed runs, two calibrations split it: the first
 *            touch of fresh memory (fault in, first write) per pool page,
 *            and raw lz4 with its output packed into fresh memory, the
 *            least a store that keeps its output in new memory must do
 *
 * Targets (one thread unless named), each printed PASS/FAIL; the program
 * exits 1 if one is missed:
 *   store >= 0.90x raw lz4 compress     load >= 0.85x raw lz4 decompress
 *   pool <= 1.05x codec bytes (churn)   meta <= 16 B per stored slot
 *   2 threads >= 1.7x one thread (store)
 *
 * Usage: host_bench --workload PATH --workdir DIR --json PATH [--mib N]
 *                   [--reps N]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <lz4.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <zstd.h>

#include "corpus.h"
#include "fresh_map.h"
#include "vswap.h"

#define ZSTD_BENCH_LEVEL 3	/* zstd's own default; the store is told it too */

struct opts {
	const char *workload, *workdir, *json;
	unsigned mib, reps;
};

struct result {
	double memcpy_s, lz4c_s, lz4d_s, zstdc_s, zstdd_s;
	double lz4c_own_s, lz4d_own_s;	/* the pages the store runs lz4 on */
	double store_s, load_s, store2_s, load2_s;
	double zstore_s, zload_s;
	double store_cpu_s, store2_cpu_s;	/* thread CPU time (longest) */
	long store2_vcsw, store2_ivcsw;		/* summed over all reps */
	double store2_cores;	/* thread CPU / wall of the best 2-thread run */
	double spin1_s, spin2_s;	/* calibration: best spin times */
	double first_touch_s;	/* calibration: per fresh 4 KiB page */
	double first_touch_small_s;	/* the same, small pages only */
	double lz4c_fresh_s;	/* lz4c_own's pages, output to fresh memory */
	double lz4c_fresh2_s;	/* the same on 2 threads, half each */
	uint64_t lz4_bytes, zstd_bytes;	/* sum of compressed sizes, all pages */
	uint64_t codec_bytes;		/* ideal packing after churn */
	uint64_t pool_churn, payload_churn, meta_churn, stored_churn;
	uint64_t pool_compacted;
	double refill_s;		/* churn's refill, one thread, wall */
	uint64_t pool_full, meta_full, stored_full, payload_full;
	uint64_t meta_csum, stored_csum;	/* the same corpus, checksums on */
	uint64_t zpool_full;
	uint64_t zero_pages, same_pages, incompressible, compressed;
	uint32_t max_compressed;
	double load1, load5, load15;	/* system load average at start */
};

static struct corpus C;
static unsigned char *dst;		/* n pages: load / copy destination */
static unsigned char *comp;		/* n * LZ4 bound: compressed pages */
static int *csize;			/* lz4 size of each page */
static size_t cstride;
static size_t *coff, *zoff;	/* packed: page i's compressed form starts here */

static double mbps(double secs)
{
	return (double)C.n * CPAGE / (1 << 20) / secs;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "host_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ---- raw limits ---- */

static double t_memcpy(void)
{
	double t = now_s();

	for (size_t i = 0; i < C.n; i++)
		memcpy(dst + i * CPAGE, corpus_page(&C, i), CPAGE);
	return now_s() - t;
}

/*
 * Compression limits write into one hot buffer: the codec's own cost, the
 * toughest baseline (the store has to put its output somewhere too). The
 * outputs kept for the decompression limits are made once, untimed.
 */
static unsigned char hot[2 * CPAGE];

static double t_lz4c(void)
{
	double t = now_s();
	uint64_t sum = 0;

	for (size_t i = 0; i < C.n; i++) {
		csize[i] = LZ4_compress_default(
			(const char *)corpus_page(&C, i), (char *)hot, CPAGE,
			(int)sizeof(hot));
		sum += (uint64_t)csize[i];
	}
	t = now_s() - t;
	if (sum == 0)
		die("lz4 compressed nothing");
	return t;
}

static double t_lz4d(void)
{
	double t = now_s();

	for (size_t i = 0; i < C.n; i++)
		if (LZ4_decompress_safe((const char *)comp + coff[i],
					(char *)dst + i * CPAGE, csize[i],
					CPAGE) != CPAGE)
			die("lz4 decompress failed on page %zu", i);
	return now_s() - t;
}

/*
 * The codec's share of the store's and the load's work: the same calls on
 * only the pages the store runs lz4 on (compress: every page that is
 * neither zero nor same-filled; decompress: those of them kept compressed,
 * the rest are copied as-is). A store (load) that takes longer than this
 * spends the difference outside the codec: store_overhead_ns_per_page.
 */
static unsigned char *own_c, *own_d;	/* per page: lz4 runs on it */

static void find_own_pages(uint32_t max_c)
{
	own_c = malloc(C.n);
	own_d = malloc(C.n);
	if (!own_c || !own_d)
		die("out of memory");
	for (size_t i = 0; i < C.n; i++) {
		own_c[i] = page_kind_of(corpus_page(&C, i)) == CK_OTHER;
		own_d[i] = own_c[i] && (uint32_t)csize[i] <= max_c;
	}
}

static double t_lz4c_own(void)
{
	double t = now_s();
	int sum = 0;

	for (size_t i = 0; i < C.n; i++)
		if (own_c[i])
			sum |= LZ4_compress_default(
				(const char *)corpus_page(&C, i), (char *)hot,
				CPAGE, (int)sizeof(hot));
	t = now_s() - t;
	if (sum == 0)
		die("lz4 compressed nothing");
	return t;
}

static double t_lz4d_own(void)
{
	double t = now_s();

	for (size_t i = 0; i < C.n; i++)
		if (own_d[i] &&
		    LZ4_decompress_safe((const char *)comp + coff[i],
					(char *)dst + i * CPAGE, csize[i],
					CPAGE) != CPAGE)
			die("lz4 decompress failed on page %zu", i);
	return now_s() - t;
}

static ZSTD_CCtx *zc;
static ZSTD_DCtx *zd;
static unsigned char *zcomp;
static size_t *zsize, zstride;

static double t_zstdc(void)
{
	double t = now_s();

	for (size_t i = 0; i < C.n; i++) {
		size_t n = ZSTD_compress2(zc, hot, sizeof(hot),
					  corpus_page(&C, i), CPAGE);

		if (ZSTD_isError(n))
			die("zstd: %s", ZSTD_getErrorName(n));
	}
	return now_s() - t;
}

/*
 * The compressed pages the decompression limits read (untimed), packed back
 * to back as a store packs its objects, so neither side gets a locality
 * advantage (a page-strided layout makes the raw side slower).
 */
static void make_compressed(void)
{
	size_t co = 0, zo = 0;

	for (size_t i = 0; i < C.n; i++) {
		coff[i] = co;
		zoff[i] = zo;
		csize[i] = LZ4_compress_default(
			(const char *)corpus_page(&C, i), (char *)comp + co,
			CPAGE, (int)cstride);
		zsize[i] = ZSTD_compress2(zc, zcomp + zo, zstride,
					  corpus_page(&C, i), CPAGE);
		if (csize[i] <= 0 || ZSTD_isError(zsize[i]))
			die("compressing page %zu failed", i);
		co += (size_t)csize[i];
		zo += zsize[i];
	}
}

static double t_zstdd(void)
{
	double t = now_s();

	for (size_t i = 0; i < C.n; i++)
		if (ZSTD_decompressDCtx(zd, dst + i * CPAGE, CPAGE,
					zcomp + zoff[i], zsize[i]) != CPAGE)
			die("zstd decompress failed on page %zu", i);
	return now_s() - t;
}

/*
 * Calibration: what the machine gives two threads right now. Pure ALU work,
 * no memory, no locks: 2 threads doing twice the work of one in the same
 * wall time means two free cores (2.0); other load pulls it toward 1.0.
 */
#define SPIN_ITERS 100000000UL

static void *spin(void *arg)
{
	volatile unsigned long x = 0;

	for (unsigned long i = 0; i < SPIN_ITERS; i++)
		x += i;
	return arg;
}

/* Fault in FRESH_SEG bytes at @p, as memsource.c does for a segment. */
static void fault_in_seg(unsigned char *p)
{
#ifdef MADV_POPULATE_WRITE
	madvise(p, FRESH_SEG, MADV_POPULATE_WRITE);
#else
	(void)p;
#endif
}

/*
 * Calibration: seconds per 4 KiB page to fault in fresh anonymous memory
 * a segment at a time, as the pool takes it, and write one byte to each
 * page, on a new mapping of FIRST_TOUCH_BYTES (@huge: mapped as the pool
 * maps it; else small pages only). Every store here starts with a fresh
 * pool, so this is a cost inside store_overhead_ns_per_page that depends
 * on the machine alone (page clearing, and on a virtual machine whatever
 * the hypervisor does when a guest page is first used). Informative: on
 * a build machine (a PVM guest) small pages cost 4.4-10 us each, the
 * fault 0.6 us of it and the rest the first write, and huge pages 0.25 us.
 */
#define FIRST_TOUCH_BYTES	((size_t)32 << 20)

static double t_first_touch(bool huge)
{
	unsigned char *p = fresh_map(FIRST_TOUCH_BYTES, huge);

	if (!p)
		die("mmap of %zu bytes failed", FIRST_TOUCH_BYTES);
	double t = now_s();

	for (size_t off = 0; off < FIRST_TOUCH_BYTES; off += FRESH_SEG) {
		fault_in_seg(p + off);
		/* The first write from user space too: on a virtual machine
		 * with shadow page tables it costs more than the fault. */
		for (size_t i = 0; i < FRESH_SEG; i += 4096)
			((volatile unsigned char *)p)[off + i] = 1;
	}
	t = (now_s() - t) / (double)(FIRST_TOUCH_BYTES / 4096);
	fresh_unmap(p, FIRST_TOUCH_BYTES);
	return t;
}

/*
 * lz4 on the pages the store compresses (t_lz4c_own), each output packed
 * behind the last, 8-aligned, in a new mapping (as the pool maps it)
 * faulted in 128 KiB at a time ahead of the writes: what any store that
 * keeps its output in new memory must do at least (informative; the
 * target's raw lz4 writes to one hot buffer).
 */
/*
 * lz4 of the pages in [@first, @end) that the store compresses, packed
 * into a new mapping faulted in a segment at a time, as one context of
 * the store fills its head segments. Wall time of the compression and
 * faults (the mapping untimed); times from a barrier for 2 threads.
 */
struct fresh_job {
	size_t first, end;
	pthread_barrier_t *bar;
	double t0, t1;
};

static void *lz4c_fresh_range(void *arg)
{
	struct fresh_job *j = arg;
	size_t len = 0, off = 0, ready = 0;
	unsigned char *p;

	for (size_t i = j->first; i < j->end; i++)
		if (own_c[i])
			len += ((size_t)csize[i] + 7) & ~(size_t)7;
	len = (len + 2 * FRESH_SEG + cstride) & ~(FRESH_SEG - 1);
	p = fresh_map(len, true);
	if (!p)
		die("mmap of %zu bytes failed", len);
	if (j->bar)
		pthread_barrier_wait(j->bar);
	j->t0 = now_s();
	for (size_t i = j->first; i < j->end; i++) {
		int n;

		if (!own_c[i])
			continue;
		for (; off + cstride > ready && ready < len; ready += FRESH_SEG)
			fault_in_seg(p + ready);
		n = LZ4_compress_default((const char *)corpus_page(&C, i),
					 (char *)p + off, CPAGE, (int)cstride);
		if (n <= 0)
			die("lz4 compress failed on page %zu", i);
		off += ((size_t)n + 7) & ~(size_t)7;
	}
	j->t1 = now_s();
	fresh_unmap(p, len);
	return NULL;
}

static double t_lz4c_own_fresh(void)
{
	struct fresh_job j = { 0, C.n, NULL, 0, 0 };

	lz4c_fresh_range(&j);
	return j.t1 - j.t0;
}

/*
 * The same on two threads, each half the pages into its own mapping: the
 * store's 2-thread case without the store. How well the codec and the
 * first touch of new memory scale on this machine right now is what
 * scaling_2_threads is to be read against (the target stays 1.7).
 */
static double t_lz4c_own_fresh2(void)
{
	struct fresh_job j[2];
	pthread_t t[2];
	pthread_barrier_t bar;

	pthread_barrier_init(&bar, NULL, 2);
	for (int i = 0; i < 2; i++) {
		j[i] = (struct fresh_job){ C.n * (size_t)i / 2,
					   C.n * (size_t)(i + 1) / 2, &bar,
					   0, 0 };
		pthread_create(&t[i], NULL, lz4c_fresh_range, &j[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	return (j[0].t1 > j[1].t1 ? j[0].t1 : j[1].t1) -
	       (j[0].t0 < j[1].t0 ? j[0].t0 : j[1].t0);
}

/* Wall time of the spin on @nthreads threads (1 or 2), each a full spin. */
static double spin_time(int nthreads)
{
	pthread_t a, b;
	double t = now_s();

	if (nthreads == 1) {
		spin(NULL);
		return now_s() - t;
	}
	pthread_create(&a, NULL, spin, NULL);
	pthread_create(&b, NULL, spin, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return now_s() - t;
}

static void keep_min(double *best, double t)
{
	if (t < *best)
		*best = t;
}

/* ---- libvswap ---- */

static struct vswap_store *new_store_csum(enum vswap_codec codec, int level,
					  bool checksum)
{
	struct vswap_params p;
	struct vswap_store *s;
	int err = 0;

	vswap_params_init(&p, C.n);
	p.codec = codec;
	p.level = level;
	p.checksum = checksum;
	s = vswap_store_create(&p, &err);
	if (!s)
		die("vswap_store_create: %s", vswap_strerror(err));
	return s;
}

static struct vswap_store *new_store(enum vswap_codec codec, int level)
{
	return new_store_csum(codec, level, false);
}

struct job {
	struct vswap_store *s;
	size_t first, end;
	bool load;
	pthread_barrier_t *bar;
	double t0, t1;
	double cpu;		/* CPU time of the thread doing it */
	long vcsw, ivcsw;	/* its voluntary / involuntary switches */
};

/* Context switches of the calling thread: voluntary ones mean it blocked
 * (a lock, a page fault on I/O), involuntary ones that it was preempted. */
static void thread_switches(long *vol, long *invol)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*vol = ru.ru_nvcsw;
	*invol = ru.ru_nivcsw;
}

/* Sums over the threads of the last run_threads() call. */
static long last_vcsw, last_ivcsw;
static double last_cpu_sum_s;

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Longest thread CPU time of the last run_threads() call. */
static double last_cpu_s;

static void *run_job(void *arg)
{
	struct job *j = arg;
	int ret;

	if (j->bar)
		pthread_barrier_wait(j->bar);
	thread_switches(&j->vcsw, &j->ivcsw);
	j->cpu = thread_cpu_s();
	j->t0 = now_s();
	for (size_t i = j->first; i < j->end; i++) {
		if (j->load)
			ret = vswap_load_page(j->s, i, dst + i * CPAGE);
		else
			ret = vswap_store_page(j->s, i, corpus_page(&C, i));
		if (ret != VSWAP_OK)
			die("%s slot %zu: %s", j->load ? "load" : "store", i,
			    vswap_strerror(ret));
	}
	j->t1 = now_s();
	j->cpu = thread_cpu_s() - j->cpu;
	{
		long v, iv;

		thread_switches(&v, &iv);
		j->vcsw = v - j->vcsw;
		j->ivcsw = iv - j->ivcsw;
	}
	return NULL;
}

/* Wall time of @nthreads threads each doing a contiguous share of slots. */
static double run_threads(struct vswap_store *s, bool load, int nthreads)
{
	struct job j[2];
	pthread_t t[2];
	pthread_barrier_t bar;
	double t0 = 1e30, t1 = 0;

	if (nthreads == 1) {
		j[0] = (struct job){ s, 0, C.n, load, NULL, 0, 0, 0, 0, 0 };
		run_job(&j[0]);
		last_cpu_s = last_cpu_sum_s = j[0].cpu;
		last_vcsw = j[0].vcsw;
		last_ivcsw = j[0].ivcsw;
		return j[0].t1 - j[0].t0;
	}
	pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++) {
		j[i] = (struct job){ s, C.n * (size_t)i / (size_t)nthreads,
				     C.n * (size_t)(i + 1) / (size_t)nthreads,
				     load, &bar, 0, 0, 0, 0, 0 };
		pthread_create(&t[i], NULL, run_job, &j[i]);
	}
	last_cpu_s = last_cpu_sum_s = 0;
	last_vcsw = last_ivcsw = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		last_cpu_sum_s += j[i].cpu;
		last_vcsw += j[i].vcsw;
		last_ivcsw += j[i].ivcsw;
		if (j[i].cpu > last_cpu_s)
			last_cpu_s = j[i].cpu;
		if (j[i].t0 < t0)
			t0 = j[i].t0;
		if (j[i].t1 > t1)
			t1 = j[i].t1;
	}
	pthread_barrier_destroy(&bar);
	return t1 - t0;
}

/* Best of @reps: store everything into a fresh store (creation untimed). */
static double bench_store(unsigned reps, enum vswap_codec codec, int level,
			  int nthreads, struct vswap_store **keep)
{
	double best = 1e30;

	for (unsigned r = 0; r < reps; r++) {
		struct vswap_store *s = new_store(codec, level);
		double t = run_threads(s, false, nthreads);

		if (t < best)
			best = t;
		if (keep && r + 1 == reps)
			*keep = s;
		else
			vswap_store_destroy(s);
	}
	return best;
}

static double bench_load(unsigned reps, struct vswap_store *s, int nthreads)
{
	double best = 1e30;

	for (unsigned r = 0; r < reps; r++) {
		double t = run_threads(s, true, nthreads);

		if (t < best)
			best = t;
	}
	return best;
}

static void verify_all(struct vswap_store *s, const size_t *content,
		       const char *when)
{
	unsigned char page[CPAGE];

	for (size_t i = 0; i < C.n; i++) {
		int ret = vswap_load_page(s, i, page);

		if (ret != VSWAP_OK)
			die("%s: load slot %zu: %s", when, i,
			    vswap_strerror(ret));
		if (memcmp(page, corpus_page(&C, content ? content[i] : i),
			   CPAGE) != 0)
			die("%s: slot %zu is not bit-exact", when, i);
	}
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Ideal packing of what the slots hold now: what the codec alone needs. */
static uint64_t codec_bytes(const size_t *content, uint32_t max_c)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < C.n; i++) {
		size_t j = content[i];

		if (page_kind_of(corpus_page(&C, j)) != CK_OTHER)
			continue;
		sum += (uint32_t)csize[j] > max_c ? CPAGE : (uint64_t)csize[j];
	}
	return sum;
}

static void churn(struct vswap_store *s, struct result *r)
{
	size_t *content = malloc(C.n * sizeof(*content));
	size_t *perm = malloc(C.n * sizeof(*perm));
	struct vswap_stats st;
	uint64_t x = 0xc4a5;

	if (!content || !perm)
		die("out of memory");
	for (size_t i = 0; i < C.n; i++)
		content[i] = perm[i] = i;
	for (size_t i = C.n; i > 1; i--) {
		size_t j = (size_t)(splitmix(&x) % i), t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	/* invalidate a random half, one slot at a time (as a guest frees) */
	for (size_t k = 0; k < C.n / 2; k++)
		if (vswap_invalidate(s, perm[k], 1) != VSWAP_OK)
			die("invalidate failed");
	/* refill them with other corpus pages (timed: stores into a pool
	 * that churn has split, context for the fresh store's figure) */
	r->refill_s = now_s();
	for (size_t k = 0; k < C.n / 2; k++) {
		size_t slot = perm[k], j = (size_t)(splitmix(&x) % C.n);
		int ret = vswap_store_page(s, slot, corpus_page(&C, j));

		if (ret != VSWAP_OK)
			die("refill store: %s", vswap_strerror(ret));
		content[slot] = j;
	}
	r->refill_s = now_s() - r->refill_s;
	vswap_get_stats(s, &st);
	r->pool_churn = st.pool_bytes;
	r->payload_churn = st.compressed_bytes;
	r->meta_churn = st.meta_bytes;
	r->stored_churn = st.stored_pages;
	r->codec_bytes = codec_bytes(content, r->max_compressed);
	verify_all(s, content, "after churn");
	if (vswap_compact(s) < 0)
		die("vswap_compact failed");
	vswap_get_stats(s, &st);
	r->pool_compacted = st.pool_bytes;
	verify_all(s, content, "after compaction");
	free(content);
	free(perm);
}

static void read_loadavg(struct result *r)
{
	FILE *f = fopen("/proc/loadavg", "r");

	if (!f || fscanf(f, "%lf %lf %lf", &r->load1, &r->load5,
			 &r->load15) != 3)
		r->load1 = r->load5 = r->load15 = -1;
	if (f)
		fclose(f);
}

/*
 * Outside the codec (informative, no target): a store of the corpus takes
 * phi * T + O per page, T being raw lz4's time per page (every page), phi
 * the share of it spent on the pages the store compresses (a property of
 * the codec and the corpus, the same on any host) and O the store's own
 * work (store_overhead_ns_per_page). On a host whose raw lz4 runs at
 * PROJECT_LZ4_MIBS, with O as measured here (in ns, not scaled down with
 * the faster codec), store_vs_raw_lz4 would be T / (phi * T + O): the
 * fastest raw lz4 seen on a development machine, where a fixed cost per
 * page shows most.
 */
#define PROJECT_LZ4_MIBS	1150.0

static double project_store_ratio(const struct result *r, double mibs)
{
	double t = CPAGE / (mibs * (1 << 20));
	double phi = r->lz4c_own_s / r->lz4c_s;
	double o = (r->store_s - r->lz4c_own_s) / (double)C.n;

	return t / (phi * t + o);
}

struct target {
	const char *key, *what;
	double value, limit;
	bool at_least;		/* value >= limit, else value <= limit */
};

int main(int argc, char **argv)
{
	struct opts o = { .mib = 64, .reps = 5 };
	static const struct option lo[] = {
		{ "workload", 1, NULL, 'w' }, { "workdir", 1, NULL, 'd' },
		{ "json", 1, NULL, 'j' }, { "mib", 1, NULL, 'm' },
		{ "reps", 1, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	struct result r = { 0 };
	struct vswap_store *s, *s2;
	struct vswap_stats st;
	struct vswap_params defaults;
	double t_build;
	int c, failed = 0;
	FILE *jf;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'w': o.workload = optarg; break;
		case 'd': o.workdir = optarg; break;
		case 'j': o.json = optarg; break;
		case 'm': o.mib = (unsigned)atoi(optarg); break;
		case 'r': o.reps = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (!o.workload || !o.workdir || !o.json || !o.mib || !o.reps)
		die("usage: host_bench --workload PATH --workdir DIR "
		    "--json PATH [--mib N] [--reps N]");
	read_loadavg(&r);

	t_build = now_s();
	if (!corpus_build(&C, o.workload, o.workdir, o.mib))
		die("corpus: %s", C.err);
	t_build = now_s() - t_build;
	corpus_print(&C, stdout);
	printf("  built in %.1f s; load average at start %.2f %.2f %.2f\n\n",
	       t_build, r.load1, r.load5, r.load15);
	fflush(stdout);

	vswap_params_init(&defaults, 1);
	r.max_compressed = defaults.max_compressed ? defaults.max_compressed :
			   3072;

	/* raw limits */
	cstride = (size_t)LZ4_compressBound(CPAGE);
	zstride = ZSTD_compressBound(CPAGE);
	dst = mmap(NULL, C.n * CPAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	comp = malloc(C.n * cstride);
	zcomp = malloc(C.n * zstride);
	coff = malloc(C.n * sizeof(*coff));
	zoff = malloc(C.n * sizeof(*zoff));
	if (!coff || !zoff)
		die("out of memory");
	csize = malloc(C.n * sizeof(*csize));
	zsize = malloc(C.n * sizeof(*zsize));
	zc = ZSTD_createCCtx();
	zd = ZSTD_createDCtx();
	/* sticky parameters, set once: the cheapest per-page call zstd has */
	if (zc) {
		ZSTD_CCtx_setParameter(zc, ZSTD_c_compressionLevel,
				       ZSTD_BENCH_LEVEL);
		ZSTD_CCtx_setParameter(zc, ZSTD_c_checksumFlag, 0);
		ZSTD_CCtx_setParameter(zc, ZSTD_c_contentSizeFlag, 0);
	}
	if (dst == MAP_FAILED || !comp || !zcomp || !csize || !zsize || !zc ||
	    !zd)
		die("out of memory");
	memset(dst, 1, C.n * CPAGE);	/* fault it in before timing */
	/*
	 * Raw and libvswap runs alternate within each repetition, so a burst
	 * of load from elsewhere hits both sides of a ratio alike; each
	 * figure is the best of its repetitions. Stores go to a fresh store
	 * each time (creation untimed); loads read the store kept from the
	 * last one-thread store.
	 */
	r.memcpy_s = r.lz4c_s = r.lz4d_s = r.zstdc_s = r.zstdd_s = 1e30;
	r.lz4c_own_s = r.lz4d_own_s = 1e30;
	r.store_s = r.store2_s = r.load_s = r.load2_s = 1e30;
	r.zstore_s = r.zload_s = 1e30;
	r.store_cpu_s = r.store2_cpu_s = 1e30;
	r.spin1_s = r.spin2_s = 1e30;
	r.first_touch_s = r.first_touch_small_s = r.lz4c_fresh_s = 1e30;
	r.lz4c_fresh2_s = 1e30;
	s = NULL;
	s2 = NULL;
	make_compressed();
	find_own_pages(r.max_compressed);
	for (unsigned rep = 0; rep < o.reps; rep++) {
		struct vswap_store *tmp;

		keep_min(&r.memcpy_s, t_memcpy());
		keep_min(&r.lz4c_own_s, t_lz4c_own());
		keep_min(&r.lz4c_s, t_lz4c());
		if (s)
			vswap_store_destroy(s);
		keep_min(&r.store_s, bench_store(1, VSWAP_CODEC_LZ4, 0, 1, &s));
		keep_min(&r.store_cpu_s, last_cpu_s);
		{
			double t2 = bench_store(1, VSWAP_CODEC_LZ4, 0, 2, &tmp);

			/* cores the best 2-thread run actually got */
			if (t2 < r.store2_s)
				r.store2_cores = last_cpu_sum_s / t2;
			keep_min(&r.store2_s, t2);
		}
		keep_min(&r.store2_cpu_s, last_cpu_s);
		keep_min(&r.spin1_s, spin_time(1));
		keep_min(&r.spin2_s, spin_time(2));
		r.store2_vcsw += last_vcsw;
		r.store2_ivcsw += last_ivcsw;
		keep_min(&r.lz4d_own_s, t_lz4d_own());
		keep_min(&r.lz4d_s, t_lz4d());
		keep_min(&r.load_s, bench_load(1, s, 1));
		keep_min(&r.load2_s, bench_load(1, tmp, 2));
		if (rep == 0)
			verify_all(tmp, NULL, "after 2-thread store");
		vswap_store_destroy(tmp);
		keep_min(&r.zstdc_s, t_zstdc());
		if (s2)
			vswap_store_destroy(s2);
		keep_min(&r.zstore_s, bench_store(1, VSWAP_CODEC_ZSTD,
						  ZSTD_BENCH_LEVEL, 1, &s2));
		keep_min(&r.zstdd_s, t_zstdd());
		keep_min(&r.zload_s, bench_load(1, s2, 1));
	}
	/* After every timed run: faulting in and unmapping 32 MiB between
	 * them slowed the next runs 2-5x on a build machine. */
	for (unsigned rep = 0; rep < 3; rep++) {
		keep_min(&r.first_touch_s, t_first_touch(true));
		keep_min(&r.first_touch_small_s, t_first_touch(false));
		keep_min(&r.lz4c_fresh_s, t_lz4c_own_fresh());
		keep_min(&r.lz4c_fresh2_s, t_lz4c_own_fresh2());
	}
	uint64_t src_lz4[SRC__COUNT] = { 0 }, src_zstd[SRC__COUNT] = { 0 };

	for (size_t i = 0; i < C.n; i++) {
		r.lz4_bytes += (uint64_t)csize[i];
		r.zstd_bytes += zsize[i];
		src_lz4[C.src[i]] += (uint64_t)csize[i];
		src_zstd[C.src[i]] += zsize[i];
	}
	printf("raw compression ratio by source (lz4 / zstd-3):");
	for (int i = 0; i < SRC__COUNT; i++)
		printf("%s %s %.2f / %.2f", i ? "," : "", corpus_src_names[i],
		       (double)C.by_src[i] * CPAGE / (double)src_lz4[i],
		       (double)C.by_src[i] * CPAGE / (double)src_zstd[i]);
	printf("\n\n");
	verify_all(s2, NULL, "after zstd store");
	vswap_get_stats(s2, &st);
	r.zpool_full = st.pool_bytes;
	vswap_store_destroy(s2);

	verify_all(s, NULL, "after store");
	vswap_get_stats(s, &st);
	r.pool_full = st.pool_bytes;
	r.meta_full = st.meta_bytes;
	r.stored_full = st.stored_pages;
	r.payload_full = st.compressed_bytes;
	r.zero_pages = st.zero_pages;
	r.same_pages = st.same_pages;
	r.incompressible = st.incompressible_pages;
	r.compressed = st.compressed_pages;

	churn(s, &r);
	vswap_store_destroy(s);

	/* Checksums (off by default) widen each object header by 4 bytes. */
	s = new_store_csum(VSWAP_CODEC_LZ4, 0, true);
	run_threads(s, false, 1);
	verify_all(s, NULL, "after store with checksums");
	vswap_get_stats(s, &st);
	r.meta_csum = st.meta_bytes;
	r.stored_csum = st.stored_pages;
	vswap_store_destroy(s);

	const double logical = (double)r.stored_churn * CPAGE;
	struct target t[] = {
		{ "store_vs_raw_lz4", "store / raw LZ4_compress_default",
		  r.lz4c_s / r.store_s, 0.90, true },
		{ "load_vs_raw_lz4", "load / raw LZ4_decompress_safe",
		  r.lz4d_s / r.load_s, 0.85, true },
		{ "pool_vs_codec_bytes", "pool bytes / codec-only bytes (churn)",
		  (double)r.pool_churn / (double)r.codec_bytes, 1.05, false },
		{ "meta_bytes_per_slot", "metadata bytes per stored slot",
		  (double)r.meta_full / (double)r.stored_full, 16, false },
		{ "scaling_2_threads", "store, 2 threads / 1 thread",
		  r.store_s / r.store2_s, 1.7, true },
	};
	const size_t nt = sizeof(t) / sizeof(t[0]);

	printf("%-34s %10s %10s\n", "throughput (logical MiB/s)", "raw",
	       "libvswap");
	printf("%-34s %10.0f %10s\n", "memcpy", mbps(r.memcpy_s), "");
	printf("%-34s %10.0f %10.0f  (%.2fx)\n", "lz4 compress / store",
	       mbps(r.lz4c_s), mbps(r.store_s), r.lz4c_s / r.store_s);
	printf("%-34s %10.0f %10.0f  (%.2fx)\n", "lz4 decompress / load",
	       mbps(r.lz4d_s), mbps(r.load_s), r.lz4d_s / r.load_s);
	printf("%-34s %10s %10.0f  (%.2fx one thread)\n",
	       "store, 2 threads", "", mbps(r.store2_s),
	       r.store_s / r.store2_s);
	printf("%-34s %10s %10s  (got %.2f cores; %.2fx in thread CPU "
	       "time; %.1f blocking, %.1f preempted switches per rep)\n",
	       "store, 2 threads (diagnostic)", "", "", r.store2_cores,
	       r.store_cpu_s / r.store2_cpu_s,
	       (double)r.store2_vcsw / o.reps,
	       (double)r.store2_ivcsw / o.reps);
	printf("%-34s %10s %10s  (%.2fx: pure ALU spin, 2 threads vs 1; "
	       "2.00 = two free cores)\n", "machine, 2 threads (calibration)",
	       "", "", 2 * r.spin1_s / r.spin2_s);
	printf("%-34s %10s %10s  (%.2fx: the store's lz4 work into fresh "
	       "memory without the store, 2 threads vs 1, in the same "
	       "run)\n", "lz4 to fresh memory, 2 threads", "", "",
	       r.lz4c_fresh_s / r.lz4c_fresh2_s);
	printf("%-34s %10s %10.0f  (%.2fx one thread)\n", "load, 2 threads",
	       "", mbps(r.load2_s), r.load_s / r.load2_s);
	printf("%-34s %10.0f %10.0f  (%.2fx)\n", "zstd-3 compress / store",
	       mbps(r.zstdc_s), mbps(r.zstore_s), r.zstdc_s / r.zstore_s);
	printf("%-34s %10.0f %10.0f  (%.2fx)\n", "zstd-3 decompress / load",
	       mbps(r.zstdd_s), mbps(r.zload_s), r.zstdd_s / r.zload_s);
	printf("\nspace (lz4)\n");
	printf("  full store: %" PRIu64 " pages: %" PRIu64 " zero, %" PRIu64
	       " same, %" PRIu64 " compressed, %" PRIu64 " as-is\n",
	       r.stored_full, r.zero_pages, r.same_pages, r.compressed,
	       r.incompressible);
	printf("  full store: pool %.1f MiB for %.1f MiB logical (ratio "
	       "%.2f), payload %.1f MiB, meta %.1f MiB\n",
	       r.pool_full / 1048576.0, r.stored_full * 4096 / 1048576.0,
	       r.stored_full * 4096.0 / (double)r.pool_full,
	       r.payload_full / 1048576.0, r.meta_full / 1048576.0);
	printf("  raw codecs on all pages: lz4 %.1f MiB, zstd-3 %.1f MiB; "
	       "zstd store pool %.1f MiB\n", r.lz4_bytes / 1048576.0,
	       r.zstd_bytes / 1048576.0, r.zpool_full / 1048576.0);
	printf("  after churn: pool %.1f MiB, codec-only %.1f MiB, store "
	       "payload %.1f MiB, meta %.1f MiB\n", r.pool_churn / 1048576.0,
	       r.codec_bytes / 1048576.0, r.payload_churn / 1048576.0,
	       r.meta_churn / 1048576.0);
	printf("  churn's refill (half the slots, one thread): %.0f MiB/s\n",
	       mbps(r.refill_s) / 2);
	printf("  after explicit vswap_compact: pool %.1f MiB (%.3fx codec)\n",
	       r.pool_compacted / 1048576.0,
	       (double)r.pool_compacted / (double)r.codec_bytes);
	printf("  effective ratio after churn: %.2f (logical / pool)\n",
	       logical / (double)r.pool_churn);
	printf("  metadata per stored slot: %.2f bytes = slot table %zu "
	       "(vswap_slot_meta_bytes) + object headers etc. %.2f\n",
	       (double)r.meta_full / (double)r.stored_full,
	       vswap_slot_meta_bytes(),
	       (double)r.meta_full / (double)r.stored_full -
	       (double)vswap_slot_meta_bytes());
	printf("  metadata per stored slot with checksums on (not a "
	       "target): %.2f bytes\n\n",
	       (double)r.meta_csum / (double)r.stored_csum);

	const double store_oh_ns = (r.store_s - r.lz4c_own_s) / (double)C.n * 1e9;
	/* Pool pages a corpus page costs, each faulted in fresh once. */
	const double pool_pages_per_page =
		(double)(r.pool_full - r.meta_full) / 4096.0 / (double)C.n;
	const double first_touch_ns = pool_pages_per_page * r.first_touch_s * 1e9;
	const double load_oh_ns = (r.load_s - r.lz4d_own_s) / (double)C.n * 1e9;
	const double projected = project_store_ratio(&r, PROJECT_LZ4_MIBS);

	printf("outside the codec (informative, per corpus page)\n");
	printf("  store %.0f ns: store %.0f ns - lz4 compress of the %.1f %% "
	       "of pages it compresses %.0f ns\n", store_oh_ns,
	       r.store_s / (double)C.n * 1e9, 100.0 * r.lz4c_own_s / r.lz4c_s,
	       r.lz4c_own_s / (double)C.n * 1e9);
	printf("    of it, first touch of the new pool's memory about %.0f ns: "
	       "%.3f pool pages per page x %.0f ns to fault in and first write "
	       "a fresh 4 KiB page on this machine (calibration, 128 KiB at a "
	       "time, mapped as the pool maps it; %.0f ns with small pages "
	       "only); the rest, the store's own work: %.0f ns\n",
	       first_touch_ns, pool_pages_per_page, r.first_touch_s * 1e9,
	       r.first_touch_small_s * 1e9, store_oh_ns - first_touch_ns);
	printf("    store vs the same lz4 writing its output to fresh memory "
	       "(packed, faulted in 128 KiB at a time): %.3f (%.0f ns per "
	       "page)\n", r.lz4c_fresh_s / r.store_s,
	       r.lz4c_fresh_s / (double)C.n * 1e9);
	printf("  load %.0f ns: load %.0f ns - lz4 decompress of the pages it "
	       "decompresses %.0f ns\n", load_oh_ns,
	       r.load_s / (double)C.n * 1e9, r.lz4d_own_s / (double)C.n * 1e9);
	printf("  store_vs_raw_lz4 on a host with raw lz4 at %.0f MiB/s and "
	       "this overhead: %.3f\n\n", PROJECT_LZ4_MIBS, projected);

	printf("targets (load average at start %.2f)\n", r.load1);
	for (size_t i = 0; i < nt; i++) {
		bool ok = t[i].at_least ? t[i].value >= t[i].limit :
					  t[i].value <= t[i].limit;

		printf("  %-4s %-22s %8.3f %s %-5g %s\n", ok ? "PASS" : "FAIL",
		       t[i].key, t[i].value, t[i].at_least ? ">=" : "<=",
		       t[i].limit, t[i].what);
		failed += !ok;
	}

	jf = fopen(o.json, "w");
	if (!jf)
		die("cannot write %s", o.json);
	fprintf(jf, "{\n");
	for (size_t i = 0; i < nt; i++)
		fprintf(jf, "  \"%s\": %.4f,\n", t[i].key, t[i].value);
	fprintf(jf, "  \"effective_ratio\": %.4f,\n",
		logical / (double)r.pool_churn);
	fprintf(jf, "  \"store_overhead_ns_per_page\": %.1f,\n"
		"  \"load_overhead_ns_per_page\": %.1f,\n"
		"  \"store_lz4_time_share\": %.4f,\n"
		"  \"store_vs_raw_lz4_projected\": {\"raw_lz4_mib_per_s\": %.0f, "
		"\"ratio\": %.4f},\n", store_oh_ns, load_oh_ns,
		r.lz4c_own_s / r.lz4c_s, PROJECT_LZ4_MIBS, projected);
	fprintf(jf, "  \"first_touch_ns_per_4k_page\": %.1f,\n"
		"  \"first_touch_ns_per_4k_page_small_pages\": %.1f,\n"
		"  \"store_overhead_first_touch_ns_per_page\": %.1f,\n"
		"  \"store_overhead_own_ns_per_page\": %.1f,\n"
		"  \"store_vs_raw_lz4_to_fresh_memory\": %.4f,\n",
		r.first_touch_s * 1e9, r.first_touch_small_s * 1e9,
		first_touch_ns, store_oh_ns - first_touch_ns,
		r.lz4c_fresh_s / r.store_s);
	fprintf(jf, "  \"meta_bytes_per_slot_checksum\": %.4f,\n",
		(double)r.meta_csum / (double)r.stored_csum);
	fprintf(jf, "  \"scaling_2_threads_cpu\": %.4f,\n",
		r.store_cpu_s / r.store2_cpu_s);
	fprintf(jf, "  \"store_2_threads_cores_used\": %.3f,\n",
		r.store2_cores);
	fprintf(jf, "  \"machine_scaling_2_threads\": %.3f,\n",
		2 * r.spin1_s / r.spin2_s);
	fprintf(jf, "  \"lz4_fresh_scaling_2_threads\": %.3f,\n",
		r.lz4c_fresh_s / r.lz4c_fresh2_s);
	fprintf(jf, "  \"store_2_threads_switches_per_rep\": {\"voluntary\": "
		"%.1f, \"involuntary\": %.1f},\n",
		(double)r.store2_vcsw / o.reps,
		(double)r.store2_ivcsw / o.reps);
	fprintf(jf, "  \"targets\": {");
	for (size_t i = 0; i < nt; i++)
		fprintf(jf, "%s\"%s\": {\"limit\": %g, \"op\": \"%s\", "
			"\"pass\": %s}", i ? ", " : "", t[i].key, t[i].limit,
			t[i].at_least ? ">=" : "<=",
			(t[i].at_least ? t[i].value >= t[i].limit :
			 t[i].value <= t[i].limit) ? "true" : "false");
	fprintf(jf, "},\n  \"targets_failed\": %d,\n", failed);
	fprintf(jf, "  \"mib_per_s\": {\"memcpy\": %.1f, \"lz4_compress\": "
		"%.1f, \"lz4_decompress\": %.1f, \"zstd_compress\": %.1f, "
		"\"zstd_decompress\": %.1f, \"store\": %.1f, \"load\": %.1f, "
		"\"store_2_threads\": %.1f, \"load_2_threads\": %.1f, "
		"\"zstd_store\": %.1f, \"zstd_load\": %.1f},\n",
		mbps(r.memcpy_s), mbps(r.lz4c_s), mbps(r.lz4d_s),
		mbps(r.zstdc_s), mbps(r.zstdd_s), mbps(r.store_s),
		mbps(r.load_s), mbps(r.store2_s), mbps(r.load2_s),
		mbps(r.zstore_s), mbps(r.zload_s));
	fprintf(jf, "  \"bytes\": {\"pool_full\": %" PRIu64 ", "
		"\"meta_full\": %" PRIu64 ", \"payload_full\": %" PRIu64 ", "
		"\"pool_after_churn\": %" PRIu64 ", \"codec_after_churn\": %"
		PRIu64 ", \"payload_after_churn\": %" PRIu64 ", "
		"\"pool_after_compact\": %" PRIu64 ", \"raw_lz4\": %" PRIu64
		", \"raw_zstd\": %" PRIu64 ", \"zstd_pool_full\": %" PRIu64
		", \"max_compressed\": %u, \"slot_meta_bytes\": %zu, "
		"\"churn_refill_mib_s\": %.1f},\n",
		r.pool_full, r.meta_full, r.payload_full, r.pool_churn,
		r.codec_bytes, r.payload_churn, r.pool_compacted, r.lz4_bytes,
		r.zstd_bytes, r.zpool_full, r.max_compressed,
		vswap_slot_meta_bytes(), mbps(r.refill_s) / 2);
	fprintf(jf, "  \"store_pages\": {\"stored\": %" PRIu64 ", \"zero\": %"
		PRIu64 ", \"same\": %" PRIu64 ", \"compressed\": %" PRIu64
		", \"incompressible\": %" PRIu64 "},\n", r.stored_full,
		r.zero_pages, r.same_pages, r.compressed, r.incompressible);
	fprintf(jf, "  \"corpus\": {\"pages\": %zu", C.n);
	for (int i = 0; i < SRC__COUNT; i++)
		fprintf(jf, ", \"%s\": %zu", corpus_src_names[i], C.by_src[i]);
	for (int i = 0; i < CK__COUNT; i++)
		fprintf(jf, ", \"kind_%s\": %zu", corpus_kind_names[i],
			C.by_kind[i]);
	fprintf(jf, ", \"snapshots\": %zu, \"skipped_absent\": %zu, "
		"\"skipped_zero_pfn\": %zu, \"share_pct\": {\"zero\": %d, "
		"\"same\": %d, \"random\": %d}},\n", C.snapshots,
		C.skipped_absent, C.skipped_zero_pfn, CORPUS_ZERO_PCT,
		CORPUS_SAME_PCT, CORPUS_RANDOM_PCT);
	fprintf(jf, "  \"reps\": %u,\n  \"load_average\": [%.2f, %.2f, %.2f],"
		"\n  \"cpus\": %ld\n}\n", o.reps, r.load1, r.load5, r.load15,
		sysconf(_SC_NPROCESSORS_ONLN));
	fclose(jf);
	printf("\n%s: %d of %zu targets missed\n", o.json, failed, nt);
	corpus_free(&C);
	return failed ? 1 : 0;
}
