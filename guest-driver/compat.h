/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-vswap guest driver: the one place that knows kernel versions.
 *
 * Tested against Linux 6.12 (primary) and 6.1. Three API changes matter;
 * the Makefile probes the kernel headers for each (VSWAP_HAVE_*), so this
 * file never compares version numbers:
 *
 * 1. Queue limits. 6.9 passes a struct queue_limits to blk_mq_alloc_disk();
 *    6.11 moved queue flags into queue_limits.features. Before, limits were
 *    set with blk_queue_*() after allocation.
 * 2. "Synchronous" swap (the swap-in path that skips swap-cache readahead,
 *    SWP_SYNCHRONOUS_IO). 6.11+: BLK_FEAT_SYNCHRONOUS; 6.4-6.10:
 *    QUEUE_FLAG_SYNCHRONOUS; before 6.4 swapon sets SWP_SYNCHRONOUS_IO when
 *    the disk has ->rw_page. Our ->rw_page always answers -EOPNOTSUPP, which
 *    makes bdev_read_page()/bdev_write_page() fall back to a normal bio, so
 *    every I/O still goes through blk-mq.
 * 3. virtio_find_vqs() takes struct virtqueue_info[] since 6.11, separate
 *    callback and name arrays before.
 */
#ifndef VSWAP_COMPAT_H
#define VSWAP_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/virtio_config.h>

/* Limits the driver wants, independent of how the kernel takes them. */
struct vswap_limits {
	unsigned int max_hw_sectors;
	unsigned short max_segments;
	unsigned int max_segment_size;
	unsigned int max_discard_sectors;
	unsigned int max_write_zeroes_sectors;
	bool synchronous;	/* SWP_SYNCHRONOUS_IO swap (see 2. above) */
};

#ifdef VSWAP_HAVE_BLK_FEATURES

static inline struct gendisk *
vswap_compat_alloc_disk(struct blk_mq_tag_set *set,
			const struct vswap_limits *l, void *data)
{
	struct queue_limits lim = {
		.logical_block_size	= VIRTIO_VSWAP_PAGE_SIZE,
		.physical_block_size	= VIRTIO_VSWAP_PAGE_SIZE,
		.io_min			= VIRTIO_VSWAP_PAGE_SIZE,
		.max_hw_sectors		= l->max_hw_sectors,
		.max_segments		= l->max_segments,
		.max_segment_size	= l->max_segment_size,
		.max_hw_discard_sectors	= l->max_discard_sectors,
		.max_discard_segments	= 1,
		.discard_granularity	= VIRTIO_VSWAP_PAGE_SIZE,
		.max_write_zeroes_sectors = l->max_write_zeroes_sectors,
		/*
		 * Not BLK_FEAT_ROTATIONAL, not BLK_FEAT_ADD_RANDOM. Stable
		 * writes: no page changes while its STORE is in flight (spec
		 * 7.2); swap then maps a page under writeback read-only.
		 */
		.features		= BLK_FEAT_STABLE_WRITES |
					  (l->synchronous ? BLK_FEAT_SYNCHRONOUS : 0),
	};

	return blk_mq_alloc_disk(set, &lim, data);
}

#define VSWAP_COMPAT_SYNC_FOPS

#else /* !VSWAP_HAVE_BLK_FEATURES */

static inline struct gendisk *
vswap_compat_alloc_disk(struct blk_mq_tag_set *set,
			const struct vswap_limits *l, void *data)
{
	struct request_queue *q;
	struct gendisk *disk;

#ifdef VSWAP_HAVE_ALLOC_DISK_LIM
	disk = blk_mq_alloc_disk(set, NULL, data);
#else
	disk = blk_mq_alloc_disk(set, data);
#endif
	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, VIRTIO_VSWAP_PAGE_SIZE);
	blk_queue_physical_block_size(q, VIRTIO_VSWAP_PAGE_SIZE);
	blk_queue_io_min(q, VIRTIO_VSWAP_PAGE_SIZE);
	blk_queue_max_hw_sectors(q, l->max_hw_sectors);
	blk_queue_max_segments(q, l->max_segments);
	blk_queue_max_segment_size(q, l->max_segment_size);
	blk_queue_max_discard_sectors(q, l->max_discard_sectors);
	blk_queue_max_discard_segments(q, 1);
	q->limits.discard_granularity = VIRTIO_VSWAP_PAGE_SIZE;
	blk_queue_max_write_zeroes_sectors(q, l->max_write_zeroes_sectors);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, q);
#ifdef VSWAP_HAVE_QUEUE_FLAG_SYNCHRONOUS
	if (l->synchronous)
		blk_queue_flag_set(QUEUE_FLAG_SYNCHRONOUS, q);
#endif
	return disk;
}

#ifndef VSWAP_HAVE_QUEUE_FLAG_SYNCHRONOUS
/* See 2. above: present only so that swapon sets SWP_SYNCHRONOUS_IO. */
static inline int vswap_compat_rw_page(struct block_device *bdev,
				       sector_t sector, struct page *page,
				       enum req_op op)
{
	return -EOPNOTSUPP;
}

/* In the fops of a synchronous disk only. */
#define VSWAP_COMPAT_SYNC_FOPS	.rw_page = vswap_compat_rw_page,
#else
#define VSWAP_COMPAT_SYNC_FOPS
#endif

#endif /* VSWAP_HAVE_BLK_FEATURES */

static inline int vswap_compat_find_vqs(struct virtio_device *vdev,
					unsigned int nvqs,
					struct virtqueue *vqs[],
					vq_callback_t *callback,
					const char * const names[],
					struct irq_affinity *desc)
{
#ifdef VSWAP_HAVE_VQ_INFO
	struct virtqueue_info *info;
	unsigned int i;
	int err;

	info = kcalloc(nvqs, sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	for (i = 0; i < nvqs; i++) {
		info[i].name = names[i];
		info[i].callback = callback;
	}
	err = virtio_find_vqs(vdev, nvqs, vqs, info, desc);
	kfree(info);
	return err;
#else
	vq_callback_t **callbacks;
	unsigned int i;
	int err;

	callbacks = kcalloc(nvqs, sizeof(*callbacks), GFP_KERNEL);
	if (!callbacks)
		return -ENOMEM;
	for (i = 0; i < nvqs; i++)
		callbacks[i] = callback;
	err = virtio_find_vqs(vdev, nvqs, vqs, callbacks, names, desc);
	kfree(callbacks);
	return err;
#endif
}

#endif /* VSWAP_COMPAT_H */
