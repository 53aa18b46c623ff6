/* SPDX-License-Identifier: MIT */
/*
 * codec.h - compression backends, one const ops table per codec
 * (codec_lz4.c, codec_zstd.c, codec_none.c), in the manner of zram's zcomp.
 *
 * Two kinds of state, kept apart:
 *   - struct vswap_codec_ops: immutable, shared by every store and thread.
 *   - the per-context private state returned by ctx_create(): owned by one
 *     struct vswap_ctx (context.h) and touched only by the thread holding
 *     that context's lock. Created once; no allocation per call after that.
 *
 * Contract of the callbacks (src/dst never overlap; pages are 4096 bytes):
 *   compress()   returns the compressed length in 1..dst_cap, or 0 when the
 *                result would not fit in dst_cap (caller stores the page
 *                as-is), or a negative value on an internal error.
 *   decompress() returns 0 only if exactly VSWAP_PAGE_SIZE bytes were
 *                produced from exactly src_len input bytes; anything else is
 *                -1 and the caller reports VSWAP_E_INTEGRITY.
 */
#ifndef VSWAP_CODEC_H
#define VSWAP_CODEC_H

#include <stddef.h>

#include "vswap.h"

struct vswap_codec_ops {
	const char *name;
	int level_min;
	int level_max;
	int level_default;	/* what level 0 means */
	/* Per-context state for @level (already resolved, never 0 unless the
	 * codec's default is 0). NULL return = out of memory. */
	void *(*ctx_create)(int level);
	void (*ctx_destroy)(void *priv);
	int (*compress)(void *priv, const void *src, void *dst, size_t dst_cap);
	int (*decompress)(void *priv, const void *src, size_t src_len, void *dst);
};

extern const struct vswap_codec_ops vswap_codec_lz4;
extern const struct vswap_codec_ops vswap_codec_zstd;
extern const struct vswap_codec_ops vswap_codec_none;

/* The ops of @codec, or NULL if out of range. */
const struct vswap_codec_ops *vswap_codec_ops(enum vswap_codec codec);

/*
 * Scratch bytes a context needs for compress() output: at least the worst
 * case of every codec for one page (LZ4_COMPRESSBOUND(4096) = 4096 +
 * 4096/255 + 16 = 4128; ZSTD_COMPRESSBOUND(4096) = 4096 + 16 + 62 = 4174),
 * rounded up. The store compresses with this whole capacity so codecs run
 * their unbounded-output fast paths, and compares the size with
 * max_compressed itself.
 */
#define VSWAP_CODEC_SCRATCH	(VSWAP_PAGE_SIZE + 256)

#endif /* VSWAP_CODEC_H */
