/*
 * libqos driver framework: virtio-vswap
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_VSWAP_H
#define TESTS_LIBQOS_VIRTIO_VSWAP_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"

typedef struct QVirtioVSwap QVirtioVSwap;
typedef struct QVirtioVSwapPCI QVirtioVSwapPCI;

struct QVirtioVSwap {
    QVirtioDevice *vdev;
};

struct QVirtioVSwapPCI {
    QVirtioPCIDevice pci_vdev;
    QVirtioVSwap vswap;
};

#endif
