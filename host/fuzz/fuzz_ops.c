// SPDX-License-Identifier: MIT
/*
 * fuzz_ops: libvswap's public API driven by a sequence of operations
 * decoded from the input, on a small store, checked against a reference
 * model (slot -> description of the page it holds, fuzz_common.h). Any
 * disagreement with vswap.h's contract aborts.
 *
 * Input: 4 bytes of configuration, then operations until the input ends.
 *   byte 0  codec (% 3), checksum (bit 2), disk tier (bit 3), level
 *           choice (bits 4-5: default, min, max, a byte of input; an
 *           out-of-range level must be refused with INVAL), max_compressed
 *           choice (bits 6-7: default, 4096, 16 x a byte, a u16 of input;
 *           above 4096 must be refused with INVAL)
 *   byte 1  capacity (one of a few, around the 1024-slot table chunks)
 *   byte 2  pool cap: none, or one of three ranges (32 KiB steps, 128
 *           KiB steps from 256 KiB, 4 KiB steps: below what one store
 *           needs, so NOSPACE paths run)
 *   byte 3  disk tier max_bytes (0 = grow, 1, 2 or N MiB)
 *   ops     one byte each (% 16) and its arguments; see run_op()
 *
 * What is checked, after every operation:
 *   - each call's return value is one the contract allows in this state
 *     (NOSPACE only under a cap, WOULDBLOCK only with a disk tier and
 *     VSWAP_NOWAIT, RANGE exactly for slots outside capacity...);
 *   - a successful load is bit-exact with the model; an empty slot
 *     (never stored, invalidated, reset) loads zeroes; a refused store
 *     leaves the slot's previous page (vswap.h: "the slot keeps its
 *     previous content");
 *   - vswap_store_check() (every internal invariant) is OK: after the
 *     operations that move many objects (runs, invalidate, writeback,
 *     reclaim, compact or trim, reset, cap change) and at the end, not after
 *     each single store or load (it is O(store));
 *   - counters: stored_pages and zero_pages equal the model's, same_pages
 *     at most its same-filled pages, no integrity or disk read error, no
 *     disk pages without a disk;
 *   - the pool cap: pool bytes never grow past max(cap, what they were
 *     before the operation) (a charge fails rather than pass the cap).
 * At the end every slot ever touched is loaded and compared.
 * Single-threaded: libFuzzer needs determinism; the concurrent paths are
 * test_model's and test_tier_race's business.
 */
#include "fuzz_common.h"
#include "store.h"

#define MAX_CAPACITY	4100u

struct ref {
	bool used;		/* holds a page */
	bool touched;		/* in the touched list */
	bool zero, same;	/* the page is all zero / one word repeated */
	struct fz_page d;
};

struct model {
	struct vswap_store *s;
	const uint8_t *data;	/* the input: FZ_TILE pages point into it */
	uint64_t capacity;
	bool disk;
	struct ref ref[MAX_CAPACITY];
	uint32_t touched[MAX_CAPACITY];
	uint32_t ntouched;
	uint64_t count, zeros, sames;
	unsigned char want[FZ_PAGE], got[FZ_PAGE];
};

static struct model m;	/* 80 KiB: static, reset per input */

/*
 * Stores with a disk tier are kept between inputs and vswap_reset()
 * before reuse: attaching one allocates the writeback arrays (2.5 MiB),
 * whose page faults under ASan made a fresh one cost ~18 ms, a fuzzer
 * 8x slower. A reset store is a state the API promises to be as good as
 * new (vswap.h: every slot dropped, the file truncated); only fresh
 * creation with a disk is run once per configuration instead of once
 * per input. Keyed by everything fixed at creation, 32 at a time.
 */
#define DISK_CACHE	32
static struct cached {
	uint64_t key[6];
	struct vswap_store *s;
	int fd;
} cache[DISK_CACHE] = { [0 ... DISK_CACHE - 1] = { .fd = -1 } };

static struct vswap_store *disk_store(const struct vswap_params *p,
				      uint64_t max);

static const uint64_t capacities[8] = { 1, 2, 63, 1024, 1025, 2049, 4096,
					100 };

FZ_NOCOV static bool page_same(const unsigned char *p)
{
	for (size_t i = 8; i < FZ_PAGE; i += 8)
		if (memcmp(p, p + i, 8))
			return false;
	return true;
}

static uint64_t decode_cap(uint8_t b)
{
	switch (b >> 6) {
	case 0:
		return 0;
	case 1:
		return (uint64_t)(b & 63) * (32u << 10);
	case 2:
		return (256u << 10) + (uint64_t)(b & 63) * (128u << 10);
	default:
		return (uint64_t)(b & 63) * 4096u;
	}
}

/* A slot: mostly inside capacity, 1 in 4096 beyond it (RANGE). */
static uint64_t decode_slot(struct fz_in *in)
{
	uint16_t v = fz_u16(in);

	if (v >= 0xfff0)
		return (v & 7) == 7 ? UINT64_MAX : m.capacity + (v & 7);
	return v % m.capacity;
}

static void touch(uint64_t slot)
{
	if (!m.ref[slot].touched) {
		m.ref[slot].touched = true;
		m.touched[m.ntouched++] = (uint32_t)slot;
	}
}

static void model_drop(uint64_t slot)
{
	struct ref *r = &m.ref[slot];

	if (!r->used)
		return;
	m.count--;
	m.zeros -= r->zero;
	m.sames -= r->same && !r->zero;
	r->used = false;
}

static void model_set(uint64_t slot, const struct fz_page *d,
		      const unsigned char *page)
{
	struct ref *r = &m.ref[slot];

	model_drop(slot);
	r->used = true;
	r->d = *d;
	r->zero = fz_is_zero(page);
	r->same = page_same(page);
	m.count++;
	m.zeros += r->zero;
	m.sames += r->same && !r->zero;
}

static bool slot_is_on_disk(uint64_t slot)
{
	struct vswap_slot *e = slot_table_lookup(&m.s->st, slot);

	return e && slot_on_disk(slot_kind(__atomic_load_n(&e->w,
							   __ATOMIC_RELAXED)));
}

static void check_load(uint64_t slot, unsigned flags)
{
	int r;

	memset(m.got, 0xa5, FZ_PAGE);
	if (slot >= m.capacity) {
		r = vswap_load_page_flags(m.s, slot, m.got, flags);
		FZ_CHECK(r == VSWAP_E_RANGE, "load of slot %" PRIu64
			 " (capacity %" PRIu64 "): %s", slot, m.capacity,
			 vswap_error_name(r));
		return;
	}
	{
		bool on_disk = slot_is_on_disk(slot);

		r = vswap_load_page_flags(m.s, slot, m.got, flags);
		if ((flags & VSWAP_NOWAIT) && on_disk) {
			FZ_CHECK(r == VSWAP_E_WOULDBLOCK, "NOWAIT load of "
				 "slot %" PRIu64 " on disk: %s", slot,
				 vswap_error_name(r));
			return;
		}
	}
	FZ_CHECK(r == VSWAP_OK, "load of slot %" PRIu64 ": %s", slot,
		 vswap_error_name(r));
	if (m.ref[slot].used)
		fz_page(m.want, &m.ref[slot].d, m.data);
	else
		memset(m.want, 0, FZ_PAGE);
	if (memcmp(m.want, m.got, FZ_PAGE)) {
		size_t i = 0;

		while (m.want[i] == m.got[i])
			i++;
		FZ_CHECK(0, "slot %" PRIu64 " (%s, kind %u) differs at byte "
			 "%zu: want %02x got %02x", slot,
			 m.ref[slot].used ? "stored" : "empty",
			 m.ref[slot].d.kind, i, m.want[i], m.got[i]);
	}
}

static void do_store(uint64_t slot, const struct fz_page *d, unsigned flags)
{
	uint64_t cap = pool_max(&m.s->pool);
	struct vswap_slot *e = slot < m.capacity ?
			       slot_table_lookup(&m.s->st, slot) : NULL;
	/* NOWAIT does not drop a disk extent (it may punch the file) */
	bool on_disk = e && slot_on_disk(slot_kind(__atomic_load_n(
					&e->w, __ATOMIC_ACQUIRE)));
	int r;

	fz_page(m.want, d, m.data);
	r = vswap_store_page_flags(m.s, slot, m.want, flags);
	if (slot >= m.capacity) {
		FZ_CHECK(r == VSWAP_E_RANGE, "store to slot %" PRIu64
			 " (capacity %" PRIu64 "): %s", slot, m.capacity,
			 vswap_error_name(r));
		return;
	}
	touch(slot);
	if (r == VSWAP_OK) {
		model_set(slot, d, m.want);
		return;
	}
	/* Refused: the slot keeps its previous content (checked by the
	 * next load of it). */
	FZ_CHECK((r == VSWAP_E_NOSPACE && cap) ||
		 (r == VSWAP_E_WOULDBLOCK && (flags & VSWAP_NOWAIT) &&
		  m.disk && (cap || on_disk)),
		 "store to slot %" PRIu64 " (cap %" PRIu64 ", disk %d, on "
		 "disk %d, flags %u): %s", slot, cap, m.disk, on_disk, flags,
		 vswap_error_name(r));
}

static void do_invalidate(uint64_t first, uint64_t count)
{
	int r = vswap_invalidate(m.s, first, count);

	if (first >= m.capacity || count > m.capacity - first) {
		FZ_CHECK(r == (count ? VSWAP_E_RANGE : VSWAP_OK),
			 "invalidate %" PRIu64 "+%" PRIu64 " (capacity %"
			 PRIu64 "): %s", first, count, m.capacity,
			 vswap_error_name(r));
		return;
	}
	FZ_CHECK(r == VSWAP_OK, "invalidate %" PRIu64 "+%" PRIu64 ": %s",
		 first, count, vswap_error_name(r));
	for (uint64_t i = first; i < first + count; i++) {
		if (m.ref[i].used) {
			model_drop(i);
			touch(i);
		}
	}
}

static void check_wb_result(int r, const struct vswap_writeback_result *res,
			    const char *what)
{
	if (!m.disk) {
		FZ_CHECK(r == VSWAP_E_INVAL, "%s without a disk: %s", what,
			 vswap_error_name(r));
		return;
	}
	FZ_CHECK(r == VSWAP_OK || r == VSWAP_E_NOSPACE, "%s: %s", what,
		 vswap_error_name(r));
	FZ_CHECK(res->pages <= m.count, "%s moved %" PRIu64 " pages of %"
		 PRIu64, what, res->pages, m.count);
}

/*
 * After every operation: counters, the cap; with @full, every internal
 * invariant too (vswap_store_check(), O(store): after the operations that
 * move many objects, and at the end, not after each single store).
 */
static void check_state(uint64_t bytes_before, bool full)
{
	struct vswap_stats st;
	uint64_t cap = pool_max(&m.s->pool), bytes;
	int r = full ? vswap_store_check(m.s) : VSWAP_OK;

	FZ_CHECK(r == VSWAP_OK, "vswap_store_check: %s", vswap_error_name(r));
	vswap_get_stats(m.s, &st);
	FZ_CHECK(st.stored_pages == m.count, "stored_pages %" PRIu64
		 ", model %" PRIu64, st.stored_pages, m.count);
	FZ_CHECK(st.zero_pages == m.zeros, "zero_pages %" PRIu64 ", model %"
		 PRIu64, st.zero_pages, m.zeros);
	FZ_CHECK(st.same_pages <= m.sames, "same_pages %" PRIu64 ", model %"
		 PRIu64, st.same_pages, m.sames);
	FZ_CHECK(m.disk || st.disk_pages == 0, "disk pages without a disk");
	FZ_CHECK(st.integrity_errors == 0 && st.disk_read_errors == 0,
		 "integrity errors %" PRIu64 ", disk read errors %" PRIu64,
		 st.integrity_errors, st.disk_read_errors);
	bytes = vswap_pool_bytes(m.s);
	FZ_CHECK(!cap || bytes <= cap || bytes <= bytes_before,
		 "pool bytes %" PRIu64 " grew past the cap %" PRIu64
		 " (before: %" PRIu64 ")", bytes, cap, bytes_before);
}

/* vswap_tier_release(): OK with a disk tier, INVAL without one. */
static void check_tier_release(const char *what)
{
	int r = vswap_tier_release(m.s);

	FZ_CHECK(r == (m.disk ? VSWAP_OK : VSWAP_E_INVAL), "%s: %s", what,
		 vswap_error_name(r));
}

/* Returns true after an operation worth a full invariant check. */
static bool run_op(struct fz_in *in)
{
	uint8_t op = fz_u8(in);
	struct vswap_writeback_result res;
	struct fz_page d;
	uint64_t slot, n;
	int r;

	switch (op % 16) {
	case 0: case 1: case 2: case 3:		/* store */
		slot = decode_slot(in);
		d = fz_page_decode(in);
		do_store(slot, &d, 0);
		break;
	case 4: case 5:				/* load */
		slot = decode_slot(in);
		check_load(slot, 0);
		break;
	case 6:					/* NOWAIT store or load */
		slot = decode_slot(in);
		if (op & 0x10) {
			d = fz_page_decode(in);
			do_store(slot, &d, VSWAP_NOWAIT);
		} else {
			check_load(slot, VSWAP_NOWAIT);
		}
		break;
	case 7:					/* invalidate a range */
		slot = decode_slot(in);
		n = fz_u8(in);
		if (n == 0xff)
			n = fz_u64(in);
		else if (n >= 0xf0)
			n = m.capacity - (n & 0xf);	/* near capacity */
		do_invalidate(slot, n);
		break;
	case 8: {				/* writeback */
		uint64_t age = (op & 0x10) ? fz_u32(in) :
			       (op & 0x20) ? UINT64_MAX : 0;
		uint64_t max = (op & 0x40) ? (uint64_t)fz_u16(in) << 6 : 0;

		r = vswap_writeback(m.s, age, max, &res);
		check_wb_result(r, &res, "writeback");
		break;
	}
	case 9: {				/* compact, or trim */
		int64_t freed = (op & 0x20) ? vswap_trim(m.s) :
					      vswap_compact(m.s);

		FZ_CHECK(freed >= 0, "%s: %s", (op & 0x20) ? "trim" : "compact",
			 vswap_error_name((int)freed));
		if (op & 0x10)	/* and give back unused disk: no live
				 * object may be cut (the loads after say) */
			check_tier_release("tier release");
		break;
	}
	case 10:				/* reset */
		if (op & 0x10) {
			/* announced: long calls stop early, none fails; the
			 * model is not updated, the reset drops everything */
			vswap_reset_begin(m.s);
			r = vswap_invalidate(m.s, 0, m.capacity);
			FZ_CHECK(r == VSWAP_OK, "announced invalidate: %s",
				 vswap_error_name(r));
			FZ_CHECK(vswap_compact(m.s) >= 0, "announced compact");
			r = vswap_writeback(m.s, 0, 0, &res);
			check_wb_result(r, &res, "announced writeback");
		}
		vswap_reset(m.s);
		for (uint64_t i = 0; i < m.capacity; i++)
			model_drop(i);
		if (op & 0x20)	/* what the device's worker does next */
			check_tier_release("tier release after reset");
		break;
	case 11:				/* set the pool cap */
		r = vswap_set_pool_max(m.s, decode_cap(fz_u8(in)));
		FZ_CHECK(r == VSWAP_OK, "set_pool_max: %s",
			 vswap_error_name(r));
		break;
	case 12:				/* pressure writeback */
		r = vswap_reclaim(m.s, &res);
		check_wb_result(r, &res, "reclaim");
		break;
	case 13:				/* sweep */
		for (uint32_t i = 0; i < m.ntouched; i++)
			check_load(m.touched[i], 0);
		(void)vswap_take_events(m.s);
		break;
	case 14: case 15: {			/* a run of stores */
		slot = decode_slot(in);
		n = 1 + fz_u8(in);
		d = fz_page_decode(in);
		for (uint64_t i = 0; i < n; i++) {
			/* 15: each page its own (another seed or word) */
			if (op % 16 == 15)
				d.arg++;
			do_store(slot, &d, 0);
			if (slot >= m.capacity)
				break;
			slot = (slot + 1) % m.capacity;
		}
		break;
	}
	}
	return (op % 16) >= 7 && (op % 16) != 13;
}

/* The configuration bytes -> a store; NULL if none could be made. */
static struct vswap_store *make_store(struct fz_in *in)
{
	uint8_t b0 = fz_u8(in), b1 = fz_u8(in), b2 = fz_u8(in);
	uint8_t b3 = fz_u8(in);
	struct vswap_params p;
	struct vswap_store *s;
	int lmin, lmax, err = 1;
	bool bad = false;

	m.capacity = capacities[b1 & 7];
	vswap_params_init(&p, m.capacity);
	p.codec = (enum vswap_codec)(b0 % 3);
	p.checksum = (b0 >> 2) & 1;
	m.disk = (b0 >> 3) & 1;
	vswap_codec_level_bounds(p.codec, &lmin, &lmax);
	switch ((b0 >> 4) & 3) {
	case 0: p.level = 0; break;
	case 1: p.level = lmin; break;
	case 2: p.level = lmax; break;
	default:
		p.level = (int8_t)fz_u8(in);
		bad = p.level && (p.level < lmin || p.level > lmax);
		break;
	}
	/* zstd's highest levels cost milliseconds a page: not here. */
	if (!bad && p.codec == VSWAP_CODEC_ZSTD && p.level > 9)
		p.level = 9;
	switch (b0 >> 6) {
	case 0: p.max_compressed = 0; break;
	case 1: p.max_compressed = FZ_PAGE; break;
	case 2: p.max_compressed = 16u * fz_u8(in); break;
	default:
		p.max_compressed = fz_u16(in);
		bad |= p.max_compressed > FZ_PAGE;
		break;
	}
	p.pool_max = decode_cap(b2);
	if (bad) {
		s = vswap_store_create(&p, &err);
		FZ_CHECK(!s && err == VSWAP_E_INVAL, "bad params (level %d, "
			 "max_compressed %u) accepted: %s", p.level,
			 p.max_compressed, vswap_error_name(err));
		return NULL;
	}
	if (!m.disk) {
		s = vswap_store_create(&p, &err);
		FZ_CHECK(s && err == VSWAP_OK, "create: %s",
			 vswap_error_name(err));
		return s;
	}
	return disk_store(&p, (b3 & 3) == 0 ? 0 :
			  (b3 & 3) == 3 ? (uint64_t)(1 + (b3 >> 2) % 8) << 20 :
			  (uint64_t)(b3 & 3) << 20);
}

/* A store of @p with a fresh disk tier of @max bytes: one of the cache,
 * reset, or a new one. */
static struct vswap_store *disk_store(const struct vswap_params *p,
				      uint64_t max)
{
	struct cached *c = NULL;
	uint64_t key[6] = { p->codec, p->checksum, (uint64_t)p->level,
			    p->max_compressed, p->capacity, max };
	uint64_t h = 0;
	int r, err = 1;

	for (int i = 0; i < 6; i++)
		h = h * 31 + key[i];
	c = &cache[h % DISK_CACHE];
	if (c->s && !memcmp(c->key, key, sizeof(key))) {
		vswap_reset(c->s);
		r = vswap_set_pool_max(c->s, p->pool_max);
		FZ_CHECK(r == VSWAP_OK, "set_pool_max: %s",
			 vswap_error_name(r));
		(void)vswap_take_events(c->s);
		return c->s;
	}
	vswap_store_destroy(c->s);
	c->s = vswap_store_create(p, &err);
	FZ_CHECK(c->s && err == VSWAP_OK, "create: %s", vswap_error_name(err));
	memcpy(c->key, key, sizeof(key));
	if (c->fd < 0)
		c->fd = fz_tmpfd();
	r = vswap_store_attach_disk(c->s, c->fd, max);
	FZ_CHECK(r == VSWAP_OK, "attach_disk: %s", vswap_error_name(r));
	r = vswap_store_attach_disk(c->s, c->fd, max);
	FZ_CHECK(r == VSWAP_E_BUSY, "second attach: %s", vswap_error_name(r));
	return c->s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };

	memset(m.ref, 0, sizeof(m.ref));
	m.ntouched = 0;
	m.count = m.zeros = m.sames = 0;
	m.data = data;
	m.s = make_store(&in);
	if (!m.s)
		return 0;
	check_state(vswap_pool_bytes(m.s), true);
	while (fz_more(&in)) {
		uint64_t before = vswap_pool_bytes(m.s);
		bool full = run_op(&in);

		check_state(before, full);
	}
	for (uint32_t i = 0; i < m.ntouched; i++)
		check_load(m.touched[i], 0);
	check_state(vswap_pool_bytes(m.s), true);
	/* A kept disk store is reset now, not only at its next use: what the
	 * input allocated is freed within it, so libFuzzer's malloc/free
	 * counts match and it does not rerun the input under LeakSanitizer
	 * (that rerun was a tenth of fuzz_ops' time). */
	if (!m.disk)
		vswap_store_destroy(m.s);
	else
		vswap_reset(m.s);
	m.s = NULL;
	return 0;
}
