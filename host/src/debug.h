/* SPDX-License-Identifier: MIT */
/*
 * debug.h - assertion levels. Off by default; build with -DVSWAP_DEBUG to
 * check invariants (the *_is_valid / *_check functions) at quiescent points
 * (reset, explicit compaction). VSWAP_ASSERT never evaluates its argument
 * otherwise, so checks may be expensive.
 */
#ifndef VSWAP_DEBUG_H
#define VSWAP_DEBUG_H

#include <stdio.h>
#include <stdlib.h>

#include "vswap.h"

#ifdef VSWAP_DEBUG
#define VSWAP_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "libvswap: %s:%d: %s failed\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)
#else
#define VSWAP_ASSERT(cond) do { (void)sizeof(cond); } while (0)
#endif

struct vswap_store;
/* Check every invariant of the store; the caller holds every context. */
int vswap_store_check_locked(struct vswap_store *s);

#endif /* VSWAP_DEBUG_H */
