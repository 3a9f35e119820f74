/* server_internal.h -- what server.c and server_stream.c share: a connection and a request in
 * flight. Not used elsewhere. */
#ifndef FAMLEDGER_SERVER_INTERNAL_H
#define FAMLEDGER_SERVER_INTERNAL_H

#include "arena.h"
#include "commit.h"
#include "dispatch.h"
#include "frame.h"
#include "pipeline.h"
#include "server.h"
#include "stream.h"

struct pending {
    struct commit_job job;
    struct pipeline_item item;
    uv_work_t work;                 /* background reads (audit pages, a backup) run on the
                                     * thread pool */
    struct store_txn *snapshot;     /* the connection's, lent to a background read; or NULL */
    struct store *store;            /* where a background read without a snapshot reads */
    struct conn *conn;              /* loop thread only */
    struct server *server;          /* loop thread only */
    struct pending *pooled_next;    /* in server->pending_pool, while there */
    /* What the writer thread may read: copies, as the connection can close meanwhile. */
    const struct config *config;
    struct prefetch *prefetch;      /* the server's, or NULL */
    uint64_t ahead_ticket;          /* its reads made ahead (prefetch_take); 0: none */
    struct peer peer;
    struct arena request_arena;     /* the decoded request */
    struct arena reply_arena;       /* everything the handler builds; reset on each attempt */
    Famledger__Request *request;
    Famledger__Response response;
    const struct dispatch_route *route;
    uint64_t received_ns;           /* uv_hrtime when its frame was read (metrics) */
};

struct conn {
    uv_pipe_t pipe;
    uv_timer_t idle_timer;
    struct server *server;
    struct conn *prev, *next;
    struct frame_reader reader;
    struct peer peer;
    struct pipeline pipeline;
    struct store_txn *snapshot;     /* while open, every read of the connection uses it */
    uint64_t snapshot_opened_ms;    /* uv_now when it opened */
    bool snapshot_expired;          /* closed at snapshot_max_seconds: reads refused until the
                                     * peer opens or closes one (conn_snapshot_current) */
    bool background_running;        /* a read on the thread pool: nothing else of it starts */
    struct stream *stream;          /* subscribed: the connection carries only the stream */
    unsigned writes_in_flight;
    size_t unwritten_accounted;     /* this connection's part of server->unwritten */
    size_t pending_accounted;       /* and of server->pending */
    unsigned handles_open;          /* pipe and timer: freed when both are closed */
    bool reading;
    bool read_eof;
    bool close_after_flush;         /* broken framing or refused connection */
    bool closing;
    bool flush_queued;              /* on server->flush_first's list, by flush_next */
    struct conn *flush_next;
};

struct write_req {
    uv_write_t req;
    struct conn *conn;
    uv_buf_t buf;
};

/* Free a request that is answered, refused or abandoned (or keep it for the next, server.c). */
void pending_free(struct pending *pending);

/* Answer a request without running it (refused before a handler). */
void conn_refuse(struct conn *conn, struct pending *pending, int status, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

void conn_close(struct conn *conn);

/* Bytes queued on the socket, not yet taken by the peer. */
size_t conn_queue_bytes(struct conn *conn);
/* Whether the connection's replies not yet taken by its peer are within its own bound and,
 * while all connections' are past unwritten_replies_mib_max, within a small share (server.c). */
bool conn_replies_within(struct conn *conn);

/* Write `buffer` (malloc'd; freed once written) to the peer. */
void conn_write(struct conn *conn, uint8_t *buffer, size_t bytes);

/* server_stream.c: the connection becomes a subscriber (SubscribeRequest); send what the log
 * holds past its sequence while its socket has room. */
void conn_subscribe(struct conn *conn, struct pending *pending);

/* Answer a StatsRequest from the commit queue's and the store's counters (server_stats.c). */
void server_stats_run(struct pending *pending);
/* The counters and every metric family into `reply`, allocated in `arena` (server_stats.c;
 * the metrics listener serves the same families). */
void server_metrics_collect(struct server *server, struct arena *arena,
                            Famledger__StatsReply *reply);
/* Count a reply on its way to the peer, and how long its request took. */
void server_metrics_answered(struct server *server, const struct pending *pending);
void conn_stream_pump(struct conn *conn);

#endif
