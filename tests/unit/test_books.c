/* test_books.c -- double entry and clearing, reversal by merchant reference, and the person
 * lifecycle and relation rules that hold money where it belongs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "ledger.h"
#include "state.h"

#include <time.h>

static Famledger__Response *last;

static int run(struct fixture *f, Famledger__Request__BodyCase body_case, void *body)
{
    last = NULL;
    return fixture_body(f, body_case, body, &last);
}

static int settle(struct fixture *f, const char *merchant, const char *reference,
                  const char *patient, int64_t amount_fen)
{
    Famledger__SettleRequest body = FAMLEDGER__SETTLE_REQUEST__INIT;
    body.merchant_code = (char *)merchant;
    body.merchant_reference = (char *)reference;
    body.patient = (char *)patient;
    body.amount_fen = amount_fen;
    last = NULL;
    return fixture_settle(f, false, &body, &last);
}

static int refund(struct fixture *f, const char *reference, uint64_t id, int64_t amount_fen)
{
    Famledger__RefundRequest *body = ARENA_NEW(&f->arena, Famledger__RefundRequest);
    famledger__refund_request__init(body);
    body->merchant_code = (char *)"P1";
    body->merchant_reference = (char *)reference;
    body->settlement_id = id;
    body->amount_fen = amount_fen;
    return run(f, amount_fen ? FAMLEDGER__REQUEST__BODY_REFUND : FAMLEDGER__REQUEST__BODY_CANCEL,
               body);
}

static int reverse(struct fixture *f, const char *reference)
{
    Famledger__ReverseRequest *body = ARENA_NEW(&f->arena, Famledger__ReverseRequest);
    famledger__reverse_request__init(body);
    body->merchant_code = (char *)"P1";
    body->merchant_reference = (char *)reference;
    return run(f, FAMLEDGER__REQUEST__BODY_REVERSE, body);
}

/* A payout (PAYOUT) or a recovery (RECOVERY): the same request. */
static int payout_kind(struct fixture *f, Famledger__Request__BodyCase kind, const char *merchant,
                       const char *person, int64_t amount_fen, const char *reference)
{
    Famledger__PayoutRequest *body = ARENA_NEW(&f->arena, Famledger__PayoutRequest);
    famledger__payout_request__init(body);
    body->merchant_code = (char *)merchant;
    body->person_no = (char *)person;
    body->amount_fen = amount_fen;
    body->reference = (char *)reference;
    return run(f, kind, body);
}

static int payout(struct fixture *f, const char *merchant, const char *person, int64_t amount_fen,
                  const char *reference)
{
    return payout_kind(f, FAMLEDGER__REQUEST__BODY_PAYOUT, merchant, person, amount_fen,
                       reference);
}

static int recover(struct fixture *f, const char *merchant, const char *person,
                   int64_t amount_fen, const char *reference)
{
    return payout_kind(f, FAMLEDGER__REQUEST__BODY_RECOVERY, merchant, person, amount_fen,
                       reference);
}

static int withdraw(struct fixture *f, const char *person_no, Famledger__WithdrawalReason reason,
                    const char *reference, const char *disease, const char *heir)
{
    Famledger__WithdrawRequest *body = ARENA_NEW(&f->arena, Famledger__WithdrawRequest);
    famledger__withdraw_request__init(body);
    body->person_no = (char *)person_no;
    body->reason = reason;
    body->reference = (char *)reference;
    body->disease_code = (char *)disease;
    body->heir = (char *)heir;
    return run(f, FAMLEDGER__REQUEST__BODY_WITHDRAW, body);
}

static int transfer_out(struct fixture *f, const char *person_no, const char *to_region,
                        const char *reference)
{
    Famledger__TransferOutRequest *body = ARENA_NEW(&f->arena, Famledger__TransferOutRequest);
    famledger__transfer_out_request__init(body);
    body->person_no = (char *)person_no;
    body->to_region = (char *)to_region;
    body->reference = (char *)reference;
    return run(f, FAMLEDGER__REQUEST__BODY_TRANSFER_OUT, body);
}

static int transfer_in(struct fixture *f, const char *person_no, int64_t amount_fen,
                       uint64_t out_seq, const char *reference)
{
    Famledger__TransferInRequest *body = ARENA_NEW(&f->arena, Famledger__TransferInRequest);
    famledger__transfer_in_request__init(body);
    body->person_no = (char *)person_no;
    body->amount_fen = amount_fen;
    body->from_region = (char *)"110101";
    body->transfer_out_seq = out_seq;
    body->reference = (char *)reference;
    return run(f, FAMLEDGER__REQUEST__BODY_TRANSFER_IN, body);
}

static int bind(struct fixture *f, const char *holder, const char *beneficiary,
                Famledger__Relation relation)
{
    return fixture_bind(f, holder, beneficiary, relation);
}

/* The class totals, in class order (personal, fund, payable, cash due, clearing, wallet,
 * wallet_pending). */
static int64_t class_total(struct fixture *f, Famledger__AccountClass account_class)
{
    Famledger__TrialBalanceRequest body = FAMLEDGER__TRIAL_BALANCE_REQUEST__INIT;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_TRIAL_BALANCE, &body), 0);
    assert_int_equal(last->trial_balance->total_fen, 0);
    assert_int_equal(last->trial_balance->n_classes, 7);
    return last->trial_balance->classes[account_class - 1]->balance_fen;
}

static int64_t payable(struct fixture *f, const char *merchant)
{
    Famledger__MerchantBalanceRequest body = FAMLEDGER__MERCHANT_BALANCE_REQUEST__INIT;
    body.code = (char *)merchant;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_MERCHANT_BALANCE, &body), 0);
    return last->merchant_balance->payable_fen;
}

static int person_status(struct fixture *f, const char *person_no)
{
    Famledger__PersonGetRequest body = FAMLEDGER__PERSON_GET_REQUEST__INIT;
    body.person_no = (char *)person_no;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_GET, &body), 0);
    return last->person->person->status;
}

/* The log's last entry: what a refused request must leave as it was. */
static uint64_t head_seq(struct fixture *f)
{
    struct store_txn *txn;
    struct ledger_head head;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(ledger_head_get(txn, &head), 0);
    store_read_end(txn);
    return head.seq;
}

/* Make `person_no`'s account look as if it had received `credited_fen` in all, its balance
 * kept: the state some 900 million movements of the largest amount would leave. */
static void account_received(struct fixture *f, const char *person_no, int64_t credited_fen)
{
    struct store_txn *txn;
    Famledger__Account *account;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(state_account_get(txn, &f->arena, person_no, &account), 1);
    account->credited_fen = credited_fen;
    account->debited_fen = credited_fen - account->balance_fen;
    assert_int_equal(state_account_put(txn, &f->arena, account), 0);
    assert_int_equal(store_commit(txn), 0);
}

/* Set the stored balance row `key` ("fund", a class total) to `balance_fen`. */
static void balance_row_set(struct fixture *f, const char *key, int64_t balance_fen)
{
    struct store_txn *txn;
    struct store_bytes value;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_get(txn, STORE_DB_BALANCES, key, strlen(key), &value), 1);
    Famledger__Balance *balance = famledger__balance__unpack(NULL, value.size, value.data);
    assert_non_null(balance);
    balance->balance_fen = balance_fen;
    assert_int_equal(state_message_put(txn, &f->arena, STORE_DB_BALANCES, key, strlen(key),
                                       &balance->base), 0);
    famledger__balance__free_unpacked(balance, NULL);
    assert_int_equal(store_commit(txn), 0);
}

/* Set what merchant P1 settled on the fixture's business day. */
static void day_settled_set(struct fixture *f, int64_t settled_fen)
{
    char key[9 + 2];
    ledger_business_day(f->time_us, key);
    memcpy(key + 8, "P1", 3);
    struct store_txn *txn;
    struct store_bytes value;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_get(txn, STORE_DB_DAY_TOTALS, key, 10, &value), 1);
    Famledger__MerchantDayTotals *totals =
        famledger__merchant_day_totals__unpack(NULL, value.size, value.data);
    assert_non_null(totals);
    totals->settled_fen = settled_fen;
    assert_int_equal(state_message_put(txn, &f->arena, STORE_DB_DAY_TOTALS, key, 10,
                                       &totals->base), 0);
    famledger__merchant_day_totals__free_unpacked(totals, NULL);
    assert_int_equal(store_commit(txn), 0);
}

static void family(struct fixture *f)
{
    assert_int_equal(fixture_employee(f, "MOM", "110101"), 0);
    assert_int_equal(fixture_employee(f, "DAD", "110102"), 0);
    assert_int_equal(fixture_person_add(f, "KID", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT),
                     0);
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    assert_int_equal(fixture_credit(f, "MOM", 10000, "c-mom", NULL), 0);
    assert_int_equal(fixture_credit(f, "DAD", 5000, "c-dad", NULL), 0);
    assert_int_equal(bind(f, "MOM", "KID", FAMLEDGER__RELATION__RELATION_CHILD), 0);
    assert_int_equal(bind(f, "DAD", "KID", FAMLEDGER__RELATION__RELATION_CHILD), 0);
}

static void test_every_movement_balances_and_the_trial_balance_is_zero(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL), 15000);
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND), -15000);
    /* KID: MOM gives 10000, DAD 2000. */
    assert_int_equal(settle(f, "P1", "s1", "KID", 12000), 0);
    uint64_t s1 = last->settlement->settlement->settlement_id;
    assert_int_equal(payable(f, "P1"), 12000);
    assert_int_equal(refund(f, "r1", s1, 1500), 0);      /* back to DAD first */
    assert_int_equal(settle(f, "P1", "s2", "DAD", 1000), 0);
    uint64_t s2 = last->settlement->settlement->settlement_id;
    assert_int_equal(refund(f, "c2", s2, 0), 0);         /* cancel */
    assert_int_equal(settle(f, "P1", "s3", "DAD", 500), 0);
    assert_int_equal(reverse(f, "s3"), 0);
    assert_int_equal(reverse(f, "s-never"), 0);
    assert_int_equal(payable(f, "P1"), 10500);
    assert_int_equal(payout(f, "P1", "", 10000, "pay-nov"), 0);
    assert_int_equal(last->payout->payout->owed_after_fen, 500);
    /* MOM dies: her refund is owed in cash. */
    assert_int_equal(withdraw(f, "MOM", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH, "w-mom",
                              "", "Heir"), 0);
    assert_int_equal(refund(f, "r2", s1, 500), 0);        /* DAD's 500 left, then MOM */
    assert_int_equal(refund(f, "r3", s1, 300), 0);
    assert_true(last->refund->refund->legs[0]->cash_refund_due);
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE), 300);
    assert_int_equal(payout(f, "", "MOM", 300, "heir-cash"), 0);
    /* DAD moves to Guangdong, on this ledger; the transfer-in names the transfer-out. */
    assert_int_equal(transfer_out(f, "DAD", "440103", "t-out"), 0);
    uint64_t out_seq = last->movement->movement->seq;
    int64_t moved = last->movement->movement->amount_fen;
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CLEARING), moved);
    assert_int_equal(transfer_in(f, "DAD", moved, out_seq, "t-in"), 0);
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CLEARING), 0);
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE), 0);
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE),
                     payable(f, "P1"));
}

static void test_a_payout_never_exceeds_what_is_owed_and_replays(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(settle(f, "P1", "s1", "MOM", 800), 0);
    assert_int_equal(payout(f, "P1", "", 801, "p1"), FL_ERR_PAYOUT_EXCEEDS_OWED);
    assert_non_null(strstr(last->error, "8.00 yuan"));
    assert_int_equal(payout(f, "P1", "", 800, "p1"), 0);
    assert_false(last->replayed);
    assert_int_equal(payout(f, "P1", "", 800, "p1"), 0);
    assert_true(last->replayed);
    assert_int_equal(payout(f, "P1", "", 700, "p1"), FL_ERR_CONFLICT);
    assert_int_equal(payout(f, "P1", "", 1, "p2"), FL_ERR_PAYOUT_EXCEEDS_OWED);
    assert_int_equal(payout(f, "P1", "MOM", 1, "p3"), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(payout(f, "NOPE", "", 1, "p4"), FL_ERR_UNKNOWN_MERCHANT);
    assert_int_equal(payable(f, "P1"), 0);
}

static void test_the_clearing_report_lists_each_day_and_what_is_owed(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(settle(f, "P1", "s1", "MOM", 800), 0);
    assert_int_equal(refund(f, "r1", last->settlement->settlement->settlement_id, 300), 0);
    assert_int_equal(payout(f, "P1", "", 200, "p1"), 0);
    Famledger__ClearingRequest body = FAMLEDGER__CLEARING_REQUEST__INIT;
    body.merchant_code = (char *)"P1";
    body.from = (char *)"2000-01-01";
    body.to = (char *)"2001-01-01"; /* more than a year */
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CLEARING, &body), FL_ERR_INVALID_ARGUMENT);
    body.from = (char *)"2020-02-01";
    body.to = (char *)"2020-01-31";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CLEARING, &body), FL_ERR_INVALID_ARGUMENT);
    body.from = (char *)"2020-01-01";
    body.to = (char *)"2020-12-31";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CLEARING, &body), 0);
    assert_int_equal(last->clearing->n_days, 0);
    /* The entries are dated today: ask for this year. */
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    char from[11], to[11];
    strftime(from, sizeof(from), "%Y-01-01", &local);
    strftime(to, sizeof(to), "%Y-12-31", &local);
    body.from = from;
    body.to = to;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CLEARING, &body), 0);
    assert_int_equal(last->clearing->n_days, 1);
    Famledger__ClearingDay *day = last->clearing->days[0];
    assert_int_equal(day->settled_fen, 800);
    assert_int_equal(day->refunded_fen, 300);
    assert_int_equal(day->paid_out_fen, 200);
    assert_int_equal(day->owed_fen, 300);
    assert_int_equal(last->clearing->closing_owed_fen, 300);
}

/* Refunds after a payout leave the merchant owing the fund; a recovery (追回) records it
 * paying back, at most what it owes, once. */
static void test_a_recovery_takes_back_what_a_merchant_owes(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(settle(f, "P1", "s1", "MOM", 800), 0);
    uint64_t id = last->settlement->settlement->settlement_id;
    assert_int_equal(recover(f, "P1", "", 1, "k1"), FL_ERR_PAYOUT_EXCEEDS_OWED);
    assert_non_null(strstr(last->error, "owes the fund 0.00 yuan"));
    assert_int_equal(payout(f, "P1", "", 800, "p1"), 0);
    assert_int_equal(refund(f, "r1", id, 300), 0);
    assert_int_equal(payable(f, "P1"), -300);
    int64_t fund = class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND);
    assert_int_equal(recover(f, "P1", "", 301, "k1"), FL_ERR_PAYOUT_EXCEEDS_OWED);
    assert_non_null(strstr(last->error, "owes the fund 3.00 yuan"));
    assert_int_equal(recover(f, "P1", "", 200, "k1"), 0);
    assert_false(last->replayed);
    assert_int_equal(last->payout->payout->owed_after_fen, -100);
    assert_int_equal(last->payout->payout->amount_fen, 200);
    assert_string_equal(last->payout->payout->region, "110101");
    assert_int_equal(recover(f, "P1", "", 200, "k1"), 0);
    assert_true(last->replayed);
    assert_int_equal(recover(f, "P1", "", 100, "k1"), FL_ERR_CONFLICT);
    /* Its references are apart from the payouts': p1 names a payout. */
    assert_int_equal(recover(f, "P1", "", 100, "p1"), 0);
    assert_false(last->replayed);
    assert_int_equal(payable(f, "P1"), 0);
    assert_int_equal(class_total(f, FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND), fund - 300);
    assert_int_equal(recover(f, "", "MOM", 1, "k2"), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(recover(f, "P1", "MOM", 1, "k3"), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(recover(f, "NOPE", "", 1, "k4"), FL_ERR_UNKNOWN_MERCHANT);
    assert_int_equal(recover(f, "P1", "", 0, "k5"), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(recover(f, "P1", "", -5, "k6"), FL_ERR_INVALID_ARGUMENT);
    /* The day's paid out is net of what came back: 800 out, 300 in. */
    Famledger__MerchantBalanceRequest balance = FAMLEDGER__MERCHANT_BALANCE_REQUEST__INIT;
    balance.code = (char *)"P1";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_MERCHANT_BALANCE, &balance), 0);
    assert_int_equal(last->merchant_balance->paid_out_fen, 500);
    assert_int_equal(last->merchant_balance->settled_fen - last->merchant_balance->refunded_fen -
                         last->merchant_balance->paid_out_fen,
                     last->merchant_balance->payable_fen);
}

static void test_a_reversal_before_the_settlement_refuses_it_when_it_arrives(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(reverse(f, "lost-1"), 0);
    assert_false(last->reverse->settlement_found);
    assert_int_equal(reverse(f, "lost-1"), 0);
    assert_true(last->replayed);
    assert_int_equal(settle(f, "P1", "lost-1", "MOM", 800), FL_ERR_REVERSED);
    assert_int_equal(fixture_balance(f, "MOM"), 10000);
    Famledger__SettlementGetRequest get = FAMLEDGER__SETTLEMENT_GET_REQUEST__INIT;
    get.merchant_code = (char *)"P1";
    get.merchant_reference = (char *)"lost-1";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET, &get), FL_ERR_REVERSED);
}

static void test_a_reversal_after_the_settlement_cancels_what_is_left(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(settle(f, "P1", "s1", "KID", 12000), 0);
    uint64_t id = last->settlement->settlement->settlement_id;
    assert_int_equal(refund(f, "r1", id, 1000), 0);
    assert_int_equal(reverse(f, "s1"), 0);
    assert_true(last->reverse->settlement_found);
    assert_int_equal(last->reverse->refund->amount_fen, 11000);
    assert_true(last->reverse->settlement->cancelled);
    assert_int_equal(fixture_balance(f, "MOM"), 10000);
    assert_int_equal(fixture_balance(f, "DAD"), 5000);
    assert_int_equal(reverse(f, "s1"), 0);
    assert_true(last->replayed);
    assert_int_equal(fixture_balance(f, "MOM"), 10000);
    assert_int_equal(refund(f, "r2", id, 1), FL_ERR_ALREADY_CANCELLED);
    Famledger__SettlementGetRequest get = FAMLEDGER__SETTLEMENT_GET_REQUEST__INIT;
    get.merchant_code = (char *)"P1";
    get.merchant_reference = (char *)"s1";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET, &get), 0);
    assert_int_equal(last->settlement->settlement->settlement_id, id);
    assert_int_equal(payable(f, "P1"), 0);
}

static void test_a_deceased_person_is_no_patient_and_no_binding_outlives_them(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(bind(f, "DAD", "MOM", FAMLEDGER__RELATION__RELATION_SPOUSE), 0);
    assert_int_equal(withdraw(f, "MOM", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_DEATH, "w1",
                              "", "Heir"), 0);
    assert_int_equal(last->movement->movement->bindings_ended, 2); /* funds KID; funded by DAD */
    assert_int_equal(person_status(f, "MOM"), FAMLEDGER__PERSON_STATUS__PERSON_DECEASED);
    assert_int_equal(settle(f, "P1", "s1", "MOM", 100), FL_ERR_PERSON_DECEASED);
    assert_int_equal(bind(f, "DAD", "MOM", FAMLEDGER__RELATION__RELATION_SPOUSE),
                     FL_ERR_PERSON_DECEASED);
    assert_int_equal(fixture_account_open(f, "MOM"), FL_ERR_PERSON_DECEASED);
    /* KID is still funded by DAD alone. */
    assert_int_equal(settle(f, "P1", "s2", "KID", 6000), 0);
    assert_int_equal(last->settlement->settlement->acct_mulaid_pay_fen, 5000);
}

static void test_a_resident_beneficiary_who_dies_is_paid_for_by_nobody(void **state)
{
    struct fixture *f = *state;
    family(f);
    Famledger__PersonDeceasedRequest body = FAMLEDGER__PERSON_DECEASED_REQUEST__INIT;
    body.person_no = (char *)"MOM";
    body.evidence = (char *)"DC-2026-001";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_DECEASED, &body),
                     FL_ERR_INVALID_ARGUMENT); /* a holder: a death withdrawal pays the heirs */
    body.person_no = (char *)"KID";
    body.evidence = (char *)"";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_DECEASED, &body),
                     FL_ERR_INVALID_ARGUMENT);
    body.evidence = (char *)"DC-2026-001";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_DECEASED, &body), 0);
    assert_int_equal(last->person->person->status, FAMLEDGER__PERSON_STATUS__PERSON_DECEASED);
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_DECEASED, &body), 0);
    assert_true(last->replayed);
    assert_int_equal(settle(f, "P1", "s1", "KID", 100), FL_ERR_PERSON_DECEASED);
    Famledger__FamilyListRequest list = FAMLEDGER__FAMILY_LIST_REQUEST__INIT;
    list.person_no = (char *)"MOM";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_FAMILY_LIST, &list), 0);
    assert_int_equal(last->family->n_funds, 0);
    assert_int_equal(bind(f, "MOM", "KID", FAMLEDGER__RELATION__RELATION_CHILD),
                     FL_ERR_PERSON_DECEASED);
}

static void test_opting_out_and_enrolling_again_keeps_the_history(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(withdraw(f, "DAD", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_OPT_OUT, "w1",
                              "", ""), 0);
    assert_int_equal(person_status(f, "DAD"), FAMLEDGER__PERSON_STATUS__PERSON_OPTED_OUT);
    assert_int_equal(settle(f, "P1", "s1", "DAD", 100), FL_ERR_PERSON_INACTIVE);
    assert_int_equal(fixture_account_open(f, "DAD"), 0);
    assert_int_equal(person_status(f, "DAD"), FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE);
    assert_int_equal(fixture_balance(f, "DAD"), 0);
    assert_int_equal(fixture_account_open(f, "DAD"), FL_ERR_ACCOUNT_EXISTS);
    assert_int_equal(fixture_credit(f, "DAD", 700, "c-dad-2", NULL), 0);
    assert_int_equal(fixture_balance(f, "DAD"), 700);
}

static void test_relations_must_agree_and_nobody_has_two_spouses(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(fixture_employee(f, "EX", "110101"), 0);
    assert_int_equal(bind(f, "MOM", "DAD", FAMLEDGER__RELATION__RELATION_SPOUSE), 0);
    assert_int_equal(bind(f, "MOM", "EX", FAMLEDGER__RELATION__RELATION_SPOUSE),
                     FL_ERR_RELATION_CONFLICT);
    assert_int_equal(bind(f, "EX", "DAD", FAMLEDGER__RELATION__RELATION_SPOUSE),
                     FL_ERR_RELATION_CONFLICT);
    assert_int_equal(bind(f, "DAD", "MOM", FAMLEDGER__RELATION__RELATION_SIBLING),
                     FL_ERR_RELATION_CONFLICT);
    assert_int_equal(bind(f, "DAD", "MOM", FAMLEDGER__RELATION__RELATION_SPOUSE), 0);
    /* KID is MOM's child, so MOM is KID's parent, never KID's child. */
    assert_int_equal(fixture_employee(f, "GRAN", "110101"), 0);
    assert_int_equal(bind(f, "GRAN", "MOM", FAMLEDGER__RELATION__RELATION_CHILD), 0);
    assert_int_equal(bind(f, "MOM", "GRAN", FAMLEDGER__RELATION__RELATION_CHILD),
                     FL_ERR_RELATION_CONFLICT);
    assert_int_equal(bind(f, "MOM", "GRAN", FAMLEDGER__RELATION__RELATION_PARENT), 0);
}

static void test_bindings_record_their_evidence_when_the_region_requires_it(void **state)
{
    struct fixture *f = *state;
    family(f);
    f->config.binding_evidence_required = 1;
    assert_int_equal(fixture_employee(f, "SIS", "110101"), 0);
    Famledger__BindRequest body = FAMLEDGER__BIND_REQUEST__INIT;
    body.holder = (char *)"MOM";
    body.beneficiary = (char *)"SIS";
    body.relation = FAMLEDGER__RELATION__RELATION_SIBLING;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_BIND, &body), FL_ERR_INVALID_ARGUMENT);
    body.evidence = (char *)"HR-110101-0042";
    body.channel = FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_COUNTER;
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_BIND, &body), 0);
    assert_string_equal(last->binding->binding->evidence, "HR-110101-0042");
    assert_int_equal(last->binding->binding->channel,
                     FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_COUNTER);
}

static void test_a_linked_transfer_in_must_match_and_completes_once(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(transfer_out(f, "DAD", "440103", "t-out"), 0);
    uint64_t out_seq = last->movement->movement->seq;
    assert_int_equal(person_status(f, "DAD"), FAMLEDGER__PERSON_STATUS__PERSON_MOVED_OUT);
    assert_int_equal(settle(f, "P1", "s1", "DAD", 100), FL_ERR_PERSON_INACTIVE);
    assert_int_equal(transfer_in(f, "DAD", 4999, out_seq, "t-in-1"), FL_ERR_TRANSFER_MISMATCH);
    assert_int_equal(transfer_in(f, "MOM", 5000, out_seq, "t-in-2"), FL_ERR_TRANSFER_MISMATCH);
    assert_int_equal(transfer_in(f, "DAD", 5000, 1, "t-in-3"), FL_ERR_TRANSFER_MISMATCH);
    assert_int_equal(transfer_in(f, "DAD", 5000, out_seq, "t-in-4"), 0);
    assert_int_equal(fixture_balance(f, "DAD"), 5000);
    Famledger__PersonGetRequest get = FAMLEDGER__PERSON_GET_REQUEST__INIT;
    get.person_no = (char *)"DAD";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_PERSON_GET, &get), 0);
    assert_string_equal(last->person->person->region, "440103");
    assert_int_equal(last->person->person->status, FAMLEDGER__PERSON_STATUS__PERSON_ACTIVE);
    assert_int_equal(transfer_in(f, "DAD", 5000, out_seq, "t-in-5"), FL_ERR_TRANSFER_MISMATCH);
    assert_int_equal(transfer_in(f, "DAD", 5000, out_seq, "t-in-4"), 0);
    assert_true(last->replayed);
}

static void test_policy_applies_when_money_moves(void **state)
{
    struct fixture *f = *state;
    f->config.cross_province.ids[0] = 11;
    f->config.cross_province.ids[1] = 44;
    f->config.cross_province.count = 2;
    family(f);
    assert_int_equal(fixture_employee(f, "AUNT", "440103"), 0);
    assert_int_equal(fixture_credit(f, "AUNT", 900, "c-aunt", NULL), 0);
    assert_int_equal(fixture_person_add(f, "NIECE", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT),
                     0);
    assert_int_equal(bind(f, "AUNT", "NIECE", FAMLEDGER__RELATION__RELATION_SIBLING), 0);
    assert_int_equal(settle(f, "P1", "s1", "NIECE", 100), 0);
    assert_int_equal(last->settlement->settlement->acct_mulaid_pay_fen, 100);
    /* Guangdong switches cross-province aid off: AUNT pays no more. */
    f->config.cross_province.count = 1;
    assert_int_equal(settle(f, "P1", "s2", "NIECE", 100), 0);
    assert_int_equal(last->settlement->settlement->cash_pay_fen, 100);
    /* Settling outside one's province, where the policy does not allow it. */
    f->config.remote_settlement_provinces.all = false;
    f->config.remote_settlement_provinces.count = 0;
    assert_int_equal(settle(f, "P1", "s3", "AUNT", 100), FL_ERR_REMOTE_NOT_ALLOWED);
    f->config.remote_settlement_provinces.ids[0] = 44;
    f->config.remote_settlement_provinces.count = 1;
    assert_int_equal(settle(f, "P1", "s3", "AUNT", 100), 0);
}

static void test_major_disease_withdrawals_name_a_listed_disease(void **state)
{
    struct fixture *f = *state;
    family(f);
    char path[96];
    snprintf(path, sizeof(path), "%s/diseases.txt", f->dir);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("# 74 major diseases (excerpt)\nD45\nC91.0  \n", file);
    fclose(file);
    snprintf(f->config.major_disease_codes_path, sizeof(f->config.major_disease_codes_path),
             "%s", path);
    char error[256];
    assert_int_equal(config_diseases_load(&f->config, error, sizeof(error)), 0);
    assert_int_equal(withdraw(f, "MOM", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE,
                              "w1", "X99", ""), FL_ERR_WITHDRAWAL_NOT_ALLOWED);
    assert_int_equal(withdraw(f, "MOM", FAMLEDGER__WITHDRAWAL_REASON__WITHDRAWAL_MAJOR_DISEASE,
                              "w2", "C91.0", ""), 0);
    free(f->config.diseases.codes);
}

static int list(struct fixture *f, const char *patient, const char *merchant, const char *from,
                const char *to, uint64_t cursor, uint32_t limit)
{
    Famledger__SettlementListRequest *body = ARENA_NEW(&f->arena,
                                                       Famledger__SettlementListRequest);
    famledger__settlement_list_request__init(body);
    body->patient = (char *)patient;
    body->merchant_code = (char *)merchant;
    body->from = (char *)from;
    body->to = (char *)to;
    body->cursor = cursor;
    body->limit = limit;
    return run(f, FAMLEDGER__REQUEST__BODY_SETTLEMENT_LIST, body);
}

static void test_settlements_are_listed_newest_first_by_patient_and_by_merchant(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(fixture_merchant(f, "P2", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    const char *references[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        assert_int_equal(settle(f, i == 2 ? "P2" : "P1", references[i], "KID", 100 + i), 0);
    assert_int_equal(settle(f, "P1", "x", "MOM", 7), 0);
    assert_int_equal(refund(f, "r", last->settlement->settlement->settlement_id, 7), 0);
    /* KID's, two at a time. */
    assert_int_equal(list(f, "KID", "", "", "", 0, 2), 0);
    assert_int_equal(last->settlement_list->n_settlements, 2);
    assert_string_equal(last->settlement_list->settlements[0]->merchant_reference, "e");
    assert_string_equal(last->settlement_list->settlements[1]->merchant_reference, "d");
    uint64_t cursor = last->settlement_list->next_cursor;
    assert_int_equal(list(f, "KID", "", "", "", cursor, 2), 0);
    assert_string_equal(last->settlement_list->settlements[0]->merchant_reference, "c");
    cursor = last->settlement_list->next_cursor;
    assert_int_equal(list(f, "KID", "", "", "", cursor, 2), 0);
    assert_int_equal(last->settlement_list->n_settlements, 1);
    assert_int_equal(last->settlement_list->next_cursor, 0);
    /* P1's of today: four, newest first, the refund not counted as one, paged by 3. */
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    char today[11];
    strftime(today, sizeof(today), "%Y-%m-%d", &local);
    assert_int_equal(list(f, "", "P1", today, today, 0, 3), 0);
    assert_int_equal(last->settlement_list->n_settlements, 3);
    assert_string_equal(last->settlement_list->settlements[0]->merchant_reference, "x");
    assert_int_equal(last->settlement_list->settlements[0]->refunded_fen, 7);
    assert_string_equal(last->settlement_list->settlements[2]->merchant_reference, "d");
    cursor = last->settlement_list->next_cursor;
    assert_int_equal(list(f, "", "P1", today, today, cursor, 3), 0);
    assert_int_equal(last->settlement_list->n_settlements, 2);
    assert_string_equal(last->settlement_list->settlements[1]->merchant_reference, "a");
    assert_int_equal(list(f, "", "P1", "2020-01-01", "2020-01-31", 0, 3), 0);
    assert_int_equal(last->settlement_list->n_settlements, 0);
    assert_int_equal(list(f, "", "P1", "", "", 0, 3), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(list(f, "KID", "P1", "", "", 0, 3), FL_ERR_INVALID_ARGUMENT);
    /* A pharmacy's peer sees its own merchant's only. */
    f->peer.roles = ROLE_BIT(ROLE_SETTLE);
    f->peer.merchant_entries = 1;
    f->config.merchant_peers.count = 1;
    f->config.merchant_peers.peers[0].count = 1;
    strcpy(f->config.merchant_peers.peers[0].codes[0], "P2");
    assert_int_equal(list(f, "KID", "", "", "", 0, 10), 0);
    assert_int_equal(last->settlement_list->n_settlements, 1);
    assert_int_equal(list(f, "", "P1", today, today, 0, 10), FL_ERR_PERMISSION_DENIED);
    /* Nor may it reverse another merchant's settlement, or read its books. */
    assert_int_equal(reverse(f, "x"), FL_ERR_PERMISSION_DENIED);
    Famledger__MerchantBalanceRequest balance = FAMLEDGER__MERCHANT_BALANCE_REQUEST__INIT;
    balance.code = (char *)"P1";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_MERCHANT_BALANCE, &balance),
                     FL_ERR_PERMISSION_DENIED);
    balance.code = (char *)"P2";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_MERCHANT_BALANCE, &balance), 0);
    Famledger__SettlementGetRequest get = FAMLEDGER__SETTLEMENT_GET_REQUEST__INIT;
    get.merchant_code = (char *)"P1";
    get.merchant_reference = (char *)"x";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_SETTLEMENT_GET, &get),
                     FL_ERR_PERMISSION_DENIED);
}

static void test_aid_lists_what_relatives_paid_for_a_person_without_an_account(void **state)
{
    struct fixture *f = *state;
    family(f);
    assert_int_equal(settle(f, "P1", "s1", "KID", 12000), 0);
    assert_int_equal(refund(f, "r1", last->settlement->settlement->settlement_id, 500), 0);
    Famledger__AidRequest body = FAMLEDGER__AID_REQUEST__INIT;
    body.person_no = (char *)"KID";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_AID, &body), 0);
    assert_int_equal(last->aid->n_lines, 2);
    assert_string_equal(last->aid->lines[0]->holder, "MOM");
    assert_int_equal(last->aid->lines[0]->amount_fen, 10000);
    assert_string_equal(last->aid->lines[1]->holder, "DAD");
    assert_int_equal(last->aid->lines[1]->amount_fen, 2000);
    assert_int_equal(last->aid->lines[1]->refunded_fen, 500);
    body.person_no = (char *)"NOBODY";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_AID, &body), FL_ERR_UNKNOWN_PERSON);
}

/* A credit of `amount_fen` to `person_no` under `reference` refused with INVALID_ARGUMENT and
 * `reason`, the log's head still `seq` and the balance still `balance_fen`. */
static void credit_refused(struct fixture *f, const char *person_no, int64_t amount_fen,
                           const char *reference, const char *reason, uint64_t seq,
                           int64_t balance_fen)
{
    Famledger__Response *refused = NULL;
    assert_int_equal(fixture_credit(f, person_no, amount_fen, reference, &refused),
                     FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(refused->error, reason));
    assert_int_equal(head_seq(f), seq);
    assert_int_equal(fixture_balance(f, person_no), balance_fen);
}

/* What an account received in all, a class total and a merchant's day only grow. Where one would
 * pass INT64_MAX the movement is refused with the reason, and nothing of it is recorded; up to
 * the limit itself it is taken. */
static void test_a_total_that_would_overflow_refuses_the_movement(void **state)
{
    struct fixture *f = *state;
    f->time_us = (int64_t)1780000000 * 1000000; /* 2026-05-28: no entry is dated before 2026 */
    family(f);
    assert_int_equal(settle(f, "P1", "s1", "MOM", 3000), 0);
    uint64_t s1 = last->settlement->settlement->settlement_id;
    uint64_t seq = head_seq(f);

    /* A credit: MOM has 70.00 yuan; 0.51 more would pass the limit, 0.50 reaches it. */
    account_received(f, "MOM", INT64_MAX - 50);
    credit_refused(f, "MOM", 51, "c-over", "the account of MOM has received "
                   "92233720368547757.57 yuan in all, and 0.51 more would overflow its totals",
                   seq, 7000);

    /* A refund back into the account: refused before it writes, the settlement as it was. */
    assert_int_equal(refund(f, "r-over", s1, 100), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(last->error, "would overflow its totals"));
    assert_int_equal(head_seq(f), seq);
    assert_int_equal(fixture_credit(f, "MOM", 50, "c-last", NULL), 0);
    assert_int_equal(fixture_balance(f, "MOM"), 7050);
    assert_int_equal(refund(f, "r-over", s1, 1), FL_ERR_INVALID_ARGUMENT);
    account_received(f, "MOM", 10050); /* as the log says: 100.00 + 0.50 in */
    assert_int_equal(refund(f, "r-over", s1, 100), 0);
    assert_int_equal(last->refund->settlement->refunded_fen, 100);
    seq = head_seq(f);

    /* A class total, found after the entry is built: the writer's words name it. */
    balance_row_set(f, "fund", INT64_MIN + 100);
    credit_refused(f, "DAD", 101, "c-fund", "cannot record the credit: the class total fund "
                   "holds -92233720368547757.08 yuan, and -1.01 more would overflow it", seq,
                   5000);
    assert_int_equal(fixture_credit(f, "DAD", 100, "c-fund", NULL), 0);
    seq = head_seq(f);

    /* A merchant's day. */
    day_settled_set(f, INT64_MAX - 100);
    assert_int_equal(settle(f, "P1", "s-over", "DAD", 101), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(last->error, "merchant P1 would overflow its totals"));
    assert_int_equal(head_seq(f), seq);
    assert_int_equal(fixture_balance(f, "DAD"), 5100);
    assert_int_equal(settle(f, "P1", "s-over", "DAD", 100), 0);
    assert_int_equal(fixture_balance(f, "DAD"), 5000);
}

/* A merchant's days are keyed by text: keys that are not dates (damage) can sort between the
 * dates of a report, more of them than a year has days. The report refuses them as damage
 * where it once stopped the daemon. */
static void test_more_days_than_the_calendar_are_refused_as_damage(void **state)
{
    struct fixture *f = *state;
    family(f);
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    Famledger__MerchantDayTotals totals = FAMLEDGER__MERCHANT_DAY_TOTALS__INIT;
    for (int i = 0; i < 367; i++) {
        char day[9];
        snprintf(day, sizeof(day), "202606%c%c", 'a' + i / 26, 'a' + i % 26);
        char days_key[3 + 8], totals_key[8 + 2];
        memcpy(days_key, "P1", 3);
        memcpy(days_key + 3, day, 8);
        memcpy(totals_key, day, 8);
        memcpy(totals_key + 8, "P1", 2);
        totals.last_seq = 1;
        assert_int_equal(store_put(txn, STORE_DB_MERCHANT_DAYS, days_key, sizeof(days_key), "",
                                   0), 0);
        assert_int_equal(state_message_put(txn, &f->arena, STORE_DB_DAY_TOTALS, totals_key,
                                           sizeof(totals_key), &totals.base), 0);
    }
    assert_int_equal(store_commit(txn), 0);
    Famledger__ClearingRequest body = FAMLEDGER__CLEARING_REQUEST__INIT;
    body.merchant_code = (char *)"P1";
    body.from = (char *)"2026-01-01";
    body.to = (char *)"2026-12-31";
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CLEARING, &body), FL_ERR_INTERNAL);
    body.from = (char *)"2026-07-01"; /* after them: the days before only open the report */
    assert_int_equal(run(f, FAMLEDGER__REQUEST__BODY_CLEARING, &body), 0);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_every_movement_balances_and_the_trial_balance_is_zero),
        TEST(test_a_payout_never_exceeds_what_is_owed_and_replays),
        TEST(test_a_recovery_takes_back_what_a_merchant_owes),
        TEST(test_the_clearing_report_lists_each_day_and_what_is_owed),
        TEST(test_a_reversal_before_the_settlement_refuses_it_when_it_arrives),
        TEST(test_a_reversal_after_the_settlement_cancels_what_is_left),
        TEST(test_a_deceased_person_is_no_patient_and_no_binding_outlives_them),
        TEST(test_a_resident_beneficiary_who_dies_is_paid_for_by_nobody),
        TEST(test_opting_out_and_enrolling_again_keeps_the_history),
        TEST(test_relations_must_agree_and_nobody_has_two_spouses),
        TEST(test_bindings_record_their_evidence_when_the_region_requires_it),
        TEST(test_a_linked_transfer_in_must_match_and_completes_once),
        TEST(test_policy_applies_when_money_moves),
        TEST(test_major_disease_withdrawals_name_a_listed_disease),
        TEST(test_settlements_are_listed_newest_first_by_patient_and_by_merchant),
        TEST(test_aid_lists_what_relatives_paid_for_a_person_without_an_account),
        TEST(test_a_total_that_would_overflow_refuses_the_movement),
        TEST(test_more_days_than_the_calendar_are_refused_as_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
