/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C (src/crc32c.c), against a bit-at-a-time reference written here
 * from the definition (reflected 0x82F63B78, init and final xor ~0):
 *
 *   check_value      "123456789" -> 0xE3069283, the catalogued check value
 *   every_byte       each of the 256 one-byte inputs (every entry of the
 *                    first table)
 *   every_length     lengths 0..4200 at 8 alignments: every lane length of
 *                    the three-lane path and therefore every shift
 *                    constant, every tail; the portable (table) path the
 *                    same; the _copy variant returns the same value,
 *                    copies exactly len bytes, touches nothing around them
 *   detects_flips    one flipped bit anywhere in a 4 KiB page changes it
 *   seeds            a seed continues a CRC: crc(crc(0, A), B) is the
 *                    reference CRC of AB at every split of 4200 bytes, on
 *                    both paths and through _copy; a store's seed
 *                    (objects at rest) never gives another seed's value
 *                    for the same bytes, whatever their length
 *   hw_path          with VSWAP_CRC32C_WANT_HW=1 in the environment, fails
 *                    unless vswap_crc32c() takes the CPU's instructions
 *                    (make check-arm64 sets it: without it a missing
 *                    hwcap would test the tables twice and pass)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crc32c.h"

static uint32_t crc32c_bitwise(const unsigned char *p, size_t len)
{
	uint32_t crc = ~0u;

	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (crc & 1 ? 0x82F63B78u : 0);
	}
	return ~crc;
}

static void check_value(void **state)
{
	(void)state;
	assert_int_equal(vswap_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(vswap_crc32c_portable(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(vswap_crc32c(0, "", 0), 0);
}

static void every_byte(void **state)
{
	(void)state;
	for (unsigned b = 0; b < 256; b++) {
		unsigned char c = (unsigned char)b;

		assert_int_equal(vswap_crc32c(0, &c, 1), crc32c_bitwise(&c, 1));
		assert_int_equal(vswap_crc32c_portable(0, &c, 1),
				 crc32c_bitwise(&c, 1));
	}
}

#define MAX_LEN 4200u
#define GUARD	16u

static void every_length(void **state)
{
	unsigned char *src = malloc(MAX_LEN + 8);
	unsigned char *dst = malloc(MAX_LEN + 8 + 2 * GUARD);

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	srand(12345);
	for (unsigned i = 0; i < MAX_LEN + 8; i++)
		src[i] = (unsigned char)rand();
	for (unsigned align = 0; align < 8; align++) {
		for (unsigned len = 0; len <= MAX_LEN; len++) {
			const unsigned char *p = src + align;
			uint32_t want = crc32c_bitwise(p, len);

			assert_int_equal(vswap_crc32c(0, p, len), want);
			assert_int_equal(vswap_crc32c_portable(0, p, len), want);
			memset(dst, 0xA5, MAX_LEN + 8 + 2 * GUARD);
			assert_int_equal(vswap_crc32c_copy(0,
							   dst + GUARD + align,
							   p, len), want);
			assert_memory_equal(dst + GUARD + align, p, len);
			for (unsigned g = 0; g < GUARD + align; g++)
				assert_int_equal(dst[g], 0xA5);
			assert_int_equal(dst[GUARD + align + len], 0xA5);
		}
	}
	free(src);
	free(dst);
}

static void detects_flips(void **state)
{
	unsigned char page[4096];
	uint32_t clean;

	(void)state;
	for (unsigned i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i * 131 + 7);
	clean = vswap_crc32c(0, page, sizeof(page));
	for (unsigned bit = 0; bit < 8 * sizeof(page); bit += 7) {
		page[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_not_equal(vswap_crc32c(0, page, sizeof(page)), clean);
		page[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	assert_int_equal(vswap_crc32c(0, page, sizeof(page)), clean);
}

static void seeds(void **state)
{
	unsigned char *src = malloc(MAX_LEN), *dst = malloc(MAX_LEN);
	uint32_t seed[] = { 0, 1, 0x80000000u, 0x1234abcdu, ~0u };
	const unsigned nseed = sizeof(seed) / sizeof(seed[0]);
	uint32_t want;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	srand(777);
	for (unsigned i = 0; i < MAX_LEN; i++)
		src[i] = (unsigned char)rand();
	want = crc32c_bitwise(src, MAX_LEN);
	for (unsigned cut = 0; cut <= MAX_LEN; cut++) {
		uint32_t a = vswap_crc32c(0, src, cut);

		assert_int_equal(vswap_crc32c(a, src + cut, MAX_LEN - cut),
				 want);
		assert_int_equal(vswap_crc32c_portable(a, src + cut,
						       MAX_LEN - cut), want);
		assert_int_equal(vswap_crc32c_copy(a, dst, src + cut,
						   MAX_LEN - cut), want);
	}
	/* Two seeds differ, for equal bytes, by a constant of the length
	 * alone (what they give on zeroes), never 0. */
	memset(dst, 0, MAX_LEN);
	for (unsigned len = 0; len <= MAX_LEN; len += 97) {
		for (unsigned i = 0; i < nseed; i++) {
			for (unsigned j = i + 1; j < nseed; j++) {
				uint32_t x = vswap_crc32c(seed[i], src, len);
				uint32_t y = vswap_crc32c(seed[j], src, len);

				assert_int_not_equal(x, y);
				assert_int_equal(x ^ y,
						 vswap_crc32c(seed[i], dst, len) ^
						 vswap_crc32c(seed[j], dst, len));
			}
		}
	}
	free(src);
	free(dst);
}

static void hw_path(void **state)
{
	const char *want = getenv("VSWAP_CRC32C_WANT_HW");

	(void)state;
	if (!want || strcmp(want, "1"))
		skip();
	assert_true(vswap_crc32c_hw());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_value),
		cmocka_unit_test(every_byte),
		cmocka_unit_test(every_length),
		cmocka_unit_test(detects_flips),
		cmocka_unit_test(seeds),
		cmocka_unit_test(hw_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
