/* sync_dir.h -- make a directory's names durable, shared by the daemon and the tools: fsync of
 * a new file syncs its data, not the name it was made or renamed under (fsync(2)). */
#ifndef FAMLEDGER_SYNC_DIR_H
#define FAMLEDGER_SYNC_DIR_H

#include <stdbool.h>

/* Sync the entries of directory DIR. Returns 0, or -1 with errno. */
int sync_dir(const char *dir);

/* Sync the directory that holds PATH, a file or a directory: "a/b/c" and "a/b/c/" sync "a/b",
 * "/a" syncs "/", a bare name the working directory. Returns 0, or -1 with errno. */
int sync_dir_of(const char *path);

/* Whether a directory sync that failed with `error` means the disk failed (EIO, ENOSPC,
 * EDQUOT): then what was written may be lost, and the caller refuses. Otherwise the directory
 * could not be opened to sync it (EACCES: a parent one may only pass through) or its
 * filesystem does not sync directories (EINVAL), which the caller warns of and goes on. */
bool sync_dir_error_is_fatal(int error);

#endif
