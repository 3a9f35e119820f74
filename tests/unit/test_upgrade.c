/* test_upgrade.c -- a ledger of format 3 opened by today's store: upgraded in place in the
 * opening transaction, which grows the map when the links need more room than it has, and
 * changes nothing when there is no room at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "format_older.h"

#include <lmdb.h>

#define EMPLOYEES 1500

/* A stopped format-3 ledger in f->dir: EMPLOYEES accounts, each opened and credited (3,000
 * statement lines). Returns the bytes of its pages in use. */
static uint64_t format_3_ledger(struct fixture *f)
{
    store_close(f->store);
    assert_int_equal(store_open(f->dir, 64 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
    char person[16], reference[16];
    for (int i = 0; i < EMPLOYEES; i++) {
        snprintf(person, sizeof(person), "E%05d", i);
        snprintf(reference, sizeof(reference), "c-%d", i);
        assert_int_equal(fixture_employee(f, person, "110101"), 0);
        assert_int_equal(fixture_credit(f, person, 100 + i, reference, NULL), 0);
    }
    store_close(f->store);
    f->store = NULL;
    assert_int_equal(format_older_make(f->dir, 3), 0);
    MDB_env *env;
    MDB_envinfo info;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, f->dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_env_info(env, &info), 0);
    mdb_env_close(env);
    return ((uint64_t)info.me_last_pgno + 1) * 4096;
}

/* The format the ledger records, and whether it still has the format-3 index. */
static void ledger_format(const char *dir, char format[8], bool *has_index)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, index;
    MDB_val key = {6, "format"}, value;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, STORE_DBS_MAX), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_get(txn, meta, &key, &value), 0);
    assert_true(value.mv_size < 8);
    memcpy(format, value.mv_data, value.mv_size);
    format[value.mv_size] = 0;
    *has_index = mdb_dbi_open(txn, "account_entries", 0, &index) == 0;
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

static Famledger__StatementReply *statement(struct fixture *f, const char *person_no,
                                            bool oldest_first)
{
    Famledger__StatementRequest query = FAMLEDGER__STATEMENT_REQUEST__INIT;
    query.person_no = (char *)person_no;
    query.limit = 10;
    query.oldest_first = oldest_first;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_STATEMENT;
    request.statement = &query;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_run(f, &request, &response), 0);
    return response->statement;
}

static void test_upgrade_grows_a_map_too_small_for_the_links(void **state)
{
    struct fixture *f = *state;
    uint64_t used = format_3_ledger(f);
    char format[8];
    bool has_index;
    ledger_format(f->dir, format, &has_index);
    assert_string_equal(format, "3");
    assert_true(has_index);

    /* Four free pages: the links alone need dozens. */
    uint64_t map = used + 4 * 4096;
    assert_int_equal(store_open(f->dir, map, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
    assert_true(store_map_bytes(f->store) > map);
    for (int i = 0; i < EMPLOYEES; i += 499) {
        char person[16];
        snprintf(person, sizeof(person), "E%05d", i);
        Famledger__StatementReply *page = statement(f, person, true);
        assert_int_equal(page->n_lines, 2);
        assert_string_equal(page->lines[0]->type, "account_opened");
        assert_int_equal(page->lines[1]->amount_fen, 100 + i);
        assert_int_equal(page->lines[1]->seq, page->lines[0]->seq + 1);
        page = statement(f, person, false);
        assert_int_equal(page->n_lines, 2);
        assert_int_equal(page->lines[0]->amount_fen, 100 + i);
    }
    store_close(f->store);
    f->store = NULL;
    ledger_format(f->dir, format, &has_index);
    assert_string_equal(format, "4");
    assert_false(has_index);
    assert_int_equal(store_open(f->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
}

static void test_upgrade_without_room_changes_nothing(void **state)
{
    struct fixture *f = *state;
    uint64_t used = format_3_ledger(f);
    uint64_t map = used + 4 * 4096;
    assert_int_equal(store_open(f->dir, map, map, STORE_OPEN_EXISTING, &f->store),
                     FL_ERR_OUT_OF_SPACE);
    f->store = NULL;
    char format[8];
    bool has_index;
    ledger_format(f->dir, format, &has_index);
    assert_string_equal(format, "3");
    assert_true(has_index);
    /* With room, the same ledger upgrades. */
    assert_int_equal(store_open(f->dir, map, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
}

static int state_page(struct fixture *f, int table, Famledger__Response **response)
{
    Famledger__StatePageRequest page = FAMLEDGER__STATE_PAGE_REQUEST__INIT;
    page.table = (Famledger__StateTable)table;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_STATE_PAGE;
    request.state_page = &page;
    return fixture_run(f, &request, response);
}

/* An older verify asks for the retired index (8) by number: told why, never given the log. */
static void test_the_retired_statement_table_is_refused_by_name(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);
    Famledger__Response *response = NULL;
    assert_int_equal(state_page(f, 8, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "account_links since format 4"));
    assert_int_equal(state_page(f, 99, &response), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(state_page(f, FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS, &response), 0);
    assert_int_equal(response->state_page->n_keys, 1); /* E1's opening */
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_upgrade_grows_a_map_too_small_for_the_links),
        TEST(test_upgrade_without_room_changes_nothing),
        TEST(test_the_retired_statement_table_is_refused_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
