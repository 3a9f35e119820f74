/* settle.h -- quote and settle: sequential multi-account deduction (docs/POLICY.md). */
#ifndef FAMLEDGER_SETTLE_H
#define FAMLEDGER_SETTLE_H

#include "request.h"

int settle_quote_handle(struct request_ctx *ctx, const Famledger__Request *request);
int settle_handle(struct request_ctx *ctx, const Famledger__Request *request);
int settlement_get_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Load a settlement as it stands (refunds included), failing the request with
 * UNKNOWN_SETTLEMENT when there is none. */
int settlement_load(struct request_ctx *ctx, uint64_t settlement_id,
                    Famledger__Settlement **settlement);

#endif
