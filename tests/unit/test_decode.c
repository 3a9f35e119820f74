/* test_decode.c -- the decode step: route before unpack, unknown fields, strings, budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decode.h"
#include "famledger_status.h"
#include "request.h"
#include "wire_text.h"

#include <stdlib.h>
#include <string.h>

static size_t pack(const Famledger__Request *request, uint8_t *buffer)
{
    return famledger__request__pack(request, buffer);
}

static int decode(const uint8_t *bytes, size_t size, char *error)
{
    struct arena arena;
    arena_init(&arena);
    Famledger__Request *request = NULL;
    size_t used;
    int rc = decode_request(bytes, size, &arena, &request, &used, error, 256);
    arena_free(&arena);
    return rc;
}

static void test_peek_finds_the_route_without_unpacking(void **state)
{
    (void)state;
    Famledger__HeadRequest head = FAMLEDGER__HEAD_REQUEST__INIT;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.request_id = 300;
    request.body_case = FAMLEDGER__REQUEST__BODY_HEAD;
    request.head = &head;
    uint8_t buffer[64];
    size_t size = pack(&request, buffer);
    struct decode_peek peek;
    char error[256];
    assert_int_equal(decode_peek(buffer, size, &peek, error, sizeof(error)), 0);
    assert_int_equal(peek.request_id, 300);
    assert_int_equal(peek.body_field, FAMLEDGER__REQUEST__BODY_HEAD);
    /* A length that runs past the end is malformed. */
    const uint8_t broken[] = {0x08, 0x01, 0x8a, 0x01, 0x10};
    assert_int_equal(decode_peek(broken, sizeof(broken), &peek, error, sizeof(error)),
                     FL_ERR_MALFORMED_REQUEST);
}

/* A credit whose CreditRequest carries `extra` after its own fields. */
static size_t credit_with(uint8_t *buffer, const uint8_t *extra, size_t extra_bytes)
{
    Famledger__CreditRequest credit = FAMLEDGER__CREDIT_REQUEST__INIT;
    credit.person_no = (char *)"E1";
    credit.amount_fen = 100;
    credit.reference = (char *)"r1";
    uint8_t inner[128];
    size_t inner_bytes = famledger__credit_request__pack(&credit, inner);
    if (extra_bytes > 0)
        memcpy(inner + inner_bytes, extra, extra_bytes);
    inner_bytes += extra_bytes;
    size_t at = 0;
    buffer[at++] = 0x08; /* request_id 1 */
    buffer[at++] = 0x01;
    buffer[at++] = 0x72; /* field 14 (credit), length-delimited */
    buffer[at++] = (uint8_t)inner_bytes;
    memcpy(buffer + at, inner, inner_bytes);
    return at + inner_bytes;
}

static void test_an_unknown_field_at_any_depth_is_refused_by_number(void **state)
{
    (void)state;
    uint8_t buffer[256];
    char error[256];
    assert_int_equal(decode(buffer, credit_with(buffer, NULL, 0), error), 0);
    const uint8_t unknown[] = {0xb8, 0x06, 0x01}; /* field 103, varint */
    assert_int_equal(decode(buffer, credit_with(buffer, unknown, sizeof(unknown)), error),
                     FL_ERR_MALFORMED_REQUEST);
    assert_non_null(strstr(error, "field 103 of CreditRequest"));
    /* Three levels down: Request -> CreditBatchRequest -> CreditRequest. */
    uint8_t inner[256];
    size_t inner_bytes = credit_with(inner, unknown, sizeof(unknown)) - 4;
    uint8_t batch[300] = {0x08, 0x01, 0xaa, 0x02, (uint8_t)(inner_bytes + 2), 0x0a,
                          (uint8_t)inner_bytes};
    memcpy(batch + 7, inner + 4, inner_bytes);
    assert_int_equal(decode(batch, 7 + inner_bytes, error), FL_ERR_MALFORMED_REQUEST);
    assert_non_null(strstr(error, "field 103"));
    /* A known field sent with the wrong wire type. */
    const uint8_t wrong[] = {0x12, 0x01, 0x41}; /* amount_fen (2) as bytes */
    assert_int_equal(decode(buffer, credit_with(buffer, wrong, sizeof(wrong)), error),
                     FL_ERR_MALFORMED_REQUEST);
    assert_non_null(strstr(error, "wrong wire type"));
}

static void test_strings_must_be_utf8_without_nul(void **state)
{
    (void)state;
    uint8_t buffer[256];
    char error[256];
    const uint8_t nul[] = {0x22, 0x03, 'a', 0x00, 'b'};        /* reference "a\0b" */
    const uint8_t latin1[] = {0x22, 0x02, 'a', 0xe9};          /* reference "a\xe9" */
    const uint8_t overlong[] = {0x22, 0x02, 0xc0, 0xaf};       /* an overlong '/' */
    const uint8_t chinese[] = {0x22, 0x06, 0xe4, 0xb8, 0xad, 0xe6, 0x96, 0x87}; /* 中文 */
    assert_int_equal(decode(buffer, credit_with(buffer, nul, sizeof(nul)), error),
                     FL_ERR_MALFORMED_REQUEST);
    assert_non_null(strstr(error, "NUL"));
    assert_int_equal(decode(buffer, credit_with(buffer, latin1, sizeof(latin1)), error),
                     FL_ERR_MALFORMED_REQUEST);
    assert_int_equal(decode(buffer, credit_with(buffer, overlong, sizeof(overlong)), error),
                     FL_ERR_MALFORMED_REQUEST);
    assert_int_equal(decode(buffer, credit_with(buffer, chinese, sizeof(chinese)), error), 0);
}

static void test_a_frame_of_empty_items_runs_out_of_budget_instead_of_memory(void **state)
{
    (void)state;
    /* 256 KiB of empty CreditRequests in one batch: 2 bytes each on the wire, a struct each. */
    size_t items = 128 * 1024, inner = items * 2;
    uint8_t *frame = malloc(inner + 16);
    size_t at = 0;
    frame[at++] = 0x08;
    frame[at++] = 0x01;
    frame[at++] = 0xaa; /* field 37, length-delimited */
    frame[at++] = 0x02;
    for (size_t length = inner; ; length >>= 7) { /* varint of the length */
        frame[at++] = (uint8_t)((length & 0x7f) | (length >= 0x80 ? 0x80 : 0));
        if (length < 0x80)
            break;
    }
    for (size_t i = 0; i < items; i++) {
        frame[at++] = 0x0a;
        frame[at++] = 0x00;
    }
    char error[256];
    assert_int_equal(decode(frame, at, error), FL_ERR_MALFORMED_REQUEST);
    assert_non_null(strstr(error, "more memory"));
    free(frame);
}

static void test_error_messages_are_cut_on_a_character_boundary(void **state)
{
    (void)state;
    char region[601];
    for (int i = 0; i < 200; i++)
        memcpy(region + 3 * i, "\xe4\xb8\xad", 3); /* 中 */
    region[600] = '\0';
    struct arena arena;
    arena_init(&arena);
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    struct request_ctx ctx = {.arena = &arena, .response = &response};
    /* "x" shifts the text by one byte, so that a plain cut would split a character. */
    request_fail(&ctx, FL_ERR_INVALID_ARGUMENT, "x%s", region);
    size_t length = strlen(response.error);
    assert_true(length > 400 && length < 512);
    assert_true(wire_text_valid(response.error, length));
    arena_free(&arena);
}

/* A handler that passes on a lookup's 1 ("found") or 0 as its failure still fails, with a
 * status the client knows: INTERNAL, never an unknown status (a merchant's settlement list once
 * answered status 1). */
static void test_a_failure_without_an_error_status_is_internal(void **state)
{
    (void)state;
    struct arena arena;
    arena_init(&arena);
    for (int status = 0; status <= 1; status++) {
        Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
        struct request_ctx ctx = {.arena = &arena, .response = &response};
        assert_int_equal(request_fail(&ctx, status, "cannot read %s", "it"), FL_ERR_INTERNAL);
        assert_int_equal(response.status, FAMLEDGER__STATUS__STATUS_INTERNAL);
        assert_string_equal(response.error, "cannot read it");
    }
    arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peek_finds_the_route_without_unpacking),
        cmocka_unit_test(test_an_unknown_field_at_any_depth_is_refused_by_number),
        cmocka_unit_test(test_strings_must_be_utf8_without_nul),
        cmocka_unit_test(test_a_frame_of_empty_items_runs_out_of_budget_instead_of_memory),
        cmocka_unit_test(test_error_messages_are_cut_on_a_character_boundary),
        cmocka_unit_test(test_a_failure_without_an_error_status_is_internal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
