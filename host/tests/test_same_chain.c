/* SPDX-License-Identifier: MIT */
/*
 * The same-fill dictionary's chain cap (same_dict.h, "Hash flooding"),
 * against an attacker who knows which values collide: an oracle finds
 * values that land in one bucket (by inserting and looking where they
 * went, what a guest that learnt the key could compute). The chain stops
 * at SAME_DICT_CHAIN_MAX: more such values are refused, and no lookup
 * visits more than that many entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "same_dict.h"
#include "vswap_test.h"

static struct same_ent *dict_ent(struct vswap_same_dict *d, uint32_t i)
{
	return &d->blk[i >> SAME_DICT_BLOCK_SHIFT][i & (SAME_DICT_BLOCK - 1)];
}

static bool on_chain(struct vswap_same_dict *d, uint32_t b, uint32_t idx,
		     unsigned *len)
{
	bool found = false;

	*len = 0;
	for (uint32_t i = d->bucket[b]; i != SAME_DICT_NONE;
	     i = dict_ent(d, i)->next) {
		found |= i == idx;
		++*len;
	}
	return found;
}

static void chain_capped(void **state)
{
	struct vswap_memsource ms;
	struct vswap_same_dict d;
	unsigned len = 0, refused = 0;
	uint64_t v, p0;
	uint32_t idx;

	(void)state;
	assert_int_equal(memsource_init(&ms, 16, 0), VSWAP_OK);
	assert_int_equal(same_dict_init(&d), VSWAP_OK);
	/* The first value makes the table (64 buckets, never grown here:
	 * at most the chain's values stay live). */
	assert_true(same_dict_get(&d, &ms, 0, 1, &idx));
	assert_int_equal(d.nbucket, 64);
	same_dict_put(&d, idx);
	for (v = 2; v < 200000 && refused < 50; v++) {
		p0 = d.probes;
		if (!same_dict_get(&d, &ms, 0, v, &idx)) {
			/* Only a value of the full chain is refused. */
			assert_int_equal(len, SAME_DICT_CHAIN_MAX);
			refused++;
		} else if (!on_chain(&d, 0, idx, &len)) {
			same_dict_put(&d, idx);	/* another bucket */
		}
		assert_true(d.probes - p0 <= SAME_DICT_CHAIN_MAX);
		assert_int_equal(d.nbucket, 64);
	}
	on_chain(&d, 0, SAME_DICT_NONE, &len);
	assert_int_equal(len, SAME_DICT_CHAIN_MAX);
	assert_int_equal(refused, 50);
	assert_true(same_dict_is_valid(&d, NULL));
	/* Unlinking from the middle and the head keeps it sound. */
	idx = d.bucket[0];
	same_dict_put(&d, dict_ent(&d, dict_ent(&d, idx)->next)->next);
	same_dict_put(&d, idx);
	assert_true(same_dict_is_valid(&d, NULL));
	on_chain(&d, 0, SAME_DICT_NONE, &len);
	assert_int_equal(len, SAME_DICT_CHAIN_MAX - 2);
	memsource_uncharge(&ms, same_dict_clear(&d));
	assert_int_equal(ms.charged, ms.meta_bytes);
	same_dict_fini(&d);
	memsource_fini(&ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chain_capped),
	};

	return cmocka_run_group_tests_name("same_chain", tests, NULL, NULL);
}
