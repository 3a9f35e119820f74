/* sha256.c -- SHA-256 through libcrypto's EVP interface (sha256.h). */
#include "sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Fetched once, not named on every call: EVP_sha256() looks the implementation up each time. */
static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int sha256_ready(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md ? 0 : -1;
}

int sha256_pair(const void *first, size_t first_bytes, const void *second, size_t second_bytes,
                uint8_t hash[SHA256_HASH_BYTES])
{
    if (sha256_ready() != 0)
        return -1;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (!context)
        return -1;
    unsigned int hash_bytes = 0;
    int ok = EVP_DigestInit_ex2(context, sha256_md, NULL) &&
             EVP_DigestUpdate(context, first, first_bytes) &&
             EVP_DigestUpdate(context, second, second_bytes) &&
             EVP_DigestFinal_ex(context, hash, &hash_bytes) && hash_bytes == SHA256_HASH_BYTES;
    EVP_MD_CTX_free(context);
    return ok ? 0 : -1;
}
