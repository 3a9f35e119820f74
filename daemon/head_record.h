/* head_record.h -- the head of the log, recorded outside data.mdb, to detect a rolled-back file.
 *
 * After every committed batch the writer records (seq, hash) of the head in
 * DATA_DIR/famledger.head and syncs it before any reply of the batch is sent. At start the
 * ledger's head must be at or past the record: a ledger behind it lost acknowledged entries
 * (a restored old file, a meta page rolled back) and is refused unless the operator accepts
 * it explicitly (famledgerd --accept-head).
 */
#ifndef FAMLEDGER_HEAD_RECORD_H
#define FAMLEDGER_HEAD_RECORD_H

#include "fl_limits.h"

#include <stdbool.h>
#include <stdint.h>

struct head_record {
    int fd;
};

struct head_record_value {
    uint64_t seq;
    uint8_t hash[HASH_BYTES];
};

/* Open (creating if absent) DATA_DIR/famledger.head. Returns 0 or -1 (errno set). */
int head_record_open(struct head_record *record, const char *dir);
void head_record_close(struct head_record *record);

/* 1 with the value, 0 when the file is empty (new), -1 when it is unreadable or damaged. */
int head_record_read(struct head_record *record, struct head_record_value *value);

/* Write and fdatasync. Returns 0 or -1 (errno set). */
int head_record_write(struct head_record *record, const struct head_record_value *value);

/* When the file open here lost its name in DIR (deleted, or replaced by another), open
 * DIR/famledger.head anew, so that the next write is there for the next start. Returns 1 when
 * it did (the caller writes, and syncs DIR for the name), 0 when the name was there, -1 when
 * the new file could not be made (errno set; the old one stays open). */
int head_record_reopen_if_unlinked(struct head_record *record, const char *dir);

#endif
