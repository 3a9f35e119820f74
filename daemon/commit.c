/* commit.c -- the commit queue: one writer thread, group commit, replies only after sync. */
#include "commit.h"

#include "famledger_status.h"
#include "ledger.h"
#include "log.h"

#include <errno.h>
#include <string.h>

static void commit_fail_stop(struct commit_queue *queue, int status)
{
    uv_mutex_lock(&queue->mutex);
    if (queue->failed_status == 0)
        queue->failed_status = status;
    uv_mutex_unlock(&queue->mutex);
}

static void commit_batch_fail(struct commit_job *batch, int status)
{
    for (struct commit_job *job = batch; job; job = job->next)
        job->commit_status = status;
}

/* Run one job in a nested transaction. Returns < 0 only when the whole batch must stop. */
static int commit_job_run(struct commit_queue *queue, struct store_txn *txn,
                          struct commit_job *job)
{
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

/* One attempt at the batch. Returns 0 when it committed, < 0 when it did not. */
static int commit_batch_try(struct commit_queue *queue, struct commit_job *batch)
{
    store_map_full_clear(queue->store);
    struct store_txn *txn;
    int rc = store_write_begin(queue->store, &txn);
    if (rc)
        return rc;
    for (struct commit_job *job = batch; job && rc == 0; job = job->next)
        rc = commit_job_run(queue, txn, job);
    struct ledger_head head;
    if (rc == 0)
        rc = ledger_head_get(txn, &head);
    if (rc) {
        store_abort(txn);
        return rc;
    }
    if ((rc = store_commit(txn)) != 0) /* the one sync of the data this batch pays for */
        return rc;
    /* A batch whose every job was refused wrote no entry; LMDB skips its sync, and so do we. */
    if (!queue->head_record || (queue->head_recorded && head.seq == queue->head_recorded_seq))
        return 0;
    /* The head outside data.mdb, synced before any reply: a rolled-back file is detectable. */
    struct head_record_value value = {.seq = head.seq};
    memcpy(value.hash, head.hash, HASH_BYTES);
    if (head_record_write(queue->head_record, &value) != 0) {
        /* The batch is durable in data.mdb and is answered as such; but a disk that cannot
         * sync a 64-byte record cannot be trusted with the next batch. */
        log_error("commit: cannot sync the head record after entry %llu: %s",
                  (unsigned long long)head.seq, strerror(errno));
        commit_fail_stop(queue, FL_ERR_INTERNAL);
        return 0;
    }
    queue->head_recorded = true;
    queue->head_recorded_seq = head.seq;
    return 0;
}

static void commit_batch_run(struct commit_queue *queue, struct commit_job *batch)
{
    for (;;) {
        int rc = commit_batch_try(queue, batch);
        if (rc == 0) {
            commit_batch_fail(batch, 0);
            return;
        }
        if (!store_map_full(queue->store)) {
            /* A full disk refuses this batch and lets the next try; anything else (EIO, a
             * failed sync, MDB_PANIC) stops the ledger: a restart recovers from the last
             * durable state, as PostgreSQL does after a failed fsync. */
            if (rc != FL_ERR_OUT_OF_SPACE) {
                log_error("commit: storage failure (%s); answering the batch and stopping",
                          fl_strerror(rc));
                commit_fail_stop(queue, rc);
            }
            commit_batch_fail(batch, rc);
            return;
        }
        if (store_grow(queue->store) != 0) {
            log_warn("commit: the ledger is at its maximum size; refusing writes");
            commit_batch_fail(batch, FL_ERR_OUT_OF_SPACE);
            return;
        }
        queue->stats.map_grows++;
    }
}

static struct commit_job *commit_take_batch(struct commit_queue *queue)
{
    struct commit_job *first = queue->pending_first, *last = first;
    for (size_t count = 1; count < queue->batch_max && last->next; count++)
        last = last->next;
    queue->pending_first = last->next;
    if (!queue->pending_first)
        queue->pending_last = NULL;
    last->next = NULL;
    return first;
}

static void commit_thread(void *argument)
{
    struct commit_queue *queue = argument;
    for (;;) {
        uv_mutex_lock(&queue->mutex);
        while (!queue->pending_first && !queue->stopping)
            uv_cond_wait(&queue->cond, &queue->mutex);
        if (!queue->pending_first) {
            uv_mutex_unlock(&queue->mutex);
            return;
        }
        struct commit_job *batch = commit_take_batch(queue);
        int failed = queue->failed_status;
        uv_mutex_unlock(&queue->mutex);

        if (failed)
            commit_batch_fail(batch, failed); /* stopped: nothing more is written */
        else
            commit_batch_run(queue, batch);
        queue->stats.batches++;
        struct commit_job *last = batch;
        for (queue->stats.jobs++; last->next; last = last->next)
            queue->stats.jobs++;

        uv_mutex_lock(&queue->mutex);
        if (queue->done_last)
            queue->done_last->next = batch;
        else
            queue->done_first = batch;
        queue->done_last = last;
        uv_mutex_unlock(&queue->mutex);
        uv_async_send(&queue->async);
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
    int rc = uv_async_init(loop, &queue->async, commit_async_cb);
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
    uv_mutex_lock(&queue->mutex);
    if (queue->pending_last)
        queue->pending_last->next = job;
    else
        queue->pending_first = job;
    queue->pending_last = job;
    uv_cond_signal(&queue->cond);
    uv_mutex_unlock(&queue->mutex);
}

void commit_queue_stop(struct commit_queue *queue)
{
    uv_mutex_lock(&queue->mutex);
    queue->stopping = true;
    uv_cond_signal(&queue->cond);
    uv_mutex_unlock(&queue->mutex);
    uv_thread_join(&queue->thread);
    commit_deliver(queue);
    log_info("commit: %llu jobs in %llu batches, map grown %llu times",
             (unsigned long long)queue->stats.jobs, (unsigned long long)queue->stats.batches,
             (unsigned long long)queue->stats.map_grows);
    uv_close((uv_handle_t *)&queue->async, NULL);
    uv_cond_destroy(&queue->cond);
    uv_mutex_destroy(&queue->mutex);
}
