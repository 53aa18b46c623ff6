// SPDX-License-Identifier: MIT
/*
 * vswapctl stats: one row per (VM, virtio-vswap device).
 *
 * A VM named on the command line (a --qmp socket, or a VM NAME argument)
 * that has no device is an error; a libvirt domain found by listing all of
 * them that has none is simply not a row.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fields.h"
#include "output.h"

static const char stats_help[] =
"Usage: vswapctl stats [options] [VM...]\n"
"\n"
"Show every virtio-vswap device of the VMs, one row per (VM, device).\n"
"\n"
"Sources (default: every running libvirt domain):\n"
"  -q, --qmp PATH        a QEMU QMP unix socket (repeatable)\n"
"  -l, --libvirt [URI]   every running domain of libvirt URI\n"
"                        (default: libvirt's default URI)\n"
"  VM...                 only these VMs (libvirt domain or QMP VM names)\n"
"\n"
"Output:\n"
"  -j, --json            stable JSON document (docs/vswapctl-json-schema.json)\n"
"  -p, --prometheus      Prometheus text exposition format\n"
"  -b, --bytes           print sizes in bytes in the table\n"
"  -h, --help            this text\n"
"\n"
"Fields QEMU does not report show as '-' (null in JSON, omitted in\n"
"Prometheus). Exit status: 0 ok, 1 a VM or device failed, 2 usage.\n";

enum fmt { FMT_TABLE, FMT_JSON, FMT_PROM };

struct collect {
	struct vmset set;
	struct report rep;
	struct json_object **lists;	/* query-vswap reply of each VM */
	unsigned int nr_lists;
	char **owned;			/* strings the errors point to */
	unsigned int nr_owned;
	int status;
};

static const char *keep(struct collect *c, const char *s)
{
	if (!s)
		return NULL;
	c->owned = xrealloc(c->owned, (c->nr_owned + 1) * sizeof(*c->owned));
	return c->owned[c->nr_owned++] = xstrdup(s);
}

static void add_error(struct collect *c, const char *vm, const char *origin,
		      const struct verr *e)
{
	struct row_error *re;

	vwarn("%s", e->msg);
	c->rep.errors = xrealloc(c->rep.errors,
				 (c->rep.nr_errors + 1) * sizeof(*re));
	re = &c->rep.errors[c->rep.nr_errors++];
	re->vm = keep(c, vm);
	re->origin = keep(c, origin);
	re->message = keep(c, e->msg);
	c->status = VEXIT_FAIL;
}

/* Ask one VM; @named: the operator asked for it, so no device is an error. */
static void collect_vm(struct collect *c, struct vm *vm, bool named)
{
	struct json_object *list;
	unsigned int i, n;
	struct verr e;

	if (vm_query_vswap(vm, &list, &e)) {
		add_error(c, vm->name, vm->origin, &e);
		return;
	}
	c->lists = xrealloc(c->lists, (c->nr_lists + 1) * sizeof(*c->lists));
	c->lists[c->nr_lists++] = list;
	n = json_object_array_length(list);
	if (!n && named) {
		verr_set(&e, "vm %s has no virtio-vswap device", vm->name);
		add_error(c, vm->name, vm->origin, &e);
		return;
	}
	for (i = 0; i < n; i++) {
		struct json_object *entry = json_object_array_get_idx(list, i);
		const char *dev = vm_device_label(entry);
		struct row *row;
		unsigned int k;

		/*
		 * One row per (VM, device): the same pair twice (two sockets
		 * of VMs with the same name, or a VM reached both ways) would
		 * read as one device, and Prometheus refuses a whole scrape
		 * with a duplicate series. The first stays, the other is an
		 * error that says where it came from.
		 */
		for (k = 0; k < c->rep.nr_rows; k++)
			if (!strcmp(c->rep.rows[k].vm, vm->name) &&
			    !strcmp(c->rep.rows[k].device, dev))
				break;
		if (k < c->rep.nr_rows) {
			verr_set(&e, "vm %s device %s: also reported by %s; left "
				 "out (give the VMs distinct names)", vm->name,
				 dev, c->rep.rows[k].origin);
			add_error(c, vm->name, vm->origin, &e);
			continue;
		}
		c->rep.rows = xrealloc(c->rep.rows,
				       (c->rep.nr_rows + 1) * sizeof(*row));
		row = &c->rep.rows[c->rep.nr_rows++];
		row->vm = vm->name;
		row->device = vm_device_label(entry);
		row->qom_path = entry_str(entry, QMP_DEV_QOM_PATH);
		row->origin = vm->origin;
		row->entry = entry;
	}
}

static bool wanted(char **names, int nr, const char *name, bool *seen)
{
	int i;

	if (!nr)
		return true;
	for (i = 0; i < nr; i++)
		if (!strcmp(names[i], name)) {
			seen[i] = true;
			return true;
		}
	return false;
}

static void collect(struct collect *c, const struct source_opts *src,
		    char **names, int nr_names)
{
	bool *seen = xcalloc(nr_names, sizeof(bool));
	char *lv_origin = xasprintf("libvirt:%s", src->uri ? src->uri : "");
	unsigned int i, first;
	struct verr e;
	int k;

	for (i = 0; i < src->nr_qmp; i++) {
		struct vm *vm = source_qmp_open(src->qmp[i], &e);
		char *origin;

		if (!vm) {
			origin = xasprintf("qmp:%s", src->qmp[i]);
			add_error(c, NULL, origin, &e);
			free(origin);
			continue;
		}
		vmset_add(&c->set, vm);
		if (wanted(names, nr_names, vm->name, seen))
			collect_vm(c, vm, true);
	}

	if (src->libvirt || !src->nr_qmp) {
		if (nr_names && !src->nr_qmp) {
			/* Look each named domain up: "no such domain" is clear. */
			for (k = 0; k < nr_names; k++) {
				first = c->set.n;
				seen[k] = true;	/* found, or reported here */
				if (source_libvirt_one(src->uri, names[k], &c->set, &e)) {
					add_error(c, names[k], lv_origin, &e);
					continue;
				}
				collect_vm(c, c->set.vms[first], true);
			}
		} else {
			first = c->set.n;
			if (source_libvirt_all(src->uri, &c->set, &e)) {
				add_error(c, NULL, lv_origin, &e);
			} else {
				for (i = first; i < c->set.n; i++)
					if (wanted(names, nr_names, c->set.vms[i]->name, seen))
						collect_vm(c, c->set.vms[i],
							   nr_names > 0);
			}
		}
	}

	for (k = 0; k < nr_names; k++) {
		if (seen[k])
			continue;
		verr_set(&e, "vm %s: not found", names[k]);
		add_error(c, names[k], "", &e);
	}
	free(lv_origin);
	free(seen);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct source_opts src = { 0 };
	struct collect c = { .status = VEXIT_OK };
	enum fmt fmt = FMT_TABLE;
	bool raw = false;
	unsigned int i;
	int opt;

	while ((opt = getopt_long(argc, argv, "q:l::jpbh", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_QMP:
		case OPT_LIBVIRT:
			source_opt(&src, opt, optarg, argc, argv);
			break;
		case 'j':
			fmt = FMT_JSON;
			break;
		case 'p':
			fmt = FMT_PROM;
			break;
		case 'b':
			raw = true;
			break;
		case 'h':
			fputs(stats_help, stdout);
			return VEXIT_OK;
		default:
			free(src.qmp);
			return usage_error("stats", "bad option");
		}
	}

	collect(&c, &src, argv + optind, argc - optind);

	switch (fmt) {
	case FMT_TABLE:
		if (c.rep.nr_rows || !c.rep.nr_errors)
			out_table(&c.rep, stdout, raw);
		break;
	case FMT_JSON:
		out_json(&c.rep, stdout);
		break;
	case FMT_PROM:
		out_prom(&c.rep, stdout);
		break;
	}

	for (i = 0; i < c.nr_owned; i++)
		free(c.owned[i]);
	free(c.owned);
	for (i = 0; i < c.nr_lists; i++)
		json_object_put(c.lists[i]);
	free(c.lists);
	free(c.rep.rows);
	free(c.rep.errors);
	vmset_free(&c.set);
	free(src.qmp);
	return c.status;
}

static const char schema_help[] =
"Usage: vswapctl schema\n"
"\n"
"Print the JSON Schema (draft-07) of 'vswapctl stats --json' for this\n"
"vswapctl: every key, its type, meaning and query-vswap member. The\n"
"project's docs/vswapctl-json-schema.json is this output.\n";

int cmd_schema(int argc, char **argv)
{
	if (argc == 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(schema_help, stdout);
		return VEXIT_OK;
	}
	if (argc > 1)
		return usage_error("schema", "takes no arguments");
	out_schema(stdout);
	return VEXIT_OK;
}
