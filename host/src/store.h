/* SPDX-License-Identifier: MIT */
/*
 * store.h - struct vswap_store, the root object every other file hangs off.
 *
 * Fields:
 *   params     copy of the creation parameters, level and max_compressed
 *              resolved (never 0); params.pool_max is the value at
 *              creation only: the cap in force is pool_max() (pool.h)
 *   codec      ops table of params.codec
 *   id         random 64 bits drawn at creation (getrandom, entropy.h)
 *              and again at each reset (quiesced: nobody reads it
 *              meanwhile); never shown to the guest
 *   obj_seed   the CRC-32C seed of every object checksum of this store,
 *              in the pool and on disk (store_csum), folded from id. Why:
 *              an object carries {slot, checksum} and nothing else, so
 *              with one seed for everybody an object another store wrote
 *              for the same slot (the same backing path reused by another
 *              VM, a file region copied) verified and came back as this
 *              store's page; under another store's seed an intact object
 *              always fails (INTEGRITY: crc32c.h, two seeds never agree
 *              on the same bytes), a corrupt one but for the 2^-32
 *              chance any corrupt object has. Not a MAC against whoever
 *              can read our file and our memory: a binding of objects
 *              to their store (and, being redrawn at reset, to the
 *              store's life since its last reset: stale file bytes never
 *              verify).
 *   st         slot table (slot_table.h)
 *   pool       segments, compaction (pool.h), owns the memsource
 *   same       dictionary of same-fill values (same_dict.h)
 *   tier       the disk tier, if attached (tier.h)
 *   wb         writeback state and its lock (writeback.h)
 *   ctx_lock   serialises context creation; held by ctx_quiesce
 *   quiesce_waiting [atomic] callers inside ctx_quiesce() that do not hold
 *              every context yet (reset, check, attach). A pthread mutex
 *              lets its releaser take it straight back, so a long runner
 *              that holds a context (vswap_writeback, vswap_reclaim) looks
 *              at this between batches and gives its context up
 *              (writeback.c: wb_run) instead of starving the waiter.
 *   reset_pending [atomic] set by vswap_reset_begin(), cleared by
 *              vswap_reset(): the store is about to be emptied, so long
 *              calls (invalidate, compaction, writeback, a store's
 *              pressure writeback) stop early; see store_stopping()
 *   nctx       atomic; contexts [0, nctx) exist and never go away
 *   ctx[]      entries atomic (published after full construction)
 *   ctx_cap    how many contexts may exist (min(2 * nproc, VSWAP_CTX_MAX))
 *   ctx_key    pthread key of this store (not a global: created with the
 *              store, deleted with it): per thread, 1 + index of the
 *              context it used last, so a thread keeps its context
 *   has_key    ctx_key was created (key exhaustion only costs affinity)
 *   export     the running migration export (stream.h) or NULL; set and
 *              cleared with every context held, so read it holding one
 *   reset_gen  vswap_reset() calls (quiesced); the export compares
 * No global state: everything a call touches is reachable from here.
 */
#ifndef VSWAP_STORE_H
#define VSWAP_STORE_H

#include <pthread.h>

#include "codec.h"
#include "context.h"
#include "crc32c.h"
#include "pool.h"
#include "same_dict.h"
#include "slot_table.h"
#include "stream.h"
#include "tier.h"
#include "vswap.h"
#include "writeback.h"

struct vswap_store {
	struct vswap_params params;
	const struct vswap_codec_ops *codec;
	uint64_t id;
	uint32_t obj_seed;
	struct vswap_slot_table st;
	struct vswap_pool pool;
	struct vswap_same_dict same;
	struct vswap_tier tier;
	struct vswap_wb wb;
	pthread_mutex_t ctx_lock;
	unsigned quiesce_waiting;
	unsigned reset_pending;
	unsigned ctx_cap;
	unsigned nctx;
	pthread_key_t ctx_key;
	bool has_key;
	struct vswap_export *export;
	uint32_t reset_gen;
	struct vswap_ctx *ctx[VSWAP_CTX_MAX];
};

/* The checksum an object payload of this store carries (header above). */
static inline uint32_t store_csum(const struct vswap_store *s,
				  const void *payload, size_t len)
{
	return vswap_crc32c(s->obj_seed, payload, len);
}

/* The same, copying the @len bytes to @dst on the way (writeback). */
static inline uint32_t store_csum_copy(const struct vswap_store *s,
				       void *dst, const void *payload,
				       size_t len)
{
	return vswap_crc32c_copy(s->obj_seed, dst, payload, len);
}

/* For the migration stream (stream.c); store.c has the details. */
struct slot_view {
	unsigned kind;		/* SLOT_EMPTY, ZERO, SAME, COMP or RAW */
	uint64_t value;		/* SAME: the fill value */
	const void *payload;	/* COMP, RAW: len bytes */
	uint32_t len;
	struct vswap_slot *e;	/* locked until store_view_end, or NULL */
	uint64_t w;
};
int store_view(struct vswap_store *s, struct vswap_ctx *c, uint64_t slot,
	       struct slot_view *v);
void store_view_end(struct slot_view *v);
int store_put_object(struct vswap_store *s, uint64_t slot, bool raw,
		     const void *payload, uint32_t len);
int store_put_fill(struct vswap_store *s, uint64_t slot, uint64_t value,
		   void *scratch);

/* A reset is announced (vswap_reset_begin): work now would be dropped. */
static inline bool store_reset_pending(const struct vswap_store *s)
{
	return __atomic_load_n(&s->reset_pending, __ATOMIC_RELAXED) != 0;
}

/* Whether a long runner holding a context should stop now: a whole-store
 * operation waits for every context, or a reset is announced. */
static inline bool store_stopping(const struct vswap_store *s)
{
	return __atomic_load_n(&s->quiesce_waiting, __ATOMIC_RELAXED) != 0 ||
	       store_reset_pending(s);
}

#endif /* VSWAP_STORE_H */
