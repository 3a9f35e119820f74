/* hold.h -- held quotes: a pre-settlement (2101) that reserves the legs it shows.
 *
 * A hold is a quote whose legs are reserved (Account.held_fen, Wallet.held_fen) until a
 * settlement of the same merchant, patient, amount and category captures exactly those legs,
 * the merchant releases it, or it expires by itself (due.c). Held money is not available to
 * other settlements, sends or withdrawals; its mutual aid counts against the family's limits
 * from the moment it is held.
 */
#ifndef FAMLEDGER_HOLD_H
#define FAMLEDGER_HOLD_H

#include "request.h"
#include "settle.h"

/* Handlers: HoldRequest (settle), HoldReleaseRequest (settle, admin). */
int hold_handle(struct request_ctx *ctx, const Famledger__Request *request);
int hold_release_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* The scheduler: expire hold `hold_id` if it is still open. 0, or < 0 after request_fail. */
int hold_expire(struct request_ctx *ctx, uint64_t hold_id);

/* settle --hold: check that `settle` is the held quote, still open and not expired, free its
 * reservations and fill `plan` with exactly its legs. 0, or < 0 after request_fail
 * (UNKNOWN_HOLD, HOLD_CLOSED, WRONG_MERCHANT, HOLD_MISMATCH, ACCOUNT_FROZEN). */
int hold_capture_plan(struct request_ctx *ctx, const Famledger__SettleRequest *settle,
                      struct settle_plan *plan);

/* After the settlement is recorded: the hold is captured by it. 0, or < 0 after request_fail. */
int hold_captured(struct request_ctx *ctx, uint64_t hold_id,
                  const Famledger__Settlement *settlement);

#endif
