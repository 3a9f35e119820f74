/* ledger.h -- the append-only, hash-chained log of entries: the source of truth. */
#ifndef FAMLEDGER_LEDGER_H
#define FAMLEDGER_LEDGER_H

#include "fl_limits.h"
#include "request.h"

struct ledger_head {
    uint64_t seq;                /* 0 for an empty ledger */
    uint8_t hash[HASH_BYTES];    /* zeros for an empty ledger */
    int64_t time_us;             /* of the head entry; 0 for an empty ledger */
};

/* 0, or FL_ERR_INTERNAL (logged) when the stored head is damaged. */
int ledger_head_get(struct store_txn *txn, struct ledger_head *head);

/* Date the request's entries: ctx->time_us becomes the wall clock it holds, but never before
 * the head entry's time + 1 µs. So no entry is ever dated into a closed business day: the
 * day_closed entry that closed it is dated after it. A clock that stepped back is logged once
 * per step. A clock more than clock_ahead_max_days past the head entry dates nothing: the
 * request fails (FL_ERR_INTERNAL, said once in the log), since every later entry would be dated
 * after such a time. Called for every write before its handler runs (dispatch_execute, and the
 * scheduler's runs). */
int ledger_time_next(struct request_ctx *ctx);

/* At start: the head in meta is the log's last entry, and that entry's bytes hash to it.
 * Returns 0 with *head, or -1 after logging what is damaged. */
int ledger_check_head(struct store *store, struct ledger_head *head);

/* At start, after ledger_check_head: the configured time zone is the one recorded in the
 * ledger, which its closed days, day totals and runs of the log are counted in. The first start
 * records it (and a start before any entry, another); a start with another zone once entries
 * exist is refused. Returns 0, or -1 after logging why. */
int ledger_check_timezone(struct store *store, const char *zone, uint64_t head_seq);

/* famledgerd --check-config: whether a start with `zone` would be refused by
 * ledger_check_timezone, reading the ledger in `dir` (if any) beside a running daemon. Returns
 * 0, 1 when the ledger could not be read (by this user, say), or -1 with the refusal in
 * error[]. */
int ledger_check_timezone_offline(const char *dir, const char *zone, char *error,
                                  size_t error_bytes);

/* Handler: DayCloseRequest (admin). */
int ledger_day_close_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Append `entry` (with its body set) after the head: fills in seq, time, prev_hash and actor
 * from ctx, stores it with its hash and moves the head. Returns 0 with entry->seq set. */
int ledger_append(struct request_ctx *ctx, Famledger__Entry *entry);

/* The business day of a time, "YYYYMMDD", in the process's time zone (TZ, from config, set
 * once before any thread asks). */
void ledger_business_day(int64_t time_us, char day[9]);

/* The business month of a time, YYYYMM. */
uint32_t ledger_business_month(int64_t time_us);

/* Read entry `seq` as stored. Returns 1 when found, 0 when absent, FL_ERR_INTERNAL when it
 * does not decode. `entry` and `entry_bytes` live in `arena`; `hash` may be NULL. */
int ledger_entry_get(struct store_txn *txn, struct arena *arena, uint64_t seq,
                     Famledger__Entry **entry, ProtobufCBinaryData *entry_bytes,
                     uint8_t hash[HASH_BYTES]);

/* Read entry `seq` to use it: as ledger_entry_get, and FL_ERR_INTERNAL (logged) when it is not
 * whole (entry_check.h), so that no handler follows a part that is missing. */
int ledger_entry_read(struct store_txn *txn, struct arena *arena, uint64_t seq,
                      Famledger__Entry **entry);

/* The business day of entry `seq` (1 found, 0 absent, < 0), unpacked in `arena`. */
int ledger_entry_day(struct store_txn *txn, struct arena *arena, uint64_t seq, char day[9]);

/* The first entry dated on business day `day` or later, among entries 1 .. `head_seq`, or 0
 * when all are earlier. Entries are in time order (ledger_append), so each day is one run of
 * the log, found by halving: about 25 entries read for 30 million. 0 or < 0. */
int ledger_day_first(struct store_txn *txn, struct arena *arena, const char day[9],
                     uint64_t head_seq, uint64_t *seq);

/* The name of an entry's type, as in the .proto oneof ("account_credited"). */
const char *ledger_entry_type_name(const Famledger__Entry *entry);

/* Handlers: EntryGetRequest, HeadRequest. */
int ledger_entry_get_handle(struct request_ctx *ctx, const Famledger__Request *request);
int ledger_head_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
