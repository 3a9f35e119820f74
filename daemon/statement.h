/* statement.h -- an account's statement: every entry that touched it, paged by sequence. */
#ifndef FAMLEDGER_STATEMENT_H
#define FAMLEDGER_STATEMENT_H

#include "request.h"

int statement_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* Handler: CreditsRequest (admin, audit): an account's credits in a year, month by month. */
int statement_credits_handle(struct request_ctx *ctx, const Famledger__Request *request);

/* What `entry` (whole: ledger_entry_read) did to the account of `person_no`: fills amount
 * (signed), balance after and the entry's reference. Returns true when the entry concerns that
 * account. */
bool statement_line_from_entry(const Famledger__Entry *entry, const char *person_no,
                               Famledger__StatementLine *line);

#endif
