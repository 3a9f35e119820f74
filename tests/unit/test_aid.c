/* test_aid.c -- the mutual-aid counts a holder's account keeps (since format 5): per relative
 * the latest month and year counted, what a refund of an earlier period gives back, and what
 * is dropped once no limit can count it again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aid.h"
#include "arena.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct aid_test {
    struct arena arena;
    Famledger__Response response;
    struct request_ctx ctx;
    Famledger__Account account;
};

static int aid_setup(void **state)
{
    struct aid_test *t = calloc(1, sizeof(*t));
    arena_init(&t->arena);
    famledger__response__init(&t->response);
    famledger__account__init(&t->account);
    t->account.person_no = (char *)"H";
    t->ctx.arena = &t->arena;
    t->ctx.response = &t->response;
    *state = t;
    return 0;
}

static int aid_teardown(void **state)
{
    struct aid_test *t = *state;
    arena_free(&t->arena);
    free(t);
    return 0;
}

/* Noon (UTC) of a day: the same business day in any time zone the tests run in. */
static int64_t day_us(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = 12};
    return (int64_t)timegm(&tm) * 1000000;
}

static int move(struct aid_test *t, const char *beneficiary, int64_t time_us, int64_t fen)
{
    return aid_usage_move(&t->ctx, &t->account, beneficiary, time_us, fen);
}

static const Famledger__AidUsage *usage_of(const struct aid_test *t, const char *beneficiary)
{
    for (size_t i = 0; i < t->account.n_aid_usage; i++)
        if (strcmp(t->account.aid_usage[i]->beneficiary, beneficiary) == 0)
            return t->account.aid_usage[i];
    return NULL;
}

static void assert_usage(const struct aid_test *t, const char *beneficiary, uint32_t month,
                         int64_t month_fen, uint32_t year, int64_t year_fen)
{
    const Famledger__AidUsage *usage = usage_of(t, beneficiary);
    assert_non_null(usage);
    assert_int_equal(usage->month, month);
    assert_int_equal(usage->month_fen, month_fen);
    assert_int_equal(usage->year, year);
    assert_int_equal(usage->year_fen, year_fen);
}

static void test_a_later_month_and_year_start_anew(void **state)
{
    struct aid_test *t = *state;
    assert_int_equal(move(t, "B", day_us(2026, 11, 10), 10000), 0);
    assert_int_equal(move(t, "B", day_us(2026, 11, 20), 500), 0);
    assert_usage(t, "B", 202611, 10500, 2026, 10500);
    assert_int_equal(move(t, "B", day_us(2026, 12, 1), 300), 0);
    assert_usage(t, "B", 202612, 300, 2026, 10800);
    assert_int_equal(move(t, "B", day_us(2027, 1, 3), 70), 0);
    assert_usage(t, "B", 202701, 70, 2027, 70);
    assert_int_equal(t->account.n_aid_usage, 1);
}

static void test_a_refund_gives_back_only_to_counts_still_held(void **state)
{
    struct aid_test *t = *state;
    assert_int_equal(move(t, "B", day_us(2026, 11, 10), 10000), 0);
    assert_int_equal(move(t, "B", day_us(2026, 12, 1), 300), 0);
    /* November's settlement refunded in December: the year gets it back, the month (now
     * December's) does not. */
    assert_int_equal(move(t, "B", day_us(2026, 11, 10), -4000), 0);
    assert_usage(t, "B", 202612, 300, 2026, 6300);
    /* Never below zero. */
    assert_int_equal(move(t, "B", day_us(2026, 12, 1), -1000), 0);
    assert_usage(t, "B", 202612, 0, 2026, 5300);
    /* A refund of last year's settlement gives back to nothing counted now. */
    assert_int_equal(move(t, "B", day_us(2027, 1, 2), 10), 0);
    assert_int_equal(move(t, "B", day_us(2026, 12, 1), -300), 0);
    assert_usage(t, "B", 202701, 10, 2027, 10);
}

static void test_counts_back_at_zero_are_dropped(void **state)
{
    struct aid_test *t = *state;
    assert_int_equal(move(t, "B", day_us(2026, 12, 1), 300), 0);
    assert_int_equal(move(t, "C", day_us(2026, 12, 2), 200), 0);
    assert_int_equal(move(t, "B", day_us(2026, 12, 1), -300), 0);
    assert_null(usage_of(t, "B"));
    assert_usage(t, "C", 202612, 200, 2026, 200);
    /* Giving back what was never counted creates nothing. */
    assert_int_equal(move(t, "D", day_us(2026, 12, 3), -50), 0);
    assert_null(usage_of(t, "D"));
    assert_int_equal(t->account.n_aid_usage, 1);
}

static void test_an_earlier_year_goes_for_every_relative(void **state)
{
    struct aid_test *t = *state;
    assert_int_equal(move(t, "B", day_us(2026, 12, 30), 300), 0);
    assert_int_equal(move(t, "C", day_us(2026, 12, 30), 200), 0);
    assert_int_equal(move(t, "C", day_us(2027, 1, 2), 5), 0);
    assert_null(usage_of(t, "B")); /* no limit counts 2026 again */
    assert_usage(t, "C", 202701, 5, 2027, 5);
    assert_int_equal(t->account.n_aid_usage, 1);
}

static int carry(struct aid_test *t, const char *beneficiary, int64_t from_us, int64_t to_us,
                 int64_t fen)
{
    return aid_usage_carry(&t->ctx, &t->account, beneficiary, from_us, to_us, fen);
}

static void test_a_capture_carries_its_hold_to_its_month(void **state)
{
    struct aid_test *t = *state;
    /* Held on 30 November (with another 100 counted that month), captured the same month:
     * nothing moves. */
    assert_int_equal(move(t, "B", day_us(2026, 11, 30), 8000), 0);
    assert_int_equal(move(t, "B", day_us(2026, 11, 29), 100), 0);
    assert_int_equal(carry(t, "B", day_us(2026, 11, 30), day_us(2026, 11, 30), 8000), 0);
    assert_usage(t, "B", 202611, 8100, 2026, 8100);
    /* Captured on 1 December: December counts it, November keeps the rest. */
    assert_int_equal(carry(t, "B", day_us(2026, 11, 30), day_us(2026, 12, 1), 8000), 0);
    assert_usage(t, "B", 202612, 8000, 2026, 8100);
    /* A hold of 31 December captured on 1 January: 2027 counts it, 2026 is gone. */
    assert_int_equal(move(t, "B", day_us(2026, 12, 31), 500), 0);
    assert_int_equal(carry(t, "B", day_us(2026, 12, 31), day_us(2027, 1, 1), 500), 0);
    assert_usage(t, "B", 202701, 500, 2027, 500);
    assert_int_equal(t->account.n_aid_usage, 1);
}

static void test_a_damaged_count_is_refused(void **state)
{
    struct aid_test *t = *state;
    assert_int_equal(move(t, "B", day_us(2026, 12, 1), 300), 0);
    t->account.aid_usage[0]->year_fen = -1;
    assert_int_equal(move(t, "B", day_us(2026, 12, 2), 1), FL_ERR_INTERNAL);
    assert_non_null(strstr(t->response.error, "damaged"));
    t->account.aid_usage[0]->year_fen = INT64_MAX;
    assert_int_equal(move(t, "B", day_us(2026, 12, 2), 1), FL_ERR_INTERNAL);
    /* A person number a client could not have sent never makes a count. */
    assert_int_equal(move(t, "", day_us(2026, 12, 2), 1), FL_ERR_INTERNAL);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, aid_setup, aid_teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_a_later_month_and_year_start_anew),
        TEST(test_a_refund_gives_back_only_to_counts_still_held),
        TEST(test_counts_back_at_zero_are_dropped),
        TEST(test_an_earlier_year_goes_for_every_relative),
        TEST(test_a_capture_carries_its_hold_to_its_month),
        TEST(test_a_damaged_count_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
