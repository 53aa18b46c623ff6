/*
 * virtio-vswap: what the device's files share
 *
 * virtio-vswap.c owns the device (queues, lifecycle, properties) and calls
 * into the disk tier (virtio-vswap-tier.c) and host NUMA placement
 * (virtio-vswap-numa.c) at fixed points: check_conf and realize in that
 * order, unrealize in reverse, fill_info, and the request path's
 * libvswap event bits.  Their properties are rows of the device's one
 * Property array; each part checks its own (*_check_conf) and the NUMA
 * part owns the PropertyInfo of policy and host-nodes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VSWAP_INTERNAL_H
#define HW_VIRTIO_VSWAP_INTERNAL_H

#include "hw/virtio/virtio-vswap.h"
#include "hw/qdev-properties.h"
#include "qapi/qapi-types-vswap.h"
#include <vswap.h>

/* virtio-vswap.c */

/* The qdev id of the proxy (or of the device); NULL if it has none. */
const char *virtio_vswap_id(VirtIOVSwap *s);
/* For messages: the id, else the QOM path.  Caller frees. */
char *virtio_vswap_name(VirtIOVSwap *s);
/* Count one occurrence of @kind and send its QMP event. */
void virtio_vswap_event(VirtIOVSwap *s, VSwapEventKind kind);
/* A background job starts / ended (s->jobs; unrealize waits for 0). */
void virtio_vswap_job_start(VirtIOVSwap *s);
void virtio_vswap_job_end(VirtIOVSwap *s);

/* virtio-vswap-tier.c: backing-file, backing-max, writeback-age */

bool virtio_vswap_tier_check_conf(VirtIOVSwap *s, Error **errp);
/* After the store exists: open and attach backing-file, start the timer. */
bool virtio_vswap_tier_realize(VirtIOVSwap *s, Error **errp);
/* Stop starting jobs (the timer); the device then waits for s->jobs. */
void virtio_vswap_tier_stop(VirtIOVSwap *s);
/* The store is going (unrealize): empty it and wipe its disk range. */
void virtio_vswap_tier_wipe(VirtIOVSwap *s);
/* After the store is destroyed: close the backing file. */
void virtio_vswap_tier_close(VirtIOVSwap *s);
/* Act on libvswap's VSWAP_EVENT_* bits taken after stores or jobs. */
void virtio_vswap_tier_events(VirtIOVSwap *s, unsigned events);
/* pool-max changed at run time (main loop). */
void virtio_vswap_tier_pool_max_changed(VirtIOVSwap *s, uint64_t pool_max);
void virtio_vswap_tier_reset(VirtIOVSwap *s);
void virtio_vswap_tier_fill_info(VirtIOVSwap *s, VswapConfig *c);
VswapWritebackResult *coroutine_fn
virtio_vswap_tier_writeback(VirtIOVSwap *s, uint64_t min_age_s,
                            uint64_t max_bytes, Error **errp);

/* virtio-vswap-numa.c: policy, host-nodes */

extern const PropertyInfo virtio_vswap_prop_policy;
extern const PropertyInfo virtio_vswap_prop_host_nodes;

bool virtio_vswap_numa_check_conf(VirtIOVSwap *s, Error **errp);
/* Stop starting jobs; the device then waits for s->jobs. */
void virtio_vswap_numa_stop(VirtIOVSwap *s);
void virtio_vswap_numa_fill_info(VirtIOVSwap *s, VswapConfig *c,
                                 VswapStoreStats *st,
                                 const struct vswap_stats *vs);
void virtio_vswap_numa_set_policy(VirtIOVSwap *s, HostMemPolicy policy,
                                  const uint16List *host_nodes,
                                  Error **errp);

/* virtio-vswap-migration.c: the store's live section, the vmstate */

extern const VMStateDescription vmstate_virtio_vswap;
/* vdc->vmsd: store_id and keep_armed */
extern const VMStateDescription vmstate_virtio_vswap_device;
/* Last in realize, first in unrealize. */
void virtio_vswap_migration_init(VirtIOVSwap *s);
void virtio_vswap_migration_fini(VirtIOVSwap *s);

#endif
