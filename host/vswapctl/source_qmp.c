// SPDX-License-Identifier: MIT
/* vswapctl: VMs reached through a QEMU QMP unix socket (--qmp PATH). */
#include <string.h>

#include "qmp.h"
#include "vm.h"

static int qmp_vm_execute(struct vm *vm, const char *cmd,
			  struct json_object *args, bool wait,
			  struct json_object **ret, const char **cls,
			  struct verr *e)
{
	return wait ? qmp_execute_wait(vm->priv, cmd, args, ret, cls, e) :
		      qmp_execute(vm->priv, cmd, args, ret, cls, e);
}

static void qmp_vm_free(struct vm *vm)
{
	qmp_close(vm->priv);
}

static const struct vm_ops qmp_vm_ops = {
	.execute = qmp_vm_execute,
	.free = qmp_vm_free,
};

struct qmp *source_qmp_client(struct vm *vm)
{
	return vm->ops == &qmp_vm_ops ? vm->priv : NULL;
}

/* The VM's name: query-name's "name", else the socket's file name. */
static char *vm_name(struct qmp *q, const char *path)
{
	struct json_object *ret = NULL, *n;
	const char *base = strrchr(path, '/');
	char *name = NULL;
	struct verr e;

	if (!qmp_execute(q, "query-name", NULL, &ret, NULL, &e) &&
	    json_object_object_get_ex(ret, "name", &n) &&
	    *json_object_get_string(n))
		name = xstrdup(json_object_get_string(n));
	json_object_put(ret);
	return name ? name : xstrdup(base ? base + 1 : path);
}

struct vm *source_qmp_open(const char *path, struct verr *e)
{
	struct qmp *q = qmp_open(path, VM_TIMEOUT_MS, e);
	struct vm *vm;

	if (!q)
		return NULL;
	vm = xcalloc(1, sizeof(*vm));
	vm->ops = &qmp_vm_ops;
	vm->priv = q;
	vm->name = vm_name(q, path);
	vm->origin = xasprintf("qmp:%s", path);
	return vm;
}
