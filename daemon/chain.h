/* chain.h -- the hash chain over the log: hash = SHA-256(prev_hash || entry_bytes). */
#ifndef FAMLEDGER_CHAIN_H
#define FAMLEDGER_CHAIN_H

#include "fl_limits.h"

#include <stddef.h>
#include <stdint.h>

/* Must be called once before any hashing (it loads SHA-256 from libcrypto). Returns 0 or -1. */
int chain_init(void);

void chain_hash(const uint8_t prev_hash[HASH_BYTES], const void *entry_bytes, size_t bytes,
                uint8_t hash[HASH_BYTES]);

/* Render a hash as 64 lower-case hex digits and a NUL. */
void chain_hex(const uint8_t hash[HASH_BYTES], char hex[2 * HASH_BYTES + 1]);

#endif
