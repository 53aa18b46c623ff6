// SPDX-License-Identifier: MIT
/*
 * Multi-node NUMA test of libvswap, run as a static program inside a guest
 * that has three NUMA nodes (tests/numa/run.sh): 0 and 1 with CPUs and
 * memory, 2 memory-only and small (a CXL-expander-like far node).
 *
 * Every placement is checked against the kernel's own view, found by an
 * independent move_pages walk over the pool (host/tests/numa_test.h), and
 * the library's per-node stats (vswap_refresh_nodes) must equal it.
 *   - bind, preferred, interleave put new pool pages where they should;
 *   - vswap_store_set_mempolicy + vswap_migrate move the pages while
 *     another thread keeps storing and loading (all loads bit-exact);
 *   - bind to the small node, filled up: stores get NOSPACE, the process
 *     survives, what was stored loads back.
 * Prints TAP, every line prefixed "NUMA: " so the runner can pick the
 * lines out of the kernel's console output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "numa_test.h"

#define PAGE		VSWAP_PAGE_SIZE
#define MiB		(UINT64_C(1) << 20)
#define NODE_FAR	2

static int ntest, nfail;

static void out(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("NUMA: %s\n", buf);
	fflush(stdout);
}

#define note(...)	out("# " __VA_ARGS__)

static bool ok(bool cond, const char *what, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, what);
	vsnprintf(buf, sizeof(buf), what, ap);
	va_end(ap);
	ntest++;
	if (!cond)
		nfail++;
	out("%s %d - %s", cond ? "ok" : "not ok", ntest, buf);
	return cond;
}

/* Page @seed: incompressible (splitmix64), so every page costs 4 KiB. */
static void fill_page(void *page, uint64_t seed)
{
	uint64_t *w = page, z = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;

	for (unsigned i = 0; i < PAGE / 8; i++) {
		uint64_t x = (z += UINT64_C(0x9e3779b97f4a7c15));

		x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
		x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
		w[i] = x ^ (x >> 31);
	}
}

static struct vswap_store *new_store(uint64_t slots, enum vswap_mempolicy pol,
				     uint64_t nodes)
{
	struct vswap_params p;
	struct vswap_store *s;
	int err = 0;

	vswap_params_init(&p, slots);
	p.mpol = pol;
	p.mpol_nodes = nodes;
	s = vswap_store_create(&p, &err);
	if (!s) {
		out("Bail out! store (%s, %#" PRIx64 "): %s",
		    vswap_mempolicy_name(pol), nodes, vswap_strerror(err));
		exit(1);
	}
	return s;
}

/* Store pages seed0 + [0, n) into slots [0, n); returns pages stored
 * before the first error (*err = that error, or 0). */
static uint64_t fill(struct vswap_store *s, uint64_t n, uint64_t seed0,
		     int *err)
{
	unsigned char page[PAGE];

	*err = 0;
	for (uint64_t i = 0; i < n; i++) {
		fill_page(page, seed0 + i);
		*err = vswap_store_page(s, i, page);
		if (*err)
			return i;
	}
	return n;
}

static uint64_t verify(struct vswap_store *s, uint64_t n, uint64_t seed0)
{
	unsigned char page[PAGE], want[PAGE];
	uint64_t bad = 0;

	for (uint64_t i = 0; i < n; i++) {
		fill_page(want, seed0 + i);
		if (vswap_load_page(s, i, page) || memcmp(page, want, PAGE))
			bad++;
	}
	return bad;
}

struct view {
	uint64_t kernel[64];	/* pages per node, independent walk */
	uint64_t present;
	uint64_t lib[64];	/* bytes per node, library refresh */
	uint64_t segment_bytes;
};

static void look(struct vswap_store *s, struct view *v)
{
	struct vswap_stats st;
	uint64_t absent;

	memset(v, 0, sizeof(*v));
	if (kernel_pool_nodes(s, v->kernel, &v->present, &absent))
		out("# kernel_pool_nodes: %s", strerror(errno));
	if (vswap_refresh_nodes(s))
		out("# vswap_refresh_nodes failed");
	vswap_get_stats(s, &st);
	memcpy(v->lib, st.node_bytes, sizeof(v->lib));
	v->segment_bytes = st.segment_bytes;
	note("kernel pages per node: 0=%" PRIu64 " 1=%" PRIu64 " 2=%" PRIu64
	     " (present %" PRIu64 "); library MiB 0=%.1f 1=%.1f 2=%.1f;"
	     " segments %.1f MiB", v->kernel[0], v->kernel[1], v->kernel[2],
	     v->present, v->lib[0] / 1048576.0, v->lib[1] / 1048576.0,
	     v->lib[2] / 1048576.0, v->segment_bytes / 1048576.0);
}

/* Library per-node stats == the kernel's view (store quiescent). */
static void agree(const struct view *v, const char *what)
{
	bool same = true;

	for (int i = 0; i < 64; i++)
		same &= v->lib[i] == v->kernel[i] * PAGE;
	ok(same && v->present * PAGE == v->segment_bytes,
	   "%s: library per-node bytes == kernel view, all segments resident",
	   what);
}

static void test_bind(void)
{
	struct vswap_store *s = new_store(8192, VSWAP_MPOL_BIND, 1u << 1);
	struct view v;
	int err;
	uint64_t n = fill(s, 4096, 100, &err);

	ok(n == 4096, "bind {1}: 16 MiB stored (%s)", vswap_strerror(err));
	look(s, &v);
	ok(v.present > 4000 && v.kernel[1] == v.present,
	   "bind {1}: every pool page on node 1 (%" PRIu64 "/%" PRIu64 ")",
	   v.kernel[1], v.present);
	agree(&v, "bind {1}");
	ok(verify(s, n, 100) == 0, "bind {1}: loads bit-exact");
	vswap_store_destroy(s);
}

static void test_preferred(void)
{
	struct vswap_store *s = new_store(8192, VSWAP_MPOL_PREFERRED,
					  1u << NODE_FAR);
	struct view v;
	int err;
	uint64_t n = fill(s, 2048, 200, &err);

	ok(n == 2048, "preferred {2}: 8 MiB stored (%s)", vswap_strerror(err));
	look(s, &v);
	ok(v.present > 2000 && v.kernel[NODE_FAR] == v.present,
	   "preferred {2}: every pool page on node 2 (%" PRIu64 "/%" PRIu64 ")",
	   v.kernel[NODE_FAR], v.present);
	agree(&v, "preferred {2}");
	vswap_store_destroy(s);
}

static void test_interleave(void)
{
	struct vswap_store *s = new_store(8192, VSWAP_MPOL_INTERLEAVE, 3);
	struct vswap_migrate_result res;
	struct view v;
	int err;
	uint64_t n = fill(s, 4096, 300, &err);

	ok(n == 4096, "interleave {0,1}: 16 MiB stored (%s)",
	   vswap_strerror(err));
	look(s, &v);
	/* The kernel interleaves by page offset in the VMA: half each. */
	ok(v.kernel[0] + v.kernel[1] == v.present &&
	   v.kernel[0] * 10 >= v.present * 4 && v.kernel[1] * 10 >= v.present * 4,
	   "interleave {0,1}: pages split between nodes 0 and 1 (%" PRIu64
	   " / %" PRIu64 ")", v.kernel[0], v.kernel[1]);
	agree(&v, "interleave {0,1}");
	/* The same policy again: the kernel's placement is what migration
	 * wants too, nothing moves. */
	vswap_store_set_mempolicy(s, VSWAP_MPOL_INTERLEAVE, 3);
	vswap_migrate(s, 0, &res);
	ok(res.bytes_moved == 0 && res.pages_failed == 0 &&
	   res.bytes_remaining == 0,
	   "interleave {0,1} set again: migration moves nothing (%" PRIu64
	   " bytes)", res.bytes_moved);
	vswap_store_destroy(s);
}

/* Traffic during migration: slots [TR_FIRST, TR_FIRST + TR_SLOTS). */
#define TR_FIRST	4096u
#define TR_SLOTS	1024u

struct traffic {
	struct vswap_store *s;
	volatile int stop;
	uint64_t stores, loads, bad, errors;
	uint32_t ver[TR_SLOTS];
};

static void *traffic_fn(void *arg)
{
	struct traffic *t = arg;
	unsigned char page[PAGE], want[PAGE];
	uint64_t r = 12345;

	while (!t->stop) {
		unsigned i;

		r = r * 6364136223846793005u + 1442695040888963407u;
		i = (unsigned)(r >> 33) % TR_SLOTS;
		if ((r >> 20) & 1) {
			t->ver[i]++;
			fill_page(page, ((uint64_t)i << 32) | t->ver[i]);
			if (vswap_store_page(t->s, TR_FIRST + i, page))
				t->errors++;
			t->stores++;
		} else {
			if (t->ver[i])
				fill_page(want, ((uint64_t)i << 32) | t->ver[i]);
			else
				memset(want, 0, PAGE);
			if (vswap_load_page(t->s, TR_FIRST + i, page) ||
			    memcmp(page, want, PAGE))
				t->bad++;
			t->loads++;
		}
	}
	return NULL;
}

/* set_mempolicy, then migrate in 4 MiB steps until nothing remains; a
 * pass that had failures (pages busy under the traffic) is repeated. */
static void move_to(struct vswap_store *s, enum vswap_mempolicy pol,
		    uint64_t nodes, uint64_t *moved, uint64_t *failed,
		    unsigned *calls)
{
	struct vswap_migrate_result res;

	*moved = *failed = 0;
	*calls = 0;
	if (vswap_store_set_mempolicy(s, pol, nodes))
		out("# set_mempolicy refused");
	for (int pass = 0; pass < 3; pass++) {
		uint64_t f = 0;

		do {
			vswap_migrate(s, 4 * MiB, &res);
			*moved += res.bytes_moved;
			f += res.pages_failed;
			(*calls)++;
		} while (res.bytes_remaining && *calls < 10000);
		*failed += f;
		if (!f)
			break;
		vswap_store_set_mempolicy(s, pol, nodes);	/* again */
	}
}

static void test_migrate(void)
{
	struct vswap_store *s = new_store(8192, VSWAP_MPOL_BIND, 1u << 0);
	struct traffic *t = calloc(1, sizeof(*t));
	struct timespec t0, t1;
	struct vswap_stats st;
	uint64_t moved, failed, n;
	unsigned calls;
	pthread_t th;
	struct view v;
	int err;

	n = fill(s, 4096, 400, &err);
	ok(n == 4096, "migrate: 16 MiB stored bound to node 0");
	look(s, &v);
	ok(v.kernel[0] == v.present, "migrate: all on node 0 before");
	t->s = s;
	pthread_create(&th, NULL, traffic_fn, t);
	usleep(200000);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	move_to(s, VSWAP_MPOL_BIND, 1u << 1, &moved, &failed, &calls);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vswap_get_stats(s, &st);
	note("to bind {1}: moved %.1f MiB in %u calls, %.0f ms (TCG), %"
	     PRIu64 " page failures (retried), "
	     "stats: numa_migrated_bytes %.1f MiB",
	     moved / 1048576.0, calls,
	     (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
	     failed, st.numa_migrated_bytes / 1048576.0);
	ok(moved >= 15 * MiB && st.numa_migrated_bytes == moved,
	   "migrate to bind {1} under traffic: >= 15 MiB moved, counted");
	ok(st.numa_migrate_pending_bytes == 0, "migrate: nothing pending after");
	look(s, &v);
	ok(v.kernel[1] == v.present,
	   "migrate: kernel sees every pool page on node 1 (%" PRIu64 "/%"
	   PRIu64 ")", v.kernel[1], v.present);

	move_to(s, VSWAP_MPOL_INTERLEAVE, (1u << 1) | (1u << NODE_FAR),
		&moved, &failed, &calls);
	look(s, &v);
	ok(v.kernel[1] + v.kernel[NODE_FAR] == v.present &&
	   v.kernel[NODE_FAR] * 10 >= v.present * 4 &&
	   v.kernel[1] * 10 >= v.present * 4,
	   "migrate to interleave {1,2} under traffic: split 1=%" PRIu64
	   " 2=%" PRIu64, v.kernel[1], v.kernel[NODE_FAR]);

	t->stop = 1;
	pthread_join(th, NULL);
	note("traffic: %" PRIu64 " stores (%" PRIu64 " errors), %" PRIu64
	     " loads", t->stores, t->errors, t->loads);
	ok(t->bad == 0 && t->errors == 0 && t->loads > 100,
	   "migrate: %" PRIu64 " concurrent loads all bit-exact", t->loads);
	ok(verify(s, 4096, 400) == 0, "migrate: 16 MiB loads back bit-exact");
	look(s, &v);
	agree(&v, "after migration");
	ok(vswap_store_check(s) == VSWAP_OK, "migrate: store invariants hold");
	vswap_store_destroy(s);
	free(t);
}

/* The kernel's count of OOM kills so far (/proc/vmstat oom_kill). */
static long oom_kills(void)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char name[64];
	long v, r = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &v) == 2)
		if (!strcmp(name, "oom_kill"))
			r = v;
	fclose(f);
	return r;
}

static void test_bind_full(void)
{
	long long free0 = 0, size = numa_node_size64(NODE_FAR, &free0);
	uint64_t slots = (uint64_t)size / PAGE * 2;
	struct vswap_store *s = new_store(slots, VSWAP_MPOL_BIND,
					  1u << NODE_FAR);
	unsigned char page[PAGE], got[PAGE];
	unsigned more = 0, refused = 0, other = 0;
	bool edge_ok[256] = { false };
	uint64_t n, bad = 0;
	long long free1 = 0;
	struct vswap_stats st;
	struct view v;
	int err;

	long oom0 = oom_kills();

	note("node 2: %lld MiB, %lld MiB free before", size >> 20,
	     free0 >> 20);
	n = fill(s, slots, 500, &err);
	numa_node_size64(NODE_FAR, &free1);
	vswap_get_stats(s, &st);
	note("stored %" PRIu64 " pages (%.1f MiB) then %s; node 2 free %lld"
	     " MiB", n, n * PAGE / 1048576.0, vswap_error_name(err),
	     free1 >> 20);
	ok(err == VSWAP_E_NOSPACE && n > 1000,
	   "bind {2} filled up: NOSPACE after %" PRIu64 " pages", n);
	ok(st.store_nospace == 1, "bind {2}: the refusal is counted");
	/*
	 * More stores at the edge: each is OK (free memory above the reserve
	 * moves a little as the kernel frees caches) or NOSPACE, never
	 * another error, never a crash.
	 */
	for (unsigned i = 0; i < 256 && n + i < slots; i++) {
		fill_page(page, 500 + n + i);
		err = vswap_store_page(s, n + i, page);
		edge_ok[i] = err == VSWAP_OK;
		more += err == VSWAP_OK;
		refused += err == VSWAP_E_NOSPACE;
		other += err != VSWAP_OK && err != VSWAP_E_NOSPACE;
	}
	ok(other == 0 && refused > 128,
	   "bind {2}: 256 more stores: %u NOSPACE, %u stored, %u other "
	   "errors; process alive", refused, more, other);
	look(s, &v);
	ok(v.kernel[NODE_FAR] == v.present, "bind {2}: all on node 2");
	/* Slot i holds page 500 + i if it was stored. */
	for (uint64_t i = 0; i < n + 256 && i < slots; i++) {
		if (i >= n && !edge_ok[i - n])
			continue;
		fill_page(page, 500 + i);
		if (vswap_load_page(s, i, got) || memcmp(got, page, PAGE))
			bad++;
	}
	ok(bad == 0, "bind {2}: every stored page loads back bit-exact");
	/* Room again after invalidation. */
	vswap_invalidate(s, 0, slots);
	vswap_compact(s);
	ok(fill(s, 256, 600, &err) == 256, "bind {2}: stores work after "
	   "invalidation gave memory back");
	ok(oom0 >= 0 && oom_kills() == oom0,
	   "bind {2}: filling the node invoked no OOM kill (%ld before, %ld "
	   "after)", oom0, oom_kills());
	vswap_store_destroy(s);
}

/*
 * What the kernel does without the library's guard: a child binds an
 * anonymous mapping to the far node and populates it 128 KiB at a time
 * with MADV_POPULATE_WRITE past the node's size. The outcome is reported;
 * it documents why the guard exists (docs/numa.md). Only checked: the
 * kernel enforced the binding (refused or killed, never fitted 2x).
 */
static void raw_kernel_behaviour(void)
{
	long long size = numa_node_size64(NODE_FAR, NULL);
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		size_t len = (size_t)size * 2, done = 0;
		unsigned long mask = 1ul << NODE_FAR;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);

		if (p == MAP_FAILED || mbind(p, len, MPOL_BIND, &mask, 64, 0))
			_exit(2);
		for (; done < len; done += 128 << 10) {
			if (madvise(p + done, 128 << 10, MADV_POPULATE_WRITE)) {
				note("raw: MADV_POPULATE_WRITE failed with %s"
				     " after %zu MiB", strerror(errno),
				     done >> 20);
				_exit(0);
			}
		}
		_exit(3);
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		note("raw: the child (pid %d) was killed by signal %d, %ld OOM "
		     "kills so far", (int)pid, WTERMSIG(status), oom_kills());
	else
		note("raw: child exit status %d", WEXITSTATUS(status));
	/* Exit 3 would mean twice the node's size fitted: bind not
	 * enforced, and the whole test above meaningless. */
	ok(WIFSIGNALED(status) || WEXITSTATUS(status) == 0,
	   "raw populate past a full bound node: the kernel %s the child "
	   "(bind enforced); this process survived",
	   WIFSIGNALED(status) ? "killed" : "refused");
}

int main(void)
{
	char why[160] = "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (numa_available() < 0 || numa_max_node() < NODE_FAR) {
		out("1..0 # SKIP guest has %d NUMA node(s)",
		    numa_available() < 0 ? 0 : numa_max_node() + 1);
		return 0;
	}
	note("guest: %d nodes; node sizes MiB: 0=%lld 1=%lld 2=%lld",
	     numa_max_node() + 1, numa_node_size64(0, NULL) >> 20,
	     numa_node_size64(1, NULL) >> 20,
	     numa_node_size64(2, NULL) >> 20);
	ok(vswap_mempolicy_check(VSWAP_MPOL_BIND, 7, why, sizeof(why)) == 0,
	   "nodes 0, 1, 2 are valid bind targets");
	ok(vswap_mempolicy_check(VSWAP_MPOL_BIND, 1u << 3, why,
				 sizeof(why)) == VSWAP_E_INVAL,
	   "node 3 is refused: %s", why);
	test_bind();
	test_preferred();
	test_interleave();
	test_migrate();
	test_bind_full();
	raw_kernel_behaviour();
	out("1..%d", ntest);
	out("%d passed, %d failed", ntest - nfail, nfail);
	return nfail != 0;
}
