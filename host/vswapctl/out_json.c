// SPDX-License-Identifier: MIT
/*
 * vswapctl: --json output, and its JSON Schema. The document's shape is a
 * contract (docs/vswapctl-json-schema.json): every field of the table is
 * always a key of every device, null when QEMU did not report it; new
 * fields may be added, existing keys keep their name and meaning while
 * "version" stays. The schema is printed from the same table (out_schema,
 * `vswapctl schema`); the committed file is its output, and the tests fail
 * when the two differ.
 */
#include <stdbool.h>
#include <stdio.h>

#include "fields.h"
#include "output.h"

static struct json_object *nodes_json(struct json_object *nodes)
{
	struct json_object *arr = json_object_new_array();
	unsigned int i, n = field_nodes_len(nodes);

	for (i = 0; i < n; i++) {
		struct json_object *o;
		int64_t node;
		uint64_t bytes;

		if (!field_node(nodes, i, &node, &bytes))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "node", json_object_new_int64(node));
		json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *opt_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *device_json(const struct row *row)
{
	struct json_object *o = json_object_new_object();
	unsigned int i;

	json_object_object_add(o, "vm", json_object_new_string(row->vm));
	json_object_object_add(o, "device", json_object_new_string(row->device));
	json_object_object_add(o, "qom_path", opt_str(row->qom_path));
	json_object_object_add(o, "source", json_object_new_string(row->origin));
	for (i = 0; i < vswap_nr_fields; i++) {
		const struct field *f = &vswap_fields[i];
		struct json_object *v = NULL;
		struct field_val val;

		field_get(f, row->entry, &val);
		if (val.present) {
			switch (f->kind) {
			case FK_COUNT:
			case FK_BYTES:
				v = json_object_new_uint64(val.u);
				break;
			case FK_STRING:
				v = json_object_new_string(val.str);
				break;
			case FK_RATIO:
				v = json_object_new_double(val.ratio);
				break;
			case FK_NODES:
				v = nodes_json(val.nodes);
				break;
			}
		}
		json_object_object_add(o, f->name, v);
	}
	return o;
}

void out_json(const struct report *r, FILE *f)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *devs = json_object_new_array();
	struct json_object *errs = json_object_new_array();
	unsigned int i;

	json_object_object_add(doc, "schema", json_object_new_string(JSON_SCHEMA_ID));
	json_object_object_add(doc, "version", json_object_new_int(JSON_SCHEMA_VERSION));
	for (i = 0; i < r->nr_rows; i++)
		json_object_array_add(devs, device_json(&r->rows[i]));
	for (i = 0; i < r->nr_errors; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "vm", opt_str(r->errors[i].vm));
		json_object_object_add(o, "source",
				       json_object_new_string(r->errors[i].origin));
		json_object_object_add(o, "message",
				       json_object_new_string(r->errors[i].message));
		json_object_array_add(errs, o);
	}
	json_object_object_add(doc, "devices", devs);
	json_object_object_add(doc, "errors", errs);
	fprintf(f, "%s\n", json_object_to_json_string_ext(doc,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

/* Helpers that keep out_schema() readable: {"type": [t, "null"]}, ... */
static struct json_object *str(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *obj(void)
{
	return json_object_new_object();
}

static void put(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *nullable(const char *type)
{
	struct json_object *t = json_object_new_array();

	json_object_array_add(t, str(type));
	json_object_array_add(t, str("null"));
	return t;
}

static struct json_object *strings(const char *const *v, unsigned int n)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < n; i++)
		json_object_array_add(a, str(v[i]));
	return a;
}

/* {"type": "integer", "minimum": 0} */
static struct json_object *natural(void)
{
	struct json_object *o = obj();

	put(o, "type", str("integer"));
	put(o, "minimum", json_object_new_int(0));
	return o;
}

/* A number that may be null: "count" and "bytes" of the definitions. */
static struct json_object *number_def(const char *what)
{
	struct json_object *o = obj();

	put(o, "type", nullable("integer"));
	put(o, "minimum", json_object_new_int(0));
	put(o, "description", str(what));
	return o;
}

static struct json_object *field_schema(const struct field *f)
{
	struct json_object *o = obj(), *items;
	char buf[FIELD_QMP_MAX];
	const char *ptr = field_qmp(f, buf);

	switch (f->kind) {
	case FK_COUNT:
		put(o, "$ref", str("#/definitions/count"));
		break;
	case FK_BYTES:
		put(o, "$ref", str("#/definitions/bytes"));
		break;
	case FK_STRING:
		put(o, "type", nullable("string"));
		break;
	case FK_RATIO:
		put(o, "type", nullable("number"));
		put(o, "minimum", json_object_new_int(0));
		break;
	case FK_NODES:
		put(o, "type", nullable("array"));
		items = obj();
		put(items, "type", str("object"));
		put(items, "additionalProperties", json_object_new_boolean(0));
		put(items, "required",
		    strings((const char *const[]){ "node", "bytes" }, 2));
		put(items, "properties", obj());
		put(json_object_object_get(items, "properties"), "node",
		    natural());
		put(json_object_object_get(items, "properties"), "bytes",
		    natural());
		put(o, "items", items);
		break;
	}
	put(o, "description", str(f->help));
	/* Where the value comes from, for readers and tests/vswapctl. */
	if (ptr) {
		char note[FIELD_QMP_MAX + 16];

		snprintf(note, sizeof(note), "query-vswap %s", ptr);
		put(o, "$comment", str(note));
	}
	return o;
}

/* A property of the device object that is not a field (vm, device...). */
static void row_key(struct json_object *props, struct json_object *req,
		    const char *key, bool maybe_null, const char *what)
{
	struct json_object *o = obj();

	put(o, "type", maybe_null ? nullable("string") : str("string"));
	put(o, "description", str(what));
	put(props, key, o);
	json_object_array_add(req, str(key));
}

static struct json_object *device_schema(void)
{
	struct json_object *o = obj(), *req = json_object_new_array();
	struct json_object *props = obj();
	unsigned int i;

	put(o, "type", str("object"));
	put(o, "additionalProperties", json_object_new_boolean(0));
	row_key(props, req, "vm", false,
		"VM name: libvirt domain name, QMP query-name, or the QMP socket's file name.");
	row_key(props, req, "device", false,
		"Device id, or its QOM path when it has no id.");
	row_key(props, req, "qom_path", true,
		"QOM path of the device (qom-get/qom-set target).");
	row_key(props, req, "source", false,
		"How the VM was reached: \"qmp:<socket path>\" or \"libvirt:<URI>\" (empty URI = libvirt's default).");
	for (i = 0; i < vswap_nr_fields; i++) {
		put(props, vswap_fields[i].name, field_schema(&vswap_fields[i]));
		json_object_array_add(req, str(vswap_fields[i].name));
	}
	put(o, "required", req);
	put(o, "properties", props);
	return o;
}

static struct json_object *error_schema(void)
{
	struct json_object *o = obj(), *props = obj(), *p;

	put(o, "type", str("object"));
	put(o, "additionalProperties", json_object_new_boolean(0));
	put(o, "required", strings((const char *const[]){ "vm", "source",
							  "message" }, 3));
	p = obj();
	put(p, "type", nullable("string"));
	put(props, "vm", p);
	p = obj();
	put(p, "type", str("string"));
	put(props, "source", p);
	p = obj();
	put(p, "type", str("string"));
	put(props, "message", p);
	put(o, "properties", props);
	return o;
}

static struct json_object *ref(const char *where)
{
	struct json_object *o = obj();

	put(o, "$ref", str(where));
	return o;
}

static struct json_object *konst(struct json_object *v)
{
	struct json_object *o = obj();

	put(o, "const", v);
	return o;
}

void out_schema(FILE *f)
{
	struct json_object *doc = obj(), *props = obj(), *defs = obj(), *p;

	put(doc, "$schema", str("http://json-schema.org/draft-07/schema#"));
	put(doc, "$id", str(JSON_SCHEMA_URI));
	put(doc, "title", str("vswapctl stats --json"));
	put(doc, "description", str(
		"Output of `vswapctl stats --json`, version 1. Every device "
		"object carries every key; a value the running QEMU does not "
		"report is null. While version stays 1, keys keep their names "
		"and meanings and new keys may be added, so consumers should "
		"ignore keys they do not know. This file lists every key of "
		"this vswapctl and forbids others, so the project's tests "
		"catch an undocumented change. Generated by `vswapctl schema` "
		"from vswapctl's field table (host/vswapctl/fields.c), whose "
		"store counters are libvswap's VSWAP_STATS_COUNTERS; each "
		"key's $comment names the query-vswap member it comes from."));
	put(doc, "type", str("object"));
	put(doc, "additionalProperties", json_object_new_boolean(0));
	put(doc, "required", strings((const char *const[]){
		"schema", "version", "devices", "errors" }, 4));
	put(props, "schema", konst(str(JSON_SCHEMA_ID)));
	put(props, "version", konst(json_object_new_int(JSON_SCHEMA_VERSION)));
	p = obj();
	put(p, "type", str("array"));
	put(p, "items", ref("#/definitions/device"));
	put(props, "devices", p);
	p = obj();
	put(p, "type", str("array"));
	put(p, "description", str(
		"VMs that could not be read; the exit status is 1 when non-empty."));
	put(p, "items", ref("#/definitions/error"));
	put(props, "errors", p);
	put(doc, "properties", props);
	put(defs, "count", number_def(
		"A number of pages or requests; null = not reported."));
	put(defs, "bytes", number_def("Bytes; null = not reported."));
	put(defs, "device", device_schema());
	put(defs, "error", error_schema());
	put(doc, "definitions", defs);
	fprintf(f, "%s\n", json_object_to_json_string_ext(doc,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}
