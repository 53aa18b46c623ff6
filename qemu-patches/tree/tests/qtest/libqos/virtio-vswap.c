/*
 * libqos driver framework: virtio-vswap
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/module.h"
#include "qgraph.h"
#include "virtio-vswap.h"

static void *qvirtio_vswap_pci_get_driver(void *object, const char *interface)
{
    QVirtioVSwapPCI *v_vswap = object;

    if (!g_strcmp0(interface, "pci-device")) {
        return v_vswap->pci_vdev.pdev;
    }
    if (!g_strcmp0(interface, "virtio-vswap")) {
        return &v_vswap->vswap;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return v_vswap->vswap.vdev;
    }

    fprintf(stderr, "%s not present in virtio-vswap-pci\n", interface);
    g_assert_not_reached();
}

static void *virtio_vswap_pci_create(void *pci_bus, QGuestAllocator *t_alloc,
                                     void *addr)
{
    QVirtioVSwapPCI *v_vswap = g_new0(QVirtioVSwapPCI, 1);
    QOSGraphObject *obj = &v_vswap->pci_vdev.obj;

    virtio_pci_init(&v_vswap->pci_vdev, pci_bus, addr);
    v_vswap->vswap.vdev = &v_vswap->pci_vdev.vdev;
    obj->get_driver = qvirtio_vswap_pci_get_driver;

    return obj;
}

static void virtio_vswap_register_nodes(void)
{
    QPCIAddress addr = {
        .devfn = QPCI_DEVFN(4, 0),
    };
    QOSGraphEdgeOptions opts = {
        .extra_device_opts = "addr=04.0",
    };

    /* virtio-vswap-pci: the device is modern-only, PCI only for now */
    add_qpci_address(&opts, &addr);
    qos_node_create_driver("virtio-vswap-pci", virtio_vswap_pci_create);
    qos_node_consumes("virtio-vswap-pci", "pci-bus", &opts);
    qos_node_produces("virtio-vswap-pci", "pci-device");
    qos_node_produces("virtio-vswap-pci", "virtio");
    qos_node_produces("virtio-vswap-pci", "virtio-vswap");
}

libqos_init(virtio_vswap_register_nodes);
