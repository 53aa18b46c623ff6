/* SPDX-License-Identifier: MIT */
/*
 * Name tables: every error code and every codec has a distinct, stable name;
 * out-of-range values get "unknown" / NULL; codec names parse back.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vswap_test.h"

static const int all_errors[] = {
	VSWAP_OK, VSWAP_E_INVAL, VSWAP_E_RANGE, VSWAP_E_NOSPACE,
	VSWAP_E_NOMEM, VSWAP_E_INTEGRITY, VSWAP_E_IO, VSWAP_E_BUSY,
	VSWAP_E_WOULDBLOCK,
};

static void error_codes_stable(void **state)
{
	(void)state;
	/* Values are ABI: QMP and logs carry them. */
	assert_int_equal(VSWAP_OK, 0);
	assert_int_equal(VSWAP_E_INVAL, -1);
	assert_int_equal(VSWAP_E_RANGE, -2);
	assert_int_equal(VSWAP_E_NOSPACE, -3);
	assert_int_equal(VSWAP_E_NOMEM, -4);
	assert_int_equal(VSWAP_E_INTEGRITY, -5);
	assert_int_equal(VSWAP_E_IO, -6);
	assert_int_equal(VSWAP_E_BUSY, -7);
	assert_int_equal(VSWAP_E_WOULDBLOCK, -8);
	assert_int_equal(sizeof(all_errors) / sizeof(all_errors[0]),
			 VSWAP_E__COUNT);
	assert_false(vswap_is_error(VSWAP_OK));
	assert_false(vswap_is_error(5));
	for (int i = 1; i < VSWAP_E__COUNT; i++)
		assert_true(vswap_is_error(all_errors[i]));
}

static void error_names_cover_every_code(void **state)
{
	(void)state;
	for (int i = 0; i < VSWAP_E__COUNT; i++) {
		const char *n = vswap_error_name(all_errors[i]);
		const char *d = vswap_strerror(all_errors[i]);

		assert_non_null(n);
		assert_non_null(d);
		assert_true(strlen(n) > 0);
		assert_true(strlen(d) > 0);
		if (strcmp(n, "unknown") == 0)
			fail_msg("code %d has no name", all_errors[i]);
		for (int j = 0; j < i; j++) {
			if (strcmp(n, vswap_error_name(all_errors[j])) == 0)
				fail_msg("codes %d and %d share the name %s",
					 all_errors[i], all_errors[j], n);
			if (strcmp(d, vswap_strerror(all_errors[j])) == 0)
				fail_msg("codes %d and %d share the text %s",
					 all_errors[i], all_errors[j], d);
		}
	}
	/* The header's own example. */
	assert_string_equal(vswap_error_name(VSWAP_E_NOSPACE), "nospace");
}

static void error_names_unknown(void **state)
{
	static const int bad[] = { 1, 2, -VSWAP_E__COUNT, -100, INT_MIN,
				   INT_MAX };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_string_equal(vswap_error_name(bad[i]), "unknown");
		assert_non_null(vswap_strerror(bad[i]));
		assert_true(strlen(vswap_strerror(bad[i])) > 0);
	}
}

static void codec_names_round_trip(void **state)
{
	static const char *const want[VSWAP_CODEC__COUNT] = {
		[VSWAP_CODEC_LZ4] = "lz4", [VSWAP_CODEC_ZSTD] = "zstd",
		[VSWAP_CODEC_NONE] = "none",
	};
	(void)state;

	assert_int_equal(VSWAP_CODEC_LZ4, 0);	/* the default */
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		enum vswap_codec out = (enum vswap_codec)-1;
		const char *n = vswap_codec_name((enum vswap_codec)c);

		assert_non_null(n);
		assert_string_equal(n, want[c]);
		assert_int_equal(vswap_codec_parse(n, &out), VSWAP_OK);
		assert_int_equal(out, c);
	}
	assert_null(vswap_codec_name(VSWAP_CODEC__COUNT));
	assert_null(vswap_codec_name((enum vswap_codec)-1));
	assert_null(vswap_codec_name((enum vswap_codec)1000));
}

static void codec_parse_rejects(void **state)
{
	static const char *const bad[] = { "", "lz", "lz4 ", "zstd1", "gzip",
					   "nonex", "unknown" };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum vswap_codec out = VSWAP_CODEC_ZSTD;

		if (vswap_codec_parse(bad[i], &out) != VSWAP_E_INVAL)
			fail_msg("\"%s\" parsed as a codec", bad[i]);
		assert_int_equal(out, VSWAP_CODEC_ZSTD);	/* untouched */
	}
	{
		enum vswap_codec out;

		assert_int_equal(vswap_codec_parse(NULL, &out), VSWAP_E_INVAL);
		assert_int_equal(vswap_codec_parse("lz4", NULL), VSWAP_E_INVAL);
	}
}

static void codec_level_bounds(void **state)
{
	(void)state;
	for (int c = 0; c < VSWAP_CODEC__COUNT; c++) {
		int min = INT_MIN, max = INT_MIN;

		vswap_codec_level_bounds((enum vswap_codec)c, &min, &max);
		assert_true(min <= max);
	}
	{
		int min, max;

		/* zstd has real levels: at least 1..19. */
		vswap_codec_level_bounds(VSWAP_CODEC_ZSTD, &min, &max);
		assert_true(min <= 1 && max >= 19);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_codes_stable),
		cmocka_unit_test(error_names_cover_every_code),
		cmocka_unit_test(error_names_unknown),
		cmocka_unit_test(codec_names_round_trip),
		cmocka_unit_test(codec_parse_rejects),
		cmocka_unit_test(codec_level_bounds),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
