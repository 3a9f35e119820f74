/* test_json_text.c -- a JSON string literal is valid JSON whatever the text held. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_text.h"

#include <stdio.h>
#include <stdlib.h>

/* `text` as json_string_write writes it, compared with `expected`. */
static void assert_written(const char *text, const char *expected)
{
    char *written = NULL;
    size_t bytes = 0;
    FILE *out = open_memstream(&written, &bytes);
    assert_non_null(out);
    json_string_write(out, text);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(written, expected);
    free(written);
}

static void test_utf8_is_written_as_it_is(void **state)
{
    (void)state;
    assert_written("", "\"\"");
    assert_written("ref-1", "\"ref-1\"");
    assert_written("张三 €𝄞", "\"张三 €𝄞\"");
}

static void test_quotes_backslashes_and_control_characters_are_escaped(void **state)
{
    (void)state;
    assert_written("a\"b\\c", "\"a\\\"b\\\\c\"");
    assert_written("\t\n\x1b[2J", "\"\\u0009\\u000a\\u001b[2J\"");
}

static void test_bytes_that_are_not_utf8_become_the_replacement_character(void **state)
{
    (void)state;
    assert_written("\xb0\xa1", "\"\\ufffd\\ufffd\"");             /* GBK's 啊 */
    assert_written("a\xe5\xbc", "\"a\\ufffd\\ufffd\"");           /* a character cut short */
    assert_written("\xc0\xaf", "\"\\ufffd\\ufffd\"");             /* an overlong '/' */
    assert_written("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
    assert_written("\xe5\xbc\xa0\xff", "\"张\\ufffd\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_is_written_as_it_is),
        cmocka_unit_test(test_quotes_backslashes_and_control_characters_are_escaped),
        cmocka_unit_test(test_bytes_that_are_not_utf8_become_the_replacement_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
