// SPDX-License-Identifier: MIT
/*
 * tier.c - disk chunks of the backing file: allocation, freeing with hole
 * punching, and the pwritev/pread calls. See tier.h for the layout (every
 * object on disk: 8-byte header with checksum, tier_obj_size() bytes), the
 * lv word, who frees an emptied chunk, and the invariants.
 *
 * Lock: tier->lock protects the free list, nchunks, nfree, dir growth and
 * chunk states; it is taken under a slot lock (tier_free from invalidate)
 * and never around I/O. fallocate(PUNCH_HOLE) of a freed chunk runs before
 * the chunk goes on the free list, so a chunk being punched is owned by the
 * party that freed it and nobody can write it meanwhile. tier_reset does
 * no I/O at all; the space a reset leaves behind is given back by
 * tier_release, under the writeback lock (not tier->lock) from a worker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool.h"
#include "tier.h"

_Static_assert(TIER_OBJ_HDR == OBJ_HDR_CSUM,
	       "a disk object's header is the checksum store's (tier.h)");

/*
 * The kernel reads the pool objects a pwritev writes while another thread
 * may write the dead tag into one of their headers (atomically): the copy
 * has it or not, and nothing reads that copy from disk (writeback.h). That
 * is a race only for ThreadSanitizer, which sees pwritev's read as a plain
 * one; tell it to look away for that call (its dynamic annotations).
 */
#if defined(__SANITIZE_THREAD__)
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define TSAN_IGNORE_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define TSAN_IGNORE_READS_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define TSAN_IGNORE_READS_BEGIN() do { } while (0)
#define TSAN_IGNORE_READS_END() do { } while (0)
#endif

void tier_init(struct vswap_tier *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->head = TIER_NONE;
	t->free_head = TIER_NONE;
}

void tier_fini(struct vswap_tier *t)
{
	if (t->dir) {
		for (uint64_t i = 0; i < t->ndir; i++)
			free(t->dir[i]);
		free(t->dir);
		pthread_mutex_destroy(&t->lock);
	}
	t->dir = NULL;
	t->fd = -1;
}

int tier_attach(struct vswap_tier *t, int fd, uint64_t max_bytes,
		uint64_t capacity)
{
	uint64_t need, max_chunks;
	struct stat stb;
	int fl;

	if (tier_attached(t))
		return VSWAP_E_BUSY;
	if (fd < 0 || (max_bytes && max_bytes < TIER_CHUNK_SIZE))
		return VSWAP_E_INVAL;
	fl = fcntl(fd, F_GETFL);
	/* pwrite on an O_APPEND fd appends (Linux); O_DIRECT would need
	 * aligned buffers, offsets and lengths for every object read. */
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || (fl & O_APPEND) ||
	    (fl & O_DIRECT) || fstat(fd, &stb))
		return VSWAP_E_INVAL;
	if (!S_ISREG(stb.st_mode) && !S_ISBLK(stb.st_mode))
		return VSWAP_E_INVAL;
	/* Worst case the capacity can need: every slot an as-is page, with
	 * each chunk half full of holes. Bounds the descriptor directory. */
	need = (capacity * tier_obj_size(VSWAP_PAGE_SIZE) * 2 >>
		TIER_CHUNK_SHIFT) + 2;
	max_chunks = max_bytes ? max_bytes >> TIER_CHUNK_SHIFT : need;
	if (max_chunks > need)
		max_chunks = need;
	if (S_ISBLK(stb.st_mode)) {
		/* A device does not grow: its size is a hard limit. */
		uint64_t dev = 0;

		if (ioctl(fd, BLKGETSIZE64, &dev) ||
		    (dev >> TIER_CHUNK_SHIFT) == 0)
			return VSWAP_E_INVAL;
		if (max_chunks > dev >> TIER_CHUNK_SHIFT)
			max_chunks = dev >> TIER_CHUNK_SHIFT;
	}
	if (max_chunks >= TIER_NONE)
		max_chunks = TIER_NONE - 1;
	/* A slot entry holds offset / 8 in SLOT_LOC_BITS: 2^50 bytes of file
	 * (need above stays below 2^46; this only states the bound). */
	if (max_chunks > UINT64_C(1) << (SLOT_LOC_BITS + 3 - TIER_CHUNK_SHIFT))
		max_chunks = UINT64_C(1) << (SLOT_LOC_BITS + 3 -
					     TIER_CHUNK_SHIFT);
	t->ndir = (max_chunks + TIER_DIR_ENTRIES - 1) >> TIER_DIR_SHIFT;
	t->dir = calloc(t->ndir, sizeof(*t->dir));
	if (!t->dir)
		return VSWAP_E_NOMEM;
	if (pthread_mutex_init(&t->lock, NULL)) {
		free(t->dir);
		t->dir = NULL;
		return VSWAP_E_NOMEM;
	}
	/* Nothing already in the file is ever read (the slot table is the
	 * only index); dropping it also returns its blocks. */
	if (S_ISREG(stb.st_mode) && ftruncate(fd, 0)) {
		tier_fini(t);
		return VSWAP_E_IO;
	}
	t->is_reg = S_ISREG(stb.st_mode);
	t->max_chunks = max_chunks;
	__atomic_store_n(&t->fd, fd, __ATOMIC_RELEASE);
	return VSWAP_OK;
}

/*
 * Zero [off, off + len) of a block device: unmapped where the device can
 * write zeroes without writing them (PUNCH_HOLE), else written (ZERO_RANGE,
 * as long as the range takes to write). Not a discard: many devices read
 * a discarded range back as its old data. False on an I/O error.
 */
static bool zero_device(struct vswap_tier *t, uint64_t off, uint64_t len)
{
	return !fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)off, (off_t)len) ||
	       !fallocate(t->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			  (off_t)off, (off_t)len);
}

/* Give chunk @id back: punch its blocks, then put it on the free list. */
static void release(struct vswap_tier *t, uint32_t id)
{
	struct tier_chunk *c = tier_chunk(t, id);

	/* Best effort and cheap (under a slot lock): a file system or device
	 * that cannot punch keeps the blocks; the chunk is reused all the
	 * same, and tier_release() zeroes a device's range for good. */
	(void)fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)id << TIER_CHUNK_SHIFT, TIER_CHUNK_SIZE);
	pthread_mutex_lock(&t->lock);
	__atomic_store_n(&c->lv, 0, __ATOMIC_RELAXED);
	c->state = TCH_FREE;
	c->next_free = t->free_head;
	t->free_head = id;
	t->nfree++;
	__atomic_store_n(&t->full, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
}

void tier_seal_head(struct vswap_tier *t)
{
	uint32_t id = t->head;
	struct tier_chunk *c;
	uint64_t old;

	if (id == TIER_NONE)
		return;
	c = tier_chunk(t, id);
	t->head = TIER_NONE;
	t->head_used = 0;
	pthread_mutex_lock(&t->lock);
	c->state = TCH_SEALED_STATE;
	pthread_mutex_unlock(&t->lock);
	old = __atomic_fetch_or(&c->lv, TCH_SEALED, __ATOMIC_ACQ_REL);
	if (!(old & TCH_LIVE_MASK))
		release(t, id);
}

int tier_open_head(struct vswap_tier *t)
{
	struct tier_chunk *c;
	uint32_t id;

	pthread_mutex_lock(&t->lock);
	if (t->free_head != TIER_NONE) {
		id = t->free_head;
		c = tier_chunk(t, id);
		t->free_head = c->next_free;
		t->nfree--;
	} else if (t->nchunks < t->max_chunks) {
		id = t->nchunks;
		if (!t->dir[id >> TIER_DIR_SHIFT]) {
			struct tier_chunk *blk = calloc(TIER_DIR_ENTRIES,
							sizeof(*blk));

			if (!blk) {
				pthread_mutex_unlock(&t->lock);
				return VSWAP_E_NOMEM;
			}
			__atomic_store_n(&t->dir[id >> TIER_DIR_SHIFT], blk,
					 __ATOMIC_RELEASE);
		}
		t->nchunks++;
		c = tier_chunk(t, id);
	} else {
		__atomic_store_n(&t->full, true, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&t->lock);
		tier_event(t, VSWAP_EVENT_DISK_FULL);
		return VSWAP_E_NOSPACE;
	}
	c->state = TCH_HEAD;
	c->next_free = TIER_NONE;
	__atomic_store_n(&c->lv, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
	t->head = id;
	t->head_used = 0;
	return VSWAP_OK;
}

uint64_t tier_claim(struct vswap_tier *t, uint32_t len)
{
	uint64_t off = ((uint64_t)t->head << TIER_CHUNK_SHIFT) + t->head_used;

	t->head_used += len;
	__atomic_fetch_add(&tier_chunk(t, t->head)->lv, len, __ATOMIC_RELAXED);
	return off;
}

void tier_free(struct vswap_tier *t, uint64_t off, uint32_t len)
{
	uint32_t id = (uint32_t)(off >> TIER_CHUNK_SHIFT);
	uint64_t old = __atomic_fetch_sub(&tier_chunk(t, id)->lv, len,
					  __ATOMIC_ACQ_REL);

	if ((old & TCH_SEALED) && (old & TCH_LIVE_MASK) == len)
		release(t, id);
}

static int io_error(int err)
{
	return (err == ENOSPC || err == EDQUOT || err == EFBIG) ?
	       VSWAP_E_NOSPACE : VSWAP_E_IO;
}

int tier_write(struct vswap_tier *t, const struct iovec *iov, int n,
	       uint64_t off, uint64_t len, uint64_t *ios)
{
	uint64_t done = 0;
	int i = 0;
	size_t skip = 0;	/* bytes of iov[i] already written */

	while (done < len) {
		struct iovec v[1];
		ssize_t r;

		/* Rebuild the remaining vector after a short write (rare). */
		TSAN_IGNORE_READS_BEGIN();
		if (skip == 0) {
			r = pwritev(t->fd, iov + i,
				    n - i > TIER_IOV_MAX ? TIER_IOV_MAX : n - i,
				    (off_t)(off + done));
		} else {
			v[0].iov_base = (char *)iov[i].iov_base + skip;
			v[0].iov_len = iov[i].iov_len - skip;
			r = pwritev(t->fd, v, 1, (off_t)(off + done));
		}
		TSAN_IGNORE_READS_END();
		(*ios)++;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return io_error(errno);
		if (r == 0)
			return VSWAP_E_IO;
		done += (uint64_t)r;
		/* Advance (i, skip) by r bytes. */
		while (r > 0 && i < n) {
			size_t left = iov[i].iov_len - skip;

			if ((size_t)r < left) {
				skip += (size_t)r;
				r = 0;
			} else {
				r -= (ssize_t)left;
				i++;
				skip = 0;
			}
		}
	}
	return VSWAP_OK;
}

int tier_sync(struct vswap_tier *t, uint64_t off, uint64_t len)
{
	int r;

	do {
		r = sync_file_range(t->fd, (off_t)off, (off_t)len,
				    SYNC_FILE_RANGE_WAIT_BEFORE |
				    SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return VSWAP_OK;
	/* Not a file or block device range it can wait on (a character
	 * device, a pipe): the write call's answer is all there is. */
	if (errno == ESPIPE)
		return VSWAP_OK;
	return io_error(errno);
}

int tier_read(struct vswap_tier *t, uint64_t off, void *buf, uint32_t len)
{
	uint32_t done = 0;

	while (done < len) {
		ssize_t r = pread(t->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VSWAP_E_IO;	/* error, or EOF: truncated */
		done += (uint32_t)r;
	}
	return VSWAP_OK;
}

uint64_t tier_file_bytes(struct vswap_tier *t)
{
	struct stat stb;
	int fd = __atomic_load_n(&t->fd, __ATOMIC_ACQUIRE);

	if (fd < 0 || !t->is_reg || fstat(fd, &stb))
		return 0;
	return (uint64_t)stb.st_blocks * 512;
}

void tier_reset(struct vswap_tier *t)
{
	if (!tier_attached(t))
		return;
	/* Not tier_seal_head(): that may punch the chunk (file I/O). The
	 * head is ours (quiesced: no writeback runs) and is forgotten with
	 * the rest. */
	t->head = TIER_NONE;
	t->head_used = 0;
	pthread_mutex_lock(&t->lock);
	for (uint64_t i = 0; i < t->ndir; i++) {
		free(t->dir[i]);
		t->dir[i] = NULL;
	}
	if (t->nchunks > t->stale_chunks)
		t->stale_chunks = t->nchunks;
	t->nchunks = 0;
	t->nfree = 0;
	t->free_head = TIER_NONE;
	__atomic_store_n(&t->full, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
}

int tier_release(struct vswap_tier *t)
{
	uint64_t end, stale;
	struct stat stb;
	int r = VSWAP_OK;

	pthread_mutex_lock(&t->lock);
	end = (uint64_t)t->nchunks << TIER_CHUNK_SHIFT;
	stale = (uint64_t)t->stale_chunks << TIER_CHUNK_SHIFT;
	pthread_mutex_unlock(&t->lock);
	/*
	 * Outside tier->lock (a truncate of a large file takes a while, and
	 * tier->lock is taken under slot locks): the writeback lock keeps
	 * nchunks from growing, so no object is, or will be while we run,
	 * at or beyond @end. A reset meanwhile only lowers nchunks: then
	 * some stale bytes below @end stay, for the next release.
	 */
	if (t->is_reg) {
		if (fstat(t->fd, &stb))
			r = VSWAP_E_IO;
		else if ((uint64_t)stb.st_size > end && ftruncate(t->fd,
								  (off_t)end))
			r = VSWAP_E_IO;
	} else if (stale > end && !zero_device(t, end, stale - end)) {
		/* A device keeps its size: its stale bytes (which never
		 * verify: old seed) stay until a release succeeds. */
		r = VSWAP_E_IO;
	}
	if (!r) {
		/* [end, stale) is clean. A reset since we read nchunks
		 * (<= end then) raised stale_chunks to it: kept. */
		pthread_mutex_lock(&t->lock);
		if (t->stale_chunks > end >> TIER_CHUNK_SHIFT)
			t->stale_chunks = (uint32_t)(end >> TIER_CHUNK_SHIFT);
		pthread_mutex_unlock(&t->lock);
	}
	return r;
}

bool tier_is_valid(struct vswap_tier *t, const uint64_t *live)
{
	uint32_t nfree = 0;

	if (!tier_attached(t))
		return true;
	for (uint32_t id = t->free_head; id != TIER_NONE;
	     id = tier_chunk(t, id)->next_free) {
		if (id >= t->nchunks || tier_chunk(t, id)->state != TCH_FREE ||
		    ++nfree > t->nchunks)
			return false;
	}
	if (nfree != t->nfree || t->head_used > TIER_CHUNK_SIZE)
		return false;
	for (uint32_t id = 0; id < t->nchunks; id++) {
		struct tier_chunk *c = tier_chunk(t, id);
		uint64_t lv = __atomic_load_n(&c->lv, __ATOMIC_RELAXED);

		if ((lv & TCH_LIVE_MASK) != live[id])
			return false;
		switch (c->state) {
		case TCH_FREE:
			if (lv)
				return false;
			break;
		case TCH_HEAD:
			if (id != t->head || (lv & TCH_SEALED))
				return false;
			break;
		case TCH_SEALED_STATE:
			if (!(lv & TCH_SEALED) || !live[id])
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}
