/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: command-line plumbing shared by the commands: where VMs come
 * from (--qmp PATH..., --libvirt [URI]), usage errors, and one entry point
 * per command (cmd_*.c).
 */
#ifndef VSWAPCTL_CLI_H
#define VSWAPCTL_CLI_H

#include <stdbool.h>

#include "vm.h"

struct source_opts {
	const char **qmp;	/* --qmp PATH, in command-line order */
	unsigned int nr_qmp;
	bool libvirt;		/* --libvirt given */
	const char *uri;	/* its URI, NULL = libvirt's default */
};

/* Option letters every command that reads VMs accepts. */
#define OPT_QMP		'q'
#define OPT_LIBVIRT	'l'
#define SOURCE_LONGOPTS \
	{ "qmp", required_argument, NULL, OPT_QMP }, \
	{ "libvirt", optional_argument, NULL, OPT_LIBVIRT }

/*
 * Handle OPT_QMP / OPT_LIBVIRT from getopt_long. "--libvirt URI" (separate
 * word) takes the next word as URI when it looks like one ("x:/...").
 */
void source_opt(struct source_opts *s, int opt, const char *optarg,
		int argc, char **argv);

/*
 * The one VM named @name: among the --qmp sockets (by VM name or path), a
 * socket path itself (contains '/'), or a libvirt domain. 0 and *vm (owned
 * by @set), or -1 with *e.
 */
int source_resolve_one(const struct source_opts *s, const char *name,
		       struct vmset *set, struct vm **vm, struct verr *e);

/* Print "vswapctl: <msg>" and "Try 'vswapctl <cmd> --help'."; VEXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int cmd_stats(int argc, char **argv);
int cmd_writeback(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_numa(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_schema(int argc, char **argv);

#endif /* VSWAPCTL_CLI_H */
