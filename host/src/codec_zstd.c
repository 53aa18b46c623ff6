// SPDX-License-Identifier: MIT
/*
 * codec_zstd.c - Zstandard, one ZSTD_CCtx + ZSTD_DCtx per context.
 *
 * Level: ZSTD_minCLevel()..ZSTD_maxCLevel() (negative = faster modes);
 * 0 means ZSTD_CLEVEL_DEFAULT (3). The level is fixed into the CCtx once at
 * creation (ZSTD_c_compressionLevel) so compress2() needs no per-call setup;
 * the contexts are reused, so steady state allocates nothing.
 */
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"

struct zstd_ctx {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
};

static void zstd_ctx_destroy(void *priv)
{
	struct zstd_ctx *c = priv;

	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	free(c);
}

static void *zstd_ctx_create(int level)
{
	struct zstd_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cctx = ZSTD_createCCtx();
	c->dctx = ZSTD_createDCtx();
	if (!c->cctx || !c->dctx)
		goto fail;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx,
						ZSTD_c_compressionLevel, level)))
		goto fail;
	/* A page is self-describing in our slot entry: no frame checksum,
	 * no content size field to pay for (we know it is 4096). */
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 0);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_dictIDFlag, 0);
	return c;
fail:
	zstd_ctx_destroy(c);
	return NULL;
}

static int zstd_compress(void *priv, const void *src, void *dst, size_t dst_cap)
{
	struct zstd_ctx *c = priv;
	size_t r = ZSTD_compress2(c->cctx, dst, dst_cap, src, VSWAP_PAGE_SIZE);

	if (ZSTD_isError(r)) {
		/* A failed frame leaves the context mid-frame: reset it. */
		ZSTD_CCtx_reset(c->cctx, ZSTD_reset_session_only);
		return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ?
		       0 : -1;
	}
	return (int)r;
}

static int zstd_decompress(void *priv, const void *src, size_t src_len,
			   void *dst)
{
	struct zstd_ctx *c = priv;
	size_t r = ZSTD_decompressDCtx(c->dctx, dst, VSWAP_PAGE_SIZE,
				       src, src_len);

	return !ZSTD_isError(r) && r == VSWAP_PAGE_SIZE ? 0 : -1;
}

const struct vswap_codec_ops vswap_codec_zstd = {
	.name		= "zstd",
	.level_min	= -131072,	/* ZSTD_minCLevel() in zstd 1.5.x */
	.level_max	= 22,		/* ZSTD_maxCLevel() */
	.level_default	= ZSTD_CLEVEL_DEFAULT,
	.ctx_create	= zstd_ctx_create,
	.ctx_destroy	= zstd_ctx_destroy,
	.compress	= zstd_compress,
	.decompress	= zstd_decompress,
};
