/* stream.c -- the change stream's frames, read from the log. */
#include "stream.h"

#include "famledger_status.h"
#include "fl_limits.h"
#include "frame.h"
#include "ledger.h"
#include "require.h"

#include <stdlib.h>
#include <string.h>

void stream_init(struct stream *stream, uint64_t request_id,
                 const Famledger__SubscribeRequest *subscribe)
{
    *stream = (struct stream){
        .request_id = request_id,
        .next_seq = subscribe->from_seq ? subscribe->from_seq : 1,
        .follow = subscribe->follow,
    };
}

bool stream_behind_head(const struct stream *stream)
{
    return !stream->ended && stream->next_seq <= stream->head_seq;
}

/* The records of one frame, pointing into the read transaction's pages. */
struct stream_page {
    Famledger__LogRecord records[STREAM_FRAME_RECORDS_MAX];
    Famledger__LogRecord *pointers[STREAM_FRAME_RECORDS_MAX];
    size_t count;
    size_t bytes;
    bool damaged;
};

static int stream_visit_cb(void *context, struct store_bytes key, struct store_bytes value)
{
    struct stream_page *page = context;
    if (key.size != 8 || value.size < HASH_BYTES) {
        page->damaged = true;
        return 1;
    }
    Famledger__LogRecord *record = &page->records[page->count];
    famledger__log_record__init(record);
    record->seq = store_u64_decode(key.data);
    record->hash.data = (uint8_t *)value.data;
    record->hash.len = HASH_BYTES;
    record->entry_bytes.data = (uint8_t *)value.data + HASH_BYTES;
    record->entry_bytes.len = value.size - HASH_BYTES;
    page->pointers[page->count++] = record;
    page->bytes += value.size + 16;
    return page->bytes >= STREAM_FRAME_BYTES_MAX ? 1 : 0;
}

static int stream_pack(const Famledger__Response *response, uint8_t **frame,
                       size_t *frame_bytes)
{
    size_t bytes = famledger__response__get_packed_size(response);
    *frame = malloc(FRAME_HEADER_BYTES + bytes);
    if (!*frame)
        return -1;
    REQUIRE(famledger__response__pack(response, *frame + FRAME_HEADER_BYTES) == bytes);
    frame_header_encode(*frame, (uint32_t)bytes);
    *frame_bytes = FRAME_HEADER_BYTES + bytes;
    return 0;
}

int stream_frame_next(struct store *store, uint64_t durable_seq, struct stream *stream,
                      uint8_t **frame, size_t *frame_bytes)
{
    if (stream->ended)
        return 0;
    struct store_txn *txn;
    int rc = store_read_begin(store, &txn);
    if (rc)
        return rc;
    struct ledger_head head;
    static struct stream_page page; /* loop thread only */
    page.count = page.bytes = 0;
    page.damaged = false;
    rc = ledger_head_get(txn, &head);
    if (head.seq > durable_seq)
        head.seq = durable_seq; /* committed, but not yet on disk */
    if (rc == 0 && stream->next_seq <= head.seq) {
        uint8_t after[8];
        store_u64_encode(after, stream->next_seq - 1);
        rc = store_scan(txn, STORE_DB_LOG, after, sizeof(after), (struct store_bytes){0},
                        STREAM_FRAME_RECORDS_MAX, stream_visit_cb, &page);
        rc = rc < 0 ? rc : 0;
        while (page.count && page.records[page.count - 1].seq > head.seq)
            page.count--;
    }
    if (rc == 0 && (page.damaged || (page.count && page.records[0].seq != stream->next_seq)))
        rc = FL_ERR_INTERNAL;
    stream->head_seq = head.seq;
    bool at_end = !stream->follow && stream->next_seq + page.count > head.seq;
    if (rc || (page.count == 0 && !at_end)) {
        store_read_end(txn);
        return rc;
    }
    Famledger__StreamReply reply = FAMLEDGER__STREAM_REPLY__INIT;
    reply.records = page.pointers;
    reply.n_records = page.count;
    reply.head_seq = head.seq;
    reply.end = at_end;
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    response.request_id = stream->request_id;
    response.body_case = FAMLEDGER__RESPONSE__BODY_STREAM;
    response.stream = &reply;
    rc = stream_pack(&response, frame, frame_bytes) ? FL_ERR_INTERNAL : 1;
    store_read_end(txn);
    if (rc == 1) {
        stream->next_seq += page.count;
        stream->ended = at_end;
    }
    return rc;
}

int stream_frame_status(struct stream *stream, int status, const char *message, uint8_t **frame,
                        size_t *frame_bytes)
{
    REQUIRE(status < 0);
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    response.request_id = stream->request_id;
    response.status = (Famledger__Status)-status;
    response.error = (char *)message;
    stream->ended = true;
    return stream_pack(&response, frame, frame_bytes);
}
