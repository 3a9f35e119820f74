/* clearing.h -- clearing (清算): what the fund owes each merchant, day by day, and payouts. */
#ifndef FAMLEDGER_CLEARING_H
#define FAMLEDGER_CLEARING_H

#include "request.h"

/* Record a movement of `merchant`'s payable by `amount_fen` in the day totals of the entry's
 * business day: a settlement raises "settled", a refund, cancel or reversal "refunded", a
 * payout "paid out". Called by books_apply. Returns 0 or a storage error. */
int clearing_day_record(struct request_ctx *ctx, const Famledger__Entry *entry,
                        const char *merchant, int64_t amount_fen);

/* Handlers: PayoutRequest (admin); MerchantBalanceRequest and ClearingRequest (admin, audit,
 * and a settling peer for its own merchants). */
int clearing_payout_handle(struct request_ctx *ctx, const Famledger__Request *request);
int clearing_balance_handle(struct request_ctx *ctx, const Famledger__Request *request);
int clearing_report_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
