/* test_upgrade.c -- a ledger of an older format opened by today's store: upgraded in place in
 * the opening transaction, which grows the map when the links need more room than it has, and
 * changes nothing when there is no room at all; format 4's mutual-aid usage table folded into
 * the holders' accounts; format 6's merchant days and format 7's patient index made chains,
 * and a patient's chain followed into the account they open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "format_older.h"
#include "ledger.h"
#include "state.h"

#include <lmdb.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

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
    assert_string_equal(format, "12");
    assert_false(has_index);
    assert_int_equal(store_open(f->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
}

/* Open the stopped ledger, expecting `status`: an upgrade refused leaves `format` as it was.
 * Returns whether the format-3 statement index is still there. */
static bool assert_upgrade_refused(struct fixture *f, uint64_t map, uint64_t map_max,
                                   int status, const char *format)
{
    assert_int_equal(store_open(f->dir, map, map_max, STORE_OPEN_EXISTING, &f->store), status);
    f->store = NULL;
    char left[8];
    bool has_index;
    ledger_format(f->dir, left, &has_index);
    assert_string_equal(left, format);
    return has_index;
}

static void test_upgrade_without_room_changes_nothing(void **state)
{
    struct fixture *f = *state;
    uint64_t used = format_3_ledger(f);
    uint64_t map = used + 4 * 4096;
    assert_true(assert_upgrade_refused(f, map, map, FL_ERR_OUT_OF_SPACE, "3"));
    /* With room, the same ledger upgrades. */
    assert_int_equal(store_open(f->dir, map, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
}

static int settle_at(struct fixture *f, const char *merchant, const char *reference,
                     const char *patient, int64_t amount_fen, Famledger__Response **response)
{
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)merchant;
    settle.merchant_reference = (char *)reference;
    settle.patient = (char *)patient;
    settle.amount_fen = amount_fen;
    return fixture_settle(f, false, &settle, response);
}

static int settle_for(struct fixture *f, const char *reference, const char *patient,
                      int64_t amount_fen, Famledger__Response **response)
{
    return settle_at(f, "P1", reference, patient, amount_fen, response);
}

static Famledger__Account *account_of(struct fixture *f, const char *person_no)
{
    Famledger__AccountGetRequest get = FAMLEDGER__ACCOUNT_GET_REQUEST__INIT;
    get.person_no = (char *)person_no;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_ACCOUNT_GET, &get, &response), 0);
    return response->account->account;
}

/* Put raw rows into a stopped ledger's aid_usage table (format 4's), or count its rows and
 * those of H's account (rows NULL). */
static void usage_rows(const char *dir, const char *const *rows, size_t *table_rows,
                       size_t *account_usage)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi usage, accounts;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, STORE_DBS_MAX), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    for (size_t i = 0; rows && rows[i]; i += 2) {
        /* "holder/beneficiary/period": '/' stands for the key's NUL bytes */
        char key[80];
        size_t bytes = strlen(rows[i]);
        memcpy(key, rows[i], bytes);
        for (size_t j = 0; j < bytes; j++)
            key[j] = key[j] == '/' ? '\0' : key[j];
        uint8_t value[8];
        store_u64_encode(value, strtoull(rows[i + 1], NULL, 10));
        MDB_val k = {bytes, key}, v = {8, value};
        assert_int_equal(mdb_dbi_open(txn, "aid_usage", 0, &usage), 0);
        assert_int_equal(mdb_put(txn, usage, &k, &v, 0), 0);
    }
    *table_rows = 0;
    if (mdb_dbi_open(txn, "aid_usage", 0, &usage) == 0) {
        MDB_stat stat;
        assert_int_equal(mdb_stat(txn, usage, &stat), 0);
        *table_rows = stat.ms_entries;
    } else {
        *table_rows = SIZE_MAX; /* no table at all */
    }
    MDB_val k = {1, "H"}, v;
    assert_int_equal(mdb_dbi_open(txn, "accounts", 0, &accounts), 0);
    assert_int_equal(mdb_get(txn, accounts, &k, &v), 0);
    Famledger__Account *account = famledger__account__unpack(NULL, v.mv_size, v.mv_data);
    assert_non_null(account);
    *account_usage = account->n_aid_usage;
    famledger__account__free_unpacked(account, NULL);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Format 4 to 5: each holder's latest month and year per relative move into their account,
 * older periods, relatives of an earlier year and counts back at zero left behind, and the
 * family's limits go on counting from them. */
static void test_upgrade_moves_aid_usage_into_the_accounts(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "H", "110101"), 0);
    assert_int_equal(fixture_credit(f, "H", 100000, "c-h", NULL), 0);
    const char *relatives[] = {"B1", "B2", "B3"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fixture_person_add(f, relatives[i], "110101",
                                            FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
        assert_int_equal(fixture_bind(f, "H", relatives[i], FAMLEDGER__RELATION__RELATION_CHILD),
                         0);
    }
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    Famledger__FamilyLimitRequest limit = FAMLEDGER__FAMILY_LIMIT_REQUEST__INIT;
    limit.holder = (char *)"H";
    limit.beneficiary = (char *)"B1";
    limit.monthly_fen = 5000;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_FAMILY_LIMIT, &limit, NULL), 0);
    Famledger__Response *response = NULL;
    assert_int_equal(settle_for(f, "s1", "B1", 3000, &response), 0);
    assert_int_equal(settle_for(f, "s2", "B2", 2000, &response), 0);
    Famledger__Account *before = account_of(f, "H");
    assert_int_equal(before->n_aid_usage, 2);
    const Famledger__AidUsage *b1 = before->aid_usage[0];
    uint32_t month = b1->month, year = b1->year;
    assert_int_equal(b1->month_fen, 3000);
    store_close(f->store);
    f->store = NULL;

    assert_int_equal(format_older_make(f->dir, 4), 0);
    size_t table_rows, account_usage;
    usage_rows(f->dir, NULL, &table_rows, &account_usage);
    assert_int_equal(table_rows, 4); /* B1 and B2, a month and a year each */
    assert_int_equal(account_usage, 0);
    /* What a format-4 ledger also held: earlier periods, a relative of an earlier year, a
     * relative whose counts went back to zero. */
    const char *const rows[] = {"H/B1/202501", "999", "H/B1/2025", "999",
                                "H/B9/202403", "5", "H/B9/2024", "5",
                                "H/B3/202001", "0", "H/B3/2020", "0", NULL};
    usage_rows(f->dir, rows, &table_rows, &account_usage);
    assert_int_equal(table_rows, 10);

    assert_int_equal(store_open(f->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
    char format[8];
    bool has_index;
    Famledger__Account *after = account_of(f, "H");
    assert_int_equal(after->n_aid_usage, 2);
    for (size_t i = 0; i < 2; i++) {
        const Famledger__AidUsage *usage = after->aid_usage[i];
        bool first = strcmp(usage->beneficiary, "B1") == 0;
        assert_true(first || strcmp(usage->beneficiary, "B2") == 0);
        assert_int_equal(usage->month, month);
        assert_int_equal(usage->year, year);
        assert_int_equal(usage->month_fen, first ? 3000 : 2000);
        assert_int_equal(usage->year_fen, first ? 3000 : 2000);
    }
    /* B1's limit of 50.00 a month still knows the 30.00 taken before the upgrade. */
    assert_int_equal(settle_for(f, "s3", "B1", 3000, &response), 0);
    assert_int_equal(response->settlement->settlement->acct_mulaid_pay_fen, 2000);
    assert_int_equal(response->settlement->settlement->cash_pay_fen, 1000);
    store_close(f->store);
    f->store = NULL;
    ledger_format(f->dir, format, &has_index);
    assert_string_equal(format, "12");
    usage_rows(f->dir, NULL, &table_rows, &account_usage);
    assert_int_equal(table_rows, SIZE_MAX); /* the table is gone */
    assert_int_equal(account_usage, 2);
    assert_int_equal(store_open(f->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
}

/* A row that is not holder, relative, period and amount stops the upgrade, which changes
 * nothing. */
static void test_a_damaged_usage_row_stops_the_upgrade(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "H", "110101"), 0);
    store_close(f->store);
    f->store = NULL;
    assert_int_equal(format_older_make(f->dir, 4), 0);
    const char *const rows[] = {"H/B1/20x5", "1", NULL};
    size_t table_rows, account_usage;
    usage_rows(f->dir, rows, &table_rows, &account_usage);
    assert_upgrade_refused(f, 1 << 20, 64 << 20, FL_ERR_INTERNAL, "4");
    usage_rows(f->dir, NULL, &table_rows, &account_usage);
    assert_int_equal(table_rows, 1);
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

/* An older verify asks for the retired tables (8, 9, 10, 12, 19) by number: told why, never given the
 * log. */
static void test_the_retired_statement_table_is_refused_by_name(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "E1", "110101"), 0);
    Famledger__Response *response = NULL;
    assert_int_equal(state_page(f, 8, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "account_links since format 4"));
    assert_int_equal(state_page(f, 19, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "part of each account since format 5"));
    assert_int_equal(state_page(f, 9, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "time-ordered log itself since format 6"));
    assert_int_equal(state_page(f, 10, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "merchant_links and day_totals since format 7"));
    assert_int_equal(state_page(f, 12, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "day_totals since format 7"));
    assert_int_equal(state_page(f, 13, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "patient_links since format 8"));
    assert_int_equal(state_page(f, 28, &response), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(state_page(f, 99, &response), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(state_page(f, FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS, &response), 0);
    assert_int_equal(response->state_page->n_keys, 1); /* E1's opening */
}

/* The references of a merchant's settlements today, newest first, read page by page. */
static void merchant_day_references(struct fixture *f, const char *merchant, char *out,
                                    size_t out_bytes)
{
    char day[9], date[11];
    ledger_business_day((int64_t)time(NULL) * 1000000, day);
    snprintf(date, sizeof(date), "%.4s-%.2s-%.2s", day, day + 4, day + 6);
    *out = '\0';
    uint64_t cursor = 0;
    do {
        Famledger__MerchantDayRequest query = FAMLEDGER__MERCHANT_DAY_REQUEST__INIT;
        query.merchant_code = (char *)merchant;
        query.date = date;
        query.cursor = cursor;
        query.limit = 2;
        Famledger__Response *response = NULL;
        assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_MERCHANT_DAY, &query, &response),
                         0);
        const Famledger__MerchantDayReply *reply = response->merchant_day;
        for (size_t i = 0; i < reply->n_settlements; i++)
            snprintf(out + strlen(out), out_bytes - strlen(out), "%s ",
                     reply->settlements[i]->merchant_reference);
        cursor = reply->next_cursor;
    } while (cursor);
}

/* Whether the stopped ledger in `dir` still has table `name`. */
static bool has_table(const char *dir, const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, STORE_DBS_MAX), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    bool found = mdb_dbi_open(txn, name, 0, &dbi) == 0;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return found;
}

/* Close the upgraded ledger, check that it records today's format and that none of `gone`
 * (NULL-terminated) is left, and open it again. */
static void reopen_at_current_format(struct fixture *f, const char *const *gone)
{
    store_close(f->store);
    f->store = NULL;
    for (size_t i = 0; gone[i]; i++)
        assert_false(has_table(f->dir, gone[i]));
    static const char *const folded[] = {"account_links", "settlements", "patient_links",
                                         "merchant_links"};
    for (size_t i = 0; i < sizeof(folded) / sizeof(*folded); i++)
        assert_false(has_table(f->dir, folded[i]));
    assert_true(has_table(f->dir, "by_seq"));
    char format[8];
    bool has_index;
    ledger_format(f->dir, format, &has_index);
    assert_string_equal(format, "12");
    assert_int_equal(store_open(f->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
}

/* A stopped ledger of `format` in f->dir: employee H, pharmacy P1, one settlement. */
static void one_settlement_ledger(struct fixture *f, int format)
{
    assert_int_equal(fixture_employee(f, "H", "110101"), 0);
    assert_int_equal(fixture_credit(f, "H", 100, "c-h", NULL), 0);
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    Famledger__Response *response = NULL;
    assert_int_equal(settle_for(f, "s1", "H", 50, &response), 0);
    store_close(f->store);
    f->store = NULL;
    assert_int_equal(format_older_make(f->dir, format), 0);
}

/* Put one raw row into `table` of the stopped ledger in `dir`, after emptying the table (made
 * anew, with no flags) when `anew`. */
static void raw_row_put(const char *dir, const char *table, bool anew, MDB_val key, MDB_val value)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, STORE_DBS_MAX), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, table, 0, &dbi), 0);
    if (anew) {
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
        assert_int_equal(mdb_dbi_open(txn, table, MDB_CREATE, &dbi), 0);
    }
    assert_int_equal(mdb_put(txn, dbi, &key, &value, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Format 6 to 7: each merchant's day index becomes a chain, its totals are keyed day first
 * with the chain's head, and a day of cash alone (no totals before) gets totals of its own. */
static void test_upgrade_makes_merchant_days_chains(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "H", "110101"), 0);
    assert_int_equal(fixture_credit(f, "H", 100, "c-h", NULL), 0);
    assert_int_equal(fixture_employee(f, "Z", "110101"), 0); /* nothing in the account */
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    assert_int_equal(fixture_merchant(f, "P2", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    Famledger__Response *response = NULL;
    assert_int_equal(settle_at(f, "P1", "s1", "H", 50, &response), 0);
    assert_int_equal(settle_at(f, "P1", "s2", "H", 80, &response), 0); /* 50 + 30 in cash */
    assert_int_equal(settle_at(f, "P1", "s3", "Z", 40, &response), 0); /* cash */
    assert_int_equal(settle_at(f, "P2", "t1", "Z", 70, &response), 0); /* cash alone */
    char before[64], after[64];
    merchant_day_references(f, "P1", before, sizeof(before));
    assert_string_equal(before, "s3 s2 s1 ");
    store_close(f->store);
    f->store = NULL;

    assert_int_equal(format_older_make(f->dir, 6), 0);
    assert_true(has_table(f->dir, "merchant_day") && has_table(f->dir, "clearing_days"));
    assert_false(has_table(f->dir, "merchant_links") || has_table(f->dir, "day_totals"));
    assert_int_equal(store_open(f->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
    merchant_day_references(f, "P1", after, sizeof(after));
    assert_string_equal(after, before);
    merchant_day_references(f, "P2", after, sizeof(after));
    assert_string_equal(after, "t1 ");
    Famledger__MerchantBalanceRequest balance = FAMLEDGER__MERCHANT_BALANCE_REQUEST__INIT;
    balance.code = (char *)"P1";
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_MERCHANT_BALANCE, &balance,
                                  &response), 0);
    assert_int_equal(response->merchant_balance->settled_fen, 100);
    /* P1's day and P2's (cash alone, totals of nothing but its chain's head). */
    assert_int_equal(state_page(f, FAMLEDGER__STATE_TABLE__STATE_DAY_TOTALS, &response), 0);
    assert_int_equal(response->state_page->n_keys, 2);
    assert_int_equal(state_page(f, FAMLEDGER__STATE_TABLE__STATE_MERCHANT_DAYS, &response), 0);
    assert_int_equal(response->state_page->n_keys, 2);
    assert_int_equal(state_page(f, FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS, &response), 0);
    assert_int_equal(response->state_page->n_keys, 4);
    /* The day goes on from the upgraded chain. */
    assert_int_equal(settle_at(f, "P1", "s4", "Z", 10, &response), 0);
    merchant_day_references(f, "P1", after, sizeof(after));
    assert_string_equal(after, "s4 s3 s2 s1 ");
    reopen_at_current_format(f, (const char *const[]){"merchant_day", "clearing_days", NULL});
}

/* A clearing day whose key is not a merchant and a day stops the upgrade, which changes
 * nothing. */
static void test_a_damaged_clearing_day_stops_the_upgrade(void **state)
{
    struct fixture *f = *state;
    one_settlement_ledger(f, 6);
    MDB_val key = {sizeof("P1\0" "2026x202") - 1, "P1\0" "2026x202"}, value = {0, ""};
    raw_row_put(f->dir, "clearing_days", false, key, value);
    assert_upgrade_refused(f, 1 << 20, 64 << 20, FL_ERR_INTERNAL, "6");
    assert_true(has_table(f->dir, "merchant_day"));
    assert_false(has_table(f->dir, "merchant_links"));
}

/* The references of a patient's settlements, newest first, read `limit` a page; and, through
 * `aid_lines`, how many lines of mutual aid they received. */
static void patient_references(struct fixture *f, const char *patient, uint32_t limit,
                               char *out, size_t out_bytes, size_t *aid_lines)
{
    *out = '\0';
    uint64_t cursor = 0;
    do {
        Famledger__SettlementListRequest query = FAMLEDGER__SETTLEMENT_LIST_REQUEST__INIT;
        query.patient = (char *)patient;
        query.cursor = cursor;
        query.limit = limit;
        Famledger__Response *response = NULL;
        assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_SETTLEMENT_LIST, &query,
                                      &response), 0);
        const Famledger__SettlementListReply *reply = response->settlement_list;
        for (size_t i = 0; i < reply->n_settlements; i++)
            snprintf(out + strlen(out), out_bytes - strlen(out), "%s ",
                     reply->settlements[i]->merchant_reference);
        cursor = reply->next_cursor;
    } while (cursor);
    Famledger__AidRequest aid = FAMLEDGER__AID_REQUEST__INIT;
    aid.person_no = (char *)patient;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_AID, &aid, &response), 0);
    *aid_lines = response->aid->n_lines;
}

/* The head of `person_no`'s patient chain as stored: in their account (`in_account`) or in
 * their person record. */
static uint64_t stored_patient_head(struct fixture *f, const char *person_no, bool in_account)
{
    struct store_txn *txn;
    struct arena arena;
    arena_init(&arena);
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    uint64_t head;
    if (in_account) {
        Famledger__Account *account;
        assert_int_equal(state_account_get(txn, &arena, person_no, &account), 1);
        head = account->patient_last_seq;
    } else {
        Famledger__Person *person;
        assert_int_equal(state_person_get(txn, &arena, person_no, &person), 1);
        head = person->patient_last_seq;
    }
    store_read_end(txn);
    arena_free(&arena);
    return head;
}

/* A patient's settlements are a chain whose head is in their account, or their person record
 * without one; opening an account moves the head into it, and the list goes on. */
static void test_a_patients_chain_follows_them_into_an_account(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "H", "110101"), 0);
    assert_int_equal(fixture_credit(f, "H", 100, "c-h", NULL), 0);
    assert_int_equal(fixture_person_add(f, "W", "110101", FAMLEDGER__SCHEME__SCHEME_EMPLOYEE),
                     0); /* no account yet */
    assert_int_equal(fixture_bind(f, "H", "W", FAMLEDGER__RELATION__RELATION_SPOUSE), 0);
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    Famledger__Response *response = NULL;
    assert_int_equal(settle_for(f, "w1", "W", 30, &response), 0); /* from H's account */
    assert_int_equal(settle_for(f, "w2", "W", 20, &response), 0);
    uint64_t w2 = response->settlement->settlement->settlement_id;
    assert_int_equal(stored_patient_head(f, "W", false), w2);
    assert_int_equal(settle_for(f, "h1", "H", 10, &response), 0); /* from H's own account */
    assert_int_equal(stored_patient_head(f, "H", true),
                     response->settlement->settlement->settlement_id);

    assert_int_equal(fixture_account_open(f, "W"), 0);
    assert_int_equal(stored_patient_head(f, "W", true), w2);
    assert_int_equal(stored_patient_head(f, "W", false), 0);
    assert_int_equal(settle_for(f, "w3", "W", 10, &response), 0); /* nothing in W's account */
    assert_int_equal(stored_patient_head(f, "W", true),
                     response->settlement->settlement->settlement_id);
    char references[64];
    size_t aid_lines;
    for (uint32_t limit = 1; limit <= 3; limit++) {
        patient_references(f, "W", limit, references, sizeof(references), &aid_lines);
        assert_string_equal(references, "w3 w2 w1 ");
        assert_int_equal(aid_lines, 3);
    }
    patient_references(f, "H", 1, references, sizeof(references), &aid_lines);
    assert_string_equal(references, "h1 ");
    assert_int_equal(aid_lines, 0);
}

/* Format 7 to 8: each patient's index becomes a chain, its head in their account (H) or their
 * person record (R, a resident), and the list goes on from it. */
static void test_upgrade_makes_patient_chains(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(fixture_employee(f, "H", "110101"), 0);
    assert_int_equal(fixture_credit(f, "H", 100, "c-h", NULL), 0);
    assert_int_equal(fixture_person_add(f, "R", "110101", FAMLEDGER__SCHEME__SCHEME_RESIDENT), 0);
    assert_int_equal(fixture_bind(f, "H", "R", FAMLEDGER__RELATION__RELATION_CHILD), 0);
    assert_int_equal(fixture_merchant(f, "P1", FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY), 0);
    Famledger__Response *response = NULL;
    const char *settlements[][2] = {{"r1", "R"}, {"h1", "H"}, {"r2", "R"}, {"r3", "R"},
                                    {"h2", "H"}};
    uint64_t heads[2] = {0, 0}; /* H, R */
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(settle_for(f, settlements[i][0], settlements[i][1], 10, &response), 0);
        heads[*settlements[i][1] == 'R'] = response->settlement->settlement->settlement_id;
    }
    store_close(f->store);
    f->store = NULL;

    assert_int_equal(format_older_make(f->dir, 7), 0);
    assert_true(has_table(f->dir, "patient_settlements"));
    assert_false(has_table(f->dir, "patient_links"));
    assert_int_equal(store_open(f->dir, 1 << 20, 64 << 20, STORE_OPEN_EXISTING, &f->store), 0);
    assert_int_equal(stored_patient_head(f, "H", true), heads[0]);
    assert_int_equal(stored_patient_head(f, "R", false), heads[1]);
    char references[64];
    size_t aid_lines;
    patient_references(f, "R", 2, references, sizeof(references), &aid_lines);
    assert_string_equal(references, "r3 r2 r1 ");
    assert_int_equal(aid_lines, 3);
    patient_references(f, "H", 1, references, sizeof(references), &aid_lines);
    assert_string_equal(references, "h2 h1 ");
    assert_int_equal(state_page(f, FAMLEDGER__STATE_TABLE__STATE_PATIENT_LINKS, &response), 0);
    assert_int_equal(response->state_page->n_keys, 5);
    assert_int_equal(settle_for(f, "r4", "R", 10, &response), 0);
    patient_references(f, "R", 3, references, sizeof(references), &aid_lines);
    assert_string_equal(references, "r4 r3 r2 r1 ");
    reopen_at_current_format(f, (const char *const[]){"patient_settlements", NULL});
}

/* A row of the patient index that no upgrade can follow (a patient nobody registered, a value
 * that is not a seq) stops the upgrade, which changes nothing. */
static void test_a_damaged_patient_row_stops_the_upgrade(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *patient;
        size_t value_bytes;
    } rows[] = {{"NOBODY", 8}, {"H", 5}};
    one_settlement_ledger(f, 7);
    char pristine[300];
    snprintf(pristine, sizeof(pristine), "%s.pristine", f->dir);
    assert_int_equal(mkdir(pristine, 0700), 0);
    char command[700];
    snprintf(command, sizeof(command), "cp %s/data.mdb %s/", f->dir, pristine);
    assert_int_equal(system(command), 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
        snprintf(command, sizeof(command), "cp %s/data.mdb %s/", pristine, f->dir);
        assert_int_equal(system(command), 0);
        uint8_t seq[8] = {0, 0, 0, 0, 0, 0, 0, 9};
        MDB_val key = {strlen(rows[i].patient), (void *)rows[i].patient};
        MDB_val value = {rows[i].value_bytes, seq};
        /* The index keeps values of one size: a shorter one needs the table anew. */
        raw_row_put(f->dir, "patient_settlements", rows[i].value_bytes != 8, key, value);
        assert_upgrade_refused(f, 1 << 20, 64 << 20, FL_ERR_INTERNAL, "7");
        assert_true(has_table(f->dir, "patient_settlements"));
        assert_false(has_table(f->dir, "patient_links"));
    }
    snprintf(command, sizeof(command), "rm -rf %s", pristine);
    assert_int_equal(system(command), 0);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_upgrade_grows_a_map_too_small_for_the_links),
        TEST(test_upgrade_without_room_changes_nothing),
        TEST(test_the_retired_statement_table_is_refused_by_name),
        TEST(test_upgrade_moves_aid_usage_into_the_accounts),
        TEST(test_a_damaged_usage_row_stops_the_upgrade),
        TEST(test_upgrade_makes_merchant_days_chains),
        TEST(test_a_damaged_clearing_day_stops_the_upgrade),
        TEST(test_a_patients_chain_follows_them_into_an_account),
        TEST(test_upgrade_makes_patient_chains),
        TEST(test_a_damaged_patient_row_stops_the_upgrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
