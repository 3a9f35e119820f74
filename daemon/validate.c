/* validate.c -- checks of client-supplied fields. */
#include "validate.h"

#include "fl_limits.h"
#include "wire_text.h"

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

bool validate_name(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > PERSON_NAME_BYTES_MAX)
        return false;
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F)
            return false;
    return wire_text_valid(text, length);
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
