// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-vswap: freed swap slots -> INVALIDATE.
 *
 * The swap code calls ->swap_slot_free_notify() for every slot whose last
 * reference went away, with swap locks held (no sleeping, no allocation).
 * We record the slot in a small array of ranges, merging neighbours, and a
 * work item sends the ranges as INVALIDATE requests on a reserved tag, so
 * the host drops the data at once instead of when the slot is next written.
 *
 * The ordering rule (a STORE of a reused slot must not be overtaken by an
 * older INVALIDATE of that slot) is described at struct vswap_freeq and
 * enforced by vswap_free_claim().
 */
#include <linux/blk-mq.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/workqueue.h>

#include "vswap.h"

/* Slots per kernel page (1 on 4 KiB-page machines). */
#define VSWAP_SLOTS_PER_PAGE	(PAGE_SIZE / VIRTIO_VSWAP_PAGE_SIZE)

static bool vswap_range_overlaps(const struct vswap_free_range *r,
				 u64 slot, u32 nr)
{
	return r->slot < slot + nr && slot < r->slot + r->nr;
}

static int vswap_range_cmp(const void *a, const void *b)
{
	const struct vswap_free_range *x = a, *y = b;

	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Sort and merge touching ranges in place; returns the new count. */
static unsigned int vswap_range_coalesce(struct vswap_free_range *r,
					 unsigned int n)
{
	unsigned int i, out = 0;

	if (!n)
		return 0;
	sort(r, n, sizeof(*r), vswap_range_cmp, NULL);
	for (i = 1; i < n; i++) {
		struct vswap_free_range *last = &r[out];

		if (r[i].slot <= last->slot + last->nr &&
		    (u64)last->nr + r[i].nr <= U32_MAX) {
			u64 end = max(last->slot + last->nr,
				      r[i].slot + r[i].nr);

			last->nr = end - last->slot;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* Add [slot, slot + nr) to @pend; false if there is no room. */
static bool vswap_freeq_add(struct vswap_freeq *fq, u64 slot, u32 nr)
{
	struct vswap_free_range *last;

	if (fq->nr_pend) {
		last = &fq->pend[fq->nr_pend - 1];
		if (last->nr > U32_MAX - nr)
			goto append;
		if (last->slot + last->nr == slot) {	/* ascending run */
			last->nr += nr;
			return true;
		}
		if (slot + nr == last->slot) {		/* descending run */
			last->slot = slot;
			last->nr += nr;
			return true;
		}
	}
append:
	if (fq->nr_pend == VSWAP_FREEQ_LEN) {
		/*
		 * Full: merge in place, with interrupts off, but only after
		 * VSWAP_FREEQ_MERGE_GAIN appends since the last merge: one
		 * that left the array nearly full would otherwise sort all
		 * of it again at every add.
		 */
		if (fq->nr_pend - fq->nr_merged < VSWAP_FREEQ_MERGE_GAIN)
			return false;
		WRITE_ONCE(fq->nr_pend,
			   vswap_range_coalesce(fq->pend, fq->nr_pend));
		fq->nr_merged = fq->nr_pend;
		if (fq->nr_pend == VSWAP_FREEQ_LEN)
			return false;
	}
	fq->pend[fq->nr_pend].slot = slot;
	fq->pend[fq->nr_pend].nr = nr;
	WRITE_ONCE(fq->nr_pend, fq->nr_pend + 1);
	return true;
}

void vswap_slot_free_notify(struct block_device *bdev, unsigned long offset)
{
	struct virtio_vswap *vs = bdev->bd_disk->private_data;
	struct vswap_freeq *fq = &vs->freeq;
	u64 slot = (u64)offset * VSWAP_SLOTS_PER_PAGE;
	u32 nr = VSWAP_SLOTS_PER_PAGE;
	unsigned long flags;
	bool queued, paused;

	vswap_count(vs, VSWAP_STAT_FREE_NOTIFIED, nr);

	spin_lock_irqsave(&fq->lock, flags);
	queued = !fq->dead && vswap_freeq_add(fq, slot, nr);
	paused = fq->paused;
	/*
	 * Under the lock: once vswap_free_stop() set @dead, the workqueue
	 * may be destroyed (remove), and this disk may live on (swap).
	 * Paused (suspended): kept for vswap_free_start() to send.
	 */
	if (queued && !paused)
		queue_delayed_work(fq->wq, &fq->work, 0);
	spin_unlock_irqrestore(&fq->lock, flags);

	if (!queued)
		vswap_count(vs, VSWAP_STAT_FREE_DROPPED, nr);
	else if (paused)
		vswap_count(vs, VSWAP_STAT_FREE_SUSPENDED, nr);
}

/*
 * A STORE or WRITE_ZEROES of [slot, slot + nr) is about to be queued.
 * Trim pending invalidations it overlaps (the new data replaces the old
 * anyway); return false if an INVALIDATE of an overlapping range is already
 * on its way, so the caller retries after it completed.
 */
bool vswap_free_claim(struct virtio_vswap *vs, u64 slot, u32 nr)
{
	struct vswap_freeq *fq = &vs->freeq;
	u64 end = slot + nr, cancelled = 0, dropped = 0;
	unsigned long flags;
	bool ok = true, paused;
	unsigned int i;

	/*
	 * Lockless peek, for the common case of nothing queued. The work
	 * moves @pend to @sending by writing nr_sending before it
	 * store-releases nr_pend = 0 (vswap_free_work()): a peek that
	 * load-acquires that 0 then sees the new nr_sending, so a range on
	 * its way is never missed, on weakly ordered CPUs either. A range
	 * added to @pend concurrently is of a slot not being stored here:
	 * the slot's free and its reuse are ordered by the swap code's locks.
	 */
	if (!smp_load_acquire(&fq->nr_pend) && !READ_ONCE(fq->nr_sending))
		return true;

	spin_lock_irqsave(&fq->lock, flags);
	for (i = 0; i < fq->nr_sending; i++) {
		if (vswap_range_overlaps(&fq->sending[i], slot, nr)) {
			ok = false;
			goto out;
		}
	}
	for (i = 0; i < fq->nr_pend; ) {
		struct vswap_free_range *r = &fq->pend[i];
		u64 r_end = r->slot + r->nr;

		if (!vswap_range_overlaps(r, slot, nr)) {
			i++;
			continue;
		}
		cancelled += min(r_end, end) - max(r->slot, slot);
		if (r->slot >= slot && r_end <= end) {
			/* fully replaced: drop the entry */
			WRITE_ONCE(fq->nr_pend, fq->nr_pend - 1);
			*r = fq->pend[fq->nr_pend];
			continue;
		}
		if (r->slot < slot && r_end > end) {
			/*
			 * The store sits inside: split. With no room for
			 * the second half, drop the whole range (its other
			 * slots stay on the host until reused): a STORE
			 * never waits for @pend, which may wait for a
			 * resume (paused) or a queue freeze.
			 */
			if (fq->nr_pend == VSWAP_FREEQ_LEN) {
				dropped += r->nr - nr;
				WRITE_ONCE(fq->nr_pend, fq->nr_pend - 1);
				*r = fq->pend[fq->nr_pend];
				continue;
			}
			fq->pend[fq->nr_pend].slot = end;
			fq->pend[fq->nr_pend].nr = r_end - end;
			WRITE_ONCE(fq->nr_pend, fq->nr_pend + 1);
			r->nr = slot - r->slot;
		} else if (r->slot < slot) {
			r->nr = slot - r->slot;		/* keep the head */
		} else {
			r->nr = r_end - end;		/* keep the tail */
			r->slot = end;
		}
		i++;
	}
out:
	paused = fq->paused;
	spin_unlock_irqrestore(&fq->lock, flags);
	if (cancelled)
		vswap_count(vs, VSWAP_STAT_FREE_CANCELLED, cancelled);
	if (dropped)
		vswap_count(vs, VSWAP_STAT_FREE_DROPPED, dropped);
	if (!ok && !paused)
		queue_delayed_work(fq->wq, &fq->work, 0);
	return ok;
}

static enum rq_end_io_ret vswap_free_end_io(struct request *rq,
					    blk_status_t sts)
{
	struct virtio_vswap *vs = rq->end_io_data;
	struct vswap_req *vbr = blk_mq_rq_to_pdu(rq);
	u32 nr = le32_to_cpu(vbr->hdr.nr_pages);

	vswap_count(vs, sts ? VSWAP_STAT_FREE_DROPPED : VSWAP_STAT_FREE_SENT,
		    nr);
	/* The host dropped pages: room for STOREs again. */
	if (!sts)
		WRITE_ONCE(vs->nospace_until, jiffies);
	/*
	 * Free the tag before @inflight drops: the work, woken at 0, takes
	 * the reserved tag without waiting (BLK_MQ_REQ_NOWAIT), and would
	 * find it still held if blk-mq freed it after this returned.
	 */
	blk_mq_free_request(rq);
	if (atomic_dec_return(&vs->freeq.inflight) < VSWAP_FREE_WINDOW)
		wake_up(&vs->freeq.wait);
	return RQ_END_IO_NONE;
}

/*
 * Start an INVALIDATE of @r; it completes in vswap_free_end_io(). Never
 * sleeps in blk_queue_enter(): with @sending published, STOREs that
 * overlap it wait in the dispatch list holding their queue references,
 * and a queue freeze (an elevator switch, any queue/ sysfs write, a blkcg
 * policy) waits for them: waiting for the freeze here would deadlock.
 * Returns false when no request could be had but the queue lives (frozen):
 * the caller gives the unsent ranges back and retries later.
 */
static bool vswap_free_send(struct virtio_vswap *vs,
			    const struct vswap_free_range *r)
{
	struct vswap_freeq *fq = &vs->freeq;
	struct request_queue *q = vs->disk->queue;
	struct request *rq = ERR_PTR(-EBUSY);
	struct vswap_req *vbr;

	wait_event(fq->wait, atomic_read(&fq->inflight) < VSWAP_FREE_WINDOW);
	if (atomic_read(&fq->inflight))
		rq = blk_mq_alloc_request(q, REQ_OP_DRV_OUT, BLK_MQ_REQ_NOWAIT);
	if (IS_ERR(rq)) {
		/* Nothing else free: wait for ours, then the reserved tag. */
		wait_event(fq->wait, !atomic_read(&fq->inflight));
		rq = blk_mq_alloc_request(q, REQ_OP_DRV_OUT,
					  BLK_MQ_REQ_RESERVED |
					  BLK_MQ_REQ_NOWAIT);
	}
	if (IS_ERR(rq) && !blk_queue_dying(q))
		return false;
	if (IS_ERR(rq)) {
		/* Queue dying (remove): the device reset drops the data. */
		vswap_count(vs, VSWAP_STAT_FREE_DROPPED, r->nr);
		return true;
	}
	vbr = blk_mq_rq_to_pdu(rq);
	vbr->hdr.type = cpu_to_le16(VIRTIO_VSWAP_T_INVALIDATE);
	vbr->hdr.flags = 0;
	vbr->hdr.nr_pages = cpu_to_le32(r->nr);
	vbr->hdr.slot = cpu_to_le64(r->slot);
	vbr->hdr.reserved = 0;
	rq->end_io = vswap_free_end_io;
	rq->end_io_data = vs;
	atomic_inc(&fq->inflight);
	/*
	 * At the head of the dispatch list: STOREs deferred by
	 * vswap_free_claim() (BLK_STS_RESOURCE) wait there for this very
	 * INVALIDATE, and dispatch stops at the first of them; behind them
	 * it would never go (a hang seen with queue-size=4, where the
	 * deferred STOREs hold every normal tag).
	 */
	blk_execute_rq_nowait(rq, true);
	return true;
}

/* A retry of a batch the queue's freeze stopped: soon, not at once. */
#define VSWAP_FREE_RETRY_MS	10

static void vswap_free_work(struct work_struct *work)
{
	struct virtio_vswap *vs = container_of(to_delayed_work(work),
					       struct virtio_vswap, freeq.work);
	struct vswap_freeq *fq = &vs->freeq;
	unsigned int i, n;
	unsigned long retry = msecs_to_jiffies(VSWAP_FREE_RETRY_MS);
	bool frozen = false;
	u64 dropped = 0;

	while (!frozen) {
		spin_lock_irq(&fq->lock);
		n = fq->nr_pend;
		memcpy(fq->sending, fq->pend, n * sizeof(*fq->pend));
		WRITE_ONCE(fq->nr_sending, n);
		/* pairs with the peek in vswap_free_claim() */
		smp_store_release(&fq->nr_pend, 0);
		fq->nr_merged = 0;
		spin_unlock_irq(&fq->lock);
		if (!n)
			break;
		/*
		 * Sort and merge a copy with interrupts on (up to 8192
		 * ranges); claim() meanwhile sees the batch unmerged, which
		 * covers the same slots, and then merged, swapped in locked.
		 */
		memcpy(fq->merged, fq->sending, n * sizeof(*fq->sending));
		n = vswap_range_coalesce(fq->merged, n);
		spin_lock_irq(&fq->lock);
		memcpy(fq->sending, fq->merged, n * sizeof(*fq->sending));
		WRITE_ONCE(fq->nr_sending, n);
		spin_unlock_irq(&fq->lock);

		/* Only this work writes @sending; claim() reads it locked. */
		for (i = 0; i < n && !frozen; i++)
			frozen = !vswap_free_send(vs, &fq->sending[i]);
		wait_event(fq->wait, !atomic_read(&fq->inflight));

		spin_lock_irq(&fq->lock);
		/* The queue is frozen: the unsent ranges wait in @pend. */
		for (i -= frozen; frozen && i < n; i++)
			if (!vswap_freeq_add(fq, fq->sending[i].slot,
					     fq->sending[i].nr))
				dropped += fq->sending[i].nr;
		WRITE_ONCE(fq->nr_sending, 0);
		if (frozen && !fq->paused && !fq->dead)
			queue_delayed_work(fq->wq, &fq->work, retry);
		spin_unlock_irq(&fq->lock);
		/* STOREs that waited for these INVALIDATEs may go now. */
		blk_mq_run_hw_queues(vs->disk->queue, true);
	}
	if (dropped)
		vswap_count(vs, VSWAP_STAT_FREE_DROPPED, dropped);
}

int vswap_free_init(struct virtio_vswap *vs)
{
	struct vswap_freeq *fq = &vs->freeq;

	spin_lock_init(&fq->lock);
	INIT_DELAYED_WORK(&fq->work, vswap_free_work);
	atomic_set(&fq->inflight, 0);
	init_waitqueue_head(&fq->wait);
	fq->pend = kvcalloc(VSWAP_FREEQ_LEN, sizeof(*fq->pend), GFP_KERNEL);
	fq->sending = kvcalloc(VSWAP_FREEQ_LEN, sizeof(*fq->sending),
			       GFP_KERNEL);
	fq->merged = kvcalloc(VSWAP_FREEQ_LEN, sizeof(*fq->merged),
			      GFP_KERNEL);
	/* Reclaim waits on swap I/O, which may wait on this work's sends. */
	fq->wq = alloc_workqueue("vswap%d_free", WQ_MEM_RECLAIM | WQ_FREEZABLE,
				 1, vs->index);
	if (!fq->pend || !fq->sending || !fq->merged || !fq->wq) {
		vswap_free_exit(vs);
		vswap_free_release(vs);
		return -ENOMEM;
	}
	return 0;
}

/* Stop recording and sending (remove). May sleep. */
void vswap_free_stop(struct virtio_vswap *vs)
{
	struct vswap_freeq *fq = &vs->freeq;

	spin_lock_irq(&fq->lock);
	fq->dead = true;
	spin_unlock_irq(&fq->lock);
	flush_delayed_work(&fq->work);
}

/*
 * Stop sending, keep recording (freeze): the device keeps its store over
 * the suspend (SUSPEND), so a slot freed meanwhile must still be
 * invalidated after the resume, or its data stays on the host until the
 * slot is stored again. Cancel, not flush: by now the freezer has frozen
 * our (freezable) workqueue, and a work queued since would only run
 * after the resume, so flushing it would never return. A work already
 * running is waited for; ranges it has not taken stay in @pend.
 * May sleep.
 */
void vswap_free_pause(struct virtio_vswap *vs)
{
	struct vswap_freeq *fq = &vs->freeq;

	spin_lock_irq(&fq->lock);
	fq->paused = true;
	spin_unlock_irq(&fq->lock);
	cancel_delayed_work_sync(&fq->work);
}

/* After vswap_free_pause(): send what was recorded meanwhile, and on. */
void vswap_free_start(struct virtio_vswap *vs)
{
	struct vswap_freeq *fq = &vs->freeq;

	spin_lock_irq(&fq->lock);
	fq->paused = false;
	spin_unlock_irq(&fq->lock);
	queue_delayed_work(fq->wq, &fq->work, 0);
}

/* No more sending: the work is gone (remove, probe failure). May sleep. */
void vswap_free_exit(struct virtio_vswap *vs)
{
	struct vswap_freeq *fq = &vs->freeq;

	if (fq->wq)
		destroy_workqueue(fq->wq);
	fq->wq = NULL;
}

/*
 * Free the ranges. Only once nothing can call vswap_slot_free_notify()
 * any more: when the disk is freed (it stays open while swap is on it).
 */
void vswap_free_release(struct virtio_vswap *vs)
{
	struct vswap_freeq *fq = &vs->freeq;

	kvfree(fq->pend);
	kvfree(fq->sending);
	kvfree(fq->merged);
	fq->pend = NULL;
	fq->sending = NULL;
	fq->merged = NULL;
}
