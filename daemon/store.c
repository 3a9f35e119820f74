/* store.c -- the LMDB environment; the only file that includes lmdb.h. */
#include "store.h"

#include "famledger_status.h"
#include "fl_limits.h"
#include "log.h"
#include "require.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <dirent.h>
#include <sys/stat.h>
#include <uv.h>
#include <sys/statvfs.h>
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
    int lock_fd;
    char dir[4096];
};

/* The tags of the tables folded into by_seq are 1 to BY_SEQ_TAG_MAX (store_dbs). */
#define BY_SEQ_TAG_MAX 4

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
};

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

static int store_lock_dir(const char *dir, int *lock_fd)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/famledgerd.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("store: %s: %s", path, strerror(errno));
        return FL_ERR_INTERNAL;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("store: %s is in use by another famledgerd", dir);
        close(fd);
        return FL_ERR_BUSY;
    }
    *lock_fd = fd;
    return 0;
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
 * (by_seq). A ledger without a format was written by an earlier famledgerd, whose entries have
 * no postings: this one cannot balance its books. */
static const char format_key[] = "format";
#define FORMAT_CURRENT 9
#define FORMAT_OLDEST 2 /* the oldest this famledgerd upgrades */

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
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
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
    int visited = 0;
    for (rc = visit ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST) : MDB_NOTFOUND;
         rc == 0 && visited == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
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
              "the tables keyed by seq in one tree",
        [3] = "statements as chains; aid usage in the accounts; no day index; a merchant's day "
              "and a patient's settlements as chains; the tables keyed by seq in one tree",
        [4] = "aid usage in the accounts; no day index; a merchant's day and a patient's "
              "settlements as chains; the tables keyed by seq in one tree",
        [5] = "no day index; a merchant's day and a patient's settlements as chains; the "
              "tables keyed by seq in one tree",
        [6] = "a merchant's day as a chain, its totals keyed day first; a patient's settlements "
              "as a chain; the tables keyed by seq in one tree",
        [7] = "a patient's settlements as a chain; the tables keyed by seq in one tree",
        [8] = "the tables keyed by seq in one tree",
    };
    _Static_assert(FORMAT_OLDEST == 2 && FORMAT_CURRENT == 9, "say what each upgrade changes");
    log_info("store: upgrading %s/data.mdb from format %d to %d (%s)", store->dir, format,
             FORMAT_CURRENT, changes[format]);
    struct store_txn opening = {.store = store, .txn = txn};
    /* First, as the upgrades after it read and write them in by_seq. */
    int rc = store_upgrade_by_seq(&opening, format);
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
    rc = store->created ? store_write_format(store, txn)
         : format < FORMAT_CURRENT ? store_upgrade(store, txn, format)
                                   : 0;
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
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
    store->lock_fd = -1;
    snprintf(store->dir, sizeof(store->dir), "%s", dir);
    uint64_t file_bytes = 0;
    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
    /* A stream of short readers must not starve the resize. */
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&store->resize_lock, &attributes);
    pthread_rwlockattr_destroy(&attributes);

    int rc = store_lock_dir(dir, &store->lock_fd);
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
    return store_error(store, mdb_env_copy2(store->env, dir, MDB_CP_COMPACT), "copy");
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
    pthread_rwlock_destroy(&store->resize_lock);
    free(store);
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
    pthread_rwlock_rdlock(&store->resize_lock);
    int rc = store_txn_begin(store, NULL, MDB_RDONLY, out);
    if (rc)
        pthread_rwlock_unlock(&store->resize_lock);
    return rc;
}

void store_read_end(struct store_txn *txn)
{
    REQUIRE(txn->read_only);
    struct store *store = txn->store;
    mdb_txn_abort(txn->txn);
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
    if (rc == 0)
        (*out)->parent = parent;
    return rc;
}

int store_commit(struct store_txn *txn)
{
    REQUIRE(!txn->read_only);
    int rc = txn->parent ? 0 : by_seq_counts_keep(txn);
    if (rc)
        mdb_txn_abort(txn->txn);
    else
        rc = store_error(txn->store, mdb_txn_commit(txn->txn), "commit");
    if (rc == 0 && txn->parent) {
        txn->parent->writes += txn->writes;
        for (int tag = 1; tag <= BY_SEQ_TAG_MAX; tag++)
            txn->parent->by_seq_added[tag] += txn->by_seq_added[tag];
        for (unsigned slot = 0; slot < STORE_TALLY_SLOTS; slot++)
            txn->parent->tally[slot] += txn->tally[slot];
    }
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
    mdb_txn_abort(txn->txn);
    free(txn);
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

int store_get(struct store_txn *txn, enum store_db db, const void *key, size_t key_bytes,
              struct store_bytes *value)
{
    uint8_t buffer[STORE_KEY_MAX];
    MDB_val k, v;
    if (!store_key(db, key, key_bytes, buffer, &k))
        return 0;
    int rc = mdb_get(txn->txn, txn->store->dbis[db], &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_error(txn->store, rc, "get");
    value->data = v.mv_data;
    value->size = v.mv_size;
    return 1;
}

static int store_put_flags(struct store_txn *txn, enum store_db db, const void *key,
                           size_t key_bytes, const void *value, size_t value_bytes, unsigned flags)
{
    REQUIRE(!txn->read_only);
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

int store_chain_link(struct store_txn *txn, enum store_db db, uint64_t seq, const void *key,
                     size_t key_bytes, uint64_t prev)
{
    REQUIRE(prev < seq && key_bytes <= PERSON_NO_BYTES_MAX);
    uint8_t link_key[8 + PERSON_NO_BYTES_MAX], value[8];
    size_t link_bytes = chain_key(link_key, seq, key, key_bytes);
    store_u64_encode(value, prev);
    return store_put_flags(txn, db, link_key, link_bytes, value, sizeof(value), 0);
}

/* The link of `seq` in the chain of `key`: 1 and *prev, 0 when there is none, < 0 error. */
static int chain_lookup(struct store_txn *txn, enum store_db db, uint64_t seq, const void *key,
                        size_t key_bytes, uint64_t *prev)
{
    uint8_t link_key[8 + PERSON_NO_BYTES_MAX];
    struct store_bytes v;
    int rc = store_get(txn, db, link_key, chain_key(link_key, seq, key, key_bytes), &v);
    if (rc == 1)
        *prev = v.size == 8 ? store_u64_decode(v.data) : UINT64_MAX;
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
    uint8_t buffer[STORE_KEY_MAX];
    MDB_val k, v;
    if (after_key && after_key_bytes && after_value.size &&
        (store_dbs[db].flags & MDB_DUPSORT)) {
        k = (MDB_val){after_key_bytes, (void *)after_key};
        rc = store_cursor_after_pair(cursor, &k, &v, after_value);
    } else if (after_key && after_key_bytes) {
        MDB_val after;
        if (!store_key(db, after_key, after_key_bytes, buffer, &after)) {
            mdb_cursor_close(cursor);
            return 0; /* after every key the table can hold */
        }
        k = after;
        rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
        if (rc == 0 && k.mv_size == after.mv_size &&
            memcmp(k.mv_data, after.mv_data, after.mv_size) == 0)
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    } else {
        rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    }
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
    return 0;
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
