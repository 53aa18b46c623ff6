/* SPDX-License-Identifier: MIT */
/*
 * libvswap: a per-VM store of 4 KiB swap pages, kept compressed in host memory.
 *
 * Map of the types
 *   struct vswap_params   what a store is created from (caller-owned, copied)
 *   struct vswap_store    one VM's store; opaque; all state hangs off it
 *   struct vswap_stats    a snapshot of every counter of one store
 *   enum vswap_err        every error a call can return (stable values)
 *   enum vswap_codec      lz4 (default), zstd, none
 *   struct vswap_writeback_result  what one writeback call did
 *   VSWAP_EVENT_*         conditions the caller polls (vswap_take_events)
 *
 * Contract
 *   - A slot is a number in [0, capacity). It holds one page or nothing.
 *     A slot that holds nothing (never stored, or invalidated) loads as zeroes.
 *   - store/load/invalidate may be called concurrently from any number of
 *     threads. Operations on one slot are atomic with respect to each other:
 *     a load returns the whole old page or the whole new page, never a mix.
 *   - A load returns the page bit-exact or an error (INTEGRITY, IO); never
 *     other data. On error the output buffer's contents are unspecified.
 *   - No call aborts or asserts on bad input: every failure is an error code.
 *   - The library has no global state: two stores share nothing.
 *   - The API uses no QEMU or virtio types; the page size is fixed at 4096.
 */
#ifndef VSWAP_H
#define VSWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSWAP_PAGE_SIZE		4096u
#define VSWAP_MAX_CAPACITY	(UINT64_C(1) << 32)	/* slots */

/* Errors: negative, stable values; 0 is success. */
enum vswap_err {
	VSWAP_OK		=  0,
	VSWAP_E_INVAL		= -1,	/* bad parameter (NULL, bad codec/level...) */
	VSWAP_E_RANGE		= -2,	/* slot or slot range outside capacity */
	VSWAP_E_NOSPACE		= -3,	/* pool at its cap and no room on disk */
	VSWAP_E_NOMEM		= -4,	/* host allocation failed */
	VSWAP_E_INTEGRITY	= -5,	/* checksum mismatch: data not returned */
	VSWAP_E_IO		= -6,	/* disk tier I/O failed */
	VSWAP_E_BUSY		= -7,	/* operation refused in the current state */
	VSWAP_E__COUNT		= 8	/* number of codes, for tables */
};

static inline bool vswap_is_error(int ret) { return ret < 0; }
/* Short stable name of an error code ("nospace"), or "unknown". */
const char *vswap_error_name(int err);
/* One-line human description of an error code. */
const char *vswap_strerror(int err);

enum vswap_codec {
	VSWAP_CODEC_LZ4 = 0,	/* default */
	VSWAP_CODEC_ZSTD,
	VSWAP_CODEC_NONE,
	VSWAP_CODEC__COUNT
};

/* "lz4", "zstd", "none"; NULL for an out-of-range value. */
const char *vswap_codec_name(enum vswap_codec codec);
/* Parse a codec name; returns VSWAP_E_INVAL for an unknown one. */
int vswap_codec_parse(const char *name, enum vswap_codec *out);
/* Valid level range of a codec (0 always means "codec default"). */
void vswap_codec_level_bounds(enum vswap_codec codec, int *min, int *max);

struct vswap_params {
	uint64_t capacity;		/* slots, 1 .. VSWAP_MAX_CAPACITY */
	enum vswap_codec codec;
	int level;			/* 0 = codec default */
	uint64_t pool_max;		/* bytes of pool memory; 0 = unlimited */
	bool checksum;			/* per-object checksum verified on load */
	/*
	 * A page whose compressed size exceeds this many bytes is stored as-is
	 * (4096 bytes, never expanded). 0 = default (3072, i.e. 75%).
	 */
	uint32_t max_compressed;
};

/* Fill *p with the defaults for a store of @capacity slots. */
void vswap_params_init(struct vswap_params *p, uint64_t capacity);

struct vswap_store;

/* Create a store; on failure returns NULL and sets *err (if non-NULL). */
struct vswap_store *vswap_store_create(const struct vswap_params *p, int *err);
/* Free every byte the store holds. NULL is accepted. No call may be running. */
void vswap_store_destroy(struct vswap_store *s);

/*
 * Store one page into @slot, replacing what it held.
 * Errors: RANGE, NOSPACE (the slot keeps its previous content), NOMEM.
 */
int vswap_store_page(struct vswap_store *s, uint64_t slot, const void *page);

/*
 * Load the page of @slot into @page (4096 bytes). An empty slot loads zeroes.
 * Errors: RANGE, INTEGRITY, IO, NOMEM.
 */
int vswap_load_page(struct vswap_store *s, uint64_t slot, void *page);

/*
 * Make @count slots from @first empty; their memory is freed at once.
 * Errors: RANGE if [first, first + count) is not inside capacity (nothing is
 * dropped then); count == 0 is a no-op.
 */
int vswap_invalidate(struct vswap_store *s, uint64_t first, uint64_t count);

/* Drop every slot (device reset). Pool memory goes back to the host. */
void vswap_reset(struct vswap_store *s);

/* Change the pool cap at run time (0 = unlimited). */
int vswap_set_pool_max(struct vswap_store *s, uint64_t pool_max);

/*
 * Move live objects out of sparsely used pool segments and free the emptied
 * segments. Safe to run while traffic continues. Returns bytes freed (>= 0)
 * or an error.
 */
int64_t vswap_compact(struct vswap_store *s);

/*
 * Disk tier (docs/writeback.md). @fd is the caller's, open O_RDWR, without
 * O_APPEND or O_DIRECT, on a regular file or a block device; it must stay
 * open until the store is destroyed (the library never closes it). A
 * regular file is truncated at once: nothing in it is ever read back (the
 * slot table is the only index; no content survives the store). The file
 * grows as writeback needs space, freed chunks are hole-punched and reused;
 * @max_bytes = 0 lets it grow (up to what the capacity can ever need),
 * else caps it (>= 1 MiB; a block device is capped by its size). Once
 * attached, a store at its pool cap writes its oldest data to disk
 * instead of failing with NOSPACE.
 * Errors: INVAL (bad fd/flags/type, max_bytes below 1 MiB), BUSY (a disk is
 * already attached), NOMEM, IO (truncate failed).
 */
int vswap_store_attach_disk(struct vswap_store *s, int fd, uint64_t max_bytes);

/* What one writeback call did. */
struct vswap_writeback_result {
	uint64_t pages;		/* slots moved from the pool to disk */
	uint64_t bytes;		/* bytes written (headers + payloads) */
	uint64_t pool_freed;	/* pool bytes given back to the host */
	uint64_t ios;		/* write system calls */
	uint64_t segments;	/* pool segments written back */
};

/*
 * Proactive writeback: move pool segments whose data is at least
 * @min_age_ns old (segment creation time, CLOCK_MONOTONIC), oldest first,
 * to disk, writing at most @max_bytes (0 = no limit; whole segments only,
 * so a budget below one segment's live data writes nothing). Runs while
 * traffic continues; one writeback at a time per store (a second caller
 * waits). Blocks on file I/O: call it from a worker thread. @res (may be
 * NULL) is filled even on error.
 * Errors: INVAL (no disk tier), NOSPACE (disk full or at max_bytes), IO
 * (a write failed); what was written before the error stays written, and
 * the data of the failed batch stays in memory.
 */
int vswap_writeback(struct vswap_store *s, uint64_t min_age_ns,
		    uint64_t max_bytes, struct vswap_writeback_result *res);

/*
 * Pressure writeback: if pool bytes exceed the low watermark (90% of
 * pool_max), write back the oldest segments until they don't. Stores do
 * this themselves (bounded per store) when they hit the cap; a caller that
 * sees VSWAP_EVENT_PRESSURE may run it from a worker so stores don't have
 * to. Errors as vswap_writeback(); OK when there is nothing to do.
 */
int vswap_reclaim(struct vswap_store *s, struct vswap_writeback_result *res);

/* Conditions worth telling an operator about (bits, sticky until taken). */
#define VSWAP_EVENT_WRITEBACK_ERROR	0x1u	/* a write failed (EIO...) */
#define VSWAP_EVENT_DISK_FULL		0x2u	/* ENOSPC or max_bytes reached */
#define VSWAP_EVENT_READ_ERROR		0x4u	/* a disk read failed */
#define VSWAP_EVENT_PRESSURE		0x8u	/* a store had to write back */
/* Return and clear the events raised since the last call. Any thread. */
unsigned vswap_take_events(struct vswap_store *s);

/* Load-latency histogram: bucket i counts loads taking [2^i, 2^(i+1)) ns. */
#define VSWAP_LAT_BUCKETS	32

/*
 * Counters of one store. "current" values go up and down; "total" values only
 * go up; peaks are high-water marks. Read with vswap_get_stats() at any time;
 * each field is read atomically (the set is not one atomic snapshot).
 */
struct vswap_stats {
	/* configuration echo */
	uint64_t capacity;		/* slots */
	uint64_t pool_max;		/* bytes, 0 = unlimited */

	/* current content */
	uint64_t stored_pages;		/* slots holding a page, all kinds */
	uint64_t zero_pages;		/* all-zero pages (no pool memory) */
	uint64_t same_pages;		/* same-filled, non-zero (no pool memory) */
	uint64_t incompressible_pages;	/* stored as-is (4096 bytes each) */
	uint64_t compressed_pages;	/* stored compressed */
	uint64_t compressed_bytes;	/* payload bytes of pool objects, as-is incl. */
	uint64_t pool_bytes;		/* host memory held: segments + metadata */
	uint64_t pool_bytes_peak;
	uint64_t meta_bytes;		/* slot table + per-object headers */

	/* operation counts (totals) */
	uint64_t stores;
	uint64_t loads;
	uint64_t invalidates;		/* requests */
	uint64_t invalidated_pages;	/* slots that held a page when dropped */
	uint64_t loads_empty;		/* loads of slots holding nothing */
	uint64_t store_nospace;		/* stores refused with NOSPACE */
	uint64_t store_nomem;
	uint64_t integrity_errors;
	uint64_t compactions;		/* segments compacted */
	uint64_t compacted_bytes;	/* live bytes moved by compaction */

	uint64_t load_lat_hist[VSWAP_LAT_BUCKETS];	/* every load */

	/* disk tier (vswap_store_attach_disk), current content */
	uint64_t disk_pages;		/* slots whose page is on disk */
	uint64_t disk_bytes;		/* payload bytes on disk (compressed) */
	uint64_t disk_file_bytes;	/* file blocks allocated (st_blocks) */
	/* disk tier totals */
	uint64_t writeback_pages;	/* slots moved to disk */
	uint64_t writeback_bytes;	/* bytes written (objects as stored) */
	uint64_t writeback_ios;		/* write system calls */
	uint64_t writeback_errors;	/* failed writes (ENOSPC, EIO): the
					 * data stayed in memory */
	uint64_t writeback_freed_bytes;	/* pool bytes freed by writeback */
	uint64_t loads_from_disk;
	uint64_t disk_read_errors;	/* loads that failed with IO */
	/* loads served from disk; load_lat_hist minus this = from memory */
	uint64_t disk_load_lat_hist[VSWAP_LAT_BUCKETS];
};

void vswap_get_stats(const struct vswap_store *s, struct vswap_stats *out);

/* Bytes of slot-table metadata per stored slot (a compile-time constant). */
size_t vswap_slot_meta_bytes(void);

/*
 * Debug/test aid (addition): check every internal invariant of the store
 * (slot entries vs pool object headers, per-segment live bytes, garbage and
 * counter sums). Briefly stops all other calls on the store; O(stored
 * pages + pool bytes). Returns VSWAP_OK, or VSWAP_E_INTEGRITY if an
 * invariant is broken, VSWAP_E_INVAL for NULL.
 */
int vswap_store_check(struct vswap_store *s);

#ifdef __cplusplus
}
#endif

#endif /* VSWAP_H */
