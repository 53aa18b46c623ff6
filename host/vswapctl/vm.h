/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: a VM is a monitor vswapctl can send QMP commands to, however it
 * is reached. Two sources make VMs:
 *   source_qmp.c      a QEMU QMP unix socket (--qmp PATH)
 *   source_libvirt.c  a running libvirt domain, through
 *                     virDomainQemuMonitorCommand (--libvirt [URI])
 * Commands only see struct vm and vm_execute(); they never know the source.
 *
 * A struct vmset owns its VMs and whatever connection they share; freeing
 * the set frees them all (VMs first, then the connection).
 */
#ifndef VSWAPCTL_VM_H
#define VSWAPCTL_VM_H

#include <stdbool.h>

#include <json-c/json.h>

#include "util.h"

/* How long to wait for QEMU's greeting or a reply. */
#define VM_TIMEOUT_MS	10000

struct vm;

struct vm_ops {
	/*
	 * Same contract as qmp_execute(): 0, -1 QMP error, -2 transport.
	 * @wait: no reply timeout (qmp_execute_wait()).
	 */
	int (*execute)(struct vm *vm, const char *cmd, struct json_object *args,
		       bool wait, struct json_object **ret, const char **cls,
		       struct verr *e);
	void (*free)(struct vm *vm);
};

struct vm {
	char *name;		/* query-name, domain name, or socket name */
	char *origin;		/* "qmp:PATH" or "libvirt:URI" for messages */
	const struct vm_ops *ops;
	void *priv;		/* the source's */
};

struct vmset {
	struct vm **vms;
	unsigned int n;
	void *conn;		/* connection shared by its VMs, or NULL */
	void (*conn_free)(void *conn);
};

int vm_execute(struct vm *vm, const char *cmd, struct json_object *args,
	       struct json_object **ret, const char **cls, struct verr *e);
/*
 * vm_execute() for a command that replies when its work is done
 * (vswap-writeback, vswap-compact): no reply timeout, however long the
 * work takes (a timeout would leave it running in QEMU unreported).
 */
int vm_execute_wait(struct vm *vm, const char *cmd, struct json_object *args,
		    struct json_object **ret, const char **cls,
		    struct verr *e);
void vmset_add(struct vmset *set, struct vm *vm);
void vmset_free(struct vmset *set);

/*
 * query-vswap on @vm: *list is its array (caller puts). A QEMU without the
 * command counts as an empty list. Returns 0 or -1 with *e.
 */
int vm_query_vswap(struct vm *vm, struct json_object **list, struct verr *e);

/*
 * Pick one device of @vm: the entry whose id or qom-path is @device, or the
 * only one when @device is NULL. *entry is borrowed from *list (caller puts
 * *list). Errors: "vm X has no virtio-vswap device", no such id, ambiguous.
 */
int vm_pick_device(struct vm *vm, const char *device, struct json_object **list,
		   struct json_object **entry, struct verr *e);

/* Device label for messages and rows: its id, else its qom-path. */
const char *vm_device_label(struct json_object *entry);

/* --- sources --- */

/* Connect to a QMP socket; the VM is named by query-name or the file name. */
struct vm *source_qmp_open(const char *path, struct verr *e);
/* The QMP client of a VM made by source_qmp_open(), or NULL. */
struct qmp *source_qmp_client(struct vm *vm);

/* Every running domain of @uri (NULL = libvirt's default) into @set. */
int source_libvirt_all(const char *uri, struct vmset *set, struct verr *e);
/* One domain by name. */
int source_libvirt_one(const char *uri, const char *name, struct vmset *set,
		       struct verr *e);
/*
 * Follow QMP events named QMP_EVENT_PREFIX* of every domain of @uri until
 * *stop becomes true; @cb is called for each, @ready once registered.
 * Returns 0 or -1 with *e.
 */
typedef void (*vm_event_cb)(const char *vm, const char *event,
			    long long seconds, unsigned int micros,
			    const char *data_json, void *opaque);
int source_libvirt_events(const char *uri, vm_event_cb cb, void *opaque,
			  void (*ready)(const char *uri), volatile bool *stop,
			  struct verr *e);

#endif /* VSWAPCTL_VM_H */
