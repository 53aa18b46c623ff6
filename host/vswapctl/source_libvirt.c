// SPDX-License-Identifier: MIT
/*
 * vswapctl: VMs reached through libvirt (--libvirt [URI]).
 *
 * Commands go through virDomainQemuMonitorCommand (libvirt-qemu), which
 * hands our QMP text to the domain's monitor and returns QEMU's reply text;
 * libvirt marks the domain "tainted: custom-monitor" for it, as for
 * `virsh qemu-monitor-command`. Events come from
 * virConnectDomainQemuMonitorEventRegister with a regex on the name.
 */
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "fields.h"
#include "qmp.h"
#include "vm.h"

struct lv_vm {
	virDomainPtr dom;
	char errclass[64];
};

static void lv_silent(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;	/* reported through struct verr instead */
}

static const char *lv_uri_label(const char *uri)
{
	return uri ? uri : "default URI";
}

/* libvirt has no reply timeout of its own: @wait changes nothing. */
static int lv_execute(struct vm *vm, const char *cmd, struct json_object *args,
		      bool wait, struct json_object **ret, const char **cls,
		      struct verr *e)
{
	struct lv_vm *lv = vm->priv;
	struct json_object *req = json_object_new_object(), *msg;
	char *reply = NULL;
	int r;

	(void)wait;

	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	r = virDomainQemuMonitorCommand(lv->dom,
			json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			&reply, 0);
	json_object_put(req);
	if (r < 0) {
		verr_set(e, "%s", virGetLastErrorMessage());
		return -2;
	}
	msg = json_tokener_parse(reply);
	free(reply);
	if (!msg || !json_object_is_type(msg, json_type_object)) {
		json_object_put(msg);
		verr_set(e, "libvirt returned a reply that is not a JSON object");
		return -2;
	}
	r = qmp_unpack_reply(msg, cmd, ret, lv->errclass, sizeof(lv->errclass), e);
	if (r == -1 && cls)
		*cls = lv->errclass;
	json_object_put(msg);
	return r;
}

static void lv_vm_free(struct vm *vm)
{
	struct lv_vm *lv = vm->priv;

	virDomainFree(lv->dom);
	free(lv);
}

static const struct vm_ops lv_vm_ops = {
	.execute = lv_execute,
	.free = lv_vm_free,
};

static void lv_conn_free(void *conn)
{
	virConnectClose(conn);
}

static virConnectPtr lv_open(const char *uri, struct vmset *set, struct verr *e)
{
	virConnectPtr conn;

	if (set->conn)
		return set->conn;
	virSetErrorFunc(NULL, lv_silent);
	conn = virConnectOpen(uri);
	if (!conn) {
		verr_set(e, "libvirt (%s): %s", lv_uri_label(uri),
			 virGetLastErrorMessage());
		return NULL;
	}
	set->conn = conn;
	set->conn_free = lv_conn_free;
	return conn;
}

static void lv_add(struct vmset *set, virDomainPtr dom, const char *uri)
{
	struct vm *vm = xcalloc(1, sizeof(*vm));
	struct lv_vm *lv = xcalloc(1, sizeof(*lv));

	lv->dom = dom;
	vm->ops = &lv_vm_ops;
	vm->priv = lv;
	vm->name = xstrdup(virDomainGetName(dom));
	vm->origin = xasprintf("libvirt:%s", uri ? uri : "");
	vmset_add(set, vm);
}

int source_libvirt_all(const char *uri, struct vmset *set, struct verr *e)
{
	virConnectPtr conn = lv_open(uri, set, e);
	virDomainPtr *doms = NULL;
	int i, n;

	if (!conn)
		return -1;
	n = virConnectListAllDomains(conn, &doms,
				     VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		verr_set(e, "libvirt: cannot list domains: %s",
			 virGetLastErrorMessage());
		return -1;
	}
	for (i = 0; i < n; i++)
		lv_add(set, doms[i], uri);
	free(doms);
	return 0;
}

int source_libvirt_one(const char *uri, const char *name, struct vmset *set,
		       struct verr *e)
{
	virConnectPtr conn = lv_open(uri, set, e);
	virDomainPtr dom;

	if (!conn)
		return -1;
	dom = virDomainLookupByName(conn, name);
	if (!dom) {
		verr_set(e, "vm %s: no such libvirt domain (%s)", name,
			 lv_uri_label(uri));
		return -1;
	}
	if (virDomainIsActive(dom) != 1) {
		virDomainFree(dom);
		verr_set(e, "vm %s is not running", name);
		return -1;
	}
	lv_add(set, dom, uri);
	return 0;
}

struct lv_events {
	vm_event_cb cb;
	void *opaque;
	volatile bool *stop;
	bool closed;
};

static void lv_event(virConnectPtr conn, virDomainPtr dom, const char *event,
		     long long seconds, unsigned int micros,
		     const char *details, void *opaque)
{
	struct lv_events *ev = opaque;

	(void)conn;
	ev->cb(virDomainGetName(dom), event, seconds, micros, details,
	       ev->opaque);
}

static void lv_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;	/* wakes the loop so it sees *stop */
}

static void lv_closed(virConnectPtr conn, int reason, void *opaque)
{
	struct lv_events *ev = opaque;

	(void)conn;
	(void)reason;
	ev->closed = true;
}

int source_libvirt_events(const char *uri, vm_event_cb cb, void *opaque,
			  void (*ready)(const char *uri), volatile bool *stop,
			  struct verr *e)
{
	struct lv_events ev = { .cb = cb, .opaque = opaque, .stop = stop };
	struct vmset set = { 0 };
	virConnectPtr conn;
	int id, timer, ret = 0;

	if (virEventRegisterDefaultImpl() < 0) {
		verr_set(e, "libvirt: no event loop: %s", virGetLastErrorMessage());
		return -1;
	}
	conn = lv_open(uri, &set, e);
	if (!conn)
		return -1;
	virConnectRegisterCloseCallback(conn, lv_closed, &ev, NULL);
	id = virConnectDomainQemuMonitorEventRegister(conn, NULL,
			"^" QMP_EVENT_PREFIX, lv_event, &ev, NULL,
			VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX);
	if (id < 0) {
		verr_set(e, "libvirt: cannot follow QMP events: %s",
			 virGetLastErrorMessage());
		vmset_free(&set);
		return -1;
	}
	timer = virEventAddTimeout(500, lv_tick, NULL, NULL);
	ready(lv_uri_label(uri));
	while (!*stop && !ev.closed) {
		if (virEventRunDefaultImpl() < 0) {
			verr_set(e, "libvirt: event loop: %s",
				 virGetLastErrorMessage());
			ret = -1;
			break;
		}
	}
	if (ev.closed && !*stop) {
		verr_set(e, "libvirt (%s): connection closed", lv_uri_label(uri));
		ret = -1;
	}
	if (timer >= 0)
		virEventRemoveTimeout(timer);
	virConnectDomainQemuMonitorEventDeregister(conn, id);
	virConnectUnregisterCloseCallback(conn, lv_closed);
	vmset_free(&set);
	return ret;
}
