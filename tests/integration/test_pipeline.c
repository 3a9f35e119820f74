/* test_pipeline.c -- many requests in flight on one connection (fl_send_*), batches
 * (BatchRequest) and the daemon's counters (StatsRequest), as a settlement gateway uses them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl_limits.h"
#include "harness.h"
#include "frame.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SENT_MAX 64

/* What the callbacks saw, in the order they ran. */
struct seen {
    size_t count;
    size_t index[SENT_MAX * 2];
    int status[SENT_MAX * 2];
    bool replayed[SENT_MAX * 2];
    uint64_t id[SENT_MAX * 2];
    int64_t amount_fen[SENT_MAX * 2];
    int64_t from_accounts_fen[SENT_MAX * 2];
    char error[SENT_MAX * 2][96];
    int64_t refund_fen[SENT_MAX * 2];   /* what a refund or cancel gave back */
    int64_t refunded_fen[SENT_MAX * 2]; /* its settlement's refunds so far */
    bool cancelled[SENT_MAX * 2];
};

static void seen_cb(void *context, size_t index, const fl_result *result)
{
    struct seen *seen = context;
    assert_true(seen->count < SENT_MAX * 2);
    size_t n = seen->count++;
    seen->index[n] = index;
    seen->status[n] = result->status;
    seen->replayed[n] = result->replayed;
    seen->id[n] = result->id;
    snprintf(seen->error[n], sizeof(seen->error[n]), "%s", result->error);
    if (result->settlement) {
        seen->amount_fen[n] = result->settlement->amount_fen;
        seen->from_accounts_fen[n] =
            result->settlement->acct_pay_fen + result->settlement->acct_mulaid_pay_fen;
        seen->refunded_fen[n] = result->settlement->refunded_fen;
        seen->cancelled[n] = result->settlement->cancelled;
    }
    if (result->refund) {
        assert_int_equal(result->refund->refund_id, result->id);
        seen->refund_fen[n] = result->refund->amount_fen;
    }
}

static int setup_with(void **state, const char *const *extra_args)
{
    struct daemon_handle *daemon = calloc(1, sizeof(*daemon));
    daemon_start(daemon, extra_args);
    fl_client *client = client_open(daemon);
    employee_make(client, "PATIENT", "110101", 1000);
    employee_make(client, "FATHER", "110101", 100000);
    assert_int_equal(fl_family_bind(client, "FATHER", "PATIENT", FL_RELATION_CHILD, NULL), 0);
    fl_merchant pharmacy = {.kind = FL_MERCHANT_PHARMACY};
    strcpy(pharmacy.code, "PH001");
    strcpy(pharmacy.name, "Pharmacy");
    strcpy(pharmacy.region, "110101");
    assert_int_equal(fl_merchant_add(client, &pharmacy, NULL), 0);
    fl_client_close(client);
    *state = daemon;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_snapshot_limit(void **state)
{
    static const char *const args[] = {"--snapshot-max-seconds", "1", NULL};
    return setup_with(state, args);
}

static int teardown(void **state)
{
    struct daemon_handle *daemon = *state;
    int alive = daemon_alive(daemon);
    int status = daemon_stop(daemon);
    daemon_remove(daemon);
    free(daemon);
    return alive && status == 0 ? 0 : -1;
}

static fl_settle_request settle_of(const char *patient, const char *reference, int64_t amount_fen)
{
    return (fl_settle_request){.merchant_code = "PH001", .merchant_reference = reference,
                               .patient = patient, .amount_fen = amount_fen};
}

static void test_a_batch_answers_each_item_and_a_refusal_undoes_only_itself(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    fl_batch *batch = fl_batch_new();
    fl_settle_request first = settle_of("PATIENT", "B-1", 600);
    fl_settle_request stranger = settle_of("NOBODY", "B-2", 100);
    fl_settle_request second = settle_of("PATIENT", "B-3", 700);
    assert_int_equal(fl_batch_settle(batch, &first), 0);
    assert_int_equal(fl_batch_settle(batch, &stranger), 0);
    assert_int_equal(fl_batch_settle(batch, &second), 0);
    assert_int_equal(fl_batch_credit(batch, "FATHER", 5, FL_CREDIT_DEPOSIT, "B-credit"), 0);
    assert_int_equal(fl_batch_count(batch), 4);

    struct seen seen = {0};
    assert_int_equal(fl_batch_run(client, batch, seen_cb, &seen), 0);
    assert_int_equal(seen.count, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(seen.index[i], i);
    assert_int_equal(seen.status[0], 0);
    assert_int_equal(seen.amount_fen[0], 600);
    assert_int_equal(seen.from_accounts_fen[0], 600);
    assert_int_equal(seen.status[1], FL_ERR_UNKNOWN_PERSON);
    assert_non_null(strstr(seen.error[1], "NOBODY"));
    assert_int_equal(seen.status[2], 0);
    assert_int_equal(seen.from_accounts_fen[2], 700); /* 400 own, then 300 from the father */
    assert_int_equal(seen.status[3], 0);
    assert_true(seen.id[0] > 0 && seen.id[2] > seen.id[0] && seen.id[3] > seen.id[2]);
    assert_int_equal(balance_of(client, "PATIENT"), 0);
    assert_int_equal(balance_of(client, "FATHER"), 100000 - 300 + 5);

    /* The gateway did not hear back and sends the same batch: replays, nothing moves again. */
    struct seen again = {0};
    assert_int_equal(fl_batch_run(client, batch, seen_cb, &again), 0);
    assert_int_equal(again.count, 4);
    assert_true(again.replayed[0] && again.replayed[2] && again.replayed[3]);
    assert_int_equal(again.id[0], seen.id[0]);
    assert_int_equal(again.id[2], seen.id[2]);
    assert_int_equal(again.status[1], FL_ERR_UNKNOWN_PERSON);
    assert_int_equal(balance_of(client, "FATHER"), 100000 - 300 + 5);
    fl_batch_free(batch);
    fl_client_close(client);
}

/* Answer `i` is a refund or cancel that gave back `refund_fen`. */
static void expect_refund(const struct seen *seen, size_t i, int64_t refund_fen)
{
    assert_true(i < seen->count);
    assert_int_equal(seen->status[i], 0);
    assert_int_equal(seen->refund_fen[i], refund_fen);
}

static void test_refunds_and_cancels_go_in_batches_and_in_flight_with_their_results(
    void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    fl_batch *settles = fl_batch_new(), *refunds = fl_batch_new();
    fl_settle_request own = settle_of("PATIENT", "S-1", 600);
    fl_settle_request shared = settle_of("PATIENT", "S-2", 700);
    assert_int_equal(fl_batch_settle(settles, &own), 0);
    assert_int_equal(fl_batch_settle(settles, &shared), 0);
    struct seen settled = {0};
    assert_int_equal(fl_batch_run(client, settles, seen_cb, &settled), 0);
    assert_int_equal(settled.status[0], 0);
    assert_int_equal(settled.status[1], 0); /* 400 own, then 300 from the father */
    uint64_t own_id = settled.id[0], shared_id = settled.id[1];

    /* The father's leg was debited last: it is given back first. */
    assert_int_equal(fl_batch_refund(refunds, "PH001", "R-1", shared_id, 200), 0);
    assert_int_equal(fl_batch_cancel(refunds, "PH001", "C-1", own_id), 0);
    assert_int_equal(fl_batch_refund(refunds, "PH001", "R-2", own_id, 1), 0);
    assert_int_equal(fl_batch_refund(refunds, "PH001", "R-3", shared_id, 10000), 0);
    assert_int_equal(fl_batch_refund(refunds, "PH001", "R-4", 999999, 1), 0);
    struct seen seen = {0};
    assert_int_equal(fl_batch_run(client, refunds, seen_cb, &seen), 0);
    assert_int_equal(seen.count, 5);
    expect_refund(&seen, 0, 200);
    assert_int_equal(seen.refunded_fen[0], 200);
    expect_refund(&seen, 1, 600);
    assert_true(seen.cancelled[1]);
    assert_true(seen.id[0] > 0 && seen.id[1] > seen.id[0]);
    assert_int_equal(seen.status[2], FL_ERR_ALREADY_CANCELLED);
    assert_int_equal(seen.status[3], FL_ERR_REFUND_EXCEEDS_PAID);
    assert_int_equal(seen.status[4], FL_ERR_UNKNOWN_SETTLEMENT);
    assert_int_equal(balance_of(client, "PATIENT"), 600);
    assert_int_equal(balance_of(client, "FATHER"), 100000 - 300 + 200);

    /* Sent again, as a gateway that did not hear back would: the same answers, nothing moves. */
    struct seen again = {0};
    assert_int_equal(fl_batch_run(client, refunds, seen_cb, &again), 0);
    assert_true(again.replayed[0] && again.replayed[1]);
    assert_int_equal(again.id[0], seen.id[0]);
    assert_int_equal(again.id[1], seen.id[1]);
    expect_refund(&again, 0, 200);
    for (size_t i = 2; i < 5; i++)
        assert_int_equal(again.status[i], seen.status[i]);
    assert_int_equal(balance_of(client, "PATIENT"), 600);
    assert_int_equal(balance_of(client, "FATHER"), 100000 - 300 + 200);

    /* In flight, one behind the other: the rest of the father's leg, then the patient's. */
    struct seen flight = {0};
    assert_int_equal(fl_send_refund(client, "PH001", "R-5", shared_id, 100, seen_cb, &flight),
                     0);
    assert_int_equal(fl_send_cancel(client, "PH001", "C-2", shared_id, seen_cb, &flight), 0);
    assert_int_equal(fl_async_wait(client, 0), 0);
    assert_int_equal(flight.count, 2);
    expect_refund(&flight, 0, 100);
    expect_refund(&flight, 1, 400);
    assert_int_equal(flight.refunded_fen[1], 700);
    assert_true(flight.cancelled[1]);
    assert_int_equal(balance_of(client, "PATIENT"), 1000);
    assert_int_equal(balance_of(client, "FATHER"), 100000);
    fl_verify_report report;
    assert_int_equal(fl_verify(client, &report, NULL, NULL), 0);
    assert_true(report.ok);
    fl_batch_free(settles);
    fl_batch_free(refunds);
    fl_client_close(client);
}

static void test_a_settlement_shows_every_refund_it_holds_its_cancel_last(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    fl_settlement *settlement = calloc(1, sizeof(*settlement));
    assert_int_equal(fl_settle(client, &(fl_settle_request){.merchant_code = "PH001",
                                                            .merchant_reference = "S-many",
                                                            .patient = "PATIENT",
                                                            .amount_fen = 900},
                               settlement),
                     0);
    uint64_t id = settlement->settlement_id;
    fl_batch *batch = fl_batch_new();
    char reference[16];
    for (int i = 0; i < FL_REFUNDS_MAX; i++) { /* the last is one partial refund too many */
        snprintf(reference, sizeof(reference), "R-%d", i);
        assert_int_equal(fl_batch_refund(batch, "PH001", reference, id, 1), 0);
    }
    assert_int_equal(fl_batch_cancel(batch, "PH001", "C-many", id), 0);
    struct seen seen = {0};
    assert_int_equal(fl_batch_run(client, batch, seen_cb, &seen), 0);
    for (int i = 0; i < FL_REFUNDS_MAX - 1; i++)
        expect_refund(&seen, (size_t)i, 1);
    assert_int_equal(seen.status[FL_REFUNDS_MAX - 1], FL_ERR_INVALID_ARGUMENT);
    expect_refund(&seen, FL_REFUNDS_MAX, 900 - (FL_REFUNDS_MAX - 1));

    /* All of them, as the library shows a settlement: none left out, the cancel last. */
    assert_int_equal(fl_settlement_get(client, id, settlement), 0);
    assert_true(settlement->cancelled);
    assert_int_equal(settlement->refunded_fen, 900);
    assert_int_equal(settlement->refund_count, FL_REFUNDS_MAX);
    assert_false(settlement->refunds[0].cancel);
    assert_int_equal(settlement->refunds[0].amount_fen, 1);
    assert_true(settlement->refunds[FL_REFUNDS_MAX - 1].cancel);
    assert_int_equal(settlement->refunds[FL_REFUNDS_MAX - 1].refund_id, seen.id[FL_REFUNDS_MAX]);
    assert_int_equal(balance_of(client, "PATIENT"), 1000);
    fl_batch_free(batch);
    free(settlement);
    fl_client_close(client);
}

static void test_each_batch_item_needs_its_own_role(void **state)
{
    struct daemon_handle *daemon = *state;
    daemon_stop(daemon);
    char uid[16], peers[48];
    snprintf(uid, sizeof(uid), "%u", (unsigned)getuid() + 4242);
    snprintf(peers, sizeof(peers), "uid:%u=PH001", (unsigned)getuid());
    /* Our uid keeps settle (for PH001) and audit but loses admin. */
    const char *args[] = {"--admin-uids", uid, "--merchant-peers", peers, NULL};
    daemon_restart(daemon, args);
    fl_client *client = client_open(daemon);
    fl_batch *batch = fl_batch_new();
    fl_person person = {.scheme = FL_SCHEME_EMPLOYEE};
    strcpy(person.person_no, "NEWCOMER");
    strcpy(person.name, "x");
    strcpy(person.region, "110101");
    fl_settle_request settle = settle_of("PATIENT", "R-1", 100);
    assert_int_equal(fl_batch_person_add(batch, &person), 0);
    assert_int_equal(fl_batch_settle(batch, &settle), 0);
    struct seen seen = {0};
    assert_int_equal(fl_batch_run(client, batch, seen_cb, &seen), 0);
    assert_int_equal(seen.count, 2);
    assert_int_equal(seen.status[0], FL_ERR_PERMISSION_DENIED);
    assert_non_null(strstr(seen.error[0], "admin"));
    assert_int_equal(seen.status[1], 0);
    fl_person found;
    assert_int_equal(fl_person_get(client, "NEWCOMER", &found), FL_ERR_UNKNOWN_PERSON);
    fl_batch_free(batch);
    fl_client_close(client);
}

/* A batch built by hand, as another language's client might send it. */
static Famledger__Response *raw_batch(int fd, Famledger__Request **items, size_t count)
{
    Famledger__BatchRequest body = FAMLEDGER__BATCH_REQUEST__INIT;
    body.requests = items;
    body.n_requests = count;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.request_id = 7;
    request.body_case = FAMLEDGER__REQUEST__BODY_BATCH;
    request.batch = &body;
    raw_send_request(fd, &request);
    Famledger__Response *response = raw_read_response(fd);
    assert_non_null(response);
    assert_int_equal(response->request_id, 7);
    return response;
}

static void test_reads_nested_batches_and_oversized_batches_are_refused(void **state)
{
    struct daemon_handle *daemon = *state;
    int fd = raw_connect(daemon);

    /* A read, a nested batch and a settlement: only the settlement runs. */
    Famledger__HeadRequest head = FAMLEDGER__HEAD_REQUEST__INIT;
    Famledger__Request read = FAMLEDGER__REQUEST__INIT;
    read.request_id = 1;
    read.body_case = FAMLEDGER__REQUEST__BODY_HEAD;
    read.head = &head;
    Famledger__BatchRequest inner_body = FAMLEDGER__BATCH_REQUEST__INIT;
    Famledger__Request nested = FAMLEDGER__REQUEST__INIT;
    nested.request_id = 2;
    nested.body_case = FAMLEDGER__REQUEST__BODY_BATCH;
    nested.batch = &inner_body;
    Famledger__SettleRequest settle_body = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle_body.merchant_code = (char *)"PH001";
    settle_body.merchant_reference = (char *)"RAW-1";
    settle_body.patient = (char *)"PATIENT";
    settle_body.amount_fen = 100;
    Famledger__Request settle = FAMLEDGER__REQUEST__INIT;
    settle.request_id = 3;
    settle.body_case = FAMLEDGER__REQUEST__BODY_SETTLE;
    settle.settle = &settle_body;
    Famledger__Request *items[] = {&read, &nested, &settle};
    Famledger__Response *response = raw_batch(fd, items, 3);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_int_equal(response->body_case, FAMLEDGER__RESPONSE__BODY_BATCH);
    assert_int_equal(response->batch->n_replies, 3);
    assert_int_equal(response->batch->replies[0]->request_id, 1);
    assert_int_equal(response->batch->replies[0]->status, FAMLEDGER__STATUS__STATUS_UNSUPPORTED);
    assert_int_equal(response->batch->replies[1]->status, FAMLEDGER__STATUS__STATUS_UNSUPPORTED);
    assert_int_equal(response->batch->replies[2]->request_id, 3);
    assert_int_equal(response->batch->replies[2]->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_int_equal(response->batch->replies[2]->settlement->settlement->amount_fen, 100);
    famledger__response__free_unpacked(response, NULL);

    /* Empty, and one past the limit: refused whole, nothing runs. */
    response = raw_batch(fd, NULL, 0);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_INVALID_ARGUMENT);
    famledger__response__free_unpacked(response, NULL);
    Famledger__Request **many = calloc(FL_BATCH_MAX + 1, sizeof(*many));
    Famledger__SettleRequest *bodies = calloc(FL_BATCH_MAX + 1, sizeof(*bodies));
    char (*references)[16] = calloc(FL_BATCH_MAX + 1, sizeof(*references));
    Famledger__Request *requests = calloc(FL_BATCH_MAX + 1, sizeof(*requests));
    for (size_t i = 0; i <= FL_BATCH_MAX; i++) {
        famledger__settle_request__init(&bodies[i]);
        snprintf(references[i], sizeof(references[i]), "MANY-%zu", i);
        bodies[i].merchant_code = (char *)"PH001";
        bodies[i].merchant_reference = references[i];
        bodies[i].patient = (char *)"PATIENT";
        bodies[i].amount_fen = 1;
        famledger__request__init(&requests[i]);
        requests[i].body_case = FAMLEDGER__REQUEST__BODY_SETTLE;
        requests[i].settle = &bodies[i];
        many[i] = &requests[i];
    }
    response = raw_batch(fd, many, FL_BATCH_MAX + 1);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "1000"));
    famledger__response__free_unpacked(response, NULL);
    /* The full thousand is one commit, each item its own settlement. */
    response = raw_batch(fd, many, FL_BATCH_MAX);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_int_equal(response->batch->n_replies, FL_BATCH_MAX);
    for (size_t i = 0; i < FL_BATCH_MAX; i++)
        assert_int_equal(response->batch->replies[i]->status, FAMLEDGER__STATUS__STATUS_OK);
    famledger__response__free_unpacked(response, NULL);
    free(many);
    free(bodies);
    free(references);
    free(requests);
    close(fd);

    fl_client *client = client_open(daemon);
    /* 100 and a thousand single fen: the patient's 1000 first, then 100 from the father. */
    assert_int_equal(balance_of(client, "PATIENT"), 0);
    assert_int_equal(balance_of(client, "FATHER"), 100000 - 100);
    fl_client_close(client);
}

static void test_pipelined_settlements_are_answered_in_order_with_their_splits(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    static char references[SENT_MAX][32];
    struct seen seen = {0};
    for (int i = 0; i < SENT_MAX; i++) {
        snprintf(references[i], sizeof(references[i]), "P-%d", i);
        fl_settle_request request = settle_of("PATIENT", references[i], 10 + i);
        assert_int_equal(fl_send_settle(client, &request, seen_cb, &seen), 0);
    }
    assert_true(fl_in_flight(client) <= SENT_MAX);
    assert_int_equal(fl_async_wait(client, 0), 0);
    assert_int_equal(fl_in_flight(client), 0);
    assert_int_equal(seen.count, SENT_MAX);
    int64_t total = 0;
    for (int i = 0; i < SENT_MAX; i++) {
        assert_int_equal(seen.status[i], 0);
        assert_int_equal(seen.amount_fen[i], 10 + i); /* the i-th reply answers the i-th send */
        if (i)
            assert_true(seen.id[i] > seen.id[i - 1]);
        total += 10 + i;
    }
    assert_int_equal(balance_of(client, "PATIENT") + balance_of(client, "FATHER"),
                     1000 + 100000 - total);
    fl_client_close(client);
}

static void test_a_blocking_call_comes_after_the_requests_in_flight(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    struct seen seen = {0};
    char references[5][16];
    for (int i = 0; i < 5; i++) {
        snprintf(references[i], sizeof(references[i]), "W-%d", i);
        fl_settle_request request = settle_of("PATIENT", references[i], 100);
        assert_int_equal(fl_send_settle(client, &request, seen_cb, &seen), 0);
    }
    /* The blocking read waits for the five: their callbacks ran, and it sees what they did. */
    assert_int_equal(balance_of(client, "PATIENT"), 500);
    assert_int_equal(seen.count, 5);
    fl_client_close(client);
}

static void test_a_lost_connection_answers_every_request_in_flight_and_retries_count_once(
    void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    struct seen seen = {0};
    static char references[SENT_MAX][32];
    for (int i = 0; i < SENT_MAX; i++) {
        snprintf(references[i], sizeof(references[i]), "K-%d", i);
        fl_settle_request request = settle_of("PATIENT", references[i], 1);
        assert_int_equal(fl_send_settle(client, &request, seen_cb, &seen), 0);
    }
    kill(daemon->pid, SIGKILL);
    waitpid(daemon->pid, NULL, 0);
    daemon->pid = 0;
    assert_int_not_equal(fl_async_wait(client, 0), 0);
    /* Every callback ran once: acknowledged, or in doubt with the transport error. */
    assert_int_equal(seen.count, SENT_MAX);
    size_t acknowledged = 0;
    for (int i = 0; i < SENT_MAX; i++) {
        assert_true(seen.status[i] == 0 || seen.status[i] == FL_ERR_PROTOCOL_ERROR);
        acknowledged += seen.status[i] == 0;
    }
    /* A broken client refuses more, and says so without a callback. */
    fl_settle_request late = settle_of("PATIENT", "K-late", 1);
    assert_int_not_equal(fl_send_settle(client, &late, seen_cb, &seen), 0);
    assert_int_equal(seen.count, SENT_MAX);
    fl_client_close(client);

    daemon_restart(daemon, NULL);
    client = client_open(daemon);
    assert_true(balance_of(client, "PATIENT") <= 1000 - (int64_t)acknowledged);
    struct seen retry = {0};
    for (int i = 0; i < SENT_MAX; i++) {
        fl_settle_request request = settle_of("PATIENT", references[i], 1);
        assert_int_equal(fl_send_settle(client, &request, seen_cb, &retry), 0);
    }
    assert_int_equal(fl_async_wait(client, 0), 0);
    for (int i = 0; i < SENT_MAX; i++) {
        assert_int_equal(retry.status[i], 0);
        if (seen.status[i] == 0)
            assert_true(retry.replayed[i]); /* acknowledged before: a replay */
    }
    assert_int_equal(balance_of(client, "PATIENT"), 1000 - SENT_MAX);
    fl_client_close(client);
}

/* Batches in flight when the daemon is killed: each was one commit, so after the restart its
 * items are all there or none is, and sending every batch again settles each item once. */
#define KILL_BATCHES 24
#define KILL_ITEMS 20

static void test_batches_cut_by_a_kill_are_whole_or_absent_and_settle_once_when_sent_again(
    void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    static fl_batch *batches[KILL_BATCHES];
    static struct seen fate[KILL_BATCHES], again[KILL_BATCHES];
    static char references[KILL_BATCHES][KILL_ITEMS][24];
    for (size_t b = 0; b < KILL_BATCHES; b++) {
        batches[b] = fl_batch_new();
        for (size_t i = 0; i < KILL_ITEMS; i++) {
            snprintf(references[b][i], sizeof(references[b][i]), "KB-%zu-%zu", b, i);
            fl_settle_request request = settle_of("PATIENT", references[b][i], 7);
            assert_int_equal(fl_batch_settle(batches[b], &request), 0);
        }
        assert_int_equal(fl_send_batch(client, batches[b], seen_cb, &fate[b]), 0);
    }
    /* Half of them answered, the rest in flight: then the daemon dies, at a moment that
     * differs from run to run (a batch committed but not yet answered is one of the cases). */
    assert_int_equal(fl_async_wait(client, KILL_BATCHES / 2), 0);
    usleep((useconds_t)(getpid() % 8) * 250);
    kill(daemon->pid, SIGKILL);
    waitpid(daemon->pid, NULL, 0);
    daemon->pid = 0;
    /* The replies written before the kill are still read: 0 when that was all of them. */
    int lost = fl_async_wait(client, 0);
    assert_true(lost == 0 || lost == FL_ERR_PROTOCOL_ERROR);
    fl_client_close(client);

    /* A batch's items share one reply: acknowledged together or in doubt together. */
    size_t acknowledged = 0;
    for (size_t b = 0; b < KILL_BATCHES; b++) {
        assert_int_equal(fate[b].count, KILL_ITEMS);
        bool acked = fate[b].status[0] == 0;
        acknowledged += acked;
        for (size_t i = 0; i < KILL_ITEMS; i++) {
            assert_int_equal(fate[b].index[i], i);
            assert_int_equal(fate[b].status[i], acked ? 0 : FL_ERR_PROTOCOL_ERROR);
        }
    }
    assert_true(acknowledged >= KILL_BATCHES / 2);

    daemon_restart(daemon, NULL);
    client = client_open(daemon);
    size_t found_items = 0;
    bool whole[KILL_BATCHES];
    for (size_t b = 0; b < KILL_BATCHES; b++) {
        size_t found = 0;
        for (size_t i = 0; i < KILL_ITEMS; i++) {
            fl_settlement settlement;
            int rc = fl_settlement_find(client, "PH001", references[b][i], &settlement);
            assert_true(rc == 0 || rc == FL_ERR_UNKNOWN_SETTLEMENT);
            if (rc == 0 && fate[b].status[i] == 0)
                assert_int_equal(settlement.settlement_id, fate[b].id[i]);
            found += rc == 0;
        }
        /* All or nothing, and all for every acknowledged batch. */
        assert_true(found == 0 || found == KILL_ITEMS);
        if (fate[b].status[0] == 0)
            assert_int_equal(found, KILL_ITEMS);
        whole[b] = found == KILL_ITEMS;
        found_items += found;
    }
    assert_int_equal(balance_of(client, "PATIENT") + balance_of(client, "FATHER"),
                     1000 + 100000 - 7 * (int64_t)found_items);

    /* The gateway sends every batch again: what committed replays, the rest settles now. */
    for (size_t b = 0; b < KILL_BATCHES; b++) {
        assert_int_equal(fl_batch_run(client, batches[b], seen_cb, &again[b]), 0);
        assert_int_equal(again[b].count, KILL_ITEMS);
        for (size_t i = 0; i < KILL_ITEMS; i++) {
            assert_int_equal(again[b].status[i], 0);
            assert_int_equal(again[b].replayed[i], whole[b]);
            if (fate[b].status[i] == 0)
                assert_int_equal(again[b].id[i], fate[b].id[i]);
        }
        fl_batch_free(batches[b]);
    }
    assert_int_equal(balance_of(client, "PATIENT") + balance_of(client, "FATHER"),
                     1000 + 100000 - 7 * KILL_BATCHES * KILL_ITEMS);
    fl_verify_report report;
    assert_int_equal(fl_verify(client, &report, NULL, NULL), 0);
    assert_true(report.ok);
    fl_client_close(client);
}

static void test_the_counters_follow_commits_and_flushes(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    fl_stats before, after;
    assert_int_equal(fl_stats_get(client, &before), 0);
    assert_int_equal(fl_account_credit(client, "FATHER", 1, FL_CREDIT_DEPOSIT, "S-1", NULL), 0);
    assert_int_equal(fl_stats_get(client, &after), 0);
    fl_head head;
    assert_int_equal(fl_head_get(client, &head), 0);
    assert_int_equal(after.durable_seq, head.seq);
    assert_int_equal(after.batches, before.batches + 1);
    assert_int_equal(after.jobs, before.jobs + 1);
    /* A lone commit: its data, then its meta page, then the head record. */
    assert_int_equal(after.flushes, before.flushes + 3);
    assert_true(after.write_bytes > before.write_bytes);
    assert_true(after.map_used_bytes > 0 && after.map_used_bytes <= after.map_bytes);
    assert_true(after.connections >= 1);
    assert_true(after.started_us > 0);
    /* A refused write commits nothing, and flushes nothing. */
    assert_int_equal(fl_account_credit(client, "NOBODY", 1, FL_CREDIT_DEPOSIT, "S-2", NULL),
                     FL_ERR_UNKNOWN_PERSON);
    fl_stats refused;
    assert_int_equal(fl_stats_get(client, &refused), 0);
    assert_int_equal(refused.flushes, after.flushes);
    assert_int_equal(refused.durable_seq, after.durable_seq);
    fl_client_close(client);
}

/* ---- audit pages on the thread pool ---- */

static void log_page_send(int fd, uint64_t id)
{
    Famledger__LogPageRequest page = FAMLEDGER__LOG_PAGE_REQUEST__INIT;
    page.from_seq = 1;
    page.limit = 1000;
    raw_request_send(fd, id, FAMLEDGER__REQUEST__BODY_LOG_PAGE, &page);
}

static void snapshot_send(int fd, uint64_t id, bool close)
{
    Famledger__SnapshotRequest snapshot = FAMLEDGER__SNAPSHOT_REQUEST__INIT;
    snapshot.close = close;
    raw_request_send(fd, id, FAMLEDGER__REQUEST__BODY_SNAPSHOT, &snapshot);
}

/* The next reply: for request `id`, with status OK and body `body_case`. */
static Famledger__Response *reply_expect(int fd, uint64_t id,
                                         Famledger__Response__BodyCase body_case)
{
    Famledger__Response *response = raw_read_response(fd);
    assert_non_null(response);
    assert_int_equal(response->request_id, id);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
    assert_int_equal(response->body_case, body_case);
    return response;
}

/* Log pages run on the thread pool (a verify's must not hold up a pharmacy's settlement on the
 * loop thread). They still read the connection's snapshot, and the connection's requests still
 * behave as if run one after another: a write between them is not seen until the snapshot
 * closes, and every reply comes in order. */
static void test_audit_pages_on_the_thread_pool_read_the_snapshot_in_order(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    fl_head before;
    assert_int_equal(fl_head_get(client, &before), 0);
    int fd = raw_connect(daemon);
    snapshot_send(fd, 1, false);
    log_page_send(fd, 2);
    Famledger__CreditRequest credit = FAMLEDGER__CREDIT_REQUEST__INIT;
    credit.person_no = (char *)"PATIENT";
    credit.amount_fen = 1;
    credit.reference = (char *)"pool-credit";
    raw_request_send(fd, 3, FAMLEDGER__REQUEST__BODY_CREDIT, &credit);
    log_page_send(fd, 4);
    Famledger__HeadRequest head = FAMLEDGER__HEAD_REQUEST__INIT;
    raw_request_send(fd, 5, FAMLEDGER__REQUEST__BODY_HEAD, &head);
    log_page_send(fd, 6);
    snapshot_send(fd, 7, true);
    log_page_send(fd, 8);

    Famledger__Response *response = reply_expect(fd, 1, FAMLEDGER__RESPONSE__BODY_SNAPSHOT);
    assert_int_equal(response->snapshot->seq, before.seq);
    famledger__response__free_unpacked(response, NULL);
    response = reply_expect(fd, 2, FAMLEDGER__RESPONSE__BODY_LOG_PAGE);
    assert_int_equal(response->log_page->n_records, before.seq);
    famledger__response__free_unpacked(response, NULL);
    response = reply_expect(fd, 3, FAMLEDGER__RESPONSE__BODY_CREDIT);
    famledger__response__free_unpacked(response, NULL);
    /* After the write, on the snapshot: still the head it opened at. */
    for (uint64_t id = 4; id <= 6; id++) {
        response = reply_expect(fd, id, id == 5 ? FAMLEDGER__RESPONSE__BODY_HEAD
                                                : FAMLEDGER__RESPONSE__BODY_LOG_PAGE);
        if (id == 5)
            assert_int_equal(response->head->seq, before.seq);
        else
            assert_int_equal(response->log_page->n_records, before.seq);
        famledger__response__free_unpacked(response, NULL);
    }
    response = reply_expect(fd, 7, FAMLEDGER__RESPONSE__BODY_SNAPSHOT);
    famledger__response__free_unpacked(response, NULL);
    response = reply_expect(fd, 8, FAMLEDGER__RESPONSE__BODY_LOG_PAGE);
    assert_int_equal(response->log_page->n_records, before.seq + 1);
    famledger__response__free_unpacked(response, NULL);
    close(fd);
    fl_client_close(client);
}

/* A peer that hangs up with pages running on the thread pool and more queued behind them: the
 * snapshot they read outlives the connection until they finish, and the daemon goes on. */
static void test_a_peer_hanging_up_with_pages_on_the_thread_pool_leaves_the_daemon_whole(
    void **state)
{
    struct daemon_handle *daemon = *state;
    for (int round = 0; round < 8; round++) {
        int fd = raw_connect(daemon);
        snapshot_send(fd, 1, false);
        for (uint64_t id = 2; id < 34; id++)
            log_page_send(fd, id);
        if (round % 2) { /* some read before hanging up, some not */
            Famledger__Response *response = raw_read_response(fd);
            assert_non_null(response);
            famledger__response__free_unpacked(response, NULL);
        }
        close(fd);
    }
    assert_true(daemon_alive(daemon));
    fl_client *client = client_open(daemon);
    fl_head head;
    assert_int_equal(fl_head_get(client, &head), 0);
    assert_int_equal(fl_account_credit(client, "PATIENT", 1, FL_CREDIT_DEPOSIT, "after-hangups",
                                       NULL),
                     0);
    fl_client_close(client);
}

/* A snapshot opens on the thread pool (it copies what memory holds). Peers that hang up while
 * theirs opens give their place among the open snapshots back; the limit still holds. */
static void test_snapshots_opened_by_peers_that_hang_up_give_their_places_back(void **state)
{
    struct daemon_handle *daemon = *state;
    for (int round = 0; round < 3 * SNAPSHOTS_MAX; round++) {
        int fd = raw_connect(daemon);
        snapshot_send(fd, 1, false);
        if (round % 3 == 0)
            log_page_send(fd, 2);
        close(fd);
    }
    int fds[SNAPSHOTS_MAX + 1];
    for (int i = 0; i <= SNAPSHOTS_MAX; i++) {
        fds[i] = raw_connect(daemon);
        snapshot_send(fds[i], 1, false);
        Famledger__Response *response = raw_read_response(fds[i]);
        assert_non_null(response);
        if (i < SNAPSHOTS_MAX) { /* the hung-up peers' snapshots end with their reads */
            for (int wait = 0; wait < 50 && response->status == FAMLEDGER__STATUS__STATUS_BUSY;
                 wait++) {
                famledger__response__free_unpacked(response, NULL);
                usleep(20 * 1000);
                snapshot_send(fds[i], 1, false);
                response = raw_read_response(fds[i]);
                assert_non_null(response);
            }
            assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
            assert_true(response->snapshot->open);
        } else {
            assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_BUSY);
        }
        famledger__response__free_unpacked(response, NULL);
    }
    snapshot_send(fds[0], 2, true);
    famledger__response__free_unpacked(reply_expect(fds[0], 2, FAMLEDGER__RESPONSE__BODY_SNAPSHOT),
                                       NULL);
    snapshot_send(fds[SNAPSHOTS_MAX], 2, false); /* a place is free again */
    Famledger__Response *response =
        reply_expect(fds[SNAPSHOTS_MAX], 2, FAMLEDGER__RESPONSE__BODY_SNAPSHOT);
    assert_true(response->snapshot->open);
    famledger__response__free_unpacked(response, NULL);
    for (int i = 0; i <= SNAPSHOTS_MAX; i++)
        close(fds[i]);
    assert_true(daemon_alive(daemon));
}

/* A snapshot holds back every page freed after it, so data.mdb grows while it lasts, and a
 * peer that keeps asking is never idle: past snapshot_max_seconds the daemon ends it. Its reads
 * are then refused, not answered from the present (an audit would mix two states), until the
 * peer opens a new one. */
static void test_a_snapshot_open_too_long_is_closed_and_its_reads_refused(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    const char *oldest = "famledger_snapshot_oldest_seconds";
    assert_int_equal(metric_value(client, oldest), 0);
    int fd = raw_connect(daemon);
    snapshot_send(fd, 1, false);
    famledger__response__free_unpacked(reply_expect(fd, 1, FAMLEDGER__RESPONSE__BODY_SNAPSHOT),
                                       NULL);
    Famledger__HeadRequest head = FAMLEDGER__HEAD_REQUEST__INIT;
    raw_request_send(fd, 2, FAMLEDGER__REQUEST__BODY_HEAD, &head);
    Famledger__Response *response = reply_expect(fd, 2, FAMLEDGER__RESPONSE__BODY_HEAD);
    uint64_t opened_at = response->head->seq;
    famledger__response__free_unpacked(response, NULL);
    assert_int_equal(fl_account_credit(client, "PATIENT", 1, FL_CREDIT_DEPOSIT,
                                       "after-the-snapshot", NULL), 0);
    usleep(1300 * 1000);
    assert_true(metric_value(client, oldest) >= 1);

    raw_request_send(fd, 3, FAMLEDGER__REQUEST__BODY_HEAD, &head);
    log_page_send(fd, 4);
    for (uint64_t id = 3; id <= 4; id++) {
        response = raw_read_response(fd);
        assert_non_null(response);
        assert_int_equal(response->request_id, id);
        assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_SNAPSHOT_EXPIRED);
        assert_non_null(strstr(response->error, "snapshot_max_seconds (1 s)"));
        famledger__response__free_unpacked(response, NULL);
    }
    assert_int_equal(metric_value(client, oldest), 0);
    snapshot_send(fd, 5, false);
    famledger__response__free_unpacked(reply_expect(fd, 5, FAMLEDGER__RESPONSE__BODY_SNAPSHOT),
                                       NULL);
    raw_request_send(fd, 6, FAMLEDGER__REQUEST__BODY_HEAD, &head);
    response = reply_expect(fd, 6, FAMLEDGER__RESPONSE__BODY_HEAD);
    assert_int_equal(response->head->seq, opened_at + 1); /* a new snapshot sees the credit */
    famledger__response__free_unpacked(response, NULL);
    close(fd);
    fl_client_close(client);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_a_batch_answers_each_item_and_a_refusal_undoes_only_itself),
        TEST(test_refunds_and_cancels_go_in_batches_and_in_flight_with_their_results),
        TEST(test_a_settlement_shows_every_refund_it_holds_its_cancel_last),
        TEST(test_each_batch_item_needs_its_own_role),
        TEST(test_reads_nested_batches_and_oversized_batches_are_refused),
        TEST(test_pipelined_settlements_are_answered_in_order_with_their_splits),
        TEST(test_a_blocking_call_comes_after_the_requests_in_flight),
        TEST(test_a_lost_connection_answers_every_request_in_flight_and_retries_count_once),
        TEST(test_batches_cut_by_a_kill_are_whole_or_absent_and_settle_once_when_sent_again),
        TEST(test_the_counters_follow_commits_and_flushes),
        TEST(test_audit_pages_on_the_thread_pool_read_the_snapshot_in_order),
        TEST(test_a_peer_hanging_up_with_pages_on_the_thread_pool_leaves_the_daemon_whole),
        TEST(test_snapshots_opened_by_peers_that_hang_up_give_their_places_back),
        cmocka_unit_test_setup_teardown(
            test_a_snapshot_open_too_long_is_closed_and_its_reads_refused, setup_snapshot_limit,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
