/* server.h -- connections: peers, frames, decode and roles, replies in request order, deadlines. */
#ifndef FAMLEDGER_SERVER_H
#define FAMLEDGER_SERVER_H

#include "commit.h"
#include "config.h"
#include "listener.h"
#include "store.h"

#include <stdbool.h>
#include <uv.h>

struct conn;

struct server {
    uv_loop_t *loop;
    struct listener listener;
    uv_timer_t shutdown_timer;
    const struct config *config;
    struct store *store;
    struct commit_queue *commits;
    struct conn *conns;         /* every open connection */
    size_t conn_count;
    unsigned snapshot_count;    /* connections holding a snapshot open */
    unsigned stream_count;      /* subscribed connections */
    uv_check_t streams_check;   /* sends new entries to subscribers once per loop turn */
    int64_t started_us;         /* wall clock at server_start */
    bool stopping;
    bool listener_closed;
    void (*stopped_cb)(struct server *server);
};

/* Claim config->socket_path and listen (listener.h). Returns 0, or -1 with a message for the
 * operator in error[]. */
int server_start(struct server *server, uv_loop_t *loop, const struct config *config,
                 struct store *store, struct commit_queue *commits, char *error,
                 size_t error_bytes);

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
