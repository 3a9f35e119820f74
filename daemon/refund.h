/* refund.h -- cancellations and refunds: money back to the legs it came from. */
#ifndef FAMLEDGER_REFUND_H
#define FAMLEDGER_REFUND_H

#include "request.h"

int refund_cancel_handle(struct request_ctx *ctx, const Famledger__Request *request);
int refund_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
