/* harness.c -- start a real famledgerd on a temporary directory and socket. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Daemons started and not yet stopped: a test that fails midway (cmocka jumps out of it) must
 * not leave its daemon running after the test program ends. */
#define DAEMONS_TRACKED 64
static pid_t daemons_running[DAEMONS_TRACKED];

static void daemons_kill_left(void)
{
    for (int i = 0; i < DAEMONS_TRACKED; i++)
        /* Only a child still ours and alive (a reaped pid may belong to someone else now). */
        if (daemons_running[i] > 0 && waitpid(daemons_running[i], NULL, WNOHANG) == 0) {
            kill(daemons_running[i], SIGKILL);
            waitpid(daemons_running[i], NULL, 0);
        }
}

static void daemon_track(pid_t pid, bool running)
{
    static bool registered;
    if (!registered)
        registered = atexit(daemons_kill_left) == 0;
    for (int i = 0; i < DAEMONS_TRACKED; i++)
        if (running ? daemons_running[i] == 0 : daemons_running[i] == pid) {
            daemons_running[i] = running ? pid : 0;
            return;
        }
}

static void daemon_exec(struct daemon_handle *daemon, const char *const *extra_args)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char program[256];
    snprintf(program, sizeof(program), "%s/famledgerd", build);
    const char *argv[64] = {program, "--data-dir", daemon->data_dir, "--socket",
                            daemon->socket_path, "--log-level", "warn"};
    int argc = 7;
    /* The daemon's default, unless the suite runs with 20 ms sweeps (make test-deferred) or the
     * setting off (make test-direct). */
    const char *sweep_ms = getenv("FAMLEDGER_TEST_STATE_SWEEP_MS");
    if (sweep_ms && *sweep_ms) {
        argv[argc++] = "--state-sweep-ms";
        argv[argc++] = sweep_ms;
    }
    for (int i = 0; extra_args && extra_args[i] && argc < 62; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;
    daemon->pid = fork();
    assert_true(daemon->pid >= 0);
    if (daemon->pid == 0) {
        execv(program, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    daemon_track(daemon->pid, true);
    /* Ready when a connection is accepted. */
    for (int attempt = 0; attempt < 500; attempt++) {
        fl_client *client;
        int rc = fl_client_connect(daemon->socket_path, 1000, &client);
        fl_client_close(client);
        if (rc == 0)
            return;
        assert_true(daemon_alive(daemon));
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    fail_msg("famledgerd did not start on %s", daemon->socket_path);
}

void daemon_start(struct daemon_handle *daemon, const char *const *extra_args)
{
    memset(daemon, 0, sizeof(*daemon));
    strcpy(daemon->dir, "/tmp/famledger-it-XXXXXX");
    assert_non_null(mkdtemp(daemon->dir));
    snprintf(daemon->socket_path, sizeof(daemon->socket_path), "%s/famledgerd.sock",
             daemon->dir);
    snprintf(daemon->data_dir, sizeof(daemon->data_dir), "%s/data", daemon->dir);
    daemon_exec(daemon, extra_args);
}

void daemon_restart(struct daemon_handle *daemon, const char *const *extra_args)
{
    daemon_exec(daemon, extra_args);
}

bool daemon_alive(struct daemon_handle *daemon)
{
    if (daemon->pid <= 0)
        return false;
    int status;
    return waitpid(daemon->pid, &status, WNOHANG) == 0;
}

int daemon_stop(struct daemon_handle *daemon)
{
    if (daemon->pid <= 0)
        return -1;
    kill(daemon->pid, SIGTERM);
    int status;
    assert_int_equal(waitpid(daemon->pid, &status, 0), daemon->pid);
    daemon_track(daemon->pid, false);
    daemon->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void daemon_remove(struct daemon_handle *daemon)
{
    if (daemon->pid > 0)
        daemon_stop(daemon);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", daemon->dir);
    assert_int_equal(system(command), 0);
}

fl_client *client_open(const struct daemon_handle *daemon)
{
    fl_client *client;
    int rc = fl_client_connect(daemon->socket_path, 10000, &client);
    if (rc)
        fail_msg("connect: %s", fl_client_error(client));
    return client;
}

static void person_make(fl_client *client, const char *person_no, const char *region,
                        fl_scheme scheme)
{
    fl_person person = {.scheme = scheme};
    snprintf(person.person_no, sizeof(person.person_no), "%s", person_no);
    snprintf(person.name, sizeof(person.name), "Person %s", person_no);
    snprintf(person.region, sizeof(person.region), "%s", region);
    int rc = fl_person_add(client, &person, NULL);
    if (rc)
        fail_msg("person add %s: %s", person_no, fl_client_error(client));
}

void employee_make(fl_client *client, const char *person_no, const char *region,
                   int64_t balance_fen)
{
    person_make(client, person_no, region, FL_SCHEME_EMPLOYEE);
    assert_int_equal(fl_account_open(client, person_no, NULL), 0);
    if (balance_fen > 0) {
        char reference[64];
        snprintf(reference, sizeof(reference), "initial-%s", person_no);
        assert_int_equal(fl_account_credit(client, person_no, balance_fen, FL_CREDIT_DEPOSIT,
                                           reference, NULL), 0);
    }
}

void resident_make(fl_client *client, const char *person_no, const char *region)
{
    person_make(client, person_no, region, FL_SCHEME_RESIDENT);
}

int64_t balance_of(fl_client *client, const char *person_no)
{
    fl_account account;
    int rc = fl_account_get(client, person_no, &account);
    if (rc)
        fail_msg("account show %s: %s", person_no, fl_client_error(client));
    return account.balance_fen;
}

int raw_connect(const struct daemon_handle *daemon)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", daemon->socket_path);
    assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    struct timeval timeout = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
}

void raw_send(int fd, const void *bytes, size_t count)
{
    const uint8_t *cursor = bytes;
    while (count > 0) {
        ssize_t sent = send(fd, cursor, count, MSG_NOSIGNAL);
        assert_true(sent > 0);
        cursor += sent;
        count -= (size_t)sent;
    }
}

void raw_send_request(int fd, const Famledger__Request *request)
{
    size_t bytes = famledger__request__get_packed_size(request);
    uint8_t *frame = malloc(4 + bytes);
    famledger__request__pack(request, frame + 4);
    frame[0] = (uint8_t)(bytes >> 24);
    frame[1] = (uint8_t)(bytes >> 16);
    frame[2] = (uint8_t)(bytes >> 8);
    frame[3] = (uint8_t)bytes;
    raw_send(fd, frame, 4 + bytes);
    free(frame);
}

void raw_request_send(int fd, uint64_t id, Famledger__Request__BodyCase body_case, void *body)
{
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.request_id = id;
    request.body_case = body_case;
    request.person_add = body; /* every body of the oneof shares one slot */
    raw_send_request(fd, &request);
}

static bool raw_read_exact(int fd, uint8_t *data, size_t count)
{
    while (count > 0) {
        ssize_t got = recv(fd, data, count, 0);
        if (got <= 0)
            return false;
        data += got;
        count -= (size_t)got;
    }
    return true;
}

Famledger__Response *raw_read_response(int fd)
{
    uint8_t header[4];
    if (!raw_read_exact(fd, header, 4))
        return NULL;
    uint32_t bytes = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                     (uint32_t)header[2] << 8 | header[3];
    assert_true(bytes < (16u << 20));
    uint8_t *payload = malloc(bytes ? bytes : 1);
    assert_true(raw_read_exact(fd, payload, bytes));
    Famledger__Response *response = famledger__response__unpack(NULL, bytes, payload);
    free(payload);
    assert_non_null(response);
    return response;
}

bool raw_closed_by_peer(int fd)
{
    struct pollfd poll_fd = {.fd = fd, .events = POLLIN};
    if (poll(&poll_fd, 1, 1000) <= 0)
        return false;
    uint8_t byte;
    return recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
}

/* One sample's value from the daemon's metrics (FL_METRICS_TEXT), or -1 when it is absent;
 * a fraction is cut off. */
long long metric_value(fl_client *client, const char *sample)
{
    char *text = NULL;
    size_t bytes = 0;
    FILE *out = open_memstream(&text, &bytes);
    assert_non_null(out);
    assert_int_equal(fl_metrics_write(client, FL_METRICS_TEXT, out), 0);
    fclose(out);
    long long value = -1;
    size_t length = strlen(sample);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, sample, length) == 0 && line[length] == ' ')
            value = strtoll(line + length + 1, NULL, 10);
    free(text);
    return value;
}
