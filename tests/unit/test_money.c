/* test_money.c -- yuan text <-> fen, exactly, without floating point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "famledger.h"

static int64_t parsed(const char *text)
{
    int64_t fen = -1;
    assert_int_equal(fl_money_parse(text, &fen), 0);
    return fen;
}

static void test_parse_accepts_whole_yuan_and_up_to_two_decimals(void **state)
{
    (void)state;
    assert_int_equal(parsed("80"), 8000);
    assert_int_equal(parsed("12.34"), 1234);
    assert_int_equal(parsed("0.5"), 50);
    assert_int_equal(parsed("0.05"), 5);
    assert_int_equal(parsed("0"), 0);
    assert_int_equal(parsed("-3.10"), -310);
    assert_int_equal(parsed("92233720368547.58"), INT64_C(9223372036854758));
}

static void test_parse_rejects_everything_else(void **state)
{
    (void)state;
    const char *bad[] = {"", "-", ".", ".5", "1.", "1.234", "1,5", " 1", "1 ", "+1", "1e3",
                         "0x10", "1.2.3", "--1", "abc", "12a", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t fen = 7;
        assert_int_equal(fl_money_parse(bad[i], &fen), FL_ERR_INVALID_ARGUMENT);
        assert_int_equal(fen, 7);
    }
}

static void test_format_prints_exactly_two_decimals(void **state)
{
    (void)state;
    char text[FL_MONEY_TEXT_MAX];
    assert_string_equal(fl_money_format(0, text), "0.00");
    assert_string_equal(fl_money_format(5, text), "0.05");
    assert_string_equal(fl_money_format(8000, text), "80.00");
    assert_string_equal(fl_money_format(1234, text), "12.34");
    assert_string_equal(fl_money_format(-5, text), "-0.05");
    assert_string_equal(fl_money_format(INT64_MIN, text), "-92233720368547758.08");
}

static void test_format_then_parse_gives_back_the_same_fen(void **state)
{
    (void)state;
    const int64_t amounts[] = {1, 99, 100, 101, 123456789, -1, -100, INT64_C(10000000000)};
    char text[FL_MONEY_TEXT_MAX];
    for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++)
        assert_int_equal(parsed(fl_money_format(amounts[i], text)), amounts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_whole_yuan_and_up_to_two_decimals),
        cmocka_unit_test(test_parse_rejects_everything_else),
        cmocka_unit_test(test_format_prints_exactly_two_decimals),
        cmocka_unit_test(test_format_then_parse_gives_back_the_same_fen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
