/* test_frame.c -- length-prefixed framing: whole frames out, whatever pieces come in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "frame.h"

#include <string.h>

static void feed(struct frame_reader *reader, const uint8_t *data, size_t bytes)
{
    while (bytes > 0) {
        uint8_t *space;
        size_t space_bytes;
        assert_int_equal(frame_reader_reserve(reader, bytes, &space, &space_bytes), 0);
        assert_true(space_bytes > 0);
        size_t chunk = bytes < space_bytes ? bytes : space_bytes;
        memcpy(space, data, chunk);
        frame_reader_commit(reader, chunk);
        data += chunk;
        bytes -= chunk;
    }
}

static size_t frame_make(uint8_t *out, const char *payload)
{
    size_t length = strlen(payload);
    frame_header_encode(out, (uint32_t)length);
    memcpy(out + FRAME_HEADER_BYTES, payload, length);
    return FRAME_HEADER_BYTES + length;
}

static void test_header_is_big_endian(void **state)
{
    (void)state;
    uint8_t header[FRAME_HEADER_BYTES];
    frame_header_encode(header, 0x01020304);
    assert_memory_equal(header, "\x01\x02\x03\x04", 4);
    assert_int_equal(frame_header_decode(header), 0x01020304);
}

static void test_reader_yields_pipelined_frames_in_order(void **state)
{
    (void)state;
    struct frame_reader reader;
    frame_reader_init(&reader, 1024);
    uint8_t stream[64];
    size_t bytes = frame_make(stream, "one");
    bytes += frame_make(stream + bytes, "");
    bytes += frame_make(stream + bytes, "three");
    feed(&reader, stream, bytes);
    const char *expected[] = {"one", "", "three"};
    for (int i = 0; i < 3; i++) {
        const uint8_t *payload;
        uint32_t length;
        assert_int_equal(frame_reader_next(&reader, &payload, &length), FRAME_READY);
        assert_int_equal(length, strlen(expected[i]));
        assert_memory_equal(payload, expected[i], length);
        frame_reader_consume(&reader);
    }
    const uint8_t *payload;
    uint32_t length;
    assert_int_equal(frame_reader_next(&reader, &payload, &length), FRAME_NEED_MORE);
    frame_reader_free(&reader);
}

static void test_reader_waits_for_a_frame_split_byte_by_byte(void **state)
{
    (void)state;
    struct frame_reader reader;
    frame_reader_init(&reader, 1024);
    uint8_t stream[32];
    size_t bytes = frame_make(stream, "split");
    const uint8_t *payload;
    uint32_t length;
    for (size_t i = 0; i < bytes; i++) {
        assert_int_equal(frame_reader_next(&reader, &payload, &length), FRAME_NEED_MORE);
        feed(&reader, stream + i, 1);
    }
    assert_int_equal(frame_reader_next(&reader, &payload, &length), FRAME_READY);
    assert_memory_equal(payload, "split", 5);
    frame_reader_free(&reader);
}

static void test_reader_refuses_a_length_over_the_limit_from_the_header_alone(void **state)
{
    (void)state;
    struct frame_reader reader;
    frame_reader_init(&reader, 16);
    uint8_t header[FRAME_HEADER_BYTES];
    frame_header_encode(header, 17);
    feed(&reader, header, sizeof(header));
    const uint8_t *payload;
    uint32_t length;
    assert_int_equal(frame_reader_next(&reader, &payload, &length), FRAME_TOO_LARGE);
    frame_header_encode(header, UINT32_MAX);
    struct frame_reader huge;
    frame_reader_init(&huge, 16);
    feed(&huge, header, sizeof(header));
    assert_int_equal(frame_reader_next(&huge, &payload, &length), FRAME_TOO_LARGE);
    frame_reader_free(&reader);
    frame_reader_free(&huge);
}

static void test_reader_never_buffers_more_than_one_maximal_frame(void **state)
{
    (void)state;
    struct frame_reader reader;
    frame_reader_init(&reader, 100);
    uint8_t *space;
    size_t space_bytes;
    assert_int_equal(frame_reader_reserve(&reader, 1 << 20, &space, &space_bytes), 0);
    assert_true(reader.capacity_bytes <= 2 * (100 + FRAME_HEADER_BYTES));
    frame_reader_free(&reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_is_big_endian),
        cmocka_unit_test(test_reader_yields_pipelined_frames_in_order),
        cmocka_unit_test(test_reader_waits_for_a_frame_split_byte_by_byte),
        cmocka_unit_test(test_reader_refuses_a_length_over_the_limit_from_the_header_alone),
        cmocka_unit_test(test_reader_never_buffers_more_than_one_maximal_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
