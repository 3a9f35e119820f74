/* clearing.h -- clearing (清算): what the fund owes each merchant, day by day, payouts, and
 * recoveries (追回) of what a merchant owes the fund. */
#ifndef FAMLEDGER_CLEARING_H
#define FAMLEDGER_CLEARING_H

#include "request.h"

/* The appended `entry` in its merchant's business day, one read and one write of the day's
 * totals: the movement of the merchant's payable (`payable`, its posting, or NULL) raises
 * "settled" for a settlement, "refunded" for a refund, cancel or reversal, "paid out" for a
 * payout (and lowers "paid out" for a recovery); and a settlement, or a refund or reversal
 * that gave money back, joins the day's list, a link to the merchant's entry before it that
 * day, whose head the totals keep. Nothing for an entry without a merchant. Called by
 * books_apply. Returns 0 or a storage error. */
int clearing_day_record(struct request_ctx *ctx, const Famledger__Entry *entry,
                        const Famledger__Posting *payable);

/* A page of that list for `day` ("YYYYMMDD"), newest first from `cursor` (0: the newest; a
 * cursor this returned is found at once, any other is the first entry at or below it):
 * store_chain_page. A day without entries is an empty page. */
int clearing_day_page(struct request_ctx *ctx, const char *merchant, const char day[9],
                      uint64_t cursor, uint64_t *seqs, size_t seqs_max, size_t *count,
                      uint64_t *next_cursor);

/* The upgrade to format 7 (upgrade.c): merchant_day's sorted seqs become merchant_links, and
 * clearing_days, keyed merchant first, becomes day_totals, keyed day first, with the head of
 * each chain and the merchant's days; both old tables are dropped. 0, or an error after a log
 * line. */
int clearing_days_fold(struct store_txn *txn);

/* Handlers: PayoutRequest as a payout or a recovery (admin); MerchantBalanceRequest and
 * ClearingRequest (admin, audit, and a settling peer for its own merchants). */
int clearing_payout_handle(struct request_ctx *ctx, const Famledger__Request *request);
int clearing_recovery_handle(struct request_ctx *ctx, const Famledger__Request *request);
int clearing_balance_handle(struct request_ctx *ctx, const Famledger__Request *request);
int clearing_report_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
