/* money.c -- yuan text <-> integer fen, without floating point. */
#include "famledger.h"

#include <stdio.h>
#include <string.h>

int fl_money_parse(const char *text, int64_t *fen)
{
    const char *cursor = text;
    bool negative = *cursor == '-';
    if (negative)
        cursor++;
    if (*cursor < '0' || *cursor > '9')
        return FL_ERR_INVALID_ARGUMENT;
    int64_t yuan = 0;
    for (; *cursor >= '0' && *cursor <= '9'; cursor++) {
        if (yuan > (INT64_MAX / 100 - 9) / 10)
            return FL_ERR_INVALID_ARGUMENT; /* would overflow once turned into fen */
        yuan = yuan * 10 + (*cursor - '0');
    }
    int64_t cents = 0;
    if (*cursor == '.') {
        cursor++;
        int digits = 0;
        for (; *cursor >= '0' && *cursor <= '9'; cursor++, digits++) {
            if (digits == 2)
                return FL_ERR_INVALID_ARGUMENT;
            cents = cents * 10 + (*cursor - '0');
        }
        if (digits == 0)
            return FL_ERR_INVALID_ARGUMENT;
        if (digits == 1)
            cents *= 10;
    }
    if (*cursor != '\0')
        return FL_ERR_INVALID_ARGUMENT;
    int64_t value = yuan * 100 + cents;
    *fen = negative ? -value : value;
    return 0;
}

char *fl_money_format(int64_t fen, char text[FL_MONEY_TEXT_MAX])
{
    /* Work in unsigned magnitude so that INT64_MIN formats too. */
    uint64_t magnitude = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(text, FL_MONEY_TEXT_MAX, "%s%llu.%02llu", fen < 0 ? "-" : "",
             (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
    return text;
}

char *fl_hash_hex(const uint8_t hash[FL_HASH_BYTES], char hex[2 * FL_HASH_BYTES + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < FL_HASH_BYTES; i++) {
        hex[2 * i] = digits[hash[i] >> 4];
        hex[2 * i + 1] = digits[hash[i] & 15];
    }
    hex[2 * FL_HASH_BYTES] = '\0';
    return hex;
}
