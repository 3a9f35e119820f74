/* format_older.c -- test helper: turn a stopped ledger of today's format into one of an older
 * format, as the famledgerd of that format left it (format_older.h). */
#include "format_older.h"

#include "famledger.pb-c.h"
#include "fl_limits.h"
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void u64_encode(uint8_t out[8], uint64_t value)
{
    for (int i = 7; i >= 0; i--, value >>= 8)
        out[i] = (uint8_t)value;
}

/* What one record of a table becomes in an older layout: written into `to` (or into the
 * record itself, through the cursor). */
typedef int (*record_move)(MDB_cursor *cursor, MDB_dbi to, MDB_val *key, MDB_val *value);

/* Every record of table `from`, moved by `move` into `to` (made with `to_flags`). */
static int rewrite_table(MDB_txn *txn, const char *from, const char *to, unsigned to_flags,
                         record_move move)
{
    MDB_dbi source, target;
    MDB_cursor *cursor;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, from, 0, &source);
    if (rc == 0)
        rc = mdb_dbi_open(txn, to, MDB_CREATE | to_flags, &target);
    if (rc == 0)
        rc = mdb_cursor_open(txn, source, &cursor);
    if (rc)
        return rc;
    /* The key is given as a copy: LMDB's points into the page that a put in place rewrites,
     * and a record put back at a key read from there can land under garbage. */
    uint8_t key_copy[512];
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        if (k.mv_size > sizeof(key_copy)) {
            rc = MDB_BAD_VALSIZE;
            break;
        }
        memcpy(key_copy, k.mv_data, k.mv_size);
        k.mv_data = key_copy;
        if ((rc = move(cursor, target, &k, &v)) != 0)
            break;
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The business day of entry `seq` ("YYYYMMDD"), in this process's time zone (TZ), as the daemon
 * dates it in its own. */
static int entry_day(MDB_txn *txn, const MDB_val *seq, char day[9])
{
    const size_t hash_bytes = 32;
    MDB_dbi log;
    MDB_val value;
    int rc = mdb_dbi_open(txn, "log", 0, &log);
    if (rc == 0)
        rc = mdb_get(txn, log, (MDB_val *)seq, &value);
    if (rc)
        return rc;
    Famledger__Entry *entry =
        value.mv_size > hash_bytes
            ? famledger__entry__unpack(NULL, value.mv_size - hash_bytes,
                                       (const uint8_t *)value.mv_data + hash_bytes)
            : NULL;
    if (!entry)
        return MDB_CORRUPTED;
    time_t seconds = (time_t)(entry->time_us / 1000000);
    famledger__entry__free_unpacked(entry, NULL);
    struct tm local;
    localtime_r(&seconds, &local);
    strftime(day, 9, "%Y%m%d", &local);
    return 0;
}

/* Formats 2 to 6 kept a merchant's day as an index (merchant_day: merchant '\0' "YYYYMMDD" ->
 * each seq, sorted) where format 7 links it (merchant_links, key seq || merchant). */
static int link_to_merchant_day(MDB_cursor *cursor, MDB_dbi days, MDB_val *key, MDB_val *value)
{
    (void)value;
    MDB_txn *txn = mdb_cursor_txn(cursor);
    MDB_val seq = {8, key->mv_data};
    char day[9], index_key[64];
    size_t merchant_bytes = key->mv_size - 8;
    int rc = entry_day(txn, &seq, day);
    if (rc || merchant_bytes + 9 > sizeof(index_key))
        return rc ? rc : MDB_CORRUPTED;
    memcpy(index_key, (const uint8_t *)key->mv_data + 8, merchant_bytes);
    index_key[merchant_bytes] = '\0';
    memcpy(index_key + merchant_bytes + 1, day, 8);
    MDB_val day_key = {merchant_bytes + 9, index_key};
    return mdb_put(txn, days, &day_key, &seq, 0);
}

/* ... and its totals keyed merchant first (clearing_days: merchant '\0' "YYYYMMDD"), without
 * the chain's head, where format 7 keys them day first (day_totals: "YYYYMMDD" merchant). */
static int totals_to_clearing_day(MDB_cursor *cursor, MDB_dbi days, MDB_val *key,
                                  MDB_val *value)
{
    Famledger__MerchantDayTotals *totals =
        famledger__merchant_day_totals__unpack(NULL, value->mv_size, value->mv_data);
    char old_key[64];
    size_t merchant_bytes = key->mv_size - 8;
    if (!totals || key->mv_size <= 8 || merchant_bytes + 9 > sizeof(old_key)) {
        famledger__merchant_day_totals__free_unpacked(totals, NULL);
        return MDB_CORRUPTED;
    }
    memcpy(old_key, (const uint8_t *)key->mv_data + 8, merchant_bytes);
    old_key[merchant_bytes] = '\0';
    memcpy(old_key + merchant_bytes + 1, key->mv_data, 8);
    totals->last_seq = 0;
    uint8_t packed[64];
    size_t bytes = famledger__merchant_day_totals__pack(totals, packed);
    famledger__merchant_day_totals__free_unpacked(totals, NULL);
    MDB_val old = {merchant_bytes + 9, old_key}, record = {bytes, packed};
    return mdb_put(mdb_cursor_txn(cursor), days, &old, &record, 0);
}

/* Formats 2 to 5 kept a day index (day_entries: business day "YYYYMMDD" -> each seq, sorted)
 * where format 6 finds a day in the time-ordered log: rebuilt from the entries' times, dated in
 * this process's time zone (TZ), as the daemon dates them in its own. */
static int entry_to_day(MDB_cursor *cursor, MDB_dbi days, MDB_val *key, MDB_val *value)
{
    (void)value;
    char day[9];
    int rc = entry_day(mdb_cursor_txn(cursor), key, day);
    MDB_val day_key = {8, day};
    return rc ? rc : mdb_put(mdb_cursor_txn(cursor), days, &day_key, key, 0);
}

/* Put `record` back at the cursor, in place of the one it was read from. */
static int record_put_current(MDB_cursor *cursor, MDB_val *key, const ProtobufCMessage *record)
{
    size_t bytes = protobuf_c_message_get_packed_size(record);
    uint8_t *packed = malloc(bytes ? bytes : 1);
    if (!packed)
        return ENOMEM;
    protobuf_c_message_pack(record, packed);
    MDB_val value = {bytes, packed};
    int rc = mdb_cursor_put(cursor, key, &value, MDB_CURRENT);
    free(packed);
    return rc;
}

/* Format 4 kept mutual-aid usage in a table of its own (holder '\0' beneficiary '\0' YYYYMM or
 * YYYY -> u64be fen) where format 5 keeps it in the holder's account: move each count there
 * and take it out of the account. */
static int account_to_usage(MDB_cursor *cursor, MDB_dbi usage, MDB_val *key, MDB_val *value)
{
    Famledger__Account *account = famledger__account__unpack(NULL, value->mv_size,
                                                             value->mv_data);
    if (!account)
        return MDB_CORRUPTED;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < account->n_aid_usage; i++) {
        const Famledger__AidUsage *each = account->aid_usage[i];
        uint32_t periods[2] = {each->month, each->year};
        int64_t fen[2] = {each->month_fen, each->year_fen};
        for (int p = 0; rc == 0 && p < 2; p++) {
            char row[2 * (PERSON_NO_BYTES_MAX + 1) + 8];
            int bytes = snprintf(row, sizeof(row), "%s%c%s%c%u", account->person_no, 0,
                                 each->beneficiary, 0, periods[p]);
            uint8_t amount[8];
            u64_encode(amount, (uint64_t)fen[p]);
            MDB_val row_key = {(size_t)bytes, row}, row_value = {sizeof(amount), amount};
            rc = mdb_put(mdb_cursor_txn(cursor), usage, &row_key, &row_value, 0);
        }
    }
    size_t counted = account->n_aid_usage;
    if (rc == 0 && counted) {
        account->n_aid_usage = 0;
        rc = record_put_current(cursor, key, &account->base);
        account->n_aid_usage = counted; /* free_unpacked frees by count */
    }
    famledger__account__free_unpacked(account, NULL);
    return rc;
}

/* Formats 2 and 3 kept statements as an index (account_entries: person_no -> each seq, sorted)
 * where format 4 links them (account_links, key seq || person_no); likewise a patient's
 * settlements before format 8. */
static int link_to_index(MDB_cursor *cursor, MDB_dbi entries, MDB_val *key, MDB_val *value)
{
    (void)value;
    MDB_val person = {key->mv_size - 8, (uint8_t *)key->mv_data + 8}, seq = {8, key->mv_data};
    return mdb_put(mdb_cursor_txn(cursor), entries, &person, &seq, 0);
}

/* Formats 2 to 7 kept a patient's settlements as an index (patient_settlements: patient -> each
 * seq, sorted) where format 8 links them (patient_links, key seq || patient), their heads in
 * the accounts and persons: each record loses its head. */
static int record_head_clear(MDB_cursor *cursor, const ProtobufCMessageDescriptor *descriptor,
                             size_t head_offset, MDB_val *key, MDB_val *value)
{
    ProtobufCMessage *record = protobuf_c_message_unpack(descriptor, NULL, value->mv_size,
                                                         value->mv_data);
    if (!record)
        return MDB_CORRUPTED;
    int rc = 0;
    uint64_t *head = (uint64_t *)((uint8_t *)record + head_offset);
    if (*head) {
        *head = 0;
        rc = record_put_current(cursor, key, record);
    }
    protobuf_c_message_free_unpacked(record, NULL);
    return rc;
}

static int account_head_clear(MDB_cursor *cursor, MDB_dbi to, MDB_val *key, MDB_val *value)
{
    (void)to;
    return record_head_clear(cursor, &famledger__account__descriptor,
                             offsetof(Famledger__Account, patient_last_seq), key, value);
}

static int person_head_clear(MDB_cursor *cursor, MDB_dbi to, MDB_val *key, MDB_val *value)
{
    (void)to;
    return record_head_clear(cursor, &famledger__person__descriptor,
                             offsetof(Famledger__Person, patient_last_seq), key, value);
}

/* Formats 2 to 8 kept each table keyed by seq in a tree of its own where format 9 folds them
 * into by_seq, each record's key followed by its table's tag (daemon/store.c). */
static const char *const by_seq_tables[] = {NULL, "account_links", "settlements", "patient_links",
                                            "merchant_links"};

static int by_seq_split(MDB_cursor *cursor, MDB_dbi to, MDB_val *key, MDB_val *value)
{
    (void)to;
    uint8_t tag = key->mv_size > 0 ? ((const uint8_t *)key->mv_data)[key->mv_size - 1] : 0;
    if (tag == 0 || tag >= sizeof(by_seq_tables) / sizeof(*by_seq_tables))
        return MDB_CORRUPTED;
    MDB_txn *txn = mdb_cursor_txn(cursor);
    MDB_dbi table;
    MDB_val own = {key->mv_size - 1, key->mv_data};
    int rc = mdb_dbi_open(txn, by_seq_tables[tag], MDB_CREATE, &table);
    return rc ? rc : mdb_put(txn, table, &own, value, 0);
}

/* Format 11 folds the wallets' statements (wallet_links, tag 5) into by_seq too: a ledger of
 * format 10 or older has none of their records, nor their count in by_seq_counts. */
#define WALLET_LINKS_TAG 5
static int by_seq_drop_wallet_links(MDB_cursor *cursor, MDB_dbi to, MDB_val *key, MDB_val *value)
{
    (void)to, (void)value;
    uint8_t tag = key->mv_size > 0 ? ((const uint8_t *)key->mv_data)[key->mv_size - 1] : 0;
    return tag == WALLET_LINKS_TAG ? mdb_cursor_del(cursor, 0) : 0;
}

static int by_seq_counts_before_wallet_links(MDB_txn *txn, MDB_dbi meta)
{
    MDB_val k = {13, "by_seq_counts"}, v;
    int rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size <= 8 * (WALLET_LINKS_TAG - 1)))
        return 0;
    uint8_t counts[8 * (WALLET_LINKS_TAG - 1)];
    if (rc == 0) {
        memcpy(counts, v.mv_data, sizeof(counts));
        v = (MDB_val){sizeof(counts), counts};
        rc = mdb_put(txn, meta, &k, &v, 0);
    }
    return rc;
}

static int drop_table(MDB_txn *txn, const char *name)
{
    MDB_dbi table;
    int rc = mdb_dbi_open(txn, name, 0, &table);
    return rc ? rc : mdb_drop(txn, table, 1);
}

/* Straight through LMDB: store_open would upgrade it back. Format 2 also lacked the wallet,
 * hold and aid tables. */
int format_older_make(const char *dir, int format)
{
    static const char *const format_3_tables[] = {"wallets", "wallet_sends", "holds",
                                                  "timers", "aid_limits", "aid_usage"};
    /* A start applies the journal of a famledgerd that kept the accounts in memory. */
    struct store *store;
    if (store_open(dir, 1u << 20, 1u << 30, STORE_OPEN_EXISTING, &store) != 0) {
        fprintf(stderr, "famledger-corrupt: format %d: the ledger does not open\n", format);
        return 1;
    }
    store_close(store);
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val k, v;
    int rc = mdb_env_create(&env);
    if (rc == 0 && (rc = mdb_env_set_maxdbs(env, STORE_DBS_MAX)) == 0 &&
        (rc = mdb_env_set_mapsize(env, (size_t)1 << 30)) == 0 &&
        (rc = mdb_env_open(env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0)
        rc = mdb_dbi_open(txn, "meta", 0, &meta);
    /* Format 10's journal, emptied into the trees by the open above. */
    MDB_stat journal;
    MDB_dbi journal_dbi;
    if (rc == 0 && format < 10 && (rc = mdb_dbi_open(txn, "journal", 0, &journal_dbi)) == 0 &&
        (rc = mdb_stat(txn, journal_dbi, &journal)) == 0)
        rc = journal.ms_entries ? MDB_INCOMPATIBLE : mdb_drop(txn, journal_dbi, 1);
    /* Format 12's emergency claims and calendars: a ledger that has one has entries no older
     * famledgerd reads, so only empty tables are dropped. */
    static const char *const format_12_tables[] = {"emergency_claims", "calendars"};
    for (size_t i = 0; rc == 0 && format < 12 && i < 2; i++) {
        MDB_stat stat;
        MDB_dbi dbi;
        if ((rc = mdb_dbi_open(txn, format_12_tables[i], 0, &dbi)) == 0 &&
            (rc = mdb_stat(txn, dbi, &stat)) == 0)
            rc = stat.ms_entries ? MDB_INCOMPATIBLE : mdb_drop(txn, dbi, 1);
    }
    if (rc == 0 && format < 11 &&
        (rc = rewrite_table(txn, "by_seq", "by_seq", 0, by_seq_drop_wallet_links)) == 0)
        rc = by_seq_counts_before_wallet_links(txn, meta);
    if (rc == 0 && format < 9 && (rc = rewrite_table(txn, "by_seq", "by_seq", 0,
                                                     by_seq_split)) == 0)
        rc = drop_table(txn, "by_seq");
    /* A table of format 8 that a ledger without records of it still had. */
    for (size_t i = 1; rc == 0 && format < 9 && i < 5; i++) {
        MDB_dbi table;
        rc = mdb_dbi_open(txn, by_seq_tables[i], MDB_CREATE, &table);
    }
    if (rc == 0 && format < 8 &&
        (rc = rewrite_table(txn, "patient_links", "patient_settlements",
                            MDB_DUPSORT | MDB_DUPFIXED, link_to_index)) == 0 &&
        (rc = drop_table(txn, "patient_links")) == 0 &&
        (rc = rewrite_table(txn, "accounts", "accounts", 0, account_head_clear)) == 0)
        rc = rewrite_table(txn, "persons", "persons", 0, person_head_clear);
    static const char *const format_7_tables[] = {"merchant_links", "day_totals",
                                                  "merchant_days"};
    if (rc == 0 && format < 7 &&
        (rc = rewrite_table(txn, "merchant_links", "merchant_day", MDB_DUPSORT | MDB_DUPFIXED,
                            link_to_merchant_day)) == 0)
        rc = rewrite_table(txn, "day_totals", "clearing_days", 0, totals_to_clearing_day);
    for (size_t i = 0; rc == 0 && format < 7 && i < 3; i++)
        rc = drop_table(txn, format_7_tables[i]);
    if (rc == 0 && format < 6)
        rc = rewrite_table(txn, "log", "day_entries", MDB_DUPSORT | MDB_DUPFIXED, entry_to_day);
    if (rc == 0 && format < 5)
        rc = rewrite_table(txn, "accounts", "aid_usage", 0, account_to_usage);
    if (rc == 0 && format < 4 &&
        (rc = rewrite_table(txn, "account_links", "account_entries",
                            MDB_DUPSORT | MDB_DUPFIXED, link_to_index)) == 0)
        rc = drop_table(txn, "account_links");
    size_t tables = sizeof(format_3_tables) / sizeof(*format_3_tables);
    for (size_t i = 0; rc == 0 && format < 3 && i < tables; i++)
        rc = drop_table(txn, format_3_tables[i]);
    char text[3];
    k = (MDB_val){6, "format"};
    v = (MDB_val){(size_t)snprintf(text, sizeof(text), "%d", format), text};
    if (rc == 0)
        rc = mdb_put(txn, meta, &k, &v, 0);
    rc = rc == 0 ? mdb_txn_commit(txn) : (txn ? (mdb_txn_abort(txn), rc) : rc);
    mdb_env_close(env);
    if (rc)
        fprintf(stderr, "famledger-corrupt: format %d: %s\n", format, mdb_strerror(rc));
    return rc ? 1 : 0;
}
