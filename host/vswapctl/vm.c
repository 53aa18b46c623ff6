// SPDX-License-Identifier: MIT
/* vswapctl: VM sets and device selection, independent of the source. */
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "vm.h"

int vm_execute(struct vm *vm, const char *cmd, struct json_object *args,
	       struct json_object **ret, const char **cls, struct verr *e)
{
	return vm->ops->execute(vm, cmd, args, false, ret, cls, e);
}

int vm_execute_wait(struct vm *vm, const char *cmd, struct json_object *args,
		    struct json_object **ret, const char **cls,
		    struct verr *e)
{
	return vm->ops->execute(vm, cmd, args, true, ret, cls, e);
}

void vmset_add(struct vmset *set, struct vm *vm)
{
	set->vms = xrealloc(set->vms, (set->n + 1) * sizeof(*set->vms));
	set->vms[set->n++] = vm;
}

void vmset_free(struct vmset *set)
{
	unsigned int i;

	for (i = 0; i < set->n; i++) {
		struct vm *vm = set->vms[i];

		vm->ops->free(vm);
		free(vm->name);
		free(vm->origin);
		free(vm);
	}
	free(set->vms);
	set->vms = NULL;
	set->n = 0;
	if (set->conn)
		set->conn_free(set->conn);
	set->conn = NULL;
}

int vm_query_vswap(struct vm *vm, struct json_object **list, struct verr *e)
{
	const char *cls = NULL;
	int r;

	r = vm_execute(vm, QMP_QUERY_VSWAP, NULL, list, &cls, e);
	if (r == -1 && cls && !strcmp(cls, "CommandNotFound")) {
		/* A QEMU without the series has no such device either. */
		*list = json_object_new_array();
		return 0;
	}
	if (r) {
		verr_prefix(e, "vm %s: %s", vm->name, QMP_QUERY_VSWAP);
		return -1;
	}
	if (!json_object_is_type(*list, json_type_array)) {
		json_object_put(*list);
		*list = NULL;
		verr_set(e, "vm %s: %s did not return a list", vm->name,
			 QMP_QUERY_VSWAP);
		return -1;
	}
	return 0;
}

const char *vm_device_label(struct json_object *entry)
{
	const char *s = entry_str(entry, QMP_DEV_ID);

	if (s && *s)
		return s;
	s = entry_str(entry, QMP_DEV_QOM_PATH);
	return s ? s : "?";
}

int vm_pick_device(struct vm *vm, const char *device, struct json_object **list,
		   struct json_object **entry, struct verr *e)
{
	unsigned int i, n;

	*list = NULL;
	if (vm_query_vswap(vm, list, e))
		return -1;
	n = json_object_array_length(*list);
	if (n == 0) {
		verr_set(e, "vm %s has no virtio-vswap device", vm->name);
		goto fail;
	}
	if (!device) {
		if (n > 1) {
			verr_set(e, "vm %s has %u virtio-vswap devices; pick one with --device",
				 vm->name, n);
			goto fail;
		}
		*entry = json_object_array_get_idx(*list, 0);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(*list, i);
		const char *id = entry_str(d, QMP_DEV_ID);
		const char *path = entry_str(d, QMP_DEV_QOM_PATH);

		if ((id && !strcmp(id, device)) ||
		    (path && !strcmp(path, device))) {
			*entry = d;
			return 0;
		}
	}
	verr_set(e, "vm %s has no virtio-vswap device '%s'", vm->name, device);
fail:
	json_object_put(*list);
	*list = NULL;
	return -1;
}
