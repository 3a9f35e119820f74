/* keyspan.h -- keys as numbers, to cut the stretch of a table ahead of a walk into pieces.
 *
 * A walk in key order faults the leaves of a B-tree in one at a time, and in a table whose
 * leaves are scattered over the file each is a random read. To read ahead of it in parallel,
 * threads need keys the walk has not met yet. keyspan maps keys to numbers, monotonically,
 * from a sample of real keys (a page the walk just served): the bytes after the prefix they
 * share, as digits in the alphabet they use. The stretch the sample covered, as a number, is
 * then laid end to end after its last key, and each piece turned back into a key.
 *
 * Only an estimate: a key of another shape, or keys denser or sparser than the sample's, make
 * a piece longer or shorter or empty; the numbers still never go backwards, so pieces never
 * overlap and a walk of them misses nothing between their first and last cut.
 */
#ifndef FAMLEDGER_KEYSPAN_H
#define FAMLEDGER_KEYSPAN_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYSPAN_KEY_MAX STORE_KEY_MAX

struct keyspan {
    uint8_t prefix[KEYSPAN_KEY_MAX];
    size_t prefix_bytes;    /* shared by every key mapped inside the space */
    uint8_t low, high;      /* the alphabet after the prefix */
    unsigned digits;        /* positions after the prefix that count */
    bool ends;              /* the sample's keys differ in length: digit 0 is "ended" */
    uint64_t base;          /* high - low + 1 + ends */
    uint64_t max;           /* base^digits - 1: every key above the space maps to it */
};

/* Fit `span` to `count` keys in ascending order (the first and the last decide the prefix,
 * all of them the alphabet), leaving a little of the prefix free so that the space reaches
 * beyond the last key. False when there is nothing to fit: fewer than two keys, a key longer
 * than KEYSPAN_KEY_MAX, or first and last the same number. */
bool keyspan_fit(struct keyspan *span, const struct store_bytes *keys, size_t count);

/* The key as a number in [0, span->max]; keys that sort before the space give 0, after it
 * span->max. Never decreases as keys increase. */
uint64_t keyspan_value(const struct keyspan *span, const void *key, size_t bytes);

/* The key `value` stands for, into `out`; returns its length. Never decreases as `value`
 * increases; keyspan_value of it is `value`, but for the digits after a first "ended". */
size_t keyspan_key(const struct keyspan *span, uint64_t value, uint8_t out[KEYSPAN_KEY_MAX]);

#endif
