/* server.c -- connections: peers, frames, decode and roles, replies in request order, deadlines.
 *
 * Each frame becomes a `pending` request in the connection's pipeline (pipeline.c decides what
 * may start and when the connection may take another frame). Reads are answered at once from a
 * read transaction; writes go to the commit queue and are answered when their batch is durable.
 * Replies leave strictly in request order, so a client may pipeline. A subscribed connection
 * carries the change stream instead (server_stream.c).
 */
#include "server.h"

#include "container_of.h"
#include "decode.h"
#include "batch.h"
#include "dispatch.h"
#include "fl_limits.h"
#include "frame.h"
#include "ledger.h"
#include "log.h"
#include "pipeline.h"
#include "poison.h"
#include "require.h"
#include "server_internal.h"
#include "validate.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_process(struct conn *conn);
static void conn_flush(struct conn *conn);
static void conn_flush_cancel(struct conn *conn);
static void server_turn_end_soon(struct server *server);
static void conn_account(struct conn *conn);

/* ---- pending requests ---- */

/* Requests freed are kept, with the first block of each arena, for the next: a settlement then
 * allocates nothing for its decoding or its reply on either thread (a block is 8 KiB, which
 * glibc's per-thread caches do not hold; the writer otherwise took one from the heap for each
 * reply, and the loop thread gave it back). At most PENDING_POOL_MAX, about 17 KiB each: held
 * after a burst of that many in flight, all given back at the stop. */
#define PENDING_POOL_MAX 1024

static struct pending *pending_new(struct conn *conn)
{
    struct server *server = conn->server;
    struct pending *pending = server->pending_pool;
    if (pending) {
        UNPOISON(pending, sizeof(*pending));
        server->pending_pool = pending->pooled_next;
        server->pending_pooled--;
        /* Everything but the arenas (each reset, its first block kept; in place, so their
         * allocators still point at them) starts over. */
        struct arena request_arena = pending->request_arena;
        struct arena reply_arena = pending->reply_arena;
        *pending = (struct pending){.request_arena = request_arena, .reply_arena = reply_arena};
    } else {
        pending = calloc(1, sizeof(*pending));
        if (!pending)
            return NULL;
        arena_init(&pending->request_arena);
        arena_init(&pending->reply_arena);
    }
    pending->conn = conn;
    pending->server = server;
    pending->config = server->config;
    pending->prefetch = server->prefetch;
    pending->peer = conn->peer;
    pending->received_ns = uv_hrtime();
    famledger__response__init(&pending->response);
    return pending;
}

void pending_free(struct pending *pending)
{
    struct server *server = pending->server;
    if (server->stopping || server->pending_pooled >= PENDING_POOL_MAX) {
        arena_free(&pending->request_arena);
        arena_free(&pending->reply_arena);
        free(pending);
        return;
    }
    arena_reset(&pending->request_arena);
    arena_reset(&pending->reply_arena);
    pending->pooled_next = server->pending_pool;
    server->pending_pool = pending;
    server->pending_pooled++;
    POISON(pending, sizeof(*pending)); /* until pending_new hands it out again */
}

/* The stop: the pool goes (server_stopped_check); requests freed later are freed at once. */
static void pending_pool_drain(struct server *server)
{
    while (server->pending_pool) {
        struct pending *pending = server->pending_pool;
        UNPOISON(pending, sizeof(*pending));
        server->pending_pool = pending->pooled_next;
        server->pending_pooled--;
        arena_free(&pending->request_arena);
        arena_free(&pending->reply_arena);
        free(pending);
    }
}

/* The size a reply will take on the wire; a reply past REPLY_BYTES_MAX (pages are cut well
 * below it) becomes an error rather than a frame no client accepts. */
static size_t pending_reply_bytes(struct pending *pending)
{
    size_t bytes = famledger__response__get_packed_size(&pending->response);
    if (bytes <= REPLY_BYTES_MAX)
        return bytes;
    log_error("server: a %s reply of %zu bytes passes the %u-byte limit", pending->route->name,
              bytes, REPLY_BYTES_MAX);
    uint64_t request_id = pending->response.request_id;
    famledger__response__init(&pending->response);
    pending->response.request_id = request_id;
    pending->response.status = FAMLEDGER__STATUS__STATUS_INTERNAL;
    pending->response.error = (char *)"the reply would pass the maximum reply size";
    return famledger__response__get_packed_size(&pending->response);
}

/* Answer a request without running it (refused before a handler). */
void conn_refuse(struct conn *conn, struct pending *pending, int status,
                        const char *format, ...)
{
    va_list args;
    va_start(args, format);
    request_response_fail(&pending->response, &pending->reply_arena, status, format, args);
    va_end(args);
    arena_reset(&pending->request_arena); /* nothing decoded is kept for a refusal */
    pipeline_push_answered(&conn->pipeline, &pending->item,
                           famledger__response__get_packed_size(&pending->response));
}

static struct request_ctx pending_ctx(struct pending *pending, struct store_txn *txn)
{
    return (struct request_ctx){
        .txn = txn,
        .arena = &pending->reply_arena,
        .config = pending->config,
        .time_us = request_clock_us(),
        .peer_uid = pending->peer.uid,
        .peer_gid = pending->peer.gid,
        .peer = &pending->peer,
        .operator_id = pending->request->operator_id,
        .response = &pending->response,
        .prefetch = pending->prefetch,
        .ahead_ticket = pending->ahead_ticket,
    };
}

/* Writer thread: run the handler; it may run again if the batch is retried. */
static int pending_execute_cb(struct commit_job *job, struct store_txn *txn)
{
    struct pending *pending = container_of(job, struct pending, job);
    arena_reset(&pending->reply_arena);
    uint64_t request_id = pending->response.request_id;
    famledger__response__init(&pending->response);
    pending->response.request_id = request_id;
    struct request_ctx ctx = pending_ctx(pending, txn);
    return dispatch_execute(pending->route, &ctx, pending->request);
}

static void conn_free_if_unused(struct conn *conn)
{
    /* Freed only after its handles are closed and no job in the commit queue refers to it. */
    if (conn->closing && conn->handles_open == 0 && conn->pipeline.count == 0)
        free(conn);
}

static void conn_start_ready(struct conn *conn);

/* Loop thread: a request that ran elsewhere (commit queue, thread pool) is answered: send what
 * can be sent in order and start what it held back; a closing connection just frees it. */
static void pending_answered(struct pending *pending)
{
    struct conn *conn = pending->conn;
    pipeline_answer(&conn->pipeline, &pending->item, pending_reply_bytes(pending));
    if (conn->closing) {
        pipeline_remove(&conn->pipeline, &pending->item);
        pending_free(pending);
        conn_free_if_unused(conn);
        return;
    }
    conn_start_ready(conn);
    conn_flush(conn);
    conn_process(conn);
}

/* Loop thread: the job's batch is durable (or failed); answer in order. */
static void pending_done_cb(struct commit_job *job)
{
    struct pending *pending = container_of(job, struct pending, job);
    if (job->execute_status == 0 && job->commit_status != 0) {
        famledger__response__init(&pending->response);
        pending->response.request_id = pending->request->request_id;
        pending->response.status = (Famledger__Status)-job->commit_status;
        pending->response.error =
            arena_printf(&pending->reply_arena, "not recorded: %s%s%s",
                         fl_strerror(job->commit_status), job->commit_reason ? ": " : "",
                         job->commit_reason ? job->commit_reason : "");
    }
    server_streams_notify(pending->conn->server);
    pending_answered(pending);
}

/* End the connection's snapshot, if it holds one. */
static void conn_snapshot_end(struct conn *conn)
{
    if (!conn->snapshot)
        return;
    store_read_end(conn->snapshot);
    conn->snapshot = NULL;
    conn->server->snapshot_count--;
}

static void background_thread_lower(void);

/* Close the connection's snapshot, or, to open one, end it and hold a place among the open
 * ones: true when the request goes on to the thread pool (server_snapshot_open_cb), false when
 * it is answered (closed, or too many open). The loop thread. */
static bool server_snapshot_run(struct pending *pending)
{
    struct conn *conn = pending->conn;
    Famledger__Response *response = &pending->response;
    conn_snapshot_end(conn);
    conn->snapshot_expired = false; /* the peer knows its snapshot is gone */
    Famledger__SnapshotReply *reply = ARENA_NEW(&pending->reply_arena, Famledger__SnapshotReply);
    famledger__snapshot_reply__init(reply);
    response->body_case = FAMLEDGER__RESPONSE__BODY_SNAPSHOT;
    response->snapshot = reply;
    if (pending->request->snapshot->close)
        return false;
    if (conn->server->snapshot_count + conn->server->snapshots_opening >= SNAPSHOTS_MAX) {
        response->body_case = FAMLEDGER__RESPONSE__BODY__NOT_SET;
        response->status = FAMLEDGER__STATUS__STATUS_BUSY;
        response->error = arena_printf(&pending->reply_arena, "%d snapshots are open already; "
                                       "try again later", SNAPSHOTS_MAX);
        return false;
    }
    conn->server->snapshots_opening++;
    pending->store = conn->server->store;
    pending->config = conn->server->config;
    return true;
}

/* Thread pool: open a snapshot, an LMDB read transaction kept open so that an audit reads one
 * consistent state, with a copy of what memory holds (store_snapshot_begin: up to 0.35 s, not
 * on the loop thread). The map is reserved at its maximum from the start, so a long snapshot
 * never stands in the way of the writer (store.h). */
static void server_snapshot_open_cb(uv_work_t *work)
{
    struct pending *pending = container_of(work, struct pending, work);
    background_thread_lower();
    Famledger__Response *response = &pending->response;
    struct ledger_head head;
    int rc = store_snapshot_begin(pending->store, &pending->snapshot);
    if (rc == 0 && (rc = ledger_head_get(pending->snapshot, &head)) != 0) {
        store_read_end(pending->snapshot);
        pending->snapshot = NULL;
    }
    if (rc) {
        response->body_case = FAMLEDGER__RESPONSE__BODY__NOT_SET;
        response->status = (Famledger__Status)-rc;
        response->error = (char *)"cannot open a snapshot";
        return;
    }
    Famledger__SnapshotReply *reply = response->snapshot;
    reply->open = true;
    reply->timezone = (char *)pending->config->timezone;
    reply->seq = head.seq;
    reply->hash.data = arena_alloc(&pending->reply_arena, HASH_BYTES);
    reply->hash.len = HASH_BYTES;
    memcpy(reply->hash.data, head.hash, HASH_BYTES);
}

/* Loop thread: the snapshot is open (or could not be): the connection's from now, unless it
 * closed meanwhile. */
static void server_snapshot_opened_cb(uv_work_t *work, int status)
{
    (void)status;
    struct pending *pending = container_of(work, struct pending, work);
    struct conn *conn = pending->conn;
    conn->background_running = false;
    conn->server->snapshots_opening--;
    if (pending->snapshot && !conn->closing) {
        conn->snapshot = pending->snapshot;
        conn->snapshot_opened_ms = uv_now(conn->server->loop);
        conn->server->snapshot_count++;
    } else if (pending->snapshot) {
        store_read_end(pending->snapshot);
    }
    pending->snapshot = NULL;
    pending_answered(pending);
}

static void pending_run_read(struct pending *pending)
{
    struct conn *conn = pending->conn;
    struct store_txn *txn = conn->snapshot;
    int rc = 0;
    if (pending->route->body_case == FAMLEDGER__REQUEST__BODY_STATS)
        server_stats_run(pending);
    else if (!txn && (rc = store_read_begin(conn->server->store, &txn)) != 0) {
        pending->response.status = (Famledger__Status)-rc;
        pending->response.error = (char *)"cannot read the ledger";
    } else {
        struct request_ctx ctx = pending_ctx(pending, txn);
        dispatch_execute(pending->route, &ctx, pending->request);
        if (txn != conn->snapshot)
            store_read_end(txn);
    }
    pipeline_answer(&conn->pipeline, &pending->item, pending_reply_bytes(pending));
}

/* How much less a pool thread asks of the CPU than the loop and the writer (nice values): a
 * verify or an export shares the machine with the pharmacies' settlements and waits for them,
 * not they for it. Lowered once per thread; raising it back would need a privilege. */
#define BACKGROUND_NICE 10

static void background_thread_lower(void)
{
    static _Thread_local bool lowered;
    if (lowered)
        return;
    lowered = true;
    /* Linux sets the priority of the calling thread alone for its thread id; failing that (a
     * filter that forbids it), the read runs as it would on the loop. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), BACKGROUND_NICE) != 0)
        log_debug("server: a background thread keeps its priority: %s", strerror(errno));
}

/* Thread pool: a long read, in the connection's snapshot (lent while nothing else of the
 * connection runs) or a read transaction of its own. */
static void pending_work_cb(uv_work_t *work)
{
    struct pending *pending = container_of(work, struct pending, work);
    background_thread_lower();
    struct store_txn *txn = pending->snapshot;
    /* A backup reads for as long as the copy takes: like a snapshot, it holds nothing in memory
     * back (store_snapshot_begin); a page is read at once. */
    bool lasting = pending->route->body_case == FAMLEDGER__REQUEST__BODY_BACKUP;
    int rc = txn       ? 0
             : lasting ? store_snapshot_begin(pending->store, &txn)
                       : store_read_begin(pending->store, &txn);
    if (rc) {
        pending->response.status = (Famledger__Status)-rc;
        pending->response.error = (char *)"cannot read the ledger";
        return;
    }
    struct request_ctx ctx = pending_ctx(pending, txn);
    dispatch_execute(pending->route, &ctx, pending->request);
    if (txn != pending->snapshot)
        store_read_end(txn);
}

/* Loop thread: the long read is done; answer in order, and start what waited for it. A
 * connection that closed meanwhile kept its snapshot for the read: it ends here. */
static void pending_work_done_cb(uv_work_t *work, int status)
{
    (void)status;
    struct pending *pending = container_of(work, struct pending, work);
    struct conn *conn = pending->conn;
    conn->background_running = false;
    if (conn->closing)
        conn_snapshot_end(conn);
    pending_answered(pending);
}

/* Whether the connection's read may go on. A snapshot open longer than snapshot_max_seconds
 * is ended here: LMDB reuses no page freed after the oldest reader, so while it lasts every
 * commit's copied pages are new ones and data.mdb grows (3.5 times as fast under settlements,
 * measured), and a peer that keeps its connection busy is never idle. Its reads are then
 * refused, not answered from the present, until the peer opens a snapshot or closes it:
 * otherwise an audit would mix two states. False with the refusal in the response. */
static bool conn_snapshot_current(struct conn *conn, struct pending *pending)
{
    uint64_t max_s = conn->server->config->snapshot_max_seconds;
    if (conn->snapshot && max_s &&
        uv_now(conn->server->loop) - conn->snapshot_opened_ms > max_s * 1000) {
        log_warn("server: the audit snapshot of uid %u was open longer than "
                 "snapshot_max_seconds (%llu s): closed, since data.mdb grows while one lasts; "
                 "its reads are refused until it opens a new one", conn->peer.uid,
                 (unsigned long long)max_s);
        conn_snapshot_end(conn);
        conn->snapshot_expired = true;
    }
    if (!conn->snapshot_expired)
        return true;
    pending->response.status = FAMLEDGER__STATUS__STATUS_SNAPSHOT_EXPIRED;
    pending->response.error =
        arena_printf(&pending->reply_arena, "the snapshot was open longer than "
                     "snapshot_max_seconds (%llu s) and is closed: open a new one and start "
                     "over (an audit that needs longer needs the setting raised)",
                     (unsigned long long)max_s);
    return false;
}

/* Whether a read may start now. Taking frames is bounded (conn_may_take), but the reads a
 * write held back all start when it commits: a read waits while the connection's replies are
 * past their bounds (conn_replies_within) and some of them can still reach the peer, who
 * reading them runs this again (conn_write_cb). With none that can, it starts: nothing else
 * would. */
static bool conn_read_may_start(struct conn *conn)
{
    const struct pipeline_item *first = conn->pipeline.first;
    bool draining = conn_queue_bytes(conn) > 0 || (first && first->done);
    return !draining || conn_replies_within(conn);
}

/* Start every request the pipeline lets start: writes to the commit queue, reads at once. */
static void conn_start_ready(struct conn *conn)
{
    struct pipeline_item *item;
    /* A read on the thread pool holds the connection's snapshot, and the connection's requests
     * behave as if run one after another: nothing else of it starts until it is answered. */
    while (!conn->background_running &&
           (item = pipeline_start_next(&conn->pipeline, conn_read_may_start(conn))) != NULL) {
        struct pending *pending = container_of(item, struct pending, item);
        if (item->writes) {
            pending->job.execute_cb = pending_execute_cb;
            pending->job.weight = batch_weight(pending->request);
            pending->job.done_cb = pending_done_cb;
            if (conn->server->prefetch &&
                (pending->ahead_ticket =
                     prefetch_request(conn->server->prefetch, pending->request)) != 0)
                server_turn_end_soon(conn->server); /* which wakes the threads */
            commit_queue_submit(conn->server->commits, &pending->job);
        } else if (pending->route->body_case == FAMLEDGER__REQUEST__BODY_SNAPSHOT) {
            if (server_snapshot_run(pending)) {
                conn->background_running = true;
                uv_queue_work(conn->server->loop, &pending->work, server_snapshot_open_cb,
                              server_snapshot_opened_cb);
            } else {
                pipeline_answer(&conn->pipeline, &pending->item, pending_reply_bytes(pending));
            }
        } else if (!conn_snapshot_current(conn, pending)) {
            pipeline_answer(&conn->pipeline, &pending->item, pending_reply_bytes(pending));
        } else if (pending->route->background) {
            pending->snapshot = conn->snapshot;
            pending->store = conn->server->store;
            conn->background_running = true;
            uv_queue_work(conn->server->loop, &pending->work, pending_work_cb,
                          pending_work_done_cb);
        } else {
            pending_run_read(pending);
        }
    }
}

/* Peek, authorise, check, unpack: the route and the role are known before anything is
 * unpacked, and unpacking is bounded by a budget (decode.c). */
static void conn_handle_frame(struct conn *conn, const uint8_t *payload, uint32_t bytes)
{
    struct pending *pending = pending_new(conn);
    if (!pending) {
        log_error("server: out of memory for a request; closing the connection");
        conn_close(conn);
        return;
    }
    char error[256], roles[64];
    struct decode_peek peek;
    int rc = decode_peek(payload, bytes, &peek, error, sizeof(error));
    pending->response.request_id = peek.request_id;
    struct server_metrics *metrics = &conn->server->metrics;
    if (rc) {
        metrics->refusals[REFUSAL_MALFORMED]++;
        return conn_refuse(conn, pending, rc, "%s", error);
    }
    if (peek.request_id == 0)
        return conn_refuse(conn, pending, FL_ERR_INVALID_ARGUMENT,
                           "request_id 0 is reserved for replies about the connection");
    pending->route = dispatch_route_find((Famledger__Request__BodyCase)peek.body_field);
    if (pending->route && !(conn->peer.roles & pending->route->roles)) {
        metrics->refusals[REFUSAL_ROLE]++;
        return conn_refuse(conn, pending, FL_ERR_PERMISSION_DENIED,
                           "%s needs the %s role; uid %u gid %u has none of them",
                           pending->route->name,
                           dispatch_roles_text(pending->route->roles, roles, sizeof(roles)),
                           conn->peer.uid, conn->peer.gid);
    }
    size_t request_bytes = 0;
    if ((rc = decode_check(payload, bytes, error, sizeof(error))) ||
        (rc = decode_unpack(payload, bytes, &pending->request_arena, &pending->request,
                            &request_bytes, error, sizeof(error)))) {
        metrics->refusals[REFUSAL_MALFORMED]++;
        return conn_refuse(conn, pending, rc, "%s", error);
    }
    if (!pending->route)
        return conn_refuse(conn, pending, FL_ERR_UNSUPPORTED,
                           "the request carries no body this daemon knows");
    if (!validate_operator_id(pending->request->operator_id))
        return conn_refuse(conn, pending, FL_ERR_INVALID_ARGUMENT,
                           "operator_id must be at most 64 printable ASCII characters");
    if (pending->route->body_case == FAMLEDGER__REQUEST__BODY_SUBSCRIBE)
        return conn_subscribe(conn, pending);
    pipeline_push(&conn->pipeline, &pending->item, pending->route->writes, request_bytes);
    conn_start_ready(conn);
}

/* ---- connections ---- */

static void conn_handle_close_cb(uv_handle_t *handle)
{
    struct conn *conn = handle->data;
    if (--conn->handles_open > 0)
        return;
    struct server *server = conn->server;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    server->conn_count--;
    /* Requests answered or never started die with the connection; those in the commit queue
     * are freed by their done_cb. */
    struct pipeline_item *item = conn->pipeline.first;
    while (item) {
        struct pipeline_item *next = item->next;
        if (item->done || !item->started) {
            pipeline_remove(&conn->pipeline, item);
            pending_free(container_of(item, struct pending, item));
        }
        item = next;
    }
    frame_reader_free(&conn->reader);
    if (conn->stream) {
        free(conn->stream);
        conn->stream = NULL;
        server->stream_count--;
    }
    if (!conn->background_running) /* else it ends with the read (pending_work_done_cb) */
        conn_snapshot_end(conn);
    conn_free_if_unused(conn);
    server_stopped_check(server);
}

void conn_close(struct conn *conn)
{
    if (conn->closing)
        return;
    conn->closing = true;
    conn_flush_cancel(conn);
    conn_account(conn); /* its replies will never be written: no longer held for it */
    uv_close((uv_handle_t *)&conn->pipe, conn_handle_close_cb);
    uv_close((uv_handle_t *)&conn->idle_timer, conn_handle_close_cb);
}

static void conn_maybe_close(struct conn *conn)
{
    bool finished = conn->read_eof || conn->close_after_flush || conn->server->stopping;
    if (finished && conn->pipeline.count == 0 && conn->writes_in_flight == 0)
        conn_close(conn);
}

size_t conn_queue_bytes(struct conn *conn)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&conn->pipe);
}

enum budget_change { BUDGET_SAME, BUDGET_PASSED, BUDGET_BACK_TO_HALF };

/* Move a connection's part of `budget` from *accounted to `now`, and say whether the total has
 * just passed the limit or come back under half of it. */
static enum budget_change budget_move(struct shared_budget *budget, size_t *accounted,
                                      size_t now)
{
    budget->held = budget->held - *accounted + now;
    *accounted = now;
    if (!budget->over && budget->held >= budget->limit) {
        budget->over = true;
        return BUDGET_PASSED;
    }
    if (budget->over && budget->held < budget->limit / 2) {
        budget->over = false;
        return BUDGET_BACK_TO_HALF;
    }
    return BUDGET_SAME;
}

/* Whether a connection holding `accounted` of `budget` may go on: all connections together are
 * under the limit, or this one holds less than `share`. */
static bool budget_allows(const struct shared_budget *budget, size_t accounted, size_t share)
{
    return budget->held < budget->limit || accounted < share;
}

/* Bring this connection's parts of the decoded requests not yet answered and of the replies
 * not yet written, all connections together, up to date, and tell the operator when a total
 * passes its budget (and when it is back to half). */
static void conn_account(struct conn *conn)
{
    struct server *server = conn->server;
    size_t requests = conn->closing ? 0 : conn->pipeline.request_bytes;
    switch (budget_move(&server->pending, &conn->pending_accounted, requests)) {
    case BUDGET_PASSED:
        log_warn("server: %zu MiB of requests wait for their turn: connections holding over "
                 "%u KiB of them take no more until theirs are answered",
                 server->pending.held >> 20, PENDING_REQUESTS_SHARE_BYTES >> 10);
        break;
    case BUDGET_BACK_TO_HALF:
        log_info("server: requests waiting for their turn are back under %zu MiB",
                 server->pending.limit >> 21);
        break;
    case BUDGET_SAME:
        break;
    }
    size_t replies = conn->closing ? 0 : conn->pipeline.answered_bytes + conn_queue_bytes(conn);
    switch (budget_move(&server->unwritten, &conn->unwritten_accounted, replies)) {
    case BUDGET_PASSED:
        log_warn("server: %zu MiB of replies wait for their peers to read them: connections "
                 "holding over %u KiB of them run no more requests until they do",
                 server->unwritten.held >> 20, UNWRITTEN_REPLIES_SHARE_BYTES >> 10);
        break;
    case BUDGET_BACK_TO_HALF:
        server->unwritten_trim = true;
        log_info("server: replies waiting for their peers are back under %zu MiB",
                 server->unwritten.limit >> 21);
        break;
    case BUDGET_SAME:
        break;
    }
    if (server->unwritten_trim && server->unwritten.held == 0) {
        /* The budget's worth of replies was freed in the middle of the heap, which glibc keeps
         * (main.c keeps freed memory on purpose): give it back once, now that none is held. */
        server->unwritten_trim = false;
        malloc_trim(0);
    }
}

/* Whether the connection's replies not yet written are within bounds: under its own, and while
 * all connections' are past the budget, under a small share (a pharmacy's answers are a few
 * hundred bytes; hundreds of readers that never read would otherwise hold connections_max
 * times the per-connection bound). A connection held back is run again by its own next event:
 * a write taken by its peer, or an answer. */
static bool conn_within_budget(struct conn *conn)
{
    conn_account(conn);
    return budget_allows(&conn->server->unwritten, conn->unwritten_accounted,
                         UNWRITTEN_REPLIES_SHARE_BYTES);
}

bool conn_replies_within(struct conn *conn)
{
    return conn_within_budget(conn) && /* first: it brings the account up to date */
           pipeline_replies_within(&conn->pipeline, conn_queue_bytes(conn));
}

/* Whether the connection may run another frame: within its own bounds and the shared budgets.
 * Past the requests' budget a connection holding more than its share waits for its own to be
 * answered, which runs it again; one holding less goes on, so that a burst of large batches on
 * many connections holds about the budget rather than connections_max times REQUEST_BYTES_MAX,
 * while a pharmacy's small requests still pass. */
static bool conn_may_take(struct conn *conn)
{
    return conn_within_budget(conn) && /* first: it brings both accounts up to date */
           budget_allows(&conn->server->pending, conn->pending_accounted,
                         PENDING_REQUESTS_SHARE_BYTES) &&
           pipeline_may_take(&conn->pipeline, conn_queue_bytes(conn));
}

/* A connection that sends nothing and awaits nothing, or reads none of its replies, for
 * idle_timeout_ms is closed, and so is one that takes longer than that to send a frame whole;
 * one whose writes are still being committed is not. */
static void conn_idle_cb(uv_timer_t *timer)
{
    struct conn *conn = timer->data;
    if (pipeline_running(&conn->pipeline)) { /* the daemon is the slow one: not idle */
        uv_timer_again(timer);
        return;
    }
    /* A subscriber that has read everything waits for entries: not idle. One that reads
     * nothing of what is queued for it is. */
    if (conn->stream && !conn->stream->ended && conn_queue_bytes(conn) == 0) {
        uv_timer_again(timer);
        return;
    }
    log_debug("server: closing the connection of uid %u: idle for %llu ms", conn->peer.uid,
              (unsigned long long)conn->server->config->idle_timeout_ms);
    conn->server->metrics.refusals[REFUSAL_IDLE]++;
    conn_close(conn);
}

static void conn_alloc_cb(uv_handle_t *handle, size_t suggested_bytes, uv_buf_t *buf)
{
    struct conn *conn = handle->data;
    uint8_t *space;
    size_t space_bytes;
    if (frame_reader_reserve(&conn->reader, suggested_bytes, &space, &space_bytes) != 0) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to read_cb */
        return;
    }
    *buf = uv_buf_init((char *)space, (unsigned)space_bytes);
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct conn *conn = stream->data;
    if (nread > 0 && conn->stream) {
        log_debug("server: uid %u sent bytes on its subscription; closing it", conn->peer.uid);
        conn_close(conn);
        return;
    }
    if (nread > 0) {
        /* Bytes that only lengthen a frame begun before do not put the deadline off: a frame
         * must come whole within idle_timeout_ms, so that a peer sending it a byte at a time
         * cannot hold a connection for ever. */
        bool lengthens = conn->reader.end_bytes > conn->reader.start_bytes;
        frame_reader_commit(&conn->reader, (size_t)nread);
        const uint8_t *payload;
        uint32_t payload_bytes;
        if (!lengthens || frame_reader_next(&conn->reader, &payload, &payload_bytes) !=
                              FRAME_NEED_MORE)
            uv_timer_again(&conn->idle_timer);
        conn_process(conn);
        return;
    }
    if (nread == 0)
        return;
    conn->reading = false;
    uv_read_stop(stream);
    if (nread == UV_EOF) {
        conn->read_eof = true; /* answer what was read, then close */
        conn_maybe_close(conn);
    } else {
        log_debug("server: read from uid %u: %s", conn->peer.uid, uv_strerror((int)nread));
        conn_close(conn);
    }
}

/* While stopping: every whole frame already read is answered SHUTTING_DOWN, not run. */
static void conn_refuse_buffered(struct conn *conn)
{
    const uint8_t *payload;
    uint32_t bytes;
    while (frame_reader_next(&conn->reader, &payload, &bytes) == FRAME_READY) {
        struct pending *pending = pending_new(conn);
        if (!pending)
            break;
        struct decode_peek peek;
        char error[128];
        decode_peek(payload, bytes, &peek, error, sizeof(error));
        pending->response.request_id = peek.request_id;
        conn->server->metrics.refusals[REFUSAL_SHUTTING_DOWN]++;
        conn_refuse(conn, pending, FL_ERR_SHUTTING_DOWN,
                    "the daemon is stopping; this request did not run");
        frame_reader_consume(&conn->reader);
    }
}

/* Parse whole frames while the pipeline may take them, then decide whether to keep reading. */
static void conn_process(struct conn *conn)
{
    struct server *server = conn->server;
    if (server->stopping && !conn->closing)
        conn_refuse_buffered(conn);
    while (!conn->closing && !conn->close_after_flush && !server->stopping && !conn->stream &&
           conn_may_take(conn)) {
        const uint8_t *payload;
        uint32_t bytes;
        enum frame_next_result next = frame_reader_next(&conn->reader, &payload, &bytes);
        if (next == FRAME_NEED_MORE)
            break;
        if (next == FRAME_TOO_LARGE) {
            /* The next frame boundary cannot be found without reading it all: say why, then
             * close. */
            struct pending *pending = pending_new(conn);
            server->metrics.refusals[REFUSAL_FRAME_TOO_LARGE]++;
            if (pending)
                conn_refuse(conn, pending, FL_ERR_FRAME_TOO_LARGE,
                            "frame length exceeds the limit of %u bytes; closing",
                            conn->reader.frame_bytes_max);
            conn->close_after_flush = true;
            break;
        }
        conn_handle_frame(conn, payload, bytes);
        frame_reader_consume(&conn->reader);
    }
    if (conn->closing)
        return;
    bool want_read = !conn->read_eof && !conn->close_after_flush && !server->stopping &&
                     conn_may_take(conn);
    if (want_read && !conn->reading) {
        if (uv_read_start((uv_stream_t *)&conn->pipe, conn_alloc_cb, conn_read_cb) == 0)
            conn->reading = true;
    } else if (!want_read && conn->reading) {
        uv_read_stop((uv_stream_t *)&conn->pipe);
        conn->reading = false;
    }
    conn_flush(conn);
}

static void conn_write_cb(uv_write_t *req, int status)
{
    struct write_req *write = container_of(req, struct write_req, req);
    struct conn *conn = write->conn;
    free(write->buf.base);
    free(write);
    conn->writes_in_flight--;
    if (conn->closing) {
        conn_free_if_unused(conn);
        return;
    }
    if (status < 0) {
        log_debug("server: write to uid %u: %s", conn->peer.uid, uv_strerror(status));
        conn_close(conn);
        return;
    }
    uv_timer_again(&conn->idle_timer);
    if (conn->stream)
        conn->stream->stalled_since_ms = 0; /* it reads */
    conn_start_ready(conn); /* reads held while the peer had replies to read */
    conn_process(conn);
    conn_stream_pump(conn);
    conn_maybe_close(conn);
}

/* Send every answered request at the head of the pipeline, in one write. */
static void conn_write_answered(struct conn *conn)
{
    if (conn->closing)
        return;
    size_t total_bytes = 0;
    for (struct pipeline_item *item = conn->pipeline.first; item && item->done; item = item->next)
        total_bytes += FRAME_HEADER_BYTES + item->reply_bytes;
    if (total_bytes == 0) {
        conn_account(conn); /* answers may wait behind an earlier request: they count */
        conn_maybe_close(conn);
        return;
    }
    uint8_t *buffer = malloc(total_bytes);
    if (!buffer) {
        log_error("server: out of memory for %zu bytes of replies; closing", total_bytes);
        conn_close(conn);
        return;
    }
    uint8_t *cursor = buffer;
    struct pipeline_item *item;
    while ((item = pipeline_pop_answered(&conn->pipeline)) != NULL) {
        struct pending *pending = container_of(item, struct pending, item);
        size_t bytes = famledger__response__pack(&pending->response, cursor + FRAME_HEADER_BYTES);
        REQUIRE(bytes == item->reply_bytes);
        frame_header_encode(cursor, (uint32_t)bytes);
        cursor += FRAME_HEADER_BYTES + bytes;
        server_metrics_answered(conn->server, pending);
        pending_free(pending);
    }
    REQUIRE((size_t)(cursor - buffer) == total_bytes);
    conn_write(conn, buffer, total_bytes);
    conn_stream_pump(conn);
    conn_account(conn);
}

/* The end of a turn of the loop, when something in it asked (server_turn_end_soon): the
 * prefetch threads woken for the settlements queued in it, once, and each connection's
 * answers written, in one write. */
static void server_turn_end_cb(uv_check_t *check)
{
    struct server *server = check->data;
    prefetch_kick(server->prefetch); /* first: the threads start while the replies are written */
    struct conn *conn;
    while ((conn = server->flush_first) != NULL) {
        server->flush_first = conn->flush_next;
        conn->flush_queued = false;
        conn_write_answered(conn);
    }
    prefetch_kick(server->prefetch); /* anything the writes queued: none is left for the next */
    uv_check_stop(check);
}

static void server_turn_end_soon(struct server *server)
{
    if (!uv_is_active((uv_handle_t *)&server->turn_check))
        uv_check_start(&server->turn_check, server_turn_end_cb);
}

/* Write what the connection has answered at the end of this turn of the loop: a commit answers
 * many of a connection's requests in one turn, and they go in one write, not one each. */
static void conn_flush(struct conn *conn)
{
    struct server *server = conn->server;
    if (conn->closing || conn->flush_queued)
        return;
    conn->flush_queued = true;
    conn->flush_next = server->flush_first;
    server->flush_first = conn;
    server_turn_end_soon(server);
}

/* A closing connection is taken off the list: its memory goes with its handles at the end of
 * this turn, and the turn's check may have run already (a connection answered and closed by a
 * later check callback would otherwise be met freed in the next turn). */
static void conn_flush_cancel(struct conn *conn)
{
    if (!conn->flush_queued)
        return;
    struct conn **link = &conn->server->flush_first;
    while (*link != conn)
        link = &(*link)->flush_next;
    *link = conn->flush_next;
    conn->flush_queued = false;
}

/* Write `buffer` (malloc'd; freed once written) to the peer. */
void conn_write(struct conn *conn, uint8_t *buffer, size_t bytes)
{
    struct write_req *write = malloc(sizeof(*write));
    if (!write) {
        log_error("server: out of memory for a write; closing");
        free(buffer);
        conn_close(conn);
        return;
    }
    write->conn = conn;
    write->buf = uv_buf_init((char *)buffer, (unsigned)bytes);
    conn->writes_in_flight++;
    int rc = uv_write(&write->req, (uv_stream_t *)&conn->pipe, &write->buf, 1, conn_write_cb);
    if (rc < 0) {
        conn->writes_in_flight--;
        free(buffer);
        free(write);
        conn_close(conn);
    }
}

/* The peer's uid, primary gid and supplementary groups (SO_PEERCRED, SO_PEERGROUPS). */
static int peer_credentials(int fd, const struct config *config, struct peer *peer)
{
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
        return -1;
    uint32_t gids[PEER_GROUPS_MAX + 1] = {credentials.gid};
    gid_t groups[PEER_GROUPS_MAX];
    socklen_t groups_bytes = sizeof(groups);
    size_t count = 1;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &groups_bytes) == 0)
        for (size_t i = 0; i < groups_bytes / sizeof(gid_t); i++)
            gids[count++] = groups[i];
    config_peer_resolve(config, credentials.uid, gids, count, peer);
    return 0;
}

/* The listener took a peer while out of descriptors: say BUSY and close at once. */
static void server_refused_cb(struct listener *listener, int fd)
{
    struct server *server = listener->data;
    server->metrics.refusals[REFUSAL_DESCRIPTORS]++;
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    response.status = FAMLEDGER__STATUS__STATUS_BUSY;
    response.error = (char *)"the daemon is out of file descriptors; try again later";
    uint8_t frame[256];
    size_t bytes = famledger__response__get_packed_size(&response);
    REQUIRE(bytes + FRAME_HEADER_BYTES <= sizeof(frame));
    famledger__response__pack(&response, frame + FRAME_HEADER_BYTES);
    frame_header_encode(frame, (uint32_t)bytes);
    ssize_t sent = send(fd, frame, bytes + FRAME_HEADER_BYTES, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)sent; /* a peer that cannot take 100 bytes learns it from the close */
    close(fd);
}

static void server_accepted_cb(struct listener *listener, int fd)
{
    struct server *server = listener->data;
    struct conn *conn = calloc(1, sizeof(*conn));
    if (!conn || server->stopping || peer_credentials(fd, server->config, &conn->peer) != 0) {
        free(conn);
        close(fd);
        return;
    }
    conn->server = server;
    server->metrics.accepted++;
    /* A peer with no role can do nothing but be refused: it gets a small frame limit. */
    uint32_t frame_max = conn->peer.roles ? (uint32_t)server->config->frame_bytes_max
                                          : NO_ROLE_FRAME_BYTES_MAX;
    frame_reader_init(&conn->reader, frame_max);
    pipeline_init(&conn->pipeline,
                  (struct pipeline_limits){(unsigned)server->config->pipeline_max,
                                           REQUEST_BYTES_MAX, WRITE_QUEUE_BYTES_MAX});
    uv_pipe_init(server->loop, &conn->pipe, 0);
    uv_timer_init(server->loop, &conn->idle_timer);
    conn->pipe.data = conn->idle_timer.data = conn;
    conn->handles_open = 2;
    conn->next = server->conns;
    if (server->conns)
        server->conns->prev = conn;
    server->conns = conn;
    server->conn_count++;
    if (uv_pipe_open(&conn->pipe, fd) != 0) {
        close(fd);
        conn_close(conn);
        return;
    }
    uint64_t idle_ms = server->config->idle_timeout_ms;
    uv_timer_start(&conn->idle_timer, conn_idle_cb, idle_ms, idle_ms);
    if (server->conn_count > server->config->connections_max) {
        server->metrics.refusals[REFUSAL_CONNECTIONS_MAX]++;
        struct pending *pending = pending_new(conn);
        if (pending)
            conn_refuse(conn, pending, FL_ERR_BUSY, "too many connections (limit %llu)",
                        (unsigned long long)server->config->connections_max);
        conn->close_after_flush = true;
    }
    conn_process(conn);
}

int server_start(struct server *server, uv_loop_t *loop, const struct config *config,
                 struct store *store, struct commit_queue *commits, struct prefetch *prefetch,
                 char *error, size_t error_bytes)
{
    *server = (struct server){.loop = loop, .config = config, .store = store, .commits = commits,
                              .prefetch = prefetch, .started_us = request_clock_us(),
                              .unwritten.limit = (size_t)config->unwritten_replies_mib_max << 20,
                              .pending.limit = (size_t)config->pending_requests_mib_max << 20};
    REQUIRE(dispatch_route_count() < SERVER_ROUTE_ROWS); /* the last row: unknown bodies */
    server->listener.data = server;
    server->listener.accepted_cb = server_accepted_cb;
    uv_check_init(loop, &server->streams_check);
    server->streams_check.data = server;
    uv_check_init(loop, &server->turn_check);
    server->turn_check.data = server;
    server->listener.refused_cb = server_refused_cb;
    if (config->metrics_listen[0] &&
        metrics_http_start(&server->metrics_http, loop, server, config->metrics_listen, error,
                           error_bytes) != 0)
        return -1;
    int rc = listener_open(&server->listener, loop, config, error, error_bytes);
    if (rc)
        metrics_http_stop(&server->metrics_http);
    return rc;
}

void server_stopped_check(struct server *server)
{
    if (!server->stopping || server->conn_count > 0 || !server->listener_closed ||
        server->stopped_cb == NULL)
        return;
    if (!uv_is_closing((uv_handle_t *)&server->shutdown_timer))
        uv_close((uv_handle_t *)&server->shutdown_timer, NULL);
    if (!uv_is_closing((uv_handle_t *)&server->streams_check))
        uv_close((uv_handle_t *)&server->streams_check, NULL);
    if (!uv_is_closing((uv_handle_t *)&server->turn_check))
        uv_close((uv_handle_t *)&server->turn_check, NULL);
    pending_pool_drain(server);
    void (*stopped_cb)(struct server *) = server->stopped_cb;
    server->stopped_cb = NULL;
    stopped_cb(server);
}

static void server_listener_closed_cb(struct listener *listener)
{
    struct server *server = listener->data;
    server->listener_closed = true;
    server_stopped_check(server);
}

/* The shutdown deadline: whatever is still connected is closed, answered or not. */
static void server_shutdown_cb(uv_timer_t *timer)
{
    struct server *server = timer->data;
    log_warn("server: %zu connection(s) still open %llu ms after the stop signal; closing them",
             server->conn_count, (unsigned long long)server->config->shutdown_timeout_ms);
    for (struct conn *conn = server->conns; conn; conn = conn->next)
        conn_close(conn);
}

void server_stop(struct server *server, void (*stopped_cb)(struct server *server))
{
    if (server->stopping)
        return;
    server->stopping = true;
    server->stopped_cb = stopped_cb;
    uv_timer_init(server->loop, &server->shutdown_timer);
    server->shutdown_timer.data = server;
    uv_timer_start(&server->shutdown_timer, server_shutdown_cb,
                   server->config->shutdown_timeout_ms, 0);
    server->listener.closed_cb = server_listener_closed_cb;
    listener_close(&server->listener);
    metrics_http_stop(&server->metrics_http);
    struct conn *conn = server->conns;
    while (conn) {
        struct conn *next = conn->next; /* conn_process may close conn */
        conn_process(conn);
        conn = next;
    }
}
