/* reference.h -- idempotency: a caller's reference, bound to the content it was first used with.
 *
 * A retry with the same reference and the same content gets the original answer (rebuilt from
 * the entry the first attempt wrote); the same reference with other content is a conflict.
 */
#ifndef FAMLEDGER_REFERENCE_H
#define FAMLEDGER_REFERENCE_H

#include "fl_limits.h"
#include "store.h"

#include <protobuf-c/protobuf-c.h>

struct reference_key {
    uint8_t bytes[2 + 2 * (REFERENCE_BYTES_MAX + 1)];
    size_t size;
};

/* Build the key of `reference` in `scope` ("credit", "settle"...) for `owner` (a merchant code,
 * or "" where references are unique ledger-wide). */
void reference_key_make(struct reference_key *key, char scope, const char *owner,
                        const char *reference);

/* SHA-256 of the packed message: what "the same content" means. */
void reference_fingerprint(const ProtobufCMessage *message, uint8_t fingerprint[HASH_BYTES]);

/* Returns 0 when the reference is unused, 1 with *seq when it was used with the same content,
 * FL_ERR_CONFLICT (with *seq) when it was used with other content. */
int reference_find(struct store_txn *txn, const struct reference_key *key,
                   const uint8_t fingerprint[HASH_BYTES], uint64_t *seq);

/* The entry a reference was first used by, whatever its content: 1 with *seq, 0 unused, < 0. */
int reference_seq_find(struct store_txn *txn, const struct reference_key *key, uint64_t *seq);

int reference_record(struct store_txn *txn, const struct reference_key *key,
                     const uint8_t fingerprint[HASH_BYTES], uint64_t seq);

struct request_ctx;

/* What every idempotent handler does first: build the key of `reference` in `scope` for
 * `owner`, fingerprint `request`, and look it up. Returns 0 when unused (key and fingerprint
 * are ready for reference_record), 1 with *seq when this is a retry of the same content, or a
 * negative status after request_fail (CONFLICT, storage errors). */
int reference_lookup(struct request_ctx *ctx, char scope, const char *owner,
                     const char *reference, const ProtobufCMessage *request,
                     struct reference_key *key, uint8_t fingerprint[HASH_BYTES], uint64_t *seq);

#endif
