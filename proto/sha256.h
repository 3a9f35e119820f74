/* sha256.h -- SHA-256 through OpenSSL's libcrypto, shared by the daemon and the client library:
 * the log's hash chain (hash = SHA-256(prev_hash || entry bytes)), reference fingerprints and
 * the head record's checksum. libcrypto uses the CPU's SHA instructions where it has them. */
#ifndef FAMLEDGER_SHA256_H
#define FAMLEDGER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HASH_BYTES 32

/* Load the digest from libcrypto once (any thread, any number of times). Returns 0, or -1 when
 * libcrypto has no SHA-256 (a configuration without its default provider). */
int sha256_ready(void);

/* hash = SHA-256(first || second); either part may be empty. Returns 0, or -1 when libcrypto
 * cannot (out of memory, or sha256_ready failed). */
int sha256_pair(const void *first, size_t first_bytes, const void *second, size_t second_bytes,
                uint8_t hash[SHA256_HASH_BYTES]);

static inline int sha256_of(const void *bytes, size_t size, uint8_t hash[SHA256_HASH_BYTES])
{
    return sha256_pair(bytes, size, NULL, 0, hash);
}

#endif
