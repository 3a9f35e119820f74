/* stream.h -- the change stream: every entry, in order, as it commits (SubscribeRequest).
 *
 * The log is the buffer. A subscriber holds only its next sequence; frames are read from the
 * log on the loop thread while the bytes queued on its socket are below stream_buffer_bytes, so
 * a slow reader is sent less, never costs more memory and never slows the writer. A reader
 * whose socket stays full for stream_stall_ms while entries wait gets SUBSCRIBER_BEHIND and is
 * disconnected; it subscribes again from its last sequence (docs/PROTOCOL.md).
 */
#ifndef FAMLEDGER_STREAM_H
#define FAMLEDGER_STREAM_H

#include "famledger.pb-c.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stream {
    uint64_t request_id;    /* every frame answers the subscribe request */
    uint64_t next_seq;      /* the first entry not yet sent */
    uint64_t head_seq;      /* the head when the last frame was read */
    bool follow;
    bool ended;             /* the last frame (end, or an error) is queued */
    uint64_t stalled_since_ms; /* the socket has been full while entries waited; 0: not */
};

/* Start a stream for `request` (a SubscribeRequest) at its from_seq. */
void stream_init(struct stream *stream, uint64_t request_id,
                 const Famledger__SubscribeRequest *subscribe);

/* Read the next frame from the log, no further than `durable_seq` (the last entry on disk:
 * commit.h): up to STREAM_FRAME_RECORDS_MAX records or about STREAM_FRAME_BYTES_MAX bytes,
 * framed and ready to write (*frame is malloc'd). Without follow,
 * the frame that reaches the head says end and ends the stream. Returns 1 with a frame, 0 when
 * there is nothing new, or < 0 when the log cannot be read or memory is short (a final error
 * frame is then made with stream_frame_status). */
int stream_frame_next(struct store *store, uint64_t durable_seq, struct stream *stream,
                      uint8_t **frame, size_t *frame_bytes);

/* The stream's last frame: `status` with `message` (SUBSCRIBER_BEHIND, INTERNAL). Ends the
 * stream. Returns 0 with a malloc'd frame, or -1 when out of memory. */
int stream_frame_status(struct stream *stream, int status, const char *message, uint8_t **frame,
                        size_t *frame_bytes);

/* Whether entries wait that the subscriber has not been sent. */
bool stream_behind_head(const struct stream *stream);

#endif
