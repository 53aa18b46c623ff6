// SPDX-License-Identifier: MIT
/*
 * fuzz_tier_load: loads from a disk tier whose file was changed behind
 * the store's back (bit rot, a stray writer, a truncation), at offsets and
 * with bytes the fuzzer picks.
 *
 * Setup, once per configuration (input byte 0, % NCONF: codec x pool
 * checksum on/off): a store of NSLOTS slots with a disk tier; every slot
 * gets a page (all kinds: zero and same-filled stay in memory, text,
 * mixed and random ones go to the pool); vswap_writeback() moves the pool
 * to disk; a few slots are then stored over or invalidated, so the file
 * also holds dead objects. vswap_store_check() must pass; the file is
 * kept as the snapshot every input starts from. The store lives across
 * inputs: a load changes nothing in it but counters, and each input's
 * changes to the file are undone from the snapshot afterwards.
 *
 * Input after byte 0: patches, each a byte of type and its arguments:
 *   type % 4 == 0  write bytes at an absolute offset (u24 % file size +
 *                  a page: may extend the file)
 *   type % 4 == 1  write bytes at (object of slot u8) + i16 delta: aims
 *                  at headers and payloads
 *   type % 4 == 2  truncate the file to an offset (u24 % file size)
 *   type % 4 == 3  copy a range of the snapshot elsewhere (a misdirected
 *                  write of real, well-formed objects)
 *   bytes: a length byte (1..64) and that many bytes of input.
 *
 * The property, for every slot: its load returns the page bit-exact, or
 * fails with INTEGRITY or IO. More precisely:
 *   - a slot in memory, or whose object's bytes on disk are unchanged
 *     (and still in the file), loads exactly (OK);
 *   - a slot whose object changed may fail (INTEGRITY, IO), never crash;
 *     if it loads OK with other bytes, the harness checks that the object
 *     on disk is self-consistent (the header names the slot and carries
 *     CRC-32C of the changed payload): a forgery a 32-bit non-cryptographic
 *     checksum cannot catch, which the fuzzer can construct (it sees the
 *     comparison); counted, printed once, not a crash. Anything else
 *     (wrong data behind a checksum that does not match) aborts.
 * Disk objects carry the checksum whatever the pool's setting (tier.h),
 * so both settings are held to the same property.
 */
#include "fuzz_common.h"
#include "store.h"

#define NCONF		6	/* codecs x checksum */
#define NSLOTS		160	/* > 4 segments of as-is pages */
#define MAX_FILE	(4u << 20)

struct conf {
	struct vswap_store *s;
	int fd;
	uint64_t size;			/* of the snapshot */
	unsigned char *snap;		/* the file as set up */
	struct fz_page d[NSLOTS];
	unsigned char (*want)[FZ_PAGE];	/* each slot's page (zero: none) */
	bool used[NSLOTS];
	uint64_t w[NSLOTS];		/* slot entries after setup */
};

static struct conf confs[NCONF];
static unsigned char page[FZ_PAGE], got[FZ_PAGE];	/* setup, loads */
static uint64_t forgeries;

static uint64_t entry(struct vswap_store *s, uint64_t slot)
{
	struct vswap_slot *e = slot_table_lookup(&s->st, slot);

	return e ? __atomic_load_n(&e->w, __ATOMIC_RELAXED) : SLOT_EMPTY;
}

static void setup(struct conf *c, unsigned n)
{
	struct vswap_params p;
	struct vswap_writeback_result res;
	ssize_t got_n;
	int r, err = 1;
	unsigned disk = 0;

	vswap_params_init(&p, NSLOTS);
	p.codec = (enum vswap_codec)(n % 3);
	p.checksum = n / 3;
	c->s = vswap_store_create(&p, &err);
	FZ_CHECK(c->s, "create: %s", vswap_error_name(err));
	c->fd = fz_tmpfd();
	r = vswap_store_attach_disk(c->s, c->fd, 0);
	FZ_CHECK(r == VSWAP_OK, "attach: %s", vswap_error_name(r));
	for (unsigned i = 0; i < NSLOTS; i++) {
		static const uint8_t kinds[] = {
			FZ_TEXT, FZ_TEXT, FZ_RANDOM, FZ_MIXED, FZ_TEXT,
			FZ_NEAR_SAME, FZ_RANDOM, FZ_MIXED, FZ_ZERO, FZ_SAME,
		};

		c->d[i] = (struct fz_page){ .kind = kinds[i % 10],
					    .arg = 0x1234567ull * (i + 1) +
						   n };
		fz_page(page, &c->d[i], NULL);
		r = vswap_store_page(c->s, i, page);
		FZ_CHECK(r == VSWAP_OK, "store %u: %s", i,
			 vswap_error_name(r));
		c->used[i] = true;
	}
	r = vswap_writeback(c->s, 0, 0, &res);
	FZ_CHECK(r == VSWAP_OK, "writeback: %s", vswap_error_name(r));
	/* Dead objects on disk: stored over (now in the pool), dropped. */
	for (unsigned i = 5; i < NSLOTS; i += 37) {
		c->d[i].arg ^= 0xdead;
		fz_page(page, &c->d[i], NULL);
		r = vswap_store_page(c->s, i, page);
		FZ_CHECK(r == VSWAP_OK, "store %u: %s", i,
			 vswap_error_name(r));
	}
	for (unsigned i = 11; i < NSLOTS; i += 41) {
		r = vswap_invalidate(c->s, i, 1);
		FZ_CHECK(r == VSWAP_OK, "invalidate: %s", vswap_error_name(r));
		c->used[i] = false;
	}
	r = vswap_store_check(c->s);
	FZ_CHECK(r == VSWAP_OK, "store_check: %s", vswap_error_name(r));
	c->want = calloc(NSLOTS, FZ_PAGE);
	FZ_CHECK(c->want, "calloc");
	for (unsigned i = 0; i < NSLOTS; i++) {
		if (c->used[i])
			fz_page(c->want[i], &c->d[i], NULL);
		c->w[i] = entry(c->s, i);
		disk += slot_on_disk(slot_kind(c->w[i]));
	}
	FZ_CHECK(disk > NSLOTS / 2, "only %u slots on disk", disk);
	c->size = (uint64_t)lseek(c->fd, 0, SEEK_END);
	FZ_CHECK(c->size && c->size <= MAX_FILE, "file of %" PRIu64 " bytes",
		 c->size);
	c->snap = malloc(c->size);
	FZ_CHECK(c->snap, "malloc");
	got_n = pread(c->fd, c->snap, c->size, 0);
	FZ_CHECK(got_n == (ssize_t)c->size, "pread of the file");
}

/* The file differs from the snapshot in [lo, hi); truncated to tsize. */
struct damage {
	uint64_t lo, hi, tsize;
};

static void dirty(struct damage *dm, uint64_t off, uint64_t len)
{
	if (off < dm->lo)
		dm->lo = off;
	if (off + len > dm->hi)
		dm->hi = off + len;
}

static void put(struct conf *c, struct damage *dm, uint64_t off,
		const void *buf, size_t len)
{
	ssize_t r = pwrite(c->fd, buf, len, (off_t)off);

	FZ_CHECK(r == (ssize_t)len, "pwrite: %s", strerror(errno));
	dirty(dm, off, len);
}

static void patch(struct conf *c, struct damage *dm, struct fz_in *in)
{
	uint8_t type = fz_u8(in);
	uint64_t off;

	switch (type % 4) {
	case 0:
		off = (fz_u32(in) & 0xffffff) % (c->size + FZ_PAGE);
		break;
	case 1: {
		uint64_t w = c->w[fz_u8(in) % NSLOTS];
		int16_t delta = (int16_t)fz_u16(in);

		off = slot_on_disk(slot_kind(w)) ? slot_disk_off(w) : 0;
		off = (int64_t)off + delta < 0 ? 0 : off + delta;
		break;
	}
	case 2:
		off = (fz_u32(in) & 0xffffff) % c->size;
		FZ_CHECK(ftruncate(c->fd, (off_t)off) == 0, "ftruncate");
		if (off < dm->tsize)
			dm->tsize = off;
		return;
	default: {
		uint64_t from = (fz_u32(in) & 0xffffff) % c->size;
		uint64_t len = 8 + (fz_u16(in) % 4096);

		off = (fz_u32(in) & 0xffffff) % c->size;
		if (from + len > c->size)
			len = c->size - from;
		put(c, dm, off, c->snap + from, len);
		return;
	}
	}
	{
		uint8_t buf[64];
		size_t len = 1 + fz_u8(in) % 64;

		for (size_t i = 0; i < len; i++)
			buf[i] = fz_u8(in);
		put(c, dm, off, buf, len);
	}
}

/* Bytes [off, off + len) of the file now equal the snapshot's. */
static bool unchanged(const struct damage *dm,
		      uint64_t off, uint64_t len)
{
	return off + len <= dm->tsize &&
	       (off + len <= dm->lo || off >= dm->hi);
}

/* The object of entry @w on disk now names @slot and carries the checksum
 * of its (changed) payload: undetectable by design. */
static bool self_consistent(struct conf *c, uint64_t slot, uint64_t w)
{
	static unsigned char obj[TIER_OBJ_HDR + FZ_PAGE + 8];
	uint32_t len = slot_len(w), size = tier_obj_size(len);

	if (pread(c->fd, obj, size, (off_t)slot_disk_off(w)) != (ssize_t)size)
		return false;
	return obj_field(obj, 0) == obj_slot_code((uint32_t)slot) &&
	       obj_field(obj, 1) == store_csum(c->s, obj + TIER_OBJ_HDR, len);
}

static void check_slot(struct conf *c, const struct damage *dm,
		       uint64_t slot)
{
	uint64_t w = c->w[slot];
	bool disk = slot_on_disk(slot_kind(w));
	const unsigned char *want = c->want[slot];
	int r;

	FZ_CHECK(entry(c->s, slot) == w, "slot %" PRIu64 "'s entry changed",
		 slot);
	memset(got, 0xa5, FZ_PAGE);
	r = vswap_load_page(c->s, slot, got);
	if (!disk || unchanged(dm, slot_disk_off(w),
			       tier_obj_size(slot_len(w)))) {
		FZ_CHECK(r == VSWAP_OK && !memcmp(want, got, FZ_PAGE),
			 "slot %" PRIu64 " (%s, untouched) loads: %s%s", slot,
			 disk ? "on disk" : "in memory", vswap_error_name(r),
			 r ? "" : ", other data");
		return;
	}
	if (r == VSWAP_E_INTEGRITY || r == VSWAP_E_IO)
		return;
	FZ_CHECK(r == VSWAP_OK, "slot %" PRIu64 ": %s", slot,
		 vswap_error_name(r));
	if (memcmp(want, got, FZ_PAGE)) {
		FZ_CHECK(self_consistent(c, slot, w), "slot %" PRIu64
			 ": wrong data behind a checksum that does not match",
			 slot);
		if (forgeries++ == 0)
			fprintf(stderr, "fuzz_tier_load: slot %" PRIu64 " "
				"loaded a forged object (header and CRC "
				"rewritten to match): undetectable, not a "
				"crash\n", slot);
	}
}

static void restore(struct conf *c, const struct damage *dm)
{
	if (dm->tsize < c->size || dm->hi > c->size)
		FZ_CHECK(ftruncate(c->fd, (off_t)c->size) == 0, "ftruncate");
	if (dm->tsize < c->size) {
		ssize_t r = pwrite(c->fd, c->snap + dm->tsize,
				   c->size - dm->tsize, (off_t)dm->tsize);

		FZ_CHECK(r == (ssize_t)(c->size - dm->tsize), "restore");
	}
	if (dm->lo < dm->hi && dm->lo < dm->tsize && dm->lo < c->size) {
		uint64_t hi = dm->hi < c->size ? dm->hi : c->size;
		uint64_t lo = dm->lo;

		if (hi > dm->tsize)
			hi = dm->tsize;
		if (lo < hi) {
			ssize_t r = pwrite(c->fd, c->snap + lo, hi - lo,
					   (off_t)lo);

			FZ_CHECK(r == (ssize_t)(hi - lo), "restore");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	unsigned n = fz_u8(&in) % NCONF;
	struct conf *c = &confs[n];
	struct damage dm;

	if (!c->s)
		setup(c, n);
	dm = (struct damage){ UINT64_MAX, 0, UINT64_MAX };
	for (int k = 0; k < 16 && fz_more(&in); k++)
		patch(c, &dm, &in);
	for (uint64_t slot = 0; slot < NSLOTS; slot++)
		check_slot(c, &dm, slot);
	restore(c, &dm);
	return 0;
}
