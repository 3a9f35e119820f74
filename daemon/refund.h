/* refund.h -- cancellations and refunds: money back to the legs it came from. */
#ifndef FAMLEDGER_REFUND_H
#define FAMLEDGER_REFUND_H

#include "fl_limits.h"
#include "request.h"

int refund_cancel_handle(struct request_ctx *ctx, const Famledger__Request *request);
int refund_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Reversal by merchant reference (like 2601 冲正): cancels what is left of the settlement the
 * merchant made under that reference; if none was made, records the reversal so that the
 * settlement, arriving late, is refused with REVERSED (see settle_handle). */
int refund_reverse_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* The fingerprint a reversal records under the settlement reference it reversed before the
 * settlement arrived: no settlement's content hashes to it. */
extern const uint8_t refund_reversed_fingerprint[HASH_BYTES];

#endif
