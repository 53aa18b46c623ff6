/*
 * virtio-vswap: the QMP commands
 *
 * Built into every system emulator, with or without the device: the
 * command walks the QOM tree and asks each virtio-vswap device to
 * describe itself, so no list of devices is kept anywhere.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/qdev-core.h"
#include "hw/virtio/virtio-vswap.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vswap.h"
#include "qom/object.h"

static int vswap_collect_one(Object *obj, void *opaque)
{
    VswapInfoList ***tail = opaque;
    VirtIOVSwap *s;
    VswapInfo *info;

    if (!object_dynamic_cast(obj, TYPE_VIRTIO_VSWAP) ||
        !DEVICE(obj)->realized) {
        return 0;
    }
    s = VIRTIO_VSWAP(obj);
    info = g_new0(VswapInfo, 1);
    VIRTIO_VSWAP_GET_CLASS(s)->fill_info(s, info);
    QAPI_LIST_APPEND(*tail, info);
    return 0;
}

VswapInfoList *qmp_query_vswap(Error **errp)
{
    VswapInfoList *list = NULL, **tail = &list;

    object_child_foreach_recursive(object_get_root(), vswap_collect_one,
                                   &tail);
    return list;
}

/*
 * The device @id names: a qdev id (of the PCI proxy, whose virtio
 * backend is the device) or an absolute QOM path of either, as
 * device_del takes them.  A relative id is never looked up as a partial
 * path over the whole tree: "virtio-backend" would name whichever
 * virtio device happens to be alone.
 */
static VirtIOVSwap *vswap_find(const char *id, Error **errp)
{
    Object *obj, *backend;

    if (id[0] == '/') {
        obj = object_resolve_path(id, NULL);
    } else {
        obj = object_resolve_path_component(
            object_resolve_path("/machine/peripheral", NULL), id);
    }
    if (!obj) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                  "Device '%s' not found", id);
        return NULL;
    }
    if (!object_dynamic_cast(obj, TYPE_VIRTIO_VSWAP)) {
        backend = object_resolve_path_component(obj, "virtio-backend");
        obj = backend && object_dynamic_cast(backend, TYPE_VIRTIO_VSWAP) ?
              backend : NULL;
    }
    if (!obj || !DEVICE(obj)->realized) {
        error_setg(errp, "'%s' is not a virtio-vswap device", id);
        return NULL;
    }
    return VIRTIO_VSWAP(obj);
}

VswapWritebackResult *coroutine_fn qmp_vswap_writeback(const char *id,
                                                       bool has_min_age,
                                                       uint64_t min_age,
                                                       bool has_max_bytes,
                                                       uint64_t max_bytes,
                                                       Error **errp)
{
    VirtIOVSwap *s = vswap_find(id, errp);

    if (!s) {
        return NULL;
    }
    return VIRTIO_VSWAP_GET_CLASS(s)->writeback(s, has_min_age ? min_age : 0,
                                                has_max_bytes ? max_bytes : 0,
                                                errp);
}

VswapCompactResult *coroutine_fn qmp_vswap_compact(const char *id,
                                                   Error **errp)
{
    VirtIOVSwap *s = vswap_find(id, errp);

    if (!s) {
        return NULL;
    }
    return VIRTIO_VSWAP_GET_CLASS(s)->compact(s, errp);
}

void qmp_vswap_set_numa_policy(const char *id, HostMemPolicy policy,
                               bool has_host_nodes, uint16List *host_nodes,
                               Error **errp)
{
    VirtIOVSwap *s = vswap_find(id, errp);

    if (!s) {
        return;
    }
    VIRTIO_VSWAP_GET_CLASS(s)->set_numa_policy(s, policy, host_nodes, errp);
}
