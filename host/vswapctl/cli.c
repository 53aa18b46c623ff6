// SPDX-License-Identifier: MIT
/* vswapctl: source options and usage errors shared by the commands. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void source_opt(struct source_opts *s, int opt, const char *arg,
		int argc, char **argv)
{
	switch (opt) {
	case OPT_QMP:
		s->qmp = xrealloc(s->qmp, (s->nr_qmp + 1) * sizeof(*s->qmp));
		s->qmp[s->nr_qmp++] = arg;
		break;
	case OPT_LIBVIRT:
		s->libvirt = true;
		if (arg)
			s->uri = arg;
		else if (optind < argc && strstr(argv[optind], ":/"))
			s->uri = argv[optind++];
		break;
	}
}

int source_resolve_one(const struct source_opts *s, const char *name,
		       struct vmset *set, struct vm **vm, struct verr *e)
{
	unsigned int i;

	for (i = 0; i < s->nr_qmp; i++) {
		struct vm *v = source_qmp_open(s->qmp[i], e);

		if (!v)
			return -1;	/* a dead socket is an error, not a miss */
		vmset_add(set, v);
		if (!strcmp(v->name, name) || !strcmp(s->qmp[i], name)) {
			*vm = v;
			return 0;
		}
	}
	if (s->nr_qmp) {
		verr_set(e, "vm %s: not found behind the --qmp sockets given", name);
		return -1;
	}
	if (strchr(name, '/')) {
		*vm = source_qmp_open(name, e);
		if (!*vm)
			return -1;
		vmset_add(set, *vm);
		return 0;
	}
	if (source_libvirt_one(s->uri, name, set, e))
		return -1;
	*vm = set->vms[set->n - 1];
	return 0;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("vswapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vswapctl%s%s --help'.\n", cmd ? " " : "",
		cmd ? cmd : "");
	return VEXIT_USAGE;
}
