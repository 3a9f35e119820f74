/* overlay.h -- records held in memory from their commit until a sweep writes them to their
 * tree: the accounts and references written at checkpoints instead of at every commit
 * (docs/DECISIONS.md, twenty-third to twenty-fifth parts); the store keeps the journal that
 * makes them durable (store_defer_state).
 *
 * Versions. The writer publishes a commit's records under the id LMDB gives the commit's
 * transaction (mdb_txn_id: each write transaction's is larger than the last), before LMDB
 * commits it, and withdraws them if the commit fails. A reader whose snapshot is transaction R
 * sees, for a key, the newest version tagged at most R; when there is none, the tree as of R is
 * right for it.
 *
 * Readers register before they begin their LMDB read transaction (overlay_reader_begin), so
 * that no version they may need is dropped between the two, and get copies of values, so that
 * nothing they hold is freed under them. The writer reads in place.
 *
 * The sweep. overlay_sweep_next hands the writer the dirty records in key order (LMDB's
 * default order, table by table): those made dirty since the last sweep started, listed as
 * they became so, the list taken whole and sorted on a thread of its own. The writer puts
 * them in its transaction, and once that commits, overlay_sweep_written marks them written. When a sweep has written every record
 * dirty at its start, the journal up to its start is no longer needed (overlay_sweep_covered).
 * A record is forgotten once it is written and every registered reader would find it in the
 * tree.
 *
 * Threads: the writer alone publishes, withdraws, sweeps and cleans up; readers may be on any
 * thread; a new sweep's records are sorted on a thread of its own. One mutex guards what
 * readers look at, never held across I/O. Out of memory, a call reports FL_ERR_INTERNAL and
 * changes nothing; none aborts.
 */
#ifndef FAMLEDGER_OVERLAY_H
#define FAMLEDGER_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVERLAY_TABLES_MAX 8

struct overlay;

/* A record as published, or as the writer and the sweep see it (pointers into the overlay,
 * valid until the writer's next overlay_committed or overlay_withdraw). */
struct overlay_record {
    uint8_t table; /* below OVERLAY_TABLES_MAX */
    const uint8_t *key;
    size_t key_bytes;
    const uint8_t *value; /* NULL when deleted */
    size_t value_bytes;
    bool deleted;
};

/* The hash of a table's key under `hash_key` (OVERLAY_HASH_KEY_BYTES of libsodium's random
 * bytes): keyed, as the keys are clients' references. The overlay's table and a write
 * transaction's (staged.c) use it. */
#define OVERLAY_HASH_KEY_BYTES 16
size_t overlay_key_hash(const uint8_t hash_key[OVERLAY_HASH_KEY_BYTES], uint8_t table,
                        const void *key, size_t key_bytes);

/* 0, or FL_ERR_INTERNAL when out of memory. */
int overlay_new(struct overlay **out);
void overlay_free(struct overlay *overlay);

/* ---- The writer ---- */

/* Publish a commit's records under `tag`, larger than every tag before; a key at most once.
 * Until overlay_committed, only the writer sees them. 0, or FL_ERR_INTERNAL when out of memory
 * (nothing of it is then published). */
int overlay_publish(struct overlay *overlay, uint64_t tag, const struct overlay_record *records,
                    size_t count);
/* The commit of the last publication failed: its versions go, the records it made dirty are
 * as they were, and its tag may be published again (LMDB gives the next write transaction the
 * failed one's id). */
void overlay_withdraw(struct overlay *overlay);
/* The commit `tag` (the last publication's, or one that published nothing) is durable: readers
 * that register from now see it. Forgets a share of what no reader needs any more: more than
 * the sweep wrote since the last call, so that a backlog goes over the next commits. */
void overlay_committed(struct overlay *overlay, uint64_t tag);
/* Written records that no registered reader needs any more are forgotten a share at a time
 * (overlay_committed goes through its share), and their versions freed likewise: whether some
 * wait now (and in *later, unless NULL, whether others wait for a reader to end; it takes no
 * lock), and forgetting and freeing up to `max` of them, for the writer between commits. */
bool overlay_tidy_due(struct overlay *overlay, bool *later);
void overlay_tidy(struct overlay *overlay, size_t max);
/* The newest version of a key, published or committed. 1 and *out, or 0 when the overlay does
 * not hold the key (the tree is right). */
int overlay_latest(struct overlay *overlay, uint8_t table, const void *key, size_t key_bytes,
                   struct overlay_record *out);

/* ---- Readers, on any thread ---- */

/* Register before beginning the LMDB read transaction; pass *registration to the others. 0, or
 * FL_ERR_INTERNAL when out of memory (then unregistered: do not read). */
int overlay_reader_begin(struct overlay *overlay, uint64_t *registration);
void overlay_reader_end(struct overlay *overlay, uint64_t registration);
/* The key as a reader whose snapshot is transaction `snapshot` sees it: 0 when the overlay has
 * no version for it (read the tree); 1 with a copy of the value in *copy (malloc'd, *bytes
 * long; the caller frees it); 2 when it was deleted; FL_ERR_INTERNAL when out of memory. */
int overlay_get(struct overlay *overlay, uint64_t snapshot, uint8_t table, const void *key,
                size_t key_bytes, uint8_t **copy, size_t *bytes);

/* A reader's view of one table's records in memory as of its snapshot, in key order: what a
 * walk of the tree at that snapshot merges in (a record here replaces the tree's, a deleted one
 * hides it), and exactly what overlay_get would give it key by key. Copies, made once and kept
 * by the reader for every page of its walk; made a share of the table at a time, the lock let
 * go between shares, so that the writer and other readers wait a millisecond or two at most. */
struct overlay_view {
    size_t count;
    struct overlay_record *records; /* deleted ones included */
    uint8_t *bytes;                 /* the keys and values the records point into */
};

/* 0 and *out (free it with overlay_view_free), or FL_ERR_INTERNAL when out of memory. */
int overlay_view_make(struct overlay *overlay, uint64_t snapshot, uint8_t table,
                      struct overlay_view **out);
void overlay_view_free(struct overlay_view *view);
/* The index of the view's first record whose key comes after `key` (count when none does). */
size_t overlay_view_after(const struct overlay_view *view, const void *key, size_t key_bytes);
/* The view's record of `key` (deleted, perhaps), or NULL when it holds none: the tree is right.
 * What overlay_get gives at the view's snapshot, for a reader that keeps its views instead of
 * its registration (store_snapshot_begin). */
const struct overlay_record *overlay_view_find(const struct overlay_view *view, const void *key,
                                               size_t key_bytes);

/* ---- The sweep (the writer) ---- */

/* Records whose newest version is not yet in the tree. */
size_t overlay_dirty(const struct overlay *overlay);
/* Up to `max` records for the writer to put in its transaction, in key order: the next of the
 * sweep under way, or, when none is, a new one over the records dirty now, whose records are
 * put in order on a thread of its own (none until they are). Each with its newest version.
 * Call it after the commit's own publication, so that a record the commit changed is written
 * as changed. The same records again until overlay_sweep_written. 0 and *count, or
 * FL_ERR_INTERNAL when out of memory. */
int overlay_sweep_next(struct overlay *overlay, size_t max, struct overlay_record *out,
                       size_t *count);
/* Records of the sweep under way not yet written; 0 when none is under way (the next
 * overlay_sweep_next starts one over the records dirty then, overlay_dirty). */
size_t overlay_sweep_left(const struct overlay *overlay);
/* Wait until the sweep under way has its records in order (a stop, a start, the tests). */
void overlay_sweep_ready(struct overlay *overlay);
/* The records overlay_sweep_next gave last are in the tree, committed by `tag`. */
void overlay_sweep_written(struct overlay *overlay, uint64_t tag);
/* The largest tag whose versions are all in the trees since the last finished sweep (every
 * journal record up to it may go), or 0 before one has finished. */
uint64_t overlay_sweep_covered(const struct overlay *overlay);

/* The writer: the largest tag of a version that was the newest of a record forgotten so far
 * (0: none). A key memory holds nothing of has not changed since a commit R if this is at
 * most R: a change after R would still be held, or forgotten with a newer tag. */
uint64_t overlay_forgotten_tag(const struct overlay *overlay);

/* How many slots of the table a view looks at each time it holds the lock (a test's choice:
 * the default suits a million records). */
void overlay_view_share_set(struct overlay *overlay, size_t slots);
/* A test's: `pause` runs, on the thread making a view, each time the view has let the lock go
 * between two shares, so that a test can change the table right there (NULL: nothing). */
void overlay_view_pause_set(struct overlay *overlay, void (*pause)(void *arg), void *arg);
/* Records held, dirty or not, and versions held: for tests and metrics. */
size_t overlay_records(const struct overlay *overlay);
size_t overlay_versions(const struct overlay *overlay);

#endif
