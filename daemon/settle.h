/* settle.h -- quote and settle: sequential multi-account deduction (docs/POLICY.md). */
#ifndef FAMLEDGER_SETTLE_H
#define FAMLEDGER_SETTLE_H

#include "request.h"

int settle_quote_handle(struct request_ctx *ctx, const Famledger__Request *request);
int settle_handle(struct request_ctx *ctx, const Famledger__Request *request);
int settlement_get_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
