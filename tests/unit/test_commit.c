/* test_commit.c -- the commit queue: group commit, per-job rollback, map growth, out of space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "commit.h"
#include "famledger_status.h"
#include "store.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_BYTES (64 * 1024)
#define JOBS_MAX 400

struct test_job {
    struct commit_job job; /* first */
    char key[32];
    bool fail_after_write;
    bool account;           /* a small record in accounts, not a large one in meta */
    uv_sem_t *entered;      /* when set, execute posts it first: the writer is here */
    uv_sem_t *gate;         /* when set, execute waits on it: holds the writer */
    bool delivered;
};

struct harness {
    char dir[64];
    struct store *store;
    uv_loop_t loop;
    struct commit_queue queue;
    struct test_job jobs[JOBS_MAX];
    int delivered;
};

static uint8_t value[VALUE_BYTES];

static int job_execute_cb(struct commit_job *job, struct store_txn *txn)
{
    struct test_job *test = (struct test_job *)job;
    /* Once: a batch may run its jobs again (after the map grew, or carefully). */
    if (test->entered) {
        uv_sem_post(test->entered);
        test->entered = NULL;
    }
    if (test->gate) {
        uv_sem_wait(test->gate);
        test->gate = NULL;
    }
    int rc = test->account
                 ? store_put(txn, STORE_DB_ACCOUNTS, test->key, strlen(test->key), value, 16)
                 : store_put(txn, STORE_DB_META, test->key, strlen(test->key), value,
                             sizeof(value));
    if (rc)
        return rc;
    return test->fail_after_write ? FL_ERR_INVALID_ARGUMENT : 0;
}

static struct harness *current;

static void job_done_cb(struct commit_job *job)
{
    ((struct test_job *)job)->delivered = true;
    current->delivered++;
}

/* A queue on a new store; with `sweep_ms`, the accounts kept in memory (store_defer_state). */
static struct harness *harness_open_sweeping(uint64_t map_bytes, uint64_t map_bytes_max,
                                             uint64_t sweep_ms)
{
    struct harness *h = calloc(1, sizeof(*h));
    strcpy(h->dir, "/tmp/famledger-commit-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    assert_int_equal(store_open(h->dir, map_bytes, map_bytes_max, STORE_CREATE_IF_EMPTY, &h->store), 0);
    if (sweep_ms)
        assert_int_equal(store_defer_state(h->store, sweep_ms), 0);
    uv_loop_init(&h->loop);
    assert_int_equal(commit_queue_start(&h->queue, &h->loop, h->store, NULL, 256), 0);
    current = h;
    return h;
}

static struct harness *harness_open(uint64_t map_bytes, uint64_t map_bytes_max)
{
    return harness_open_sweeping(map_bytes, map_bytes_max, 0);
}

static void harness_submit(struct harness *h, int index, bool fail_after_write)
{
    struct test_job *job = &h->jobs[index];
    snprintf(job->key, sizeof(job->key), "job-%03d", index);
    job->fail_after_write = fail_after_write;
    job->job.execute_cb = job_execute_cb;
    job->job.done_cb = job_done_cb;
    commit_queue_submit(&h->queue, &job->job);
}

static void harness_wait(struct harness *h, int delivered)
{
    while (h->delivered < delivered)
        uv_run(&h->loop, UV_RUN_ONCE);
}

static void harness_close(struct harness *h)
{
    commit_queue_stop(&h->queue);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_loop_close(&h->loop);
    store_close(h->store);
}

/* Reopen the store from disk and count which jobs' keys are there. */
static bool stored_after_reopen(struct harness *h, int index)
{
    struct store *store;
    assert_int_equal(store_open(h->dir, 1 << 20, 1u << 30, STORE_OPEN_EXISTING, &store), 0);
    struct store_txn *txn;
    assert_int_equal(store_read_begin(store, &txn), 0);
    struct store_bytes found;
    int rc = store_get(txn, STORE_DB_META, h->jobs[index].key, strlen(h->jobs[index].key),
                       &found);
    store_read_end(txn);
    store_close(store);
    return rc == 1;
}

static void harness_remove(struct harness *h)
{
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", h->dir);
    assert_int_equal(system(command), 0);
    free(h);
}

static void test_jobs_queued_while_the_writer_is_busy_share_one_commit(void **state)
{
    (void)state;
    struct harness *h = harness_open(16 << 20, 64 << 20);
    uv_sem_t gate, entered;
    uv_sem_init(&gate, 0);
    uv_sem_init(&entered, 0);
    h->jobs[0].gate = &gate;
    h->jobs[0].entered = &entered;
    harness_submit(h, 0, false);
    uv_sem_wait(&entered);
    for (int i = 1; i <= 9; i++)
        harness_submit(h, i, false);
    uv_sem_post(&gate);
    harness_wait(h, 10);
    /* The gate held the writer inside job 0's batch: jobs 1..9 formed exactly one more. */
    assert_int_equal(h->queue.stats.batches, 2);
    assert_int_equal(h->queue.stats.jobs, 10);
    harness_close(h);
    for (int i = 0; i <= 9; i++) {
        assert_true(h->jobs[i].delivered);
        assert_int_equal(h->jobs[i].job.commit_status, 0);
        assert_true(stored_after_reopen(h, i));
    }
    uv_sem_destroy(&gate);
    uv_sem_destroy(&entered);
    harness_remove(h);
}

static void test_a_batch_is_as_heavy_as_the_requests_it_carries(void **state)
{
    (void)state;
    struct harness *h = harness_open(16 << 20, 256 << 20); /* batch_max 256 */
    uv_sem_t gate, entered;
    uv_sem_init(&gate, 0);
    uv_sem_init(&entered, 0);
    h->jobs[0].gate = &gate;
    h->jobs[0].entered = &entered;
    harness_submit(h, 0, false);
    uv_sem_wait(&entered);
    /* Weights as BatchRequests give them: 200, 100 and 1 do not fit in one batch of 256; 300
     * is taken alone, however heavy. */
    static const unsigned weights[] = {0, 200, 100, 1, 300, 1};
    for (int i = 1; i <= 5; i++) {
        h->jobs[i].job.weight = weights[i];
        harness_submit(h, i, false);
    }
    uv_sem_post(&gate);
    harness_wait(h, 6);
    /* [0] [200] [100 1] [300] [1] */
    assert_int_equal(h->queue.stats.batches, 5);
    assert_int_equal(h->queue.stats.jobs, 6);
    struct commit_stats stats;
    uint64_t durable_seq;
    commit_queue_stats(&h->queue, &stats, &durable_seq);
    assert_int_equal(stats.batches, 5);
    assert_int_equal(stats.flushes, 10); /* data and meta page each; no head record here */
    assert_int_equal(durable_seq, 0);    /* no log entry was written */
    harness_close(h);
    for (int i = 0; i <= 5; i++)
        assert_true(stored_after_reopen(h, i));
    uv_sem_destroy(&gate);
    uv_sem_destroy(&entered);
    harness_remove(h);
}

static void test_a_failed_job_undoes_only_its_own_writes(void **state)
{
    (void)state;
    struct harness *h = harness_open(16 << 20, 64 << 20);
    uv_sem_t gate;
    uv_sem_init(&gate, 0);
    h->jobs[0].gate = &gate;
    harness_submit(h, 0, false);
    harness_submit(h, 1, false);
    harness_submit(h, 2, true);
    harness_submit(h, 3, false);
    uv_sem_post(&gate);
    harness_wait(h, 4);
    /* Job 2 failed after writing: the straight attempt was undone and the batch run again, each
     * job in a child of its own. */
    assert_int_equal(h->queue.stats.redone, 1);
    assert_int_equal(h->queue.stats.batches, 1);
    harness_close(h);
    assert_int_equal(h->jobs[2].job.execute_status, FL_ERR_INVALID_ARGUMENT);
    assert_true(stored_after_reopen(h, 1));
    assert_false(stored_after_reopen(h, 2));
    assert_true(stored_after_reopen(h, 3));
    uv_sem_destroy(&gate);
    harness_remove(h);
}

static void test_a_full_map_grows_and_the_batch_is_retried_losing_nothing(void **state)
{
    (void)state;
    struct harness *h = harness_open(1 << 20, 256 << 20);
    for (int i = 0; i < 100; i++) /* 6.4 MB of values into a 1 MiB map */
        harness_submit(h, i, false);
    harness_wait(h, 100);
    assert_true(h->queue.stats.map_grows >= 1);
    assert_true(store_map_bytes(h->store) > (1 << 20));
    harness_close(h);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(h->jobs[i].job.commit_status, 0);
        assert_true(stored_after_reopen(h, i));
    }
    harness_remove(h);
}

static void test_at_the_maximum_size_writes_are_refused_and_acknowledged_ones_kept(void **state)
{
    (void)state;
    struct harness *h = harness_open(1 << 20, 2 << 20);
    int refused = -1;
    for (int i = 0; i < 64 && refused < 0; i++) { /* one at a time: each its own batch */
        harness_submit(h, i, false);
        harness_wait(h, i + 1);
        if (h->jobs[i].job.commit_status == FL_ERR_OUT_OF_SPACE)
            refused = i;
        else
            assert_int_equal(h->jobs[i].job.commit_status, 0);
    }
    assert_true(refused > 0);
    harness_close(h);
    for (int i = 0; i < refused; i++)
        assert_true(stored_after_reopen(h, i));
    assert_false(stored_after_reopen(h, refused));
    harness_remove(h);
}

/* Entries of `table` in the ledger's file as LMDB has it, journal unapplied: what a start would
 * find. MDB_NOLOCK: the store has the environment open in this process, and a second one must
 * not touch its lock file. */
static size_t file_entries(struct harness *h, const char *table)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, h->dir, MDB_RDONLY | MDB_NOLOCK, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, table, 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &stat), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return stat.ms_entries;
}

static void harness_submit_accounts(struct harness *h, int count)
{
    for (int i = 0; i < count; i++) {
        h->jobs[i].account = true;
        harness_submit(h, i, false);
        harness_wait(h, i + 1); /* one commit each: a journal record each */
    }
}

/* Wait (5 s at most) until the writer has written every change back and emptied the journal:
 * the journal's records in the file then, and what memory holds in *held. */
static size_t wait_written_back(struct harness *h, struct store_deferred_stats *held)
{
    size_t journal = 1;
    *held = (struct store_deferred_stats){0};
    for (int wait = 0; wait < 500 && (journal || held->dirty); wait++) {
        uv_sleep(10);
        store_deferred_stats(h->store, held);
        journal = file_entries(h, "journal");
    }
    return journal;
}

/* With the accounts kept in memory, a writer with no requests writes them back on its own, at
 * the sweep's pace, and empties the journal: nothing waits for the next request to do it. */
static void test_an_idle_writer_writes_back_what_memory_holds(void **state)
{
    (void)state;
    struct harness *h = harness_open_sweeping(1 << 20, 64 << 20, 20);
    harness_submit_accounts(h, 3);
    struct store_deferred_stats held;
    assert_int_equal(wait_written_back(h, &held), 0);
    assert_int_equal(held.dirty, 0);
    assert_int_equal(file_entries(h, "accounts"), 3);
    harness_close(h);
    harness_remove(h);
}

/* Records a snapshot still reads are kept after the sweep wrote them; once it ends, an idle
 * writer forgets them, with no request to commit. */
static void test_an_idle_writer_forgets_what_a_snapshot_held_back(void **state)
{
    (void)state;
    struct harness *h = harness_open_sweeping(1 << 20, 64 << 20, 20);
    struct store_txn *snapshot;
    assert_int_equal(store_read_begin(h->store, &snapshot), 0);
    harness_submit_accounts(h, 3);
    struct store_deferred_stats held;
    assert_int_equal(wait_written_back(h, &held), 0);
    assert_int_equal(file_entries(h, "accounts"), 3);
    uv_sleep(100);
    store_deferred_stats(h->store, &held);
    assert_int_equal(held.records, 3); /* the tree of its snapshot has none of them */
    store_read_end(snapshot);
    for (int wait = 0; wait < 500 && held.records; wait++) {
        uv_sleep(10);
        store_deferred_stats(h->store, &held);
    }
    assert_int_equal(held.records, 0);
    harness_close(h);
    harness_remove(h);
}

/* A stop writes back what memory holds however long the interval, and leaves the journal empty:
 * the file after a clean stop is as it would be without the setting. */
static void test_a_stop_writes_back_what_memory_holds(void **state)
{
    (void)state;
    struct harness *h = harness_open_sweeping(1 << 20, 64 << 20, 3600 * 1000);
    harness_submit_accounts(h, 3);
    uv_sleep(100); /* an idle writer would not sweep for an hour */
    assert_int_equal(file_entries(h, "journal"), 3);
    assert_int_equal(file_entries(h, "accounts"), 0);
    harness_close(h);
    assert_int_equal(file_entries(h, "journal"), 0);
    assert_int_equal(file_entries(h, "accounts"), 3);
    harness_remove(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_queued_while_the_writer_is_busy_share_one_commit),
        cmocka_unit_test(test_a_batch_is_as_heavy_as_the_requests_it_carries),
        cmocka_unit_test(test_a_failed_job_undoes_only_its_own_writes),
        cmocka_unit_test(test_a_full_map_grows_and_the_batch_is_retried_losing_nothing),
        cmocka_unit_test(test_at_the_maximum_size_writes_are_refused_and_acknowledged_ones_kept),
        cmocka_unit_test(test_an_idle_writer_writes_back_what_memory_holds),
        cmocka_unit_test(test_an_idle_writer_forgets_what_a_snapshot_held_back),
        cmocka_unit_test(test_a_stop_writes_back_what_memory_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
