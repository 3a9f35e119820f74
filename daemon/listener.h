/* listener.h -- the listening Unix socket: a safe claim of its path, and accept with a reserve
 * descriptor so that a peer arriving while we are out of descriptors is told BUSY.
 *
 * libuv's own listener closes such a peer without a word (its EMFILE trick); ours accepts it
 * on a descriptor kept in reserve for that moment and hands it to refused_cb, which answers
 * and closes it at once.
 */
#ifndef FAMLEDGER_LISTENER_H
#define FAMLEDGER_LISTENER_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

struct listener {
    uv_poll_t poll;
    uv_timer_t pause_timer;       /* out of descriptors with no reserve: poll again later */
    uv_timer_t watch_timer;       /* is `path` still our socket file? (listener_watch_cb) */
    int fd;
    int reserve_fd;
    const char *path;
    const struct config *config;
    struct stat bound;            /* the socket file made at `path`: only it is removed at close */
    bool path_lost_told;          /* `path` is another file now, and the log said so */
    time_t refused_logged_at;     /* rate limit of the out-of-descriptors warning */
    unsigned long refused_count;
    void *data;
    void (*accepted_cb)(struct listener *listener, int fd);
    void (*refused_cb)(struct listener *listener, int fd);
    void (*closed_cb)(struct listener *listener);
};

/* Before the ledger is opened (or created): whether listener_open could claim
 * config->socket_path and find socket_group. Removes nothing. Returns 0, or -1 with a message
 * in error[] as listener_open's. */
int listener_check(const struct config *config, char *error, size_t error_bytes);

/* Claim config->socket_path (only a stale socket there is removed), bind it with
 * socket_mode and socket_group, listen, and watch it on `loop`. Returns 0, or -1 with a
 * message naming the path and what to do in error[]. */
int listener_open(struct listener *listener, uv_loop_t *loop, const struct config *config,
                  char *error, size_t error_bytes);

/* Stop accepting, remove the socket file; closed_cb runs when the handle is closed. While open,
 * a socket file deleted from under the daemon is made again within a second. */
void listener_close(struct listener *listener);

#endif
