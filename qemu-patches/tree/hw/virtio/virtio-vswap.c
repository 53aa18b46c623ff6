/*
 * virtio-vswap: a swap device backed by host memory
 *
 * The guest stores, loads and invalidates 4 KiB pages by slot number
 * (include/standard-headers/linux/virtio_vswap.h is the wire ABI); the
 * pages live compressed in a libvswap store owned by this device.  This
 * file is the request path and the device's lifecycle; the disk tier and
 * host NUMA placement have a file each (virtio-vswap-internal.h).
 *
 * Threads: requests are popped, validated and completed under the BQL
 * (main loop, or a vCPU thread without ioeventfd), or, with the iothread
 * property, in that iothread without the BQL (as virtio-blk does: host
 * notifiers attached to its AioContext, completions signalled through the
 * guest notifiers).  The store work (compression, decompression) is done
 * there too, inline with VSWAP_NOWAIT: the guest finds a batch completed
 * when its notification returns.  Only what would block (a LOAD from the
 * disk tier, a STORE at pool-max that must write back first, a large
 * INVALIDATE), and what is left once a notification has used its inline
 * time budget (x-inline-budget-us), goes to the thread pool of the
 * AioContext that popped the request.  Both read and write guest
 * memory in place through the element's mapped iovecs; only a page that
 * straddles two iovec entries goes through a per-request bounce page.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-events-vswap.h"
#include "qapi/visitor.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/memalign.h"
#include "qemu/units.h"
#include "qemu/guest-random.h"
#include "exec/memory.h"
#include "hw/qdev-properties.h"
#include "hw/core/qdev-prop-internal.h"
#include "hw/resettable.h"
#include "system/reset.h"
#include "hw/virtio/virtio-bus.h"
#include "hw/virtio/virtio-pci.h"
#include "block/aio.h"
#include "block/aio-wait.h"
#include "block/thread-pool.h"
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_vswap.h"
#include "virtio-vswap-internal.h"
#include "trace.h"

#define VSWAP_PAGE      VIRTIO_VSWAP_PAGE_SIZE
#define VSWAP_HDR_SIZE  sizeof(struct virtio_vswap_req_hdr)

/* Largest max-pages accepted: 4 MiB of data per request. */
#define VIRTIO_VSWAP_MAX_PAGES_LIMIT    1024

/*
 * INVALIDATE and WRITE_ZEROES of up to this many slots run inline; a
 * larger range walks that much of the slot table and goes to the thread
 * pool, so one request never holds the queue's thread long.
 */
#define VIRTIO_VSWAP_INLINE_INVALIDATE  4096

/*
 * Most inline work one notification may do, in microseconds: the main
 * loop (or the iothread) answers again within that, the rest of the
 * notification's requests runs in the thread pool.
 */
#define VIRTIO_VSWAP_INLINE_BUDGET_LIMIT 100000

QEMU_BUILD_BUG_ON(VSWAP_PAGE != VSWAP_PAGE_SIZE);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_vswap_req_hdr) != 24);

/* Count a completed request by its status byte. */
static void virtio_vswap_count_status(VirtIOVSwap *s, uint8_t status)
{
    VswapDeviceStats *c = &s->counters;

    switch (status) {
    case VIRTIO_VSWAP_S_OK:
        c->status_ok++;
        break;
    case VIRTIO_VSWAP_S_BAD_REQUEST:
        c->status_bad_request++;
        break;
    case VIRTIO_VSWAP_S_NO_SPACE:
        c->status_no_space++;
        break;
    case VIRTIO_VSWAP_S_IOERR:
        c->status_ioerr++;
        break;
    case VIRTIO_VSWAP_S_INTEGRITY:
        c->status_integrity++;
        break;
    case VIRTIO_VSWAP_S_UNSUPPORTED:
        c->status_unsupported++;
        break;
    default:
        g_assert_not_reached();
    }
}

typedef struct VirtIOVSwapReq {
    VirtQueueElement elem;      /* first: virtqueue_pop() allocates all */
    VirtIOVSwap *s;
    VirtQueue *vq;
    size_t in_len;              /* device-writable bytes; status is last */

    /* Decoded header, valid once virtio_vswap_req_check() accepted it. */
    uint16_t type;
    uint32_t nr_pages;
    uint64_t slot;

    /* get_clock() after which inline work goes to the pool instead */
    int64_t inline_until;
    bool over_budget;           /* it did, for that reason */

    /* Written by the pool worker, read by the completion. */
    int err;                    /* libvswap error of the failing page */
    unsigned events;            /* VSWAP_EVENT_* taken after a STORE */
    uint32_t done_pages;        /* pages done before the error */
    uint8_t *bounce;            /* page straddling two iovecs; lazy */
} VirtIOVSwapReq;

/* The one place that maps libvswap errors to status bytes. */
static uint8_t virtio_vswap_status_from_err(int err)
{
    switch (err) {
    case VSWAP_OK:
        return VIRTIO_VSWAP_S_OK;
    case VSWAP_E_NOSPACE:
        return VIRTIO_VSWAP_S_NO_SPACE;
    case VSWAP_E_INTEGRITY:
        return VIRTIO_VSWAP_S_INTEGRITY;
    case VSWAP_E_RANGE:
        /* virtio_vswap_req_check() rules this out; never trust it though */
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    case VSWAP_E_IO:
    case VSWAP_E_NOMEM:
    default:
        return VIRTIO_VSWAP_S_IOERR;
    }
}

const char *virtio_vswap_id(VirtIOVSwap *s)
{
    BusState *bus = qdev_get_parent_bus(DEVICE(s));
    DeviceState *proxy = bus ? bus->parent : NULL;

    return proxy && proxy->id ? proxy->id : DEVICE(s)->id;
}

char *virtio_vswap_name(VirtIOVSwap *s)
{
    const char *id = virtio_vswap_id(s);

    return id ? g_strdup(id) : object_get_canonical_path(OBJECT(s));
}

static uint64_t virtio_vswap_capacity(VirtIOVSwap *s)
{
    return s->conf.size / VSWAP_PAGE;
}

/* The guest is told this device's own limits again (realize, reset). */
static void virtio_vswap_guest_limits_reset(VirtIOVSwap *s)
{
    s->guest_capacity = virtio_vswap_capacity(s);
    s->guest_max_pages = s->conf.max_pages;
}

/*
 * Count one occurrence and send the event with the running total.  No
 * rate limit here: the monitor throttles VSWAP_* events per device
 * (monitor_qapi_event_conf), and the total makes a dropped event lose
 * nothing.  Any thread: the monitor takes its own lock.
 */
void virtio_vswap_event(VirtIOVSwap *s, VSwapEventKind kind)
{
    uint64_t total = qatomic_fetch_inc(&s->event_totals[kind]) + 1;
    const char *path = s->event_path;
    const char *id = virtio_vswap_id(s);

    trace_virtio_vswap_event(s, kind, total);
    switch (kind) {
    case VSWAP_EV_NO_SPACE:
        qapi_event_send_vswap_no_space(id, path, total);
        break;
    case VSWAP_EV_INTEGRITY:
        qapi_event_send_vswap_integrity_error(id, path, total);
        break;
    case VSWAP_EV_WB_DISK_FULL:
        qapi_event_send_vswap_writeback_error(id, path,
            VSWAP_WRITEBACK_ERROR_REASON_DISK_FULL, total);
        break;
    case VSWAP_EV_WB_IO_ERROR:
        qapi_event_send_vswap_writeback_error(id, path,
            VSWAP_WRITEBACK_ERROR_REASON_IO_ERROR, total);
        break;
    case VSWAP_EV_DISK_READ:
        qapi_event_send_vswap_disk_read_error(id, path, total);
        break;
    default:
        g_assert_not_reached();
    }
}

void virtio_vswap_job_start(VirtIOVSwap *s)
{
    qatomic_inc(&s->jobs);
}

void virtio_vswap_job_end(VirtIOVSwap *s)
{
    qatomic_dec(&s->jobs);
    aio_wait_kick();
}

static void virtio_vswap_notify(VirtIOVSwap *s, VirtQueue *vq)
{
    if (qemu_in_iothread()) {
        virtio_notify_irqfd(VIRTIO_DEVICE(s), vq);
    } else {
        virtio_notify(VIRTIO_DEVICE(s), vq);
    }
}

/*
 * Pointer to @len contiguous bytes at @offset of @iov, or NULL when they
 * straddle two entries (the caller bounces then).
 */
static void *virtio_vswap_iov_ptr(const struct iovec *iov, unsigned int cnt,
                                  size_t offset, size_t len)
{
    unsigned int i;

    for (i = 0; i < cnt; i++) {
        if (offset < iov[i].iov_len) {
            if (iov[i].iov_len - offset < len) {
                return NULL;
            }
            return (uint8_t *)iov[i].iov_base + offset;
        }
        offset -= iov[i].iov_len;
    }
    return NULL;
}

static uint8_t *virtio_vswap_bounce(VirtIOVSwapReq *req)
{
    if (!req->bounce) {
        req->bounce = qemu_memalign(VSWAP_PAGE, VSWAP_PAGE);
    }
    return req->bounce;
}

/*
 * Inline work (VSWAP_NOWAIT) stops at the deadline of the notification
 * that popped the request, x-inline-budget-us after it started; the
 * thread pool does the rest.  Without it a guest filling its queues
 * with large requests held the BQL (or the iothread) for queue-size x
 * max-pages compressions: seconds with zstd at a high level.
 */
static bool virtio_vswap_over_budget(VirtIOVSwapReq *req, unsigned flags)
{
    if (!(flags & VSWAP_NOWAIT) || get_clock() < req->inline_until) {
        return false;
    }
    req->over_budget = true;
    return true;
}

/* Store the request's pages from req->done_pages on. */
static int virtio_vswap_store_pages(VirtIOVSwapReq *req, unsigned flags)
{
    VirtQueueElement *elem = &req->elem;
    int ret;

    for (; req->done_pages < req->nr_pages; req->done_pages++) {
        size_t off = VSWAP_HDR_SIZE + (size_t)req->done_pages * VSWAP_PAGE;
        void *page = virtio_vswap_iov_ptr(elem->out_sg, elem->out_num,
                                          off, VSWAP_PAGE);

        if (virtio_vswap_over_budget(req, flags)) {
            return VSWAP_E_WOULDBLOCK;
        }
        if (!page) {
            page = virtio_vswap_bounce(req);
            iov_to_buf(elem->out_sg, elem->out_num, off, page, VSWAP_PAGE);
        }
        ret = vswap_store_page_flags(req->s->store,
                                     req->slot + req->done_pages, page,
                                     flags);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* Load the request's pages from req->done_pages on. */
static int virtio_vswap_load_pages(VirtIOVSwapReq *req, unsigned flags)
{
    VirtQueueElement *elem = &req->elem;
    int ret;

    for (; req->done_pages < req->nr_pages; req->done_pages++) {
        size_t off = (size_t)req->done_pages * VSWAP_PAGE;
        void *page = virtio_vswap_iov_ptr(elem->in_sg, elem->in_num,
                                          off, VSWAP_PAGE);
        bool bounced = !page;

        if (virtio_vswap_over_budget(req, flags)) {
            return VSWAP_E_WOULDBLOCK;
        }
        if (bounced) {
            page = virtio_vswap_bounce(req);
        }
        ret = vswap_load_page_flags(req->s->store,
                                    req->slot + req->done_pages, page,
                                    flags);
        if (ret < 0) {
            return ret;
        }
        if (bounced) {
            iov_from_buf(elem->in_sg, elem->in_num, off, page, VSWAP_PAGE);
        }
    }
    return 0;
}

/*
 * Do the request's store work, from where it stopped.  Inline, in the
 * thread that serves the queue, @flags is VSWAP_NOWAIT: nothing blocks on
 * the disk tier, and VSWAP_E_WOULDBLOCK says the rest must go to the
 * thread pool, which calls this again with 0.
 */
static int virtio_vswap_run(VirtIOVSwapReq *req, unsigned flags)
{
    struct vswap_store *store = req->s->store;
    int err;

    switch (req->type) {
    case VIRTIO_VSWAP_T_STORE:
        err = virtio_vswap_store_pages(req, flags);
        /* stores at the cap write back: disk full, I/O error, pressure */
        if (req->s->backing_fd >= 0 && err != VSWAP_E_WOULDBLOCK) {
            req->events = vswap_take_events(store);
        }
        break;
    case VIRTIO_VSWAP_T_LOAD:
        err = virtio_vswap_load_pages(req, flags);
        break;
    case VIRTIO_VSWAP_T_INVALIDATE:
    case VIRTIO_VSWAP_T_WRITE_ZEROES:
        /* An empty slot loads as zeroes: both just drop the slots. */
        if ((flags & VSWAP_NOWAIT) &&
            req->nr_pages > VIRTIO_VSWAP_INLINE_INVALIDATE) {
            return VSWAP_E_WOULDBLOCK;
        }
        err = vswap_invalidate_flags(store, req->slot, req->nr_pages, flags);
        if (!err) {
            req->done_pages = req->nr_pages;
        }
        break;
    case VIRTIO_VSWAP_T_SUSPEND:
        /* the store stays over device resets until DRIVER_OK */
        qatomic_set(&req->s->keep_armed, true);
        err = 0;
        break;
    default:
        g_assert_not_reached();
    }
    if (err && err != VSWAP_E_WOULDBLOCK) {
        trace_virtio_vswap_page_error(req, req->slot + req->done_pages,
                                      vswap_error_name(err));
    }
    req->err = err;
    return err;
}

/* Thread pool worker: the rest of a request that would have blocked. */
static int virtio_vswap_worker(void *opaque)
{
    virtio_vswap_run(opaque, 0);
    return 0;
}

/*
 * A request is done: count it, raise its events, write its status byte.
 * Returns the used length for the element: all of its device-writable
 * bytes, as virtio-blk does, whatever the status.  The status is the
 * last of them, and QEMU marks dirty (for migration) only the first
 * used-length bytes of the buffers: a used length of 1 left a failed
 * load's status unmarked, and a destination could give the guest the
 * byte that was there before.
 */
static uint32_t virtio_vswap_req_finish(VirtIOVSwapReq *req, uint8_t status)
{
    VirtIOVSwap *s = req->s;
    uint32_t len = MIN(req->in_len, UINT32_MAX);

    if (req->type == VIRTIO_VSWAP_T_STORE) {
        s->counters.pages_stored += req->done_pages;
    } else if (req->type == VIRTIO_VSWAP_T_LOAD) {
        s->counters.pages_loaded += req->done_pages;
    }
    if (status == VIRTIO_VSWAP_S_NO_SPACE) {
        virtio_vswap_event(s, VSWAP_EV_NO_SPACE);
    } else if (status == VIRTIO_VSWAP_S_INTEGRITY &&
               req->type == VIRTIO_VSWAP_T_LOAD) {
        virtio_vswap_event(s, VSWAP_EV_INTEGRITY);
    } else if (req->err == VSWAP_E_IO && req->type == VIRTIO_VSWAP_T_LOAD) {
        /* the only I/O a load does is reading the disk tier */
        virtio_vswap_event(s, VSWAP_EV_DISK_READ);
    }
    if (req->events) {
        virtio_vswap_tier_events(s, req->events);
    }
    iov_from_buf(req->elem.in_sg, req->elem.in_num, req->in_len - 1,
                 &status, 1);
    virtio_vswap_count_status(s, status);
    trace_virtio_vswap_complete(req, status, len);
    return len;
}

static void virtio_vswap_req_free(VirtIOVSwapReq *req)
{
    qemu_vfree(req->bounce);
    g_free(req);
}

/* Completion of a request the thread pool finished, in its AioContext. */
static void virtio_vswap_req_done(void *opaque, int ret)
{
    VirtIOVSwapReq *req = opaque;
    VirtIOVSwap *s = req->s;
    uint32_t len = virtio_vswap_req_finish(
        req, virtio_vswap_status_from_err(req->err));

    virtqueue_push(req->vq, &req->elem, len);
    s->counters.notifies++;
    virtio_vswap_notify(s, req->vq);
    virtio_vswap_req_free(req);
    qatomic_dec(&s->inflight);
    aio_wait_kick();
}

/*
 * Check a request against the ABI: the only place that does.  Decodes
 * the header into @req and returns VIRTIO_VSWAP_S_OK if the request can
 * run, else the status to complete it with; a bad request is counted
 * by its reason, named in *reason for the trace.  Only lengths
 * count, never how the driver split them into descriptors.
 */
static uint8_t virtio_vswap_req_check(VirtIOVSwap *s, VirtIOVSwapReq *req,
                                      const char **reason)
{
    struct virtio_vswap_req_hdr hdr;
    uint64_t r = iov_size(req->elem.out_sg, req->elem.out_num);
    uint64_t w = req->in_len;
    uint64_t capacity = s->guest_capacity;
    uint64_t data;
    bool ok;

    *reason = "unsupported";
    if (iov_to_buf(req->elem.out_sg, req->elem.out_num, 0, &hdr,
                   sizeof(hdr)) != sizeof(hdr)) {
        s->counters.bad_header++;
        *reason = "bad-header";
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    req->type = le16_to_cpu(hdr.type);
    req->nr_pages = le32_to_cpu(hdr.nr_pages);
    req->slot = le64_to_cpu(hdr.slot);
    trace_virtio_vswap_parsed(req, req->type, req->slot, req->nr_pages);

    switch (req->type) {
    case VIRTIO_VSWAP_T_STORE:
        s->counters.store_requests++;
        break;
    case VIRTIO_VSWAP_T_LOAD:
        s->counters.load_requests++;
        break;
    case VIRTIO_VSWAP_T_INVALIDATE:
        s->counters.invalidate_requests++;
        break;
    case VIRTIO_VSWAP_T_WRITE_ZEROES:
        s->counters.write_zeroes_requests++;
        break;
    }

    if (hdr.flags || hdr.reserved) {
        s->counters.bad_flags++;
        *reason = "bad-flags";
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    if (req->type == VIRTIO_VSWAP_T_SUSPEND) {
        /* names no slot: nr_pages and slot are 0, no data either way */
        if (!virtio_vdev_has_feature(VIRTIO_DEVICE(s),
                                     VIRTIO_VSWAP_F_SUSPEND)) {
            return VIRTIO_VSWAP_S_UNSUPPORTED;
        }
        if (req->nr_pages || req->slot) {
            s->counters.bad_range++;
            *reason = "bad-range";
            return VIRTIO_VSWAP_S_BAD_REQUEST;
        }
        if (r != VSWAP_HDR_SIZE || w != 1) {
            s->counters.bad_layout++;
            *reason = "bad-layout";
            return VIRTIO_VSWAP_S_BAD_REQUEST;
        }
        return VIRTIO_VSWAP_S_OK;
    }
    if (req->nr_pages == 0) {
        s->counters.bad_nr_pages++;
        *reason = "bad-nr-pages";
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    switch (req->type) {
    case VIRTIO_VSWAP_T_STORE:
    case VIRTIO_VSWAP_T_LOAD:
        if (req->nr_pages > s->guest_max_pages) {
            s->counters.bad_too_many_pages++;
            *reason = "bad-too-many-pages";
            return VIRTIO_VSWAP_S_BAD_REQUEST;
        }
        break;
    case VIRTIO_VSWAP_T_INVALIDATE:
        break;
    case VIRTIO_VSWAP_T_WRITE_ZEROES:
        if (!virtio_vdev_has_feature(VIRTIO_DEVICE(s),
                                     VIRTIO_VSWAP_F_WRITE_ZEROES)) {
            return VIRTIO_VSWAP_S_UNSUPPORTED;
        }
        break;
    default:
        return VIRTIO_VSWAP_S_UNSUPPORTED;
    }
    if (req->slot >= capacity || req->nr_pages > capacity - req->slot) {
        s->counters.bad_range++;
        *reason = "bad-range";
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }

    /* nr_pages <= max_pages <= 1024 for data requests: no overflow */
    data = (uint64_t)req->nr_pages * VSWAP_PAGE;
    switch (req->type) {
    case VIRTIO_VSWAP_T_STORE:
        ok = r == VSWAP_HDR_SIZE + data && w == 1;
        break;
    case VIRTIO_VSWAP_T_LOAD:
        ok = r == VSWAP_HDR_SIZE && w == data + 1;
        break;
    default:
        ok = r == VSWAP_HDR_SIZE && w == 1;
        break;
    }
    if (!ok) {
        s->counters.bad_layout++;
        *reason = "bad-layout";
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    return VIRTIO_VSWAP_S_OK;
}

/*
 * Whether every buffer of @iov is guest RAM.  In the main loop,
 * virtqueue_pop() maps anything else (device memory, such as this
 * device's own BAR) through a bounce buffer that is written back on
 * completion: a store to a device register from inside a request, which
 * could reset this device while it serves the queue.  Such a request is
 * completed with a used length of 0, so nothing is written back.  (With
 * an iothread, vdev->dma_ram_only has virtqueue_pop() refuse the chain
 * before anything is mapped.)
 */
static bool virtio_vswap_iov_in_ram(const struct iovec *iov, unsigned cnt)
{
    ram_addr_t offset;
    unsigned i;

    for (i = 0; i < cnt; i++) {
        if (!memory_region_from_host(iov[i].iov_base, &offset)) {
            return false;
        }
    }
    return true;
}

/*
 * One request, just popped.  Returns true if it completed here (its used
 * length in *len, the element still to be filled by the caller), false if
 * it went to the thread pool, which completes it itself.
 */
static bool virtio_vswap_handle_one(VirtIOVSwap *s, VirtQueue *vq,
                                    VirtIOVSwapReq *req, int64_t inline_until,
                                    uint32_t *len)
{
    const char *reason;
    uint8_t status;

    /* virtqueue_pop() initialised only the element */
    memset((uint8_t *)req + sizeof(req->elem), 0,
           sizeof(*req) - sizeof(req->elem));
    req->s = s;
    req->vq = vq;
    req->inline_until = inline_until;
    req->in_len = iov_size(req->elem.in_sg, req->elem.in_num);
    s->counters.requests++;
    trace_virtio_vswap_request(s, virtio_get_queue_index(vq), req,
                               iov_size(req->elem.out_sg, req->elem.out_num),
                               req->in_len);

    if (!virtio_vswap_iov_in_ram(req->elem.out_sg, req->elem.out_num) ||
        !virtio_vswap_iov_in_ram(req->elem.in_sg, req->elem.in_num)) {
        s->counters.bad_memory++;
        trace_virtio_vswap_bad_memory(req);
        *len = 0;
        return true;
    }

    /*
     * No device-writable byte: there is nowhere to put a status.  Rather
     * than break the whole device with virtio_error() for one bad chain,
     * complete it with a used length of 0, which a driver can only read
     * as "no status", and count it.  The device keeps serving the other
     * requests.  (A chain with a zero-sized descriptor, the only way to
     * send an empty one, never gets here: virtqueue_pop() refuses it with
     * virtio_error() and the driver must reset the device.)
     */
    if (req->in_len == 0) {
        s->counters.no_status++;
        trace_virtio_vswap_no_status(req);
        *len = 0;
        return true;
    }

    status = virtio_vswap_req_check(s, req, &reason);
    if (status != VIRTIO_VSWAP_S_OK) {
        trace_virtio_vswap_bad_request(req, reason, status);
        *len = virtio_vswap_req_finish(req, status);
        return true;
    }

    if (virtio_vswap_run(req, VSWAP_NOWAIT) != VSWAP_E_WOULDBLOCK) {
        *len = virtio_vswap_req_finish(req,
                                       virtio_vswap_status_from_err(req->err));
        return true;
    }
    s->counters.pool_requests++;
    if (req->over_budget) {
        s->counters.over_budget_requests++;
    }
    qatomic_inc(&s->inflight);
    trace_virtio_vswap_submit(req, req->done_pages, req->over_budget);
    thread_pool_submit_aio(virtio_vswap_worker, req,
                           virtio_vswap_req_done, req);
    return false;
}

/*
 * One handler for every request queue: in the main loop, a vCPU thread,
 * or the iothread.  Serves the queue until it is empty with guest
 * notifications off meanwhile, fills the used ring for everything done
 * inline, then publishes it and interrupts the guest once: a batch of
 * requests costs one notification each way.  The loop ends: a request
 * holds its descriptors until it is used, and nothing is published
 * before it ends, so it pops at most queue-size requests; what they ask
 * for past the inline budget runs in the thread pool.
 */
static void virtio_vswap_handle_output(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);
    VirtIOVSwapReq *req;
    unsigned popped = 0, filled = 0;
    int64_t inline_until = get_clock() +
                           (int64_t)s->conf.inline_budget_us * SCALE_US;
    uint32_t len;

    if (s->conf.iothread && !s->ioeventfd_disabled &&
        !s->ioeventfd_started) {
        /*
         * A kick before DRIVER_OK (vCPU thread, BQL held): start the
         * iothread now, attaching the notifiers kicks the queues there.
         */
        virtio_device_start_ioeventfd(vdev);
        if (!s->ioeventfd_disabled) {
            return;
        }
    }

    do {
        virtio_queue_set_notification(vq, 0);
        while ((req = virtqueue_pop(vq, sizeof(VirtIOVSwapReq)))) {
            popped++;
            if (virtio_vswap_handle_one(s, vq, req, inline_until, &len)) {
                virtqueue_fill(vq, &req->elem, len, filled++);
                virtio_vswap_req_free(req);
            }
        }
        virtio_queue_set_notification(vq, 1);
    } while (!virtio_queue_empty(vq));

    /* a notification that found the queue empty was for a past batch */
    if (popped) {
        s->counters.kicks++;
    }
    if (filled) {
        virtqueue_flush(vq, filled);
        s->counters.notifies++;
        virtio_vswap_notify(s, vq);
    }
}

static void virtio_vswap_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);
    struct virtio_vswap_config cfg = {};

    stq_le_p(&cfg.capacity, s->guest_capacity);
    stl_le_p(&cfg.max_pages, s->guest_max_pages);
    stw_le_p(&cfg.num_queues, s->conf.num_queues);
    stq_le_p(&cfg.store_id, s->store_id);
    memcpy(config, &cfg, sizeof(cfg));
}

static uint64_t virtio_vswap_get_features(VirtIODevice *vdev,
                                          uint64_t features, Error **errp)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);

    features |= s->host_features;
    virtio_add_feature(&features, VIRTIO_F_VERSION_1);
    /*
     * No per-queue reset: the device has no queue_reset/queue_enable, so
     * a queue reset while requests of that queue are in the thread pool
     * would let them complete into the re-enabled ring, and with an
     * iothread a reset in the vCPU thread would race the thread serving
     * the queue.  A driver that wants a clean queue resets the device.
     */
    virtio_clear_feature(&features, VIRTIO_F_RING_RESET);
    return features;
}

/*
 * With an iothread: serve the queues there.  Mirrors virtio-blk: guest
 * notifiers for the completions, host notifiers (ioeventfd) attached to
 * the iothread's AioContext.  Without one, QEMU's default (main loop).
 * BQL held.
 */
static int virtio_vswap_start_ioeventfd(VirtIODevice *vdev)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);
    BusState *qbus = BUS(qdev_get_parent_bus(DEVICE(s)));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);
    unsigned nvqs = s->conf.num_queues;
    unsigned i;
    int r;

    if (!s->conf.iothread) {
        return VIRTIO_VSWAP_GET_CLASS(s)->parent_start_ioeventfd(vdev);
    }
    if (s->ioeventfd_started || s->ioeventfd_starting) {
        return 0;
    }
    s->ioeventfd_starting = true;

    r = k->set_guest_notifiers(qbus->parent, nvqs, true);
    if (r != 0) {
        error_report("virtio-vswap: cannot set up the guest notifiers (%d)",
                     r);
        goto fail_guest_notifiers;
    }

    memory_region_transaction_begin();
    for (i = 0; i < nvqs; i++) {
        r = virtio_bus_set_host_notifier(VIRTIO_BUS(qbus), i, true);
        if (r != 0) {
            unsigned j = i;

            error_report("virtio-vswap: cannot set up host notifier %u (%d)",
                         i, r);
            while (i--) {
                virtio_bus_set_host_notifier(VIRTIO_BUS(qbus), i, false);
            }
            memory_region_transaction_commit();
            while (j--) {
                virtio_bus_cleanup_host_notifier(VIRTIO_BUS(qbus), j);
            }
            goto fail_host_notifiers;
        }
    }
    memory_region_transaction_commit();

    /* Visible to the iothread before it serves a queue. */
    s->ioeventfd_starting = false;
    s->ioeventfd_disabled = false;      /* an earlier start failed */
    s->ioeventfd_started = true;
    smp_wmb(); /* paired with aio_notify_accept() on the read side */

    /* Attaching also kicks the queues: requests already there are served. */
    for (i = 0; i < nvqs; i++) {
        virtio_queue_aio_attach_host_notifier(s->vqs[i], s->ctx);
    }
    trace_virtio_vswap_ioeventfd(s, true);
    return 0;

fail_host_notifiers:
    k->set_guest_notifiers(qbus->parent, nvqs, false);
fail_guest_notifiers:
    s->ioeventfd_disabled = true;
    s->ioeventfd_starting = false;
    return -ENOSYS;
}

/* Stop serving a queue; in the iothread. */
static void virtio_vswap_stop_vq_bh(void *opaque)
{
    VirtQueue *vq = opaque;
    EventNotifier *host_notifier = virtio_queue_get_host_notifier(vq);

    virtio_queue_aio_detach_host_notifier(vq, qemu_get_current_aio_context());
    /* A kick that came before the detach is served now, here. */
    virtio_queue_host_notifier_read(host_notifier);
}

/*
 * Undo virtio_vswap_start_ioeventfd() and wait for the requests in
 * flight: their completions run in the iothread and use the guest
 * notifiers.  BQL held.
 */
static void virtio_vswap_stop_ioeventfd(VirtIODevice *vdev)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);
    BusState *qbus = qdev_get_parent_bus(DEVICE(s));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);
    unsigned nvqs = s->conf.num_queues;
    unsigned i;

    if (!s->conf.iothread) {
        VIRTIO_VSWAP_GET_CLASS(s)->parent_stop_ioeventfd(vdev);
        return;
    }
    if (!s->ioeventfd_started || s->ioeventfd_stopping) {
        return;
    }
    if (s->ioeventfd_disabled) {
        s->ioeventfd_disabled = false;
        s->ioeventfd_started = false;
        return;
    }
    s->ioeventfd_stopping = true;

    for (i = 0; i < nvqs; i++) {
        aio_wait_bh_oneshot(s->ctx, virtio_vswap_stop_vq_bh, s->vqs[i]);
    }

    memory_region_transaction_begin();
    for (i = 0; i < nvqs; i++) {
        virtio_bus_set_host_notifier(VIRTIO_BUS(qbus), i, false);
    }
    memory_region_transaction_commit();
    for (i = 0; i < nvqs; i++) {
        virtio_bus_cleanup_host_notifier(VIRTIO_BUS(qbus), i);
    }
    s->ioeventfd_started = false;

    /* No new request now; the ones in flight complete in the iothread. */
    AIO_WAIT_WHILE(NULL, qatomic_read(&s->inflight) > 1);

    k->set_guest_notifiers(qbus->parent, nvqs, false);
    s->ioeventfd_stopping = false;
    trace_virtio_vswap_ioeventfd(s, false);
}

/* A store_id for new content: any value but 0 and the current one. */
static void virtio_vswap_new_store_id(VirtIOVSwap *s)
{
    uint64_t id;

    do {
        qemu_guest_getrandom_nofail(&id, sizeof(id));
    } while (id == 0 || id == s->store_id);
    s->store_id = id;
}

/*
 * Drop every slot; a new store_id says so.  Requests in flight stop work
 * that is thrown away (a long INVALIDATE, a store's pressure writeback),
 * so the wait for them, under the BQL, stays short.
 */
static void virtio_vswap_empty_store(VirtIOVSwap *s)
{
    vswap_reset_begin(s->store);
    AIO_WAIT_WHILE(NULL, qatomic_read(&s->inflight) > 1);
    vswap_reset(s->store);
    virtio_vswap_tier_reset(s);
    virtio_vswap_new_store_id(s);
}

/*
 * Device reset: finish what the guest sent, then drop every slot, unless
 * the driver sent SUSPEND (spec 6.8): then the slots stay, for the same
 * driver after its resume.  With an iothread, the transport stopped the
 * ioeventfd (and drained) first.  A writeback or reclaim in the thread
 * pool stops at its next batch for vswap_reset(), which does no file
 * I/O; the tier's space is released by a job.  Whether the store is
 * kept is decided when the reset starts: a SUSPEND still in flight then
 * (a driver waits for its SUSPEND before it resets) does not keep it,
 * and the new store_id tells that driver so at its restore.
 */
static void virtio_vswap_reset(VirtIODevice *vdev)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);

    trace_virtio_vswap_reset(s, qatomic_read(&s->inflight) - 1);
    if (qatomic_read(&s->keep_armed)) {
        AIO_WAIT_WHILE(NULL, qatomic_read(&s->inflight) > 1);
    } else {
        virtio_vswap_empty_store(s);
    }
    virtio_vswap_guest_limits_reset(s);
}

/*
 * DRIVER_OK set again: the driver has the store back, resets empty it.
 * FEATURES_OK without F_SUSPEND while the store is kept: that driver
 * cannot be the one resuming (it never sent SUSPEND), and must not see
 * the slots of the instance before it (spec 8.6).
 */
static void virtio_vswap_set_status(VirtIODevice *vdev, uint8_t status)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);

    if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !virtio_vdev_has_feature(vdev, VIRTIO_VSWAP_F_SUSPEND) &&
        qatomic_read(&s->keep_armed)) {
        qatomic_set(&s->keep_armed, false);
        virtio_vswap_empty_store(s);
    }
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
        !(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        qatomic_set(&s->keep_armed, false);
    }
}

/*
 * A system reset empties the store even after SUSPEND (a reboot is a new
 * driver instance), except the reset of a wake-up from suspend-to-RAM,
 * which the driver's resume follows.  The device's own reset gets no
 * reset type (the transport calls virtio_reset()), so this object, one
 * per device in the system reset tree as virtio-mem does it, disarms
 * SUSPEND in the enter phase, before any device's hold phase resets.
 */
#define TYPE_VIRTIO_VSWAP_SYSTEM_RESET "virtio-vswap-system-reset"
OBJECT_DECLARE_SIMPLE_TYPE(VirtioVSwapSystemReset, VIRTIO_VSWAP_SYSTEM_RESET)

struct VirtioVSwapSystemReset {
    Object parent;
    ResettableState reset_state;
    VirtIOVSwap *s;
};

OBJECT_DEFINE_SIMPLE_TYPE_WITH_INTERFACES(VirtioVSwapSystemReset,
                                          virtio_vswap_system_reset,
                                          VIRTIO_VSWAP_SYSTEM_RESET, OBJECT,
                                          { TYPE_RESETTABLE_INTERFACE }, { })

static void virtio_vswap_system_reset_init(Object *obj)
{
}

static void virtio_vswap_system_reset_finalize(Object *obj)
{
}

static ResettableState *virtio_vswap_system_reset_get_state(Object *obj)
{
    return &VIRTIO_VSWAP_SYSTEM_RESET(obj)->reset_state;
}

static void virtio_vswap_system_reset_enter(Object *obj, ResetType type)
{
    VirtioVSwapSystemReset *r = VIRTIO_VSWAP_SYSTEM_RESET(obj);

    if (type != RESET_TYPE_WAKEUP) {
        qatomic_set(&r->s->keep_armed, false);
    }
}

static void virtio_vswap_system_reset_class_init(ObjectClass *klass,
                                                 void *data)
{
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    rc->get_state = virtio_vswap_system_reset_get_state;
    rc->phases.enter = virtio_vswap_system_reset_enter;
}

static bool virtio_vswap_check_conf(VirtIOVSwap *s, Error **errp)
{
    VirtIOVSwapConf *conf = &s->conf;
    enum vswap_codec codec;
    int min, max;

    if (conf->size == 0 || conf->size % VSWAP_PAGE) {
        error_setg(errp, "'" VIRTIO_VSWAP_SIZE_PROP "' must be a non-zero "
                   "multiple of %u bytes", VSWAP_PAGE);
        return false;
    }
    if (conf->size / VSWAP_PAGE > VSWAP_MAX_CAPACITY) {
        error_setg(errp, "'" VIRTIO_VSWAP_SIZE_PROP "' must be at most "
                   "%" PRIu64 " bytes", VSWAP_MAX_CAPACITY * VSWAP_PAGE);
        return false;
    }
    if (conf->num_queues == VIRTIO_VSWAP_AUTO_NUM_QUEUES) {
        conf->num_queues = 1;
    }
    if (conf->num_queues == 0 ||
        conf->num_queues > VIRTIO_VSWAP_MAX_QUEUES) {
        error_setg(errp, "'" VIRTIO_VSWAP_NUM_QUEUES_PROP "' must be "
                   "between 1 and %d", VIRTIO_VSWAP_MAX_QUEUES);
        return false;
    }
    if (conf->num_queues > 1 &&
        !virtio_has_feature(s->host_features, VIRTIO_VSWAP_F_MQ)) {
        error_setg(errp, "'" VIRTIO_VSWAP_NUM_QUEUES_PROP "' > 1 needs "
                   "mq=on");
        return false;
    }
    if (conf->queue_size &&
        (conf->queue_size <= 2 || conf->queue_size > VIRTQUEUE_MAX_SIZE ||
         !is_power_of_2(conf->queue_size))) {
        error_setg(errp, "'" VIRTIO_VSWAP_QUEUE_SIZE_PROP "' must be 0 "
                   "(QEMU's choice) or a power of 2 between 4 and %d",
                   VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (conf->max_pages == 0 ||
        conf->max_pages > VIRTIO_VSWAP_MAX_PAGES_LIMIT) {
        error_setg(errp, "'" VIRTIO_VSWAP_MAX_PAGES_PROP "' must be "
                   "between 1 and %d", VIRTIO_VSWAP_MAX_PAGES_LIMIT);
        return false;
    }
    if (conf->inline_budget_us > VIRTIO_VSWAP_INLINE_BUDGET_LIMIT) {
        error_setg(errp, "'" VIRTIO_VSWAP_INLINE_BUDGET_PROP "' must be at "
                   "most %d (microseconds)", VIRTIO_VSWAP_INLINE_BUDGET_LIMIT);
        return false;
    }
    codec = conf->compress == VSWAP_COMPRESS_ZSTD ? VSWAP_CODEC_ZSTD :
            conf->compress == VSWAP_COMPRESS_NONE ? VSWAP_CODEC_NONE :
            VSWAP_CODEC_LZ4;
    vswap_codec_level_bounds(codec, &min, &max);
    if (conf->compress_level != 0 &&
        (conf->compress_level < min || conf->compress_level > max)) {
        error_setg(errp, "'" VIRTIO_VSWAP_LEVEL_PROP "' must be 0 (default) "
                   "or between %d and %d for %s", min, max,
                   VswapCompress_str(conf->compress));
        return false;
    }
    if (s->conf.iothread) {
        VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qdev_get_parent_bus(
                                                     DEVICE(s)));

        /*
         * Only virtio-pci keeps a guest from resizing or moving a queue
         * while an iothread serves it (patch "virtio-pci: do not let a
         * guest reconfigure an enabled queue"); virtio-mmio and ccw
         * would let the guest crash QEMU that way.
         */
        if (!object_dynamic_cast(OBJECT(qdev_get_parent_bus(DEVICE(s))),
                                 TYPE_VIRTIO_PCI_BUS)) {
            error_setg(errp, "'" VIRTIO_VSWAP_IOTHREAD_PROP "' needs "
                       "virtio-vswap-pci: other transports let a guest "
                       "reconfigure a queue the iothread serves");
            return false;
        }
        if (!k->set_guest_notifiers || !k->ioeventfd_assign) {
            error_setg(errp, "'" VIRTIO_VSWAP_IOTHREAD_PROP "': the "
                       "transport does not support notifiers");
            return false;
        }
        if (!virtio_device_ioeventfd_enabled(VIRTIO_DEVICE(s))) {
            error_setg(errp, "'" VIRTIO_VSWAP_IOTHREAD_PROP "' needs "
                       "ioeventfd=on");
            return false;
        }
    }
    return virtio_vswap_tier_check_conf(s, errp) &&
           virtio_vswap_numa_check_conf(s, errp);
}

/* One vswap_compact() (or vswap_trim()) call in the thread pool. */
typedef struct VSwapCompactJob {
    VirtIOVSwap *s;
    struct vswap_store *store;
    int64_t ret;                /* bytes freed, or a VSWAP_E_* error */
} VSwapCompactJob;

static int virtio_vswap_compact_worker(void *opaque)
{
    VSwapCompactJob *job = opaque;

    job->ret = vswap_compact(job->store);
    return 0;
}

static int virtio_vswap_trim_worker(void *opaque)
{
    VSwapCompactJob *job = opaque;

    job->ret = vswap_trim(job->store);
    return 0;
}

/*
 * idle-compact: a device that served no request for a whole period gives
 * back the pool memory it holds beyond its data (sparse and open
 * segments) with one vswap_trim() in the thread pool, once per idle
 * spell: after a guest freed most of its swap, the host gets the memory
 * back without an operator's vswap-compact.  Unlike vswap-compact it
 * leaves the few free segments kept for the next stores (within their
 * cap), whose huge pages giving them back would split.  The next
 * request starts a new spell.
 */
/* The next tick, a period from now. */
static void virtio_vswap_idle_arm(VirtIOVSwap *s)
{
    timer_mod(s->idle_timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
              (int64_t)s->conf.idle_compact * 1000);
}

static void virtio_vswap_idle_compact_done(void *opaque, int ret)
{
    VSwapCompactJob *job = opaque;
    VirtIOVSwap *s = job->s;

    trace_virtio_vswap_idle_compact_done(s, job->ret,
                                         vswap_pool_bytes(s->store));
    s->idle_compacting = false;
    virtio_vswap_job_end(s);
    g_free(job);
}

static void virtio_vswap_idle_tick(void *opaque)
{
    VirtIOVSwap *s = opaque;
    /* written where the queues are served; a lagging value only delays */
    uint64_t requests = s->counters.requests;
    VSwapCompactJob *job;

    if (requests != s->idle_requests) {
        s->idle_requests = requests;
        s->idle_compacted = false;
    } else if (!s->idle_compacted && !s->idle_compacting) {
        s->idle_compacted = true;
        s->idle_compacting = true;
        job = g_new0(VSwapCompactJob, 1);
        job->s = s;
        job->store = s->store;
        virtio_vswap_job_start(s);
        trace_virtio_vswap_idle_compact(s, vswap_pool_bytes(s->store));
        thread_pool_submit_aio(virtio_vswap_trim_worker, job,
                               virtio_vswap_idle_compact_done, job);
    }
    virtio_vswap_idle_arm(s);
}

/* The timer as conf.idle_compact says: none for 0, else ticking. */
static void virtio_vswap_idle_start(VirtIOVSwap *s)
{
    if (!s->conf.idle_compact) {
        return;
    }
    s->idle_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, virtio_vswap_idle_tick,
                                 s);
    virtio_vswap_idle_arm(s);
}

/* Start no new job; unrealize then waits for a running one (s->jobs). */
static void virtio_vswap_idle_stop(VirtIOVSwap *s)
{
    if (s->idle_timer) {
        timer_free(s->idle_timer);
        s->idle_timer = NULL;
    }
}

static struct vswap_store *virtio_vswap_create_store(VirtIOVSwap *s,
                                                     Error **errp)
{
    struct vswap_params params;
    struct vswap_store *store;
    int err = 0;

    vswap_params_init(&params, virtio_vswap_capacity(s));
    params.codec = s->conf.compress == VSWAP_COMPRESS_ZSTD ? VSWAP_CODEC_ZSTD :
                   s->conf.compress == VSWAP_COMPRESS_NONE ? VSWAP_CODEC_NONE :
                   VSWAP_CODEC_LZ4;
    params.level = s->conf.compress_level;
    params.pool_max = s->conf.pool_max;
    params.checksum = s->conf.checksum;
    params.mpol = (enum vswap_mempolicy)s->conf.policy;
    params.mpol_nodes = s->conf.host_nodes;
    store = vswap_store_create(&params, &err);
    if (!store) {
        error_setg(errp, "virtio-vswap: cannot create the store: %s",
                   vswap_strerror(err));
    }
    return store;
}

static void virtio_vswap_realize(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVSwap *s = VIRTIO_VSWAP(dev);
    int i;

    s->backing_fd = -1;
    if (!virtio_vswap_check_conf(s, errp)) {
        return;
    }

    s->store = virtio_vswap_create_store(s, errp);
    if (!s->store) {
        return;
    }
    /* Walking the QOM tree needs the BQL, which an iothread lacks. */
    s->event_path = object_get_canonical_path(OBJECT(s));
    if (!virtio_vswap_tier_realize(s, errp)) {
        goto fail_tier;
    }
    if (s->conf.iothread) {
        object_ref(OBJECT(s->conf.iothread));
        s->ctx = iothread_get_aio_context(s->conf.iothread);
    } else {
        s->ctx = qemu_get_aio_context();
    }

    virtio_init(vdev, VIRTIO_ID_VSWAP, sizeof(struct virtio_vswap_config));
    /*
     * The iothread must never take the BQL: a ring or buffer outside RAM
     * would be mapped through a bounce buffer that does, and a reset
     * holding the BQL waits for the iothread.  virtqueue_pop() refuses
     * such chains there (the device then needs a reset).
     */
    vdev->dma_ram_only = s->conf.iothread != NULL;
    s->vqs = g_new0(VirtQueue *, s->conf.num_queues);
    for (i = 0; i < s->conf.num_queues; i++) {
        s->vqs[i] = virtio_add_queue(vdev, s->conf.queue_size ?:
                                     VIRTIO_VSWAP_QUEUE_SIZE_AUTO,
                                     virtio_vswap_handle_output);
    }
    /*
     * The core may size queues its own way: QEMU 10.0.13 gives every
     * one VIRTQUEUE_MAX_SIZE entries (the CVE-2026-50626 fix).  Say
     * so rather than report a size the guest never sees.
     */
    if (s->conf.queue_size &&
        virtio_queue_get_max_num(vdev, 0) != s->conf.queue_size) {
        warn_report("virtio-vswap '%s': '" VIRTIO_VSWAP_QUEUE_SIZE_PROP
                    "=%u' is not in force: this QEMU offers %d entries "
                    "per virtqueue", virtio_vswap_id(s), s->conf.queue_size,
                    virtio_queue_get_max_num(vdev, 0));
    }
    s->inflight = 1;
    virtio_vswap_new_store_id(s);
    virtio_vswap_guest_limits_reset(s);
    s->system_reset = object_new(TYPE_VIRTIO_VSWAP_SYSTEM_RESET);
    VIRTIO_VSWAP_SYSTEM_RESET(s->system_reset)->s = s;
    qemu_register_resettable(s->system_reset);
    s->idle_compacted = true;   /* a new store has nothing to give back */
    virtio_vswap_idle_start(s);
    virtio_vswap_migration_init(s);
    return;

fail_tier:
    /* As in unrealize: the store first, then the fd it may use. */
    vswap_store_destroy(s->store);
    s->store = NULL;
    virtio_vswap_tier_close(s);
    g_free(s->event_path);
    s->event_path = NULL;
}

static void virtio_vswap_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVSwap *s = VIRTIO_VSWAP(dev);
    int i;

    virtio_vswap_migration_fini(s);
    qemu_unregister_resettable(s->system_reset);
    object_unref(s->system_reset);
    s->system_reset = NULL;
    /*
     * Release the device's own reference and wait for the workers (the
     * transport stopped the iothread's ioeventfd already).
     */
    qatomic_dec(&s->inflight);
    AIO_WAIT_WHILE(NULL, qatomic_read(&s->inflight) > 0);
    /* No new job now (no timer, no request); wait for those running */
    s->idle_stopped = true;
    virtio_vswap_idle_stop(s);
    virtio_vswap_numa_stop(s);
    virtio_vswap_tier_stop(s);
    AIO_WAIT_WHILE(NULL, qatomic_read(&s->jobs) > 0);

    for (i = 0; i < s->conf.num_queues; i++) {
        virtio_delete_queue(s->vqs[i]);
    }
    g_free(s->vqs);
    s->vqs = NULL;
    virtio_cleanup(vdev);

    if (s->conf.iothread) {
        object_unref(OBJECT(s->conf.iothread));
    }
    s->ctx = NULL;
    virtio_vswap_tier_wipe(s);
    vswap_store_destroy(s->store);
    s->store = NULL;
    virtio_vswap_tier_close(s);
    g_free(s->event_path);
    s->event_path = NULL;
}

static void virtio_vswap_fill_info(VirtIOVSwap *s, VswapInfo *info)
{
    VswapConfig *c = g_new0(VswapConfig, 1);
    VswapStoreStats *st = g_new0(VswapStoreStats, 1);
    g_autofree struct vswap_stats *vs = g_new0(struct vswap_stats, 1);
    uint64List **tail;
    int i;

    info->id = g_strdup(virtio_vswap_id(s));
    info->qom_path = object_get_canonical_path(OBJECT(s));

    c->size = s->conf.size;
    c->capacity = s->guest_capacity;
    c->num_queues = s->conf.num_queues;
    c->queue_size = virtio_queue_get_max_num(VIRTIO_DEVICE(s), 0);
    c->max_pages = s->guest_max_pages;
    c->compress = s->conf.compress;
    c->compress_level = s->conf.compress_level;
    c->pool_max = s->conf.pool_max;
    c->checksum = s->conf.checksum;
    c->idle_compact = s->conf.idle_compact;
    virtio_vswap_tier_fill_info(s, c);
    info->config = c;

    vswap_get_stats(s->store, vs);
#define X(name, kind, unit, help) st->name = vs->name;
    VSWAP_STATS_COUNTERS(X)
#undef X
#define X(name, help)                                   \
    for (tail = &st->name, i = 0; i < VSWAP_LAT_BUCKETS; i++) { \
        QAPI_LIST_APPEND(tail, vs->name[i]);            \
    }
    VSWAP_STATS_HISTOGRAMS(X)
#undef X
    virtio_vswap_numa_fill_info(s, c, st, vs);
    info->store = st;

    info->device = g_memdup2(&s->counters, sizeof(s->counters));
}

/*
 * vswap-compact, in the QMP dispatcher coroutine (main loop, BQL held):
 * the compaction (a copy of each sparse segment's live data) runs in the
 * thread pool while the coroutine waits, so the main loop keeps running.
 * Traffic goes on meanwhile; libvswap serialises compactions.
 */
static VswapCompactResult *coroutine_fn
virtio_vswap_compact(VirtIOVSwap *s, Error **errp)
{
    VSwapCompactJob job = { .store = s->store };
    VswapCompactResult *res = NULL;
    uint64_t pool_bytes;

    /* unrealize waits for the job; the ref keeps @s for the epilogue */
    object_ref(OBJECT(s));
    virtio_vswap_job_start(s);
    thread_pool_submit_co(virtio_vswap_compact_worker, &job);
    /* before job_end: unrealize destroys the store once jobs is 0 */
    pool_bytes = vswap_pool_bytes(s->store);
    virtio_vswap_job_end(s);
    if (job.ret < 0) {
        g_autofree char *name = virtio_vswap_name(s);

        error_setg(errp, "virtio-vswap '%s': compaction failed: %s", name,
                   vswap_strerror((int)job.ret));
    } else {
        res = g_new0(VswapCompactResult, 1);
        res->freed = job.ret;
        res->pool_bytes = pool_bytes;
    }
    object_unref(OBJECT(s));
    return res;
}

/* pool-max may change at run time: the store takes the new cap at once. */
static void virtio_vswap_set_pool_max(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(obj);
    uint64_t value;
    int ret;

    if (!visit_type_size(v, name, &value, errp)) {
        return;
    }
    if (s->store) {
        ret = vswap_set_pool_max(s->store, value);
        if (ret < 0) {
            error_setg(errp, "'" VIRTIO_VSWAP_POOL_MAX_PROP "': %s",
                       vswap_strerror(ret));
            return;
        }
        trace_virtio_vswap_set_pool_max(s, value);
        virtio_vswap_tier_pool_max_changed(s, value);
    }
    s->conf.pool_max = value;
}

static void virtio_vswap_get_pool_max(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(obj);

    visit_type_size(v, name, &s->conf.pool_max, errp);
}

static const PropertyInfo virtio_vswap_prop_pool_max = {
    .type = "size",
    .description = "pool memory cap in bytes, 0 = unlimited (run-time "
                   "settable)",
    .realized_set_allowed = true,
    .get = virtio_vswap_get_pool_max,
    .set = virtio_vswap_set_pool_max,
    .set_default_value = qdev_propinfo_set_default_value_uint,
};

/*
 * idle-compact may change at run time: the timer stops, or ticks with the
 * new period from now.  An idle spell in progress goes on (a running
 * compaction is not cut short).
 */
static void virtio_vswap_set_idle_compact(Object *obj, Visitor *v,
                                          const char *name, void *opaque,
                                          Error **errp)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(obj);
    uint32_t value;

    if (!visit_type_uint32(v, name, &value, errp)) {
        return;
    }
    s->conf.idle_compact = value;
    if (s->store && !s->idle_stopped) {
        virtio_vswap_idle_stop(s);
        virtio_vswap_idle_start(s);
    }
}

static void virtio_vswap_get_idle_compact(Object *obj, Visitor *v,
                                          const char *name, void *opaque,
                                          Error **errp)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(obj);

    visit_type_uint32(v, name, &s->conf.idle_compact, errp);
}

static const PropertyInfo virtio_vswap_prop_idle_compact = {
    .type = "uint32",
    .description = "seconds without a request before the pool is "
                   "compacted, 0 = never (run-time settable)",
    .realized_set_allowed = true,
    .get = virtio_vswap_get_idle_compact,
    .set = virtio_vswap_set_idle_compact,
    .set_default_value = qdev_propinfo_set_default_value_uint,
};

static const PropertyInfo virtio_vswap_prop_compress = {
    .type = "VswapCompress",
    .description = "lz4/zstd/none",
    .enum_table = &VswapCompress_lookup,
    .get = qdev_propinfo_get_enum,
    .set = qdev_propinfo_set_enum,
    .set_default_value = qdev_propinfo_set_default_value_enum,
};

static const Property virtio_vswap_properties[] = {
    DEFINE_PROP_SIZE(VIRTIO_VSWAP_SIZE_PROP, VirtIOVSwap, conf.size,
                     64 * GiB),
    DEFINE_PROP_UINT16(VIRTIO_VSWAP_NUM_QUEUES_PROP, VirtIOVSwap,
                       conf.num_queues, VIRTIO_VSWAP_AUTO_NUM_QUEUES),
    DEFINE_PROP_UINT16(VIRTIO_VSWAP_QUEUE_SIZE_PROP, VirtIOVSwap,
                       conf.queue_size, 0),
    DEFINE_PROP_UINT32(VIRTIO_VSWAP_MAX_PAGES_PROP, VirtIOVSwap,
                       conf.max_pages, 32),
    DEFINE_PROP_SIGNED(VIRTIO_VSWAP_COMPRESS_PROP, VirtIOVSwap,
                       conf.compress, VSWAP_COMPRESS_LZ4,
                       virtio_vswap_prop_compress, int),
    DEFINE_PROP_INT32(VIRTIO_VSWAP_LEVEL_PROP, VirtIOVSwap,
                      conf.compress_level, 0),
    DEFINE_PROP_UNSIGNED(VIRTIO_VSWAP_POOL_MAX_PROP, VirtIOVSwap,
                         conf.pool_max, 0, virtio_vswap_prop_pool_max,
                         uint64_t),
    DEFINE_PROP_BOOL(VIRTIO_VSWAP_CHECKSUM_PROP, VirtIOVSwap,
                     conf.checksum, false),
    DEFINE_PROP_UINT32(VIRTIO_VSWAP_INLINE_BUDGET_PROP, VirtIOVSwap,
                       conf.inline_budget_us, 1000),
    DEFINE_PROP_UNSIGNED(VIRTIO_VSWAP_IDLE_COMPACT_PROP, VirtIOVSwap,
                         conf.idle_compact, 30,
                         virtio_vswap_prop_idle_compact, uint32_t),
    DEFINE_PROP_LINK(VIRTIO_VSWAP_IOTHREAD_PROP, VirtIOVSwap, conf.iothread,
                     TYPE_IOTHREAD, IOThread *),
    /* the disk tier (virtio-vswap-tier.c) */
    DEFINE_PROP_STRING(VIRTIO_VSWAP_BACKING_FILE_PROP, VirtIOVSwap,
                       conf.backing_file),
    DEFINE_PROP_SIZE(VIRTIO_VSWAP_BACKING_MAX_PROP, VirtIOVSwap,
                     conf.backing_max, 0),
    DEFINE_PROP_UINT32(VIRTIO_VSWAP_WRITEBACK_AGE_PROP, VirtIOVSwap,
                       conf.writeback_age, 0),
    DEFINE_PROP_BOOL(VIRTIO_VSWAP_BACKING_REUSE_PROP, VirtIOVSwap,
                     conf.backing_reuse, false),
    /* host NUMA placement (virtio-vswap-numa.c) */
    DEFINE_PROP_SIGNED(VIRTIO_VSWAP_POLICY_PROP, VirtIOVSwap, conf.policy,
                       HOST_MEM_POLICY_DEFAULT, virtio_vswap_prop_policy, int),
    DEFINE_PROP_UNSIGNED_NODEFAULT(VIRTIO_VSWAP_HOST_NODES_PROP, VirtIOVSwap,
                                   conf.host_nodes,
                                   virtio_vswap_prop_host_nodes, uint64_t),
    DEFINE_PROP_BIT64("mq", VirtIOVSwap, host_features,
                      VIRTIO_VSWAP_F_MQ, true),
    DEFINE_PROP_BIT64("write-zeroes", VirtIOVSwap, host_features,
                      VIRTIO_VSWAP_F_WRITE_ZEROES, true),
    DEFINE_PROP_BIT64("suspend", VirtIOVSwap, host_features,
                      VIRTIO_VSWAP_F_SUSPEND, true),
};

static void virtio_vswap_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);
    VirtIOVSwapClass *vsc = VIRTIO_VSWAP_CLASS(klass);

    device_class_set_props(dc, virtio_vswap_properties);
    dc->vmsd = &vmstate_virtio_vswap;
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);

    vdc->realize = virtio_vswap_realize;
    vdc->unrealize = virtio_vswap_unrealize;
    vdc->get_config = virtio_vswap_get_config;
    vdc->get_features = virtio_vswap_get_features;
    vdc->reset = virtio_vswap_reset;
    vdc->set_status = virtio_vswap_set_status;
    vdc->vmsd = &vmstate_virtio_vswap_device;
    vsc->parent_start_ioeventfd = vdc->start_ioeventfd;
    vsc->parent_stop_ioeventfd = vdc->stop_ioeventfd;
    vdc->start_ioeventfd = virtio_vswap_start_ioeventfd;
    vdc->stop_ioeventfd = virtio_vswap_stop_ioeventfd;

    vsc->fill_info = virtio_vswap_fill_info;
    vsc->writeback = virtio_vswap_tier_writeback;
    vsc->compact = virtio_vswap_compact;
    vsc->set_numa_policy = virtio_vswap_numa_set_policy;
}

static const TypeInfo virtio_vswap_info = {
    .name          = TYPE_VIRTIO_VSWAP,
    .parent        = TYPE_VIRTIO_DEVICE,
    .class_size    = sizeof(VirtIOVSwapClass),
    .class_init    = virtio_vswap_class_init,
    .instance_size = sizeof(VirtIOVSwap),
};

static void virtio_vswap_register_types(void)
{
    type_register_static(&virtio_vswap_info);
}

type_init(virtio_vswap_register_types)
