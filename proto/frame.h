/* frame.h -- length-prefixed framing shared by daemon and clients.
 *
 * A frame is a 4-byte big-endian length followed by that many payload bytes. A frame_reader
 * accumulates bytes read from a stream and hands out whole frames; it never holds more than
 * one maximal frame plus its header.
 */
#ifndef FAMLEDGER_FRAME_H
#define FAMLEDGER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_BYTES 4

void frame_header_encode(uint8_t header[FRAME_HEADER_BYTES], uint32_t payload_bytes);
uint32_t frame_header_decode(const uint8_t header[FRAME_HEADER_BYTES]);

struct frame_reader {
    uint8_t *buffer;
    size_t start_bytes;    /* offset of the first unconsumed byte */
    size_t end_bytes;      /* offset just past the last received byte */
    size_t capacity_bytes;
    uint32_t frame_bytes_max;
};

void frame_reader_init(struct frame_reader *reader, uint32_t frame_bytes_max);
void frame_reader_free(struct frame_reader *reader);

/* Make room for at least `want_bytes` more bytes (fewer if the reader is near its limit) and
 * return where to write them. Returns 0, or -1 when out of memory. */
int frame_reader_reserve(struct frame_reader *reader, size_t want_bytes, uint8_t **space,
                         size_t *space_bytes);

/* Record that `bytes` bytes were written into the space reserve returned. */
void frame_reader_commit(struct frame_reader *reader, size_t bytes);

enum frame_next_result {
    FRAME_NEED_MORE = 0,  /* no whole frame yet */
    FRAME_READY = 1,      /* *payload and *payload_bytes describe the next frame */
    FRAME_TOO_LARGE = -1, /* the next frame's length exceeds frame_bytes_max: stop reading */
};

/* Look at the next whole frame without consuming it. The payload stays valid until the next
 * call of frame_reader_consume, reserve or free. */
enum frame_next_result frame_reader_next(const struct frame_reader *reader,
                                         const uint8_t **payload, uint32_t *payload_bytes);

/* Drop the frame frame_reader_next just returned. */
void frame_reader_consume(struct frame_reader *reader);

#endif
