// SPDX-License-Identifier: MIT
/*
 * mempolicy.c - host NUMA policy of the pool: validation (libnuma), the VMA
 * policy of arenas (mbind), BIND admission, migration and the per-node
 * residency query (move_pages). See mempolicy.h for the state and its locks,
 * docs/numa.md for the semantics and the measured costs.
 *
 * Lock order: numa.migrate_lock > numa.lock > ms->lock. move_pages runs
 * under migrate_lock only, never under numa.lock or ms->lock, so stores
 * that need a new segment never wait for a page copy.
 *
 * Segment memory is never unmapped while the store lives (arenas stay
 * until memsource_fini), so migration and refresh may look at any
 * segment's addresses without holding anything: a segment freed meanwhile
 * just has no pages (-ENOENT), one reused meanwhile is moved or counted
 * like any other.
 */
#include <assert.h>
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "memsource.h"
#include "mempolicy.h"
#include "store.h"

#define PAGES_PER_SEG	(VSWAP_SEG_SIZE / VSWAP_PAGE_SIZE)
/* Segments per move_pages call: VSWAP_NUMA_QUERY_PAGES pages. */
#define SEGS_PER_CALL	(VSWAP_NUMA_QUERY_PAGES / PAGES_PER_SEG)

/*
 * BIND reserve: free memory the bound nodes keep after a new segment.
 * The kernel allocates on a bound node down to its min watermark and
 * then, with nothing reclaimable (anonymous memory, no swap), invokes the
 * OOM killer restricted to tasks using those nodes: us. The reserve keeps
 * us clear of the watermarks (a few hundred KiB on small nodes, about
 * 0.1-0.5% of large ones) with margin for other tasks allocating there
 * between two reads of the free counter: 1/64 of the nodes' memory, at
 * least 8 MiB.
 */
#define BIND_RESERVE_MIN	(UINT64_C(8) << 20)
#define BIND_RESERVE_SHIFT	6

static_assert(VSWAP_NUMA_QUERY_PAGES % PAGES_PER_SEG == 0,
	      "a query batch holds whole segments");
static_assert(VSWAP_MAX_NODES == 64, "node masks are one uint64_t");

static const char *const mpol_names[VSWAP_MPOL__COUNT] = {
	[VSWAP_MPOL_DEFAULT]	= "default",
	[VSWAP_MPOL_PREFERRED]	= "preferred",
	[VSWAP_MPOL_BIND]	= "bind",
	[VSWAP_MPOL_INTERLEAVE]	= "interleave",
};

/* The kernel's mode for each policy (numaif.h). */
static const int mpol_modes[VSWAP_MPOL__COUNT] = {
	[VSWAP_MPOL_DEFAULT]	= MPOL_DEFAULT,
	[VSWAP_MPOL_PREFERRED]	= MPOL_PREFERRED,
	[VSWAP_MPOL_BIND]	= MPOL_BIND,
	[VSWAP_MPOL_INTERLEAVE]	= MPOL_INTERLEAVE,
};

const char *vswap_mempolicy_name(enum vswap_mempolicy pol)
{
	if ((unsigned)pol >= VSWAP_MPOL__COUNT)
		return NULL;
	return mpol_names[pol];
}

int vswap_mempolicy_parse(const char *name, enum vswap_mempolicy *out)
{
	if (!name || !out)
		return VSWAP_E_INVAL;
	for (unsigned i = 0; i < VSWAP_MPOL__COUNT; i++) {
		if (!strcmp(name, mpol_names[i])) {
			*out = (enum vswap_mempolicy)i;
			return VSWAP_OK;
		}
	}
	return VSWAP_E_INVAL;
}

static int __attribute__((format(printf, 3, 4)))
refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return VSWAP_E_INVAL;
}

/* Online, with memory, and allowed to this process (cpuset mems). */
static bool node_usable(unsigned node)
{
	if ((int)node > numa_max_node())
		return false;
	if (!numa_all_nodes_ptr ||
	    !numa_bitmask_isbitset(numa_all_nodes_ptr, node))
		return false;
	return numa_node_size64((int)node, NULL) > 0;
}

int vswap_mempolicy_check(enum vswap_mempolicy pol, uint64_t nodes,
			  char *why, size_t why_len)
{
	if ((unsigned)pol >= VSWAP_MPOL__COUNT)
		return refuse(why, why_len, "unknown NUMA policy %u",
			      (unsigned)pol);
	if (pol == VSWAP_MPOL_DEFAULT)
		return nodes ? refuse(why, why_len,
				      "policy 'default' takes no host nodes") :
			       VSWAP_OK;
	if (!nodes)
		return refuse(why, why_len,
			      "policy '%s' needs at least one host node",
			      mpol_names[pol]);
	if (pol == VSWAP_MPOL_PREFERRED && (nodes & (nodes - 1)))
		return refuse(why, why_len,
			      "policy 'preferred' takes exactly one host node");
	if (numa_available() < 0)
		return refuse(why, why_len,
			      "this host has no NUMA support (kernel without CONFIG_NUMA)");
	for (unsigned n = 0; n < VSWAP_MAX_NODES; n++) {
		if ((nodes >> n & 1) && !node_usable(n))
			return refuse(why, why_len,
				      "host node %u is not online, has no memory or is not allowed to this process",
				      n);
	}
	return VSWAP_OK;
}

int mpol_init(struct vswap_numa *n)
{
	memset(n, 0, sizeof(*n));
	if (pthread_mutex_init(&n->lock, NULL))
		return -1;
	if (pthread_mutex_init(&n->migrate_lock, NULL)) {
		pthread_mutex_destroy(&n->lock);
		return -1;
	}
	return 0;
}

void mpol_fini(struct vswap_numa *n)
{
	pthread_mutex_destroy(&n->migrate_lock);
	pthread_mutex_destroy(&n->lock);
}

int mpol_apply(const struct vswap_numa *n, void *base, size_t len)
{
	uint32_t pol = mpol_policy(n);
	/* Two longs: the kernel reads maxnode - 1 bits. */
	unsigned long mask[2] = { (unsigned long)mpol_nodes_of(n), 0 };

	if (pol == VSWAP_MPOL_DEFAULT) {
		if (mbind(base, len, MPOL_DEFAULT, NULL, 0, 0))
			return -errno;
		return 0;
	}
	if (mbind(base, len, mpol_modes[pol], mask, VSWAP_MAX_NODES + 1, 0))
		return -errno;
	return 0;
}

/* Free bytes of the nodes in @nodes, as the kernel reports them now. */
static int64_t nodes_free(uint64_t nodes, int64_t *total)
{
	int64_t sum = 0;

	*total = 0;
	for (unsigned i = 0; i < VSWAP_MAX_NODES; i++) {
		long long fr = 0, size;

		if (!(nodes >> i & 1))
			continue;
		size = numa_node_size64((int)i, &fr);
		if (size > 0) {
			sum += fr;
			*total += size;
		}
	}
	return sum;
}

bool mpol_admit(struct vswap_numa *n, uint64_t bytes)
{
	uint64_t nodes, t, at;
	int64_t total, left, reserve;

	if (mpol_policy(n) != VSWAP_MPOL_BIND)
		return true;
	nodes = mpol_nodes_of(n);
	t = mono_ns();
	at = __atomic_load_n(&n->free_ns, __ATOMIC_ACQUIRE);
	if (!at || t - at > (uint64_t)VSWAP_NUMA_FREE_CACHE_MS * 1000000u) {
		/* Two threads may both re-read: harmless, the last wins. */
		int64_t fr = nodes_free(nodes, &total);

		reserve = total >> BIND_RESERVE_SHIFT;
		if (reserve < (int64_t)BIND_RESERVE_MIN)
			reserve = BIND_RESERVE_MIN;
		__atomic_store_n(&n->free_bytes, fr - reserve,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&n->free_ns, t ? t : 1, __ATOMIC_RELEASE);
	}
	/* free_bytes is free memory above the reserve; take ours off so
	 * the segments admitted within one cache period add up. */
	left = __atomic_sub_fetch(&n->free_bytes, (int64_t)bytes,
				  __ATOMIC_RELAXED);
	if (left >= 0)
		return true;
	__atomic_add_fetch(&n->free_bytes, (int64_t)bytes, __ATOMIC_RELAXED);
	return false;
}

int vswap_store_set_mempolicy(struct vswap_store *s,
			      enum vswap_mempolicy pol, uint64_t nodes)
{
	struct vswap_numa *n;
	uint32_t used;
	int r;

	if (!s)
		return VSWAP_E_INVAL;
	r = vswap_mempolicy_check(pol, nodes, NULL, 0);
	if (r)
		return r;
	n = &s->pool.ms.numa;
	pthread_mutex_lock(&n->lock);
	r = memsource_set_policy(&s->pool.ms, pol, nodes, &used);
	if (!r) {
		/* After the mbind: a page faulted from now on obeys, every
		 * page faulted before is examined by the next migration. */
		n->cursor = 0;
		n->limit = pol == VSWAP_MPOL_DEFAULT ? 0 : used;
		n->gen++;
	}
	pthread_mutex_unlock(&n->lock);
	/* mbind refuses a valid mask only if the kernel is out of memory
	 * for the policy object, or a node went offline meanwhile. */
	return r ? (r == -ENOMEM ? VSWAP_E_NOMEM : VSWAP_E_INVAL) : VSWAP_OK;
}

/* Node @k (0-based) of the set bits of @nodes; @nodes non-zero. */
static int nth_node(uint64_t nodes, unsigned k)
{
	for (;;) {
		int i = __builtin_ctzll(nodes);

		if (k-- == 0)
			return i;
		nodes &= nodes - 1;
	}
}

/*
 * Where the page at virtual page number @pg belongs under (pol, nodes),
 * given it is on node @cur now; -1 if it is where it belongs. BIND keeps
 * a page on any bound node and spreads the others over them. INTERLEAVE
 * uses the kernel's own rule for a VMA policy on anonymous memory (node
 * number pg mod count, mm/mempolicy.c: get_vma_policy's ilx and
 * offset_il_node), so a pool moved onto a node set ends up interleaved
 * exactly as if it had been faulted in there, and a second pass moves
 * nothing.
 */
static int target_node(uint32_t pol, uint64_t nodes, unsigned count,
		       uint64_t pg, int cur)
{
	int t;

	switch (pol) {
	case VSWAP_MPOL_PREFERRED:
		t = nth_node(nodes, 0);
		break;
	case VSWAP_MPOL_BIND:
		if (cur >= 0 && cur < VSWAP_MAX_NODES && (nodes >> cur & 1))
			return -1;
		t = nth_node(nodes, (unsigned)(pg % count));
		break;
	case VSWAP_MPOL_INTERLEAVE:
		t = nth_node(nodes, (unsigned)(pg % count));
		break;
	default:
		return -1;
	}
	return t == cur ? -1 : t;
}

/*
 * Examine segments [first, first + nseg) and move their misplaced pages.
 * Adds to *moved (bytes) and *failed (pages).
 */
static void migrate_batch(struct vswap_memsource *ms, uint32_t first,
			  unsigned nseg, uint32_t pol, uint64_t nodes,
			  uint64_t *moved, uint64_t *failed)
{
	void *pages[VSWAP_NUMA_QUERY_PAGES], *mv[VSWAP_NUMA_QUERY_PAGES];
	int where[VSWAP_NUMA_QUERY_PAGES], to[VSWAP_NUMA_QUERY_PAGES];
	int st[VSWAP_NUMA_QUERY_PAGES];
	unsigned count = (unsigned)__builtin_popcountll(nodes);
	unsigned np = nseg * PAGES_PER_SEG, nmv = 0;

	for (unsigned i = 0; i < np; i++)
		pages[i] = memsource_addr(ms, first + i / PAGES_PER_SEG) +
			   (size_t)(i % PAGES_PER_SEG) * VSWAP_PAGE_SIZE;
	if (move_pages(0, np, pages, NULL, where, 0))
		return;		/* query refused (ENOMEM): nothing known */
	for (unsigned i = 0; i < np; i++) {
		int t;

		if (where[i] < 0)
			continue;	/* not present: nothing to move */
		t = target_node(pol, nodes, count,
				(uintptr_t)pages[i] / VSWAP_PAGE_SIZE,
				where[i]);
		if (t < 0)
			continue;
		mv[nmv] = pages[i];
		to[nmv++] = t;
	}
	if (!nmv)
		return;
	if (move_pages(0, nmv, mv, to, st, MPOL_MF_MOVE) < 0) {
		*failed += nmv;
		return;
	}
	for (unsigned i = 0; i < nmv; i++) {
		if (st[i] == to[i])
			*moved += VSWAP_PAGE_SIZE;
		else if (st[i] != -ENOENT && st[i] != -EFAULT)
			*failed += 1;	/* busy, shared, target full... */
		/* ENOENT/EFAULT: freed meanwhile, nothing to move. */
	}
}

int vswap_migrate(struct vswap_store *s, uint64_t max_bytes,
		  struct vswap_migrate_result *res)
{
	struct vswap_migrate_result out = { 0, 0, 0 };
	struct vswap_memsource *ms;
	struct vswap_numa *n;
	uint64_t examined = 0, max_examined;
	uint32_t cursor;

	if (res)
		memset(res, 0, sizeof(*res));
	if (!s)
		return VSWAP_E_INVAL;
	ms = &s->pool.ms;
	n = &ms->numa;
	/*
	 * A step is bounded by what it examines too, not only by what it
	 * moves: memory already in place moves nothing, and a step over a
	 * large pool of it would otherwise query all of it (50-100 ms per
	 * GiB, docs/numa.md) while its caller (a worker thread, a device
	 * unrealize waiting for it) waits.
	 */
	max_examined = max_bytes > UINT64_MAX / VSWAP_MIGRATE_EXAMINE_FACTOR ?
		       UINT64_MAX : max_bytes * VSWAP_MIGRATE_EXAMINE_FACTOR;
	pthread_mutex_lock(&n->migrate_lock);
	for (;;) {
		uint64_t moved = 0, failed = 0, gen, nodes;
		uint32_t pol, limit;
		unsigned nseg;

		pthread_mutex_lock(&n->lock);
		cursor = n->cursor;
		limit = n->limit;	/* 0 under DEFAULT: nowhere to move */
		gen = n->gen;
		pol = mpol_policy(n);
		nodes = mpol_nodes_of(n);
		pthread_mutex_unlock(&n->lock);
		if (cursor >= limit ||
		    (max_bytes && (out.bytes_moved >= max_bytes ||
				   examined >= max_examined)))
			break;
		/* Whole segments, never across an arena. */
		nseg = SEGS_PER_CALL;
		if (nseg > limit - cursor)
			nseg = limit - cursor;
		if (nseg > VSWAP_ARENA_SEGS - (cursor & (VSWAP_ARENA_SEGS - 1)))
			nseg = VSWAP_ARENA_SEGS -
			       (cursor & (VSWAP_ARENA_SEGS - 1));
		migrate_batch(ms, cursor, nseg, pol, nodes, &moved, &failed);
		examined += (uint64_t)nseg * VSWAP_SEG_SIZE;
		out.bytes_moved += moved;
		out.pages_failed += failed;
		__atomic_add_fetch(&n->migrated, moved, __ATOMIC_RELAXED);
		__atomic_add_fetch(&n->failed, failed, __ATOMIC_RELAXED);
		pthread_mutex_lock(&n->lock);
		if (n->gen == gen)	/* else a new policy restarted it */
			n->cursor = cursor + nseg;
		pthread_mutex_unlock(&n->lock);
	}
	out.bytes_remaining = mpol_pending_bytes(n, memsource_held_bytes(ms));
	pthread_mutex_unlock(&n->migrate_lock);
	if (res)
		*res = out;
	return VSWAP_OK;
}

uint64_t mpol_pending_bytes(struct vswap_numa *n, uint64_t held)
{
	uint64_t b;

	pthread_mutex_lock(&n->lock);
	b = n->limit > n->cursor ?
	    (uint64_t)(n->limit - n->cursor) * VSWAP_SEG_SIZE : 0;
	pthread_mutex_unlock(&n->lock);
	/* Free segments in the range hold nothing: cap by what is held. */
	return b < held ? b : held;
}

int vswap_refresh_nodes(struct vswap_store *s)
{
	uint64_t count[VSWAP_MAX_NODES] = { 0 };
	void *pages[VSWAP_NUMA_QUERY_PAGES];
	int where[VSWAP_NUMA_QUERY_PAGES];
	struct vswap_memsource *ms;
	uint32_t used;

	if (!s)
		return VSWAP_E_INVAL;
	ms = &s->pool.ms;
	used = memsource_used_ids(ms);
	for (uint32_t first = 0; first < used; first += SEGS_PER_CALL) {
		unsigned nseg = used - first < SEGS_PER_CALL ?
				used - first : SEGS_PER_CALL;
		unsigned np = nseg * PAGES_PER_SEG;

		/* SEGS_PER_CALL divides VSWAP_ARENA_SEGS: no batch
		 * straddles two arenas. */
		for (unsigned i = 0; i < np; i++)
			pages[i] = memsource_addr(ms, first + i / PAGES_PER_SEG) +
				   (size_t)(i % PAGES_PER_SEG) *
				   VSWAP_PAGE_SIZE;
		if (move_pages(0, np, pages, NULL, where, 0))
			return errno == ENOMEM ? VSWAP_E_NOMEM : VSWAP_E_INVAL;
		for (unsigned i = 0; i < np; i++)
			if (where[i] >= 0 && where[i] < VSWAP_MAX_NODES)
				count[where[i]]++;
	}
	for (unsigned i = 0; i < VSWAP_MAX_NODES; i++)
		__atomic_store_n(&ms->numa.node_bytes[i],
				 count[i] * VSWAP_PAGE_SIZE, __ATOMIC_RELAXED);
	__atomic_store_n(&ms->numa.refreshed_ns, mono_ns(), __ATOMIC_RELEASE);
	return VSWAP_OK;
}
