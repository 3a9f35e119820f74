/* server.h -- connections: peers, frames, decode and roles, replies in request order, deadlines. */
#ifndef FAMLEDGER_SERVER_H
#define FAMLEDGER_SERVER_H

#include "commit.h"
#include "config.h"
#include "listener.h"
#include "metrics.h"
#include "metrics_http.h"
#include "prefetch.h"
#include "store.h"

#include <stdbool.h>
#include <uv.h>

struct conn;

/* Why the server turned a peer or a frame away before any handler ran (metrics). */
enum server_refusal {
    REFUSAL_FRAME_TOO_LARGE,  /* a frame longer than frame_bytes_max: the connection closes */
    REFUSAL_MALFORMED,        /* a frame that does not decode as a Request */
    REFUSAL_ROLE,             /* the peer lacks the request's role */
    REFUSAL_CONNECTIONS_MAX,  /* a peer past connections_max, answered BUSY */
    REFUSAL_DESCRIPTORS,      /* a peer taken while out of descriptors, answered BUSY */
    REFUSAL_IDLE,             /* a connection closed after idle_timeout_ms */
    REFUSAL_SHUTTING_DOWN,    /* a request read while stopping, answered SHUTTING_DOWN */
    REFUSAL_STREAM_STALLED,   /* a subscriber let go after stream_stall_ms */
    REFUSAL_COUNT
};

#define SERVER_ROUTE_ROWS 64     /* one per dispatch route; the last for unknown bodies */
#define SERVER_STATUS_SLOTS 128  /* by status number; the last for numbers past it */

/* The loop thread's counts since start (server_stats.c shows them). */
struct server_metrics {
    uint64_t requests[SERVER_ROUTE_ROWS][SERVER_STATUS_SLOTS]; /* answered, by status */
    struct histogram duration_us[SERVER_ROUTE_ROWS]; /* frame read to reply queued */
    uint64_t refusals[REFUSAL_COUNT];
    uint64_t accepted;                               /* connections */
};

/* Bytes that all connections together hold against a budget (conn_account). */
struct shared_budget {
    size_t held;  /* every connection's part, summed */
    size_t limit; /* the setting, in bytes */
    bool over;    /* past the limit, and not yet back to half: the log has said so */
};

struct server {
    uv_loop_t *loop;
    struct listener listener;
    uv_timer_t shutdown_timer;
    const struct config *config;
    struct store *store;
    struct commit_queue *commits;
    struct prefetch *prefetch;  /* reads ahead for queued writes; NULL: none */
    struct conn *conns;         /* every open connection */
    size_t conn_count;
    struct shared_budget unwritten; /* replies not yet written (unwritten_replies_mib_max) */
    bool unwritten_trim;        /* give the heap back once none are held (conn_account) */
    struct shared_budget pending; /* decoded requests not yet answered (pending_requests_...) */
    unsigned snapshot_count;    /* connections holding a snapshot open */
    unsigned snapshots_opening; /* and opening one on the thread pool */
    unsigned stream_count;      /* subscribed connections */
    struct pending *pending_pool; /* requests freed, kept for the next (server.c) */
    unsigned pending_pooled;
    uv_check_t streams_check;   /* sends new entries to subscribers once per loop turn */
    uv_check_t turn_check;      /* the end of a turn of the loop (server_turn_end_cb) */
    struct conn *flush_first;   /* the connections with replies to write in this turn */
    int64_t started_us;         /* wall clock at server_start */
    struct server_metrics metrics;
    struct metrics_http metrics_http; /* the metrics listener, when metrics_listen is set */
    bool stopping;
    bool listener_closed;
    void (*stopped_cb)(struct server *server);
};

/* Claim config->socket_path and listen (listener.h). Returns 0, or -1 with a message for the
 * operator in error[]. */
int server_start(struct server *server, uv_loop_t *loop, const struct config *config,
                 struct store *store, struct commit_queue *commits, struct prefetch *prefetch,
                 char *error, size_t error_bytes);

/* Stop accepting; answer every request already running, answer SHUTTING_DOWN to those read but
 * not started, then close each connection. After shutdown_timeout_ms whatever is still open is
 * closed. stopped_cb runs once, when the last connection and the listener are closed. */
void server_stop(struct server *server, void (*stopped_cb)(struct server *server));

/* Entries were committed: send them to subscribers (on this loop turn, once however many
 * commits it answers). */
void server_streams_notify(struct server *server);

/* Run stopped_cb if the server is stopping and nothing is left open (internal). */
void server_stopped_check(struct server *server);

#endif
