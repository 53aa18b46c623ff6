/* SPDX-License-Identifier: MIT */
/*
 * The pages of the swap workload, as a function of (seed, process, page,
 * version): shared by the guest's workload.c and the host programs that
 * must see exactly the same pages (tests/bench/rawlz4.c). Header-only.
 *
 * Two mixes:
 *   e2e      (pg_corpus_n == 0) kinds chosen by a hash of (seed, page):
 *            zero 2/8, same-filled 1/8, text 3/8 (words from a small
 *            dictionary), random 2/8 (PRNG output, does not compress)
 *   corpus   real process memory (host/bench/corpus.h's python and cc1
 *            pages, shipped as a file of raw pages: pg_corpus), plus the
 *            synthetic shares host/bench/corpus.h adds to its corpus:
 *            zero 10 %, same-filled 5 %, random 5 %, real 80 %. A real
 *            page is corpus page hash(seed, page) + version, tiled over
 *            the workload, with its first 16 bytes replaced by the page
 *            header below: every page stays checkable and distinct.
 * Every page that is not zero starts (text, random, real) with a header
 * naming (process, page, version), so misplaced data is recognisable;
 * same-filled pages are one per-page value repeated.
 */
#ifndef VSWAP_PAGEGEN_H
#define VSWAP_PAGEGEN_H

#include <stdint.h>
#include <string.h>

#define PG_PAGE		4096u
#define PG_WORDS	(PG_PAGE / sizeof(uint64_t))

enum pg_kind { PG_ZERO, PG_SAME, PG_TEXT, PG_RANDOM, PG_REAL, PG_NR };
static const char *const pg_kind_name[PG_NR] = {
	"zero", "same", "text", "random", "real",
};

static uint64_t pg_seed = 0x5eed5eed;
static const unsigned char *pg_corpus;	/* pg_corpus_n raw pages */
static uint64_t pg_corpus_n;

static inline uint64_t pg_mix(uint64_t x)	/* splitmix64 finaliser */
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline enum pg_kind pg_page_kind(unsigned int proc, uint64_t i)
{
	uint64_t h = pg_mix(pg_seed ^ ((uint64_t)proc << 48) ^ i);

	if (pg_corpus_n) {		/* host/bench/corpus.h's shares */
		switch (h % 100) {
		case 0 ... 9: return PG_ZERO;
		case 10 ... 14: return PG_SAME;
		case 15 ... 19: return PG_RANDOM;
		default: return PG_REAL;
		}
	}
	switch (h & 7) {
	case 0: case 1: return PG_ZERO;
	case 2: return PG_SAME;
	case 3: case 4: case 5: return PG_TEXT;
	default: return PG_RANDOM;
	}
}

static const char *const pg_dict[] = {
	"swap ", "page ", "host ", "guest ", "memory ", "virtio ", "slot ",
	"store ", "load ", "the ", "of ", "and ", "a ", "to ", "is ", "in ",
	"kernel ", "queue ", "request ", "device ", "compress ", "zero ",
	"\n", ", ", ". ", "data ", "block ", "driver ", "pool ", "node ",
	"writeback ", "tier ",
};

/* Expected content of page i of process proc at version v. */
static inline void pg_gen_page(unsigned char *buf, unsigned int proc,
			       uint64_t i, unsigned int v)
{
	uint64_t s = pg_mix(pg_seed ^ pg_mix(((uint64_t)proc << 48) ^ i) ^
			    ((uint64_t)v << 32));
	uint64_t *w = (uint64_t *)buf;
	unsigned int n, pos;

	switch (pg_page_kind(proc, i)) {
	case PG_ZERO:
		memset(buf, 0, PG_PAGE);
		return;
	case PG_SAME:
		s |= 1;				/* never zero */
		for (n = 0; n < PG_WORDS; n++)
			w[n] = s;
		return;
	case PG_TEXT:
		pos = 0;
		while (pos < PG_PAGE) {
			const char *word;
			size_t len;

			s = s * 6364136223846793005ull + 1442695040888963407ull;
			word = pg_dict[(s >> 59) %
				       (sizeof(pg_dict) / sizeof(pg_dict[0]))];
			len = strlen(word);
			if (len > PG_PAGE - pos)
				len = PG_PAGE - pos;
			memcpy(buf + pos, word, len);
			pos += len;
		}
		break;
	case PG_REAL:
		memcpy(buf, pg_corpus + PG_PAGE *
		       ((pg_mix(pg_seed ^ ((uint64_t)proc << 40) ^ i) + v) %
			pg_corpus_n), PG_PAGE);
		break;
	default:
		for (n = 0; n < PG_WORDS; n++) {
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

#endif /* VSWAP_PAGEGEN_H */
