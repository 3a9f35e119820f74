/* failsync.c -- test helper, loaded with LD_PRELOAD into famledgerd: while the file named by
 * $FAILSYNC_TRIGGER exists, fsync and fdatasync fail with EIO, as a failing disk's do. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int failing(void)
{
    const char *trigger = getenv("FAILSYNC_TRIGGER");
    return trigger && access(trigger, F_OK) == 0;
}

int fdatasync(int fd)
{
    if (failing()) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}

int fsync(int fd)
{
    if (failing()) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}
