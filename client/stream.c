/* stream.c -- the change stream: every entry as it commits, checked link by link. */
#include "client_internal.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stream_state {
    fl_client *client;
    fl_stream_event *event;     /* large (a settlement): one per subscription, on the heap */
    uint64_t next_seq;
    uint8_t prev_hash[FL_HASH_BYTES];
    bool have_prev;             /* prev_hash is known (the stream started at 1, or has run) */
};

/* A record that fails its checks is the log as the daemon read it: damaged there, or altered on
 * the way. Subscribing again would meet it again, so it is FL_ERR_INTERNAL, as the daemon's own
 * readers answer damage, and not a transport error that a follower resumes after. */
static int stream_damaged(fl_client *client, uint64_t seq, const char *what)
{
    return client_fail(client, FL_ERR_INTERNAL, "stream record %llu %s: the log is damaged there "
                       "(ledgerctl verify names it)", (unsigned long long)seq, what);
}

/* One record: its hash is SHA-256(prev_hash || entry bytes), and it follows the last. */
static int stream_record(struct stream_state *state, const Famledger__LogRecord *record,
                         fl_stream_cb callback, void *context)
{
    fl_client *client = state->client;
    if (record->seq != state->next_seq || record->hash.len != FL_HASH_BYTES) {
        char due[48];
        snprintf(due, sizeof(due), "where %llu was due", (unsigned long long)state->next_seq);
        return stream_damaged(client, record->seq, due);
    }
    Famledger__Entry *entry =
        famledger__entry__unpack(NULL, record->entry_bytes.len, record->entry_bytes.data);
    if (!entry || entry->seq != record->seq || entry->prev_hash.len != FL_HASH_BYTES) {
        if (entry)
            famledger__entry__free_unpacked(entry, NULL);
        return stream_damaged(client, record->seq, "does not decode");
    }
    uint8_t computed[FL_HASH_BYTES];
    if (sha256_pair(entry->prev_hash.data, FL_HASH_BYTES, record->entry_bytes.data,
                    record->entry_bytes.len, computed) != 0) {
        famledger__entry__free_unpacked(entry, NULL);
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory hashing stream "
                           "record %llu", (unsigned long long)record->seq);
    }
    bool linked = !state->have_prev ||
                  memcmp(entry->prev_hash.data, state->prev_hash, FL_HASH_BYTES) == 0;
    if (memcmp(computed, record->hash.data, FL_HASH_BYTES) != 0 || !linked) {
        famledger__entry__free_unpacked(entry, NULL);
        return stream_damaged(client, record->seq, "does not match its hash or the one before");
    }
    fl_stream_event *event = state->event;
    memset(event, 0, sizeof(*event));
    int rc = client_entry_fill(client, &event->entry, entry, computed);
    if (rc == 0 && entry->body_case == FAMLEDGER__ENTRY__BODY_SETTLED &&
        entry->settled->settlement) {
        event->is_settlement = true;
        client_settlement_copy(&event->settlement, entry->settled->settlement, false);
        event->settlement.settlement_id = entry->seq;
    }
    famledger__entry__free_unpacked(entry, NULL);
    if (rc)
        return rc;
    memcpy(state->prev_hash, computed, FL_HASH_BYTES);
    state->have_prev = true;
    rc = callback(context, event);
    fl_entry_release(&event->entry);
    if (rc == 0) /* an entry whose callback stopped the stream is where to resume */
        state->next_seq++;
    return rc;
}

int fl_subscribe(fl_client *client, uint64_t from_seq, bool follow, fl_stream_cb callback,
                 void *context, uint64_t *next_seq)
{
    if (!callback)
        return client_fail(client, FL_ERR_INVALID_ARGUMENT, "fl_subscribe needs a callback");
    struct stream_state state = {.client = client, .next_seq = from_seq ? from_seq : 1};
    state.have_prev = state.next_seq == 1; /* the first entry follows 32 zero bytes */
    if (next_seq)
        *next_seq = state.next_seq;
    state.event = malloc(sizeof(*state.event));
    if (!state.event)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
    Famledger__SubscribeRequest body = FAMLEDGER__SUBSCRIBE_REQUEST__INIT;
    body.from_seq = state.next_seq;
    body.follow = follow;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_SUBSCRIBE;
    request.subscribe = &body;
    int rc = client_stream_start(client, &request);
    bool end = false;
    while (rc == 0 && !end) {
        Famledger__Response *response;
        rc = client_stream_receive(client, request.request_id, follow, &response);
        if (rc)
            break;
        if (response->body_case != FAMLEDGER__RESPONSE__BODY_STREAM) {
            famledger__response__free_unpacked(response, NULL);
            rc = client_fail(client, FL_ERR_PROTOCOL_ERROR, "a stream frame without records");
            break;
        }
        const Famledger__StreamReply *frame = response->stream;
        for (size_t i = 0; rc == 0 && i < frame->n_records; i++)
            rc = stream_record(&state, frame->records[i], callback, context);
        end = frame->end;
        famledger__response__free_unpacked(response, NULL);
        if (next_seq)
            *next_seq = state.next_seq;
    }
    free(state.event);
    return rc;
}
