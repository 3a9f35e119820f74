/* test_deferred.c -- the accounts and references kept in memory (store_defer_state): what each
 * transaction sees, the journal that makes them durable, the sweep that writes them to their
 * trees, walks that merge the two, and commits that fail after publishing. Failures are made
 * through the linker (this binary links with -Wl,--wrap=mdb_put,--wrap=mdb_txn_commit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "famledger_status.h"
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags);
int __real_mdb_txn_commit(MDB_txn *txn);
int __wrap_mdb_txn_commit(MDB_txn *txn);

static unsigned puts_until_failure;  /* 0: none fails; else the put that many from now */
static bool commit_fails;            /* the next top-level commit fails, as a failed sync */

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    if (puts_until_failure && --puts_until_failure == 0)
        return EIO;
    return __real_mdb_put(txn, dbi, key, data, flags);
}

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
    if (commit_fails) { /* the tests set it for a top-level commit only */
        commit_fails = false;
        mdb_txn_abort(txn); /* a failed commit frees its transaction */
        return EIO;
    }
    return __real_mdb_txn_commit(txn);
}

struct ledger {
    char dir[64];
    struct store *store;
};

static void ledger_open(struct ledger *l, uint64_t sweep_ms)
{
    assert_int_equal(store_open(l->dir, 1 << 20, 64 << 20, STORE_CREATE_IF_EMPTY, &l->store), 0);
    if (sweep_ms)
        assert_int_equal(store_defer_state(l->store, sweep_ms), 0);
}

static int setup(void **state)
{
    struct ledger *l = calloc(1, sizeof(*l));
    strcpy(l->dir, "/tmp/famledger-unit-XXXXXX");
    if (!mkdtemp(l->dir))
        return -1;
    puts_until_failure = 0;
    commit_fails = false;
    *state = l;
    return 0;
}

static int teardown(void **state)
{
    struct ledger *l = *state;
    store_close(l->store);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", l->dir);
    int rc = system(command);
    free(l);
    return rc == 0 ? 0 : -1;
}

static void put(struct store_txn *txn, enum store_db db, const char *key, const char *value)
{
    assert_int_equal(store_put(txn, db, key, strlen(key), value, strlen(value)), 0);
}

/* Commit one put of each "key=value" (or "key=" to delete) in `db`. */
static void commit_puts(struct store *store, enum store_db db, const char *const *pairs)
{
    struct store_txn *txn;
    assert_int_equal(store_write_begin(store, &txn), 0);
    for (; *pairs; pairs++) {
        const char *equals = strchr(*pairs, '=');
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(equals - *pairs), *pairs);
        if (equals[1])
            put(txn, db, key, equals + 1);
        else
            assert_int_equal(store_delete(txn, db, key, strlen(key)), 1);
    }
    assert_int_equal(store_commit(txn), 0);
}

/* The value of `key` as `txn` sees it, "" when absent. */
static const char *seen(struct store_txn *txn, enum store_db db, const char *key)
{
    static char text[4][64];
    static unsigned next;
    struct store_bytes value;
    int rc = store_get(txn, db, key, strlen(key), &value);
    assert_true(rc == 0 || rc == 1);
    char *out = text[next++ % 4];
    snprintf(out, 64, "%.*s", rc ? (int)value.size : 0, rc ? (const char *)value.data : "");
    return out;
}

static const char *latest(struct store *store, enum store_db db, const char *key)
{
    struct store_txn *txn;
    assert_int_equal(store_read_begin(store, &txn), 0);
    const char *value = seen(txn, db, key);
    store_read_end(txn);
    return value;
}

static uint64_t journal_records(struct store *store)
{
    struct store_txn *txn;
    uint64_t records;
    assert_int_equal(store_read_begin(store, &txn), 0);
    assert_int_equal(store_records(txn, STORE_DB_JOURNAL, &records), 0);
    store_read_end(txn);
    return records;
}

static void test_readers_see_the_commits_before_their_snapshot_only(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 3600000); /* no sweep within the test */
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", "B=1", NULL});
    struct store_txn *before;
    assert_int_equal(store_read_begin(l->store, &before), 0);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=2", "B=", "C=1", NULL});
    commit_puts(l->store, STORE_DB_REFERENCES, (const char *[]){"A=ref", NULL});
    assert_string_equal(seen(before, STORE_DB_ACCOUNTS, "A"), "1");
    assert_string_equal(seen(before, STORE_DB_ACCOUNTS, "B"), "1");
    assert_string_equal(seen(before, STORE_DB_ACCOUNTS, "C"), "");
    assert_string_equal(seen(before, STORE_DB_REFERENCES, "A"), "");
    store_read_end(before);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "2");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "C"), "1");
    assert_string_equal(latest(l->store, STORE_DB_REFERENCES, "A"), "ref");
    /* One journal record a commit that changed them, none in the trees yet. */
    assert_int_equal(journal_records(l->store), 3);
    struct store_deferred_stats stats;
    store_deferred_stats(l->store, &stats);
    assert_int_equal(stats.records, 4);
    assert_int_equal(stats.dirty, 4);
}

static void test_a_nested_transaction_hands_its_changes_to_its_parent_or_drops_them(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 3600000);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=0", NULL});
    struct store_txn *txn, *child, *grandchild;
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    put(txn, STORE_DB_ACCOUNTS, "A", "1");
    assert_int_equal(store_nested_begin(txn, &child), 0);
    put(child, STORE_DB_ACCOUNTS, "A", "2");
    put(child, STORE_DB_ACCOUNTS, "B", "2");
    assert_string_equal(seen(child, STORE_DB_ACCOUNTS, "A"), "2");
    store_abort(child);
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "1");
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "B"), "");
    assert_int_equal(store_nested_begin(txn, &child), 0);
    put(child, STORE_DB_ACCOUNTS, "A", "3");
    assert_int_equal(store_nested_begin(child, &grandchild), 0);
    put(grandchild, STORE_DB_ACCOUNTS, "C", "3");
    assert_int_equal(store_delete(grandchild, STORE_DB_ACCOUNTS, "A", 1), 1);
    assert_int_equal(store_delete(grandchild, STORE_DB_ACCOUNTS, "A", 1), 0);
    assert_int_equal(store_commit(grandchild), 0);
    assert_string_equal(seen(child, STORE_DB_ACCOUNTS, "A"), "");
    put(child, STORE_DB_ACCOUNTS, "A", "4");
    assert_int_equal(store_commit(child), 0);
    assert_int_equal(store_txn_writes(txn), 5);
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "4");
    /* Readers see none of it before the commit. */
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "0");
    assert_int_equal(store_commit(txn), 0);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "4");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "C"), "3");
}

static void test_a_start_applies_the_journal_to_the_trees(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 3600000);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", "B=1", NULL});
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=2", "B=", NULL});
    commit_puts(l->store, STORE_DB_REFERENCES, (const char *[]){"R=x", NULL});
    assert_int_equal(journal_records(l->store), 3);
    store_close(l->store); /* as a kill would: nothing swept */
    ledger_open(l, 0);     /* applied whatever the setting */
    assert_int_equal(journal_records(l->store), 0);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "2");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "");
    assert_string_equal(latest(l->store, STORE_DB_REFERENCES, "R"), "x");
    struct store_txn *txn;
    uint64_t records;
    assert_int_equal(store_read_begin(l->store, &txn), 0);
    assert_int_equal(store_records(txn, STORE_DB_ACCOUNTS, &records), 0);
    assert_int_equal(records, 1); /* in the tree itself */
    store_read_end(txn);
}

static void sleep_ms(long ms)
{
    struct timespec pause = {0, ms * 1000000};
    nanosleep(&pause, NULL);
}

/* Commit a change of `key` until the sweep has written every record and the journal holds only
 * the last commits' records (a sweep covers what was dirty at its start). */
static void sweep_until_clean(struct store *store, const char *key)
{
    struct store_deferred_stats stats;
    for (int i = 0; i < 400; i++) {
        char value[16];
        snprintf(value, sizeof(value), "%d", i);
        struct store_txn *txn;
        assert_int_equal(store_write_begin(store, &txn), 0);
        put(txn, STORE_DB_REFERENCES, key, value);
        assert_int_equal(store_commit(txn), 0);
        store_deferred_stats(store, &stats);
        if (stats.dirty <= 1 && journal_records(store) <= 3)
            return;
        sleep_ms(2);
    }
    fail_msg("the sweep did not finish: %llu dirty, %llu in the journal",
             (unsigned long long)stats.dirty, (unsigned long long)journal_records(store));
}

static void test_the_sweep_writes_the_trees_and_the_journal_is_dropped_behind_it(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 1);
    for (int i = 0; i < 50; i++) {
        char key[16], pair[40];
        snprintf(key, sizeof(key), "K%03d", i);
        snprintf(pair, sizeof(pair), "%s=v%d", key, i);
        commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){pair, NULL});
    }
    sweep_until_clean(l->store, "busy");
    /* The trees hold every record: a start without the journal's help finds them all. */
    struct store_txn *txn;
    uint64_t records;
    assert_int_equal(store_read_begin(l->store, &txn), 0);
    assert_int_equal(store_records(txn, STORE_DB_ACCOUNTS, &records), 0);
    assert_int_equal(records, 50);
    store_read_end(txn);
    store_close(l->store);
    ledger_open(l, 0);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "K000"), "v0");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "K049"), "v49");
}

/* A transaction that wrote nothing commits nothing, though the sweep has work: a refused
 * request, or the daemon's idle check of its timers, costs no flush. */
static void test_a_transaction_that_wrote_nothing_carries_no_sweep(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 1);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", "B=1", NULL});
    struct store_deferred_stats stats;
    for (int i = 0; i < 20; i++) {
        sleep_ms(2);
        uint64_t id = store_txnid(l->store);
        struct store_txn *txn;
        assert_int_equal(store_write_begin(l->store, &txn), 0);
        assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "1");
        assert_int_equal(store_commit(txn), 0);
        assert_int_equal(store_txnid(l->store), id);
    }
    store_deferred_stats(l->store, &stats);
    assert_int_equal(stats.dirty, 2);
    assert_int_equal(journal_records(l->store), 1);
}

struct walk {
    char seen[256];
    size_t records;
};

static int walk_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    struct walk *walk = context;
    size_t at = strlen(walk->seen);
    snprintf(walk->seen + at, sizeof(walk->seen) - at, "%.*s=%.*s ", (int)key.size,
             (const char *)key.data, (int)value.size, (const char *)value.data);
    walk->records++;
    return 0;
}

static const char *walked(struct store_txn *txn, const char *after, size_t max)
{
    static struct walk walk;
    memset(&walk, 0, sizeof(walk));
    assert_int_equal(store_scan(txn, STORE_DB_ACCOUNTS, after, after ? strlen(after) : 0,
                                (struct store_bytes){0}, max, walk_cb, &walk),
                     0);
    return walk.seen;
}

static void test_a_walk_merges_memory_with_the_tree(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 0); /* the tree first, written at each commit */
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=t", "C=t", "E=t", "G=t", NULL});
    store_close(l->store);
    ledger_open(l, 3600000);
    struct store_txn *before, *after;
    assert_int_equal(store_read_begin(l->store, &before), 0);
    commit_puts(l->store, STORE_DB_ACCOUNTS,
                (const char *[]){"B=m", "C=m", "E=", "F=m", "H=m", "AA=m", NULL});
    assert_int_equal(store_read_begin(l->store, &after), 0);
    assert_string_equal(walked(after, NULL, 100), "A=t AA=m B=m C=m F=m G=t H=m ");
    assert_string_equal(walked(after, NULL, 3), "A=t AA=m B=m ");
    assert_string_equal(walked(after, "B", 2), "C=m F=m ");
    assert_string_equal(walked(after, "C", 100), "F=m G=t H=m ");
    assert_string_equal(walked(after, "D", 100), "F=m G=t H=m ");
    assert_string_equal(walked(after, "H", 100), "");
    /* A deleted record hidden, the next in the tree follows it. */
    assert_string_equal(walked(after, "D", 1), "F=m ");
    /* The snapshot before the commit walks the tree as it was. */
    assert_string_equal(walked(before, NULL, 100), "A=t C=t E=t G=t ");
    /* And each counts what it walks (verify paces its digests by it). */
    uint64_t records;
    assert_int_equal(store_records(after, STORE_DB_ACCOUNTS, &records), 0);
    assert_int_equal(records, 7);
    assert_int_equal(store_records(before, STORE_DB_ACCOUNTS, &records), 0);
    assert_int_equal(records, 4);
    store_read_end(before);
    store_read_end(after);
}

/* A snapshot for an audit (store_snapshot_begin) sees what memory held at its start, by key
 * and in walks, while the writer changes, sweeps and forgets those records under it: it holds
 * nothing in memory back, however long it stays open. */
static void test_an_audit_snapshot_holds_nothing_in_memory_back(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 1);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", "B=1", "C=1", NULL});
    commit_puts(l->store, STORE_DB_REFERENCES, (const char *[]){"R=1", NULL});
    struct store_txn *audit;
    assert_int_equal(store_snapshot_begin(l->store, &audit), 0);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=2", "B=", "D=2", NULL});
    commit_puts(l->store, STORE_DB_REFERENCES, (const char *[]){"R=2", "S=2", NULL});
    sweep_until_clean(l->store, "busy");
    for (int i = 0; i < 3; i++) /* the last written are forgotten at the next commits */
        commit_puts(l->store, STORE_DB_REFERENCES, (const char *[]){"busy=again", NULL});
    struct store_deferred_stats stats;
    store_deferred_stats(l->store, &stats);
    assert_int_equal(stats.records, 1); /* "busy", changed by the last commit */

    assert_string_equal(seen(audit, STORE_DB_ACCOUNTS, "A"), "1");
    assert_string_equal(seen(audit, STORE_DB_ACCOUNTS, "B"), "1");
    assert_string_equal(seen(audit, STORE_DB_ACCOUNTS, "D"), "");
    assert_string_equal(seen(audit, STORE_DB_REFERENCES, "R"), "1");
    assert_string_equal(seen(audit, STORE_DB_REFERENCES, "S"), "");
    assert_string_equal(walked(audit, NULL, 100), "A=1 B=1 C=1 ");
    uint64_t records;
    assert_int_equal(store_records(audit, STORE_DB_ACCOUNTS, &records), 0);
    assert_int_equal(records, 3);
    store_read_end(audit);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "2");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "");
}

static void test_a_commit_that_fails_after_publishing_leaves_no_trace(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 3600000);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", NULL});
    uint64_t id = store_txnid(l->store);
    for (int failure = 0; failure < 2; failure++) {
        struct store_txn *txn;
        assert_int_equal(store_write_begin(l->store, &txn), 0);
        put(txn, STORE_DB_ACCOUNTS, "A", "lost");
        put(txn, STORE_DB_ACCOUNTS, "B", "lost");
        if (failure == 0)
            commit_fails = true; /* the sync fails: LMDB's commit, after the publication */
        else
            puts_until_failure = 1; /* the journal's append fails, before it */
        assert_int_equal(store_commit(txn), FL_ERR_INTERNAL);
        assert_false(commit_fails);
        assert_int_equal(puts_until_failure, 0);
        assert_int_equal(store_txnid(l->store), id);
        assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "1");
        assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "");
        assert_int_equal(store_write_begin(l->store, &txn), 0);
        assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "1");
        assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "B"), "");
        store_abort(txn);
    }
    /* The next commit is given the failed one's id, and publishes under it. */
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=2", NULL});
    assert_int_equal(store_txnid(l->store), id + 1);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "2");
    assert_int_equal(journal_records(l->store), 2);
    store_close(l->store);
    ledger_open(l, 0);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "2");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "");
}

static void test_a_failed_sweep_write_is_written_again(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 1);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", "B=1", NULL});
    /* Commits until one carries a share of the sweep, whose first put then fails. */
    struct store_deferred_stats stats;
    int failed = 0;
    for (int i = 0; i < 400 && !failed; i++) {
        sleep_ms(2);
        struct store_txn *txn;
        assert_int_equal(store_write_begin(l->store, &txn), 0);
        put(txn, STORE_DB_REFERENCES, "R", "x");
        store_deferred_stats(l->store, &stats);
        puts_until_failure = stats.sweep_left ? 2 : 0; /* the journal's, then the sweep's */
        int rc = store_commit(txn);
        failed = rc != 0;
        assert_true(rc == 0 || (rc == FL_ERR_INTERNAL && puts_until_failure == 0));
        puts_until_failure = 0;
    }
    assert_true(failed);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "1");
    sweep_until_clean(l->store, "R");
    store_close(l->store);
    ledger_open(l, 0);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "1");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "1");
}

static void test_a_damaged_journal_record_stops_the_start(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 0);
    struct store_txn *txn;
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    uint8_t key[8];
    store_u64_encode(key, 7);
    /* A record of table 0 whose key runs past the end. */
    static const uint8_t damaged[] = {0, 0, 0, 40, 0, 0, 0, 1, 'A', '1'};
    assert_int_equal(store_put(txn, STORE_DB_JOURNAL, key, sizeof(key), damaged,
                               sizeof(damaged)), 0);
    assert_int_equal(store_commit(txn), 0);
    store_close(l->store);
    assert_int_equal(store_open(l->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &l->store),
                     FL_ERR_INTERNAL);
    l->store = NULL;
}

/* With no request, the writer's own commits (store_idle_commit) go on with the sweep: at its
 * pace, nothing before the interval; at a stop, everything at once, whatever the interval, until
 * the journal is empty. One that fails loses nothing and is done again. */
static void test_idle_commits_write_everything_back_and_empty_the_journal(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 0);
    assert_true(store_idle_work_ms(l->store) == UINT64_MAX); /* the setting off */
    store_close(l->store);
    ledger_open(l, 3600000);
    assert_true(store_idle_work_ms(l->store) == UINT64_MAX); /* nothing journaled */
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", "B=2", NULL});
    commit_puts(l->store, STORE_DB_REFERENCES, (const char *[]){"R=x", NULL});
    uint64_t due_ms = store_idle_work_ms(l->store);
    assert_true(due_ms > 3500000 && due_ms <= 3600000); /* the next sweep, an hour away */
    uint64_t id = store_txnid(l->store);
    assert_int_equal(store_idle_commit(l->store, false), 0);
    assert_int_equal(store_txnid(l->store), id); /* nothing due: no page written, no flush */

    commit_fails = true;
    assert_int_equal(store_idle_commit(l->store, true), FL_ERR_INTERNAL);
    assert_int_equal(store_txnid(l->store), id);
    assert_int_equal(journal_records(l->store), 2);
    int commits = 0;
    while (store_idle_work_ms(l->store) != UINT64_MAX && commits++ < 8)
        assert_int_equal(store_idle_commit(l->store, true), 0);
    assert_true(store_idle_work_ms(l->store) == UINT64_MAX);
    assert_int_equal(journal_records(l->store), 0);
    struct store_deferred_stats stats;
    store_deferred_stats(l->store, &stats);
    assert_int_equal(stats.dirty, 0);
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "2");
    store_close(l->store);
    ledger_open(l, 0); /* the trees alone, no journal to apply */
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "A"), "1");
    assert_string_equal(latest(l->store, STORE_DB_ACCOUNTS, "B"), "2");
    assert_string_equal(latest(l->store, STORE_DB_REFERENCES, "R"), "x");
}

/* ---- Reads made ahead (store_read_begin_ahead, store_ahead_use) ---- */

/* Record `keys` of `db` as a prefetch thread would, into *ahead. */
static void record_ahead(struct store *store, struct store_ahead *ahead, enum store_db db,
                         const char *const *keys)
{
    struct store_txn *txn;
    assert_int_equal(store_read_begin_ahead(store, &txn, ahead), 0);
    for (; *keys; keys++)
        (void)seen(txn, db, *keys);
    store_read_end(txn);
}

static uint64_t taken_so_far(struct store *store, uint64_t *refused)
{
    uint64_t taken;
    store_ahead_counts(store, &taken, refused);
    return taken;
}

/* The writer took `taken` reads made ahead and refused `refused` since the start. */
static void assert_ahead_counts(struct store *store, uint64_t taken, uint64_t refused)
{
    uint64_t refused_now, taken_now = taken_so_far(store, &refused_now);
    assert_int_equal(taken_now, taken);
    assert_int_equal(refused_now, refused);
}

/* Every record written back to its tree and forgotten by memory. */
static void forget_all(struct store *store)
{
    struct store_deferred_stats stats;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(store_idle_commit(store, true), 0);
        store_deferred_stats(store, &stats);
        if (stats.records == 0 && store_idle_work_ms(store) == UINT64_MAX)
            return;
    }
    fail_msg("memory still holds %llu records", (unsigned long long)stats.records);
}

/* Persons, bindings and the like: a read made ahead is taken while no commit since it, and not
 * the writer's open transaction, wrote its table; else the writer reads the tree, and sees what
 * was written since. */
static void test_reads_made_ahead_are_taken_while_their_table_is_unchanged(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 0);
    commit_puts(l->store, STORE_DB_PERSONS, (const char *[]){"P1=old", "P2=two", NULL});
    struct store_ahead ahead;
    record_ahead(l->store, &ahead, STORE_DB_PERSONS, (const char *[]){"P1", "P2", "P3", NULL});
    uint64_t refused, taken = taken_so_far(l->store, &refused);

    struct store_txn *txn;
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &ahead);
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P1"), "old");
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P3"), ""); /* absent, as recorded */
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P9"), ""); /* not recorded: the tree */
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "P1"), "");
    assert_ahead_counts(l->store, taken + 2, refused);
    /* The open transaction writes the table: its reads are its own from then on. */
    put(txn, STORE_DB_PERSONS, "P2", "mine");
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P2"), "mine");
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P1"), "old");
    assert_ahead_counts(l->store, taken + 2, refused + 2);
    store_abort(txn);

    /* A commit writes the table after the reads were made: none of them is taken again. */
    commit_puts(l->store, STORE_DB_PERSONS, (const char *[]){"P1=new", "P3=three", NULL});
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P1"), "new");
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P2"), "two");
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P3"), "three");
    assert_ahead_counts(l->store, taken + 2, refused + 5);
    store_abort(txn);
    store_ahead_use(l->store, NULL);

    /* Made again after that commit, they are taken again. */
    record_ahead(l->store, &ahead, STORE_DB_PERSONS, (const char *[]){"P1", NULL});
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &ahead);
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P1"), "new");
    store_ahead_use(l->store, NULL);
    store_abort(txn);
    assert_ahead_counts(l->store, taken + 3, refused + 5);

    /* The same with the accounts and references kept in memory: their commits count the
     * tables they wrote too. */
    store_close(l->store);
    ledger_open(l, 1);
    record_ahead(l->store, &ahead, STORE_DB_PERSONS, (const char *[]){"P1", NULL});
    commit_puts(l->store, STORE_DB_PERSONS, (const char *[]){"P1=newer", NULL});
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &ahead);
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P1"), "newer");
    store_ahead_use(l->store, NULL);
    store_abort(txn);
}

/* The accounts and references kept in memory: a read made ahead of a key memory does not hold
 * is taken unless a record changed after it has been forgotten since; a key changed since is in
 * memory, or forgotten with a newer version, and the writer reads that. */
static void test_reads_made_ahead_of_records_kept_in_memory_never_go_stale(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 1);
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=1", "B=1", NULL});
    forget_all(l->store);
    struct store_ahead ahead;
    record_ahead(l->store, &ahead, STORE_DB_ACCOUNTS, (const char *[]){"A", "B", NULL});
    struct store_ahead references;
    record_ahead(l->store, &references, STORE_DB_REFERENCES, (const char *[]){"R", NULL});
    uint64_t refused, taken = taken_so_far(l->store, &refused);
    struct store_txn *txn;

    /* Nothing changed: taken. */
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &ahead);
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "1");
    store_ahead_use(l->store, NULL);
    store_abort(txn);
    assert_ahead_counts(l->store, taken + 1, refused);

    /* A and R change; memory holds them, and the writer reads memory before anything. */
    commit_puts(l->store, STORE_DB_ACCOUNTS, (const char *[]){"A=2", NULL});
    commit_puts(l->store, STORE_DB_REFERENCES, (const char *[]){"R=x", NULL});
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &ahead);
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "2");
    store_ahead_use(l->store, &references);
    assert_string_equal(seen(txn, STORE_DB_REFERENCES, "R"), "x");
    store_ahead_use(l->store, NULL);
    store_abort(txn);
    assert_ahead_counts(l->store, taken + 1, refused);

    /* Written back and forgotten: memory holds nothing of A or R. What was read ahead of them
     * is out of date, and so is what was read of B (which did not change: the writer cannot
     * tell). The writer reads the trees. */
    forget_all(l->store);
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &ahead);
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "2");
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "B"), "1");
    store_ahead_use(l->store, &references);
    assert_string_equal(seen(txn, STORE_DB_REFERENCES, "R"), "x");
    store_ahead_use(l->store, NULL);
    store_abort(txn);
    assert_ahead_counts(l->store, taken + 1, refused + 3);

    /* Made again now, they are taken. */
    record_ahead(l->store, &ahead, STORE_DB_ACCOUNTS, (const char *[]){"A", "B", NULL});
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &ahead);
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "A"), "2");
    assert_string_equal(seen(txn, STORE_DB_ACCOUNTS, "B"), "1");
    store_ahead_use(l->store, NULL);
    store_abort(txn);
    assert_ahead_counts(l->store, taken + 3, refused + 3);
}

/* One read transaction for several settlements: each record is its own, as of the same
 * snapshot; a record that runs out of room says so and is taken for what it holds. */
static void test_reads_made_ahead_are_recorded_each_into_its_own(void **state)
{
    struct ledger *l = *state;
    ledger_open(l, 0);
    commit_puts(l->store, STORE_DB_PERSONS, (const char *[]){"P1=one", "P2=two", NULL});
    static struct store_ahead first, second, small;
    struct store_txn *txn;
    assert_int_equal(store_read_begin_ahead(l->store, &txn, &first), 0);
    (void)seen(txn, STORE_DB_PERSONS, "P1");
    store_ahead_next(txn, &second);
    (void)seen(txn, STORE_DB_PERSONS, "P2");
    (void)seen(txn, STORE_DB_REFERENCES, "R"); /* a table never recorded */
    store_ahead_next(txn, &small);
    char key[16];
    for (int i = 0; i < STORE_AHEAD_READS + 4; i++) {
        snprintf(key, sizeof(key), "Q%d", i);
        (void)seen(txn, STORE_DB_PERSONS, key);
    }
    store_read_end(txn);
    assert_int_equal(first.count, 1);
    assert_int_equal(second.count, 1);
    assert_int_equal(second.snapshot, first.snapshot);
    assert_memory_equal(second.gens, first.gens, sizeof(first.gens));
    assert_int_equal(small.count, STORE_AHEAD_READS);
    assert_true(small.full);
    assert_false(first.full);
    /* A copy of its bytes is the whole of it. */
    static struct store_ahead copy;
    memcpy(&copy, &second, store_ahead_bytes(&second));
    assert_int_equal(store_write_begin(l->store, &txn), 0);
    store_ahead_use(l->store, &copy);
    uint64_t refused, taken = taken_so_far(l->store, &refused);
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P2"), "two");
    assert_string_equal(seen(txn, STORE_DB_PERSONS, "P1"), "one"); /* not in this record */
    store_ahead_use(l->store, NULL);
    store_abort(txn);
    assert_ahead_counts(l->store, taken + 1, refused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readers_see_the_commits_before_their_snapshot_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_nested_transaction_hands_its_changes_to_its_parent_or_drops_them, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_start_applies_the_journal_to_the_trees, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_the_sweep_writes_the_trees_and_the_journal_is_dropped_behind_it, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_walk_merges_memory_with_the_tree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_transaction_that_wrote_nothing_carries_no_sweep,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_audit_snapshot_holds_nothing_in_memory_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_commit_that_fails_after_publishing_leaves_no_trace,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_sweep_write_is_written_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_idle_commits_write_everything_back_and_empty_the_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reads_made_ahead_are_taken_while_their_table_is_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_reads_made_ahead_of_records_kept_in_memory_never_go_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_made_ahead_are_recorded_each_into_its_own,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_damaged_journal_record_stops_the_start, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
