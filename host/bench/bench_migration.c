/* SPDX-License-Identifier: MIT */
/*
 * Migration stream benchmark (docs/migration.md): libvswap's export and
 * import of a store holding --mib MiB of guest pages of the e2e workload's
 * mix (tests/lib/guest/pagegen.h: the very pages the guest tests swap),
 * against the limits measured in the same run.
 *
 *   wire        record bytes of a full export per stored guest byte
 *   stream      export -> a unix socket -> import into a second store, the
 *               two ends in two threads (as the source and destination
 *               QEMUs run), vs the same record bytes written through the
 *               same socket and read into a buffer (the raw copy); ratio
 *               of throughputs, median of --reps paired runs. Also the
 *               same bytes read into fresh memory faulted in 128 KiB at a
 *               time and mapped as the pool maps its arenas (the placed
 *               copy): what any destination must do with them at least,
 *               as its pool is new memory too
 *   tail        stop-and-copy: after a full pass, --tail-pct % of the
 *               pages get a new version (what a guest changed since the
 *               last iteration); the time to export that dirty tail (what
 *               the device does with the VM stopped) vs a memcpy of the
 *               same record bytes; and the export of an idle store's
 *               (empty) tail, the bitmap scan alone
 * Every page of the copy is checked bit-exact against the source.
 *
 * Targets (PASS/FAIL; exit 1 if one is missed):
 *   wire_per_stored_byte <= 0.4
 *   stream_vs_raw_copy   >= 0.7
 *   tail_ms (--tail-pct of 1 GiB) <= 50
 *
 * Usage: bench_migration --json PATH [--mib N] [--reps N] [--tail-pct P]
 *                        [--codec lz4|zstd|none]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fresh_map.h"
#include "vswap.h"
#include "../../tests/lib/guest/pagegen.h"

#define CHUNK	(256u * 1024u)

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_migration: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static enum vswap_codec codec = VSWAP_CODEC_LZ4;

static struct vswap_store *new_store(uint64_t pages)
{
	struct vswap_params p;
	struct vswap_store *s;
	int err;

	vswap_params_init(&p, pages);
	p.codec = codec;
	s = vswap_store_create(&p, &err);
	if (!s)
		die("store: %s", vswap_strerror(err));
	return s;
}

static void fill(struct vswap_store *s, uint64_t pages, unsigned version,
		 uint64_t every)
{
	unsigned char page[PG_PAGE] __attribute__((aligned(64)));

	for (uint64_t i = 0; i < pages; i += every) {
		pg_gen_page(page, 0, i, version);
		if (vswap_store_page(s, i, page))
			die("store page %" PRIu64, i);
	}
}

/* Write all of @len bytes; read exactly @len bytes. */
static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A socket pair with 4 MiB buffers each way, for both runs alike: with
 * the default (~200 KiB) every 256 KiB chunk takes several wake-ups of
 * each end, and the two threads ping-pong instead of overlapping.
 */
static void stream_pair(int sv[2])
{
	int sz = 4 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
}

/* CPU time and voluntary (blocking) context switches of this thread. */
struct thread_use {
	double cpu_s;
	long blocked;
};

static struct thread_use thread_use(void)
{
	struct timespec ts;
	struct rusage ru;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	getrusage(RUSAGE_THREAD, &ru);
	return (struct thread_use){ (double)ts.tv_sec + ts.tv_nsec * 1e-9,
				    ru.ru_nvcsw };
}

/* The receiving end: length-prefixed chunks until a 0 length. */
struct receiver {
	int fd;
	struct vswap_store *dst;	/* NULL: raw copy, read only */
	unsigned char *place;		/* raw copy placed here (fresh memory) */
	uint64_t bytes;
	struct thread_use use;		/* the receiving thread's, at its end */
	char why[256];
	int err;
};

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

/*
 * Append @len bytes at @off of fresh memory @dst, faulting it in a
 * segment at a time the way the destination's pool does (memsource.c):
 * the copy and the page faults, none of the import's checks.
 */
static void place_chunk(unsigned char *dst, uint64_t off,
			const unsigned char *buf, uint32_t len)
{
	uint64_t seg = (off + FRESH_SEG - 1) / FRESH_SEG * FRESH_SEG;

	for (; seg < off + len; seg += FRESH_SEG)
		madvise(dst + seg, FRESH_SEG, MADV_POPULATE_WRITE);
	memcpy(dst + off, buf, len);
}

static void *receive(void *arg)
{
	struct receiver *r = arg;
	unsigned char *buf = malloc(CHUNK);
	uint32_t len;

	if (!buf)
		die("no memory");
	while (!read_all(r->fd, &len, sizeof(len)) && len) {
		if (len > CHUNK || read_all(r->fd, buf, len)) {
			r->err = -1;
			break;
		}
		if (r->place)
			place_chunk(r->place, r->bytes, buf, len);
		r->bytes += len;
		if (r->dst && !r->err)
			r->err = vswap_import(r->dst, buf, len, r->why,
					      sizeof(r->why));
	}
	free(buf);
	r->use = thread_use();
	return NULL;
}

struct sent {
	unsigned char *bytes;		/* every record sent, for the raw run */
	uint64_t len, cap;
	uint64_t chunks;
};

/*
 * A full export of @s into @log, untimed: the raw runs send these bytes.
 * (Copying them during the timed export would bill the stream for it.)
 */
static void record_export(struct vswap_store *s, struct sent *log)
{
	unsigned char *buf = malloc(CHUNK);
	struct vswap_export *x;
	int64_t n;

	if (!buf || vswap_export_start(s, &x))
		die("export_start");
	log->len = log->chunks = 0;
	while ((n = vswap_export_next(x, buf, CHUNK)) > 0) {
		if (log->len + (uint64_t)n > log->cap) {
			log->cap = (log->cap + (uint64_t)n) * 2;
			log->bytes = realloc(log->bytes, log->cap);
			if (!log->bytes)
				die("no memory");
		}
		memcpy(log->bytes + log->len, buf, (size_t)n);
		log->len += (uint64_t)n;
		log->chunks++;
	}
	if (n < 0)
		die("export: %s", vswap_strerror((int)n));
	vswap_export_stop(x);
	free(buf);
}

/* Export everything pending through @fd. */
static uint64_t send_export(struct vswap_export *x, int fd)
{
	unsigned char *buf = malloc(CHUNK);
	uint64_t total = 0;
	int64_t n;

	if (!buf)
		die("no memory");
	while ((n = vswap_export_next(x, buf, CHUNK)) > 0) {
		uint32_t len = (uint32_t)n;

		write_all(fd, &len, sizeof(len));
		write_all(fd, buf, len);
		total += len;
	}
	if (n < 0)
		die("export: %s", vswap_strerror((int)n));
	free(buf);
	return total;
}

static void send_end(int fd)
{
	uint32_t zero = 0;

	write_all(fd, &zero, sizeof(zero));
}

/* The same bytes, in the same chunk sizes, through the same kind of socket. */
static void send_raw(const struct sent *log, int fd)
{
	uint64_t off = 0;

	while (off < log->len) {
		uint32_t len = log->len - off < CHUNK ? (uint32_t)(log->len - off)
						      : CHUNK;

		write_all(fd, &len, sizeof(len));
		write_all(fd, log->bytes + off, len);
		off += len;
	}
	send_end(fd);
}

static void check_copy(struct vswap_store *a, struct vswap_store *b,
		       uint64_t pages)
{
	unsigned char pa[PG_PAGE], pb[PG_PAGE];

	for (uint64_t i = 0; i < pages; i++) {
		if (vswap_load_page(a, i, pa) || vswap_load_page(b, i, pb))
			die("load %" PRIu64, i);
		if (memcmp(pa, pb, PG_PAGE))
			die("slot %" PRIu64 " differs after the transfer", i);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	unsigned mib = 1024, reps = 3;
	double tail_pct = 1.0;
	static const struct option lo[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "mib", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "tail-pct", required_argument, NULL, 't' },
		{ "codec", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = optarg; break;
		case 'm': mib = (unsigned)atoi(optarg); break;
		case 'r': reps = (unsigned)atoi(optarg); break;
		case 't': tail_pct = atof(optarg); break;
		case 'c':
			if (vswap_codec_parse(optarg, &codec))
				die("unknown codec %s", optarg);
			break;
		default: die("usage: --json PATH [--mib N] [--reps N] "
			     "[--tail-pct P]");
		}
	}
	if (!json || !mib || !reps || reps > 31)
		die("usage: --json PATH [--mib N] [--reps N] [--tail-pct P]");

	uint64_t pages = (uint64_t)mib << 8;
	double stream[32], raw[32], ratio[32], placed[32], ratio_placed[32];
	struct sent log = { 0 };
	struct vswap_stats st;
	uint64_t wire = 0;

	struct vswap_store *a = new_store(pages);

	fill(a, pages, 0, 1);
	vswap_get_stats(a, &st);
	printf("# store (%s): %" PRIu64 " pages (%u MiB of e2e-mix guest "
	       "pages): "
	       "zero %" PRIu64 ", same %" PRIu64 ", compressed %" PRIu64
	       ", as-is %" PRIu64 ", %" PRIu64 " payload bytes\n",
	       vswap_codec_name(codec), pages, mib,
	       st.zero_pages, st.same_pages, st.compressed_pages,
	       st.incompressible_pages, st.compressed_bytes);

	record_export(a, &log);
	/* the placed copy's destination: fresh memory for every rep */
	size_t place_len = (log.len + FRESH_HUGE - 1) / FRESH_HUGE * FRESH_HUGE;

	for (unsigned r = 0; r < reps; r++) {
		struct vswap_store *b = new_store(pages);
		struct receiver rx = { 0 };
		struct thread_use sender, receiver, end;
		struct vswap_export *x;
		pthread_t t;
		int sv[2];
		double t0;

		/* device: export -> socket -> import */
		stream_pair(sv);
		rx.fd = sv[1];
		rx.dst = b;
		if (vswap_export_start(a, &x))
			die("export_start");
		t0 = now();
		sender = thread_use();
		pthread_create(&t, NULL, receive, &rx);
		wire = send_export(x, sv[0]);
		send_end(sv[0]);
		pthread_join(t, NULL);
		stream[r] = now() - t0;
		end = thread_use();
		sender.cpu_s = end.cpu_s - sender.cpu_s;
		sender.blocked = end.blocked - sender.blocked;
		receiver = rx.use;
		if (rx.err)
			die("import: %s", rx.why);
		if (wire != log.len)
			die("export of %" PRIu64 " bytes, %" PRIu64 " recorded",
			    wire, log.len);
		close(sv[0]);
		close(sv[1]);
		if (r == 0)
			check_copy(a, b, pages);
		vswap_export_stop(x);
		vswap_store_destroy(b);

		/* raw: the same bytes through a fresh socket, read and dropped */
		stream_pair(sv);
		memset(&rx, 0, sizeof(rx));
		rx.fd = sv[1];
		t0 = now();
		pthread_create(&t, NULL, receive, &rx);
		send_raw(&log, sv[0]);
		pthread_join(t, NULL);
		raw[r] = now() - t0;
		close(sv[0]);
		close(sv[1]);

		/* placed: the same, each chunk copied into fresh memory */
		stream_pair(sv);
		memset(&rx, 0, sizeof(rx));
		rx.fd = sv[1];
		/* mapped as the pool maps its arenas: the same faults */
		rx.place = fresh_map(place_len, true);
		if (!rx.place)
			die("mmap: %s", strerror(errno));
		t0 = now();
		pthread_create(&t, NULL, receive, &rx);
		send_raw(&log, sv[0]);
		pthread_join(t, NULL);
		placed[r] = now() - t0;
		if (rx.bytes != log.len || memcmp(rx.place, log.bytes, log.len))
			die("placed copy differs");
		fresh_unmap(rx.place, place_len);
		close(sv[0]);
		close(sv[1]);

		ratio[r] = raw[r] / stream[r];
		ratio_placed[r] = placed[r] / stream[r];
		printf("# rep %u: stream %.3f s (%.0f MiB/s of records; CPU "
		       "export end %.3f s, import end %.3f s; blocked %ld and "
		       "%ld times), raw copy %.3f s: %.2fx, placed copy %.3f s:"
		       " %.2fx\n", r, stream[r],
		       (double)wire / stream[r] / 1048576.0, sender.cpu_s,
		       receiver.cpu_s, sender.blocked, receiver.blocked,
		       raw[r], ratio[r], placed[r], ratio_placed[r]);
	}
	qsort(ratio, reps, sizeof(double), cmp_double);
	qsort(ratio_placed, reps, sizeof(double), cmp_double);
	qsort(placed, reps, sizeof(double), cmp_double);
	qsort(stream, reps, sizeof(double), cmp_double);
	qsort(raw, reps, sizeof(double), cmp_double);

	/* each end alone, from and into memory: where the stream's time goes */
	double t_exp, t_imp;
	{
		struct vswap_store *b = new_store(pages);
		struct vswap_export *x;
		unsigned char *buf = malloc(CHUNK);
		uint64_t exported = 0;
		int64_t n;

		if (!buf || vswap_export_start(a, &x))
			die("export_start");
		t_exp = now();
		while ((n = vswap_export_next(x, buf, CHUNK)) > 0)
			exported += (uint64_t)n;
		t_exp = now() - t_exp;
		vswap_export_stop(x);
		t_imp = now();
		/* records are self-delimiting: the whole log in one call */
		if (vswap_import(b, log.bytes, log.len, NULL, 0))
			die("import");
		t_imp = now() - t_imp;
		printf("# export alone %.3f s (%.0f MiB/s), import alone %.3f s "
		       "(%.0f MiB/s, into fresh pool memory)\n", t_exp,
		       (double)exported / t_exp / 1048576.0, t_imp,
		       (double)log.len / t_imp / 1048576.0);
		vswap_store_destroy(b);
		free(buf);
	}

	/* stop-and-copy: a dirty tail after a full pass */
	struct vswap_store *b = new_store(pages);
	struct vswap_export *x;
	unsigned char *buf = malloc(CHUNK), *copy = malloc(64u << 20);
	uint64_t every = (uint64_t)(100.0 / tail_pct), tail_bytes = 0;
	double t_tail, t_idle, t_memcpy;
	int64_t n;

	if (!buf || !copy)
		die("no memory");
	if (vswap_export_start(a, &x))
		die("export_start");
	while ((n = vswap_export_next(x, buf, CHUNK)) > 0)
		if (vswap_import(b, buf, (size_t)n, NULL, 0))
			die("import");
	t_idle = now();
	n = vswap_export_next(x, buf, CHUNK);	/* an idle store's tail */
	vswap_get_stats(a, &st);		/* as the device's complete */
	t_idle = now() - t_idle;
	if (n != 0)
		die("idle tail not empty");
	fill(a, pages, 1, every);		/* the guest's last changes */
	t_tail = now();
	while ((n = vswap_export_next(x, buf, CHUNK)) > 0) {
		if (tail_bytes + (uint64_t)n <= (64u << 20))
			memcpy(copy + tail_bytes, buf, (size_t)n);
		tail_bytes += (uint64_t)n;
	}
	vswap_get_stats(a, &st);
	t_tail = now() - t_tail;
	t_memcpy = now();
	for (uint64_t off = 0; off < tail_bytes && off < (64u << 20);
	     off += CHUNK) {
		uint64_t len = tail_bytes - off < CHUNK ? tail_bytes - off : CHUNK;

		memcpy(buf, copy + off, len);
	}
	t_memcpy = now() - t_memcpy;
	vswap_export_stop(x);

	double wire_ratio = (double)wire / ((double)pages * PG_PAGE);
	double tail_ms = t_tail * 1e3 * (1024.0 / mib);	/* per GiB stored */
	bool ok_wire = wire_ratio <= 0.4;
	bool ok_stream = ratio[reps / 2] >= 0.7;
	bool ok_tail = tail_ms <= 50.0;

	printf("wire_per_stored_byte %.3f (target <= 0.4): %s\n", wire_ratio,
	       ok_wire ? "PASS" : "FAIL");
	printf("stream_vs_raw_copy %.2fx median of %u (target >= 0.7): %s\n",
	       ratio[reps / 2], reps, ok_stream ? "PASS" : "FAIL");
	printf("stream_vs_placed_copy %.2fx median (informational: the raw "
	       "copy placed into fresh memory, %.2fx of the raw copy)\n",
	       ratio_placed[reps / 2], raw[reps / 2] / placed[reps / 2]);
	printf("tail: %.1f%% of the pages rewritten, %" PRIu64 " record bytes "
	       "exported in %.2f ms (%.2f ms per GiB stored, target <= 50: "
	       "%s); memcpy of the same bytes %.3f ms (%.1fx); idle tail "
	       "%.3f ms\n", 100.0 / (double)every, tail_bytes, t_tail * 1e3,
	       tail_ms, ok_tail ? "PASS" : "FAIL", t_memcpy * 1e3,
	       t_tail / (t_memcpy > 0 ? t_memcpy : 1e-9), t_idle * 1e3);

	FILE *f = fopen(json, "w");

	if (!f)
		die("%s: %s", json, strerror(errno));
	fprintf(f, "{\n \"codec\": \"%s\",\n"
		" \"stored_mib\": %u,\n \"stored_pages\": %" PRIu64
		",\n \"wire_bytes\": %" PRIu64 ",\n"
		" \"wire_per_stored_byte\": %.4f,\n"
		" \"stream_s_median\": %.4f,\n \"raw_copy_s_median\": %.4f,\n"
		" \"stream_vs_raw_copy\": %.3f,\n"
		" \"placed_copy_s_median\": %.4f,\n"
		" \"stream_vs_placed_copy\": %.3f,\n"
		" \"tail_pct\": %.2f,\n \"tail_bytes\": %" PRIu64 ",\n"
		" \"tail_ms\": %.3f,\n \"tail_ms_per_gib\": %.3f,\n"
		" \"tail_memcpy_ms\": %.4f,\n \"tail_vs_memcpy\": %.2f,\n"
		" \"idle_tail_ms\": %.4f,\n"
		" \"export_alone_s\": %.4f,\n \"import_alone_s\": %.4f,\n"
		" \"targets\": {\"wire_per_stored_byte_max\": 0.4, "
		"\"stream_vs_raw_copy_min\": 0.7, \"tail_ms_per_gib_max\": 50},\n"
		" \"pass\": %s\n}\n", vswap_codec_name(codec), mib, pages, wire,
		wire_ratio,
		stream[reps / 2], raw[reps / 2], ratio[reps / 2],
		placed[reps / 2], ratio_placed[reps / 2],
		100.0 / (double)every, tail_bytes, t_tail * 1e3, tail_ms,
		t_memcpy * 1e3, t_tail / (t_memcpy > 0 ? t_memcpy : 1e-9),
		t_idle * 1e3, t_exp, t_imp,
		ok_wire && ok_stream && ok_tail ? "true" : "false");
	fclose(f);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	free(buf);
	free(copy);
	free(log.bytes);
	return ok_wire && ok_stream && ok_tail ? 0 : 1;
}
