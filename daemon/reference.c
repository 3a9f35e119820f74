/* reference.c -- idempotency references bound to request content. */
#include "reference.h"

#include "famledger_status.h"
#include "request.h"
#include "log.h"
#include "require.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

void reference_key_make(struct reference_key *key, char scope, const char *owner,
                        const char *reference)
{
    size_t owner_bytes = strlen(owner), reference_bytes = strlen(reference);
    REQUIRE(owner_bytes <= REFERENCE_BYTES_MAX && reference_bytes <= REFERENCE_BYTES_MAX);
    uint8_t *cursor = key->bytes;
    *cursor++ = (uint8_t)scope;
    *cursor++ = '\0';
    memcpy(cursor, owner, owner_bytes + 1);
    cursor += owner_bytes + 1;
    memcpy(cursor, reference, reference_bytes);
    key->size = (size_t)(cursor - key->bytes) + reference_bytes;
}

void reference_fingerprint(const ProtobufCMessage *message, uint8_t fingerprint[HASH_BYTES])
{
    size_t bytes = protobuf_c_message_get_packed_size(message);
    uint8_t stack[1024];
    uint8_t *packed = bytes <= sizeof(stack) ? stack : malloc(bytes);
    REQUIRE(packed != NULL);
    REQUIRE(protobuf_c_message_pack(message, packed) == bytes);
    REQUIRE(sha256_of(packed, bytes, fingerprint) == 0); /* fails only out of memory */
    if (packed != stack)
        free(packed);
}

int reference_find(struct store_txn *txn, const struct reference_key *key,
                   const uint8_t fingerprint[HASH_BYTES], uint64_t *seq)
{
    struct store_bytes value;
    int rc = store_get(txn, STORE_DB_REFERENCES, key->bytes, key->size, &value);
    if (rc <= 0)
        return rc;
    if (value.size != 8 + HASH_BYTES) {
        log_error("reference: a stored reference of %zu bytes is damaged", value.size);
        return FL_ERR_INTERNAL;
    }
    *seq = store_u64_decode(value.data);
    if (memcmp((const uint8_t *)value.data + 8, fingerprint, HASH_BYTES) != 0)
        return FL_ERR_CONFLICT;
    return 1;
}

int reference_seq_find(struct store_txn *txn, const struct reference_key *key, uint64_t *seq)
{
    static const uint8_t none[HASH_BYTES];
    int rc = reference_find(txn, key, none, seq);
    return rc == FL_ERR_CONFLICT ? 1 : rc;
}

int reference_record(struct store_txn *txn, const struct reference_key *key,
                     const uint8_t fingerprint[HASH_BYTES], uint64_t seq)
{
    uint8_t value[8 + HASH_BYTES];
    store_u64_encode(value, seq);
    memcpy(value + 8, fingerprint, HASH_BYTES);
    return store_put(txn, STORE_DB_REFERENCES, key->bytes, key->size, value, sizeof(value));
}

int reference_lookup(struct request_ctx *ctx, char scope, const char *owner,
                     const char *reference, const ProtobufCMessage *request,
                     struct reference_key *key, uint8_t fingerprint[HASH_BYTES], uint64_t *seq)
{
    reference_key_make(key, scope, owner, reference);
    reference_fingerprint(request, fingerprint);
    int rc = reference_find(ctx->txn, key, fingerprint, seq);
    if (rc == FL_ERR_CONFLICT)
        return request_fail(ctx, rc, "reference %s was used by entry %llu with other content",
                            reference, (unsigned long long)*seq);
    if (rc < 0)
        return request_fail(ctx, rc, "cannot read reference %s", reference);
    return rc;
}
