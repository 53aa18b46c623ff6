/* SPDX-License-Identifier: MIT */
/*
 * tier.h - the disk tier of a store: an extent allocator over a file the
 * caller hands in, and the only place that does file I/O.
 *
 * The file is cut into chunks of TIER_CHUNK_SIZE bytes (chunk i at byte
 * offset i << TIER_CHUNK_SHIFT). Writeback (writeback.c) appends packed
 * objects to the open "disk head" chunk, front to back; a slot on disk
 * names the byte offset / 8 of its object's header (slot_table.h), and its
 * length. An object on disk ALWAYS has the 8-byte header of a checksum
 * store (pool.h: u32 slot, inverted; u32 CRC-32C of the payload seeded with
 * the store's obj_seed, store.h, so it verifies in no other store), then the
 * payload as stored (compressed, never decompressed), padded to 8: its
 * extent is tier_obj_size(len) bytes whatever the store's checksum
 * setting. A checksum store's objects go out exactly as they are in the
 * pool; a store without checksums (4-byte pool headers) gets the header
 * built, and the payload hashed, at writeback time. Why: pool memory
 * without checksums is the operator's choice (ECC memory, 4 bytes less
 * metadata per slot), but a file can rot or take stray writes, and a page
 * comes back bit-exact or the load fails, so a load from disk always
 * verifies slot and checksum (INTEGRITY otherwise). CRC-32C catches
 * accidents, not a writer who recomputes it: file permissions keep those
 * out (docs/security.md).
 * The checksum lives only on disk: the slot entry does not change. The
 * length is only in the entry, so the file is not walkable on its own
 * (nothing walks it: the slot table is the index). Freed
 * objects leave holes; a chunk whose live bytes reach 0 is given back: its
 * file range is punched (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, so the
 * file system frees the blocks) and the chunk goes on the free list, to be
 * reused before the file grows. Nothing on disk is persistent: the slot
 * table is the only index, and attaching truncates a regular file, so a
 * store never reads what an earlier store or boot left there.
 *
 * Chunk lv word (atomic), same scheme as a pool segment's (pool.h):
 *   TCH_SEALED | live bytes, live = sum of tier_obj_size() of the objects
 *   on it
 *   that a slot points at or that a writeback in flight has not settled yet.
 * Who frees an emptied chunk (exactly one party, by the atomic RMW that sees
 * live reach 0): tier_free() if its fetch_sub saw SEALED; tier_seal_head() if
 * its fetch_or(SEALED) saw live 0. The open head is never freed.
 *
 * Fields (owner in brackets):
 *   fd          [immutable once attached; -1 = no disk tier] caller's fd
 *   is_reg      [immutable] fd is a regular file (truncate, st_blocks)
 *   max_chunks  [immutable] chunk ids are < max_chunks
 *   lock        free list, nchunks, dir growth, nfree, stale_chunks
 *   stale_chunks [lock] chunks the file had before the last reset(s): the
 *               range [nchunks, stale_chunks) may still hold stale (old
 *               seed, unverifiable) bytes and blocks until tier_release
 *   dir         blocks of TIER_DIR_ENTRIES descriptors, entries atomic,
 *               installed under lock, never moved until fini
 *   head, head_used [writeback lock holder (writeback.h)] the open chunk
 *   full        [atomic] the last write hit ENOSPC or max_chunks: pressure
 *               writeback is not retried until a chunk is freed, a write
 *               succeeds, or once per WB_FULL_RETRY_NS (writeback.h)
 *   events      [atomic] VSWAP_EVENT_* bits not yet taken by the caller
 *   wb_*        [atomic] writeback totals (vswap_stats)
 *
 * Invariants (quiesced; checked by tier_is_valid):
 *   every chunk id < nchunks is FREE (on the free list, lv == 0), HEAD
 *   (== head), or SEALED (lv has TCH_SEALED, live > 0);
 *   nfree == length of the free list; live of each chunk == sum of
 *   tier_obj_size() of the slot entries on it;
 *   head_used <= TIER_CHUNK_SIZE.
 *
 * Lock order: ... slot lock > pool->lock > tier->lock > ms->lock. The punch
 * of a freed chunk runs outside tier->lock (it may be under a slot lock).
 */
#ifndef VSWAP_TIER_H
#define VSWAP_TIER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vswap.h"

/*
 * 1 MiB chunks: one writeback batch is at most one chunk and is written
 * with one pwritev, so I/O is large and sequential (8 full pool segments);
 * space comes back in 1 MiB units, which age-coherent writeback makes
 * likely to empty together (objects written together were stored together).
 */
#define TIER_CHUNK_SHIFT	20
#define TIER_CHUNK_SIZE		(UINT32_C(1) << TIER_CHUNK_SHIFT)
/* Descriptor blocks of 1024 chunks (1 GiB of file each, 24 KiB). */
#define TIER_DIR_SHIFT		10
#define TIER_DIR_ENTRIES	(1u << TIER_DIR_SHIFT)

/*
 * Header bytes of an object on disk, in every store: slot + CRC-32C of the
 * payload, the checksum store's format (OBJ_HDR_CSUM, pool.h; tier.c
 * asserts they agree).
 */
#define TIER_OBJ_HDR		8u

/* Extent of an object of @len payload bytes on disk: header + payload,
 * padded to 8. */
static inline uint32_t tier_obj_size(uint32_t len)
{
	return (TIER_OBJ_HDR + len + 7u) & ~7u;
}

#define TIER_NONE		UINT32_MAX
#define TCH_SEALED		(UINT64_C(1) << 63)
#define TCH_LIVE_MASK		UINT64_C(0xffffffff)

enum tier_chunk_state { TCH_FREE = 0, TCH_HEAD, TCH_SEALED_STATE };

struct tier_chunk {
	uint64_t lv;		/* atomic: TCH_SEALED | live bytes */
	uint32_t state;		/* tier lock (head: writeback lock) */
	uint32_t next_free;	/* tier lock, while FREE */
};

struct vswap_tier {
	int fd;
	bool is_reg;
	uint64_t max_chunks;
	pthread_mutex_t lock;
	struct tier_chunk **dir;
	uint64_t ndir;
	uint32_t nchunks;
	uint32_t stale_chunks;
	uint32_t free_head;
	uint32_t nfree;
	uint32_t head;
	uint32_t head_used;
	bool full;
	unsigned events;
	uint64_t wb_pages, wb_bytes, wb_ios, wb_errors, wb_freed;
};

void tier_init(struct vswap_tier *t);
void tier_fini(struct vswap_tier *t);
/*
 * Take @fd as the disk tier (store quiesced). @max_bytes: 0 = the file
 * grows as needed (up to what the capacity can ever need), else at most
 * this many bytes of file, rounded down to chunks (>= one chunk).
 * Errors: INVAL (bad fd, O_DIRECT, read-only, max below one chunk), BUSY
 * (already attached), NOMEM, IO (truncate failed).
 */
int tier_attach(struct vswap_tier *t, int fd, uint64_t max_bytes,
		uint64_t capacity);

static inline bool tier_attached(const struct vswap_tier *t)
{
	return __atomic_load_n(&t->fd, __ATOMIC_ACQUIRE) >= 0;
}

static inline struct tier_chunk *tier_chunk(struct vswap_tier *t, uint32_t id)
{
	struct tier_chunk *blk = __atomic_load_n(&t->dir[id >> TIER_DIR_SHIFT],
						 __ATOMIC_ACQUIRE);

	return &blk[id & (TIER_DIR_ENTRIES - 1)];
}

/* Bytes left in the open chunk (0 if none). Writeback lock held. */
static inline uint32_t tier_head_room(const struct vswap_tier *t)
{
	return t->head == TIER_NONE ? 0 : TIER_CHUNK_SIZE - t->head_used;
}

/* Seal the open chunk (if any); frees it if nothing on it is live. */
void tier_seal_head(struct vswap_tier *t);
/*
 * Open a fresh chunk as the head (the old one must be sealed). Errors:
 * NOSPACE (max_chunks reached; sets full), NOMEM. Writeback lock held.
 */
int tier_open_head(struct vswap_tier *t);
/*
 * Claim @len bytes (<= tier_head_room) at the head; they count live at
 * once and must each be settled by tier_free() or a slot pointing at them.
 */
uint64_t tier_claim(struct vswap_tier *t, uint32_t len);
/* Drop @len live bytes at file offset @off (an object, or a failed batch). */
void tier_free(struct vswap_tier *t, uint64_t off, uint32_t len);

/*
 * Write all of @iov (@n entries, @len bytes) at @off: pwritev of up to
 * TIER_IOV_MAX entries per call, looping on short writes; *ios counts the
 * calls. OK, NOSPACE (ENOSPC, EDQUOT, EFBIG), IO.
 */
int tier_write(struct vswap_tier *t, const struct iovec *iov, int n,
	       uint64_t off, uint64_t len, uint64_t *ios);
/*
 * Wait until @len bytes at @off written by tier_write() are on the device
 * (written out of the page cache; no cache flush: the tier needs no
 * durability across a restart): a write error the kernel meets after
 * pwritev returned (a failing disk, a thin pool or NFS server out of
 * space) is reported here, while the pool still holds the data.
 * Errors: as tier_write.
 */
int tier_sync(struct vswap_tier *t, uint64_t off, uint64_t len);
/* IOV_MAX on Linux: entries pwritev takes at once. */
#define TIER_IOV_MAX	1024
/* Read exactly @len bytes at @off. OK or IO (error or short read). */
int tier_read(struct vswap_tier *t, uint64_t off, void *buf, uint32_t len);

/* Bytes of file the file system has allocated (st_blocks), 0 if unknown. */
uint64_t tier_file_bytes(struct vswap_tier *t);
/*
 * Store quiesced, no slot on disk: forget every chunk (all free, the next
 * writeback starts at offset 0). No file I/O: the file keeps its bytes
 * and blocks until tier_release().
 */
void tier_reset(struct vswap_tier *t);
/*
 * Give the file space no chunk uses back: truncate a regular file to
 * nchunks chunks (zero [nchunks, stale_chunks) of a block device:
 * punched, else written). The caller holds the writeback lock, so no chunk
 * is opened meanwhile and nchunks cannot grow; a concurrent reset only
 * lowers it. File I/O: a worker thread. OK or IO (the truncate or the
 * zeroing failed: the range stays stale, for the next release).
 */
int tier_release(struct vswap_tier *t);

static inline void tier_event(struct vswap_tier *t, unsigned ev)
{
	__atomic_fetch_or(&t->events, ev, __ATOMIC_RELAXED);
}

/*
 * Debug: check the invariants above, given @live[i] = sum of
 * tier_obj_size() of the slot entries on chunk i (i < nchunks). Quiesced
 * store only.
 */
bool tier_is_valid(struct vswap_tier *t, const uint64_t *live);

#endif /* VSWAP_TIER_H */
