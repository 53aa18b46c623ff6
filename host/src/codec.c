// SPDX-License-Identifier: MIT
/*
 * codec.c - the codec registry: enum vswap_codec -> ops table, names, levels.
 * The table is const; nothing here has mutable state.
 */
#include <string.h>

#include "codec.h"

static const struct vswap_codec_ops *const codec_table[VSWAP_CODEC__COUNT] = {
	[VSWAP_CODEC_LZ4]	= &vswap_codec_lz4,
	[VSWAP_CODEC_ZSTD]	= &vswap_codec_zstd,
	[VSWAP_CODEC_NONE]	= &vswap_codec_none,
};

const struct vswap_codec_ops *vswap_codec_ops(enum vswap_codec codec)
{
	if ((unsigned)codec >= VSWAP_CODEC__COUNT)
		return NULL;
	return codec_table[codec];
}

const char *vswap_codec_name(enum vswap_codec codec)
{
	const struct vswap_codec_ops *ops = vswap_codec_ops(codec);

	return ops ? ops->name : NULL;
}

int vswap_codec_parse(const char *name, enum vswap_codec *out)
{
	if (!name || !out)
		return VSWAP_E_INVAL;
	for (unsigned i = 0; i < VSWAP_CODEC__COUNT; i++) {
		if (strcmp(name, codec_table[i]->name) == 0) {
			*out = (enum vswap_codec)i;
			return VSWAP_OK;
		}
	}
	return VSWAP_E_INVAL;
}

void vswap_codec_level_bounds(enum vswap_codec codec, int *min, int *max)
{
	const struct vswap_codec_ops *ops = vswap_codec_ops(codec);
	int lo = 0, hi = 0;

	if (ops) {
		lo = ops->level_min;
		hi = ops->level_max;
	}
	if (min)
		*min = lo;
	if (max)
		*max = hi;
}
