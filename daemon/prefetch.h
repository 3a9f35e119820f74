/* prefetch.h -- reading ahead for the writer thread, and for long walks.
 *
 * A settlement waits in the commit queue while the writer runs the batch before it. Meanwhile
 * a few threads of this module look up, in read transactions of their own, what it will read
 * (its reference; the patient, their account, wallet and funders; each funder's person,
 * account and limit; the patient's settlements: settle_prefetch). On a ledger larger than the
 * page cache, or just after a start, the writer then finds those pages in memory instead of
 * waiting for the disk one page at a time. The reads of the tables a settlement does not
 * write are recorded (store_read_begin_ahead) and kept by the settlement's ticket; the writer
 * is handed them (prefetch_take) and the store takes those that are provably what the writer's
 * own transaction would read (store_ahead_use), so that the searches of the trees, the largest
 * part of the writer's work, are made on the other cores. Nothing else found is kept or
 * answered, and a prefetch can never change what a request does. A full queue drops work
 * rather than wait.
 *
 * When no settlement is waiting, the same threads read ahead of a walk of a table in key
 * order (verify's pages of the stored state): a walk faults its leaves in one after another,
 * and where they are scattered over the file each is a random read. The stretches after the
 * page just served, estimated from its keys (keyspan.h), are walked by several threads at
 * once, so that the disk serves several reads at a time and the walk finds its leaves in
 * memory. Here too nothing read is kept or answered: the walk reads from its own snapshot.
 * Once a table's stretches keep finding every leaf in memory (no read from the disk), reading
 * ahead is only work taken from the walk's reader on the same cores: then one stretch in
 * PREFETCH_WARM_PROBE pages is read, to notice when the table turns cold again.
 */
#ifndef FAMLEDGER_PREFETCH_H
#define FAMLEDGER_PREFETCH_H

#include "config.h"
#include "fl_limits.h"
#include "famledger.pb-c.h"
#include "keyspan.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define PREFETCH_QUEUE_MAX 1024 /* settlements waiting for a prefetch thread */
#define PREFETCH_WALKS_MAX 64   /* stretches of a table waiting to be read ahead of a walk */
#define PREFETCH_WALK_PAGES 16  /* how many pages like the last one are read ahead of a walk */
/* A walk whose last PREFETCH_WARM_STRETCHES stretches read nothing from the disk is warm, and
 * only every PREFETCH_WARM_PROBE-th page of it queues a stretch (the farthest). */
#define PREFETCH_WARM_STRETCHES (2 * PREFETCH_WALK_PAGES)
#define PREFETCH_WARM_PROBE 8
/* Settlements a thread takes at once, read in one read transaction: at most this many, and
 * no more than its share of those waiting. */
#define PREFETCH_TAKE 8

/* What settle_prefetch needs of one settlement, copied: the request is the loop thread's. */
struct prefetch_item {
    uint64_t ticket;
    char merchant_code[PERSON_NO_BYTES_MAX + 1];
    char patient[PERSON_NO_BYTES_MAX + 1];
    char merchant_reference[REFERENCE_BYTES_MAX + 1];
    Famledger__Category category;
    int64_t amount_fen;
    bool no_account;
};

/* A stretch of a table, [from, to), to be read ahead of a walk (prefetch_walk_ahead). */
struct prefetch_walk {
    enum store_db db;
    uint16_t from_bytes, to_bytes;
    uint8_t from[KEYSPAN_KEY_MAX], to[KEYSPAN_KEY_MAX];
    size_t max; /* records: a stretch far denser than its estimate is cut short */
};

/* What a settlement's reads made ahead found, for the writer (prefetch_take). */
struct prefetch_result {
    uint64_t ticket; /* 0: none yet */
    struct store_ahead ahead;
};

/* Counters since start (metrics): queued, read ahead, dropped on a full queue. */
struct prefetch_stats {
    uint64_t queued;
    uint64_t done;
    uint64_t dropped;
    uint64_t stretches_queued;
    uint64_t stretches; /* read ahead of walks */
    uint64_t stretch_records;
    uint64_t warm_pages; /* pages of warm walks that queued no stretch */
};

/* How many pages this thread has read from the disk so far (prefetch_disk_reads); a test may
 * put another in its place. */
typedef uint64_t (*prefetch_disk_reads_fn)(void);
uint64_t prefetch_disk_reads(void);

struct prefetch {
    struct store *store;
    const struct config *config;
    uv_mutex_t mutex;
    uv_cond_t cond;
    struct prefetch_item queue[PREFETCH_QUEUE_MAX]; /* a ring */
    unsigned first, count;
    uint64_t tickets; /* the last ticket given (prefetch_request) */
    unsigned unkicked; /* the loop thread's: settlements queued since prefetch_kick */
    /* What each settlement read ahead found, by ticket modulo PREFETCH_QUEUE_MAX: a result is
     * kept until a ticket as many later takes its place. */
    struct prefetch_result *results;
    struct prefetch_walk walks[PREFETCH_WALKS_MAX]; /* a ring, served after the settlements */
    unsigned walks_first, walks_count;
    /* Where the stretches queued for each table end, so that the next page of the same walk
     * queues only what lies beyond. */
    uint8_t walk_end[STORE_DB_COUNT][KEYSPAN_KEY_MAX];
    uint16_t walk_end_bytes[STORE_DB_COUNT];
    /* Stretches of each table read one after another without reading from the disk, and the
     * pages of a warm walk since its last probe. */
    unsigned warm_stretches[STORE_DB_COUNT];
    unsigned warm_pages[STORE_DB_COUNT];
    prefetch_disk_reads_fn disk_reads;
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
 * settlement, or the settlements of a batch. Anything else is not read ahead. Returns the
 * ticket of the settlement, or of a batch's first item (item i has the first's + i), for
 * prefetch_take; 0 when nothing was queued. The threads that wait are woken by
 * prefetch_kick, which must follow. */
uint64_t prefetch_request(struct prefetch *prefetch, const Famledger__Request *request);
/* Loop thread: wake the threads for what prefetch_request queued since the last kick (nothing
 * when none was, or `prefetch` is NULL). The server kicks once a turn of its loop, not once a
 * request: each wake of a waiting thread is a system call, and one a request was most of the
 * loop thread's. */
void prefetch_kick(struct prefetch *prefetch);

/* Writer thread: the reads made ahead for the settlement of `ticket`, into *out: false when
 * there are none (not read yet, dropped, or passed by a later ticket). The store decides
 * which of them are still right (store_ahead_use). */
bool prefetch_take(struct prefetch *prefetch, uint64_t ticket, struct store_ahead *out);

/* Loop thread: a walk of `db` in key order has just been served `count` keys in ascending
 * order (a page; `first_page` when the walk began with it) and will ask for what follows: queue
 * the next PREFETCH_WALK_PAGES stretches of about as many keys, estimated from these
 * (keyspan.h), for the threads to read in parallel, when they have no settlement to read.
 * A warm walk (PREFETCH_WARM_STRETCHES) queues the farthest of them every
 * PREFETCH_WARM_PROBE-th page only. */
void prefetch_walk_ahead(struct prefetch *prefetch, enum store_db db,
                         const struct store_bytes *keys, size_t count, bool first_page);

/* Loop thread: whether the threads read ahead of a walk of `db`: its last page queued the
 * stretches after it (its keys made an estimate), and the threads keep up with them (fewer
 * than half of PREFETCH_WALKS_MAX wait), as they do unless settlements keep them busy. */
bool prefetch_walking(struct prefetch *prefetch, enum store_db db);

/* A copy of the counters. */
struct prefetch_stats prefetch_stats(struct prefetch *prefetch);

/* Drop what is queued and join the threads (each finishes the lookup it is in). Before
 * store_close; once is enough, more does nothing. */
void prefetch_stop(struct prefetch *prefetch);

#endif
