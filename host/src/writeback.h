/* SPDX-License-Identifier: MIT */
/*
 * writeback.h - choosing pool segments and moving their live objects to the
 * disk tier (tier.h), by pressure (the pool cap) or by age (the caller).
 *
 * One writeback runs at a time per store, holding wb->lock (which also owns
 * the tier's open head chunk) and one context (so reset and the invariant
 * check, which take every context, never see a writeback half done). A
 * batch:
 *   1. take victims (pool_take_oldest: COMPACTING, unlinked) until their
 *      live bytes would overflow the head chunk's room or the byte budget;
 *   2. every object goes to disk with an 8-byte header carrying the
 *      payload's checksum (tier.h), the payload as stored (compressed,
 *      never decompressed). A checksum store's pool objects already have
 *      it: a victim with few dead bytes goes in whole ([0, used), one
 *      iovec, dead objects included); of a sparser one, walk the headers
 *      and gather each live object (header + payload) into the iovec,
 *      adjacent live objects sharing an entry. A store without checksums
 *      (4-byte pool headers) has every live object packed into the stage
 *      buffer: a header built now (slot, CRC-32C of the payload, hashed
 *      here, once), the payload copied as stored, zero padding; the
 *      stage is then the one iovec entry (its victims are never written
 *      whole). Why a copy: three entries per object (header, payload,
 *      padding) took several pwritev calls per batch (IOV_MAX) and were
 *      slower than one memcpy of a payload the hash just brought into
 *      cache. Claim the bytes written at the head chunk;
 *   3. pwritev the batch at once (one large sequential write), holding no
 *      slot lock: loads and stores of every slot go on meanwhile, served
 *      from the pool copy. The payloads are immutable; a header may get
 *      its dead tag (pool_free, one atomic store) while the kernel copies
 *      it: such a disk copy is never pointed at (step 4 frees it instead
 *      of re-pointing; a benign race; tier.c tells ThreadSanitizer so);
 *   4. per object, under its slot lock: if the slot still points at the
 *      pool object (the back-pointer check), re-point it at the disk offset
 *      and free the pool object; otherwise (stored over or invalidated
 *      meanwhile) free the disk copy instead; dead objects written with a
 *      whole victim are freed on disk at once;
 *   5. give the victims back (pool_put_victims): emptied, they are freed
 *      with MADV_DONTNEED (one call per run of neighbours), so N bytes
 *      written free about N bytes of host memory (segments are
 *      age-coherent: little of a victim is dead).
 * A failed write (ENOSPC, EIO) settles the claimed bytes as dead, seals the
 * head chunk, puts the victims back untouched: nothing is lost, the data is
 * still in memory; it is counted and raised as an event.
 *
 * Fields (all under wb->lock unless said otherwise): objs / iov / stage,
 * the current batch's gathered objects, write vector and packed disk
 * objects (allocated when a disk is attached); victims, segs: the batch's
 * victims.
 */
#ifndef VSWAP_WRITEBACK_H
#define VSWAP_WRITEBACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vswap.h"

/*
 * Objects per batch: a batch is at most one 1 MiB chunk; the smallest
 * pool object is 8 bytes (4-byte header, pool.h), but real compressed
 * pages are hundreds of bytes or more. 32768 objects (two segments of
 * minimal objects) bound the arrays (32768 x (32 + 16) B = 1.5 MiB per
 * store with a disk; without checksums 32768 x 32 B + the 1 MiB stage,
 * one write entry); a batch stops taking victims when another segment
 * might not fit.
 */
#define WB_MAX_OBJS		32768u
/* Victims per batch: a batch of sparse segments still fills its chunk. */
#define WB_MAX_VICTIMS		64u
/* Write vector of a checksum store: one entry per gathered object at
 * most, one per whole victim; without checksums: the stage. */
#define WB_MAX_IOV		(WB_MAX_OBJS + WB_MAX_VICTIMS)
/*
 * A victim with at most 1/8 of its used bytes dead is written whole,
 * [0, used) in one iovec, dead objects included: no header walk before the
 * write (the walk that re-points its slots comes after, on headers the
 * write just brought into cache). Costs at most 1/8 more disk bytes for
 * it; written bytes still free as much pool (the whole segment). Sparser
 * victims have only their live objects gathered.
 */
#define WB_WHOLE_DEAD_FRAC	8u
/*
 * Low watermark of pressure writeback, percent of pool_max. Writing back
 * to 90% (not to just under the cap) gives each pressure episode a
 * batch of >= 10% of the cap, written in large I/O, and leaves stores
 * that much room before the next one; much lower would push to disk data
 * the operator gave memory for (a disk load costs ~10-100x a pool load).
 */
#define WB_LOW_WATERMARK_PCT	90
/* ... and at least this many segments below the cap: see low_watermark(). */
#define WB_LOW_WATERMARK_SEGS	3
/*
 * A store that hits the cap writes back at most this much before retrying
 * (8 x 1 MiB writes): bounds one store's latency; vswap_reclaim() (the
 * caller's worker) goes all the way to the low watermark.
 */
#define WB_SYNC_MAX_FREED	(UINT64_C(8) << 20)
/*
 * A full disk tier is retried from the store path at most this often, so
 * space freed outside our file is found without a caller's writeback.
 */
#define WB_FULL_RETRY_NS	UINT64_C(1000000000)
/*
 * Pressure writebacks a store tries before NOSPACE: one is enough when it
 * writes back itself; a store that waited for someone else's batch may
 * find the room taken by other stores and try again.
 */
#define WB_STORE_TRIES		4

struct wb_obj {
	uint64_t slot;
	uint64_t handle;	/* pool handle at copy time */
	uint64_t doff;		/* disk offset of the copy */
	uint32_t len;		/* payload length */
	uint32_t vi;		/* index of its victim in the batch */
};

/* Deferred sums of a batch's re-points (writeback.c). */
struct wb_acc {
	int64_t comp, raw, payload, objb;
	uint64_t freed[WB_MAX_VICTIMS];	/* live bytes moved, per victim */
};

/* A victim of the current batch. */
struct wb_victim {
	struct vswap_segment *seg;
	uint64_t doff;		/* disk offset of its first byte written */
	bool whole;		/* written as [0, used), dead objects too */
};

struct vswap_wb {
	pthread_mutex_t lock;
	/*
	 * gen counts batches done and releases of lock (under gen_lock,
	 * signalled on gen_cv): a store at the cap that finds a writeback
	 * running waits for its next batch, not for the whole run.
	 */
	pthread_mutex_t gen_lock;
	pthread_cond_t gen_cv;
	uint64_t gen;
	struct wb_obj *objs;	/* WB_MAX_OBJS */
	struct iovec *iov;	/* WB_MAX_IOV (1 without checksums) */
	/* Without checksums: the batch's disk objects (built header,
	 * payload, zero padding), TIER_CHUNK_SIZE bytes; NULL with. */
	unsigned char *stage;
	struct wb_victim victims[WB_MAX_VICTIMS];
	struct vswap_segment *segs[WB_MAX_VICTIMS];	/* put back at once */
	struct wb_acc acc;	/* writeback.c: the batch's deferred sums */
	/*
	 * [atomic] While the tier is full, the earliest CLOCK_MONOTONIC ns
	 * at which one store may try the disk again (0 = at once): space can come back
	 * outside our file (another file deleted), which frees no chunk of
	 * ours and so would never clear tier.full by itself.
	 */
	uint64_t full_retry_ns;
};

struct vswap_store;
struct vswap_ctx;

int wb_init(struct vswap_wb *wb);
void wb_fini(struct vswap_wb *wb);

/*
 * The store path hit NOSPACE: if a disk tier can take data, write back
 * (bounded, WB_SYNC_MAX_FREED) toward the low watermark. True if retrying
 * the allocation may now succeed. Caller holds @c and no slot lock.
 */
bool wb_pressure(struct vswap_store *s, struct vswap_ctx *c);
/*
 * Would wb_pressure() try to write anything back now (a disk tier, not
 * known full, a cap to get under)? No side effects, never blocks: what a
 * VSWAP_NOWAIT store asks before answering VSWAP_E_WOULDBLOCK.
 */
bool wb_pressure_due(struct vswap_store *s);

#endif /* VSWAP_WRITEBACK_H */
