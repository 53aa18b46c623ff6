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
 *   enum vswap_mempolicy  host NUMA policy of the pool (default, bind...)
 *   struct vswap_migrate_result    what one NUMA migration call did
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
	VSWAP_E_WOULDBLOCK	= -8,	/* VSWAP_NOWAIT: would block on the disk
					 * tier; nothing done, call again without */
	VSWAP_E__COUNT		= 9	/* number of codes, for tables */
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

/*
 * Host NUMA policy of the pool's memory. Same order (and meaning) as
 * QEMU's HostMemPolicy, so the glue can cast.
 */
enum vswap_mempolicy {
	VSWAP_MPOL_DEFAULT = 0,	/* the kernel's default: local to the thread
				 * that first touches a page */
	VSWAP_MPOL_PREFERRED,	/* one node first, others if it is full */
	VSWAP_MPOL_BIND,	/* only these nodes; full -> NOSPACE */
	VSWAP_MPOL_INTERLEAVE,	/* round robin over these nodes, page by page */
	VSWAP_MPOL__COUNT
};

/* A node mask is a uint64_t: bit n = host node n, so nodes 0..63. */
#define VSWAP_MAX_NODES		64

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
	/*
	 * Host NUMA placement of the pool (vswap_store_set_mempolicy() says
	 * what each policy means). Zero-initialised = DEFAULT, as before.
	 */
	enum vswap_mempolicy mpol;
	uint64_t mpol_nodes;		/* bit n = host node n */
};

/* Fill *p with the defaults for a store of @capacity slots. */
void vswap_params_init(struct vswap_params *p, uint64_t capacity);

struct vswap_store;

/*
 * Create a store; on failure returns NULL and sets *err (if non-NULL):
 * INVAL (parameters), NOMEM, or IO (getrandom(2) failed: a store draws
 * secret random keys at creation and does not run without them).
 */
struct vswap_store *vswap_store_create(const struct vswap_params *p, int *err);
/* Free every byte the store holds. NULL is accepted. No call may be running. */
void vswap_store_destroy(struct vswap_store *s);

/*
 * Store one page into @slot, replacing what it held. @page may change
 * while the call runs (guest memory): the slot then holds the page as it
 * was at some moment, or a mix of its states, and always loads back
 * without an error (the page is copied once, and everything else reads
 * the copy).
 * Errors: RANGE, NOSPACE (the slot keeps its previous content), NOMEM.
 */
int vswap_store_page(struct vswap_store *s, uint64_t slot, const void *page);

/*
 * Load the page of @slot into @page (4096 bytes). An empty slot loads zeroes.
 * Errors: RANGE, INTEGRITY, IO, NOMEM.
 */
int vswap_load_page(struct vswap_store *s, uint64_t slot, void *page);

/*
 * Flags of vswap_store_page_flags() and vswap_load_page_flags().
 * VSWAP_NOWAIT: never block on the disk tier, nor wait for a thread that
 * may be in it. A load of a page that is on disk, a store at the pool cap
 * that would have to write back first, a store over a page on disk (its
 * extent may be punched out of the file), a store or load of a slot whose
 * lock is held now (by a load reading the disk, maybe), or any call while
 * every context of the store is held (by disk loads, writeback, an export)
 * returns VSWAP_E_WOULDBLOCK and does nothing (counts nothing): the caller
 * runs the same call again without the flag from a thread that may block.
 * Everything else (compression, pool memory, slot locks taken meanwhile
 * by others for a page copy at most) is done as usual. Lets a caller on
 * an event loop do the common case inline and hand only disk I/O off.
 */
#define VSWAP_NOWAIT		0x1u

/* vswap_store_page() / vswap_load_page() with @flags (VSWAP_NOWAIT);
 * INVAL for an unknown flag. */
int vswap_store_page_flags(struct vswap_store *s, uint64_t slot,
			   const void *page, unsigned flags);
int vswap_load_page_flags(struct vswap_store *s, uint64_t slot, void *page,
			  unsigned flags);

/*
 * Make @count slots from @first empty; their memory is freed at once.
 * Errors: RANGE if [first, first + count) is not inside capacity (nothing is
 * dropped then); count == 0 is a no-op.
 */
int vswap_invalidate(struct vswap_store *s, uint64_t first, uint64_t count);
/*
 * The same with @flags (VSWAP_NOWAIT, libvswap 0.7): WOULDBLOCK at the
 * first slot on the disk tier (dropping its extent may punch a hole in
 * the file) or locked by another thread, or when every context is held;
 * the slots before it are empty then, the caller runs the whole call
 * again without the flag (dropping an empty slot is a no-op). INVAL for
 * an unknown flag.
 */
int vswap_invalidate_flags(struct vswap_store *s, uint64_t first,
			   uint64_t count, unsigned flags);

/*
 * Announce a vswap_reset() that is coming (QEMU's device reset first waits
 * for the requests in flight, which may be long): until that reset, long
 * calls stop early instead of finishing work the reset throws away.
 * vswap_invalidate() drops what it has reached and returns OK (the reset
 * drops the rest), vswap_compact() stops between segments, a store at the
 * cap skips its pressure writeback (NOSPACE), vswap_writeback() and
 * vswap_reclaim() stop at their next batch. Only for a reset that will
 * surely follow: vswap_reset() ends the state. Any thread.
 */
void vswap_reset_begin(struct vswap_store *s);

/*
 * Drop every slot (device reset). Pool memory goes back to the host. Does
 * no file I/O (safe on a thread holding a big lock): a disk tier's chunks
 * are all marked free, the store's object seed is drawn anew, and the
 * file keeps its old bytes and blocks (counted in disk_file_bytes) until
 * vswap_tier_release() runs. Those bytes are never returned: no slot
 * points at them, and under the new seed they do not verify. Waits for at
 * most one writeback batch (vswap_writeback() stops for it).
 */
void vswap_reset(struct vswap_store *s);

/* Change the pool cap at run time (0 = unlimited). */
int vswap_set_pool_max(struct vswap_store *s, uint64_t pool_max);

/*
 * Host memory the store holds now, in bytes: vswap_stats.pool_bytes alone.
 * Cost: one relaxed atomic load, no lock, no allocation (vswap_get_stats
 * fills a struct of over 1 KiB and sums every context's counters). Meant
 * for decisions such as "after vswap_set_pool_max(), is the pool over the
 * new cap?" (then run vswap_reclaim() from a worker). Any thread; 0 for
 * NULL.
 */
uint64_t vswap_pool_bytes(const struct vswap_store *s);

/*
 * Move live objects out of sparsely used pool segments and free the emptied
 * segments; free segments the pool kept resident go back to the host too
 * (docs/libvswap.md, "Huge pages"). Open segments no thread is appending
 * to are closed first, so a store without pages holds no pool memory after
 * it (its slot table stays). Safe to run while traffic continues.
 * Returns bytes freed (>= 0) or an error. Stops early, between two
 * segments, when a whole-store operation waits (vswap_reset(),
 * vswap_store_check()) or a reset is announced (vswap_reset_begin()); call
 * it again to go on.
 */
int64_t vswap_compact(struct vswap_store *s);

/*
 * vswap_compact() without the last step: the free segments kept resident
 * for the next stores stay (within their cap, memsource.h), so the huge
 * pages they sit in are not split. An emptied store still gives every
 * segment back. For a caller's idle timer (QEMU: idle-compact), where the
 * store is likely to be used again; vswap_compact() is for "all memory
 * back, now". Same return values and early stop. (libvswap 0.6)
 */
int64_t vswap_trim(struct vswap_store *s);

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

/*
 * Give back the disk file's space no live object uses, as left by
 * vswap_reset(): truncates a regular file to the chunks in use since the
 * reset; on a block device, zeroes the rest of the range written before
 * (unmapped where the device can write zeroes without writing them,
 * else written: as long as writing that range takes). After vswap_reset()
 * of a store about to go, this wipes what the guest's pages left on the
 * disk. Blocks on file I/O: run it from a worker after a reset. Safe
 * concurrently with stores, loads, invalidates, vswap_writeback() (it
 * waits for a running one, which may already have written new objects at
 * the start of the file: those are never cut) and another reset. Stale
 * bytes in the unwritten tails of chunks reused since the reset stay
 * until those chunks are freed. Errors: INVAL (no disk tier), IO (the
 * truncate or the zeroing failed: the next call tries again).
 */
int vswap_tier_release(struct vswap_store *s);

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
 * Best effort: when vswap_reset() (or vswap_store_check()) is waiting for
 * the store, the run stops at its next batch boundary (a batch is at most
 * 1 MiB written) and returns OK with @res saying what it did, so the reset
 * never waits for a whole run; call it again to go on.
 */
int vswap_writeback(struct vswap_store *s, uint64_t min_age_ns,
		    uint64_t max_bytes, struct vswap_writeback_result *res);

/*
 * Pressure writeback: if pool bytes exceed the low watermark (90% of
 * pool_max), write back the oldest segments until they don't. Stores do
 * this themselves (bounded per store) when they hit the cap; a caller that
 * sees VSWAP_EVENT_PRESSURE may run it from a worker so stores don't have
 * to. Errors as vswap_writeback(); OK when there is nothing to do. Stops
 * early (OK) for a waiting reset, as vswap_writeback() does.
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
 * The counters of a store, defined once. Each X() line below makes a field
 * of struct vswap_stats and, from the same line, QEMU's query-vswap member
 * (qapi/vswap.json VswapStoreStats, written by scripts/gen-counters.py: the
 * member is the name with '-' for '_'), vswapctl's --json key, Prometheus
 * metric and help, and the vswapctl JSON schema entry.
 *
 * VSWAP_STATS_COUNTERS(X): X(name, KIND, UNIT, "help"), one uint64_t each
 *   KIND  CUR    a current amount: goes up and down
 *         TOTAL  only goes up, from the store's creation on
 *         PEAK   high-water mark of a CUR
 *   UNIT  PAGES, BYTES, or COUNT (operations or events)
 *   help  what it counts, lower case, no final period, no unit (the
 *         generators add it); another counter is named by its field name,
 *         which the QAPI doc turns into a @member reference
 * VSWAP_STATS_HISTOGRAMS(X): X(name, "help"), uint64_t name[VSWAP_LAT_BUCKETS]
 *   counting operations per bucket.
 * The order is QEMU's member order (the histograms and QEMU's own members
 * are placed among them by the generator; a new one goes last).
 *
 * Adding a counter (docs/libvswap.md): one X() line here, its value in
 * vswap_get_stats() (src/stats.c), then run scripts/gen-counters.py and
 * regenerate docs/vswapctl-json-schema.json (vswapctl schema); the tests
 * fail while QAPI, vswapctl and the schema disagree with this list.
 * Adding one changes sizeof(struct vswap_stats): see docs/libvswap.md, ABI.
 */
#define VSWAP_STATS_COUNTERS(X)						\
	/* content, current */						\
	X(stored_pages, CUR, PAGES,					\
	  "slots currently holding a page, of every kind")		\
	X(zero_pages, CUR, PAGES,					\
	  "stored pages that are all zero; they take no pool memory")	\
	X(same_pages, CUR, PAGES,					\
	  "stored pages filled with one repeated non-zero value; "	\
	  "they take no pool memory")					\
	X(incompressible_pages, CUR, PAGES,				\
	  "stored pages kept as-is, 4096 bytes each")			\
	X(compressed_pages, CUR, PAGES,					\
	  "stored pages kept compressed")				\
	X(compressed_bytes, CUR, BYTES,					\
	  "payload bytes of all pool objects, including pages kept "	\
	  "as-is")							\
	X(pool_bytes, CUR, BYTES,					\
	  "host memory the store holds, including overhead")		\
	X(pool_bytes_peak, PEAK, BYTES,					\
	  "high-water mark of pool_bytes")				\
	X(meta_bytes, CUR, BYTES,					\
	  "memory of the slot table, per-object headers, arena "	\
	  "descriptors and the same-fill dictionary")			\
	/* operations */						\
	X(stores, TOTAL, COUNT,						\
	  "store operations, refused ones included (store_nospace, "	\
	  "store_nomem)")						\
	X(loads, TOTAL, COUNT,						\
	  "load operations, failed ones included (integrity_errors, "	\
	  "disk_read_errors)")						\
	X(invalidates, TOTAL, COUNT,					\
	  "invalidate operations, each on a range of slots")		\
	X(invalidated_pages, TOTAL, PAGES,				\
	  "slots that held a page when they were dropped")		\
	X(loads_empty, TOTAL, COUNT,					\
	  "loads of slots holding nothing, answered with zeroes")	\
	X(store_nospace, TOTAL, COUNT,					\
	  "stores refused because the pool is full")			\
	X(store_nomem, TOTAL, COUNT,					\
	  "stores that failed to allocate host memory")			\
	X(integrity_errors, TOTAL, COUNT,				\
	  "loads whose checksum did not match")				\
	X(compactions, TOTAL, COUNT,					\
	  "pool segments compacted: live objects moved out, the "	\
	  "segment freed")						\
	X(compacted_bytes, TOTAL, BYTES,				\
	  "live bytes moved by compaction")				\
	/* disk tier (vswap_store_attach_disk) */			\
	X(disk_pages, CUR, PAGES,					\
	  "slots whose page is on the disk tier")			\
	X(disk_bytes, CUR, BYTES,					\
	  "payload bytes of the pages on the disk tier, as stored "	\
	  "(compressed)")						\
	X(disk_file_bytes, CUR, BYTES,					\
	  "blocks the disk tier's file holds; freed space is given "	\
	  "back to the filesystem")					\
	X(writeback_pages, TOTAL, PAGES,				\
	  "pages moved from the pool to the disk tier")			\
	X(writeback_bytes, TOTAL, BYTES,				\
	  "bytes written to the disk tier")				\
	X(writeback_ios, TOTAL, COUNT,					\
	  "write system calls of writeback")				\
	X(writeback_errors, TOTAL, COUNT,				\
	  "writes to the disk tier that failed (disk full, I/O "	\
	  "error); their data stayed in the pool")			\
	X(writeback_freed_bytes, TOTAL, BYTES,				\
	  "pool memory given back to the host by writeback")		\
	X(loads_from_disk, TOTAL, COUNT,				\
	  "loads served from the disk tier")				\
	X(disk_read_errors, TOTAL, COUNT,				\
	  "loads that failed reading the disk tier; they returned an "	\
	  "I/O error")							\
	/* host NUMA placement (docs/numa.md) */			\
	X(segment_bytes, CUR, BYTES,					\
	  "the part of pool_bytes in pool segments, which is what the "	\
	  "NUMA policy places; the rest is metadata")			\
	X(numa_migrated_bytes, TOTAL, BYTES,				\
	  "pool memory moved to the nodes of a new NUMA policy")	\
	X(numa_migrate_failures, TOTAL, PAGES,				\
	  "pages the kernel did not move (busy, target node full); "	\
	  "they keep their data where they are")			\
	X(numa_migrate_pending_bytes, CUR, BYTES,			\
	  "pool memory placed before the last NUMA policy change that "	\
	  "migration has still to examine; 0 when it is done")

#define VSWAP_STATS_HISTOGRAMS(X)					\
	X(load_latency,							\
	  "load latency histogram: element i counts the loads that "	\
	  "took from 2^i to 2^(i+1) nanoseconds")			\
	X(disk_load_latency,						\
	  "the part of load_latency served from the disk tier, same "	\
	  "buckets; load_latency minus this counts the loads from "	\
	  "memory")

/*
 * A snapshot of one store's counters. Read with vswap_get_stats() at any
 * time; each field is read atomically (the set is not one atomic snapshot).
 */
struct vswap_stats {
	/* configuration echo */
	uint64_t capacity;		/* slots */
	uint64_t pool_max;		/* bytes, 0 = unlimited */

#define VSWAP_STATS_FIELD_(name, kind, unit, help)	uint64_t name;
	VSWAP_STATS_COUNTERS(VSWAP_STATS_FIELD_)
#undef VSWAP_STATS_FIELD_
#define VSWAP_STATS_HIST_(name, help)	uint64_t name[VSWAP_LAT_BUCKETS];
	VSWAP_STATS_HISTOGRAMS(VSWAP_STATS_HIST_)
#undef VSWAP_STATS_HIST_

	/*
	 * Host NUMA placement (docs/numa.md). node_bytes is the kernel's view
	 * of where the pool segments' pages are, as of the last
	 * vswap_refresh_nodes() (all zero before the first one); it is not
	 * updated by stores, so it lags by up to the caller's refresh period.
	 */
	uint64_t node_bytes[VSWAP_MAX_NODES];	/* resident pool bytes per node */
	uint64_t nodes_refreshed_ns;	/* CLOCK_MONOTONIC of that refresh,
					 * 0 = never */
	uint32_t mpol;			/* enum vswap_mempolicy in force */
	uint64_t mpol_nodes;		/* its node mask */
};

void vswap_get_stats(const struct vswap_store *s, struct vswap_stats *out);

/*
 * Host NUMA placement of the pool (docs/numa.md). Only pool segments obey
 * the policy (all pool memory comes from one source, memsource.c); the
 * slot table and descriptors stay where the allocator puts them.
 *
 * Policies, for pool memory taken from now on:
 *   DEFAULT     @nodes must be 0. The kernel's default (local to the
 *               thread that faults the page in). Nothing is migrated.
 *   PREFERRED   exactly one node: pages go there while it has free
 *               memory, else to any node (never NOSPACE because of it).
 *   BIND        one or more nodes: pages only there (the kernel fills the
 *               lowest-distance node first). Before a store takes a new
 *               segment the library checks the nodes' free memory (cached
 *               for VSWAP_NUMA_FREE_CACHE_MS) and answers NOSPACE when
 *               it is below a reserve, instead of faulting on a full node
 *               (which would invoke the OOM killer on this process).
 *   INTERLEAVE  one or more nodes: pages round robin over them.
 * A node is valid if the kernel reports it online with memory and this
 * process may allocate there (cpuset): libnuma's numa_all_nodes_ptr and
 * numa_node_size64() > 0.
 */
#define VSWAP_NUMA_FREE_CACHE_MS	10

/* "default", "preferred", "bind", "interleave"; NULL out of range. */
const char *vswap_mempolicy_name(enum vswap_mempolicy pol);
/* Parse a policy name; VSWAP_E_INVAL for an unknown one. */
int vswap_mempolicy_parse(const char *name, enum vswap_mempolicy *out);

/*
 * Check a (policy, node mask) pair against the running host without a
 * store. Returns VSWAP_OK or VSWAP_E_INVAL; on INVAL, @why (if non-NULL,
 * @why_len bytes) receives one sentence for the operator's error message
 * ("host node 3 is not online, has no memory or is not allowed to this
 * process", "policy 'preferred' takes exactly one host node", ...).
 */
int vswap_mempolicy_check(enum vswap_mempolicy pol, uint64_t nodes,
			  char *why, size_t why_len);

/*
 * Change the pool's policy at run time (any thread, traffic continues).
 * New pool memory obeys at once; memory already in the pool stays where
 * it is and is marked for migration: vswap_migrate() moves it.
 * Errors: INVAL (NULL store, or vswap_mempolicy_check() refuses: nothing
 * changes), NOMEM (the kernel refused mbind; the old policy stays).
 */
int vswap_store_set_mempolicy(struct vswap_store *s,
			      enum vswap_mempolicy pol, uint64_t nodes);

/* What one vswap_migrate call did. */
struct vswap_migrate_result {
	uint64_t bytes_moved;		/* pages moved to a policy node */
	uint64_t pages_failed;		/* pages the kernel did not move */
	uint64_t bytes_remaining;	/* segment bytes still to examine */
};

/*
 * A vswap_migrate() call with a @max_bytes examines at most
 * VSWAP_MIGRATE_EXAMINE_FACTOR x @max_bytes of segment memory (rounded up
 * to one query batch, VSWAP_NUMA_QUERY_PAGES pages), moved or not: a
 * query costs about 1/8 of a move, so a step over memory that is already
 * in place takes about as long as a step that moves @max_bytes.
 */
#define VSWAP_MIGRATE_EXAMINE_FACTOR	8

/*
 * Move pool memory placed before the last policy change to where the
 * policy says (move_pages(2)), segment by segment, until @max_bytes were
 * moved, VSWAP_MIGRATE_EXAMINE_FACTOR x @max_bytes were examined (0 = no
 * limit on either) or every segment was examined. Page moves are done
 * by the kernel under the page lock, so stores, loads, invalidates,
 * compaction and writeback continue meanwhile (a page being written just
 * waits for its move). Blocks for the copy: call it from a worker thread,
 * again until bytes_remaining == 0. One migration at a time per store (a
 * second caller waits). A page that fails (target node full, page busy)
 * is counted and skipped, not retried in this pass; it still holds valid
 * data. Under DEFAULT nothing is moved. @res may be NULL.
 * Errors: INVAL (NULL store).
 */
int vswap_migrate(struct vswap_store *s, uint64_t max_bytes,
		  struct vswap_migrate_result *res);

/*
 * Ask the kernel where every page of the pool's segments is (move_pages
 * with no target nodes: a query) and store the result in
 * vswap_stats.node_bytes and nodes_refreshed_ns. Costs one system call
 * per VSWAP_NUMA_QUERY_PAGES pages on the calling thread: 2.6-5 million
 * pages/s measured (test_numa), i.e. 50-100 ms per GiB of pool. Call it on
 * demand from a monitoring query, rate-limited to about once a second,
 * never per store. Runs concurrently with traffic, holding no lock (the
 * counts are a snapshot of a moving pool). Errors: INVAL (NULL store, or
 * the kernel refused the query), NOMEM.
 */
#define VSWAP_NUMA_QUERY_PAGES		512
int vswap_refresh_nodes(struct vswap_store *s);

/*
 * Migration stream (docs/migration.md): the store as logical slot
 * records, so a destination store rebuilds its own pool (and disk tier)
 * from them. The records do not depend on the pool's layout, the host,
 * the disk tier or the store's checksum seed; compressed pages travel
 * compressed, as held (no recompression).
 *
 * Record format (all integers little-endian; a buffer holds whole
 * records back to back):
 *   u32 slot; u8 kind; u8 codec; u16 len; u32 crc; then by kind:
 *     VSWAP_REC_EMPTY  (slot holds nothing)          no body, codec = len = 0
 *     VSWAP_REC_ZERO   (zero-filled page)            no body, codec = len = 0
 *     VSWAP_REC_SAME   (one repeated 64-bit value)   u64 value, len = 0
 *     VSWAP_REC_COMP   (compressed with codec)       len bytes
 *     VSWAP_REC_RAW    (the page as-is)              4096 bytes
 *     VSWAP_REC_RESET  (the source store was reset)  no body, slot = 0
 *   crc is the CRC-32C (Castagnoli, as iSCSI and ext4) of the record's
 *   first 8 bytes followed by its body: a flipped bit in a slot number, a
 *   kind or a fill value is refused as surely as one in a payload.
 *   Version 2 covered the payload only, version 1 with XXH32; their
 *   streams are refused.
 */
#define VSWAP_STREAM_VERSION	3
enum vswap_rec_kind {
	VSWAP_REC_EMPTY = 0,
	VSWAP_REC_ZERO = 1,
	VSWAP_REC_SAME = 2,
	VSWAP_REC_COMP = 3,
	VSWAP_REC_RAW = 4,
	VSWAP_REC_RESET = 5,
};
/* Header: slot, kind, codec, len (what the crc covers first); the crc. */
#define VSWAP_REC_HDR		8u
#define VSWAP_REC_CRC		4u
/* Largest record: header, checksum, a raw page. A buffer given to
 * vswap_export_next() must hold at least one. */
#define VSWAP_REC_MAX		(VSWAP_REC_HDR + VSWAP_REC_CRC + VSWAP_PAGE_SIZE)

struct vswap_export;

/*
 * Start exporting @s: every slot holding a page is pending, and from now
 * on every slot whose content changes (store, invalidate, reset) becomes
 * pending again; moving data (compaction, writeback) does not. One export
 * at a time per store. Traffic continues meanwhile. Cost: one walk of the
 * used slot table entries (O(stored pages)), a block of 128 KiB of
 * bitmap per 2^20 slots that ever change.
 * Errors: INVAL, BUSY (an export is running), NOMEM.
 */
int vswap_export_start(struct vswap_store *s, struct vswap_export **out);

/*
 * Write records of pending slots into @buf (@cap >= VSWAP_REC_MAX bytes),
 * each slot's content as of now, and mark them sent. Returns the bytes
 * written: 0 when nothing is pending. A slot on the disk tier is read (one
 * pread) and checked against its checksum; a pool object is checked when
 * the store keeps checksums. Errors: INVAL; INTEGRITY or IO for a slot
 * whose content cannot be read intact (it stays pending: nothing wrong is
 * ever sent); the export can go on or stop.
 */
int64_t vswap_export_next(struct vswap_export *x, void *buf, size_t cap);

/*
 * Passes over the dirty log that vswap_export_next() completed: each
 * walks from where the last stopped around to it again (or finds nothing
 * pending). After the first, every slot that held a page when the export
 * started has been sent at least once: what is pending since is what
 * changed, the tail. Same thread as vswap_export_next().
 */
uint64_t vswap_export_passes(const struct vswap_export *x);

/* Slots pending now and an estimate of their record bytes. Any thread. */
void vswap_export_pending(struct vswap_export *x, uint64_t *slots,
			  uint64_t *bytes);

/* Stop tracking and free @x (NULL accepted). The store is untouched. */
void vswap_export_stop(struct vswap_export *x);

/*
 * Apply @len bytes of records to @s: each replaces its slot's content as
 * a store would (RESET resets the store and, with a disk tier, gives the
 * file's space back: vswap_tier_release(), best effort). Every record is
 * checked before it is applied: kind, slot < capacity, codec, length,
 * checksum; a page compressed with another codec than the store's is
 * decompressed and stored again. Records before a bad one stay applied.
 * Errors: INVAL (malformed or truncated record, checksum mismatch,
 * unknown codec or kind), RANGE (slot beyond capacity), NOSPACE (pool at
 * its cap and no room on disk), NOMEM, IO; on error *@why (if non-NULL)
 * gets a sentence naming the record (its offset and slot) and the reason.
 */
int vswap_import(struct vswap_store *s, const void *buf, size_t len,
		 char *why, size_t why_len);

/*
 * Bytes of one slot-table entry (8). Each pool object adds a 4-byte header
 * (8 with checksums); meta_bytes in the stats counts everything.
 */
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
