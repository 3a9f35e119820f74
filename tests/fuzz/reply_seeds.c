/* reply_seeds.c -- the starting corpus of fuzz_reply: for every call (selector) and every body a
 * Response may carry, that body with each of its fields set (repeated ones twice, messages
 * within messages to a depth of four), once alone and once as three replies in a row for the
 * calls that read pages. Written from the protobuf-c descriptors, so a field added to the
 * .proto is in the corpus without a change here.
 *
 * Usage: reply_seeds DIR */
#include "famledger.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLS 65 /* as fuzz_reply.c */
#define DEPTH_MAX 4

static const uint8_t REPLY_SEPARATOR[] = {0xff, 'R', 'P', 'L'};

struct out {
    uint8_t bytes[1 << 16];
    size_t used;
};

static void put(struct out *out, const void *data, size_t bytes)
{
    if (out->used + bytes > sizeof(out->bytes)) {
        fprintf(stderr, "reply_seeds: a seed outgrew %zu bytes\n", sizeof(out->bytes));
        exit(1);
    }
    memcpy(out->bytes + out->used, data, bytes);
    out->used += bytes;
}

static void put_varint(struct out *out, uint64_t value)
{
    uint8_t byte;
    do {
        byte = (uint8_t)(value & 0x7f) | (value >= 0x80 ? 0x80 : 0);
        put(out, &byte, 1);
        value >>= 7;
    } while (value);
}

static void put_tag(struct out *out, uint32_t number, unsigned wire_type)
{
    put_varint(out, ((uint64_t)number << 3) | wire_type);
}

/* A plausible text for a string field, by its name. */
static const char *sample_text(const char *name)
{
    if (strstr(name, "date") || strstr(name, "day") || !strcmp(name, "from") ||
        !strcmp(name, "to") || strstr(name, "through"))
        return "2026-01-01";
    if (strstr(name, "region"))
        return "110101";
    if (strstr(name, "timezone"))
        return "Asia/Shanghai";
    return "H1";
}

static void put_message(struct out *out, const ProtobufCMessageDescriptor *descriptor, int depth);

static void put_field(struct out *out, const ProtobufCFieldDescriptor *field, int depth)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_UINT64:
        put_tag(out, field->id, 0);
        put_varint(out, 7);
        break;
    case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SINT64:
        put_tag(out, field->id, 0);
        put_varint(out, 14);
        break;
    case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
        put_tag(out, field->id, 0);
        put_varint(out, 1);
        break;
    case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
        put_tag(out, field->id, 5);
        put(out, "\x07\0\0\0", 4);
        break;
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        put_tag(out, field->id, 1);
        put(out, "\x07\0\0\0\0\0\0\0", 8);
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *text = sample_text(field->name);
        put_tag(out, field->id, 2);
        put_varint(out, strlen(text));
        put(out, text, strlen(text));
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        static const uint8_t hash[32] = {1, 2, 3};
        put_tag(out, field->id, 2);
        put_varint(out, sizeof(hash));
        put(out, hash, sizeof(hash));
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (depth >= DEPTH_MAX)
            break;
        struct out *inner = malloc(sizeof(*inner));
        if (!inner)
            exit(1);
        inner->used = 0;
        put_message(inner, field->descriptor, depth + 1);
        put_tag(out, field->id, 2);
        put_varint(out, inner->used);
        put(out, inner->bytes, inner->used);
        free(inner);
        break;
    }
    }
}

static void put_message(struct out *out, const ProtobufCMessageDescriptor *descriptor, int depth)
{
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        /* A nested Response (a batch's replies) is kept to its envelope. */
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && depth > 0)
            continue;
        put_field(out, field, depth);
        if (field->label == PROTOBUF_C_LABEL_REPEATED)
            put_field(out, field, depth);
    }
}

static void seed_write(const char *dir, unsigned call, uint32_t body, unsigned copies,
                       const struct out *reply)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/call%02u-body%02u-%u", dir, call, body, copies);
    FILE *file = fopen(path, "wb");
    if (!file) {
        perror(path);
        exit(1);
    }
    uint8_t selector = (uint8_t)call;
    fwrite(&selector, 1, 1, file);
    for (unsigned copy = 0; copy < copies; copy++) {
        if (copy)
            fwrite(REPLY_SEPARATOR, 1, sizeof(REPLY_SEPARATOR), file);
        fwrite(reply->bytes, 1, reply->used, file);
    }
    if (fclose(file) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: reply_seeds DIR\n");
        return 2;
    }
    const ProtobufCMessageDescriptor *response = &famledger__response__descriptor;
    static struct out reply;
    unsigned written = 0;
    for (unsigned i = 0; i < response->n_fields; i++) {
        const ProtobufCFieldDescriptor *body = &response->fields[i];
        if (!(body->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        reply.used = 0;
        put_field(&reply, body, 0);
        for (unsigned call = 0; call < CALLS; call++) {
            seed_write(argv[1], call, body->id, 1, &reply);
            seed_write(argv[1], call, body->id, 3, &reply);
            written += 2;
        }
    }
    /* A refusal, and an empty reply, for every call. */
    reply.used = 0;
    put_tag(&reply, 2, 0);
    put_varint(&reply, FAMLEDGER__STATUS__STATUS_CONFLICT);
    for (unsigned call = 0; call < CALLS; call++) {
        seed_write(argv[1], call, 0, 1, &reply);
        written++;
    }
    printf("reply_seeds: %u seeds in %s\n", written, argv[1]);
    return 0;
}
