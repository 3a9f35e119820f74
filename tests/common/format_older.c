/* format_older.c -- test helper: turn a stopped ledger of today's format into one of an older
 * format, as the famledgerd of that format left it (format_older.h). */
#include "format_older.h"

#include "famledger.pb-c.h"
#include "fl_limits.h"

#include <lmdb.h>
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

/* Formats 2 to 5 kept a day index (day_entries: business day "YYYYMMDD" -> each seq, sorted)
 * where format 6 finds a day in the time-ordered log: rebuilt from the entries' times, dated in
 * this process's time zone (TZ), as the daemon dates them in its own. */
static int day_index(MDB_txn *txn)
{
    MDB_dbi log, days;
    MDB_cursor *cursor;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, "log", 0, &log);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "day_entries", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &days);
    if (rc == 0)
        rc = mdb_cursor_open(txn, log, &cursor);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        const size_t hash_bytes = 32;
        Famledger__Entry *entry =
            v.mv_size > hash_bytes
                ? famledger__entry__unpack(NULL, v.mv_size - hash_bytes,
                                           (const uint8_t *)v.mv_data + hash_bytes)
                : NULL;
        if (!entry) {
            rc = MDB_CORRUPTED;
            break;
        }
        time_t seconds = (time_t)(entry->time_us / 1000000);
        famledger__entry__free_unpacked(entry, NULL);
        struct tm local;
        char day[9];
        localtime_r(&seconds, &local);
        strftime(day, sizeof(day), "%Y%m%d", &local);
        MDB_val day_key = {8, day};
        if ((rc = mdb_put(txn, days, &day_key, &k, 0)) != 0)
            break;
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Format 4 kept mutual-aid usage in a table of its own (holder '\0' beneficiary '\0' YYYYMM or
 * YYYY -> u64be fen) where format 5 keeps it in the holder's account: move each count there
 * and take it out of the account. */
static int usage_to_table(MDB_txn *txn)
{
    MDB_dbi accounts, usage;
    MDB_cursor *cursor;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, "accounts", 0, &accounts);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "aid_usage", MDB_CREATE, &usage);
    if (rc == 0)
        rc = mdb_cursor_open(txn, accounts, &cursor);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        Famledger__Account *account = famledger__account__unpack(NULL, v.mv_size, v.mv_data);
        if (!account) {
            rc = MDB_CORRUPTED;
            break;
        }
        for (size_t i = 0; rc == 0 && i < account->n_aid_usage; i++) {
            const Famledger__AidUsage *each = account->aid_usage[i];
            uint32_t periods[2] = {each->month, each->year};
            int64_t fen[2] = {each->month_fen, each->year_fen};
            for (int p = 0; rc == 0 && p < 2; p++) {
                char key[2 * (PERSON_NO_BYTES_MAX + 1) + 8];
                int bytes = snprintf(key, sizeof(key), "%s%c%s%c%u", account->person_no, 0,
                                     each->beneficiary, 0, periods[p]);
                uint8_t value[8];
                u64_encode(value, (uint64_t)fen[p]);
                MDB_val row_key = {(size_t)bytes, key}, row = {sizeof(value), value};
                rc = mdb_put(txn, usage, &row_key, &row, 0);
            }
        }
        size_t counted = account->n_aid_usage;
        if (rc == 0 && counted) {
            account->n_aid_usage = 0;
            size_t bytes = famledger__account__get_packed_size(account);
            uint8_t *packed = malloc(bytes ? bytes : 1);
            famledger__account__pack(account, packed);
            MDB_val record = {bytes, packed};
            rc = mdb_cursor_put(cursor, &k, &record, MDB_CURRENT);
            free(packed);
            account->n_aid_usage = counted; /* free_unpacked frees by count */
        }
        famledger__account__free_unpacked(account, NULL);
        if (rc)
            break;
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Formats 2 and 3 kept statements as an index (account_entries: person_no -> each seq, sorted)
 * where format 4 links them (account_links). */
static int links_to_index(MDB_txn *txn)
{
    MDB_dbi links, entries;
    MDB_cursor *cursor;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, "account_links", 0, &links);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "account_entries", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED,
                          &entries);
    if (rc == 0)
        rc = mdb_cursor_open(txn, links, &cursor);
    if (rc)
        return rc;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        MDB_val person = {k.mv_size - 8, (uint8_t *)k.mv_data + 8}, seq = {8, k.mv_data};
        if ((rc = mdb_put(txn, entries, &person, &seq, 0)) != 0)
            break;
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? mdb_drop(txn, links, 1) : rc;
}

/* Straight through LMDB: store_open would upgrade it back. Format 2 also lacked the wallet,
 * hold and aid tables. */
int format_older_make(const char *dir, int format)
{
    static const char *const format_3_tables[] = {"wallets", "wallet_sends", "holds",
                                                  "timers", "aid_limits", "aid_usage"};
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi meta, table;
    MDB_val k, v;
    int rc = mdb_env_create(&env);
    if (rc == 0 && (rc = mdb_env_set_maxdbs(env, STORE_DBS_MAX)) == 0 &&
        (rc = mdb_env_set_mapsize(env, (size_t)1 << 30)) == 0 &&
        (rc = mdb_env_open(env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0)
        rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == 0 && format < 6)
        rc = day_index(txn);
    if (rc == 0 && format < 5)
        rc = usage_to_table(txn);
    if (rc == 0 && format < 4)
        rc = links_to_index(txn);
    size_t tables = sizeof(format_3_tables) / sizeof(*format_3_tables);
    for (size_t i = 0; rc == 0 && format < 3 && i < tables; i++)
        if ((rc = mdb_dbi_open(txn, format_3_tables[i], 0, &table)) == 0)
            rc = mdb_drop(txn, table, 1);
    char text[2] = {(char)('0' + format), 0};
    k = (MDB_val){6, "format"};
    v = (MDB_val){1, text};
    if (rc == 0)
        rc = mdb_put(txn, meta, &k, &v, 0);
    rc = rc == 0 ? mdb_txn_commit(txn) : (txn ? (mdb_txn_abort(txn), rc) : rc);
    mdb_env_close(env);
    if (rc)
        fprintf(stderr, "famledger-corrupt: format %d: %s\n", format, mdb_strerror(rc));
    return rc ? 1 : 0;
}
