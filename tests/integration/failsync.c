/* failsync.c -- test helper, loaded with LD_PRELOAD into famledgerd: while the file named by
 * $FAILSYNC_TRIGGER exists, fsync and fdatasync fail with EIO, as a failing disk's do; the
 * first $FAILSYNC_PASS of them (default 0) after it appears still succeed, to fail a chosen
 * flush of a commit. With $FAILSYNC_DELAY_MS each sync first takes that long, as a slow
 * disk's does. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int failing(void)
{
    static long passed;
    const char *trigger = getenv("FAILSYNC_TRIGGER");
    if (!trigger || access(trigger, F_OK) != 0)
        return 0;
    const char *pass = getenv("FAILSYNC_PASS");
    return !(pass && passed++ < atol(pass));
}

static void slow(void)
{
    const char *delay = getenv("FAILSYNC_DELAY_MS");
    if (delay)
        usleep((useconds_t)atol(delay) * 1000);
}

int fdatasync(int fd)
{
    slow();
    if (failing()) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}

int fsync(int fd)
{
    slow();
    if (failing()) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}
