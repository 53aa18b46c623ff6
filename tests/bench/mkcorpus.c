// SPDX-License-Identifier: MIT
/*
 * The real-memory corpus of bench-guest's "corpus" workload: pages read
 * from processes this program starts (host/bench/corpus.h: a Python
 * interpreter holding ordinary data, gcc's cc1 compiling), written as a
 * file of raw 4 KiB pages that goes into the guest's initramfs (/data).
 * Only the real pages: the synthetic zero, same-filled and random shares
 * host/bench's corpus adds are made in the guest by pagegen.h.
 *
 *   mkcorpus OUT WORKLOAD.PY WORKDIR MIB   (MIB per source; run as root
 *                                           for the zero-page PFN check)
 * Prints the corpus composition on stdout.
 */
#include "corpus.h"

int main(int argc, char **argv)
{
	struct corpus c;
	size_t budget;
	FILE *f;

	if (argc != 5) {
		fprintf(stderr, "usage: %s OUT WORKLOAD.PY WORKDIR MIB\n",
			argv[0]);
		return 2;
	}
	budget = strtoul(argv[4], NULL, 0) * 256;
	mkdir(argv[3], 0755);
	if (!corpus_init(&c, budget * 2) ||
	    !corpus_from_python(&c, argv[2], budget / 256, budget) ||
	    !corpus_from_cc1(&c, argv[3], budget, budget / 3, 0.6)) {
		fprintf(stderr, "mkcorpus: %s\n", c.err);
		return 1;
	}
	corpus_shuffle(&c, 0xc0ffee);
	corpus_classify(&c);
	corpus_print(&c, stdout);
	f = fopen(argv[1], "w");
	if (!f || fwrite(c.pages, CPAGE, c.n, f) != c.n || fclose(f)) {
		perror(argv[1]);
		return 1;
	}
	corpus_free(&c);
	return 0;
}
