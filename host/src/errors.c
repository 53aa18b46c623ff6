// SPDX-License-Identifier: MIT
/*
 * errors.c - names and descriptions of enum vswap_err.
 *
 * One table indexed by -err, built with designated initialisers so a code
 * added to the enum without a name is caught by the static assert below.
 */
#include "vswap.h"

#include <assert.h>

struct err_desc {
	const char *name;
	const char *text;
};

static const struct err_desc err_table[] = {
	[-VSWAP_OK]		= { "ok",	 "success" },
	[-VSWAP_E_INVAL]	= { "inval",	 "invalid parameter" },
	[-VSWAP_E_RANGE]	= { "range",	 "slot or slot range outside capacity" },
	[-VSWAP_E_NOSPACE]	= { "nospace",	 "pool at its cap, no room to store" },
	[-VSWAP_E_NOMEM]	= { "nomem",	 "host memory allocation failed" },
	[-VSWAP_E_INTEGRITY]	= { "integrity", "stored data failed its integrity check" },
	[-VSWAP_E_IO]		= { "io",	 "disk tier I/O error" },
	[-VSWAP_E_BUSY]		= { "busy",	 "operation refused in the current state" },
	[-VSWAP_E_WOULDBLOCK]	= { "wouldblock", "would block on the disk tier" },
};

static_assert(sizeof(err_table) / sizeof(err_table[0]) == VSWAP_E__COUNT,
	      "every enum vswap_err value needs a name");

static const struct err_desc *err_lookup(int err)
{
	if (err > 0 || err <= -VSWAP_E__COUNT)
		return NULL;
	return &err_table[-err];
}

const char *vswap_error_name(int err)
{
	const struct err_desc *d = err_lookup(err);

	return d ? d->name : "unknown";
}

const char *vswap_strerror(int err)
{
	const struct err_desc *d = err_lookup(err);

	return d ? d->text : "unknown error";
}
