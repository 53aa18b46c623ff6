/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-vswap: a swap device backed by host memory.
 *
 * This header is the whole wire contract between the guest driver and the
 * device. It is included unchanged by the Linux driver (guest-driver/) and,
 * through a generated standard-headers copy, by QEMU. docs/spec.md is the
 * normative text; this file only fixes the layout.
 *
 * All multi-byte fields are little-endian (modern virtio only).
 *
 * A request is one descriptor chain:
 *
 *   driver-readable:  struct virtio_vswap_req_hdr
 *                     [STORE only: nr_pages * VIRTIO_VSWAP_PAGE_SIZE bytes]
 *   device-writable:  [LOAD only:  nr_pages * VIRTIO_VSWAP_PAGE_SIZE bytes]
 *                     __u8 status (VIRTIO_VSWAP_S_*)
 *
 * The device does not depend on how those bytes are split into descriptors.
 */
#ifndef _LINUX_VIRTIO_VSWAP_H
#define _LINUX_VIRTIO_VSWAP_H

#include <linux/types.h>

/* Provisional: IDs 52-63 are unassigned and reachable by virtio-pci. */
#define VIRTIO_ID_VSWAP			60

/* A slot holds exactly one page of this size, whatever the guest page size. */
#define VIRTIO_VSWAP_PAGE_SHIFT		12
#define VIRTIO_VSWAP_PAGE_SIZE		(1u << VIRTIO_VSWAP_PAGE_SHIFT)

/* Feature bits */
#define VIRTIO_VSWAP_F_MQ		0	/* num_queues is valid */
#define VIRTIO_VSWAP_F_WRITE_ZEROES	1	/* WRITE_ZEROES request type */
#define VIRTIO_VSWAP_F_SUSPEND		2	/* SUSPEND; store_id is valid */

/* Config space: read-only for the driver. */
struct virtio_vswap_config {
	/* Virtual size of the swap area in slots; the device reserves nothing. */
	__le64 capacity;
	/* Upper bound of nr_pages in one STORE or LOAD request (>= 1). */
	__le32 max_pages;
	/* Number of request queues; valid with VIRTIO_VSWAP_F_MQ, else 1. */
	__le16 num_queues;
	__le16 reserved;
	/*
	 * Names the store's content; valid with VIRTIO_VSWAP_F_SUSPEND. It
	 * changes whenever the device empties the store, never otherwise.
	 */
	__le64 store_id;
};

/* Request types */
#define VIRTIO_VSWAP_T_STORE		1	/* guest -> host, nr_pages pages */
#define VIRTIO_VSWAP_T_LOAD		2	/* host -> guest, nr_pages pages */
#define VIRTIO_VSWAP_T_INVALIDATE	3	/* drop slots [slot, slot + nr_pages) */
#define VIRTIO_VSWAP_T_WRITE_ZEROES	4	/* slots read back as zeroes; no data */
#define VIRTIO_VSWAP_T_SUSPEND		5	/* keep the store over the next reset */

struct virtio_vswap_req_hdr {
	__le16 type;		/* VIRTIO_VSWAP_T_* */
	__le16 flags;		/* none defined: MUST be 0 */
	__le32 nr_pages;	/* >= 1; SUSPEND: 0 */
	__le64 slot;		/* first slot */
	__le64 reserved;	/* MUST be 0 */
};

/* Status byte: the last device-writable byte of every request. */
#define VIRTIO_VSWAP_S_OK		0
#define VIRTIO_VSWAP_S_BAD_REQUEST	1	/* malformed; nothing changed */
#define VIRTIO_VSWAP_S_NO_SPACE		2	/* store refused; guest keeps page */
#define VIRTIO_VSWAP_S_IOERR		3	/* host failure; data not returned */
#define VIRTIO_VSWAP_S_INTEGRITY	4	/* checksum mismatch; no data */
#define VIRTIO_VSWAP_S_UNSUPPORTED	5	/* unknown or unnegotiated type */

#endif /* _LINUX_VIRTIO_VSWAP_H */
