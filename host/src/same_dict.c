// SPDX-License-Identifier: MIT
/*
 * same_dict.c - the dictionary of same-fill values (same_dict.h has the
 * layout, the refcount rule and the invariants).
 *
 * Cost: a same-filled, non-zero page's store and drop each take the
 * dictionary lock once (a hash lookup in a chain of ~1); its load takes no
 * lock. Growth (a new block, a bigger bucket array) is charged before it
 * is allocated and happens at most 64 + 11 times in a store's life.
 */
#include <stdlib.h>
#include <string.h>

#include "same_dict.h"
#include "vswap.h"

#define SAME_DICT_BLOCK_BYTES	(SAME_DICT_BLOCK * sizeof(struct same_ent))
#define SAME_DICT_MIN_BUCKETS	64u

_Static_assert(sizeof(struct same_ent) == 16, "16 bytes per value");

int same_dict_init(struct vswap_same_dict *d)
{
	memset(d, 0, sizeof(*d));
	d->free_head = SAME_DICT_NONE;
	if (pthread_mutex_init(&d->lock, NULL))
		return VSWAP_E_NOMEM;
	return VSWAP_OK;
}

uint64_t same_dict_clear(struct vswap_same_dict *d)
{
	uint64_t bytes = __atomic_load_n(&d->bytes, __ATOMIC_RELAXED);

	for (unsigned i = 0; i < SAME_DICT_BLOCKS; i++) {
		free(d->blk[i]);
		d->blk[i] = NULL;
	}
	free(d->bucket);
	d->bucket = NULL;
	d->nbucket = 0;
	d->nalloc = 0;
	d->nlive = 0;
	d->free_head = SAME_DICT_NONE;
	/* vswap_get_stats reads it without a context: atomic */
	__atomic_store_n(&d->bytes, 0, __ATOMIC_RELAXED);
	return bytes;
}

void same_dict_fini(struct vswap_same_dict *d)
{
	(void)same_dict_clear(d);
	pthread_mutex_destroy(&d->lock);
}

static inline struct same_ent *ent(struct vswap_same_dict *d, uint32_t i)
{
	struct same_ent *b = __atomic_load_n(&d->blk[i >> SAME_DICT_BLOCK_SHIFT],
					     __ATOMIC_ACQUIRE);

	return &b[i & (SAME_DICT_BLOCK - 1)];
}

/* Fibonacci hashing: the top bits of value * 2^64 / phi. */
static inline uint32_t bucket_of(const struct vswap_same_dict *d, uint64_t v)
{
	return (uint32_t)((v * UINT64_C(0x9e3779b97f4a7c15)) >>
			  (64 - __builtin_ctz(d->nbucket)));
}

/* Lock held. Double the bucket array (or create it) and rehash. */
static bool grow_buckets(struct vswap_same_dict *d, struct vswap_memsource *ms,
			 uint64_t headroom)
{
	uint32_t n = d->nbucket ? d->nbucket * 2 : SAME_DICT_MIN_BUCKETS;
	uint64_t add = (uint64_t)(n - d->nbucket) * sizeof(uint32_t);
	uint32_t *nb, *old = d->bucket, oldn = d->nbucket;

	if (!memsource_charge(ms, add, headroom))
		return false;
	nb = malloc((size_t)n * sizeof(*nb));
	if (!nb) {
		memsource_uncharge(ms, add);
		return false;
	}
	for (uint32_t i = 0; i < n; i++)
		nb[i] = SAME_DICT_NONE;
	d->bucket = nb;
	d->nbucket = n;
	for (uint32_t b = 0; b < oldn; b++) {
		uint32_t i = old[b];

		while (i != SAME_DICT_NONE) {
			struct same_ent *x = ent(d, i);
			uint32_t next = x->next, nbk;

			nbk = bucket_of(d, __atomic_load_n(&x->value,
							   __ATOMIC_RELAXED));
			x->next = nb[nbk];
			nb[nbk] = i;
			i = next;
		}
	}
	free(old);
	__atomic_fetch_add(&d->bytes, add, __ATOMIC_RELAXED);
	return true;
}

/* Lock held. A fresh index (refs 0, off every list), or NONE. */
static uint32_t new_index(struct vswap_same_dict *d, struct vswap_memsource *ms,
			  uint64_t headroom)
{
	uint32_t i = d->free_head;
	struct same_ent *b;

	if (i != SAME_DICT_NONE) {
		d->free_head = ent(d, i)->next;
		return i;
	}
	if (d->nalloc == SAME_DICT_MAX)
		return SAME_DICT_NONE;
	i = d->nalloc;
	if (!(i & (SAME_DICT_BLOCK - 1))) {
		if (!memsource_charge(ms, SAME_DICT_BLOCK_BYTES, headroom))
			return SAME_DICT_NONE;
		b = calloc(SAME_DICT_BLOCK, sizeof(*b));
		if (!b) {
			memsource_uncharge(ms, SAME_DICT_BLOCK_BYTES);
			return SAME_DICT_NONE;
		}
		__atomic_store_n(&d->blk[i >> SAME_DICT_BLOCK_SHIFT], b,
				 __ATOMIC_RELEASE);
		__atomic_fetch_add(&d->bytes, SAME_DICT_BLOCK_BYTES,
				   __ATOMIC_RELAXED);
	}
	d->nalloc++;
	return i;
}

bool same_dict_get(struct vswap_same_dict *d, struct vswap_memsource *ms,
		   uint64_t headroom, uint64_t value, uint32_t *idx)
{
	struct same_ent *x;
	uint32_t i, b;

	pthread_mutex_lock(&d->lock);
	if (d->nbucket) {
		for (i = d->bucket[bucket_of(d, value)]; i != SAME_DICT_NONE;
		     i = x->next) {
			x = ent(d, i);
			d->probes++;
			if (__atomic_load_n(&x->value, __ATOMIC_RELAXED) ==
			    value) {
				if (x->refs == UINT32_MAX)
					goto fail;	/* 2^32 entries */
				__atomic_store_n(&x->refs, x->refs + 1,
						 __ATOMIC_RELAXED);
				goto found;
			}
		}
	}
	if (d->free_head == SAME_DICT_NONE && d->nalloc == SAME_DICT_MAX)
		goto fail;	/* full: checked before growing the buckets */
	if (d->nlive >= d->nbucket && !grow_buckets(d, ms, headroom))
		goto fail;
	i = new_index(d, ms, headroom);
	if (i == SAME_DICT_NONE)
		goto fail;
	x = ent(d, i);
	__atomic_store_n(&x->value, value, __ATOMIC_RELAXED);
	__atomic_store_n(&x->refs, 1, __ATOMIC_RELAXED);
	b = bucket_of(d, value);
	x->next = d->bucket[b];
	d->bucket[b] = i;
	d->nlive++;
found:
	pthread_mutex_unlock(&d->lock);
	*idx = i;
	return true;
fail:
	pthread_mutex_unlock(&d->lock);
	return false;
}

void same_dict_put(struct vswap_same_dict *d, uint64_t idx)
{
	struct same_ent *x;
	uint32_t *pp;

	pthread_mutex_lock(&d->lock);
	/* Only a SAME entry's killer calls this; never trust it blindly. */
	if (idx >= d->nalloc)
		goto out;
	x = ent(d, (uint32_t)idx);
	if (!x->refs)
		goto out;
	__atomic_store_n(&x->refs, x->refs - 1, __ATOMIC_RELAXED);
	if (x->refs)
		goto out;
	/* Last reference: unchain it, onto the free list. */
	pp = &d->bucket[bucket_of(d, __atomic_load_n(&x->value,
						      __ATOMIC_RELAXED))];
	while (*pp != (uint32_t)idx && *pp != SAME_DICT_NONE) {
		pp = &ent(d, *pp)->next;
		d->probes++;
	}
	if (*pp == (uint32_t)idx)
		*pp = x->next;
	x->next = d->free_head;
	d->free_head = (uint32_t)idx;
	d->nlive--;
out:
	pthread_mutex_unlock(&d->lock);
}

bool same_dict_value(struct vswap_same_dict *d, uint64_t idx, uint64_t *value)
{
	struct same_ent *b;
	struct same_ent *x;

	if (idx >= SAME_DICT_MAX)
		return false;
	b = __atomic_load_n(&d->blk[idx >> SAME_DICT_BLOCK_SHIFT],
			    __ATOMIC_ACQUIRE);
	if (!b)
		return false;
	x = &b[idx & (SAME_DICT_BLOCK - 1)];
	if (!__atomic_load_n(&x->refs, __ATOMIC_RELAXED))
		return false;
	*value = __atomic_load_n(&x->value, __ATOMIC_RELAXED);
	return true;
}

uint32_t same_dict_refs(struct vswap_same_dict *d, uint64_t idx)
{
	struct same_ent *b;

	if (idx >= SAME_DICT_MAX)
		return 0;
	b = __atomic_load_n(&d->blk[idx >> SAME_DICT_BLOCK_SHIFT],
			    __ATOMIC_ACQUIRE);
	if (!b)
		return 0;
	return __atomic_load_n(&b[idx & (SAME_DICT_BLOCK - 1)].refs,
			       __ATOMIC_RELAXED);
}

bool same_dict_is_valid(struct vswap_same_dict *d, uint64_t *refs_total)
{
	uint64_t total = 0, bytes, chained = 0, nfree = 0;
	uint32_t live = 0, nblk = 0;
	bool ok = true;

	for (unsigned i = 0; i < SAME_DICT_BLOCKS; i++)
		nblk += d->blk[i] != NULL;
	bytes = (uint64_t)nblk * SAME_DICT_BLOCK_BYTES +
		(uint64_t)d->nbucket * sizeof(uint32_t);
	ok &= d->nalloc <= (uint64_t)nblk * SAME_DICT_BLOCK;
	for (uint32_t i = 0; ok && i < d->nalloc; i++) {
		struct same_ent *x = ent(d, i);

		total += x->refs;
		live += x->refs != 0;
	}
	/* Every chained index is live, in its value's bucket, unique. */
	for (uint32_t b = 0; ok && b < d->nbucket; b++)
		for (uint32_t i = d->bucket[b]; ok && i != SAME_DICT_NONE;
		     i = ent(d, i)->next) {
			ok &= i < d->nalloc && ent(d, i)->refs &&
			      bucket_of(d, ent(d, i)->value) == b &&
			      ++chained <= d->nalloc;
			for (uint32_t j = ent(d, i)->next;
			     ok && j != SAME_DICT_NONE; j = ent(d, j)->next)
				ok &= j < d->nalloc &&
				      ent(d, j)->value != ent(d, i)->value;
		}
	for (uint32_t i = d->free_head; ok && i != SAME_DICT_NONE;
	     i = ent(d, i)->next)
		ok &= i < d->nalloc && !ent(d, i)->refs &&
		      ++nfree <= d->nalloc;
	if (refs_total)
		*refs_total = total;
	return ok && live == d->nlive && chained == live &&
	       nfree == d->nalloc - live && bytes == d->bytes;
}
