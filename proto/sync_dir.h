/* sync_dir.h -- make a directory's names durable, shared by the daemon and the tools: fsync of
 * a new file syncs its data, not the name it was made or renamed under (fsync(2)). */
#ifndef FAMLEDGER_SYNC_DIR_H
#define FAMLEDGER_SYNC_DIR_H

/* Sync the entries of directory DIR. Returns 0, or -1 with errno. */
int sync_dir(const char *dir);

/* Sync the directory that holds PATH, a file or a directory: "a/b/c" and "a/b/c/" sync "a/b",
 * "/a" syncs "/", a bare name the working directory. Returns 0, or -1 with errno. */
int sync_dir_of(const char *path);

#endif
