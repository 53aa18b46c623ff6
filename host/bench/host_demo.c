/* SPDX-License-Identifier: MIT */
/*
 * Host demo: build a corpus of real memory pages (a Python workload and a
 * running compiler, plus zero / same-filled / random shares; see corpus.h),
 * store all of it through libvswap as a guest's swap would, load every page
 * back bit-exact, and say what it cost.
 *
 * Usage: host_demo --workload PATH --workdir DIR [--mib N] [--codec NAME]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>

#include "corpus.h"
#include "vswap.h"

static double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
}

static int run(const struct corpus *c, enum vswap_codec codec, bool verbose)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	unsigned char page[CPAGE];
	double t0, t_store, t_load;
	uint64_t logical;
	int err = 0;

	vswap_params_init(&p, c->n);
	p.codec = codec;
	p.checksum = true;
	s = vswap_store_create(&p, &err);
	if (!s) {
		fprintf(stderr, "vswap_store_create: %s\n",
			vswap_strerror(err));
		return 1;
	}
	t0 = now_s();
	for (size_t i = 0; i < c->n; i++) {
		err = vswap_store_page(s, i, corpus_page(c, i));
		if (err) {
			fprintf(stderr, "store %zu: %s\n", i,
				vswap_strerror(err));
			return 1;
		}
	}
	t_store = now_s() - t0;
	t0 = now_s();
	for (size_t i = 0; i < c->n; i++) {
		err = vswap_load_page(s, i, page);
		if (err || memcmp(page, corpus_page(c, i), CPAGE) != 0) {
			fprintf(stderr, "load %zu: %s\n", i,
				err ? vswap_strerror(err) : "wrong data");
			return 1;
		}
	}
	t_load = now_s() - t0;
	vswap_get_stats(s, &st);
	logical = st.stored_pages * CPAGE;

	if (verbose) {
		printf("stored %" PRIu64 " pages through libvswap (codec %s, "
		       "checksums on):\n", st.stored_pages,
		       vswap_codec_name(codec));
		printf("  %-22s %8" PRIu64 " pages  (no pool memory)\n",
		       "zero", st.zero_pages);
		printf("  %-22s %8" PRIu64 " pages  (no pool memory)\n",
		       "same-filled", st.same_pages);
		printf("  %-22s %8" PRIu64 " pages  %9.1f MiB payload\n",
		       "compressed", st.compressed_pages,
		       mib(st.compressed_bytes - st.incompressible_pages *
			   CPAGE));
		printf("  %-22s %8" PRIu64 " pages  %9.1f MiB (as-is)\n",
		       "incompressible", st.incompressible_pages,
		       mib(st.incompressible_pages * CPAGE));
		printf("\n  uncompressed it would need %9.1f MiB\n",
		       mib(logical));
		printf("  compressed payload       %9.1f MiB\n",
		       mib(st.compressed_bytes));
		printf("  pool (real host memory)  %9.1f MiB  (of it "
		       "metadata %.1f MiB)\n", mib(st.pool_bytes),
		       mib(st.meta_bytes));
		printf("  effective ratio          %9.2fx  (saves %.1f MiB, "
		       "%.0f%%)\n", (double)logical / (double)st.pool_bytes,
		       mib(logical - st.pool_bytes),
		       100.0 * (1.0 - (double)st.pool_bytes /
				(double)logical));
		printf("  every page loaded back bit-exact\n");
		printf("  one pass, one thread: store %.0f MiB/s, load %.0f "
		       "MiB/s (not a benchmark: make bench-host)\n\n",
		       mib(logical) / t_store, mib(logical) / t_load);
	} else {
		printf("  with %-4s: pool %7.1f MiB, ratio %5.2fx, store %5.0f "
		       "MiB/s, load %5.0f MiB/s\n", vswap_codec_name(codec),
		       mib(st.pool_bytes),
		       (double)logical / (double)st.pool_bytes,
		       mib(logical) / t_store, mib(logical) / t_load);
	}
	vswap_store_destroy(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "workload", 1, NULL, 'w' }, { "workdir", 1, NULL, 'd' },
		{ "mib", 1, NULL, 'm' }, { "codec", 1, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *workload = NULL, *workdir = NULL;
	enum vswap_codec codec = VSWAP_CODEC_LZ4;
	unsigned mb = 48;
	struct corpus c;
	int opt;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'w': workload = optarg; break;
		case 'd': workdir = optarg; break;
		case 'm': mb = (unsigned)atoi(optarg); break;
		case 'c':
			if (vswap_codec_parse(optarg, &codec)) {
				fprintf(stderr, "unknown codec %s\n", optarg);
				return 2;
			}
			break;
		default: return 2;
		}
	}
	if (!workload || !workdir || !mb) {
		fprintf(stderr, "usage: host_demo --workload PATH --workdir "
			"DIR [--mib N] [--codec lz4|zstd|none]\n");
		return 2;
	}
	printf("virtio-vswap host demo: a guest's swap, kept compressed in "
	       "host memory\n\n");
	if (!corpus_build(&c, workload, workdir, mb)) {
		fprintf(stderr, "corpus: %s\n", c.err);
		return 1;
	}
	corpus_print(&c, stdout);
	printf("\n");
	if (run(&c, codec, true))
		return 1;
	printf("the same pages with the other codecs:\n");
	for (int k = 0; k < VSWAP_CODEC__COUNT; k++)
		if (k != (int)codec && run(&c, (enum vswap_codec)k, false))
			return 1;
	corpus_free(&c);
	return 0;
}
