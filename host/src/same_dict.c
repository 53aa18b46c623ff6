// SPDX-License-Identifier: MIT
/*
 * same_dict.c - the dictionary of same-fill values (same_dict.h has the
 * layout, the refcount rule and the invariants).
 *
 * Cost: a same-filled, non-zero page's store takes the dictionary lock
 * once (one SipHash-1-3 of 8 bytes, ~20 ns, and a chain of ~1, never more
 * than SAME_DICT_CHAIN_MAX); its drop takes it once and unlinks in O(1);
 * its load takes no lock. Growth (a new block, a bigger bucket array) is
 * charged before it is allocated and happens at most 64 + 11 times in a
 * store's life.
 */
#include <stdlib.h>
#include <string.h>

#include "entropy.h"
#include "same_dict.h"
#include "vswap.h"

#define SAME_DICT_BLOCK_BYTES	(SAME_DICT_BLOCK * sizeof(struct same_ent))
#define SAME_DICT_MIN_BUCKETS	64u

_Static_assert(sizeof(struct same_ent) == 24, "24 bytes per value");

int same_dict_init(struct vswap_same_dict *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->free_head = SAME_DICT_NONE;
	r = entropy_get(d->key, sizeof(d->key));
	if (r)
		return r;
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
	/* A fresh key per life of the dictionary: whatever a guest learnt
	 * about the old one (timing) is worth nothing after a reset. On
	 * failure the old key stays: still secret, still random. */
	(void)entropy_get(d->key, sizeof(d->key));
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

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3)					\
	do {								\
		v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0;		\
		v0 = rotl64(v0, 32);					\
		v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;		\
		v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;		\
		v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2;		\
		v2 = rotl64(v2, 32);					\
	} while (0)

/*
 * SipHash-1-3 (one compression round, three finalisation rounds, the
 * variant Rust's and Python's hash tables use) of the 8-byte little-endian
 * message @m under @k: a keyed PRF, so without the key nobody can tell
 * which values share a bucket (same_dict.h, "Hash flooding").
 */
static uint64_t siphash13_u64(const uint64_t k[2], uint64_t m)
{
	uint64_t v0 = k[0] ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k[1] ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k[0] ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k[1] ^ UINT64_C(0x7465646279746573);
	const uint64_t last = UINT64_C(8) << 56;	/* length 8, no tail */

	v3 ^= m;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static inline uint32_t bucket_of(const struct vswap_same_dict *d, uint64_t v)
{
	return (uint32_t)siphash13_u64(d->key, v) & (d->nbucket - 1);
}

/* Lock held. Put index @i (value set) first on chain @b. */
static void chain_push(struct vswap_same_dict *d, uint32_t b, uint32_t i)
{
	struct same_ent *x = ent(d, i);
	uint32_t first = d->bucket[b];

	x->next = first;
	x->prev = SAME_DICT_NONE;
	if (first != SAME_DICT_NONE)
		ent(d, first)->prev = i;
	d->bucket[b] = i;
}

/* Lock held. Take index @i off its chain (its value's bucket), O(1). */
static void chain_del(struct vswap_same_dict *d, uint32_t i)
{
	struct same_ent *x = ent(d, i);

	if (x->prev != SAME_DICT_NONE)
		ent(d, x->prev)->next = x->next;
	else
		d->bucket[bucket_of(d, __atomic_load_n(&x->value,
						       __ATOMIC_RELAXED))] =
			x->next;
	if (x->next != SAME_DICT_NONE)
		ent(d, x->next)->prev = x->prev;
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

		/* Chains only get shorter in a bigger table: each new
		 * chain holds a subset of one old chain. */
		while (i != SAME_DICT_NONE) {
			struct same_ent *x = ent(d, i);
			uint32_t next = x->next;

			chain_push(d, bucket_of(d, __atomic_load_n(&x->value,
							    __ATOMIC_RELAXED)),
				   i);
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
	unsigned len = 0;
	uint32_t i;

	pthread_mutex_lock(&d->lock);
	if (d->nbucket) {
		for (i = d->bucket[bucket_of(d, value)]; i != SAME_DICT_NONE;
		     i = x->next) {
			x = ent(d, i);
			d->probes++;
			len++;
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
	/* Its chain is full (a flood, the header says why): refused. Not
	 * retried after growing the buckets: the table only grows with
	 * nlive, which a flood of this kind does not need to raise. */
	if (len >= SAME_DICT_CHAIN_MAX)
		goto fail;
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
	chain_push(d, bucket_of(d, value), i);
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
	/* Last reference: unchain it (O(1)), onto the free list. */
	chain_del(d, (uint32_t)idx);
	x->next = d->free_head;
	x->prev = SAME_DICT_NONE;
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
	/* Every chained index is live, in its value's bucket, unique;
	 * prev mirrors next; no chain beyond the cap. */
	for (uint32_t b = 0; ok && b < d->nbucket; b++) {
		uint32_t prev = SAME_DICT_NONE, len = 0;

		for (uint32_t i = d->bucket[b]; ok && i != SAME_DICT_NONE;
		     prev = i, i = ent(d, i)->next) {
			ok &= i < d->nalloc && ent(d, i)->refs &&
			      bucket_of(d, ent(d, i)->value) == b &&
			      ent(d, i)->prev == prev &&
			      ++len <= SAME_DICT_CHAIN_MAX &&
			      ++chained <= d->nalloc;
			for (uint32_t j = ent(d, i)->next;
			     ok && j != SAME_DICT_NONE; j = ent(d, j)->next)
				ok &= j < d->nalloc &&
				      ent(d, j)->value != ent(d, i)->value;
		}
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
