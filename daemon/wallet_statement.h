/* wallet_statement.h -- a wallet's statement (format 11).
 *
 * Each entry that moves a wallet (its postings on the wallet of a person: a send accepted, a
 * settlement's or refund's wallet leg, the wallet paid out with a withdrawal) is a link in
 * wallet_links, (seq, person) -> the wallet's entry before it and the wallet's balance after.
 * books.c makes the link when it moves the balance, whose last_seq is the chain's head.
 */
#ifndef FAMLEDGER_WALLET_STATEMENT_H
#define FAMLEDGER_WALLET_STATEMENT_H

#include "request.h"

/* Handler: StatementRequest as Request.wallet_statement (admin, audit). */
int wallet_statement_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* The upgrade to format 11: every wallet posting of the log, linked in its wallet's chain. */
int wallet_links_fold(struct store_txn *txn);

#endif
