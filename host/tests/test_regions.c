/* SPDX-License-Identifier: MIT */
/*
 * Pool memory by huge-page regions (memsource.h, "Huge pages"):
 *   - with transparent huge pages available, the pool's memory is huge
 *     pages (AnonHugePages grows with it);
 *   - what the pool says it holds (segment_bytes) is what is resident in
 *     its arenas, page for page (mincore), after filling, after freeing
 *     scattered segments, and after an explicit compaction;
 *   - kept memory stays within its bound, and a region emptied whole goes
 *     back whole;
 *   - an explicit compaction gives kept memory back and the regions it
 *     split take no huge page again (THPeligible 0), so khugepaged cannot
 *     fill their holes behind the accounting, and stay small; a trim (the
 *     idle compaction) leaves the kept memory, within its cap, unsplit,
 *     and its pass empties regions whole, splitting none;
 *   - a cap below one region still admits stores, a segment at a time.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "store.h"
#include "vswap_test.h"

#define REGION_BYTES	((uint64_t)VSWAP_REGION_SEGS << VSWAP_SEG_SHIFT)
#define NPAGES		16384u		/* 64 MiB of pages */

/* "always" or "madvise" selected in the kernel's THP setting. */
static bool thp_available(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

/* A "Key:   N kB" line of /proc/self/smaps_rollup, in bytes. */
static uint64_t rollup_bytes(const char *key)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			sscanf(line + strlen(key), " %llu", &kb);
	fclose(f);
	return (uint64_t)kb << 10;
}

/* The THPeligible flag of the mapping holding @addr (-1: not found). */
static int thp_eligible(const void *addr)
{
	char line[256];
	unsigned long start, end;
	bool inside = false;
	int r = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			inside = (uintptr_t)addr >= start &&
				 (uintptr_t)addr < end;
		else if (inside && !strncmp(line, "THPeligible:", 12))
			r = atoi(line + 12);
	}
	fclose(f);
	return r;
}

static struct vswap_region *region(struct vswap_memsource *ms, uint32_t rid)
{
	return &memsource_arena(ms, rid << VSWAP_REGION_SHIFT)
		->regions[rid & (VSWAP_ARENA_REGIONS - 1)];
}

/* Bytes resident in the pool's arenas, by mincore over every id used. */
static uint64_t resident_bytes(struct vswap_store *s)
{
	struct vswap_memsource *ms = &s->pool.ms;
	uint32_t used = memsource_used_ids(ms);
	unsigned char vec[VSWAP_SEG_SIZE / PAGE];
	uint64_t n = 0;

	for (uint32_t id = 0; id < used; id++) {
		assert_int_equal(mincore(memsource_addr(ms, id),
					 VSWAP_SEG_SIZE, vec), 0);
		for (size_t i = 0; i < sizeof(vec); i++)
			n += vec[i] & 1;
	}
	return n * PAGE;
}

static void fill(struct vswap_store *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		store_kind(s, i, i % 4 ? PK_TEXT : PK_RANDOM, i);
}

static void verify(struct vswap_store *s, uint64_t n, unsigned keep_every)
{
	for (uint64_t i = 0; i < n; i++)
		check_slot(s, i, i % keep_every ? PK_EMPTY :
			   i % 4 ? PK_TEXT : PK_RANDOM, i);
}

static void huge_pages_back_the_pool(void **state)
{
	struct vswap_store *s;
	uint64_t before, after;

	(void)state;
	if (!thp_available()) {
		skip();
		return;
	}
	s = test_store_new(NPAGES, VSWAP_CODEC_LZ4, 0);
	before = rollup_bytes("AnonHugePages:");
	fill(s, NPAGES);
	after = rollup_bytes("AnonHugePages:");
	print_message("# AnonHugePages %" PRIu64 " -> %" PRIu64
		      " KiB for %" PRIu64 " KiB of segments\n", before >> 10,
		      after >> 10, test_stats(s).segment_bytes >> 10);
	/* Most of the pool, not every region: the host may lack free 2 MiB
	 * blocks now and then (that region then runs small). */
	assert_true(after - before >= test_stats(s).segment_bytes / 2);
	vswap_store_destroy(s);
}

static void held_is_resident(void **state)
{
	struct vswap_store *s = test_store_new(NPAGES, VSWAP_CODEC_LZ4, 0);
	struct vswap_memsource *ms = &s->pool.ms;
	struct vswap_stats st;
	uint64_t kept, seg;

	(void)state;
	fill(s, NPAGES);
	st = test_stats(s);
	assert_int_equal(resident_bytes(s), st.segment_bytes);

	/* Free three pages in four, scattered: compaction (automatic, as
	 * stores go on) empties segments all over the arenas. */
	for (uint64_t i = 0; i < NPAGES; i++)
		if (i % 4)
			assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	for (uint64_t i = 0; i < NPAGES; i += 4)
		store_kind(s, i, i % 4 ? PK_TEXT : PK_RANDOM, i);
	assert_store_valid(s);
	st = test_stats(s);
	kept = __atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED);
	seg = __atomic_load_n(&ms->seg_bytes, __ATOMIC_RELAXED);
	print_message("# after churn: %" PRIu64 " KiB handed out, %" PRIu64
		      " KiB kept\n", seg >> 10, kept >> 10);
	assert_int_equal(st.segment_bytes, seg + kept);
	/* keep_limit(): 1/32 of what is handed out, two regions at least */
	assert_true(kept <= (seg / 32 > 2 * REGION_BYTES ? seg / 32 :
			     2 * REGION_BYTES));
	assert_int_equal(resident_bytes(s), st.segment_bytes);

	/* An explicit compaction gives kept memory back. */
	assert_true(vswap_compact(s) >= 0);
	assert_int_equal(__atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED),
			 0);
	st = test_stats(s);
	assert_int_equal(resident_bytes(s), st.segment_bytes);
	verify(s, NPAGES, 4);
	vswap_store_destroy(s);
}

static void region_goes_back_whole(void **state)
{
	struct vswap_store *s = test_store_new(NPAGES, VSWAP_CODEC_LZ4, 0);
	struct vswap_memsource *ms = &s->pool.ms;

	(void)state;
	fill(s, NPAGES);
	assert_int_equal(vswap_invalidate(s, 0, NPAGES), VSWAP_OK);
	/* Every segment but the open head's emptied: whole regions went
	 * back without a split (nothing was trimmed, nothing is kept but
	 * the head's region). */
	assert_true(test_stats(s).segment_bytes <= REGION_BYTES);
	assert_true(__atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED) <
		    REGION_BYTES);
	assert_int_equal(ms->holes_head, VSWAP_SEG_NONE);
	assert_int_equal(resident_bytes(s), test_stats(s).segment_bytes);
	/* And they are taken again. */
	fill(s, NPAGES);
	verify(s, NPAGES, 1);
	assert_int_equal(resident_bytes(s), test_stats(s).segment_bytes);
	vswap_store_destroy(s);
}

static void split_regions_take_no_huge_page(void **state)
{
	struct vswap_store *s = test_store_new(NPAGES, VSWAP_CODEC_LZ4, 0);
	struct vswap_memsource *ms = &s->pool.ms;
	uint32_t rid;

	(void)state;
	if (!thp_available()) {
		vswap_store_destroy(s);
		skip();
		return;
	}
	fill(s, NPAGES);
	for (uint64_t i = 0; i < NPAGES; i++)
		if (i % 4)
			assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	assert_true(vswap_compact(s) >= 0);
	/* Some region was split by giving its kept segments back. */
	rid = ms->holes_head;
	assert_int_not_equal(rid, VSWAP_SEG_NONE);
	assert_int_equal(thp_eligible(memsource_addr(ms, rid <<
						     VSWAP_REGION_SHIFT)), 0);
	verify(s, NPAGES, 4);
	/* Wholly free and taken again, it stays small, resident as charged. */
	assert_int_equal(vswap_invalidate(s, 0, NPAGES), VSWAP_OK);
	rid = VSWAP_SEG_NONE;
	for (uint32_t r = 0; r < memsource_used_ids(ms) >> VSWAP_REGION_SHIFT;
	     r++)
		if (region(ms, r)->state == REGION_RETURNED &&
		    region(ms, r)->nohuge)
			rid = r;
	assert_int_not_equal(rid, VSWAP_SEG_NONE);
	fill(s, NPAGES);
	assert_int_equal(region(ms, rid)->state, REGION_SMALL);
	assert_int_equal(resident_bytes(s), test_stats(s).segment_bytes);
	verify(s, NPAGES, 1);
	vswap_store_destroy(s);
}

/* Regions that run small now (REGION_SMALL: split, or started small). */
static unsigned small_regions(struct vswap_memsource *ms)
{
	unsigned n = 0;

	for (uint32_t r = 0; r < memsource_used_ids(ms) >> VSWAP_REGION_SHIFT;
	     r++)
		n += region(ms, r)->state == REGION_SMALL;
	return n;
}

/*
 * vswap_trim (an idle device's compaction) compacts as vswap_compact does
 * but leaves the kept memory, within its cap: the huge pages it sits in
 * stay whole. vswap_compact on the same pool afterwards gives that back
 * too, and every region that kept segments turns small.
 */
static void trim_keeps_kept_memory(void **state)
{
	struct vswap_store *s = test_store_new(NPAGES, VSWAP_CODEC_LZ4, 0);
	struct vswap_memsource *ms = &s->pool.ms;
	struct vswap_stats before, st;
	uint64_t kept, seg, seg_before, limit_before;
	unsigned small_before, small_trim, small_compact;
	int64_t freed;

	(void)state;
	fill(s, NPAGES);
	for (uint64_t i = 0; i < NPAGES; i++)
		if (i % 4)
			assert_int_equal(vswap_invalidate(s, i, 1), VSWAP_OK);
	before = test_stats(s);
	small_before = small_regions(ms);
	seg_before = __atomic_load_n(&ms->seg_bytes, __ATOMIC_RELAXED);
	limit_before = seg_before / 32 > 2 * REGION_BYTES ? seg_before / 32 :
		       2 * REGION_BYTES;
	freed = vswap_trim(s);
	st = test_stats(s);
	kept = __atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED);
	seg = __atomic_load_n(&ms->seg_bytes, __ATOMIC_RELAXED);
	small_trim = small_regions(ms);
	print_message("# trim freed %" PRId64 " KiB: %" PRIu64 " KiB handed "
		      "out, %" PRIu64 " KiB kept, %u small regions (%u before); "
		      "peak pool %" PRIu64 " -> %" PRIu64 " KiB\n",
		      freed >> 10, seg >> 10, kept >> 10, small_trim,
		      small_before, before.pool_bytes_peak >> 10,
		      st.pool_bytes_peak >> 10);
	/* The pass emptied regions whole, it split none (its destination
	 * fills regions of its own, the keep limit waits for its end)... */
	assert_true(small_trim <= small_before);
	/* ...and new regions for that destination are taken only while the
	 * free memory kept is within its limit: the pool grew by at most that
	 * and one region on the way. */
	assert_true(st.pool_bytes_peak <= before.pool_bytes_peak +
		    limit_before + REGION_BYTES);
	/* three pages in four were garbage, and no store compacted them */
	assert_true(freed > 0);
	assert_int_equal((uint64_t)freed, before.pool_bytes - st.pool_bytes);
	assert_true(kept <= (seg / 32 > 2 * REGION_BYTES ? seg / 32 :
			     2 * REGION_BYTES));
	assert_int_equal(resident_bytes(s), st.segment_bytes);
	verify(s, NPAGES, 4);

	assert_true(vswap_compact(s) >= 0);
	assert_int_equal(__atomic_load_n(&ms->kept_bytes, __ATOMIC_RELAXED),
			 0);
	small_compact = small_regions(ms);
	print_message("# then compact: %u small regions\n", small_compact);
	/* what trim kept was in huge regions that compact split */
	if (kept)
		assert_true(small_compact > small_trim);
	assert_int_equal(resident_bytes(s), test_stats(s).segment_bytes);
	verify(s, NPAGES, 4);
	vswap_store_destroy(s);
}

static void small_cap_runs_small(void **state)
{
	struct vswap_params p;
	struct vswap_store *s;
	struct vswap_stats st;
	uint64_t stored = 0;

	(void)state;
	vswap_params_init(&p, 1024);
	p.pool_max = 512 * 1024;	/* a quarter of a region */
	s = test_store_new_p(&p);
	for (uint64_t i = 0; i < 1024; i++) {
		unsigned char page[PAGE];
		int r;

		page_fill(page, PK_RANDOM, i);
		r = vswap_store_page(s, i, page);
		if (r == VSWAP_E_NOSPACE)
			break;
		assert_int_equal(r, VSWAP_OK);
		stored++;
	}
	st = test_stats(s);
	print_message("# %" PRIu64 " pages under a 512 KiB cap\n", stored);
	/* more than a segment holds: a second segment was taken, small */
	assert_true(stored > VSWAP_SEG_SIZE / PAGE);
	assert_int_not_equal(s->pool.ms.holes_head, VSWAP_SEG_NONE);
	assert_int_equal(s->pool.ms.kept_head, VSWAP_SEG_NONE);
	assert_true(st.pool_bytes <= p.pool_max);
	assert_int_equal(resident_bytes(s), st.segment_bytes);
	for (uint64_t i = 0; i < stored; i++)
		check_slot(s, i, PK_RANDOM, i);
	vswap_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(huge_pages_back_the_pool),
		cmocka_unit_test(held_is_resident),
		cmocka_unit_test(region_goes_back_whole),
		cmocka_unit_test(split_regions_take_no_huge_page),
		cmocka_unit_test(trim_keeps_kept_memory),
		cmocka_unit_test(small_cap_runs_small),
	};

	return cmocka_run_group_tests_name("regions", tests, NULL, NULL);
}
