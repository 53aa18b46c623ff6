// SPDX-License-Identifier: GPL-2.0-only
/*
 * The wire ABI header compiles in a kernel module (W=1) and has the layout
 * docs/spec.md states; tests/abi/ checks the same from user space.
 */
#include <linux/build_bug.h>
#include <linux/module.h>
#include <linux/stddef.h>
#include <linux/virtio_vswap.h>

static_assert(VIRTIO_ID_VSWAP == 60);
static_assert(VIRTIO_VSWAP_PAGE_SIZE == 4096);
static_assert(sizeof(struct virtio_vswap_config) == 24);
static_assert(offsetof(struct virtio_vswap_config, store_id) == 16);
static_assert(offsetof(struct virtio_vswap_config, capacity) == 0);
static_assert(offsetof(struct virtio_vswap_config, max_pages) == 8);
static_assert(offsetof(struct virtio_vswap_config, num_queues) == 12);
static_assert(sizeof(struct virtio_vswap_req_hdr) == 24);
static_assert(offsetof(struct virtio_vswap_req_hdr, type) == 0);
static_assert(offsetof(struct virtio_vswap_req_hdr, flags) == 2);
static_assert(offsetof(struct virtio_vswap_req_hdr, nr_pages) == 4);
static_assert(offsetof(struct virtio_vswap_req_hdr, slot) == 8);
static_assert(offsetof(struct virtio_vswap_req_hdr, reserved) == 16);

static int __init abi_kmod_init(void)
{
	return 0;
}
module_init(abi_kmod_init);

MODULE_DESCRIPTION("virtio-vswap ABI header compile test");
MODULE_LICENSE("GPL");
