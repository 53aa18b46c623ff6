/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the libFuzzer harnesses (host/fuzz/fuzz_*.c; each is
 * its own program, header-only like tests/vswap_test.h).
 *
 *   struct fz_in        a cursor over the fuzz input; reads past the end
 *                       give zeroes, so every input decodes to something
 *   FZ_CHECK(cond, ...) the harness's oracle: print what differs, abort()
 *                       (libFuzzer saves the input as a crash)
 *   fz_page()           a page of one of the kinds the store treats
 *                       differently, a pure function of its description
 *                       (struct fz_page), so a reference model keeps the
 *                       description, not 4 KiB per slot
 *   fz_tmpfd()          one unlinked O_RDWR regular file for a disk tier
 *                       (O_TMPFILE, else mkstemp + unlink), in $TMPDIR
 *
 * Harnesses may reach libvswap internals (the src/ headers) as the unit
 * tests do: they link the library's objects, built for fuzzing
 * (host/Makefile, fuzz).
 */
#ifndef VSWAP_FUZZ_COMMON_H
#define VSWAP_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vswap.h"

#define FZ_PAGE VSWAP_PAGE_SIZE

#define FZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__,	\
				__LINE__, #cond);			\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

/*
 * The page generators are the harness's, not the library's: no coverage
 * feedback from their loops (which only add noise to the corpus), no
 * comparison tracing, which made them a third of fuzz_ops' time, and no
 * ASan checks of their stores into the harness's own page buffers.
 * noinline: inlined, they would be instrumented as their caller.
 */
#define FZ_NOCOV __attribute__((no_sanitize("coverage", "address"), noinline))

struct fz_in {
	const uint8_t *p;
	size_t n, at;
};

static inline bool fz_more(const struct fz_in *in)
{
	return in->at < in->n;
}

static inline uint8_t fz_u8(struct fz_in *in)
{
	return in->at < in->n ? in->p[in->at++] : 0;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t v = fz_u8(in);

	return (uint16_t)(v | (uint16_t)fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t v = fz_u16(in);

	return v | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t fz_u64(struct fz_in *in)
{
	uint64_t v = fz_u32(in);

	return v | (uint64_t)fz_u32(in) << 32;
}

/*
 * splitmix64: generated page content from a seed. Inlined (only FZ_NOCOV
 * generators call it, so it is never instrumented): out of line, its
 * seed's address escaped and ASan instrumented every caller's frame.
 */
static inline __attribute__((always_inline)) uint64_t fz_rng(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

enum fz_kind {
	FZ_ZERO = 0,	/* all zero */
	FZ_SAME,	/* one 64-bit word repeated (arg; 0 is a zero page) */
	FZ_BYTE,	/* one byte repeated (arg & 0xff) */
	FZ_TEXT,	/* words and numbers: compressible */
	FZ_RANDOM,	/* incompressible */
	FZ_NEAR_SAME,	/* FZ_SAME with one byte flipped: never "same" */
	FZ_TILE,	/* input bytes (len 1..64, at off) tiled over the page */
	FZ_MIXED,	/* text, then random from byte (arg % 4096): sizes
			 * around max_compressed */
	FZ__KINDS
};

/* What a page is; its content is fz_page(this). */
struct fz_page {
	uint8_t kind;		/* enum fz_kind */
	uint8_t len;		/* FZ_TILE: bytes of the tile */
	uint32_t off;		/* FZ_TILE: where in the input */
	uint64_t arg;		/* word, byte, seed */
};

static const char *const fz_words[] = {
	"the", "page", "swap", "slot", "guest", "host", "memory", "struct",
	"return", "int", "void", "static", "uint64_t", "if", "else", "for",
	"NULL", "error", "virtio", "queue", "0x", "=", "{", "}", ";",
};

FZ_NOCOV static inline void fz_text(unsigned char *p, size_t n,
				    uint64_t seed)
{
	const size_t nw = sizeof(fz_words) / sizeof(fz_words[0]);
	size_t at = 0;

	while (at < n) {
		uint64_t x = fz_rng(&seed);
		char tmp[24];
		size_t k = 0;

		if (x % 5 == 0) {
			unsigned v = (unsigned)((x >> 8) % 100000);
			char num[8];
			size_t d = 0;

			do {
				num[d++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			while (d)
				tmp[k++] = num[--d];
			tmp[k++] = ' ';
		} else {
			const char *w = fz_words[(x >> 8) % nw];

			k = strlen(w);
			memcpy(tmp, w, k);
			tmp[k++] = (x >> 40) % 9 == 0 ? '\n' : ' ';
		}
		if (k > n - at)
			k = n - at;
		memcpy(p + at, tmp, k);
		at += k;
	}
}

/*
 * A text page: a 4 KiB window of one 64 KiB text generated once per
 * process (seed -> window start), its first 8 bytes replaced by the seed
 * so windows that overlap still differ. Generating 4 KiB of words per
 * page was a fifth of fuzz_ops' time.
 */
#define FZ_TEXT_BUF	(64u << 10)

FZ_NOCOV static inline void fz_text_page(unsigned char *p, size_t n,
					 uint64_t seed)
{
	static unsigned char *text;
	size_t at;

	if (!text) {
		text = malloc(FZ_TEXT_BUF);
		if (!text)
			abort();
		fz_text(text, FZ_TEXT_BUF, 0x7e47);
	}
	at = (size_t)(seed % (FZ_TEXT_BUF - FZ_PAGE));
	memcpy(p, text + at, n);
	memcpy(p, &seed, n < 8 ? n : 8);
}

FZ_NOCOV static inline void fz_random(unsigned char *p, size_t n, uint64_t seed)
{
	size_t i;
	uint64_t v;

	/* whole words with a constant-size copy (a store, not a call) */
	for (i = 0; i + 8 <= n; i += 8) {
		v = fz_rng(&seed);
		memcpy(p + i, &v, 8);
	}
	if (i < n) {
		v = fz_rng(&seed);
		memcpy(p + i, &v, n - i);
	}
}

FZ_NOCOV static inline void fz_fill_word(unsigned char *p, uint64_t w)
{
	for (size_t i = 0; i < FZ_PAGE; i += 8)
		memcpy(p + i, &w, 8);
}

/* Page @d into @page; @data is the fuzz input FZ_TILE refers to. */
FZ_NOCOV static inline void fz_page(unsigned char *page,
				    const struct fz_page *d,
				    const uint8_t *data)
{
	switch (d->kind) {
	case FZ_SAME:
		fz_fill_word(page, d->arg);
		break;
	case FZ_BYTE:
		memset(page, (int)(d->arg & 0xff), FZ_PAGE);
		break;
	case FZ_TEXT:
		fz_text_page(page, FZ_PAGE, d->arg);
		break;
	case FZ_RANDOM:
		fz_random(page, FZ_PAGE, d->arg);
		break;
	case FZ_NEAR_SAME:
		fz_fill_word(page, d->arg);
		page[(d->arg >> 7) % FZ_PAGE] ^= 0x10;
		break;
	case FZ_TILE:
		for (size_t i = 0; i < FZ_PAGE; i++)
			page[i] = data[d->off + i % d->len];
		break;
	case FZ_MIXED: {
		size_t cut = (size_t)(d->arg % FZ_PAGE);

		fz_text_page(page, cut, d->arg);
		fz_random(page + cut, FZ_PAGE - cut, d->arg ^ 0x55);
		break;
	}
	default:
		memset(page, 0, FZ_PAGE);
		break;
	}
}

/*
 * Decode a page description from the input: kind, then what it needs.
 * FZ_TILE takes its tile from the input (at most what is left; an empty
 * tile becomes a zero page).
 */
static inline struct fz_page fz_page_decode(struct fz_in *in)
{
	struct fz_page d = { 0 };

	d.kind = (uint8_t)(fz_u8(in) % FZ__KINDS);
	switch (d.kind) {
	case FZ_SAME:
	case FZ_NEAR_SAME:
		d.arg = fz_u64(in);
		break;
	case FZ_BYTE:
		d.arg = fz_u8(in);
		break;
	case FZ_TEXT:
	case FZ_RANDOM:
	case FZ_MIXED:
		d.arg = fz_u32(in);
		break;
	case FZ_TILE: {
		size_t want = 1 + fz_u8(in) % 64, left = in->n - in->at;

		if (in->at >= in->n) {
			d.kind = FZ_ZERO;
			break;
		}
		d.len = (uint8_t)(want < left ? want : left);
		d.off = (uint32_t)in->at;
		in->at += d.len;
		break;
	}
	}
	return d;
}

FZ_NOCOV static inline bool fz_is_zero(const unsigned char *p)
{
	for (size_t i = 0; i < FZ_PAGE; i++)
		if (p[i])
			return false;
	return true;
}

/* A fresh unlinked regular file, O_RDWR, for a disk tier; dies on error. */
static inline int fz_tmpfd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/vswap-fuzz-XXXXXX", dir);
	fd = mkstemp(path);
	FZ_CHECK(fd >= 0, "mkstemp in %s: %s", dir, strerror(errno));
	unlink(path);
	return fd;
}

#endif /* VSWAP_FUZZ_COMMON_H */
