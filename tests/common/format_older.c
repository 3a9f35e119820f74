/* format_older.c -- test helper: turn a stopped ledger of today's format into one of an older
 * format, as the famledgerd of that format left it (format_older.h). */
#include "format_older.h"

#include "fl_limits.h"

#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>

/* An older layout, made from this one as the famledgerd of that format left it: format 3 kept
 * statements as an index (account_entries: person_no -> each seq, sorted) where format 4 links
 * them (account_links); format 2 also lacked the wallet, hold and aid limit tables. Straight
 * through LMDB: store_open would upgrade it back. */
int format_older_make(const char *dir, int format)
{
    static const char *const format_3_tables[] = {"wallets", "wallet_sends", "holds",
                                                  "timers", "aid_limits", "aid_usage"};
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi meta, links, entries, table;
    MDB_cursor *cursor;
    MDB_val k, v;
    int rc = mdb_env_create(&env);
    if (rc == 0 && (rc = mdb_env_set_maxdbs(env, STORE_DBS_MAX)) == 0 &&
        (rc = mdb_env_set_mapsize(env, (size_t)1 << 30)) == 0 &&
        (rc = mdb_env_open(env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0 &&
        (rc = mdb_dbi_open(txn, "meta", 0, &meta)) == 0 &&
        (rc = mdb_dbi_open(txn, "account_links", 0, &links)) == 0 &&
        (rc = mdb_dbi_open(txn, "account_entries", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED,
                           &entries)) == 0 &&
        (rc = mdb_cursor_open(txn, links, &cursor)) == 0) {
        for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
            MDB_val person = {k.mv_size - 8, (uint8_t *)k.mv_data + 8}, seq = {8, k.mv_data};
            if ((rc = mdb_put(txn, entries, &person, &seq, 0)) != 0)
                break;
        }
        mdb_cursor_close(cursor);
        rc = rc == MDB_NOTFOUND ? mdb_drop(txn, links, 1) : rc;
    }
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
