/*
 * virtio-vswap PCI bindings
 *
 * Modern-only (virtio 1.0): the device ID postdates the legacy
 * interface, so there is only the generic "virtio-vswap-pci" type.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-vswap.h"
#include "hw/qdev-properties.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qom/object.h"
#include "standard-headers/linux/virtio_ids.h"
#include "standard-headers/linux/virtio_vswap.h"

typedef struct VirtIOVSwapPCI VirtIOVSwapPCI;

#define TYPE_VIRTIO_VSWAP_PCI "virtio-vswap-pci-base"
DECLARE_INSTANCE_CHECKER(VirtIOVSwapPCI, VIRTIO_VSWAP_PCI,
                         TYPE_VIRTIO_VSWAP_PCI)

struct VirtIOVSwapPCI {
    VirtIOPCIProxy parent_obj;
    VirtIOVSwap vdev;
    OnOffAuto ioeventfd;
};

/*
 * ioeventfd=auto (the default) is on with an iothread and off without:
 * then a notification is served in the vCPU thread that wrote it, which
 * completes the requests before the guest resumes, instead of handing
 * them to the main loop and back (two thread hand-offs per batch, and a
 * guest that sleeps on its swap-in meanwhile).  The main loop would run
 * them under the BQL too, serialised with everything else it does.
 */
static const Property virtio_vswap_pci_properties[] = {
    DEFINE_PROP_ON_OFF_AUTO("ioeventfd", VirtIOVSwapPCI, ioeventfd,
                            ON_OFF_AUTO_AUTO),
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors,
                       DEV_NVECTORS_UNSPECIFIED),
};

static void virtio_vswap_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VirtIOVSwapPCI *dev = VIRTIO_VSWAP_PCI(vpci_dev);
    DeviceState *vdev = DEVICE(&dev->vdev);
    VirtIOVSwapConf *conf = &dev->vdev.conf;

    /* One queue per vCPU by default, like virtio-blk. */
    if (conf->num_queues == VIRTIO_VSWAP_AUTO_NUM_QUEUES) {
        conf->num_queues = MIN(virtio_pci_optimal_num_queues(0),
                               VIRTIO_VSWAP_MAX_QUEUES);
        if (!virtio_has_feature(dev->vdev.host_features,
                                VIRTIO_VSWAP_F_MQ)) {
            conf->num_queues = 1;
        }
    }
    if (vpci_dev->nvectors == DEV_NVECTORS_UNSPECIFIED) {
        vpci_dev->nvectors = conf->num_queues + 1;
    }
    if (dev->ioeventfd == ON_OFF_AUTO_ON ||
        (dev->ioeventfd == ON_OFF_AUTO_AUTO && conf->iothread)) {
        vpci_dev->flags |= VIRTIO_PCI_FLAG_USE_IOEVENTFD;
    } else {
        vpci_dev->flags &= ~VIRTIO_PCI_FLAG_USE_IOEVENTFD;
    }

    virtio_pci_force_virtio_1(vpci_dev);
    qdev_realize(vdev, BUS(&vpci_dev->bus), errp);
}

static void virtio_vswap_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = virtio_vswap_pci_realize;
    set_bit(DEVICE_CATEGORY_STORAGE, dc->categories);
    pcidev_k->vendor_id = PCI_VENDOR_ID_REDHAT_QUMRANET;
    pcidev_k->device_id = PCI_DEVICE_ID_VIRTIO_10_BASE + VIRTIO_ID_VSWAP;
    pcidev_k->revision = VIRTIO_PCI_ABI_VERSION;
    pcidev_k->class_id = PCI_CLASS_OTHERS;
    device_class_set_props(dc, virtio_vswap_pci_properties);
}

static void virtio_vswap_pci_instance_init(Object *obj)
{
    VirtIOVSwapPCI *dev = VIRTIO_VSWAP_PCI(obj);

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VIRTIO_VSWAP);
}

static const VirtioPCIDeviceTypeInfo virtio_vswap_pci_info = {
    .base_name     = TYPE_VIRTIO_VSWAP_PCI,
    .generic_name  = "virtio-vswap-pci",
    .instance_size = sizeof(VirtIOVSwapPCI),
    .instance_init = virtio_vswap_pci_instance_init,
    .class_init    = virtio_vswap_pci_class_init,
};

static void virtio_vswap_pci_register_types(void)
{
    virtio_pci_types_register(&virtio_vswap_pci_info);
}

type_init(virtio_vswap_pci_register_types)
