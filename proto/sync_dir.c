/* sync_dir.c -- fsync a directory for the names in it (sync_dir.h). */
#include "sync_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int error = errno;
    close(fd);
    errno = error;
    return rc;
}

int sync_dir_of(const char *path)
{
    char dir[4096];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    size_t length = strlen(dir);
    while (length > 1 && dir[length - 1] == '/')
        dir[--length] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash)
        return sync_dir(".");
    if (slash == dir) /* "/a": the root holds it */
        slash[1] = '\0';
    else
        *slash = '\0';
    return sync_dir(dir);
}

bool sync_dir_error_is_fatal(int error)
{
    return error == EIO || error == ENOSPC || error == EDQUOT;
}
