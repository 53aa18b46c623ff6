// SPDX-License-Identifier: MIT
/*
 * vswapctl: operator CLI for virtio-vswap devices (see docs/vswapctl.md).
 *
 * Map of the files
 *   main.c            command dispatch and top-level help
 *   cli.c             source options (--qmp, --libvirt), usage errors
 *   cmd_stats.c       stats: collect rows, hand them to an output; schema
 *   cmd_control.c     writeback, compact, set, numa
 *   cmd_events.c      events
 *   vm.c              a VM as something that executes QMP; device choice
 *   source_qmp.c      VMs behind QMP unix sockets
 *   source_libvirt.c  VMs as libvirt domains (libvirt-qemu passthrough)
 *   qmp.c             QMP client: framing, greeting, replies, event queue
 *   fields.c          THE table: QMP member -> json key, metric, column
 *   out_table.c, out_json.c, out_prom.c   the three output formats (and
 *                     out_json.c the schema of its document)
 *   units.c           sizes (K/M/G/T) and durations
 *   util.c            errors, exit codes, allocation
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char main_help[] =
"Usage: vswapctl COMMAND [options]\n"
"\n"
"Inspect and drive virtio-vswap devices of running QEMU VMs, through QMP\n"
"sockets (--qmp PATH) or libvirt (--libvirt [URI], the default).\n"
"\n"
"Commands:\n"
"  stats [VM...]              one row per (VM, device); --json, --prometheus\n"
"  writeback VM [options]     move cold pool data to the disk tier now\n"
"  compact VM [options]       give the pool's free memory back to the host\n"
"  set VM KEY=VALUE...        change a running device's settings (pool-max,\n"
"                             idle-compact)\n"
"  numa VM POLICY [NODES]     change the host NUMA placement of its pool\n"
"  events                     follow VSWAP_* QMP events\n"
"  schema                     the JSON Schema of 'stats --json'\n"
"\n"
"Sizes take K, M, G, T suffixes (powers of 1024). 'vswapctl COMMAND --help'\n"
"describes each command. Exit status: 0 ok, 1 failure, 2 usage error.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "stats", cmd_stats },
	{ "writeback", cmd_writeback },
	{ "compact", cmd_compact },
	{ "set", cmd_set },
	{ "numa", cmd_numa },
	{ "events", cmd_events },
	{ "schema", cmd_schema },
};

int main(int argc, char **argv)
{
	unsigned int i;

	if (argc < 2)
		return usage_error(NULL, "missing command");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(main_help, stdout);
		return VEXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("vswapctl 0.1");
		return VEXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	return usage_error(NULL, "unknown command '%s'", argv[1]);
}
