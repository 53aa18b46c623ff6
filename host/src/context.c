// SPDX-License-Identifier: MIT
/*
 * context.c - the pool of per-operation contexts; see context.h.
 *
 * Lock order: store->ctx_lock > ctx->lock (a thread holds one context,
 * except ctx_quiesce, which takes all of them in index order while holding
 * ctx_lock so no context can be created meanwhile).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "store.h"

struct vswap_ctx *ctx_create(struct vswap_store *s)
{
	struct vswap_ctx *c;

	if (s->nctx >= s->ctx_cap)
		return NULL;
	if (posix_memalign((void **)&c, 64, sizeof(*c)))
		return NULL;
	memset(c, 0, offsetof(struct vswap_ctx, scratch));
	c->codec = s->codec->ctx_create(s->params.level);
	if (!c->codec) {
		free(c);
		return NULL;
	}
	if (pthread_mutex_init(&c->lock, NULL)) {
		s->codec->ctx_destroy(c->codec);
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&c->lock);	/* returned held, before anyone sees it */
	__atomic_store_n(&s->ctx[s->nctx], c, __ATOMIC_RELEASE);
	__atomic_store_n(&s->nctx, s->nctx + 1, __ATOMIC_RELEASE);
	return c;
}

void ctx_destroy(struct vswap_store *s, struct vswap_ctx *c)
{
	s->codec->ctx_destroy(c->codec);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Fibonacci hashing of the thread handle (pointer-like: low bits aligned). */
static unsigned thread_hash(void)
{
	uint64_t h = (uint64_t)(uintptr_t)pthread_self();

	h *= UINT64_C(0x9E3779B97F4A7C15);
	return (unsigned)(h >> 40);
}

/* Remember @c as the context this thread uses (store-owned pthread key). */
static struct vswap_ctx *remember(struct vswap_store *s, unsigned idx,
				  struct vswap_ctx *c)
{
	if (s->has_key)
		pthread_setspecific(s->ctx_key, (void *)(uintptr_t)(idx + 1));
	return c;
}

struct vswap_ctx *ctx_get(struct vswap_store *s)
{
	return ctx_get_flags(s, 0);
}

struct vswap_ctx *ctx_get_flags(struct vswap_store *s, unsigned flags)
{
	unsigned n = __atomic_load_n(&s->nctx, __ATOMIC_ACQUIRE);
	unsigned start;
	struct vswap_ctx *c;

	/* Fast path: the context this thread used last (warm codec state,
	 * its own head segment), unless another thread holds it now. */
	if (s->has_key) {
		uintptr_t last = (uintptr_t)pthread_getspecific(s->ctx_key);

		if (last && last <= n) {
			c = __atomic_load_n(&s->ctx[last - 1], __ATOMIC_ACQUIRE);
			if (!pthread_mutex_trylock(&c->lock))
				return c;
		}
	}
	start = thread_hash();
	for (unsigned i = 0; i < n; i++) {
		unsigned idx = (start + i) % n;

		c = __atomic_load_n(&s->ctx[idx], __ATOMIC_ACQUIRE);
		if (!pthread_mutex_trylock(&c->lock))
			return remember(s, idx, c);
	}
	/* All busy: add one if allowed, else wait on our home context. */
	if (n < s->ctx_cap && !pthread_mutex_trylock(&s->ctx_lock)) {
		unsigned idx = s->nctx;

		c = ctx_create(s);
		pthread_mutex_unlock(&s->ctx_lock);
		if (c)
			return remember(s, idx, c);
	}
	/* Their holders may be in file I/O (disk loads, writeback, an
	 * export): a caller that must not block goes elsewhere. */
	if (flags & VSWAP_NOWAIT)
		return NULL;
	n = __atomic_load_n(&s->nctx, __ATOMIC_ACQUIRE);
	c = __atomic_load_n(&s->ctx[start % n], __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&c->lock);
	return remember(s, start % n, c);
}

void ctx_quiesce(struct vswap_store *s)
{
	/* Seen by a writeback between batches: it stops and puts its
	 * context back (store.h: quiesce_waiting). */
	__atomic_fetch_add(&s->quiesce_waiting, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&s->ctx_lock);
	for (unsigned i = 0; i < s->nctx; i++)
		pthread_mutex_lock(&s->ctx[i]->lock);
	__atomic_fetch_sub(&s->quiesce_waiting, 1, __ATOMIC_RELAXED);
}

void ctx_unquiesce(struct vswap_store *s)
{
	for (unsigned i = s->nctx; i-- > 0;)
		pthread_mutex_unlock(&s->ctx[i]->lock);
	pthread_mutex_unlock(&s->ctx_lock);
}
