/* client_internal.h -- what the client library's files share; not installed. */
#ifndef FAMLEDGER_CLIENT_INTERNAL_H
#define FAMLEDGER_CLIENT_INTERNAL_H

#include "famledger.h"
#include "famledger.pb-c.h"
#include "scratch.h"

#include <sys/types.h>

struct client_async; /* async.c: the requests in flight and their buffers */

struct fl_client {
    int fd;
    pid_t pid; /* the process that opened fd: a child after fork() opens its own */
    int timeout_ms;
    char socket_path[108];
    uint64_t next_request_id;
    bool broken; /* the stream lost its framing: every later call fails */
    char operator_id[FL_OPERATOR_ID_MAX + 1];
    char error[512];
    struct client_async *async; /* NULL until the first fl_send_* */
    struct scratch *replies;    /* set: replies are unpacked here, each gone at the next
                                 * (client_response_free); NULL: malloc */
    uint8_t *reply;             /* the last reply's bytes: kept, so a stream of large replies
                                 * (verify's pages) reuses one buffer */
    size_t reply_capacity;
};

struct client_async {
    size_t in_flight;
    /* Frames queued and not yet written. */
    uint8_t *out;
    size_t out_bytes, out_sent, out_capacity;
    /* Bytes read and not yet made into replies. */
    uint8_t *in;
    size_t in_bytes, in_capacity;
    /* The requests in flight, oldest first (a ring). */
    struct client_flight *flights;
    size_t flight_first, flight_capacity;
    fl_settlement *settlement; /* what a callback is shown (it is large: kept, not on a stack) */
    fl_refund refund;          /* a refund or cancel a callback is shown */
};

/* Free the async state; every request still in flight is answered with FL_ERR_PROTOCOL_ERROR. */
void client_async_close(fl_client *client);
/* Free the async state without a callback: in a child after fork(), whose requests in flight
 * are the parent's. */
void client_async_forget(fl_client *client);

/* Before anything of a handle runs: in a child after fork(), give up the parent's connection
 * and its requests in flight, and connect anew. Returns 0, or why it could not connect. */
int client_fork_check(fl_client *client);

/* 0, or FL_ERR_INVALID_ARGUMENT (with the field named) when a string of `request` is not text
 * a frame may carry (wire_text.h): the daemon would refuse the whole frame. */
int client_request_check(fl_client *client, const Famledger__Request *request);
/* Give `request` the next request id and the operator; returns the bytes of its frame. */
size_t client_frame_prepare(fl_client *client, Famledger__Request *request);
/* Pack a prepared request as a frame at `frame`, which holds the bytes client_frame_prepare
 * gave. */
void client_frame_write(const Famledger__Request *request, uint8_t *frame);

/* The connection is lost or out of step: every later call fails. Returns rc. */
int client_transport_fail(fl_client *client, int rc, const char *what);

int64_t monotonic_ms(void);

/* Record a message for fl_client_error; returns `status`. */
int client_fail(fl_client *client, int status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Send `request` and wait for its reply. Returns 0 with *response (free it with
 * famledger__response__free_unpacked), or the reply's status / a transport error. */
int client_call(fl_client *client, Famledger__Request *request, Famledger__Response **response);
/* client_call in two halves, for a caller that asks for its next page before it reads the last
 * one (verify): send on a connection already in use (no reconnecting, no async requests in
 * flight), then read the reply to `request_id`. Replies come in the order of the requests. */
int client_call_send(fl_client *client, Famledger__Request *request, uint64_t *request_id);
int client_call_receive(fl_client *client, uint64_t request_id, Famledger__Response **response);
/* Free a reply that client_call or client_call_receive gave (nothing to do when the client
 * unpacks into its scratch: the next reply takes it back). */
void client_response_free(fl_client *client, Famledger__Response *response);

/* Whether a reply of a kind that carries one record (PersonReply's person, ...) carries it. */
bool client_reply_has_record(const Famledger__Response *response);

/* Send a request that opens a stream of replies (SubscribeRequest); the connection is used
 * up by it. 0 or a transport error. */
int client_stream_start(fl_client *client, Famledger__Request *request);

/* The next frame of the stream answering `request_id`, waiting without limit when
 * `wait_forever`, else within the client's timeout. 0 with *response, its status, or a
 * transport error. */
int client_stream_receive(fl_client *client, uint64_t request_id, bool wait_forever,
                          Famledger__Response **response);

/* Check the reply's body; on a mismatch frees it and returns FL_ERR_PROTOCOL_ERROR. */
int client_expect(fl_client *client, Famledger__Response *response,
                  Famledger__Response__BodyCase body_case);

/* client_call, then client_expect `reply_case`. */
int client_call_expect(fl_client *client, Famledger__Request *request,
                       Famledger__Response__BodyCase reply_case, Famledger__Response **response);

/* The same for a request that is only its body: `body_case` and `body`. */
int client_call_body(fl_client *client, Famledger__Request__BodyCase body_case, void *body,
                     Famledger__Response__BodyCase reply_case, Famledger__Response **response);

/* A page of an account's or a wallet's statement (`body_case`): the StatementRequest made and
 * sent, *count and *next_cursor zeroed for the caller to fill from *response. */
int client_statement_call(fl_client *client, Famledger__Request__BodyCase body_case,
                          const char *person_no, uint64_t cursor, bool oldest_first,
                          size_t lines_max, size_t *count, uint64_t *next_cursor,
                          Famledger__Response **response);

/* Copy a person reply into the public struct (out may be NULL). */
void client_person_copy(fl_person *out, const Famledger__Person *person);

/* Send a request (body_case, body) whose reply is a person, and copy it into *person (may be
 * NULL). */
int client_person_call(fl_client *client, Famledger__Request__BodyCase body_case, void *body,
                       fl_person *person);

void client_settlement_copy(fl_settlement *out, const Famledger__Settlement *settlement,
                            bool replayed);
void client_refund_copy(fl_refund *out, const Famledger__Refund *refund, bool replayed);

/* Fill *out from a decoded entry and its hash (body rendered as JSON and text). 0, or
 * FL_ERR_PROTOCOL_ERROR when out of memory. */
int client_entry_fill(fl_client *client, fl_entry *out, const Famledger__Entry *entry,
                      const uint8_t hash[FL_HASH_BYTES]);

/* Copy a string into a fixed field, truncating. */
void client_copy(char *field, size_t field_bytes, const char *text);

/* Render any message, through its descriptor, as a JSON object or "name: value" lines (fields
 * ending in _fen as yuan). Returns a malloc'd string, or NULL when out of memory. */
char *render_message(const ProtobufCMessage *message, bool json);

#endif
