// SPDX-License-Identifier: MIT
/*
 * Raw LZ4 on exactly the pages of a bench-guest workload (the generator is
 * the guest workload's own, tests/lib/guest/pagegen.h): the host CPU a
 * swapped page would cost if the host did nothing but compress it
 * (LZ4_compress_default) and decompress it (LZ4_decompress_safe).
 *
 *   rawlz4 [-m MiB] [-p procs] [-s seed] [-c corpus] [-r reps]
 *
 * The pages are version 0 of every page of the workload, less the zero
 * pages (the guest's swap layer keeps those itself: no swap device sees
 * them). Each pass is timed over all pages; the best of reps is kept.
 * Prints one JSON object: pages, compress_ns, decompress_ns (per page),
 * compressed_bytes, incompressible (pages LZ4 could not shrink).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pagegen.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long mib = 256, procs = 2, reps = 3, r;
	uint64_t per, n = 0, i, k, bytes = 0, incompressible = 0;
	const char *corpus = NULL;
	unsigned char *pages, *out, *back;
	int *clen, opt, bound = LZ4_compressBound(PG_PAGE);
	double best_c = 1e30, best_d = 1e30, t;
	unsigned int p;

	while ((opt = getopt(argc, argv, "m:p:s:c:r:")) != -1) {
		switch (opt) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'p': procs = strtoul(optarg, NULL, 0); break;
		case 's': pg_seed = strtoull(optarg, NULL, 0); break;
		case 'c': corpus = optarg; break;
		case 'r': reps = strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-m MiB] [-p procs] [-s seed] [-c corpus] [-r reps]\n",
				argv[0]);
			return 2;
		}
	}
	if (corpus) {
		struct stat st;
		int fd = open(corpus, O_RDONLY);

		if (fd < 0 || fstat(fd, &st) || st.st_size < PG_PAGE) {
			perror(corpus);
			return 1;
		}
		pg_corpus = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (pg_corpus == MAP_FAILED) {
			perror(corpus);
			return 1;
		}
		pg_corpus_n = st.st_size / PG_PAGE;
	}
	/* as workload.c splits MiB over its processes */
	per = (uint64_t)mib * (1024 * 1024 / PG_PAGE) / procs;
	pages = malloc(per * procs * PG_PAGE);
	back = malloc(per * procs * PG_PAGE);
	out = malloc(per * procs * (uint64_t)bound);
	clen = malloc(per * procs * sizeof(*clen));
	if (!pages || !back || !out || !clen)
		return 1;
	for (p = 0; p < procs; p++)
		for (i = 0; i < per; i++)
			if (pg_page_kind(p, i) != PG_ZERO)
				pg_gen_page(pages + PG_PAGE * n++, p, i, 0);
	memset(back, 1, n * PG_PAGE);		/* fault it in, untimed */
	memset(out, 1, n * (uint64_t)bound);
	for (r = 0; r < reps; r++) {
		t = now();
		for (k = 0; k < n; k++)
			clen[k] = LZ4_compress_default(
				(const char *)pages + k * PG_PAGE,
				(char *)out + k * bound, PG_PAGE, bound);
		t = now() - t;
		if (t < best_c)
			best_c = t;
		t = now();
		for (k = 0; k < n; k++)
			if (LZ4_decompress_safe((const char *)out + k * bound,
						(char *)back + k * PG_PAGE,
						clen[k], PG_PAGE) != PG_PAGE)
				return 1;
		t = now() - t;
		if (t < best_d)
			best_d = t;
	}
	if (memcmp(pages, back, n * PG_PAGE))
		return 1;
	for (k = 0; k < n; k++) {
		bytes += clen[k];
		incompressible += clen[k] >= (int)PG_PAGE;
	}
	printf("{\"pages\": %" PRIu64 ", \"compress_ns\": %.1f, "
	       "\"decompress_ns\": %.1f, \"compressed_bytes\": %" PRIu64
	       ", \"incompressible\": %" PRIu64 ", \"reps\": %lu}\n",
	       n, best_c * 1e9 / n, best_d * 1e9 / n, bytes, incompressible,
	       reps);
	return 0;
}
