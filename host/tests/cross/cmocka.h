/* SPDX-License-Identifier: MIT */
/*
 * The part of cmocka's API that test_crc32c uses, for building it for
 * another CPU where no cmocka of that architecture is installed
 * (make check-arm64: a cross compiler and qemu-user, no foreign
 * packages). Prints TAP as cmocka does with CMOCKA_MESSAGE_OUTPUT=TAP;
 * a failed assertion ends its test, the next one runs. Nothing here is
 * tested code: it only reports.
 */
#ifndef VSWAP_CROSS_CMOCKA_H
#define VSWAP_CROSS_CMOCKA_H

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

struct CMUnitTest {
	const char *name;
	void (*test)(void **state);
};

#define cmocka_unit_test(f)	{ #f, f }

static jmp_buf cm_end;

enum { CM_PASS, CM_FAIL, CM_SKIP };

#define cm_fail_if(bad, ...) do {					\
	if (bad) {							\
		printf("# %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		longjmp(cm_end, CM_FAIL);				\
	}								\
} while (0)

#define assert_int_equal(a, b) do {					\
	unsigned long long cm_a = (a), cm_b = (b);			\
	cm_fail_if(cm_a != cm_b, "%#llx != %#llx", cm_a, cm_b);	\
} while (0)
#define assert_int_not_equal(a, b) do {					\
	unsigned long long cm_a = (a), cm_b = (b);			\
	cm_fail_if(cm_a == cm_b, "%#llx == %#llx", cm_a, cm_b);	\
} while (0)
#define assert_true(c)		cm_fail_if(!(c), "%s is false", #c)
#define assert_non_null(p)	cm_fail_if(!(p), "%s is NULL", #p)
#define assert_memory_equal(a, b, n)					\
	cm_fail_if(memcmp((a), (b), (n)), "%s and %s differ", #a, #b)
#define skip()			longjmp(cm_end, CM_SKIP)

static inline int cm_run_tests(const struct CMUnitTest *t, size_t n)
{
	volatile int failed = 0;	/* kept across longjmp */

	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		switch (setjmp(cm_end)) {
		case CM_PASS:
			t[i].test(NULL);
			printf("ok %zu - %s\n", i + 1, t[i].name);
			break;
		case CM_SKIP:
			printf("ok %zu # SKIP %s\n", i + 1, t[i].name);
			break;
		default:
			printf("not ok %zu - %s\n", i + 1, t[i].name);
			failed++;
		}
	}
	return failed;
}

#define cmocka_run_group_tests(t, setup, teardown)			\
	cm_run_tests((t), sizeof(t) / sizeof((t)[0]))

#endif /* VSWAP_CROSS_CMOCKA_H */
