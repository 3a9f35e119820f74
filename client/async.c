/* async.c -- many requests in flight on one connection: queued frames, replies read as they
 * come, callbacks in request order (famledger.h, "Pipelining and batches").
 *
 * The daemon answers a connection's requests in the order it read them, so the requests in
 * flight are a queue: each reply must answer the oldest, and a reply that does not is a
 * connection out of step, answered like a lost one.
 */
#include "client_internal.h"

#include "frame.h"
#include "wire_text.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Replies larger than this are refused: no daemon answer comes near it. */
#define ASYNC_REPLY_BYTES_MAX (64u << 20)
#define ASYNC_READ_BYTES (64u << 10)

struct client_flight {
    uint64_t request_id;
    size_t items;           /* a batch's items; 0 for a lone request */
    fl_result_cb done_cb;
    void *context;
};

/* Grow *buffer to hold `needed` bytes. 0 or -1. */
static int async_reserve(uint8_t **buffer, size_t *capacity, size_t needed)
{
    if (needed <= *capacity)
        return 0;
    size_t grown = *capacity ? *capacity : 4096;
    while (grown < needed)
        grown *= 2;
    uint8_t *bigger = realloc(*buffer, grown);
    if (!bigger)
        return -1;
    *buffer = bigger;
    *capacity = grown;
    return 0;
}

static struct client_async *async_state(fl_client *client)
{
    if (!client->async) {
        client->async = calloc(1, sizeof(*client->async));
        if (client->async && !(client->async->settlement = malloc(sizeof(fl_settlement)))) {
            free(client->async);
            client->async = NULL;
        }
    }
    return client->async;
}

static struct client_flight *async_flight(struct client_async *async, size_t nth)
{
    return &async->flights[(async->flight_first + nth) % async->flight_capacity];
}

static int async_flight_push(struct client_async *async, struct client_flight flight)
{
    if (async->in_flight == async->flight_capacity) {
        size_t capacity = async->flight_capacity ? async->flight_capacity * 2 : 64;
        struct client_flight *flights = malloc(capacity * sizeof(*flights));
        if (!flights)
            return -1;
        for (size_t i = 0; i < async->in_flight; i++)
            flights[i] = *async_flight(async, i);
        free(async->flights);
        async->flights = flights;
        async->flight_capacity = capacity;
        async->flight_first = 0;
    }
    *async_flight(async, async->in_flight++) = flight;
    return 0;
}

static struct client_flight async_flight_pop(struct client_async *async)
{
    struct client_flight flight = *async_flight(async, 0);
    async->flight_first = (async->flight_first + 1) % async->flight_capacity;
    async->in_flight--;
    return flight;
}

/* Answer every item of `flight` with `status`. */
static void async_answer_all(const struct client_flight *flight, int status, const char *error)
{
    fl_result result = {.status = status, .error = error};
    size_t items = flight->items ? flight->items : 1;
    for (size_t i = 0; i < items; i++)
        flight->done_cb(flight->context, i, &result);
}

/* The connection is lost or out of step: every request in flight is in doubt. */
static int async_fail(fl_client *client, int rc, const char *what)
{
    client_transport_fail(client, rc, what);
    struct client_async *async = client->async;
    async->out_bytes = async->out_sent = 0;
    async->in_bytes = 0;
    while (async->in_flight > 0) {
        struct client_flight flight = async_flight_pop(async);
        async_answer_all(&flight, rc, client->error);
    }
    return rc;
}

void client_async_close(fl_client *client)
{
    struct client_async *async = client->async;
    if (async && async->in_flight > 0)
        async_fail(client, FL_ERR_PROTOCOL_ERROR, "closing the client");
    client_async_forget(client);
}

void client_async_forget(fl_client *client)
{
    struct client_async *async = client->async;
    if (!async)
        return;
    free(async->out);
    free(async->in);
    free(async->flights);
    free(async->settlement);
    free(async);
    client->async = NULL;
}

/* Queue `request` as a frame; its reply goes to done_cb. */
static int async_send(fl_client *client, Famledger__Request *request, size_t items,
                      fl_result_cb done_cb, void *context)
{
    client->error[0] = '\0';
    int rc = client_fork_check(client);
    if (rc)
        return rc;
    if (client->fd < 0 || client->broken)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "the connection is no longer usable");
    rc = client_request_check(client, request);
    if (rc)
        return rc;
    struct client_async *async = async_state(client);
    if (!async)
        return client_fail(client, FL_ERR_UNAVAILABLE, "out of memory");
    size_t bytes = client_frame_prepare(client, request);
    rc = async_reserve(&async->out, &async->out_capacity, async->out_bytes + bytes);
    if (rc == 0)
        rc = async_flight_push(async, (struct client_flight){request->request_id, items,
                                                             done_cb, context});
    if (rc)
        return client_fail(client, FL_ERR_UNAVAILABLE, "out of memory");
    /* Packed where it waits to be written: no copy. */
    client_frame_write(request, async->out + async->out_bytes);
    async->out_bytes += bytes;
    /* Start writing at once: the daemon starts on it while the caller queues more. A failure
     * here has already answered the request through done_cb. */
    fl_async_io(client);
    return 0;
}

/* The id a reply names: the settlement, the credit's entry, the registration. */
static uint64_t async_result_id(const Famledger__Response *response)
{
    switch (response->body_case) {
    case FAMLEDGER__RESPONSE__BODY_SETTLEMENT:
        return response->settlement->settlement ? response->settlement->settlement->settlement_id
                                                : 0;
    case FAMLEDGER__RESPONSE__BODY_CREDIT:
        return response->credit->seq;
    case FAMLEDGER__RESPONSE__BODY_PERSON:
        return response->person->person ? response->person->person->registered_seq : 0;
    case FAMLEDGER__RESPONSE__BODY_ACCOUNT:
        return response->account->account ? response->account->account->opened_seq : 0;
    case FAMLEDGER__RESPONSE__BODY_BINDING:
        return response->binding->binding ? response->binding->binding->bound_seq : 0;
    case FAMLEDGER__RESPONSE__BODY_REFUND:
        return response->refund->refund ? response->refund->refund->refund_id : 0;
    default:
        return 0;
    }
}

static void async_answer_one(fl_client *client, const struct client_flight *flight, size_t index,
                             const Famledger__Response *response)
{
    fl_result result = {.status = -(int)response->status,
                        .error = response->error ? response->error : "",
                        .replayed = response->replayed};
    struct client_async *async = client->async;
    if (result.status == 0) {
        result.id = async_result_id(response);
        if (response->body_case == FAMLEDGER__RESPONSE__BODY_SETTLEMENT &&
            response->settlement->settlement) {
            client_settlement_copy(async->settlement, response->settlement->settlement,
                                   response->replayed);
            result.settlement = async->settlement;
        }
        /* A refund shows what it gave back and the settlement as it now stands. */
        if (response->body_case == FAMLEDGER__RESPONSE__BODY_REFUND && response->refund->refund) {
            client_refund_copy(&async->refund, response->refund->refund, response->replayed);
            result.refund = &async->refund;
            if (response->refund->settlement) {
                client_settlement_copy(async->settlement, response->refund->settlement, false);
                result.settlement = async->settlement;
            }
        }
    }
    flight->done_cb(flight->context, index, &result);
}

/* A whole reply has been read: it answers the oldest request in flight. */
static int async_deliver(fl_client *client, const uint8_t *payload, size_t bytes)
{
    struct client_async *async = client->async;
    Famledger__Response *response = famledger__response__unpack(NULL, bytes, payload);
    if (!response)
        return async_fail(client, FL_ERR_PROTOCOL_ERROR, "reading a reply");
    struct client_flight oldest = *async_flight(async, 0);
    int status = -(int)response->status;
    if (response->request_id != oldest.request_id) {
        /* Request id 0 answers the connection (BUSY, a frame it could not read): the daemon
         * closes it after saying why. */
        int rc = response->request_id == 0 && status ? status : FL_ERR_PROTOCOL_ERROR;
        client_fail(client, rc, "%s", response->error && *response->error ? response->error
                                                                          : "a reply out of order");
        famledger__response__free_unpacked(response, NULL);
        return async_fail(client, rc, "reading the replies");
    }
    async_flight_pop(async);
    if (!oldest.items) {
        async_answer_one(client, &oldest, 0, response);
    } else if (status || response->body_case != FAMLEDGER__RESPONSE__BODY_BATCH ||
               response->batch->n_replies != oldest.items) {
        /* Refused as a whole (or a reply that does not fit it): each item says so. */
        async_answer_all(&oldest, status ? status : FL_ERR_PROTOCOL_ERROR,
                         response->error && *response->error ? response->error
                                                             : "the batch was answered wrongly");
    } else {
        for (size_t i = 0; i < oldest.items; i++)
            async_answer_one(client, &oldest, i, response->batch->replies[i]);
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

/* Make replies of the bytes read; keep a partial frame for later. */
static int async_parse(fl_client *client)
{
    struct client_async *async = client->async;
    size_t used = 0;
    while (async->in_bytes - used >= FRAME_HEADER_BYTES) {
        uint32_t bytes = frame_header_decode(async->in + used);
        if (bytes > ASYNC_REPLY_BYTES_MAX)
            return async_fail(client, FL_ERR_PROTOCOL_ERROR, "reading an oversized reply");
        if (async->in_bytes - used - FRAME_HEADER_BYTES < bytes)
            break;
        if (async->in_flight == 0)
            return async_fail(client, FL_ERR_PROTOCOL_ERROR, "reading a reply nobody asked for");
        int rc = async_deliver(client, async->in + used + FRAME_HEADER_BYTES, bytes);
        if (rc)
            return rc;
        used += FRAME_HEADER_BYTES + bytes;
    }
    memmove(async->in, async->in + used, async->in_bytes - used);
    async->in_bytes -= used;
    return 0;
}

int fl_async_io(fl_client *client)
{
    int rc = client_fork_check(client);
    if (rc)
        return rc;
    struct client_async *async = client->async;
    if (!async)
        return 0;
    if (client->broken)
        return async->in_flight ? async_fail(client, FL_ERR_PROTOCOL_ERROR, "sending")
                                : FL_ERR_PROTOCOL_ERROR;
    while (async->out_sent < async->out_bytes) {
        ssize_t written = send(client->fd, async->out + async->out_sent,
                               async->out_bytes - async->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written > 0) {
            async->out_sent += (size_t)written;
        } else if (written < 0 && errno == EINTR) {
            continue;
        } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            /* The daemon may have said why it closed (BUSY): read that first. */
            async->out_bytes = async->out_sent = 0;
            break;
        }
    }
    if (async->out_sent == async->out_bytes)
        async->out_bytes = async->out_sent = 0;
    for (;;) {
        if (async_reserve(&async->in, &async->in_capacity, async->in_bytes + ASYNC_READ_BYTES))
            return async_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
        ssize_t got = recv(client->fd, async->in + async->in_bytes, ASYNC_READ_BYTES,
                           MSG_DONTWAIT);
        if (got > 0) {
            async->in_bytes += (size_t)got;
            if ((rc = async_parse(client)) != 0)
                return rc;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        /* 0: the daemon closed the connection. */
        if (async->in_flight > 0)
            return async_fail(client, FL_ERR_PROTOCOL_ERROR, "waiting for the replies");
        client->broken = true;
        return 0;
    }
}

int fl_async_wait(fl_client *client, size_t in_flight_max)
{
    int rc = client_fork_check(client);
    if (rc)
        return rc;
    struct client_async *async = client->async;
    if (!async)
        return 0;
    int64_t deadline_ms = monotonic_ms() + client->timeout_ms;
    while (async->in_flight > in_flight_max) {
        size_t before = async->in_flight;
        if ((rc = fl_async_io(client)) != 0)
            return rc;
        if (async->in_flight <= in_flight_max)
            break;
        if (async->in_flight < before)
            deadline_ms = monotonic_ms() + client->timeout_ms;
        int64_t left_ms = deadline_ms - monotonic_ms();
        if (left_ms <= 0)
            return async_fail(client, FL_ERR_TIMEOUT, "waiting for the replies");
        struct pollfd poll_fd = {.fd = client->fd,
                                 .events = POLLIN | (fl_async_wants_write(client) ? POLLOUT : 0)};
        if (poll(&poll_fd, 1, left_ms > 1000 ? 1000 : (int)left_ms) < 0 && errno != EINTR)
            return async_fail(client, FL_ERR_PROTOCOL_ERROR, "waiting for the replies");
    }
    return 0;
}

int fl_client_fd(const fl_client *client)
{
    return client->fd;
}

size_t fl_in_flight(const fl_client *client)
{
    return client->async ? client->async->in_flight : 0;
}

bool fl_async_wants_write(const fl_client *client)
{
    return client->async && client->async->out_sent < client->async->out_bytes;
}

/* ---- Requests ---- */

static void settle_fill(Famledger__SettleRequest *settle, const fl_settle_request *in)
{
    famledger__settle_request__init(settle);
    settle->merchant_code = (char *)in->merchant_code;
    settle->merchant_reference = (char *)in->merchant_reference;
    settle->patient = (char *)in->patient;
    settle->amount_fen = in->amount_fen;
    settle->category = (Famledger__Category)in->category;
    settle->no_account = in->no_account;
    settle->all_or_nothing = in->all_or_nothing;
    settle->hold_id = in->hold_id;
}

int fl_send_settle(fl_client *client, const fl_settle_request *request, fl_result_cb done_cb,
                   void *context)
{
    Famledger__SettleRequest settle;
    settle_fill(&settle, request);
    Famledger__Request frame = FAMLEDGER__REQUEST__INIT;
    frame.body_case = FAMLEDGER__REQUEST__BODY_SETTLE;
    frame.settle = &settle;
    return async_send(client, &frame, 0, done_cb, context);
}

static void refund_fill(Famledger__RefundRequest *refund, const char *merchant_code,
                        const char *reference, uint64_t settlement_id, int64_t amount_fen)
{
    famledger__refund_request__init(refund);
    refund->merchant_code = (char *)merchant_code;
    refund->merchant_reference = (char *)reference;
    refund->settlement_id = settlement_id;
    refund->amount_fen = amount_fen;
}

/* A refund or, with `cancel`, a cancel (whose amount is what is left): they share a body. */
static int send_refund(fl_client *client, bool cancel, const char *merchant_code,
                       const char *reference, uint64_t settlement_id, int64_t amount_fen,
                       fl_result_cb done_cb, void *context)
{
    Famledger__RefundRequest refund;
    refund_fill(&refund, merchant_code, reference, settlement_id, amount_fen);
    Famledger__Request frame = FAMLEDGER__REQUEST__INIT;
    frame.body_case = cancel ? FAMLEDGER__REQUEST__BODY_CANCEL : FAMLEDGER__REQUEST__BODY_REFUND;
    frame.refund = &refund;
    return async_send(client, &frame, 0, done_cb, context);
}

int fl_send_refund(fl_client *client, const char *merchant_code, const char *reference,
                   uint64_t settlement_id, int64_t amount_fen, fl_result_cb done_cb,
                   void *context)
{
    return send_refund(client, false, merchant_code, reference, settlement_id, amount_fen,
                       done_cb, context);
}

int fl_send_cancel(fl_client *client, const char *merchant_code, const char *reference,
                   uint64_t settlement_id, fl_result_cb done_cb, void *context)
{
    return send_refund(client, true, merchant_code, reference, settlement_id, 0, done_cb,
                       context);
}

/* A batch owns copies of everything its items point to, in blocks that fl_batch_clear keeps. */
struct batch_block {
    struct batch_block *next;
    size_t used, size;
    max_align_t data[];
};

struct fl_batch {
    Famledger__Request *items[FL_BATCH_MAX];
    size_t count;
    bool text_refused; /* the item being built has a string no frame may carry */
    struct batch_block *blocks; /* the newest first */
};

static void *batch_alloc(fl_batch *batch, size_t bytes)
{
    bytes = (bytes + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct batch_block *block = batch->blocks;
    while (block && block->used + bytes > block->size)
        block = block->next;
    if (!block) {
        size_t size = bytes > 65536 ? bytes : 65536;
        block = malloc(sizeof(*block) + size);
        if (!block)
            return NULL;
        *block = (struct batch_block){.next = batch->blocks, .size = size};
        batch->blocks = block;
    }
    void *memory = (char *)block->data + block->used;
    block->used += bytes;
    memset(memory, 0, bytes);
    return memory;
}

/* A copy of `text` in the batch's memory; NULL when out of memory, or when no frame may carry
 * `text` (then text_refused is set): such an item is refused alone, not the whole batch. */
static char *batch_strdup(fl_batch *batch, const char *text)
{
    if (!wire_text_fits(text)) {
        batch->text_refused = true;
        return NULL;
    }
    size_t bytes = strlen(text ? text : "") + 1;
    char *copy = batch_alloc(batch, bytes);
    if (copy)
        memcpy(copy, text ? text : "", bytes);
    return copy;
}

fl_batch *fl_batch_new(void)
{
    return calloc(1, sizeof(fl_batch));
}

void fl_batch_clear(fl_batch *batch)
{
    batch->count = 0;
    for (struct batch_block *block = batch->blocks; block; block = block->next)
        block->used = 0;
}

void fl_batch_free(fl_batch *batch)
{
    if (!batch)
        return;
    while (batch->blocks) {
        struct batch_block *next = batch->blocks->next;
        free(batch->blocks);
        batch->blocks = next;
    }
    free(batch);
}

size_t fl_batch_count(const fl_batch *batch)
{
    return batch->count;
}

/* A new item with a body of `body_bytes`; NULL when full or out of memory (*rc says which). */
static Famledger__Request *batch_item(fl_batch *batch, Famledger__Request__BodyCase body_case,
                                      size_t body_bytes, void **body, int *rc)
{
    *rc = FL_ERR_INVALID_ARGUMENT;
    if (batch->count >= FL_BATCH_MAX)
        return NULL;
    *rc = FL_ERR_UNAVAILABLE;
    Famledger__Request *item = batch_alloc(batch, sizeof(*item));
    *body = batch_alloc(batch, body_bytes);
    if (!item || !*body)
        return NULL;
    famledger__request__init(item);
    item->body_case = body_case;
    *rc = 0;
    return item;
}

static int batch_push(fl_batch *batch, Famledger__Request *item, bool copied)
{
    bool refused = batch->text_refused;
    batch->text_refused = false;
    if (!copied)
        return refused ? FL_ERR_INVALID_ARGUMENT : FL_ERR_UNAVAILABLE;
    item->request_id = batch->count + 1;
    batch->items[batch->count++] = item;
    return 0;
}

int fl_batch_settle(fl_batch *batch, const fl_settle_request *request)
{
    int rc;
    void *body;
    Famledger__Request *item = batch_item(batch, FAMLEDGER__REQUEST__BODY_SETTLE,
                                          sizeof(Famledger__SettleRequest), &body, &rc);
    if (!item)
        return rc;
    Famledger__SettleRequest *settle = body;
    settle_fill(settle, request);
    settle->merchant_code = batch_strdup(batch, request->merchant_code);
    settle->merchant_reference = batch_strdup(batch, request->merchant_reference);
    settle->patient = batch_strdup(batch, request->patient);
    item->settle = settle;
    return batch_push(batch, item, settle->merchant_code && settle->merchant_reference &&
                                       settle->patient);
}

static int batch_refund(fl_batch *batch, bool cancel, const char *merchant_code,
                        const char *reference, uint64_t settlement_id, int64_t amount_fen)
{
    int rc;
    void *body;
    Famledger__Request *item = batch_item(
        batch, cancel ? FAMLEDGER__REQUEST__BODY_CANCEL : FAMLEDGER__REQUEST__BODY_REFUND,
        sizeof(Famledger__RefundRequest), &body, &rc);
    if (!item)
        return rc;
    Famledger__RefundRequest *refund = body;
    refund_fill(refund, batch_strdup(batch, merchant_code), batch_strdup(batch, reference),
                settlement_id, amount_fen);
    item->refund = refund; /* cancel and refund share the oneof's storage */
    return batch_push(batch, item, refund->merchant_code && refund->merchant_reference);
}

int fl_batch_refund(fl_batch *batch, const char *merchant_code, const char *reference,
                    uint64_t settlement_id, int64_t amount_fen)
{
    return batch_refund(batch, false, merchant_code, reference, settlement_id, amount_fen);
}

int fl_batch_cancel(fl_batch *batch, const char *merchant_code, const char *reference,
                    uint64_t settlement_id)
{
    return batch_refund(batch, true, merchant_code, reference, settlement_id, 0);
}

int fl_batch_person_add(fl_batch *batch, const fl_person *person)
{
    int rc;
    void *body;
    Famledger__Request *item = batch_item(batch, FAMLEDGER__REQUEST__BODY_PERSON_ADD,
                                          sizeof(Famledger__PersonAddRequest), &body, &rc);
    if (!item)
        return rc;
    Famledger__PersonAddRequest *add = body;
    famledger__person_add_request__init(add);
    add->person_no = batch_strdup(batch, person->person_no);
    add->name = batch_strdup(batch, person->name);
    add->region = batch_strdup(batch, person->region);
    add->scheme = (Famledger__Scheme)person->scheme;
    item->person_add = add;
    return batch_push(batch, item, add->person_no && add->name && add->region);
}

int fl_batch_account_open(fl_batch *batch, const char *person_no)
{
    int rc;
    void *body;
    Famledger__Request *item = batch_item(batch, FAMLEDGER__REQUEST__BODY_ACCOUNT_OPEN,
                                          sizeof(Famledger__AccountOpenRequest), &body, &rc);
    if (!item)
        return rc;
    Famledger__AccountOpenRequest *open = body;
    famledger__account_open_request__init(open);
    open->person_no = batch_strdup(batch, person_no);
    item->account_open = open;
    return batch_push(batch, item, open->person_no != NULL);
}

int fl_batch_credit(fl_batch *batch, const char *person_no, int64_t amount_fen,
                    fl_credit_kind kind, const char *reference)
{
    int rc;
    void *body;
    Famledger__Request *item = batch_item(batch, FAMLEDGER__REQUEST__BODY_CREDIT,
                                          sizeof(Famledger__CreditRequest), &body, &rc);
    if (!item)
        return rc;
    Famledger__CreditRequest *credit = body;
    famledger__credit_request__init(credit);
    credit->person_no = batch_strdup(batch, person_no);
    credit->amount_fen = amount_fen;
    credit->kind = (Famledger__CreditKind)kind;
    credit->reference = batch_strdup(batch, reference);
    item->credit = credit;
    return batch_push(batch, item, credit->person_no && credit->reference);
}

int fl_batch_bind(fl_batch *batch, const char *holder, const char *beneficiary,
                  fl_relation relation)
{
    int rc;
    void *body;
    Famledger__Request *item = batch_item(batch, FAMLEDGER__REQUEST__BODY_BIND,
                                          sizeof(Famledger__BindRequest), &body, &rc);
    if (!item)
        return rc;
    Famledger__BindRequest *bind = body;
    famledger__bind_request__init(bind);
    bind->holder = batch_strdup(batch, holder);
    bind->beneficiary = batch_strdup(batch, beneficiary);
    bind->relation = (Famledger__Relation)relation;
    bind->evidence = (char *)"";
    item->bind = bind;
    return batch_push(batch, item, bind->holder && bind->beneficiary);
}

int fl_batch_migrate(fl_batch *batch, const fl_person *person, int64_t opening_balance_fen)
{
    int rc;
    void *body;
    Famledger__Request *item = batch_item(batch, FAMLEDGER__REQUEST__BODY_MIGRATE,
                                          sizeof(Famledger__MigrateRequest), &body, &rc);
    if (!item)
        return rc;
    Famledger__MigrateRequest *row = body;
    famledger__migrate_request__init(row);
    row->person_no = batch_strdup(batch, person->person_no);
    row->name = batch_strdup(batch, person->name);
    row->region = batch_strdup(batch, person->region);
    row->scheme = (Famledger__Scheme)person->scheme;
    row->opening_balance_fen = opening_balance_fen;
    item->migrate = row;
    return batch_push(batch, item, row->person_no && row->name && row->region);
}

int fl_send_batch(fl_client *client, const fl_batch *batch, fl_result_cb done_cb, void *context)
{
    if (batch->count == 0)
        return client_fail(client, FL_ERR_INVALID_ARGUMENT, "the batch is empty");
    Famledger__BatchRequest body = FAMLEDGER__BATCH_REQUEST__INIT;
    body.requests = (Famledger__Request **)batch->items;
    body.n_requests = batch->count;
    Famledger__Request frame = FAMLEDGER__REQUEST__INIT;
    frame.body_case = FAMLEDGER__REQUEST__BODY_BATCH;
    frame.batch = &body;
    return async_send(client, &frame, batch->count, done_cb, context);
}

int fl_batch_run(fl_client *client, const fl_batch *batch, fl_result_cb done_cb, void *context)
{
    int rc = fl_send_batch(client, batch, done_cb, context);
    return rc ? rc : fl_async_wait(client, 0);
}
