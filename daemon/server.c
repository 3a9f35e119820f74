/* server.c -- the Unix socket: connections, framing, roles, and replies in request order.
 *
 * A connection reads frames into its frame_reader; each frame becomes a `pending` request in
 * the connection's FIFO. Reads are answered at once from a read transaction; writes go to the
 * commit queue and are answered when their batch is durable. Replies leave strictly in FIFO
 * order, so a client may pipeline. A connection stops reading while pipeline_max requests await
 * their replies, or while the peer does not read what we write.
 */
#include "server.h"

#include "dispatch.h"
#include "frame.h"
#include "fl_limits.h"
#include "log.h"
#include "require.h"
#include "validate.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct pending {
    struct commit_job job;          /* first: the commit queue hands it back to us */
    struct pending *next;
    struct conn *conn;              /* loop thread only */
    /* What the writer thread may read: a copy, as the connection can close meanwhile. */
    const struct config *config;
    uint32_t peer_uid, peer_gid;
    struct arena request_arena;     /* the decoded request */
    struct arena reply_arena;       /* everything the handler builds; reset on each attempt */
    Famledger__Request *request;
    Famledger__Response response;
    const struct dispatch_route *route;
    bool deferred;                  /* waiting for an earlier write of its connection */
    bool done;
};

struct conn {
    uv_pipe_t pipe;
    struct server *server;
    struct conn *prev, *next;
    struct frame_reader reader;
    uint32_t uid, gid;
    unsigned roles;
    struct pending *first, *last;   /* requests read and not yet answered, in order */
    unsigned pending_count;
    unsigned commits_pending;       /* writes of this connection still in the commit queue */
    unsigned deferred_count;        /* requests held back so that reads see earlier writes */
    unsigned writes_in_flight;
    bool reading;
    bool read_eof;
    bool close_after_flush;         /* broken framing or refused connection */
    bool closing;
};

struct write_req {
    uv_write_t req;
    struct conn *conn;
    uv_buf_t buf;
};

static void conn_process(struct conn *conn);
static void conn_flush(struct conn *conn);

/* ---- pending requests ---- */

static struct pending *pending_new(struct conn *conn)
{
    struct pending *pending = calloc(1, sizeof(*pending));
    REQUIRE(pending != NULL);
    pending->conn = conn;
    pending->config = conn->server->config;
    pending->peer_uid = conn->uid;
    pending->peer_gid = conn->gid;
    arena_init(&pending->request_arena);
    arena_init(&pending->reply_arena);
    famledger__response__init(&pending->response);
    if (conn->last)
        conn->last->next = pending;
    else
        conn->first = pending;
    conn->last = pending;
    conn->pending_count++;
    return pending;
}

static void pending_free(struct pending *pending)
{
    arena_free(&pending->request_arena);
    arena_free(&pending->reply_arena);
    free(pending);
}

static void pending_unlink(struct conn *conn, struct pending *pending)
{
    struct pending **link = &conn->first, *previous = NULL;
    while (*link != pending) {
        previous = *link;
        link = &(*link)->next;
    }
    *link = pending->next;
    if (conn->last == pending)
        conn->last = previous;
    conn->pending_count--;
}

static void pending_fail(struct pending *pending, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void pending_fail(struct pending *pending, int status, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    pending->response.status = (Famledger__Status)-status;
    pending->response.error = arena_strdup(&pending->reply_arena, message);
    pending->response.body_case = FAMLEDGER__RESPONSE__BODY__NOT_SET;
    pending->done = true;
}

static struct request_ctx pending_ctx(struct pending *pending, struct store_txn *txn)
{
    return (struct request_ctx){
        .txn = txn,
        .arena = &pending->reply_arena,
        .config = pending->config,
        .time_us = request_clock_us(),
        .peer_uid = pending->peer_uid,
        .peer_gid = pending->peer_gid,
        .operator_id = pending->request->operator_id,
        .response = &pending->response,
    };
}

/* Writer thread: run the handler; it may run again if the batch is retried. */
static int pending_execute_cb(struct commit_job *job, struct store_txn *txn)
{
    struct pending *pending = (struct pending *)job;
    arena_reset(&pending->reply_arena);
    uint64_t request_id = pending->response.request_id;
    famledger__response__init(&pending->response);
    pending->response.request_id = request_id;
    struct request_ctx ctx = pending_ctx(pending, txn);
    return dispatch_execute(pending->route, &ctx, pending->request);
}

static void conn_free_if_unused(struct conn *conn);
static void conn_run_deferred(struct conn *conn);
static int pending_execute_cb(struct commit_job *job, struct store_txn *txn);
static void pending_done_cb(struct commit_job *job);

/* Loop thread: the job's batch is durable (or failed); answer in order. */
static void pending_done_cb(struct commit_job *job)
{
    struct pending *pending = (struct pending *)job;
    struct conn *conn = pending->conn;
    if (job->execute_status == 0 && job->commit_status != 0)
        pending_fail(pending, job->commit_status, "not recorded: %s",
                     fl_strerror(job->commit_status));
    pending->done = true;
    conn->commits_pending--;
    if (conn->closing) {
        pending_unlink(conn, pending);
        pending_free(pending);
        conn_free_if_unused(conn);
        return;
    }
    conn_run_deferred(conn);
    conn_flush(conn);
    conn_process(conn);
}

static void pending_run_read(struct pending *pending)
{
    struct store_txn *txn;
    int rc = store_read_begin(pending->conn->server->store, &txn);
    if (rc) {
        pending_fail(pending, rc, "cannot read the ledger");
        return;
    }
    struct request_ctx ctx = pending_ctx(pending, txn);
    dispatch_execute(pending->route, &ctx, pending->request);
    store_read_end(txn);
    pending->done = true;
}

static void pending_submit(struct pending *pending)
{
    pending->job.execute_cb = pending_execute_cb;
    pending->job.done_cb = pending_done_cb;
    pending->conn->commits_pending++;
    commit_queue_submit(pending->conn->server->commits, &pending->job);
}

/* A connection behaves as if its requests ran one after another: a read sees every earlier
 * write of its connection and no later one. So a read waits while an earlier write is in the
 * commit queue, and whatever follows a waiting read waits too. Writes need no such care: the
 * commit queue keeps their order. */
static void conn_run_deferred(struct conn *conn)
{
    bool write_ahead = false;
    for (struct pending *pending = conn->first; pending; pending = pending->next) {
        if (pending->done)
            continue;
        if (!pending->deferred) {
            write_ahead = true; /* in the commit queue */
            continue;
        }
        if (write_ahead && !pending->route->writes)
            return;
        pending->deferred = false;
        conn->deferred_count--;
        if (pending->route->writes) {
            pending_submit(pending);
            write_ahead = true;
        } else {
            pending_run_read(pending);
        }
    }
}

/* Decode, authorise and start one request frame. */
static void conn_handle_frame(struct conn *conn, const uint8_t *payload, uint32_t bytes)
{
    struct pending *pending = pending_new(conn);
    pending->request =
        famledger__request__unpack(&pending->request_arena.protobuf, bytes, payload);
    if (!pending->request) {
        pending_fail(pending, FL_ERR_MALFORMED_REQUEST,
                     "a frame of %u bytes is not a valid Request message", bytes);
        return;
    }
    const Famledger__Request *request = pending->request;
    pending->response.request_id = request->request_id;
    pending->route = dispatch_route_find(request->body_case);
    char roles[64];
    if (!pending->route)
        pending_fail(pending, FL_ERR_UNSUPPORTED, "the request carries no body this daemon knows");
    else if (!(conn->roles & pending->route->roles))
        pending_fail(pending, FL_ERR_PERMISSION_DENIED, "%s needs the %s role; uid %u gid %u has "
                     "none of them", pending->route->name,
                     dispatch_roles_text(pending->route->roles, roles, sizeof(roles)), conn->uid,
                     conn->gid);
    else if (!validate_operator_id(request->operator_id))
        pending_fail(pending, FL_ERR_INVALID_ARGUMENT,
                     "operator_id must be at most 64 printable ASCII characters");
    else if (conn->deferred_count > 0 || (!pending->route->writes && conn->commits_pending > 0)) {
        pending->deferred = true;
        conn->deferred_count++;
    } else if (pending->route->writes) {
        pending_submit(pending);
    } else {
        pending_run_read(pending);
    }
}

/* ---- connections ---- */

static void conn_close_cb(uv_handle_t *handle)
{
    struct conn *conn = handle->data;
    struct server *server = conn->server;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    server->conn_count--;
    /* Answered requests die with the connection; those still in the commit queue are freed
     * by their done_cb. */
    struct pending *pending = conn->first;
    while (pending) {
        struct pending *next = pending->next;
        if (pending->done || pending->deferred) {
            pending_unlink(conn, pending);
            pending_free(pending);
        }
        pending = next;
    }
    frame_reader_free(&conn->reader);
    conn->server = NULL;
    conn_free_if_unused(conn);
    if (server->stopping && server->conn_count == 0 && server->listener_closed &&
        server->stopped_cb)
        server->stopped_cb(server);
}

static void conn_free_if_unused(struct conn *conn)
{
    /* Freed only after the handle is closed (conn->server cleared) and no job refers to it. */
    if (conn->closing && conn->pending_count == 0 && conn->server == NULL)
        free(conn);
}

static void conn_close(struct conn *conn)
{
    if (conn->closing)
        return;
    conn->closing = true;
    uv_close((uv_handle_t *)&conn->pipe, conn_close_cb);
}

static void conn_maybe_close(struct conn *conn)
{
    bool finished = conn->read_eof || conn->close_after_flush || conn->server->stopping;
    if (finished && conn->pending_count == 0 && conn->writes_in_flight == 0)
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
    if (nread > 0) {
        frame_reader_commit(&conn->reader, (size_t)nread);
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
        log_debug("server: read from uid %u: %s", conn->uid, uv_strerror((int)nread));
        conn_close(conn);
    }
}

/* Parse whole frames while the pipeline has room, then decide whether to keep reading. */
static void conn_process(struct conn *conn)
{
    struct server *server = conn->server;
    while (!conn->closing && !conn->close_after_flush && !server->stopping &&
           conn->pending_count < server->config->pipeline_max) {
        const uint8_t *payload;
        uint32_t bytes;
        enum frame_next_result next = frame_reader_next(&conn->reader, &payload, &bytes);
        if (next == FRAME_NEED_MORE)
            break;
        if (next == FRAME_TOO_LARGE) {
            /* We cannot find the next frame boundary without reading the whole thing: say why,
             * then close. */
            pending_fail(pending_new(conn), FL_ERR_FRAME_TOO_LARGE,
                         "frame length exceeds the limit of %llu bytes; closing",
                         (unsigned long long)server->config->frame_bytes_max);
            conn->close_after_flush = true;
            break;
        }
        conn_handle_frame(conn, payload, bytes);
        frame_reader_consume(&conn->reader);
    }
    if (conn->closing)
        return;
    size_t queued_bytes = uv_stream_get_write_queue_size((uv_stream_t *)&conn->pipe);
    bool want_read = !conn->read_eof && !conn->close_after_flush && !server->stopping &&
                     conn->pending_count < server->config->pipeline_max &&
                     queued_bytes < WRITE_QUEUE_BYTES_MAX;
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
    struct write_req *write = (struct write_req *)req;
    struct conn *conn = write->conn;
    free(write->buf.base);
    free(write);
    conn->writes_in_flight--;
    if (conn->closing)
        return;
    if (status < 0) {
        log_debug("server: write to uid %u: %s", conn->uid, uv_strerror(status));
        conn_close(conn);
        return;
    }
    conn_process(conn);
    conn_maybe_close(conn);
}

/* Send every answered request at the head of the FIFO, in one write. */
static void conn_flush(struct conn *conn)
{
    size_t total_bytes = 0;
    struct pending *pending = conn->first;
    for (; pending && pending->done; pending = pending->next)
        total_bytes += FRAME_HEADER_BYTES +
                       famledger__response__get_packed_size(&pending->response);
    if (total_bytes == 0 || conn->closing) {
        conn_maybe_close(conn);
        return;
    }
    uint8_t *buffer = malloc(total_bytes);
    struct write_req *write = malloc(sizeof(*write));
    REQUIRE(buffer != NULL && write != NULL);
    uint8_t *cursor = buffer;
    while (conn->first && conn->first->done) {
        pending = conn->first;
        size_t bytes = famledger__response__pack(&pending->response, cursor + FRAME_HEADER_BYTES);
        frame_header_encode(cursor, (uint32_t)bytes);
        cursor += FRAME_HEADER_BYTES + bytes;
        pending_unlink(conn, pending);
        pending_free(pending);
    }
    REQUIRE((size_t)(cursor - buffer) == total_bytes);
    write->conn = conn;
    write->buf = uv_buf_init((char *)buffer, (unsigned)total_bytes);
    conn->writes_in_flight++;
    int rc = uv_write(&write->req, (uv_stream_t *)&conn->pipe, &write->buf, 1, conn_write_cb);
    if (rc < 0) {
        conn->writes_in_flight--;
        free(buffer);
        free(write);
        conn_close(conn);
    }
}

static int conn_peer_credentials(struct conn *conn)
{
    uv_os_fd_t fd;
    int rc = uv_fileno((uv_handle_t *)&conn->pipe, &fd);
    if (rc)
        return rc;
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
        return UV_EINVAL;
    conn->uid = credentials.uid;
    conn->gid = credentials.gid;
    conn->roles = config_peer_roles(conn->server->config, conn->uid, conn->gid);
    return 0;
}

static void server_connection_cb(uv_stream_t *listener, int status)
{
    struct server *server = listener->data;
    if (status < 0 || server->stopping)
        return;
    struct conn *conn = calloc(1, sizeof(*conn));
    REQUIRE(conn != NULL);
    conn->server = server;
    frame_reader_init(&conn->reader, (uint32_t)server->config->frame_bytes_max);
    uv_pipe_init(server->loop, &conn->pipe, 0);
    conn->pipe.data = conn;
    conn->next = server->conns;
    if (server->conns)
        server->conns->prev = conn;
    server->conns = conn;
    server->conn_count++;
    if (uv_accept(listener, (uv_stream_t *)&conn->pipe) != 0 ||
        conn_peer_credentials(conn) != 0) {
        conn_close(conn);
        return;
    }
    if (server->conn_count > server->config->connections_max) {
        pending_fail(pending_new(conn), FL_ERR_BUSY, "too many connections (limit %llu)",
                     (unsigned long long)server->config->connections_max);
        conn->close_after_flush = true;
    }
    conn_process(conn);
}

/* Refuse to take over a socket a live daemon still answers on; remove a stale one. */
static int server_claim_path(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return UV_EINVAL;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
    int live = connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0;
    close(fd);
    if (live)
        return UV_EADDRINUSE;
    unlink(path);
    return 0;
}

int server_start(struct server *server, uv_loop_t *loop, const struct config *config,
                 struct store *store, struct commit_queue *commits)
{
    *server = (struct server){.loop = loop, .config = config, .store = store, .commits = commits};
    int rc = server_claim_path(config->socket_path);
    if (rc)
        return rc;
    uv_pipe_init(loop, &server->listener, 0);
    server->listener.data = server;
    /* Create the socket with no access at all, then open it to exactly socket_mode. */
    mode_t previous_umask = umask(0777);
    rc = uv_pipe_bind(&server->listener, config->socket_path);
    umask(previous_umask);
    if (rc == 0 && chmod(config->socket_path, (mode_t)config->socket_mode) != 0)
        rc = UV_EPERM;
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server->listener, 511, server_connection_cb);
    if (rc) {
        uv_close((uv_handle_t *)&server->listener, NULL);
        return rc;
    }
    return 0;
}

static void server_listener_close_cb(uv_handle_t *handle)
{
    struct server *server = handle->data;
    server->listener_closed = true;
    unlink(server->config->socket_path);
    if (server->conn_count == 0 && server->stopped_cb)
        server->stopped_cb(server);
}

void server_stop(struct server *server, void (*stopped_cb)(struct server *server))
{
    if (server->stopping)
        return;
    server->stopping = true;
    server->stopped_cb = stopped_cb;
    uv_close((uv_handle_t *)&server->listener, server_listener_close_cb);
    struct conn *conn = server->conns;
    while (conn) {
        struct conn *next = conn->next; /* conn_process may close conn */
        conn_process(conn);
        conn = next;
    }
}
