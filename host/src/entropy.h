/* SPDX-License-Identifier: MIT */
/*
 * entropy.h - random bytes from the kernel (getrandom(2)), for the secrets
 * a store keeps from its guest: the same-fill dictionary's hash key
 * (same_dict.h) and the store id that seeds object checksums (store.h).
 *
 * No state, no fallback generator: a store that cannot get real
 * randomness fails to be created (VSWAP_E_IO) rather than run with a
 * guessable key.
 */
#ifndef VSWAP_ENTROPY_H
#define VSWAP_ENTROPY_H

#include <stddef.h>

/* Fill @buf with @n (<= 256) random bytes. VSWAP_OK or VSWAP_E_IO. */
int entropy_get(void *buf, size_t n);

#endif /* VSWAP_ENTROPY_H */
