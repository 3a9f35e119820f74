/* frame.c -- length-prefixed framing shared by daemon and clients. */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

void frame_header_encode(uint8_t header[FRAME_HEADER_BYTES], uint32_t payload_bytes)
{
    header[0] = (uint8_t)(payload_bytes >> 24);
    header[1] = (uint8_t)(payload_bytes >> 16);
    header[2] = (uint8_t)(payload_bytes >> 8);
    header[3] = (uint8_t)payload_bytes;
}

uint32_t frame_header_decode(const uint8_t header[FRAME_HEADER_BYTES])
{
    return (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 |
           (uint32_t)header[3];
}

void frame_reader_init(struct frame_reader *reader, uint32_t frame_bytes_max)
{
    memset(reader, 0, sizeof(*reader));
    reader->frame_bytes_max = frame_bytes_max;
}

void frame_reader_free(struct frame_reader *reader)
{
    free(reader->buffer);
    frame_reader_init(reader, reader->frame_bytes_max);
}

int frame_reader_reserve(struct frame_reader *reader, size_t want_bytes, uint8_t **space,
                         size_t *space_bytes)
{
    /* Consumed frames are dropped here, once per read, rather than once per frame. */
    size_t pending_bytes = reader->end_bytes - reader->start_bytes;
    if (reader->start_bytes > 0) {
        memmove(reader->buffer, reader->buffer + reader->start_bytes, pending_bytes);
        reader->start_bytes = 0;
        reader->end_bytes = pending_bytes;
    }
    /* Never buffer more than one maximal frame: a peer that sends faster than we parse is held
     * back by the kernel, not by our memory. */
    size_t limit_bytes = (size_t)reader->frame_bytes_max + FRAME_HEADER_BYTES;
    size_t need_bytes = pending_bytes + want_bytes;
    if (need_bytes > limit_bytes)
        need_bytes = limit_bytes > pending_bytes ? limit_bytes : pending_bytes + 1;
    if (need_bytes > reader->capacity_bytes) {
        size_t capacity_bytes = reader->capacity_bytes ? reader->capacity_bytes : 4096;
        while (capacity_bytes < need_bytes)
            capacity_bytes *= 2;
        if (capacity_bytes > limit_bytes && need_bytes <= limit_bytes)
            capacity_bytes = limit_bytes;
        uint8_t *buffer = realloc(reader->buffer, capacity_bytes);
        if (!buffer)
            return -1;
        reader->buffer = buffer;
        reader->capacity_bytes = capacity_bytes;
    }
    *space = reader->buffer + reader->end_bytes;
    *space_bytes = reader->capacity_bytes - reader->end_bytes;
    return 0;
}

void frame_reader_commit(struct frame_reader *reader, size_t bytes)
{
    reader->end_bytes += bytes;
}

enum frame_next_result frame_reader_next(const struct frame_reader *reader,
                                         const uint8_t **payload, uint32_t *payload_bytes)
{
    size_t pending_bytes = reader->end_bytes - reader->start_bytes;
    if (pending_bytes < FRAME_HEADER_BYTES)
        return FRAME_NEED_MORE;
    const uint8_t *header = reader->buffer + reader->start_bytes;
    uint32_t length = frame_header_decode(header);
    if (length > reader->frame_bytes_max)
        return FRAME_TOO_LARGE;
    if (pending_bytes - FRAME_HEADER_BYTES < length)
        return FRAME_NEED_MORE;
    *payload = header + FRAME_HEADER_BYTES;
    *payload_bytes = length;
    return FRAME_READY;
}

void frame_reader_consume(struct frame_reader *reader)
{
    const uint8_t *header = reader->buffer + reader->start_bytes;
    reader->start_bytes += FRAME_HEADER_BYTES + frame_header_decode(header);
}
