/* test_daemon.c -- famledgerd as users meet it: over its socket, through the client library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int setup(void **state)
{
    struct daemon_handle *daemon = calloc(1, sizeof(*daemon));
    daemon_start(daemon, NULL);
    *state = daemon;
    return 0;
}

static int teardown(void **state)
{
    struct daemon_handle *daemon = *state;
    /* Whatever the test did, the daemon must still be running and stop cleanly. */
    int alive = daemon_alive(daemon);
    int status = daemon_stop(daemon);
    daemon_remove(daemon);
    free(daemon);
    return alive && status == 0 ? 0 : -1;
}

static void test_balances_and_statements_survive_a_restart(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 0);
    for (int month = 1; month <= 3; month++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "alloc-2026%02d-E1", month);
        assert_int_equal(fl_account_credit(client, "E1", 15000, FL_CREDIT_ALLOCATION, reference,
                                           NULL), 0);
    }
    fl_head before;
    assert_int_equal(fl_head_get(client, &before), 0);
    fl_client_close(client);

    assert_int_equal(daemon_stop(daemon), 0);
    daemon_restart(daemon, NULL);
    client = client_open(daemon);
    assert_int_equal(balance_of(client, "E1"), 45000);
    fl_head after;
    assert_int_equal(fl_head_get(client, &after), 0);
    assert_int_equal(after.seq, before.seq);
    assert_memory_equal(after.hash, before.hash, FL_HASH_BYTES);
    fl_statement_line lines[10];
    size_t count;
    uint64_t next;
    assert_int_equal(fl_statement(client, "E1", 0, false, lines, 10, &count, &next), 0);
    assert_int_equal(count, 4);
    assert_string_equal(lines[0].reference, "alloc-202603-E1");
    assert_int_equal(lines[0].balance_after_fen, 45000);
    fl_client_close(client);
}

static void test_a_retried_credit_is_answered_once_and_a_changed_one_refused(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 0);
    fl_credit_result first, retry;
    assert_int_equal(fl_account_credit(client, "E1", 999, FL_CREDIT_DEPOSIT, "dep-1", &first), 0);
    assert_false(first.replayed);
    /* A second connection, as a settlement system retrying after a timeout would. */
    fl_client *other = client_open(daemon);
    assert_int_equal(fl_account_credit(other, "E1", 999, FL_CREDIT_DEPOSIT, "dep-1", &retry), 0);
    assert_true(retry.replayed);
    assert_int_equal(retry.seq, first.seq);
    assert_int_equal(fl_account_credit(other, "E1", 1000, FL_CREDIT_DEPOSIT, "dep-1", NULL),
                     FL_ERR_CONFLICT);
    assert_non_null(strstr(fl_client_error(other), "dep-1"));
    assert_int_equal(balance_of(client, "E1"), 999);
    fl_client_close(other);
    fl_client_close(client);
}

static void test_a_frame_that_is_not_a_request_gets_an_error_and_the_connection_lives(void **state)
{
    struct daemon_handle *daemon = *state;
    int fd = raw_connect(daemon);
    const uint8_t garbage[] = {0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff};
    raw_send(fd, garbage, sizeof(garbage));
    Famledger__Response *response = raw_read_response(fd);
    assert_non_null(response);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_MALFORMED_REQUEST);
    assert_int_equal(response->request_id, 0);
    assert_true(strlen(response->error) > 0);
    famledger__response__free_unpacked(response, NULL);

    Famledger__HeadRequest head = FAMLEDGER__HEAD_REQUEST__INIT;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.request_id = 42;
    request.body_case = FAMLEDGER__REQUEST__BODY_HEAD;
    request.head = &head;
    raw_send_request(fd, &request);
    response = raw_read_response(fd);
    assert_int_equal(response->request_id, 42);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
    famledger__response__free_unpacked(response, NULL);
    close(fd);
}

static void test_an_oversized_length_gets_an_error_then_a_closed_connection(void **state)
{
    struct daemon_handle *daemon = *state;
    int fd = raw_connect(daemon);
    const uint8_t header[] = {0x7f, 0xff, 0xff, 0xff}; /* 2 GiB */
    raw_send(fd, header, sizeof(header));
    Famledger__Response *response = raw_read_response(fd);
    assert_non_null(response);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_FRAME_TOO_LARGE);
    famledger__response__free_unpacked(response, NULL);
    assert_true(raw_closed_by_peer(fd));
    close(fd);
    /* Others are served as before. */
    fl_client *client = client_open(daemon);
    fl_head head;
    assert_int_equal(fl_head_get(client, &head), 0);
    fl_client_close(client);
}

static void test_a_request_without_a_known_body_is_unsupported(void **state)
{
    struct daemon_handle *daemon = *state;
    int fd = raw_connect(daemon);
    /* request_id 7, then field 999 (a body from some future protocol), an empty message. */
    const uint8_t frame[] = {0, 0, 0, 5, 0x08, 0x07, 0xba, 0x3e, 0x00};
    raw_send(fd, frame, sizeof(frame));
    Famledger__Response *response = raw_read_response(fd);
    assert_int_equal(response->request_id, 7);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_UNSUPPORTED);
    famledger__response__free_unpacked(response, NULL);
    /* No body at all. */
    const uint8_t empty[] = {0, 0, 0, 2, 0x08, 0x08};
    raw_send(fd, empty, sizeof(empty));
    response = raw_read_response(fd);
    assert_int_equal(response->request_id, 8);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_UNSUPPORTED);
    famledger__response__free_unpacked(response, NULL);
    /* Field 999 as a number is no body: an unknown field, refused by number. */
    const uint8_t number[] = {0, 0, 0, 5, 0x08, 0x09, 0xb8, 0x3e, 0x01};
    raw_send(fd, number, sizeof(number));
    response = raw_read_response(fd);
    assert_int_equal(response->request_id, 9);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_MALFORMED_REQUEST);
    assert_non_null(strstr(response->error, "field 999"));
    famledger__response__free_unpacked(response, NULL);
    close(fd);
}

static void test_a_half_sent_frame_then_hang_up_costs_nothing(void **state)
{
    struct daemon_handle *daemon = *state;
    for (int i = 0; i < 20; i++) {
        int fd = raw_connect(daemon);
        const uint8_t partial[] = {0, 0, 1, 0, 0x08, 0x01};
        raw_send(fd, partial, sizeof(partial));
        close(fd);
    }
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 100);
    assert_int_equal(balance_of(client, "E1"), 100);
    fl_client_close(client);
}

static void test_invalid_fields_are_named_in_the_error(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    fl_person person = {.scheme = FL_SCHEME_EMPLOYEE};
    strcpy(person.person_no, "P 1");
    strcpy(person.name, "x");
    strcpy(person.region, "110101");
    assert_int_equal(fl_person_add(client, &person, NULL), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fl_client_error(client), "person_no"));
    strcpy(person.person_no, "P1");
    strcpy(person.region, "1101");
    assert_int_equal(fl_person_add(client, &person, NULL), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fl_client_error(client), "region"));
    assert_int_equal(fl_person_get(client, "P1", NULL), FL_ERR_UNKNOWN_PERSON);
    employee_make(client, "E1", "110101", 0);
    assert_int_equal(fl_account_credit(client, "E1", 0, FL_CREDIT_DEPOSIT, "r", NULL),
                     FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fl_client_error(client), "amount"));
    fl_client_set_operator(client, "bad operator with spaces");
    assert_int_equal(fl_head_get(client, &(fl_head){0}), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fl_client_error(client), "operator"));
    fl_client_close(client);
}

static void test_pipelined_requests_are_answered_in_order(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 0);
    fl_client_close(client);

    enum { COUNT = 300 };
    int fd = raw_connect(daemon);
    size_t total = 0;
    uint8_t *stream = malloc(COUNT * 128);
    for (int i = 0; i < COUNT; i++) { /* reads and writes interleaved, in one send */
        Famledger__Request request = FAMLEDGER__REQUEST__INIT;
        Famledger__CreditRequest credit = FAMLEDGER__CREDIT_REQUEST__INIT;
        Famledger__AccountGetRequest get = FAMLEDGER__ACCOUNT_GET_REQUEST__INIT;
        char reference[32];
        request.request_id = 1000 + (uint64_t)i;
        if (i % 2 == 0) {
            snprintf(reference, sizeof(reference), "pipe-%d", i);
            credit.person_no = (char *)"E1";
            credit.amount_fen = 1;
            credit.reference = reference;
            request.body_case = FAMLEDGER__REQUEST__BODY_CREDIT;
            request.credit = &credit;
        } else {
            get.person_no = (char *)"E1";
            request.body_case = FAMLEDGER__REQUEST__BODY_ACCOUNT_GET;
            request.account_get = &get;
        }
        size_t bytes = famledger__request__pack(&request, stream + total + 4);
        stream[total] = stream[total + 1] = 0;
        stream[total + 2] = (uint8_t)(bytes >> 8);
        stream[total + 3] = (uint8_t)bytes;
        total += 4 + bytes;
    }
    raw_send(fd, stream, total);
    int64_t last_balance = 0;
    for (int i = 0; i < COUNT; i++) {
        Famledger__Response *response = raw_read_response(fd);
        assert_non_null(response);
        assert_int_equal(response->request_id, 1000 + (uint64_t)i);
        assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
        /* A read after a write sees it: replies leave in order, writes after their commit. */
        if (i % 2 == 1) {
            assert_int_equal(response->account->account->balance_fen, (i + 1) / 2);
            last_balance = response->account->account->balance_fen;
        }
        famledger__response__free_unpacked(response, NULL);
    }
    assert_int_equal(last_balance, COUNT / 2);
    free(stream);
    close(fd);
}

static void test_a_peer_without_the_role_is_denied(void **state)
{
    struct daemon_handle *daemon = *state;
    daemon_stop(daemon);
    char uid[16];
    snprintf(uid, sizeof(uid), "%u", (unsigned)getuid() + 4242);
    /* Our uid keeps audit (the default) but loses admin to someone else. */
    const char *args[] = {"--admin-uids", uid, NULL};
    daemon_restart(daemon, args);
    fl_client *client = client_open(daemon);
    fl_person person = {.scheme = FL_SCHEME_EMPLOYEE};
    strcpy(person.person_no, "P1");
    strcpy(person.name, "x");
    strcpy(person.region, "110101");
    assert_int_equal(fl_person_add(client, &person, NULL), FL_ERR_PERMISSION_DENIED);
    assert_non_null(strstr(fl_client_error(client), "admin"));
    /* Money the fund pays out, or takes back, moves on an administrator's word only. */
    assert_int_equal(fl_payout_make(client, "PH1", NULL, 100, "p1", NULL),
                     FL_ERR_PERMISSION_DENIED);
    assert_int_equal(fl_recover(client, "PH1", 100, "k1", NULL), FL_ERR_PERMISSION_DENIED);
    fl_head head;
    assert_int_equal(fl_head_get(client, &head), 0); /* audit may read */
    assert_int_equal(head.seq, 0);
    fl_client_close(client);
}

static void test_the_socket_is_not_open_to_others(void **state)
{
    struct daemon_handle *daemon = *state;
    struct stat info;
    assert_int_equal(stat(daemon->socket_path, &info), 0);
    assert_int_equal(info.st_mode & 0777, 0660);
}

/* A connection the daemon serves. The harness's own readiness probes count against the limit
 * until the daemon has noticed they hung up, so BUSY here is retried for a while. */
static fl_client *client_open_served(const struct daemon_handle *daemon)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        fl_client *client = client_open(daemon);
        fl_head head;
        int rc = fl_head_get(client, &head);
        if (rc == 0)
            return client;
        assert_int_equal(rc, FL_ERR_BUSY);
        fl_client_close(client);
        usleep(10000);
    }
    fail_msg("no connection was served");
    return NULL;
}

static void test_connections_over_the_limit_are_told_busy(void **state)
{
    struct daemon_handle *daemon = *state;
    daemon_stop(daemon);
    const char *args[] = {"--connections-max", "2", NULL};
    daemon_restart(daemon, args);
    fl_client *first = client_open_served(daemon), *second = client_open_served(daemon);
    fl_client *third = client_open(daemon);
    fl_head head;
    assert_int_equal(fl_head_get(third, &head), FL_ERR_BUSY);
    assert_non_null(strstr(fl_client_error(third), "too many connections"));
    fl_client_close(third);
    fl_client_close(second);
    /* A freed place is served again. */
    fl_client *fourth = client_open_served(daemon);
    fl_client_close(fourth);
    fl_client_close(first);
}

static void test_sigterm_answers_requests_in_flight_and_keeps_every_acknowledged_one(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 0);
    fl_client_close(client);

    enum { COUNT = 200 };
    int fd = raw_connect(daemon);
    for (int i = 0; i < COUNT; i++) {
        Famledger__CreditRequest credit = FAMLEDGER__CREDIT_REQUEST__INIT;
        char reference[32];
        snprintf(reference, sizeof(reference), "term-%d", i);
        credit.person_no = (char *)"E1";
        credit.amount_fen = 1;
        credit.reference = reference;
        Famledger__Request request = FAMLEDGER__REQUEST__INIT;
        request.request_id = (uint64_t)i + 1;
        request.body_case = FAMLEDGER__REQUEST__BODY_CREDIT;
        request.credit = &credit;
        raw_send_request(fd, &request);
    }
    /* Once the first reply is back, the daemon has read requests that are now in flight. */
    Famledger__Response *response = raw_read_response(fd);
    assert_non_null(response);
    assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
    famledger__response__free_unpacked(response, NULL);
    int acknowledged = 1, answered = 1;
    bool refusing = false;
    kill(daemon->pid, SIGTERM);
    /* Replies stay in order: every request that started is answered OK, then those read but
     * not started are answered SHUTTING_DOWN; none is lost in between. */
    while ((response = raw_read_response(fd)) != NULL) {
        assert_int_equal(response->request_id, (uint64_t)answered + 1);
        answered++;
        if (response->status == FAMLEDGER__STATUS__STATUS_SHUTTING_DOWN)
            refusing = true;
        else {
            assert_false(refusing);
            assert_int_equal(response->status, FAMLEDGER__STATUS__STATUS_OK);
            acknowledged++;
        }
        famledger__response__free_unpacked(response, NULL);
    }
    close(fd);
    assert_int_equal(daemon_stop(daemon), 0);
    daemon_restart(daemon, NULL);
    client = client_open(daemon);
    assert_int_equal(balance_of(client, "E1"), acknowledged);
    fl_client_close(client);
}

struct hammer {
    const struct daemon_handle *daemon;
    int thread;
    int ok;
};

static void *hammer_run(void *argument)
{
    struct hammer *hammer = argument;
    fl_client *client = client_open(hammer->daemon);
    for (int i = 0; i < 100; i++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "t%d-%d", hammer->thread, i);
        if (fl_account_credit(client, "E1", 3, FL_CREDIT_DEPOSIT, reference, NULL) == 0)
            hammer->ok++;
    }
    fl_client_close(client);
    return NULL;
}

static void test_concurrent_clients_lose_no_credit(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 0);
    enum { THREADS = 8 };
    pthread_t threads[THREADS];
    struct hammer hammers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        hammers[i] = (struct hammer){.daemon = daemon, .thread = i};
        pthread_create(&threads[i], NULL, hammer_run, &hammers[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(hammers[i].ok, 100);
    }
    assert_int_equal(balance_of(client, "E1"), THREADS * 100 * 3);
    fl_client_close(client);
}

static void test_a_full_ledger_refuses_writes_and_loses_nothing_acknowledged(void **state)
{
    struct daemon_handle *daemon = *state;
    daemon_stop(daemon);
    const char *small[] = {"--map-mib", "1", "--map-mib-max", "2", NULL};
    daemon_restart(daemon, small);
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 0);
    int acknowledged = 0, rc = 0;
    char reference[72];
    for (int i = 0; i < 100000 && rc == 0; i++) {
        /* Long references fill the map quickly. */
        snprintf(reference, sizeof(reference), "%06d-%057d", i, 0);
        rc = fl_account_credit(client, "E1", 1, FL_CREDIT_DEPOSIT, reference, NULL);
        if (rc == 0)
            acknowledged++;
    }
    assert_int_equal(rc, FL_ERR_OUT_OF_SPACE);
    assert_true(acknowledged > 100);
    assert_int_equal(balance_of(client, "E1"), acknowledged); /* reads still work */
    fl_client_close(client);

    assert_int_equal(daemon_stop(daemon), 0);
    const char *larger[] = {"--map-mib", "1", "--map-mib-max", "64", NULL};
    daemon_restart(daemon, larger);
    client = client_open(daemon);
    assert_int_equal(balance_of(client, "E1"), acknowledged);
    assert_int_equal(fl_account_credit(client, "E1", 1, FL_CREDIT_DEPOSIT, "after-growth", NULL),
                     0);
    fl_client_close(client);
}

/* A province has tens of thousands of designated pharmacies; the daemon answers a page of
 * 1,000. Before paging, the list stopped at the first 1,000 without a word, and the nightly
 * job reconciled only those. */
static void test_every_merchant_is_listed_a_page_at_a_time(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    enum { MERCHANTS = 1001 };
    for (int i = 0; i < MERCHANTS; i++) {
        fl_merchant merchant = {.kind = FL_MERCHANT_PHARMACY, .region = "110101"};
        snprintf(merchant.code, sizeof(merchant.code), "M%04d", i);
        snprintf(merchant.name, sizeof(merchant.name), "Pharmacy %d", i);
        assert_int_equal(fl_merchant_add(client, &merchant, NULL), 0);
    }
    static fl_merchant merchants[MERCHANTS + 10];
    size_t count;
    assert_int_equal(fl_merchant_list(client, merchants, MERCHANTS + 10, &count), 0);
    assert_int_equal(count, MERCHANTS);
    for (size_t i = 0; i < count; i++) {
        char code[FL_PERSON_NO_MAX + 1];
        snprintf(code, sizeof(code), "M%04zu", i);
        assert_string_equal(merchants[i].code, code);
    }

    bool more;
    assert_int_equal(fl_merchant_list_after(client, NULL, merchants, 1000, &count, &more), 0);
    assert_int_equal(count, 1000);
    assert_true(more);
    assert_int_equal(fl_merchant_list_after(client, merchants[999].code, merchants, 1000,
                                            &count, &more), 0);
    assert_int_equal(count, 1);
    assert_string_equal(merchants[0].code, "M1000");
    assert_false(more);
    assert_int_equal(fl_merchant_list_after(client, "M1000", merchants, 1000, &count, &more), 0);
    assert_int_equal(count, 0);
    assert_false(more);
    /* Three at a time: pages of the caller's size, each after the last. */
    assert_int_equal(fl_merchant_list_after(client, "M0500", merchants, 3, &count, &more), 0);
    assert_int_equal(count, 3);
    assert_string_equal(merchants[2].code, "M0503");
    assert_true(more);
    assert_int_equal(fl_merchant_list_after(client, "not a code", merchants, 3, &count, &more),
                     FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fl_merchant_list_after(client, "M0500M0500M0500M0500M0500M0500M05",
                                            merchants, 3, &count, &more),
                     FL_ERR_INVALID_ARGUMENT); /* longer than a code: not cut to one */
    fl_client_close(client);
}

/* Stops the stream at entry 3, after noting the last entry it took. */
static int stop_at_third_cb(void *context, const fl_stream_event *event)
{
    uint64_t *taken = context;
    if (event->entry.seq == 3)
        return 77;
    *taken = event->entry.seq;
    return 0;
}

/* Counts the entries it takes and notes the first. */
struct entries_seen {
    uint64_t first, count;
};

static int count_cb(void *context, const fl_stream_event *event)
{
    struct entries_seen *seen = context;
    if (seen->count++ == 0)
        seen->first = event->entry.seq;
    return 0;
}

/* A consumer that stops at an entry it could not handle (its output failed) resumes from
 * *next_seq and misses nothing: that entry comes again. */
static void test_a_subscriber_that_stops_resumes_at_the_entry_it_stopped_on(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    employee_make(client, "E1", "110101", 0);
    for (int i = 0; i < 3; i++) {
        char reference[16];
        snprintf(reference, sizeof(reference), "dep-%d", i);
        assert_int_equal(fl_account_credit(client, "E1", 100, FL_CREDIT_DEPOSIT, reference,
                                           NULL), 0);
    }
    fl_head head;
    assert_int_equal(fl_head_get(client, &head), 0);
    fl_client_close(client);

    fl_client *stream = client_open(daemon);
    uint64_t taken = 0, next = 0;
    assert_int_equal(fl_subscribe(stream, 1, false, stop_at_third_cb, &taken, &next), 77);
    assert_int_equal(taken, 2);
    assert_int_equal(next, 3);
    fl_client_close(stream);

    stream = client_open(daemon);
    struct entries_seen seen = {0};
    assert_int_equal(fl_subscribe(stream, next, false, count_cb, &seen, &next), 0);
    assert_int_equal(seen.first, 3);
    assert_int_equal(seen.count, head.seq - 2);
    assert_int_equal(next, head.seq + 1);
    fl_client_close(stream);
}

/* Credits for `person_no` on `client`, each checked against its own reply: how many replies
 * were another request's. No cmocka assertion: it runs in a forked child too. */
static int credits_answered_as_asked(fl_client *client, const char *person_no, int count)
{
    int wrong = 0;
    for (int i = 1; i <= count; i++) {
        char reference[40];
        snprintf(reference, sizeof(reference), "fork-%s-%d", person_no, i);
        fl_credit_result result;
        if (fl_account_credit(client, person_no, i, FL_CREDIT_DEPOSIT, reference, &result) != 0 ||
            strcmp(result.person_no, person_no) != 0 || result.amount_fen != i ||
            strcmp(result.reference, reference) != 0)
            wrong++;
    }
    return wrong;
}

/* A handle opened before fork() and used on both sides of it (a pre-forking settlement server):
 * each process must get its own answers. Both number their requests from the same count, so on
 * one connection a credit could be answered with the other's result. */
static void test_a_handle_used_on_both_sides_of_fork_answers_each_its_own(void **state)
{
    struct daemon_handle *daemon = *state;
    fl_client *client = client_open(daemon);
    employee_make(client, "PARENT", "110101", 0);
    employee_make(client, "CHILD", "110101", 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int wrong = credits_answered_as_asked(client, "CHILD", 200);
        fl_client_close(client);
        _exit(wrong ? 1 : 0); /* not exit(): the harness's atexit would stop the daemon */
    }
    assert_int_equal(credits_answered_as_asked(client, "PARENT", 200), 0);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(balance_of(client, "PARENT"), 200 * 201 / 2);
    assert_int_equal(balance_of(client, "CHILD"), 200 * 201 / 2);
    fl_client_close(client);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_balances_and_statements_survive_a_restart),
        TEST(test_a_retried_credit_is_answered_once_and_a_changed_one_refused),
        TEST(test_a_frame_that_is_not_a_request_gets_an_error_and_the_connection_lives),
        TEST(test_an_oversized_length_gets_an_error_then_a_closed_connection),
        TEST(test_a_request_without_a_known_body_is_unsupported),
        TEST(test_a_half_sent_frame_then_hang_up_costs_nothing),
        TEST(test_invalid_fields_are_named_in_the_error),
        TEST(test_pipelined_requests_are_answered_in_order),
        TEST(test_a_peer_without_the_role_is_denied),
        TEST(test_the_socket_is_not_open_to_others),
        TEST(test_connections_over_the_limit_are_told_busy),
        TEST(test_sigterm_answers_requests_in_flight_and_keeps_every_acknowledged_one),
        TEST(test_concurrent_clients_lose_no_credit),
        TEST(test_a_full_ledger_refuses_writes_and_loses_nothing_acknowledged),
        TEST(test_every_merchant_is_listed_a_page_at_a_time),
        TEST(test_a_subscriber_that_stops_resumes_at_the_entry_it_stopped_on),
        TEST(test_a_handle_used_on_both_sides_of_fork_answers_each_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
