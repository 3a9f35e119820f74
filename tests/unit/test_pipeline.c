/* test_pipeline.c -- one connection's request queue, driven without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pipeline.h"

static const struct pipeline_limits limits = {4, 1000, 5000};

static void test_a_read_waits_for_an_earlier_write_and_what_follows_waits_with_it(void **state)
{
    (void)state;
    struct pipeline pipeline;
    struct pipeline_item write, read, second_write;
    pipeline_init(&pipeline, limits);
    pipeline_push(&pipeline, &write, true, 10);
    pipeline_push(&pipeline, &read, false, 10);
    pipeline_push(&pipeline, &second_write, true, 10);
    assert_ptr_equal(pipeline_start_next(&pipeline, true), &write);
    assert_null(pipeline_start_next(&pipeline, true)); /* the read must see the write committed */
    pipeline_answer(&pipeline, &write, 20);
    assert_ptr_equal(pipeline_start_next(&pipeline, true), &read);
    pipeline_answer(&pipeline, &read, 20);
    assert_ptr_equal(pipeline_start_next(&pipeline, true), &second_write);
    assert_null(pipeline_start_next(&pipeline, true));
}

static void test_writes_start_together_and_replies_leave_in_order(void **state)
{
    (void)state;
    struct pipeline pipeline;
    struct pipeline_item first, second;
    pipeline_init(&pipeline, limits);
    pipeline_push(&pipeline, &first, true, 10);
    pipeline_push(&pipeline, &second, true, 10);
    assert_ptr_equal(pipeline_start_next(&pipeline, true), &first);
    assert_ptr_equal(pipeline_start_next(&pipeline, true), &second);
    pipeline_answer(&pipeline, &second, 30);
    assert_null(pipeline_pop_answered(&pipeline)); /* the first is not answered yet */
    pipeline_answer(&pipeline, &first, 30);
    assert_ptr_equal(pipeline_pop_answered(&pipeline), &first);
    assert_ptr_equal(pipeline_pop_answered(&pipeline), &second);
    assert_int_equal(pipeline.count, 0);
    assert_int_equal(pipeline.answered_bytes, 0);
}

static void test_a_refusal_keeps_its_place_in_the_order(void **state)
{
    (void)state;
    struct pipeline pipeline;
    struct pipeline_item write, refused, read;
    pipeline_init(&pipeline, limits);
    pipeline_push(&pipeline, &write, true, 10);
    assert_ptr_equal(pipeline_start_next(&pipeline, true), &write);
    pipeline_push_answered(&pipeline, &refused, 40);
    pipeline_push(&pipeline, &read, false, 10);
    assert_null(pipeline_start_next(&pipeline, true));
    assert_null(pipeline_pop_answered(&pipeline));
    pipeline_answer(&pipeline, &write, 20);
    assert_ptr_equal(pipeline_start_next(&pipeline, true), &read);
    pipeline_answer(&pipeline, &read, 20);
    assert_ptr_equal(pipeline_pop_answered(&pipeline), &write);
    assert_ptr_equal(pipeline_pop_answered(&pipeline), &refused);
    assert_ptr_equal(pipeline_pop_answered(&pipeline), &read);
}

static void test_no_frame_is_taken_past_any_bound(void **state)
{
    (void)state;
    struct pipeline pipeline;
    struct pipeline_item items[4];
    pipeline_init(&pipeline, limits);
    for (int i = 0; i < 4; i++) {
        assert_true(pipeline_may_take(&pipeline, 0));
        pipeline_push(&pipeline, &items[i], true, 10);
    }
    assert_false(pipeline_may_take(&pipeline, 0)); /* items */
    for (int i = 0; i < 4; i++) {
        pipeline_start_next(&pipeline, true);
        pipeline_answer(&pipeline, &items[i], 10);
        pipeline_pop_answered(&pipeline);
    }
    assert_true(pipeline_may_take(&pipeline, 0));
    assert_false(pipeline_may_take(&pipeline, 5000)); /* replies the peer has not read */
    pipeline_push(&pipeline, &items[0], false, 1000);
    assert_false(pipeline_may_take(&pipeline, 0)); /* decoded bytes */
    pipeline_start_next(&pipeline, true);
    pipeline_answer(&pipeline, &items[0], 4999);
    assert_true(pipeline_may_take(&pipeline, 0));
    assert_false(pipeline_may_take(&pipeline, 1)); /* answered and queued together */
}

static void test_removing_an_unstarted_item_keeps_the_counts(void **state)
{
    (void)state;
    struct pipeline pipeline;
    struct pipeline_item write, read;
    pipeline_init(&pipeline, limits);
    pipeline_push(&pipeline, &write, true, 10);
    pipeline_push(&pipeline, &read, false, 15);
    pipeline_start_next(&pipeline, true);
    pipeline_remove(&pipeline, &read);
    assert_int_equal(pipeline.request_bytes, 10);
    assert_null(pipeline_start_next(&pipeline, true));
    pipeline_answer(&pipeline, &write, 5);
    pipeline_remove(&pipeline, &write);
    assert_int_equal(pipeline.count, 0);
    assert_int_equal(pipeline.request_bytes, 0);
    assert_int_equal(pipeline.answered_bytes, 0);
    assert_int_equal(pipeline.commits_pending, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_read_waits_for_an_earlier_write_and_what_follows_waits_with_it),
        cmocka_unit_test(test_writes_start_together_and_replies_leave_in_order),
        cmocka_unit_test(test_a_refusal_keeps_its_place_in_the_order),
        cmocka_unit_test(test_no_frame_is_taken_past_any_bound),
        cmocka_unit_test(test_removing_an_unstarted_item_keeps_the_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
