/* wire_text.c -- what a string field of a frame may hold (wire_text.h). */
#include "wire_text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Overlong forms, surrogates and code points past U+10FFFF are refused, as a strict decoder
 * (Python's, protobuf's) refuses them. */
size_t wire_text_char_bytes(const void *at, size_t left)
{
    const unsigned char *text = at;
    unsigned char lead = text[0];
    size_t bytes;
    unsigned min_code;
    if (lead < 0x80)
        return 1;
    if ((lead & 0xE0) == 0xC0)
        bytes = 2, min_code = 0x80;
    else if ((lead & 0xF0) == 0xE0)
        bytes = 3, min_code = 0x800;
    else if ((lead & 0xF8) == 0xF0)
        bytes = 4, min_code = 0x10000;
    else
        return 0;
    if (bytes > left)
        return 0;
    unsigned code = lead & (0x7F >> bytes);
    for (size_t i = 1; i < bytes; i++) {
        if ((text[i] & 0xC0) != 0x80)
            return 0;
        code = code << 6 | (text[i] & 0x3F);
    }
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return bytes;
}

bool wire_text_valid(const void *text, size_t bytes)
{
    const unsigned char *at = text;
    const unsigned char *end = at + bytes;
    while (at < end) {
        if (*at == 0)
            return false;
        size_t sequence = wire_text_char_bytes(at, (size_t)(end - at));
        if (sequence == 0)
            return false;
        at += sequence;
    }
    return true;
}

bool wire_text_fits(const char *text)
{
    if (!text)
        return true;
    size_t bytes = strnlen(text, WIRE_STRING_BYTES_MAX + 1);
    return bytes <= WIRE_STRING_BYTES_MAX && wire_text_valid(text, bytes);
}

size_t wire_text_complete(const char *text)
{
    size_t length = strlen(text);
    size_t lead = length;
    /* The last character starts at most three bytes back. */
    while (lead > 0 && length - lead < 4 && ((unsigned char)text[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return length;
    lead--;
    unsigned char byte = (unsigned char)text[lead];
    size_t expected = byte < 0x80 ? 1 : (byte & 0xE0) == 0xC0 ? 2 : (byte & 0xF0) == 0xE0 ? 3 : 4;
    return length - lead < expected ? lead : length;
}

static bool field_fail(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field,
                       char *name, size_t name_bytes)
{
    snprintf(name, name_bytes, "%s.%s", message->descriptor->short_name, field->name);
    return false;
}

bool wire_strings_fit(const ProtobufCMessage *message, char *name, size_t name_bytes)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)message;
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(const void *)(base + field->quantifier_offset) != field->id)
            continue; /* another member of the oneof is the one set */
        const void *member = base + field->offset;
        size_t count = 1;
        const void *const *values = member;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(const void *)(base + field->quantifier_offset);
            values = *(const void *const *const *)member;
        }
        for (size_t j = 0; j < count; j++) {
            if (!values[j])
                continue;
            if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (!wire_strings_fit(values[j], name, name_bytes))
                    return false;
            } else if (!wire_text_fits(values[j])) {
                return field_fail(message, field, name, name_bytes);
            }
        }
    }
    return true;
}
