/* listener.c -- the listening Unix socket: safe path claim, group and mode, accept with reserve. */
#include "listener.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void socket_address(struct sockaddr_un *address, const char *path)
{
    *address = (struct sockaddr_un){.sun_family = AF_UNIX};
    snprintf(address->sun_path, sizeof(address->sun_path), "%s", path);
}

/* Whether something accepts connections at `path`. */
static bool socket_is_live(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un address;
    socket_address(&address, path);
    bool live = connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0;
    close(fd);
    return live;
}

/* Whether the path is free for bind: nothing there, or a socket nobody answers on (with
 * `claim`, removed). */
static int listener_path_free(const char *path, bool claim, char *error, size_t error_bytes)
{
    char copy[CONFIG_SOCKET_PATH_BYTES];
    snprintf(copy, sizeof(copy), "%s", path);
    const char *parent = dirname(copy);
    struct stat status;
    if (stat(parent, &status) != 0 || !S_ISDIR(status.st_mode)) {
        snprintf(error, error_bytes, "cannot listen on %s: its directory %s does not exist; "
                 "create it or choose another socket path", path, parent);
        return -1;
    }
    if (lstat(path, &status) != 0)
        return errno == ENOENT ? 0 : (snprintf(error, error_bytes, "cannot listen on %s: %s",
                                               path, strerror(errno)), -1);
    const char *kind = S_ISDIR(status.st_mode)   ? "a directory"
                       : S_ISLNK(status.st_mode) ? "a symbolic link"
                       : S_ISREG(status.st_mode) ? "a regular file"
                       : S_ISSOCK(status.st_mode) ? NULL
                                                  : "not a socket";
    if (kind) {
        snprintf(error, error_bytes, "cannot listen on %s: it is %s, left as it is; remove it "
                 "or choose another socket path", path, kind);
        return -1;
    }
    if (socket_is_live(path)) {
        snprintf(error, error_bytes, "cannot listen on %s: another famledgerd answers there",
                 path);
        return -1;
    }
    if (claim)
        unlink(path); /* a stale socket of a daemon that did not stop cleanly */
    return 0;
}

/* The gid of config->socket_group (a name or a number); -1 with a message if unknown. */
static int listener_group(const struct config *config, gid_t *gid, char *error,
                          size_t error_bytes)
{
    char *end;
    unsigned long number = strtoul(config->socket_group, &end, 10);
    if (*config->socket_group && !*end) {
        *gid = (gid_t)number;
        return 0;
    }
    struct group *group = getgrnam(config->socket_group);
    if (!group) {
        snprintf(error, error_bytes, "socket_group: no group named '%s'", config->socket_group);
        return -1;
    }
    *gid = group->gr_gid;
    return 0;
}

int listener_check(const struct config *config, char *error, size_t error_bytes)
{
    gid_t gid;
    if (listener_path_free(config->socket_path, false, error, error_bytes) ||
        (*config->socket_group && listener_group(config, &gid, error, error_bytes)))
        return -1;
    return 0;
}

static int listener_bind(int fd, const struct config *config, char *error, size_t error_bytes)
{
    struct sockaddr_un address;
    socket_address(&address, config->socket_path);
    /* No peer can connect before listen(), which comes after the file has its group and
     * socket_mode. (The umask, which would do it too, belongs to the whole process: a file that
     * another thread creates meanwhile, a backup or the head record made again, would take it.) */
    int rc = bind(fd, (struct sockaddr *)&address, sizeof(address));
    const char *step = "bind";
    if (rc == 0 && *config->socket_group) {
        gid_t gid;
        if (listener_group(config, &gid, error, error_bytes))
            return -1;
        step = "chown to socket_group";
        rc = chown(config->socket_path, (uid_t)-1, gid);
    }
    if (rc == 0)
        step = "chmod", rc = chmod(config->socket_path, (mode_t)config->socket_mode);
    if (rc == 0)
        step = "listen", rc = listen(fd, 511);
    if (rc != 0)
        snprintf(error, error_bytes, "cannot listen on %s: %s: %s", config->socket_path, step,
                 strerror(errno));
    return rc;
}

static void listener_refuse_one(struct listener *listener)
{
    /* One line a minute at most: a flood must not become a flood of log lines. */
    time_t now = time(NULL);
    listener->refused_count++;
    if (now - listener->refused_logged_at >= 60) {
        log_warn("server: out of file descriptors: %lu peer(s) answered BUSY; raise LimitNOFILE "
                 "or lower connections_max", listener->refused_count);
        listener->refused_logged_at = now;
        listener->refused_count = 0;
    }
    /* Out of descriptors: free the reserve, take the peer on it, answer, and take it back. */
    close(listener->reserve_fd);
    int fd = accept4(listener->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0)
        listener->refused_cb(listener, fd);
    listener->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void listener_poll_cb(uv_poll_t *poll, int status, int events);

static void listener_resume_cb(uv_timer_t *timer)
{
    struct listener *listener = timer->data;
    if (listener->reserve_fd < 0)
        listener->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    uv_poll_start(&listener->poll, UV_READABLE, listener_poll_cb);
}

static void listener_poll_cb(uv_poll_t *poll, int status, int events)
{
    (void)events;
    struct listener *listener = poll->data;
    if (status < 0)
        return;
    /* Bounded, so that a flood of connections cannot starve the connections we have. */
    for (int accepted = 0; accepted < 64; accepted++) {
        int fd = accept4(listener->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            listener->accepted_cb(listener, fd);
            continue;
        }
        if ((errno == EMFILE || errno == ENFILE) && listener->reserve_fd >= 0) {
            listener_refuse_one(listener);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE) {
            /* No reserve either (something else took its slot): a level-triggered poll would
             * spin; wait a little and try again. */
            uv_poll_stop(&listener->poll);
            uv_timer_start(&listener->pause_timer, listener_resume_cb, 100, 0);
            return;
        }
        if (errno != EINTR && errno != ECONNABORTED)
            return; /* EAGAIN: nothing more waits */
    }
}

/* A new socket file at the path, in place of the one deleted: bound and listening on a new
 * socket that then takes the old one's descriptor, so that the poll goes on with it. */
static int listener_rebind(struct listener *listener, char *error, size_t error_bytes)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(error, error_bytes, "socket: %s", strerror(errno));
        return -1;
    }
    struct stat made;
    if (listener_bind(fd, listener->config, error, error_bytes) != 0 ||
        lstat(listener->path, &made) != 0) {
        if (!*error)
            snprintf(error, error_bytes, "%s: %s", listener->path, strerror(errno));
        close(fd);
        return -1;
    }
    /* libuv watches a descriptor's number: stopped, it forgets the old socket; started again,
     * it watches the new one under that number. */
    bool polling = !uv_is_active((uv_handle_t *)&listener->pause_timer);
    uv_poll_stop(&listener->poll);
    int moved = dup3(fd, listener->fd, O_CLOEXEC);
    close(fd);
    if (moved < 0) {
        snprintf(error, error_bytes, "dup3: %s", strerror(errno));
        return -1;
    }
    listener->bound = made;
    if (polling)
        uv_poll_start(&listener->poll, UV_READABLE, listener_poll_cb);
    return 0;
}

/* Each second: the socket file at the path is still the one this daemon made. Deleted (a
 * cleanup of /run, a mistaken rm), it is made again: peers could not reach the daemon at all
 * otherwise. Another file there (a second famledgerd's socket) is left alone and named. */
static void listener_watch_cb(uv_timer_t *timer)
{
    struct listener *listener = timer->data;
    struct stat now;
    if (lstat(listener->path, &now) == 0) {
        bool ours = now.st_dev == listener->bound.st_dev && now.st_ino == listener->bound.st_ino;
        if (!ours && !listener->path_lost_told)
            log_error("server: %s is no longer this famledgerd's socket but another file: "
                      "peers cannot reach this daemon; stop one of the two", listener->path);
        listener->path_lost_told = !ours;
        return;
    }
    if (errno != ENOENT)
        return;
    char error[512] = "";
    if (listener_rebind(listener, error, sizeof(error)) == 0) {
        log_warn("server: the socket file %s was deleted while famledgerd ran: made again",
                 listener->path);
        listener->path_lost_told = false;
    } else if (!listener->path_lost_told) {
        log_error("server: the socket file %s was deleted while famledgerd ran, and cannot be "
                  "made again (%s): peers cannot reach this daemon", listener->path, error);
        listener->path_lost_told = true;
    }
}

int listener_open(struct listener *listener, uv_loop_t *loop, const struct config *config,
                  char *error, size_t error_bytes)
{
    listener->path = config->socket_path;
    listener->config = config;
    listener->fd = -1;
    listener->reserve_fd = -1;
    if (listener_path_free(config->socket_path, true, error, error_bytes))
        return -1;
    listener->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener->fd < 0) {
        snprintf(error, error_bytes, "socket: %s", strerror(errno));
        return -1;
    }
    int rc = listener_bind(listener->fd, config, error, error_bytes);
    if (rc == 0 && lstat(config->socket_path, &listener->bound) != 0) {
        snprintf(error, error_bytes, "cannot listen on %s: %s", config->socket_path,
                 strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        listener->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        rc = uv_poll_init(loop, &listener->poll, listener->fd);
        if (rc)
            snprintf(error, error_bytes, "cannot watch %s: %s", config->socket_path,
                     uv_strerror(rc));
    }
    if (rc) {
        if (listener->reserve_fd >= 0)
            close(listener->reserve_fd);
        close(listener->fd);
        return -1;
    }
    listener->poll.data = listener;
    uv_timer_init(loop, &listener->pause_timer);
    listener->pause_timer.data = listener;
    uv_timer_init(loop, &listener->watch_timer);
    listener->watch_timer.data = listener;
    uv_timer_start(&listener->watch_timer, listener_watch_cb, 1000, 1000);
    uv_poll_start(&listener->poll, UV_READABLE, listener_poll_cb);
    return 0;
}

static void listener_close_cb(uv_handle_t *handle)
{
    struct listener *listener = handle->data;
    close(listener->fd);
    if (listener->reserve_fd >= 0)
        close(listener->reserve_fd);
    /* Only the file this daemon made: if it was deleted and another famledgerd has since made
     * its own at the path, that one stays. */
    struct stat now;
    if (lstat(listener->path, &now) == 0 && now.st_dev == listener->bound.st_dev &&
        now.st_ino == listener->bound.st_ino)
        unlink(listener->path);
    if (listener->closed_cb)
        listener->closed_cb(listener);
}

void listener_close(struct listener *listener)
{
    uv_poll_stop(&listener->poll);
    uv_close((uv_handle_t *)&listener->pause_timer, NULL);
    uv_close((uv_handle_t *)&listener->watch_timer, NULL);
    uv_close((uv_handle_t *)&listener->poll, listener_close_cb);
}
