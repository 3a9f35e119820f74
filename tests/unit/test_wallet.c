/* test_wallet.c -- the wallet (医保钱包), held quotes, aid limits and the scheduler, through the
 * dispatch table: the edges an end-to-end run does not reach easily. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"

#include "books.h"
#include "due.h"

#include <time.h>

static Famledger__Response *last;

static int run(struct fixture *f, Famledger__Request__BodyCase body_case, void *body)
{
    last = NULL;
    return fixture_body(f, body_case, body, &last);
}

static int wallet_send(struct fixture *f, const char *holder, const char *beneficiary,
                       int64_t amount_fen, const char *reference)
{
    Famledger__WalletSendRequest *body = ARENA_NEW(&f->arena, Famledger__WalletSendRequest);
    famledger__wallet_send_request__init(body);
    body->holder = (char *)holder;
    body->beneficiary = (char *)beneficiary;
    body->amount_fen = amount_fen;
    body->reference = (char *)reference;
    return run(f, FAMLEDGER__REQUEST__BODY_WALLET_SEND, body);
}

static int wallet_answer(struct fixture *f, const char *reference, bool accept)
{
    Famledger__WalletSendCloseRequest *body =
        ARENA_NEW(&f->arena, Famledger__WalletSendCloseRequest);
    famledger__wallet_send_close_request__init(body);
    body->reference = (char *)reference;
    return run(f, accept ? FAMLEDGER__REQUEST__BODY_WALLET_ACCEPT
                         : FAMLEDGER__REQUEST__BODY_WALLET_DECLINE, body);
}

static int64_t wallet_balance(struct fixture *f, const char *person_no)
{
    Famledger__WalletGetRequest *body = ARENA_NEW(&f->arena, Famledger__WalletGetRequest);
    famledger__wallet_get_request__init(body);
    body->person_no = (char *)person_no;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_WALLET_GET, body), 0);
    return last->wallet->balance_fen;
}

static int settle(struct fixture *f, const char *reference, const char *patient,
                  int64_t amount_fen, uint64_t hold_id)
{
    Famledger__SettleRequest body = FAMLEDGER__SETTLE_REQUEST__INIT;
    body.merchant_code = (char *)"P1";
    body.merchant_reference = (char *)reference;
    body.patient = (char *)patient;
    body.amount_fen = amount_fen;
    body.hold_id = hold_id;
    last = NULL;
    return fixture_settle(f, false, &body, &last);
}

static int hold(struct fixture *f, const char *reference, const char *patient,
                int64_t amount_fen, uint32_t seconds)
{
    Famledger__SettleRequest *quote = ARENA_NEW(&f->arena, Famledger__SettleRequest);
    famledger__settle_request__init(quote);
    quote->merchant_code = (char *)"P1";
    quote->merchant_reference = (char *)reference;
    quote->patient = (char *)patient;
    quote->amount_fen = amount_fen;
    Famledger__HoldRequest *body = ARENA_NEW(&f->arena, Famledger__HoldRequest);
    famledger__hold_request__init(body);
    body->quote = quote;
    body->hold_seconds = seconds;
    return run(f, FAMLEDGER__REQUEST__BODY_HOLD, body);
}

static int64_t trial_total(struct fixture *f, Famledger__AccountClass account_class)
{
    Famledger__TrialBalanceRequest body = FAMLEDGER__TRIAL_BALANCE_REQUEST__INIT;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_TRIAL_BALANCE, &body), 0);
    assert_int_equal(last->trial_balance->total_fen, 0);
    return last->trial_balance->classes[account_class - 1]->balance_fen;
}

/* The scheduler's run at `time_us`, as the daemon makes it: one write transaction. */
static unsigned due_run_at(struct fixture *f, int64_t time_us)
{
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    struct request_ctx ctx = {.txn = txn, .arena = &f->arena, .config = &f->config,
                              .time_us = time_us, .operator_id = "famledgerd",
                              .response = &response};
    unsigned applied;
    bool more;
    assert_int_equal(due_run(&ctx, &applied, &more), 0);
    assert_int_equal(store_commit(txn), 0);
    return applied;
}

static void setup_family(struct fixture *f)
{
    /* No quiet hours: these tests run at any time of day. */
    f->config.wallet_quiet_start_min = f->config.wallet_quiet_end_min = 0;
    assert_int_equal(fixture_employee(f, "H", "510100"), 0);
    assert_int_equal(fixture_credit(f, "H", 100000, "c-h", NULL), 0);
    assert_int_equal(fixture_person_add(f, "B", "510100", FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
    assert_int_equal(fixture_bind(f, "H", "B", FAMLEDGER__RELATION__RELATION_PARENT), 0);
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
}

static void test_own_account_wallet_and_sixteen_funders_make_eighteen_legs(void **state)
{
    struct fixture *f = *state;
    f->config.bindings_per_beneficiary_max = BINDINGS_PER_BENEFICIARY_LIMIT;
    f->config.wallet_requires_binding = 0; /* H sends without funding PT directly */
    setup_family(f);
    assert_int_equal(fixture_employee(f, "PT", "510100"), 0);
    assert_int_equal(fixture_credit(f, "PT", 100, "c-pt", NULL), 0);
    assert_int_equal(wallet_send(f, "H", "PT", 100, "w-pt"), 0);
    assert_int_equal(wallet_answer(f, "w-pt", true), 0);
    for (int i = 0; i < BINDINGS_PER_BENEFICIARY_LIMIT; i++) {
        char holder[8], reference[16];
        snprintf(holder, sizeof(holder), "F%d", i);
        snprintf(reference, sizeof(reference), "c-%s", holder);
        assert_int_equal(fixture_employee(f, holder, "510100"), 0);
        assert_int_equal(fixture_credit(f, holder, 100, reference, NULL), 0);
        assert_int_equal(fixture_bind(f, holder, "PT", FAMLEDGER__RELATION__RELATION_SIBLING), 0);
    }
    /* 1.00 own, 1.00 wallet, 16 x 1.00 from the funders. */
    assert_int_equal(settle(f, "s-all", "PT", 1800, 0), 0);
    const Famledger__Settlement *s = last->settlement->settlement;
    assert_int_equal(s->n_legs, LEGS_MAX);
    assert_true(s->legs[1]->wallet);
    assert_int_equal(s->acct_pay_fen, 200); /* own account and wallet */
    assert_int_equal(s->acct_mulaid_pay_fen, 1600);
    assert_int_equal(s->cash_pay_fen, 0);
    Famledger__RefundRequest *cancel = ARENA_NEW(&f->arena, Famledger__RefundRequest);
    famledger__refund_request__init(cancel);
    cancel->merchant_code = (char *)"P1";
    cancel->merchant_reference = (char *)"x-all";
    cancel->settlement_id = s->settlement_id;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CANCEL, cancel), 0);
    assert_int_equal(wallet_balance(f, "PT"), 100);
    assert_int_equal(trial_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET), 100);
}

static void test_quiet_hours_span_midnight_and_equal_times_mean_none(void **state)
{
    struct fixture *f = *state;
    setup_family(f);
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    unsigned minute = (unsigned)(local.tm_hour * 60 + local.tm_min);
    /* From a minute ago to two minutes on, across midnight when it is near. */
    f->config.wallet_quiet_start_min = (minute + 1439) % 1440;
    f->config.wallet_quiet_end_min = (minute + 2) % 1440;
    assert_int_equal(wallet_send(f, "H", "B", 100, "w-quiet"), FL_ERR_WALLET_QUIET_HOURS);
    /* Quiet except now: from two minutes on to a minute ago. */
    f->config.wallet_quiet_start_min = (minute + 2) % 1440;
    f->config.wallet_quiet_end_min = (minute + 1439) % 1440;
    assert_int_equal(wallet_send(f, "H", "B", 100, "w-open"), 0);
    assert_int_equal(last->wallet_send->send->state,
                     FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING);
}

static void test_the_scheduler_returns_a_send_once_and_not_before_its_time(void **state)
{
    struct fixture *f = *state;
    setup_family(f);
    assert_int_equal(wallet_send(f, "H", "B", 2500, "w1"), 0);
    int64_t return_at = last->wallet_send->send->return_at_us;
    assert_true(return_at > request_clock_us());
    assert_int_equal(fixture_balance(f, "H"), 100000 - 2500);
    assert_int_equal(due_run_at(f, return_at - 1), 0);
    assert_int_equal(due_run_at(f, return_at), 1);
    assert_int_equal(due_run_at(f, return_at + 1000000), 0);
    assert_int_equal(fixture_balance(f, "H"), 100000);
    assert_int_equal(wallet_answer(f, "w1", true), FL_ERR_WALLET_SEND_CLOSED);
    assert_int_equal(trial_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_WALLET_PENDING), 0);
    /* A new send may start once the first is back. */
    assert_int_equal(wallet_send(f, "H", "B", 100, "w2"), 0);
}

static void test_a_send_that_returns_to_a_closed_account_is_owed_in_cash(void **state)
{
    struct fixture *f = *state;
    setup_family(f);
    assert_int_equal(wallet_send(f, "H", "B", 2500, "w1"), 0);
    int64_t return_at = last->wallet_send->send->return_at_us;
    Famledger__WithdrawRequest *withdraw = ARENA_NEW(&f->arena, Famledger__WithdrawRequest);
    famledger__withdraw_request__init(withdraw);
    withdraw->person_no = (char *)"H";
    withdraw->reason = FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT;
    withdraw->reference = (char *)"w-out";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_WITHDRAW, withdraw), 0);
    assert_int_equal(due_run_at(f, return_at), 1);
    int64_t due;
    struct store_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(books_balance_get(txn, &f->arena,
                                       FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE,
                                       "H", &due), 0);
    store_read_end(txn);
    assert_int_equal(due, 2500);
    assert_int_equal(fixture_balance(f, "H"), 0);
}

static void test_a_deceased_beneficiary_cannot_accept_and_the_send_goes_back(void **state)
{
    struct fixture *f = *state;
    setup_family(f);
    assert_int_equal(wallet_send(f, "H", "B", 2500, "w1"), 0);
    int64_t return_at = last->wallet_send->send->return_at_us;
    Famledger__PersonDeceasedRequest *died = ARENA_NEW(&f->arena, Famledger__PersonDeceasedRequest);
    famledger__person_deceased_request__init(died);
    died->person_no = (char *)"B";
    died->evidence = (char *)"D-1";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_DECEASED, died), 0);
    assert_int_equal(wallet_answer(f, "w1", true), FL_ERR_PERSON_DECEASED);
    assert_int_equal(wallet_answer(f, "w1", false), 0);
    assert_int_equal(fixture_balance(f, "H"), 100000);
    assert_int_equal(due_run_at(f, return_at), 0); /* its timer went with it */
}

static void test_a_hold_reserves_wallet_money_and_a_frozen_funder_voids_its_capture(void **state)
{
    struct fixture *f = *state;
    setup_family(f);
    assert_int_equal(wallet_send(f, "H", "B", 3000, "w1"), 0);
    assert_int_equal(wallet_answer(f, "w1", true), 0);
    /* 50.00: 30.00 from B's wallet, 20.00 from H. */
    assert_int_equal(hold(f, "h1", "B", 5000, 60), 0);
    uint64_t hold_id = last->hold->hold->hold_id;
    assert_int_equal(last->hold->hold->quote->n_legs, 2);
    assert_true(last->hold->hold->quote->legs[0]->wallet);
    /* Another settlement finds the wallet reserved. */
    assert_int_equal(settle(f, "s-other", "B", 1000, 0), 0);
    assert_false(last->settlement->settlement->legs[0]->wallet);
    assert_int_equal(last->settlement->settlement->legs[0]->amount_fen, 1000);
    Famledger__AccountFreezeRequest *freeze = ARENA_NEW(&f->arena, Famledger__AccountFreezeRequest);
    famledger__account_freeze_request__init(freeze);
    freeze->person_no = (char *)"H";
    freeze->frozen = true;
    freeze->reason = (char *)"dispute";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_ACCOUNT_FREEZE, freeze), 0);
    assert_int_equal(settle(f, "s-h1", "B", 5000, hold_id), FL_ERR_ACCOUNT_FROZEN);
    Famledger__HoldReleaseRequest *release = ARENA_NEW(&f->arena, Famledger__HoldReleaseRequest);
    famledger__hold_release_request__init(release);
    release->hold_id = hold_id;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_HOLD_RELEASE, release), 0);
    assert_int_equal(settle(f, "s-wallet", "B", 3000, 0), 0);
    assert_true(last->settlement->settlement->legs[0]->wallet); /* free again */
    assert_int_equal(wallet_balance(f, "B"), 0);
}

static void test_a_hold_is_expired_once_and_its_aid_given_back(void **state)
{
    struct fixture *f = *state;
    setup_family(f);
    Famledger__FamilyLimitRequest *limit = ARENA_NEW(&f->arena, Famledger__FamilyLimitRequest);
    famledger__family_limit_request__init(limit);
    limit->holder = (char *)"H";
    limit->beneficiary = (char *)"B";
    limit->monthly_fen = 1000;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_FAMILY_LIMIT, limit), 0);
    assert_int_equal(hold(f, "h1", "B", 5000, 1), 0);
    int64_t expires = last->hold->hold->expires_at_us;
    assert_int_equal(last->hold->hold->quote->acct_mulaid_pay_fen, 1000); /* the limit */
    assert_int_equal(hold(f, "h2", "B", 5000, 60), 0);
    assert_int_equal(last->hold->hold->quote->acct_mulaid_pay_fen, 0); /* held counts */
    assert_int_equal(due_run_at(f, expires), 1);
    assert_int_equal(due_run_at(f, expires), 0);
    assert_int_equal(settle(f, "s1", "B", 5000, 0), 0);
    assert_int_equal(last->settlement->settlement->acct_mulaid_pay_fen, 1000); /* room again */
}

static void test_a_timer_whose_send_is_gone_is_left_and_the_next_one_applied(void **state)
{
    struct fixture *f = *state;
    setup_family(f);
    assert_int_equal(wallet_send(f, "H", "B", 2500, "w1"), 0);
    int64_t return_at = last->wallet_send->send->return_at_us;
    /* A timer for a send no record holds (damage), due before the real one. */
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(due_add(txn, return_at - 1000000, DUE_WALLET_RETURN, 999), 0);
    assert_int_equal(store_commit(txn), 0);
    assert_int_equal(due_run_at(f, return_at), 1); /* the real one; the damaged one stays */
    assert_int_equal(fixture_balance(f, "H"), 100000);
    assert_int_equal(due_run_at(f, return_at + 1000000), 0);
    int64_t next;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(due_next(txn, &next), 1);
    store_read_end(txn);
    assert_int_equal(next, return_at - 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_own_account_wallet_and_sixteen_funders_make_eighteen_legs, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(test_quiet_hours_span_midnight_and_equal_times_mean_none,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_the_scheduler_returns_a_send_once_and_not_before_its_time, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_send_that_returns_to_a_closed_account_is_owed_in_cash, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_deceased_beneficiary_cannot_accept_and_the_send_goes_back, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_hold_reserves_wallet_money_and_a_frozen_funder_voids_its_capture,
            fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_hold_is_expired_once_and_its_aid_given_back,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_timer_whose_send_is_gone_is_left_and_the_next_one_applied, fixture_setup,
            fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
