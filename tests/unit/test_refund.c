/* test_refund.c -- cancellations, refunds and the account lifecycle, as the policy reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client_internal.h"
#include "fixture.h"
#include "fl_limits.h"

/* Every refund a settlement may hold, its cancel included, fits in what the library shows. */
_Static_assert(REFUNDS_PER_SETTLEMENT_MAX + 1 == FL_REFUNDS_MAX, "refunds a settlement holds");

static Famledger__Response *last;

static int run(struct fixture *f, Famledger__Request__BodyCase body_case, void *body)
{
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = body_case;
    request.person_add = body; /* every oneof member shares one slot */
    last = NULL;
    return fixture_run(f, &request, &last);
}

static int refund(struct fixture *f, const char *merchant, const char *reference, uint64_t id,
                  int64_t amount_fen)
{
    Famledger__RefundRequest *body = ARENA_NEW(&f->arena, Famledger__RefundRequest);
    famledger__refund_request__init(body);
    body->merchant_code = (char *)merchant;
    body->merchant_reference = (char *)reference;
    body->settlement_id = id;
    body->amount_fen = amount_fen;
    return run(f, amount_fen ? FAMLEDGER__REQUEST__BODY_REFUND : FAMLEDGER__REQUEST__BODY_CANCEL,
               body);
}

static int withdraw(struct fixture *f, const char *person_no, Famledger__WithdrawalReason reason,
                    const char *reference, int64_t amount_fen, const char *disease,
                    const char *heir)
{
    Famledger__WithdrawRequest *body = ARENA_NEW(&f->arena, Famledger__WithdrawRequest);
    famledger__withdraw_request__init(body);
    body->person_no = (char *)person_no;
    body->reason = reason;
    body->reference = (char *)reference;
    body->amount_fen = amount_fen;
    body->disease_code = (char *)disease;
    body->heir = (char *)heir;
    return run(f, FAMLEDGER__REQUEST__BODY_WITHDRAW, body);
}

static int freeze(struct fixture *f, const char *person_no, bool frozen)
{
    Famledger__AccountFreezeRequest *body = ARENA_NEW(&f->arena, Famledger__AccountFreezeRequest);
    famledger__account_freeze_request__init(body);
    body->person_no = (char *)person_no;
    body->frozen = frozen;
    body->reason = (char *)"audit hold";
    return run(f, FAMLEDGER__REQUEST__BODY_ACCOUNT_FREEZE, body);
}

/* Patient P (own 30.00) funded by A (50.00) then B (200.00); P settles 150.00: legs P 30, A 50,
 * B 70. Returns the settlement id. */
static uint64_t family_settled(struct fixture *f)
{
    assert_int_equal(fixture_merchant(f, "PH001", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    assert_int_equal(fixture_merchant(f, "PH002", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    const char *people[] = {"P", "A", "B"};
    const int64_t balances[] = {3000, 5000, 20000};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fixture_employee(f, people[i], "110101"), 0);
        assert_int_equal(fixture_credit(f, people[i], balances[i], people[i], NULL), 0);
    }
    assert_int_equal(fixture_bind(f, "A", "P", FAMLEDGER__RELATION__RELATION_CHILD), 0);
    assert_int_equal(fixture_bind(f, "B", "P", FAMLEDGER__RELATION__RELATION_CHILD), 0);
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)"PH001";
    settle.merchant_reference = (char *)"rx-1";
    settle.patient = (char *)"P";
    settle.amount_fen = 15000;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_settle(f, false, &settle, &response), 0);
    assert_int_equal(response->settlement->settlement->n_legs, 3);
    return response->settlement->settlement->settlement_id;
}

static void test_refunds_restore_the_last_account_debited_first(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    assert_int_equal(refund(f, "PH001", "rf-1", id, 9000), 0);
    Famledger__Refund *r = last->refund->refund;
    assert_int_equal(r->n_legs, 2);
    assert_string_equal(r->legs[0]->holder, "B");
    assert_int_equal(r->legs[0]->amount_fen, 7000);
    assert_string_equal(r->legs[1]->holder, "A");
    assert_int_equal(r->legs[1]->amount_fen, 2000);
    assert_int_equal(fixture_balance(f, "B"), 20000);
    assert_int_equal(fixture_balance(f, "A"), 2000);
    assert_int_equal(fixture_balance(f, "P"), 0);
    assert_int_equal(last->refund->settlement->refunded_fen, 9000);
}

static void test_refunds_never_exceed_what_the_accounts_paid(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    assert_int_equal(refund(f, "PH001", "rf-1", id, 15001), FL_ERR_REFUND_EXCEEDS_PAID);
    assert_int_equal(refund(f, "PH001", "rf-2", id, 10000), 0);
    assert_int_equal(refund(f, "PH001", "rf-3", id, 5001), FL_ERR_REFUND_EXCEEDS_PAID);
    assert_int_equal(refund(f, "PH001", "rf-3", id, 5000), 0);
    assert_int_equal(fixture_balance(f, "P") + fixture_balance(f, "A") + fixture_balance(f, "B"),
                     28000);
}

static void test_cancel_after_partial_refunds_returns_the_rest(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    assert_int_equal(refund(f, "PH001", "rf-1", id, 1000), 0);
    assert_int_equal(refund(f, "PH001", "cx-1", id, 0), 0);
    assert_true(last->refund->refund->cancel);
    assert_int_equal(last->refund->refund->amount_fen, 14000);
    assert_true(last->refund->settlement->cancelled);
    assert_int_equal(fixture_balance(f, "P"), 3000);
    assert_int_equal(fixture_balance(f, "A"), 5000);
    assert_int_equal(fixture_balance(f, "B"), 20000);
    /* Cancelling again: the same reference replays, another one is refused. */
    assert_int_equal(refund(f, "PH001", "cx-1", id, 0), 0);
    assert_true(last->replayed);
    assert_int_equal(refund(f, "PH001", "cx-2", id, 0), FL_ERR_ALREADY_CANCELLED);
    assert_int_equal(refund(f, "PH001", "rf-9", id, 1), FL_ERR_ALREADY_CANCELLED);
}

static void test_cancel_after_the_maximum_of_refunds_returns_the_rest(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    char reference[32];
    for (int i = 0; i < REFUNDS_PER_SETTLEMENT_MAX; i++) {
        snprintf(reference, sizeof(reference), "rf-%d", i);
        assert_int_equal(refund(f, "PH001", reference, id, 100), 0);
    }
    /* One partial refund more is refused; the cancel still returns the rest (119.00). */
    assert_int_equal(refund(f, "PH001", "rf-more", id, 100), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(refund(f, "PH001", "cx", id, 0), 0);
    assert_int_equal(last->refund->refund->amount_fen, 15000 - 100 * REFUNDS_PER_SETTLEMENT_MAX);
    assert_int_equal(last->refund->settlement->n_refunds, FL_REFUNDS_MAX);
    assert_true(last->refund->settlement->cancelled);
    assert_int_equal(fixture_balance(f, "P") + fixture_balance(f, "A") + fixture_balance(f, "B"),
                     28000);
}

/* A settlement an older daemon let hold 32 partial refunds and then a cancel: the library
 * shows the cancel in its last place rather than leaving it out. */
static void test_the_library_shows_a_cancel_after_more_refunds_than_it_holds(void **state)
{
    (void)state;
    Famledger__Refund refunds[FL_REFUNDS_MAX + 1], *pointers[FL_REFUNDS_MAX + 1];
    for (size_t i = 0; i < FL_REFUNDS_MAX + 1; i++) {
        famledger__refund__init(&refunds[i]);
        refunds[i].refund_id = 100 + i;
        refunds[i].reference = (char *)"r";
        refunds[i].amount_fen = 1;
        pointers[i] = &refunds[i];
    }
    refunds[FL_REFUNDS_MAX].cancel = true;
    Famledger__Settlement stored = FAMLEDGER__SETTLEMENT__INIT;
    stored.settlement_id = 7;
    stored.cancelled = true;
    stored.n_refunds = FL_REFUNDS_MAX + 1;
    stored.refunds = pointers;
    fl_settlement *shown = calloc(1, sizeof(*shown));
    assert_non_null(shown);
    client_settlement_copy(shown, &stored, false);
    assert_int_equal(shown->refund_count, FL_REFUNDS_MAX);
    assert_int_equal(shown->refunds[FL_REFUNDS_MAX - 2].refund_id, 100 + FL_REFUNDS_MAX - 2);
    assert_true(shown->refunds[FL_REFUNDS_MAX - 1].cancel);
    assert_int_equal(shown->refunds[FL_REFUNDS_MAX - 1].refund_id, 100 + FL_REFUNDS_MAX);
    free(shown);
}

/* What the library writes of a settlement does not depend on what the caller's struct held:
 * a reused one (as the pipelining client's is) shows no field of the one before. */
static void test_a_settlement_copied_over_another_keeps_nothing_of_it(void **state)
{
    (void)state;
    Famledger__Leg legs[2], *leg_pointers[2];
    for (size_t i = 0; i < 2; i++) {
        famledger__leg__init(&legs[i]);
        legs[i].holder = (char *)(i ? "FATHER" : "CHILD");
        legs[i].amount_fen = 100 + (int64_t)i;
        leg_pointers[i] = &legs[i];
    }
    Famledger__RefundLeg refund_leg = FAMLEDGER__REFUND_LEG__INIT, *refund_legs = &refund_leg;
    refund_leg.holder = (char *)"FATHER";
    refund_leg.amount_fen = 101;
    Famledger__Refund refund = FAMLEDGER__REFUND__INIT, *refunds = &refund;
    refund.refund_id = 9;
    refund.reference = (char *)"back";
    refund.amount_fen = 101;
    refund.n_legs = 1;
    refund.legs = &refund_legs;
    Famledger__Settlement stored = FAMLEDGER__SETTLEMENT__INIT;
    stored.settlement_id = 7;
    stored.merchant_code = (char *)"PH001";
    stored.merchant_reference = (char *)"rx";
    stored.patient = (char *)"CHILD";
    stored.n_legs = 2;
    stored.legs = leg_pointers;
    stored.n_refunds = 1;
    stored.refunds = &refunds;
    stored.hold_id = 3;
    fl_settlement *clean = calloc(1, sizeof(*clean)), *reused = malloc(sizeof(*reused));
    assert_non_null(clean);
    assert_non_null(reused);
    memset(reused, 0xa5, sizeof(*reused));
    client_settlement_copy(clean, &stored, true);
    client_settlement_copy(reused, &stored, true);
    assert_memory_equal(reused, clean, offsetof(fl_settlement, refunds));
    assert_memory_equal(&reused->refunds[0], &clean->refunds[0], sizeof(clean->refunds[0]));
    assert_int_equal(reused->hold_id, 3);
    assert_int_equal(reused->leg_count, 2);
    assert_string_equal(reused->legs[1].holder, "FATHER");
    assert_int_equal(reused->refund_count, 1);
    assert_string_equal(reused->refunds[0].reference, "back");
    free(clean);
    free(reused);
}

static void test_a_cancel_with_an_amount_is_refused_not_ignored(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    Famledger__RefundRequest *body = ARENA_NEW(&f->arena, Famledger__RefundRequest);
    famledger__refund_request__init(body);
    body->merchant_code = (char *)"PH001";
    body->merchant_reference = (char *)"cx";
    body->settlement_id = id;
    body->amount_fen = 500;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CANCEL, body), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(last->error, "no amount"));
    assert_int_equal(fixture_balance(f, "P"), 0);
}

static void test_a_settle_peer_acts_only_for_its_merchants(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    char error[128];
    assert_int_equal(config_set(&f->config, "merchant_peers", "uid:1001=PH002", error,
                                sizeof(error)), 0);
    uint32_t gid = 1001;
    config_peer_resolve(&f->config, 1001, &gid, 1, &f->peer);
    f->peer.roles = ROLE_BIT(ROLE_SETTLE);
    /* PH001's settlement: the PH002 peer can neither refund, cancel nor read it as PH001. */
    assert_int_equal(refund(f, "PH001", "rf-x", id, 100), FL_ERR_PERMISSION_DENIED);
    assert_int_equal(refund(f, "PH001", "cx-x", id, 0), FL_ERR_PERMISSION_DENIED);
    Famledger__SettlementGetRequest *get = ARENA_NEW(&f->arena, Famledger__SettlementGetRequest);
    famledger__settlement_get_request__init(get);
    get->settlement_id = id;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET, get),
                     FL_ERR_PERMISSION_DENIED);
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)"PH001";
    settle.merchant_reference = (char *)"rx-2";
    settle.patient = (char *)"P";
    settle.amount_fen = 100;
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_PERMISSION_DENIED);
    assert_int_equal(fixture_settle(f, true, &settle, NULL), FL_ERR_PERMISSION_DENIED);
    /* As PH002 it may settle and read its own. */
    settle.merchant_code = (char *)"PH002";
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_settle(f, false, &settle, &response), 0);
    get->settlement_id = response->settlement->settlement->settlement_id;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET, get), 0);
}

static void test_only_the_settling_merchant_may_refund(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    assert_int_equal(refund(f, "PH002", "rf-1", id, 100), FL_ERR_WRONG_MERCHANT);
    assert_int_equal(refund(f, "PH002", "cx-1", id, 0), FL_ERR_WRONG_MERCHANT);
    assert_int_equal(refund(f, "PH001", "rf-1", 999999, 100), FL_ERR_UNKNOWN_SETTLEMENT);
}

static void test_a_refund_to_an_account_closed_by_death_is_cash_due(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    assert_int_equal(withdraw(f, "B", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH, "wd-1", 0,
                              "", "Heir Name"), 0);
    assert_true(last->movement->movement->account_closed);
    assert_int_equal(last->movement->movement->amount_fen, 13000);
    assert_int_equal(refund(f, "PH001", "cx-1", id, 0), 0);
    Famledger__Refund *r = last->refund->refund;
    assert_string_equal(r->legs[0]->holder, "B");
    assert_true(r->legs[0]->cash_refund_due);
    assert_int_equal(r->legs[0]->amount_fen, 7000);
    assert_false(r->legs[1]->cash_refund_due);
    assert_int_equal(fixture_balance(f, "B"), 0);
    assert_int_equal(fixture_balance(f, "A"), 5000);
}

static void test_a_frozen_holder_is_skipped_but_receives_its_refund(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    assert_int_equal(freeze(f, "A", true), 0);
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)"PH001";
    settle.merchant_reference = (char *)"rx-2";
    settle.patient = (char *)"P";
    settle.amount_fen = 100;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_settle(f, false, &settle, &response), 0);
    assert_string_equal(response->settlement->settlement->legs[0]->holder, "B");
    assert_int_equal(refund(f, "PH001", "cx-1", id, 0), 0);
    assert_int_equal(fixture_balance(f, "A"), 5000);
    assert_int_equal(freeze(f, "A", false), 0);
}

static void test_a_suspended_patient_cannot_settle(void **state)
{
    struct fixture *f = *state;
    family_settled(f);
    Famledger__PersonSuspendRequest suspend = FAMLEDGER__PERSON_SUSPEND_REQUEST__INIT;
    suspend.person_no = (char *)"P";
    suspend.suspended = 1;
    suspend.reason = (char *)"impersonation 2026-11";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_SUSPEND, &suspend), 0);
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)"PH001";
    settle.merchant_reference = (char *)"rx-3";
    settle.patient = (char *)"P";
    settle.amount_fen = 100;
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_PERSON_SUSPENDED);
    suspend.suspended = 0;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_SUSPEND, &suspend), 0);
    assert_int_equal(fixture_settle(f, false, &settle, NULL), 0);
}

static void test_each_withdrawal_reason_follows_its_rules(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "W", "110101"), 0);
    assert_int_equal(fixture_credit(f, "W", 10000, "w", NULL), 0);
    /* Partial reasons: any amount up to the balance; the account stays open. */
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_LONG_TERM_ELSEWHERE,
                              "w1", 2000, "", ""), 0);
    assert_false(last->movement->movement->account_closed);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE,
                              "w2", 1000, "", ""), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE,
                              "w2", 99999, "D45", ""), FL_ERR_WITHDRAWAL_NOT_ALLOWED);
    /* Evidence the reason does not take is refused, not stored. */
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE,
                              "w2", 1000, "D45", "Heir Name"), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_LONG_TERM_ELSEWHERE,
                              "w2", 1000, "D45", ""), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE,
                              "w2", 1000, "D45", ""), 0);
    assert_int_equal(fixture_balance(f, "W"), 7000);
    /* Closing reasons take the whole balance and nothing else. */
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_EMIGRATION, "w3",
                              100, "", ""), FL_ERR_WITHDRAWAL_NOT_ALLOWED);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH, "w3", 0, "",
                              ""), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT, "w3", 0,
                              "", ""), 0);
    assert_true(last->movement->movement->account_closed);
    assert_int_equal(last->movement->movement->amount_fen, 7000);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT, "w3", 0,
                              "", ""), 0);
    assert_true(last->replayed);
    assert_int_equal(withdraw(f, "W", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_LONG_TERM_ELSEWHERE,
                              "w4", 1, "", ""), FL_ERR_ACCOUNT_CLOSED);
    assert_int_equal(fixture_credit(f, "W", 1, "after-close", NULL), FL_ERR_ACCOUNT_CLOSED);
}

static void test_closing_an_account_ends_every_binding_it_funds(void **state)
{
    struct fixture *f = *state;
    uint64_t id = family_settled(f);
    (void)id;
    assert_int_equal(withdraw(f, "A", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_EMIGRATION, "wd",
                              0, "", ""), 0);
    assert_int_equal(last->movement->movement->bindings_ended, 1);
    Famledger__FamilyListRequest list = FAMLEDGER__FAMILY_LIST_REQUEST__INIT;
    list.person_no = (char *)"P";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_FAMILY_LIST, &list), 0);
    assert_int_equal(last->family->n_funded_by, 1);
    assert_string_equal(last->family->funded_by[0]->holder, "B");
}

static void test_a_balance_transferred_out_can_be_transferred_in_elsewhere(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "OLD", "110101"), 0);
    assert_int_equal(fixture_employee(f, "NEW", "440103"), 0);
    assert_int_equal(fixture_credit(f, "OLD", 12345, "o", NULL), 0);
    Famledger__TransferOutRequest out = FAMLEDGER__TRANSFER_OUT_REQUEST__INIT;
    out.person_no = (char *)"OLD";
    out.to_region = (char *)"440103";
    out.reference = (char *)"tr-out-1";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_TRANSFER_OUT, &out), 0);
    assert_int_equal(last->movement->movement->amount_fen, 12345);
    assert_true(last->movement->movement->account_closed);
    Famledger__TransferInRequest in = FAMLEDGER__TRANSFER_IN_REQUEST__INIT;
    in.person_no = (char *)"NEW";
    in.amount_fen = 12345;
    in.from_region = (char *)"110101";
    in.reference = (char *)"tr-in-1";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_TRANSFER_IN, &in), 0);
    assert_int_equal(fixture_balance(f, "NEW"), 12345);
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_TRANSFER_IN, &in), 0);
    assert_true(last->replayed);
    assert_int_equal(fixture_balance(f, "NEW"), 12345);
    /* A person who moved out comes back with a transfer-in: account reopened. */
    in.person_no = (char *)"OLD";
    in.reference = (char *)"tr-in-2";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_TRANSFER_IN, &in), 0);
    assert_int_equal(fixture_balance(f, "OLD"), 12345);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_refunds_restore_the_last_account_debited_first),
        cmocka_unit_test(test_the_library_shows_a_cancel_after_more_refunds_than_it_holds),
        cmocka_unit_test(test_a_settlement_copied_over_another_keeps_nothing_of_it),
        TEST(test_refunds_never_exceed_what_the_accounts_paid),
        TEST(test_cancel_after_partial_refunds_returns_the_rest),
        TEST(test_cancel_after_the_maximum_of_refunds_returns_the_rest),
        TEST(test_a_cancel_with_an_amount_is_refused_not_ignored),
        TEST(test_a_settle_peer_acts_only_for_its_merchants),
        TEST(test_only_the_settling_merchant_may_refund),
        TEST(test_a_refund_to_an_account_closed_by_death_is_cash_due),
        TEST(test_a_frozen_holder_is_skipped_but_receives_its_refund),
        TEST(test_a_suspended_patient_cannot_settle),
        TEST(test_each_withdrawal_reason_follows_its_rules),
        TEST(test_closing_an_account_ends_every_binding_it_funds),
        TEST(test_a_balance_transferred_out_can_be_transferred_in_elsewhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
