/*
 * virtio-vswap: HMP info vswap
 *
 * The human-readable form of query-vswap: one block per device.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands-vswap.h"

static void hmp_vswap_print_numa(Monitor *mon, const VswapInfo *info)
{
    const VswapConfig *c = info->config;
    const VswapStoreStats *st = info->store;
    const uint16List *h;
    const VswapNodeBytesList *l;

    monitor_printf(mon, "  numa: policy %s", HostMemPolicy_str(c->policy));
    for (h = c->host_nodes; h; h = h->next) {
        monitor_printf(mon, "%s%u", h == c->host_nodes ? " host-nodes " : ",",
                       h->value);
    }
    monitor_printf(mon, "; segment bytes %" PRIu64 "; migrated %" PRIu64
                   " bytes, failures %" PRIu64 ", pending %" PRIu64
                   " bytes\n", st->segment_bytes, st->numa_migrated_bytes,
                   st->numa_migrate_failures,
                   st->numa_migrate_pending_bytes);
    if (!st->has_nodes_age_ms) {
        monitor_printf(mon, "  pool bytes per host node: not read yet\n");
        return;
    }
    monitor_printf(mon, "  pool bytes per host node (%" PRIu64 " ms ago):",
                   st->nodes_age_ms);
    for (l = st->nodes; l; l = l->next) {
        monitor_printf(mon, " %u:%" PRIu64, l->value->node,
                       l->value->pool_bytes);
    }
    monitor_printf(mon, "%s\n", st->nodes ? "" : " none");
}

static void hmp_vswap_print_one(Monitor *mon, const VswapInfo *info)
{
    const VswapConfig *c = info->config;
    const VswapStoreStats *st = info->store;
    const VswapDeviceStats *d = info->device;
    const uint64List *l;
    int i;

    monitor_printf(mon, "%s (%s):\n", info->id ? info->id : "(no id)",
                   info->qom_path);
    monitor_printf(mon, "  size %" PRIu64 " bytes (%" PRIu64 " slots), "
                   "%u queues of %u, max-pages %u\n",
                   c->size, c->capacity, c->num_queues, c->queue_size,
                   c->max_pages);
    monitor_printf(mon, "  compress %s level %" PRId64 ", pool-max %"
                   PRIu64 " bytes%s, checksum %s, idle-compact %u s%s\n",
                   VswapCompress_str(c->compress), c->compress_level,
                   c->pool_max, c->pool_max ? "" : " (unlimited)",
                   c->checksum ? "on" : "off", c->idle_compact,
                   c->idle_compact ? "" : " (off)");
    monitor_printf(mon, "  pages: stored %" PRIu64 ", zero %" PRIu64
                   ", same %" PRIu64 ", compressed %" PRIu64
                   ", incompressible %" PRIu64 "\n",
                   st->stored_pages, st->zero_pages, st->same_pages,
                   st->compressed_pages, st->incompressible_pages);
    monitor_printf(mon, "  bytes: compressed %" PRIu64 ", pool %" PRIu64
                   " (peak %" PRIu64 "), meta %" PRIu64 "\n",
                   st->compressed_bytes, st->pool_bytes,
                   st->pool_bytes_peak, st->meta_bytes);
    monitor_printf(mon, "  store ops: stores %" PRIu64 ", loads %" PRIu64
                   " (empty %" PRIu64 "), invalidates %" PRIu64
                   " (%" PRIu64 " pages)\n",
                   st->stores, st->loads, st->loads_empty, st->invalidates,
                   st->invalidated_pages);
    monitor_printf(mon, "  store errors: nospace %" PRIu64 ", nomem %"
                   PRIu64 ", integrity %" PRIu64 "; compactions %" PRIu64
                   " (%" PRIu64 " bytes)\n",
                   st->store_nospace, st->store_nomem, st->integrity_errors,
                   st->compactions, st->compacted_bytes);
    monitor_printf(mon, "  requests %" PRIu64 ": store %" PRIu64 ", load %"
                   PRIu64 ", invalidate %" PRIu64 ", write-zeroes %" PRIu64
                   "; pages stored %" PRIu64 ", loaded %" PRIu64 "\n",
                   d->requests, d->store_requests, d->load_requests,
                   d->invalidate_requests, d->write_zeroes_requests,
                   d->pages_stored, d->pages_loaded);
    monitor_printf(mon, "  status: ok %" PRIu64 ", bad-request %" PRIu64
                   ", no-space %" PRIu64 ", ioerr %" PRIu64 ", integrity %"
                   PRIu64 ", unsupported %" PRIu64 "\n",
                   d->status_ok, d->status_bad_request, d->status_no_space,
                   d->status_ioerr, d->status_integrity,
                   d->status_unsupported);
    monitor_printf(mon, "  bad requests: header %" PRIu64 ", flags %" PRIu64
                   ", nr-pages %" PRIu64 ", too-many-pages %" PRIu64
                   ", range %" PRIu64 ", layout %" PRIu64 ", no-status %"
                   PRIu64 "\n",
                   d->bad_header, d->bad_flags, d->bad_nr_pages,
                   d->bad_too_many_pages, d->bad_range, d->bad_layout,
                   d->no_status);
    monitor_printf(mon, "  bad memory %" PRIu64 "; kicks %" PRIu64
                   ", notifies %" PRIu64 "; thread pool %" PRIu64
                   " (over the inline budget %" PRIu64 ")\n",
                   d->bad_memory, d->kicks, d->notifies, d->pool_requests,
                   d->over_budget_requests);
    monitor_printf(mon, "  load latency (ns bucket >= 2^i: count):");
    for (l = st->load_latency, i = 0; l; l = l->next, i++) {
        if (l->value) {
            monitor_printf(mon, " %d:%" PRIu64, i, l->value);
        }
    }
    monitor_printf(mon, "\n");
    hmp_vswap_print_numa(mon, info);
    if (!c->backing_file) {
        monitor_printf(mon, "  disk tier: none\n");
        return;
    }
    monitor_printf(mon, "  disk tier: backing-file %s, backing-max %" PRIu64
                   " bytes%s, writeback-age %u s%s\n",
                   c->backing_file, c->backing_max,
                   c->backing_max ? "" : " (no cap)", c->writeback_age,
                   c->writeback_age ? "" : " (off)");
    monitor_printf(mon, "  disk: pages %" PRIu64 ", bytes %" PRIu64
                   ", file bytes %" PRIu64 "; loads from disk %" PRIu64
                   ", read errors %" PRIu64 "\n",
                   st->disk_pages, st->disk_bytes, st->disk_file_bytes,
                   st->loads_from_disk, st->disk_read_errors);
    monitor_printf(mon, "  writeback: pages %" PRIu64 ", bytes %" PRIu64
                   ", ios %" PRIu64 ", pool freed %" PRIu64 " bytes, errors %"
                   PRIu64 "\n",
                   st->writeback_pages, st->writeback_bytes,
                   st->writeback_ios, st->writeback_freed_bytes,
                   st->writeback_errors);
    monitor_printf(mon, "  disk load latency (ns bucket >= 2^i: count):");
    for (l = st->disk_load_latency, i = 0; l; l = l->next, i++) {
        if (l->value) {
            monitor_printf(mon, " %d:%" PRIu64, i, l->value);
        }
    }
    monitor_printf(mon, "\n");
}

void hmp_info_vswap(Monitor *mon, const QDict *qdict)
{
    g_autoptr(VswapInfoList) list = qmp_query_vswap(NULL);
    VswapInfoList *e;

    if (!list) {
        monitor_printf(mon, "No virtio-vswap device\n");
        return;
    }
    for (e = list; e; e = e->next) {
        hmp_vswap_print_one(mon, e->value);
    }
}
