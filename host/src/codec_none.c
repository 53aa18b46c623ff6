// SPDX-License-Identifier: MIT
/*
 * codec_none.c - no compression: every non-same-filled page is stored as-is.
 * compress() always answers "does not fit", so the store path takes its
 * incompressible branch and copies the page once, straight from the caller.
 */
#include "codec.h"

/* A non-NULL token: the store treats NULL from ctx_create as ENOMEM. */
static char none_token;

static void *none_ctx_create(int level)
{
	(void)level;
	return &none_token;
}

static void none_ctx_destroy(void *priv)
{
	(void)priv;
}

static int none_compress(void *priv, const void *src, void *dst, size_t cap)
{
	(void)priv, (void)src, (void)dst, (void)cap;
	return 0;
}

static int none_decompress(void *priv, const void *src, size_t len, void *dst)
{
	(void)priv, (void)src, (void)len, (void)dst;
	return -1;	/* never called: "none" objects are stored raw */
}

const struct vswap_codec_ops vswap_codec_none = {
	.name		= "none",
	.level_min	= 0,
	.level_max	= 0,
	.level_default	= 0,
	.ctx_create	= none_ctx_create,
	.ctx_destroy	= none_ctx_destroy,
	.compress	= none_compress,
	.decompress	= none_decompress,
};
