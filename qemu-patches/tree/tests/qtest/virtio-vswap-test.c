/*
 * QTest testcase for virtio-vswap
 *
 * Drives the device like a guest driver would, through libqos virtqueues:
 * stores and loads pages of every kind, multi-page requests, invalidation,
 * malformed requests of every sort, a chain that cannot carry a status,
 * and finally checks that query-vswap counts exactly what was sent.
 * SUSPEND keeps the store over device resets, not over a system reset;
 * the store's migration records load into a second QEMU intact and are
 * refused malformed.
 * The disk tier cases give the device a backing file and a small
 * pool-max, and check that data goes to disk and comes back bit-exact;
 * on a loop device (as root), that QEMU's exit leaves it zeroed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <linux/loop.h>
#include <sys/ioctl.h>
#include "libqtest-single.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "standard-headers/linux/virtio_vswap.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-pci.h"
#include "libqos/virtio-vswap.h"

#define PAGE            VIRTIO_VSWAP_PAGE_SIZE
#define HDR             sizeof(struct virtio_vswap_req_hdr)
#define TIMEOUT_US      (30 * 1000 * 1000)
#define NR_QUEUES       2
#define MAX_PAGES       8
#define DEV_SIZE        (64 * 1024 * 1024)
#define DEV_OPTS        "size=64M,max-pages=8,num-queues=2"
#define MAX_SEGS        64
#define F_WRITE_ZEROES  (1ULL << VIRTIO_VSWAP_F_WRITE_ZEROES)

typedef struct VSwapTest {
    QTestState *qts;
    QVirtioDevice *dev;
    QGuestAllocator *alloc;
    QVirtQueue *vq[NR_QUEUES];
    uint64_t capacity;
    uint32_t max_pages;
} VSwapTest;

/* How a request's byte streams are cut into descriptors. */
typedef enum {
    LAYOUT_NATURAL,     /* header, one descriptor per page, status */
    LAYOUT_SPLIT,       /* 1000-byte readable, 1500-byte writable pieces */
} Layout;

enum { KIND_ZERO, KIND_SAME, KIND_SAME_BYTE, KIND_TEXT, KIND_RANDOM, NKINDS };

static void fill_page(uint8_t *p, int kind, uint32_t seed)
{
    uint64_t v = 0x0123456789abcdefULL ^ seed;
    GRand *r;
    size_t i, n;

    switch (kind) {
    case KIND_ZERO:
        memset(p, 0, PAGE);
        break;
    case KIND_SAME:
        for (i = 0; i < PAGE; i += 8) {
            memcpy(p + i, &v, 8);
        }
        break;
    case KIND_SAME_BYTE:
        memset(p, 0xa5 ^ (seed & 0xff), PAGE);
        break;
    case KIND_TEXT:
        for (i = 0; i < PAGE; i += n) {
            char line[64];

            n = snprintf(line, sizeof(line), "page %u line %zu: the quick "
                         "brown fox\n", seed, i / 40);
            n = MIN(n, PAGE - i);
            memcpy(p + i, line, n);
        }
        break;
    case KIND_RANDOM:
        r = g_rand_new_with_seed(seed);
        for (i = 0; i < PAGE; i += 4) {
            uint32_t x = g_rand_int(r);

            memcpy(p + i, &x, 4);
        }
        g_rand_free(r);
        break;
    default:
        g_assert_not_reached();
    }
}

static void make_hdr(uint8_t *buf, uint16_t type, uint16_t flags,
                     uint32_t nr_pages, uint64_t slot, uint64_t reserved)
{
    struct virtio_vswap_req_hdr h = {
        .type = cpu_to_le16(type),
        .flags = cpu_to_le16(flags),
        .nr_pages = cpu_to_le32(nr_pages),
        .slot = cpu_to_le64(slot),
        .reserved = cpu_to_le64(reserved),
    };

    memcpy(buf, &h, sizeof(h));
}

static int cut(size_t len, Layout layout, bool readable, uint32_t *lens)
{
    int n = 0;

    if (layout == LAYOUT_SPLIT) {
        size_t piece = readable ? 1000 : 1500;

        while (len) {
            lens[n] = MIN(len, piece);
            len -= lens[n++];
        }
        return n;
    }
    if (readable) {
        if (len) {
            lens[n] = MIN(len, HDR);
            len -= lens[n++];
        }
        while (len) {
            lens[n] = MIN(len, PAGE);
            len -= lens[n++];
        }
    } else {
        while (len > 1) {
            lens[n] = MIN(len - 1, PAGE);
            len -= lens[n++];
        }
        if (len) {
            lens[n++] = 1;
        }
    }
    return n;
}

/*
 * Send one chain on queue @q: @out_len driver-readable bytes from @out,
 * then @in_len device-writable bytes, read back into @in when done.
 * Returns the used length.
 */
static uint32_t xfer(VSwapTest *t, int q, const void *out, size_t out_len,
                     void *in, size_t in_len, Layout layout)
{
    QVirtQueue *vq = t->vq[q];
    uint32_t rl[MAX_SEGS], wl[MAX_SEGS];
    int nr = cut(out_len, layout, true, rl);
    int nw = cut(in_len, layout, false, wl);
    uint64_t addr = guest_alloc(t->alloc, out_len + in_len);
    uint64_t a = addr;
    uint32_t head = 0, used = UINT32_MAX;
    int i;

    g_assert_cmpint(nr + nw, >, 0);
    g_assert_cmpint(nr + nw, <=, MAX_SEGS);
    qvirtqueue_reset_pool(vq);
    if (out_len) {
        qtest_memwrite(t->qts, addr, out, out_len);
    }
    if (in_len) {
        qtest_memset(t->qts, addr + out_len, 0xee, in_len);
    }
    for (i = 0; i < nr + nw; i++) {
        bool write = i >= nr;
        uint32_t len = write ? wl[i - nr] : rl[i];
        uint32_t id = qvirtqueue_add(t->qts, vq, a, len, write,
                                     i < nr + nw - 1);

        if (i == 0) {
            head = id;
        }
        a += len;
    }
    qvirtqueue_kick(t->qts, t->dev, vq, head);
    qvirtio_wait_used_elem(t->qts, t->dev, vq, head, &used, TIMEOUT_US);
    if (in_len) {
        qtest_memread(t->qts, addr + out_len, in, in_len);
    }
    guest_free(t->alloc, addr);
    return used;
}

/* A request with a header; returns its status byte (0xff: none). */
static uint8_t req_full(VSwapTest *t, int q, const uint8_t *hdr,
                        size_t hdr_len, const void *data_out, size_t out_len,
                        void *data_in, size_t in_len, uint32_t *used,
                        Layout layout)
{
    g_autofree uint8_t *out = g_malloc(hdr_len + out_len);
    g_autofree uint8_t *in = g_malloc(in_len + 1);
    uint32_t u;

    memcpy(out, hdr, hdr_len);
    if (out_len) {
        memcpy(out + hdr_len, data_out, out_len);
    }
    u = xfer(t, q, out, hdr_len + out_len, in, in_len, layout);
    if (used) {
        *used = u;
    }
    if (data_in && in_len > 1) {
        memcpy(data_in, in, in_len - 1);
    }
    return in_len ? in[in_len - 1] : 0xff;
}

static uint8_t vswap_store(VSwapTest *t, int q, uint64_t slot, uint32_t nr,
                           const void *pages, Layout layout)
{
    uint8_t hdr[HDR];
    uint32_t used;
    uint8_t st;

    make_hdr(hdr, VIRTIO_VSWAP_T_STORE, 0, nr, slot, 0);
    st = req_full(t, q, hdr, HDR, pages, (size_t)nr * PAGE, NULL, 1, &used,
                  layout);
    g_assert_cmpuint(used, ==, 1);
    return st;
}

static uint8_t vswap_load(VSwapTest *t, int q, uint64_t slot, uint32_t nr,
                          void *pages, Layout layout)
{
    uint8_t hdr[HDR];
    uint32_t used;
    uint8_t st;

    make_hdr(hdr, VIRTIO_VSWAP_T_LOAD, 0, nr, slot, 0);
    st = req_full(t, q, hdr, HDR, NULL, 0, pages, (size_t)nr * PAGE + 1,
                  &used, layout);
    /* all of it, whatever the status: the status byte is the last */
    g_assert_cmpuint(used, ==, (size_t)nr * PAGE + 1);
    return st;
}

/*
 * Store a text page (@seed) into @slot on queue @qs, load it back on
 * queue @ql, and check it bit-exact.
 */
static void store_load_text(VSwapTest *t, int qs, Layout ls, int ql,
                            Layout ll, uint64_t slot, uint32_t seed)
{
    uint8_t page[PAGE], got[PAGE];

    fill_page(page, KIND_TEXT, seed);
    g_assert_cmpuint(vswap_store(t, qs, slot, 1, page, ls), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_load(t, ql, slot, 1, got, ll), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(page, got, PAGE) == 0);
}

/* INVALIDATE, WRITE_ZEROES or any header-only request. */
static uint8_t vswap_simple(VSwapTest *t, uint16_t type, uint64_t slot,
                            uint32_t nr)
{
    uint8_t hdr[HDR];
    uint32_t used;
    uint8_t st;

    make_hdr(hdr, type, 0, nr, slot, 0);
    st = req_full(t, 0, hdr, HDR, NULL, 0, NULL, 1, &used, LAYOUT_NATURAL);
    g_assert_cmpuint(used, ==, 1);
    return st;
}

static void vswap_start_features(VSwapTest *t, uint64_t extra)
{
    uint64_t features = qvirtio_get_features(t->dev);
    uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
                    (1ULL << VIRTIO_VSWAP_F_MQ) | extra;
    int i;

    g_assert(features & (1ULL << VIRTIO_F_VERSION_1));
    g_assert(features & (1ULL << VIRTIO_VSWAP_F_MQ));
    /* not offered: the device cannot reset one queue (see get_features) */
    g_assert(!(features & (1ULL << VIRTIO_F_RING_RESET)));
    g_assert(features & (1ULL << VIRTIO_VSWAP_F_WRITE_ZEROES));
    g_assert(features & (1ULL << VIRTIO_VSWAP_F_SUSPEND));
    qvirtio_set_features(t->dev, features & want);

    t->capacity = qvirtio_config_readq(t->dev,
                        offsetof(struct virtio_vswap_config, capacity));
    t->max_pages = qvirtio_config_readl(t->dev,
                        offsetof(struct virtio_vswap_config, max_pages));
    g_assert_cmpuint(t->capacity, ==, DEV_SIZE / PAGE);
    g_assert_cmpuint(t->max_pages, ==, MAX_PAGES);
    g_assert_cmpuint(qvirtio_config_readw(t->dev,
                        offsetof(struct virtio_vswap_config, num_queues)),
                     ==, NR_QUEUES);

    for (i = 0; i < NR_QUEUES; i++) {
        t->vq[i] = qvirtqueue_setup(t->dev, t->alloc, i);
    }
    qvirtio_set_driver_ok(t->dev);
}

static void vswap_start(VSwapTest *t, bool write_zeroes)
{
    vswap_start_features(t, write_zeroes ?
                         1ULL << VIRTIO_VSWAP_F_WRITE_ZEROES : 0);
}

static void vswap_setup(VSwapTest *t, void *obj, QGuestAllocator *alloc,
                        bool write_zeroes)
{
    QVirtioVSwap *vs = obj;

    memset(t, 0, sizeof(*t));
    t->qts = global_qtest;
    t->dev = vs->vdev;
    t->alloc = alloc;
    vswap_start(t, write_zeroes);
}

static void vswap_teardown(VSwapTest *t)
{
    int i;

    for (i = 0; i < NR_QUEUES; i++) {
        qvirtqueue_cleanup(t->dev->bus, t->vq[i], t->alloc);
    }
}

static bool is_zero(const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* Stores and loads pages of every kind, one by one and in batches. */
static void test_store_load(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    g_autofree uint8_t *pages = g_malloc(MAX_PAGES * PAGE);
    g_autofree uint8_t *back = g_malloc(MAX_PAGES * PAGE);
    uint8_t page[PAGE], got[PAGE];
    int kind, layout, i;

    vswap_setup(&t, obj, alloc, true);

    /* every kind, both layouts, both queues */
    for (kind = 0; kind < NKINDS; kind++) {
        for (layout = 0; layout < 2; layout++) {
            uint64_t slot = kind * 2 + layout;

            fill_page(page, kind, slot);
            g_assert_cmpuint(vswap_store(&t, layout, slot, 1, page, layout),
                             ==, VIRTIO_VSWAP_S_OK);
            memset(got, 0x5a, PAGE);
            g_assert_cmpuint(vswap_load(&t, !layout, slot, 1, got, layout),
                             ==, VIRTIO_VSWAP_S_OK);
            g_assert(memcmp(page, got, PAGE) == 0);
        }
    }

    /* overwrite a slot with another kind of page */
    fill_page(page, KIND_RANDOM, 1000);
    g_assert_cmpuint(vswap_store(&t, 0, 0, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_load(&t, 0, 0, 1, got, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(page, got, PAGE) == 0);

    /* a never-stored slot, the last one, loads as zeroes */
    memset(got, 0x5a, PAGE);
    g_assert_cmpuint(vswap_load(&t, 0, t.capacity - 1, 1, got,
                                LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(got, PAGE));
    store_load_text(&t, 1, LAYOUT_SPLIT, 1, LAYOUT_NATURAL, t.capacity - 1,
                    77);

    /* multi-page: max_pages pages of mixed kinds, both layouts */
    for (layout = 0; layout < 2; layout++) {
        uint64_t base = 100 + layout * 100;

        for (i = 0; i < MAX_PAGES; i++) {
            fill_page(pages + i * PAGE, i % NKINDS, base + i);
        }
        g_assert_cmpuint(vswap_store(&t, layout, base, MAX_PAGES, pages,
                                     layout), ==, VIRTIO_VSWAP_S_OK);
        memset(back, 0x5a, MAX_PAGES * PAGE);
        g_assert_cmpuint(vswap_load(&t, !layout, base, MAX_PAGES, back,
                                    layout), ==, VIRTIO_VSWAP_S_OK);
        g_assert(memcmp(pages, back, MAX_PAGES * PAGE) == 0);

        /* a sub-range */
        g_assert_cmpuint(vswap_load(&t, 0, base + 2, 3, back, !layout), ==,
                         VIRTIO_VSWAP_S_OK);
        g_assert(memcmp(pages + 2 * PAGE, back, 3 * PAGE) == 0);
    }

    /* invalidate the first half: loads give zeroes, the rest is intact */
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_INVALIDATE, 100,
                                  MAX_PAGES / 2), ==, VIRTIO_VSWAP_S_OK);
    for (i = 0; i < MAX_PAGES; i++) {
        fill_page(pages + i * PAGE, i % NKINDS, 100 + i);
    }
    g_assert_cmpuint(vswap_load(&t, 0, 100, MAX_PAGES, back, LAYOUT_NATURAL),
                     ==, VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(back, MAX_PAGES / 2 * PAGE));
    g_assert(memcmp(pages + MAX_PAGES / 2 * PAGE, back + MAX_PAGES / 2 * PAGE,
                    MAX_PAGES / 2 * PAGE) == 0);

    /* invalidating a range that holds nothing is fine too */
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_INVALIDATE, 5000, 1000),
                     ==, VIRTIO_VSWAP_S_OK);

    /* write zeroes (negotiated here) */
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_WRITE_ZEROES, 200, 2),
                     ==, VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_load(&t, 1, 200, 3, back, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(back, 2 * PAGE));
    fill_page(page, 2 % NKINDS, 202);
    g_assert(memcmp(page, back + 2 * PAGE, PAGE) == 0);

    vswap_teardown(&t);
}

typedef struct BadCase {
    const char *what;
    uint16_t type, flags;
    uint32_t nr_pages;
    uint64_t slot;              /* relative to capacity if slot_from_end */
    bool slot_from_end;
    uint64_t reserved;
    size_t hdr_len;             /* readable header bytes sent */
    size_t out_data;            /* readable bytes after the header */
    size_t in_len;              /* writable bytes, status included */
    uint8_t status;
} BadCase;

#define BR VIRTIO_VSWAP_S_BAD_REQUEST
#define UNSUP VIRTIO_VSWAP_S_UNSUPPORTED
#define T_ST VIRTIO_VSWAP_T_STORE
#define T_LD VIRTIO_VSWAP_T_LOAD
#define T_INV VIRTIO_VSWAP_T_INVALIDATE
#define T_WZ VIRTIO_VSWAP_T_WRITE_ZEROES

static const BadCase bad_cases[] = {
    { "header too short", T_LD, 0, 1, 5, false, 0, 16, 0, PAGE + 1, BR },
    { "header only 1 byte", T_INV, 0, 1, 5, false, 0, 1, 0, 1, BR },
    { "store data 1000 bytes", T_ST, 0, 1, 5, false, 0, HDR, 1000, 1, BR },
    { "store data not a page multiple", T_ST, 0, 1, 5, false, 0, HDR,
      PAGE + 512, 1, BR },
    { "store data short of nr_pages", T_ST, 0, 2, 5, false, 0, HDR, PAGE, 1,
      BR },
    { "load buffer not a page multiple", T_LD, 0, 1, 5, false, 0, HDR, 0,
      PAGE / 2 + 1, BR },
    { "load without room for status", T_LD, 0, 1, 5, false, 0, HDR, 0, PAGE,
      BR },
    { "load with extra writable byte", T_LD, 0, 1, 5, false, 0, HDR, 0,
      PAGE + 2, BR },
    { "store with two status bytes", T_ST, 0, 1, 5, false, 0, HDR, PAGE, 2,
      BR },
    { "invalidate with data", T_INV, 0, 1, 5, false, 0, HDR, PAGE, 1, BR },
    { "load slot == capacity", T_LD, 0, 1, 0, true, 0, HDR, 0, PAGE + 1, BR },
    { "store slot == capacity", T_ST, 0, 1, 0, true, 0, HDR, PAGE, 1, BR },
    { "store slot + count past the end", T_ST, 0, 2, 1, true, 0, HDR,
      2 * PAGE, 1, BR },
    { "invalidate slot + count past the end", T_INV, 0, 2, 1, true, 0, HDR, 0,
      1, BR },
    { "invalidate count overflows", T_INV, 0, UINT32_MAX, 1, true, 0, HDR, 0,
      1, BR },
    { "invalidate slot near 2^64", T_INV, 0, 4, UINT64_MAX - 1, false, 0,
      HDR, 0, 1, BR },
    { "load slot 2^63", T_LD, 0, 1, 1ULL << 63, false, 0, HDR, 0, PAGE + 1,
      BR },
    { "load more than max_pages", T_LD, 0, MAX_PAGES + 1, 5, false, 0, HDR, 0,
      (MAX_PAGES + 1) * PAGE + 1, BR },
    { "store more than max_pages", T_ST, 0, MAX_PAGES + 1, 5, false, 0, HDR,
      (MAX_PAGES + 1) * PAGE, 1, BR },
    { "load into read-only buffer", T_LD, 0, 1, 5, false, 0, HDR, PAGE, 1,
      BR },
    { "store from device-writable buffer", T_ST, 0, 1, 5, false, 0, HDR, 0,
      PAGE + 1, BR },
    { "nr_pages 0", T_LD, 0, 0, 5, false, 0, HDR, 0, 1, BR },
    { "nonzero flags", T_LD, 1, 1, 5, false, 0, HDR, 0, PAGE + 1, BR },
    { "nonzero reserved", T_ST, 0, 1, 5, false, 1ULL << 40, HDR, PAGE, 1, BR },
    { "unknown type 99", 99, 0, 1, 5, false, 0, HDR, 0, 1, UNSUP },
    { "type 0", 0, 0, 1, 5, false, 0, HDR, 0, 1, UNSUP },
    { "write zeroes not negotiated", T_WZ, 0, 1, 5, false, 0, HDR, 0, 1,
      UNSUP },
};

/* Malformed requests get their status, change nothing, break nothing. */
static void test_malformed(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    g_autofree uint8_t *junk = g_malloc0((MAX_PAGES + 2) * PAGE);
    g_autofree uint8_t *in = g_malloc((MAX_PAGES + 2) * PAGE + 2);
    uint8_t page[PAGE], got[PAGE], hdr[HDR];
    uint32_t used;
    int i;

    vswap_setup(&t, obj, alloc, false);

    fill_page(page, KIND_RANDOM, 5);
    g_assert_cmpuint(vswap_store(&t, 0, 5, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    memset(junk, 0x77, (MAX_PAGES + 2) * PAGE);

    for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const BadCase *c = &bad_cases[i];
        uint64_t slot = c->slot_from_end ? t.capacity - c->slot : c->slot;
        uint8_t st;

        make_hdr(hdr, c->type, c->flags, c->nr_pages, slot, c->reserved);
        st = req_full(&t, i % NR_QUEUES, hdr, c->hdr_len, junk, c->out_data,
                      in, c->in_len, &used, i % 2);
        g_test_message("%s: status %u used %u", c->what, st, used);
        g_assert_cmpuint(st, ==, c->status);
        /* up to the status byte: the device-writable bytes, all */
        g_assert_cmpuint(used, ==, c->in_len);
    }

    /* no device-writable byte: completed with used length 0 */
    make_hdr(hdr, T_ST, 0, 1, 5, 0);
    req_full(&t, 0, hdr, HDR, junk, PAGE, NULL, 0, &used, LAYOUT_NATURAL);
    g_assert_cmpuint(used, ==, 0);
    make_hdr(hdr, T_INV, 0, 1, 5, 0);
    req_full(&t, 1, hdr, HDR, NULL, 0, NULL, 0, &used, LAYOUT_SPLIT);
    g_assert_cmpuint(used, ==, 0);

    /* nothing above touched slot 5, and the device still works */
    g_assert_cmpuint(vswap_load(&t, 1, 5, 1, got, LAYOUT_SPLIT), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(page, got, PAGE) == 0);
    store_load_text(&t, 1, LAYOUT_SPLIT, 0, LAYOUT_NATURAL, 6, 6);

    vswap_teardown(&t);
}

/* Query one device or store counter. */
static int64_t device_stat(VSwapTest *t, const char *name);
static int64_t store_stat(VSwapTest *t, const char *name);

/*
 * Wait until the device asks for a reset (virtio_error()) and, once the
 * driver is up (DRIVER_OK), has sent the config interrupt that tells it
 * (from the main loop when an iothread found the error).
 */
static void wait_needs_reset(VSwapTest *t)
{
    gint64 start = g_get_monotonic_time();
    uint8_t status;

    while (!((status = t->dev->bus->get_status(t->dev)) &
             VIRTIO_CONFIG_S_NEEDS_RESET)) {
        g_assert(g_get_monotonic_time() - start <= TIMEOUT_US);
    }
    if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
        qvirtio_wait_config_isr(t->dev, TIMEOUT_US);
    }
}

/*
 * Reset the device and bring it up again, as a driver does, with the
 * features of vswap_start_features().
 */
static void vswap_restart(VSwapTest *t, uint64_t extra)
{
    vswap_teardown(t);
    qvirtio_start_device(t->dev);
    vswap_start_features(t, extra);
}

/*
 * A guest aims a request's buffer at the device's own registers: the
 * status byte of an INVALIDATE at common config device_status (a 0
 * written there resets the device in the middle of serving its queue),
 * and a LOAD's data at the same register.  In the main loop the device
 * completes each with used length 0 and writes nothing; it stays live,
 * nothing is dropped, and it counts them.  With an iothread (@data set)
 * nothing outside RAM may even be mapped there: the chain is refused
 * before the device sees it, the device asks for a reset, and the
 * INVALIDATE did not happen before that reset.
 */
static void test_bar_buffers(void *obj, void *data, QGuestAllocator *alloc)
{
    bool iothread = data != NULL;
    int64_t requests;
    VSwapTest t;
    QVirtioPCIDevice *pci;
    uint8_t page[PAGE], got[PAGE];
    uint64_t reg, hdr_addr;
    uint32_t head, used = UINT32_MAX;
    uint8_t hdr[HDR];
    int i;

    vswap_setup(&t, obj, alloc, true);
    pci = container_of(t.dev, QVirtioPCIDevice, vdev);
    g_assert(!pci->bar.is_io);
    reg = pci->bar.addr + pci->common_cfg_offset +
          offsetof(struct virtio_pci_common_cfg, device_status);

    fill_page(page, KIND_TEXT, 5);
    g_assert_cmpuint(vswap_store(&t, 0, 5, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);

    for (i = 0; i < 2; i++) {
        /*
         * i == 0: INVALIDATE slot 5, its status byte at the register;
         * i == 1: LOAD slot 5, its page at the register, status in RAM
         */
        QVirtQueue *vq = t.vq[i];

        make_hdr(hdr, i ? VIRTIO_VSWAP_T_LOAD : VIRTIO_VSWAP_T_INVALIDATE,
                 0, 1, 5, 0);
        hdr_addr = guest_alloc(alloc, HDR + 1);
        qtest_memwrite(t.qts, hdr_addr, hdr, HDR);
        requests = device_stat(&t, "requests");
        qvirtqueue_reset_pool(vq);
        head = qvirtqueue_add(t.qts, vq, hdr_addr, HDR, false, true);
        if (i) {
            qvirtqueue_add(t.qts, vq, reg, PAGE, true, true);
            qvirtqueue_add(t.qts, vq, hdr_addr + HDR, 1, true, false);
        } else {
            qvirtqueue_add(t.qts, vq, reg, 1, true, false);
        }
        qvirtqueue_kick(t.qts, t.dev, vq, head);
        if (iothread) {
            wait_needs_reset(&t);
            guest_free(alloc, hdr_addr);
            g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 1);
            /* refused before the device saw it */
            g_assert_cmpint(device_stat(&t, "requests"), ==, requests);
            vswap_restart(&t, F_WRITE_ZEROES);
            g_assert_cmpuint(vswap_store(&t, 0, 5, 1, page, LAYOUT_NATURAL),
                             ==, VIRTIO_VSWAP_S_OK);
            continue;
        }
        qvirtio_wait_used_elem(t.qts, t.dev, vq, head, &used, TIMEOUT_US);
        g_assert_cmpuint(used, ==, 0);
        guest_free(alloc, hdr_addr);
        /* still DRIVER_OK, not reset */
        g_assert_cmpuint(t.dev->bus->get_status(t.dev) &
                         VIRTIO_CONFIG_S_DRIVER_OK, ==,
                         VIRTIO_CONFIG_S_DRIVER_OK);
    }

    /* the INVALIDATE did not happen: slot 5 still holds its page */
    g_assert_cmpuint(vswap_load(&t, 1, 5, 1, got, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(page, got, PAGE) == 0);
    g_assert_cmpint(device_stat(&t, "bad-memory"), ==, iothread ? 0 : 2);

    vswap_teardown(&t);
}

/*
 * With an iothread, a ring outside RAM (here the used ring on the
 * device's own registers) would be read and written there through the
 * BQL on every access: refused when the queue is enabled, the device
 * asks for a reset, and serves again after it.
 */
static void test_mmio_ring(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    QVirtioPCIDevice *pci;
    QVirtQueue ring;

    vswap_setup(&t, obj, alloc, true);
    pci = container_of(t.dev, QVirtioPCIDevice, vdev);
    ring = *t.vq[0];
    ring.used = pci->bar.addr + pci->common_cfg_offset;
    /* an enabled queue keeps its rings: set them up after a reset */
    qvirtio_start_device(t.dev);
    qvirtio_set_features(t.dev, qvirtio_get_features(t.dev) &
                         ((1ULL << VIRTIO_F_VERSION_1) |
                          (1ULL << VIRTIO_VSWAP_F_MQ)));
    t.dev->bus->queue_select(t.dev, 0);
    t.dev->bus->set_queue_address(t.dev, &ring);
    qpci_io_writew(pci->pdev, pci->bar, pci->common_cfg_offset +
                   offsetof(struct virtio_pci_common_cfg, queue_enable), 1);
    wait_needs_reset(&t);

    vswap_restart(&t, F_WRITE_ZEROES);
    store_load_text(&t, 0, LAYOUT_NATURAL, 1, LAYOUT_NATURAL, 3, 3);
    vswap_teardown(&t);
}

/*
 * A guest rewrites an enabled queue's configuration: a new queue_size, a
 * second queue_enable, a queue_reset it did not negotiate.  With an
 * iothread serving the queue, the size changing under it made its ring
 * accesses run past the ring caches (an assertion abort, found by
 * generic-fuzz-virtio-vswap-iothread).  The writes are ignored: the
 * queue keeps its size and rings and goes on serving.
 */
static void test_live_queue_config(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    VSwapTest t;
    QVirtioPCIDevice *pci;
    uint64_t cfg;
    uint16_t size;
    int q;

    vswap_setup(&t, obj, alloc, true);
    pci = container_of(t.dev, QVirtioPCIDevice, vdev);
    cfg = pci->common_cfg_offset;
    for (q = 0; q < NR_QUEUES; q++) {
        store_load_text(&t, q, LAYOUT_NATURAL, q, LAYOUT_NATURAL, q, q);
        qpci_io_writew(pci->pdev, pci->bar, cfg + VIRTIO_PCI_COMMON_Q_SELECT,
                       q);
        size = qpci_io_readw(pci->pdev, pci->bar,
                             cfg + VIRTIO_PCI_COMMON_Q_SIZE);
        g_assert_cmpuint(size, ==, t.vq[q]->size);
        qpci_io_writew(pci->pdev, pci->bar, cfg + VIRTIO_PCI_COMMON_Q_SIZE,
                       size / 2);
        g_assert_cmpuint(qpci_io_readw(pci->pdev, pci->bar,
                                       cfg + VIRTIO_PCI_COMMON_Q_SIZE),
                         ==, size);
        qpci_io_writew(pci->pdev, pci->bar,
                       cfg + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
        qpci_io_writew(pci->pdev, pci->bar, cfg + VIRTIO_PCI_COMMON_Q_RESET,
                       1);
        g_assert_cmpuint(qpci_io_readw(pci->pdev, pci->bar,
                                       cfg + VIRTIO_PCI_COMMON_Q_ENABLE),
                         ==, 1);
    }
    g_assert(!(t.dev->bus->get_status(t.dev) &
               VIRTIO_CONFIG_S_NEEDS_RESET));
    for (q = 0; q < NR_QUEUES; q++) {
        store_load_text(&t, q, LAYOUT_NATURAL, NR_QUEUES - 1 - q,
                        LAYOUT_NATURAL, 16 + q, 16 + q);
    }
    vswap_teardown(&t);
}

/*
 * Chains whose header the device must read from MMIO (its own common
 * config), published at once and kicked once, then at once a device
 * reset, several times.  With an iothread, mapping MMIO there takes the
 * BQL, once per chain: when the reset, which holds the BQL and waits for
 * the iothread, comes while the iothread still works through the
 * chains, neither moves (found by the virtio-vswap-requests-iothread
 * fuzz target).  Such chains must be refused without touching MMIO
 * outside the BQL; QEMU must answer every time and serve again
 * afterwards.
 */
#define MMIO_CHAINS     256

static void test_mmio_chain_reset(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    VSwapTest t;
    QVirtioPCIDevice *pci;
    uint64_t reg, status;
    int round, i;

    vswap_setup(&t, obj, alloc, true);
    pci = container_of(t.dev, QVirtioPCIDevice, vdev);
    reg = pci->bar.addr + pci->common_cfg_offset;
    status = guest_alloc(alloc, MMIO_CHAINS);

    for (round = 0; round < 10; round++) {
        QVirtQueue *vq = t.vq[round % NR_QUEUES];
        uint16_t idx = qtest_readw(t.qts, vq->avail + 2);

        g_assert_cmpuint(vq->size, >=, 2 * MMIO_CHAINS);
        qvirtqueue_reset_pool(vq);
        for (i = 0; i < MMIO_CHAINS; i++) {
            uint32_t head = qvirtqueue_add(t.qts, vq, reg, HDR, false, true);

            qvirtqueue_add(t.qts, vq, status + i, 1, true, false);
            qtest_writew(t.qts, vq->avail + 4 + 2 * ((idx + i) % vq->size),
                         head);
        }
        qtest_writew(t.qts, vq->avail + 2, idx + MMIO_CHAINS);
        t.dev->bus->virtqueue_kick(t.dev, vq);
        qvirtio_reset(t.dev);
        vswap_restart(&t, F_WRITE_ZEROES);
    }
    guest_free(alloc, status);

    store_load_text(&t, 1, LAYOUT_NATURAL, 0, LAYOUT_SPLIT, 9, 9);
    vswap_teardown(&t);
}

/*
 * An empty chain: its only descriptor is 0 bytes long.  QEMU's virtqueue
 * core refuses zero-sized buffers before the device sees the chain and
 * marks the device broken (NEEDS_RESET).  The driver resets it; the
 * device then serves again, with an empty store.
 */
static void test_empty_chain(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    uint8_t page[PAGE], got[PAGE];
    uint64_t addr;
    uint32_t head;

    vswap_setup(&t, obj, alloc, true);
    fill_page(page, KIND_TEXT, 1);
    g_assert_cmpuint(vswap_store(&t, 0, 1, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);

    addr = guest_alloc(alloc, 16);
    qvirtqueue_reset_pool(t.vq[0]);
    head = qvirtqueue_add(t.qts, t.vq[0], addr, 0, false, false);
    qvirtqueue_kick(t.qts, t.dev, t.vq[0], head);
    wait_needs_reset(&t);
    guest_free(alloc, addr);
    vswap_restart(&t, F_WRITE_ZEROES);

    /* reset dropped every slot */
    g_assert_cmpuint(vswap_load(&t, 0, 1, 1, got, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(got, PAGE));
    g_assert_cmpuint(vswap_store(&t, 1, 1, 1, page, LAYOUT_SPLIT), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_load(&t, 0, 1, 1, got, LAYOUT_SPLIT), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(page, got, PAGE) == 0);

    vswap_teardown(&t);
}

static QDict *query_vswap_one(VSwapTest *t)
{
    QDict *resp = qtest_qmp(t->qts, "{ 'execute': 'query-vswap' }");
    QList *list;
    QDict *info;

    g_assert(qdict_haskey(resp, "return"));
    list = qdict_get_qlist(resp, "return");
    g_assert_cmpint(qlist_size(list), ==, 1);
    info = qobject_to(QDict, qlist_peek(list));
    qobject_ref(info);
    qobject_unref(resp);
    return info;
}

static void check_counts(QDict *d, const char *const *names,
                         const uint64_t *want, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        g_test_message("%s = %" PRId64 " (want %" PRIu64 ")", names[i],
                       qdict_get_int(d, names[i]), want[i]);
        g_assert_cmpuint(qdict_get_int(d, names[i]), ==, want[i]);
    }
}

/* query-vswap counts exactly what the test did. */
static void test_counters(void *obj, void *data, QGuestAllocator *alloc)
{
    static const char *const dev_names[] = {
        "requests", "store-requests", "load-requests",
        "invalidate-requests", "write-zeroes-requests", "pages-stored",
        "pages-loaded", "status-ok", "status-bad-request",
        "status-no-space", "status-ioerr", "status-integrity",
        "status-unsupported", "bad-header", "bad-flags", "bad-nr-pages",
        "bad-too-many-pages", "bad-range", "bad-layout", "no-status",
        "bad-memory", "kicks", "notifies", "pool-requests",
        "over-budget-requests",
    };
    /* one request per notification each way: the test waits for each */
    static const uint64_t dev_want[] = {
        10, 2, 3,
        1, 1, 4,
        5, 5, 3,
        0, 0, 0,
        1, 1, 0, 0,
        0, 1, 1, 1,
        0, 10, 10, 0,
        0,
    };
    static const char *const store_names[] = {
        "stored-pages", "zero-pages", "same-pages", "compressed-pages",
        "incompressible-pages", "stores", "loads", "loads-empty",
        "invalidates", "invalidated-pages", "store-nospace",
        "integrity-errors",
    };
    static const uint64_t store_mid[] = { 4, 1, 1, 1, 1, 4, 0, 0, 0, 0, 0, 0 };
    static const uint64_t store_end[] = { 1, 0, 0, 0, 1, 4, 5, 1, 2, 3, 0, 0 };
    VSwapTest t;
    g_autofree uint8_t *pages = g_malloc(4 * PAGE);
    g_autofree uint8_t *back = g_malloc(4 * PAGE);
    uint8_t hdr[HDR];
    uint32_t used;
    QDict *info, *cfg;
    QList *lat;
    QListEntry *e;
    uint64_t sum = 0;

    G_STATIC_ASSERT(ARRAY_SIZE(dev_names) == ARRAY_SIZE(dev_want));
    G_STATIC_ASSERT(ARRAY_SIZE(store_names) == ARRAY_SIZE(store_mid));
    G_STATIC_ASSERT(ARRAY_SIZE(store_names) == ARRAY_SIZE(store_end));

    vswap_setup(&t, obj, alloc, true);

    /* 1: store one page of each kind that the store accounts apart */
    fill_page(pages, KIND_ZERO, 10);
    fill_page(pages + PAGE, KIND_SAME, 11);
    fill_page(pages + 2 * PAGE, KIND_TEXT, 12);
    fill_page(pages + 3 * PAGE, KIND_RANDOM, 13);
    g_assert_cmpuint(vswap_store(&t, 0, 10, 4, pages, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);

    info = query_vswap_one(&t);
    check_counts(qdict_get_qdict(info, "store"), store_names, store_mid,
                 ARRAY_SIZE(store_names));
    cfg = qdict_get_qdict(info, "config");
    g_assert_cmpuint(qdict_get_int(cfg, "size"), ==, DEV_SIZE);
    g_assert_cmpuint(qdict_get_int(cfg, "capacity"), ==, DEV_SIZE / PAGE);
    g_assert_cmpuint(qdict_get_int(cfg, "num-queues"), ==, NR_QUEUES);
    /* The size in force: what the transport offered the driver. */
    g_assert_cmpuint(qdict_get_int(cfg, "queue-size"), ==, t.vq[0]->size);
    g_assert_cmpuint(qdict_get_int(cfg, "max-pages"), ==, MAX_PAGES);
    g_assert_cmpstr(qdict_get_str(cfg, "compress"), ==, "lz4");
    g_assert_cmpuint(qdict_get_int(cfg, "compress-level"), ==, 0);
    g_assert_cmpuint(qdict_get_int(cfg, "pool-max"), ==, 0);
    g_assert(!qdict_get_bool(cfg, "checksum"));
    qobject_unref(info);

    /* 2, 3: load them back, and an empty slot */
    g_assert_cmpuint(vswap_load(&t, 1, 10, 4, back, LAYOUT_SPLIT), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(pages, back, 4 * PAGE) == 0);
    g_assert_cmpuint(vswap_load(&t, 0, 20, 1, back, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    /* 4, 5: drop 10..11, zero 12 */
    g_assert_cmpuint(vswap_simple(&t, T_INV, 10, 2), ==, VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_simple(&t, T_WZ, 12, 1), ==, VIRTIO_VSWAP_S_OK);
    /* 6: out of range store */
    g_assert_cmpuint(vswap_store(&t, 0, t.capacity, 1, pages,
                                 LAYOUT_NATURAL), ==, BR);
    /* 7: short header */
    make_hdr(hdr, T_LD, 0, 1, 0, 0);
    g_assert_cmpuint(req_full(&t, 0, hdr, 8, NULL, 0, NULL, 1, &used,
                              LAYOUT_NATURAL), ==, BR);
    /* 8: unknown type */
    g_assert_cmpuint(vswap_simple(&t, 42, 0, 1), ==, UNSUP);
    /* 9: no status byte (not counted by type) */
    make_hdr(hdr, T_INV, 0, 1, 0, 0);
    req_full(&t, 0, hdr, HDR, NULL, 0, NULL, 0, &used, LAYOUT_NATURAL);
    g_assert_cmpuint(used, ==, 0);
    /* 10: load into a read-only buffer */
    make_hdr(hdr, T_LD, 0, 1, 13, 0);
    g_assert_cmpuint(req_full(&t, 1, hdr, HDR, pages, PAGE, NULL, 1, &used,
                              LAYOUT_NATURAL), ==, BR);

    info = query_vswap_one(&t);
    g_assert_cmpint(qdict_size(qdict_get_qdict(info, "device")), ==,
                    ARRAY_SIZE(dev_names));
    check_counts(qdict_get_qdict(info, "device"), dev_names, dev_want,
                 ARRAY_SIZE(dev_names));
    check_counts(qdict_get_qdict(info, "store"), store_names, store_end,
                 ARRAY_SIZE(store_names));
    lat = qdict_get_qlist(qdict_get_qdict(info, "store"), "load-latency");
    g_assert_cmpint(qlist_size(lat), ==, 32);
    QLIST_FOREACH_ENTRY(lat, e) {
        sum += qnum_get_uint(qobject_to(QNum, qlist_entry_obj(e)));
    }
    g_assert_cmpuint(sum, ==, 5);
    qobject_unref(info);

    vswap_teardown(&t);
}

/*
 * With x-inline-budget-us=0 no page is stored or loaded inline: every
 * STORE and LOAD goes on in the thread pool and completes from there,
 * bit-exact, bounced pages too; an INVALIDATE, no page work, stays
 * inline.  (The other tests run with the default budget, where their
 * few pages never reach it.)
 */
static void test_over_budget(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    g_autofree uint8_t *pages = g_malloc(MAX_PAGES * PAGE);
    g_autofree uint8_t *back = g_malloc(MAX_PAGES * PAGE);
    QDict *info, *dev;
    int i;

    vswap_setup(&t, obj, alloc, false);
    for (i = 0; i < MAX_PAGES; i++) {
        fill_page(pages + i * PAGE, i % NKINDS, 100 + i);
    }
    g_assert_cmpuint(vswap_store(&t, 0, 0, MAX_PAGES, pages, LAYOUT_NATURAL),
                     ==, VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_store(&t, 1, 64, 1, pages + 3 * PAGE,
                                 LAYOUT_SPLIT), ==, VIRTIO_VSWAP_S_OK);
    memset(back, 0xaa, MAX_PAGES * PAGE);
    g_assert_cmpuint(vswap_load(&t, 1, 0, MAX_PAGES, back, LAYOUT_SPLIT),
                     ==, VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(pages, back, MAX_PAGES * PAGE) == 0);
    g_assert_cmpuint(vswap_load(&t, 0, 64, 1, back, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(pages + 3 * PAGE, back, PAGE) == 0);
    g_assert_cmpuint(vswap_simple(&t, T_INV, 0, MAX_PAGES), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_load(&t, 0, 0, 1, back, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(back, PAGE));

    info = query_vswap_one(&t);
    dev = qdict_get_qdict(info, "device");
    g_assert_cmpuint(qdict_get_int(dev, "requests"), ==, 6);
    g_assert_cmpuint(qdict_get_int(dev, "status-ok"), ==, 6);
    g_assert_cmpuint(qdict_get_int(dev, "pool-requests"), ==, 5);
    g_assert_cmpuint(qdict_get_int(dev, "over-budget-requests"), ==, 5);
    g_assert_cmpuint(qdict_get_int(dev, "pages-stored"), ==, MAX_PAGES + 1);
    g_assert_cmpuint(qdict_get_int(dev, "pages-loaded"), ==, MAX_PAGES + 2);
    qobject_unref(info);
    vswap_teardown(&t);
}

/* pool-max at run time: a full pool refuses stores and says so. */
static void test_pool_max(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    uint8_t page[PAGE], got[PAGE];
    g_autofree char *path = NULL;
    QDict *info, *resp, *ev;
    uint8_t st = VIRTIO_VSWAP_S_OK;
    int i, j;

    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    path = g_strdup(qdict_get_str(info, "qom-path"));
    qobject_unref(info);

    resp = qtest_qmp(t.qts, "{ 'execute': 'qom-set', 'arguments': "
                     "{ 'path': %s, 'property': 'pool-max', 'value': 1 } }",
                     path);
    g_assert(qdict_haskey(resp, "return"));
    qobject_unref(resp);
    resp = qtest_qmp(t.qts, "{ 'execute': 'qom-get', 'arguments': "
                     "{ 'path': %s, 'property': 'pool-max' } }", path);
    g_assert_cmpint(qdict_get_int(resp, "return"), ==, 1);
    qobject_unref(resp);

    /* random pages need pool memory: refused sooner or later */
    for (i = 0; i < 64 && st == VIRTIO_VSWAP_S_OK; i++) {
        fill_page(page, KIND_RANDOM, 100 + i);
        st = vswap_store(&t, 0, 100 + i, 1, page, LAYOUT_NATURAL);
    }
    g_assert_cmpuint(st, ==, VIRTIO_VSWAP_S_NO_SPACE);
    /* three more refusals within the same second */
    for (j = 0; j < 3; j++) {
        g_assert_cmpuint(vswap_store(&t, 1, 100 + i - 1, 1, page,
                                     LAYOUT_SPLIT), ==,
                         VIRTIO_VSWAP_S_NO_SPACE);
    }
    /*
     * The monitor throttles the event: the first refusal is reported at
     * once, the last of the other three a second later, with the running
     * total (the two in between are dropped).
     */
    ev = qtest_qmp_eventwait_ref(t.qts, "VSWAP_NO_SPACE");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "qom-path"),
                    ==, path);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(ev, "data"), "total"), ==,
                    1);
    qobject_unref(ev);
    /* under qtest the monitor's throttle runs on the virtual clock */
    qtest_clock_step(t.qts, 1000 * 1000 * 1000);
    ev = qtest_qmp_eventwait_ref(t.qts, "VSWAP_NO_SPACE");
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(ev, "data"), "total"), ==,
                    4);
    qobject_unref(ev);

    /* the refused slot kept nothing new; lifting the cap lets it in */
    resp = qtest_qmp(t.qts, "{ 'execute': 'qom-set', 'arguments': "
                     "{ 'path': %s, 'property': 'pool-max', 'value': 0 } }",
                     path);
    qobject_unref(resp);
    g_assert_cmpuint(vswap_store(&t, 0, 100 + i - 1, 1, page,
                                 LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_load(&t, 0, 100 + i - 1, 1, got, LAYOUT_NATURAL),
                     ==, VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(page, got, PAGE) == 0);

    info = query_vswap_one(&t);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "device"),
                                  "status-no-space"), ==, 4);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "store"),
                                  "store-nospace"), ==, 4);
    qobject_unref(info);
    vswap_teardown(&t);
}

/* Member @name of @section ("config", "store", "device") of query-vswap. */
static int64_t vswap_stat(VSwapTest *t, const char *section,
                          const char *name)
{
    QDict *info = query_vswap_one(t);
    int64_t v = qdict_get_int(qdict_get_qdict(info, section), name);

    qobject_unref(info);
    return v;
}

static int64_t store_stat(VSwapTest *t, const char *name)
{
    return vswap_stat(t, "store", name);
}

static int64_t device_stat(VSwapTest *t, const char *name)
{
    return vswap_stat(t, "device", name);
}

/* qom-set of a run-time settable number property of the device at @path. */
static void qom_set_uint(VSwapTest *t, const char *path, const char *prop,
                         uint64_t v)
{
    QDict *resp = qtest_qmp(t->qts, "{ 'execute': 'qom-set', 'arguments': "
                            "{ 'path': %s, 'property': %s, "
                            "'value': %" PRIu64 " } }", path, prop, v);

    g_assert(qdict_haskey(resp, "return"));
    qobject_unref(resp);
}

static void qom_set_pool_max(VSwapTest *t, const char *path, uint64_t v)
{
    qom_set_uint(t, path, "pool-max", v);
}

/* Disk tier: 1024 pages, a quarter text, some zero, the rest random. */
#define DISK_BASE       1000
#define DISK_PAGES      1024
#define DISK_POOL_MAX   (2 * 1024 * 1024)

static int disk_kind(int i)
{
    return i % 16 == 0 ? KIND_ZERO : i % 4 == 0 ? KIND_TEXT : KIND_RANDOM;
}

static void disk_check_all(VSwapTest *t, Layout layout)
{
    uint8_t want[MAX_PAGES * PAGE], got[MAX_PAGES * PAGE];
    int i, j;

    for (i = 0; i < DISK_PAGES; i += MAX_PAGES) {
        for (j = 0; j < MAX_PAGES; j++) {
            fill_page(want + j * PAGE, disk_kind(i + j), DISK_BASE + i + j);
        }
        memset(got, 0x5a, sizeof(got));
        g_assert_cmpuint(vswap_load(t, i / MAX_PAGES % NR_QUEUES,
                                    DISK_BASE + i, MAX_PAGES, got, layout),
                         ==, VIRTIO_VSWAP_S_OK);
        g_assert(memcmp(want, got, sizeof(got)) == 0);
    }
}

static void disk_remove(gpointer path)
{
    unlink(path);
    g_free(path);
}

/* The backing file the device of a disk test uses (data of the test). */
static void *disk_before(GString *cmd_line, void *arg)
{
    g_autoptr(GError) err = NULL;
    char *path = NULL;
    int fd;

    fd = g_file_open_tmp("vswap-backing-XXXXXX", &path, &err);
    g_assert_no_error(err);
    close(fd);
    g_string_append_printf(cmd_line, " -global virtio-vswap-device."
                           "backing-file=%s ", path);
    g_test_queue_destroy(disk_remove, path);
    return path;
}

/*
 * More than pool-max through the virtqueue: stores at the cap write the
 * oldest data to the backing file instead of failing; everything loads
 * back bit-exact; vswap-writeback moves the rest; invalidation gives
 * the disk space back; lowering pool-max reclaims at once.
 */
static void test_disk_tier(void *obj, void *data, QGuestAllocator *alloc)
{
    const char *backing = data;
    VSwapTest t;
    uint8_t pages[MAX_PAGES * PAGE];
    g_autofree char *path = NULL;
    QDict *info, *cfg, *st, *resp, *ret;
    int64_t pool, disk_pages, disk_bytes, wb_pages;
    struct stat sb;
    gint64 deadline;
    int i, j, round;

    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    path = g_strdup(qdict_get_str(info, "qom-path"));
    cfg = qdict_get_qdict(info, "config");
    g_assert_cmpstr(qdict_get_str(cfg, "backing-file"), ==, backing);
    g_assert_cmpint(qdict_get_int(cfg, "backing-max"), ==, 0);
    g_assert_cmpint(qdict_get_int(cfg, "writeback-age"), ==, 0);
    st = qdict_get_qdict(info, "store");
    g_assert_cmpint(qdict_get_int(st, "disk-pages"), ==, 0);
    g_assert_cmpint(qlist_size(qdict_get_qlist(st, "disk-load-latency")),
                    ==, 32);
    qobject_unref(info);

    qom_set_pool_max(&t, path, DISK_POOL_MAX);
    for (i = 0; i < DISK_PAGES; i += MAX_PAGES) {
        for (j = 0; j < MAX_PAGES; j++) {
            fill_page(pages + j * PAGE, disk_kind(i + j), DISK_BASE + i + j);
        }
        g_assert_cmpuint(vswap_store(&t, i / MAX_PAGES % NR_QUEUES,
                                     DISK_BASE + i, MAX_PAGES, pages,
                                     i % 2 ? LAYOUT_SPLIT : LAYOUT_NATURAL),
                         ==, VIRTIO_VSWAP_S_OK);
    }

    info = query_vswap_one(&t);
    st = qdict_get_qdict(info, "store");
    disk_pages = qdict_get_int(st, "disk-pages");
    g_test_message("after stores: pool-bytes %" PRId64 " disk-pages %"
                   PRId64 " disk-bytes %" PRId64,
                   qdict_get_int(st, "pool-bytes"), disk_pages,
                   qdict_get_int(st, "disk-bytes"));
    g_assert_cmpint(disk_pages, >, 0);
    g_assert_cmpint(qdict_get_int(st, "disk-bytes"), >, 0);
    g_assert_cmpint(qdict_get_int(st, "writeback-pages"), >=, disk_pages);
    g_assert_cmpint(qdict_get_int(st, "writeback-ios"), >, 0);
    g_assert_cmpint(qdict_get_int(st, "writeback-freed-bytes"), >, 0);
    g_assert_cmpint(qdict_get_int(st, "writeback-errors"), ==, 0);
    g_assert_cmpint(qdict_get_int(st, "pool-bytes"), <=, DISK_POOL_MAX);
    g_assert_cmpint(qdict_get_int(st, "stored-pages"), ==, DISK_PAGES);
    g_assert_cmpint(qdict_get_int(st, "store-nospace"), ==, 0);
    qobject_unref(info);

    /* everything back, some of it from disk */
    disk_check_all(&t, LAYOUT_NATURAL);
    g_assert_cmpint(store_stat(&t, "loads-from-disk"), >, 0);

    /* the rest of the pool goes to disk on request */
    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-writeback', 'arguments': "
                     "{ 'id': %s, 'min-age': 0 } }", path);
    g_assert(qdict_haskey(resp, "return"));
    ret = qdict_get_qdict(resp, "return");
    wb_pages = qdict_get_int(ret, "pages");
    g_test_message("vswap-writeback: pages %" PRId64 " bytes %" PRId64
                   " pool-freed %" PRId64 " ios %" PRId64, wb_pages,
                   qdict_get_int(ret, "bytes"),
                   qdict_get_int(ret, "pool-freed"),
                   qdict_get_int(ret, "ios"));
    g_assert_cmpint(wb_pages, >, 0);
    g_assert_cmpint(qdict_get_int(ret, "bytes"), >, 0);
    g_assert_cmpint(qdict_get_int(ret, "ios"), >, 0);
    g_assert_cmpint(qdict_get_int(ret, "segments"), >, 0);
    qobject_unref(resp);
    g_assert_cmpint(store_stat(&t, "disk-pages"), ==, disk_pages + wb_pages);
    disk_check_all(&t, LAYOUT_SPLIT);

    /* an unknown id is refused, naming it */
    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-writeback', 'arguments': "
                     "{ 'id': 'no-such-device' } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(resp, "error"), "class"),
                    ==, "DeviceNotFound");
    qobject_unref(resp);

    /* invalidating gives the disk space back */
    disk_bytes = store_stat(&t, "disk-bytes");
    g_assert_cmpint(disk_bytes, >, 0);
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_INVALIDATE, DISK_BASE,
                                  DISK_PAGES / 2), ==, VIRTIO_VSWAP_S_OK);
    g_assert_cmpint(store_stat(&t, "disk-bytes"), <, disk_bytes);
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_INVALIDATE,
                                  DISK_BASE + DISK_PAGES / 2,
                                  DISK_PAGES / 2), ==, VIRTIO_VSWAP_S_OK);
    g_assert_cmpint(store_stat(&t, "disk-bytes"), ==, 0);
    g_assert_cmpint(store_stat(&t, "disk-pages"), ==, 0);
    g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 0);

    /* no cap, fill the pool, then lower the cap: reclaim runs at once */
    qom_set_pool_max(&t, path, 0);
    for (i = 0; i < DISK_PAGES; i += MAX_PAGES) {
        for (j = 0; j < MAX_PAGES; j++) {
            fill_page(pages + j * PAGE, disk_kind(i + j), DISK_BASE + i + j);
        }
        g_assert_cmpuint(vswap_store(&t, 0, DISK_BASE + i, MAX_PAGES, pages,
                                     LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    }
    pool = store_stat(&t, "pool-bytes");
    g_assert_cmpint(pool, >, DISK_POOL_MAX);
    wb_pages = store_stat(&t, "writeback-pages");
    qom_set_pool_max(&t, path, DISK_POOL_MAX);
    deadline = g_get_monotonic_time() + TIMEOUT_US;
    while (store_stat(&t, "pool-bytes") > DISK_POOL_MAX) {
        g_assert(g_get_monotonic_time() < deadline);
        g_usleep(10 * 1000);
    }
    g_assert_cmpint(store_stat(&t, "writeback-pages"), >, wb_pages);
    disk_check_all(&t, LAYOUT_NATURAL);

    /*
     * A device reset drops every slot at once; the file's space comes
     * back after it, from a job (no file I/O in the resetting thread).
     * A guest resetting in a loop queues one such job at a time; the
     * space still comes back, and again after the next fill and reset.
     */
    for (round = 0; round < 2; round++) {
        g_assert_cmpint(store_stat(&t, "disk-file-bytes"), >, 0);
        for (i = 0; i < (round ? 1 : 50); i++) {
            vswap_teardown(&t);
            qvirtio_start_device(t.dev);
            vswap_start(&t, true);
        }
        g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 0);
        deadline = g_get_monotonic_time() + TIMEOUT_US;
        while (store_stat(&t, "disk-file-bytes") > 0) {
            g_assert(g_get_monotonic_time() < deadline);
            g_usleep(10 * 1000);
        }
        g_assert_cmpint(stat(backing, &sb), ==, 0);
        g_assert_cmpint(sb.st_blocks, ==, 0);
        if (round) {
            break;
        }
        /* under the cap set above: the pool writes back as it fills */
        for (i = 0; i < DISK_PAGES; i += MAX_PAGES) {
            for (j = 0; j < MAX_PAGES; j++) {
                fill_page(pages + j * PAGE, disk_kind(i + j),
                          DISK_BASE + i + j);
            }
            g_assert_cmpuint(vswap_store(&t, 0, DISK_BASE + i, MAX_PAGES,
                                         pages, LAYOUT_NATURAL), ==,
                             VIRTIO_VSWAP_S_OK);
        }
        deadline = g_get_monotonic_time() + TIMEOUT_US;
        while (store_stat(&t, "disk-file-bytes") == 0) {
            g_assert(g_get_monotonic_time() < deadline);
            g_usleep(10 * 1000);
        }
    }
    g_assert_cmpuint(vswap_load(&t, 0, DISK_BASE, 1, pages,
                                LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(pages, PAGE));

    vswap_teardown(&t);
}

/* A disk test device with writeback-age=1 (the timer ticks every 1 s). */
static void *disk_age_before(GString *cmd_line, void *arg)
{
    g_string_append(cmd_line, " -global virtio-vswap-device."
                    "writeback-age=1 ");
    return disk_before(cmd_line, arg);
}

/*
 * writeback-age: without a cap and without any QMP command, the timer
 * moves data older than the age to disk; it still loads bit-exact.
 */
static void test_writeback_age(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    uint8_t pages[MAX_PAGES * PAGE];
    QDict *info;
    gint64 deadline;
    int i, j;

    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "config"),
                                  "writeback-age"), ==, 1);
    qobject_unref(info);

    for (i = 0; i < DISK_PAGES / 4; i += MAX_PAGES) {
        for (j = 0; j < MAX_PAGES; j++) {
            fill_page(pages + j * PAGE, disk_kind(i + j), DISK_BASE + i + j);
        }
        g_assert_cmpuint(vswap_store(&t, 0, DISK_BASE + i, MAX_PAGES, pages,
                                     LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    }
    /* every stored page that takes pool memory: all but the zero pages */
    deadline = g_get_monotonic_time() + TIMEOUT_US;
    while (store_stat(&t, "disk-pages") < DISK_PAGES / 4 - DISK_PAGES / 64) {
        g_assert(g_get_monotonic_time() < deadline);
        g_usleep(100 * 1000);
    }
    g_assert_cmpint(store_stat(&t, "disk-pages"), ==,
                    DISK_PAGES / 4 - DISK_PAGES / 64);
    for (i = 0; i < DISK_PAGES / 4; i += MAX_PAGES) {
        uint8_t got[MAX_PAGES * PAGE];

        for (j = 0; j < MAX_PAGES; j++) {
            fill_page(pages + j * PAGE, disk_kind(i + j), DISK_BASE + i + j);
        }
        g_assert_cmpuint(vswap_load(&t, 1, DISK_BASE + i, MAX_PAGES, got,
                                    LAYOUT_SPLIT), ==, VIRTIO_VSWAP_S_OK);
        g_assert(memcmp(pages, got, sizeof(got)) == 0);
    }
    g_assert_cmpint(store_stat(&t, "loads-from-disk"), >, 0);

    vswap_teardown(&t);
}

/*
 * The backing file of the disk-full case: on the small filesystem
 * VSWAP_QTEST_FULL_DIR names if set (tests/qemu/run.sh mounts a 1 MiB
 * tmpfs there), else anywhere with backing-max=1M.
 */
static void *disk_full_before(GString *cmd_line, void *arg)
{
    const char *dir = g_getenv("VSWAP_QTEST_FULL_DIR");
    char *path;

    if (!dir) {
        g_string_append(cmd_line, " -global virtio-vswap-device."
                        "backing-max=1M ");
        return disk_before(cmd_line, arg);
    }
    path = g_build_filename(dir, "vswap-full.swap", NULL);
    g_string_append_printf(cmd_line, " -global virtio-vswap-device."
                           "backing-file=%s ", path);
    g_test_queue_destroy(disk_remove, path);
    return path;
}

/* A loop device over an unlinked temporary file (root only). */
typedef struct VSwapLoop {
    char path[32];
    int ctl, fd, file;
} VSwapLoop;

static void loop_free(gpointer opaque)
{
    VSwapLoop *l = opaque;

    if (l->fd >= 0) {
        ioctl(l->fd, LOOP_CLR_FD, 0);
        close(l->fd);
    }
    if (l->ctl >= 0) {
        close(l->ctl);
    }
    if (l->file >= 0) {
        close(l->file);
    }
    g_free(l);
}

#define LOOP_BYTES      (8 * 1024 * 1024)

/*
 * The disk tier on a block device: a loop device when one can be had
 * (path[0] stays 0 otherwise, and the test skips; the device then gets a
 * plain file).
 */
static void *disk_loop_before(GString *cmd_line, void *arg)
{
    /* comes apart when the last fd closes, even after a failed assert */
    struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };
    g_autoptr(GError) err = NULL;
    g_autofree char *tmp = NULL;
    VSwapLoop *l = g_new0(VSwapLoop, 1);
    int n;

    l->file = g_file_open_tmp("vswap-loop-XXXXXX", &tmp, &err);
    g_assert_no_error(err);
    unlink(tmp);
    g_assert_cmpint(ftruncate(l->file, LOOP_BYTES), ==, 0);
    l->ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    n = l->ctl >= 0 ? ioctl(l->ctl, LOOP_CTL_GET_FREE) : -1;
    snprintf(l->path, sizeof(l->path), "/dev/loop%d", n);
    l->fd = n >= 0 ? open(l->path, O_RDWR | O_CLOEXEC) : -1;
    if (l->fd < 0 || ioctl(l->fd, LOOP_SET_FD, l->file) ||
        ioctl(l->fd, LOOP_SET_STATUS64, &info)) {
        if (l->fd >= 0) {
            ioctl(l->fd, LOOP_CLR_FD, 0);
        }
        l->path[0] = 0;
        g_test_queue_destroy(loop_free, l);
        disk_before(cmd_line, arg);
        return l;
    }
    g_string_append_printf(cmd_line, " -global virtio-vswap-device."
                           "backing-file=%s ", l->path);
    g_test_queue_destroy(loop_free, l);
    return l;
}

/* Bytes of the first @len of @fd that are not zero. */
static uint64_t nonzero_bytes(int fd, uint64_t len)
{
    g_autofree uint8_t *buf = g_malloc(1024 * 1024);
    uint64_t off, n = 0;
    size_t i;

    for (off = 0; off < len; off += 1024 * 1024) {
        g_assert_cmpint(pread(fd, buf, 1024 * 1024, off), ==, 1024 * 1024);
        for (i = 0; i < 1024 * 1024; i++) {
            n += buf[i] != 0;
        }
    }
    return n;
}

/*
 * A block device keeps its bytes when QEMU goes (no truncate empties
 * it): at exit the device wipes the range its store wrote, so the
 * guest's pages are not left on the host's disk.
 */
static void test_disk_block_device(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    VSwapLoop *l = data;
    VSwapTest t;
    uint8_t page[PAGE];
    g_autofree char *path = NULL;
    QDict *info, *resp;
    uint64_t written;
    gint64 deadline;
    int i;

    if (!l->path[0]) {
        g_test_skip("no loop device (needs root and /dev/loop-control)");
        return;
    }
    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    path = g_strdup(qdict_get_str(info, "qom-path"));
    qobject_unref(info);
    for (i = 0; i < 512; i++) {
        fill_page(page, KIND_RANDOM, 7000 + i);
        g_assert_cmpuint(vswap_store(&t, i % NR_QUEUES, i, 1, page,
                                     LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    }
    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-writeback', 'arguments': "
                     "{ 'id': %s, 'min-age': 0 } }", path);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(resp, "return"), "pages"),
                    ==, 512);
    qobject_unref(resp);
    written = nonzero_bytes(l->fd, LOOP_BYTES);
    g_test_message("on %s before the exit: %" PRIu64 " non-zero bytes",
                   l->path, written);
    g_assert_cmpuint(written, >, 512 * (PAGE - 64));

    /* QEMU exits: a later test starts a new one */
    qtest_qmp_assert_success(t.qts, "{ 'execute': 'quit' }");
    deadline = g_get_monotonic_time() + TIMEOUT_US;
    while (qtest_probe_child(t.qts)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
    qos_invalidate_command_line();
    g_assert_cmpuint(nonzero_bytes(l->fd, LOOP_BYTES), ==, 0);
}

#define FULL_PAGES      1024
#define FULL_POOL_MAX   (1024 * 1024)

/*
 * A disk tier that fills up: stores get NO_SPACE once both the pool and
 * the disk are full, VSWAP_WRITEBACK_ERROR says disk-full, and every
 * page a store accepted loads back bit-exact; refused slots stay empty.
 */
static void test_disk_full(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    uint8_t page[PAGE], got[PAGE];
    g_autofree char *path = NULL;
    g_autofree bool *stored = g_new0(bool, FULL_PAGES);
    QDict *info, *cfg, *st, *dev, *ev, *resp;
    bool fs_full;
    int i, ok = 0, refused = 0;

    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    path = g_strdup(qdict_get_str(info, "qom-path"));
    cfg = qdict_get_qdict(info, "config");
    fs_full = qdict_get_int(cfg, "backing-max") == 0;
    g_test_message("disk full by %s (%s)", fs_full ? "the filesystem" :
                   "backing-max", qdict_get_str(cfg, "backing-file"));
    qobject_unref(info);
    qom_set_pool_max(&t, path, FULL_POOL_MAX);

    /* random pages: 4 MiB against 1 MiB of pool and 1 MiB of disk */
    for (i = 0; i < FULL_PAGES; i++) {
        uint8_t status;

        fill_page(page, KIND_RANDOM, 5000 + i);
        status = vswap_store(&t, i % NR_QUEUES, 2000 + i, 1, page,
                             LAYOUT_NATURAL);
        g_assert(status == VIRTIO_VSWAP_S_OK ||
                 status == VIRTIO_VSWAP_S_NO_SPACE);
        stored[i] = status == VIRTIO_VSWAP_S_OK;
        ok += stored[i];
        refused += !stored[i];
    }
    g_test_message("stores: %d ok, %d refused", ok, refused);
    g_assert_cmpint(refused, >, 0);

    ev = qtest_qmp_eventwait_ref(t.qts, "VSWAP_WRITEBACK_ERROR");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "reason"), ==,
                    "disk-full");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(ev, "data"), "qom-path"),
                    ==, path);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(ev, "data"), "total"), >=,
                    1);
    if (fs_full) {
        /* ENOSPC from the filesystem is a failed write, backing-max not */
        g_assert_cmpint(store_stat(&t, "writeback-errors"), >=, 1);
    }
    qobject_unref(ev);

    info = query_vswap_one(&t);
    st = qdict_get_qdict(info, "store");
    dev = qdict_get_qdict(info, "device");
    g_test_message("disk-pages %" PRId64 " disk-bytes %" PRId64
                   " writeback-errors %" PRId64,
                   qdict_get_int(st, "disk-pages"),
                   qdict_get_int(st, "disk-bytes"),
                   qdict_get_int(st, "writeback-errors"));
    g_assert_cmpint(qdict_get_int(st, "disk-pages"), >, 0);
    g_assert_cmpint(qdict_get_int(st, "stored-pages"), ==, ok);
    g_assert_cmpint(qdict_get_int(st, "store-nospace"), ==, refused);
    g_assert_cmpint(qdict_get_int(dev, "status-no-space"), ==, refused);
    if (fs_full) {
        g_assert_cmpint(qdict_get_int(st, "writeback-errors"), >, 0);
    }
    qobject_unref(info);

    /* a writeback on request fails the same way, and says why */
    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-writeback', 'arguments': "
                     "{ 'id': %s } }", path);
    g_assert(qdict_haskey(resp, "error"));
    g_assert(strstr(qdict_get_str(qdict_get_qdict(resp, "error"), "desc"),
                    "the disk tier is full"));
    qobject_unref(resp);

    /* nothing lost: accepted pages exact, refused slots still empty */
    for (i = 0; i < FULL_PAGES; i++) {
        if (stored[i]) {
            fill_page(page, KIND_RANDOM, 5000 + i);
        } else {
            memset(page, 0, PAGE);
        }
        memset(got, 0x5a, PAGE);
        g_assert_cmpuint(vswap_load(&t, i % NR_QUEUES, 2000 + i, 1, got,
                                    LAYOUT_SPLIT), ==, VIRTIO_VSWAP_S_OK);
        g_assert(memcmp(page, got, PAGE) == 0);
    }
    g_assert_cmpint(store_stat(&t, "disk-read-errors"), ==, 0);

    vswap_teardown(&t);
}

/* vswap-set-numa-policy on the device named @path; true if accepted. */
static bool set_numa_policy(VSwapTest *t, const char *path,
                            const char *policy, int node)
{
    QDict *resp;
    bool ok;

    if (node < 0) {
        resp = qtest_qmp(t->qts, "{ 'execute': 'vswap-set-numa-policy', "
                         "'arguments': { 'id': %s, 'policy': %s } }",
                         path, policy);
    } else {
        resp = qtest_qmp(t->qts, "{ 'execute': 'vswap-set-numa-policy', "
                         "'arguments': { 'id': %s, 'policy': %s, "
                         "'host-nodes': [ %d ] } }", path, policy, node);
    }
    ok = qdict_haskey(resp, "return");
    qobject_unref(resp);
    return ok;
}

/*
 * Host NUMA placement, on node 0 only (any host has it): the device
 * starts with policy=bind,host-nodes=0; 1024 pages are stored while
 * vswap-set-numa-policy cycles through every policy; the background
 * migration ends; every page loads back bit-exact; and the per-node
 * figures, refreshed in the background, put all segment bytes on node 0.
 */
static void test_numa_policy(void *obj, void *data, QGuestAllocator *alloc)
{
    static const char *const cycle[] = {
        "interleave", "default", "preferred", "bind",
    };
    VSwapTest t;
    uint8_t pages[MAX_PAGES * PAGE];
    g_autofree char *path = NULL;
    QDict *info, *cfg, *st, *node;
    QList *nodes;
    int64_t stored_at, deadline;
    int i, j, change = 0;

    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    path = g_strdup(qdict_get_str(info, "qom-path"));
    cfg = qdict_get_qdict(info, "config");
    g_assert_cmpstr(qdict_get_str(cfg, "policy"), ==, "bind");
    nodes = qdict_get_qlist(cfg, "host-nodes");
    g_assert_cmpint(qlist_size(nodes), ==, 1);
    g_assert_cmpint(qnum_get_int(qobject_to(QNum, qlist_peek(nodes))), ==,
                    0);
    qobject_unref(info);

    for (i = 0; i < DISK_PAGES; i += MAX_PAGES) {
        for (j = 0; j < MAX_PAGES; j++) {
            fill_page(pages + j * PAGE, disk_kind(i + j), DISK_BASE + i + j);
        }
        g_assert_cmpuint(vswap_store(&t, i / MAX_PAGES % NR_QUEUES,
                                     DISK_BASE + i, MAX_PAGES, pages,
                                     LAYOUT_NATURAL), ==,
                         VIRTIO_VSWAP_S_OK);
        if (i % 64 == 0) {
            const char *pol = cycle[change++ % G_N_ELEMENTS(cycle)];

            g_assert(set_numa_policy(&t, path, pol,
                                     strcmp(pol, "default") ? 0 : -1));
        }
    }
    g_assert(set_numa_policy(&t, path, "bind", 0));
    /* a refused change leaves bind [0] */
    g_assert(!set_numa_policy(&t, path, "preferred", -1));

    deadline = g_get_monotonic_time() + TIMEOUT_US;
    while (store_stat(&t, "numa-migrate-pending-bytes")) {
        g_assert(g_get_monotonic_time() < deadline);
        g_usleep(50 * 1000);
    }
    /* on node 0 already: nothing to move, nothing failed */
    g_assert_cmpint(store_stat(&t, "numa-migrate-failures"), ==, 0);
    g_assert_cmpint(store_stat(&t, "numa-migrated-bytes"), ==, 0);

    disk_check_all(&t, LAYOUT_NATURAL);

    /* figures read after the stores: query-vswap refreshes them */
    stored_at = g_get_monotonic_time();
    for (;;) {
        info = query_vswap_one(&t);
        st = qdict_get_qdict(info, "store");
        if (qdict_haskey(st, "nodes-age-ms") &&
            g_get_monotonic_time() -
            qdict_get_int(st, "nodes-age-ms") * 1000 > stored_at) {
            break;
        }
        qobject_unref(info);
        g_assert(g_get_monotonic_time() < deadline + TIMEOUT_US);
        g_usleep(100 * 1000);
    }
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(info, "config"),
                                  "policy"), ==, "bind");
    g_assert_cmpint(qdict_get_int(st, "segment-bytes"), >, 0);
    nodes = qdict_get_qlist(st, "nodes");
    g_assert_cmpint(qlist_size(nodes), ==, 1);
    node = qobject_to(QDict, qlist_peek(nodes));
    g_assert_cmpint(qdict_get_int(node, "node"), ==, 0);
    g_assert_cmpint(qdict_get_int(node, "pool-bytes"), ==,
                    qdict_get_int(st, "segment-bytes"));
    qobject_unref(info);

    vswap_teardown(&t);
}

static uint64_t store_id(VSwapTest *t)
{
    return qvirtio_config_readq(t->dev,
                        offsetof(struct virtio_vswap_config, store_id));
}

/* Reset the device as a driver does and start it again with @extra. */
/*
 * SUSPEND (spec 6.8): refused unless negotiated; after it, device resets
 * keep every slot and store_id until DRIVER_OK is set again, or until a
 * driver that did not negotiate F_SUSPEND sets FEATURES_OK; without it
 * a reset empties the store and changes store_id; a system reset empties
 * it even after SUSPEND.
 */
static void test_suspend(void *obj, void *data, QGuestAllocator *alloc)
{
    const uint64_t F_SUSPEND = 1ULL << VIRTIO_VSWAP_F_SUSPEND;
    uint8_t page[PAGE], got[PAGE], hdr[HDR];
    VSwapTest t;
    uint64_t id;
    uint32_t used;

    vswap_setup(&t, obj, alloc, false);
    fill_page(page, KIND_TEXT, 7);
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_SUSPEND, 0, 0), ==,
                     VIRTIO_VSWAP_S_UNSUPPORTED);
    g_assert_cmpuint(vswap_store(&t, 0, 3, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    id = store_id(&t);
    g_assert_cmpuint(id, !=, 0);

    /* no SUSPEND: the reset empties the store, store_id changes */
    vswap_restart(&t, F_SUSPEND);
    g_assert_cmpuint(store_id(&t), !=, id);
    g_assert_cmpuint(vswap_load(&t, 1, 3, 1, got, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(got, PAGE));
    g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 0);

    /* SUSPEND names no slot: nr_pages and slot 0, header only */
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_SUSPEND, 0, 1), ==,
                     VIRTIO_VSWAP_S_BAD_REQUEST);
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_SUSPEND, 5, 0), ==,
                     VIRTIO_VSWAP_S_BAD_REQUEST);
    make_hdr(hdr, VIRTIO_VSWAP_T_SUSPEND, 0, 0, 0, 0);
    g_assert_cmpuint(req_full(&t, 0, hdr, HDR, NULL, 0, got, PAGE + 1,
                              &used, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_BAD_REQUEST);

    /* SUSPEND, then two resets (a driver's freeze and restore) */
    g_assert_cmpuint(vswap_store(&t, 0, 3, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    id = store_id(&t);
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_SUSPEND, 0, 0), ==,
                     VIRTIO_VSWAP_S_OK);
    qvirtio_reset(t.dev);
    vswap_restart(&t, F_SUSPEND);
    g_assert_cmpuint(store_id(&t), ==, id);
    g_assert_cmpuint(vswap_load(&t, 1, 3, 1, got, LAYOUT_SPLIT), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(got, page, PAGE) == 0);
    g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 1);

    /* DRIVER_OK disarmed it: the next reset empties the store */
    vswap_restart(&t, F_SUSPEND);
    g_assert_cmpuint(store_id(&t), !=, id);
    g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 0);

    /*
     * SUSPEND, a reset, then a driver without F_SUSPEND: not the one
     * resuming (a new instance), so FEATURES_OK empties the kept store
     */
    g_assert_cmpuint(vswap_store(&t, 0, 3, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    id = store_id(&t);
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_SUSPEND, 0, 0), ==,
                     VIRTIO_VSWAP_S_OK);
    vswap_restart(&t, 0);
    g_assert_cmpuint(store_id(&t), !=, id);
    g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 0);
    g_assert_cmpuint(vswap_load(&t, 1, 3, 1, got, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert(is_zero(got, PAGE));
    vswap_restart(&t, F_SUSPEND);

    /* a system reset empties the store even after SUSPEND */
    g_assert_cmpuint(vswap_store(&t, 0, 3, 1, page, LAYOUT_NATURAL), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_SUSPEND, 0, 0), ==,
                     VIRTIO_VSWAP_S_OK);
    qobject_unref(qtest_qmp(t.qts, "{'execute': 'system_reset'}"));
    qtest_qmp_eventwait(t.qts, "RESET");
    g_assert_cmpint(store_stat(&t, "stored-pages"), ==, 0);
    vswap_teardown(&t);
    qos_invalidate_command_line();
}

/*
 * The store's migration records (libvswap's stream, vswap.h), as QEMU's
 * migration carries them: this QEMU saves its device to a file, a second
 * QEMU with the same command line loads the file intact (the same store
 * content arrives) and refuses every malformed copy of it with a failed
 * migration.  A RECORDS chunk is tag 2, a be32 length, then records: le32
 * slot, u8 kind, u8 codec, le16 len, le32 CRC-32C of those 8 bytes and
 * the body, a body (SAME: u64 value; COMP and RAW: len bytes).
 */
#define REC_HDR         8
#define REC_BODY        (REC_HDR + 4)
enum { REC_EMPTY, REC_ZERO, REC_SAME, REC_COMP, REC_RAW };

typedef struct Records {
    size_t off, len;            /* of the records of the first chunk */
    size_t first[REC_RAW + 1];  /* offset of the first record of a kind */
} Records;

/* The first RECORDS chunk of @d that parses whole (not RAM look-alikes). */
static bool find_records(const uint8_t *d, size_t n, Records *r)
{
    size_t pos, off, end;

    for (pos = 1; pos + 8 <= n; pos++) {
        uint32_t len;
        bool ok = true;

        if (memcmp(d + pos, "\0\0\0\2", 4)) {
            continue;
        }
        len = ldl_be_p(d + pos + 4);
        if (len < REC_BODY || len > 256 * 1024 || pos + 8 + len > n) {
            continue;
        }
        memset(r, 0, sizeof(*r));
        for (off = pos + 8, end = off + len; ok && off + REC_BODY <= end;) {
            uint8_t kind = d[off + 4], codec = d[off + 5];
            uint16_t rlen = lduw_le_p(d + off + 6);

            ok = kind <= REC_RAW &&
                 (kind < REC_COMP ? !rlen && !codec : rlen && rlen <= PAGE);
            if (ok && !r->first[kind]) {
                r->first[kind] = off;
            }
            off += kind < REC_SAME ? REC_BODY : kind == REC_SAME ?
                   REC_BODY + 8 : REC_BODY + rlen;
        }
        if (ok && off == end) {
            r->off = pos + 8;
            r->len = len;
            return true;
        }
    }
    return false;
}

static const char *migrate_wait(QTestState *qts)
{
    for (;;) {
        QDict *r = qtest_qmp(qts, "{ 'execute': 'query-migrate' }");
        const char *st = qdict_get_try_str(qdict_get_qdict(r, "return"),
                                           "status");
        const char *out = NULL;

        if (st && !strcmp(st, "completed")) {
            out = "completed";
        } else if (st && !strcmp(st, "failed")) {
            out = "failed";
        }
        qobject_unref(r);
        if (out) {
            return out;
        }
        g_usleep(20 * 1000);
    }
}

/* query-vswap's @part ("store", "config") of the first device of @qts. */
static QDict *vswap_info_part(QTestState *qts, const char *part)
{
    QDict *r = qtest_qmp(qts, "{ 'execute': 'query-vswap' }");
    QDict *info = qobject_to(QDict, qlist_peek(qdict_get_qlist(r, "return")));
    QDict *d = qdict_get_qdict(info, part);

    qobject_ref(d);
    qobject_unref(r);
    return d;
}

/* Load @path into a new QEMU; its migration status, its store if done. */
static const char *load_file(const char *path, QDict **store)
{
    QTestState *to = qtest_initf("%s -incoming defer",
                                 qos_get_current_command_line());
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    const char *st;

    qtest_qmp_assert_success(to, "{ 'execute': 'migrate-incoming', "
                             "'arguments': { 'uri': %s, "
                             "'exit-on-error': false } }", uri);
    st = migrate_wait(to);
    if (store) {
        *store = vswap_info_part(to, "store");
    }
    qtest_quit(to);
    return st;
}

/* The guest's limits in @qts: capacity in slots, max-pages. */
static void assert_guest_limits(QTestState *qts, uint64_t size,
                                uint64_t capacity, uint64_t max_pages)
{
    QDict *cfg = vswap_info_part(qts, "config");

    g_assert_cmpuint(qdict_get_int(cfg, "size"), ==, size);
    g_assert_cmpuint(qdict_get_int(cfg, "capacity"), ==, capacity);
    g_assert_cmpuint(qdict_get_int(cfg, "max-pages"), ==, max_pages);
    qobject_unref(cfg);
}

/*
 * A destination with a larger size and max-pages takes the store, and the
 * guest keeps the source's limits (spec 8.1: the config does not change
 * until a reset); they travel on, so that destination migrates back into
 * a QEMU of the source's size; a reset gives the guest the larger ones.
 * Before, the destination told its own and a move back was refused.
 */
#define BIG_SIZE        (2 * DEV_SIZE)
#define BIG_OPTS        "size=128M,max-pages=16,num-queues=2"

static void migrate_via_bigger(const char *dir, const char *good)
{
    g_autofree char *back = g_build_filename(dir, "back", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", good);
    g_autofree char *back_uri = g_strdup_printf("file:%s", back);
    GString *cmd = g_string_new(qos_get_current_command_line());
    QTestState *big;

    g_assert(strstr(cmd->str, DEV_OPTS));
    g_string_replace(cmd, DEV_OPTS, BIG_OPTS, 0);
    big = qtest_initf("%s -incoming defer", cmd->str);
    g_string_free(cmd, true);
    qtest_qmp_assert_success(big, "{ 'execute': 'migrate-incoming', "
                             "'arguments': { 'uri': %s, "
                             "'exit-on-error': false } }", uri);
    g_assert_cmpstr(migrate_wait(big), ==, "completed");
    assert_guest_limits(big, BIG_SIZE, DEV_SIZE / PAGE, MAX_PAGES);

    qtest_qmp_assert_success(big, "{ 'execute': 'migrate', "
                             "'arguments': { 'uri': %s } }", back_uri);
    g_assert_cmpstr(migrate_wait(big), ==, "completed");
    g_test_message("bigger destination -> a QEMU of the source's size");
    g_assert_cmpstr(load_file(back, NULL), ==, "completed");

    qtest_qmp_assert_success(big, "{ 'execute': 'system_reset' }");
    qtest_qmp_eventwait(big, "RESET");
    assert_guest_limits(big, BIG_SIZE, BIG_SIZE / PAGE, 16);
    qtest_quit(big);
    unlink(back);
}

typedef struct BadRecord {
    const char *what;
    int kind;                   /* the record changed: its first of kind */
    size_t at;                  /* byte of it; with @set, the value */
    int set;                    /* -1: flip the byte's lowest bit */
} BadRecord;

static const BadRecord bad_records[] = {
    { "compressed page: a payload byte flipped", REC_COMP, REC_HDR + 4, -1 },
    { "compressed page: its checksum", REC_COMP, REC_HDR, -1 },
    { "compressed page: unknown codec", REC_COMP, 5, 77 },
    { "compressed page: length above a page", REC_COMP, 7, 0x11 },
    { "as-is page: a byte flipped", REC_RAW, REC_HDR + 100, -1 },
    { "as-is page: its checksum", REC_RAW, REC_HDR + 2, -1 },
    { "unknown kind", REC_ZERO, 4, 9 },
    { "zero page with a codec", REC_ZERO, 5, 1 },
    { "same-filled page with a length", REC_SAME, 6, 8 },
    { "slot past the capacity", REC_SAME, 3, 0x40 },
    { "zero page: its slot number", REC_ZERO, 0, -1 },
    { "zero page read as empty", REC_ZERO, 4, 0 },
    { "same-filled page: its value", REC_SAME, REC_BODY, -1 },
};

static void test_migrate_records(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    static const char *const keys[] = {
        "stored-pages", "zero-pages", "same-pages", "compressed-pages",
        "incompressible-pages",
    };
    g_autofree char *dir = g_dir_make_tmp("vswap-mig-XXXXXX", NULL);
    g_autofree char *good = g_build_filename(dir, "good", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", good);
    g_autofree uint8_t *pages = g_malloc(MAX_PAGES * PAGE);
    g_autofree uint8_t *copy = NULL;
    g_autofree gchar *file = NULL;
    QDict *info, *src, *dst;
    VSwapTest t;
    Records r;
    gsize n;
    int i, k;

    g_assert(dir);
    vswap_setup(&t, obj, alloc, false);
    for (i = 0; i < 64; i += MAX_PAGES) {
        for (k = 0; k < MAX_PAGES; k++) {
            fill_page(pages + k * PAGE, (i / MAX_PAGES + k) % NKINDS, i + k);
        }
        g_assert_cmpuint(vswap_store(&t, i % NR_QUEUES, 100 + i, MAX_PAGES,
                                     pages, LAYOUT_NATURAL), ==,
                         VIRTIO_VSWAP_S_OK);
    }
    info = query_vswap_one(&t);
    src = qdict_get_qdict(info, "store");
    qobject_ref(src);
    qobject_unref(info);
    qtest_qmp_assert_success(t.qts, "{ 'execute': 'migrate', "
                             "'arguments': { 'uri': %s } }", uri);
    g_assert_cmpstr(migrate_wait(t.qts), ==, "completed");

    /* intact: the same store arrives */
    g_assert_cmpstr(load_file(good, &dst), ==, "completed");
    for (i = 0; i < ARRAY_SIZE(keys); i++) {
        g_test_message("%s: %" PRId64 " -> %" PRId64, keys[i],
                       qdict_get_int(src, keys[i]),
                       qdict_get_int(dst, keys[i]));
        g_assert_cmpint(qdict_get_int(dst, keys[i]), ==,
                        qdict_get_int(src, keys[i]));
    }
    g_assert_cmpint(qdict_get_int(dst, "stored-pages"), ==, 64);
    qobject_unref(dst);
    migrate_via_bigger(dir, good);

    g_assert(g_file_get_contents(good, &file, &n, NULL));
    g_assert(find_records((uint8_t *)file, n, &r));
    for (k = REC_ZERO; k <= REC_RAW; k++) {
        g_assert(r.first[k]);
    }
    copy = g_malloc(n);
    for (i = 0; i < ARRAY_SIZE(bad_records); i++) {
        const BadRecord *b = &bad_records[i];
        size_t at = r.first[b->kind] + b->at;

        memcpy(copy, file, n);
        copy[at] = b->set < 0 ? copy[at] ^ 1 : b->set;
        g_assert(g_file_set_contents(bad, (char *)copy, n, NULL));
        g_test_message("malformed: %s", b->what);
        g_assert_cmpstr(load_file(bad, NULL), ==, "failed");
    }
    /* the chunk's length cuts its last record */
    memcpy(copy, file, n);
    stl_be_p(copy + r.off - 4, r.len - 3);
    g_assert(g_file_set_contents(bad, (char *)copy, n, NULL));
    g_test_message("malformed: a record cut by its chunk's length");
    g_assert_cmpstr(load_file(bad, NULL), ==, "failed");
    /* the file ends inside the chunk */
    g_assert(g_file_set_contents(bad, file, r.off + r.len / 2, NULL));
    g_test_message("malformed: the stream ends inside a record chunk");
    g_assert_cmpstr(load_file(bad, NULL), ==, "failed");

    qobject_unref(src);
    unlink(good);
    unlink(bad);
    rmdir(dir);
    vswap_teardown(&t);
    /* this QEMU is now stopped after its migration: no reuse */
    qos_invalidate_command_line();
}

/* vswap-compact: 512 as-is pages, three in four invalidated. */
#define COMPACT_BASE    5000
#define COMPACT_PAGES   512

/* COMPACT_PAGES random (incompressible) pages, through both queues. */
static void store_compact_pages(VSwapTest *t)
{
    uint8_t pages[MAX_PAGES * PAGE];
    int i, j;

    for (i = 0; i < COMPACT_PAGES; i += MAX_PAGES) {
        for (j = 0; j < MAX_PAGES; j++) {
            fill_page(pages + j * PAGE, KIND_RANDOM, COMPACT_BASE + i + j);
        }
        g_assert_cmpuint(vswap_store(t, i / MAX_PAGES % NR_QUEUES,
                                     COMPACT_BASE + i, MAX_PAGES, pages,
                                     LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    }
}

/*
 * A pool with 3/4 garbage and no more stores (the pool compacts itself
 * only when a store needs a new segment): vswap-compact gives the
 * garbage back, says how much, and every live page loads back bit-exact.
 */
static void test_compact(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    uint8_t pages[MAX_PAGES * PAGE], got[PAGE];
    g_autofree char *path = NULL;
    int64_t before, after, freed, compactions;
    QDict *info, *resp, *ret;
    int i;

    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    path = g_strdup(qdict_get_str(info, "qom-path"));
    /* the default: an idle device compacts after 30 s */
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "config"),
                                  "idle-compact"), ==, 30);
    qobject_unref(info);

    store_compact_pages(&t);
    for (i = 0; i < COMPACT_PAGES; i += 4) {
        g_assert_cmpuint(vswap_simple(&t, VIRTIO_VSWAP_T_INVALIDATE,
                                      COMPACT_BASE + i + 1, 3), ==,
                         VIRTIO_VSWAP_S_OK);
    }
    before = store_stat(&t, "pool-bytes");
    compactions = store_stat(&t, "compactions");

    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-compact', 'arguments': "
                     "{ 'id': %s } }", path);
    g_assert(qdict_haskey(resp, "return"));
    ret = qdict_get_qdict(resp, "return");
    freed = qdict_get_int(ret, "freed");
    after = qdict_get_int(ret, "pool-bytes");
    g_test_message("vswap-compact: pool-bytes %" PRId64 " -> %" PRId64
                   ", freed %" PRId64, before, after, freed);
    /* 1.5 MiB of the 2 MiB stored is garbage: at least 1 MiB goes back */
    g_assert_cmpint(freed, >=, 1024 * 1024);
    g_assert_cmpint(after, ==, before - freed);
    g_assert_cmpint(store_stat(&t, "pool-bytes"), ==, after);
    qobject_unref(resp);
    g_assert_cmpint(store_stat(&t, "compactions"), >, compactions);
    g_assert_cmpint(store_stat(&t, "stored-pages"), ==, COMPACT_PAGES / 4);

    for (i = 0; i < COMPACT_PAGES; i += 4) {
        fill_page(pages, KIND_RANDOM, COMPACT_BASE + i);
        memset(got, 0x5a, PAGE);
        g_assert_cmpuint(vswap_load(&t, i / 4 % NR_QUEUES, COMPACT_BASE + i,
                                    1, got, LAYOUT_SPLIT), ==,
                         VIRTIO_VSWAP_S_OK);
        g_assert(memcmp(pages, got, PAGE) == 0);
    }

    /* again: nothing left to give back, and it says so */
    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-compact', 'arguments': "
                     "{ 'id': %s } }", path);
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(resp, "return"), "freed"),
                    ==, 0);
    qobject_unref(resp);

    /* an unknown id, and a device that is not a virtio-vswap */
    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-compact', 'arguments': "
                     "{ 'id': 'no-such-device' } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(resp, "error"), "class"),
                    ==, "DeviceNotFound");
    qobject_unref(resp);
    resp = qtest_qmp(t.qts, "{ 'execute': 'vswap-compact', 'arguments': "
                     "{ 'id': '/machine' } }");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(resp, "error"), "class"),
                    ==, "GenericError");
    g_assert(strstr(qdict_get_str(qdict_get_qdict(resp, "error"), "desc"),
                    "is not a virtio-vswap device"));
    qobject_unref(resp);
    vswap_teardown(&t);
}

/* A test device with idle-compact=1 (the timer ticks every 1 s). */
static void *idle_before(GString *cmd_line, void *arg)
{
    g_string_append(cmd_line, " -global virtio-vswap-device."
                    "idle-compact=1 ");
    return arg;
}

/* Pool bytes beyond the slot table. */
static int64_t pool_data(VSwapTest *t)
{
    return store_stat(t, "pool-bytes") - store_stat(t, "meta-bytes");
}

/*
 * idle-compact: pages stored through both queues, then all invalidated
 * (a guest's swapoff and discard); the pool still holds the open and
 * kept segments.  The timer's first tick saw those requests and does
 * nothing; the next, a whole period without a request, compacts in the
 * thread pool, and the pool is down to its slot table.  The device goes
 * on: a stored page loads back bit-exact.
 */
/* qom-set idle-compact on the device at @path; query-vswap shows it. */
static void set_idle_compact(VSwapTest *t, const char *path, int64_t value)
{
    qom_set_uint(t, path, "idle-compact", value);
    g_assert_cmpint(vswap_stat(t, "config", "idle-compact"), ==, value);
}

/*
 * Store COMPACT_PAGES and invalidate them all: an emptied store that still
 * holds segments.  Returns those pool bytes.
 */
static int64_t empty_store_holding_memory(VSwapTest *t)
{
    int64_t held;

    store_compact_pages(t);
    g_assert_cmpuint(vswap_simple(t, VIRTIO_VSWAP_T_INVALIDATE,
                                  COMPACT_BASE, COMPACT_PAGES), ==,
                     VIRTIO_VSWAP_S_OK);
    g_assert_cmpint(store_stat(t, "stored-pages"), ==, 0);
    held = pool_data(t);
    g_test_message("emptied store: %" PRId64 " pool bytes beyond the slot "
                   "table", held);
    g_assert_cmpint(held, >, 0);
    return held;
}

/* The first tick of @period_s saw requests, the second compacts. */
static void idle_spell(VSwapTest *t, int64_t held, int64_t period_s)
{
    gint64 deadline;

    /* the first tick saw the requests: the memory stays */
    qtest_clock_step(t->qts, period_s * 1000 * 1000 * 1000);
    g_assert_cmpint(pool_data(t), ==, held);
    /* a whole period without one: it goes back */
    qtest_clock_step(t->qts, period_s * 1000 * 1000 * 1000);
    deadline = g_get_monotonic_time() + TIMEOUT_US;
    while (pool_data(t) > 0) {
        g_assert(g_get_monotonic_time() < deadline);
        g_usleep(10 * 1000);
    }
}

static void test_idle_compact(void *obj, void *data, QGuestAllocator *alloc)
{
    VSwapTest t;
    uint8_t pages[MAX_PAGES * PAGE], got[PAGE];
    g_autofree char *path = NULL;
    int64_t held;
    QDict *info;

    vswap_setup(&t, obj, alloc, true);
    info = query_vswap_one(&t);
    path = g_strdup(qdict_get_str(info, "qom-path"));
    qobject_unref(info);
    g_assert_cmpint(vswap_stat(&t, "config", "idle-compact"), ==, 1);

    idle_spell(&t, empty_store_holding_memory(&t), 1);

    fill_page(pages, KIND_TEXT, COMPACT_BASE);
    g_assert_cmpuint(vswap_store(&t, 1, COMPACT_BASE, 1, pages,
                                 LAYOUT_NATURAL), ==, VIRTIO_VSWAP_S_OK);
    memset(got, 0x5a, PAGE);
    g_assert_cmpuint(vswap_load(&t, 0, COMPACT_BASE, 1, got, LAYOUT_SPLIT),
                     ==, VIRTIO_VSWAP_S_OK);
    g_assert(memcmp(pages, got, PAGE) == 0);

    /* qom-set 0 at run time: no timer, the memory stays */
    set_idle_compact(&t, path, 0);
    held = empty_store_holding_memory(&t);
    qtest_clock_step(t.qts, 5LL * 1000 * 1000 * 1000);
    g_usleep(100 * 1000);
    g_assert_cmpint(pool_data(&t), ==, held);
    /* and back on, with another period */
    set_idle_compact(&t, path, 2);
    idle_spell(&t, held, 2);
    vswap_teardown(&t);
}

/* The device with DEV_OPTS and @more; _IO: its queues in iothread io0. */
#define OPTS(more) { .edge.extra_device_opts = DEV_OPTS more }
#define OPTS_IO(more) {                                              \
        .edge.after_cmd_line = "-object iothread,id=io0",             \
        .edge.extra_device_opts = DEV_OPTS ",iothread=io0" more,      \
    }

static void register_virtio_vswap_test(void)
{
    QOSGraphTestOptions opts = OPTS("");
    QOSGraphTestOptions opts_io = OPTS_IO("");
    /* the same, telling the test that an iothread serves the queues */
    QOSGraphTestOptions opts_io_flag = opts_io;
    /* counters: pool-requests 0 even if a busy host preempts QEMU */
    QOSGraphTestOptions opts_counters = OPTS(",x-inline-budget-us=100000");
    QOSGraphTestOptions opts_counters_io =
        OPTS_IO(",x-inline-budget-us=100000");
    QOSGraphTestOptions opts_budget = OPTS(",x-inline-budget-us=0");
    QOSGraphTestOptions opts_budget_io = OPTS_IO(",x-inline-budget-us=0");
    QOSGraphTestOptions opts_disk = opts;
    QOSGraphTestOptions opts_loop = opts;
    QOSGraphTestOptions opts_disk_io = opts_io;

    QOSGraphTestOptions opts_full = opts;
    QOSGraphTestOptions opts_full_io = opts_io;
    QOSGraphTestOptions opts_age = opts;
    QOSGraphTestOptions opts_age_io = opts_io;
    QOSGraphTestOptions opts_idle = opts;
    QOSGraphTestOptions opts_idle_io = opts_io;
    /* -device key=value cannot carry host-nodes (a list): -global can */
    QOSGraphTestOptions opts_numa = {
        .edge.after_cmd_line = "-global virtio-vswap-device.host-nodes=0",
        .edge.extra_device_opts = DEV_OPTS ",policy=bind",
    };
    QOSGraphTestOptions opts_numa_io = {
        .edge.after_cmd_line = "-object iothread,id=io0 "
                               "-global virtio-vswap-device.host-nodes=0",
        .edge.extra_device_opts = DEV_OPTS ",iothread=io0,policy=bind",
    };

    opts_io_flag.arg = (void *)"iothread";
    opts_disk.before = disk_before;
    opts_loop.before = disk_loop_before;
    opts_disk_io.before = disk_before;
    opts_full.before = disk_full_before;
    opts_full_io.before = disk_full_before;
    opts_age.before = disk_age_before;
    opts_idle.before = idle_before;
    opts_idle_io.before = idle_before;
    opts_age_io.before = disk_age_before;

    qos_add_test("store-load", "virtio-vswap", test_store_load, &opts);
    qos_add_test("malformed", "virtio-vswap", test_malformed, &opts);
    qos_add_test("empty-chain", "virtio-vswap", test_empty_chain, &opts);
    qos_add_test("live-queue-config", "virtio-vswap", test_live_queue_config,
                 &opts);
    qos_add_test("bar-buffers", "virtio-vswap", test_bar_buffers, &opts);
    qos_add_test("mmio-chain-reset", "virtio-vswap", test_mmio_chain_reset,
                 &opts);
    qos_add_test("counters", "virtio-vswap", test_counters,
                 &opts_counters);
    qos_add_test("over-budget", "virtio-vswap", test_over_budget,
                 &opts_budget);
    qos_add_test("suspend", "virtio-vswap", test_suspend, &opts);
    qos_add_test("migrate-records", "virtio-vswap", test_migrate_records,
                 &opts);
    qos_add_test("pool-max", "virtio-vswap", test_pool_max, &opts);
    qos_add_test("compact", "virtio-vswap", test_compact, &opts);
    qos_add_test("idle-compact", "virtio-vswap", test_idle_compact,
                 &opts_idle);
    qos_add_test("disk-tier", "virtio-vswap", test_disk_tier, &opts_disk);
    qos_add_test("disk-full", "virtio-vswap", test_disk_full, &opts_full);
    qos_add_test("disk-block-device", "virtio-vswap", test_disk_block_device,
                 &opts_loop);
    qos_add_test("writeback-age", "virtio-vswap", test_writeback_age,
                 &opts_age);
    qos_add_test("numa-policy", "virtio-vswap", test_numa_policy,
                 &opts_numa);

    /* The same cases with the queues served by an iothread. */
    qos_add_test("iothread-store-load", "virtio-vswap", test_store_load,
                 &opts_io);
    qos_add_test("iothread-malformed", "virtio-vswap", test_malformed,
                 &opts_io);
    qos_add_test("iothread-empty-chain", "virtio-vswap", test_empty_chain,
                 &opts_io);
    qos_add_test("iothread-bar-buffers", "virtio-vswap", test_bar_buffers,
                 &opts_io_flag);
    qos_add_test("iothread-mmio-chain-reset", "virtio-vswap",
                 test_mmio_chain_reset, &opts_io);
    qos_add_test("iothread-mmio-ring", "virtio-vswap", test_mmio_ring,
                 &opts_io);
    qos_add_test("iothread-live-queue-config", "virtio-vswap",
                 test_live_queue_config, &opts_io);
    qos_add_test("iothread-suspend", "virtio-vswap", test_suspend,
                 &opts_io);
    qos_add_test("iothread-counters", "virtio-vswap", test_counters,
                 &opts_counters_io);
    qos_add_test("iothread-over-budget", "virtio-vswap", test_over_budget,
                 &opts_budget_io);
    qos_add_test("iothread-compact", "virtio-vswap", test_compact,
                 &opts_io);
    qos_add_test("iothread-idle-compact", "virtio-vswap",
                 test_idle_compact, &opts_idle_io);
    qos_add_test("iothread-pool-max", "virtio-vswap", test_pool_max,
                 &opts_io);
    qos_add_test("iothread-disk-tier", "virtio-vswap", test_disk_tier,
                 &opts_disk_io);
    qos_add_test("iothread-disk-full", "virtio-vswap", test_disk_full,
                 &opts_full_io);
    qos_add_test("iothread-writeback-age", "virtio-vswap",
                 test_writeback_age, &opts_age_io);
    qos_add_test("iothread-numa-policy", "virtio-vswap", test_numa_policy,
                 &opts_numa_io);
}

libqos_init(register_virtio_vswap_test);
