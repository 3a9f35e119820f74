/* prefetch.h -- reading ahead for the writer thread.
 *
 * A settlement waits in the commit queue while the writer runs the batch before it. Meanwhile
 * a few threads of this module look up, in read transactions of their own, what it will read
 * (its reference; the patient, their account, wallet and funders; each funder's person,
 * account and limit; the patient's settlements: settle_prefetch), so that the writer finds
 * those pages in memory. On a ledger larger than the page cache, or just after a start, the
 * writer otherwise waits for the disk one page at a time. Nothing found is kept or answered:
 * the writer reads everything again in its own transaction, so a prefetch can never change
 * what a request does, only when its pages are read. A full queue drops work rather than
 * wait.
 */
#ifndef FAMLEDGER_PREFETCH_H
#define FAMLEDGER_PREFETCH_H

#include "config.h"
#include "fl_limits.h"
#include "famledger.pb-c.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define PREFETCH_QUEUE_MAX 1024 /* settlements waiting for a prefetch thread */

/* What settle_prefetch needs of one settlement, copied: the request is the loop thread's. */
struct prefetch_item {
    char merchant_code[PERSON_NO_BYTES_MAX + 1];
    char patient[PERSON_NO_BYTES_MAX + 1];
    char merchant_reference[REFERENCE_BYTES_MAX + 1];
    Famledger__Category category;
    int64_t amount_fen;
    bool no_account;
};

/* Counters since start (metrics): queued, read ahead, dropped on a full queue. */
struct prefetch_stats {
    uint64_t queued;
    uint64_t done;
    uint64_t dropped;
};

struct prefetch {
    struct store *store;
    const struct config *config;
    uv_mutex_t mutex;
    uv_cond_t cond;
    struct prefetch_item queue[PREFETCH_QUEUE_MAX]; /* a ring */
    unsigned first, count;
    struct prefetch_stats stats;
    bool started;  /* prefetch_start ran and prefetch_stop has not */
    bool stopping;
    unsigned threads;
    uv_thread_t thread[PREFETCH_THREADS_LIMIT];
};

/* Start `threads` threads (0: none; prefetch_request then does nothing). Returns 0 or a libuv
 * error, with no thread left running. */
int prefetch_start(struct prefetch *prefetch, struct store *store, const struct config *config,
                   unsigned threads);

/* Loop thread: queue what `request` (a write about to be queued for the writer) will read: a
 * settlement, or the settlements of a batch. Anything else is not read ahead. */
void prefetch_request(struct prefetch *prefetch, const Famledger__Request *request);

/* A copy of the counters. */
struct prefetch_stats prefetch_stats(struct prefetch *prefetch);

/* Drop what is queued and join the threads (each finishes the lookup it is in). Before
 * store_close; once is enough, more does nothing. */
void prefetch_stop(struct prefetch *prefetch);

#endif
