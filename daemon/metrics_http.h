/* metrics_http.h -- the metrics listener: GET /metrics in the Prometheus text format, served by
 * libmicrohttpd inside the daemon's loop (its epoll descriptor is polled by libuv; no thread of
 * its own, so that the counts it reads are the loop thread's). Off unless metrics_listen is set.
 */
#ifndef FAMLEDGER_METRICS_HTTP_H
#define FAMLEDGER_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

struct server;

struct metrics_http {
    struct MHD_Daemon *daemon;
    struct server *server;
    uv_poll_t poll;
    uv_timer_t timer;
    unsigned handles_open;
    bool started;
};

/* "127.0.0.1:9464", "[::1]:9464" or "localhost:9464" as a socket address. Returns 0, or -1
 * with the reason in error[]. */
int metrics_http_address(const char *text, struct sockaddr_storage *address,
                         socklen_t *address_bytes, char *error, size_t error_bytes);

/* Listen on `listen` (metrics_http_address). Returns 0, or -1 with the reason in error[]. */
int metrics_http_start(struct metrics_http *http, uv_loop_t *loop, struct server *server,
                       const char *listen, char *error, size_t error_bytes);
/* Stop listening and close every scrape in progress. */
void metrics_http_stop(struct metrics_http *http);

#endif
