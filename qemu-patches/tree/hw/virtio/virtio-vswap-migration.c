/*
 * virtio-vswap: live migration of the store
 *
 * All of the device's migration glue is here (QEMU's SaveVMHandlers
 * change between releases).  The store goes as an iterative ("live")
 * section of libvswap's logical slot records (vswap.h: the stream): setup
 * starts libvswap's dirty log and sends the device's guest-visible
 * configuration; each iteration sends records of changed slots until the
 * rate limit; the pending estimate is the dirty slots' record bytes, so
 * QEMU's convergence test and downtime limit cover the store like RAM;
 * the stop-and-copy part is the dirty tail.  The virtqueues go in the
 * device's ordinary vmstate, after the live sections.
 *
 * Section layout (all tags and integers big-endian, QEMUFile style):
 *   HEADER   magic, stream version, capacity, max-pages, num-queues,
 *            codec, checksum, bytes stored          (setup)
 *   RECORDS  be32 length, then that many bytes of records  (any number)
 *   DONE     be64 stored pages at the source              (complete)
 *   END      end of this section
 * The destination checks the header against its own configuration and
 * every record (libvswap's vswap_import); any mismatch fails the
 * incoming migration with a message naming the device, and the source,
 * whose store the export only reads, carries on.
 *
 * Requests in flight when the VM stops are finished before anything
 * else is saved (virtio_vswap_migration_vm_state): their completions
 * write guest memory and the used ring, which must be in the final RAM
 * pass and the device's vmstate.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "qemu/cutils.h"
#include "qemu/timer.h"
#include "block/aio-wait.h"
#include "migration/misc.h"
#include "migration/qemu-file.h"
#include "migration/qemu-file-types.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "virtio-vswap-internal.h"
#include "trace.h"

#define VSWAP_MIG_MAGIC         0x56535750u     /* "VSWP" */
#define VSWAP_MIG_HEADER        1u
#define VSWAP_MIG_RECORDS       2u
#define VSWAP_MIG_DONE          3u
#define VSWAP_MIG_END           4u

/*
 * Pending bytes reported until the export's first pass over the store
 * (vswap_export_passes) is complete (see
 * virtio_vswap_state_pending): above any threshold QEMU computes from
 * bandwidth x downtime-limit, so the switchover never comes before it.
 */
#define VSWAP_MIG_FIRST_PASS    (1 * TiB)

/* Bytes of records per RECORDS chunk: both sides allocate this. */
#define VSWAP_MIG_CHUNK         (256 * KiB)

QEMU_BUILD_BUG_ON(VSWAP_MIG_CHUNK < VSWAP_REC_MAX);

/*
 * The live section's id: the device's path + this, as VFIO does (not the
 * vmstate's name, "virtio-vswap", which has the same path in front).
 */
#define VSWAP_MIG_IDSTR         "virtio-vswap-store"

static char *virtio_vswap_migration_idstr(VirtIOVSwap *s)
{
    g_autofree char *oid = vmstate_if_get_id(VMSTATE_IF(DEVICE(s)));

    return oid ? g_strdup_printf("%s/" VSWAP_MIG_IDSTR, oid) :
                 g_strdup(VSWAP_MIG_IDSTR);
}

static void virtio_vswap_mig_error(VirtIOVSwap *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static void virtio_vswap_mig_error(VirtIOVSwap *s, const char *fmt, ...)
{
    g_autofree char *name = virtio_vswap_name(s);
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("virtio-vswap %s: migration: %s", name, msg);
}

static uint8_t virtio_vswap_codec(VirtIOVSwap *s)
{
    return s->conf.compress == VSWAP_COMPRESS_ZSTD ? VSWAP_CODEC_ZSTD :
           s->conf.compress == VSWAP_COMPRESS_NONE ? VSWAP_CODEC_NONE :
           VSWAP_CODEC_LZ4;
}

/* ---- source ---- */

static int virtio_vswap_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    VirtIOVSwap *s = opaque;
    g_autofree struct vswap_stats *st = NULL;
    int ret;

    /*
     * A background snapshot saves the device state at a stop, then only
     * iterates with the VM running: the store would be saved as it is
     * after the snapshot point, not as the guest's page tables there
     * expect it (VFIO refuses it for the same reason).
     */
    if (migrate_background_snapshot()) {
        error_setg(errp, "virtio-vswap: a background snapshot cannot "
                   "save the store as of the snapshot point; use a "
                   "snapshot with the VM stopped, or migrate");
        return -EOPNOTSUPP;
    }
    st = g_new0(struct vswap_stats, 1);
    ret = vswap_export_start(s->store, &s->mig_export);
    if (ret < 0) {
        error_setg(errp, "virtio-vswap: cannot start the store's export: %s",
                   vswap_strerror(ret));
        return -EINVAL;
    }
    s->mig_buf = g_malloc(VSWAP_MIG_CHUNK);
    vswap_get_stats(s->store, st);
    qemu_put_be32(f, VSWAP_MIG_HEADER);
    qemu_put_be32(f, VSWAP_MIG_MAGIC);
    qemu_put_be32(f, VSWAP_STREAM_VERSION);
    /* The guest's limits: a destination must hold what it may send. */
    qemu_put_be64(f, s->guest_capacity);
    qemu_put_be32(f, s->guest_max_pages);
    qemu_put_be16(f, s->conf.num_queues);
    qemu_put_byte(f, virtio_vswap_codec(s));
    qemu_put_byte(f, s->conf.checksum);
    qemu_put_be64(f, st->compressed_bytes + st->disk_bytes);
    qemu_put_be32(f, VSWAP_MIG_END);
    trace_virtio_vswap_migration_setup(s, st->stored_pages);
    return qemu_file_get_error(f);
}

/*
 * How long one iteration may send, as RAM's (ram.c MAX_WAIT): without a
 * rate limit a guest that keeps the store dirty would otherwise keep the
 * migration thread here for good, RAM unsent and pending never rechecked.
 */
#define VSWAP_MIG_ITERATE_MS    50

/*
 * Send records until nothing is pending, or (unless @final) the rate
 * limit or the iteration's time says stop.  Returns 1 when nothing was
 * pending, 0 when some is left, or a negative error.
 */
static int virtio_vswap_save_records(QEMUFile *f, VirtIOVSwap *s, bool final)
{
    int64_t start = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    int64_t n;

    do {
        n = vswap_export_next(s->mig_export, s->mig_buf, VSWAP_MIG_CHUNK);
        if (n < 0) {
            virtio_vswap_mig_error(s, "cannot read the store: %s",
                                   vswap_strerror(n));
            return -EIO;
        }
        if (n == 0) {
            return 1;
        }
        qemu_put_be32(f, VSWAP_MIG_RECORDS);
        qemu_put_be32(f, n);
        qemu_put_buffer(f, s->mig_buf, n);
        s->mig_sent += n;
    } while (final || (!migration_rate_exceeded(f) &&
                       qemu_clock_get_ms(QEMU_CLOCK_REALTIME) - start <
                       VSWAP_MIG_ITERATE_MS));
    return 0;
}

static int virtio_vswap_save_live_iterate(QEMUFile *f, void *opaque)
{
    VirtIOVSwap *s = opaque;
    int ret = virtio_vswap_save_records(f, s, false);

    qemu_put_be32(f, VSWAP_MIG_END);
    return ret < 0 ? ret : qemu_file_get_error(f) ?: ret;
}

/* VM stopped, requests drained: the last dirty slots, then DONE. */
static int virtio_vswap_save_live_complete_precopy(QEMUFile *f, void *opaque)
{
    VirtIOVSwap *s = opaque;
    g_autofree struct vswap_stats *st = g_new0(struct vswap_stats, 1);
    uint64_t before = s->mig_sent;
    int ret;

    ret = virtio_vswap_save_records(f, s, true);
    if (ret < 0) {
        return ret;
    }
    vswap_get_stats(s->store, st);
    qemu_put_be32(f, VSWAP_MIG_DONE);
    qemu_put_be64(f, st->stored_pages);
    qemu_put_be32(f, VSWAP_MIG_END);
    trace_virtio_vswap_migration_complete(s, s->mig_sent - before,
                                          s->mig_sent, st->stored_pages);
    return qemu_file_get_error(f);
}

/*
 * The dirty slots' record bytes.  Until the export's first pass is
 * complete (every slot used at the start sent once), at least
 * VSWAP_MIG_FIRST_PASS: QEMU switches over when the pending bytes
 * fit bandwidth x downtime-limit, and a store that still has its bulk to
 * send must not look like a tail (an idle guest's stop-and-copy would
 * then carry most of the store, over the downtime limit; measured by
 * make bench-migration).  RAM does not need this: its pages are resent
 * when dirtied, the store's first pass is all of its data.
 */
static void virtio_vswap_state_pending(void *opaque, uint64_t *must_precopy,
                                       uint64_t *can_postcopy)
{
    VirtIOVSwap *s = opaque;
    uint64_t slots, bytes;

    if (!s->mig_export) {
        return;
    }
    vswap_export_pending(s->mig_export, &slots, &bytes);
    if (!vswap_export_passes(s->mig_export)) {
        bytes = MAX(bytes, VSWAP_MIG_FIRST_PASS);
    }
    *must_precopy += bytes;
}

static void virtio_vswap_save_cleanup(void *opaque)
{
    VirtIOVSwap *s = opaque;

    vswap_export_stop(s->mig_export);
    s->mig_export = NULL;
    g_free(s->mig_buf);
    s->mig_buf = NULL;
}

/* ---- destination ---- */

static int virtio_vswap_load_header(QEMUFile *f, VirtIOVSwap *s)
{
    uint32_t magic = qemu_get_be32(f);
    uint32_t version = qemu_get_be32(f);
    uint64_t capacity = qemu_get_be64(f);
    uint32_t max_pages = qemu_get_be32(f);
    uint16_t num_queues = qemu_get_be16(f);
    uint8_t codec = qemu_get_byte(f);
    uint8_t checksum = qemu_get_byte(f);
    uint64_t stored = qemu_get_be64(f);
    uint64_t here = s->conf.size / VSWAP_PAGE_SIZE;

    (void)checksum;     /* may differ: the destination's setting applies */
    if (qemu_file_get_error(f)) {
        return qemu_file_get_error(f);
    }
    if (magic != VSWAP_MIG_MAGIC || version != VSWAP_STREAM_VERSION) {
        virtio_vswap_mig_error(s, "not a virtio-vswap stream of version %u "
                               "(magic 0x%08x, version %u)",
                               VSWAP_STREAM_VERSION, magic, version);
        return -EINVAL;
    }
    if (capacity > here) {
        virtio_vswap_mig_error(s, "the source's size is %" PRIu64 " bytes, "
                               "this device's only %" PRIu64,
                               capacity * VSWAP_PAGE_SIZE,
                               s->conf.size);
        return -EINVAL;
    }
    if (max_pages > s->conf.max_pages) {
        virtio_vswap_mig_error(s, "the guest sends up to %u pages per "
                               "request (max-pages), this device takes %u",
                               max_pages, s->conf.max_pages);
        return -EINVAL;
    }
    if (num_queues != s->conf.num_queues) {
        virtio_vswap_mig_error(s, "the source has %u queues, this device %u",
                               num_queues, s->conf.num_queues);
        return -EINVAL;
    }
    if (!vswap_codec_name(codec)) {
        virtio_vswap_mig_error(s, "the source compresses with codec %u, "
                               "which this libvswap does not know", codec);
        return -EINVAL;
    }
    if (s->conf.pool_max && s->backing_fd < 0 && stored > s->conf.pool_max) {
        virtio_vswap_mig_error(s, "the source holds %" PRIu64 " bytes, more "
                               "than pool-max (%" PRIu64 ") and there is no "
                               "backing-file", stored, s->conf.pool_max);
        return -ENOSPC;
    }
    /*
     * The guest keeps the source's limits until its next reset (spec
     * 8.1); the store here can hold more.
     */
    s->guest_capacity = capacity;
    s->guest_max_pages = max_pages;
    trace_virtio_vswap_migration_load_header(s, capacity, stored);
    return 0;
}

/* @buf: VSWAP_MIG_CHUNK bytes, one for all the chunks of a section. */
static int virtio_vswap_load_records(QEMUFile *f, VirtIOVSwap *s,
                                     uint8_t *buf)
{
    uint32_t len = qemu_get_be32(f);
    char why[256] = "";
    int ret;

    if (qemu_file_get_error(f)) {
        return qemu_file_get_error(f);
    }
    if (len == 0 || len > VSWAP_MIG_CHUNK) {
        virtio_vswap_mig_error(s, "bad record chunk length %u", len);
        return -EINVAL;
    }
    if (qemu_get_buffer(f, buf, len) != len || qemu_file_get_error(f)) {
        virtio_vswap_mig_error(s, "stream truncated in a record chunk");
        return qemu_file_get_error(f) ?: -EIO;
    }
    ret = vswap_import(s->store, buf, len, why, sizeof(why));
    if (ret < 0) {
        virtio_vswap_mig_error(s, "%s", why);
        return ret == VSWAP_E_NOSPACE ? -ENOSPC :
               ret == VSWAP_E_NOMEM ? -ENOMEM : -EINVAL;
    }
    return 0;
}

static int virtio_vswap_load_state(QEMUFile *f, void *opaque, int version_id)
{
    VirtIOVSwap *s = opaque;
    g_autofree struct vswap_stats *st = NULL;
    g_autofree uint8_t *buf = NULL;
    uint64_t stored;
    uint32_t tag;
    int ret;

    if (version_id != 1) {
        return -EINVAL;
    }
    for (;;) {
        tag = qemu_get_be32(f);
        ret = qemu_file_get_error(f);
        if (ret) {
            return ret;
        }
        switch (tag) {
        case VSWAP_MIG_END:
            return 0;
        case VSWAP_MIG_HEADER:
            ret = virtio_vswap_load_header(f, s);
            s->mig_load_header = !ret;
            break;
        case VSWAP_MIG_RECORDS:
            /* the header's checks (version, size, pool-max) come first */
            if (!s->mig_load_header) {
                virtio_vswap_mig_error(s, "records before the header");
                return -EINVAL;
            }
            if (!buf) {
                buf = g_malloc(VSWAP_MIG_CHUNK);
            }
            ret = virtio_vswap_load_records(f, s, buf);
            break;
        case VSWAP_MIG_DONE:
            if (!s->mig_load_header) {
                virtio_vswap_mig_error(s, "end of the store before its "
                                       "header");
                return -EINVAL;
            }
            stored = qemu_get_be64(f);
            if (!st) {
                st = g_new0(struct vswap_stats, 1);
            }
            vswap_get_stats(s->store, st);
            if (!qemu_file_get_error(f) && st->stored_pages != stored) {
                virtio_vswap_mig_error(s, "the source holds %" PRIu64
                                       " pages, %" PRIu64 " arrived",
                                       stored, st->stored_pages);
                return -EINVAL;
            }
            ret = qemu_file_get_error(f);
            break;
        default:
            virtio_vswap_mig_error(s, "unknown tag 0x%x", tag);
            return -EINVAL;
        }
        if (ret) {
            return ret;
        }
    }
}

static const SaveVMHandlers virtio_vswap_savevm_handlers = {
    .save_setup = virtio_vswap_save_setup,
    .save_live_iterate = virtio_vswap_save_live_iterate,
    .save_live_complete_precopy = virtio_vswap_save_live_complete_precopy,
    .state_pending_estimate = virtio_vswap_state_pending,
    .state_pending_exact = virtio_vswap_state_pending,
    .save_cleanup = virtio_vswap_save_cleanup,
    .load_state = virtio_vswap_load_state,
};

/*
 * The VM stopped: finish the requests in flight (their completions
 * write guest memory and the used ring) before RAM's last pass and the
 * vmstate.  Registered after the transport's handler, so on a stop it
 * runs after the transport stopped the ioeventfd: no request comes in
 * after this.  Any stop, not only migration's: `stop` then `savevm`
 * needs the same.
 */
static void virtio_vswap_migration_vm_state(void *opaque, bool running,
                                            RunState state)
{
    VirtIOVSwap *s = opaque;

    if (!running) {
        AIO_WAIT_WHILE(NULL, qatomic_read(&s->inflight) > 1);
    }
}

void virtio_vswap_migration_init(VirtIOVSwap *s)
{
    g_autofree char *id = virtio_vswap_migration_idstr(s);

    register_savevm_live(id, VMSTATE_INSTANCE_ID_ANY, 1,
                         &virtio_vswap_savevm_handlers, s);
    s->mig_vm_state = qemu_add_vm_change_state_handler(
        virtio_vswap_migration_vm_state, s);
}

void virtio_vswap_migration_fini(VirtIOVSwap *s)
{
    qemu_del_vm_change_state_handler(s->mig_vm_state);
    s->mig_vm_state = NULL;
    unregister_savevm(VMSTATE_IF(DEVICE(s)), VSWAP_MIG_IDSTR, s);
    virtio_vswap_save_cleanup(s);
}

/*
 * The device's own fields in the virtio state: the store's name and
 * whether the driver suspended it (a VM may migrate while suspended to
 * RAM; its wake-up reset must keep the store on the destination too).
 */
const VMStateDescription vmstate_virtio_vswap_device = {
    .name = "virtio-vswap-device",
    .minimum_version_id = 1,
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(store_id, VirtIOVSwap),
        VMSTATE_BOOL(keep_armed, VirtIOVSwap),
        VMSTATE_END_OF_LIST()
    },
};

/* The virtqueues and features, after the store's live section. */
const VMStateDescription vmstate_virtio_vswap = {
    .name = "virtio-vswap",
    .minimum_version_id = 1,
    .version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_VIRTIO_DEVICE,
        VMSTATE_END_OF_LIST()
    },
};
