// SPDX-License-Identifier: MIT
/* vswapctl: error reporting and allocation helpers (see util.h). */
#define _GNU_SOURCE	/* vasprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void verr_set(struct verr *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void verr_prefix(struct verr *e, const char *fmt, ...)
{
	char ctx[256], old[sizeof(e->msg)];
	size_t lc, lo;
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* "ctx: old", truncating old to what fits; ctx always fits. */
	lc = strlen(ctx);
	lo = strnlen(old, sizeof(e->msg) - lc - 3);
	memcpy(e->msg, ctx, lc);
	memcpy(e->msg + lc, ": ", 2);
	memcpy(e->msg + lc + 2, old, lo);
	e->msg[lc + 2 + lo] = '\0';
}

void vwarn(const char *fmt, ...)
{
	va_list ap;

	fputs("vswapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void oom(void)
{
	fputs("vswapctl: out of memory\n", stderr);
	exit(VEXIT_FAIL);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return p;
}
