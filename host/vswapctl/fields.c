// SPDX-License-Identifier: MIT
/*
 * vswapctl: the field table (see fields.h). Order here is the order of the
 * --json keys, the Prometheus families and the schema's entries; the
 * table's columns are vswap_columns[] below.
 *
 * QMP pointers follow qapi/vswap.json of the QEMU series (VswapInfo):
 * configuration under "config" (VswapConfig), the store's counters (struct
 * vswap_stats, kebab-case) under "store" (VswapStoreStats), request counters
 * under "device" (VswapDeviceStats). Every pointer below is a member of the
 * series (tests/vswapctl/real_qemu.py lists any the running QEMU lacks).
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json_pointer.h>

#include "fields.h"
#include "util.h"

/* A counter's UNIT and KIND (vswap.h) as a field kind and metric type. */
#define FK_OF_PAGES	FK_COUNT
#define FK_OF_COUNT	FK_COUNT
#define FK_OF_BYTES	FK_BYTES
#define FM_OF_CUR	FM_GAUGE
#define FM_OF_PEAK	FM_GAUGE
#define FM_OF_TOTAL	FM_COUNTER

const struct field vswap_fields[] = {
	/* configuration */
	[F_CAPACITY_BYTES] = {
		"/config/size", NULL, 0, "capacity_bytes", FK_BYTES, FM_GAUGE,
		"virtual swap size the device advertises to the guest, in bytes" },
	[F_CODEC] = {
		"/config/compress", NULL, 0, "codec", FK_STRING, FM_NONE,
		"compression codec of the store (lz4, zstd, none)" },
	[F_POOL_MAX_BYTES] = {
		"/config/pool-max", NULL, 0, "pool_max_bytes", FK_BYTES, FM_GAUGE,
		"cap on host pool memory in bytes (0 = unlimited)" },
	[F_IDLE_COMPACT_SECONDS] = {
		"/config/idle-compact", NULL, 0, "idle_compact_seconds",
		FK_COUNT, FM_GAUGE,
		"seconds without a request before the pool is compacted "
		"(0 = never)" },
	[F_NUMA_POLICY] = {
		QMP_CONFIG_POLICY, NULL, 0, "numa_policy", FK_STRING, FM_NONE,
		"host NUMA policy of the pool (default, preferred, bind, interleave)" },

	/* the store's counters, one row per VSWAP_STATS_COUNTERS entry */
#define COUNTER_ROW_(n, k, u, h)					\
	[F_STORE_##n] = {						\
		NULL, #n, 0, #n, FK_OF_##u, FM_OF_##k, h },
	VSWAP_STATS_COUNTERS(COUNTER_ROW_)
#undef COUNTER_ROW_

	/* derived, and QEMU's own members of "store" */
	[F_RATIO] = {
		NULL, NULL, 0, "ratio", FK_RATIO, FM_GAUGE,
		"logical stored bytes (stored_pages * 4096) per host pool byte; "
		"absent while pool_bytes is 0" },
	[F_NODE_BYTES] = {
		"/store/nodes", NULL, 0, "node_bytes", FK_NODES, FM_GAUGE,
		"pool bytes resident on each host NUMA node, as QEMU last read them" },
	[F_NODE_BYTES_AGE_MS] = {
		"/store/nodes-age-ms", NULL, 0, "node_bytes_age_ms", FK_COUNT, FM_GAUGE,
		"age of node_bytes in milliseconds (QEMU refreshes it when older "
		"than 1 s); absent before the first refresh" },

	/* request counters of the device (VswapDeviceStats) */
	[F_REQUESTS] = {
		"/device/requests", NULL, 0, "requests", FK_COUNT, FM_COUNTER,
		"requests taken from the virtqueues" },
	[F_BAD_REQUESTS] = {
		"/device/status-bad-request", NULL, 0, "bad_requests", FK_COUNT,
		FM_COUNTER, "requests completed with BAD_REQUEST (malformed)" },
	[F_NOSPACE_REQUESTS] = {
		"/device/status-no-space", NULL, 0, "nospace_requests", FK_COUNT,
		FM_COUNTER, "requests completed with NO_SPACE" },
	[F_IOERR_REQUESTS] = {
		"/device/status-ioerr", NULL, 0, "ioerr_requests", FK_COUNT,
		FM_COUNTER, "requests completed with IOERR" },
};
const unsigned int vswap_nr_fields = ARRAY_SIZE(vswap_fields);
_Static_assert(ARRAY_SIZE(vswap_fields) == F__COUNT,
	       "every enum field_id has its row in vswap_fields[]");

/* zramctl-like: what an operator scans for, short headers. */
const struct column vswap_columns[] = {
	{ F_CAPACITY_BYTES, "CAPACITY" },
	{ F_CODEC, "ALGO" },
	{ F_POOL_MAX_BYTES, "POOL-MAX" },
	{ F_STORE_stored_pages, "STORED" },
	{ F_STORE_zero_pages, "ZERO" },
	{ F_STORE_same_pages, "SAME" },
	{ F_STORE_compressed_bytes, "COMPR" },
	{ F_STORE_pool_bytes, "POOL" },
	{ F_RATIO, "RATIO" },
	{ F_NODE_BYTES, "NODES" },
	{ F_STORE_disk_bytes, "DISK" },
	{ F_STORE_writeback_pages, "WB-PAGES" },
};
const unsigned int vswap_nr_columns = ARRAY_SIZE(vswap_columns);

const char *field_qmp(const struct field *f, char buf[FIELD_QMP_MAX])
{
	char *p;

	if (!f->counter)
		return f->qmp;
	snprintf(buf, FIELD_QMP_MAX, "/store/%s", f->counter);
	for (p = buf; *p; p++)
		if (*p == '_')
			*p = '-';
	return buf;
}

const struct setting vswap_settings[] = {
	{ "pool-max", "pool-max", FK_BYTES, F_POOL_MAX_BYTES, UINT64_MAX,
	  "cap on host pool memory (SIZE, 0 = unlimited)" },
	{ "idle-compact", "idle-compact", FK_COUNT, F_IDLE_COMPACT_SECONDS,
	  UINT32_MAX, "compact after this long idle (SECONDS, 0 = never)" },
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
	char buf[FIELD_QMP_MAX];
	const char *ptr = field_qmp(f, buf);
	struct json_object *v;

	memset(out, 0, sizeof(*out));
	switch (f->kind) {
	case FK_COUNT:
	case FK_BYTES:
		out->present = entry_u64(entry, ptr, &out->u);
		if (out->present && f->scale)
			out->u *= f->scale;
		break;
	case FK_STRING:
		out->str = entry_str(entry, ptr);
		out->present = out->str != NULL;
		break;
	case FK_NODES:
		v = at(entry, ptr);
		if (v && json_object_is_type(v, json_type_array)) {
			out->nodes = v;
			out->present = true;
		}
		break;
	case FK_RATIO: {
		struct field_val stored, pool;

		field_get(&vswap_fields[F_STORE_stored_pages], entry, &stored);
		field_get(&vswap_fields[F_STORE_pool_bytes], entry, &pool);
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
