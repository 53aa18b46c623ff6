/*
 * virtio-vswap fuzzing target: request chains
 *
 * Where generic-fuzz pokes registers and DMA at random, this target
 * speaks the request ABI (include/standard-headers/linux/virtio_vswap.h)
 * and bends it: each action of an input is one descriptor chain built
 * from a request header (any type, flags, slot and nr_pages), page data
 * of a chosen kind (zero, same-filled, text, random: every store path),
 * a status byte, cut into descriptors at chosen points, with one chosen
 * malformation (a short or writable header, data one page or one byte
 * off, no status, an extra writable byte, a buffer outside guest RAM),
 * and made available to the device at once.
 * Before each input the driver resets the device and negotiates the
 * features the input asks for, so SUSPEND, resets and feature mismatches
 * are reached too.  The device's guest is untrusted: nothing here may
 * crash, hang or leak (ASan, UBSan, libFuzzer's timeout).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "qemu/bswap.h"
#include "tests/qtest/libqtest.h"
#include "tests/qtest/libqos/virtio.h"
#include "tests/qtest/libqos/virtio-pci.h"
#include "tests/qtest/libqos/virtio-vswap.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_ring.h"
#include "standard-headers/linux/virtio_vswap.h"
#include "fuzz.h"
#include "qos_fuzz.h"

#define PAGE            VIRTIO_VSWAP_PAGE_SIZE
#define HDR             sizeof(struct virtio_vswap_req_hdr)
#define NR_QUEUES       2
#define MAX_PAGES       8
/* Guest memory for one input's buffers, carved front to back. */
#define SCRATCH         (2 * 1024 * 1024)
/* Guest-physical address with no RAM behind it (q35: below the PCI hole). */
#define NOT_RAM         0xfec00000ULL
/* Descriptors one action can use: header, data and status parts. */
#define MAX_DESCS       (15 + 15 + 1)

/* One action: a request chain. 12 bytes of the input each. */
typedef struct QEMU_PACKED VSwapAction {
    uint8_t type;       /* low 3 bits: a request type; else taken as is */
    uint8_t queue;
    uint8_t nr_pages;
    uint8_t flags;      /* bit 0: flags field set, bit 1: reserved set */
    uint16_t slot;      /* capacity is 16384 slots: half are out of range */
    uint8_t kind;       /* page content: zero, same, text, random */
    uint8_t cut;        /* descriptors per part: low nibble data, high hdr */
    uint8_t bad;        /* one malformation (see vswap_fuzz_action) */
    uint8_t pad;
    uint16_t seed;
} VSwapAction;

typedef struct VSwapFuzz {
    QVirtQueue *vq[NR_QUEUES];
    uint64_t scratch;
    size_t used;
} VSwapFuzz;

static VSwapFuzz fz;

static uint64_t scratch_take(size_t len)
{
    uint64_t a;

    len = ROUND_UP(len ? len : 1, 8);
    if (fz.used + len > SCRATCH) {
        return 0;
    }
    a = fz.scratch + fz.used;
    fz.used += len;
    return a;
}

static void fill_pages(uint8_t *p, size_t len, uint8_t kind, uint16_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    size_t i;

    switch (kind & 3) {
    case 0:
        memset(p, 0, len);
        break;
    case 1:
        for (i = 0; i + 8 <= len; i += 8) {
            stq_le_p(p + i, 0x0101010101010101ULL * (seed & 0xff));
        }
        break;
    case 2:
        for (i = 0; i < len; i++) {
            p[i] = "the quick brown fox "[(i + seed) % 20];
        }
        break;
    default:
        for (i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            p[i] = x >> 16;
        }
        break;
    }
}

/* A stretch of the chain: @len bytes at @addr in @n descriptors. */
typedef struct Part {
    uint64_t addr;
    uint32_t len;
    bool write;
    unsigned n;
} Part;

/* Add @parts as one chain (libqos rings chain consecutive entries). */
static uint32_t add_chain(QTestState *s, QVirtQueue *q, const Part *parts,
                          int np)
{
    uint32_t head = q->free_head;
    int p;

    for (p = 0; p < np; p++) {
        unsigned n = MAX(1, MIN(parts[p].n, MAX(parts[p].len, 1)));
        uint32_t piece, off = 0;
        unsigned i;

        for (i = 0; i < n; i++) {
            bool end = i == n - 1;

            piece = end ? parts[p].len - off : parts[p].len / n;
            qvirtqueue_add(s, q, parts[p].addr + off, piece, parts[p].write,
                           !(end && p == np - 1));
            off += piece;
        }
    }
    return head;
}

static void vswap_fuzz_action(QTestState *s, QVirtioDevice *dev,
                              const VSwapAction *a)
{
    static const uint16_t types[] = {
        VIRTIO_VSWAP_T_STORE, VIRTIO_VSWAP_T_LOAD, VIRTIO_VSWAP_T_STORE,
        VIRTIO_VSWAP_T_LOAD, VIRTIO_VSWAP_T_INVALIDATE,
        VIRTIO_VSWAP_T_WRITE_ZEROES, VIRTIO_VSWAP_T_SUSPEND,
    };
    QVirtQueue *q = fz.vq[a->queue % NR_QUEUES];
    uint16_t type = (a->type & 7) < 7 ? types[a->type & 7] : a->type >> 3;
    uint32_t nr = a->nr_pages % (MAX_PAGES + 2);
    uint8_t hdr[HDR + 1] = { 0 };
    size_t data = (size_t)MIN(nr, MAX_PAGES + 1) * PAGE;
    bool store = type == VIRTIO_VSWAP_T_STORE;
    bool load = type == VIRTIO_VSWAP_T_LOAD;
    uint32_t hdr_len = HDR, out_len, in_len;
    bool hdr_write = false, not_ram = false;
    uint64_t h, d = 0, st;
    g_autofree uint8_t *buf = NULL;
    Part parts[4];
    int np = 0;

    if (type == VIRTIO_VSWAP_T_INVALIDATE ||
        type == VIRTIO_VSWAP_T_WRITE_ZEROES) {
        nr = a->nr_pages * 129u;        /* ranges reach past the capacity */
        data = 0;
    } else if (type == VIRTIO_VSWAP_T_SUSPEND) {
        nr = a->nr_pages < 200 ? 0 : a->nr_pages;
        data = 0;
    } else if (!store && !load) {
        data = 0;
    }
    stw_le_p(hdr, type);
    stw_le_p(hdr + 2, a->flags & 1 ? a->seed | 1 : 0);
    stl_le_p(hdr + 4, nr);
    stq_le_p(hdr + 8, type == VIRTIO_VSWAP_T_SUSPEND && a->slot < 0x8000 ?
             0 : a->slot);
    stq_le_p(hdr + 16, a->flags & 2 ? 1 : 0);

    out_len = store ? data : 0;
    in_len = load ? data : 0;
    switch (a->bad % 16) {      /* 8 of 16: well-formed */
    case 8:
        hdr_len = a->seed % HDR;                /* short header */
        break;
    case 9:
        hdr_write = true;                       /* device-writable header */
        break;
    case 10:
        out_len = store ? data - PAGE : PAGE;   /* a page off */
        in_len = load ? data + PAGE : 0;
        break;
    case 11:
        out_len = store ? data + 1 : 1;         /* a byte off */
        break;
    case 12:
        in_len = load ? data - 1 : 0;           /* room for no status... */
        break;
    case 13:
        in_len += 1;                            /* an extra writable byte */
        break;
    case 14:
        not_ram = true;                         /* data outside RAM */
        break;
    case 15:
        hdr_len = HDR + 1;                      /* a header byte too many */
        break;
    }
    if (out_len > (MAX_PAGES + 1) * PAGE || in_len > (MAX_PAGES + 1) * PAGE) {
        out_len = in_len = 0;
    }

    if (q->free_head + MAX_DESCS > q->size) {
        return;                                 /* input used the ring */
    }
    h = scratch_take(hdr_len);
    if (out_len || in_len) {
        d = scratch_take(MAX(out_len, in_len));
    }
    st = scratch_take(1);
    if (!h || !st || ((out_len || in_len) && !d)) {
        return;                                 /* input used the scratch */
    }
    qtest_memwrite(s, h, hdr, hdr_len);
    if (out_len) {
        buf = g_malloc(out_len);
        fill_pages(buf, out_len, a->kind, a->seed);
        qtest_memwrite(s, d, buf, out_len);
    }

    if (not_ram) {
        d = NOT_RAM;
    }
    parts[np++] = (Part){ h, hdr_len, hdr_write, a->cut >> 4 };
    if (out_len) {
        parts[np++] = (Part){ d, out_len, false, a->cut & 15 };
    }
    if (in_len) {
        parts[np++] = (Part){ d, in_len, true, a->cut & 15 };
    }
    if (a->bad % 16 != 12) {
        parts[np++] = (Part){ st, 1, true, 1 };
    }
    qvirtqueue_kick(s, dev, q, add_chain(s, q, parts, np));
}

static void vswap_fuzz(QTestState *s, const unsigned char *data, size_t size)
{
    QVirtioVSwap *vs = fuzz_qos_obj;
    QVirtioDevice *dev = vs->vdev;
    uint64_t features;
    VSwapAction a;
    int i;

    if (size < sizeof(uint64_t)) {
        return;
    }
    /* A driver's start: reset, features the input picks, queues, go. */
    qvirtio_start_device(dev);
    features = qvirtio_get_features(dev) & (ldq_le_p(data) |
                                            1ULL << VIRTIO_F_VERSION_1);
    features &= ~(1ULL << VIRTIO_RING_F_EVENT_IDX);
    qvirtio_set_features(dev, features);
    data += sizeof(uint64_t);
    size -= sizeof(uint64_t);
    for (i = 0; i < NR_QUEUES; i++) {
        fz.vq[i] = qvirtqueue_setup(dev, fuzz_qos_alloc, i);
    }
    qvirtio_set_driver_ok(dev);
    fz.used = 0;

    while (size >= sizeof(a)) {
        memcpy(&a, data, sizeof(a));
        data += sizeof(a);
        size -= sizeof(a);
        vswap_fuzz_action(s, dev, &a);
    }
    flush_events(s);
    /* Let work in the thread pool and the iothread finish. */
    for (i = 0; i < 100 && g_main_context_pending(NULL); i++) {
        flush_events(s);
    }
    qvirtio_reset(dev);
    for (i = 0; i < NR_QUEUES; i++) {
        qvirtqueue_cleanup(dev->bus, fz.vq[i], fuzz_qos_alloc);
        fz.vq[i] = NULL;
    }
}

static void vswap_pre_fuzz(QTestState *s)
{
    qos_init_path(s);
    fz.scratch = guest_alloc(fuzz_qos_alloc, SCRATCH);
}

#define DEV_OPTS "size=64M,max-pages=8,num-queues=2"

static void tier_remove(void *dir)
{
    g_autofree char *file = g_build_filename(dir, "tier", NULL);

    unlink(file);
    rmdir(dir);
    g_free(dir);
}

/* A disk tier under a 1 MiB pool cap: stores write back, loads read. */
static void *vswap_tier_setup(GString *cmd_line, void *arg)
{
    char *dir = g_dir_make_tmp("qemu-fuzz-vswap.XXXXXX", NULL);

    g_assert_nonnull(dir);
    g_string_append_printf(cmd_line, " -global virtio-vswap-device."
                           "backing-file=%s/tier ", dir);
    g_test_queue_destroy(tier_remove, dir);
    return arg;
}

static void register_virtio_vswap_fuzz_targets(void)
{
    fuzz_add_qos_target(&(FuzzTarget){
            .name = "virtio-vswap-requests",
            .description = "virtio-vswap request chains, well-formed and "
                           "malformed (pool cap 4M)",
            .pre_fuzz = vswap_pre_fuzz,
            .fuzz = vswap_fuzz, },
        "virtio-vswap",
        &(QOSGraphTestOptions){
            .edge.extra_device_opts = DEV_OPTS ",pool-max=4M" });
    fuzz_add_qos_target(&(FuzzTarget){
            .name = "virtio-vswap-requests-iothread",
            .description = "virtio-vswap request chains, two queues "
                           "served by an iothread",
            .pre_fuzz = vswap_pre_fuzz,
            .fuzz = vswap_fuzz, },
        "virtio-vswap",
        &(QOSGraphTestOptions){
            .edge.after_cmd_line = "-object iothread,id=io0",
            .edge.extra_device_opts = DEV_OPTS ",pool-max=4M,iothread=io0" });
    fuzz_add_qos_target(&(FuzzTarget){
            .name = "virtio-vswap-requests-tier",
            .description = "virtio-vswap request chains with a disk tier "
                           "under a 1 MiB pool cap",
            .pre_fuzz = vswap_pre_fuzz,
            .fuzz = vswap_fuzz, },
        "virtio-vswap",
        &(QOSGraphTestOptions){
            .before = vswap_tier_setup,
            .edge.extra_device_opts = DEV_OPTS ",pool-max=1M,"
                                      "backing-max=4M" });
}

fuzz_target_init(register_virtio_vswap_fuzz_targets);
