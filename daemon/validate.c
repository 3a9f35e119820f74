/* validate.c -- checks of client-supplied fields. */
#include "validate.h"

#include "fl_limits.h"

#include <ctype.h>
#include <string.h>

bool validate_person_no(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > PERSON_NO_BYTES_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)text[i]))
            return false;
    return true;
}

/* Length in bytes of the UTF-8 sequence at `text` (of which `left` bytes may be read), or 0
 * when it is not well-formed: overlong forms, surrogates and code points past U+10FFFF are
 * refused, as a strict decoder (Python's, protobuf's) refuses them. */
static size_t utf8_sequence_bytes(const unsigned char *text, size_t left)
{
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

bool validate_utf8(const uint8_t *text, size_t bytes)
{
    size_t at = 0;
    while (at < bytes) {
        if (text[at] == 0)
            return false;
        size_t sequence = utf8_sequence_bytes(text + at, bytes - at);
        if (sequence == 0)
            return false;
        at += sequence;
    }
    return true;
}

size_t validate_utf8_complete(const char *text)
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

bool validate_name(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > PERSON_NAME_BYTES_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F)
            return false;
    return validate_utf8((const uint8_t *)text, length);
}

bool validate_region(const char *text)
{
    if (strlen(text) != REGION_BYTES)
        return false;
    for (size_t i = 0; i < REGION_BYTES; i++)
        if (!isdigit((unsigned char)text[i]))
            return false;
    return true;
}

static bool printable_ascii(const char *text, size_t min_bytes, size_t max_bytes)
{
    size_t length = strlen(text);
    if (length < min_bytes || length > max_bytes)
        return false;
    for (size_t i = 0; i < length; i++)
        if (text[i] < 0x21 || text[i] > 0x7E)
            return false;
    return true;
}

bool validate_reference(const char *text)
{
    return printable_ascii(text, 1, REFERENCE_BYTES_MAX);
}

bool validate_operator_id(const char *text)
{
    return printable_ascii(text, 0, OPERATOR_ID_BYTES_MAX);
}

bool validate_amount_fen(int64_t amount_fen)
{
    return amount_fen > 0 && amount_fen <= AMOUNT_FEN_MAX;
}
