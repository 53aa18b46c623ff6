// SPDX-License-Identifier: MIT
/* vswapctl: human table output, one row per (VM, device). */
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "output.h"
#include "units.h"
#include "util.h"

#define CELL	128

/* Column 0 is VM, 1 is DEVICE, then vswap_columns[]. */
struct col {
	const char *header;
	const struct field *f;	/* NULL for VM and DEVICE */
	bool right;		/* numbers are right-aligned */
	size_t width;
};

static void fmt_nodes(struct json_object *nodes, bool raw, char *buf)
{
	unsigned int i, n = field_nodes_len(nodes);
	size_t len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < CELL - 40; i++) {
		char sz[32];
		int64_t node;
		uint64_t bytes;

		if (!field_node(nodes, i, &node, &bytes))
			continue;
		if (raw)
			snprintf(sz, sizeof(sz), "%llu", (unsigned long long)bytes);
		else
			format_size(bytes, sz, sizeof(sz));
		len += snprintf(buf + len, CELL - len, "%s%lld:%s",
				len ? "," : "", (long long)node, sz);
	}
	if (i < n)		/* say the cell was cut; --json has them all */
		snprintf(buf + len, CELL - len, ",...");
	if (!len)
		strcpy(buf, "-");
}

/*
 * A name as a cell: bytes a terminal would act on (newline, escape
 * sequences) become '?', so a VM or device name cannot break the
 * table or the terminal. --json carries the name as it is.
 */
static void fmt_name(const char *name, char *buf)
{
	size_t i;

	snprintf(buf, CELL, "%s", name);
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
}

static void fmt_cell(const struct field *f, struct json_object *entry,
		     bool raw, char *buf)
{
	struct field_val v;

	field_get(f, entry, &v);
	if (!v.present) {
		strcpy(buf, "-");
		return;
	}
	switch (f->kind) {
	case FK_COUNT:
		snprintf(buf, CELL, "%llu", (unsigned long long)v.u);
		break;
	case FK_BYTES:
		if (raw)
			snprintf(buf, CELL, "%llu", (unsigned long long)v.u);
		else
			format_size(v.u, buf, CELL);
		break;
	case FK_STRING:
		snprintf(buf, CELL, "%s", v.str);
		break;
	case FK_RATIO:
		snprintf(buf, CELL, "%.2f", v.ratio);
		break;
	case FK_NODES:
		fmt_nodes(v.nodes, raw, buf);
		break;
	}
}

void out_table(const struct report *r, FILE *f, bool raw_bytes)
{
	struct col cols[2 + 64];
	unsigned int nc = 0, i, c;
	char *cells;

	cols[nc++] = (struct col){ "VM", NULL, false, 0 };
	cols[nc++] = (struct col){ "DEVICE", NULL, false, 0 };
	for (i = 0; i < vswap_nr_columns && nc < ARRAY_SIZE(cols); i++) {
		const struct field *fd = &vswap_fields[vswap_columns[i].field];

		cols[nc++] = (struct col){ vswap_columns[i].header, fd,
			fd->kind != FK_STRING && fd->kind != FK_NODES, 0 };
	}

	cells = xcalloc((size_t)r->nr_rows * nc, CELL);
	for (c = 0; c < nc; c++)
		cols[c].width = strlen(cols[c].header);
	for (i = 0; i < r->nr_rows; i++) {
		for (c = 0; c < nc; c++) {
			char *cell = cells + ((size_t)i * nc + c) * CELL;

			if (c == 0)
				fmt_name(r->rows[i].vm, cell);
			else if (c == 1)
				fmt_name(r->rows[i].device, cell);
			else
				fmt_cell(cols[c].f, r->rows[i].entry, raw_bytes,
					 cell);
			if (strlen(cell) > cols[c].width)
				cols[c].width = strlen(cell);
		}
	}

	for (c = 0; c < nc; c++)
		fprintf(f, "%s%*s", c ? " " : "",
			cols[c].right ? (int)cols[c].width : -(int)cols[c].width,
			cols[c].header);
	fputc('\n', f);
	for (i = 0; i < r->nr_rows; i++) {
		for (c = 0; c < nc; c++)
			fprintf(f, "%s%*s", c ? " " : "",
				cols[c].right ? (int)cols[c].width :
						-(int)cols[c].width,
				cells + ((size_t)i * nc + c) * CELL);
		fputc('\n', f);
	}
	free(cells);
}
