/* decode.h -- from a frame's bytes to a validated Request, in three steps with a budget.
 *
 * 1. decode_peek reads the top level of the frame without allocating: the request id and the
 *    field number of the body, so that the route and the peer's role are known before anything
 *    is unpacked.
 * 2. decode_check walks the whole frame against the schema (protobuf-c's descriptors): every
 *    field known at every depth, wire types right, strings well-formed UTF-8 without NUL and at
 *    most WIRE_STRING_BYTES_MAX (wire_text.h), nesting at most DECODE_DEPTH_MAX.
 * 3. decode_unpack hands the frame to protobuf-c with an allocator that stops at
 *    DECODE_BUDGET_FACTOR times the frame size.
 * Each returns 0 or a negative FL_ERR_* with a message for the client in error[].
 */
#ifndef FAMLEDGER_DECODE_H
#define FAMLEDGER_DECODE_H

#include "arena.h"
#include "famledger.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define DECODE_DEPTH_MAX 8           /* Request -> CreditBatchRequest -> CreditRequest is 3 */
#define DECODE_BUDGET_FACTOR 8
#define DECODE_BUDGET_MIN_BYTES 4096 /* an empty request still needs its structs */

struct decode_peek {
    uint64_t request_id;
    uint32_t body_field; /* the oneof field number, which is protobuf-c's body case; 0: none */
};

/* FL_ERR_MALFORMED_REQUEST when the top level is not a well-formed message. */
int decode_peek(const uint8_t *bytes, size_t size, struct decode_peek *peek, char *error,
                size_t error_bytes);

/* FL_ERR_MALFORMED_REQUEST naming the field (by number) that is unknown or malformed, or
 * FL_ERR_UNSUPPORTED for a request body this daemon does not know. */
int decode_check(const uint8_t *bytes, size_t size, char *error, size_t error_bytes);

/* Unpack into `arena`; FL_ERR_MALFORMED_REQUEST when protobuf-c refuses the bytes or the
 * budget runs out. On success *used_bytes says how much of the budget the request holds. */
int decode_unpack(const uint8_t *bytes, size_t size, struct arena *arena,
                  Famledger__Request **request, size_t *used_bytes, char *error,
                  size_t error_bytes);

/* The three steps at once, for callers that have no role to check in between (tests, the
 * fuzzer). */
int decode_request(const uint8_t *bytes, size_t size, struct arena *arena,
                   Famledger__Request **request, size_t *used_bytes, char *error,
                   size_t error_bytes);

#endif
