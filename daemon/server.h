/* server.h -- the Unix socket: connections, framing, roles, and replies in request order. */
#ifndef FAMLEDGER_SERVER_H
#define FAMLEDGER_SERVER_H

#include "commit.h"
#include "config.h"
#include "store.h"

#include <stdbool.h>
#include <uv.h>

struct conn;

struct server {
    uv_loop_t *loop;
    uv_pipe_t listener;
    const struct config *config;
    struct store *store;
    struct commit_queue *commits;
    struct conn *conns;         /* every open connection */
    size_t conn_count;
    bool stopping;
    bool listener_closed;
    void (*stopped_cb)(struct server *server);
};

/* Bind and listen on config->socket_path (mode config->socket_mode). Returns 0, or a negative
 * libuv error (UV_EADDRINUSE when a live daemon already answers there). */
int server_start(struct server *server, uv_loop_t *loop, const struct config *config,
                 struct store *store, struct commit_queue *commits);

/* Stop accepting and reading; answer every request already read, then close each connection.
 * stopped_cb runs once the last connection has closed. */
void server_stop(struct server *server, void (*stopped_cb)(struct server *server));

#endif
