// SPDX-License-Identifier: MIT
/*
 * vswapctl events: print QMP events named VSWAP_* as they come, until
 * SIGINT/SIGTERM (exit 0) or until every monitor went away (exit 1).
 * Line format: "<ISO-8601 UTC time> <vm> <event> <data as JSON>".
 */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fields.h"
#include "qmp.h"
#include "units.h"

static const char events_help[] =
"Usage: vswapctl events [options]\n"
"\n"
"Follow virtio-vswap QMP events (" QMP_EVENT_PREFIX "*) and print one line per\n"
"event: time (UTC), VM, event, data (JSON). Stops on Ctrl-C.\n"
"\n"
"  -q, --qmp PATH        a QEMU QMP unix socket (repeatable)\n"
"  -l, --libvirt [URI]   every domain of libvirt URI (the default)\n"
"  -j, --json            one JSON object per line instead\n"
"  -n, --count N         exit after N events\n"
"  -h, --help            this text\n";

#define JFLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static volatile bool stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = true;
}

struct printer {
	bool json;
	uint64_t count, max;	/* max 0 = unlimited */
};

static void print_event(const char *vm, const char *event, long long sec,
			unsigned int usec, const char *data, void *opaque)
{
	struct printer *p = opaque;
	struct json_object *d = data ? json_tokener_parse(data) : NULL;
	char ts[64];
	struct tm tm;
	time_t t = sec;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%06uZ", usec);
	if (p->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "timestamp", json_object_new_string(ts));
		json_object_object_add(o, "vm", json_object_new_string(vm));
		json_object_object_add(o, "event", json_object_new_string(event));
		json_object_object_add(o, "data", json_object_get(d));
		printf("%s\n", json_object_to_json_string_ext(o,
				JFLAGS));
		json_object_put(o);
	} else {
		printf("%s %s %s %s\n", ts, vm, event,
		       d ? json_object_to_json_string_ext(d, JFLAGS)
			 : "{}");
	}
	fflush(stdout);
	json_object_put(d);
	if (p->max && ++p->count >= p->max)
		stop = true;
}

/*
 * Tell the operator (on stderr, stdout is for events) that everything is
 * connected: from here on no event is missed.
 */
static void following(const char *uri)
{
	fprintf(stderr, "vswapctl: following " QMP_EVENT_PREFIX
		"* events%s%s (Ctrl-C stops)\n", uri ? " of " : "",
		uri ? uri : "");
}

/* One QMP event object -> print_event() if it is ours. */
static void qmp_event(struct vm *vm, struct json_object *ev, struct printer *p)
{
	struct json_object *name, *ts, *sec, *usec, *data = NULL;
	const char *n;

	if (!json_object_object_get_ex(ev, "event", &name))
		return;
	n = json_object_get_string(name);
	if (strncmp(n, QMP_EVENT_PREFIX, strlen(QMP_EVENT_PREFIX)))
		return;
	json_object_object_get_ex(ev, "data", &data);
	if (json_object_object_get_ex(ev, "timestamp", &ts) &&
	    json_object_object_get_ex(ts, "seconds", &sec) &&
	    json_object_object_get_ex(ts, "microseconds", &usec))
		print_event(vm->name, n, json_object_get_int64(sec),
			    (unsigned int)json_object_get_int(usec),
			    data ? json_object_to_json_string_ext(data,
					JFLAGS) : NULL, p);
	else
		print_event(vm->name, n, time(NULL), 0,
			    data ? json_object_to_json_string_ext(data, JFLAGS) : NULL, p);
}

static int follow_qmp(const struct source_opts *src, struct printer *p)
{
	struct vmset set = { 0 };
	struct pollfd *pfd;
	unsigned int i, live;
	int status = VEXIT_OK;
	struct verr e;

	for (i = 0; i < src->nr_qmp; i++) {
		struct vm *vm = source_qmp_open(src->qmp[i], &e);

		if (!vm) {
			vwarn("%s", e.msg);
			vmset_free(&set);
			return VEXIT_FAIL;
		}
		vmset_add(&set, vm);
	}
	pfd = xcalloc(set.n, sizeof(*pfd));
	for (i = 0; i < set.n; i++) {
		pfd[i].fd = qmp_fd(source_qmp_client(set.vms[i]));
		pfd[i].events = POLLIN;
	}
	live = set.n;
	following(NULL);
	while (!stop && live) {
		/*
		 * Drain first: events may already sit in a client's queue or
		 * read buffer (they came with the replies during setup), where
		 * poll() cannot see them.
		 */
		for (i = 0; i < set.n && !stop; i++) {
			struct qmp *q = source_qmp_client(set.vms[i]);
			struct json_object *ev;
			int r = 0;

			if (pfd[i].fd < 0)
				continue;
			while (!stop && (r = qmp_next_event(q, 0, &ev, &e)) == 1) {
				qmp_event(set.vms[i], ev, p);
				json_object_put(ev);
			}
			if (r == -1) {
				vwarn("vm %s: %s", set.vms[i]->name, e.msg);
				pfd[i].fd = -1;
				live--;
				status = VEXIT_FAIL;
			}
		}
		if (!stop && live)
			poll(pfd, set.n, -1);	/* EINTR: loop looks at stop */
	}
	free(pfd);
	vmset_free(&set);
	/* a socket that closed is a failure even if Ctrl-C ended the rest */
	return status;
}

int cmd_events(int argc, char **argv)
{
	static const struct option longopts[] = {
		SOURCE_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	/*
	 * No SA_RESTART: poll() returns EINTR and the loop sees stop.
	 * SA_RESETHAND: a second Ctrl-C kills at once, even while a libvirt
	 * call that does not return on EINTR is waiting for libvirtd.
	 */
	struct sigaction sa = { .sa_handler = on_signal,
				.sa_flags = SA_RESETHAND };
	struct source_opts src = { 0 };
	struct printer p = { 0 };
	struct verr e;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "q:l::jn:h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_QMP:
		case OPT_LIBVIRT:
			source_opt(&src, opt, optarg, argc, argv);
			break;
		case 'j':
			p.json = true;
			break;
		case 'n':
			if (!parse_seconds(optarg, &p.max) || strpbrk(optarg, "smhd"))
				return usage_error("events", "--count: '%s' is not a number",
						   optarg);
			if (!p.max)
				return usage_error("events", "--count: at least 1");
			break;
		case 'h':
			fputs(events_help, stdout);
			free(src.qmp);
			return VEXIT_OK;
		default:
			free(src.qmp);
			return usage_error("events", "bad option");
		}
	}
	if (optind < argc) {
		free(src.qmp);
		return usage_error("events", "unexpected argument '%s'", argv[optind]);
	}
	if (src.nr_qmp && src.libvirt) {
		free(src.qmp);
		return usage_error("events", "--qmp and --libvirt: pick one");
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (src.nr_qmp) {
		r = follow_qmp(&src, &p);
	} else {
		r = source_libvirt_events(src.uri, print_event, &p, following,
					  &stop, &e);
		if (r)
			vwarn("%s", e.msg);
		r = r ? VEXIT_FAIL : VEXIT_OK;
	}
	free(src.qmp);
	return r;
}
