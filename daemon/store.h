/* store.h -- the LMDB environment: transactions, named databases, typed keys. The only module
 * that sees LMDB; everything above speaks famledger status codes.
 *
 * Return values follow one rule: 0 (or, for lookups, 1 found / 0 absent) on success, a negative
 * FL_ERR_* code on failure. LMDB errors are converted here, once.
 */
#ifndef FAMLEDGER_STORE_H
#define FAMLEDGER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tables. Five keyed by an entry's seq first (account_links, settlements, patient_links,
 * merchant_links, and since format 11 wallet_links) share one LMDB tree since format 9, by_seq:
 * store.c tags their keys there, and each is a table of its own to every caller. */
enum store_db {
    STORE_DB_LOG,             /* u64be seq -> hash[32] || Entry bytes; append-only */
    STORE_DB_META,            /* "head" -> u64be seq || hash[32] || time; "format" -> "12";
                               * "by_seq_counts" -> the folded tables' records (store.c);
                               * "closed_through" -> "YYYYMMDD"; "timezone" -> its name */
    STORE_DB_PERSONS,         /* person_no -> Person */
    STORE_DB_ACCOUNTS,        /* person_no -> Account */
    STORE_DB_ACCOUNT_LINKS,   /* u64be seq || person_no -> u64be seq of the account's entry
                               * before (0: none): its statement, a chain (since format 4) */
    STORE_DB_REFERENCES,      /* scope '\0' reference -> u64be seq || fingerprint[32] */
    STORE_DB_FUNDERS,         /* beneficiary -> BindingList, in funding order */
    STORE_DB_FUNDED,          /* holder -> BindingList, in binding order */
    STORE_DB_MERCHANTS,       /* code -> Merchant */
    STORE_DB_SETTLEMENTS,     /* u64be settlement id -> Settlement */
    STORE_DB_BALANCES,        /* "class:id" -> Balance of a system account; "class" -> total */
    STORE_DB_PATIENT_LINKS,   /* u64be seq || patient -> u64be seq of their settlement before
                               * (0: none): the settlements made for them, a chain whose head
                               * is in their Account, or their Person without one (format 8) */
    STORE_DB_WALLETS,         /* person_no -> Wallet (since format 3) */
    STORE_DB_WALLET_SENDS,    /* u64be send id -> WalletSend */
    STORE_DB_HOLDS,           /* u64be hold id -> Hold */
    STORE_DB_TIMERS,          /* u64be due time || kind || u64be id -> empty: what falls due */
    STORE_DB_AID_LIMITS,      /* holder '\0' beneficiary -> AidLimit */
    STORE_DB_MERCHANT_LINKS,  /* u64be seq || merchant -> u64be seq of the merchant's settlement,
                               * refund or reversal before it that business day (0: its first
                               * that day): the day's list, a chain (since format 7) */
    STORE_DB_DAY_TOTALS,      /* "YYYYMMDD" merchant -> MerchantDayTotals, last_seq the chain's
                               * head; keyed day first, so a day's records share leaves (7) */
    STORE_DB_MERCHANT_DAYS,   /* merchant '\0' "YYYYMMDD" -> empty: the days of a merchant's
                               * totals, added once a day (since format 7) */
    STORE_DB_JOURNAL,         /* u64be id of a commit -> the accounts and references it changed,
                               * while they are kept in memory (store_defer_state; since 10) */
    STORE_DB_WALLET_LINKS,    /* u64be seq || person_no -> u64be seq of the wallet's entry
                               * before (0: none) || i64be its balance after: its statement, a
                               * chain whose head is the last_seq of its balance (since 11) */
    STORE_DB_EMERGENCY_CLAIMS, /* u64be claim id -> EmergencyClaim (since 12) */
    STORE_DB_CALENDARS,       /* u32be year -> Calendar: its days off and weekend days worked
                               * (since 12) */
    STORE_DB_COUNT
};

struct store;
struct store_txn;

struct store_bytes {
    const void *data;
    size_t size;
};

#define STORE_KEY_MAX 511 /* LMDB's longest key (mdb_env_get_maxkeysize) */

/* How store_open may create a ledger. */
enum store_open_flags {
    STORE_OPEN_EXISTING = 0,    /* data.mdb and every database must already exist */
    STORE_CREATE_IF_EMPTY = 1,  /* create a new ledger in a missing or empty directory */
    STORE_CREATE_INIT = 2,      /* --init: create one even if the directory holds other files */
    /* With any of the above: a page fault in data.mdb reads just that page (LMDB's
     * MDB_NORDAHEAD, madvise's MADV_RANDOM), not the device's read-ahead window around it
     * as the kernel would (read_ahead_kb: 128 KiB on many disks, 8 MiB on some),
     * and store_scan asks for the part of the file ahead of its walk itself (MADV_WILLNEED).
     * Lookups at random then read only what they need (docs/DECISIONS.md, map_readahead). */
    STORE_OPEN_NO_READAHEAD = 4,
};
#define STORE_OPEN_CREATE_MASK 3 /* the flags that say how a ledger may be created */

/* Open the ledger in `dir`, with a map of `map_bytes` that may grow to `map_bytes_max`.
 * Before any page is read it refuses, with a log line that says what is wrong and what to do:
 * a directory with files but no data.mdb (deleted), a data.mdb shorter than its pages in use
 * (truncated), a missing or unreadable database (damaged catalogue). Returns 0;
 * FL_ERR_BUSY when another famledgerd holds the directory; FL_ERR_INTERNAL otherwise. */
int store_open(const char *dir, uint64_t map_bytes, uint64_t map_bytes_max,
               enum store_open_flags flags, struct store **out);

/* Upgrades of records whose shape the store does not know (protobuf), made above it
 * (upgrade.c): store_open calls it in the opening transaction of a ledger of an earlier
 * format, after the store's own. 0, or an error after a log line. */
int upgrade_records(struct store_txn *txn, int from_format);

/* How far an upgrade's walk of `what` is (`done` of `total`; total 0: unknown): told at its
 * start (done 0) and then at most every few seconds, in the log and in systemd's status, with
 * more time asked of systemd's start timeout (upgrade.c). upgrade_committing says the walks
 * are over and the opening transaction, the whole upgrade, is being written. */
void upgrade_progress(const char *what, uint64_t done, uint64_t total);
void upgrade_committing(void);

/* For upgrade_records: visit each record of `name` (unless `visit` is NULL), a table an
 * earlier format kept and this one does not, in key order, then drop the table. A ledger
 * without it is damaged when `required`, else has nothing to visit. 0, the visitor's error, or
 * an error after a log line. */
typedef int (*store_visit)(void *context, const struct store_bytes *key,
                           const struct store_bytes *value);
int store_retire(struct store_txn *txn, const char *name, bool required, store_visit visit,
                 void *context);

/* Keep the accounts and the references in memory from the commit that changes them, each
 * commit's changes appended to the journal in the same transaction, and write them to their
 * trees in key order in a sweep spread over the commits of `sweep_ms` (docs/DECISIONS.md,
 * twenty-third part). Readers see them at their snapshots as if they were in the trees; a start
 * after a crash applies the journal (store_open does, whatever this setting). Call it once,
 * after store_open and before any transaction. 0, or FL_ERR_INTERNAL when out of memory. */
int store_defer_state(struct store *store, uint64_t sweep_ms);

/* The writer, with no request waiting: how long until there is work for the tables kept in
 * memory, 0 now (a sweep under way, the journal to drop behind one that ended, or records no
 * reader needs any more to forget), else until the next sweep is due, or until it looks again
 * whether a reader still holds records back; UINT64_MAX when every change is in the trees, the
 * journal is empty and nothing waits to be forgotten (or the setting is off). */
uint64_t store_idle_work_ms(const struct store *store);
/* One step of that work, with no request in it: a commit of a share of the sweep at its pace,
 * the journal dropped behind it; or, when no commit is due, a share of the records to forget.
 * When `finish` (a stop), a commit of as much as one carries, a new sweep started whatever the
 * interval, so that store_idle_finished is true after some steps. A commit with nothing to
 * write changes no page and costs no flush. */
int store_idle_commit(struct store *store, bool finish);
/* Whether a stop's steps are done (store_idle_commit with `finish`): every change in the trees
 * and the journal empty. */
bool store_idle_finished(const struct store *store);

/* What store_defer_state keeps in memory: all zero when it is off. */
struct store_deferred_stats {
    uint64_t records;      /* accounts and references held */
    uint64_t dirty;        /* of them, not yet in their trees */
    uint64_t sweep_left;   /* records of the sweep under way still to write */
};
void store_deferred_stats(struct store *store, struct store_deferred_stats *out);

/* Whether store_open created a new, empty ledger. */
bool store_created(const struct store *store);

/* Before store_open: -1 (logged) when `dir`, or the parent it would be made in, is on a network
 * or shared filesystem (NFS, SMB, FUSE, ...), where LMDB is not sound; a warning for tmpfs. */
int store_filesystem_check(const char *dir);

/* The record `key` of meta in the ledger at `dir`, read without store_open (beside a running
 * daemon, for famledgerd --check-config): 1 with up to *out_bytes of it in out and *out_bytes
 * set, 0 when there is no ledger or no such record, -1 when it cannot be read. */
int store_meta_peek(const char *dir, const char *key, void *out, size_t *out_bytes);

/* The data directory. */
const char *store_dir(const struct store *store);
void store_close(struct store *store);

/* Read transactions see one consistent snapshot and never wait for the writer. End each with
 * store_read_end; keep them short, the map cannot grow while one is open. */
int store_read_begin(struct store *store, struct store_txn **out);
/* A read transaction for an audit that may stay open long (a connection's snapshot: verify,
 * export, reconcile). The records kept in memory that it sees are copied at its start, and it
 * then holds nothing of memory back: a reader would otherwise keep every version made while it
 * is open, about 600 bytes a settlement under load. The copy takes a few ms to 0.35 s at a
 * million patients: begin it on a thread that may wait. End it with store_read_end. */
int store_snapshot_begin(struct store *store, struct store_txn **out);
void store_read_end(struct store_txn *txn);

/* One write transaction at a time, from one thread (the commit queue's). A nested transaction
 * lets one request of a batch fail without undoing the others. */
int store_write_begin(struct store *store, struct store_txn **out);
int store_nested_begin(struct store_txn *parent, struct store_txn **out);
/* Commit; for a top-level transaction this syncs to disk before returning. The txn is freed
 * whatever the result. FL_ERR_OUT_OF_SPACE when the disk or the map is full (ENOSPC, EDQUOT, or
 * a short write on a filesystem with almost no space left); FL_ERR_INTERNAL for any other
 * failure (EIO, a failed sync, MDB_PANIC), after which the ledger must not be trusted in this
 * process: the caller stops (fail-stop). */
int store_commit(struct store_txn *txn);
void store_abort(struct store_txn *txn);
/* How many writes (puts, deletes) were made in `txn` and in the nested transactions it
 * committed: whether a request that failed left anything behind. */
uint64_t store_txn_writes(const struct store_txn *txn);
/* Counts a caller keeps with a write transaction (the ledger counts its entries by type): a
 * nested transaction's are added to its parent's when it commits and lost when it aborts. A
 * slot past the last counts in slot 0. */
#define STORE_TALLY_SLOTS 64
void store_txn_tally(struct store_txn *txn, unsigned slot);
const uint32_t *store_txn_tallies(const struct store_txn *txn);

/* The id of the last committed write transaction: it moves when a commit wrote something. */
uint64_t store_txnid(struct store *store);

/* Whether data.mdb, open here, no longer has a name in the directory (deleted, or replaced by
 * another file): what is written to it now would be gone once the process ends. */
bool store_file_unlinked(struct store *store);

/* Whether a write hit the end of the map since the last store_map_full_clear. */
bool store_map_full(const struct store *store);
void store_map_full_clear(struct store *store);
/* Double the map, up to its maximum, while no transaction is open. Returns 0, or
 * FL_ERR_OUT_OF_SPACE when it is already at the maximum. */
int store_grow(struct store *store);
uint64_t store_map_bytes(const struct store *store);
/* The bytes of the pages in use (up to the last page written). */
uint64_t store_used_bytes(struct store *store);

/* Returns 1 and the value (valid until the txn ends or writes) when found, 0 when absent. */
int store_get(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
              struct store_bytes *value);
int store_put(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
              const void *value, size_t value_bytes);

/* ---- Reads made ahead for the writer ----
 * A prefetch thread makes a queued settlement's reads in a read transaction of its own and
 * records them (store_read_begin_ahead); the writer, running the settlement, is handed the
 * record (store_ahead_use), and store_get takes a recorded read instead of searching the tree
 * only when it is what the writer's own transaction would read:
 *  - a table kept in memory (accounts, references): memory holds nothing of the key now (the
 *    writer looks there first, as always), and no record changed after the recorded read's
 *    snapshot has been forgotten since (so the key has not changed since: a change would be in
 *    memory or forgotten);
 *  - persons, bindings, aid limits, merchants and wallets: no commit since the recorded read
 *    began has written to the table (each table's count of commits that wrote it is read
 *    before the read transaction begins), nor has the writer's open transaction;
 *  - any other table is never recorded.
 * Otherwise the writer searches the tree as before. Values recorded are copies. */
#define STORE_AHEAD_READS 16
#define STORE_AHEAD_BYTES 2048

struct store_ahead_read {
    uint8_t db;
    bool found;
    uint16_t key_bytes;
    uint32_t value_bytes;
    uint32_t offset; /* of the key in bytes[], the value after it */
};

struct store_ahead {
    uint64_t gens[STORE_DB_COUNT]; /* commits that had written each table, before the read */
    uint64_t snapshot;             /* the last commit the read saw */
    unsigned count;
    uint32_t used;
    bool full; /* reads after these were not recorded */
    struct store_ahead_read reads[STORE_AHEAD_READS];
    uint8_t bytes[STORE_AHEAD_BYTES];
};

/* A read transaction (store_read_begin) whose gets are recorded into *ahead, which must outlive
 * it. */
int store_read_begin_ahead(struct store *store, struct store_txn **out,
                           struct store_ahead *ahead);
/* From now on the read transaction records its gets into *ahead instead (as of the same
 * snapshot): one transaction for the reads of several settlements. */
void store_ahead_next(struct store_txn *txn, struct store_ahead *ahead);
/* The bytes of *ahead that hold something: copy that many to copy it. */
size_t store_ahead_bytes(const struct store_ahead *ahead);
/* Writer thread: its transactions' gets may take `ahead`'s reads from now (NULL: no longer).
 * `ahead` must outlive its use. */
void store_ahead_use(struct store *store, const struct store_ahead *ahead);
/* Gets the writer took from reads made ahead, and gets it found a recorded read for but
 * refused (the table or key may have changed since), since the start. Any thread. */
void store_ahead_counts(const struct store *store, uint64_t *taken, uint64_t *refused);
/* Put a key greater than every key of `db` (the log). */
int store_append(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                 const void *value, size_t value_bytes);

/* Delete `key` of `db` (derived tables only: the timers that fell due). 1 deleted, 0 absent,
 * < 0 error. */
int store_delete(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes);

/* Index databases map a key to a sorted set of sequence numbers. */
int store_index_add(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                    uint64_t seq);

/* Read up to `seqs_max` sequence numbers of `key`, ascending from `cursor` (inclusive, 0 for the
 * first) or descending from `cursor` (inclusive, 0 for the last). *next_cursor is where the next
 * page starts, or 0 when there is none. */
int store_index_page(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                     uint64_t cursor, bool descending, uint64_t *seqs, size_t seqs_max,
                     size_t *count, uint64_t *next_cursor);

/* Chain databases hold the same sets as linked lists in log order: (seq, key) -> the seq before
 * it in the chain of `key` (0 for the first), while the owner's record keeps the chain's head
 * (Account.last_seq). An index adds to a leaf of its own for each key, scattered over the file;
 * the links of one entry sort by its seq, so a commit's links fill the same few pages at the
 * end of the tree. Link `seq` into the chain of `key`, after `prev` (< seq). */
int store_chain_link(struct store_txn *txn, enum store_db db, uint64_t seq, const void *key,
                     size_t key_bytes, uint64_t prev);

/* A wallet's chain (wallet_links) carries the wallet's balance after each link: link `seq`
 * into the chain of `person_no` after `prev`, with it. */
int store_wallet_link(struct store_txn *txn, uint64_t seq, const char *person_no,
                      uint64_t prev, int64_t balance_after_fen);

/* The balance after entry `seq` in the wallet chain of `person_no`: 1, 0 when the entry is not
 * a link of it, < 0 error (a link that does not go back is FL_ERR_INTERNAL, logged). */
int store_wallet_line(struct store_txn *txn, uint64_t seq, const char *person_no,
                      int64_t *balance_after_fen);

/* store_index_page for a chain whose last seq is `head`: newest first from `cursor` (0: the
 * head) in as many lookups as the page has entries, or oldest first from `cursor`, which walks
 * back from the head to the cursor. A broken chain (a link missing, or one that does not go
 * back) is FL_ERR_INTERNAL, logged. */
int store_chain_page(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                     uint64_t head, uint64_t cursor, bool descending, uint64_t *seqs,
                     size_t seqs_max, size_t *count, uint64_t *next_cursor);

/* Call visit_cb for each record of `db` in key order after `after_key` (NULL or empty: from the
 * first), at most `max` of them, until it returns non-zero (which store_scan then returns). In
 * an index database each (key, seq) pair is a record, and a page resumes after the pair
 * (after_key, after_value); elsewhere after_value is ignored. The accounts and references kept
 * in memory (store_defer_state) are walked as the snapshot sees them, memory merged with the
 * tree, in a read transaction only. */
int store_scan(struct store_txn *txn, enum store_db db, const void *after_key,
               size_t after_key_bytes, struct store_bytes after_value, size_t max,
               int (*visit_cb)(void *context, struct store_bytes key, struct store_bytes value),
               void *context);

/* How many records `db` holds as `txn` sees it (in an index database, (key, seq) pairs), into
 * *records: a count LMDB keeps, read without a walk. Returns 0 or an error. With the accounts
 * and references kept in memory (store_defer_state), a reader's count of them adds what memory
 * holds to the tree's, at a lookup for each record held (once a transaction); a writer's is
 * the tree's alone. */
int store_records(struct store_txn *txn, enum store_db db, uint64_t *records);

/* The same without asking the kernel for what lies ahead: for a walk whose stretches ahead
 * the prefetch threads read (prefetch_walk_ahead). */
int store_scan_bare(struct store_txn *txn, enum store_db db, const void *after_key,
                    size_t after_key_bytes, struct store_bytes after_value, size_t max,
                    int (*visit_cb)(void *context, struct store_bytes key,
                                    struct store_bytes value),
                    void *context);

/* Read ahead: walk the records of `db` from the first key at or after `from` to the last
 * before `to` (empty: to the end), at most `max` of them, touching each value so that its pages
 * are in memory when a walk of the same keys comes. Returns the records met, or an error. */
int store_touch_range(struct store_txn *txn, enum store_db db, struct store_bytes from,
                      struct store_bytes to, size_t max);

/* Write a compacted, consistent copy of the ledger as DIR/data.mdb (DIR must exist and hold no
 * data.mdb), while writers go on (LMDB's mdb_env_copy2 with MDB_CP_COMPACT), and sync it: LMDB
 * does not, so without that a copy said to be taken could be lost with the power. */
int store_copy(struct store *store, const char *dir);

/* The database named `name` ("accounts", "merchant_day"), or -1. */
int store_db_find(const char *name);

/* Delete the first record of `db` (in an index, its first (key, seq) pair): for the test tool
 * that damages a ledger on purpose. 1 deleted, 0 empty, < 0 error. */
int store_delete_first(struct store_txn *txn, enum store_db db);

/* Remove `db` from the file altogether: for the test tool that makes a ledger of an older
 * layout. 0 or < 0. */
int store_drop(struct store_txn *txn, enum store_db db);

/* The store a transaction belongs to. */
struct store *store_of(struct store_txn *txn);

/* The last key of `db` (the log's head sequence): 1 found, 0 empty, < 0 error. */
int store_last(struct store_txn *txn, enum store_db db, struct store_bytes *key);

/* Big-endian sequence keys sort in numeric order. */
void store_u64_encode(uint8_t out[8], uint64_t value);
uint64_t store_u64_decode(const uint8_t in[8]);

#endif
