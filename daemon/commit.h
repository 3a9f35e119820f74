/* commit.h -- the commit queue: one writer thread, group commit, replies only after sync.
 *
 * Jobs submitted while the writer is busy are taken together as one batch, in one write
 * transaction, then the batch commits, and every job's done_cb runs on the loop thread once the
 * batch is on disk. One job's failure undoes only its own writes: jobs run straight in the
 * transaction (handlers refuse before they write, and a nested transaction per job costs LMDB
 * a dirty-page list each), the store counts their writes, and when a job failed after writing
 * the attempt is undone and the batch run again with each job in a nested transaction of its
 * own. When the map fills, the batch is undone, the map grown, and the batch run again.
 *
 * A commit is LMDB's: the data pages are written and flushed, then the meta page that makes
 * them the ledger's state is written with a flush of its own. Then the batch's head is written
 * and synced to the head record, and only then are its jobs answered, in commit order.
 * (Deferring the meta page's flush to the next commit, MDB_NOMETASYNC, was measured and did
 * not pay: docs/BENCHMARKS.md.)
 */
#ifndef FAMLEDGER_COMMIT_H
#define FAMLEDGER_COMMIT_H

#include "head_record.h"
#include "ledger.h"
#include "metrics.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct commit_job {
    struct commit_job *next;
    /* Runs on the writer thread, possibly more than once (after the map grew): it must start
     * afresh each time. Returns 0 to keep its writes, < 0 to undo them. */
    int (*execute_cb)(struct commit_job *job, struct store_txn *txn);
    /* Runs on the loop thread once the batch is durable or has failed. */
    void (*done_cb)(struct commit_job *job);
    unsigned weight;    /* requests it carries (a BatchRequest's items); 0 counts as 1 */
    int execute_status; /* what execute_cb returned */
    int commit_status;  /* 0 when the job's writes are durable, or why they were lost */
    /* With a commit_status: what the client is told beyond its status (a static string), or
     * NULL when the status says it all. */
    const char *commit_reason;
};

struct commit_stats {
    uint64_t batches;
    uint64_t jobs;
    uint64_t map_grows;
    uint64_t flushes; /* data.mdb's data and meta page, the head record */
    uint64_t redone;  /* batches run again, a job in a child each, after one failed writing */
    uint64_t failed;  /* batches refused: full disk or map, or a storage failure */
    struct histogram batch_requests; /* the weight of each batch run */
    struct histogram commit_us;      /* a synced commit: data, meta page and head record */
    uint64_t entries[STORE_TALLY_SLOTS]; /* appended and durable, by Entry body case */
};

/* A batch the writer has run, on its way to being answered. */
struct commit_ran {
    struct commit_job *batch;
    struct ledger_head head; /* after the batch */
    bool synced;             /* its commit wrote data.mdb */
};

struct commit_queue {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    uv_mutex_t mutex;
    uv_cond_t cond;
    struct commit_job *pending_first, *pending_last; /* guarded by mutex */
    struct commit_job *done_first, *done_last;       /* guarded by mutex */
    bool stopping;                                   /* guarded by mutex */
    struct store *store;
    struct head_record *head_record;                 /* NULL: none (unit tests) */
    bool head_recorded;                              /* writer thread only: the last head */
    uint64_t head_recorded_seq;                      /* written to head_record */
    size_t batch_max;                                /* the weight of jobs in one batch */
    struct commit_stats stats;                       /* writer thread only */
    uint64_t commit_started_ns;                      /* writer thread only: the last commit */
    /* Writer thread only: refusing writes for want of space since (monotonic ns; 0: not), and
     * how many batches were refused since the operator was last told. */
    uint64_t full_since_ns, full_told_ns, full_refused;
    /* Writer thread only: data.mdb lost its name, and the log said so; famledger.head lost its
     * name and could not be made again, said likewise (once each). */
    bool unlinked_told, head_record_lost_told;
    uint64_t idle_resume_ns; /* writer thread only: no idle work before (a full disk) */
    struct commit_stats published;                   /* guarded by mutex: stats, as answered */
    uint64_t durable_seq;                            /* guarded by mutex: the head on disk */
    /* Fail-stop: after a storage failure that is not a full disk or map, every later job fails
     * too, and failed_cb runs once on the loop thread, after the failed batch is answered. */
    int failed_status;                               /* guarded by mutex */
    bool failed_reported;                            /* loop thread only */
    void (*failed_cb)(struct commit_queue *queue, int status); /* set after start */
};

/* `head_record` (may be NULL) is written and synced after every committed batch, before its
 * jobs are answered. */
int commit_queue_start(struct commit_queue *queue, uv_loop_t *loop, struct store *store,
                       struct head_record *head_record, size_t batch_max);
void commit_queue_submit(struct commit_queue *queue, struct commit_job *job);
/* The counters as of the last batch answered, and the last entry known to be on disk: what
 * may be shown to anyone (the change stream reads no further). Returns the storage failure
 * that stopped the queue, or 0. Loop thread. */
int commit_queue_stats(struct commit_queue *queue, struct commit_stats *stats,
                       uint64_t *durable_seq);
/* Finish every submitted job, deliver its done_cb, write back what the store keeps in memory
 * (store_idle_commit), stop the thread and close the handle. */
void commit_queue_stop(struct commit_queue *queue);

#endif
