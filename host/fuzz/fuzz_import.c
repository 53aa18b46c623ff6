// SPDX-License-Identifier: MIT
/*
 * fuzz_import: vswap_import() of a migration stream the fuzzer writes
 * (docs/migration.md; the record format is in vswap.h).
 *
 * Input byte 0 picks the destination (bits 0-6 % NCONF: codec x checksum);
 * a store of NSLOTS slots is made per configuration once and reset before
 * each input. The rest of the input is the records, given to
 * vswap_import() as one buffer; with bit 7 of byte 0 set, the harness
 * first gives each record the CRC it should have (every record carries
 * one over its header and body), or the fuzzer would rarely get past it.
 *
 * The property: whatever the bytes, the import returns OK or an error
 * (never crashes, never loops), vswap_store_check() passes after it, and
 * the records before a refused one are applied: every slot then loads
 * exactly what the harness's own reading of those records says (EMPTY
 * and ZERO: zeroes; SAME: the value; RAW: the payload; COMP: what the
 * codec's decoder makes of it) or, for COMP only, fails with INTEGRITY
 * (a payload whose checksum matches but that does not decode: the
 * stream's checksum covers transit, not a source that sends garbage).
 * A later record of a slot replaces an earlier one; RESET empties all.
 */
#include "fuzz_common.h"
#include "crc32c.h"
#include "codec.h"
#include "store.h"

#define NCONF		6
#define NSLOTS		64

static struct vswap_store *stores[NCONF];

/* What the harness expects of a slot after the records it accepted. */
struct want {
	uint8_t kind;		/* VSWAP_REC_* (EMPTY when never named) */
	uint8_t codec;
	uint16_t len;
	uint64_t value;
	const uint8_t *payload;
};

static uint32_t le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void *dec[VSWAP_CODEC__COUNT];

/* Decode @len bytes of @codec into @page: 0 or -1, as the store would. */
static int decode(unsigned codec, const uint8_t *src, unsigned len,
		  unsigned char *page)
{
	const struct vswap_codec_ops *ops = vswap_codec_ops(codec);

	if (!dec[codec])
		dec[codec] = ops->ctx_create(ops->level_default);
	FZ_CHECK(dec[codec], "decoder");
	return ops->decompress(dec[codec], src, len, page);
}

/*
 * Body bytes of a record with this header by its kind and length, or -1
 * when import_one() refuses the header itself (kind, codec, length).
 */
static long body_len(unsigned kind, unsigned codec, unsigned len,
		     uint32_t slot)
{
	if (kind > VSWAP_REC_RESET ||
	    (kind != VSWAP_REC_COMP && codec) ||
	    (kind < VSWAP_REC_COMP && len) ||
	    (kind == VSWAP_REC_RESET && (slot || len)))
		return -1;
	if (kind == VSWAP_REC_SAME)
		return 8;
	if (kind == VSWAP_REC_COMP || kind == VSWAP_REC_RAW) {
		if (!len || len > VSWAP_PAGE_SIZE ||
		    (kind == VSWAP_REC_RAW && len != VSWAP_PAGE_SIZE) ||
		    (kind == VSWAP_REC_COMP &&
		     (codec >= VSWAP_CODEC__COUNT || codec == VSWAP_CODEC_NONE)))
			return -1;
		return len;
	}
	return 0;
}

#define REC_BODY	(VSWAP_REC_HDR + VSWAP_REC_CRC)

/* The record CRC (vswap.h): header, then body. */
static uint32_t rec_crc(const uint8_t *p, size_t blen)
{
	return vswap_crc32c(vswap_crc32c(0, p, VSWAP_REC_HDR), p + REC_BODY,
			    blen);
}

/*
 * Give every record of @p whose header import_one() takes its right CRC
 * (up to the first it refuses or that is cut short), so that the fuzzer
 * reaches what lies behind the checksum; @p is the harness's copy.
 */
static void seal(uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off + REC_BODY <= n) {
		long blen = body_len(p[off + 4], p[off + 5],
				     le(p + off + 6, 2), le(p + off, 4));
		uint32_t h;

		if (blen < 0 || n - off - REC_BODY < (size_t)blen)
			return;
		h = rec_crc(p + off, (size_t)blen);
		for (unsigned i = 0; i < 4; i++)
			p[off + VSWAP_REC_HDR + i] = (uint8_t)(h >> (8 * i));
		off += REC_BODY + (size_t)blen;
	}
}

/*
 * The records of @p that import_one() accepts, in order, up to the first
 * one it refuses (a page of another codec than @store_codec is decoded
 * there: one that does not decode is refused); returns how many bytes
 * they take.
 */
static size_t model(const uint8_t *p, size_t n, struct want *w,
		    unsigned store_codec)
{
	static unsigned char scratch[FZ_PAGE];

	size_t off = 0;

	while (off + REC_BODY <= n) {
		uint32_t slot = le(p + off, 4);
		unsigned kind = p[off + 4], codec = p[off + 5];
		unsigned len = le(p + off + 6, 2);
		long blen = body_len(kind, codec, len, slot);
		const uint8_t *body = p + off + REC_BODY;

		if (blen < 0 || n - off - REC_BODY < (size_t)blen ||
		    rec_crc(p + off, (size_t)blen) !=
		    le(p + off + VSWAP_REC_HDR, 4))
			break;
		if (kind == VSWAP_REC_RESET) {
			memset(w, 0, NSLOTS * sizeof(*w));
			off += REC_BODY;
			continue;
		}
		if (slot >= NSLOTS)
			break;
		if (kind == VSWAP_REC_COMP && codec != store_codec &&
		    decode(codec, body, len, scratch))
			break;
		w[slot].kind = (uint8_t)kind;
		w[slot].codec = (uint8_t)codec;
		w[slot].len = (uint16_t)len;
		w[slot].value = kind == VSWAP_REC_SAME ?
			(uint64_t)le(body, 4) | (uint64_t)le(body + 4, 4) << 32 :
			0;
		w[slot].payload = body;
		off += REC_BODY + (size_t)blen;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char got[FZ_PAGE], want[FZ_PAGE];
	struct want w[NSLOTS] = { 0 };
	struct vswap_store *s;
	unsigned conf;
	size_t ok_bytes;
	int r;

	if (!size)
		return 0;
	/* Bit 7 of byte 0: seal the records (the right CRCs), else the
	 * bytes go as they are. The rest picks the destination. */
	conf = (data[0] & 0x7f) % NCONF;
	if (!stores[conf]) {
		struct vswap_params p;

		vswap_params_init(&p, NSLOTS);
		p.codec = (enum vswap_codec)(conf % 3);
		p.checksum = conf >= 3;
		stores[conf] = vswap_store_create(&p, NULL);
		FZ_CHECK(stores[conf], "store");
	}
	s = stores[conf];
	vswap_reset(s);
	if (data[0] & 0x80) {
		static uint8_t copy[1 << 20];

		if (size - 1 > sizeof(copy))
			return 0;
		memcpy(copy, data + 1, size - 1);
		seal(copy, size - 1);
		data = copy;
	} else {
		data++;
	}
	size--;
	ok_bytes = model(data, size, w, conf % 3);
	r = vswap_import(s, data, size, NULL, 0);
	FZ_CHECK(vswap_store_check(s) == VSWAP_OK, "store invalid after import");
	FZ_CHECK((r == VSWAP_OK) == (ok_bytes == size),
		 "import %d, model accepted %zu of %zu bytes", r, ok_bytes,
		 size);
	for (unsigned i = 0; i < NSLOTS; i++) {
		int lr = vswap_load_page(s, i, got);

		memset(want, 0, sizeof(want));
		if (w[i].kind == VSWAP_REC_SAME) {
			for (unsigned k = 0; k < FZ_PAGE / 8; k++)
				memcpy(want + k * 8, &w[i].value, 8);
		} else if (w[i].kind == VSWAP_REC_RAW) {
			memcpy(want, w[i].payload, FZ_PAGE);
		} else if (w[i].kind == VSWAP_REC_COMP &&
			   decode(w[i].codec, w[i].payload, w[i].len, want)) {
			/* of the store's codec (a foreign one was refused):
			 * kept as sent, and its load fails, never lies */
			FZ_CHECK(lr == VSWAP_E_INTEGRITY, "slot %u: load %d of "
				 "a page that does not decode", i, lr);
			continue;
		}
		FZ_CHECK(lr == VSWAP_OK, "slot %u: load %d", i, lr);
		FZ_CHECK(!memcmp(got, want, FZ_PAGE),
			 "slot %u: wrong page (kind %u)", i, w[i].kind);
	}
	return 0;
}
