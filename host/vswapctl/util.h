/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: error reporting, exit codes and allocation helpers.
 *
 * Every function that can fail takes a struct verr * and fills it with one
 * line that names what failed ("vm web1 has no virtio-vswap device"); the
 * caller decides whether to print it and which exit code it means.
 */
#ifndef VSWAPCTL_UTIL_H
#define VSWAPCTL_UTIL_H

#include <stddef.h>

/* Process exit codes (stable, documented in vswapctl(1)). */
enum vexit {
	VEXIT_OK	= 0,
	VEXIT_FAIL	= 1,	/* a VM, device, socket or command failed */
	VEXIT_USAGE	= 2,	/* bad command line */
};

struct verr {
	char msg[512];
};

void verr_set(struct verr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix an existing message: "ctx: old message". */
void verr_prefix(struct verr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "vswapctl: msg" to stderr. */
void vwarn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#endif /* VSWAPCTL_UTIL_H */
