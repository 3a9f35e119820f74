/* decode.c -- the step between the wire and the handlers: peek, check, unpack within a budget. */
#include "decode.h"

#include "famledger_status.h"
#include "wire_text.h"

#include <stdbool.h>
#include <stdio.h>

enum wire_type { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

struct wire {
    const uint8_t *at;
    const uint8_t *end;
};

static bool wire_varint(struct wire *wire, uint64_t *value)
{
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64 && wire->at < wire->end; shift += 7) {
        uint8_t byte = *wire->at++;
        result |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *value = result;
            return true;
        }
    }
    return false;
}

static bool wire_skip(struct wire *wire, uint64_t bytes)
{
    if (bytes > (uint64_t)(wire->end - wire->at))
        return false;
    wire->at += bytes;
    return true;
}

/* Read one tag; false at a malformed tag (field number 0 or past 2^29 - 1). */
static bool wire_tag(struct wire *wire, uint32_t *number, unsigned *type)
{
    uint64_t tag;
    if (!wire_varint(wire, &tag) || tag >> 3 == 0 || tag >> 3 > 0x1FFFFFFF)
        return false;
    *number = (uint32_t)(tag >> 3);
    *type = (unsigned)(tag & 7);
    return true;
}

/* Skip a value of a field we do not look into; false when it runs past the end. */
static bool wire_skip_value(struct wire *wire, unsigned type)
{
    uint64_t value;
    switch (type) {
    case WIRE_VARINT:
        return wire_varint(wire, &value);
    case WIRE_FIXED64:
        return wire_skip(wire, 8);
    case WIRE_FIXED32:
        return wire_skip(wire, 4);
    case WIRE_LEN:
        return wire_varint(wire, &value) && wire_skip(wire, value);
    default:
        return false; /* groups (3, 4) are not proto3; 6 and 7 do not exist */
    }
}

int decode_peek(const uint8_t *bytes, size_t size, struct decode_peek *peek, char *error,
                size_t error_bytes)
{
    struct wire wire = {bytes, bytes + size};
    *peek = (struct decode_peek){0};
    while (wire.at < wire.end) {
        uint32_t number;
        unsigned type;
        uint64_t value;
        if (!wire_tag(&wire, &number, &type))
            goto malformed;
        if (number == 1 && type == WIRE_VARINT) {
            if (!wire_varint(&wire, &value))
                goto malformed;
            peek->request_id = value;
            continue;
        }
        if (type == WIRE_LEN && number >= 10)
            peek->body_field = number; /* the last body wins, as protobuf's oneof rule says */
        if (!wire_skip_value(&wire, type))
            goto malformed;
    }
    return 0;
malformed:
    snprintf(error, error_bytes, "a frame of %zu bytes is not a valid Request message", size);
    return FL_ERR_MALFORMED_REQUEST;
}

/* The wire type a field of this type is sent with (repeated numbers may also come packed). */
static unsigned field_wire_type(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return WIRE_FIXED64;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return WIRE_FIXED32;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return WIRE_LEN;
    default:
        return WIRE_VARINT;
    }
}

struct check {
    char *error;
    size_t error_bytes;
};

static int check_fail(struct check *check, const ProtobufCMessageDescriptor *descriptor,
                      uint32_t number, const char *what)
{
    snprintf(check->error, check->error_bytes, "field %u of %s: %s", number,
             descriptor->short_name, what);
    return FL_ERR_MALFORMED_REQUEST;
}

static int check_message(struct check *check, const ProtobufCMessageDescriptor *descriptor,
                         struct wire wire, unsigned depth);

/* Check one length-delimited value of `field`. */
static int check_len_value(struct check *check, const ProtobufCMessageDescriptor *descriptor,
                           const ProtobufCFieldDescriptor *field, struct wire value,
                           unsigned depth)
{
    size_t bytes = (size_t)(value.end - value.at);
    switch (field->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (bytes > WIRE_STRING_BYTES_MAX)
            return check_fail(check, descriptor, field->id, "string too long");
        if (!wire_text_valid(value.at, bytes))
            return check_fail(check, descriptor, field->id,
                              "string is not UTF-8 or holds a NUL byte");
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        return 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return check_message(check, field->descriptor, value, depth + 1);
    default: /* a packed repeated number: every element must be whole */
        while (value.at < value.end)
            if (!wire_skip_value(&value, field_wire_type(field->type)))
                return check_fail(check, descriptor, field->id, "truncated packed value");
        return 0;
    }
}

static int check_message(struct check *check, const ProtobufCMessageDescriptor *descriptor,
                         struct wire wire, unsigned depth)
{
    if (depth > DECODE_DEPTH_MAX)
        return check_fail(check, descriptor, 0, "nested too deeply");
    while (wire.at < wire.end) {
        uint32_t number;
        unsigned type;
        if (!wire_tag(&wire, &number, &type))
            return check_fail(check, descriptor, 0, "malformed tag");
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field(descriptor, (unsigned)number);
        if (!field) {
            if (depth == 0 && type == WIRE_LEN && number >= 10) {
                snprintf(check->error, check->error_bytes,
                         "request body %u is not known to this daemon", number);
                return FL_ERR_UNSUPPORTED;
            }
            return check_fail(check, descriptor, number, "unknown field");
        }
        unsigned expected = field_wire_type(field->type);
        bool packed = field->label == PROTOBUF_C_LABEL_REPEATED && expected != WIRE_LEN &&
                      type == WIRE_LEN;
        if (type != expected && !packed)
            return check_fail(check, descriptor, number, "wrong wire type");
        if (type != WIRE_LEN) {
            if (!wire_skip_value(&wire, type))
                return check_fail(check, descriptor, number, "truncated value");
            continue;
        }
        uint64_t length;
        struct wire value = {wire.at, NULL};
        if (!wire_varint(&wire, &length) || !wire_skip(&wire, length))
            return check_fail(check, descriptor, number, "length past the end of the message");
        value.at = wire.at - length;
        value.end = wire.at;
        int rc = check_len_value(check, descriptor, field, value, depth);
        if (rc)
            return rc;
    }
    return 0;
}

int decode_check(const uint8_t *bytes, size_t size, char *error, size_t error_bytes)
{
    struct check check = {error, error_bytes};
    return check_message(&check, &famledger__request__descriptor,
                         (struct wire){bytes, bytes + size}, 0);
}

struct budget {
    ProtobufCAllocator allocator; /* first: protobuf-c hands us back this pointer's data */
    struct arena *arena;
    size_t left_bytes;
    bool exhausted;
};

static void *budget_alloc(void *data, size_t bytes)
{
    struct budget *budget = data;
    void *pointer = bytes <= budget->left_bytes ? arena_try_alloc(budget->arena, bytes) : NULL;
    if (!pointer) {
        budget->exhausted = true; /* protobuf-c frees what it took and returns NULL */
        return NULL;
    }
    budget->left_bytes -= bytes;
    return pointer;
}

static void budget_free(void *data, void *pointer)
{
    (void)data;
    (void)pointer; /* arena memory goes all at once */
}

int decode_unpack(const uint8_t *bytes, size_t size, struct arena *arena,
                  Famledger__Request **request, size_t *used_bytes, char *error,
                  size_t error_bytes)
{
    size_t budget_bytes = size * DECODE_BUDGET_FACTOR + DECODE_BUDGET_MIN_BYTES;
    struct budget budget = {{budget_alloc, budget_free, NULL}, arena, budget_bytes, false};
    budget.allocator.allocator_data = &budget;
    *request = famledger__request__unpack(&budget.allocator, size, bytes);
    *used_bytes = budget_bytes - budget.left_bytes;
    if (*request)
        return 0;
    if (budget.exhausted)
        snprintf(error, error_bytes, "a frame of %zu bytes needs more memory than the %zu "
                 "bytes a request may use", size, budget_bytes);
    else
        snprintf(error, error_bytes, "a frame of %zu bytes is not a valid Request message",
                 size);
    return FL_ERR_MALFORMED_REQUEST;
}

int decode_request(const uint8_t *bytes, size_t size, struct arena *arena,
                   Famledger__Request **request, size_t *used_bytes, char *error,
                   size_t error_bytes)
{
    struct decode_peek peek;
    int rc = decode_peek(bytes, size, &peek, error, error_bytes);
    if (rc == 0)
        rc = decode_check(bytes, size, error, error_bytes);
    if (rc == 0)
        rc = decode_unpack(bytes, size, arena, request, used_bytes, error, error_bytes);
    return rc;
}
