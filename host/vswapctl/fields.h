/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: the one table that maps QEMU's QMP names to what vswapctl shows.
 *
 * Every value vswapctl prints about a device comes from vswap_fields[]
 * (fields.c, indexed by enum field_id): where it sits in one entry of
 * query-vswap's reply (a JSON pointer), its stable --json key, its
 * Prometheus metric and help text, its table column. Aligning with a renamed
 * QAPI member is one word there; adding a counter (writeback, disk,
 * per-node) is one row there plus its id in enum field_id (a static assert
 * keeps the two the same length); the outputs iterate the table and never
 * name a counter themselves. A member QEMU does not report
 * is shown as "-" (table), null (--json) and omitted (--prometheus).
 *
 * The QMP commands, their argument names and the device's QOM property
 * names vswapctl drives are defined here as well, for the same reason.
 */
#ifndef VSWAPCTL_FIELDS_H
#define VSWAPCTL_FIELDS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/* QMP interface of the device (qapi/vswap.json of the QEMU series). */
#define QMP_QUERY_VSWAP		"query-vswap"
#define QMP_WRITEBACK		"vswap-writeback"
#define QMP_WB_ARG_ID		"id"
#define QMP_WB_ARG_MIN_AGE	"min-age"	/* seconds */
#define QMP_WB_ARG_MAX_BYTES	"max-bytes"	/* byte budget */
#define QMP_SET_NUMA_POLICY	"vswap-set-numa-policy"
#define QMP_NUMA_ARG_ID		"id"
#define QMP_NUMA_ARG_POLICY	"policy"	/* HostMemPolicy */
#define QMP_NUMA_ARG_NODES	"host-nodes"	/* list of node numbers */
/* The placement in force, in one query-vswap entry. */
#define QMP_CONFIG_POLICY	"/config/policy"
#define QMP_CONFIG_HOST_NODES	"/config/host-nodes"
#define QMP_EVENT_PREFIX	"VSWAP_"
/* Members of one query-vswap entry that identify the device. */
#define QMP_DEV_ID		"/id"
#define QMP_DEV_QOM_PATH	"/qom-path"
/* Per-node list: [{ QMP_NODE_ID: n, QMP_NODE_BYTES: bytes }, ...] */
#define QMP_NODE_ID		"node"
#define QMP_NODE_BYTES		"pool-bytes"

#define VSWAP_PAGE		4096u

enum field_kind {
	FK_COUNT,	/* a number of things: pages, requests */
	FK_BYTES,	/* bytes; the table prints them human-readable */
	FK_STRING,	/* configuration text (codec); not a metric */
	FK_RATIO,	/* derived: stored pages * 4 KiB / pool bytes */
	FK_NODES,	/* list of per-host-node byte counts */
};

enum field_metric {
	FM_NONE,	/* not exported to Prometheus */
	FM_GAUGE,	/* goes up and down */
	FM_COUNTER,	/* only goes up; metric name gets "_total" */
};

/* One id per row of vswap_fields[], in table order. */
enum field_id {
	F_CAPACITY_BYTES,
	F_CODEC,
	F_POOL_MAX_BYTES,
	F_NUMA_POLICY,
	F_STORED_PAGES,
	F_ZERO_PAGES,
	F_SAME_PAGES,
	F_INCOMPRESSIBLE_PAGES,
	F_COMPRESSED_PAGES,
	F_COMPRESSED_BYTES,
	F_POOL_BYTES,
	F_POOL_BYTES_PEAK,
	F_META_BYTES,
	F_RATIO,
	F_NODE_BYTES,
	F_NODE_BYTES_AGE_MS,
	F_SEGMENT_BYTES,
	F_NUMA_MIGRATE_PENDING_BYTES,
	F_DISK_BYTES,
	F_DISK_PAGES,
	F_DISK_FILE_BYTES,
	F_STORES,
	F_LOADS,
	F_INVALIDATES,
	F_INVALIDATED_PAGES,
	F_LOADS_EMPTY,
	F_STORE_NOSPACE,
	F_STORE_NOMEM,
	F_INTEGRITY_ERRORS,
	F_COMPACTIONS,
	F_COMPACTED_BYTES,
	F_WRITEBACK_PAGES,
	F_WRITEBACK_BYTES,
	F_WRITEBACK_IOS,
	F_WRITEBACK_ERRORS,
	F_WRITEBACK_FREED_BYTES,
	F_LOADS_FROM_DISK,
	F_DISK_READ_ERRORS,
	F_NUMA_MIGRATED_BYTES,
	F_NUMA_MIGRATE_FAILURES,
	F_REQUESTS,
	F_BAD_REQUESTS,
	F_NOSPACE_REQUESTS,
	F_IOERR_REQUESTS,
	F__COUNT
};

struct field {
	const char *qmp;	/* JSON pointer into one query-vswap entry */
	uint64_t scale;		/* multiply the QMP number by this (0 = 1) */
	const char *name;	/* --json key, Prometheus "vswap_<name>" */
	const char *column;	/* table header; NULL = not in the table */
	enum field_kind kind;
	enum field_metric metric;
	const char *help;	/* one line, also the Prometheus # HELP */
};

extern const struct field vswap_fields[];
extern const unsigned int vswap_nr_fields;

/* One device's reply entry, as the outputs see it. */
struct field_val {
	bool present;
	uint64_t u;		/* FK_COUNT, FK_BYTES (already scaled) */
	double ratio;		/* FK_RATIO */
	const char *str;	/* FK_STRING (borrowed from the entry) */
	struct json_object *nodes;	/* FK_NODES: the QMP array (borrowed) */
};

/* Extract field @f from @entry (one element of query-vswap's list). */
void field_get(const struct field *f, struct json_object *entry,
	       struct field_val *out);

/* Per-node list helpers: number of entries, and entry @i's node/bytes. */
unsigned int field_nodes_len(struct json_object *nodes);
bool field_node(struct json_object *nodes, unsigned int i, int64_t *node,
		uint64_t *bytes);

/* A string member of @entry by JSON pointer, or NULL. */
const char *entry_str(struct json_object *entry, const char *ptr);
/* A number member of @entry by JSON pointer. */
bool entry_u64(struct json_object *entry, const char *ptr, uint64_t *out);

/*
 * Settings `vswapctl set` knows: key=value on the command line -> qom-set of
 * QOM property @prop on the device's qom-path, value parsed as @kind.
 */
struct setting {
	const char *key;	/* what the operator types */
	const char *prop;	/* QOM property of the device */
	enum field_kind kind;	/* FK_BYTES (a size) or FK_COUNT */
	enum field_id readback;	/* field shown after setting it */
	const char *help;	/* one line for `vswapctl set --help` */
};

extern const struct setting vswap_settings[];
extern const unsigned int vswap_nr_settings;
const struct setting *setting_find(const char *key);

#endif /* VSWAPCTL_FIELDS_H */
