/* server_stream.c -- the change stream on a connection: subscribe, then frames from the log
 * paced by the subscriber's socket (stream.h has the rules). */
#include "server_internal.h"

#include "famledger_status.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

/* The connection becomes a subscriber: after the replies to what it sent before, it carries
 * only the stream's frames (stream.h). */
void conn_subscribe(struct conn *conn, struct pending *pending)
{
    struct server *server = conn->server;
    if (conn->stream)
        return conn_refuse(conn, pending, FL_ERR_INVALID_ARGUMENT,
                           "this connection is subscribed already");
    conn->stream = malloc(sizeof(*conn->stream));
    if (!conn->stream) {
        log_error("server: out of memory for a subscription; closing the connection");
        pending_free(pending);
        conn_close(conn);
        return;
    }
    stream_init(conn->stream, pending->request->request_id, pending->request->subscribe);
    pending_free(pending);
    server->stream_count++;
    log_debug("server: uid %u subscribed from entry %llu%s", conn->peer.uid,
              (unsigned long long)conn->stream->next_seq,
              conn->stream->follow ? ", following" : "");
    conn_stream_pump(conn);
}

/* Send the subscriber what the log holds past its sequence, while its socket queue has room.
 * Its earlier replies go first: the stream starts once the pipeline is empty. */
void conn_stream_pump(struct conn *conn)
{
    struct stream *stream = conn->stream;
    struct server *server = conn->server;
    if (!stream || stream->ended || conn->closing || conn->pipeline.count > 0)
        return;
    uint8_t *frame;
    size_t bytes;
    struct commit_stats stats;
    uint64_t durable_seq;
    commit_queue_stats(server->commits, &stats, &durable_seq);
    /* A subscriber that reads is never held back by the budget all connections share: its
     * queue empties, and with it under the share it gets entries again. */
    while (!stream->ended && conn_queue_bytes(conn) < server->config->stream_buffer_bytes &&
           conn_replies_within(conn)) {
        int rc = stream_frame_next(server->store, durable_seq, stream, &frame, &bytes);
        if (rc == 0)
            break;
        if (rc < 0 && stream_frame_status(stream, FL_ERR_INTERNAL, "the log cannot be read; "
                                          "subscribe again later", &frame, &bytes) != 0) {
            conn_close(conn);
            return;
        }
        conn_write(conn, frame, bytes);
        if (conn->closing)
            return;
    }
    if (!stream->ended && stream_behind_head(stream)) {
        /* Full while entries wait: a reader that stays so is told, and let go. */
        uint64_t now_ms = uv_now(server->loop);
        char message[128];
        snprintf(message, sizeof(message), "fell behind at entry %llu; subscribe again from "
                 "there", (unsigned long long)stream->next_seq);
        if (stream->stalled_since_ms == 0)
            stream->stalled_since_ms = now_ms;
        else if (now_ms - stream->stalled_since_ms >= server->config->stream_stall_ms &&
                 stream_frame_status(stream, FL_ERR_SUBSCRIBER_BEHIND, message, &frame,
                                     &bytes) == 0) {
            log_info("server: the subscriber uid %u fell behind at entry %llu; letting it go",
                     conn->peer.uid, (unsigned long long)stream->next_seq);
            server->metrics.refusals[REFUSAL_STREAM_STALLED]++;
            conn_write(conn, frame, bytes);
        }
    }
    if (stream->ended)
        conn->close_after_flush = true;
}

/* Loop thread: run once per loop turn after entries committed. */
static void server_streams_check_cb(uv_check_t *check)
{
    struct server *server = check->data;
    uv_check_stop(check);
    for (struct conn *conn = server->conns; conn; conn = conn->next)
        if (conn->stream)
            conn_stream_pump(conn);
}

void server_streams_notify(struct server *server)
{
    if (server->stream_count == 0 || uv_is_active((uv_handle_t *)&server->streams_check))
        return;
    uv_check_start(&server->streams_check, server_streams_check_cb);
}

