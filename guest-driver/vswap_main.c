// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-vswap: a swap device backed by host memory.
 *
 * The device exposes a virtual array of 4 KiB slots. This driver turns it
 * into a blk-mq disk, /dev/vswapN, tuned for swap: 4 KiB blocks, no I/O
 * scheduler, one queue per CPU with its interrupt on that CPU, discard and
 * freed swap slots sent to the host as INVALIDATE so that host memory is
 * released at once.
 *
 * Request mapping (one block request = one device request):
 *   REQ_OP_READ          -> LOAD         (nr_pages <= max_pages)
 *   REQ_OP_WRITE         -> STORE        (nr_pages <= max_pages)
 *   REQ_OP_DISCARD       -> INVALIDATE
 *   REQ_OP_WRITE_ZEROES  -> WRITE_ZEROES (only if VIRTIO_VSWAP_F_WRITE_ZEROES)
 *   REQ_OP_DRV_OUT       -> INVALIDATE prepared by vswap_free.c, or the
 *                           SUSPEND of vswap_freeze()
 */
#include <linux/blk-mq.h>
#include <linux/blk-mq-virtio.h>
#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/interrupt.h>
#include <linux/idr.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vswap.h>

#include "compat.h"
#include "vswap.h"

/* Largest request we build, whatever the device allows: 1 MiB. */
#define VSWAP_MAX_PAGES_CAP	256

/* Largest INVALIDATE/WRITE_ZEROES from one block request: 1 GiB. */
#define VSWAP_MAX_RANGE_SECTORS	(SZ_1G >> SECTOR_SHIFT)

/* Queue depth per hw queue; the vring size bounds it further. */
#define VSWAP_QUEUE_DEPTH	128

static DEFINE_IDA(vswap_index_ida);

/*
 * Synchronous swap (as zram): swap-in reads one page, waits, and skips
 * the swap cache and readahead; swap-out waits for each page.  Off (the
 * default), swap works as on any disk: pages are written asynchronously
 * in batches (one notification for many requests), read ahead in
 * clusters, and a page read back stays in the swap cache with its slot,
 * so it is not stored again while unchanged.  Measured in a guest
 * (docs/benchmarks.md), off costs the guest about a third fewer
 * instructions per swapped page and less time.
 */
static bool synchronous;
module_param(synchronous, bool, 0444);
MODULE_PARM_DESC(synchronous, "swap synchronously, without swap cache readahead (default false)");

/* The one mapping of device status to block status. */
static blk_status_t vswap_result(struct virtio_vswap *vs, u8 status)
{
	switch (status) {
	case VIRTIO_VSWAP_S_OK:
		return BLK_STS_OK;
	case VIRTIO_VSWAP_S_BAD_REQUEST:
		vswap_count(vs, VSWAP_STAT_ERR_BAD_REQUEST, 1);
		return BLK_STS_IOERR;
	case VIRTIO_VSWAP_S_NO_SPACE:
		/* A failed swap write: the kernel keeps the page dirty. */
		vswap_count(vs, VSWAP_STAT_ERR_NO_SPACE, 1);
		WRITE_ONCE(vs->nospace_until, jiffies +
			   msecs_to_jiffies(VSWAP_NOSPACE_BACKOFF_MS));
		return BLK_STS_NOSPC;
	case VIRTIO_VSWAP_S_IOERR:
		vswap_count(vs, VSWAP_STAT_ERR_IOERR, 1);
		return BLK_STS_IOERR;
	case VIRTIO_VSWAP_S_INTEGRITY:
		vswap_count(vs, VSWAP_STAT_ERR_INTEGRITY, 1);
		return BLK_STS_PROTECTION;
	case VIRTIO_VSWAP_S_UNSUPPORTED:
		vswap_count(vs, VSWAP_STAT_ERR_UNSUPPORTED, 1);
		return BLK_STS_NOTSUPP;
	default:
		vswap_count(vs, VSWAP_STAT_ERR_UNKNOWN, 1);
		return BLK_STS_IOERR;
	}
}

static void vswap_count_req(struct virtio_vswap *vs,
			    const struct virtio_vswap_req_hdr *hdr)
{
	u32 nr = le32_to_cpu(hdr->nr_pages);

	switch (le16_to_cpu(hdr->type)) {
	case VIRTIO_VSWAP_T_STORE:
		vswap_count(vs, VSWAP_STAT_STORE_REQS, 1);
		vswap_count(vs, VSWAP_STAT_STORE_PAGES, nr);
		break;
	case VIRTIO_VSWAP_T_LOAD:
		vswap_count(vs, VSWAP_STAT_LOAD_REQS, 1);
		vswap_count(vs, VSWAP_STAT_LOAD_PAGES, nr);
		break;
	case VIRTIO_VSWAP_T_INVALIDATE:
		vswap_count(vs, VSWAP_STAT_INVAL_REQS, 1);
		vswap_count(vs, VSWAP_STAT_INVAL_PAGES, nr);
		break;
	case VIRTIO_VSWAP_T_WRITE_ZEROES:
		vswap_count(vs, VSWAP_STAT_WZERO_REQS, 1);
		vswap_count(vs, VSWAP_STAT_WZERO_PAGES, nr);
		break;
	}
}

static int vswap_map_data(struct blk_mq_hw_ctx *hctx, struct request *req,
			  struct vswap_req *vbr)
{
	int err;

	vbr->sg_table.sgl = vbr->sg;
	err = sg_alloc_table_chained(&vbr->sg_table,
				     blk_rq_nr_phys_segments(req),
				     vbr->sg_table.sgl, VSWAP_INLINE_SG_CNT);
	if (unlikely(err))
		return -ENOMEM;
	return blk_rq_map_sg(hctx->queue, req, vbr->sg_table.sgl);
}

/*
 * Map only the first page of @req, for a LOAD loaded again a page at a
 * time: its bytes may span two segments (a buffer aligned to less than a
 * page), never more.
 */
static int vswap_map_first_page(struct request *req, struct vswap_req *vbr)
{
	unsigned int left = VIRTIO_VSWAP_PAGE_SIZE, n = 0;
	struct req_iterator iter;
	struct bio_vec bv;

	sg_init_table(vbr->sg, VSWAP_INLINE_SG_CNT);
	rq_for_each_segment(bv, req, iter) {
		unsigned int len = min(bv.bv_len, left);

		if (n == VSWAP_INLINE_SG_CNT)
			return -EINVAL;
		sg_set_page(&vbr->sg[n++], bv.bv_page, len, bv.bv_offset);
		left -= len;
		if (!left)
			goto mapped;
	}
	return -EINVAL;
mapped:
	sg_mark_end(&vbr->sg[n - 1]);
	vbr->sg_table.sgl = vbr->sg;
	vbr->sg_table.orig_nents = n;	/* nothing chained to free */
	return n;
}

static void vswap_unmap_data(struct request *req, struct vswap_req *vbr)
{
	if (vbr->sg_table.nents)
		sg_free_table_chained(&vbr->sg_table, VSWAP_INLINE_SG_CNT);
	vbr->sg_table.nents = 0;
}

static int vswap_add_req(struct virtqueue *vq, struct vswap_req *vbr,
			 bool store)
{
	struct scatterlist hdr, status, *sgs[3];
	unsigned int num_out = 0, num_in = 0;

	sg_init_one(&hdr, &vbr->hdr, sizeof(vbr->hdr));
	sgs[num_out++] = &hdr;
	if (vbr->sg_table.nents) {
		if (store)
			sgs[num_out++] = vbr->sg_table.sgl;
		else
			sgs[num_out + num_in++] = vbr->sg_table.sgl;
	}
	sg_init_one(&status, &vbr->status, sizeof(vbr->status));
	sgs[num_out + num_in++] = &status;

	/*
	 * The ring allocates an indirect table here. Swap-out runs when
	 * memory is short, and a failed allocation is handled: the ring
	 * falls back to direct descriptors, or -ENOMEM requeues the
	 * request. Not worth a warning with a stack dump in the log.
	 */
	return virtqueue_add_sgs(vq, sgs, num_out, num_in, vbr,
				 GFP_ATOMIC | __GFP_NOWARN);
}

/*
 * Every entry path goes through here: the one place that checks a block
 * request against what the device accepts and fills the wire header.
 */
static blk_status_t vswap_setup_req(struct virtio_vswap *vs,
				    struct request *req, struct vswap_req *vbr)
{
	u64 slot = blk_rq_pos(req) >> VSWAP_SLOT_SECTOR_SHIFT;
	u64 nr = blk_rq_sectors(req) >> VSWAP_SLOT_SECTOR_SHIFT;
	u16 type;

	switch (req_op(req)) {
	case REQ_OP_READ:
		type = VIRTIO_VSWAP_T_LOAD;
		break;
	case REQ_OP_WRITE:
		type = VIRTIO_VSWAP_T_STORE;
		break;
	case REQ_OP_DISCARD:
		type = VIRTIO_VSWAP_T_INVALIDATE;
		break;
	case REQ_OP_WRITE_ZEROES:
		if (!vs->write_zeroes)
			return BLK_STS_NOTSUPP;
		type = VIRTIO_VSWAP_T_WRITE_ZEROES;
		break;
	case REQ_OP_DRV_OUT:
		/* Header already filled: vswap_free_send(), vswap_suspend(). */
		return BLK_STS_OK;
	default:
		return BLK_STS_NOTSUPP;
	}

	/* The queue limits make these impossible; never trust that blindly. */
	if (unlikely((blk_rq_pos(req) | blk_rq_sectors(req)) &
		     (VSWAP_SECTORS_PER_SLOT - 1) || !nr || nr > U32_MAX ||
		     ((type == VIRTIO_VSWAP_T_LOAD ||
		       type == VIRTIO_VSWAP_T_STORE) && nr > vs->max_pages))) {
		pr_err_ratelimited("vswap%d: bad request op %u pos %llu sectors %u\n",
				   vs->index, req_op(req),
				   (unsigned long long)blk_rq_pos(req),
				   blk_rq_sectors(req));
		return BLK_STS_IOERR;
	}

	/* A LOAD loaded again a page at a time (vswap_complete_rq()). */
	if (req->rq_flags & RQF_DONTPREP)
		nr = 1;

	vbr->hdr.type = cpu_to_le16(type);
	vbr->hdr.flags = 0;
	vbr->hdr.nr_pages = cpu_to_le32(nr);
	vbr->hdr.slot = cpu_to_le64(slot);
	vbr->hdr.reserved = 0;
	return BLK_STS_OK;
}

static blk_status_t vswap_queue_rq(struct blk_mq_hw_ctx *hctx,
				   const struct blk_mq_queue_data *bd)
{
	struct virtio_vswap *vs = hctx->queue->queuedata;
	struct request *req = bd->rq;
	struct vswap_req *vbr = blk_mq_rq_to_pdu(req);
	struct vswap_vq *vq = &vs->vqs[hctx->queue_num];
	bool store = req_op(req) == REQ_OP_WRITE;
	unsigned long flags;
	blk_status_t sts;
	bool notify;
	int err;

	/* Pages the host lost must not read back as zeroes (vs->failed). */
	if (unlikely(READ_ONCE(vs->failed)))
		return BLK_STS_IOERR;
	/* The host pool is full: do not ask again yet (nospace_until). */
	if (store && time_before(jiffies, READ_ONCE(vs->nospace_until))) {
		vswap_count(vs, VSWAP_STAT_ERR_NO_SPACE_BACKOFF, 1);
		return BLK_STS_NOSPC;
	}
	sts = vswap_setup_req(vs, req, vbr);
	if (sts)
		return sts;

	if (store || req_op(req) == REQ_OP_WRITE_ZEROES) {
		if (!vswap_free_claim(vs, le64_to_cpu(vbr->hdr.slot),
				      le32_to_cpu(vbr->hdr.nr_pages))) {
			vswap_count(vs, VSWAP_STAT_STORE_DEFERRED, 1);
			return BLK_STS_RESOURCE;
		}
	}

	vbr->status = VIRTIO_VSWAP_S_IOERR;	/* if the device writes none */
	vbr->sg_table.nents = 0;
	if (unlikely(req->rq_flags & RQF_DONTPREP)) {
		err = vswap_map_first_page(req, vbr);
		if (unlikely(err < 0))
			return BLK_STS_IOERR;
		vbr->sg_table.nents = err;
	} else if (req_op(req) == REQ_OP_READ || store) {
		err = vswap_map_data(hctx, req, vbr);
		if (unlikely(err < 0))
			return BLK_STS_RESOURCE;
		vbr->sg_table.nents = err;
	}

	blk_mq_start_request(req);

	spin_lock_irqsave(&vq->lock, flags);
	err = vswap_add_req(vq->vq, vbr, store);
	if (unlikely(err)) {
		virtqueue_kick(vq->vq);
		/* Ring full: stopped until a completion frees room. */
		if (err == -ENOSPC)
			blk_mq_stop_hw_queue(hctx);
		spin_unlock_irqrestore(&vq->lock, flags);
		vswap_unmap_data(req, vbr);
		/*
		 * As virtio-blk: -EIO is a broken virtqueue (surprise
		 * removal, a device that used a bad id), which no retry
		 * mends; requeueing it would spin every 3 ms for ever.
		 */
		if (err == -ENOSPC)
			return BLK_STS_DEV_RESOURCE;
		return err == -ENOMEM ? BLK_STS_RESOURCE : BLK_STS_IOERR;
	}
	notify = bd->last && virtqueue_kick_prepare(vq->vq);
	spin_unlock_irqrestore(&vq->lock, flags);

	if (notify)
		virtqueue_notify(vq->vq);
	return BLK_STS_OK;
}

static void vswap_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct virtio_vswap *vs = hctx->queue->queuedata;
	struct vswap_vq *vq = &vs->vqs[hctx->queue_num];
	unsigned long flags;
	bool notify;

	spin_lock_irqsave(&vq->lock, flags);
	notify = virtqueue_kick_prepare(vq->vq);
	spin_unlock_irqrestore(&vq->lock, flags);
	if (notify)
		virtqueue_notify(vq->vq);
}

/*
 * Whether a failed LOAD should be loaded again a page at a time: one lost
 * page (a corrupted object, a disk-tier read error: the device's INTEGRITY
 * and IOERR) must not fail its neighbours, which swap readahead and
 * plugging merge into the request from other folios, possibly of other
 * processes. Only for a request of several bios (a bio fails whole
 * whatever its pages do), not after the store was lost (every page
 * fails), and not for a status no page can mend (BAD_REQUEST, an unknown
 * byte, a short used length).
 */
static bool vswap_load_by_page(struct virtio_vswap *vs, struct request *req,
			       const struct vswap_req *vbr)
{
	return (vbr->status == VIRTIO_VSWAP_S_INTEGRITY ||
		vbr->status == VIRTIO_VSWAP_S_IOERR) &&
	       req_op(req) == REQ_OP_READ &&
	       !(req->rq_flags & RQF_DONTPREP) &&
	       req->bio != req->biotail &&
	       !READ_ONCE(vs->failed);
}

static void vswap_complete_rq(struct request *req)
{
	struct virtio_vswap *vs = req->q->queuedata;
	struct vswap_req *vbr = blk_mq_rq_to_pdu(req);
	bool by_page = req->rq_flags & RQF_DONTPREP;
	unsigned int bytes = by_page ? VIRTIO_VSWAP_PAGE_SIZE :
				       blk_rq_bytes(req);
	blk_status_t sts;

	/*
	 * A LOAD is done only if the device wrote its pages: an OK with a
	 * shorter used length would hand the process whatever the new
	 * folio held (spec 8.3: the used length covers every writable
	 * byte). Counted as "unknown".
	 */
	if (vbr->status == VIRTIO_VSWAP_S_OK && req_op(req) == REQ_OP_READ &&
	    vbr->used_len < bytes + 1) {
		vswap_count(vs, VSWAP_STAT_ERR_UNKNOWN, 1);
		sts = BLK_STS_IOERR;
	} else {
		sts = vswap_result(vs, vbr->status);
	}
	vswap_unmap_data(req, vbr);
	vswap_count_req(vs, &vbr->hdr);

	/*
	 * RQF_DONTPREP marks a request loaded a page at a time: blk-mq
	 * keeps it across a requeue (and then bypasses the scheduler), and
	 * a new request starts without it. Each page completes its own
	 * bytes with its own status; the rest goes again.
	 */
	if (vswap_load_by_page(vs, req, vbr)) {
		vswap_count(vs, VSWAP_STAT_LOAD_BY_PAGE, 1);
		req->rq_flags |= RQF_DONTPREP;
		blk_mq_requeue_request(req, true);
		return;
	}
	if (by_page) {
		if (blk_update_request(req, sts, VIRTIO_VSWAP_PAGE_SIZE)) {
			blk_mq_requeue_request(req, true);
			return;
		}
		__blk_mq_end_request(req, sts);
		return;
	}
	blk_mq_end_request(req, sts);
}

static void vswap_done(struct virtqueue *vq)
{
	struct virtio_vswap *vs = vq->vdev->priv;
	struct vswap_vq *vvq = &vs->vqs[vq->index];
	struct vswap_req *vbr;
	bool req_done = false;
	unsigned long flags;
	unsigned int len;

	spin_lock_irqsave(&vvq->lock, flags);
	do {
		virtqueue_disable_cb(vq);
		while ((vbr = virtqueue_get_buf(vq, &len)) != NULL) {
			struct request *req = blk_mq_rq_from_pdu(vbr);

			/*
			 * The status byte is valid whatever the used length
			 * (spec 8.3); queue_rq preset it to IOERR in case a
			 * broken device writes none.
			 */
			vbr->used_len = len;
			if (likely(!blk_should_fake_timeout(req->q)))
				blk_mq_complete_request(req);
			req_done = true;
		}
	} while (!virtqueue_enable_cb(vq));
	if (req_done)
		blk_mq_start_stopped_hw_queues(vs->disk->queue, true);
	spin_unlock_irqrestore(&vvq->lock, flags);
}

/* Each hw queue on the CPUs its interrupt is affine to (see init_vqs). */
static void vswap_map_queues(struct blk_mq_tag_set *set)
{
	struct virtio_vswap *vs = set->driver_data;

	blk_mq_virtio_map_queues(&set->map[HCTX_TYPE_DEFAULT], vs->vdev, 0);
}

static const struct blk_mq_ops vswap_mq_ops = {
	.queue_rq	= vswap_queue_rq,
	.commit_rqs	= vswap_commit_rqs,
	.complete	= vswap_complete_rq,
	.map_queues	= vswap_map_queues,
};

/*
 * The last reference to the disk is gone. A disk in use for swap outlives
 * vswap_remove() (the swap code keeps it open and keeps calling
 * ->swap_slot_free_notify() until swapoff), so what that path touches is
 * freed only here: the counters, the slot-free arrays, the index, @vs.
 * A disk whose probe failed has no private_data (vswap_probe()).
 */
static void vswap_free_disk(struct gendisk *disk)
{
	struct virtio_vswap *vs = disk->private_data;

	if (!vs)
		return;
	vswap_free_release(vs);
	free_percpu(vs->stats);
	ida_free(&vswap_index_ida, vs->index);
	kfree(vs);
}

static const struct block_device_operations vswap_fops = {
	.owner			= THIS_MODULE,
	.swap_slot_free_notify	= vswap_slot_free_notify,
	.free_disk		= vswap_free_disk,
};

static const struct block_device_operations vswap_sync_fops = {
	.owner			= THIS_MODULE,
	.swap_slot_free_notify	= vswap_slot_free_notify,
	.free_disk		= vswap_free_disk,
	VSWAP_COMPAT_SYNC_FOPS
};

static int vswap_init_vqs(struct virtio_vswap *vs)
{
	struct irq_affinity desc = { 0, };
	const char **names = NULL;
	struct virtqueue **vqs = NULL;
	unsigned int i;
	int err = -ENOMEM;

	vs->vqs = kcalloc(vs->num_vqs, sizeof(*vs->vqs), GFP_KERNEL);
	names = kcalloc(vs->num_vqs, sizeof(*names), GFP_KERNEL);
	vqs = kcalloc(vs->num_vqs, sizeof(*vqs), GFP_KERNEL);
	if (!vs->vqs || !names || !vqs)
		goto out;

	for (i = 0; i < vs->num_vqs; i++) {
		spin_lock_init(&vs->vqs[i].lock);
		snprintf(vs->vqs[i].name, sizeof(vs->vqs[i].name),
			 "req.%u", i);
		names[i] = vs->vqs[i].name;
	}
	/*
	 * Spread the queues' interrupts over the CPUs (managed affinity):
	 * a completion is then handled on the CPU that submitted, instead of
	 * every interrupt landing on one CPU that wakes the others.
	 */
	err = vswap_compat_find_vqs(vs->vdev, vs->num_vqs, vqs, vswap_done,
				    names, &desc);
	if (err)
		goto out;
	for (i = 0; i < vs->num_vqs; i++)
		vs->vqs[i].vq = vqs[i];
out:
	kfree(vqs);
	kfree(names);
	if (err) {
		kfree(vs->vqs);
		vs->vqs = NULL;
	}
	return err;
}

static void vswap_del_vqs(struct virtio_vswap *vs)
{
	vs->vdev->config->del_vqs(vs->vdev);
	kfree(vs->vqs);
	vs->vqs = NULL;
}

/*
 * Read and sanitise the config: whatever the device says, the driver keeps
 * numbers it can work with, and says what it changed.
 */
static int vswap_read_config(struct virtio_vswap *vs)
{
	struct virtio_device *vdev = vs->vdev;
	u32 max_pages;
	u16 nq;

	virtio_cread(vdev, struct virtio_vswap_config, max_pages, &max_pages);
	/* spec 7.1: a driver must refuse it (every LOAD would be refused) */
	if (!max_pages || max_pages < PAGE_SIZE / VIRTIO_VSWAP_PAGE_SIZE) {
		dev_err(&vdev->dev, "max_pages %u: not even one page per request\n",
			max_pages);
		return -EINVAL;
	}
	vs->max_pages = min_t(u32, max_pages, VSWAP_MAX_PAGES_CAP);

	if (virtio_cread_feature(vdev, VIRTIO_VSWAP_F_MQ,
				 struct virtio_vswap_config, num_queues, &nq) ||
	    !nq)
		nq = 1;
	vs->num_vqs = min_t(unsigned int, nq, nr_cpu_ids);

	vs->write_zeroes = virtio_has_feature(vdev,
					      VIRTIO_VSWAP_F_WRITE_ZEROES);
	vs->suspend = virtio_has_feature(vdev, VIRTIO_VSWAP_F_SUSPEND);
	return 0;
}

static sector_t vswap_capacity(struct virtio_vswap *vs)
{
	u64 slots;

	virtio_cread(vs->vdev, struct virtio_vswap_config, capacity, &slots);
	/*
	 * The block layer keeps the size in bytes as a loff_t (signed):
	 * slots << 12 must stay below 2^63 (spec 8.1: capacity < 2^51).
	 */
	if (slots > ((u64)LLONG_MAX >> VIRTIO_VSWAP_PAGE_SHIFT)) {
		dev_warn(&vs->vdev->dev, "capacity %llu slots clamped\n",
			 (unsigned long long)slots);
		slots = (u64)LLONG_MAX >> VIRTIO_VSWAP_PAGE_SHIFT;
	}
	return (sector_t)slots << VSWAP_SLOT_SECTOR_SHIFT;
}

static void vswap_config_work(struct work_struct *work)
{
	struct virtio_vswap *vs = container_of(work, struct virtio_vswap,
					       config_work);

	set_capacity_and_notify(vs->disk, vswap_capacity(vs));
}

/* Called under the virtio config lock: the uevent must wait for a work. */
static void vswap_config_changed(struct virtio_device *vdev)
{
	struct virtio_vswap *vs = vdev->priv;

	queue_work(system_freezable_wq, &vs->config_work);
}

/*
 * Hibernation powers the VM off, and the store with it: the pages on the
 * device would be gone after the resume (and with no resume= device the
 * kernel may even write its image to this disk). Refuse it while swap is
 * on; suspend to RAM or idle keeps the store (vswap_freeze()).
 */
static int vswap_pm_notify(struct notifier_block *nb, unsigned long action,
			   void *unused)
{
	struct virtio_vswap *vs = container_of(nb, struct virtio_vswap, pm_nb);

	if (action != PM_HIBERNATION_PREPARE || !disk_openers(vs->disk))
		return NOTIFY_DONE;
	dev_err(&vs->vdev->dev, "%s in use (swap active?): refusing hibernation, the host store does not survive a power-off\n",
		vs->disk->disk_name);
	return notifier_from_errno(-EBUSY);
}

/* A request of a header alone (SUSPEND, INVALIDATE), waited for. */
static int vswap_header_request(struct virtio_vswap *vs, u16 type, u64 slot,
				u32 nr)
{
	struct vswap_req *vbr;
	struct request *rq;
	blk_status_t sts;

	rq = blk_mq_alloc_request(vs->disk->queue, REQ_OP_DRV_OUT, 0);
	if (IS_ERR(rq))
		return PTR_ERR(rq);
	vbr = blk_mq_rq_to_pdu(rq);
	vbr->hdr.type = cpu_to_le16(type);
	vbr->hdr.flags = 0;
	vbr->hdr.nr_pages = cpu_to_le32(nr);
	vbr->hdr.slot = cpu_to_le64(slot);
	vbr->hdr.reserved = 0;
	sts = blk_execute_rq(rq, false);
	blk_mq_free_request(rq);
	return blk_status_to_errno(sts);
}

/*
 * A device that negotiated SUSPEND may still hold the store of a driver
 * instance before this one (a SUSPEND whose restore never came: a failed
 * restore, then a module reload; a kexec): it cannot tell this probe from
 * that driver's resume (spec 8.6), so this driver empties it.
 */
static int vswap_invalidate_all(struct virtio_vswap *vs)
{
	u64 slots = get_capacity(vs->disk) >> VSWAP_SLOT_SECTOR_SHIFT;
	u64 slot = 0;
	int err = 0;

	while (slot < slots && !err) {
		u32 nr = min_t(u64, slots - slot, U32_MAX);

		err = vswap_header_request(vs, VIRTIO_VSWAP_T_INVALIDATE,
					   slot, nr);
		slot += nr;
	}
	return err;
}

static int vswap_probe(struct virtio_device *vdev)
{
	struct virtio_vswap *vs;
	struct vswap_limits lim = { };
	unsigned int sg_elems, i;
	int err;

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "config access disabled\n");
		return -EINVAL;
	}
	/* The header and config are little-endian: a modern device only. */
	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(&vdev->dev, "VIRTIO_F_VERSION_1 not negotiated\n");
		return -ENODEV;
	}

	vs = kzalloc(sizeof(*vs), GFP_KERNEL);
	if (!vs)
		return -ENOMEM;
	vdev->priv = vs;
	vs->vdev = vdev;
	vs->nospace_until = jiffies;
	INIT_WORK(&vs->config_work, vswap_config_work);

	err = ida_alloc(&vswap_index_ida, GFP_KERNEL);
	if (err < 0)
		goto out_free_vs;
	vs->index = err;

	vs->stats = alloc_percpu(struct vswap_stats);
	if (!vs->stats) {
		err = -ENOMEM;
		goto out_free_index;
	}

	err = vswap_read_config(vs);
	if (err)
		goto out_free_stats;
	err = vswap_init_vqs(vs);
	if (err)
		goto out_free_stats;

	err = vswap_free_init(vs);
	if (err)
		goto out_free_vqs;

	/*
	 * Header and status take two entries, and no chain may be longer
	 * than the queue, indirect or not (virtio 1.x 2.7.5.3.1): a longer
	 * one also fails for good when the atomic indirect table cannot be
	 * had and nothing else is in flight to restart the queue.
	 */
	sg_elems = vs->max_pages;
	for (i = 0; i < vs->num_vqs; i++) {
		unsigned int ring = virtqueue_get_vring_size(vs->vqs[i].vq);

		sg_elems = ring < 3 ? 0 : min(sg_elems, ring - 2);
	}
	if (!sg_elems) {
		dev_err(&vdev->dev, "virtqueue too small\n");
		err = -EINVAL;
		goto out_free_freeq;
	}

	vs->tag_set.ops = &vswap_mq_ops;
	vs->tag_set.nr_hw_queues = vs->num_vqs;
	vs->tag_set.queue_depth = min_t(unsigned int, VSWAP_QUEUE_DEPTH,
					virtqueue_get_vring_size(vs->vqs[0].vq));
	/* One tag kept for the slot-free work (vswap_free.c). */
	vs->tag_set.reserved_tags = 1;
	vs->tag_set.numa_node = NUMA_NO_NODE;
	/* No I/O scheduler: swap I/O gains nothing from one (as zram). */
	vs->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	vs->tag_set.cmd_size = sizeof(struct vswap_req) +
			       sizeof(struct scatterlist) * VSWAP_INLINE_SG_CNT;
	vs->tag_set.driver_data = vs;
	err = blk_mq_alloc_tag_set(&vs->tag_set);
	if (err)
		goto out_free_freeq;

	lim.max_hw_sectors = vs->max_pages << VSWAP_SLOT_SECTOR_SHIFT;
	lim.max_segments = min_t(unsigned int, sg_elems, USHRT_MAX);
	lim.max_segment_size = min_t(size_t, virtio_max_dma_size(vdev),
				     UINT_MAX);
	lim.max_discard_sectors = VSWAP_MAX_RANGE_SECTORS;
	lim.synchronous = synchronous;
	lim.max_write_zeroes_sectors = vs->write_zeroes ?
				       VSWAP_MAX_RANGE_SECTORS : 0;

	vs->disk = vswap_compat_alloc_disk(&vs->tag_set, &lim, vs);
	if (IS_ERR(vs->disk)) {
		err = PTR_ERR(vs->disk);
		goto out_free_tags;
	}
	vs->disk->fops = synchronous ? &vswap_sync_fops : &vswap_fops;
	vs->disk->private_data = vs;
	vs->disk->flags |= GENHD_FL_NO_PART;
	snprintf(vs->disk->disk_name, DISK_NAME_LEN, "vswap%d", vs->index);
	set_capacity(vs->disk, vswap_capacity(vs));

	virtio_device_ready(vdev);

	if (vs->suspend) {
		err = vswap_invalidate_all(vs);
		if (err) {
			dev_err(&vdev->dev, "cannot empty the store (%d)\n",
				err);
			goto out_cleanup_disk;
		}
	}

	err = device_add_disk(&vdev->dev, vs->disk, vswap_attr_groups);
	if (err)
		goto out_cleanup_disk;

	vs->pm_nb.notifier_call = vswap_pm_notify;
	register_pm_notifier(&vs->pm_nb);

	dev_info(&vdev->dev,
		 "%s: %llu slots, %u pages/request, %u queue(s)%s%s\n",
		 vs->disk->disk_name,
		 (unsigned long long)get_capacity(vs->disk) >>
			VSWAP_SLOT_SECTOR_SHIFT,
		 vs->max_pages, vs->num_vqs,
		 vs->write_zeroes ? ", write-zeroes" : "",
		 vs->suspend ? ", suspend" : "");
	return 0;

out_cleanup_disk:
	virtio_reset_device(vdev);
	vs->disk->private_data = NULL;	/* the error path frees @vs */
	put_disk(vs->disk);
out_free_tags:
	blk_mq_free_tag_set(&vs->tag_set);
out_free_freeq:
	vswap_free_exit(vs);
	vswap_free_release(vs);
out_free_vqs:
	vswap_del_vqs(vs);
out_free_stats:
	free_percpu(vs->stats);
out_free_index:
	ida_free(&vswap_index_ida, vs->index);
out_free_vs:
	kfree(vs);
	vdev->priv = NULL;
	return err;
}

/*
 * The device goes away, maybe with swap still active on its disk: the
 * disk then stays open, every further I/O on it fails (del_gendisk), and
 * slot-free notifications are dropped (vswap_free_stop()); @vs itself
 * lives until vswap_free_disk().
 */
static void vswap_remove(struct virtio_device *vdev)
{
	struct virtio_vswap *vs = vdev->priv;

	unregister_pm_notifier(&vs->pm_nb);
	/* Make sure no work handler is accessing the device. */
	flush_work(&vs->config_work);
	del_gendisk(vs->disk);
	vswap_free_stop(vs);
	blk_mq_free_tag_set(&vs->tag_set);
	/* Stop the device; nothing uses the virtqueues after this. */
	virtio_reset_device(vdev);
	vswap_free_exit(vs);
	vswap_del_vqs(vs);
	vdev->priv = NULL;
	put_disk(vs->disk);
}

#ifdef CONFIG_PM_SLEEP
/*
 * SUSPEND: the device keeps the store over the resets of this freeze and
 * of the restore (virtio_device_restore() resets first), until the
 * restore sets DRIVER_OK (spec 6.8).
 */
static int vswap_suspend(struct virtio_vswap *vs)
{
	return vswap_header_request(vs, VIRTIO_VSWAP_T_SUSPEND, 0, 0);
}

static int vswap_freeze(struct virtio_device *vdev)
{
	struct virtio_vswap *vs = vdev->priv;
	struct request_queue *q = vs->disk->queue;
	int err;

	/*
	 * Without SUSPEND, the resets of freeze and restore empty the store
	 * (spec 6.8): with swap active, every swapped page would be lost.
	 * Refuse rather than lose data.
	 */
	if (!vs->suspend && disk_openers(vs->disk)) {
		dev_warn(&vdev->dev, "%s in use (swap active?): refusing to freeze, the device cannot keep the host store over a reset\n",
			 vs->disk->disk_name);
		return -EBUSY;
	}
	/* After a lost store (@failed) nothing is left to keep. */
	if (vs->suspend && !READ_ONCE(vs->failed)) {
		err = vswap_suspend(vs);
		if (err) {
			dev_err(&vdev->dev, "%s: SUSPEND failed (%d): refusing to freeze\n",
				vs->disk->disk_name, err);
			return err;
		}
		virtio_cread(vdev, struct virtio_vswap_config, store_id,
			     &vs->store_id);
	}

	vswap_free_pause(vs);
	/* No request may sit in a virtqueue when the queues go away. */
	blk_mq_freeze_queue(q);
	blk_mq_quiesce_queue_nowait(q);
	blk_mq_unfreeze_queue(q);

	virtio_reset_device(vdev);
	/*
	 * Cancel, not flush: the work is on a freezable workqueue, frozen
	 * by now, and a work queued since would only run after the resume
	 * (vswap_free_pause() says the same). The restore re-reads.
	 */
	cancel_work_sync(&vs->config_work);
	vswap_del_vqs(vs);
	return 0;
}

static int vswap_restore(struct virtio_device *vdev)
{
	struct virtio_vswap *vs = vdev->priv;
	u64 store_id;
	int err;

	err = vswap_init_vqs(vs);
	if (err) {
		/*
		 * Resume runs with GFP_NOIO, so a guest short of memory can
		 * fail here (the interrupts' allocations). Fail requests
		 * instead of leaving swap waiting on a quiesced queue.
		 */
		dev_err(&vdev->dev, "%s: no virtqueues after resume (%d): the swapped pages are unreachable, its I/O fails from now on\n",
			vs->disk->disk_name, err);
		WRITE_ONCE(vs->failed, true);
		blk_mq_unquiesce_queue(vs->disk->queue);
		return err;
	}
	if (vs->suspend) {
		virtio_cread(vdev, struct virtio_vswap_config, store_id,
			     &store_id);
		/*
		 * Another store (the VM was powered off, or the host reset
		 * the device): the swap code's slots now name nothing. Fail
		 * every request rather than let them read back as zeroes.
		 */
		if (store_id != vs->store_id && !vs->failed) {
			dev_err(&vdev->dev, "%s: the host store was emptied while suspended: every page swapped to it is lost, its I/O fails from now on\n",
				vs->disk->disk_name);
			WRITE_ONCE(vs->failed, true);
		} else if (!vs->failed) {
			dev_info(&vdev->dev, "%s: resumed, the host kept the store\n",
				 vs->disk->disk_name);
		}
	}
	virtio_device_ready(vdev);
	vswap_free_start(vs);
	blk_mq_unquiesce_queue(vs->disk->queue);
	queue_work(system_freezable_wq, &vs->config_work);
	return 0;
}
#endif

static const struct virtio_device_id id_table[] = {
	{ VIRTIO_ID_VSWAP, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static const unsigned int features[] = {
	VIRTIO_VSWAP_F_MQ,
	VIRTIO_VSWAP_F_WRITE_ZEROES,
	VIRTIO_VSWAP_F_SUSPEND,
};

static struct virtio_driver virtio_vswap_driver = {
	.feature_table		= features,
	.feature_table_size	= ARRAY_SIZE(features),
	.driver.name		= KBUILD_MODNAME,
	.id_table		= id_table,
	.probe			= vswap_probe,
	.remove			= vswap_remove,
	.config_changed		= vswap_config_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze			= vswap_freeze,
	.restore		= vswap_restore,
#endif
};

module_virtio_driver(virtio_vswap_driver);

MODULE_DEVICE_TABLE(virtio, id_table);
MODULE_DESCRIPTION("virtio-vswap: swap to host memory");
MODULE_LICENSE("GPL");
