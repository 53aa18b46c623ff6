// SPDX-License-Identifier: MIT
/*
 * vswapctl: the field table (see fields.h). Order here is the order of the
 * table columns, the --json keys and the Prometheus families.
 *
 * QMP pointers follow qapi/vswap.json of the QEMU series (VswapInfo):
 * configuration under "config" (VswapConfig), the store's counters (struct
 * vswap_stats, kebab-case) under "store" (VswapStoreStats), request counters
 * under "device" (VswapDeviceStats). Every pointer below is a member of the
 * series (tests/vswapctl/real_qemu.sh lists any the running QEMU lacks);
 * the NUMA ones (qemu-patches 0014, docs/numa.md) keep vswap_stats' names
 * except the migration counters, which say "numa-" in QMP.
 */
#include <string.h>

#include <json-c/json_pointer.h>

#include "fields.h"
#include "util.h"

const struct field vswap_fields[] = {
	/* configuration */
	[F_CAPACITY_BYTES] = {
		"/config/size", 0, "capacity_bytes", "CAPACITY", FK_BYTES, FM_GAUGE,
		"Virtual swap size the device advertises to the guest, in bytes." },
	[F_CODEC] = {
		"/config/compress", 0, "codec", "ALGO", FK_STRING, FM_NONE,
		"Compression codec of the store." },
	[F_POOL_MAX_BYTES] = {
		"/config/pool-max", 0, "pool_max_bytes", "POOL-MAX", FK_BYTES, FM_GAUGE,
		"Cap on host pool memory in bytes (0 = unlimited)." },
	[F_NUMA_POLICY] = {
		QMP_CONFIG_POLICY, 0, "numa_policy", NULL, FK_STRING, FM_NONE,
		"Host NUMA policy of the pool (default, preferred, bind, interleave)." },

	/* current content */
	[F_STORED_PAGES] = {
		"/store/stored-pages", 0, "stored_pages", "STORED", FK_COUNT, FM_GAUGE,
		"Slots holding a page, all kinds." },
	[F_ZERO_PAGES] = {
		"/store/zero-pages", 0, "zero_pages", "ZERO", FK_COUNT, FM_GAUGE,
		"All-zero pages (no pool memory)." },
	[F_SAME_PAGES] = {
		"/store/same-pages", 0, "same_pages", "SAME", FK_COUNT, FM_GAUGE,
		"Same-filled non-zero pages (no pool memory)." },
	[F_INCOMPRESSIBLE_PAGES] = {
		"/store/incompressible-pages", 0, "incompressible_pages", NULL, FK_COUNT, FM_GAUGE,
		"Pages stored as-is, 4096 bytes each." },
	[F_COMPRESSED_PAGES] = {
		"/store/compressed-pages", 0, "compressed_pages", NULL, FK_COUNT, FM_GAUGE,
		"Pages stored compressed." },
	[F_COMPRESSED_BYTES] = {
		"/store/compressed-bytes", 0, "compressed_bytes", "COMPR", FK_BYTES, FM_GAUGE,
		"Payload bytes of pool objects (as-is pages included)." },
	[F_POOL_BYTES] = {
		"/store/pool-bytes", 0, "pool_bytes", "POOL", FK_BYTES, FM_GAUGE,
		"Host memory held by the store: segments plus metadata, in bytes." },
	[F_POOL_BYTES_PEAK] = {
		"/store/pool-bytes-peak", 0, "pool_bytes_peak", NULL, FK_BYTES, FM_GAUGE,
		"High-water mark of pool_bytes." },
	[F_META_BYTES] = {
		"/store/meta-bytes", 0, "meta_bytes", NULL, FK_BYTES, FM_GAUGE,
		"Slot table and per-object header bytes." },
	[F_RATIO] = {
		NULL, 0, "ratio", "RATIO", FK_RATIO, FM_GAUGE,
		"Logical stored bytes (stored pages * 4096) per host pool byte." },
	[F_NODE_BYTES] = {
		"/store/nodes", 0, "node_bytes", "NODES", FK_NODES, FM_GAUGE,
		"Pool bytes resident on each host NUMA node." },
	[F_NODE_BYTES_AGE_MS] = {
		"/store/nodes-age-ms", 0, "node_bytes_age_ms", NULL, FK_COUNT, FM_GAUGE,
		"Age of node_bytes in milliseconds (QEMU refreshes it when older than 1 s)." },
	[F_SEGMENT_BYTES] = {
		"/store/segment-bytes", 0, "segment_bytes", NULL, FK_BYTES, FM_GAUGE,
		"Pool bytes in segments, the part the NUMA policy places." },
	[F_NUMA_MIGRATE_PENDING_BYTES] = {
		"/store/numa-migrate-pending-bytes", 0, "numa_migrate_pending_bytes",
		NULL, FK_BYTES, FM_GAUGE,
		"Pool bytes placed before the last NUMA policy change, still to be examined." },
	[F_DISK_BYTES] = {
		"/store/disk-bytes", 0, "disk_bytes", "DISK", FK_BYTES, FM_GAUGE,
		"Payload bytes on the disk tier (as stored, compressed)." },
	[F_DISK_PAGES] = {
		"/store/disk-pages", 0, "disk_pages", NULL, FK_COUNT, FM_GAUGE,
		"Slots whose page is on the disk tier." },
	[F_DISK_FILE_BYTES] = {
		"/store/disk-file-bytes", 0, "disk_file_bytes", NULL, FK_BYTES, FM_GAUGE,
		"Disk tier file blocks allocated, in bytes." },

	/* operation counts */
	[F_STORES] = {
		"/store/stores", 0, "stores", NULL, FK_COUNT, FM_COUNTER,
		"STORE requests served." },
	[F_LOADS] = {
		"/store/loads", 0, "loads", NULL, FK_COUNT, FM_COUNTER,
		"LOAD requests served." },
	[F_INVALIDATES] = {
		"/store/invalidates", 0, "invalidates", NULL, FK_COUNT, FM_COUNTER,
		"INVALIDATE requests served." },
	[F_INVALIDATED_PAGES] = {
		"/store/invalidated-pages", 0, "invalidated_pages", NULL, FK_COUNT, FM_COUNTER,
		"Slots that held a page when invalidated." },
	[F_LOADS_EMPTY] = {
		"/store/loads-empty", 0, "loads_empty", NULL, FK_COUNT, FM_COUNTER,
		"Loads of slots holding nothing." },
	[F_STORE_NOSPACE] = {
		"/store/store-nospace", 0, "store_nospace", NULL, FK_COUNT, FM_COUNTER,
		"Stores refused with no-space." },
	[F_STORE_NOMEM] = {
		"/store/store-nomem", 0, "store_nomem", NULL, FK_COUNT, FM_COUNTER,
		"Stores refused because a host allocation failed." },
	[F_INTEGRITY_ERRORS] = {
		"/store/integrity-errors", 0, "integrity_errors", NULL, FK_COUNT, FM_COUNTER,
		"Loads that failed their checksum." },
	[F_COMPACTIONS] = {
		"/store/compactions", 0, "compactions", NULL, FK_COUNT, FM_COUNTER,
		"Pool segments compacted." },
	[F_COMPACTED_BYTES] = {
		"/store/compacted-bytes", 0, "compacted_bytes", NULL, FK_BYTES, FM_COUNTER,
		"Live bytes moved by compaction." },
	[F_WRITEBACK_PAGES] = {
		"/store/writeback-pages", 0, "writeback_pages", "WB-PAGES", FK_COUNT, FM_COUNTER,
		"Pages written back from the pool to the disk tier." },
	[F_WRITEBACK_BYTES] = {
		"/store/writeback-bytes", 0, "writeback_bytes", NULL, FK_BYTES, FM_COUNTER,
		"Bytes written back to the disk tier." },
	[F_WRITEBACK_IOS] = {
		"/store/writeback-ios", 0, "writeback_ios", NULL, FK_COUNT, FM_COUNTER,
		"Write system calls of writeback." },
	[F_WRITEBACK_ERRORS] = {
		"/store/writeback-errors", 0, "writeback_errors", NULL, FK_COUNT, FM_COUNTER,
		"Failed writeback writes; their data stayed in memory." },
	[F_WRITEBACK_FREED_BYTES] = {
		"/store/writeback-freed-bytes", 0, "writeback_freed_bytes", NULL, FK_BYTES, FM_COUNTER,
		"Pool bytes freed by writeback." },
	[F_LOADS_FROM_DISK] = {
		"/store/loads-from-disk", 0, "loads_from_disk", NULL, FK_COUNT, FM_COUNTER,
		"Loads served from the disk tier." },
	[F_DISK_READ_ERRORS] = {
		"/store/disk-read-errors", 0, "disk_read_errors", NULL, FK_COUNT, FM_COUNTER,
		"Loads that failed reading the disk tier." },
	[F_NUMA_MIGRATED_BYTES] = {
		"/store/numa-migrated-bytes", 0, "numa_migrated_bytes", NULL, FK_BYTES, FM_COUNTER,
		"Pool bytes moved to the nodes of a new NUMA policy." },
	[F_NUMA_MIGRATE_FAILURES] = {
		"/store/numa-migrate-failures", 0, "numa_migrate_failures", NULL, FK_COUNT, FM_COUNTER,
		"Pool pages the kernel did not move (busy, target node full); data intact." },

	/* request counters of the device (VswapDeviceStats) */
	[F_REQUESTS] = {
		"/device/requests", 0, "requests", NULL, FK_COUNT, FM_COUNTER,
		"Requests taken from the virtqueues." },
	[F_BAD_REQUESTS] = {
		"/device/status-bad-request", 0, "bad_requests", NULL, FK_COUNT,
		FM_COUNTER, "Requests completed with BAD_REQUEST (malformed)." },
	[F_NOSPACE_REQUESTS] = {
		"/device/status-no-space", 0, "nospace_requests", NULL, FK_COUNT,
		FM_COUNTER, "Requests completed with NO_SPACE." },
	[F_IOERR_REQUESTS] = {
		"/device/status-ioerr", 0, "ioerr_requests", NULL, FK_COUNT,
		FM_COUNTER, "Requests completed with IOERR." },
};
const unsigned int vswap_nr_fields = ARRAY_SIZE(vswap_fields);
_Static_assert(ARRAY_SIZE(vswap_fields) == F__COUNT,
	       "every enum field_id has its row in vswap_fields[]");

const struct setting vswap_settings[] = {
	{ "pool-max", "pool-max", FK_BYTES, F_POOL_MAX_BYTES,
	  "cap on host pool memory (SIZE, 0 = unlimited)" },
};
const unsigned int vswap_nr_settings = ARRAY_SIZE(vswap_settings);

const struct setting *setting_find(const char *key)
{
	unsigned int i;

	for (i = 0; i < vswap_nr_settings; i++)
		if (!strcmp(vswap_settings[i].key, key))
			return &vswap_settings[i];
	return NULL;
}

static struct json_object *at(struct json_object *entry, const char *ptr)
{
	struct json_object *v = NULL;

	if (!ptr || json_pointer_get(entry, ptr, &v) || !v)
		return NULL;
	return v;
}

const char *entry_str(struct json_object *entry, const char *ptr)
{
	struct json_object *v = at(entry, ptr);

	return v && json_object_is_type(v, json_type_string) ?
		json_object_get_string(v) : NULL;
}

bool entry_u64(struct json_object *entry, const char *ptr, uint64_t *out)
{
	struct json_object *v = at(entry, ptr);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

void field_get(const struct field *f, struct json_object *entry,
	       struct field_val *out)
{
	struct json_object *v;

	memset(out, 0, sizeof(*out));
	switch (f->kind) {
	case FK_COUNT:
	case FK_BYTES:
		out->present = entry_u64(entry, f->qmp, &out->u);
		if (out->present && f->scale)
			out->u *= f->scale;
		break;
	case FK_STRING:
		out->str = entry_str(entry, f->qmp);
		out->present = out->str != NULL;
		break;
	case FK_NODES:
		v = at(entry, f->qmp);
		if (v && json_object_is_type(v, json_type_array)) {
			out->nodes = v;
			out->present = true;
		}
		break;
	case FK_RATIO: {
		struct field_val stored, pool;

		field_get(&vswap_fields[F_STORED_PAGES], entry, &stored);
		field_get(&vswap_fields[F_POOL_BYTES], entry, &pool);
		if (stored.present && pool.present && pool.u) {
			out->ratio = (double)stored.u * VSWAP_PAGE / pool.u;
			out->present = true;
		}
		break;
	}
	}
}

unsigned int field_nodes_len(struct json_object *nodes)
{
	return nodes ? (unsigned int)json_object_array_length(nodes) : 0;
}

bool field_node(struct json_object *nodes, unsigned int i, int64_t *node,
		uint64_t *bytes)
{
	struct json_object *o = json_object_array_get_idx(nodes, i);
	struct json_object *n, *b;

	if (!o || !json_object_object_get_ex(o, QMP_NODE_ID, &n) ||
	    !json_object_object_get_ex(o, QMP_NODE_BYTES, &b) ||
	    !json_object_is_type(n, json_type_int) ||
	    !json_object_is_type(b, json_type_int))
		return false;
	*node = json_object_get_int64(n);
	*bytes = json_object_get_uint64(b);
	return true;
}
