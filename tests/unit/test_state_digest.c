/* test_state_digest.c -- the daemon's digest of a stored table (StateDigestRequest) is the fold
 * of the very records a walk of the table serves, page after page from any cursor; a record
 * that does not read is counted as damaged, and tables without a digest are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "table_digest.h"

#define CHILD FAMLEDGER__RELATION__RELATION_CHILD
#define PHARMACY FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY

/* Two families, each child funded by both parents, and settlements that reach the parents. */
static int ledger_setup(void **state)
{
    if (fixture_setup(state) != 0)
        return -1;
    struct fixture *f = *state;
    assert_int_equal(fixture_merchant(f, "PH001", PHARMACY), 0);
    const char *const families[2][3] = {{"C1", "F1", "M1"}, {"C2", "F2", "M2"}};
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++) {
            assert_int_equal(fixture_employee(f, families[i][j], "110101"), 0);
            char reference[32];
            snprintf(reference, sizeof(reference), "credit-%s", families[i][j]);
            assert_int_equal(fixture_credit(f, families[i][j], 10000, reference, NULL), 0);
        }
        assert_int_equal(fixture_bind(f, families[i][1], families[i][0], CHILD), 0);
        assert_int_equal(fixture_bind(f, families[i][2], families[i][0], CHILD), 0);
    }
    for (int n = 0; n < 6; n++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "rx-%d", n);
        Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
        settle.merchant_code = (char *)"PH001";
        settle.merchant_reference = reference;
        settle.patient = (char *)(n % 2 ? "C2" : "C1");
        settle.amount_fen = 4000 + 100 * n;
        assert_int_equal(fixture_settle(f, false, &settle, NULL), 0);
    }
    return 0;
}

static const Famledger__StateTable digested[] = {
    FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS, FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS,
    FAMLEDGER__STATE_TABLE__STATE_REFERENCES,    FAMLEDGER__STATE_TABLE__STATE_PATIENT_SETTLEMENTS,
    FAMLEDGER__STATE_TABLE__STATE_FUNDED,        FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS,
    FAMLEDGER__STATE_TABLE__STATE_PERSONS,
};

struct fold {
    struct table_digest digest;
    uint64_t records, damaged;
};

static void fold_item(void *context, const uint8_t *key, size_t key_bytes, uint64_t item)
{
    table_digest_add(context, key, key_bytes, item);
}

/* The table walked page by page (StatePageRequest), each record's items folded here. */
static struct fold walked(struct fixture *f, Famledger__StateTable table)
{
    struct fold fold = {{0, 0}, 0, 0};
    uint8_t after[512], after_value[8];
    Famledger__StatePageRequest page = FAMLEDGER__STATE_PAGE_REQUEST__INIT;
    page.table = table;
    page.limit = 3;
    for (;;) {
        Famledger__Response *response = NULL;
        assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_PAGE, &page, &response),
                         0);
        const Famledger__StatePageReply *reply = response->state_page;
        for (size_t i = 0; i < reply->n_keys; i++) {
            fold.records++;
            if (table_digest_items(table, reply->keys[i].data, reply->keys[i].len,
                                   reply->values[i].data, reply->values[i].len, fold_item,
                                   &fold.digest) != 0)
                fold.damaged++;
        }
        if (!reply->more)
            return fold;
        const ProtobufCBinaryData *key = &reply->keys[reply->n_keys - 1];
        const ProtobufCBinaryData *value = &reply->values[reply->n_keys - 1];
        memcpy(after, key->data, key->len);
        page.after_key = (ProtobufCBinaryData){key->len, after};
        page.after_value.len = value->len <= 8 ? value->len : 0;
        if (page.after_value.len)
            memcpy(after_value, value->data, page.after_value.len);
        page.after_value.data = after_value;
    }
}

/* The table digested by the daemon `limit` records a page, resumed after each page's cursor. */
static struct fold digested_by_daemon(struct fixture *f, Famledger__StateTable table,
                                      uint32_t limit)
{
    struct fold fold = {{0, 0}, 0, 0};
    uint8_t after[512], after_value[8];
    Famledger__StateDigestRequest asked = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    asked.table = table;
    asked.limit = limit;
    asked.version = TABLE_DIGEST_VERSION;
    for (int pages = 0;; pages++) {
        assert_true(pages < 1000);
        Famledger__Response *response = NULL;
        assert_int_equal(
            fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_DIGEST, &asked, &response), 0);
        const Famledger__StateDigestReply *reply = response->state_digest;
        fold.digest.count += reply->count;
        fold.digest.sum += reply->sum;
        fold.records += reply->records;
        fold.damaged += reply->damaged;
        if (limit)
            assert_true(reply->records <= limit);
        if (!reply->more)
            return fold;
        assert_true(reply->last_key.len > 0 && reply->last_key.len <= sizeof(after));
        memcpy(after, reply->last_key.data, reply->last_key.len);
        asked.after_key = (ProtobufCBinaryData){reply->last_key.len, after};
        if (reply->last_value.len) /* empty bytes may come as NULL */
            memcpy(after_value, reply->last_value.data, reply->last_value.len);
        asked.after_value = (ProtobufCBinaryData){reply->last_value.len, after_value};
    }
}

static void assert_same_fold(struct fold a, struct fold b)
{
    assert_int_equal(a.records, b.records);
    assert_int_equal(a.digest.count, b.digest.count);
    assert_int_equal(a.digest.sum, b.digest.sum);
    assert_int_equal(a.damaged, b.damaged);
}

static void test_the_digest_is_the_fold_of_the_walk_from_any_cursor(void **state)
{
    struct fixture *f = *state;
    for (size_t t = 0; t < sizeof(digested) / sizeof(*digested); t++) {
        struct fold walk = walked(f, digested[t]);
        assert_true(walk.records >= 2); /* every table has records to page through */
        assert_int_equal(walk.damaged, 0);
        const uint32_t limits[] = {0, 1, 2, 5, 1000000};
        for (size_t l = 0; l < sizeof(limits) / sizeof(*limits); l++)
            assert_same_fold(walk, digested_by_daemon(f, digested[t], limits[l]));
    }
    /* The funded lists hold one item a beneficiary: four bindings in two records each. */
    struct fold funded = walked(f, FAMLEDGER__STATE_TABLE__STATE_FUNDED);
    assert_int_equal(funded.records, 4);
    assert_int_equal(funded.digest.count, 4);
}

/* A changed item changes the sum; a record that does not read is counted, not folded. */
static void test_a_changed_or_unreadable_record_shows(void **state)
{
    struct fixture *f = *state;
    const Famledger__StateTable links = FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS;
    struct fold before = digested_by_daemon(f, links, 0);
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    uint8_t key[10] = {0, 0, 0, 0, 0, 0, 0, 1, 'C', '1'}; /* entry 1 of C1: no such link */
    uint8_t prev[8] = {0};
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNT_LINKS, key, sizeof(key), prev, sizeof(prev)),
                     0);
    assert_int_equal(store_commit(txn), 0);
    struct fold added = digested_by_daemon(f, links, 2);
    assert_int_equal(added.records, before.records + 1);
    assert_int_equal(added.digest.count, before.digest.count + 1);
    assert_true(added.digest.sum != before.digest.sum);

    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNT_LINKS, key, sizeof(key), "bad", 3), 0);
    assert_int_equal(store_commit(txn), 0);
    struct fold damaged = digested_by_daemon(f, links, 2);
    assert_int_equal(damaged.records, before.records + 1);
    assert_int_equal(damaged.damaged, 1);
    assert_int_equal(damaged.digest.count, before.digest.count);
    assert_int_equal(damaged.digest.sum, before.digest.sum);
    assert_same_fold(damaged, walked(f, links));
}

static int digest_status(struct fixture *f, int table, size_t after_key_bytes,
                         Famledger__Response **response)
{
    static uint8_t long_key[1024];
    Famledger__StateDigestRequest asked = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    asked.table = (Famledger__StateTable)table;
    asked.after_key = (ProtobufCBinaryData){after_key_bytes, long_key};
    asked.version = TABLE_DIGEST_VERSION;
    return fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_DIGEST, &asked, response);
}

static void test_tables_without_a_digest_are_refused(void **state)
{
    struct fixture *f = *state;
    Famledger__Response *response = NULL;
    assert_int_equal(digest_status(f, FAMLEDGER__STATE_TABLE__STATE_FUNDERS, 0, &response),
                     FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "has no digest"));
    assert_int_equal(digest_status(f, 0, 0, &response), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(digest_status(f, 8, 0, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "account_links since format 4"));
    assert_int_equal(digest_status(f, 99, 0, &response), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(digest_status(f, FAMLEDGER__STATE_TABLE__STATE_REFERENCES, 1024, &response),
                     FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(digest_status(f, FAMLEDGER__STATE_TABLE__STATE_REFERENCES, 0, &response), 0);
}

/* A client of another digest definition (or none: an older or foreign one) is told so, and
 * walks instead. */
static void test_another_digest_version_is_unsupported(void **state)
{
    struct fixture *f = *state;
    Famledger__StateDigestRequest asked = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    asked.table = FAMLEDGER__STATE_TABLE__STATE_REFERENCES;
    Famledger__Response *response = NULL;
    const uint32_t versions[] = {0, TABLE_DIGEST_VERSION + 1};
    for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
        asked.version = versions[i];
        assert_int_equal(
            fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_DIGEST, &asked, &response),
            FL_ERR_UNSUPPORTED);
        assert_non_null(strstr(response->error, "walk them"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_the_digest_is_the_fold_of_the_walk_from_any_cursor,
                                        ledger_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_changed_or_unreadable_record_shows, ledger_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_tables_without_a_digest_are_refused, ledger_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_another_digest_version_is_unsupported, ledger_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
