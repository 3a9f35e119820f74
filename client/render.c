/* render.c -- any protobuf message as JSON or as "name: value" lines, through its descriptor,
 * so that new entry types print without new code. */
#include "client_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text {
    char *data;
    size_t length, capacity;
    bool failed;
};

static void text_printf(struct text *text, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *text, const char *format, ...)
{
    if (text->failed)
        return;
    va_list args;
    va_start(args, format);
    int needed = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (needed < 0) {
        text->failed = true;
        return;
    }
    if (text->length + (size_t)needed + 1 > text->capacity) {
        size_t capacity = text->capacity ? text->capacity : 256;
        while (capacity < text->length + (size_t)needed + 1)
            capacity *= 2;
        char *data = realloc(text->data, capacity);
        if (!data) {
            text->failed = true;
            return;
        }
        text->data = data;
        text->capacity = capacity;
    }
    va_start(args, format);
    vsnprintf(text->data + text->length, text->capacity - text->length, format, args);
    va_end(args);
    text->length += (size_t)needed;
}

static void text_json_string(struct text *text, const char *value)
{
    text_printf(text, "\"");
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c == '"' || *c == '\\')
            text_printf(text, "\\%c", *c);
        else if (*c < 0x20)
            text_printf(text, "\\u%04x", *c);
        else
            text_printf(text, "%c", *c);
    }
    text_printf(text, "\"");
}

static bool ends_with(const char *text, const char *suffix)
{
    size_t length = strlen(text), suffix_length = strlen(suffix);
    return length >= suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

/* "SCHEME_EMPLOYEE" -> "employee": enum values lose their type prefix. */
static void text_enum(struct text *text, const ProtobufCEnumDescriptor *descriptor, int value,
                      bool json)
{
    const ProtobufCEnumValue *entry = protobuf_c_enum_descriptor_get_value(descriptor, value);
    if (!entry) {
        text_printf(text, "%d", value);
        return;
    }
    const char *name = strchr(entry->name, '_');
    name = name ? name + 1 : entry->name;
    char lower[64];
    size_t i = 0;
    for (; name[i] && i < sizeof(lower) - 1; i++)
        lower[i] = name[i] == '_' ? '-' : (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32
                                                                                   : name[i]);
    lower[i] = '\0';
    if (json)
        text_json_string(text, lower);
    else
        text_printf(text, "%s", lower);
}

static void render_fields(struct text *text, const ProtobufCMessage *message, bool json,
                          const char *prefix);

static void render_value(struct text *text, const ProtobufCFieldDescriptor *field,
                         const void *member, bool json, const char *path)
{
    char money[FL_MONEY_TEXT_MAX];
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        text_printf(text, "%" PRId32, *(const int32_t *)member);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        text_printf(text, "%" PRIu32, *(const uint32_t *)member);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t value = *(const int64_t *)member;
        if (!json && ends_with(field->name, "_fen"))
            text_printf(text, "%s", fl_money_format(value, money));
        else
            text_printf(text, "%" PRId64, value);
        break;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        text_printf(text, "%" PRIu64, *(const uint64_t *)member);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        text_printf(text, "%s", *(const protobuf_c_boolean *)member ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM:
        text_enum(text, field->descriptor, *(const int *)member, json);
        break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *value = *(char *const *)member;
        if (json)
            text_json_string(text, value ? value : "");
        else
            text_printf(text, "%s", value ? value : "");
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *value = member;
        text_printf(text, json ? "\"" : "");
        for (size_t i = 0; i < value->len; i++)
            text_printf(text, "%02x", value->data[i]);
        text_printf(text, json ? "\"" : "");
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *value = *(ProtobufCMessage *const *)member;
        if (json && !value)
            text_printf(text, "null");
        else if (value)
            render_fields(text, value, json, path);
        break;
    }
    default:
        text_printf(text, json ? "null" : "?");
    }
}

static size_t type_size(const ProtobufCFieldDescriptor *field)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

static bool field_present(const ProtobufCMessage *message, const ProtobufCFieldDescriptor *field)
{
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        const uint32_t *which =
            (const uint32_t *)(const void *)((const char *)message + field->quantifier_offset);
        return *which == field->id;
    }
    return true;
}

static void render_fields(struct text *text, const ProtobufCMessage *message, bool json,
                          const char *prefix)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    bool first = true;
    if (json)
        text_printf(text, "{");
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (!field_present(message, field))
            continue;
        const char *member = (const char *)message + field->offset;
        char path[256];
        snprintf(path, sizeof(path), "%s%s", prefix, field->name);
        bool nested = field->type == PROTOBUF_C_TYPE_MESSAGE;
        if (json)
            text_printf(text, "%s\"%s\":", first ? "" : ",", field->name);
        first = false;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(const void *)((const char *)message +
                                                           field->quantifier_offset);
            const char *items = *(char *const *)(const void *)member;
            if (json)
                text_printf(text, "[");
            for (size_t j = 0; j < count; j++) {
                char item_path[300];
                snprintf(item_path, sizeof(item_path), "%s.%zu.", path, j);
                if (json && j)
                    text_printf(text, ",");
                if (!json && !nested)
                    text_printf(text, "%s.%zu: ", path, j);
                render_value(text, field, items + j * type_size(field), json, item_path);
                if (!json && !nested)
                    text_printf(text, "\n");
            }
            if (json)
                text_printf(text, "]");
            continue;
        }
        char nested_path[300];
        snprintf(nested_path, sizeof(nested_path), "%s.", path);
        if (!json && !nested)
            text_printf(text, "%s: ", path);
        render_value(text, field, member, json, nested_path);
        if (!json && !nested)
            text_printf(text, "\n");
    }
    if (json)
        text_printf(text, "}");
}

char *render_message(const ProtobufCMessage *message, bool json)
{
    struct text text = {0};
    text_printf(&text, "%s", "");
    render_fields(&text, message, json, "");
    if (text.failed) {
        free(text.data);
        return NULL;
    }
    return text.data;
}
