/* commit.c -- the commit queue: one writer thread, group commit, replies only after sync. */
#include "commit.h"

#include "famledger_status.h"
#include "ledger.h"
#include "log.h"
#include "sync_dir.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static void commit_fail_stop(struct commit_queue *queue, int status)
{
    uv_mutex_lock(&queue->mutex);
    if (queue->failed_status == 0)
        queue->failed_status = status;
    uv_mutex_unlock(&queue->mutex);
}

/* What a client whose write was lost is told, beyond its status. */
static const char commit_reason_unlinked[] =
    "data.mdb was deleted while famledgerd ran; writes are refused until an operator restores "
    "the ledger (famledgerd's log says how). Send it again with the same reference then";
static const char commit_reason_stopped[] =
    "a storage failure stops famledgerd. Send it again with the same reference once it has "
    "restarted: it is then either recorded already or recorded once";

static void commit_batch_fail(struct commit_job *batch, int status, const char *reason)
{
    for (struct commit_job *job = batch; job; job = job->next) {
        job->commit_status = status;
        job->commit_reason = reason;
    }
}

/* Run one job: straight in `txn`, or, when `careful`, in a nested transaction of its own.
 * Returns < 0 only when the whole batch must stop; run straight, sets *redo when the job failed
 * after writing (its writes cannot be undone alone). */
static int commit_job_run(struct commit_queue *queue, struct store_txn *txn,
                          struct commit_job *job, bool careful, bool *redo)
{
    if (!careful) {
        uint64_t writes = store_txn_writes(txn);
        job->execute_status = job->execute_cb(job, txn);
        if (store_map_full(queue->store))
            return FL_ERR_OUT_OF_SPACE;
        *redo = job->execute_status < 0 && store_txn_writes(txn) != writes;
        return 0;
    }
    struct store_txn *child;
    int rc = store_nested_begin(txn, &child);
    if (rc)
        return rc;
    job->execute_status = job->execute_cb(job, child);
    if (store_map_full(queue->store)) {
        store_abort(child);
        return FL_ERR_OUT_OF_SPACE;
    }
    if (job->execute_status < 0) {
        store_abort(child);
        return 0;
    }
    return store_commit(child);
}

/* One attempt at the batch. Returns 0 when it committed, < 0 when it did not; *synced says
 * whether the commit wrote to data.mdb (a batch whose every job was refused writes nothing, and
 * LMDB then skips its flushes). Run straight, *redo says the attempt was undone because a job
 * failed after writing: the batch must run again, carefully. */
static int commit_batch_try(struct commit_queue *queue, struct commit_job *batch, bool careful,
                            struct ledger_head *head, bool *synced, bool *redo)
{
    store_map_full_clear(queue->store);
    struct store_txn *txn;
    int rc = store_write_begin(queue->store, &txn);
    if (rc)
        return rc;
    for (struct commit_job *job = batch; job && rc == 0 && !*redo; job = job->next)
        rc = commit_job_run(queue, txn, job, careful, redo);
    if (rc == 0 && !*redo)
        rc = ledger_head_get(txn, head);
    if (rc || *redo) {
        store_abort(txn);
        return rc;
    }
    uint32_t entries[STORE_TALLY_SLOTS];
    memcpy(entries, store_txn_tallies(txn), sizeof(entries));
    uint64_t txnid = store_txnid(queue->store);
    queue->commit_started_ns = uv_hrtime();
    if ((rc = store_commit(txn)) != 0)
        return rc;
    *synced = store_txnid(queue->store) != txnid;
    if (*synced)
        queue->stats.flushes += 2; /* the data pages, then the meta page that points to them */
    for (unsigned slot = 0; slot < STORE_TALLY_SLOTS; slot++)
        queue->stats.entries[slot] += entries[slot];
    return 0;
}

/* A full disk or map refuses writes until the operator makes room: one clear line when it
 * starts, a reminder a minute while it lasts, one when writes are taken again. */
#define COMMIT_FULL_REMIND_NS (60ull * 1000 * 1000 * 1000)

static void commit_full(struct commit_queue *queue, bool map)
{
    uint64_t now = uv_hrtime();
    queue->full_refused++;
    if (queue->full_since_ns && now - queue->full_told_ns < COMMIT_FULL_REMIND_NS)
        return;
    if (!queue->full_since_ns)
        queue->full_since_ns = now;
    queue->full_told_ns = now;
    if (map)
        log_error("OUT OF SPACE: the ledger reached map_mib_max in %s; writes are refused "
                  "(OUT_OF_SPACE, nothing acknowledged is lost; %llu batches so far). Raise "
                  "map_mib_max and restart", store_dir(queue->store),
                  (unsigned long long)queue->full_refused);
    else
        log_error("OUT OF SPACE: the disk of %s is full; writes are refused (OUT_OF_SPACE, "
                  "nothing acknowledged is lost; %llu batches so far). Free space: writes are "
                  "taken again at once", store_dir(queue->store),
                  (unsigned long long)queue->full_refused);
}

static void commit_not_full(struct commit_queue *queue)
{
    if (!queue->full_since_ns)
        return;
    log_warn("space again: writes are taken again after %llu s and %llu refused batches",
             (unsigned long long)((uv_hrtime() - queue->full_since_ns) / 1000000000ull),
             (unsigned long long)queue->full_refused);
    queue->full_since_ns = queue->full_told_ns = queue->full_refused = 0;
}

/* data.mdb deleted or replaced under the daemon: its pages are still open here, and whatever is
 * written to them would be gone when the process ends, so nothing more is. The process must
 * not end either: a backup taken now is the ledger. */
static bool commit_file_gone(struct commit_queue *queue)
{
    if (!store_file_unlinked(queue->store))
        return false;
    if (!queue->unlinked_told)
        log_error("data.mdb in %s was deleted or replaced while famledgerd ran: writes are "
                  "refused, since nothing written to it now would be there at the next start. "
                  "Its contents are still open here. Do not stop famledgerd first: take a "
                  "backup (ledgerctl backup --out DIR), then stop it and restore that backup "
                  "(docs/OPERATIONS.md, Restore)", store_dir(queue->store));
    queue->unlinked_told = true;
    return true;
}

/* Commit the batch, growing the map as often as it fills; every job's commit_status says how
 * it ended. On return `ran` says whether a commit flushed data.mdb. */
static void commit_batch_run(struct commit_queue *queue, struct commit_ran *ran)
{
    struct commit_job *batch = ran->batch;
    if (commit_file_gone(queue)) {
        commit_batch_fail(batch, FL_ERR_INTERNAL, commit_reason_unlinked);
        queue->stats.failed++;
        return;
    }
    bool careful = false;
    for (;;) {
        bool redo = false;
        int rc = commit_batch_try(queue, batch, careful, &ran->head, &ran->synced, &redo);
        if (redo) {
            queue->stats.redone++;
            careful = true;
            continue;
        }
        if (rc == 0) {
            commit_batch_fail(batch, 0, NULL);
            if (ran->synced)
                commit_not_full(queue);
            return;
        }
        if (!store_map_full(queue->store)) {
            /* A full disk refuses this batch and lets the next try; anything else (EIO, a
             * failed sync, MDB_PANIC) stops the ledger: a restart recovers from the last
             * durable state, as PostgreSQL does after a failed fsync (the daemon says so). */
            bool full = rc == FL_ERR_OUT_OF_SPACE;
            if (full)
                commit_full(queue, false);
            else
                commit_fail_stop(queue, rc);
            commit_batch_fail(batch, rc, full ? NULL : commit_reason_stopped);
            queue->stats.failed++;
            return;
        }
        if (store_grow(queue->store) != 0) {
            commit_full(queue, true);
            commit_batch_fail(batch, FL_ERR_OUT_OF_SPACE, NULL);
            queue->stats.failed++;
            return;
        }
        queue->stats.map_grows++;
    }
}

/* The batch is on disk (or failed): record its head outside data.mdb, then hand its jobs to
 * the loop thread to be answered. */
static void commit_release(struct commit_queue *queue, struct commit_ran *ran)
{
    if (ran->synced && queue->head_record &&
        !(queue->head_recorded && ran->head.seq == queue->head_recorded_seq)) {
        /* Synced before any reply: a rolled-back data.mdb is detectable at start. */
        struct head_record_value value = {.seq = ran->head.seq};
        memcpy(value.hash, ran->head.hash, HASH_BYTES);
        /* Deleted under the daemon, it is made again: the next start must find it. */
        int remade = head_record_reopen_if_unlinked(queue->head_record, store_dir(queue->store));
        if (remade > 0 || (remade < 0 && !queue->head_record_lost_told))
            log_warn("commit: %s/famledger.head was deleted or replaced while famledgerd ran: %s",
                     store_dir(queue->store), remade > 0 ? "written again" : strerror(errno));
        queue->head_record_lost_told = remade < 0;
        if (head_record_write(queue->head_record, &value) != 0 ||
            (remade > 0 && sync_dir(store_dir(queue->store)) != 0 &&
             sync_dir_error_is_fatal(errno))) {
            /* The batch is durable in data.mdb and is answered as such; but a disk that
             * cannot sync a 64-byte record cannot be trusted with the next batch. */
            log_error("commit: cannot sync the head record after entry %llu: %s",
                      (unsigned long long)ran->head.seq, strerror(errno));
            commit_fail_stop(queue, FL_ERR_INTERNAL);
        } else {
            queue->head_recorded = true;
            queue->head_recorded_seq = ran->head.seq;
            queue->stats.flushes++;
        }
    }
    if (ran->synced) /* how long the commit took to be durable, head record included */
        histogram_observe(&queue->stats.commit_us, &metrics_duration_us,
                          (uv_hrtime() - queue->commit_started_ns) / 1000);
    struct commit_job *last = ran->batch;
    while (last->next)
        last = last->next;
    uv_mutex_lock(&queue->mutex);
    if (ran->synced)
        queue->durable_seq = ran->head.seq;
    queue->published = queue->stats;
    if (queue->done_last)
        queue->done_last->next = ran->batch;
    else
        queue->done_first = ran->batch;
    queue->done_last = last;
    uv_mutex_unlock(&queue->mutex);
    uv_async_send(&queue->async);
    *ran = (struct commit_ran){0};
}

/* Take jobs until their weight reaches batch_max (at least one job, however heavy). */
static struct commit_job *commit_take_batch(struct commit_queue *queue)
{
    struct commit_job *first = queue->pending_first, *last = first;
    size_t weight = last->weight ? last->weight : 1;
    while (last->next && weight + (last->next->weight ? last->next->weight : 1) <= queue->batch_max) {
        last = last->next;
        weight += last->weight ? last->weight : 1;
    }
    queue->pending_first = last->next;
    if (!queue->pending_first)
        queue->pending_last = NULL;
    last->next = NULL;
    return first;
}

/* ---- Idle work: the accounts and references kept in memory, written back between batches ----
 *
 * With state_sweep_ms set, the sweep rides on the commits of requests. When none come, the
 * writer does the rest on its own: after COMMIT_IDLE_MS without a request, a commit of the
 * sweep's share alone, at its pace, until every change is in the trees and the journal is
 * empty; at a stop, all of it at once. A request that comes meanwhile waits for one such
 * commit at most. */
#define COMMIT_IDLE_MS 50
#define COMMIT_FULL_BACKOFF_NS (1000ull * 1000 * 1000)

/* One idle commit. 0 (done, or the map grown for the next to try again), or the error, after
 * which the writer has done what a batch's would. */
static int commit_idle(struct commit_queue *queue, bool finish)
{
    store_map_full_clear(queue->store);
    uint64_t txnid = store_txnid(queue->store);
    int rc = store_idle_commit(queue->store, finish);
    if (rc == 0) {
        if (store_txnid(queue->store) != txnid) {
            queue->stats.flushes += 2;
            uv_mutex_lock(&queue->mutex);
            queue->published = queue->stats; /* as commit_release does */
            uv_mutex_unlock(&queue->mutex);
        }
        return 0;
    }
    if (store_map_full(queue->store) && store_grow(queue->store) == 0) {
        queue->stats.map_grows++;
        return 0; /* nothing lost: the next idle commit (or the stop's next) tries again */
    }
    if (rc == FL_ERR_OUT_OF_SPACE || store_map_full(queue->store)) {
        /* The changes stay in memory and in the journal; the batches say the disk is full. */
        queue->idle_resume_ns = uv_hrtime() + COMMIT_FULL_BACKOFF_NS;
        return rc;
    }
    log_error("commit: cannot write back the accounts and references kept in memory: %s",
              fl_strerror(rc));
    commit_fail_stop(queue, rc);
    uv_async_send(&queue->async); /* the loop hears of the stop */
    return rc;
}

/* Writer, with the mutex held and nothing to commit: wait for a job, or until idle work is due.
 * true: it is, and no job came. */
static bool commit_wait(struct commit_queue *queue)
{
    uint64_t work_ms = queue->failed_status ? UINT64_MAX : store_idle_work_ms(queue->store);
    if (work_ms == UINT64_MAX) {
        uv_cond_wait(&queue->cond, &queue->mutex);
        return false;
    }
    uint64_t now = uv_hrtime();
    if (queue->idle_resume_ns > now && (queue->idle_resume_ns - now) / 1000000 + 1 > work_ms)
        work_ms = (queue->idle_resume_ns - now) / 1000000 + 1;
    uint64_t wait_ns = (work_ms > COMMIT_IDLE_MS ? work_ms : COMMIT_IDLE_MS) * 1000000;
    return uv_cond_timedwait(&queue->cond, &queue->mutex, wait_ns) == UV_ETIMEDOUT &&
           !queue->pending_first && !queue->stopping;
}

/* A stop: the changes kept in memory written to the trees and the journal emptied, so that a
 * clean stop leaves the tables as they would be without the setting. The number of commits is
 * bounded (one a record held, and some to start a sweep and drop the journal), in case one
 * made no progress: the journal then keeps the rest for the next start. */
static void commit_finish(struct commit_queue *queue)
{
    if (store_idle_finished(queue->store))
        return;
    struct store_deferred_stats held;
    store_deferred_stats(queue->store, &held);
    uint64_t started_ns = uv_hrtime(), commits = 0;
    uint64_t bound = held.records + 8;
    while (!store_idle_finished(queue->store)) {
        if (commits++ == bound || commit_idle(queue, true) != 0) {
            log_warn("commit: the accounts and references kept in memory are not all written "
                     "back; the journal keeps them for the next start");
            return;
        }
    }
    log_info("commit: %llu changed records kept in memory written back in %llu commits, %.1f s",
             (unsigned long long)held.dirty, (unsigned long long)commits,
             (double)(uv_hrtime() - started_ns) / 1e9);
}

static void commit_thread(void *argument)
{
    struct commit_queue *queue = argument;
    pthread_setname_np(pthread_self(), "fl-writer"); /* for top -H, perf and gdb */
    for (;;) {
        uv_mutex_lock(&queue->mutex);
        bool idle = false;
        while (!queue->pending_first && !queue->stopping && !idle)
            idle = commit_wait(queue);
        if (!queue->pending_first) {
            int failed = queue->failed_status;
            uv_mutex_unlock(&queue->mutex);
            if (idle) {
                commit_idle(queue, false);
                continue;
            }
            if (!failed)
                commit_finish(queue);
            return;
        }
        struct commit_ran ran = {.batch = commit_take_batch(queue)};
        int failed = queue->failed_status;
        uv_mutex_unlock(&queue->mutex);

        uint64_t weight = 0;
        for (struct commit_job *job = ran.batch; job; job = job->next) {
            queue->stats.jobs++;
            weight += job->weight ? job->weight : 1;
        }
        if (failed) { /* stopped: nothing more is written */
            commit_batch_fail(ran.batch, failed, commit_reason_stopped);
            queue->stats.failed++;
        } else {
            commit_batch_run(queue, &ran);
        }
        queue->stats.batches++;
        histogram_observe(&queue->stats.batch_requests, &metrics_batch_requests, weight);
        commit_release(queue, &ran);
    }
}

static void commit_deliver(struct commit_queue *queue)
{
    uv_mutex_lock(&queue->mutex);
    struct commit_job *job = queue->done_first;
    queue->done_first = queue->done_last = NULL;
    int failed = queue->failed_status;
    uv_mutex_unlock(&queue->mutex);
    while (job) {
        struct commit_job *next = job->next;
        job->next = NULL;
        job->done_cb(job);
        job = next;
    }
    if (failed && !queue->failed_reported && queue->failed_cb) {
        queue->failed_reported = true;
        queue->failed_cb(queue, failed);
    }
}

static void commit_async_cb(uv_async_t *async)
{
    commit_deliver(async->data);
}

int commit_queue_start(struct commit_queue *queue, uv_loop_t *loop, struct store *store,
                       struct head_record *head_record, size_t batch_max)
{
    *queue = (struct commit_queue){.loop = loop, .store = store, .head_record = head_record,
                                   .batch_max = batch_max};
    struct store_txn *txn;
    struct ledger_head head;
    int rc = store_read_begin(store, &txn);
    if (rc)
        return rc;
    rc = ledger_head_get(txn, &head);
    store_read_end(txn);
    if (rc)
        return rc;
    queue->durable_seq = head.seq;
    rc = uv_async_init(loop, &queue->async, commit_async_cb);
    if (rc)
        return rc;
    queue->async.data = queue;
    uv_mutex_init(&queue->mutex);
    uv_cond_init(&queue->cond);
    return uv_thread_create(&queue->thread, commit_thread, queue);
}

void commit_queue_submit(struct commit_queue *queue, struct commit_job *job)
{
    job->next = NULL;
    job->execute_status = 0;
    job->commit_status = 0;
    job->commit_reason = NULL;
    uv_mutex_lock(&queue->mutex);
    if (queue->pending_last)
        queue->pending_last->next = job;
    else
        queue->pending_first = job;
    queue->pending_last = job;
    uv_cond_signal(&queue->cond);
    uv_mutex_unlock(&queue->mutex);
}

int commit_queue_stats(struct commit_queue *queue, struct commit_stats *stats,
                       uint64_t *durable_seq)
{
    uv_mutex_lock(&queue->mutex);
    *stats = queue->published;
    *durable_seq = queue->durable_seq;
    int failed = queue->failed_status;
    uv_mutex_unlock(&queue->mutex);
    return failed;
}

void commit_queue_stop(struct commit_queue *queue)
{
    uv_mutex_lock(&queue->mutex);
    queue->stopping = true;
    uv_cond_signal(&queue->cond);
    uv_mutex_unlock(&queue->mutex);
    uv_thread_join(&queue->thread);
    commit_deliver(queue);
    log_info("commit: %llu jobs in %llu batches, %llu flushes, map grown %llu times",
             (unsigned long long)queue->stats.jobs, (unsigned long long)queue->stats.batches,
             (unsigned long long)queue->stats.flushes, (unsigned long long)queue->stats.map_grows);
    uv_close((uv_handle_t *)&queue->async, NULL);
    uv_cond_destroy(&queue->cond);
    uv_mutex_destroy(&queue->mutex);
}
