/* account.h -- personal accounts: opening, credits, lookups, and moving balances. */
#ifndef FAMLEDGER_ACCOUNT_H
#define FAMLEDGER_ACCOUNT_H

#include "request.h"

int account_open_handle(struct request_ctx *ctx, const Famledger__Request *request);
int account_get_handle(struct request_ctx *ctx, const Famledger__Request *request);
int account_credit_handle(struct request_ctx *ctx, const Famledger__Request *request);
/* Up to CREDIT_BATCH_MAX credits in one request, each in a nested transaction of its own. */
int account_credit_batch_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Load the account of a registered person (and, when `person` is not NULL, the person),
 * failing the request with UNKNOWN_PERSON or NO_ACCOUNT when there is none. */
int account_require(struct request_ctx *ctx, const char *person_no, const char *role,
                    Famledger__Person **person, Famledger__Account **account);

/* Load an account that may receive `amount_fen`: open or frozen (not closed), and not
 * overflowing. Fails the request otherwise. */
int account_require_receiving(struct request_ctx *ctx, const char *person_no, int64_t amount_fen,
                              Famledger__Person **person, Famledger__Account **account);

/* Make entry `seq` the newest line of the account's statement: link it to the line before
 * (account_links) and move last_seq, the chain's head, to it. Once per entry: an entry that
 * touches the account again adds nothing. The caller stores the account. */
int account_chain(struct request_ctx *ctx, Famledger__Account *account, uint64_t seq);

/* 0 when `amount_fen` (>= 0) more may come into the account, else INVALID_ARGUMENT after
 * request_fail. Money goes out only as far as the balance, so what an account received in all
 * bounds its balance and all it paid: that total is the one to keep within INT64_MAX (some 900
 * million movements of the largest amount). Check before computing a balance after. */
int account_may_receive(struct request_ctx *ctx, const Famledger__Account *account,
                        int64_t amount_fen);

/* Add `amount_fen` (negative for a debit) to the account, record that entry `seq` touched it,
 * and store it. The caller has checked that the balance covers a debit and the holds; a credit
 * that account_may_receive refuses fails the request. */
int account_move(struct request_ctx *ctx, Famledger__Account *account, int64_t amount_fen,
                 uint64_t seq);

#endif
