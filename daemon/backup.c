/* backup.c -- hot backup: a compacted, consistent copy of the ledger and its head record.
 *
 * LMDB copies from one read transaction while writers go on (mdb_env_copy2, MDB_CP_COMPACT).
 * The copy is then opened like any ledger, its head checked against its own log, and the head
 * record written beside it, so that the copy starts as it is: `famledgerd --data-dir DIR`.
 * The copy, the record and their names are synced before the reply, as a commit is.
 */
#include "backup.h"

#include "head_record.h"
#include "ledger.h"
#include "log.h"
#include "sync_dir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open the copy, check its head, and record it. Returns 0 or a status after request_fail;
 * the caller then discards the copy, as the refusal says. */
static int backup_seal(struct request_ctx *ctx, const char *dir, Famledger__BackupReply *reply)
{
    /* Room to grow: opening the copy applies its journal (state_sweep_ms), which writes. */
    struct store *copy;
    if (store_open(dir, 1u << 20, UINT64_C(1) << 40, STORE_OPEN_EXISTING, &copy) != 0)
        return request_fail(ctx, FL_ERR_INTERNAL,
                            "the copy in %s does not open (nothing is left there)", dir);
    struct ledger_head head;
    int rc = ledger_check_head(copy, &head);
    store_close(copy);
    if (rc != 0)
        return request_fail(ctx, FL_ERR_INTERNAL,
                            "the copy in %s fails its head check (nothing is left there)", dir);
    struct head_record record;
    struct head_record_value value = {.seq = head.seq};
    memcpy(value.hash, head.hash, HASH_BYTES);
    if (head_record_open(&record, dir) != 0 || head_record_write(&record, &value) != 0) {
        int error = errno;
        head_record_close(&record);
        return request_fail(ctx, FL_ERR_INTERNAL,
                            "cannot write %s/famledger.head: %s (nothing is left there)", dir,
                            strerror(error));
    }
    head_record_close(&record);
    if (sync_dir(dir) != 0 || sync_dir_of(dir) != 0) {
        int error = errno;
        if (sync_dir_error_is_fatal(error))
            return request_fail(ctx, FL_ERR_INTERNAL,
                                "cannot sync the directory %s: %s (nothing is left there)", dir,
                                strerror(error));
        log_warn("backup: cannot sync the directory %s or its parent (%s): the copy might "
                 "lose its name in a power cut", dir, strerror(error));
    }
    reply->seq = head.seq;
    reply->hash.data = arena_alloc(ctx->arena, HASH_BYTES);
    reply->hash.len = HASH_BYTES;
    memcpy(reply->hash.data, head.hash, HASH_BYTES);
    return 0;
}

/* A backup that failed leaves nothing: what it wrote in the directory it made, then the
 * directory, so that a half copy is never taken for a backup and the same path can be tried
 * again. Anything else found there (put by someone else meanwhile) is left, and so the
 * directory too. */
static void backup_discard(const char *dir)
{
    static const char *const made[] = {"data.mdb", "lock.mdb", "famledgerd.lock",
                                       "famledger.head"};
    char path[4200];
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("backup: cannot remove %s of a failed backup: %s", path, strerror(errno));
    }
    if (rmdir(dir) != 0)
        log_warn("backup: cannot remove %s after a failed backup: %s", dir, strerror(errno));
}

int backup_handle(struct request_ctx *ctx, const Famledger__Request *request)
{
    const char *dir = request->backup->dir;
    if (dir[0] != '/' || strlen(dir) > 4000)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT,
                            "dir must be an absolute path on the daemon's host");
    if (mkdir(dir, 0750) != 0)
        return request_fail(ctx, FL_ERR_INVALID_ARGUMENT, "cannot create %s: %s", dir,
                            errno == EEXIST ? "it exists already; a backup never overwrites one"
                            : errno == ENOENT ? "its parent directory does not exist"
                            : errno == EROFS  ? "read-only to the daemon (under the packaged "
                                                "unit only /var/lib/famledger is writable; a "
                                                "drop-in can add ReadWritePaths=)"
                                              : strerror(errno));
    int rc = store_copy(store_of(ctx->txn), dir);
    if (rc) {
        backup_discard(dir);
        return request_fail(ctx, rc, "cannot copy the ledger to %s (nothing is left there)",
                            dir);
    }
    Famledger__BackupReply *reply = ARENA_NEW(ctx->arena, Famledger__BackupReply);
    famledger__backup_reply__init(reply);
    reply->dir = (char *)dir;
    if ((rc = backup_seal(ctx, dir, reply)) != 0) {
        backup_discard(dir);
        return rc;
    }
    char path[4200];
    struct stat status;
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &status) == 0)
        reply->bytes = (uint64_t)status.st_size;
    log_info("backup: %s, head %llu, %llu bytes", dir, (unsigned long long)reply->seq,
             (unsigned long long)reply->bytes);
    ctx->response->body_case = FAMLEDGER__RESPONSE__BODY_BACKUP;
    ctx->response->backup = reply;
    return 0;
}
