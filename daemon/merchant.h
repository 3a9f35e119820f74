/* merchant.h -- designated pharmacies, hospitals and agencies, and what they may settle. */
#ifndef FAMLEDGER_MERCHANT_H
#define FAMLEDGER_MERCHANT_H

#include "request.h"

int merchant_add_handle(struct request_ctx *ctx, const Famledger__Request *request);
int merchant_list_handle(struct request_ctx *ctx, const Famledger__Request *request);
int merchant_status_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Load a registered merchant (active or not), or fail the request with INVALID_ARGUMENT or
 * UNKNOWN_MERCHANT. */
int merchant_require(struct request_ctx *ctx, const char *code, Famledger__Merchant **merchant);

/* Load a registered, active merchant that may settle `category`, or fail the request with
 * UNKNOWN_MERCHANT, MERCHANT_SUSPENDED or CATEGORY_NOT_ALLOWED. */
int merchant_require_settling(struct request_ctx *ctx, const char *code,
                              Famledger__Category category, Famledger__Merchant **merchant);

#endif
