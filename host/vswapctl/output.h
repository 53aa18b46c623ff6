/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: what `stats` collected, and the three ways to print it.
 *   out_table.c       columns for people (zramctl-like), "-" for absent
 *   out_json.c        one stable document, and its schema
 *                     (docs/vswapctl-json-schema.json is out_schema's output)
 *   out_prom.c        Prometheus text exposition format
 * Each prints every field of fields.c in table order and names none itself.
 */
#ifndef VSWAPCTL_OUTPUT_H
#define VSWAPCTL_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

/* One (VM, device) pair. Strings and @entry are borrowed. */
struct row {
	const char *vm;
	const char *device;	/* id, else qom-path */
	const char *qom_path;	/* may be NULL */
	const char *origin;	/* "qmp:PATH" / "libvirt:URI" */
	struct json_object *entry;	/* the device's query-vswap entry */
};

/* A VM that could not be asked (its message went to stderr as well). */
struct row_error {
	const char *vm;		/* may be NULL when the VM has no name yet */
	const char *origin;
	const char *message;
};

struct report {
	struct row *rows;
	unsigned int nr_rows;
	struct row_error *errors;
	unsigned int nr_errors;
};

#define JSON_SCHEMA_ID		"vswapctl-stats"
#define JSON_SCHEMA_VERSION	1
#define JSON_SCHEMA_URI	\
	"https://virtio-vswap.example/schemas/vswapctl-stats-1.json"

void out_table(const struct report *r, FILE *f, bool raw_bytes);
void out_json(const struct report *r, FILE *f);
/* The JSON Schema of out_json's document (`vswapctl schema`). */
void out_schema(FILE *f);
void out_prom(const struct report *r, FILE *f);

#endif /* VSWAPCTL_OUTPUT_H */
