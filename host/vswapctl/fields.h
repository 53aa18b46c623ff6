/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: the one table that maps QEMU's QMP names to what vswapctl shows.
 *
 * Every value vswapctl prints about a device comes from vswap_fields[]
 * (fields.c, indexed by enum field_id): where it sits in one entry of
 * query-vswap's reply (a JSON pointer), its stable --json key, its
 * Prometheus metric and help text, its JSON schema entry. The outputs
 * iterate the table and never name a counter themselves. A member QEMU
 * does not report is shown as "-" (table), null (--json) and omitted
 * (--prometheus).
 *
 * The store's counters are not written here: one row per entry of
 * libvswap's VSWAP_STATS_COUNTERS (vswap.h), which QEMU reports under the
 * same names in query-vswap's "store" (kebab-case): --json key = the
 * counter's name, QMP member = the name with '-' for '_', kind and metric
 * from its UNIT and KIND, help = its help text. So a counter added to
 * libvswap shows up here with no change. What is vswapctl's own is written
 * out: configuration, derived values (ratio), QEMU's per-node list, the
 * device's request counters, and the table's columns and short headers
 * (vswap_columns[]).
 *
 * The QMP commands, their argument names and the device's QOM property
 * names vswapctl drives are defined here as well, for the same reason.
 */
#ifndef VSWAPCTL_FIELDS_H
#define VSWAPCTL_FIELDS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "vswap.h"

/* QMP interface of the device (qapi/vswap.json of the QEMU series). */
#define QMP_QUERY_VSWAP		"query-vswap"
#define QMP_WRITEBACK		"vswap-writeback"
#define QMP_WB_ARG_ID		"id"
#define QMP_WB_ARG_MIN_AGE	"min-age"	/* seconds */
#define QMP_WB_ARG_MAX_BYTES	"max-bytes"	/* byte budget */
#define QMP_COMPACT		"vswap-compact"	/* { id } */
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
	/* configuration (VswapConfig) */
	F_CAPACITY_BYTES,
	F_CODEC,
	F_POOL_MAX_BYTES,
	F_IDLE_COMPACT_SECONDS,
	F_NUMA_POLICY,
	/* the store's counters: F_STORE_stored_pages, ... */
#define FIELD_ID_(name, kind, unit, help)	F_STORE_##name,
	VSWAP_STATS_COUNTERS(FIELD_ID_)
#undef FIELD_ID_
	/* derived, and QEMU's own members of "store" */
	F_RATIO,
	F_NODE_BYTES,
	F_NODE_BYTES_AGE_MS,
	/* the device's request counters (VswapDeviceStats) */
	F_REQUESTS,
	F_BAD_REQUESTS,
	F_NOSPACE_REQUESTS,
	F_IOERR_REQUESTS,
	F__COUNT
};

struct field {
	const char *qmp;	/* JSON pointer into one query-vswap entry;
				 * NULL for a counter (see field_qmp) */
	const char *counter;	/* VSWAP_STATS_COUNTERS name, or NULL */
	uint64_t scale;		/* multiply the QMP number by this (0 = 1) */
	const char *name;	/* --json key, Prometheus "vswap_<name>" */
	enum field_kind kind;
	enum field_metric metric;
	const char *help;	/* one line, lower case, no final period (as
				 * libvswap's counter help): the Prometheus
				 * # HELP and the schema's description */
};

extern const struct field vswap_fields[];
extern const unsigned int vswap_nr_fields;

/* Longest JSON pointer field_qmp() builds, with its NUL. */
#define FIELD_QMP_MAX	64
/*
 * The JSON pointer of @f into a query-vswap entry: f->qmp, or for a counter
 * "/store/" and its name with '-' for '_' (QAPI spelling), built in @buf.
 * NULL for a derived field (ratio).
 */
const char *field_qmp(const struct field *f, char buf[FIELD_QMP_MAX]);

/* Table columns, left to right after VM and DEVICE. */
struct column {
	enum field_id field;
	const char *header;	/* short: the table is for people */
};

extern const struct column vswap_columns[];
extern const unsigned int vswap_nr_columns;

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
	uint64_t max;		/* the property's own limit (its QOM type) */
	const char *help;	/* one line for `vswapctl set --help` */
};

extern const struct setting vswap_settings[];
extern const unsigned int vswap_nr_settings;
const struct setting *setting_find(const char *key);

#endif /* VSWAPCTL_FIELDS_H */
