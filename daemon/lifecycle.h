/* lifecycle.h -- the life of persons and accounts: freezes, suspensions, withdrawals, transfers. */
#ifndef FAMLEDGER_LIFECYCLE_H
#define FAMLEDGER_LIFECYCLE_H

#include "request.h"

int lifecycle_freeze_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_suspend_handle(struct request_ctx *ctx, const Famledger__Request *request);
/* PersonDeceasedRequest (admin): the death of a person without an open account; every binding
 * paying for them ends. A holder's death is a death withdrawal. */
int lifecycle_deceased_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_withdraw_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_transfer_out_handle(struct request_ctx *ctx, const Famledger__Request *request);
int lifecycle_transfer_in_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
