/* store.c -- the LMDB environment; the only file that includes lmdb.h. */
#include "store.h"

#include "famledger_status.h"
#include "fl_limits.h"
#include "log.h"
#include "overlay.h"
#include "require.h"
#include "staged.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <dirent.h>
#include <sys/stat.h>
#include <uv.h>
#include <linux/magic.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

struct store {
    MDB_env *env;
    MDB_dbi dbis[STORE_DB_COUNT]; /* a folded table's is by_seq's */
    /* Readers hold it shared; growing the map holds it exclusively, as LMDB requires that no
     * transaction be open in the process while the map size changes. */
    pthread_rwlock_t resize_lock;
    uint64_t map_bytes;
    uint64_t map_bytes_max;
    bool map_full; /* touched only by the writer thread */
    bool created;
    bool readahead; /* false: MDB_NORDAHEAD, and walks ask for what lies ahead (scan_ahead) */
    size_t page_bytes;
    int dir_fd, lock_fd; /* flock()ed: the data directory, and famledgerd.lock in it */
    struct store_deferred *deferred; /* NULL: every table written at each commit */
    /* Reads made ahead (store_ahead_use): each table's count of commits that wrote it, the
     * reads the writer's gets may take now (the writer's alone), and counts of their use. */
    _Atomic uint64_t gens[STORE_DB_COUNT];
    const struct store_ahead *ahead;
    _Atomic uint64_t ahead_taken, ahead_refused;
    char dir[4096];
};

/* The tables kept in memory (store_defer_state), by their number in the overlay. */
static const enum store_db deferred_dbs[] = {STORE_DB_ACCOUNTS, STORE_DB_REFERENCES};
#define DEFERRED_TABLES (sizeof(deferred_dbs) / sizeof(*deferred_dbs))

/* A sweep's share of a commit: at least SWEEP_SHARE_MIN records while one is under way, so that
 * it ends even when its interval is long and commits are few; at most SWEEP_SHARE_MAX, so that
 * no commit writes more than some thousands of leaves for it (one whole interval's, at a
 * million patients, held one commit for half a second in the prototype). */
#define SWEEP_SHARE_MIN 32
#define SWEEP_SHARE_MAX 4096

/* The writer's side of the tables kept in memory. */
struct store_deferred {
    struct overlay *overlay;
    struct staged *staged;          /* the open write transaction's changes */
    struct overlay_record *records; /* a commit's changes, to publish */
    size_t records_capacity;
    struct overlay_record share[SWEEP_SHARE_MAX]; /* the sweep's share of a commit */
    uint64_t sweep_ns;         /* how long a sweep takes, and the least time between two */
    uint64_t sweep_started_ns; /* when the sweep under way (or the last) started */
    size_t sweep_total;        /* its records */
    uint64_t journal_dropped;  /* the journal holds no record up to this id */
    uint64_t journal_last;     /* the id of its last record (0: none since the start) */
    /* The overlay's counts after the last commit, for other threads (store_deferred_stats). */
    _Atomic uint64_t stats_records, stats_dirty, stats_sweep_left;
};

/* The tags of the tables folded into by_seq are 1 to BY_SEQ_TAG_MAX (store_dbs). */
#define BY_SEQ_TAG_MAX 5

struct store_txn {
    struct store *store;
    MDB_txn *txn;
    struct store_txn *parent; /* of a nested transaction */
    uint64_t writes;          /* writes made in it and in its committed children */
    /* Records added to each folded table (by tag), less those deleted, in it and in its
     * committed children: kept in meta at the top-level commit (by_seq_counts_keep). */
    int64_t by_seq_added[BY_SEQ_TAG_MAX + 1];
    uint32_t tally[STORE_TALLY_SLOTS]; /* the caller's counts, likewise */
    bool read_only;
    /* With the tables kept in memory (store->deferred). A write transaction's changes to them,
     * at its depth (0: top-level). */
    unsigned depth;
    struct staged_version *staged;
    /* A reader's registration, snapshot (LMDB's id of the last commit it sees), the copies of
     * the values it was given and its views for walks, by table. A snapshot for an audit
     * (store_snapshot_begin) has views of every table from its start and no registration:
     * its views answer for memory. */
    bool registered, viewed;
    uint64_t registration, snapshot;
    uint8_t **copies;
    size_t copy_count, copy_capacity;
    struct overlay_view *views[DEFERRED_TABLES];
    uint64_t records[DEFERRED_TABLES]; /* store_records of each, once counted */
    bool counted[DEFERRED_TABLES];
    uint32_t wrote;             /* a top-level transaction: the tables it wrote, by bit */
    struct store_ahead *record; /* a read transaction recording its gets, or NULL */
};

static struct store_txn *txn_top(struct store_txn *txn)
{
    while (txn->parent)
        txn = txn->parent;
    return txn;
}

/* The writer's transaction `txn` writes `db`: readers' records of it made before stop being
 * taken (store_ahead_use). */
static void txn_wrote(struct store_txn *txn, enum store_db db)
{
    _Static_assert(STORE_DB_COUNT <= 32, "a bit a table");
    txn_top(txn)->wrote |= UINT32_C(1) << db;
}

/* After the writer's top-level commit: each table it wrote has been written once more. */
static void txn_gens_bump(struct store_txn *txn)
{
    for (uint32_t wrote = txn->wrote; wrote; wrote &= wrote - 1)
        atomic_fetch_add_explicit(&txn->store->gens[__builtin_ctz(wrote)], 1,
                                  memory_order_release);
}

static int store_deferred_table(const struct store *store, enum store_db db);
static int deferred_put(struct store_txn *txn, int table, const void *key, size_t key_bytes,
                        const void *value, size_t value_bytes, bool deleted);
static void store_deferred_free(struct store_deferred *deferred);

/* Each table with the format that brought it: a ledger of an earlier format is upgraded by
 * creating what it lacks (store_upgrade). A table with a tag is folded into by_seq. */
static const struct {
    const char *name;
    unsigned flags;
    int since;
    uint8_t tag;
} store_dbs[STORE_DB_COUNT] = {
    [STORE_DB_LOG] = {"log", 0, 2, 0},
    [STORE_DB_META] = {"meta", 0, 2, 0},
    [STORE_DB_PERSONS] = {"persons", 0, 2, 0},
    [STORE_DB_ACCOUNTS] = {"accounts", 0, 2, 0},
    [STORE_DB_ACCOUNT_LINKS] = {"account_links", 0, 4, 1},
    [STORE_DB_REFERENCES] = {"references", 0, 2, 0},
    [STORE_DB_FUNDERS] = {"funders", 0, 2, 0},
    [STORE_DB_FUNDED] = {"funded", 0, 2, 0},
    [STORE_DB_MERCHANTS] = {"merchants", 0, 2, 0},
    [STORE_DB_SETTLEMENTS] = {"settlements", 0, 2, 2},
    [STORE_DB_BALANCES] = {"balances", 0, 2, 0},
    [STORE_DB_PATIENT_LINKS] = {"patient_links", 0, 8, 3},
    [STORE_DB_WALLETS] = {"wallets", 0, 3, 0},
    [STORE_DB_WALLET_SENDS] = {"wallet_sends", 0, 3, 0},
    [STORE_DB_HOLDS] = {"holds", 0, 3, 0},
    [STORE_DB_TIMERS] = {"timers", 0, 3, 0},
    [STORE_DB_AID_LIMITS] = {"aid_limits", 0, 3, 0},
    [STORE_DB_MERCHANT_LINKS] = {"merchant_links", 0, 7, 4},
    [STORE_DB_DAY_TOTALS] = {"day_totals", 0, 7, 0},
    [STORE_DB_MERCHANT_DAYS] = {"merchant_days", 0, 7, 0},
    [STORE_DB_JOURNAL] = {"journal", 0, 10, 0}, /* JOURNAL_SINCE */
    [STORE_DB_WALLET_LINKS] = {"wallet_links", 0, 11, 5},
    [STORE_DB_EMERGENCY_CLAIMS] = {"emergency_claims", 0, 12, 0},
    [STORE_DB_CALENDARS] = {"calendars", 0, 12, 0},
};

/* The tables keyed by an entry's seq first (a settlement's id is its entry's seq), folded into
 * one tree since format 9: each record's key is the table's key and then its tag, one byte
 * below any byte of an owner (person numbers and merchant codes are letters and digits), so
 * that a table's records keep their order in the tree. A settlement's records (its account
 * links, the patient's and the merchant's links, the settlement itself) then share the last
 * leaf and its branches instead of a path each (docs/DECISIONS.md, format 9). */
static const char by_seq_name[] = "by_seq";
#define BY_SEQ_SINCE 9

/* LMDB counts the records of a tree, not of a table in it: each folded table's count is kept
 * in meta, 8 bytes big-endian a table in the order of their tags, for verify's pacing
 * (StateDigestReply.table_records). */
static const char by_seq_counts_key[] = "by_seq_counts";

static bool store_folded(enum store_db db)
{
    return store_dbs[db].tag != 0;
}

/* The key of `key` in the tree of `db`: itself, or for a folded table a copy with the tag
 * after it, in `buffer`. Returns false when it is too long to be stored (no record has it). */
static bool store_key(enum store_db db, const void *key, size_t key_bytes,
                      uint8_t buffer[STORE_KEY_MAX], MDB_val *out)
{
    if (!store_folded(db)) {
        *out = (MDB_val){key_bytes, (void *)key};
        return true;
    }
    if (key_bytes >= STORE_KEY_MAX)
        return false;
    memcpy(buffer, key, key_bytes);
    buffer[key_bytes] = store_dbs[db].tag;
    *out = (MDB_val){key_bytes + 1, buffer};
    return true;
}

/* Whether a record of by_seq with key `k` belongs to folded table `db`, and its key there.
 * A record with no tag of any table (damage) is given to every folded table as it is, so
 * that each walk of them names it. */
static bool store_key_of(enum store_db db, MDB_val *k)
{
    if (!store_folded(db))
        return true;
    uint8_t tag = k->mv_size > 0 ? ((const uint8_t *)k->mv_data)[k->mv_size - 1] : 0;
    if (tag == store_dbs[db].tag) {
        k->mv_size--;
        return true;
    }
    return tag == 0 || tag > BY_SEQ_TAG_MAX;
}

/* The statement index formats 2 and 3 kept (person_no -> each seq, sorted), which format 4
 * turns into account_links. */
static const char account_entries_name[] = "account_entries";

_Static_assert(STORE_DB_COUNT <= STORE_DBS_MAX, "raise STORE_DBS_MAX");

/* Less than 16 MiB free, or less than 1 %: a short write there means the disk is full. */
static bool store_disk_nearly_full(const struct store *store)
{
    struct statvfs status;
    if (statvfs(store->dir, &status) != 0)
        return false;
    uint64_t free_bytes = (uint64_t)status.f_bavail * status.f_frsize;
    uint64_t total_bytes = (uint64_t)status.f_blocks * status.f_frsize;
    return free_bytes < (16u << 20) || free_bytes < total_bytes / 100;
}

/* The one place LMDB errors become famledger status codes. */
static int store_error(struct store *store, int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_MAP_FULL:
        store->map_full = true;
        return FL_ERR_OUT_OF_SPACE;
    case ENOSPC:
    case EDQUOT:
        /* The caller says it once for the operator (commit.c); this is the detail. */
        log_debug("store: %s: disk full: %s", what, mdb_strerror(rc));
        return FL_ERR_OUT_OF_SPACE;
    case EIO:
        /* LMDB reports a short write as EIO; on a filesystem with almost no space left that
         * is a full disk, not a failing one. */
        if (store_disk_nearly_full(store)) {
            log_debug("store: %s: disk full (a short write with %s almost out of space)", what,
                      store->dir);
            return FL_ERR_OUT_OF_SPACE;
        }
        log_error("store: %s: %s", what, mdb_strerror(rc));
        return FL_ERR_INTERNAL;
    default:
        log_error("store: %s: %s", what, mdb_strerror(rc));
        return FL_ERR_INTERNAL;
    }
}

void store_u64_encode(uint8_t out[8], uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)value;
        value >>= 8;
    }
}

uint64_t store_u64_decode(const uint8_t in[8])
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | in[i];
    return value;
}

/* Take the lock of PATH (a file or the directory itself) into *fd; FL_ERR_BUSY when another
 * process holds it. */
static int store_lock_path(const char *dir, const char *path, int flags, int *fd)
{
    *fd = open(path, flags | O_CLOEXEC, 0600);
    if (*fd < 0) {
        log_error("store: %s: %s", path, strerror(errno));
        return FL_ERR_INTERNAL;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("store: %s is in use by another famledgerd", dir);
        close(*fd);
        *fd = -1;
        return FL_ERR_BUSY;
    }
    return 0;
}

/* One daemon per data directory. The lock is held on the directory itself, which no cleanup of
 * stray files can take away: a second famledgerd once started beside a running one after
 * famledgerd.lock was deleted, and the two wrote entries each from its own accounts. The lock
 * on famledgerd.lock is still taken, for a famledgerd of before that, which holds only it. */
static int store_lock_dir(const char *dir, int *dir_fd, int *lock_fd)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/famledgerd.lock", dir);
    int rc = store_lock_path(dir, dir, O_RDONLY | O_DIRECTORY, dir_fd);
    if (rc == 0)
        rc = store_lock_path(dir, path, O_RDWR | O_CREAT, lock_fd);
    return rc;
}

/* The layout of the ledger: 2 since double entry (every money entry carries postings, and the
 * books, clearing and patient tables exist), 3 since the wallet, holds and aid limits (six
 * tables more, nothing else), 4 since account statements are chains (account_links) instead of
 * an index (account_entries), 5 since the mutual-aid usage lives in the holders' accounts
 * instead of a table of its own (aid_usage), 6 since a day's entries are found in the log
 * itself, in time order, instead of an index (day_entries), 7 since a merchant's day is a chain
 * (merchant_links) with its totals keyed day first (day_totals), 8 since a patient's settlements
 * are a chain (patient_links) instead of an index (patient_settlements), 9 since the tables
 * keyed by seq (account_links, settlements, patient_links, merchant_links) share one tree
 * (by_seq), 10 since the accounts and references may be kept in memory with a journal of their
 * changes (journal), which a start applies and an older famledgerd would not, 11 since a
 * wallet's statement is a chain (wallet_links, in by_seq), 12 since emergency claims and the
 * calendars of working days have tables (emergency_claims, calendars) and entries an older
 * famledgerd cannot read. A ledger without a format was written by an earlier famledgerd, whose
 * entries have no postings: this one cannot balance its books. */
static const char format_key[] = "format";
#define FORMAT_CURRENT 12
#define FORMAT_OLDEST 2 /* the oldest this famledgerd upgrades */
#define JOURNAL_SINCE 10

/* The ledger's format: 1 when it records none, 0 when the record is not a small number. */
static int store_read_format(const MDB_val *value)
{
    int format = 0;
    for (size_t i = 0; i < value->mv_size && i < 3; i++) {
        char digit = ((const char *)value->mv_data)[i];
        if (digit < '0' || digit > '9')
            return 0;
        format = format * 10 + (digit - '0');
    }
    return value->mv_size > 0 && value->mv_size <= 3 ? format : 0;
}

static int store_write_format(struct store *store, MDB_txn *txn)
{
    char text[4];
    int bytes = snprintf(text, sizeof(text), "%d", FORMAT_CURRENT);
    MDB_val key = {sizeof(format_key) - 1, (void *)format_key}, value = {(size_t)bytes, text};
    return store_error(store, mdb_put(txn, store->dbis[STORE_DB_META], &key, &value, 0),
                       "record the format");
}

/* The format of the ledger as it is on disk (a new one: the current), refusing what this
 * famledgerd cannot read or upgrade. */
static int store_check_format(struct store *store, MDB_txn *txn, int *format)
{
    *format = FORMAT_CURRENT;
    if (store->created)
        return 0;
    MDB_val key = {sizeof(format_key) - 1, (void *)format_key}, value;
    int rc = mdb_get(txn, store->dbis[STORE_DB_META], &key, &value);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_error(store, rc, "read the format");
    *format = rc == MDB_NOTFOUND ? 1 : store_read_format(&value);
    if (*format >= FORMAT_OLDEST && *format <= FORMAT_CURRENT)
        return 0;
    if (*format > FORMAT_CURRENT)
        log_error("store: %s/data.mdb is a ledger of format %d, written by a newer famledgerd "
                  "(this one reads formats %d to %d). Run it with the famledgerd that wrote it",
                  store->dir, *format, FORMAT_OLDEST, FORMAT_CURRENT);
    else if (*format == 0)
        log_error("store: %s/data.mdb records a format this famledgerd does not know (%.*s): "
                  "the ledger is damaged, or not a famledger ledger", store->dir,
                  (int)(value.mv_size < 16 ? value.mv_size : 16), (const char *)value.mv_data);
    else
        log_error("store: %s/data.mdb is a ledger of format %d, written before double entry "
                  "(this famledgerd reads format %d): its entries carry no postings. Keep it "
                  "with the famledgerd that wrote it, or start a new ledger (docs/OPERATIONS.md)",
                  store->dir, *format, FORMAT_CURRENT);
    return FL_ERR_INTERNAL;
}

/* The folded tables' counts kept in meta, into counts[tag] (all 0 when none are kept). */
static int by_seq_counts_read(struct store_txn *txn, uint64_t counts[BY_SEQ_TAG_MAX + 1])
{
    memset(counts, 0, (BY_SEQ_TAG_MAX + 1) * sizeof(*counts));
    MDB_val key = {sizeof(by_seq_counts_key) - 1, (void *)by_seq_counts_key}, value;
    int rc = mdb_get(txn->txn, txn->store->dbis[STORE_DB_META], &key, &value);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_error(txn->store, rc, "read the counts of by_seq");
    for (int tag = 1; tag <= BY_SEQ_TAG_MAX && (size_t)tag * 8 <= value.mv_size; tag++)
        counts[tag] = store_u64_decode((const uint8_t *)value.mv_data + (tag - 1) * 8);
    return 0;
}

/* At the commit of a top-level transaction that added or deleted records of a folded table:
 * its counts in meta, moved by as many. */
static int by_seq_counts_keep(struct store_txn *txn)
{
    bool moved = false;
    for (int tag = 1; tag <= BY_SEQ_TAG_MAX; tag++)
        moved |= txn->by_seq_added[tag] != 0;
    if (!moved)
        return 0;
    uint64_t counts[BY_SEQ_TAG_MAX + 1];
    int rc = by_seq_counts_read(txn, counts);
    if (rc)
        return rc;
    uint8_t bytes[BY_SEQ_TAG_MAX * 8];
    for (int tag = 1; tag <= BY_SEQ_TAG_MAX; tag++)
        store_u64_encode(bytes + (tag - 1) * 8, counts[tag] + (uint64_t)txn->by_seq_added[tag]);
    MDB_val key = {sizeof(by_seq_counts_key) - 1, (void *)by_seq_counts_key};
    MDB_val value = {sizeof(bytes), bytes};
    memset(txn->by_seq_added, 0, sizeof(txn->by_seq_added));
    return store_error(txn->store, mdb_put(txn->txn, txn->store->dbis[STORE_DB_META], &key,
                                           &value, 0), "keep the counts of by_seq");
}

/* A chain's link key: seq (u64 big-endian), then the chain's key. Returns its length. */
static size_t chain_key(uint8_t out[8 + PERSON_NO_BYTES_MAX], uint64_t seq, const void *key,
                        size_t key_bytes)
{
    store_u64_encode(out, seq);
    memcpy(out + 8, key, key_bytes);
    return 8 + key_bytes;
}

/* Format 3 to 4: each person's sorted seqs in account_entries become links, (seq, person) ->
 * the seq before, and account_entries is dropped. The chains' heads are already there: an
 * account's last_seq was always the last seq of its index (verify compares them). */
static int store_upgrade_links(struct store_txn *opening)
{
    struct store *store = opening->store;
    MDB_txn *txn = opening->txn;
    MDB_dbi entries;
    MDB_cursor *cursor = NULL;
    int rc = mdb_dbi_open(txn, account_entries_name, MDB_DUPSORT | MDB_DUPFIXED, &entries);
    if (rc == 0)
        rc = mdb_cursor_open(txn, entries, &cursor);
    if (rc) {
        log_error("store: the statement index of %s/data.mdb (%s) %s: the ledger is damaged. "
                  "Restore it from a backup (docs/OPERATIONS.md)", store->dir,
                  account_entries_name, rc == MDB_NOTFOUND ? "is missing" : mdb_strerror(rc));
        return FL_ERR_INTERNAL;
    }
    uint64_t started_ns = uv_hrtime(), links = 0, prev = 0;
    int linked = 0; /* a famledger status, where rc is LMDB's */
    MDB_val k, v, last_person = {0, NULL};
    MDB_stat stat = {0};
    mdb_stat(txn, entries, &stat);
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        if (links % 4096 == 0)
            upgrade_progress("linking the statements", links, stat.ms_entries);
        if (k.mv_size > PERSON_NO_BYTES_MAX || v.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (!last_person.mv_data || k.mv_size != last_person.mv_size ||
            memcmp(k.mv_data, last_person.mv_data, k.mv_size) != 0)
            prev = 0;
        last_person = k;
        uint64_t seq = store_u64_decode(v.mv_data);
        if (seq <= prev) {
            rc = MDB_CORRUPTED;
            break;
        }
        if ((linked = store_chain_link(opening, STORE_DB_ACCOUNT_LINKS, seq, k.mv_data,
                                       k.mv_size, prev)) != 0)
            break;
        prev = seq;
        links++;
    }
    mdb_cursor_close(cursor);
    if (rc == MDB_CORRUPTED) {
        log_error("store: a record of %s in %s/data.mdb is damaged: restore the ledger from a "
                  "backup", account_entries_name, store->dir);
        return FL_ERR_INTERNAL;
    }
    if (linked) /* said by the store */
        return linked;
    if (rc != MDB_NOTFOUND)
        return store_error(store, rc, "link the statements");
    if ((rc = mdb_drop(txn, entries, 1)) != 0)
        return store_error(store, rc, "drop the statement index");
    log_info("store: %llu statement lines linked in %llu ms", (unsigned long long)links,
             (unsigned long long)((uv_hrtime() - started_ns) / 1000000));
    return 0;
}

int store_retire(struct store_txn *txn, const char *name, bool required, store_visit visit,
                 void *context)
{
    struct store *store = txn->store;
    MDB_dbi dbi;
    MDB_cursor *cursor = NULL;
    int rc = mdb_dbi_open(txn->txn, name, 0, &dbi);
    if (rc == MDB_NOTFOUND && !required)
        return 0;
    if (rc == 0)
        rc = mdb_cursor_open(txn->txn, dbi, &cursor);
    if (rc) {
        log_error("store: table %s of %s/data.mdb %s: the ledger is damaged. Restore it from a "
                  "backup (docs/OPERATIONS.md)", name, store->dir,
                  rc == MDB_NOTFOUND ? "is missing" : mdb_strerror(rc));
        return FL_ERR_INTERNAL;
    }
    MDB_val k, v;
    MDB_stat stat = {0};
    mdb_stat(txn->txn, dbi, &stat);
    char what[64];
    snprintf(what, sizeof(what), "folding the table %s", name);
    int visited = 0;
    uint64_t rows = 0;
    for (rc = visit ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST) : MDB_NOTFOUND;
         rc == 0 && visited == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        if (rows++ % 4096 == 0)
            upgrade_progress(what, rows - 1, stat.ms_entries);
        struct store_bytes key = {k.mv_data, k.mv_size}, value = {v.mv_data, v.mv_size};
        visited = visit(context, &key, &value);
    }
    mdb_cursor_close(cursor);
    if (visited)
        return visited;
    if (rc != MDB_NOTFOUND)
        return store_error(store, rc, "read a retired table");
    return store_error(store, mdb_drop(txn->txn, dbi, 1), "drop a retired table");
}

/* Format 8 to 9: a record of a table folded into by_seq, put there with its tag. */
struct by_seq_move {
    struct store_txn *txn;
    enum store_db db;
};

static int by_seq_move(void *context, const struct store_bytes *key,
                       const struct store_bytes *value)
{
    const struct by_seq_move *move = context;
    return store_put(move->txn, move->db, key->data, key->size, value->data, value->size);
}

/* The tables folded into by_seq, each moved there from a table of its own and dropped (those
 * the ledger's format had; the upgrades after this make the rest in by_seq). */
static int store_upgrade_by_seq(struct store_txn *txn, int format)
{
    uint64_t started_ns = uv_hrtime(), before = txn->writes;
    for (int db = 0; db < STORE_DB_COUNT; db++) {
        if (!store_folded(db) || store_dbs[db].since > format)
            continue;
        struct by_seq_move move = {txn, db};
        int rc = store_retire(txn, store_dbs[db].name, true, by_seq_move, &move);
        if (rc)
            return rc;
    }
    /* The old trees' pages join LMDB's free list, which each commit then writes back until
     * they are reused: half the settlements a second under load, measured. A compacted copy
     * has no such list. */
    log_info("store: %llu records of the tables keyed by seq moved into one tree in %llu ms; "
             "until their old pages are reused, commits are slower: run on a compacted copy "
             "(ledgerctl backup, docs/OPERATIONS.md)", (unsigned long long)(txn->writes - before),
             (unsigned long long)((uv_hrtime() - started_ns) / 1000000));
    return 0;
}

/* Bring a ledger of format `format` to the current one, in the open transaction: the tables it
 * lacks were created by store_open_dbs; what changed shape is rebuilt here: the tables keyed by
 * seq moved into by_seq, the statement links, then the records above the store
 * (upgrade_records), then the day index dropped, and the folded tables' counts kept. */
static int store_upgrade(struct store *store, MDB_txn *txn, int format)
{
    static const char *const changes[] = {
        [2] = "the wallet, hold and aid limit tables; statements as chains; aid usage in the "
              "accounts; no day index; a merchant's day and a patient's settlements as chains; "
              "the tables keyed by seq in one tree; a journal; wallet statements as chains; "
              "emergency claims and calendars",
        [3] = "statements as chains; aid usage in the accounts; no day index; a merchant's day "
              "and a patient's settlements as chains; the tables keyed by seq in one tree; a "
              "journal; wallet statements as chains; emergency claims and calendars",
        [4] = "aid usage in the accounts; no day index; a merchant's day and a patient's "
              "settlements as chains; the tables keyed by seq in one tree; a journal; wallet "
              "statements as chains; emergency claims and calendars",
        [5] = "no day index; a merchant's day and a patient's settlements as chains; the "
              "tables keyed by seq in one tree; a journal; wallet statements as chains; "
              "emergency claims and calendars",
        [6] = "a merchant's day as a chain, its totals keyed day first; a patient's settlements "
              "as a chain; the tables keyed by seq in one tree; a journal; wallet statements "
              "as chains; emergency claims and calendars",
        [7] = "a patient's settlements as a chain; the tables keyed by seq in one tree; a "
              "journal; wallet statements as chains; emergency claims and calendars",
        [8] = "the tables keyed by seq in one tree; a journal; wallet statements as chains; "
              "emergency claims and calendars",
        [9] = "a journal of the accounts and references kept in memory; wallet statements as "
              "chains; emergency claims and calendars",
        [10] = "wallet statements as chains; emergency claims and calendars",
        [11] = "emergency claims and calendars",
    };
    _Static_assert(FORMAT_OLDEST == 2 && FORMAT_CURRENT == 12, "say what each upgrade changes");
    log_info("store: upgrading %s/data.mdb from format %d to %d (%s)", store->dir, format,
             FORMAT_CURRENT, changes[format]);
    char what[32];
    snprintf(what, sizeof(what), "format %d to %d", format, FORMAT_CURRENT);
    upgrade_progress(what, 0, 0);
    struct store_txn opening = {.store = store, .txn = txn};
    /* First, as the upgrades after it read and write them in by_seq. */
    int rc = format < BY_SEQ_SINCE ? store_upgrade_by_seq(&opening, format) : 0;
    if (rc == 0 && format < 4)
        rc = store_upgrade_links(&opening);
    if (rc == 0)
        rc = upgrade_records(&opening, format);
    /* Format 6: a day's entries are a run of the log; its index goes. */
    if (rc == 0 && format < 6)
        rc = store_retire(&opening, "day_entries", false, NULL, NULL);
    if (rc == 0)
        rc = by_seq_counts_keep(&opening);
    return rc ? rc : store_write_format(store, txn);
}

/* The journal's records, applied to the trees at a start. */
struct journal_apply {
    struct store *store;
    MDB_txn *txn;
    uint64_t records;
    bool put_failed; /* else a failure is a damaged record */
};

static int journal_apply_cb(void *context, const struct overlay_record *record)
{
    struct journal_apply *apply = context;
    MDB_dbi dbi = apply->store->dbis[deferred_dbs[record->table]];
    MDB_val k = {record->key_bytes, (void *)record->key};
    MDB_val v = {record->value_bytes, (void *)record->value};
    int rc = record->deleted ? mdb_del(apply->txn, dbi, &k, NULL)
                             : mdb_put(apply->txn, dbi, &k, &v, 0);
    apply->records++;
    if (rc == MDB_NOTFOUND && record->deleted)
        return 0;
    apply->put_failed = rc != 0;
    return store_error(apply->store, rc, "apply the journal");
}

/* A start: the changes to the accounts and references that were in memory when the last
 * famledgerd stopped, not yet in their trees, applied to them in commit order and the journal
 * emptied, in the opening transaction; memory then starts empty. */
static int store_journal_apply(struct store *store, MDB_txn *txn)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn, store->dbis[STORE_DB_JOURNAL], &cursor);
    if (rc)
        return store_error(store, rc, "read the journal");
    uint64_t started_ns = uv_hrtime(), commits = 0;
    struct journal_apply apply = {store, txn, 0, false};
    int applied = 0; /* a famledger status, where rc is LMDB's */
    MDB_val k, v;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0 && applied == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        /* A copy: the puts below may move what LMDB's pointers point at. */
        uint8_t *bytes = malloc(v.mv_size ? v.mv_size : 1);
        if (!bytes) {
            log_error("store: no memory for a record of the journal (%zu bytes)", v.mv_size);
            applied = FL_ERR_INTERNAL;
            break;
        }
        memcpy(bytes, v.mv_data, v.mv_size);
        applied = k.mv_size != 8 ? FL_ERR_INTERNAL
                                 : staged_journal_decode(bytes, v.mv_size, DEFERRED_TABLES,
                                                         STORE_KEY_MAX, journal_apply_cb, &apply);
        free(bytes);
        if (applied && !apply.put_failed)
            log_error("store: record %llu of the journal in %s/data.mdb is damaged: restore the "
                      "ledger from a backup (docs/OPERATIONS.md)",
                      (unsigned long long)(k.mv_size == 8 ? store_u64_decode(k.mv_data) : 0),
                      store->dir);
        commits++;
    }
    mdb_cursor_close(cursor);
    if (applied)
        return applied;
    if (rc != MDB_NOTFOUND)
        return store_error(store, rc, "read the journal");
    if (commits == 0)
        return 0;
    log_info("store: %llu changes to the accounts and references of %llu commits applied from "
             "the journal in %llu ms", (unsigned long long)apply.records,
             (unsigned long long)commits,
             (unsigned long long)((uv_hrtime() - started_ns) / 1000000));
    return store_error(store, mdb_drop(txn, store->dbis[STORE_DB_JOURNAL], 0),
                       "empty the journal");
}

static int store_open_dbs(struct store *store)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc)
        return store_error(store, rc, "begin");
    unsigned create = store->created ? MDB_CREATE : 0;
    /* The meta database first: its format says whether the others are ours to read. */
    int db = STORE_DB_META, format;
    rc = mdb_dbi_open(txn, store_dbs[db++].name, create, &store->dbis[STORE_DB_META]);
    if (rc == 0 && (rc = store_check_format(store, txn, &format)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    const char *name = by_seq_name;
    MDB_dbi by_seq = 0;
    if (rc == 0)
        rc = mdb_dbi_open(txn, by_seq_name, BY_SEQ_SINCE > format ? MDB_CREATE : create,
                          &by_seq);
    for (db = 0; db < STORE_DB_COUNT && rc == 0; db++) {
        name = store_dbs[db].name;
        unsigned create_db = store_dbs[db].since > format ? MDB_CREATE : create;
        if (store_folded(db))
            store->dbis[db] = by_seq;
        else
            rc = mdb_dbi_open(txn, name, store_dbs[db].flags | create_db, &store->dbis[db]);
    }
    if (rc) {
        mdb_txn_abort(txn);
        log_error("store: database '%s' of %s/data.mdb %s (%s): the ledger is damaged. Restore "
                  "it from a backup (docs/OPERATIONS.md)", name, store->dir,
                  rc == MDB_NOTFOUND ? "is missing" : "cannot be opened", mdb_strerror(rc));
        return FL_ERR_INTERNAL;
    }
    /* The journal first: an upgrade after format 10 reads the trees as they were at the stop. */
    if (!store->created && format >= JOURNAL_SINCE)
        rc = store_journal_apply(store, txn);
    if (rc == 0)
        rc = store->created               ? store_write_format(store, txn)
             : format < FORMAT_CURRENT ? store_upgrade(store, txn, format)
                                       : 0;
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    if (!store->created && format < FORMAT_CURRENT)
        upgrade_committing();
    return store_error(store, mdb_txn_commit(txn),
                       store->created ? "create databases"
                       : format < FORMAT_CURRENT ? "commit the upgrade (the ledger is as it was)"
                                                 : "open databases");
}

/* Whether `dir` holds nothing but the lock files a failed start may leave. */
static bool store_dir_empty(const char *dir)
{
    DIR *listing = opendir(dir);
    if (!listing)
        return true;
    bool empty = true;
    struct dirent *item;
    while (empty && (item = readdir(listing)) != NULL)
        empty = strcmp(item->d_name, ".") == 0 || strcmp(item->d_name, "..") == 0 ||
                strcmp(item->d_name, "famledgerd.lock") == 0 ||
                strcmp(item->d_name, "lock.mdb") == 0;
    closedir(listing);
    return empty;
}

/* A file of the ledger this process may not open for reading and writing: whose it is, where
 * LMDB would say only "open: Permission denied". A famledgerd run by hand as root leaves files
 * that the ledger's own user cannot open (lock.mdb, made again when it was missing). */
static int store_check_access(const char *path)
{
    if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) == 0 || errno == ENOENT)
        return 0;
    int error = errno;
    struct stat status;
    if (stat(path, &status) == 0)
        log_error("store: %s cannot be opened for reading and writing by uid %u (%s): it belongs "
                  "to uid %u, mode %04o. Give it back to the ledger's user (chown), or run "
                  "famledgerd as the user it belongs to", path, (unsigned)geteuid(),
                  strerror(error), (unsigned)status.st_uid, (unsigned)(status.st_mode & 07777));
    else
        log_error("store: %s: %s", path, strerror(error));
    return FL_ERR_INTERNAL;
}

/* Before LMDB opens it: data.mdb is there (or may be created), and not cut below the two
 * meta pages LMDB reads first. An empty data.mdb would otherwise become a new ledger. */
static int store_check_file(struct store *store, enum store_open_flags flags,
                            uint64_t *file_bytes)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/data.mdb", store->dir);
    struct stat status;
    if (stat(path, &status) != 0) {
        if (errno != ENOENT) {
            log_error("store: %s: %s", path, strerror(errno));
            return FL_ERR_INTERNAL;
        }
        enum store_open_flags create = flags & STORE_OPEN_CREATE_MASK;
        store->created = create == STORE_CREATE_INIT ||
                         (create == STORE_CREATE_IF_EMPTY && store_dir_empty(store->dir));
        if (store->created)
            return 0;
        log_error("store: %s holds files but no data.mdb: the ledger file is missing. Restore it "
                  "from a backup (docs/OPERATIONS.md); to start a new, empty ledger here "
                  "instead, run famledgerd --init", store->dir);
        return FL_ERR_INTERNAL;
    }
    if (!S_ISREG(status.st_mode)) {
        log_error("store: %s is not a file: the ledger file is missing. Restore it from a backup "
                  "(docs/OPERATIONS.md)", path);
        return FL_ERR_INTERNAL;
    }
    char lock_path[4200];
    snprintf(lock_path, sizeof(lock_path), "%s/lock.mdb", store->dir);
    if (store_check_access(path) != 0 || store_check_access(lock_path) != 0)
        return FL_ERR_INTERNAL;
    *file_bytes = (uint64_t)status.st_size;
    long page_bytes = sysconf(_SC_PAGESIZE);
    if (*file_bytes < 2 * (uint64_t)page_bytes) {
        log_error("store: %s is truncated (%llu bytes, less than its two meta pages): the ledger "
                  "is damaged. Restore it from a backup (docs/OPERATIONS.md)", path,
                  (unsigned long long)*file_bytes);
        return FL_ERR_INTERNAL;
    }
    return 0;
}

/* After LMDB read the meta pages, before any other page: the file must hold every page the
 * newest meta says is in use, or reading one would kill the process with SIGBUS. */
static int store_check_size(struct store *store, uint64_t file_bytes)
{
    if (store->created)
        return 0;
    MDB_envinfo info;
    MDB_stat status;
    mdb_env_info(store->env, &info);
    mdb_env_stat(store->env, &status);
    uint64_t needed_bytes = ((uint64_t)info.me_last_pgno + 1) * status.ms_psize;
    if (file_bytes >= needed_bytes)
        return 0;
    log_error("store: %s/data.mdb is truncated (%llu bytes, but its pages in use end at %llu): "
              "the ledger is damaged. Restore it from a backup (docs/OPERATIONS.md)", store->dir,
              (unsigned long long)file_bytes, (unsigned long long)needed_bytes);
    return FL_ERR_INTERNAL;
}

/* Filesystems a ledger must not live on. lmdb.h: "Do not use LMDB databases on remote
 * filesystems, even between processes on the same host. This breaks flock() on some OSes,
 * possibly memory map sync, and certainly sync between programs on different hosts." A second
 * host mounting the same share could run a second famledgerd on the ledger, which the
 * directory's flock would not stop (NFS with local_lock), and an acknowledged commit would be
 * durable only as far as the server's export options say. */
static const struct {
    unsigned long magic;
    const char *name;
} store_remote_filesystems[] = {
    {NFS_SUPER_MAGIC, "NFS"},
    {SMB_SUPER_MAGIC, "SMB"},
    {CIFS_SUPER_MAGIC, "CIFS (SMB)"},
    {SMB2_SUPER_MAGIC, "SMB2"},
    {FUSE_SUPER_MAGIC, "FUSE (sshfs, GlusterFS, s3fs, ...)"},
    {V9FS_MAGIC, "9P"},
    {CEPH_SUPER_MAGIC, "CephFS"},
    {AFS_SUPER_MAGIC, "AFS"},
    {AFS_FS_MAGIC, "AFS"},
    {CODA_SUPER_MAGIC, "Coda"},
    {OCFS2_SUPER_MAGIC, "OCFS2"},
    {0x01161970, "GFS2"},
};

int store_filesystem_check(const char *dir)
{
    /* The directory, or the nearest of its parents that exists: where it would be made. */
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    struct statfs status;
    int rc;
    while ((rc = statfs(path, &status)) != 0 && errno == ENOENT && strcmp(path, ".") != 0 &&
           strcmp(path, "/") != 0) {
        char *slash = strrchr(path, '/');
        if (!slash)
            snprintf(path, sizeof(path), ".");
        else if (slash == path)
            path[1] = '\0';
        else
            *slash = '\0';
    }
    if (rc != 0) {
        log_error("store: cannot tell the filesystem of %s: %s", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof(store_remote_filesystems) / sizeof(*store_remote_filesystems);
         i++)
        if ((unsigned long)status.f_type == store_remote_filesystems[i].magic) {
            log_error("store: %s is on %s, a network or shared filesystem: LMDB's locks, memory "
                      "map and syncs are not sound there, and a second host could run a second "
                      "famledgerd on the same ledger. Keep the ledger on a local disk "
                      "(docs/OPERATIONS.md)", dir, store_remote_filesystems[i].name);
            return -1;
        }
    if ((unsigned long)status.f_type == TMPFS_MAGIC || (unsigned long)status.f_type == RAMFS_MAGIC)
        log_warn("store: %s is in memory (tmpfs): the ledger, and every reply that said it was "
                 "durable, is lost at the next reboot. Use it for tests only", dir);
    return 0;
}

static int mkdir_parents(const char *dir)
{
    char path[4096];
    if (strlen(dir) >= sizeof(path))
        return -1;
    strcpy(path, dir);
    for (char *slash = path + 1; *slash; slash++) {
        if (*slash != '/')
            continue;
        *slash = '\0';
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    return mkdir(path, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

int store_open(const char *dir, uint64_t map_bytes, uint64_t map_bytes_max,
               enum store_open_flags flags, struct store **out)
{
    if (mkdir_parents(dir) != 0) {
        log_error("store: cannot create %s: %s", dir, strerror(errno));
        return FL_ERR_INTERNAL;
    }
    struct store *store = calloc(1, sizeof(*store));
    if (!store)
        return FL_ERR_INTERNAL;
    store->map_bytes = map_bytes;
    store->map_bytes_max = map_bytes_max;
    store->dir_fd = store->lock_fd = -1;
    snprintf(store->dir, sizeof(store->dir), "%s", dir);
    uint64_t file_bytes = 0;
    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
    /* A stream of short readers must not starve the resize. */
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&store->resize_lock, &attributes);
    pthread_rwlockattr_destroy(&attributes);

    int rc = store_lock_dir(dir, &store->dir_fd, &store->lock_fd);
    if (rc == 0)
        rc = store_check_file(store, flags, &file_bytes);
    if (rc == 0)
        rc = store_error(store, mdb_env_create(&store->env), "create environment");
    if (rc == 0)
        rc = store_error(store, mdb_env_set_maxdbs(store->env, STORE_DBS_MAX), "set maxdbs");
    if (rc == 0)
        rc = store_error(store, mdb_env_set_mapsize(store->env, map_bytes), "set map size");
    store->readahead = !(flags & STORE_OPEN_NO_READAHEAD);
    store->page_bytes = (size_t)sysconf(_SC_PAGESIZE);
    /* MDB_NOTLS: read transactions belong to requests, not threads. Syncs stay on: a reply
     * that says OK follows a commit that reached the disk. */
    unsigned env_flags = MDB_NOTLS | (store->readahead ? 0 : MDB_NORDAHEAD);
    if (rc == 0)
        rc = store_error(store, mdb_env_open(store->env, dir, env_flags, 0640), "open");
    if (rc == 0)
        rc = store_check_size(store, file_bytes);
    if (rc == 0) {
        MDB_envinfo info;
        mdb_env_info(store->env, &info);
        store->map_bytes = info.me_mapsize;
        rc = store_open_dbs(store);
        /* An upgrade writes in the opening transaction, and may need a larger map: grow it as
         * a commit would, and open again (the failed transaction left nothing). */
        while (rc == FL_ERR_OUT_OF_SPACE && store->map_full && store_grow(store) == 0)
            rc = store_open_dbs(store);
        if (rc == FL_ERR_OUT_OF_SPACE && store->map_full)
            log_error("store: no room to open %s/data.mdb: the map is full at map_mib_max (%llu "
                      "MiB); raise it. Nothing was changed", dir,
                      (unsigned long long)(store->map_bytes_max >> 20));
        else if (rc == FL_ERR_OUT_OF_SPACE)
            log_error("store: no room to open %s/data.mdb: the disk is full. Nothing was "
                      "changed; free some space and start again", dir);
    }
    if (rc != 0) {
        store_close(store);
        return rc;
    }
    *out = store;
    return 0;
}

bool store_created(const struct store *store)
{
    return store->created;
}

const char *store_dir(const struct store *store)
{
    return store->dir;
}

int store_copy(struct store *store, const char *dir)
{
    int rc = store_error(store, mdb_env_copy2(store->env, dir, MDB_CP_COMPACT), "copy");
    if (rc)
        return rc;
    char path[4200];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return store_error(store, errno, "open the copy");
    /* LMDB creates the copy as 0666 less the umask, world-readable under a shell's 022: the
     * ledger's own mode, since it holds every insured person's number and name. A filesystem
     * without modes (a FAT stick, some shares) still takes the backup. */
    if (fchmod(fd, 0640) != 0)
        log_warn("store: cannot make %s readable by its owner and group only (%s): see who can "
                 "read it", path, strerror(errno));
    rc = fsync(fd) == 0 ? 0 : store_error(store, errno, "sync the copy");
    close(fd);
    return rc;
}

int store_meta_peek(const char *dir, const char *key, void *out, size_t *out_bytes)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    struct stat status;
    if (stat(path, &status) != 0)
        return errno == ENOENT ? 0 : -1;
    /* Without lock.mdb no daemon runs here (it keeps one), and none is made: made by root
     * running this check, it would be root's, and the daemon's user could not open the ledger. */
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    unsigned lock = access(path, F_OK) == 0 ? 0 : MDB_NOLOCK;
    MDB_env *env;
    if (mdb_env_create(&env) != 0)
        return -1;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_env_set_maxdbs(env, STORE_DBS_MAX);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS | lock, 0640);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == 0)
        rc = mdb_get(txn, meta, &k, &v);
    int found = rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : -1;
    if (found == 1) {
        *out_bytes = v.mv_size < *out_bytes ? v.mv_size : *out_bytes;
        memcpy(out, v.mv_data, *out_bytes);
    }
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return found;
}

int store_db_find(const char *name)
{
    for (int db = 0; db < STORE_DB_COUNT; db++)
        if (strcmp(store_dbs[db].name, name) == 0)
            return db;
    return -1;
}

/* A record of `db` was deleted: one less to count when it is a folded table. */
static void by_seq_deleted(struct store_txn *txn, enum store_db db)
{
    if (store_folded(db))
        txn->by_seq_added[store_dbs[db].tag]--;
}

int store_delete(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes)
{
    txn_wrote(txn, db);
    int table = store_deferred_table(txn->store, db);
    if (table >= 0) {
        struct store_bytes value;
        int found = store_get(txn, db, key, key_bytes, &value);
        if (found != 1)
            return found;
        int rc = deferred_put(txn, table, key, key_bytes, NULL, 0, true);
        return rc ? rc : 1;
    }
    uint8_t buffer[STORE_KEY_MAX];
    MDB_val k;
    if (!store_key(db, key, key_bytes, buffer, &k))
        return 0;
    txn->writes++;
    int rc = mdb_del(txn->txn, txn->store->dbis[db], &k, NULL);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_error(txn->store, rc, "delete");
    by_seq_deleted(txn, db);
    return 1;
}

int store_delete_first(struct store_txn *txn, enum store_db db)
{
    REQUIRE(store_deferred_table(txn->store, db) < 0); /* a tool's, on a stopped ledger */
    txn_wrote(txn, db);
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbis[db], &cursor);
    if (rc)
        return store_error(txn->store, rc, "cursor");
    MDB_val k, v;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (rc == 0 && !store_key_of(db, &k))
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    if (rc == 0) {
        txn->writes++;
        rc = mdb_cursor_del(cursor, 0);
        if (rc == 0)
            by_seq_deleted(txn, db);
    }
    mdb_cursor_close(cursor);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? store_error(txn->store, rc, "delete") : 1;
}

struct store *store_of(struct store_txn *txn)
{
    return txn->store;
}

int store_last(struct store_txn *txn, enum store_db db, struct store_bytes *key)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbis[db], &cursor);
    if (rc)
        return store_error(txn->store, rc, "cursor");
    MDB_val k, v;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
    mdb_cursor_close(cursor);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_error(txn->store, rc, "last key");
    *key = (struct store_bytes){k.mv_data, k.mv_size};
    return 1;
}

void store_close(struct store *store)
{
    if (!store)
        return;
    if (store->env)
        mdb_env_close(store->env);
    if (store->lock_fd >= 0)
        close(store->lock_fd);
    if (store->dir_fd >= 0)
        close(store->dir_fd);
    store_deferred_free(store->deferred);
    pthread_rwlock_destroy(&store->resize_lock);
    free(store);
}

/* ---- The accounts and references kept in memory (store_defer_state) ---- */

/* The number in the overlay of `db` when it is kept in memory, else -1. */
static int store_deferred_table(const struct store *store, enum store_db db)
{
    if (!store->deferred)
        return -1;
    for (size_t table = 0; table < DEFERRED_TABLES; table++)
        if (deferred_dbs[table] == db)
            return (int)table;
    return -1;
}

int store_defer_state(struct store *store, uint64_t sweep_ms)
{
    REQUIRE(!store->deferred && sweep_ms > 0);
    struct store_deferred *deferred = calloc(1, sizeof(*deferred));
    if (!deferred || overlay_new(&deferred->overlay) != 0 ||
        staged_new(&deferred->staged) != 0) {
        if (deferred)
            overlay_free(deferred->overlay);
        free(deferred);
        return FL_ERR_INTERNAL;
    }
    deferred->sweep_ns = sweep_ms * 1000000;
    deferred->sweep_started_ns = uv_hrtime();
    /* Readers that register from now on see every commit so far. */
    overlay_committed(deferred->overlay, store_txnid(store));
    store->deferred = deferred;
    return 0;
}

static void store_deferred_free(struct store_deferred *deferred)
{
    if (!deferred)
        return;
    overlay_free(deferred->overlay);
    staged_free(deferred->staged);
    free(deferred->records);
    free(deferred);
}

void store_deferred_stats(struct store *store, struct store_deferred_stats *out)
{
    *out = (struct store_deferred_stats){0};
    const struct store_deferred *deferred = store->deferred;
    if (!deferred)
        return;
    out->records = atomic_load_explicit(&deferred->stats_records, memory_order_relaxed);
    out->dirty = atomic_load_explicit(&deferred->stats_dirty, memory_order_relaxed);
    out->sweep_left = atomic_load_explicit(&deferred->stats_sweep_left, memory_order_relaxed);
}

/* On the writer, after a commit: the counts other threads may read. */
static void store_deferred_count(struct store_deferred *deferred)
{
    atomic_store_explicit(&deferred->stats_records, overlay_records(deferred->overlay),
                          memory_order_relaxed);
    atomic_store_explicit(&deferred->stats_dirty, overlay_dirty(deferred->overlay),
                          memory_order_relaxed);
    atomic_store_explicit(&deferred->stats_sweep_left, overlay_sweep_left(deferred->overlay),
                          memory_order_relaxed);
}

/* The key as the transaction sees it in memory: *in_memory false when memory does not hold it
 * (the tree is right); else 1 and *value, or 0 when it was deleted. < 0 error. */
static int deferred_get(struct store_txn *txn, int table, const void *key, size_t key_bytes,
                        struct store_bytes *value, bool *in_memory)
{
    struct store_deferred *deferred = txn->store->deferred;
    struct overlay_record record;
    *in_memory = false;
    if (!txn->read_only) {
        /* The writer: its own changes, else the newest version, read in place. */
        *in_memory = staged_get(deferred->staged, (uint8_t)table, key, key_bytes, &record) ||
                     overlay_latest(deferred->overlay, (uint8_t)table, key, key_bytes, &record);
        if (*in_memory && !record.deleted)
            *value = (struct store_bytes){record.value, record.value_bytes};
        return *in_memory && !record.deleted;
    }
    if (txn->viewed) { /* a snapshot's view holds what memory held at its start */
        const struct overlay_record *found = overlay_view_find(txn->views[table], key, key_bytes);
        *in_memory = found != NULL;
        if (!found || found->deleted)
            return 0;
        *value = (struct store_bytes){found->value, found->value_bytes};
        return 1;
    }
    if (txn->copy_count == txn->copy_capacity) {
        size_t capacity = txn->copy_capacity ? txn->copy_capacity * 2 : 8;
        uint8_t **copies = realloc(txn->copies, capacity * sizeof(*copies));
        if (!copies)
            return FL_ERR_INTERNAL;
        txn->copies = copies;
        txn->copy_capacity = capacity;
    }
    uint8_t *copy;
    size_t bytes;
    int rc = overlay_get(deferred->overlay, txn->snapshot, (uint8_t)table, key, key_bytes, &copy,
                         &bytes);
    if (rc < 0)
        return rc;
    *in_memory = rc != 0;
    if (rc != 1)
        return 0;
    txn->copies[txn->copy_count++] = copy; /* freed when the reader ends */
    *value = (struct store_bytes){copy, bytes};
    return 1;
}

/* A put or delete of a table kept in memory, in the writer's transaction. */
static int deferred_put(struct store_txn *txn, int table, const void *key, size_t key_bytes,
                        const void *value, size_t value_bytes, bool deleted)
{
    /* What LMDB would refuse, refused now rather than when the sweep writes it. */
    if (key_bytes == 0 || key_bytes > STORE_KEY_MAX)
        return store_error(txn->store, MDB_BAD_VALSIZE, "put");
    struct overlay_record record = {.table = (uint8_t)table,
                                    .key = key,
                                    .key_bytes = key_bytes,
                                    .value = deleted ? NULL : value,
                                    .value_bytes = deleted ? 0 : value_bytes,
                                    .deleted = deleted};
    txn->writes++;
    return staged_put(txn->store->deferred->staged, &txn->staged, txn->depth, &record);
}

/* The commit's changes, appended to the journal as one record under the commit's id. */
static int journal_append(struct store_txn *txn, uint64_t tag,
                          const struct overlay_record *records, size_t count)
{
    uint8_t key_bytes[8];
    store_u64_encode(key_bytes, tag);
    MDB_val k = {sizeof(key_bytes), key_bytes};
    MDB_val v = {staged_journal_bytes(records, count), NULL};
    /* Appended: every id is larger than the last committed one's. */
    int rc = mdb_put(txn->txn, txn->store->dbis[STORE_DB_JOURNAL], &k, &v,
                     MDB_APPEND | MDB_RESERVE);
    if (rc == 0)
        staged_journal_encode(records, count, v.mv_data);
    return store_error(txn->store, rc, "append to the journal");
}

/* The journal's records up to `limit`, whose changes are all in the trees, dropped. */
static int journal_drop(struct store_txn *txn, uint64_t limit)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbis[STORE_DB_JOURNAL], &cursor);
    if (rc)
        return store_error(txn->store, rc, "drop from the journal");
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)) == 0) {
        if (k.mv_size != 8 || store_u64_decode(k.mv_data) > limit)
            break;
        if ((rc = mdb_cursor_del(cursor, 0)) != 0)
            break;
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : store_error(txn->store, rc, "drop from the journal");
}

/* How a commit carries the sweep: a commit of requests only when they wrote (a refused request
 * costs no flush); an idle commit at the sweep's pace whatever it wrote; the last commits before
 * a stop as much as they can, a new sweep starting whatever the interval. */
enum sweep_pace { SWEEP_RIDE, SWEEP_IDLE, SWEEP_FINISH };

/* How many records of the sweep this commit writes: its share of the interval gone by since the
 * sweep started, less what earlier commits wrote. A new sweep starts once the last has ended and
 * an interval has passed since it started, over the records dirty then: the longer they gather,
 * the more of them share each leaf written (docs/DECISIONS.md, twenty-third part). */
static size_t sweep_share(struct store_deferred *deferred, enum sweep_pace pace)
{
    size_t left = overlay_sweep_left(deferred->overlay);
    uint64_t now_ns = uv_hrtime(), elapsed_ns = now_ns - deferred->sweep_started_ns;
    if (left == 0) {
        if (pace != SWEEP_FINISH && elapsed_ns < deferred->sweep_ns)
            return 0;
        deferred->sweep_started_ns = now_ns;
        deferred->sweep_total = 0; /* known once it starts (sweep_write) */
        return pace == SWEEP_FINISH ? SWEEP_SHARE_MAX : SWEEP_SHARE_MIN;
    }
    if (pace == SWEEP_FINISH)
        return SWEEP_SHARE_MAX;
    uint64_t elapsed_us = elapsed_ns / 1000, interval_us = deferred->sweep_ns / 1000;
    uint64_t due = elapsed_us >= interval_us ? deferred->sweep_total
                   : (uint64_t)deferred->sweep_total * elapsed_us / interval_us;
    uint64_t taken = deferred->sweep_total - left;
    uint64_t share = due > taken ? due - taken : 0;
    return share < SWEEP_SHARE_MIN ? SWEEP_SHARE_MIN
           : share > SWEEP_SHARE_MAX ? SWEEP_SHARE_MAX
                                     : (size_t)share;
}

/* The sweep's share of this commit, written to the trees: their newest versions, in key order.
 * *count: how many, for overlay_sweep_written once the commit is durable. */
static int sweep_write(struct store_txn *txn, enum sweep_pace pace, size_t *count)
{
    struct store_deferred *deferred = txn->store->deferred;
    *count = 0;
    size_t share = sweep_share(deferred, pace);
    if (share == 0)
        return 0;
    bool starting = overlay_sweep_left(deferred->overlay) == 0;
    int rc = overlay_sweep_next(deferred->overlay, share, deferred->share, count);
    if (rc == 0 && *count == 0 && pace == SWEEP_FINISH && overlay_sweep_left(deferred->overlay)) {
        overlay_sweep_ready(deferred->overlay); /* a stop waits for the sort */
        rc = overlay_sweep_next(deferred->overlay, share, deferred->share, count);
    }
    if (rc)
        return rc;
    if (starting)
        deferred->sweep_total = overlay_sweep_left(deferred->overlay);
    /* Paced from its first share: while its records are sorted, none is given, and time
     * counted then would be written in shares of SWEEP_SHARE_MAX once they are. */
    if (*count == 0 && overlay_sweep_left(deferred->overlay) > 0)
        deferred->sweep_started_ns = uv_hrtime();
    for (size_t i = 0; i < *count && rc == 0; i++) {
        const struct overlay_record *record = &deferred->share[i];
        MDB_dbi dbi = txn->store->dbis[deferred_dbs[record->table]];
        MDB_val k = {record->key_bytes, (void *)record->key};
        MDB_val v = {record->value_bytes, (void *)record->value};
        rc = record->deleted ? mdb_del(txn->txn, dbi, &k, NULL) : mdb_put(txn->txn, dbi, &k, &v, 0);
        if (rc == MDB_NOTFOUND && record->deleted)
            rc = 0;
    }
    return store_error(txn->store, rc, "write the sweep's share");
}

/* Room for a commit's `count` changes to publish. */
static int records_reserve(struct store_deferred *deferred, size_t count)
{
    if (count <= deferred->records_capacity)
        return 0;
    size_t capacity = deferred->records_capacity ? deferred->records_capacity : 256;
    while (capacity < count)
        capacity *= 2;
    struct overlay_record *records = realloc(deferred->records, capacity * sizeof(*records));
    if (!records)
        return FL_ERR_INTERNAL;
    deferred->records = records;
    deferred->records_capacity = capacity;
    return 0;
}

/* A top-level commit with tables kept in memory: its changes to them journaled and published
 * under the commit's id, a share of the sweep written at `pace`, the journal dropped behind the
 * last sweep that ended; then LMDB's commit, and the overlay told how it went. */
static int store_commit_deferred(struct store_txn *txn, enum sweep_pace pace)
{
    struct store *store = txn->store;
    struct store_deferred *deferred = store->deferred;
    uint64_t tag = mdb_txn_id(txn->txn);
    size_t count = staged_count(txn->staged), swept = 0;
    bool published = false;
    int rc = by_seq_counts_keep(txn);
    if (rc == 0 && count > 0 && (rc = records_reserve(deferred, count)) == 0) {
        staged_records(txn->staged, deferred->records);
        rc = journal_append(txn, tag, deferred->records, count);
        if (rc == 0)
            published = (rc = overlay_publish(deferred->overlay, tag, deferred->records,
                                              count)) == 0;
    }
    /* A transaction of requests that wrote nothing commits nothing, as without the setting: no
     * sweep rides on it, so that a refused request or an idle check of the timers costs no
     * flush. */
    bool wrote = txn->writes > 0 || pace != SWEEP_RIDE;
    if (rc == 0 && wrote)
        rc = sweep_write(txn, pace, &swept);
    /* Records up to the covered id are in the trees; ids before this one's are all committed
     * (a failed commit's id is this one's, given again). */
    uint64_t covered = overlay_sweep_covered(deferred->overlay);
    uint64_t drop = wrote ? (covered < tag - 1 ? covered : tag - 1) : 0;
    if (rc == 0 && drop > deferred->journal_dropped)
        rc = journal_drop(txn, drop);
    if (rc)
        mdb_txn_abort(txn->txn);
    else
        rc = store_error(store, mdb_txn_commit(txn->txn), "commit");
    staged_clear(deferred->staged);
    if (rc) {
        if (published)
            overlay_withdraw(deferred->overlay);
        return rc;
    }
    txn_gens_bump(txn);
    if (drop > deferred->journal_dropped)
        deferred->journal_dropped = drop;
    /* A commit that changed no page takes no id: the next is given the same. */
    bool took_id = store_txnid(store) == tag;
    if (count > 0)
        deferred->journal_last = tag;
    if (took_id)
        overlay_committed(deferred->overlay, tag);
    if (swept)
        overlay_sweep_written(deferred->overlay, took_id ? tag : tag - 1);
    store_deferred_count(deferred);
    return 0;
}

static int store_txn_begin(struct store *store, MDB_txn *parent, unsigned flags,
                           struct store_txn **out)
{
    struct store_txn *txn = malloc(sizeof(*txn));
    if (!txn)
        return FL_ERR_INTERNAL;
    *txn = (struct store_txn){.store = store, .read_only = (flags & MDB_RDONLY) != 0};
    int rc = mdb_txn_begin(store->env, parent, flags, &txn->txn);
    if (rc) {
        free(txn);
        return store_error(store, rc, "begin transaction");
    }
    *out = txn;
    return 0;
}

int store_read_begin(struct store *store, struct store_txn **out)
{
    /* Registered first: then no version this snapshot may need is dropped before it begins. */
    uint64_t registration = 0;
    if (store->deferred && overlay_reader_begin(store->deferred->overlay, &registration) != 0)
        return FL_ERR_INTERNAL;
    pthread_rwlock_rdlock(&store->resize_lock);
    int rc = store_txn_begin(store, NULL, MDB_RDONLY, out);
    if (rc) {
        pthread_rwlock_unlock(&store->resize_lock);
        if (store->deferred)
            overlay_reader_end(store->deferred->overlay, registration);
        return rc;
    }
    (*out)->registered = store->deferred != NULL;
    (*out)->registration = registration;
    (*out)->snapshot = mdb_txn_id((*out)->txn);
    return 0;
}

static int store_view(struct store_txn *txn, int table);

int store_snapshot_begin(struct store *store, struct store_txn **out)
{
    int rc = store_read_begin(store, out);
    if (rc || !store->deferred)
        return rc;
    struct store_txn *txn = *out;
    for (int table = 0; table < (int)DEFERRED_TABLES && rc == 0; table++)
        rc = store_view(txn, table);
    if (rc) {
        store_read_end(txn);
        *out = NULL;
        return rc;
    }
    /* Its views answer for memory from now on: nothing is kept for it any more. */
    overlay_reader_end(store->deferred->overlay, txn->registration);
    txn->registered = false;
    txn->viewed = true;
    return 0;
}

void store_read_end(struct store_txn *txn)
{
    REQUIRE(txn->read_only);
    struct store *store = txn->store;
    mdb_txn_abort(txn->txn);
    for (size_t i = 0; i < txn->copy_count; i++)
        free(txn->copies[i]);
    free(txn->copies);
    for (size_t table = 0; table < DEFERRED_TABLES; table++)
        overlay_view_free(txn->views[table]);
    if (txn->registered)
        overlay_reader_end(store->deferred->overlay, txn->registration);
    free(txn);
    pthread_rwlock_unlock(&store->resize_lock);
}

int store_write_begin(struct store *store, struct store_txn **out)
{
    return store_txn_begin(store, NULL, 0, out);
}

int store_nested_begin(struct store_txn *parent, struct store_txn **out)
{
    int rc = store_txn_begin(parent->store, parent->txn, 0, out);
    if (rc == 0) {
        (*out)->parent = parent;
        (*out)->depth = parent->depth + 1;
    }
    return rc;
}

int store_commit(struct store_txn *txn)
{
    REQUIRE(!txn->read_only);
    struct store_deferred *deferred = txn->store->deferred;
    if (deferred && !txn->parent) {
        int rc = store_commit_deferred(txn, SWEEP_RIDE);
        free(txn);
        return rc;
    }
    int rc = txn->parent ? 0 : by_seq_counts_keep(txn);
    if (rc)
        mdb_txn_abort(txn->txn);
    else
        rc = store_error(txn->store, mdb_txn_commit(txn->txn), "commit");
    if (rc == 0 && !txn->parent)
        txn_gens_bump(txn);
    if (rc == 0 && txn->parent) {
        txn->parent->writes += txn->writes;
        for (int tag = 1; tag <= BY_SEQ_TAG_MAX; tag++)
            txn->parent->by_seq_added[tag] += txn->by_seq_added[tag];
        for (unsigned slot = 0; slot < STORE_TALLY_SLOTS; slot++)
            txn->parent->tally[slot] += txn->tally[slot];
        if (deferred)
            staged_level_commit(&txn->staged, txn->depth, &txn->parent->staged);
    } else if (deferred) {
        staged_level_abort(&txn->staged);
    }
    free(txn);
    return rc;
}

/* When the sweep or the journal next needs a commit of its own, in ms from now: UINT64_MAX when
 * every change is in the trees and the journal is empty. */
static uint64_t store_sweep_work_ms(const struct store_deferred *deferred)
{
    if (deferred->journal_last <= deferred->journal_dropped)
        return UINT64_MAX;
    if (overlay_sweep_left(deferred->overlay) > 0 ||
        overlay_sweep_covered(deferred->overlay) >= deferred->journal_last)
        return 0;
    uint64_t elapsed_ns = uv_hrtime() - deferred->sweep_started_ns;
    return elapsed_ns >= deferred->sweep_ns
               ? 0
               : (deferred->sweep_ns - elapsed_ns + 999999) / 1000000; /* the next sweep */
}

/* Records an idle writer forgets at a time, between commits (overlay_tidy): about 4 ms. */
#define IDLE_TIDY_SHARE 8192
/* How often an idle writer looks again while a reader holds records back: nothing tells it
 * when the reader ends. */
#define IDLE_TIDY_LATER_MS 1000

uint64_t store_idle_work_ms(const struct store *store)
{
    const struct store_deferred *deferred = store->deferred;
    if (!deferred)
        return UINT64_MAX;
    uint64_t sweep_ms = store_sweep_work_ms(deferred);
    if (sweep_ms == 0)
        return 0;
    /* Records a long snapshot held back, waiting to be forgotten: their memory goes back now,
     * not at the next requests' commits. */
    bool later;
    if (overlay_tidy_due(deferred->overlay, &later))
        return 0;
    return later && sweep_ms > IDLE_TIDY_LATER_MS ? IDLE_TIDY_LATER_MS : sweep_ms;
}

bool store_idle_finished(const struct store *store)
{
    return !store->deferred || store_sweep_work_ms(store->deferred) == UINT64_MAX;
}

int store_idle_commit(struct store *store, bool finish)
{
    REQUIRE(store->deferred);
    uint64_t sweep_ms = store_sweep_work_ms(store->deferred);
    if (sweep_ms > 0 && !finish) { /* nothing to commit yet: forget a share of what waits */
        overlay_tidy(store->deferred->overlay, IDLE_TIDY_SHARE);
        store_deferred_count(store->deferred);
        return 0;
    }
    if (sweep_ms == UINT64_MAX)
        return 0; /* a stop with everything in the trees: memory is freed with the store */
    struct store_txn *txn;
    int rc = store_write_begin(store, &txn);
    if (rc)
        return rc;
    rc = store_commit_deferred(txn, finish ? SWEEP_FINISH : SWEEP_IDLE);
    free(txn);
    return rc;
}

uint64_t store_txn_writes(const struct store_txn *txn)
{
    return txn->writes;
}

void store_txn_tally(struct store_txn *txn, unsigned slot)
{
    txn->tally[slot < STORE_TALLY_SLOTS ? slot : 0]++;
}

const uint32_t *store_txn_tallies(const struct store_txn *txn)
{
    return txn->tally;
}

uint64_t store_used_bytes(struct store *store)
{
    MDB_envinfo info;
    MDB_stat status;
    mdb_env_info(store->env, &info);
    mdb_env_stat(store->env, &status);
    return ((uint64_t)info.me_last_pgno + 1) * status.ms_psize;
}

uint64_t store_txnid(struct store *store)
{
    MDB_envinfo info;
    mdb_env_info(store->env, &info);
    return (uint64_t)info.me_last_txnid;
}

void store_abort(struct store_txn *txn)
{
    REQUIRE(!txn->read_only);
    struct store_deferred *deferred = txn->store->deferred;
    if (deferred && txn->parent)
        staged_level_abort(&txn->staged);
    else if (deferred)
        staged_clear(deferred->staged);
    mdb_txn_abort(txn->txn);
    free(txn);
}

bool store_file_unlinked(struct store *store)
{
    mdb_filehandle_t fd;
    struct stat status;
    return mdb_env_get_fd(store->env, &fd) == 0 && fstat(fd, &status) == 0 &&
           status.st_nlink == 0;
}

bool store_map_full(const struct store *store)
{
    return store->map_full;
}

void store_map_full_clear(struct store *store)
{
    store->map_full = false;
}

uint64_t store_map_bytes(const struct store *store)
{
    return store->map_bytes;
}

int store_grow(struct store *store)
{
    if (store->map_bytes >= store->map_bytes_max)
        return FL_ERR_OUT_OF_SPACE;
    uint64_t map_bytes = store->map_bytes * 2;
    if (map_bytes > store->map_bytes_max)
        map_bytes = store->map_bytes_max;
    pthread_rwlock_wrlock(&store->resize_lock);
    int rc = store_error(store, mdb_env_set_mapsize(store->env, map_bytes), "grow map");
    pthread_rwlock_unlock(&store->resize_lock);
    if (rc)
        return rc;
    log_info("store: map grown from %llu to %llu MiB", (unsigned long long)(store->map_bytes >> 20),
             (unsigned long long)(map_bytes >> 20));
    store->map_bytes = map_bytes;
    store->map_full = false;
    return 0;
}

/* ---- Reads made ahead (store.h) ---- */

/* Whether reads of `db` are recorded and taken: a table kept in memory, or one written seldom
 * (a settlement reads them, and writes none of them unless its patient has no account). */
static bool ahead_kept(const struct store *store, enum store_db db)
{
    return store_deferred_table(store, db) >= 0 || db == STORE_DB_PERSONS ||
           db == STORE_DB_FUNDERS || db == STORE_DB_AID_LIMITS || db == STORE_DB_MERCHANTS ||
           db == STORE_DB_WALLETS;
}

static void ahead_empty(struct store_ahead *ahead)
{
    ahead->count = 0;
    ahead->used = 0;
    ahead->full = false;
}

int store_read_begin_ahead(struct store *store, struct store_txn **out,
                           struct store_ahead *ahead)
{
    ahead_empty(ahead);
    /* Before the read begins: a commit counted after this may be in the read, or not. */
    for (int db = 0; db < STORE_DB_COUNT; db++)
        ahead->gens[db] = atomic_load_explicit(&store->gens[db], memory_order_acquire);
    int rc = store_read_begin(store, out);
    if (rc)
        return rc;
    ahead->snapshot = (*out)->snapshot;
    (*out)->record = ahead;
    return 0;
}

void store_ahead_next(struct store_txn *txn, struct store_ahead *ahead)
{
    REQUIRE(txn->record);
    memcpy(ahead->gens, txn->record->gens, sizeof(ahead->gens));
    ahead->snapshot = txn->record->snapshot;
    ahead_empty(ahead);
    txn->record = ahead;
}

size_t store_ahead_bytes(const struct store_ahead *ahead)
{
    return offsetof(struct store_ahead, bytes) + ahead->used;
}

void store_ahead_use(struct store *store, const struct store_ahead *ahead)
{
    store->ahead = ahead;
}

void store_ahead_counts(const struct store *store, uint64_t *taken, uint64_t *refused)
{
    *taken = atomic_load_explicit(&store->ahead_taken, memory_order_relaxed);
    *refused = atomic_load_explicit(&store->ahead_refused, memory_order_relaxed);
}

/* A read transaction's get of a kept table, found in the tree (or not found at all). */
static void ahead_record(struct store_ahead *ahead, enum store_db db, const void *key,
                         size_t key_bytes, const MDB_val *value)
{
    size_t value_bytes = value ? value->mv_size : 0;
    if (ahead->full || ahead->count == STORE_AHEAD_READS ||
        key_bytes + value_bytes > STORE_AHEAD_BYTES - ahead->used) {
        ahead->full = true;
        return;
    }
    ahead->reads[ahead->count++] = (struct store_ahead_read){.db = (uint8_t)db,
                                                             .found = value != NULL,
                                                             .key_bytes = (uint16_t)key_bytes,
                                                             .value_bytes = (uint32_t)value_bytes,
                                                             .offset = ahead->used};
    memcpy(ahead->bytes + ahead->used, key, key_bytes);
    if (value_bytes)
        memcpy(ahead->bytes + ahead->used + key_bytes, value->mv_data, value_bytes);
    ahead->used += (uint32_t)(key_bytes + value_bytes);
}

/* The writer's get of a kept table that memory does not hold, from the reads made ahead: 1 and
 * *value, 0 (absent), or -1 when none was recorded or it may be out of date. */
static int ahead_take(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                      struct store_bytes *value)
{
    struct store *store = txn->store;
    const struct store_ahead *ahead = store->ahead;
    for (unsigned i = 0; i < ahead->count; i++) {
        const struct store_ahead_read *read = &ahead->reads[i];
        const uint8_t *bytes = ahead->bytes + read->offset;
        if (read->db != db || read->key_bytes != key_bytes || memcmp(bytes, key, key_bytes))
            continue;
        bool current =
            store_deferred_table(store, db) >= 0
                ? overlay_forgotten_tag(store->deferred->overlay) <= ahead->snapshot
                : !(txn_top(txn)->wrote & (UINT32_C(1) << db)) &&
                      atomic_load_explicit(&store->gens[db], memory_order_relaxed) ==
                          ahead->gens[db];
        if (!current) {
            atomic_fetch_add_explicit(&store->ahead_refused, 1, memory_order_relaxed);
            return -1;
        }
        atomic_fetch_add_explicit(&store->ahead_taken, 1, memory_order_relaxed);
        if (!read->found)
            return 0;
        *value = (struct store_bytes){bytes + key_bytes, read->value_bytes};
        return 1;
    }
    return -1;
}

int store_get(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
              struct store_bytes *value)
{
    struct store *store = txn->store;
    int table = store_deferred_table(store, db);
    if (table >= 0) {
        bool in_memory;
        int found = deferred_get(txn, table, key, key_bytes, value, &in_memory);
        if (found < 0 || in_memory)
            return found;
    }
    if (!txn->read_only && store->ahead && ahead_kept(store, db)) {
        int found = ahead_take(txn, db, key, key_bytes, value);
        if (found >= 0)
            return found;
    }
    uint8_t buffer[STORE_KEY_MAX];
    MDB_val k, v;
    if (!store_key(db, key, key_bytes, buffer, &k))
        return 0;
    int rc = mdb_get(txn->txn, store->dbis[db], &k, &v);
    if (rc && rc != MDB_NOTFOUND)
        return store_error(store, rc, "get");
    if (txn->record && ahead_kept(store, db))
        ahead_record(txn->record, db, key, key_bytes, rc == 0 ? &v : NULL);
    if (rc == MDB_NOTFOUND)
        return 0;
    value->data = v.mv_data;
    value->size = v.mv_size;
    return 1;
}

static int store_put_flags(struct store_txn *txn, enum store_db db, const void *key,
                           size_t key_bytes, const void *value, size_t value_bytes, unsigned flags)
{
    REQUIRE(!txn->read_only);
    txn_wrote(txn, db);
    int table = store_deferred_table(txn->store, db);
    if (table >= 0) {
        REQUIRE(flags == 0);
        return deferred_put(txn, table, key, key_bytes, value, value_bytes, false);
    }
    uint8_t buffer[STORE_KEY_MAX];
    MDB_val k, v = {value_bytes, (void *)value};
    if (!store_key(db, key, key_bytes, buffer, &k))
        return store_error(txn->store, MDB_BAD_VALSIZE, "put");
    txn->writes++;
    MDB_dbi dbi = txn->store->dbis[db];
    MDB_stat before, after;
    /* A folded table's count moves when the put added a record (by_seq's count moved). */
    bool folded = store_folded(db) && mdb_stat(txn->txn, dbi, &before) == 0;
    int rc = mdb_put(txn->txn, dbi, &k, &v, flags);
    if (rc == 0 && folded && mdb_stat(txn->txn, dbi, &after) == 0)
        txn->by_seq_added[store_dbs[db].tag] += (int64_t)(after.ms_entries - before.ms_entries);
    return store_error(txn->store, rc, "put");
}

int store_put(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
              const void *value, size_t value_bytes)
{
    return store_put_flags(txn, db, key, key_bytes, value, value_bytes, 0);
}

int store_append(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                 const void *value, size_t value_bytes)
{
    return store_put_flags(txn, db, key, key_bytes, value, value_bytes, MDB_APPEND);
}

int store_index_add(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                    uint64_t seq)
{
    REQUIRE(!store_folded(db));
    uint8_t value[8];
    store_u64_encode(value, seq);
    return store_put_flags(txn, db, key, key_bytes, value, sizeof(value), MDB_NODUPDATA);
}

/* Position the cursor on the first value of the page, or report that there is none. */
static int index_page_start(MDB_cursor *cursor, MDB_val *k, MDB_val *v, uint64_t start,
                            bool descending)
{
    uint8_t from[8];
    if (!descending) {
        store_u64_encode(from, start);
        *v = (MDB_val){sizeof(from), from};
        return mdb_cursor_get(cursor, k, v, MDB_GET_BOTH_RANGE);
    }
    if (start == 0) {
        int rc = mdb_cursor_get(cursor, k, v, MDB_SET_KEY);
        return rc ? rc : mdb_cursor_get(cursor, k, v, MDB_LAST_DUP);
    }
    /* The first value >= start; step back once if it overshoots (or there is none). */
    store_u64_encode(from, start);
    *v = (MDB_val){sizeof(from), from};
    int rc = mdb_cursor_get(cursor, k, v, MDB_GET_BOTH_RANGE);
    if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cursor, k, v, MDB_SET_KEY);
        return rc ? rc : mdb_cursor_get(cursor, k, v, MDB_LAST_DUP);
    }
    if (rc == 0 && store_u64_decode(v->mv_data) > start)
        rc = mdb_cursor_get(cursor, k, v, MDB_PREV_DUP);
    return rc;
}

int store_index_page(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                     uint64_t cursor, bool descending, uint64_t *seqs, size_t seqs_max,
                     size_t *count, uint64_t *next_cursor)
{
    REQUIRE(!store_folded(db));
    *count = 0;
    *next_cursor = 0;
    MDB_cursor *mc;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbis[db], &mc);
    if (rc)
        return store_error(txn->store, rc, "cursor");
    MDB_val k = {key_bytes, (void *)key}, v;
    rc = index_page_start(mc, &k, &v, cursor, descending);
    while (rc == 0) {
        uint64_t seq = store_u64_decode(v.mv_data);
        if (*count == seqs_max) {
            *next_cursor = seq;
            break;
        }
        seqs[(*count)++] = seq;
        rc = mdb_cursor_get(mc, &k, &v, descending ? MDB_PREV_DUP : MDB_NEXT_DUP);
    }
    mdb_cursor_close(mc);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_error(txn->store, rc, "index page");
}

/* A link's value: the seq before it, and in wallet_links the balance after it. */
static size_t chain_value_bytes(enum store_db db)
{
    return db == STORE_DB_WALLET_LINKS ? 16 : 8;
}

static int chain_put(struct store_txn *txn, enum store_db db, uint64_t seq, const void *key,
                     size_t key_bytes, uint64_t prev, int64_t after)
{
    REQUIRE(prev < seq && key_bytes <= PERSON_NO_BYTES_MAX);
    uint8_t link_key[8 + PERSON_NO_BYTES_MAX], value[16];
    size_t link_bytes = chain_key(link_key, seq, key, key_bytes);
    store_u64_encode(value, prev);
    store_u64_encode(value + 8, (uint64_t)after);
    return store_put_flags(txn, db, link_key, link_bytes, value, chain_value_bytes(db), 0);
}

int store_chain_link(struct store_txn *txn, enum store_db db, uint64_t seq, const void *key,
                     size_t key_bytes, uint64_t prev)
{
    REQUIRE(db != STORE_DB_WALLET_LINKS);
    return chain_put(txn, db, seq, key, key_bytes, prev, 0);
}

int store_wallet_link(struct store_txn *txn, uint64_t seq, const char *person_no,
                      uint64_t prev, int64_t balance_after_fen)
{
    return chain_put(txn, STORE_DB_WALLET_LINKS, seq, person_no, strlen(person_no), prev,
                     balance_after_fen);
}

/* The link of `seq` in the chain of `key`: 1 and *prev (UINT64_MAX when the value is not a
 * link's) and, when asked, *after; 0 when there is none, < 0 error. */
static int chain_get(struct store_txn *txn, enum store_db db, uint64_t seq, const void *key,
                     size_t key_bytes, uint64_t *prev, int64_t *after)
{
    uint8_t link_key[8 + PERSON_NO_BYTES_MAX];
    struct store_bytes v;
    int rc = store_get(txn, db, link_key, chain_key(link_key, seq, key, key_bytes), &v);
    if (rc == 1) {
        bool link = v.size == chain_value_bytes(db);
        *prev = link ? store_u64_decode(v.data) : UINT64_MAX;
        if (after)
            *after = link && v.size == 16 ? (int64_t)store_u64_decode((const uint8_t *)v.data + 8)
                                          : 0;
    }
    return rc;
}

static int chain_lookup(struct store_txn *txn, enum store_db db, uint64_t seq, const void *key,
                        size_t key_bytes, uint64_t *prev)
{
    return chain_get(txn, db, seq, key, key_bytes, prev, NULL);
}

int store_wallet_line(struct store_txn *txn, uint64_t seq, const char *person_no,
                      int64_t *balance_after_fen)
{
    uint64_t prev = UINT64_MAX;
    int rc = chain_get(txn, STORE_DB_WALLET_LINKS, seq, person_no, strlen(person_no), &prev,
                       balance_after_fen);
    if (rc == 1 && prev >= seq) {
        log_error("store: wallet_links of %s: the link of entry %llu is not a link back: the "
                  "ledger is damaged (ledgerctl verify names it)", person_no,
                  (unsigned long long)seq);
        return FL_ERR_INTERNAL;
    }
    return rc;
}

/* Step back from `*seq` along the chain of `key`: 0, or FL_ERR_INTERNAL when the link is
 * missing or does not go back (the ledger is damaged; verify names where). */
static int chain_back(struct store_txn *txn, enum store_db db, const void *key,
                      size_t key_bytes, uint64_t *seq)
{
    uint64_t prev = UINT64_MAX;
    int rc = chain_lookup(txn, db, *seq, key, key_bytes, &prev);
    if (rc == 1 && prev < *seq) {
        *seq = prev;
        return 0;
    }
    if (rc >= 0)
        log_error("store: %s of %.*s: the link of entry %llu is %s: the ledger is damaged "
                  "(ledgerctl verify names it)", store_dbs[db].name, (int)key_bytes,
                  (const char *)key, (unsigned long long)*seq, rc ? "not a link back" : "missing");
    return rc < 0 ? rc : FL_ERR_INTERNAL;
}

static void seqs_reverse(uint64_t *seqs, size_t from, size_t to)
{
    for (; from + 1 < to; from++, to--) {
        uint64_t swap = seqs[from];
        seqs[from] = seqs[to - 1];
        seqs[to - 1] = swap;
    }
}

int store_chain_page(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
                     uint64_t head, uint64_t cursor, bool descending, uint64_t *seqs,
                     size_t seqs_max, size_t *count, uint64_t *next_cursor)
{
    REQUIRE(key_bytes <= PERSON_NO_BYTES_MAX && seqs_max > 0);
    *count = 0;
    *next_cursor = 0;
    uint64_t seq = head, prev;
    int rc = 0;
    if (descending) {
        /* A cursor this function returned is a link of the chain: start there at once; any
         * other, at the first link at or below it. */
        if (cursor && cursor < head) {
            rc = chain_lookup(txn, db, cursor, key, key_bytes, &prev);
            if (rc == 1)
                seq = cursor, rc = 0;
            while (rc == 0 && seq > cursor)
                rc = chain_back(txn, db, key, key_bytes, &seq);
        }
        for (; rc == 0 && seq && *count < seqs_max;
             rc = chain_back(txn, db, key, key_bytes, &seq))
            seqs[(*count)++] = seq;
        *next_cursor = rc == 0 ? seq : 0;
        return rc;
    }
    /* Oldest first: the chain runs newest to oldest, so walk it back to the cursor keeping the
     * last seqs_max links seen in a ring; the last one pushed out is where the next page
     * starts. */
    size_t seen = 0;
    for (; rc == 0 && seq && seq >= cursor; rc = chain_back(txn, db, key, key_bytes, &seq)) {
        if (seen >= seqs_max)
            *next_cursor = seqs[seen % seqs_max];
        seqs[seen++ % seqs_max] = seq;
    }
    if (rc)
        return rc;
    /* The ring, newest first, starts at seen % seqs_max once full: two reversals put its
     * links oldest first from seqs[0]. */
    *count = seen < seqs_max ? seen : seqs_max;
    size_t turn = seen <= seqs_max ? seen : seen % seqs_max;
    seqs_reverse(seqs, 0, turn);
    seqs_reverse(seqs, turn, *count);
    return 0;
}

/* Position a cursor of an index database just after the pair (key, value). */
static int store_cursor_after_pair(MDB_cursor *cursor, MDB_val *k, MDB_val *v,
                                   struct store_bytes after_value)
{
    MDB_val key = *k;
    *v = (MDB_val){after_value.size, (void *)after_value.data};
    int rc = mdb_cursor_get(cursor, k, v, MDB_GET_BOTH_RANGE);
    if (rc == 0 && v->mv_size == after_value.size &&
        memcmp(v->mv_data, after_value.data, after_value.size) == 0)
        return mdb_cursor_get(cursor, k, v, MDB_NEXT);
    if (rc != MDB_NOTFOUND)
        return rc;
    /* No value of that key comes after: the next key. */
    *k = key;
    rc = mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
    if (rc == 0 && k->mv_size == key.mv_size && memcmp(k->mv_data, key.mv_data, key.mv_size) == 0)
        rc = mdb_cursor_get(cursor, k, v, MDB_NEXT_NODUP);
    return rc;
}

/* With readahead off, a walk would fault its leaves in one page at a time. Leaves written in
 * key order lie mostly a few pages after each other (on a migrated million-patient ledger, 90 %
 * of the log's next leaves within 32 pages; persons 58 %, accounts 26 %), so a walk that moves
 * onward (into the second half of what it asked for last, or within STORE_SCAN_NEAR of the
 * last leaf it met) asks the kernel for what lies ahead, 32 KiB and doubling up to
 * STORE_SCAN_AHEAD. A jump elsewhere asks for nothing: in a table whose leaves are scattered,
 * asking for 256 KiB at every jump read the 10M ledger six times over during one verify.
 * Random lookups, which settlements make, ask for nothing either. */
#define STORE_SCAN_AHEAD (256u << 10)
#define STORE_SCAN_FIRST (32u << 10)
#define STORE_SCAN_NEAR (128u << 10)

struct scan_ahead {
    uintptr_t from, middle, end; /* asked for [from, end); all 0 after a jump */
    uintptr_t last;              /* the last page met outside [from, middle) */
    size_t size;
};

static void scan_ahead(const struct store *store, struct scan_ahead *ahead, const void *data)
{
    if (store->readahead)
        return;
    uintptr_t page = (uintptr_t)data & ~(uintptr_t)(store->page_bytes - 1);
    if (page >= ahead->from && page < ahead->middle)
        return;
    bool onward = (page >= ahead->middle && page < ahead->end) ||
                  (ahead->last && page > ahead->last && page - ahead->last <= STORE_SCAN_NEAR);
    if (!onward) {
        *ahead = (struct scan_ahead){.last = page};
        return;
    }
    size_t size = ahead->size ? ahead->size * 2 : STORE_SCAN_FIRST;
    if (size > STORE_SCAN_AHEAD)
        size = STORE_SCAN_AHEAD;
    /* Advice only: on failure (past the map's end, say) the walk faults as it would have. */
    (void)madvise((void *)page, size, MADV_WILLNEED);
    *ahead = (struct scan_ahead){
        .from = page, .middle = page + size / 2, .end = page + size, .last = page, .size = size};
}

/* Put a walk's cursor on the first record after (after_key, after_value): 0, MDB_NOTFOUND when
 * there is none (or the key is past every key the table can hold), or LMDB's error. */
static int store_walk_start(enum store_db db, MDB_cursor *cursor,
                            const void *after_key, size_t after_key_bytes,
                            struct store_bytes after_value, MDB_val *k, MDB_val *v)
{
    uint8_t buffer[STORE_KEY_MAX];
    if (after_key && after_key_bytes && after_value.size &&
        (store_dbs[db].flags & MDB_DUPSORT)) {
        *k = (MDB_val){after_key_bytes, (void *)after_key};
        return store_cursor_after_pair(cursor, k, v, after_value);
    }
    if (!after_key || !after_key_bytes)
        return mdb_cursor_get(cursor, k, v, MDB_FIRST);
    MDB_val after;
    if (!store_key(db, after_key, after_key_bytes, buffer, &after))
        return MDB_NOTFOUND; /* after every key the table can hold */
    *k = after;
    int rc = mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
    if (rc == 0 && k->mv_size == after.mv_size &&
        memcmp(k->mv_data, after.mv_data, after.mv_size) == 0)
        rc = mdb_cursor_get(cursor, k, v, MDB_NEXT);
    return rc;
}

/* The reader's view of a table kept in memory, made once. 0 or FL_ERR_INTERNAL. */
static int store_view(struct store_txn *txn, int table)
{
    if (txn->views[table])
        return 0;
    return overlay_view_make(txn->store->deferred->overlay, txn->snapshot, (uint8_t)table,
                             &txn->views[table]);
}

/* How many records a reader of a table kept in memory sees: the tree's count, plus what memory
 * adds to it, less what memory deletes from it. Counted once a transaction, a lookup a record
 * in memory. */
static int store_records_merged(struct store_txn *txn, int table, uint64_t tree_records,
                                uint64_t *records)
{
    if (!txn->counted[table]) {
        if (store_view(txn, table) != 0)
            return FL_ERR_INTERNAL;
        const struct overlay_view *view = txn->views[table];
        MDB_dbi dbi = txn->store->dbis[deferred_dbs[table]];
        uint64_t count = tree_records;
        for (size_t i = 0; i < view->count; i++) {
            const struct overlay_record *record = &view->records[i];
            MDB_val k = {record->key_bytes, (void *)record->key}, v;
            int rc = mdb_get(txn->txn, dbi, &k, &v);
            if (rc != 0 && rc != MDB_NOTFOUND)
                return store_error(txn->store, rc, "count");
            count += !record->deleted && rc == MDB_NOTFOUND;
            count -= record->deleted && rc == 0;
        }
        txn->records[table] = count;
        txn->counted[table] = true;
    }
    *records = txn->records[table];
    return 0;
}

/* A reader's walk of a table kept in memory: the tree's records and the overlay's view of the
 * snapshot merged in key order, a record in memory standing for the tree's of the same key and
 * a deleted one hiding it. The view is made at the first walk of the table and kept. */
static int store_walk_merged(struct store_txn *txn, int table, MDB_cursor *cursor, int rc,
                             MDB_val k, MDB_val v, const void *after_key, size_t after_key_bytes,
                             size_t max, bool read_ahead,
                             int (*visit_cb)(void *context, struct store_bytes key,
                                             struct store_bytes value),
                             void *context)
{
    REQUIRE(txn->read_only); /* the writer walks neither table */
    struct overlay_view **view = &txn->views[table];
    if (store_view(txn, table) != 0) {
        mdb_cursor_close(cursor);
        return FL_ERR_INTERNAL;
    }
    size_t at = after_key && after_key_bytes
                ? overlay_view_after(*view, after_key, after_key_bytes) : 0;
    MDB_dbi dbi = txn->store->dbis[deferred_dbs[table]];
    int visit = 0;
    size_t count = 0;
    struct scan_ahead ahead = {0};
    while (visit == 0 && count < max && (rc == 0 || rc == MDB_NOTFOUND)) {
        bool in_tree = rc == 0, in_memory = at < (*view)->count;
        if (!in_tree && !in_memory)
            break;
        const struct overlay_record *record = in_memory ? &(*view)->records[at] : NULL;
        MDB_val memory_key = {record ? record->key_bytes : 0, record ? (void *)record->key : NULL};
        int order = !in_memory ? -1 : !in_tree ? 1 : mdb_cmp(txn->txn, dbi, &k, &memory_key);
        if (order < 0) {
            count++;
            if (read_ahead)
                scan_ahead(txn->store, &ahead, v.mv_data);
            visit = visit_cb(context, (struct store_bytes){k.mv_data, k.mv_size},
                             (struct store_bytes){v.mv_data, v.mv_size});
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
            continue;
        }
        if (order == 0) /* memory's version stands for the tree's */
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
        at++;
        if (record->deleted)
            continue;
        count++;
        visit = visit_cb(context, (struct store_bytes){record->key, record->key_bytes},
                         (struct store_bytes){record->value, record->value_bytes});
    }
    mdb_cursor_close(cursor);
    if (visit)
        return visit;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_error(txn->store, rc, "scan");
}

static int store_walk(struct store_txn *txn, enum store_db db, const void *after_key,
                      size_t after_key_bytes, struct store_bytes after_value, size_t max,
                      bool read_ahead,
                      int (*visit_cb)(void *context, struct store_bytes key,
                                      struct store_bytes value),
                      void *context)
{
    MDB_cursor *cursor;
    int rc = mdb_cursor_open(txn->txn, txn->store->dbis[db], &cursor);
    if (rc)
        return store_error(txn->store, rc, "cursor");
    MDB_val k, v;
    rc = store_walk_start(db, cursor, after_key, after_key_bytes, after_value, &k, &v);
    int table = store_deferred_table(txn->store, db);
    if (table >= 0)
        return store_walk_merged(txn, table, cursor, rc, k, v, after_key, after_key_bytes, max,
                                 read_ahead, visit_cb, context);
    int visit = 0;
    size_t count = 0;
    struct scan_ahead ahead = {0};
    for (; rc == 0 && visit == 0 && count < max; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        if (!store_key_of(db, &k))
            continue; /* another table's record in by_seq */
        count++;
        if (read_ahead)
            scan_ahead(txn->store, &ahead, v.mv_data);
        visit = visit_cb(context, (struct store_bytes){k.mv_data, k.mv_size},
                         (struct store_bytes){v.mv_data, v.mv_size});
    }
    mdb_cursor_close(cursor);
    if (visit)
        return visit;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_error(txn->store, rc, "scan");
}

int store_scan(struct store_txn *txn, enum store_db db, const void *after_key,
               size_t after_key_bytes, struct store_bytes after_value, size_t max,
               int (*visit_cb)(void *context, struct store_bytes key, struct store_bytes value),
               void *context)
{
    return store_walk(txn, db, after_key, after_key_bytes, after_value, max, true, visit_cb,
                      context);
}

int store_records(struct store_txn *txn, enum store_db db, uint64_t *records)
{
    if (store_folded(db)) {
        uint64_t counts[BY_SEQ_TAG_MAX + 1];
        int rc = by_seq_counts_read(txn, counts);
        *records = counts[store_dbs[db].tag];
        return rc;
    }
    MDB_stat stat;
    int rc = mdb_stat(txn->txn, txn->store->dbis[db], &stat);
    if (rc)
        return store_error(txn->store, rc, "stat");
    *records = stat.ms_entries;
    int table = store_deferred_table(txn->store, db);
    return table >= 0 && txn->read_only ? store_records_merged(txn, table, stat.ms_entries, records)
                                        : 0;
}

int store_scan_bare(struct store_txn *txn, enum store_db db, const void *after_key,
                    size_t after_key_bytes, struct store_bytes after_value, size_t max,
                    int (*visit_cb)(void *context, struct store_bytes key,
                                    struct store_bytes value),
                    void *context)
{
    return store_walk(txn, db, after_key, after_key_bytes, after_value, max, false, visit_cb,
                      context);
}

/* No scan_ahead here: a stretch's own leaves are what is wanted, and in a table whose leaves
 * are scattered the pages beside them belong to other tables (a cold walk of the 30M
 * accounts with four threads read 11.4 GB for a 2.9 GB table with it, 2.9 GB without). */
int store_touch_range(struct store_txn *txn, enum store_db db, struct store_bytes from,
                      struct store_bytes to, size_t max)
{
    MDB_cursor *cursor;
    MDB_dbi dbi = txn->store->dbis[db];
    int rc = mdb_cursor_open(txn->txn, dbi, &cursor);
    if (rc)
        return store_error(txn->store, rc, "cursor");
    uint8_t from_buffer[STORE_KEY_MAX], to_buffer[STORE_KEY_MAX];
    MDB_val k, v, end;
    if (!store_key(db, from.data, from.size, from_buffer, &k) ||
        !store_key(db, to.data, to.size, to_buffer, &end)) {
        mdb_cursor_close(cursor);
        return 0;
    }
    size_t count = 0;
    for (rc = mdb_cursor_get(cursor, &k, &v, from.size ? MDB_SET_RANGE : MDB_FIRST);
         rc == 0 && count < max && (!to.size || mdb_cmp(txn->txn, dbi, &k, &end) < 0);
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        MDB_val own = k;
        if (!store_key_of(db, &own))
            continue;
        count++;
        if (v.mv_size)
            (void)*(const volatile uint8_t *)v.mv_data; /* a value on pages of its own */
    }
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_error(txn->store, rc, "read ahead");
    return (int)(count < INT32_MAX ? count : INT32_MAX);
}
