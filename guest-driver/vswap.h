/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-vswap guest driver: shared definitions.
 *
 * Map of the types:
 *   struct virtio_vswap     one per device; owns the disk, the tag set, the
 *                           virtqueues, the slot-free queue and the counters.
 *   struct vswap_vq         one per virtqueue (= blk-mq hw queue); its lock.
 *   struct vswap_req        blk-mq PDU (tag_set.cmd_size): wire header,
 *                           status byte and the data scatterlist.
 *   struct vswap_freeq      slot numbers the swap code freed, waiting to be
 *                           sent to the device as INVALIDATE.
 *
 * Files: vswap_main.c (probe/remove, blk-mq), vswap_free.c (slot-free
 * queue), vswap_sysfs.c (counters and their sysfs files), compat.h (the only
 * place that knows kernel versions).
 */
#ifndef VSWAP_H
#define VSWAP_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/cache.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/suspend.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/virtio_vswap.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

/* Sectors per slot: slots are 4 KiB, sectors 512 bytes. */
#define VSWAP_SECTORS_PER_SLOT	(VIRTIO_VSWAP_PAGE_SIZE >> SECTOR_SHIFT)
#define VSWAP_SLOT_SECTOR_SHIFT	(VIRTIO_VSWAP_PAGE_SHIFT - SECTOR_SHIFT)

/*
 * Scatterlist entries kept inside each PDU; larger requests chain more from
 * the sg pool. Two covers the common single-page swap request with room for
 * a second segment when a page straddles nothing but a folio boundary.
 */
#define VSWAP_INLINE_SG_CNT	2

/* Counters, one table of names in vswap_sysfs.c tied to this enum. */
enum vswap_stat {
	VSWAP_STAT_STORE_REQS,
	VSWAP_STAT_STORE_PAGES,
	VSWAP_STAT_LOAD_REQS,
	VSWAP_STAT_LOAD_PAGES,
	VSWAP_STAT_INVAL_REQS,
	VSWAP_STAT_INVAL_PAGES,
	VSWAP_STAT_WZERO_REQS,
	VSWAP_STAT_WZERO_PAGES,
	/* completed requests by device status other than OK */
	VSWAP_STAT_ERR_BAD_REQUEST,
	VSWAP_STAT_ERR_NO_SPACE,
	VSWAP_STAT_ERR_IOERR,
	VSWAP_STAT_ERR_INTEGRITY,
	VSWAP_STAT_ERR_UNSUPPORTED,
	VSWAP_STAT_ERR_UNKNOWN,		/* status byte not in the ABI */
	VSWAP_STAT_ERR_NO_SPACE_BACKOFF, /* STOREs refused without asking */
	VSWAP_STAT_LOAD_BY_PAGE,	/* failed LOADs loaded again by page */
	/* slot-free notifications from the swap code */
	VSWAP_STAT_FREE_NOTIFIED,	/* slots the kernel reported free */
	VSWAP_STAT_FREE_SENT,		/* slots sent as INVALIDATE */
	VSWAP_STAT_FREE_CANCELLED,	/* slots re-stored before sending */
	VSWAP_STAT_FREE_DROPPED,	/* queue full: slot left on the host */
	VSWAP_STAT_STORE_DEFERRED,	/* STOREs retried behind an INVALIDATE */
	VSWAP_STAT_FREE_SUSPENDED,	/* slots freed while suspended, kept */
	VSWAP_STAT_NR
};

struct vswap_stats {
	u64 v[VSWAP_STAT_NR];
};

struct vswap_vq {
	struct virtqueue *vq;
	spinlock_t lock;		/* serialises add/get/kick on vq */
	char name[16];
} ____cacheline_aligned_in_smp;

/* Per-request data, allocated by blk-mq after struct request. */
struct vswap_req {
	struct virtio_vswap_req_hdr hdr;	/* driver-readable */
	u8 status;				/* device-writable */
	u32 used_len;				/* the device's, at completion */
	struct sg_table sg_table;
	struct scatterlist sg[];		/* VSWAP_INLINE_SG_CNT */
};

/* A run of free slots [slot, slot + nr). */
struct vswap_free_range {
	u64 slot;
	u32 nr;
};

/*
 * Ranges the queue holds; when all are in use and a new slot extends none of
 * them, the slot is dropped (counted): it stays on the host until the slot
 * is stored again, discarded (swapon --discard=pages discards whole free
 * clusters), or the device is reset. Bursts of scattered frees (a process
 * exiting after random-order swap) are what fill it, while the work sends
 * the previous batch: 2048 ranges kept drops near 0.1% with 2 vCPUs but
 * dropped 0.25-2.9% with 4; 8192 (128 KiB per array) leaves room for four.
 */
#define VSWAP_FREEQ_LEN		8192
/* Appends to a full @pend between two in-place merges (vswap_freeq_add). */
#define VSWAP_FREEQ_MERGE_GAIN	(VSWAP_FREEQ_LEN / 8)

/*
 * INVALIDATEs the work keeps in flight at once: the first uses the reserved
 * tag (always available to it), the others take normal tags only if free.
 */
#define VSWAP_FREE_WINDOW	16

/* How long STOREs are refused without asking after a NO_SPACE. */
#define VSWAP_NOSPACE_BACKOFF_MS	10

/*
 * Slot-free queue. swap_slot_free_notify() runs under the swap locks and may
 * not sleep, so it only records the slot here; a work item sends the ranges
 * as INVALIDATE requests through the block layer.
 *
 * Ordering: a freed slot may be reused and stored again before its
 * INVALIDATE reaches the device, and requests on different virtqueues are
 * not ordered. So every STORE and WRITE_ZEROES first calls
 * vswap_free_claim(): ranges still in @pend are trimmed (the STORE replaces
 * the data anyway); overlap with @sending (already on its way) makes the
 * STORE wait (BLK_STS_RESOURCE) until the INVALIDATE has completed. The
 * work never sleeps for a queue freeze with @sending published (the
 * STOREs waiting for it would keep the freeze from ending): it gives the
 * unsent ranges back to @pend and retries (vswap_free_send()).
 */
struct vswap_freeq {
	spinlock_t lock;		/* protects the fields up to @work */
	bool dead;			/* set at remove: record nothing */
	bool paused;			/* set at freeze: record, send nothing */
	unsigned int nr_pend;
	unsigned int nr_merged;		/* @nr_pend after the last merge */
	unsigned int nr_sending;
	struct vswap_free_range *pend;		/* [VSWAP_FREEQ_LEN] not sent yet */
	struct vswap_free_range *sending;	/* [VSWAP_FREEQ_LEN] being sent */
	struct delayed_work work;	/* the only writer of @sending[] */
	struct vswap_free_range *merged;	/* the work's own: sort buffer */
	atomic_t inflight;		/* INVALIDATEs sent, not completed */
	wait_queue_head_t wait;		/* woken when @inflight drops */
	struct workqueue_struct *wq;
};

struct virtio_vswap {
	struct virtio_device *vdev;
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	int index;			/* N in vswapN */

	/* Sanitised device config, fixed after probe (capacity may change). */
	u32 max_pages;
	unsigned int num_vqs;
	bool write_zeroes;
	bool suspend;			/* VIRTIO_VSWAP_F_SUSPEND */

	/*
	 * Suspend: the store_id read at freeze, compared at restore. When
	 * they differ the host emptied the store meanwhile; when the
	 * restore cannot set up the virtqueues there is no device. Either
	 * way @failed: every block request fails from then on, rather than
	 * read back zeroes or wait forever (vswap_restore()).
	 */
	u64 store_id;
	bool failed;

	/*
	 * NO_SPACE back-off: until this time (jiffies), STOREs fail at once
	 * with BLK_STS_NOSPC instead of a round trip the device would refuse
	 * too; reclaim retries at full speed when the host pool is at its
	 * cap (a million refusals in a minute without it). Set by a NO_SPACE
	 * completion, ended by a completed INVALIDATE (room on the host).
	 */
	unsigned long nospace_until;
	struct notifier_block pm_nb;	/* refuses hibernation with swap on */

	struct vswap_vq *vqs;		/* [num_vqs]; replaced by restore */

	struct vswap_freeq freeq;
	struct work_struct config_work;	/* capacity change -> uevent */

	struct vswap_stats __percpu *stats;
};

static inline void vswap_count(struct virtio_vswap *vs, enum vswap_stat s,
			       u64 n)
{
	this_cpu_add(vs->stats->v[s], n);
}

/* vswap_free.c */
int vswap_free_init(struct virtio_vswap *vs);
void vswap_free_stop(struct virtio_vswap *vs);
void vswap_free_pause(struct virtio_vswap *vs);
void vswap_free_start(struct virtio_vswap *vs);
void vswap_free_exit(struct virtio_vswap *vs);
void vswap_free_release(struct virtio_vswap *vs);
void vswap_slot_free_notify(struct block_device *bdev, unsigned long offset);
bool vswap_free_claim(struct virtio_vswap *vs, u64 slot, u32 nr);

/* vswap_sysfs.c */
extern const struct attribute_group *vswap_attr_groups[];
u64 vswap_stat_sum(struct virtio_vswap *vs, enum vswap_stat s);

#endif /* VSWAP_H */
