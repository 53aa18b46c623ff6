// SPDX-License-Identifier: MIT
/*
 * vswapctl: --prometheus output, text exposition format 0.0.4: one family
 * per field, "# HELP" and "# TYPE" first, then one sample per (vm, device)
 * that reports it. Counters are named "..._total" as the format asks.
 */
#include "fields.h"
#include "output.h"

/* Label values escape backslash, double quote and newline. */
static void put_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void put_labels(FILE *f, const struct row *row)
{
	fputs("{vm=", f);
	put_label(f, row->vm);
	fputs(",device=", f);
	put_label(f, row->device);
}

static void family(FILE *f, const struct field *fd)
{
	bool counter = fd->metric == FM_COUNTER;

	fprintf(f, "# HELP vswap_%s%s %s\n", fd->name, counter ? "_total" : "",
		fd->help);
	fprintf(f, "# TYPE vswap_%s%s %s\n", fd->name, counter ? "_total" : "",
		counter ? "counter" : "gauge");
}

void out_prom(const struct report *r, FILE *f)
{
	unsigned int i, j, k;

	for (i = 0; i < vswap_nr_fields; i++) {
		const struct field *fd = &vswap_fields[i];
		const char *suffix = fd->metric == FM_COUNTER ? "_total" : "";

		if (fd->metric == FM_NONE)
			continue;
		family(f, fd);
		for (j = 0; j < r->nr_rows; j++) {
			struct field_val v;

			field_get(fd, r->rows[j].entry, &v);
			if (!v.present)
				continue;
			switch (fd->kind) {
			case FK_COUNT:
			case FK_BYTES:
				fprintf(f, "vswap_%s%s", fd->name, suffix);
				put_labels(f, &r->rows[j]);
				fprintf(f, "} %llu\n", (unsigned long long)v.u);
				break;
			case FK_RATIO:
				fprintf(f, "vswap_%s", fd->name);
				put_labels(f, &r->rows[j]);
				fprintf(f, "} %.6g\n", v.ratio);
				break;
			case FK_NODES:
				for (k = 0; k < field_nodes_len(v.nodes); k++) {
					int64_t node;
					uint64_t bytes;

					if (!field_node(v.nodes, k, &node, &bytes))
						continue;
					fprintf(f, "vswap_%s", fd->name);
					put_labels(f, &r->rows[j]);
					fprintf(f, ",node=\"%lld\"} %llu\n",
						(long long)node,
						(unsigned long long)bytes);
				}
				break;
			case FK_STRING:
				break;
			}
		}
	}
}
