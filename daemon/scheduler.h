/* scheduler.h -- runs what falls due (due.c) through the commit queue, like any write.
 *
 * Every SCHEDULER_TICK_MS the loop thread reads the first timer; when it is due, one job goes
 * to the commit queue and applies up to DUE_PER_RUN_MAX returns and expiries, with their
 * entries, in one durable batch. The first tick runs at start, so a restart catches up on
 * whatever fell due while the daemon was down.
 */
#ifndef FAMLEDGER_SCHEDULER_H
#define FAMLEDGER_SCHEDULER_H

#include "arena.h"
#include "commit.h"
#include "config.h"
#include "famledger.pb-c.h"

#include <uv.h>

struct scheduler {
    struct commit_job job;
    uv_timer_t timer;
    struct store *store;
    struct commit_queue *commits;
    const struct config *config;
    struct arena arena;
    Famledger__Response response;
    bool in_flight;     /* a job is in the commit queue */
    bool more;          /* the last run left due items: run again at once */
    bool stopping;
    bool failing;       /* the last run failed: said once, until a run succeeds */
    unsigned applied;   /* by the last run */
    void (*committed_cb)(struct scheduler *scheduler); /* after a run that wrote entries */
    void *data;
};

int scheduler_start(struct scheduler *scheduler, uv_loop_t *loop, struct store *store,
                    struct commit_queue *commits, const struct config *config);
/* Stop ticking; a job in the commit queue still finishes (commit_queue_stop). */
void scheduler_stop(struct scheduler *scheduler);

#endif
