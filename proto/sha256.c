/* sha256.c -- SHA-256 through libcrypto's EVP interface (sha256.h). */
#include "sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *sha256_md;
/* Each thread's digest context, made on its first hash and freed when the thread ends: making
 * and freeing one for every hash (an allocation, its provider's state, a cleanse) cost more
 * than hashing a log entry did. */
static pthread_key_t sha256_context_key;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_context_free(void *context)
{
    EVP_MD_CTX_free(context);
}

/* Fetched once, not named on every call: EVP_sha256() looks the implementation up each time. */
static void sha256_fetch(void)
{
    if (pthread_key_create(&sha256_context_key, sha256_context_free) == 0)
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int sha256_ready(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md ? 0 : -1;
}

/* This thread's context, or NULL when out of memory. */
static EVP_MD_CTX *sha256_context(void)
{
    EVP_MD_CTX *context = pthread_getspecific(sha256_context_key);
    if (context)
        return context;
    context = EVP_MD_CTX_new();
    if (context && pthread_setspecific(sha256_context_key, context) != 0) {
        EVP_MD_CTX_free(context);
        context = NULL;
    }
    return context;
}

int sha256_pair(const void *first, size_t first_bytes, const void *second, size_t second_bytes,
                uint8_t hash[SHA256_HASH_BYTES])
{
    if (sha256_ready() != 0)
        return -1;
    EVP_MD_CTX *context = sha256_context();
    if (!context)
        return -1;
    /* Init starts the context afresh, whatever a failed hash before left in it. */
    unsigned int hash_bytes = 0;
    int ok = EVP_DigestInit_ex2(context, sha256_md, NULL) &&
             EVP_DigestUpdate(context, first, first_bytes) &&
             EVP_DigestUpdate(context, second, second_bytes) &&
             EVP_DigestFinal_ex(context, hash, &hash_bytes) && hash_bytes == SHA256_HASH_BYTES;
    return ok ? 0 : -1;
}
