/* SPDX-License-Identifier: MIT */
/*
 * context.h - per-operation working contexts of a store.
 *
 * An operation (store, load, invalidate, compact) runs holding exactly one
 * context: its codec state, its compression scratch, its open pool head and
 * its counter shard. Contexts are created lazily, up to store->ctx_cap, and
 * live until the store is destroyed. A thread picks one by trylock starting
 * at an index hashed from pthread_self(), so a thread tends to reuse the
 * same context (warm caches, its own head segment: age-coherent packing) and
 * anonymous worker threads need no registration.
 *
 * Because every operation holds a context, taking every context's lock
 * (ctx_quiesce) excludes all operations: reset and destroy use that.
 *
 * Fields, all owned by the holder of ->lock:
 *   codec    per-context codec state (codec.h)
 *   head     open pool segment this context appends to (pool.h)
 *   scratch  compress() output when the head has no room for the worst
 *            case; never read by anyone else
 *   page     the copy of the page being stored that the codec, the
 *            checksum and a raw object read: a codec fed memory that
 *            changes under it (guest memory) may emit a block that does
 *            not decode (LZ4 1.9.4 does)
 *   shard    counters; readers use relaxed loads (stats.h)
 */
#ifndef VSWAP_CONTEXT_H
#define VSWAP_CONTEXT_H

#include <pthread.h>

#include "codec.h"
#include "pool.h"
#include "stats.h"

/* Upper bound of contexts per store: 2 x a large host's vCPU-serving
 * threads is plenty; beyond it callers wait on a context. */
#define VSWAP_CTX_MAX	64

struct vswap_ctx {
	struct vswap_shard shard;	/* first: its own cache lines */
	pthread_mutex_t lock;
	void *codec;
	struct vswap_head head;
	unsigned char scratch[VSWAP_CODEC_SCRATCH] __attribute__((aligned(64)));
	unsigned char page[VSWAP_PAGE_SIZE] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct vswap_store;

/* Get a context (never fails once the store has one); put it back. */
struct vswap_ctx *ctx_get(struct vswap_store *s);
/* The same; with VSWAP_NOWAIT, NULL instead of waiting when every context
 * is held (their holders may be in file I/O). */
struct vswap_ctx *ctx_get_flags(struct vswap_store *s, unsigned flags);
static inline void ctx_put(struct vswap_ctx *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* Create context number store->nctx, returned locked (ctx_lock held). */
struct vswap_ctx *ctx_create(struct vswap_store *s);
void ctx_destroy(struct vswap_store *s, struct vswap_ctx *c);

/*
 * Lock every context (and keep new ones from appearing); undo with
 * ctx_unquiesce. While it waits, store->quiesce_waiting is non-zero:
 * vswap_writeback / vswap_reclaim stop at their next batch boundary, so
 * the wait is at most one batch (writeback.h), not a whole run.
 */
void ctx_quiesce(struct vswap_store *s);
void ctx_unquiesce(struct vswap_store *s);

#endif /* VSWAP_CONTEXT_H */
