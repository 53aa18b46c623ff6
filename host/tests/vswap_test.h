/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the libvswap unit tests (header-only: every test_*.c is
 * its own program, see host/Makefile).
 *
 *   struct test_rng      splitmix64, seeded; every generated page is a pure
 *                        function of (kind, seed) so a test can regenerate
 *                        the page it expects instead of keeping a copy
 *   enum page_kind       the page kinds the store treats differently
 *   page_fill()          writes one page of a kind
 *   test_store_new()     creates a store or fails the test with the code
 *   test_seed()          the run's seed: $VSWAP_SEED or the clock, printed
 *   assert_store_valid() the library's own invariant check (vswap_store_check)
 *
 * cmocka must be included before this file.
 */
#ifndef VSWAP_TEST_H
#define VSWAP_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vswap.h"

#define PAGE VSWAP_PAGE_SIZE

struct test_rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct test_rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The bias of the modulo is irrelevant here. */
static inline uint64_t rng_below(struct test_rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

enum page_kind {
	PK_EMPTY = 0,	/* reference model only: the slot holds nothing */
	PK_ZERO,	/* all-zero */
	PK_SAME,	/* one non-zero 8-byte word repeated */
	PK_TEXT,	/* words and numbers: compresses to well under 75% */
	PK_RANDOM,	/* incompressible */
	PK_NEAR_SAME,	/* same-filled except one byte: must not be "same" */
	PK__COUNT
};

static const char *const page_kind_names[PK__COUNT] = {
	[PK_EMPTY] = "empty", [PK_ZERO] = "zero", [PK_SAME] = "same",
	[PK_TEXT] = "text", [PK_RANDOM] = "random",
	[PK_NEAR_SAME] = "near-same",
};

/* The repeated word of a PK_SAME page of @seed; never 0. */
static inline uint64_t same_word(uint64_t seed)
{
	struct test_rng r = { seed ^ UINT64_C(0x5a5e) };
	uint64_t w = rng_next(&r);

	/* A few seeds give patterns with structure (bytes equal, top bit...). */
	switch (seed % 5) {
	case 0: w = UINT64_C(0x0101010101010101) * (1 + seed % 255); break;
	case 1: w = UINT64_C(0xffffffffffffffff); break;
	case 2: w = UINT64_C(0x8000000000000000) >> (seed % 64); break;
	default: break;
	}
	return w ? w : 1;
}

static inline void fill_same(void *page, uint64_t word)
{
	uint64_t *w = page;

	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = word;
}

static const char *const text_words[] = {
	"the", "page", "swap", "slot", "guest", "host", "memory", "compressed",
	"struct", "return", "int", "void", "static", "const", "uint64_t",
	"if", "else", "for", "while", "NULL", "error", "buffer", "count",
	"virtio", "queue", "request", "status", "0x", "=", "{", "}", ";",
};

/* Words, spaces, newlines and decimal numbers: like heap text or source. */
static inline void fill_text(void *page, uint64_t seed)
{
	struct test_rng r = { seed ^ UINT64_C(0x7e47) };
	char *p = page, *end = p + PAGE;
	const size_t nw = sizeof(text_words) / sizeof(text_words[0]);

	while (p < end) {
		char tmp[32];
		size_t n = 0;
		uint64_t x = rng_next(&r);	/* one draw per token */

		if (x % 6 == 0) {
			unsigned v = (unsigned)((x >> 8) % 100000);
			char num[8];
			size_t k = 0;

			do {
				num[k++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			while (k)
				tmp[n++] = num[--k];
		} else {
			const char *w = text_words[(x >> 8) % nw];

			n = strlen(w);
			memcpy(tmp, w, n);
		}
		tmp[n++] = (x >> 40) % 10 == 0 ? '\n' : ' ';
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		memcpy(p, tmp, n);
		p += n;
	}
}

static inline void fill_random(void *page, uint64_t seed)
{
	struct test_rng r = { seed ^ UINT64_C(0x4a4d) };
	uint64_t *w = page;

	for (size_t i = 0; i < PAGE / 8; i++)
		w[i] = rng_next(&r);
}

/* One page of @kind, a pure function of (kind, seed). PK_EMPTY gives zeroes. */
static inline void page_fill(void *page, enum page_kind kind, uint64_t seed)
{
	switch (kind) {
	case PK_EMPTY:
	case PK_ZERO:
	case PK__COUNT:
		memset(page, 0, PAGE);
		break;
	case PK_SAME:
		fill_same(page, same_word(seed));
		break;
	case PK_TEXT:
		fill_text(page, seed);
		break;
	case PK_RANDOM:
		fill_random(page, seed);
		break;
	case PK_NEAR_SAME: {
		unsigned char *b = page;
		size_t at = (size_t)(seed % PAGE);

		fill_same(page, same_word(seed));
		b[at] ^= 0x01;
		break;
	}
	}
}

static inline bool page_is_zero(const void *page)
{
	const uint64_t *w = page;

	for (size_t i = 0; i < PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Seed of this run: $VSWAP_SEED if set, else from the clock. Printed as TAP. */
static inline uint64_t test_seed(void)
{
	const char *env = getenv("VSWAP_SEED");
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007u + (uint64_t)ts.tv_nsec;
	}
	printf("# seed %" PRIu64 " (rerun with VSWAP_SEED=%" PRIu64 ")\n",
	       seed, seed);
	fflush(stdout);
	return seed;
}

static inline uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *env = getenv(name);

	return env && *env ? strtoull(env, NULL, 0) : dflt;
}

/* A store with these parameters, or the test fails naming the error. */
static inline struct vswap_store *test_store_new_p(const struct vswap_params *p)
{
	int err = 12345;
	struct vswap_store *s = vswap_store_create(p, &err);

	if (!s)
		fail_msg("vswap_store_create(capacity %" PRIu64 ", codec %d, "
			 "level %d) failed: %s", p->capacity, (int)p->codec,
			 p->level, vswap_error_name(err));
	return s;
}

static inline struct vswap_store *test_store_new(uint64_t capacity,
						 enum vswap_codec codec,
						 int level)
{
	struct vswap_params p;

	vswap_params_init(&p, capacity);
	p.codec = codec;
	p.level = level;
	return test_store_new_p(&p);
}

static inline struct vswap_stats test_stats(const struct vswap_store *s)
{
	struct vswap_stats st;

	memset(&st, 0xa5, sizeof(st));
	vswap_get_stats(s, &st);
	return st;
}

/* Store (kind, seed) into @slot; fails the test unless VSWAP_OK. */
static inline void store_kind(struct vswap_store *s, uint64_t slot,
			      enum page_kind kind, uint64_t seed)
{
	unsigned char page[PAGE];
	int ret;

	page_fill(page, kind, seed);
	ret = vswap_store_page(s, slot, page);
	if (ret != VSWAP_OK)
		fail_msg("store slot %" PRIu64 " (%s seed %" PRIu64 "): %s",
			 slot, page_kind_names[kind], seed,
			 vswap_error_name(ret));
}

/* Load @slot and compare bit-exactly with (kind, seed). */
static inline void check_slot(struct vswap_store *s, uint64_t slot,
			      enum page_kind kind, uint64_t seed)
{
	unsigned char want[PAGE], got[PAGE];
	int ret;

	page_fill(want, kind, seed);
	memset(got, 0xa5, sizeof(got));
	ret = vswap_load_page(s, slot, got);
	if (ret != VSWAP_OK)
		fail_msg("load slot %" PRIu64 ": %s", slot,
			 vswap_error_name(ret));
	if (memcmp(want, got, PAGE) != 0) {
		size_t i = 0;

		while (want[i] == got[i])
			i++;
		fail_msg("slot %" PRIu64 " (%s seed %" PRIu64 ") differs at "
			 "byte %zu: want %02x got %02x", slot,
			 page_kind_names[kind], seed, i, want[i], got[i]);
	}
}

/* Every internal invariant of the store holds (slots vs objects, counters). */
static inline void assert_store_valid(struct vswap_store *s)
{
	int ret = vswap_store_check(s);

	if (ret != VSWAP_OK)
		fail_msg("vswap_store_check: %s", vswap_error_name(ret));
}

#endif /* VSWAP_TEST_H */
