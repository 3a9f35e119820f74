/* keyspan.c -- keys as numbers (keyspan.h). */
#include "keyspan.h"

#include <string.h>

/* Positions after the prefix whose bytes make the alphabet: enough for any number of ours. */
#define KEYSPAN_SAMPLE_BYTES 16

bool keyspan_fit(struct keyspan *span, const struct store_bytes *keys, size_t count)
{
    if (count < 2)
        return false;
    for (size_t i = 0; i < count; i++)
        if (keys[i].size > KEYSPAN_KEY_MAX)
            return false;
    const uint8_t *first = keys[0].data, *last = keys[count - 1].data;
    size_t shorter = keys[0].size < keys[count - 1].size ? keys[0].size : keys[count - 1].size;
    size_t common = 0;
    while (common < shorter && first[common] == last[common])
        common++;
    /* Two bytes of the shared prefix stay digits: the space then reaches past the last key
     * when the keys ahead carry into them ("...1999" to "...2000"). */
    span->prefix_bytes = common > 2 ? common - 2 : 0;
    memcpy(span->prefix, first, span->prefix_bytes);
    span->low = 0xff;
    span->high = 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *key = keys[i].data;
        for (size_t at = span->prefix_bytes;
             at < keys[i].size && at < span->prefix_bytes + KEYSPAN_SAMPLE_BYTES; at++) {
            if (key[at] < span->low)
                span->low = key[at];
            if (key[at] > span->high)
                span->high = key[at];
        }
    }
    if (span->low > span->high)
        return false; /* every key is the prefix itself */
    /* Keys of one length need no digit for "ended": their numbers are then exactly linear
     * (person numbers of 18 digits, base 10). */
    span->ends = false;
    for (size_t i = 1; i < count; i++)
        span->ends |= keys[i].size != keys[0].size;
    span->base = (uint64_t)(span->high - span->low) + 1 + span->ends;
    span->digits = 0;
    span->max = 1;
    while (span->max <= (UINT64_C(1) << 62) / span->base &&
           span->prefix_bytes + span->digits < KEYSPAN_KEY_MAX) {
        span->max *= span->base;
        span->digits++;
    }
    span->max--;
    return keyspan_value(span, keys[0].data, keys[0].size) <
           keyspan_value(span, keys[count - 1].data, keys[count - 1].size);
}

uint64_t keyspan_value(const struct keyspan *span, const void *key, size_t bytes)
{
    const uint8_t *k = key;
    size_t shared = bytes < span->prefix_bytes ? bytes : span->prefix_bytes;
    int order = memcmp(k, span->prefix, shared);
    if (order < 0 || (order == 0 && bytes < span->prefix_bytes))
        return 0;
    if (order > 0)
        return span->max;
    /* Outside the alphabet a byte keeps the order with the digits after it fixed: below it, as
     * the lowest letter with none after it; above it, as if every digit after it were the
     * highest. */
    uint64_t value = 0, fill = 0;
    bool filled = false; /* every digit from here on is `fill` */
    for (unsigned i = 0; i < span->digits; i++) {
        size_t at = span->prefix_bytes + i;
        uint64_t digit;
        if (filled) {
            digit = fill;
        } else if (at >= bytes) {
            digit = fill = 0;
            filled = true;
        } else if (k[at] < span->low) {
            digit = span->ends;
            fill = 0;
            filled = true;
        } else if (k[at] > span->high) {
            digit = fill = span->base - 1;
            filled = true;
        } else {
            digit = (uint64_t)(k[at] - span->low) + span->ends;
        }
        value = value * span->base + digit;
    }
    return value;
}

size_t keyspan_key(const struct keyspan *span, uint64_t value, uint8_t out[KEYSPAN_KEY_MAX])
{
    if (value > span->max)
        value = span->max;
    memcpy(out, span->prefix, span->prefix_bytes);
    uint8_t digits[64]; /* at most 62: the base is at least 2 */
    for (unsigned i = span->digits; i-- > 0;) {
        digits[i] = (uint8_t)(value % span->base);
        value /= span->base;
    }
    size_t bytes = span->prefix_bytes;
    for (unsigned i = 0; i < span->digits && !(span->ends && digits[i] == 0); i++)
        out[bytes++] = (uint8_t)(span->low + digits[i] - span->ends);
    return bytes;
}
