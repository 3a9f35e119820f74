/* batch.h -- many requests that write, in one frame and one commit (BatchRequest). */
#ifndef FAMLEDGER_BATCH_H
#define FAMLEDGER_BATCH_H

#include "request.h"

/* Handler: BatchRequest (the roles of each item). Each item runs as if it were sent alone,
 * leaving nothing behind when refused, and answers in its own Response (batch.c: two passes). */
int batch_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* The commit queue's weight of a request: the items of a batch, else 1. */
unsigned batch_weight(const Famledger__Request *request);

#endif
