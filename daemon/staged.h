/* staged.h -- a write transaction's changes to the tables kept in memory (the accounts and the
 * references, docs/DECISIONS.md, twenty-third part), until its commit publishes them to the
 * overlay and appends them to the journal; and the journal record's encoding.
 *
 * A nested transaction's changes are kept at its depth: committed, they replace the parent's
 * versions; aborted, they go. Neither allocates, so neither can fail. The last version put at
 * any depth is what a lookup finds, since only the innermost transaction is ever in use.
 *
 * The writer's thread alone uses it; it knows nothing of LMDB.
 */
#ifndef FAMLEDGER_STAGED_H
#define FAMLEDGER_STAGED_H

#include "overlay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct staged;
/* The versions put at one depth, a list the transaction of that depth keeps. */
struct staged_version;

/* 0, or FL_ERR_INTERNAL when out of memory. */
int staged_new(struct staged **out);
void staged_free(struct staged *staged);

/* The key as the innermost transaction sees it: 1 and *out (pointers valid until the next put
 * of the key or the end of the top-level transaction; out->deleted for a delete), 0 when no
 * transaction changed it. */
int staged_get(const struct staged *staged, uint8_t table, const void *key, size_t key_bytes,
               struct overlay_record *out);

/* Put (or, with value NULL and deleted, delete) the key at `depth`, recording the version in
 * the list `*level` of that depth. 0, or FL_ERR_INTERNAL when out of memory (nothing changed). */
int staged_put(struct staged *staged, struct staged_version **level, unsigned depth,
               const struct overlay_record *record);

/* The transaction of depth `depth` (> 0) committed: its versions, `*child`, become its parent's
 * (in `*parent`), replacing the parent's versions of the same keys. */
void staged_level_commit(struct staged_version **child, unsigned depth,
                         struct staged_version **parent);
/* The transaction of the list `*level` aborted: its versions go. */
void staged_level_abort(struct staged_version **level);

/* The top-level transaction's versions (its list, `level`) as records, into `out` (an array of
 * staged_count(level) records, pointers valid until staged_clear). */
size_t staged_count(const struct staged_version *level);
void staged_records(const struct staged_version *level, struct overlay_record *out);

/* The top-level transaction ended: forget everything (the table's memory is kept for the
 * next). */
void staged_clear(struct staged *staged);

/* ---- The journal's records: one a commit, the records it changed ----
 * Each record: table (1 byte), deleted (1), key bytes (2, big-endian), value bytes (4), the key,
 * the value. */

/* The bytes `records` take encoded. */
size_t staged_journal_bytes(const struct overlay_record *records, size_t count);
/* Encode into `out`, staged_journal_bytes long. */
void staged_journal_encode(const struct overlay_record *records, size_t count, uint8_t *out);
/* Decode a journal record, calling `visit_cb` for each record in order until it returns
 * non-zero (which this returns). FL_ERR_INTERNAL when the bytes are not a journal record (a
 * table at or past `tables`, a length past the end, a key longer than `key_bytes_max`), before
 * any record is visited. */
int staged_journal_decode(const uint8_t *bytes, size_t size, uint8_t tables, size_t key_bytes_max,
                          int (*visit_cb)(void *context, const struct overlay_record *record),
                          void *context);

#endif
