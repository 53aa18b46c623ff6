// SPDX-License-Identifier: MIT
/*
 * vswapctl writeback / compact / set / numa: drive one device of one VM
 * over QMP.
 *
 *   writeback  -> QMP_WRITEBACK { id, min-age, max-bytes }
 *   compact    -> QMP_COMPACT { id }
 *   set K=V    -> qom-set on the device's qom-path (table vswap_settings[]),
 *                 then query-vswap again to show what the device now reports
 *   numa P [N] -> QMP_SET_NUMA_POLICY { id, policy, host-nodes }, then
 *                 query-vswap again to show the placement in force
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_pointer.h>

#include "cli.h"
#include "fields.h"
#include "units.h"
#include "util.h"

/* Option lines every command's help shares, and what VM may be. */
#define HELP_DEVICE \
"  -d, --device ID       the device (id or qom-path); needed if VM has several\n"
#define HELP_SOURCE \
"  -q, --qmp PATH        find VM behind this QMP socket (repeatable)\n" \
"  -l, --libvirt [URI]   find VM as a libvirt domain (the default)\n" \
"  -h, --help            this text\n"
#define HELP_VM \
"\n" \
"VM is a libvirt domain name, the name of a VM behind --qmp, or a QMP\n" \
"socket path.\n"

static const char writeback_help[] =
"Usage: vswapctl writeback VM [options]\n"
"\n"
"Ask the device to move cold pool data to its disk tier now.\n"
"\n"
HELP_DEVICE
"  -a, --min-age S       only data older than S seconds (suffix s/m/h/d)\n"
"  -m, --max-bytes N     write at most N bytes (suffix K/M/G/T)\n"
HELP_SOURCE
HELP_VM;

static const char compact_help[] =
"Usage: vswapctl compact VM [options]\n"
"\n"
"Ask the device to give its free pool memory back to the host now: the\n"
"garbage below the pool's own compaction threshold, and the free memory\n"
"it keeps resident for reuse. Prints the bytes freed and the pool after.\n"
"\n"
HELP_DEVICE
HELP_SOURCE
HELP_VM;

static const char set_help[] =
"Usage: vswapctl set VM [options] KEY=VALUE...\n"
"\n"
"Change settings of a running device; the keys are listed below.\n"
"\n"
HELP_DEVICE
HELP_SOURCE;

static const char numa_help[] =
"Usage: vswapctl numa VM [options] POLICY [NODES]\n"
"\n"
"Change the host NUMA placement of a running device's pool. POLICY is\n"
"default, preferred, bind or interleave; NODES the host nodes, numactl\n"
"style (2, 0-1, 0-1,3): none for default, one for preferred. New pool\n"
"memory obeys at once; QEMU moves what is already in the pool in the\n"
"background (numa_migrate_pending_bytes in 'vswapctl stats --json').\n"
"\n"
HELP_DEVICE
HELP_SOURCE;

static const struct option control_longopts[] = {
	SOURCE_LONGOPTS,
	{ "device", required_argument, NULL, 'd' },
	{ "min-age", required_argument, NULL, 'a' },
	{ "max-bytes", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

struct control_opts {
	struct source_opts src;
	const char *device;
	bool has_min_age, has_max_bytes;
	uint64_t min_age, max_bytes;
};

static void print_settings(void)
{
	unsigned int i;

	puts("\nKeys:");
	for (i = 0; i < vswap_nr_settings; i++)
		printf("  %-21s %s\n", vswap_settings[i].key,
		       vswap_settings[i].help);
}

#define PARSE_HELP	(-1)	/* --help printed: exit 0 */

/* Parse options; 0, PARSE_HELP or VEXIT_USAGE. Words stay in argv. */
static int parse_control(const char *cmd, const char *help, bool writeback,
			 int argc, char **argv, struct control_opts *o)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "+q:l::d:a:m:h", control_longopts,
				  NULL)) != -1) {
		switch (opt) {
		case OPT_QMP:
		case OPT_LIBVIRT:
			source_opt(&o->src, opt, optarg, argc, argv);
			break;
		case 'd':
			o->device = optarg;
			break;
		case 'a':
			if (!writeback)
				return usage_error(cmd, "--min-age: only for writeback");
			if (!parse_seconds(optarg, &o->min_age))
				return usage_error(cmd,
					"--min-age: '%s' is not a number of seconds",
					optarg);
			o->has_min_age = true;
			break;
		case 'm':
			if (!writeback)
				return usage_error(cmd, "--max-bytes: only for writeback");
			if (!parse_size(optarg, &o->max_bytes))
				return usage_error(cmd, "--max-bytes: '%s' is not a size",
						   optarg);
			o->has_max_bytes = true;
			break;
		case 'h':
			fputs(help, stdout);
			if (!strcmp(cmd, "set"))
				print_settings();
			return PARSE_HELP;
		default:
			return usage_error(cmd, "bad option");
		}
	}
	return 0;
}

/*
 * getopt with "+" stops at the first word: allow "VM --opt" as well as
 * "--opt VM" by parsing the options that follow VM in a second pass.
 */
static int parse_all(const char *cmd, const char *help, bool writeback,
		     int argc, char **argv, struct control_opts *o,
		     char ***words, int *nr_words)
{
	char **w = xcalloc(argc, sizeof(*w));
	int n = 0, r;

	optind = 1;
	while (optind < argc) {
		r = parse_control(cmd, help, writeback, argc, argv, o);
		if (r) {
			free(w);
			return r;
		}
		if (optind < argc)
			w[n++] = argv[optind++];
	}
	*words = w;
	*nr_words = n;
	return 0;
}

/* Resolve VM and its device. On success *list must be put by the caller. */
static int open_device(const struct control_opts *o, const char *name,
		       struct vmset *set, struct vm **vm,
		       struct json_object **list, struct json_object **entry)
{
	struct verr e;

	if (source_resolve_one(&o->src, name, set, vm, &e) ||
	    vm_pick_device(*vm, o->device, list, entry, &e)) {
		vwarn("%s", e.msg);
		return VEXIT_FAIL;
	}
	return 0;
}

/*
 * Query the device of *entry again (after a change), replacing *list; the
 * new *entry is borrowed from it. Errors are printed; VEXIT_FAIL.
 */
static int reread_device(struct vm *vm, struct json_object **list,
			 struct json_object **entry)
{
	char *label = xstrdup(vm_device_label(*entry));
	struct verr e;
	int r;

	json_object_put(*list);
	*list = NULL;
	r = vm_pick_device(vm, label, list, entry, &e);
	free(label);
	if (r) {
		vwarn("%s", e.msg);
		return VEXIT_FAIL;
	}
	return 0;
}

static void print_return(struct json_object *ret)
{
	if (!ret || (json_object_is_type(ret, json_type_object) &&
		     !json_object_object_length(ret)))
		return;
	printf("%s\n", json_object_to_json_string_ext(ret,
				JSON_C_TO_STRING_PLAIN |
					JSON_C_TO_STRING_NOSLASHESCAPE));
}

/*
 * writeback and compact: one QMP command with the device's id (and, for
 * writeback, its options); print "VM DEV: NAME done" and what it returned.
 */
static int device_command(const char *cmd, const char *qmp, const char *help,
			  bool writeback, int argc, char **argv)
{
	struct control_opts o = { 0 };
	struct json_object *list = NULL, *entry, *args, *ret = NULL;
	struct vmset set = { 0 };
	const char *cls = NULL;
	struct vm *vm;
	char **words;
	int nr, r;
	struct verr e;

	r = parse_all(cmd, help, writeback, argc, argv, &o, &words, &nr);
	if (r) {
		free(o.src.qmp);
		return r == PARSE_HELP ? VEXIT_OK : r;
	}
	if (nr != 1) {
		free(words);
		free(o.src.qmp);
		return usage_error(cmd, nr ? "one VM only" : "missing VM");
	}

	r = open_device(&o, words[0], &set, &vm, &list, &entry);
	if (r)
		goto out;
	args = json_object_new_object();
	json_object_object_add(args, QMP_WB_ARG_ID,
			       json_object_new_string(vm_device_label(entry)));
	if (o.has_min_age)
		json_object_object_add(args, QMP_WB_ARG_MIN_AGE,
				       json_object_new_uint64(o.min_age));
	if (o.has_max_bytes)
		json_object_object_add(args, QMP_WB_ARG_MAX_BYTES,
				       json_object_new_uint64(o.max_bytes));
	r = vm_execute_wait(vm, qmp, args, &ret, &cls, &e);
	json_object_put(args);
	if (r == -1 && cls && !strcmp(cls, "CommandNotFound")) {
		vwarn("vm %s: this QEMU has no '%s' command: %s", vm->name,
		      qmp, e.msg);
		r = VEXIT_FAIL;
	} else if (r) {
		vwarn("vm %s: %s %s: %s", vm->name, qmp,
		      vm_device_label(entry), e.msg);
		r = VEXIT_FAIL;
	} else {
		printf("%s %s: %s done\n", vm->name, vm_device_label(entry),
		       cmd);
		print_return(ret);
		json_object_put(ret);
	}
out:
	json_object_put(list);
	vmset_free(&set);
	free(words);
	free(o.src.qmp);
	return r;
}

int cmd_writeback(int argc, char **argv)
{
	return device_command("writeback", QMP_WRITEBACK, writeback_help, true,
			      argc, argv);
}

int cmd_compact(int argc, char **argv)
{
	return device_command("compact", QMP_COMPACT, compact_help, false,
			      argc, argv);
}

/* Print "KEY=value" as the device now reports it, or "-" if it doesn't. */
static void print_readback(const struct setting *st, struct json_object *entry)
{
	struct field_val v;
	char buf[32] = "-";

	field_get(&vswap_fields[st->readback], entry, &v);
	if (v.present && st->kind == FK_BYTES)
		format_size(v.u, buf, sizeof(buf));
	else if (v.present)
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v.u);
	if (v.present && st->kind == FK_BYTES && v.u >= 1024)
		printf(" %s=%s (%llu)", st->key, buf, (unsigned long long)v.u);
	else
		printf(" %s=%s", st->key, buf);
}

int cmd_set(int argc, char **argv)
{
	struct control_opts o = { 0 };
	struct json_object *list = NULL, *entry;
	const struct setting **keys = NULL;
	struct vmset set = { 0 };
	uint64_t *vals = NULL;
	const char *path;
	struct vm *vm;
	char **words;
	int nr, r, i;
	struct verr e;

	r = parse_all("set", set_help, false, argc, argv, &o, &words, &nr);
	if (r) {
		free(o.src.qmp);
		return r == PARSE_HELP ? VEXIT_OK : r;
	}
	if (nr < 2) {
		r = usage_error("set", nr ? "missing KEY=VALUE" : "missing VM");
		goto out_words;
	}
	keys = xcalloc(nr, sizeof(*keys));
	vals = xcalloc(nr, sizeof(*vals));
	for (i = 1; i < nr; i++) {
		char *eq = strchr(words[i], '='), *key;
		bool ok;

		if (!eq) {
			r = usage_error("set", "'%s' is not KEY=VALUE", words[i]);
			goto out_words;
		}
		key = strndup(words[i], eq - words[i]);
		keys[i] = setting_find(key);
		if (!keys[i]) {
			r = usage_error("set", "unknown setting '%s'", key);
			free(key);
			goto out_words;
		}
		ok = keys[i]->kind == FK_BYTES ? parse_size(eq + 1, &vals[i]) :
			parse_seconds(eq + 1, &vals[i]);
		if (!ok) {
			r = usage_error("set", "%s: '%s' is not a %s", key, eq + 1,
					keys[i]->kind == FK_BYTES ? "size" :
					"duration");
			free(key);
			goto out_words;
		}
		/* checked before anything is sent: no half-applied set */
		if (vals[i] > keys[i]->max) {
			r = usage_error("set", "%s: '%s' is above its limit %llu",
					key, eq + 1,
					(unsigned long long)keys[i]->max);
			free(key);
			goto out_words;
		}
		free(key);
	}

	r = open_device(&o, words[0], &set, &vm, &list, &entry);
	if (r)
		goto out;
	path = entry_str(entry, QMP_DEV_QOM_PATH);
	if (!path) {
		vwarn("vm %s: device %s has no qom-path in %s", vm->name,
		      vm_device_label(entry), QMP_QUERY_VSWAP);
		r = VEXIT_FAIL;
		goto out;
	}
	for (i = 1; i < nr; i++) {
		struct json_object *args = json_object_new_object(), *ret = NULL;

		json_object_object_add(args, "path", json_object_new_string(path));
		json_object_object_add(args, "property",
				       json_object_new_string(keys[i]->prop));
		json_object_object_add(args, "value",
				       json_object_new_uint64(vals[i]));
		r = vm_execute(vm, "qom-set", args, &ret, NULL, &e);
		json_object_put(args);
		json_object_put(ret);
		if (r) {
			vwarn("vm %s: %s: set %s: %s%s", vm->name,
			      vm_device_label(entry), keys[i]->key, e.msg,
			      i > 1 ? " (the settings before it were applied)" :
			      "");
			r = VEXIT_FAIL;
			goto out;
		}
	}

	/* Read back what the device reports now. */
	r = reread_device(vm, &list, &entry);
	if (r)
		goto out;
	printf("%s %s:", vm->name, vm_device_label(entry));
	for (i = 1; i < nr; i++)
		print_readback(keys[i], entry);
	putchar('\n');
	r = VEXIT_OK;
out:
	json_object_put(list);
	vmset_free(&set);
out_words:
	free(keys);
	free(vals);
	free(words);
	free(o.src.qmp);
	return r;
}

/* Host node numbers are 0..63 (the device's limit, libvswap's mask). */
#define MAX_HOST_NODE	63

/*
 * NODES, numactl style ("2", "0-1,3"), as a JSON array of node numbers in
 * ascending order; NULL if it is not such a list.
 */
static struct json_object *parse_nodes(const char *str)
{
	uint64_t mask = 0;
	const char *p = str;
	struct json_object *list;
	unsigned long first, last;
	char *end;
	unsigned int n;

	for (;;) {
		if (*p < '0' || *p > '9')
			return NULL;
		first = strtoul(p, &end, 10);
		last = first;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return NULL;
			last = strtoul(p, &end, 10);
		}
		if (last < first || last > MAX_HOST_NODE)
			return NULL;
		for (n = first; n <= last; n++)
			mask |= UINT64_C(1) << n;
		if (!*end)
			break;
		if (*end != ',')
			return NULL;
		p = end + 1;
	}
	list = json_object_new_array();
	for (n = 0; n <= MAX_HOST_NODE; n++)
		if (mask & (UINT64_C(1) << n))
			json_object_array_add(list, json_object_new_int(n));
	return list;
}

/* " policy=bind host-nodes=0,2 pending=..." as the device reports it. */
static void print_placement(struct json_object *entry)
{
	struct json_object *nodes = NULL;
	const char *policy = entry_str(entry, QMP_CONFIG_POLICY);
	struct field_val pending;
	char buf[32];
	size_t i, n;

	printf(" policy=%s host-nodes=", policy ? policy : "-");
	if (json_pointer_get(entry, QMP_CONFIG_HOST_NODES, &nodes) ||
	    !json_object_is_type(nodes, json_type_array)) {
		fputs("-", stdout);
	} else {
		n = json_object_array_length(nodes);
		if (!n)
			fputs("none", stdout);
		for (i = 0; i < n; i++)
			printf("%s%d", i ? "," : "",
			       json_object_get_int(json_object_array_get_idx(nodes, i)));
	}
	field_get(&vswap_fields[F_STORE_numa_migrate_pending_bytes], entry, &pending);
	if (pending.present) {
		format_size(pending.u, buf, sizeof(buf));
		printf(" migration-pending=%s", buf);
	}
	putchar('\n');
}

int cmd_numa(int argc, char **argv)
{
	struct control_opts o = { 0 };
	struct json_object *list = NULL, *entry, *args = NULL, *ret = NULL;
	struct json_object *nodes = NULL;
	struct vmset set = { 0 };
	const char *cls = NULL;
	struct vm *vm;
	char **words;
	int nr, r;
	struct verr e;

	r = parse_all("numa", numa_help, false, argc, argv, &o, &words, &nr);
	if (r) {
		free(o.src.qmp);
		return r == PARSE_HELP ? VEXIT_OK : r;
	}
	if (nr < 2 || nr > 3) {
		r = usage_error("numa", nr == 0 ? "missing VM" :
				nr == 1 ? "missing POLICY" : "too many words");
		goto out_words;
	}
	/* QEMU's HostMemPolicy names: a typo is a usage error, not a QMP one */
	if (strcmp(words[1], "default") && strcmp(words[1], "preferred") &&
	    strcmp(words[1], "bind") && strcmp(words[1], "interleave")) {
		r = usage_error("numa", "'%s' is not a policy (default, "
				"preferred, bind or interleave)", words[1]);
		goto out_words;
	}
	if (nr == 3) {
		nodes = parse_nodes(words[2]);
		if (!nodes) {
			r = usage_error("numa", "'%s' is not a list of host nodes "
					"(0-%d) such as 1 or 0-1,3", words[2],
					MAX_HOST_NODE);
			goto out_words;
		}
	}

	r = open_device(&o, words[0], &set, &vm, &list, &entry);
	if (r)
		goto out;
	args = json_object_new_object();
	json_object_object_add(args, QMP_NUMA_ARG_ID,
			       json_object_new_string(vm_device_label(entry)));
	/* QEMU checks the policy name and the nodes against the host */
	json_object_object_add(args, QMP_NUMA_ARG_POLICY,
			       json_object_new_string(words[1]));
	if (nodes) {
		json_object_object_add(args, QMP_NUMA_ARG_NODES, nodes);
		nodes = NULL;
	}
	r = vm_execute(vm, QMP_SET_NUMA_POLICY, args, &ret, &cls, &e);
	json_object_put(ret);
	if (r == -1 && cls && !strcmp(cls, "CommandNotFound")) {
		vwarn("vm %s: this QEMU has no '%s' command: %s", vm->name,
		      QMP_SET_NUMA_POLICY, e.msg);
		r = VEXIT_FAIL;
		goto out;
	} else if (r) {
		vwarn("vm %s: %s %s: %s", vm->name, QMP_SET_NUMA_POLICY,
		      vm_device_label(entry), e.msg);
		r = VEXIT_FAIL;
		goto out;
	}

	/* Read back the placement in force. */
	r = reread_device(vm, &list, &entry);
	if (r)
		goto out;
	printf("%s %s:", vm->name, vm_device_label(entry));
	print_placement(entry);
	r = VEXIT_OK;
out:
	json_object_put(args);
	json_object_put(list);
	vmset_free(&set);
out_words:
	json_object_put(nodes);
	free(words);
	free(o.src.qmp);
	return r;
}
