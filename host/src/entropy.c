// SPDX-License-Identifier: MIT
/*
 * entropy.c - getrandom(2) for the store's secrets (entropy.h).
 *
 * Flags 0: the urandom pool, blocking only until it is first initialised
 * (early boot), never after. Requests of up to 256 bytes are not
 * interrupted by signals once it is, but EINTR is retried all the same.
 */
#include <errno.h>
#include <sys/random.h>

#include "entropy.h"
#include "vswap.h"

int entropy_get(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return VSWAP_E_IO;
		}
		p += r;
		n -= (size_t)r;
	}
	return VSWAP_OK;
}
