// SPDX-License-Identifier: MIT
/*
 * vswapctl: --json output. The document's shape is a contract
 * (docs/vswapctl-json-schema.json): every field of the table is always a
 * key of every device, null when QEMU did not report it; new fields may be
 * added, existing keys keep their name and meaning while "version" stays.
 */
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
