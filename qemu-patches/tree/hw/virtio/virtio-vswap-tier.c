/*
 * virtio-vswap: the disk tier
 *
 * backing-file gives the store a file (or block device) to write its
 * oldest data to: when the pool is at pool-max (pressure writeback), on
 * the writeback-age timer, and on QMP vswap-writeback.  libvswap does the
 * writing; this file opens and attaches the file and runs the jobs.
 *
 * Threads: vswap_writeback() and vswap_reclaim() block on file I/O, so
 * they run in the thread pool of the AioContext that starts them (main
 * loop: QMP, the timer, qom-set pool-max; or the iothread: a store that
 * hit the cap), never in a vCPU thread, the main loop or the iothread
 * themselves.  Their completion runs back in that AioContext.  Every job
 * is counted in s->jobs (virtio_vswap_job_start/end): unrealize stops the
 * timer, then waits for the count to drop to 0 before it destroys the
 * store, and closes the file only after that.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "system/system.h"
#include "qemu/units.h"
#include "qemu/timer.h"
#include "block/thread-pool.h"
#include "virtio-vswap-internal.h"
#include "trace.h"

/* Smallest backing-max libvswap accepts (one disk tier chunk). */
#define VIRTIO_VSWAP_BACKING_MAX_MIN    (1 * MiB)

/*
 * writeback-age timer period: a quarter of the age, so data is written
 * back at most 25% later than its age says, but at least 1 s apart
 * (each tick scans the pool's oldest segments) and at most 60 s (a long
 * age still notices new old data within a minute).
 */
#define VIRTIO_VSWAP_WB_PERIOD_MIN_S    1
#define VIRTIO_VSWAP_WB_PERIOD_MAX_S    60

/* One vswap_writeback() or vswap_reclaim() call in the thread pool. */
typedef struct VSwapDiskJob {
    VirtIOVSwap *s;
    bool reclaim;               /* vswap_reclaim(), else vswap_writeback() */
    bool release;               /* vswap_tier_release() after a reset */
    uint64_t min_age_ns;
    uint64_t max_bytes;         /* 0 = no limit */

    /* Written by the worker, read by the completion. */
    int ret;
    unsigned events;            /* vswap_take_events() after the call */
    struct vswap_writeback_result res;
} VSwapDiskJob;

bool virtio_vswap_tier_check_conf(VirtIOVSwap *s, Error **errp)
{
    VirtIOVSwapConf *conf = &s->conf;

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
    if (!conf->backing_file && conf->backing_reuse) {
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_REUSE_PROP "' needs '"
                   VIRTIO_VSWAP_BACKING_FILE_PROP "'");
        return false;
    }
    if (!conf->backing_file && conf->writeback_age) {
        error_setg(errp, "'" VIRTIO_VSWAP_WRITEBACK_AGE_PROP "' needs '"
                   VIRTIO_VSWAP_BACKING_FILE_PROP "'");
        return false;
    }
    return true;
}

static int virtio_vswap_disk_worker(void *opaque)
{
    VSwapDiskJob *job = opaque;
    struct vswap_store *store = job->s->store;

    if (job->release) {
        /* A reset from here on needs a release of its own. */
        qatomic_set(&job->s->release_pending, false);
        job->ret = vswap_tier_release(store);
    } else if (job->reclaim) {
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
 * (virtio-vswap.c), exactly.
 */
void virtio_vswap_tier_events(VirtIOVSwap *s, unsigned events)
{
    if (events & VSWAP_EVENT_DISK_FULL) {
        virtio_vswap_event(s, VSWAP_EV_WB_DISK_FULL);
    }
    if (events & VSWAP_EVENT_WRITEBACK_ERROR) {
        virtio_vswap_event(s, VSWAP_EV_WB_IO_ERROR);
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
    virtio_vswap_tier_events(s, job->events);
    virtio_vswap_job_end(s);
}

/* Completion of a job started by the timer or a kick. */
static void virtio_vswap_disk_job_done(void *opaque, int ret)
{
    VSwapDiskJob *job = opaque;

    if (job->release) {
        /* once: a guest may reset its device at will */
        if (job->ret < 0) {
            warn_report_once("virtio-vswap: cannot release '%s' after a "
                             "reset: %s (tried again at the next one)",
                             job->s->conf.backing_file,
                             vswap_strerror(job->ret));
        }
    } else if (job->reclaim) {
        qatomic_set(&job->s->reclaim_running, false);
    } else {
        job->s->writeback_running = false;
    }
    virtio_vswap_disk_job_finish(job);
    g_free(job);
}

static void virtio_vswap_disk_job_submit(VSwapDiskJob *job)
{
    virtio_vswap_job_start(job->s);
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

/*
 * After a device reset: the store dropped every slot without file I/O
 * (the reset runs in a vCPU thread, holding the BQL); the tier's space
 * goes back to the file system here, in the thread pool.
 */
void virtio_vswap_tier_reset(VirtIOVSwap *s)
{
    VSwapDiskJob *job;

    /*
     * One queued release serves every reset before it runs: a guest
     * resetting in a loop queues one job, not one per reset.
     */
    if (s->backing_fd < 0 || qatomic_xchg(&s->release_pending, true)) {
        return;
    }
    job = g_new0(VSwapDiskJob, 1);
    job->s = s;
    job->release = true;
    virtio_vswap_disk_job_submit(job);
}

/* Under the new cap now, not at the next store that hits it. */
void virtio_vswap_tier_pool_max_changed(VirtIOVSwap *s, uint64_t pool_max)
{
    if (s->backing_fd >= 0 && pool_max &&
        vswap_pool_bytes(s->store) > pool_max) {
        virtio_vswap_kick_reclaim(s);
    }
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
VswapWritebackResult *coroutine_fn
virtio_vswap_tier_writeback(VirtIOVSwap *s, uint64_t min_age_s,
                            uint64_t max_bytes, Error **errp)
{
    g_autofree char *name = virtio_vswap_name(s);
    VSwapDiskJob job = {
        .s = s,
        .max_bytes = max_bytes,
        /* an age beyond what the clock can hold: nothing is that old */
        .min_age_ns = min_age_s > UINT64_MAX / NANOSECONDS_PER_SECOND ?
                      UINT64_MAX : min_age_s * NANOSECONDS_PER_SECOND,
    };
    VswapWritebackResult *res = NULL;

    if (s->backing_fd < 0) {
        error_setg(errp, "virtio-vswap '%s' has no disk tier (property '"
                   VIRTIO_VSWAP_BACKING_FILE_PROP "')", name);
        return NULL;
    }
    if (s->writeback_running) {
        error_setg(errp, "virtio-vswap '%s': a writeback is already "
                   "running", name);
        return NULL;
    }
    s->writeback_running = true;
    /* unrealize waits for the job; the ref keeps @s for the epilogue */
    object_ref(OBJECT(s));
    virtio_vswap_job_start(s);
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
                   "%" PRIu64 " pages were written back before", name,
                   job.res.pages);
        break;
    case VSWAP_E_IO:
        error_setg(errp, "virtio-vswap '%s': writing the disk tier failed "
                   "(I/O error); the data stayed in memory; %" PRIu64
                   " pages were written back before", name, job.res.pages);
        break;
    default:
        error_setg(errp, "virtio-vswap '%s': writeback failed: %s", name,
                   vswap_strerror(job.ret));
        break;
    }
    object_unref(OBJECT(s));
    return res;
}

/*
 * Open backing-file: /dev/fdset/N as passed with add-fd (the fd set
 * must hold a read-write fd), else a path (not a symlink), created with
 * mode 0600 if missing.  The file will hold guest memory, and it is this
 * store's alone:
 * - a regular file must not be accessible to group or others;
 * - a non-empty regular file may be another VM's tier (or this VM's from
 *   a QEMU that crashed): refused unless backing-reuse=on says to discard
 *   it (a clean shutdown leaves the file empty, virtio_vswap_tier_close());
 * - an exclusive lock (as QEMU locks disk images, OFD locks) keeps a
 *   second QEMU from using it while this one runs.
 * libvswap seeds the objects' checksums per store, so even a file shared
 * behind the lock's back never passes another store's objects as this
 * one's.  Returns the fd, or -1 with @errp set.
 */
static int virtio_vswap_open_backing(VirtIOVSwap *s, Error **errp)
{
    const char *path = s->conf.backing_file;
    Error *local_err = NULL;
    struct stat st;
    int fd, fl, ret;

    if (strstart(path, "/dev/fdset/", NULL)) {
        fd = qemu_open(path, O_RDWR, &local_err);
    } else {
        fd = qemu_create(path, O_RDWR | O_NOFOLLOW, 0600, &local_err);
    }
    /*
     * Never through a symbolic link: whoever may change the link could
     * point the guest's pages at another file or disk.  Say so, not
     * ELOOP's "too many levels".
     */
    if (fd < 0 && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        error_free(local_err);
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': '%s' is a "
                   "symbolic link: give the file or device node it names "
                   "(readlink -f), or pass a file descriptor (add-fd)",
                   path);
        return -1;
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
    if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': '%s' is "
                   "accessible to group or others (mode %04o); it will "
                   "hold guest memory: make it 0600",
                   path, (unsigned)(st.st_mode & 07777));
        goto fail;
    }
    ret = qemu_lock_fd(fd, 0, 0, true);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "'" VIRTIO_VSWAP_BACKING_FILE_PROP
                         "': '%s' is in use by another process (the disk "
                         "tier of another VM?)", path);
        goto fail;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0 && !s->conf.backing_reuse) {
        error_setg(errp, "'" VIRTIO_VSWAP_BACKING_FILE_PROP "': '%s' is "
                   "not empty (%" PRId64 " bytes): it may be the disk tier "
                   "of another VM or of a QEMU that did not stop cleanly; "
                   "set '" VIRTIO_VSWAP_BACKING_REUSE_PROP "=on' to discard "
                   "its contents", path, (int64_t)st.st_size);
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

/*
 * The contents of the disk tier die with the store: a regular file is
 * left empty, so that the next QEMU of this VM may take it without
 * backing-reuse.  At unrealize (after the store is destroyed) and when
 * QEMU exits (devices are not unrealized then).
 */
static void virtio_vswap_empty_backing(VirtIOVSwap *s)
{
    struct stat st;

    if (fstat(s->backing_fd, &st) == 0 && S_ISREG(st.st_mode) &&
        ftruncate(s->backing_fd, 0) < 0) {
        warn_report("virtio-vswap: cannot empty '%s' (%s): the next "
                    "start needs '" VIRTIO_VSWAP_BACKING_REUSE_PROP "=on'",
                    s->conf.backing_file, strerror(errno));
    }
}

/*
 * The store is about to go: drop its pages, then wipe what they left on
 * disk.  A block device keeps its bytes when the store goes (no truncate
 * empties it), so the guest's swapped pages would stay readable on the
 * host after the VM; the release zeroes the range written.  Blocks on
 * that I/O: quick where the device unmaps zeroes, as long as writing the
 * range takes where it cannot (an unplug holds the BQL meanwhile).
 */
void virtio_vswap_tier_wipe(VirtIOVSwap *s)
{
    int ret;

    if (s->backing_fd < 0) {
        return;
    }
    vswap_reset_begin(s->store);
    vswap_reset(s->store);
    ret = vswap_tier_release(s->store);
    if (ret < 0) {
        warn_report("virtio-vswap: cannot wipe '%s' (%s): what the "
                    "guest's pages left on it stays there",
                    s->conf.backing_file, vswap_strerror(ret));
    }
}

/*
 * QEMU exits (the VM is stopped, the thread pool is not drained): a
 * writeback job may still be writing.  Empty the store first, which waits
 * for at most its current batch and leaves it nothing to write, so no
 * write lands after the wipe and leaves data behind.
 */
static void virtio_vswap_tier_exit(Notifier *n, void *data)
{
    VirtIOVSwap *s = container_of(n, VirtIOVSwap, backing_exit);

    virtio_vswap_tier_wipe(s);
    virtio_vswap_empty_backing(s);
}

bool virtio_vswap_tier_realize(VirtIOVSwap *s, Error **errp)
{
    if (!s->conf.backing_file) {
        return true;
    }
    s->backing_fd = virtio_vswap_open_backing(s, errp);
    if (s->backing_fd < 0) {
        return false;
    }
    if (!virtio_vswap_attach_backing(s, errp)) {
        /* the store keeps nothing of a refused fd: the caller closes it */
        return false;
    }
    s->backing_exit.notify = virtio_vswap_tier_exit;
    qemu_add_exit_notifier(&s->backing_exit);
    if (s->conf.writeback_age) {
        s->writeback_timer = timer_new_ms(QEMU_CLOCK_REALTIME,
                                          virtio_vswap_writeback_tick, s);
        timer_mod(s->writeback_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                  virtio_vswap_writeback_period_ms(s));
    }
    return true;
}

void virtio_vswap_tier_stop(VirtIOVSwap *s)
{
    if (s->writeback_timer) {
        timer_free(s->writeback_timer);
        s->writeback_timer = NULL;
    }
}

/* The store used the fd until destroyed (vswap_store_attach_disk). */
void virtio_vswap_tier_close(VirtIOVSwap *s)
{
    if (s->backing_fd < 0) {
        return;
    }
    if (s->backing_exit.notify) {
        qemu_remove_exit_notifier(&s->backing_exit);
        s->backing_exit.notify = NULL;
    }
    virtio_vswap_empty_backing(s);
    qemu_close(s->backing_fd);
    s->backing_fd = -1;
}

void virtio_vswap_tier_fill_info(VirtIOVSwap *s, VswapConfig *c)
{
    c->backing_file = g_strdup(s->conf.backing_file);
    c->backing_max = s->conf.backing_max;
    c->backing_reuse = s->conf.backing_reuse;
    c->writeback_age = s->conf.writeback_age;
}
