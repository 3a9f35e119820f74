/* lifecycle.h -- the life of persons and accounts: freezes, suspensions, withdrawals, transfers. */
#ifndef FAMLEDGER_LIFECYCLE_H
#define FAMLEDGER_LIFECYCLE_H

#include "request.h"

int lifecycle_freeze_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_suspend_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_withdraw_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_transfer_out_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_transfer_in_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
