/* backup.h -- hot backup: a compacted copy of the ledger and its head record, while it serves. */
#ifndef FAMLEDGER_BACKUP_H
#define FAMLEDGER_BACKUP_H

#include "request.h"

/* Handler: BackupRequest (admin, runs on the thread pool). */
int backup_handle(struct request_ctx *ctx, const Famledger__Request *request);

#endif
