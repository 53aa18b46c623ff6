/*
 * virtio-vswap: a swap device backed by host memory
 *
 * The guest stores, loads and invalidates 4 KiB pages by slot number
 * (include/standard-headers/linux/virtio_vswap.h is the wire ABI); the
 * pages live compressed in a libvswap store owned by this device.
 *
 * Threads: requests are popped, validated and completed under the BQL
 * (main loop, or a vCPU thread without ioeventfd), or, with the iothread
 * property, in that iothread without the BQL (as virtio-blk does: host
 * notifiers attached to its AioContext, completions signalled through the
 * guest notifiers).  The store work (compression, decompression) runs in
 * the thread pool of the AioContext that popped the request, never on a
 * vCPU thread, in the main loop or in the iothread.  The worker reads and
 * writes guest memory in place through the element's mapped iovecs;
 * only a page that straddles two iovec entries goes through a
 * per-request bounce page.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-events-vswap.h"
#include "qapi/visitor.h"
#include "qemu/iov.h"
#include "qemu/lockable.h"
#include "qemu/main-loop.h"
#include "qemu/cutils.h"
#include "qemu/ctype.h"
#include "qemu/memalign.h"
#include "qemu/units.h"
#include "qemu/timer.h"
#include "hw/qdev-properties.h"
#include "hw/core/qdev-prop-internal.h"
#include "hw/virtio/virtio-bus.h"
#include "hw/virtio/virtio-vswap.h"
#include "migration/blocker.h"
#include "block/aio.h"
#include "block/aio-wait.h"
#include "block/thread-pool.h"
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_vswap.h"
#include "trace.h"
#include <vswap.h>

#define VSWAP_PAGE      VIRTIO_VSWAP_PAGE_SIZE
#define VSWAP_HDR_SIZE  sizeof(struct virtio_vswap_req_hdr)

/* Largest max-pages accepted: 4 MiB of data per request. */
#define VIRTIO_VSWAP_MAX_PAGES_LIMIT    1024

/* Smallest backing-max libvswap accepts (one disk tier chunk). */
#define VIRTIO_VSWAP_BACKING_MAX_MIN    (1 * MiB)

/* Minimum interval between two events of one kind of one device. */
#define VIRTIO_VSWAP_EVENT_INTERVAL_MS  1000

/*
 * writeback-age timer period: a quarter of the age, so data is written
 * back at most 25% later than its age says, but at least 1 s apart
 * (each tick scans the pool's oldest segments) and at most 60 s (a long
 * age still notices new old data within a minute).
 */
#define VIRTIO_VSWAP_WB_PERIOD_MIN_S    1
#define VIRTIO_VSWAP_WB_PERIOD_MAX_S    60

/*
 * NUMA migration step: bytes moved per vswap_migrate() call in the
 * thread pool.  A call takes the time of that copy (a few tens of ms on
 * real hardware), so a worker thread is never held long and a policy
 * change or unrealize is noticed between steps.
 */
#define VIRTIO_VSWAP_MIGRATE_STEP       (64 * MiB)

/*
 * Per-node figures older than this are refreshed when query-vswap asks.
 * vswap_refresh_nodes() costs 50-100 ms per GiB of pool (docs/numa.md),
 * so a monitor polling every second costs at most that much per second.
 */
#define VIRTIO_VSWAP_NODES_MAX_AGE_MS   1000

QEMU_BUILD_BUG_ON(HOST_MEM_POLICY_DEFAULT != (int)VSWAP_MPOL_DEFAULT);
QEMU_BUILD_BUG_ON(HOST_MEM_POLICY_PREFERRED != (int)VSWAP_MPOL_PREFERRED);
QEMU_BUILD_BUG_ON(HOST_MEM_POLICY_BIND != (int)VSWAP_MPOL_BIND);
QEMU_BUILD_BUG_ON(HOST_MEM_POLICY_INTERLEAVE != (int)VSWAP_MPOL_INTERLEAVE);
QEMU_BUILD_BUG_ON(HOST_MEM_POLICY__MAX != (int)VSWAP_MPOL__COUNT);

QEMU_BUILD_BUG_ON(VSWAP_PAGE != VSWAP_PAGE_SIZE);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_vswap_req_hdr) != 24);

static const char *const virtio_vswap_counter_names[] = {
    [VSWAP_CNT_REQUESTS] = "requests",
    [VSWAP_CNT_REQ_STORE] = "store-requests",
    [VSWAP_CNT_REQ_LOAD] = "load-requests",
    [VSWAP_CNT_REQ_INVALIDATE] = "invalidate-requests",
    [VSWAP_CNT_REQ_WRITE_ZEROES] = "write-zeroes-requests",
    [VSWAP_CNT_PAGES_STORED] = "pages-stored",
    [VSWAP_CNT_PAGES_LOADED] = "pages-loaded",
    [VSWAP_CNT_S_OK] = "status-ok",
    [VSWAP_CNT_S_BAD_REQUEST] = "status-bad-request",
    [VSWAP_CNT_S_NO_SPACE] = "status-no-space",
    [VSWAP_CNT_S_IOERR] = "status-ioerr",
    [VSWAP_CNT_S_INTEGRITY] = "status-integrity",
    [VSWAP_CNT_S_UNSUPPORTED] = "status-unsupported",
    [VSWAP_CNT_BAD_HEADER] = "bad-header",
    [VSWAP_CNT_BAD_FLAGS] = "bad-flags",
    [VSWAP_CNT_BAD_NR_PAGES] = "bad-nr-pages",
    [VSWAP_CNT_BAD_TOO_MANY_PAGES] = "bad-too-many-pages",
    [VSWAP_CNT_BAD_RANGE] = "bad-range",
    [VSWAP_CNT_BAD_LAYOUT] = "bad-layout",
    [VSWAP_CNT_NO_STATUS] = "no-status",
};
G_STATIC_ASSERT(G_N_ELEMENTS(virtio_vswap_counter_names) == VSWAP_CNT__MAX);

/* Counter of each status byte value, VIRTIO_VSWAP_S_OK first. */
static const VSwapCounter virtio_vswap_status_counter[] = {
    [VIRTIO_VSWAP_S_OK] = VSWAP_CNT_S_OK,
    [VIRTIO_VSWAP_S_BAD_REQUEST] = VSWAP_CNT_S_BAD_REQUEST,
    [VIRTIO_VSWAP_S_NO_SPACE] = VSWAP_CNT_S_NO_SPACE,
    [VIRTIO_VSWAP_S_IOERR] = VSWAP_CNT_S_IOERR,
    [VIRTIO_VSWAP_S_INTEGRITY] = VSWAP_CNT_S_INTEGRITY,
    [VIRTIO_VSWAP_S_UNSUPPORTED] = VSWAP_CNT_S_UNSUPPORTED,
};

/* One vswap_writeback() or vswap_reclaim() call in the thread pool. */
typedef struct VSwapDiskJob {
    VirtIOVSwap *s;
    bool reclaim;               /* vswap_reclaim(), else vswap_writeback() */
    uint64_t min_age_ns;
    uint64_t max_bytes;         /* 0 = no limit */

    /* Written by the worker, read by the completion. */
    int ret;
    unsigned events;            /* vswap_take_events() after the call */
    struct vswap_writeback_result res;
} VSwapDiskJob;

/* One vswap_migrate() step or vswap_refresh_nodes() in the thread pool. */
typedef struct VSwapNumaJob {
    VirtIOVSwap *s;
    bool refresh;               /* vswap_refresh_nodes(), else a step */

    /* Written by the worker, read by the completion. */
    int ret;
    struct vswap_migrate_result res;
} VSwapNumaJob;

typedef struct VirtIOVSwapReq {
    VirtQueueElement elem;      /* first: virtqueue_pop() allocates all */
    VirtIOVSwap *s;
    VirtQueue *vq;
    size_t in_len;              /* device-writable bytes; status is last */

    /* Decoded header, valid once virtio_vswap_req_check() accepted it. */
    uint16_t type;
    uint32_t nr_pages;
    uint64_t slot;

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

static const char *virtio_vswap_id(VirtIOVSwap *s)
{
    BusState *bus = qdev_get_parent_bus(DEVICE(s));
    DeviceState *proxy = bus ? bus->parent : NULL;

    return proxy && proxy->id ? proxy->id : DEVICE(s)->id;
}

static uint64_t virtio_vswap_capacity(VirtIOVSwap *s)
{
    return s->conf.size / VSWAP_PAGE;
}

/*
 * Event rate limit (VSWAP_NO_SPACE, VSWAP_INTEGRITY_ERROR): the first
 * occurrence after a quiet second is reported at once; later ones are
 * summed and reported by the timer when the second is over.  From an
 * iothread the event is always left to the timer, which runs in the
 * main loop.  event_lock held.
 */
static void virtio_vswap_event_flush_locked(VSwapEventState *ev)
{
    VirtIOVSwap *s = ev->s;
    g_autofree char *path = NULL;
    g_autofree struct vswap_stats *vs = NULL;

    if (!ev->pending) {
        return;
    }
    path = object_get_canonical_path(OBJECT(s));
    vs = g_new0(struct vswap_stats, 1);
    switch (ev->kind) {
    case VSWAP_EV_NO_SPACE:
        trace_virtio_vswap_no_space_event(s, ev->pending);
        qapi_event_send_vswap_no_space(virtio_vswap_id(s), path,
                                       ev->pending);
        break;
    case VSWAP_EV_INTEGRITY:
        trace_virtio_vswap_integrity_event(s, ev->pending);
        qapi_event_send_vswap_integrity_error(virtio_vswap_id(s), path,
                                              ev->pending);
        break;
    case VSWAP_EV_WB_DISK_FULL:
    case VSWAP_EV_WB_IO_ERROR:
        vswap_get_stats(s->store, vs);
        trace_virtio_vswap_writeback_error_event(s, ev->kind, ev->pending,
                                                 vs->writeback_errors);
        qapi_event_send_vswap_writeback_error(virtio_vswap_id(s), path,
            ev->kind == VSWAP_EV_WB_DISK_FULL ?
            VSWAP_WRITEBACK_ERROR_REASON_DISK_FULL :
            VSWAP_WRITEBACK_ERROR_REASON_IO_ERROR,
            ev->pending, vs->writeback_errors);
        break;
    case VSWAP_EV_DISK_READ:
        vswap_get_stats(s->store, vs);
        trace_virtio_vswap_disk_read_error_event(s, ev->pending,
                                                 vs->disk_read_errors);
        qapi_event_send_vswap_disk_read_error(virtio_vswap_id(s), path,
                                              ev->pending,
                                              vs->disk_read_errors);
        break;
    default:
        g_assert_not_reached();
    }
    ev->pending = 0;
    ev->last_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
}

/* The timer, in the main loop. */
static void virtio_vswap_event_flush(void *opaque)
{
    VSwapEventState *ev = opaque;

    QEMU_LOCK_GUARD(&ev->s->event_lock);
    virtio_vswap_event_flush_locked(ev);
}

static void virtio_vswap_event_note(VirtIOVSwap *s, VSwapEventKind kind)
{
    VSwapEventState *ev = &s->events[kind];
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    int64_t due;

    QEMU_LOCK_GUARD(&s->event_lock);
    ev->pending++;
    if (timer_pending(ev->timer)) {
        return;
    }
    due = ev->last_ms + VIRTIO_VSWAP_EVENT_INTERVAL_MS;
    if (now >= due && !qemu_in_iothread()) {
        virtio_vswap_event_flush_locked(ev);
    } else {
        timer_mod(ev->timer, MAX(now, due));
    }
}

/*
 * Disk tier jobs.  vswap_writeback() and vswap_reclaim() block on file
 * I/O: they run in the thread pool of the AioContext that starts them
 * (main loop: QMP, the writeback-age timer, qom-set pool-max; or the
 * iothread: a store that hit the cap), never in a vCPU thread, the main
 * loop or the iothread themselves.  Their completion runs back in that
 * AioContext.
 */
static int virtio_vswap_disk_worker(void *opaque)
{
    VSwapDiskJob *job = opaque;
    struct vswap_store *store = job->s->store;

    if (job->reclaim) {
        job->ret = vswap_reclaim(store, &job->res);
    } else {
        job->ret = vswap_writeback(store, job->min_age_ns, job->max_bytes,
                                   &job->res);
    }
    job->events = vswap_take_events(store);
    return 0;
}

static void virtio_vswap_kick_reclaim(VirtIOVSwap *s);

/*
 * Act on the store's VSWAP_EVENT_* bits, in the main loop or the
 * iothread.  Disk read errors are counted per LOAD request instead
 * (virtio_vswap_req_done()), exactly.
 */
static void virtio_vswap_disk_events(VirtIOVSwap *s, unsigned events)
{
    if (events & VSWAP_EVENT_DISK_FULL) {
        virtio_vswap_event_note(s, VSWAP_EV_WB_DISK_FULL);
    }
    if (events & VSWAP_EVENT_WRITEBACK_ERROR) {
        virtio_vswap_event_note(s, VSWAP_EV_WB_IO_ERROR);
    }
    /* A store had to write back itself: get the pool under the cap. */
    if (events & VSWAP_EVENT_PRESSURE) {
        virtio_vswap_kick_reclaim(s);
    }
}

/* Every job ends here, in the AioContext that submitted it. */
static void virtio_vswap_disk_job_finish(VSwapDiskJob *job)
{
    VirtIOVSwap *s = job->s;

    trace_virtio_vswap_disk_job_done(s, job->reclaim, job->ret,
                                     job->res.pages, job->res.bytes,
                                     job->res.pool_freed);
    virtio_vswap_disk_events(s, job->events);
    qatomic_dec(&s->jobs);
    aio_wait_kick();
}

/* Completion of a job started by the timer or a kick. */
static void virtio_vswap_disk_job_done(void *opaque, int ret)
{
    VSwapDiskJob *job = opaque;

    if (job->reclaim) {
        qatomic_set(&job->s->reclaim_running, false);
    } else {
        job->s->writeback_running = false;
    }
    virtio_vswap_disk_job_finish(job);
    g_free(job);
}

static void virtio_vswap_disk_job_submit(VSwapDiskJob *job)
{
    qatomic_inc(&job->s->jobs);
    trace_virtio_vswap_disk_job(job->s, job->reclaim, job->min_age_ns,
                                job->max_bytes);
    thread_pool_submit_aio(virtio_vswap_disk_worker, job,
                           virtio_vswap_disk_job_done, job);
}

/* Pressure writeback down to the low watermark, unless one is running. */
static void virtio_vswap_kick_reclaim(VirtIOVSwap *s)
{
    VSwapDiskJob *job;

    if (qatomic_xchg(&s->reclaim_running, true)) {
        return;
    }
    job = g_new0(VSwapDiskJob, 1);
    job->s = s;
    job->reclaim = true;
    virtio_vswap_disk_job_submit(job);
}

static uint64_t virtio_vswap_writeback_period_ms(VirtIOVSwap *s)
{
    uint64_t period = s->conf.writeback_age / 4;

    period = MAX(period, VIRTIO_VSWAP_WB_PERIOD_MIN_S);
    period = MIN(period, VIRTIO_VSWAP_WB_PERIOD_MAX_S);
    return period * 1000;
}

/* writeback-age timer, main loop: skip the tick if a writeback runs. */
static void virtio_vswap_writeback_tick(void *opaque)
{
    VirtIOVSwap *s = opaque;
    VSwapDiskJob *job;

    if (s->writeback_running) {
        trace_virtio_vswap_writeback_tick_skipped(s);
    } else {
        s->writeback_running = true;
        job = g_new0(VSwapDiskJob, 1);
        job->s = s;
        job->min_age_ns = (uint64_t)s->conf.writeback_age *
                          NANOSECONDS_PER_SECOND;
        virtio_vswap_disk_job_submit(job);
    }
    timer_mod(s->writeback_timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
              virtio_vswap_writeback_period_ms(s));
}

/*
 * vswap-writeback, in the QMP dispatcher coroutine (main loop, BQL
 * held): the writeback runs in the thread pool while the coroutine
 * waits, so the main loop keeps running.
 */
static VswapWritebackResult *coroutine_fn
virtio_vswap_qmp_writeback(VirtIOVSwap *s, uint64_t min_age_s,
                           uint64_t max_bytes, Error **errp)
{
    /* for messages: a device without id is named by its QOM path */
    g_autofree char *id = virtio_vswap_id(s) ? g_strdup(virtio_vswap_id(s)) :
                          object_get_canonical_path(OBJECT(s));
    VSwapDiskJob job = {
        .s = s,
        .max_bytes = max_bytes,
        /* an age beyond what the clock can hold: nothing is that old */
        .min_age_ns = min_age_s > UINT64_MAX / NANOSECONDS_PER_SECOND ?
                      UINT64_MAX : min_age_s * NANOSECONDS_PER_SECOND,
    };
    VswapWritebackResult *res;

    if (s->backing_fd < 0) {
        error_setg(errp, "virtio-vswap '%s' has no disk tier (property '"
                   VIRTIO_VSWAP_BACKING_FILE_PROP "')", id);
        return NULL;
    }
    if (s->writeback_running) {
        error_setg(errp, "virtio-vswap '%s': a writeback is already "
                   "running", id);
        return NULL;
    }
    s->writeback_running = true;
    /* unrealize waits for the job; the ref keeps @s for the epilogue */
    object_ref(OBJECT(s));
    qatomic_inc(&s->jobs);
    trace_virtio_vswap_disk_job(s, false, job.min_age_ns, max_bytes);
    thread_pool_submit_co(virtio_vswap_disk_worker, &job);
    s->writeback_running = false;
    virtio_vswap_disk_job_finish(&job);

    switch (job.ret) {
    case VSWAP_OK:
        res = g_new0(VswapWritebackResult, 1);
        res->pages = job.res.pages;
        res->bytes = job.res.bytes;
        res->pool_freed = job.res.pool_freed;
        res->ios = job.res.ios;
        res->segments = job.res.segments;
        break;
    case VSWAP_E_NOSPACE:
        error_setg(errp, "virtio-vswap '%s': the disk tier is full ('"
                   VIRTIO_VSWAP_BACKING_MAX_PROP "' or the filesystem); "
                   "%" PRIu64 " pages were written back before", id,
                   job.res.pages);
        res = NULL;
        break;
    case VSWAP_E_IO:
        error_setg(errp, "virtio-vswap '%s': writing the disk tier failed "
                   "(I/O error); the data stayed in memory; %" PRIu64
                   " pages were written back before", id, job.res.pages);
        res = NULL;
        break;
    default:
        error_setg(errp, "virtio-vswap '%s': writeback failed: %s", id,
                   vswap_strerror(job.ret));
        res = NULL;
        break;
    }
    object_unref(OBJECT(s));
    return res;
}

/*
 * Host NUMA jobs: migration steps after a policy change and per-node
 * refreshes.  Both block (page copies, one move_pages() query per 512
 * pages): they run in the main loop's thread pool, never in the main
 * loop, a vCPU thread or the iothread.  Started and completed in the
 * main loop.
 */
static int virtio_vswap_numa_worker(void *opaque)
{
    VSwapNumaJob *job = opaque;

    if (job->refresh) {
        job->ret = vswap_refresh_nodes(job->s->store);
    } else {
        job->ret = vswap_migrate(job->s->store, VIRTIO_VSWAP_MIGRATE_STEP,
                                 &job->res);
    }
    return 0;
}

static void virtio_vswap_numa_job_done(void *opaque, int ret);

static void virtio_vswap_numa_job_submit(VirtIOVSwap *s, bool refresh)
{
    VSwapNumaJob *job = g_new0(VSwapNumaJob, 1);

    job->s = s;
    job->refresh = refresh;
    qatomic_inc(&s->jobs);
    trace_virtio_vswap_numa_job(s, refresh);
    thread_pool_submit_aio(virtio_vswap_numa_worker, job,
                           virtio_vswap_numa_job_done, job);
}

/* Refresh the per-node figures unless a refresh is running. */
static void virtio_vswap_kick_refresh(VirtIOVSwap *s)
{
    if (s->nodes_refreshing || s->numa_stop) {
        return;
    }
    s->nodes_refreshing = true;
    virtio_vswap_numa_job_submit(s, true);
}

/* Migrate the pool to the policy in force, one step at a time. */
static void virtio_vswap_kick_migrate(VirtIOVSwap *s)
{
    if (s->numa_stop) {
        return;
    }
    if (s->numa_migrating) {
        /* the running step's result may predate the change */
        s->numa_migrate_again = true;
        return;
    }
    s->numa_migrating = true;
    s->numa_migrate_again = false;
    virtio_vswap_numa_job_submit(s, false);
}

static void virtio_vswap_numa_job_done(void *opaque, int ret)
{
    VSwapNumaJob *job = opaque;
    VirtIOVSwap *s = job->s;

    trace_virtio_vswap_numa_job_done(s, job->refresh, job->ret,
                                     job->res.bytes_moved,
                                     job->res.pages_failed,
                                     job->res.bytes_remaining);
    if (job->refresh) {
        s->nodes_refreshing = false;
    } else {
        s->numa_migrating = false;
        if (job->ret == VSWAP_OK &&
            (job->res.bytes_remaining || s->numa_migrate_again)) {
            virtio_vswap_kick_migrate(s);
        } else {
            /* Done: show where the pool is now. */
            virtio_vswap_kick_refresh(s);
        }
    }
    g_free(job);
    /* after the next job was counted: unrealize sees jobs > 0 till done */
    qatomic_dec(&s->jobs);
    aio_wait_kick();
}

/*
 * Parse host-nodes, numactl style: node numbers and ranges separated
 * by commas ("1", "0-1,3").  NULL or "" is no node.
 */
static bool virtio_vswap_parse_host_nodes(const char *str, uint64_t *mask,
                                          Error **errp)
{
    const char *p = str;
    uint64_t first, last;

    *mask = 0;
    if (!str || !*str) {
        return true;
    }
    for (;;) {
        if (!qemu_isdigit(*p) || qemu_strtou64(p, &p, 10, &first) < 0) {
            goto bad;
        }
        last = first;
        if (*p == '-') {
            p++;
            if (!qemu_isdigit(*p) || qemu_strtou64(p, &p, 10, &last) < 0 ||
                last < first) {
                goto bad;
            }
        }
        if (last >= VSWAP_MAX_NODES) {
            error_setg(errp, "'" VIRTIO_VSWAP_HOST_NODES_PROP "': host node "
                       "%" PRIu64 " is above the highest supported, %d",
                       last, VSWAP_MAX_NODES - 1);
            return false;
        }
        *mask |= MAKE_64BIT_MASK(first, last - first + 1);
        if (!*p) {
            return true;
        }
        if (*p++ != ',') {
            goto bad;
        }
    }

bad:
    error_setg(errp, "'" VIRTIO_VSWAP_HOST_NODES_PROP "': '%s' is not a "
               "list of host nodes such as 1 or 0-1,3", str);
    return false;
}

/* The canonical host-nodes string of @mask ("0-1,3"), NULL for none. */
static char *virtio_vswap_format_host_nodes(uint64_t mask)
{
    GString *str;
    int n = 0, end;

    if (!mask) {
        return NULL;
    }
    str = g_string_new(NULL);
    while (n < VSWAP_MAX_NODES) {
        if (!(mask & BIT_ULL(n))) {
            n++;
            continue;
        }
        for (end = n; end + 1 < VSWAP_MAX_NODES &&
             (mask & BIT_ULL(end + 1)); end++) {
            continue;
        }
        g_string_append_printf(str, "%s%d", str->len ? "," : "", n);
        if (end > n) {
            g_string_append_printf(str, "-%d", end);
        }
        n = end + 1;
    }
    return g_string_free(str, false);
}

/*
 * vswap-set-numa-policy, main loop, BQL held.  Validates, changes the
 * store's policy (one mbind per 64 MiB arena, no copy) and leaves the
 * moving of what is already in the pool to the background migration.
 */
static void virtio_vswap_qmp_set_numa_policy(VirtIOVSwap *s,
                                             HostMemPolicy policy,
                                             const uint16List *host_nodes,
                                             Error **errp)
{
    g_autofree char *id = virtio_vswap_id(s) ? g_strdup(virtio_vswap_id(s)) :
                          object_get_canonical_path(OBJECT(s));
    const uint16List *l;
    uint64_t mask = 0;
    char why[256];
    int ret;

    for (l = host_nodes; l; l = l->next) {
        if (l->value >= VSWAP_MAX_NODES) {
            error_setg(errp, "virtio-vswap '%s': host node %u is above the "
                       "highest supported, %d", id, l->value,
                       VSWAP_MAX_NODES - 1);
            return;
        }
        mask |= BIT_ULL(l->value);
    }
    if (vswap_mempolicy_check((enum vswap_mempolicy)policy, mask, why,
                              sizeof(why)) < 0) {
        error_setg(errp, "virtio-vswap '%s': %s", id, why);
        return;
    }
    ret = vswap_store_set_mempolicy(s->store, (enum vswap_mempolicy)policy,
                                    mask);
    if (ret < 0) {
        error_setg(errp, "virtio-vswap '%s': the kernel refused the NUMA "
                   "policy (%s); the previous one stays", id,
                   vswap_strerror(ret));
        return;
    }
    trace_virtio_vswap_set_numa_policy(s, HostMemPolicy_str(policy), mask);
    s->conf.policy = policy;
    s->host_node_mask = mask;
    g_free(s->conf.host_nodes);
    s->conf.host_nodes = virtio_vswap_format_host_nodes(mask);
    virtio_vswap_kick_migrate(s);
}

/*
 * Interrupt the guest.  From the iothread through the guest notifier
 * (set up by the ioeventfd start), like virtio-blk: virtio_notify()
 * needs the BQL.
 */
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

static int virtio_vswap_store_pages(VirtIOVSwapReq *req)
{
    VirtQueueElement *elem = &req->elem;
    uint32_t i;
    int ret;

    for (i = 0; i < req->nr_pages; i++) {
        size_t off = VSWAP_HDR_SIZE + (size_t)i * VSWAP_PAGE;
        void *page = virtio_vswap_iov_ptr(elem->out_sg, elem->out_num,
                                          off, VSWAP_PAGE);

        if (!page) {
            page = virtio_vswap_bounce(req);
            iov_to_buf(elem->out_sg, elem->out_num, off, page, VSWAP_PAGE);
        }
        ret = vswap_store_page(req->s->store, req->slot + i, page);
        if (ret < 0) {
            return ret;
        }
        req->done_pages++;
    }
    return 0;
}

static int virtio_vswap_load_pages(VirtIOVSwapReq *req)
{
    VirtQueueElement *elem = &req->elem;
    uint32_t i;
    int ret;

    for (i = 0; i < req->nr_pages; i++) {
        size_t off = (size_t)i * VSWAP_PAGE;
        void *page = virtio_vswap_iov_ptr(elem->in_sg, elem->in_num,
                                          off, VSWAP_PAGE);
        bool bounced = !page;

        if (bounced) {
            page = virtio_vswap_bounce(req);
        }
        ret = vswap_load_page(req->s->store, req->slot + i, page);
        if (ret < 0) {
            return ret;
        }
        if (bounced) {
            iov_from_buf(elem->in_sg, elem->in_num, off, page, VSWAP_PAGE);
        }
        req->done_pages++;
    }
    return 0;
}

/* Thread pool worker: the only place that runs the store. */
static int virtio_vswap_worker(void *opaque)
{
    VirtIOVSwapReq *req = opaque;

    switch (req->type) {
    case VIRTIO_VSWAP_T_STORE:
        req->err = virtio_vswap_store_pages(req);
        /* stores at the cap write back: disk full, I/O error, pressure */
        if (req->s->backing_fd >= 0) {
            req->events = vswap_take_events(req->s->store);
        }
        break;
    case VIRTIO_VSWAP_T_LOAD:
        req->err = virtio_vswap_load_pages(req);
        break;
    case VIRTIO_VSWAP_T_INVALIDATE:
    case VIRTIO_VSWAP_T_WRITE_ZEROES:
        /* An empty slot loads as zeroes: both just drop the slots. */
        req->err = vswap_invalidate(req->s->store, req->slot, req->nr_pages);
        if (!req->err) {
            req->done_pages = req->nr_pages;
        }
        break;
    default:
        g_assert_not_reached();
    }
    if (req->err) {
        trace_virtio_vswap_page_error(req, req->slot + req->done_pages,
                                      vswap_error_name(req->err));
    }
    return 0;
}

/* Write the status byte, hand the element back and free the request. */
static void virtio_vswap_req_complete(VirtIOVSwapReq *req, uint8_t status)
{
    VirtIOVSwap *s = req->s;
    uint32_t len = 1;

    iov_from_buf(req->elem.in_sg, req->elem.in_num, req->in_len - 1,
                 &status, 1);
    if (status == VIRTIO_VSWAP_S_OK && req->type == VIRTIO_VSWAP_T_LOAD) {
        len = req->in_len;
    }
    s->counters[virtio_vswap_status_counter[status]]++;
    trace_virtio_vswap_complete(req, status, len);
    virtqueue_push(req->vq, &req->elem, len);
    virtio_vswap_notify(s, req->vq);
    qemu_vfree(req->bounce);
    g_free(req);
}

/* Completion, in the AioContext that submitted the request. */
static void virtio_vswap_req_done(void *opaque, int ret)
{
    VirtIOVSwapReq *req = opaque;
    VirtIOVSwap *s = req->s;
    uint8_t status = virtio_vswap_status_from_err(req->err);

    if (req->type == VIRTIO_VSWAP_T_STORE) {
        s->counters[VSWAP_CNT_PAGES_STORED] += req->done_pages;
    } else if (req->type == VIRTIO_VSWAP_T_LOAD) {
        s->counters[VSWAP_CNT_PAGES_LOADED] += req->done_pages;
    }
    if (status == VIRTIO_VSWAP_S_NO_SPACE) {
        virtio_vswap_event_note(s, VSWAP_EV_NO_SPACE);
    } else if (status == VIRTIO_VSWAP_S_INTEGRITY &&
               req->type == VIRTIO_VSWAP_T_LOAD) {
        virtio_vswap_event_note(s, VSWAP_EV_INTEGRITY);
    } else if (req->err == VSWAP_E_IO && req->type == VIRTIO_VSWAP_T_LOAD) {
        /* the only I/O a load does is reading the disk tier */
        virtio_vswap_event_note(s, VSWAP_EV_DISK_READ);
    }
    if (req->events) {
        virtio_vswap_disk_events(s, req->events);
    }
    virtio_vswap_req_complete(req, status);

    qatomic_dec(&s->inflight);
    aio_wait_kick();
}

/*
 * Check a request against the ABI: the only place that does.  Decodes
 * the header into @req and returns VIRTIO_VSWAP_S_OK if the request can
 * run, else the status to complete it with, and in *reason the
 * bad-request counter to bump (VSWAP_CNT__MAX for none).  Only lengths
 * count, never how the driver split them into descriptors.
 */
static uint8_t virtio_vswap_req_check(VirtIOVSwap *s, VirtIOVSwapReq *req,
                                      VSwapCounter *reason)
{
    struct virtio_vswap_req_hdr hdr;
    uint64_t r = iov_size(req->elem.out_sg, req->elem.out_num);
    uint64_t w = req->in_len;
    uint64_t capacity = virtio_vswap_capacity(s);
    uint64_t data;
    bool ok;

    *reason = VSWAP_CNT__MAX;
    if (iov_to_buf(req->elem.out_sg, req->elem.out_num, 0, &hdr,
                   sizeof(hdr)) != sizeof(hdr)) {
        *reason = VSWAP_CNT_BAD_HEADER;
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    req->type = le16_to_cpu(hdr.type);
    req->nr_pages = le32_to_cpu(hdr.nr_pages);
    req->slot = le64_to_cpu(hdr.slot);
    trace_virtio_vswap_parsed(req, req->type, req->slot, req->nr_pages);

    switch (req->type) {
    case VIRTIO_VSWAP_T_STORE:
        s->counters[VSWAP_CNT_REQ_STORE]++;
        break;
    case VIRTIO_VSWAP_T_LOAD:
        s->counters[VSWAP_CNT_REQ_LOAD]++;
        break;
    case VIRTIO_VSWAP_T_INVALIDATE:
        s->counters[VSWAP_CNT_REQ_INVALIDATE]++;
        break;
    case VIRTIO_VSWAP_T_WRITE_ZEROES:
        s->counters[VSWAP_CNT_REQ_WRITE_ZEROES]++;
        break;
    }

    if (hdr.flags || hdr.reserved) {
        *reason = VSWAP_CNT_BAD_FLAGS;
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    if (req->nr_pages == 0) {
        *reason = VSWAP_CNT_BAD_NR_PAGES;
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    switch (req->type) {
    case VIRTIO_VSWAP_T_STORE:
    case VIRTIO_VSWAP_T_LOAD:
        if (req->nr_pages > s->conf.max_pages) {
            *reason = VSWAP_CNT_BAD_TOO_MANY_PAGES;
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
        *reason = VSWAP_CNT_BAD_RANGE;
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
        *reason = VSWAP_CNT_BAD_LAYOUT;
        return VIRTIO_VSWAP_S_BAD_REQUEST;
    }
    return VIRTIO_VSWAP_S_OK;
}

static void virtio_vswap_handle_one(VirtIOVSwap *s, VirtQueue *vq,
                                    VirtIOVSwapReq *req)
{
    VSwapCounter reason;
    uint8_t status;

    /* virtqueue_pop() initialised only the element */
    memset((uint8_t *)req + sizeof(req->elem), 0,
           sizeof(*req) - sizeof(req->elem));
    req->s = s;
    req->vq = vq;
    req->in_len = iov_size(req->elem.in_sg, req->elem.in_num);
    s->counters[VSWAP_CNT_REQUESTS]++;
    trace_virtio_vswap_request(s, virtio_get_queue_index(vq), req,
                               iov_size(req->elem.out_sg, req->elem.out_num),
                               req->in_len);

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
        s->counters[VSWAP_CNT_NO_STATUS]++;
        trace_virtio_vswap_no_status(req);
        virtqueue_push(vq, &req->elem, 0);
        virtio_vswap_notify(s, vq);
        g_free(req);
        return;
    }

    status = virtio_vswap_req_check(s, req, &reason);
    if (status != VIRTIO_VSWAP_S_OK) {
        if (reason != VSWAP_CNT__MAX) {
            s->counters[reason]++;
        }
        trace_virtio_vswap_bad_request(req, reason != VSWAP_CNT__MAX ?
                                       virtio_vswap_counter_names[reason] :
                                       "unsupported", status);
        virtio_vswap_req_complete(req, status);
        return;
    }

    qatomic_inc(&s->inflight);
    trace_virtio_vswap_submit(req);
    thread_pool_submit_aio(virtio_vswap_worker, req,
                           virtio_vswap_req_done, req);
}

/*
 * One handler for every request queue: in the main loop, a vCPU thread,
 * or the iothread.
 */
static void virtio_vswap_handle_output(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);
    VirtIOVSwapReq *req;

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

    while ((req = virtqueue_pop(vq, sizeof(VirtIOVSwapReq)))) {
        virtio_vswap_handle_one(s, vq, req);
    }
}

static void virtio_vswap_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);
    struct virtio_vswap_config cfg = {};

    stq_le_p(&cfg.capacity, virtio_vswap_capacity(s));
    stl_le_p(&cfg.max_pages, s->conf.max_pages);
    stw_le_p(&cfg.num_queues, s->conf.num_queues);
    memcpy(config, &cfg, sizeof(cfg));
}

static uint64_t virtio_vswap_get_features(VirtIODevice *vdev,
                                          uint64_t features, Error **errp)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);

    features |= s->host_features;
    virtio_add_feature(&features, VIRTIO_F_VERSION_1);
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

/*
 * Device reset: finish what the guest sent, then drop every slot.  With
 * an iothread, the transport stopped the ioeventfd (and drained) first.
 */
static void virtio_vswap_reset(VirtIODevice *vdev)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(vdev);

    trace_virtio_vswap_reset(s, qatomic_read(&s->inflight) - 1);
    AIO_WAIT_WHILE(NULL, qatomic_read(&s->inflight) > 1);
    vswap_reset(s->store);
}

static bool virtio_vswap_check_conf(VirtIOVSwap *s, Error **errp)
{
    VirtIOVSwapConf *conf = &s->conf;
    enum vswap_codec codec;
    char why[256];
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
    if (conf->queue_size <= 2 || conf->queue_size > VIRTQUEUE_MAX_SIZE ||
        !is_power_of_2(conf->queue_size)) {
        error_setg(errp, "'" VIRTIO_VSWAP_QUEUE_SIZE_PROP "' must be a "
                   "power of 2 between 4 and %d", VIRTQUEUE_MAX_SIZE);
        return false;
    }
    if (conf->max_pages == 0 ||
        conf->max_pages > VIRTIO_VSWAP_MAX_PAGES_LIMIT) {
        error_setg(errp, "'" VIRTIO_VSWAP_MAX_PAGES_PROP "' must be "
                   "between 1 and %d", VIRTIO_VSWAP_MAX_PAGES_LIMIT);
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
    if (conf->backing_max && conf->backing_max < VIRTIO_VSWAP_BACKING_MAX_MIN) {
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_MAX_PROP "' must be 0 (no "
                   "limit) or at least 1 MiB");
        return false;
    }
    if (!conf->backing_file && conf->backing_max) {
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_MAX_PROP "' needs '"
                   VIRTIO_VSWAP_BACKING_FILE_PROP "'");
        return false;
    }
    if (!conf->backing_file && conf->writeback_age) {
        error_setg(errp, "'" VIRTIO_VSWAP_WRITEBACK_AGE_PROP "' needs '"
                   VIRTIO_VSWAP_BACKING_FILE_PROP "'");
        return false;
    }
    if (!virtio_vswap_parse_host_nodes(conf->host_nodes, &s->host_node_mask,
                                       errp)) {
        return false;
    }
    /* libvswap's reason names the node or the rule the setting broke */
    if (vswap_mempolicy_check((enum vswap_mempolicy)conf->policy,
                              s->host_node_mask, why, sizeof(why)) < 0) {
        error_setg(errp, "'" VIRTIO_VSWAP_POLICY_PROP "=%s,"
                   VIRTIO_VSWAP_HOST_NODES_PROP "=%s': %s",
                   HostMemPolicy_str(conf->policy),
                   conf->host_nodes ? conf->host_nodes : "", why);
        return false;
    }
    return true;
}

/*
 * Open backing-file for the disk tier: /dev/fdset/N as passed with
 * add-fd (the fd set must hold a read-write fd), else a path, created
 * with mode 0600 if missing.  Returns the fd, or -1 with @errp set.
 */
static int virtio_vswap_open_backing(VirtIOVSwap *s, Error **errp)
{
    const char *path = s->conf.backing_file;
    Error *local_err = NULL;
    struct stat st;
    int fd, fl;

    if (strstart(path, "/dev/fdset/", NULL)) {
        fd = qemu_open(path, O_RDWR, &local_err);
    } else {
        fd = qemu_create(path, O_RDWR, 0600, &local_err);
    }
    if (fd < 0) {
        error_propagate_prepend(errp, local_err,
                                "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': ");
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        error_setg_errno(errp, errno, "'" VIRTIO_VSWAP_BACKING_FILE_PROP
                         "': cannot stat '%s'", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': '%s' is "
                   "not a regular file or a block device", path);
        goto fail;
    }
    /* An fd from add-fd may carry flags pwrite at an offset cannot use. */
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || (fl & O_APPEND)
#ifdef O_DIRECT
        || (fl & O_DIRECT)
#endif
        ) {
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': '%s' must "
                   "be open read-write, without O_APPEND or O_DIRECT", path);
        goto fail;
    }
    return fd;

fail:
    qemu_close(fd);
    return -1;
}

/* Hand the open backing-file to the store; errors name the property. */
static bool virtio_vswap_attach_backing(VirtIOVSwap *s, Error **errp)
{
    const char *path = s->conf.backing_file;
    int ret = vswap_store_attach_disk(s->store, s->backing_fd,
                                      s->conf.backing_max);

    switch (ret) {
    case VSWAP_OK:
        trace_virtio_vswap_backing(s, path, s->conf.backing_max);
        return true;
    case VSWAP_E_INVAL:
        /* Flags and type were checked: what is left is the size. */
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': libvswap "
                   "refused '%s' (%s): a block device must hold at least "
                   "1 MiB", path, vswap_strerror(ret));
        return false;
    case VSWAP_E_IO:
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': cannot "
                   "truncate '%s' (%s)", path, vswap_strerror(ret));
        return false;
    default:
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': cannot "
                   "attach '%s': %s", path, vswap_strerror(ret));
        return false;
    }
}

static void virtio_vswap_realize(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVSwap *s = VIRTIO_VSWAP(dev);
    BusState *qbus = BUS(qdev_get_parent_bus(dev));
    VirtioBusClass *k = VIRTIO_BUS_GET_CLASS(qbus);
    struct vswap_params params;
    int err = 0;
    int i;

    s->backing_fd = -1;
    if (!virtio_vswap_check_conf(s, errp)) {
        return;
    }
    if (s->conf.iothread) {
        if (!k->set_guest_notifiers || !k->ioeventfd_assign) {
            error_setg(errp, "'" VIRTIO_VSWAP_IOTHREAD_PROP "': the "
                       "transport does not support notifiers");
            return;
        }
        if (!virtio_device_ioeventfd_enabled(vdev)) {
            error_setg(errp, "'" VIRTIO_VSWAP_IOTHREAD_PROP "' needs "
                       "ioeventfd=on");
            return;
        }
    }

    error_setg(&s->migration_blocker,
               "virtio-vswap: the swap store is not migrated yet; "
               "migrating would lose the guest's swapped pages");
    if (migrate_add_blocker(&s->migration_blocker, errp) < 0) {
        return;
    }

    vswap_params_init(&params, virtio_vswap_capacity(s));
    params.codec = s->conf.compress == VSWAP_COMPRESS_ZSTD ? VSWAP_CODEC_ZSTD :
                   s->conf.compress == VSWAP_COMPRESS_NONE ? VSWAP_CODEC_NONE :
                   VSWAP_CODEC_LZ4;
    params.level = s->conf.compress_level;
    params.pool_max = s->conf.pool_max;
    params.checksum = s->conf.checksum;
    params.mpol = (enum vswap_mempolicy)s->conf.policy;
    params.mpol_nodes = s->host_node_mask;
    s->store = vswap_store_create(&params, &err);
    if (!s->store) {
        error_setg(errp, "virtio-vswap: cannot create the store: %s",
                   vswap_strerror(err));
        goto fail_store;
    }
    if (s->conf.backing_file) {
        s->backing_fd = virtio_vswap_open_backing(s, errp);
        if (s->backing_fd < 0) {
            goto fail_disk;
        }
        if (!virtio_vswap_attach_backing(s, errp)) {
            goto fail_disk;
        }
    }
    qemu_mutex_init(&s->event_lock);
    for (i = 0; i < VSWAP_EV__MAX; i++) {
        s->events[i].s = s;
        s->events[i].kind = i;
        s->events[i].timer = timer_new_ms(QEMU_CLOCK_REALTIME,
                                          virtio_vswap_event_flush,
                                          &s->events[i]);
    }
    if (s->conf.iothread) {
        object_ref(OBJECT(s->conf.iothread));
        s->ctx = iothread_get_aio_context(s->conf.iothread);
    } else {
        s->ctx = qemu_get_aio_context();
    }

    virtio_init(vdev, VIRTIO_ID_VSWAP, sizeof(struct virtio_vswap_config));
    s->vqs = g_new0(VirtQueue *, s->conf.num_queues);
    for (i = 0; i < s->conf.num_queues; i++) {
        s->vqs[i] = virtio_add_queue(vdev, s->conf.queue_size,
                                     virtio_vswap_handle_output);
    }
    s->inflight = 1;
    if (s->conf.writeback_age) {
        s->writeback_timer = timer_new_ms(QEMU_CLOCK_REALTIME,
                                          virtio_vswap_writeback_tick, s);
        timer_mod(s->writeback_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                  virtio_vswap_writeback_period_ms(s));
    }
    return;

fail_disk:
    /* As in unrealize: the store first, then the fd it may use. */
    vswap_store_destroy(s->store);
    s->store = NULL;
    if (s->backing_fd >= 0) {
        qemu_close(s->backing_fd);
        s->backing_fd = -1;
    }
fail_store:
    migrate_del_blocker(&s->migration_blocker);
}

static void virtio_vswap_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVSwap *s = VIRTIO_VSWAP(dev);
    int i;

    /*
     * Release the device's own reference and wait for the workers (the
     * transport stopped the iothread's ioeventfd already).
     */
    qatomic_dec(&s->inflight);
    AIO_WAIT_WHILE(NULL, qatomic_read(&s->inflight) > 0);
    /* No new disk job now (no timer, no request); wait for those running */
    if (s->writeback_timer) {
        timer_free(s->writeback_timer);
        s->writeback_timer = NULL;
    }
    /* A NUMA migration stops after its current step. */
    s->numa_stop = true;
    AIO_WAIT_WHILE(NULL, qatomic_read(&s->jobs) > 0);

    for (i = 0; i < s->conf.num_queues; i++) {
        virtio_delete_queue(s->vqs[i]);
    }
    g_free(s->vqs);
    s->vqs = NULL;
    virtio_cleanup(vdev);

    for (i = 0; i < VSWAP_EV__MAX; i++) {
        timer_free(s->events[i].timer);
        s->events[i].timer = NULL;
    }
    qemu_mutex_destroy(&s->event_lock);
    if (s->conf.iothread) {
        object_unref(OBJECT(s->conf.iothread));
    }
    s->ctx = NULL;
    vswap_store_destroy(s->store);
    s->store = NULL;
    /* The store used it until destroyed (vswap_store_attach_disk). */
    if (s->backing_fd >= 0) {
        qemu_close(s->backing_fd);
        s->backing_fd = -1;
    }
    migrate_del_blocker(&s->migration_blocker);
}

static void virtio_vswap_fill_info(VirtIOVSwap *s, VswapInfo *info)
{
    VswapConfig *c = g_new0(VswapConfig, 1);
    VswapStoreStats *st = g_new0(VswapStoreStats, 1);
    VswapDeviceStats *d = g_new0(VswapDeviceStats, 1);
    const uint64_t *n = s->counters;
    g_autofree struct vswap_stats *vs = g_new0(struct vswap_stats, 1);
    uint64List **lat = &st->load_latency;
    uint64List **disk_lat = &st->disk_load_latency;
    uint16List **host_nodes = &c->host_nodes;
    VswapNodeBytesList **nodes = &st->nodes;
    VswapNodeBytes *nb;
    struct timespec now;
    uint64_t age_ms = 0;
    int i;

    info->id = g_strdup(virtio_vswap_id(s));
    info->qom_path = object_get_canonical_path(OBJECT(s));

    c->size = s->conf.size;
    c->capacity = virtio_vswap_capacity(s);
    c->num_queues = s->conf.num_queues;
    c->queue_size = s->conf.queue_size;
    c->max_pages = s->conf.max_pages;
    c->compress = s->conf.compress;
    c->compress_level = s->conf.compress_level;
    c->pool_max = s->conf.pool_max;
    c->checksum = s->conf.checksum;
    c->backing_file = g_strdup(s->conf.backing_file);
    c->backing_max = s->conf.backing_max;
    c->writeback_age = s->conf.writeback_age;
    info->config = c;

    vswap_get_stats(s->store, vs);
    /* The policy in force, as the library has it. */
    c->policy = vs->mpol;
    for (i = 0; i < VSWAP_MAX_NODES; i++) {
        if (vs->mpol_nodes & BIT_ULL(i)) {
            QAPI_LIST_APPEND(host_nodes, i);
        }
    }
    st->stored_pages = vs->stored_pages;
    st->zero_pages = vs->zero_pages;
    st->same_pages = vs->same_pages;
    st->incompressible_pages = vs->incompressible_pages;
    st->compressed_pages = vs->compressed_pages;
    st->compressed_bytes = vs->compressed_bytes;
    st->pool_bytes = vs->pool_bytes;
    st->pool_bytes_peak = vs->pool_bytes_peak;
    st->meta_bytes = vs->meta_bytes;
    st->stores = vs->stores;
    st->loads = vs->loads;
    st->invalidates = vs->invalidates;
    st->invalidated_pages = vs->invalidated_pages;
    st->loads_empty = vs->loads_empty;
    st->store_nospace = vs->store_nospace;
    st->store_nomem = vs->store_nomem;
    st->integrity_errors = vs->integrity_errors;
    st->compactions = vs->compactions;
    st->compacted_bytes = vs->compacted_bytes;
    st->disk_pages = vs->disk_pages;
    st->disk_bytes = vs->disk_bytes;
    st->disk_file_bytes = vs->disk_file_bytes;
    st->writeback_pages = vs->writeback_pages;
    st->writeback_bytes = vs->writeback_bytes;
    st->writeback_ios = vs->writeback_ios;
    st->writeback_errors = vs->writeback_errors;
    st->writeback_freed_bytes = vs->writeback_freed_bytes;
    st->loads_from_disk = vs->loads_from_disk;
    st->disk_read_errors = vs->disk_read_errors;
    for (i = 0; i < VSWAP_LAT_BUCKETS; i++) {
        QAPI_LIST_APPEND(lat, vs->load_lat_hist[i]);
        QAPI_LIST_APPEND(disk_lat, vs->disk_load_lat_hist[i]);
    }
    st->segment_bytes = vs->segment_bytes;
    for (i = 0; i < VSWAP_MAX_NODES; i++) {
        if (vs->node_bytes[i]) {
            nb = g_new0(VswapNodeBytes, 1);
            nb->node = i;
            nb->pool_bytes = vs->node_bytes[i];
            QAPI_LIST_APPEND(nodes, nb);
        }
    }
    /* nodes_refreshed_ns is CLOCK_MONOTONIC, the library's clock */
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (vs->nodes_refreshed_ns) {
        age_ms = ((uint64_t)now.tv_sec * NANOSECONDS_PER_SECOND +
                  now.tv_nsec - vs->nodes_refreshed_ns) / SCALE_MS;
        st->has_nodes_age_ms = true;
        st->nodes_age_ms = age_ms;
    }
    /* Never blocks: this answer has the previous figures. */
    if (!vs->nodes_refreshed_ns || age_ms >= VIRTIO_VSWAP_NODES_MAX_AGE_MS) {
        virtio_vswap_kick_refresh(s);
    }
    st->numa_migrated_bytes = vs->migrate_bytes;
    st->numa_migrate_failures = vs->migrate_failures;
    st->numa_migrate_pending_bytes = vs->migrate_pending_bytes;
    info->store = st;

    d->requests = n[VSWAP_CNT_REQUESTS];
    d->store_requests = n[VSWAP_CNT_REQ_STORE];
    d->load_requests = n[VSWAP_CNT_REQ_LOAD];
    d->invalidate_requests = n[VSWAP_CNT_REQ_INVALIDATE];
    d->write_zeroes_requests = n[VSWAP_CNT_REQ_WRITE_ZEROES];
    d->pages_stored = n[VSWAP_CNT_PAGES_STORED];
    d->pages_loaded = n[VSWAP_CNT_PAGES_LOADED];
    d->status_ok = n[VSWAP_CNT_S_OK];
    d->status_bad_request = n[VSWAP_CNT_S_BAD_REQUEST];
    d->status_no_space = n[VSWAP_CNT_S_NO_SPACE];
    d->status_ioerr = n[VSWAP_CNT_S_IOERR];
    d->status_integrity = n[VSWAP_CNT_S_INTEGRITY];
    d->status_unsupported = n[VSWAP_CNT_S_UNSUPPORTED];
    d->bad_header = n[VSWAP_CNT_BAD_HEADER];
    d->bad_flags = n[VSWAP_CNT_BAD_FLAGS];
    d->bad_nr_pages = n[VSWAP_CNT_BAD_NR_PAGES];
    d->bad_too_many_pages = n[VSWAP_CNT_BAD_TOO_MANY_PAGES];
    d->bad_range = n[VSWAP_CNT_BAD_RANGE];
    d->bad_layout = n[VSWAP_CNT_BAD_LAYOUT];
    d->no_status = n[VSWAP_CNT_NO_STATUS];
    info->device = d;
}

/* pool-max may change at run time: the store takes the new cap at once. */
static void virtio_vswap_set_pool_max(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    VirtIOVSwap *s = VIRTIO_VSWAP(obj);
    g_autofree struct vswap_stats *vs = NULL;
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
        /* Under the new cap now, not at the next store that hits it. */
        vs = g_new0(struct vswap_stats, 1);
        vswap_get_stats(s->store, vs);
        if (s->backing_fd >= 0 && value && vs->pool_bytes > value) {
            virtio_vswap_kick_reclaim(s);
        }
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

static const PropertyInfo virtio_vswap_prop_compress = {
    .type = "VswapCompress",
    .description = "lz4/zstd/none",
    .enum_table = &VswapCompress_lookup,
    .get = qdev_propinfo_get_enum,
    .set = qdev_propinfo_set_enum,
    .set_default_value = qdev_propinfo_set_default_value_enum,
};

static const PropertyInfo virtio_vswap_prop_policy = {
    .type = "HostMemPolicy",
    .description = "host NUMA policy of the pool: default/preferred/bind/"
                   "interleave (with host-nodes)",
    .enum_table = &HostMemPolicy_lookup,
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
                       conf.queue_size, 256),
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
    DEFINE_PROP_LINK(VIRTIO_VSWAP_IOTHREAD_PROP, VirtIOVSwap, conf.iothread,
                     TYPE_IOTHREAD, IOThread *),
    DEFINE_PROP_STRING(VIRTIO_VSWAP_BACKING_FILE_PROP, VirtIOVSwap,
                       conf.backing_file),
    DEFINE_PROP_SIZE(VIRTIO_VSWAP_BACKING_MAX_PROP, VirtIOVSwap,
                     conf.backing_max, 0),
    DEFINE_PROP_UINT32(VIRTIO_VSWAP_WRITEBACK_AGE_PROP, VirtIOVSwap,
                       conf.writeback_age, 0),
    DEFINE_PROP_SIGNED(VIRTIO_VSWAP_POLICY_PROP, VirtIOVSwap, conf.policy,
                       HOST_MEM_POLICY_DEFAULT, virtio_vswap_prop_policy,
                       int),
    /* a string: a list property cannot be typed as -device key=value */
    DEFINE_PROP_STRING(VIRTIO_VSWAP_HOST_NODES_PROP, VirtIOVSwap,
                       conf.host_nodes),
    DEFINE_PROP_BIT64("mq", VirtIOVSwap, host_features,
                      VIRTIO_VSWAP_F_MQ, true),
    DEFINE_PROP_BIT64("write-zeroes", VirtIOVSwap, host_features,
                      VIRTIO_VSWAP_F_WRITE_ZEROES, true),
};

static void virtio_vswap_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);
    VirtIOVSwapClass *vsc = VIRTIO_VSWAP_CLASS(klass);

    device_class_set_props(dc, virtio_vswap_properties);
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);

    vdc->realize = virtio_vswap_realize;
    vdc->unrealize = virtio_vswap_unrealize;
    vdc->get_config = virtio_vswap_get_config;
    vdc->get_features = virtio_vswap_get_features;
    vdc->reset = virtio_vswap_reset;
    vsc->parent_start_ioeventfd = vdc->start_ioeventfd;
    vsc->parent_stop_ioeventfd = vdc->stop_ioeventfd;
    vdc->start_ioeventfd = virtio_vswap_start_ioeventfd;
    vdc->stop_ioeventfd = virtio_vswap_stop_ioeventfd;

    vsc->fill_info = virtio_vswap_fill_info;
    vsc->writeback = virtio_vswap_qmp_writeback;
    vsc->set_numa_policy = virtio_vswap_qmp_set_numa_policy;
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
