// SPDX-License-Identifier: MIT
/*
 * codec_lz4.c - LZ4 block format (the default codec).
 *
 * Level = LZ4 "acceleration" (LZ4_compress_fast_extState): 1 is what
 * LZ4_compress_default uses; larger is faster and compresses less, as in
 * zram's lz4 backend. Per-context state: one LZ4_stream_t-sized buffer
 * (LZ4_sizeofState(), 16 KiB) so compress() allocates nothing.
 */
#include <lz4.h>
#include <stdlib.h>

#include "codec.h"

/* LZ4_ACCELERATION_MAX in lz4.c (65537); larger values are clamped by LZ4. */
#define LZ4_LEVEL_MAX	65537

struct lz4_ctx {
	int accel;
	void *state;		/* LZ4_sizeofState() bytes, 8-byte aligned */
};

static void *lz4_ctx_create(int level)
{
	struct lz4_ctx *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	c->accel = level;
	c->state = malloc((size_t)LZ4_sizeofState());
	if (!c->state) {
		free(c);
		return NULL;
	}
	return c;
}

static void lz4_ctx_destroy(void *priv)
{
	struct lz4_ctx *c = priv;

	if (c) {
		free(c->state);
		free(c);
	}
}

static int lz4_compress(void *priv, const void *src, void *dst, size_t dst_cap)
{
	struct lz4_ctx *c = priv;

	/* Returns 0 when the output does not fit in dst_cap. */
	return LZ4_compress_fast_extState(c->state, src, dst,
					  (int)VSWAP_PAGE_SIZE, (int)dst_cap,
					  c->accel);
}

static int lz4_decompress(void *priv, const void *src, size_t src_len,
			  void *dst)
{
	(void)priv;
	return LZ4_decompress_safe(src, dst, (int)src_len,
				   (int)VSWAP_PAGE_SIZE) ==
	       (int)VSWAP_PAGE_SIZE ? 0 : -1;
}

const struct vswap_codec_ops vswap_codec_lz4 = {
	.name		= "lz4",
	.level_min	= 1,
	.level_max	= LZ4_LEVEL_MAX,
	.level_default	= 1,
	.ctx_create	= lz4_ctx_create,
	.ctx_destroy	= lz4_ctx_destroy,
	.compress	= lz4_compress,
	.decompress	= lz4_decompress,
};
