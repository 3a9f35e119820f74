/* test_settle.c -- family mutual aid: bindings and sequential multi-account settlement, as the
 * policy reads (docs/POLICY.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "state.h"

#define SPOUSE FAMLEDGER__RELATION__RELATION_SPOUSE
#define PARENT FAMLEDGER__RELATION__RELATION_PARENT
#define CHILD FAMLEDGER__RELATION__RELATION_CHILD
#define SIBLING FAMLEDGER__RELATION__RELATION_SIBLING
#define PATERNAL_GRANDPARENT FAMLEDGER__RELATION__RELATION_PATERNAL_GRANDPARENT
#define PATERNAL_GRANDCHILD FAMLEDGER__RELATION__RELATION_PATERNAL_GRANDCHILD
#define PHARMACY FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY
#define AGENCY FAMLEDGER__MERCHANT_KIND__MERCHANT_AGENCY

static Famledger__SettleRequest request_for(const char *patient, int64_t amount_fen,
                                            const char *reference)
{
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)"PH001";
    settle.merchant_reference = (char *)reference;
    settle.patient = (char *)patient;
    settle.amount_fen = amount_fen;
    return settle;
}

static Famledger__Settlement *settled(struct fixture *f, const Famledger__SettleRequest *settle)
{
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_settle(f, false, settle, &response), 0);
    return response->settlement->settlement;
}

static void credit(struct fixture *f, const char *person_no, int64_t amount_fen)
{
    char reference[48];
    snprintf(reference, sizeof(reference), "credit-%s-%lld", person_no, (long long)amount_fen);
    assert_int_equal(fixture_credit(f, person_no, amount_fen, reference, NULL), 0);
}

/* A child with a small account of its own, funded by father, mother and a grandmother. */
static void family_make(struct fixture *f)
{
    assert_int_equal(fixture_merchant(f, "PH001", PHARMACY), 0);
    assert_int_equal(fixture_employee(f, "CHILD", "110101"), 0);
    assert_int_equal(fixture_employee(f, "FATHER", "110102"), 0);
    assert_int_equal(fixture_employee(f, "MOTHER", "110105"), 0);
    assert_int_equal(fixture_employee(f, "GRANDMA", "110108"), 0);
    credit(f, "CHILD", 3000);
    credit(f, "FATHER", 5000);
    credit(f, "MOTHER", 20000);
    credit(f, "GRANDMA", 100000);
    /* "the beneficiary is the holder's R" */
    assert_int_equal(fixture_bind(f, "FATHER", "CHILD", CHILD), 0);
    assert_int_equal(fixture_bind(f, "MOTHER", "CHILD", CHILD), 0);
    assert_int_equal(fixture_bind(f, "GRANDMA", "CHILD", PATERNAL_GRANDCHILD), 0);
}

static void test_a_child_drains_its_own_account_then_father_then_mother(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 15000, "rx-1");
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 3);
    assert_string_equal(s->legs[0]->holder, "CHILD");
    assert_int_equal(s->legs[0]->amount_fen, 3000);
    assert_false(s->legs[0]->mutual_aid);
    assert_string_equal(s->legs[1]->holder, "FATHER");
    assert_int_equal(s->legs[1]->amount_fen, 5000);
    assert_true(s->legs[1]->mutual_aid);
    assert_string_equal(s->legs[2]->holder, "MOTHER");
    assert_int_equal(s->legs[2]->amount_fen, 7000);
    assert_int_equal(s->legs[2]->balance_after_fen, 13000);
    assert_int_equal(s->acct_pay_fen, 3000);
    assert_int_equal(s->acct_mulaid_pay_fen, 12000);
    assert_int_equal(s->cash_pay_fen, 0);
    assert_int_equal(s->balc_fen, 0);
    assert_true(s->settlement_id > 0);
    assert_int_equal(fixture_balance(f, "CHILD"), 0);
    assert_int_equal(fixture_balance(f, "FATHER"), 0);
    assert_int_equal(fixture_balance(f, "MOTHER"), 13000);
    assert_int_equal(fixture_balance(f, "GRANDMA"), 100000);
}

static void test_what_the_accounts_cannot_cover_is_cash(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 200000, "rx-big");
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 4);
    assert_int_equal(s->acct_pay_fen + s->acct_mulaid_pay_fen, 128000);
    assert_int_equal(s->cash_pay_fen, 72000);
    assert_int_equal(fixture_balance(f, "GRANDMA"), 0);
}

static void test_the_family_may_reorder_its_funders(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__FundingOrderRequest order = FAMLEDGER__FUNDING_ORDER_REQUEST__INIT;
    char *holders[] = {"GRANDMA", "MOTHER", "FATHER"};
    order.beneficiary = (char *)"CHILD";
    order.holders = holders;
    order.n_holders = 3;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_FUNDING_ORDER;
    request.funding_order = &order;
    assert_int_equal(fixture_run(f, &request, NULL), 0);
    Famledger__SettleRequest settle = request_for("CHILD", 5000, "rx-2");
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 2);
    assert_string_equal(s->legs[0]->holder, "CHILD"); /* own account always first */
    assert_string_equal(s->legs[1]->holder, "GRANDMA");
    /* A list that is not the bound holders exactly once is refused. */
    char *twice[] = {"GRANDMA", "GRANDMA", "FATHER"};
    order.holders = twice;
    assert_int_equal(fixture_run(f, &request, NULL), FL_ERR_NOT_BOUND);
    order.n_holders = 2;
    assert_int_equal(fixture_run(f, &request, NULL), FL_ERR_INVALID_ARGUMENT);
}

static void test_a_resident_grandparent_without_an_account_is_paid_by_a_grandchild(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_merchant(f, "PH001", PHARMACY), 0);
    assert_int_equal(fixture_person_add(f, "GRANDPA", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT),
                     0);
    assert_int_equal(fixture_employee(f, "GRANDSON", "110101"), 0);
    credit(f, "GRANDSON", 10000);
    assert_int_equal(fixture_bind(f, "GRANDSON", "GRANDPA", PATERNAL_GRANDPARENT), 0);
    Famledger__SettleRequest settle = request_for("GRANDPA", 2550, "rx-3");
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 1);
    assert_string_equal(s->legs[0]->holder, "GRANDSON");
    assert_true(s->legs[0]->mutual_aid);
    assert_int_equal(s->acct_pay_fen, 0);
    assert_int_equal(s->acct_mulaid_pay_fen, 2550);
    assert_int_equal(s->balc_fen, 0);
    assert_int_equal(fixture_balance(f, "GRANDSON"), 7450);
}

static void test_a_sibling_in_another_province_is_bound_only_when_both_allow_it(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "BJ", "110101"), 0);   /* Beijing, 11 */
    assert_int_equal(fixture_employee(f, "GD", "440103"), 0);   /* Guangdong, 44 */
    assert_int_equal(fixture_bind(f, "BJ", "GD", SIBLING), FL_ERR_CROSS_PROVINCE_NOT_ALLOWED);
    f->config.cross_province.ids[f->config.cross_province.count++] = 11;
    assert_int_equal(fixture_bind(f, "BJ", "GD", SIBLING), FL_ERR_CROSS_PROVINCE_NOT_ALLOWED);
    f->config.cross_province.ids[f->config.cross_province.count++] = 44;
    assert_int_equal(fixture_bind(f, "BJ", "GD", SIBLING), 0);
}

static void test_binding_rules_each_have_their_own_status(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "H", "110101"), 0);
    assert_int_equal(fixture_person_add(f, "R", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
    assert_int_equal(fixture_bind(f, "H", "H", SPOUSE), FL_ERR_SELF_BINDING);
    assert_int_equal(fixture_bind(f, "H", "R", FAMLEDGER__RELATION__RELATION_UNSPECIFIED),
                     FL_ERR_UNKNOWN_RELATION);
    assert_int_equal(fixture_bind(f, "H", "R", (Famledger__Relation)42), FL_ERR_UNKNOWN_RELATION);
    assert_int_equal(fixture_bind(f, "R", "H", SPOUSE), FL_ERR_NO_ACCOUNT);
    assert_int_equal(fixture_bind(f, "H", "NOBODY", SPOUSE), FL_ERR_UNKNOWN_PERSON);
    assert_int_equal(fixture_bind(f, "H", "R", PARENT), 0);
    assert_int_equal(fixture_bind(f, "H", "R", PARENT), FL_ERR_BINDING_EXISTS);

    f->config.bindings_per_holder_max = 2;
    assert_int_equal(fixture_person_add(f, "R2", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
    assert_int_equal(fixture_person_add(f, "R3", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
    assert_int_equal(fixture_bind(f, "H", "R2", CHILD), 0);
    assert_int_equal(fixture_bind(f, "H", "R3", CHILD), FL_ERR_HOLDER_BINDING_LIMIT);

    f->config.bindings_per_beneficiary_max = 1;
    assert_int_equal(fixture_employee(f, "H2", "110101"), 0);
    assert_int_equal(fixture_bind(f, "H2", "R", SIBLING), FL_ERR_BENEFICIARY_BINDING_LIMIT);

    Famledger__UnbindRequest unbind = FAMLEDGER__UNBIND_REQUEST__INIT;
    unbind.holder = (char *)"H2";
    unbind.beneficiary = (char *)"R";
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_UNBIND;
    request.unbind = &unbind;
    assert_int_equal(fixture_run(f, &request, NULL), FL_ERR_NOT_BOUND);
    unbind.holder = (char *)"H";
    assert_int_equal(fixture_run(f, &request, NULL), 0);
    assert_int_equal(fixture_bind(f, "H2", "R", SIBLING), 0); /* the place is free again */
}

static void test_a_frozen_account_is_skipped(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    /* Freeze the father's account in derived state, as account freeze does. */
    struct store_txn *txn;
    Famledger__Account *father;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(state_account_get(txn, &f->arena, "FATHER", &father), 1);
    father->status = FAMLEDGER__ACCOUNT_STATUS__ACCOUNT_FROZEN;
    assert_int_equal(state_account_put(txn, &f->arena, father), 0);
    assert_int_equal(store_commit(txn), 0);

    Famledger__SettleRequest settle = request_for("CHILD", 10000, "rx-4");
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 2);
    assert_string_equal(s->legs[1]->holder, "MOTHER");
    assert_int_equal(fixture_balance(f, "FATHER"), 5000);
}

/* Funders are read in order only while something is left to pay: a settlement the first
 * accounts cover reads no record after them. A damaged record shows it: it fails only the
 * settlement that needs it, and that one moves nothing. */
static void test_funders_are_read_only_while_something_is_left_to_pay(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, STORE_DB_PERSONS, "MOTHER", 6, "\xff\xff\xff", 3), 0);
    assert_int_equal(store_commit(txn), 0);

    Famledger__SettleRequest settle = request_for("CHILD", 2000, "rx-own");
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 1);
    settle = request_for("CHILD", 6000, "rx-father");
    s = settled(f, &settle);
    assert_int_equal(s->n_legs, 2);
    assert_string_equal(s->legs[1]->holder, "FATHER");
    assert_int_equal(s->cash_pay_fen, 0);
    assert_int_equal(fixture_balance(f, "FATHER"), 0);

    settle = request_for("CHILD", 100, "rx-mother");
    Famledger__Response *refused = NULL;
    assert_int_equal(fixture_settle(f, false, &settle, &refused), FL_ERR_INTERNAL);
    assert_non_null(strstr(refused->error, "funders of CHILD"));
    assert_int_equal(fixture_balance(f, "CHILD"), 0);
    assert_int_equal(fixture_balance(f, "GRANDMA"), 100000);
    Famledger__Account *mother;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(state_account_get(txn, &f->arena, "MOTHER", &mother), 1);
    assert_int_equal(mother->balance_fen, 20000); /* its account is whole; only its person */
    store_read_end(txn);
}

static void test_no_account_flag_means_all_cash_and_nothing_moves(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 1000, "rx-5");
    settle.no_account = 1;
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 0);
    assert_int_equal(s->cash_pay_fen, 1000);
    assert_int_equal(fixture_balance(f, "CHILD"), 3000);
}

static void test_all_or_nothing_refuses_and_moves_nothing(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 128001, "rx-6");
    settle.all_or_nothing = 1;
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_INSUFFICIENT_FUNDS);
    assert_int_equal(fixture_balance(f, "CHILD"), 3000);
    assert_int_equal(fixture_balance(f, "GRANDMA"), 100000);
    settle.amount_fen = 128000; /* exactly covered */
    settle.merchant_reference = (char *)"rx-7";
    assert_int_equal(settled(f, &settle)->cash_pay_fen, 0);
}

static void test_a_retry_replays_and_a_changed_retry_conflicts(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 4000, "rx-8");
    Famledger__Settlement *first = settled(f, &settle);
    Famledger__Response *retry = NULL;
    assert_int_equal(fixture_settle(f, false, &settle, &retry), 0);
    assert_true(retry->replayed);
    assert_int_equal(retry->settlement->settlement->settlement_id, first->settlement_id);
    assert_int_equal(retry->settlement->settlement->acct_mulaid_pay_fen, 1000);
    assert_int_equal(fixture_balance(f, "FATHER"), 4000);
    settle.amount_fen = 4001;
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_CONFLICT);
    assert_int_equal(fixture_balance(f, "FATHER"), 4000);
}

static void test_the_quote_equals_the_settlement_made_right_after_it(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 9999, "rx-9");
    Famledger__Response *quote = NULL;
    assert_int_equal(fixture_settle(f, true, &settle, &quote), 0);
    assert_int_equal(fixture_balance(f, "CHILD"), 3000); /* a quote writes nothing */
    Famledger__Settlement *q = quote->settlement->settlement, *s = settled(f, &settle);
    assert_int_equal(q->n_legs, s->n_legs);
    for (size_t i = 0; i < q->n_legs; i++) {
        assert_string_equal(q->legs[i]->holder, s->legs[i]->holder);
        assert_int_equal(q->legs[i]->amount_fen, s->legs[i]->amount_fen);
        assert_int_equal(q->legs[i]->balance_after_fen, s->legs[i]->balance_after_fen);
    }
    assert_int_equal(q->acct_pay_fen, s->acct_pay_fen);
    assert_int_equal(q->acct_mulaid_pay_fen, s->acct_mulaid_pay_fen);
    assert_int_equal(q->cash_pay_fen, s->cash_pay_fen);
    assert_int_equal(q->balc_fen, s->balc_fen);
}

static void test_a_quote_needs_no_reference_but_a_settlement_does(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 100, "");
    assert_int_equal(fixture_settle(f, true, &settle, NULL), 0);
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(fixture_balance(f, "CHILD"), 3000);
}

static void test_merchants_settle_only_their_categories_and_only_when_active(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    Famledger__SettleRequest settle = request_for("CHILD", 100, "rx-10");
    settle.category = FAMLEDGER__CATEGORY__CATEGORY_OUTPATIENT;
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_CATEGORY_NOT_ALLOWED);
    settle.category = FAMLEDGER__CATEGORY__CATEGORY_DEVICE;
    settle.merchant_code = (char *)"NOPE";
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_UNKNOWN_MERCHANT);
    settle.merchant_code = (char *)"PH001";
    Famledger__MerchantStatusRequest status = FAMLEDGER__MERCHANT_STATUS_REQUEST__INIT;
    status.code = (char *)"PH001";
    status.suspended = 1;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_MERCHANT_STATUS;
    request.merchant_status = &status;
    assert_int_equal(fixture_run(f, &request, NULL), 0);
    assert_int_equal(fixture_settle(f, false, &settle, NULL), FL_ERR_MERCHANT_SUSPENDED);
    status.suspended = 0;
    assert_int_equal(fixture_run(f, &request, NULL), 0);
    assert_int_equal(settled(f, &settle)->acct_pay_fen, 100);
}

static void test_optional_categories_take_mutual_aid_only_where_the_province_allows(void **state)
{
    struct fixture *f = *state;
    family_make(f);
    assert_int_equal(fixture_merchant(f, "AG001", AGENCY), 0);
    Famledger__SettleRequest settle = request_for("CHILD", 10000, "ltc-1");
    settle.merchant_code = (char *)"AG001";
    settle.category = FAMLEDGER__CATEGORY__CATEGORY_LONG_TERM_CARE;
    Famledger__Settlement *s = settled(f, &settle);
    assert_int_equal(s->n_legs, 1); /* the patient's own account pays every category */
    assert_int_equal(s->cash_pay_fen, 7000);
    f->config.long_term_care_provinces.ids[f->config.long_term_care_provinces.count++] = 11;
    settle.merchant_reference = (char *)"ltc-2";
    s = settled(f, &settle);
    assert_int_equal(s->acct_mulaid_pay_fen, 10000);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_a_child_drains_its_own_account_then_father_then_mother),
        TEST(test_what_the_accounts_cannot_cover_is_cash),
        TEST(test_the_family_may_reorder_its_funders),
        TEST(test_a_resident_grandparent_without_an_account_is_paid_by_a_grandchild),
        TEST(test_a_sibling_in_another_province_is_bound_only_when_both_allow_it),
        TEST(test_binding_rules_each_have_their_own_status),
        TEST(test_a_frozen_account_is_skipped),
        TEST(test_funders_are_read_only_while_something_is_left_to_pay),
        TEST(test_no_account_flag_means_all_cash_and_nothing_moves),
        TEST(test_all_or_nothing_refuses_and_moves_nothing),
        TEST(test_a_retry_replays_and_a_changed_retry_conflicts),
        TEST(test_the_quote_equals_the_settlement_made_right_after_it),
        TEST(test_a_quote_needs_no_reference_but_a_settlement_does),
        TEST(test_merchants_settle_only_their_categories_and_only_when_active),
        TEST(test_optional_categories_take_mutual_aid_only_where_the_province_allows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
