/*
 * virtio-vswap: a swap device backed by host memory
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QEMU_VIRTIO_VSWAP_H
#define QEMU_VIRTIO_VSWAP_H

#include "hw/virtio/virtio.h"
#include "qemu/thread.h"
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
#define VIRTIO_VSWAP_IOTHREAD_PROP      "iothread"
#define VIRTIO_VSWAP_BACKING_FILE_PROP  "backing-file"
#define VIRTIO_VSWAP_BACKING_MAX_PROP   "backing-max"
#define VIRTIO_VSWAP_WRITEBACK_AGE_PROP "writeback-age"
#define VIRTIO_VSWAP_POLICY_PROP        "policy"
#define VIRTIO_VSWAP_HOST_NODES_PROP    "host-nodes"

/* num-queues default: the transport picks one queue per vCPU. */
#define VIRTIO_VSWAP_AUTO_NUM_QUEUES    UINT16_MAX
/* Upper bound of num-queues (config space field is 16 bits wide). */
#define VIRTIO_VSWAP_MAX_QUEUES         256

/* Operator settings; fixed once realized except pool_max. */
typedef struct VirtIOVSwapConf {
    uint64_t size;              /* bytes; multiple of 4096 */
    uint16_t num_queues;        /* VIRTIO_VSWAP_AUTO_NUM_QUEUES until set */
    uint16_t queue_size;
    uint32_t max_pages;         /* pages per STORE/LOAD request */
    int compress;               /* VswapCompress */
    int32_t compress_level;     /* 0 = codec default */
    uint64_t pool_max;          /* bytes; 0 = unlimited; qom-set at run time */
    bool checksum;
    IOThread *iothread;         /* NULL: queues served by the main loop */
    char *backing_file;         /* disk tier: path or /dev/fdset/N; NULL */
    uint64_t backing_max;       /* bytes of disk tier; 0 = no cap */
    uint32_t writeback_age;     /* seconds; 0 = no age writeback timer */
    int policy;                 /* HostMemPolicy of the pool */
    char *host_nodes;           /* numactl-style list ("0-1,3"); NULL */
} VirtIOVSwapConf;

/*
 * Device counters.  Touched only where the queues are served: under the
 * BQL, or in the iothread when there is one (request parsing and
 * completion both run there), so plain uint64_t; query-vswap reads them
 * without a lock (aligned 64-bit loads; a value may lag by a request).
 * Names for traces and HMP come from vswap_counter_names[].
 */
typedef enum VSwapCounter {
    VSWAP_CNT_REQUESTS,
    VSWAP_CNT_REQ_STORE,
    VSWAP_CNT_REQ_LOAD,
    VSWAP_CNT_REQ_INVALIDATE,
    VSWAP_CNT_REQ_WRITE_ZEROES,
    VSWAP_CNT_PAGES_STORED,
    VSWAP_CNT_PAGES_LOADED,
    VSWAP_CNT_S_OK,
    VSWAP_CNT_S_BAD_REQUEST,
    VSWAP_CNT_S_NO_SPACE,
    VSWAP_CNT_S_IOERR,
    VSWAP_CNT_S_INTEGRITY,
    VSWAP_CNT_S_UNSUPPORTED,
    VSWAP_CNT_BAD_HEADER,
    VSWAP_CNT_BAD_FLAGS,
    VSWAP_CNT_BAD_NR_PAGES,
    VSWAP_CNT_BAD_TOO_MANY_PAGES,
    VSWAP_CNT_BAD_RANGE,
    VSWAP_CNT_BAD_LAYOUT,
    VSWAP_CNT_NO_STATUS,
    VSWAP_CNT__MAX
} VSwapCounter;

struct vswap_store;

/* Rate-limited QMP events of a device. */
typedef enum VSwapEventKind {
    VSWAP_EV_NO_SPACE,          /* VSWAP_NO_SPACE */
    VSWAP_EV_INTEGRITY,         /* VSWAP_INTEGRITY_ERROR */
    VSWAP_EV_WB_DISK_FULL,      /* VSWAP_WRITEBACK_ERROR, disk-full */
    VSWAP_EV_WB_IO_ERROR,       /* VSWAP_WRITEBACK_ERROR, io-error */
    VSWAP_EV_DISK_READ,         /* VSWAP_DISK_READ_ERROR */
    VSWAP_EV__MAX
} VSwapEventKind;

typedef struct VSwapEventState {
    VirtIOVSwap *s;
    VSwapEventKind kind;
    QEMUTimer *timer;           /* main loop */
    int64_t last_ms;            /* QEMU_CLOCK_REALTIME of the last event */
    uint64_t pending;           /* occurrences not yet reported */
} VSwapEventState;

struct VirtIOVSwap {
    VirtIODevice parent_obj;

    VirtIOVSwapConf conf;
    uint64_t host_features;     /* feature bit properties (mq, ...) */

    /* Set in realize, cleared in unrealize. */
    VirtQueue **vqs;
    struct vswap_store *store;  /* thread-safe; used by pool workers */
    int backing_fd;             /* disk tier file; -1 without backing-file */
    Error *migration_blocker;

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

    uint64_t counters[VSWAP_CNT__MAX];

    /*
     * Disk tier jobs (vswap_writeback, vswap_reclaim) in the thread pool.
     * jobs counts them (atomic; unrealize waits for 0).  At most one
     * writeback (QMP or writeback_timer) at a time: writeback_running,
     * main loop only.  At most one reclaim: reclaim_running, atomic
     * (kicked from the iothread too).
     */
    unsigned jobs;
    bool writeback_running;
    bool reclaim_running;
    QEMUTimer *writeback_timer; /* main loop; NULL without writeback-age */

    /*
     * Host NUMA placement.  host_node_mask is conf.host_nodes parsed
     * (bit n = host node n); both follow vswap-set-numa-policy.  The
     * library's migration (vswap_migrate) and per-node refresh
     * (vswap_refresh_nodes) run in the main loop's thread pool, counted
     * in jobs, one of each at a time; these flags are main loop only.
     * numa_migrate_again: the policy changed while a migration job ran,
     * so run another pass even if that one found nothing left.
     * numa_stop: unrealize is waiting, start nothing new.
     */
    uint64_t host_node_mask;
    bool numa_migrating;
    bool numa_migrate_again;
    bool nodes_refreshing;
    bool numa_stop;

    /*
     * Event rate limit (VSWAP_NO_SPACE, VSWAP_INTEGRITY_ERROR,
     * VSWAP_WRITEBACK_ERROR per reason, VSWAP_DISK_READ_ERROR): at most
     * one event of each kind per second.  The timers run in the main loop;
     * event_lock protects the state against completions in the
     * iothread.
     */
    QemuMutex event_lock;
    VSwapEventState events[VSWAP_EV__MAX];
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
    /* vswap-set-numa-policy: main loop, BQL held; never blocks. */
    void (*set_numa_policy)(VirtIOVSwap *s, HostMemPolicy policy,
                            const uint16List *host_nodes, Error **errp);
};

#endif
