/*
 * virtio-vswap: host NUMA placement of the pool
 *
 * policy and host-nodes say where the store's pool memory lives, with the
 * meaning memory backends give them; vswap-set-numa-policy changes them at
 * run time.  libvswap applies the policy (mbind on its arenas), moves what
 * is already in the pool (vswap_migrate) and reports where the pages are
 * (vswap_refresh_nodes); this file validates, and runs the two blocking
 * calls as jobs in the main loop's thread pool.
 *
 * host-nodes is a list of node numbers, as for memory backends: with
 * -device it is given in JSON form ("host-nodes": [0, 1]); -global and
 * the qom-set of HMP take "0-1,3" (QEMU's string visitor reads integer
 * lists with ranges).  -device key=value cannot carry a list at all.
 *
 * Threads: everything here runs in the main loop with the BQL, but the
 * job workers, which only call libvswap.  Jobs are counted in s->jobs;
 * unrealize sets numa_stop (no new job, a migration stops after its
 * current step) and the device waits for the count.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-builtin-visit.h"
#include "qapi/visitor.h"
#include "qemu/bitops.h"
#include "qemu/units.h"
#include "block/thread-pool.h"
#include "hw/core/qdev-prop-internal.h"
#include "virtio-vswap-internal.h"
#include "trace.h"

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

/* One vswap_migrate() step or vswap_refresh_nodes() in the thread pool. */
typedef struct VSwapNumaJob {
    VirtIOVSwap *s;
    bool refresh;               /* vswap_refresh_nodes(), else a step */

    /* Written by the worker, read by the completion. */
    int ret;
    struct vswap_migrate_result res;
} VSwapNumaJob;

const PropertyInfo virtio_vswap_prop_policy = {
    .type = "HostMemPolicy",
    .description = "host NUMA policy of the pool: default/preferred/bind/"
                   "interleave (with host-nodes)",
    .enum_table = &HostMemPolicy_lookup,
    .get = qdev_propinfo_get_enum,
    .set = qdev_propinfo_set_enum,
    .set_default_value = qdev_propinfo_set_default_value_enum,
};

/* Node list <-> mask; a node above VSWAP_MAX_NODES - 1 is refused. */
static bool virtio_vswap_nodes_to_mask(const uint16List *nodes,
                                       uint64_t *mask, Error **errp)
{
    const uint16List *l;

    *mask = 0;
    for (l = nodes; l; l = l->next) {
        if (l->value >= VSWAP_MAX_NODES) {
            error_setg(errp, "host node %u is above the highest supported, "
                       "%d", l->value, VSWAP_MAX_NODES - 1);
            return false;
        }
        *mask |= BIT_ULL(l->value);
    }
    return true;
}

static uint16List *virtio_vswap_mask_to_nodes(uint64_t mask)
{
    uint16List *nodes = NULL, **tail = &nodes;
    int n;

    for (n = 0; n < VSWAP_MAX_NODES; n++) {
        if (mask & BIT_ULL(n)) {
            QAPI_LIST_APPEND(tail, n);
        }
    }
    return nodes;
}

static void virtio_vswap_get_host_nodes(Object *obj, Visitor *v,
                                        const char *name, void *opaque,
                                        Error **errp)
{
    uint64_t *mask = object_field_prop_ptr(obj, opaque);
    g_autoptr(uint16List) nodes = virtio_vswap_mask_to_nodes(*mask);

    visit_type_uint16List(v, name, &nodes, errp);
}

static void virtio_vswap_set_host_nodes(Object *obj, Visitor *v,
                                        const char *name, void *opaque,
                                        Error **errp)
{
    ERRP_GUARD();
    uint64_t *mask = object_field_prop_ptr(obj, opaque);
    g_autoptr(uint16List) nodes = NULL;
    uint64_t value;

    if (!visit_type_uint16List(v, name, &nodes, errp)) {
        return;
    }
    if (!virtio_vswap_nodes_to_mask(nodes, &value, errp)) {
        error_prepend(errp, "'" VIRTIO_VSWAP_HOST_NODES_PROP "': ");
        return;
    }
    *mask = value;
}

const PropertyInfo virtio_vswap_prop_host_nodes = {
    .type = "uint16List",
    .description = "host NUMA nodes of the pool, as a list ([0, 1] in "
                   "JSON -device)",
    .get = virtio_vswap_get_host_nodes,
    .set = virtio_vswap_set_host_nodes,
};

/* The policy and its nodes, checked against the running host. */
bool virtio_vswap_numa_check_conf(VirtIOVSwap *s, Error **errp)
{
    g_autoptr(uint16List) nodes = virtio_vswap_mask_to_nodes(
        s->conf.host_nodes);
    g_autoptr(GString) list = g_string_new(NULL);
    const uint16List *l;
    char why[256];

    /* libvswap's reason names the node or the rule the setting broke */
    if (vswap_mempolicy_check((enum vswap_mempolicy)s->conf.policy,
                              s->conf.host_nodes, why, sizeof(why)) == 0) {
        return true;
    }
    for (l = nodes; l; l = l->next) {
        g_string_append_printf(list, "%s%u", l == nodes ? "" : ", ",
                               l->value);
    }
    error_setg(errp, "'" VIRTIO_VSWAP_POLICY_PROP "=%s', '"
               VIRTIO_VSWAP_HOST_NODES_PROP "=[%s]': %s",
               HostMemPolicy_str(s->conf.policy), list->str, why);
    return false;
}

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
    virtio_vswap_job_start(s);
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
    virtio_vswap_job_end(s);
}

void virtio_vswap_numa_stop(VirtIOVSwap *s)
{
    s->numa_stop = true;
}

/*
 * vswap-set-numa-policy, main loop, BQL held.  Validates, changes the
 * store's policy (one mbind per 64 MiB arena, no copy) and leaves the
 * moving of what is already in the pool to the background migration.
 */
void virtio_vswap_numa_set_policy(VirtIOVSwap *s, HostMemPolicy policy,
                                  const uint16List *host_nodes, Error **errp)
{
    ERRP_GUARD();
    g_autofree char *name = virtio_vswap_name(s);
    uint64_t mask;
    char why[256];
    int ret;

    if (!virtio_vswap_nodes_to_mask(host_nodes, &mask, errp)) {
        error_prepend(errp, "virtio-vswap '%s': ", name);
        return;
    }
    if (vswap_mempolicy_check((enum vswap_mempolicy)policy, mask, why,
                              sizeof(why)) < 0) {
        error_setg(errp, "virtio-vswap '%s': %s", name, why);
        return;
    }
    ret = vswap_store_set_mempolicy(s->store, (enum vswap_mempolicy)policy,
                                    mask);
    if (ret < 0) {
        error_setg(errp, "virtio-vswap '%s': the kernel refused the NUMA "
                   "policy (%s); the previous one stays", name,
                   vswap_strerror(ret));
        return;
    }
    trace_virtio_vswap_set_numa_policy(s, HostMemPolicy_str(policy), mask);
    s->conf.policy = policy;
    s->conf.host_nodes = mask;
    virtio_vswap_kick_migrate(s);
}

void virtio_vswap_numa_fill_info(VirtIOVSwap *s, VswapConfig *c,
                                 VswapStoreStats *st,
                                 const struct vswap_stats *vs)
{
    VswapNodeBytesList **nodes = &st->nodes;
    VswapNodeBytes *nb;
    struct timespec now;
    uint64_t age_ms = 0;
    int i;

    /* The policy in force, as the library has it. */
    c->policy = vs->mpol;
    c->host_nodes = virtio_vswap_mask_to_nodes(vs->mpol_nodes);

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
}
