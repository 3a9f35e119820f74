/* chain.c -- the hash chain over the log, with libcrypto's SHA-256 (proto/sha256.h). */
#include "chain.h"

#include "require.h"
#include "sha256.h"

_Static_assert(SHA256_HASH_BYTES == HASH_BYTES, "hash size");

int chain_init(void)
{
    return sha256_ready();
}

void chain_hash(const uint8_t prev_hash[HASH_BYTES], const void *entry_bytes, size_t bytes,
                uint8_t hash[HASH_BYTES])
{
    /* With the digest loaded (chain_init), only a failed allocation can fail it: the daemon
     * stops on that as on any other (arena_alloc). */
    REQUIRE(sha256_pair(prev_hash, HASH_BYTES, entry_bytes, bytes, hash) == 0);
}

void chain_hex(const uint8_t hash[HASH_BYTES], char hex[2 * HASH_BYTES + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < HASH_BYTES; i++) {
        hex[2 * i] = digits[hash[i] >> 4];
        hex[2 * i + 1] = digits[hash[i] & 15];
    }
    hex[2 * HASH_BYTES] = '\0';
}
