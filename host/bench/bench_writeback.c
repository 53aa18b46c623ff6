/* SPDX-License-Identifier: MIT */
/*
 * Writeback benchmark: libvswap's writeback of a store of real pages (the
 * corpus of corpus.h) against a raw sequential write of the same number of
 * bytes to the same file system, measured in the same run.
 *
 *   writeback   a store holding the whole corpus (lz4, no cap) with a disk
 *               tier in --workdir; time of vswap_writeback(s, 0, 0): every
 *               segment written (pwritev of packed objects), every slot
 *               re-pointed, every segment freed (MADV_DONTNEED)
 *   raw         pwrite of the same number of bytes from memory that is
 *               already resident (the corpus), into a fresh file in the
 *               same directory
 *   The two are interleaved 1 MiB at a time (a writeback call with a
 *   1 MiB budget, i.e. one batch and one pwritev, then a raw pwrite of
 *   what it wrote), so both see the same machine; the sums are timed twice:
 *   the calls alone (into the page cache), and the calls plus fdatasync of
 *   the file (to the device). The ratio is the median over reps of
 *   raw / writeback of each rep; the ratio of the bests is reported too.
 *   pressure    the same corpus stored into a store capped at a quarter of
 *               its pool bytes: writeback done by the stores themselves
 *   loads       every page loaded back (bit-exact check) after writeback:
 *               load latency from disk (page cache warm) vs from memory
 *
 * Targets, each printed PASS/FAIL; exit 1 if one is missed:
 *   writeback_vs_raw_write >= 0.7   (throughput, calls + fdatasync,
 *                                    median of paired reps)
 *   freed_per_written >= 0.9        (host pool bytes freed per byte written)
 *   avg_write_bytes >= 65536        (bytes per write system call)
 *
 * Usage: bench_writeback --workload PATH --workdir DIR --json PATH
 *                        [--mib N] [--reps N]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>

#include "corpus.h"
#include "vswap.h"

#define RAW_CHUNK	(1u << 20)

struct opts {
	const char *workload, *workdir, *json;
	unsigned mib, reps;
};

struct wb_run {
	double call_s, sync_s;		/* vswap_writeback; + fdatasync */
	struct vswap_writeback_result res;
};

static struct corpus C;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_writeback: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/*
 * Before a timed run: nothing of earlier runs still in flight (sync), and
 * a pause, so the run does not start right after the CPU burst of storing
 * the corpus (a scheduler that just charged us for it would preempt the
 * run more than the other side's). Both sides get the same.
 */
static void settle(void)
{
	sync();
	sleep_s(0.1);
}

static int open_fresh(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	unlink(path);
	return fd;
}

static struct vswap_store *store_corpus(uint64_t pool_max, int fd)
{
	struct vswap_params p;
	struct vswap_store *s;
	int err;

	vswap_params_init(&p, C.n);
	p.pool_max = pool_max;
	s = vswap_store_create(&p, &err);
	if (!s)
		die("create: %s", vswap_error_name(err));
	if (fd >= 0 && (err = vswap_store_attach_disk(s, fd, 0)))
		die("attach: %s", vswap_error_name(err));
	for (size_t i = 0; i < C.n; i++)
		if ((err = vswap_store_page(s, i, corpus_page(&C, i))))
			die("store %zu: %s", i, vswap_error_name(err));
	return s;
}

/*
 * One rep: a store holding the corpus, written back in units of
 * UNIT_BYTES (vswap_writeback with that budget: one batch, one pwritev),
 * each unit followed by a raw pwrite of the same number of bytes to the
 * other file. Interleaving at this grain makes both sides see the same
 * machine (on a loaded host, whole-run timings pair different moments).
 * Then both files are fdatasync'ed (order alternating per rep).
 */
#define UNIT_BYTES	(UINT64_C(1) << 20)

static struct vswap_store *time_rep(const char *dir, unsigned rep,
				    struct wb_run *w, struct wb_run *raw,
				    int *fdp)
{
	int fd = open_fresh(dir, "writeback.tier");
	int rfd = open_fresh(dir, "raw.bin");
	struct vswap_store *s = store_corpus(0, fd);
	const unsigned char *src = C.pages;
	uint64_t done = 0;
	double t0;

	memset(w, 0, sizeof(*w));
	memset(raw, 0, sizeof(*raw));
	settle();
	for (;;) {
		struct vswap_writeback_result u;
		uint64_t n = 0;
		int r;

		t0 = now_s();
		r = vswap_writeback(s, 0, UNIT_BYTES, &u);
		w->call_s += now_s() - t0;
		if (r)
			die("writeback: %s", vswap_error_name(r));
		if (!u.bytes)
			break;
		w->res.pages += u.pages;
		w->res.bytes += u.bytes;
		w->res.pool_freed += u.pool_freed;
		w->res.ios += u.ios;
		w->res.segments += u.segments;
		t0 = now_s();
		while (n < u.bytes) {
			ssize_t k = pwrite(rfd, src + done + n, u.bytes - n,
					   (off_t)(done + n));

			if (k <= 0)
				die("raw pwrite: %s", strerror(errno));
			n += (uint64_t)k;
		}
		raw->call_s += now_s() - t0;
		raw->res.ios++;
		done += u.bytes;
	}
	raw->res.bytes = done;
	for (int i = 0; i < 2; i++) {
		bool wb_side = (i + rep) % 2 == 0;

		t0 = now_s();
		if (fdatasync(wb_side ? fd : rfd))
			die("fdatasync: %s", strerror(errno));
		(wb_side ? w : raw)->sync_s = now_s() - t0;
	}
	w->sync_s += w->call_s;
	raw->sync_s += raw->call_s;
	close(rfd);
	*fdp = fd;
	return s;
}

static double hist_mean_ns(const uint64_t *h, uint64_t *n)
{
	double sum = 0;

	*n = 0;
	for (unsigned b = 0; b < VSWAP_LAT_BUCKETS; b++) {
		/* bucket b holds [2^b, 2^(b+1)): take the midpoint */
		sum += (double)h[b] * 1.5 * (double)(UINT64_C(1) << b);
		*n += h[b];
	}
	return *n ? sum / (double)*n : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void keep_min(double *best, double v)
{
	if (v < *best)
		*best = v;
}

int main(int argc, char **argv)
{
	struct opts o = { .mib = 32, .reps = 9 };
	static const struct option lo[] = {
		{ "workload", 1, NULL, 'w' }, { "workdir", 1, NULL, 'd' },
		{ "json", 1, NULL, 'j' }, { "mib", 1, NULL, 'm' },
		{ "reps", 1, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	double wb_call = 1e30, wb_sync = 1e30, raw_call = 1e30, raw_sync = 1e30;
	double ratio_sync, ratio_call, freed_per_written, avg_write;
	double best_sync, best_call, *pair_sync, *pair_call;
	double mem_ns, disk_ns, p_fpw, p_avg;
	struct vswap_writeback_result res = { 0 };
	struct vswap_stats st, pst;
	struct vswap_store *s = NULL, *ps;
	unsigned char *page;
	uint64_t nmem, ndisk, bytes = 0, bad = 0;
	int c, fd = -1, pfd, failed = 0;
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
		die("usage: bench_writeback --workload PATH --workdir DIR "
		    "--json PATH [--mib N] [--reps N]");
	if (!corpus_build(&C, o.workload, o.workdir, o.mib))
		die("corpus: %s", C.err);
	corpus_print(&C, stdout);
	fflush(stdout);

	pair_sync = calloc(o.reps, sizeof(double));
	pair_call = calloc(o.reps, sizeof(double));
	if (!pair_sync || !pair_call)
		die("out of memory");
	for (unsigned rep = 0; rep < o.reps; rep++) {
		struct wb_run w, raw;
		double rc, rs;

		if (s) {
			vswap_store_destroy(s);
			close(fd);
		}
		s = time_rep(o.workdir, rep, &w, &raw, &fd);
		if (bytes && w.res.bytes != bytes)
			die("writeback wrote %" PRIu64 " bytes, then %" PRIu64,
			    bytes, w.res.bytes);
		bytes = w.res.bytes;
		rc = raw.call_s;
		rs = raw.sync_s;
		res = w.res;
		pair_sync[rep] = rs / w.sync_s;
		pair_call[rep] = rc / w.call_s;
		keep_min(&wb_call, w.call_s);
		keep_min(&wb_sync, w.sync_s);
		keep_min(&raw_call, rc);
		keep_min(&raw_sync, rs);
		printf("rep %u: writeback %.1f ms (+sync %.1f), raw %.1f ms "
		       "(+sync %.1f): ratio %.3f (%.3f)\n", rep, w.call_s * 1e3,
		       w.sync_s * 1e3, rc * 1e3, rs * 1e3, pair_sync[rep],
		       pair_call[rep]);
		fflush(stdout);
	}

	/* Every page back, bit-exact; disk vs memory load latency. */
	page = malloc(CPAGE);
	if (!page)
		die("out of memory");
	for (size_t i = 0; i < C.n; i++)
		if (vswap_load_page(s, i, page) ||
		    memcmp(page, corpus_page(&C, i), CPAGE))
			bad++;
	vswap_get_stats(s, &st);
	disk_ns = hist_mean_ns(st.disk_load_latency, &ndisk);
	{
		uint64_t mem_hist[VSWAP_LAT_BUCKETS];

		for (unsigned b = 0; b < VSWAP_LAT_BUCKETS; b++)
			mem_hist[b] = st.load_latency[b] -
				      st.disk_load_latency[b];
		mem_ns = hist_mean_ns(mem_hist, &nmem);
	}

	/* Pressure: a cap of a quarter of the pool the corpus needs. */
	{
		struct vswap_store *probe = store_corpus(0, -1);
		struct vswap_stats pr;

		vswap_get_stats(probe, &pr);
		vswap_store_destroy(probe);
		pfd = open_fresh(o.workdir, "pressure.tier");
		ps = store_corpus(pr.pool_bytes / 4, pfd);
		vswap_get_stats(ps, &pst);
		p_fpw = pst.writeback_bytes ? (double)pst.writeback_freed_bytes /
				(double)pst.writeback_bytes : 0;
		p_avg = pst.writeback_ios ? (double)pst.writeback_bytes /
				(double)pst.writeback_ios : 0;
		for (size_t i = 0; i < C.n; i++)
			if (vswap_load_page(ps, i, page) ||
			    memcmp(page, corpus_page(&C, i), CPAGE))
				bad++;
		printf("pressure: cap %" PRIu64 " of %" PRIu64 " pool bytes; "
		       "peak %" PRIu64 "; %" PRIu64 " pages to disk in %"
		       PRIu64 " writes of %.0f B; freed/written %.3f; "
		       "refused %" PRIu64 "\n", pst.pool_max, pr.pool_bytes,
		       pst.pool_bytes_peak, pst.writeback_pages,
		       pst.writeback_ios, p_avg, p_fpw, pst.store_nospace);
		vswap_store_destroy(ps);
		close(pfd);
	}

	ratio_sync = median(pair_sync, o.reps);
	ratio_call = median(pair_call, o.reps);
	best_sync = raw_sync / wb_sync;
	best_call = raw_call / wb_call;
	freed_per_written = (double)res.pool_freed / (double)res.bytes;
	avg_write = (double)res.bytes / (double)res.ios;
	printf("\nwritten %" PRIu64 " B (%" PRIu64 " pages, %" PRIu64
	       " segments) in %" PRIu64 " writes\n", res.bytes, res.pages,
	       res.segments, res.ios);
	printf("best of %u: writeback %.0f MiB/s (+sync %.0f), raw %.0f MiB/s "
	       "(+sync %.0f)\n", o.reps, bytes / wb_call / (1 << 20),
	       bytes / wb_sync / (1 << 20), bytes / raw_call / (1 << 20),
	       bytes / raw_sync / (1 << 20));
	printf("writeback / raw: median of pairs %.3f (+sync %.3f); ratio of "
	       "bests %.3f (+sync %.3f)\n", ratio_call, ratio_sync, best_call,
	       best_sync);
	printf("loads: %" PRIu64 " from disk %.0f ns mean, %" PRIu64
	       " from memory %.0f ns mean; %" PRIu64 " wrong\n", ndisk,
	       disk_ns, nmem, mem_ns, bad);

#define TARGET(name, val, op, lim)					\
	do {								\
		bool ok_ = (val) op (lim);				\
		printf("%s %-26s %.3f (target %s %g)\n",		\
		       ok_ ? "PASS" : "FAIL", name, (double)(val), #op,	\
		       (double)(lim));					\
		failed |= !ok_;						\
	} while (0)
	TARGET("writeback_vs_raw_write", ratio_sync, >=, 0.7);
	TARGET("freed_per_written", freed_per_written, >=, 0.9);
	TARGET("avg_write_bytes", avg_write, >=, 65536);
	TARGET("pages_wrong", (double)bad, ==, 0);

	jf = fopen(o.json, "w");
	if (!jf)
		die("%s: %s", o.json, strerror(errno));
	fprintf(jf, "{\n  \"corpus_pages\": %zu,\n  \"reps\": %u,\n"
		"  \"bytes_written\": %" PRIu64 ",\n  \"pages_written\": %"
		PRIu64 ",\n  \"segments_written\": %" PRIu64 ",\n"
		"  \"write_ios\": %" PRIu64 ",\n  \"pool_bytes_freed\": %"
		PRIu64 ",\n", C.n, o.reps, res.bytes, res.pages,
		res.segments, res.ios, res.pool_freed);
	fprintf(jf, "  \"writeback_s\": %.6f,\n  \"writeback_sync_s\": %.6f,\n"
		"  \"raw_write_s\": %.6f,\n  \"raw_write_sync_s\": %.6f,\n"
		"  \"writeback_vs_raw_write\": %.4f,\n"
		"  \"writeback_vs_raw_write_page_cache\": %.4f,\n"
		"  \"writeback_vs_raw_write_best\": %.4f,\n"
		"  \"writeback_vs_raw_write_page_cache_best\": %.4f,\n"
		"  \"freed_per_written\": %.4f,\n"
		"  \"avg_write_bytes\": %.0f,\n", wb_call, wb_sync, raw_call,
		raw_sync, ratio_sync, ratio_call, best_sync, best_call,
		freed_per_written, avg_write);
	fprintf(jf, "  \"load_disk_mean_ns\": %.0f,\n  \"load_memory_mean_ns\":"
		" %.0f,\n  \"pages_wrong\": %" PRIu64 ",\n  \"pressure\": {"
		"\"pool_max\": %" PRIu64 ", \"pool_bytes_peak\": %" PRIu64
		", \"writeback_pages\": %" PRIu64 ", \"writeback_ios\": %"
		PRIu64 ", \"avg_write_bytes\": %.0f, \"freed_per_written\": "
		"%.4f, \"store_nospace\": %" PRIu64 "},\n", disk_ns, mem_ns,
		bad, pst.pool_max, pst.pool_bytes_peak, pst.writeback_pages,
		pst.writeback_ios, p_avg, p_fpw, pst.store_nospace);
	fprintf(jf, "  \"targets\": {\"writeback_vs_raw_write\": 0.7, "
		"\"freed_per_written\": 0.9, \"avg_write_bytes\": 65536},\n"
		"  \"pass\": %s\n}\n", failed ? "false" : "true");
	fclose(jf);
	vswap_store_destroy(s);
	close(fd);
	free(page);
	free(pair_sync);
	free(pair_call);
	corpus_free(&C);
	return failed ? 1 : 0;
}
