/* scheduler.c -- wallet returns and hold expiries, applied when due, through the commit queue. */
#include "scheduler.h"

#include "container_of.h"
#include "due.h"
#include "ledger.h"
#include "log.h"

#include <string.h>
#include <unistd.h>

/* Writer thread: apply what is due now. Runs afresh if the batch is retried. */
static int scheduler_execute_cb(struct commit_job *job, struct store_txn *txn)
{
    struct scheduler *scheduler = container_of(job, struct scheduler, job);
    arena_reset(&scheduler->arena);
    famledger__response__init(&scheduler->response);
    struct request_ctx ctx = {
        .txn = txn,
        .arena = &scheduler->arena,
        .config = scheduler->config,
        .time_us = request_clock_us(),
        .peer_uid = (uint32_t)getuid(),
        .peer_gid = (uint32_t)getgid(),
        .operator_id = "famledgerd",
        .response = &scheduler->response,
    };
    int rc = ledger_time_next(&ctx);
    if (rc == 0)
        rc = due_run(&ctx, &scheduler->applied, &scheduler->more);
    return rc;
}

static void scheduler_submit(struct scheduler *scheduler)
{
    scheduler->in_flight = true;
    scheduler->job.execute_cb = scheduler_execute_cb;
    commit_queue_submit(scheduler->commits, &scheduler->job);
}

/* Loop thread: the run is durable (or failed, and is tried again at the next tick). */
static void scheduler_done_cb(struct commit_job *job)
{
    struct scheduler *scheduler = container_of(job, struct scheduler, job);
    scheduler->in_flight = false;
    if (job->execute_status || job->commit_status) {
        /* Tried again every tick: a cause that lasts (a wall clock far ahead) is said once. */
        const char *why = scheduler->response.error && *scheduler->response.error
                              ? scheduler->response.error
                              : fl_strerror(job->execute_status ? job->execute_status
                                                                : job->commit_status);
        if (!scheduler->failing)
            log_error("scheduler: returns and expiries not recorded: %s; tried again each "
                      "second", why);
        scheduler->failing = true;
        return;
    }
    if (scheduler->failing)
        log_info("scheduler: returns and expiries are recorded again");
    scheduler->failing = false;
    if (scheduler->applied)
        log_info("scheduler: %u wallet returns and hold expiries applied", scheduler->applied);
    if (scheduler->applied && scheduler->committed_cb)
        scheduler->committed_cb(scheduler);
    /* More is due: at once, but only while runs make progress. Timers that cannot be applied
     * (damaged records, logged by due.c) wait for the next tick instead of spinning. */
    if (scheduler->more && scheduler->applied && !scheduler->stopping)
        scheduler_submit(scheduler);
}

/* Loop thread: is anything due? One short read transaction. */
static void scheduler_tick_cb(uv_timer_t *timer)
{
    struct scheduler *scheduler = timer->data;
    if (scheduler->in_flight || scheduler->stopping)
        return;
    struct store_txn *txn;
    int64_t due_us = 0;
    if (store_read_begin(scheduler->store, &txn) != 0)
        return;
    int found = due_next(txn, &due_us);
    store_read_end(txn);
    if (found == 1 && due_us <= request_clock_us())
        scheduler_submit(scheduler);
}

int scheduler_start(struct scheduler *scheduler, uv_loop_t *loop, struct store *store,
                    struct commit_queue *commits, const struct config *config)
{
    scheduler->store = store;
    scheduler->commits = commits;
    scheduler->config = config;
    scheduler->job.done_cb = scheduler_done_cb;
    arena_init(&scheduler->arena);
    int rc = uv_timer_init(loop, &scheduler->timer);
    if (rc)
        return rc;
    scheduler->timer.data = scheduler;
    return uv_timer_start(&scheduler->timer, scheduler_tick_cb, 0, SCHEDULER_TICK_MS);
}

static void scheduler_closed_cb(uv_handle_t *handle)
{
    struct scheduler *scheduler = handle->data;
    arena_free(&scheduler->arena);
}

void scheduler_stop(struct scheduler *scheduler)
{
    if (scheduler->stopping)
        return;
    scheduler->stopping = true;
    uv_timer_stop(&scheduler->timer);
    uv_close((uv_handle_t *)&scheduler->timer, scheduler_closed_cb);
}
