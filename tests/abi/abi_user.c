// SPDX-License-Identifier: MIT
/*
 * The wire ABI compiles as strict C11 user-space code and has the layout
 * docs/spec.md states. Layout is checked at compile time; the program only
 * reports, in TAP, what the compiler already proved.
 */
#include <assert.h>
#include <stddef.h>
#include <stdio.h>

#include <linux/virtio_vswap.h>

static_assert(VIRTIO_ID_VSWAP == 60, "provisional device ID");
static_assert(VIRTIO_ID_VSWAP <= 63, "virtio-pci cannot address IDs > 63");
static_assert(VIRTIO_VSWAP_PAGE_SIZE == 4096, "slots are 4 KiB");

static_assert(sizeof(struct virtio_vswap_config) == 24, "config size");
static_assert(offsetof(struct virtio_vswap_config, capacity) == 0, "capacity");
static_assert(offsetof(struct virtio_vswap_config, max_pages) == 8, "max_pages");
static_assert(offsetof(struct virtio_vswap_config, num_queues) == 12, "num_queues");
static_assert(offsetof(struct virtio_vswap_config, store_id) == 16, "store_id");

static_assert(sizeof(struct virtio_vswap_req_hdr) == 24, "header size");
static_assert(offsetof(struct virtio_vswap_req_hdr, type) == 0, "type");
static_assert(offsetof(struct virtio_vswap_req_hdr, flags) == 2, "flags");
static_assert(offsetof(struct virtio_vswap_req_hdr, nr_pages) == 4, "nr_pages");
static_assert(offsetof(struct virtio_vswap_req_hdr, slot) == 8, "slot");
static_assert(offsetof(struct virtio_vswap_req_hdr, reserved) == 16, "reserved");

int main(void)
{
	printf("1..2\n");
	printf("ok 1 - virtio_vswap.h compiles as C11 user space (-std=c11 -Wall -Wextra -Werror -pedantic)\n");
	printf("ok 2 - config is %zu bytes, request header %zu bytes, as in docs/spec.md\n",
	       sizeof(struct virtio_vswap_config),
	       sizeof(struct virtio_vswap_req_hdr));
	return 0;
}
