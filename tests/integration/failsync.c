/* failsync.c -- test helper, loaded with LD_PRELOAD into famledgerd: while the file named by
 * $FAILSYNC_TRIGGER exists, fsync and fdatasync fail with EIO, as a failing disk's do; the
 * first $FAILSYNC_PASS of them (default 0) after it appears still succeed, to fail a chosen
 * flush of a commit. With $FAILSYNC_DELAY_MS each sync first takes that long, as a slow
 * disk's does. With $FAILSYNC_LOG each sync appends the path it syncs to that file, so that a
 * test can see what was made durable. With $FAILSYNC_FSTYPE (a number: 0x6969 is NFS) statfs
 * says every path is on a filesystem of that type, as a network share's mount would. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/vfs.h>
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

static void record(int fd)
{
    const char *log = getenv("FAILSYNC_LOG");
    if (!log)
        return;
    char link[64], line[4100];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, line, sizeof(line) - 1);
    if (length < 0)
        return;
    line[length++] = '\n';
    int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out < 0)
        return;
    if (write(out, line, (size_t)length) != length)
        perror("failsync: FAILSYNC_LOG");
    close(out);
}

static void slow(void)
{
    const char *delay = getenv("FAILSYNC_DELAY_MS");
    if (delay)
        usleep((useconds_t)atol(delay) * 1000);
}

int fdatasync(int fd)
{
    record(fd);
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
    record(fd);
    slow();
    if (failing()) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}

static void fake_type(__fsword_t *type)
{
    const char *fake = getenv("FAILSYNC_FSTYPE");
    if (fake)
        *type = (__fsword_t)strtoul(fake, NULL, 0);
}

int statfs(const char *path, struct statfs *status)
{
    int (*real)(const char *, struct statfs *) =
        (int (*)(const char *, struct statfs *))dlsym(RTLD_NEXT, "statfs");
    int rc = real(path, status);
    if (rc == 0)
        fake_type(&status->f_type);
    return rc;
}

int statfs64(const char *path, struct statfs64 *status)
{
    int (*real)(const char *, struct statfs64 *) =
        (int (*)(const char *, struct statfs64 *))dlsym(RTLD_NEXT, "statfs64");
    int rc = real(path, status);
    if (rc == 0)
        fake_type(&status->f_type);
    return rc;
}
