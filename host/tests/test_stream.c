/* SPDX-License-Identifier: MIT */
/*
 * The migration stream (vswap_export_* / vswap_import, docs/migration.md).
 *
 *   roundtrip            every page kind, codec x checksum: export all,
 *                        import into a fresh store, bit-exact, the content
 *                        counters equal
 *   dirty_only_changes   after a full pass nothing is pending; overwrites
 *                        and invalidates are, compaction and writeback
 *                        are not; the second pass brings the copy level
 *   other_codec          lz4 source into a zstd destination (decoded and
 *                        stored again)
 *   from_disk_tier       written-back pages travel compressed, verified;
 *                        a corrupted one stops the export (INTEGRITY) and
 *                        stays pending
 *   reset_record         a reset during an export becomes a RESET record
 *   reset_record_releases_disk  ... which gives a destination's disk tier
 *                        its file space back
 *   malformed            every kind of bad record: a clear error, the
 *                        records before it applied, nothing after
 *   destination_full     a destination pool cap too small: NOSPACE
 *   same_dict_full       SAME records into a destination whose dictionary
 *                        of fill values is full: stored as tiny objects,
 *                        bit-exact (the import's fill path falls back)
 *   busy                 one export per store
 *   passes               a pass is complete only when every slot used at
 *                        the start was sent (not after one small buffer)
 *   live_writer          a thread stores, overwrites and invalidates
 *                        while the export runs; after the final pass the
 *                        copy equals the source slot for slot
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crc32c.h"
#include "same_dict.h"
#include "stream.h"
#include "vswap_test.h"
#include "tier_test.h"

#define CAP	4096u
#define BUFSZ	(256u * 1024u)

static enum page_kind kind_of(uint64_t i)
{
	static const enum page_kind k[] = {
		PK_ZERO, PK_SAME, PK_TEXT, PK_RANDOM, PK_NEAR_SAME, PK_TEXT,
		PK_TEXT,
	};

	return k[i % (sizeof(k) / sizeof(k[0]))];
}

static struct vswap_store *new_store(enum vswap_codec codec, bool csum,
				     uint64_t pool_max)
{
	struct vswap_params p;

	vswap_params_init(&p, CAP);
	p.codec = codec;
	p.checksum = csum;
	p.pool_max = pool_max;
	return test_store_new_p(&p);
}

/* Export everything pending into @dst; returns the records' bytes. */
static uint64_t transfer(struct vswap_export *x, struct vswap_store *dst)
{
	unsigned char *buf = malloc(BUFSZ);
	char why[256] = "";
	uint64_t total = 0;
	int64_t n;

	assert_non_null(buf);
	while ((n = vswap_export_next(x, buf, BUFSZ)) > 0) {
		int r = vswap_import(dst, buf, (size_t)n, why, sizeof(why));

		if (r)
			fail_msg("import: %s", why);
		total += (uint64_t)n;
	}
	assert_int_equal(n, 0);
	free(buf);
	return total;
}

static void assert_same_content(struct vswap_store *a, struct vswap_store *b)
{
	unsigned char pa[PAGE], pb[PAGE];
	struct vswap_stats sa, sb;

	for (uint64_t i = 0; i < CAP; i++) {
		assert_int_equal(vswap_load_page(a, i, pa), VSWAP_OK);
		assert_int_equal(vswap_load_page(b, i, pb), VSWAP_OK);
		if (memcmp(pa, pb, PAGE))
			fail_msg("slot %" PRIu64 " differs", i);
	}
	vswap_get_stats(a, &sa);
	vswap_get_stats(b, &sb);
	assert_int_equal(sa.stored_pages, sb.stored_pages);
	assert_int_equal(sa.zero_pages, sb.zero_pages);
	assert_int_equal(sa.same_pages, sb.same_pages);
	/* pages with an object, in memory or (source only) on disk */
	assert_int_equal(sa.incompressible_pages + sa.compressed_pages +
			 sa.disk_pages, sb.incompressible_pages +
			 sb.compressed_pages + sb.disk_pages);
	if (!sa.disk_pages && !sb.disk_pages)
		assert_int_equal(sa.incompressible_pages,
				 sb.incompressible_pages);
	assert_store_valid(a);
	assert_store_valid(b);
}

static void fill_mix(struct vswap_store *s, uint64_t n, uint64_t seed)
{
	for (uint64_t i = 0; i < n; i++)
		store_kind(s, i * 3 % CAP, kind_of(i), seed + i);
}

static void roundtrip(void **state)
{
	(void)state;
	for (int codec = 0; codec < VSWAP_CODEC__COUNT; codec++)
		for (int csum = 0; csum < 2; csum++) {
			struct vswap_store *a = new_store(codec, csum, 0);
			struct vswap_store *b = new_store(codec, csum, 0);
			struct vswap_stats sa, sb;
			struct vswap_export *x;
			uint64_t slots, bytes;

			fill_mix(a, 1500, 7);
			assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
			vswap_export_pending(x, &slots, &bytes);
			assert_int_equal(slots, 1500);	/* i*3 % CAP: distinct */
			assert_int_equal(vswap_export_passes(x), 0);
			transfer(x, b);
			assert_true(vswap_export_passes(x) >= 1);
			vswap_export_pending(x, &slots, NULL);
			assert_int_equal(slots, 0);
			assert_same_content(a, b);
			vswap_get_stats(a, &sa);
			vswap_get_stats(b, &sb);
			/* compressed as held, not recompressed */
			assert_int_equal(sa.compressed_bytes,
					 sb.compressed_bytes);
			vswap_export_stop(x);
			vswap_store_destroy(a);
			vswap_store_destroy(b);
		}
}

static void dirty_only_changes(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_params p;
	struct vswap_store *a, *b = new_store(VSWAP_CODEC_LZ4, false, 0);
	struct vswap_writeback_result wr;
	struct vswap_export *x;
	uint64_t slots;

	(void)state;
	vswap_params_init(&p, CAP);
	a = tier_store_new(&p, fd, 0);
	fill_mix(a, 3000, 11);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	transfer(x, b);
	/* moving data changes nothing logical */
	for (uint64_t i = 0; i < 3000; i += 2)
		assert_int_equal(vswap_invalidate(a, i * 3 % CAP, 1), VSWAP_OK);
	transfer(x, b);	/* the invalidates go across */
	assert_true(vswap_compact(a) >= 0);
	assert_int_equal(vswap_writeback(a, 0, 0, &wr), VSWAP_OK);
	assert_true(wr.pages > 0);
	vswap_export_pending(x, &slots, NULL);
	assert_int_equal(slots, 0);
	/* overwrites and invalidates are pending, each once */
	for (uint64_t i = 0; i < 40; i++) {
		store_kind(a, i, PK_TEXT, 900 + i);
		store_kind(a, i, PK_RANDOM, 1900 + i);
	}
	assert_int_equal(vswap_invalidate(a, 100, 200), VSWAP_OK);
	vswap_export_pending(x, &slots, NULL);
	assert_true(slots >= 40 && slots <= 40 + 200);
	transfer(x, b);
	assert_same_content(a, b);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	close(fd);
}

static void other_codec(void **state)
{
	struct vswap_store *a = new_store(VSWAP_CODEC_LZ4, false, 0);
	struct vswap_store *b = new_store(VSWAP_CODEC_ZSTD, true, 0);
	struct vswap_export *x;

	(void)state;
	fill_mix(a, 1000, 3);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	transfer(x, b);
	assert_same_content(a, b);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
}

static void from_disk_tier(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_params p;
	struct vswap_store *a, *b = new_store(VSWAP_CODEC_LZ4, false, 0);
	struct vswap_writeback_result wr;
	struct vswap_stats st;
	struct vswap_export *x;
	unsigned char *buf = malloc(BUFSZ);
	unsigned char page[PAGE];
	uint64_t slots;
	int64_t n, off;

	(void)state;
	vswap_params_init(&p, CAP);
	a = tier_store_new(&p, fd, 0);
	store_kind(a, 5, PK_TEXT, 55);
	store_kind(a, 6, PK_RANDOM, 66);
	assert_int_equal(vswap_writeback(a, 0, 0, &wr), VSWAP_OK);
	vswap_get_stats(a, &st);
	assert_int_equal(st.disk_pages, 2);
	/* flip a payload byte of slot 5's object in the file */
	off = disk_find_header(fd, 5);
	assert_true(off >= 0);
	assert_int_equal(pread(fd, page, 1, (off_t)off + 8 + 9), 1);
	page[0] ^= 0x40;
	assert_int_equal(pwrite(fd, page, 1, (off_t)off + 8 + 9), 1);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	n = vswap_export_next(x, buf, BUFSZ);
	assert_int_equal(n, VSWAP_E_INTEGRITY);
	vswap_export_pending(x, &slots, NULL);
	assert_int_equal(slots, 2);	/* nothing wrong was sent */
	/* the guest rewrites the page: it exports, from disk and memory */
	store_kind(a, 5, PK_TEXT, 56);
	transfer(x, b);
	assert_same_content(a, b);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	free(buf);
	close(fd);
}

static void reset_record(void **state)
{
	struct vswap_store *a = new_store(VSWAP_CODEC_LZ4, false, 0);
	struct vswap_store *b = new_store(VSWAP_CODEC_LZ4, false, 0);
	unsigned char *buf = malloc(BUFSZ);
	struct vswap_stats st;
	struct vswap_export *x;
	int64_t n;

	(void)state;
	fill_mix(a, 500, 9);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	transfer(x, b);
	vswap_reset(a);
	store_kind(a, 17, PK_TEXT, 1);
	n = vswap_export_next(x, buf, BUFSZ);
	assert_true(n > VSWAP_REC_HDR);
	assert_int_equal(buf[4], VSWAP_REC_RESET);	/* first */
	assert_int_equal(vswap_import(b, buf, (size_t)n, NULL, 0), VSWAP_OK);
	vswap_get_stats(b, &st);
	assert_int_equal(st.stored_pages, 1);
	assert_same_content(a, b);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	free(buf);
}

/*
 * Seal the record at @p: the CRC-32C of its header and the @body_len
 * bytes of body already in place after the checksum. Returns the header
 * and checksum's size.
 */
static size_t seal(unsigned char *p, size_t body_len)
{
	uint32_t h = vswap_crc32c(vswap_crc32c(0, p, VSWAP_REC_HDR),
				  p + VSWAP_REC_HDR + VSWAP_REC_CRC, body_len);

	for (int i = 0; i < 4; i++)
		p[VSWAP_REC_HDR + i] = (unsigned char)(h >> (8 * i));
	return VSWAP_REC_HDR + VSWAP_REC_CRC;
}

/* A little-endian record header, sealed over the body its kind and
 * @len say is in place (put it there first). Returns header + CRC size. */
static size_t rec(unsigned char *p, uint32_t slot, unsigned kind,
		  unsigned codec, unsigned len)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(slot >> (8 * i));
	p[4] = (unsigned char)kind;
	p[5] = (unsigned char)codec;
	p[6] = (unsigned char)len;
	p[7] = (unsigned char)(len >> 8);
	return seal(p, kind == VSWAP_REC_SAME ? 8 :
		       kind == VSWAP_REC_COMP || kind == VSWAP_REC_RAW ? len :
		       0);
}

/*
 * A RESET record gives a destination's disk tier its space back, as the
 * device's own reset does: without it the file kept the blocks of every
 * page written before the source's reset.
 */
static void reset_record_releases_disk(void **state)
{
	int fd = tier_tmpfile();
	struct vswap_params p;
	struct vswap_store *a = new_store(VSWAP_CODEC_LZ4, false, 0), *b;
	struct vswap_writeback_result wr;
	struct vswap_stats st;
	struct vswap_export *x;
	unsigned char reset[VSWAP_REC_HDR + VSWAP_REC_CRC] = { 0 };

	(void)state;
	vswap_params_init(&p, CAP);
	b = tier_store_new(&p, fd, 0);
	fill_mix(a, 2000, 11);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	transfer(x, b);
	assert_int_equal(vswap_writeback(b, 0, 0, &wr), VSWAP_OK);
	vswap_get_stats(b, &st);
	assert_true(st.disk_pages > 0);
	assert_true(st.disk_file_bytes > 0);
	rec(reset, 0, VSWAP_REC_RESET, 0, 0);
	assert_int_equal(vswap_import(b, reset, sizeof(reset), NULL, 0),
			 VSWAP_OK);
	vswap_get_stats(b, &st);
	assert_int_equal(st.stored_pages, 0);
	assert_int_equal(st.disk_pages, 0);
	assert_int_equal(st.disk_file_bytes, 0);
	/* the tier takes pages again after it */
	store_kind(b, 3, PK_TEXT, 3);
	assert_int_equal(vswap_writeback(b, 0, 0, &wr), VSWAP_OK);
	vswap_get_stats(b, &st);
	assert_int_equal(st.disk_pages, 1);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	close(fd);
}

static void malformed(void **state)
{
	struct vswap_store *a = new_store(VSWAP_CODEC_LZ4, false, 0);
	struct vswap_store *b = new_store(VSWAP_CODEC_LZ4, false, 0);
	unsigned char *good = calloc(1, BUFSZ), *bad = calloc(1, BUFSZ);
	struct vswap_export *x;
	struct vswap_stats st;
	char why[256];
	size_t glen;
	int64_t n;
	struct {
		const char *name;
		int err;
	} cases[] = {
		{ "truncated header", VSWAP_E_INVAL },
		{ "unknown kind", VSWAP_E_INVAL },
		{ "slot beyond capacity", VSWAP_E_RANGE },
		{ "reset with a slot", VSWAP_E_INVAL },
		{ "zero with a length", VSWAP_E_INVAL },
		{ "unknown codec", VSWAP_E_INVAL },
		{ "length 0", VSWAP_E_INVAL },
		{ "length > 4096", VSWAP_E_INVAL },
		{ "raw not 4096", VSWAP_E_INVAL },
		{ "checksum mismatch", VSWAP_E_INVAL },
		{ "truncated payload", VSWAP_E_INVAL },
		{ "truncated same value", VSWAP_E_INVAL },
		{ "garbage that decodes as lz4 of another codec", VSWAP_E_INVAL },
		{ "a flipped bit in the slot number", VSWAP_E_INVAL },
		{ "a flipped bit in a fill value", VSWAP_E_INVAL },
		{ "a flipped bit in the kind", VSWAP_E_INVAL },
		{ "compressed with no codec", VSWAP_E_INVAL },
	};

	(void)state;
	/* one good COMP record of slot 3, from a real export */
	store_kind(a, 3, PK_TEXT, 33);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	n = vswap_export_next(x, good, BUFSZ);
	assert_true(n > 12);
	assert_int_equal(good[4], VSWAP_REC_COMP);
	glen = (size_t)n;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len = 0;

		/* a good ZERO record of slot 1 first: it is applied */
		len += rec(bad, 1, VSWAP_REC_ZERO, 0, 0);
		switch (c) {
		case 0:
			len += 5;
			break;
		case 1:
			len += rec(bad + len, 2, 6, 0, 0);
			break;
		case 2:
			len += rec(bad + len, CAP, VSWAP_REC_ZERO, 0, 0);
			break;
		case 3:
			len += rec(bad + len, 2, VSWAP_REC_RESET, 0, 0);
			break;
		case 4:
			len += rec(bad + len, 2, VSWAP_REC_ZERO, 0, 8);
			break;
		case 5:
			memcpy(bad + len, good, glen);
			bad[len + 5] = VSWAP_CODEC__COUNT;
			len += glen;
			break;
		case 6:
			len += rec(bad + len, 2, VSWAP_REC_COMP, 0, 0);
			break;
		case 7:
			len += rec(bad + len, 2, VSWAP_REC_COMP, 0, 4097) + 4097;
			break;
		case 8:
			len += rec(bad + len, 2, VSWAP_REC_RAW, 0, 100) + 100;
			break;
		case 9:
			memcpy(bad + len, good, glen);
			bad[len + glen - 1] ^= 1;
			len += glen;
			break;
		case 10:
			memcpy(bad + len, good, glen - 1);
			len += glen - 1;
			break;
		case 11:
			len += rec(bad + len, 2, VSWAP_REC_SAME, 0, 0) + 4;
			break;
		case 12:	/* valid checksum, foreign codec, bad data */
			memcpy(bad + len, good, glen);
			bad[len + 5] = VSWAP_CODEC_ZSTD;
			seal(bad + len, glen - VSWAP_REC_HDR - VSWAP_REC_CRC);
			len += glen;
			break;
		case 13:	/* slot 3 read as slot 35: another slot */
			memcpy(bad + len, good, glen);
			bad[len] ^= 0x20;
			len += glen;
			break;
		case 14:	/* a SAME record of slot 2, then its value */
			memset(bad + len + 12, 0x5a, 8);
			len += rec(bad + len, 2, VSWAP_REC_SAME, 0, 0);
			bad[len] ^= 1;
			len += 8;
			break;
		case 15:	/* ZERO read as EMPTY */
			len += rec(bad + len, 2, VSWAP_REC_ZERO, 0, 0);
			bad[len - 8] = VSWAP_REC_EMPTY;
			break;
		case 16:
			memcpy(bad + len, good, glen);
			bad[len + 5] = VSWAP_CODEC_NONE;
			seal(bad + len, glen - VSWAP_REC_HDR - VSWAP_REC_CRC);
			len += glen;
			break;
		}
		memset(bad + len, 0, VSWAP_REC_HDR);	/* never read */
		why[0] = 0;
		vswap_reset(b);
		assert_int_equal(vswap_import(b, bad, len, why, sizeof(why)),
				 cases[c].err);
		if (!strstr(why, "byte ") || !strstr(why, "slot "))
			fail_msg("%s: no useful message: '%s'", cases[c].name,
				 why);
		printf("# %s: %s\n", cases[c].name, why);
		vswap_get_stats(b, &st);
		/* the record before the bad one was applied, no other */
		assert_int_equal(st.stored_pages, 1);
		assert_int_equal(st.zero_pages, 1);
		assert_store_valid(b);
	}
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	free(good);
	free(bad);
}

static void destination_full(void **state)
{
	struct vswap_store *a = new_store(VSWAP_CODEC_NONE, false, 0);
	struct vswap_store *b = new_store(VSWAP_CODEC_NONE, false, 1 << 20);
	unsigned char *buf = malloc(BUFSZ);
	struct vswap_export *x;
	char why[256] = "";
	int r = VSWAP_OK;
	int64_t n;

	(void)state;
	for (uint64_t i = 0; i < 1024; i++)	/* 4 MiB as-is */
		store_kind(a, i, PK_RANDOM, i);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	while (!r && (n = vswap_export_next(x, buf, BUFSZ)) > 0)
		r = vswap_import(b, buf, (size_t)n, why, sizeof(why));
	assert_int_equal(r, VSWAP_E_NOSPACE);
	printf("# %s\n", why);
	assert_store_valid(b);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	free(buf);
}

static void same_dict_full(void **state)
{
	const uint64_t first = SAME_DICT_MAX, extra = 16;
	unsigned char *buf = malloc(BUFSZ), page[VSWAP_PAGE_SIZE];
	struct vswap_params p;
	struct vswap_stats st;
	struct vswap_store *b;
	char why[256] = "";
	size_t len = 0;

	(void)state;
	assert_non_null(buf);
	vswap_params_init(&p, first + extra + 1);
	b = test_store_new_p(&p);
	/* Every value the dictionary can hold, each in a slot of its own. */
	for (uint64_t i = 0; i < first; i++) {
		uint64_t v = i + 1;

		for (unsigned w = 0; w < VSWAP_PAGE_SIZE / 8; w++)
			memcpy(page + w * 8, &v, 8);
		assert_int_equal(vswap_store_page(b, i, page), VSWAP_OK);
	}
	for (uint64_t i = 0; i < extra; i++) {
		uint64_t v = UINT64_C(0xfeed000000000000) + i;

		for (int k = 0; k < 8; k++)
			buf[len + VSWAP_REC_HDR + VSWAP_REC_CRC + k] =
				(unsigned char)(v >> (8 * k));
		len += rec(buf + len, (uint32_t)(first + i), VSWAP_REC_SAME, 0,
			   0) + 8;
	}
	len += rec(buf + len, (uint32_t)(first + extra), VSWAP_REC_ZERO, 0, 0);
	if (vswap_import(b, buf, len, why, sizeof(why)))
		fail_msg("import: %s", why);

	vswap_get_stats(b, &st);
	assert_int_equal(st.same_pages, first);
	assert_int_equal(st.compressed_pages, extra);
	assert_int_equal(st.zero_pages, 1);
	for (uint64_t i = 0; i <= extra; i++) {
		uint64_t v = i < extra ? UINT64_C(0xfeed000000000000) + i : 0;

		assert_int_equal(vswap_load_page(b, first + i, page), VSWAP_OK);
		for (unsigned w = 0; w < VSWAP_PAGE_SIZE / 8; w++) {
			uint64_t got;

			memcpy(&got, page + w * 8, 8);
			assert_true(got == v);
		}
	}
	vswap_store_destroy(b);
	free(buf);
}

static void passes(void **state)
{
	struct vswap_store *a = new_store(VSWAP_CODEC_NONE, false, 0);
	unsigned char *buf = malloc(VSWAP_REC_MAX);
	struct vswap_export *x;
	uint64_t calls = 0;

	(void)state;
	for (uint64_t i = 0; i < 64; i++)
		store_kind(a, i * 61 % CAP, PK_RANDOM, i);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	/* one raw page per call: 64 calls before the pass is complete */
	while (vswap_export_next(x, buf, VSWAP_REC_MAX) > 0) {
		if (calls < 63)
			assert_int_equal(vswap_export_passes(x), 0);
		calls++;
	}
	assert_int_equal(calls, 64);
	assert_true(vswap_export_passes(x) >= 1);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	free(buf);
}

/*
 * calloc() that fails for the dirty log's bitmap blocks while asked to
 * (the library's only calloc of that shape), so the log overflows. Not
 * under a sanitizer, which owns calloc itself.
 */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CALLOC_FAULTS 1
extern void *__libc_calloc(size_t n, size_t size);
static volatile bool fail_dirty_blocks;

void *calloc(size_t n, size_t size)
{
	if (fail_dirty_blocks && n == DIRTY_BLOCK_WORDS &&
	    size == sizeof(uint64_t))
		return NULL;
	return __libc_calloc(n, size);
}
#endif

/* The dirty log out of memory: the export says so, never "done". */
static void dirty_log_overflow(void **state)
{
#ifdef CALLOC_FAULTS
	struct vswap_store *a = new_store(VSWAP_CODEC_LZ4, false, 0);
	struct vswap_store *b = new_store(VSWAP_CODEC_LZ4, false, 0);
	unsigned char *buf = malloc(BUFSZ);
	struct vswap_export *x;
	uint64_t slots;

	(void)state;
	store_kind(a, 5, PK_TEXT, 1);
	store_kind(a, 900, PK_SAME, 2);
	fail_dirty_blocks = true;
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	vswap_export_pending(x, &slots, NULL);
	assert_int_equal(slots, CAP);		/* unknown: "a lot" */
	assert_int_equal(vswap_export_next(x, buf, BUFSZ), VSWAP_E_NOMEM);
	assert_int_equal(vswap_export_next(x, buf, BUFSZ), VSWAP_E_NOMEM);
	fail_dirty_blocks = false;
	/* Memory back: both slots go out after all. */
	transfer(x, b);
	assert_same_content(a, b);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
	free(buf);
#else
	(void)state;
	skip();
#endif
}

static void busy(void **state)
{
	struct vswap_store *a = new_store(VSWAP_CODEC_LZ4, false, 0);
	struct vswap_export *x, *y;

	(void)state;
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	assert_int_equal(vswap_export_start(a, &y), VSWAP_E_BUSY);
	vswap_export_stop(x);
	assert_int_equal(vswap_export_start(a, &y), VSWAP_OK);
	vswap_export_stop(y);
	vswap_store_destroy(a);
}

struct writer {
	struct vswap_store *s;
	uint64_t seed;
	int stop;
	uint64_t ops;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	struct test_rng r = { w->seed };

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		uint64_t slot = rng_below(&r, CAP), v = rng_next(&r);

		if (v % 8 == 0)
			vswap_invalidate(w->s, slot, 1 + v % 5 > CAP - slot ?
					 1 : 1 + v % 5);
		else if (v % 64 == 1)
			vswap_compact(w->s);
		else
			store_kind(w->s, slot, kind_of(v), v);
		__atomic_store_n(&w->ops, w->ops + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void live_writer(void **state)
{
	struct vswap_store *a = new_store(VSWAP_CODEC_LZ4, true, 0);
	struct vswap_store *b = new_store(VSWAP_CODEC_LZ4, true, 0);
	struct writer w = { a, test_seed(), 0, 0 };
	struct vswap_export *x;
	pthread_t t;
	uint64_t passes = 0, slots;

	(void)state;
	fill_mix(a, 3000, 21);
	assert_int_equal(vswap_export_start(a, &x), VSWAP_OK);
	assert_int_equal(pthread_create(&t, NULL, writer_fn, &w), 0);
	while (__atomic_load_n(&w.ops, __ATOMIC_RELAXED) < 20000 ||
	       passes < 5) {
		transfer(x, b);
		passes++;
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	transfer(x, b);		/* the stop-and-copy pass */
	vswap_export_pending(x, &slots, NULL);
	assert_int_equal(slots, 0);
	printf("# %" PRIu64 " writer ops, %" PRIu64 " passes\n", w.ops, passes);
	assert_same_content(a, b);
	vswap_export_stop(x);
	vswap_store_destroy(a);
	vswap_store_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(dirty_only_changes),
		cmocka_unit_test(other_codec),
		cmocka_unit_test(from_disk_tier),
		cmocka_unit_test(reset_record),
		cmocka_unit_test(reset_record_releases_disk),
		cmocka_unit_test(malformed),
		cmocka_unit_test(destination_full),
		cmocka_unit_test(same_dict_full),
		cmocka_unit_test(dirty_log_overflow),
		cmocka_unit_test(busy),
		cmocka_unit_test(passes),
		cmocka_unit_test(live_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
