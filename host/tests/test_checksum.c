/* SPDX-License-Identifier: MIT */
/*
 * Per-object checksums. The API cannot reach pool memory, so this test
 * simulates host memory rot from outside the API: it finds the stored object
 * in its own address space (through /proc/self/pagemap and /proc/self/mem,
 * which also keeps ASan out of the way), flips one bit, and expects the next
 * load to fail with VSWAP_E_INTEGRITY (never return wrong data). With
 * checksums off, the same flip shows through: proof the flip hit the object.
 *
 * What is found: pages stored as-is (codec none, or incompressible), and lz4
 * objects when the store's output equals LZ4_compress_default()'s (else that
 * case is skipped and says so). Not reachable: slot-table corruption, disk.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <lz4.h>

#include "vswap_test.h"

#define MAX_HITS 16
#define SCAN_MAX_REGION (UINT64_C(64) << 30)	/* skips ASan's shadow */

struct scan {
	const void *needle;
	size_t len;
	/* our own buffers: matches inside them are not the store's */
	uintptr_t skip_lo[2], skip_hi[2];
	uintptr_t hits[MAX_HITS];
	int nhits;
};

static bool skipped(const struct scan *sc, uintptr_t a)
{
	for (int i = 0; i < 2; i++)
		if (a >= sc->skip_lo[i] && a < sc->skip_hi[i])
			return true;
	return false;
}

static void add_hit(struct scan *sc, uintptr_t a)
{
	if (skipped(sc, a))
		return;
	for (int i = 0; i < sc->nhits; i++)
		if (sc->hits[i] == a)
			return;
	if (sc->nhits < MAX_HITS)
		sc->hits[sc->nhits++] = a;
}

/* Present bit of the page at @a, pagemap read 4096 entries at a time. */
struct pm_cache {
	int fd;
	uintptr_t first;	/* page number of ent[0] */
	size_t n;
	uint64_t ent[4096];
};

static bool page_present(struct pm_cache *pc, uintptr_t a)
{
	uintptr_t pn = a / PAGE;

	if (pn < pc->first || pn >= pc->first + pc->n) {
		ssize_t got = pread(pc->fd, pc->ent, sizeof(pc->ent),
				    (off_t)(pn * 8));

		pc->first = pn;
		pc->n = got > 0 ? (size_t)got / 8 : 0;
		if (!pc->n)
			return false;
	}
	return pc->ent[pn - pc->first] >> 63;
}

/* Search [lo, hi), present pages only, for sc->needle. */
static void scan_region(struct scan *sc, int mem, struct pm_cache *pc,
			uintptr_t lo,
			uintptr_t hi, unsigned char *buf, size_t bufsz)
{
	uintptr_t a = lo;

	while (a < hi) {
		uintptr_t run;
		size_t n;

		if (!page_present(pc, a)) {
			a += PAGE;
			continue;
		}
		/* a run of present pages, up to the buffer size */
		run = a + PAGE;
		while (run < hi && run - a < bufsz && page_present(pc, run))
			run += PAGE;
		n = run - a;
		if (pread(mem, buf, n, (off_t)a) == (ssize_t)n) {
			for (size_t off = 0; off + sc->len <= n; off++) {
				unsigned char *p = memchr(buf + off,
					*(const unsigned char *)sc->needle,
					n - sc->len - off + 1);

				if (!p)
					break;
				off = (size_t)(p - buf);
				if (memcmp(p, sc->needle, sc->len) == 0)
					add_hit(sc, a + off);
			}
		}
		/*
		 * A run cut by the buffer size: the next one starts a page
		 * back, so a needle (<= a page) across the cut is seen whole.
		 */
		a = run < hi && n == bufsz ? run - PAGE : run;
	}
}

/*
 * Every copy of @needle in this process's writable private/shared memory,
 * excluding the stacks and @own (len bytes).
 */
static int find_copies(struct scan *sc, const void *own)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);
	static struct pm_cache pc;
	const size_t bufsz = 64 * PAGE;
	unsigned char *buf = mmap(NULL, bufsz, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char line[512];

	assert_non_null(maps);
	pc.fd = open("/proc/self/pagemap", O_RDONLY);
	pc.n = 0;
	assert_true(mem >= 0 && pc.fd >= 0 && buf != MAP_FAILED);
	sc->nhits = 0;
	sc->skip_lo[0] = (uintptr_t)buf;
	sc->skip_hi[0] = (uintptr_t)buf + bufsz;
	sc->skip_lo[1] = (uintptr_t)own;
	sc->skip_hi[1] = (uintptr_t)own + sc->len;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8] = "";

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (perms[0] != 'r' || perms[1] != 'w')
			continue;
		if (strstr(line, "[stack") || strstr(line, "[v"))
			continue;
		if (hi - lo > SCAN_MAX_REGION)
			continue;
		scan_region(sc, mem, &pc, lo, hi, buf, bufsz);
	}
	munmap(buf, bufsz);
	close(mem);
	close(pc.fd);
	fclose(maps);
	return sc->nhits;
}

/*
 * Flip one bit at @at in every hit. False if this kernel does not let a
 * process write its own /proc/self/mem (then the caller skips).
 */
static bool corrupt(const struct scan *sc, size_t at)
{
	int mem = open("/proc/self/mem", O_RDWR);
	bool ok = mem >= 0;

	for (int i = 0; ok && i < sc->nhits; i++) {
		unsigned char b;
		off_t a = (off_t)(sc->hits[i] + at);

		ok = pread(mem, &b, 1, a) == 1;
		b ^= 0x10;
		ok = ok && pwrite(mem, &b, 1, a) == 1;
	}
	if (mem >= 0)
		close(mem);
	return ok;
}

static struct vswap_store *store_with(enum vswap_codec codec, bool checksum)
{
	struct vswap_params p;

	vswap_params_init(&p, 64);
	p.codec = codec;
	p.checksum = checksum;
	return test_store_new_p(&p);
}

/* Round trips with checksums on: no false alarms, for every kind and codec. */
static void checksum_round_trip(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		struct vswap_store *s = store_with((enum vswap_codec)c, true);
		struct vswap_stats st;

		for (int k = PK_ZERO; k < PK__COUNT; k++)
			for (uint64_t i = 0; i < 8; i++)
				store_kind(s, (uint64_t)k * 8 + i,
					   (enum page_kind)k, i);
		for (int k = PK_ZERO; k < PK__COUNT; k++)
			for (uint64_t i = 0; i < 8; i++)
				check_slot(s, (uint64_t)k * 8 + i,
					   (enum page_kind)k, i);
		st = test_stats(s);
		assert_int_equal(st.integrity_errors, 0);
		vswap_store_destroy(s);
	}
}

/*
 * Store an as-is page, flip a bit in it. With checksum: INTEGRITY, counted,
 * other slots fine, the slot can be stored again. Without: the flip shows.
 */
static void as_is_rot(enum vswap_codec codec, bool checksum)
{
	struct vswap_store *s = store_with(codec, checksum);
	unsigned char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char got[PAGE];
	struct scan sc = { .len = PAGE };
	struct vswap_stats st;
	int ret;

	assert_true(page != MAP_FAILED);
	store_kind(s, 1, PK_TEXT, 1);
	store_kind(s, 3, PK_RANDOM, 3);
	page_fill(page, PK_RANDOM, 0xc0ffee);
	assert_int_equal(vswap_store_page(s, 2, page), VSWAP_OK);
	sc.needle = page;
	if (find_copies(&sc, page) == 0) {
		munmap(page, PAGE);
		vswap_store_destroy(s);
		skip();	/* the store keeps as-is pages in another form */
	}
	if (!corrupt(&sc, 1234)) {
		munmap(page, PAGE);
		vswap_store_destroy(s);
		skip();	/* /proc/self/mem not writable here */
	}
	memset(got, 0, PAGE);
	ret = vswap_load_page(s, 2, got);
	st = test_stats(s);
	if (checksum) {
		if (ret == VSWAP_OK && memcmp(got, page, PAGE) != 0)
			fail_msg("%s: load returned rotten data with checksum "
				 "on", vswap_codec_name(codec));
		assert_int_equal(ret, VSWAP_E_INTEGRITY);
		assert_int_equal(st.integrity_errors, 1);
		/* loading again fails again, and is counted again */
		assert_int_equal(vswap_load_page(s, 2, got), VSWAP_E_INTEGRITY);
		assert_int_equal(test_stats(s).integrity_errors, 2);
	} else {
		assert_int_equal(ret, VSWAP_OK);
		assert_int_equal(got[1234], page[1234] ^ 0x10);
		got[1234] ^= 0x10;
		assert_memory_equal(got, page, PAGE);
	}
	check_slot(s, 1, PK_TEXT, 1);
	check_slot(s, 3, PK_RANDOM, 3);
	store_kind(s, 2, PK_TEXT, 22);
	assert_store_valid(s);
	check_slot(s, 2, PK_TEXT, 22);
	munmap(page, PAGE);
	vswap_store_destroy(s);
}

static void rot_detected_codec_none(void **state)
{
	(void)state;
	as_is_rot(VSWAP_CODEC_NONE, true);
}

static void rot_detected_incompressible_lz4(void **state)
{
	(void)state;
	as_is_rot(VSWAP_CODEC_LZ4, true);
}

static void rot_shows_without_checksum(void **state)
{
	(void)state;
	as_is_rot(VSWAP_CODEC_NONE, false);
}

/* A flip inside an lz4 object: INTEGRITY, never garbage. */
static void rot_detected_lz4_object(void **state)
{
	struct vswap_store *s = store_with(VSWAP_CODEC_LZ4, true);
	unsigned char page[PAGE], got[PAGE];
	size_t cap = (size_t)LZ4_compressBound(PAGE);
	unsigned char *comp = mmap(NULL, cap, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct scan sc;
	int n, ret;

	(void)state;
	assert_true(comp != MAP_FAILED);
	page_fill(page, PK_TEXT, 0xbeef);
	n = LZ4_compress_default((const char *)page, (char *)comp, PAGE,
				 (int)cap);
	assert_true(n > 64);
	assert_int_equal(vswap_store_page(s, 5, page), VSWAP_OK);
	sc = (struct scan){ .needle = comp, .len = (size_t)n };
	if (find_copies(&sc, comp) == 0) {
		munmap(comp, cap);
		vswap_store_destroy(s);
		skip();	/* store's lz4 output differs from the default's */
	}
	if (!corrupt(&sc, (size_t)n / 2)) {
		munmap(comp, cap);
		vswap_store_destroy(s);
		skip();	/* /proc/self/mem not writable here */
	}
	ret = vswap_load_page(s, 5, got);
	if (ret == VSWAP_OK && memcmp(got, page, PAGE) != 0)
		fail_msg("load returned rotten data with checksum on");
	/* a flip in a literal may decode; the checksum must still catch it */
	assert_int_equal(ret, VSWAP_E_INTEGRITY);
	assert_int_equal(test_stats(s).integrity_errors, 1);
	munmap(comp, cap);
	vswap_store_destroy(s);
}

/*
 * A page that changes while it is stored (guest memory under a racing
 * vCPU): whatever the store kept, it checks out on load. An incompressible
 * page is stored as-is; the checksum must be of the bytes stored, not of
 * the source read a second time. Before the fix, most such loads failed
 * with INTEGRITY: a guest could make the host report memory corruption.
 */
struct writer {
	volatile uint64_t *words;
	volatile bool stop;
};

static void *rewrite_page(void *arg)
{
	struct writer *w = arg;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	while (!w->stop) {
		for (unsigned i = 0; i < VSWAP_PAGE_SIZE / 8; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			w->words[i] = x;
		}
	}
	return NULL;
}

static void page_changing_while_stored(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct writer w = { 0 };
	unsigned char out[VSWAP_PAGE_SIZE];
	pthread_t t;
	unsigned bad = 0, n = 20000;

	(void)state;
	w.words = aligned_alloc(64, VSWAP_PAGE_SIZE);
	assert_non_null(w.words);
	page_fill((void *)w.words, PK_RANDOM, 1);
	vswap_params_init(&p, 16);
	p.checksum = true;
	s = test_store_new_p(&p);
	assert_int_equal(pthread_create(&t, NULL, rewrite_page, &w), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(vswap_store_page(s, i % 16, (void *)w.words),
				 VSWAP_OK);
		if (vswap_load_page(s, i % 16, out) != VSWAP_OK)
			bad++;
	}
	w.stop = true;
	pthread_join(t, NULL);
	assert_int_equal(test_stats(s).integrity_errors, 0);
	assert_int_equal(bad, 0);
	assert_store_valid(s);
	vswap_store_destroy(s);
	free((void *)w.words);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checksum_round_trip),
		cmocka_unit_test(rot_detected_codec_none),
		cmocka_unit_test(rot_detected_incompressible_lz4),
		cmocka_unit_test(rot_shows_without_checksum),
		cmocka_unit_test(rot_detected_lz4_object),
		cmocka_unit_test(page_changing_while_stored),
	};

	return cmocka_run_group_tests_name("checksum", tests, NULL, NULL);
}
