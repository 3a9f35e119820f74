/* chain.c -- the hash chain over the log, with libsodium's SHA-256. */
#include "chain.h"

#include <sodium.h>

_Static_assert(crypto_hash_sha256_BYTES == HASH_BYTES, "hash size");

int chain_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void chain_hash(const uint8_t prev_hash[HASH_BYTES], const void *entry_bytes, size_t bytes,
                uint8_t hash[HASH_BYTES])
{
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, prev_hash, HASH_BYTES);
    crypto_hash_sha256_update(&state, entry_bytes, bytes);
    crypto_hash_sha256_final(&state, hash);
}

void chain_hex(const uint8_t hash[HASH_BYTES], char hex[2 * HASH_BYTES + 1])
{
    sodium_bin2hex(hex, 2 * HASH_BYTES + 1, hash, HASH_BYTES);
}
