/* SPDX-License-Identifier: MIT */
/*
 * What the store path costs outside the codec, per page: a small driver
 * meant to run under valgrind's callgrind (bench/cost.sh), whose counts
 * are instructions, not time, so they repeat exactly from run to run and
 * do not care what else the machine runs.
 *
 * One pass over the corpus (corpus.h) through each entry point:
 *   store      every page into slot = its index of a fresh store (lz4,
 *              default params, as host_bench's store figure)
 *   load       every slot back, compared bit-exact (the compare is
 *              outside the measured calls)
 *   writeback  a disk tier in --workdir, vswap_writeback(s, 0, 0): every
 *              segment to disk (the checksum of every object on the way)
 * cost.sh collects only inside vswap_store_page_flags, vswap_load_page_flags
 * and vswap_writeback and subtracts the codec's own functions (LZ4_*), so
 * what it prints is the library's own work per page (per byte written for
 * writeback). Kernel work (page faults, the write) is not in instruction
 * counts: host_bench's store_overhead_ns_per_page has it, in time.
 *
 * Prints one line of counts for cost.sh to divide by:
 *   pages N compressed N bytes_written N
 *
 * Usage: store_cost --workload PATH --workdir DIR [--mib N]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>

#include "corpus.h"
#include "vswap.h"

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "store_cost: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static struct corpus C;

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "workload", 1, NULL, 'w' }, { "workdir", 1, NULL, 'd' },
		{ "mib", 1, NULL, 'm' }, { "reps", 1, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *workload = NULL, *workdir = NULL;
	struct vswap_writeback_result res;
	struct vswap_params p;
	struct vswap_stats st;
	struct vswap_store *s = NULL;
	static unsigned char page[CPAGE];
	char path[4096];
	unsigned mib = 8, reps = 1;
	int c, err, fd;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'w': workload = optarg; break;
		case 'd': workdir = optarg; break;
		case 'm': mib = (unsigned)atoi(optarg); break;
		case 'r': reps = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	if (!workload || !workdir || !mib || !reps)
		die("usage: store_cost --workload PATH --workdir DIR [--mib N] "
		    "[--reps N]");
	if (!corpus_build(&C, workload, workdir, mib))
		die("corpus: %s", C.err);

	vswap_params_init(&p, C.n);
	for (unsigned r = 0; r < reps; r++) {
		if (r)
			vswap_store_destroy(s);
		s = vswap_store_create(&p, &err);
		if (!s)
			die("create: %s", vswap_error_name(err));
		for (size_t i = 0; i < C.n; i++)
			if ((err = vswap_store_page(s, i, corpus_page(&C, i))))
				die("store %zu: %s", i, vswap_error_name(err));
		for (size_t i = 0; i < C.n; i++) {
			if ((err = vswap_load_page(s, i, page)))
				die("load %zu: %s", i, vswap_error_name(err));
			if (memcmp(page, corpus_page(&C, i), CPAGE))
				die("slot %zu is not bit-exact", i);
		}
	}
	vswap_get_stats(s, &st);

	snprintf(path, sizeof(path), "%s/store_cost.tier", workdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	unlink(path);
	if ((err = vswap_store_attach_disk(s, fd, 0)))
		die("attach: %s", vswap_error_name(err));
	if ((err = vswap_writeback(s, 0, 0, &res)))
		die("writeback: %s", vswap_error_name(err));

	printf("reps %u pages %zu compressed %" PRIu64 " as_is %" PRIu64
	       " bytes_written %" PRIu64 "\n", reps, C.n, st.compressed_pages,
	       st.incompressible_pages, res.bytes);
	vswap_store_destroy(s);
	close(fd);
	corpus_free(&C);
	return 0;
}
