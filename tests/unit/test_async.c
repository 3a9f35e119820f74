/* test_async.c -- the client's pipelining against a daemon that misbehaves: replies out of order,
 * oversized, cut off, a batch answered short, silence. Every request in flight must be answered
 * exactly once, with the error, and the client must refuse more. And the change stream from
 * such a daemon, or through a proxy: an entry altered, left out or chained onto another is
 * never handed to the subscriber, and is FL_ERR_INTERNAL (damage), never a transport error
 * that a follower would resubscribe after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "famledger.h"
#include "famledger.pb-c.h"
#include "frame.h"
#include "sha256.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct fake {
    char dir[64], path[96];
    int listen_fd, fd;
    fl_client *client;
};

struct answers {
    size_t count;
    int status[16];
    size_t index[16];
};

static void answer_cb(void *context, size_t index, const fl_result *result)
{
    struct answers *answers = context;
    assert_true(answers->count < 16);
    answers->index[answers->count] = index;
    answers->status[answers->count++] = result->status;
}

/* A listening socket, a client connected to it (timeout 300 ms), and the accepted end. */
static struct fake *fake_open(void)
{
    struct fake *fake = calloc(1, sizeof(*fake));
    strcpy(fake->dir, "/tmp/famledger-async-XXXXXX");
    assert_non_null(mkdtemp(fake->dir));
    snprintf(fake->path, sizeof(fake->path), "%s/s.sock", fake->dir);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strcpy(address.sun_path, fake->path);
    fake->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fake->listen_fd, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_int_equal(listen(fake->listen_fd, 4), 0);
    assert_int_equal(fl_client_connect(fake->path, 300, &fake->client), 0);
    fake->fd = accept(fake->listen_fd, NULL, NULL);
    assert_true(fake->fd >= 0);
    return fake;
}

static void fake_close(struct fake *fake)
{
    fl_client_close(fake->client);
    if (fake->fd >= 0)
        close(fake->fd);
    close(fake->listen_fd);
    unlink(fake->path);
    rmdir(fake->dir);
    free(fake);
}

static void read_all(int fd, uint8_t *data, size_t bytes)
{
    while (bytes > 0) {
        ssize_t got = read(fd, data, bytes);
        assert_true(got > 0);
        data += got;
        bytes -= (size_t)got;
    }
}

/* The next request the client sent. */
static Famledger__Request *fake_read_request(struct fake *fake)
{
    uint8_t header[FRAME_HEADER_BYTES];
    read_all(fake->fd, header, sizeof(header));
    uint32_t bytes = frame_header_decode(header);
    uint8_t *payload = malloc(bytes ? bytes : 1);
    read_all(fake->fd, payload, bytes);
    Famledger__Request *request = famledger__request__unpack(NULL, bytes, payload);
    free(payload);
    assert_non_null(request);
    return request;
}

static void fake_reply(struct fake *fake, Famledger__Response *response)
{
    size_t bytes = famledger__response__get_packed_size(response);
    uint8_t *frame = malloc(FRAME_HEADER_BYTES + bytes);
    frame_header_encode(frame, (uint32_t)famledger__response__pack(response,
                                                                    frame + FRAME_HEADER_BYTES));
    assert_int_equal(write(fake->fd, frame, FRAME_HEADER_BYTES + bytes),
                     (ssize_t)(FRAME_HEADER_BYTES + bytes));
    free(frame);
}

static void send_settles(struct fake *fake, int count, struct answers *answers)
{
    for (int i = 0; i < count; i++) {
        fl_settle_request request = {.merchant_code = "M", .merchant_reference = "r",
                                     .patient = "P", .amount_fen = 1};
        assert_int_equal(fl_send_settle(fake->client, &request, answer_cb, answers), 0);
    }
    assert_int_equal(fl_in_flight(fake->client), (size_t)count);
}

/* Every request in flight was answered with `status`, once, and the client refuses more. */
static void assert_all_failed(struct fake *fake, struct answers *answers, size_t count)
{
    assert_int_equal(answers->count, count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(answers->status[i], FL_ERR_PROTOCOL_ERROR);
    assert_int_equal(fl_in_flight(fake->client), 0);
    fl_settle_request request = {.merchant_code = "M", .merchant_reference = "r",
                                 .patient = "P", .amount_fen = 1};
    assert_int_not_equal(fl_send_settle(fake->client, &request, answer_cb, answers), 0);
    assert_int_equal(answers->count, count); /* refused at once, no callback */
}

/* A blocking call's reply written before the call: the client's first request is number 1. */
static void fake_reply_ahead(struct fake *fake, uint64_t request_id,
                             Famledger__Response__BodyCase body_case, void *body)
{
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    response.request_id = request_id;
    response.body_case = body_case;
    response.person = body; /* every body member of the oneof shares one slot */
    fake_reply(fake, &response);
}

static void test_a_reply_without_its_record_is_a_protocol_error(void **state)
{
    (void)state;
    struct fake *fake = fake_open();
    /* A payout's reply without the payout: the library read through NULL before. */
    Famledger__PayoutReply no_payout = FAMLEDGER__PAYOUT_REPLY__INIT;
    fake_reply_ahead(fake, 1, FAMLEDGER__RESPONSE__BODY_PAYOUT, &no_payout);
    fl_payout payout;
    assert_int_equal(fl_payout_make(fake->client, "M", NULL, 100, "p1", &payout),
                     FL_ERR_PROTOCOL_ERROR);
    assert_non_null(strstr(fl_client_error(fake->client), "lacks its record"));
    famledger__request__free_unpacked(fake_read_request(fake), NULL);
    /* The same for a settlement found by its reference, and a person. */
    Famledger__SettlementReply no_settlement = FAMLEDGER__SETTLEMENT_REPLY__INIT;
    fake_reply_ahead(fake, 2, FAMLEDGER__RESPONSE__BODY_SETTLEMENT, &no_settlement);
    static fl_settlement settlement;
    assert_int_equal(fl_settlement_find(fake->client, "M", "r", &settlement),
                     FL_ERR_PROTOCOL_ERROR);
    famledger__request__free_unpacked(fake_read_request(fake), NULL);
    Famledger__PersonReply no_person = FAMLEDGER__PERSON_REPLY__INIT;
    fake_reply_ahead(fake, 3, FAMLEDGER__RESPONSE__BODY_PERSON, &no_person);
    fl_person person;
    assert_int_equal(fl_person_get(fake->client, "P", &person), FL_ERR_PROTOCOL_ERROR);
    famledger__request__free_unpacked(fake_read_request(fake), NULL);
    /* The framing is intact: a whole reply after them is taken. */
    Famledger__HeadReply head_reply = FAMLEDGER__HEAD_REPLY__INIT;
    head_reply.seq = 42;
    fake_reply_ahead(fake, 4, FAMLEDGER__RESPONSE__BODY_HEAD, &head_reply);
    fl_head head;
    assert_int_equal(fl_head_get(fake->client, &head), 0);
    assert_int_equal(head.seq, 42);
    famledger__request__free_unpacked(fake_read_request(fake), NULL);
    fake_close(fake);
}

static void test_a_reply_out_of_order_fails_every_request_in_flight(void **state)
{
    (void)state;
    struct fake *fake = fake_open();
    struct answers answers = {0};
    send_settles(fake, 3, &answers);
    Famledger__Request *first = fake_read_request(fake);
    Famledger__Request *second = fake_read_request(fake);
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    response.request_id = second->request_id; /* the second answered first */
    fake_reply(fake, &response);
    assert_int_equal(fl_async_wait(fake->client, 0), FL_ERR_PROTOCOL_ERROR);
    assert_all_failed(fake, &answers, 3);
    famledger__request__free_unpacked(first, NULL);
    famledger__request__free_unpacked(second, NULL);
    fake_close(fake);
}

static void test_an_answer_then_an_oversized_length(void **state)
{
    (void)state;
    struct fake *fake = fake_open();
    struct answers answers = {0};
    send_settles(fake, 2, &answers);
    Famledger__Request *first = fake_read_request(fake);
    Famledger__SettlementReply body = FAMLEDGER__SETTLEMENT_REPLY__INIT;
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    response.request_id = first->request_id;
    response.status = FAMLEDGER__STATUS__STATUS_INSUFFICIENT_FUNDS;
    response.body_case = FAMLEDGER__RESPONSE__BODY_SETTLEMENT;
    response.settlement = &body;
    fake_reply(fake, &response);
    uint8_t huge[FRAME_HEADER_BYTES];
    frame_header_encode(huge, UINT32_MAX);
    assert_int_equal(write(fake->fd, huge, sizeof(huge)), (ssize_t)sizeof(huge));
    assert_int_equal(fl_async_wait(fake->client, 0), FL_ERR_PROTOCOL_ERROR);
    /* The first had its answer; the second is in doubt. */
    assert_int_equal(answers.count, 2);
    assert_int_equal(answers.status[0], FL_ERR_INSUFFICIENT_FUNDS);
    assert_int_equal(answers.status[1], FL_ERR_PROTOCOL_ERROR);
    famledger__request__free_unpacked(first, NULL);
    fake_close(fake);
}

static void test_a_reply_cut_off_by_a_closed_connection(void **state)
{
    (void)state;
    struct fake *fake = fake_open();
    struct answers answers = {0};
    send_settles(fake, 2, &answers);
    uint8_t half[FRAME_HEADER_BYTES + 3];
    frame_header_encode(half, 100);
    memset(half + FRAME_HEADER_BYTES, 0x08, 3);
    assert_int_equal(write(fake->fd, half, sizeof(half)), (ssize_t)sizeof(half));
    close(fake->fd);
    fake->fd = -1;
    assert_int_equal(fl_async_wait(fake->client, 0), FL_ERR_PROTOCOL_ERROR);
    assert_all_failed(fake, &answers, 2);
    fake_close(fake);
}

static void test_a_batch_answered_short_fails_each_item(void **state)
{
    (void)state;
    struct fake *fake = fake_open();
    fl_batch *batch = fl_batch_new();
    fl_settle_request request = {.merchant_code = "M", .merchant_reference = "r",
                                 .patient = "P", .amount_fen = 1};
    for (int i = 0; i < 3; i++)
        assert_int_equal(fl_batch_settle(batch, &request), 0);
    struct answers answers = {0};
    assert_int_equal(fl_send_batch(fake->client, batch, answer_cb, &answers), 0);
    Famledger__Request *sent = fake_read_request(fake);
    assert_int_equal(sent->body_case, FAMLEDGER__REQUEST__BODY_BATCH);
    assert_int_equal(sent->batch->n_requests, 3);
    Famledger__Response item = FAMLEDGER__RESPONSE__INIT;
    Famledger__Response *items[] = {&item};
    Famledger__BatchReply body = FAMLEDGER__BATCH_REPLY__INIT;
    body.replies = items;
    body.n_replies = 1; /* one reply for three items */
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    response.request_id = sent->request_id;
    response.body_case = FAMLEDGER__RESPONSE__BODY_BATCH;
    response.batch = &body;
    fake_reply(fake, &response);
    assert_int_equal(fl_async_wait(fake->client, 0), 0);
    assert_int_equal(answers.count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(answers.index[i], i);
        assert_int_equal(answers.status[i], FL_ERR_PROTOCOL_ERROR);
    }
    famledger__request__free_unpacked(sent, NULL);
    fl_batch_free(batch);
    fake_close(fake);
}

static void test_a_silent_daemon_times_out_every_request(void **state)
{
    (void)state;
    struct fake *fake = fake_open();
    struct answers answers = {0};
    send_settles(fake, 2, &answers);
    assert_int_equal(fl_async_wait(fake->client, 0), FL_ERR_TIMEOUT);
    assert_int_equal(answers.count, 2);
    assert_int_equal(answers.status[0], FL_ERR_TIMEOUT);
    assert_int_equal(answers.status[1], FL_ERR_TIMEOUT);
    /* A blocking call on the broken client fails at once. */
    fl_head head;
    assert_int_not_equal(fl_head_get(fake->client, &head), 0);
    fake_close(fake);
}

static void test_a_batch_builder_holds_at_most_the_limit(void **state)
{
    (void)state;
    fl_batch *batch = fl_batch_new();
    for (int i = 0; i < FL_BATCH_MAX; i++)
        assert_int_equal(fl_batch_account_open(batch, "P"), 0);
    assert_int_equal(fl_batch_account_open(batch, "P"), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fl_batch_count(batch), FL_BATCH_MAX);
    fl_batch_clear(batch);
    assert_int_equal(fl_batch_count(batch), 0);
    assert_int_equal(fl_batch_credit(batch, "P", 5, FL_CREDIT_DEPOSIT, "ref"), 0);
    assert_int_equal(fl_batch_count(batch), 1);
    fl_batch_free(batch);
}

/* Text no frame may carry (not UTF-8, or past 1024 bytes) is refused by the call that was given
 * it, before anything is sent: the daemon would refuse the whole frame, and in a batch every
 * other item with it. The connection stays usable. */
static void test_text_no_frame_may_carry_is_refused_before_it_is_sent(void **state)
{
    (void)state;
    struct fake *fake = fake_open();
    char too_long[1026];
    memset(too_long, 'r', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    fl_batch *batch = fl_batch_new();
    fl_settle_request good = {.merchant_code = "M", .merchant_reference = "r1",
                              .patient = "P", .amount_fen = 1};
    fl_settle_request latin1 = good, long_reference = good;
    latin1.patient = "P\xe9";
    long_reference.merchant_reference = too_long;
    assert_int_equal(fl_batch_settle(batch, &latin1), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fl_batch_settle(batch, &long_reference), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fl_batch_refund(batch, "M", "\xff", 1, 1), FL_ERR_INVALID_ARGUMENT);
    fl_person person = {.person_no = "H1", .name = "\xd5\xc5\xc8\xfd", .region = "110101",
                        .scheme = FL_SCHEME_EMPLOYEE};
    assert_int_equal(fl_batch_migrate(batch, &person, 0), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fl_batch_count(batch), 0);
    assert_int_equal(fl_batch_settle(batch, &good), 0); /* a refusal leaves no mark */
    assert_int_equal(fl_batch_count(batch), 1);

    struct answers answers = {0};
    assert_int_equal(fl_send_settle(fake->client, &latin1, answer_cb, &answers),
                     FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fl_client_error(fake->client), "SettleRequest.patient"));
    assert_int_equal(fl_person_add(fake->client, &person, NULL), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fl_client_error(fake->client), "PersonAddRequest.name"));
    assert_int_equal(fl_in_flight(fake->client), 0);
    assert_int_equal(answers.count, 0);

    /* What reaches the daemon next is the batch of the one good item, then a good settlement. */
    assert_int_equal(fl_send_batch(fake->client, batch, answer_cb, &answers), 0);
    assert_int_equal(fl_send_settle(fake->client, &good, answer_cb, &answers), 0);
    Famledger__Request *sent = fake_read_request(fake);
    assert_int_equal(sent->body_case, FAMLEDGER__REQUEST__BODY_BATCH);
    assert_int_equal(sent->batch->n_requests, 1);
    assert_string_equal(sent->batch->requests[0]->settle->merchant_reference, "r1");
    famledger__request__free_unpacked(sent, NULL);
    sent = fake_read_request(fake);
    assert_int_equal(sent->body_case, FAMLEDGER__REQUEST__BODY_SETTLE);
    assert_string_equal(sent->settle->patient, "P");
    famledger__request__free_unpacked(sent, NULL);
    fl_batch_free(batch);
    fake_close(fake);
}

enum { STREAM_ENTRIES = 3 };

/* The change stream of a ledger of STREAM_ENTRIES entries, as the daemon sends it: each entry's
 * hash is SHA-256(the hash before || its bytes). */
struct stream_fixture {
    uint8_t bytes[STREAM_ENTRIES][64];
    uint8_t hash[STREAM_ENTRIES][FL_HASH_BYTES];
    Famledger__LogRecord record[STREAM_ENTRIES];
};

static void stream_entry_make(struct stream_fixture *f, size_t i, const uint8_t prev[FL_HASH_BYTES],
                              int64_t time_us)
{
    Famledger__Entry entry = FAMLEDGER__ENTRY__INIT;
    entry.seq = i + 1;
    entry.time_us = time_us;
    entry.prev_hash.len = FL_HASH_BYTES;
    entry.prev_hash.data = (uint8_t *)prev;
    size_t bytes = famledger__entry__pack(&entry, f->bytes[i]);
    assert_true(bytes <= sizeof(f->bytes[i]));
    assert_int_equal(sha256_pair(prev, FL_HASH_BYTES, f->bytes[i], bytes, f->hash[i]), 0);
    famledger__log_record__init(&f->record[i]);
    f->record[i].seq = i + 1;
    f->record[i].hash = (ProtobufCBinaryData){FL_HASH_BYTES, f->hash[i]};
    f->record[i].entry_bytes = (ProtobufCBinaryData){bytes, f->bytes[i]};
}

static void stream_fixture_make(struct stream_fixture *f)
{
    static const uint8_t zeros[FL_HASH_BYTES];
    for (size_t i = 0; i < STREAM_ENTRIES; i++)
        stream_entry_make(f, i, i ? f->hash[i - 1] : zeros, 1000 + (int64_t)i);
}

struct seen {
    size_t count;
    uint64_t seq[STREAM_ENTRIES];
};

static int seen_cb(void *context, const fl_stream_event *event)
{
    struct seen *seen = context;
    if (seen->count < STREAM_ENTRIES)
        seen->seq[seen->count] = event->entry.seq;
    seen->count++;
    return 0;
}

/* Subscribe from entry 1 to a fake daemon that sends `records` and then the end: returns what
 * fl_subscribe returned, with the entries handed over in *seen and where to resume. */
static int stream_through(Famledger__LogRecord **records, size_t count, struct seen *seen,
                          uint64_t *next_seq, char *error, size_t error_bytes)
{
    struct fake *fake = fake_open();
    Famledger__StreamReply frame = FAMLEDGER__STREAM_REPLY__INIT;
    frame.records = records;
    frame.n_records = count;
    frame.head_seq = STREAM_ENTRIES;
    frame.end = 1;
    fake_reply_ahead(fake, 1, FAMLEDGER__RESPONSE__BODY_STREAM, &frame);
    memset(seen, 0, sizeof(*seen));
    int rc = fl_subscribe(fake->client, 1, false, seen_cb, seen, next_seq);
    snprintf(error, error_bytes, "%s", fl_client_error(fake->client));
    Famledger__Request *sent = fake_read_request(fake);
    assert_int_equal(sent->body_case, FAMLEDGER__REQUEST__BODY_SUBSCRIBE);
    famledger__request__free_unpacked(sent, NULL);
    fake_close(fake);
    return rc;
}

static void test_a_stream_entry_altered_left_out_or_rechained_is_refused(void **state)
{
    (void)state;
    static struct stream_fixture f;
    stream_fixture_make(&f);
    Famledger__LogRecord *records[STREAM_ENTRIES];
    struct seen seen;
    uint64_t next_seq;
    char error[256];

    /* As the daemon sends it: every entry, in order. */
    for (size_t i = 0; i < STREAM_ENTRIES; i++)
        records[i] = &f.record[i];
    assert_int_equal(stream_through(records, STREAM_ENTRIES, &seen, &next_seq, error,
                                    sizeof(error)), 0);
    assert_int_equal(seen.count, STREAM_ENTRIES);
    assert_int_equal(seen.seq[2], 3);
    assert_int_equal(next_seq, 4);

    /* Entry 2 altered in transit (its time), still on entry 1's hash, its own hash as sent. */
    uint8_t sent_hash[FL_HASH_BYTES];
    memcpy(sent_hash, f.hash[1], FL_HASH_BYTES);
    stream_entry_make(&f, 1, f.hash[0], 999999);
    memcpy(f.hash[1], sent_hash, FL_HASH_BYTES);
    assert_int_equal(stream_through(records, STREAM_ENTRIES, &seen, &next_seq, error,
                                    sizeof(error)), FL_ERR_INTERNAL);
    assert_int_equal(seen.count, 1);
    assert_int_equal(next_seq, 2);
    assert_non_null(strstr(error, "stream record 2 does not match its hash"));
    stream_fixture_make(&f);

    /* Entry 2 left out. */
    Famledger__LogRecord *gap[] = {&f.record[0], &f.record[2]};
    assert_int_equal(stream_through(gap, 2, &seen, &next_seq, error, sizeof(error)),
                     FL_ERR_INTERNAL);
    assert_int_equal(seen.count, 1);
    assert_non_null(strstr(error, "stream record 3 where 2 was due"));

    /* Entry 2 replaced by one of another ledger: whole and hashed, but not on entry 1's hash. */
    static const uint8_t elsewhere[FL_HASH_BYTES] = {7};
    stream_entry_make(&f, 1, elsewhere, 1001);
    assert_int_equal(stream_through(records, STREAM_ENTRIES, &seen, &next_seq, error,
                                    sizeof(error)), FL_ERR_INTERNAL);
    assert_int_equal(seen.count, 1);
    assert_non_null(strstr(error, "stream record 2 does not match its hash or the one before"));
    stream_fixture_make(&f);

    /* Entry 2's bytes are not an entry. */
    static uint8_t garbage[] = {0xff, 0xff, 0xff};
    f.record[1].entry_bytes = (ProtobufCBinaryData){sizeof(garbage), garbage};
    assert_int_equal(stream_through(records, STREAM_ENTRIES, &seen, &next_seq, error,
                                    sizeof(error)), FL_ERR_INTERNAL);
    assert_int_equal(seen.count, 1);
    assert_non_null(strstr(error, "stream record 2 does not decode"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_reply_out_of_order_fails_every_request_in_flight),
        cmocka_unit_test(test_a_reply_without_its_record_is_a_protocol_error),
        cmocka_unit_test(test_an_answer_then_an_oversized_length),
        cmocka_unit_test(test_a_reply_cut_off_by_a_closed_connection),
        cmocka_unit_test(test_a_batch_answered_short_fails_each_item),
        cmocka_unit_test(test_a_silent_daemon_times_out_every_request),
        cmocka_unit_test(test_a_batch_builder_holds_at_most_the_limit),
        cmocka_unit_test(test_text_no_frame_may_carry_is_refused_before_it_is_sent),
        cmocka_unit_test(test_a_stream_entry_altered_left_out_or_rechained_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
