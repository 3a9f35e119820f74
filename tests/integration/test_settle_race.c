/* test_settle_race.c -- settlements of many connections racing on one family never overdraw,
 * racing retries of one reference settle once, and held quotes keep their legs whatever races
 * them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 8, SETTLEMENTS = 150 };

static const char *const family[] = {"CHILD", "FATHER", "MOTHER", "GRANDMA"};
static const int64_t initial_fen[] = {1000, 50000, 30000, 20000};

struct racer {
    const struct daemon_handle *daemon;
    int thread;
    /* What each settlement reported, by index; a pair of threads shares references. */
    uint64_t ids[SETTLEMENTS];
    int64_t from_accounts_fen[SETTLEMENTS];
    bool replayed[SETTLEMENTS];
    int failures;
};

static void *racer_run(void *argument)
{
    struct racer *racer = argument;
    fl_client *client = client_open(racer->daemon);
    for (int i = 0; i < SETTLEMENTS; i++) {
        char reference[32];
        /* Threads 2k and 2k+1 send the same requests, as a retrying pharmacy would. */
        snprintf(reference, sizeof(reference), "race-%d-%d", racer->thread / 2, i);
        fl_settle_request request = {
            .merchant_code = "PH001",
            .merchant_reference = reference,
            .patient = i % 3 == 0 ? "FATHER" : "CHILD",
            .amount_fen = 50 + (racer->thread / 2 * 37 + i * 53) % 400,
            .all_or_nothing = i % 5 == 0,
        };
        fl_settlement settlement;
        int rc = fl_settle(client, &request, &settlement);
        if (rc == FL_ERR_INSUFFICIENT_FUNDS)
            continue;
        if (rc != 0 || settlement.acct_pay_fen + settlement.acct_mulaid_pay_fen +
                               settlement.cash_pay_fen != request.amount_fen) {
            racer->failures++;
            continue;
        }
        for (size_t leg = 0; leg < settlement.leg_count; leg++)
            if (settlement.legs[leg].balance_after_fen < 0)
                racer->failures++;
        racer->ids[i] = settlement.settlement_id;
        racer->from_accounts_fen[i] = settlement.acct_pay_fen + settlement.acct_mulaid_pay_fen;
        racer->replayed[i] = settlement.replayed;
    }
    fl_client_close(client);
    return NULL;
}

static void test_racing_settlements_never_overdraw_and_retries_settle_once(void **state)
{
    (void)state;
    struct daemon_handle daemon;
    daemon_start(&daemon, NULL);
    fl_client *client = client_open(&daemon);
    int64_t total_before = 0;
    for (int i = 0; i < 4; i++) {
        employee_make(client, family[i], "110101", initial_fen[i]);
        total_before += initial_fen[i];
    }
    assert_int_equal(fl_family_bind(client, "FATHER", "CHILD", FL_RELATION_CHILD, NULL), 0);
    assert_int_equal(fl_family_bind(client, "MOTHER", "CHILD", FL_RELATION_CHILD, NULL), 0);
    assert_int_equal(fl_family_bind(client, "GRANDMA", "CHILD", FL_RELATION_PATERNAL_GRANDCHILD,
                                    NULL), 0);
    assert_int_equal(fl_family_bind(client, "MOTHER", "FATHER", FL_RELATION_SPOUSE, NULL), 0);
    fl_merchant pharmacy = {.kind = FL_MERCHANT_PHARMACY};
    strcpy(pharmacy.code, "PH001");
    strcpy(pharmacy.name, "Pharmacy");
    strcpy(pharmacy.region, "110101");
    assert_int_equal(fl_merchant_add(client, &pharmacy, NULL), 0);

    static struct racer racers[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        racers[t] = (struct racer){.daemon = &daemon, .thread = t};
        pthread_create(&threads[t], NULL, racer_run, &racers[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);

    int64_t taken = 0;
    int replays = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(racers[t].failures, 0);
        for (int i = 0; i < SETTLEMENTS; i++) {
            struct racer *twin = &racers[t ^ 1];
            /* Both twins saw the same settlement, and exactly one of them made it. */
            assert_int_equal(racers[t].ids[i], twin->ids[i]);
            if (racers[t].ids[i] == 0)
                continue;
            assert_true(racers[t].replayed[i] != twin->replayed[i]);
            if (racers[t].replayed[i])
                replays++;
            else
                taken += racers[t].from_accounts_fen[i];
        }
    }
    assert_true(replays > 0);
    int64_t total_after = 0;
    for (int i = 0; i < 4; i++) {
        int64_t balance = balance_of(client, family[i]);
        assert_true(balance >= 0);
        total_after += balance;
    }
    assert_int_equal(total_before - total_after, taken);
    assert_true(total_after < total_before / 10); /* the race did drain the family */
    fl_client_close(client);
    assert_int_equal(daemon_stop(&daemon), 0);
    daemon_remove(&daemon);
}

/* ---- settlements racing their own reversals (2601) ---- */

enum { REVERSALS = 120 };


/* FATHER (an employee with `balance_fen`) funds CHILD (a resident); pharmacy PH001. */
static void father_and_child_make(fl_client *client, int64_t balance_fen)
{
    employee_make(client, "FATHER", "110101", balance_fen);
    assert_int_equal(fl_person_add(client, &(fl_person){.person_no = "CHILD", .name = "C",
                                                        .region = "110101",
                                                        .scheme = FL_SCHEME_RESIDENT}, NULL), 0);
    assert_int_equal(fl_family_bind(client, "FATHER", "CHILD", FL_RELATION_CHILD, NULL), 0);
    fl_merchant pharmacy = {.kind = FL_MERCHANT_PHARMACY};
    strcpy(pharmacy.code, "PH001");
    strcpy(pharmacy.name, "Pharmacy");
    strcpy(pharmacy.region, "110101");
    assert_int_equal(fl_merchant_add(client, &pharmacy, NULL), 0);
}

struct reverser {
    const struct daemon_handle *daemon;
    bool reverse;            /* else settle */
    int failures;
    int refused;             /* settles answered REVERSED */
};

static void *reverser_run(void *argument)
{
    struct reverser *racer = argument;
    fl_client *client = client_open(racer->daemon);
    for (int i = 0; i < REVERSALS; i++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "rv-%d", i);
        int rc;
        if (racer->reverse) {
            rc = fl_reverse(client, "PH001", reference, NULL);
        } else {
            fl_settle_request request = {.merchant_code = "PH001", .merchant_reference = reference,
                                         .patient = "CHILD", .amount_fen = 100 + i};
            fl_settlement settlement;
            rc = fl_settle(client, &request, &settlement);
            if (rc == FL_ERR_REVERSED) {
                racer->refused++;
                rc = 0;
            }
        }
        if (rc)
            racer->failures++;
    }
    fl_client_close(client);
    return NULL;
}

static void test_settlements_racing_their_reversals_move_no_money(void **state)
{
    (void)state;
    struct daemon_handle daemon;
    daemon_start(&daemon, NULL);
    fl_client *client = client_open(&daemon);
    father_and_child_make(client, 1000000);

    /* Two settlers and two reversers: a pharmacy retrying, and its 2601 racing it. */
    static struct reverser racers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        racers[t] = (struct reverser){.daemon = &daemon, .reverse = t >= 2};
        pthread_create(&threads[t], NULL, reverser_run, &racers[t]);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(threads[t], NULL);
    for (int t = 0; t < 4; t++)
        assert_int_equal(racers[t].failures, 0);

    /* Every reference ends reversed: settled and cancelled, or refused when it came late. */
    for (int i = 0; i < REVERSALS; i++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "rv-%d", i);
        static fl_settlement settlement;
        int rc = fl_settlement_find(client, "PH001", reference, &settlement);
        assert_true(rc == FL_ERR_REVERSED || (rc == 0 && settlement.cancelled &&
                                              settlement.refunded_fen ==
                                                  settlement.acct_mulaid_pay_fen));
    }
    assert_int_equal(balance_of(client, "FATHER"), 1000000);
    fl_books_totals totals;
    assert_int_equal(fl_trial_balance(client, &totals), 0);
    assert_int_equal(totals.total_fen, 0);
    assert_int_equal(totals.class_total_fen[FL_CLASS_MERCHANT_PAYABLE], 0);
    assert_int_equal(totals.class_total_fen[FL_CLASS_PERSONAL], 1000000);
    fl_verify_report report;
    assert_int_equal(fl_verify(client, &report, NULL, NULL), 0);
    assert_true(report.ok);
    fl_client_close(client);
    assert_int_equal(daemon_stop(&daemon), 0);
    daemon_remove(&daemon);
}

/* ---- holds racing settlements ---- */

enum { HOLD_ROUNDS = 60 };

struct holder_racer {
    const struct daemon_handle *daemon;
    int thread;
    bool holds; /* places holds and captures them; else settles plainly */
    int64_t taken_fen;
    int failures;
};

static bool legs_equal(const fl_settlement *a, const fl_settlement *b)
{
    if (a->leg_count != b->leg_count)
        return false;
    for (size_t i = 0; i < a->leg_count; i++)
        if (strcmp(a->legs[i].holder, b->legs[i].holder) != 0 ||
            a->legs[i].amount_fen != b->legs[i].amount_fen ||
            a->legs[i].wallet != b->legs[i].wallet)
            return false;
    return true;
}

static void *holder_racer_run(void *argument)
{
    struct holder_racer *racer = argument;
    fl_client *client = client_open(racer->daemon);
    static __thread fl_hold hold;
    static __thread fl_settlement settlement;
    for (int i = 0; i < HOLD_ROUNDS; i++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "h%d-%d", racer->thread, i);
        fl_settle_request request = {.merchant_code = "PH001", .merchant_reference = reference,
                                     .patient = "CHILD", .amount_fen = 300 + i % 7 * 50};
        if (!racer->holds) {
            if (fl_settle(client, &request, &settlement) != 0)
                racer->failures++;
            racer->taken_fen += settlement.acct_pay_fen + settlement.acct_mulaid_pay_fen;
            continue;
        }
        if (fl_hold_make(client, &request, 60, &hold) != 0) {
            racer->failures++;
            continue;
        }
        request.hold_id = hold.hold_id;
        /* Whatever the plain settlers took meanwhile, the capture gets exactly the held legs. */
        if (fl_settle(client, &request, &settlement) != 0 ||
            !legs_equal(&settlement, &hold.quote) || settlement.hold_id != hold.hold_id)
            racer->failures++;
        racer->taken_fen += settlement.acct_pay_fen + settlement.acct_mulaid_pay_fen;
    }
    fl_client_close(client);
    return NULL;
}

static void test_holds_racing_settlements_keep_every_promise(void **state)
{
    (void)state;
    struct daemon_handle daemon;
    daemon_start(&daemon, NULL);
    fl_client *client = client_open(&daemon);
    const int64_t initial = 30000; /* less than the racers ask for: they compete for it */
    father_and_child_make(client, initial);

    static struct holder_racer racers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        racers[t] = (struct holder_racer){.daemon = &daemon, .thread = t, .holds = t < 2};
        pthread_create(&threads[t], NULL, holder_racer_run, &racers[t]);
    }
    int64_t taken = 0;
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(racers[t].failures, 0);
        taken += racers[t].taken_fen;
    }
    fl_account account;
    assert_int_equal(fl_account_get(client, "FATHER", &account), 0);
    assert_int_equal(account.held_fen, 0);
    assert_int_equal(account.balance_fen, initial - taken);
    fl_books_totals totals;
    assert_int_equal(fl_trial_balance(client, &totals), 0);
    assert_int_equal(totals.total_fen, 0);
    fl_verify_report report;
    assert_int_equal(fl_verify(client, &report, NULL, NULL), 0);
    assert_true(report.ok);
    fl_client_close(client);
    assert_int_equal(daemon_stop(&daemon), 0);
    daemon_remove(&daemon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_racing_settlements_never_overdraw_and_retries_settle_once),
        cmocka_unit_test(test_settlements_racing_their_reversals_move_no_money),
        cmocka_unit_test(test_holds_racing_settlements_keep_every_promise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
