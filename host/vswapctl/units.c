// SPDX-License-Identifier: MIT
/* vswapctl: size and duration parsing and formatting (see units.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

/* Parse a plain unsigned decimal integer prefix; *end points after it. */
static bool parse_u64(const char *s, uint64_t *out, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return false;	/* rejects "", "-1", " 1", "+1" */
	errno = 0;
	*out = strtoull(s, &e, 10);
	if (errno == ERANGE)
		return false;
	*end = e;
	return true;
}

static bool mul_ok(uint64_t v, uint64_t m, uint64_t *out)
{
	if (m && v > UINT64_MAX / m)
		return false;
	*out = v * m;
	return true;
}

bool parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *end, *u;
	uint64_t v, mult = 1;

	if (!s || !parse_u64(s, &v, &end))
		return false;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return false;
		mult = UINT64_C(1) << (10 * (u - units + 1));
		end++;
		if (!*end || !strcasecmp(end, "B") || !strcasecmp(end, "iB"))
			end += strlen(end);
		if (*end)
			return false;
	}
	return mul_ok(v, mult, out);
}

bool parse_seconds(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v, mult;

	if (!s || !parse_u64(s, &v, &end))
		return false;
	switch (*end) {
	case '\0':
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return false;
	}
	if (*end && end[1])
		return false;
	return mul_ok(v, mult, out);
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int i = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && i < (int)sizeof(units) - 2) {
		v /= 1024;
		i++;
	}
	if (v >= 100 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f%c", v, units[i]);
	else if (v >= 10)
		snprintf(buf, len, "%.1f%c", v, units[i]);
	else
		snprintf(buf, len, "%.2f%c", v, units[i]);
}
