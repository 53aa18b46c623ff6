/*
 * virtio-vswap: a swap device backed by host memory
 *
 * The device is split by concept, one file each (hw/virtio/):
 *   virtio-vswap.c       request path and queues, lifecycle, properties
 *   virtio-vswap-tier.c  disk tier: backing file, writeback jobs and timer,
 *                        the vswap-writeback command
 *   virtio-vswap-numa.c  host NUMA placement: host-nodes, migration and
 *                        per-node refresh jobs, vswap-set-numa-policy
 *   virtio-vswap-migration.c  live migration of the store
 *   virtio-vswap-qmp.c   QMP commands (built with or without the device)
 *   virtio-vswap-hmp.c   HMP info vswap
 * virtio-vswap-internal.h holds what the device files share.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QEMU_VIRTIO_VSWAP_H
#define QEMU_VIRTIO_VSWAP_H

#include "hw/virtio/virtio.h"
#include "qemu/timer.h"
#include "system/iothread.h"
#include "qapi/qapi-types-vswap.h"
#include "qom/object.h"

#define TYPE_VIRTIO_VSWAP "virtio-vswap-device"

OBJECT_DECLARE_TYPE(VirtIOVSwap, VirtIOVSwapClass, VIRTIO_VSWAP)

/* Property names, shared with the transport proxies and the docs. */
#define VIRTIO_VSWAP_SIZE_PROP          "size"
#define VIRTIO_VSWAP_NUM_QUEUES_PROP    "num-queues"
#define VIRTIO_VSWAP_QUEUE_SIZE_PROP    "queue-size"
#define VIRTIO_VSWAP_MAX_PAGES_PROP     "max-pages"
#define VIRTIO_VSWAP_COMPRESS_PROP      "compress"
#define VIRTIO_VSWAP_LEVEL_PROP         "compress-level"
#define VIRTIO_VSWAP_POOL_MAX_PROP      "pool-max"
#define VIRTIO_VSWAP_CHECKSUM_PROP      "checksum"
#define VIRTIO_VSWAP_INLINE_BUDGET_PROP "x-inline-budget-us"
#define VIRTIO_VSWAP_IOTHREAD_PROP      "iothread"
#define VIRTIO_VSWAP_BACKING_FILE_PROP  "backing-file"
#define VIRTIO_VSWAP_BACKING_MAX_PROP   "backing-max"
#define VIRTIO_VSWAP_BACKING_REUSE_PROP "backing-reuse"
#define VIRTIO_VSWAP_WRITEBACK_AGE_PROP "writeback-age"
#define VIRTIO_VSWAP_IDLE_COMPACT_PROP  "idle-compact"
#define VIRTIO_VSWAP_POLICY_PROP        "policy"
#define VIRTIO_VSWAP_HOST_NODES_PROP    "host-nodes"

/* num-queues default: the transport picks one queue per vCPU. */
#define VIRTIO_VSWAP_AUTO_NUM_QUEUES    UINT16_MAX
/*
 * queue-size default, 0: the size the virtio core gives a queue asked for
 * VIRTIO_VSWAP_QUEUE_SIZE_AUTO entries (QEMU 10.0.13 gives every queue
 * VIRTQUEUE_MAX_SIZE whatever is asked).
 */
#define VIRTIO_VSWAP_QUEUE_SIZE_AUTO    256
/* Upper bound of num-queues (config space field is 16 bits wide). */
#define VIRTIO_VSWAP_MAX_QUEUES         256

/*
 * Operator settings; fixed once realized except pool_max, idle_compact and
 * the NUMA pair.
 */
typedef struct VirtIOVSwapConf {
    uint64_t size;              /* bytes; multiple of 4096 */
    uint16_t num_queues;        /* VIRTIO_VSWAP_AUTO_NUM_QUEUES until set */
    uint16_t queue_size;        /* 0: VIRTIO_VSWAP_QUEUE_SIZE_AUTO */
    uint32_t max_pages;         /* pages per STORE/LOAD request */
    int compress;               /* VswapCompress */
    int32_t compress_level;     /* 0 = codec default */
    uint64_t pool_max;          /* bytes; 0 = unlimited; qom-set at run time */
    bool checksum;
    uint32_t inline_budget_us;  /* inline work per notification; then pool */
    IOThread *iothread;         /* NULL: queues served by the main loop */
    char *backing_file;         /* disk tier: path or /dev/fdset/N; NULL */
    uint64_t backing_max;       /* bytes of disk tier; 0 = no cap */
    bool backing_reuse;         /* a non-empty backing file may be taken */
    uint32_t writeback_age;     /* seconds; 0 = no age writeback timer */
    uint32_t idle_compact;      /* seconds without requests; 0 = never */
    int policy;                 /* HostMemPolicy of the pool */
    uint64_t host_nodes;        /* bit n = host node n */
} VirtIOVSwapConf;

/*
 * Conditions reported as QMP events, for the running totals they carry
 * (occurrences on this device since realize).  QEMU's monitor throttles
 * the events themselves (monitor_qapi_event_conf: one per second per
 * device and kind, the last one always delivered), so a dropped event
 * loses nothing: the next one carries the sum.
 */
typedef enum VSwapEventKind {
    VSWAP_EV_NO_SPACE,          /* VSWAP_NO_SPACE */
    VSWAP_EV_INTEGRITY,         /* VSWAP_INTEGRITY_ERROR */
    VSWAP_EV_WB_DISK_FULL,      /* VSWAP_WRITEBACK_ERROR, disk-full */
    VSWAP_EV_WB_IO_ERROR,       /* VSWAP_WRITEBACK_ERROR, io-error */
    VSWAP_EV_DISK_READ,         /* VSWAP_DISK_READ_ERROR */
    VSWAP_EV__MAX
} VSwapEventKind;

struct vswap_store;
struct vswap_export;

struct VirtIOVSwap {
    VirtIODevice parent_obj;

    VirtIOVSwapConf conf;
    uint64_t host_features;     /* feature bit properties (mq, ...) */

    /* Set in realize, cleared in unrealize. */
    VirtQueue **vqs;
    struct vswap_store *store;  /* thread-safe; used by pool workers */

    /*
     * Live migration (virtio-vswap-migration.c): the store's export and
     * its record buffer while a migration saves (migration thread),
     * record bytes sent, the VM stop handler that drains requests;
     * whether a load has checked the stream's header (records and the
     * end need it first).
     */
    struct vswap_export *mig_export;
    uint8_t *mig_buf;
    uint64_t mig_sent;
    VMChangeStateEntry *mig_vm_state;
    bool mig_load_header;

    /*
     * Requests handed to the thread pool, plus one held by the device
     * from realize to unrealize (biased count): unrealize drops its
     * reference and waits for 0; reset waits for 1.  Atomic: changed in
     * the iothread, waited for in the main loop.
     */
    unsigned inflight;

    /* With an iothread: the queues' AioContext and the ioeventfd state. */
    AioContext *ctx;
    bool ioeventfd_started;
    bool ioeventfd_starting;
    bool ioeventfd_stopping;
    bool ioeventfd_disabled;    /* no notifiers: served in the vCPU thread */

    /*
     * Suspend (VIRTIO_VSWAP_F_SUSPEND): store_id names the store's
     * content and changes whenever a reset empties it.  keep_armed: the
     * driver sent SUSPEND, so device resets keep the store until it sets
     * DRIVER_OK again; a system reset other than a wake-up disarms it
     * first (system_reset's enter phase).  Atomic: SUSPEND is served in
     * the iothread, resets happen in the main loop.
     */
    uint64_t store_id;
    bool keep_armed;
    Object *system_reset;

    /*
     * What the config space tells the guest (spec 8.1: fixed until a
     * reset): conf's size / VSWAP_PAGE and max_pages, or after an
     * incoming migration the source's (at most ours) until the next
     * device reset.  Requests are checked against these.  Changed with
     * no request in flight (a reset after its drain, a migration with
     * the VM stopped).
     */
    uint64_t guest_capacity;
    uint32_t guest_max_pages;

    /*
     * Request counters, the QAPI type query-vswap returns (qapi/vswap.json
     * is their one list).  Touched only where the queues are served:
     * under the BQL, or in the iothread when there is one, so plain
     * uint64_t; query-vswap reads them without a lock (aligned 64-bit
     * loads; a value may lag by a request).
     */
    VswapDeviceStats counters;
    /* Running totals of the events; atomic (main loop and iothread). */
    uint64_t event_totals[VSWAP_EV__MAX];
    /* QOM path, set at realize: events come from the iothread too */
    char *event_path;

    /*
     * Background jobs in the thread pool (disk tier and NUMA; atomic;
     * unrealize waits for 0 after the tier and NUMA parts stopped
     * starting new ones).
     */
    unsigned jobs;

    /*
     * Disk tier (virtio-vswap-tier.c).  backing_fd: -1 without
     * backing-file.  At most one writeback (QMP or writeback_timer) at
     * a time: writeback_running, main loop only.  At most one reclaim:
     * reclaim_running, atomic (kicked from the iothread too).  At most
     * one queued release after resets: release_pending, atomic.
     */
    int backing_fd;
    Notifier backing_exit;      /* empties the file when QEMU exits */
    bool writeback_running;
    bool reclaim_running;
    bool release_pending;
    QEMUTimer *writeback_timer; /* main loop; NULL without writeback-age */

    /*
     * idle-compact, main loop only: the timer (NULL when off; virtual
     * clock, so a stopped VM is not idle), the request count its last
     * tick saw, whether this idle spell was compacted already, whether
     * that compaction still runs, and whether unrealize stopped the timer
     * for good (a qom-set of idle-compact then starts none).
     */
    QEMUTimer *idle_timer;
    uint64_t idle_requests;
    bool idle_compacted;
    bool idle_compacting;
    bool idle_stopped;

    /*
     * Host NUMA placement (virtio-vswap-numa.c), main loop only.
     * numa_migrate_again: the policy changed while a migration step ran,
     * so run another pass even if that one found nothing left.
     * numa_stop: unrealize is waiting, start nothing new.
     */
    bool numa_migrating;
    bool numa_migrate_again;
    bool nodes_refreshing;
    bool numa_stop;
};

struct VirtIOVSwapClass {
    VirtioDeviceClass parent_class;

    /* VirtioDeviceClass' defaults, used without an iothread. */
    int (*parent_start_ioeventfd)(VirtIODevice *vdev);
    void (*parent_stop_ioeventfd)(VirtIODevice *vdev);

    /* Fill one query-vswap element; used by qmp_query_vswap(). */
    void (*fill_info)(VirtIOVSwap *s, VswapInfo *info);
    /* vswap-writeback: runs in the QMP coroutine, BQL held. */
    VswapWritebackResult *coroutine_fn (*writeback)(VirtIOVSwap *s,
                                                    uint64_t min_age_s,
                                                    uint64_t max_bytes,
                                                    Error **errp);
    /* vswap-compact: runs in the QMP coroutine, BQL held. */
    VswapCompactResult *coroutine_fn (*compact)(VirtIOVSwap *s,
                                                Error **errp);
    /* vswap-set-numa-policy: main loop, BQL held; never blocks. */
    void (*set_numa_policy)(VirtIOVSwap *s, HostMemPolicy policy,
                            const uint16List *host_nodes, Error **errp);
};

#endif
