/* pipeline.h -- one connection's requests from read to reply, as a state machine without I/O.
 *
 * Requests enter in the order they were read and leave, answered, in the same order. A read
 * starts only when no earlier write of the connection is still in the commit queue, so that
 * the connection behaves as if its requests ran one after another; whatever follows a waiting
 * read waits with it. Writes start at once: the commit queue keeps their order.
 *
 * The pipeline also says when the connection may take another frame: while fewer than
 * items_max requests are unanswered, their decoded size is under request_bytes_max, and the
 * replies not yet written to the peer (answered here or queued in the socket) are under
 * unwritten_bytes_max. Past any bound the server stops running frames, not only reading them.
 */
#ifndef FAMLEDGER_PIPELINE_H
#define FAMLEDGER_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

struct pipeline_item {
    struct pipeline_item *next;
    size_t request_bytes; /* memory the decoded request holds */
    size_t reply_bytes;   /* the packed reply, once answered */
    bool writes;          /* goes through the commit queue */
    bool started;
    bool done;
};

struct pipeline_limits {
    unsigned items_max;
    size_t request_bytes_max;
    size_t unwritten_bytes_max;
};

struct pipeline {
    struct pipeline_item *first, *last;
    struct pipeline_item *unstarted; /* the first item not started; all after it too */
    unsigned count;
    unsigned commits_pending;        /* started writes not yet answered */
    size_t request_bytes;            /* of items not yet answered */
    size_t answered_bytes;           /* replies answered and not yet popped */
    struct pipeline_limits limits;
};

void pipeline_init(struct pipeline *pipeline, struct pipeline_limits limits);

/* Append a request read from the peer. */
void pipeline_push(struct pipeline *pipeline, struct pipeline_item *item, bool writes,
                   size_t request_bytes);

/* Append a request answered without running (refused before it reached a handler). */
void pipeline_push_answered(struct pipeline *pipeline, struct pipeline_item *item,
                            size_t reply_bytes);

/* The next item that may start now, marked started; NULL when none may. With reads_may_start
 * false a read does not start (nor anything after it): the connection's replies wait for its
 * peer to read them, and a read's reply would add to them. */
struct pipeline_item *pipeline_start_next(struct pipeline *pipeline, bool reads_may_start);

/* The item is answered with a reply of `reply_bytes`. */
void pipeline_answer(struct pipeline *pipeline, struct pipeline_item *item, size_t reply_bytes);

/* Remove and return the first item if it is answered, else NULL. */
struct pipeline_item *pipeline_pop_answered(struct pipeline *pipeline);

/* Remove an item whatever its state (the connection is closing). */
void pipeline_remove(struct pipeline *pipeline, struct pipeline_item *item);

/* Whether a request is running: in the commit queue or on the thread pool. */
bool pipeline_running(const struct pipeline *pipeline);

/* Whether the replies not yet written (answered here, and `socket_queue_bytes` queued on the
 * socket) are under unwritten_bytes_max. */
bool pipeline_replies_within(const struct pipeline *pipeline, size_t socket_queue_bytes);

/* Whether another frame may be taken, given the bytes queued on the socket. */
bool pipeline_may_take(const struct pipeline *pipeline, size_t socket_queue_bytes);

#endif
