/* prefetch.c -- reading ahead for the writer thread (prefetch.h). */
#include "prefetch.h"

#include "arena.h"
#include "request.h"
#include "require.h"
#include "settle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

uint64_t prefetch_disk_reads(void)
{
    /* A major fault is a page the thread waited for the disk to read: walks read the map. */
    struct rusage usage;
    return getrusage(RUSAGE_THREAD, &usage) == 0 ? (uint64_t)usage.ru_majflt : 0;
}

/* Copy `text` into a field of `size` bytes; false when it does not fit (such a request is
 * refused by its handler anyway, and there is nothing worth reading ahead for it). */
static bool prefetch_copy(char *out, size_t size, const char *text)
{
    size_t bytes = strnlen(text, size);
    if (bytes == size)
        return false;
    memcpy(out, text, bytes);
    out[bytes] = '\0';
    return true;
}

/* Under the mutex; whether it was queued. */
static bool prefetch_push(struct prefetch *prefetch, const Famledger__SettleRequest *settle,
                          uint64_t ticket)
{
    if (prefetch->count == PREFETCH_QUEUE_MAX) {
        prefetch->stats.dropped++;
        return false;
    }
    struct prefetch_item *item =
        &prefetch->queue[(prefetch->first + prefetch->count) % PREFETCH_QUEUE_MAX];
    if (!prefetch_copy(item->merchant_code, sizeof(item->merchant_code), settle->merchant_code) ||
        !prefetch_copy(item->patient, sizeof(item->patient), settle->patient) ||
        !prefetch_copy(item->merchant_reference, sizeof(item->merchant_reference),
                       settle->merchant_reference))
        return false;
    item->ticket = ticket;
    item->category = settle->category;
    item->amount_fen = settle->amount_fen;
    item->no_account = settle->no_account;
    prefetch->count++;
    prefetch->stats.queued++;
    return true;
}

uint64_t prefetch_request(struct prefetch *prefetch, const Famledger__Request *request)
{
    if (prefetch->threads == 0 || (request->body_case != FAMLEDGER__REQUEST__BODY_SETTLE &&
                                   request->body_case != FAMLEDGER__REQUEST__BODY_BATCH))
        return 0;
    unsigned pushed = 0;
    uv_mutex_lock(&prefetch->mutex);
    uint64_t first = prefetch->tickets + 1;
    if (request->body_case == FAMLEDGER__REQUEST__BODY_SETTLE) {
        pushed = prefetch_push(prefetch, request->settle, ++prefetch->tickets);
    } else if (request->body_case == FAMLEDGER__REQUEST__BODY_BATCH) {
        /* A ticket for every item, so that the writer finds item i's as first + i. */
        for (size_t i = 0; i < request->batch->n_requests; i++) {
            const Famledger__Request *item = request->batch->requests[i];
            uint64_t ticket = ++prefetch->tickets;
            if (item->body_case == FAMLEDGER__REQUEST__BODY_SETTLE)
                pushed += prefetch_push(prefetch, item->settle, ticket);
        }
    }
    uv_mutex_unlock(&prefetch->mutex);
    prefetch->unkicked += pushed;
    return pushed ? first : 0;
}

void prefetch_kick(struct prefetch *prefetch)
{
    if (!prefetch)
        return;
    if (prefetch->unkicked == 1)
        uv_cond_signal(&prefetch->cond);
    else if (prefetch->unkicked > 1)
        uv_cond_broadcast(&prefetch->cond);
    prefetch->unkicked = 0;
}

bool prefetch_take(struct prefetch *prefetch, uint64_t ticket, struct store_ahead *out)
{
    if (!prefetch || ticket == 0 || !prefetch->results)
        return false;
    uv_mutex_lock(&prefetch->mutex);
    const struct prefetch_result *result = &prefetch->results[ticket % PREFETCH_QUEUE_MAX];
    bool found = result->ticket == ticket;
    if (found)
        memcpy(out, &result->ahead, store_ahead_bytes(&result->ahead));
    uv_mutex_unlock(&prefetch->mutex);
    return found;
}

/* Under the mutex: queue the stretch [from, to) of `span` (to the end when `to` is its last). */
static void prefetch_walk_push(struct prefetch *prefetch, enum store_db db,
                               const struct keyspan *span, uint64_t from, uint64_t to,
                               size_t max)
{
    if (prefetch->walks_count == PREFETCH_WALKS_MAX)
        return;
    struct prefetch_walk *walk =
        &prefetch->walks[(prefetch->walks_first + prefetch->walks_count) % PREFETCH_WALKS_MAX];
    walk->db = db;
    walk->from_bytes = (uint16_t)keyspan_key(span, from, walk->from);
    walk->to_bytes = to < span->max ? (uint16_t)keyspan_key(span, to, walk->to) : 0;
    walk->max = max;
    prefetch->walks_count++;
    prefetch->stats.stretches_queued++;
}

void prefetch_walk_ahead(struct prefetch *prefetch, enum store_db db,
                         const struct store_bytes *keys, size_t count, bool first_page)
{
    struct keyspan span;
    if (prefetch->threads == 0)
        return;
    /* A warm walk's pages between probes (below) queue nothing: not even the estimate. */
    uv_mutex_lock(&prefetch->mutex);
    bool idle = !first_page && prefetch->warm_stretches[db] >= PREFETCH_WARM_STRETCHES &&
                (prefetch->warm_pages[db] + 1) % PREFETCH_WARM_PROBE != 0;
    if (idle) {
        prefetch->warm_pages[db]++;
        prefetch->stats.warm_pages++;
    }
    uv_mutex_unlock(&prefetch->mutex);
    if (idle)
        return;
    if (!keyspan_fit(&span, keys, count)) {
        /* Nothing to estimate from (one key repeated in an index): nothing is read ahead, and
         * the walk asks the kernel for its next page (prefetch_walking). */
        uv_mutex_lock(&prefetch->mutex);
        prefetch->walk_end_bytes[db] = 0;
        uv_mutex_unlock(&prefetch->mutex);
        return;
    }
    uint64_t first = keyspan_value(&span, keys[0].data, keys[0].size);
    uint64_t last = keyspan_value(&span, keys[count - 1].data, keys[count - 1].size);
    uint64_t step = last - first; /* more than 0: keyspan_fit */
    uint64_t end = step <= (span.max - last) / PREFETCH_WALK_PAGES
                       ? last + step * PREFETCH_WALK_PAGES
                       : span.max;
    uint64_t from = last;
    bool queued = false;
    uv_mutex_lock(&prefetch->mutex);
    if (first_page) {
        /* A walk begins: what was queued for another is of no more use, and whether this
         * table is in memory is found out afresh. */
        prefetch->walks_count = 0;
        prefetch->walk_end_bytes[db] = 0;
        prefetch->warm_stretches[db] = 0;
        prefetch->warm_pages[db] = 0;
    } else if (prefetch->warm_stretches[db] >= PREFETCH_WARM_STRETCHES) {
        /* Warm, and this page's turn (the others returned above): the farthest stretch, as a
         * probe. The end of what is queued stays where it was, so that a walk found cold again
         * queues all it needs. */
        prefetch->warm_pages[db]++;
        prefetch_walk_push(prefetch, db, &span, end - last > step ? end - step : last, end,
                           count * 2);
        uv_mutex_unlock(&prefetch->mutex);
        uv_cond_signal(&prefetch->cond);
        return;
    } else if (prefetch->walk_end_bytes[db]) {
        /* What an earlier page queued up to here need not be queued again. One that reached
         * much further than this page does was far off, and its stretches were likely cut
         * short (at `max` records): queue this page's afresh. */
        uint64_t queued_to =
            keyspan_value(&span, prefetch->walk_end[db], prefetch->walk_end_bytes[db]);
        if (queued_to > from && queued_to - from <= 2 * (end - from))
            from = queued_to;
    }
    for (; from < end; from = end - from > step ? from + step : end) {
        prefetch_walk_push(prefetch, db, &span, from, end - from > step ? from + step : end,
                           count * 2);
        queued = true;
    }
    if (queued)
        prefetch->walk_end_bytes[db] = (uint16_t)keyspan_key(&span, end, prefetch->walk_end[db]);
    uv_mutex_unlock(&prefetch->mutex);
    if (queued)
        uv_cond_broadcast(&prefetch->cond);
}

/* Read one stretch ahead of a walk; returns the records read. */
static int prefetch_walk_one(struct prefetch *prefetch, const struct prefetch_walk *walk)
{
    struct store_txn *txn;
    if (store_read_begin(prefetch->store, &txn) != 0)
        return 0;
    int records = store_touch_range(txn, walk->db,
                                    (struct store_bytes){walk->from, walk->from_bytes},
                                    (struct store_bytes){walk->to, walk->to_bytes}, walk->max);
    store_read_end(txn);
    return records > 0 ? records : 0;
}

/* The reads of `count` settlements, in one read transaction, each recorded into its aheads[]
 * for the writer; everything else found is let go. False when none was made. */
static bool prefetch_some(struct prefetch *prefetch, const struct prefetch_item *items,
                          unsigned count, struct arena *arena, struct store_ahead *aheads)
{
    struct store_txn *txn;
    if (store_read_begin_ahead(prefetch->store, &txn, &aheads[0]) != 0)
        return false;
    for (unsigned i = 0; i < count; i++) {
        const struct prefetch_item *item = &items[i];
        if (i > 0)
            store_ahead_next(txn, &aheads[i]);
        Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
        settle.merchant_code = (char *)item->merchant_code;
        settle.patient = (char *)item->patient;
        settle.merchant_reference = (char *)item->merchant_reference;
        settle.category = item->category;
        settle.amount_fen = item->amount_fen;
        settle.no_account = item->no_account;
        Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
        struct request_ctx ctx = {
            .txn = txn,
            .arena = arena,
            .config = prefetch->config,
            .time_us = request_clock_us(),
            .operator_id = "",
            .response = &response,
        };
        settle_prefetch(&ctx, &settle);
        arena_reset(arena);
    }
    store_read_end(txn);
    return true;
}

/* Under the mutex: keep what `ticket`'s reads found, unless a later ticket's took its place. */
static void prefetch_keep(struct prefetch *prefetch, uint64_t ticket,
                          const struct store_ahead *ahead)
{
    struct prefetch_result *result = &prefetch->results[ticket % PREFETCH_QUEUE_MAX];
    if (result->ticket > ticket)
        return;
    result->ticket = ticket;
    memcpy(&result->ahead, ahead, store_ahead_bytes(ahead));
}

static void prefetch_thread(void *argument)
{
    struct prefetch *prefetch = argument;
    pthread_setname_np(pthread_self(), "fl-prefetch");
    struct arena arena;
    arena_init(&arena);
    struct prefetch_item items[PREFETCH_TAKE];
    struct store_ahead aheads[PREFETCH_TAKE];
    uv_mutex_lock(&prefetch->mutex);
    for (;;) {
        while (prefetch->count == 0 && prefetch->walks_count == 0 && !prefetch->stopping)
            uv_cond_wait(&prefetch->cond, &prefetch->mutex);
        if (prefetch->stopping)
            break;
        if (prefetch->count == 0) {
            struct prefetch_walk walk = prefetch->walks[prefetch->walks_first];
            prefetch->walks_first = (prefetch->walks_first + 1) % PREFETCH_WALKS_MAX;
            prefetch->walks_count--;
            prefetch_disk_reads_fn disk_reads = prefetch->disk_reads;
            uv_mutex_unlock(&prefetch->mutex);
            uint64_t reads = disk_reads();
            int records = prefetch_walk_one(prefetch, &walk);
            bool from_disk = disk_reads() != reads;
            uv_mutex_lock(&prefetch->mutex);
            prefetch->stats.stretches++;
            prefetch->stats.stretch_records += (uint64_t)records;
            unsigned *warm = &prefetch->warm_stretches[walk.db];
            *warm = from_disk ? 0 : *warm < PREFETCH_WARM_STRETCHES ? *warm + 1 : *warm;
            continue;
        }
        /* Its share of what waits, so that the other threads have theirs at once. */
        unsigned take = (prefetch->count + prefetch->threads - 1) / prefetch->threads;
        take = take < PREFETCH_TAKE ? take : PREFETCH_TAKE;
        for (unsigned i = 0; i < take; i++) {
            items[i] = prefetch->queue[prefetch->first];
            prefetch->first = (prefetch->first + 1) % PREFETCH_QUEUE_MAX;
            prefetch->count--;
        }
        uv_mutex_unlock(&prefetch->mutex);
        bool made = prefetch_some(prefetch, items, take, &arena, aheads);
        uv_mutex_lock(&prefetch->mutex);
        for (unsigned i = 0; made && i < take; i++)
            prefetch_keep(prefetch, items[i].ticket, &aheads[i]);
        prefetch->stats.done += take;
    }
    uv_mutex_unlock(&prefetch->mutex);
    arena_free(&arena);
}

int prefetch_start(struct prefetch *prefetch, struct store *store, const struct config *config,
                   unsigned threads)
{
    REQUIRE(threads <= PREFETCH_THREADS_LIMIT);
    *prefetch = (struct prefetch){
        .store = store, .config = config, .disk_reads = prefetch_disk_reads, .started = true};
    if (threads > 0) {
        prefetch->results = calloc(PREFETCH_QUEUE_MAX, sizeof(*prefetch->results));
        if (!prefetch->results) {
            prefetch->started = false;
            return UV_ENOMEM;
        }
    }
    uv_mutex_init(&prefetch->mutex);
    uv_cond_init(&prefetch->cond);
    for (unsigned i = 0; i < threads; i++) {
        int rc = uv_thread_create(&prefetch->thread[i], prefetch_thread, prefetch);
        if (rc) {
            prefetch_stop(prefetch);
            return rc;
        }
        prefetch->threads++;
    }
    return 0;
}

bool prefetch_walking(struct prefetch *prefetch, enum store_db db)
{
    if (prefetch->threads == 0)
        return false;
    uv_mutex_lock(&prefetch->mutex);
    bool walking =
        prefetch->walk_end_bytes[db] > 0 && prefetch->walks_count < PREFETCH_WALKS_MAX / 2;
    uv_mutex_unlock(&prefetch->mutex);
    return walking;
}

struct prefetch_stats prefetch_stats(struct prefetch *prefetch)
{
    uv_mutex_lock(&prefetch->mutex);
    struct prefetch_stats stats = prefetch->stats;
    uv_mutex_unlock(&prefetch->mutex);
    return stats;
}

void prefetch_stop(struct prefetch *prefetch)
{
    if (!prefetch->started)
        return;
    prefetch->started = false;
    uv_mutex_lock(&prefetch->mutex);
    prefetch->stopping = true;
    prefetch->count = prefetch->walks_count = 0;
    uv_mutex_unlock(&prefetch->mutex);
    uv_cond_broadcast(&prefetch->cond);
    for (unsigned i = 0; i < prefetch->threads; i++)
        uv_thread_join(&prefetch->thread[i]);
    prefetch->threads = 0;
    free(prefetch->results); /* the writer has stopped: it takes none any more */
    prefetch->results = NULL;
    uv_cond_destroy(&prefetch->cond);
    uv_mutex_destroy(&prefetch->mutex);
}
