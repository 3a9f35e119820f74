/* books.h -- double entry: the postings each entry carries, and the system accounts they move.
 *
 * Every entry that moves money carries postings that sum to zero, over the personal accounts
 * and the system accounts: the fund of each region, each merchant's payable, the cash refunds
 * due to persons, and a clearing account per region money travels to or from (docs/POLICY.md,
 * "The books"). Handlers post; ledger_append applies the postings in the entry's transaction,
 * so the books move exactly when the log does.
 */
#ifndef FAMLEDGER_BOOKS_H
#define FAMLEDGER_BOOKS_H

#include "fl_limits.h"
#include "request.h"

/* A settlement posts one leg per account and the merchant's payable; a refund as many. */
#define POSTINGS_MAX (LEGS_MAX + 1)

/* Add a posting of `amount_fen` (signed; 0 adds nothing) to `entry`, in ctx->arena. */
void books_post(struct request_ctx *ctx, Famledger__Entry *entry,
                Famledger__AccountClass account_class, const char *id, int64_t amount_fen);

/* Apply the postings of the appended `entry`: each system account and each class total moves.
 * Asserts that they sum to zero (a programmer error otherwise). Personal accounts themselves
 * are moved by their handlers (account_move), which also keep the balance never negative.
 * Returns 0 or a storage error. */
int books_apply(struct request_ctx *ctx, const Famledger__Entry *entry);

/* The balance of a system account (0 when it has never moved). Returns 0 or < 0. */
int books_balance_get(struct store_txn *txn, struct arena *arena,
                      Famledger__AccountClass account_class, const char *id,
                      int64_t *balance_fen);

/* The same, and the entry that last moved it (0: none), the head of a wallet's statement. */
int books_balance_last(struct store_txn *txn, struct arena *arena,
                       Famledger__AccountClass account_class, const char *id,
                       int64_t *balance_fen, uint64_t *last_seq);

/* "personal", "fund", "merchant_payable", "cash_refund_due", "clearing". */
const char *books_class_name(Famledger__AccountClass account_class);

/* Handler: TrialBalanceRequest (admin, audit). */
int books_trial_balance_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
