/* test_notify.c -- famledgerd under systemd's Type=notify: READY once it serves, a STATUS with
 * the head, watchdog pings while the loop runs, STOPPING on SIGTERM. The test plays systemd's
 * part: a datagram socket named by NOTIFY_SOCKET. */
#include "harness.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

struct notify_listener {
    int fd;
    char path[108];
};

static void notify_listen(struct notify_listener *listener)
{
    snprintf(listener->path, sizeof(listener->path), "/tmp/famledger-notify-%d.sock",
             (int)getpid());
    unlink(listener->path);
    listener->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(listener->fd >= 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strcpy(address.sun_path, listener->path);
    assert_int_equal(bind(listener->fd, (struct sockaddr *)&address, sizeof(address)), 0);
    setenv("NOTIFY_SOCKET", listener->path, 1);
}

/* The next message, or NULL after `timeout_ms` of silence. */
static char *notify_next(struct notify_listener *listener, int timeout_ms, char *buffer,
                         size_t bytes)
{
    struct pollfd ready = {.fd = listener->fd, .events = POLLIN};
    if (poll(&ready, 1, timeout_ms) != 1)
        return NULL;
    ssize_t got = recv(listener->fd, buffer, bytes - 1, 0);
    if (got < 0)
        return NULL;
    buffer[got] = '\0';
    return buffer;
}

/* Read messages until one contains `text`; returns whether one did within `timeout_ms`. */
static bool notify_wait_for(struct notify_listener *listener, const char *text, int timeout_ms,
                            char *seen, size_t seen_bytes)
{
    for (int waited = 0; waited < timeout_ms; waited += 50)
        if (notify_next(listener, 50, seen, seen_bytes) && strstr(seen, text))
            return true;
    return false;
}

static void test_ready_status_watchdog_and_stopping(void **state)
{
    (void)state;
    struct notify_listener listener;
    notify_listen(&listener);
    setenv("WATCHDOG_USEC", "200000", 1); /* a ping every 100 ms */
    struct daemon_handle daemon;
    daemon_start(&daemon, NULL);
    char message[512];
    assert_true(notify_wait_for(&listener, "READY=1", 2000, message, sizeof(message)));

    fl_client *client = client_open(&daemon);
    employee_make(client, "P1", "110101", 10000);
    fl_head head;
    assert_int_equal(fl_head_get(client, &head), 0);
    char expected[64];
    snprintf(expected, sizeof(expected), "head entry %llu;", (unsigned long long)head.seq);
    assert_true(head.seq > 0);
    assert_true(notify_wait_for(&listener, expected, 8000, message, sizeof(message)));
    assert_non_null(strstr(message, "STATUS=serving"));

    int pings = 0;
    for (int i = 0; i < 20 && pings < 3; i++)
        if (notify_next(&listener, 200, message, sizeof(message)) &&
            strstr(message, "WATCHDOG=1"))
            pings++;
    assert_int_equal(pings, 3);

    fl_client_close(client);
    assert_int_equal(daemon_stop(&daemon), 0);
    assert_true(notify_wait_for(&listener, "STOPPING=1", 2000, message, sizeof(message)));
    daemon_remove(&daemon);
    unsetenv("WATCHDOG_USEC");
    unsetenv("NOTIFY_SOCKET");
    close(listener.fd);
    unlink(listener.path);
}

/* A failed sync stops the ledger: systemd hears STOPPING with the reason before the exit (74),
 * so that `systemctl status` says what happened. Syncs fail through libfailsync. */
static void test_a_storage_failure_is_told_before_the_exit(void **state)
{
    (void)state;
    struct notify_listener listener;
    notify_listen(&listener);
    char failsync[256], trigger[128];
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    snprintf(failsync, sizeof(failsync), "%s/tests/libfailsync.so", build);
    char *absolute = realpath(failsync, NULL);
    assert_non_null(absolute);
    snprintf(trigger, sizeof(trigger), "/tmp/famledger-notify-fail-%d", (int)getpid());
    unlink(trigger);
    setenv("FAILSYNC_TRIGGER", trigger, 1);
    setenv("LD_PRELOAD", absolute, 1);
    /* Under ASan the shim is loaded before the sanitizer's runtime; it asks nothing of it. */
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_options[512];
    snprintf(asan_options, sizeof(asan_options), "%s:verify_asan_link_order=0", asan ? asan : "");
    setenv("ASAN_OPTIONS", asan_options, 1);
    struct daemon_handle daemon;
    daemon_start(&daemon, NULL);
    unsetenv("LD_PRELOAD");
    free(absolute);
    char message[512];
    assert_true(notify_wait_for(&listener, "READY=1", 2000, message, sizeof(message)));

    fl_client *client = client_open(&daemon);
    employee_make(client, "P1", "110101", 10000);
    FILE *touch = fopen(trigger, "w");
    assert_non_null(touch);
    fclose(touch);
    assert_int_equal(fl_account_credit(client, "P1", 1, FL_CREDIT_DEPOSIT, "after-failure", NULL),
                     FL_ERR_INTERNAL);
    assert_true(notify_wait_for(&listener, "STOPPING=1", 5000, message, sizeof(message)));
    assert_non_null(strstr(message, "STATUS=storage failure"));
    fl_client_close(client);
    assert_int_equal(daemon_stop(&daemon), 74);
    unlink(trigger);
    unsetenv("FAILSYNC_TRIGGER");
    if (asan)
        setenv("ASAN_OPTIONS", asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    daemon_remove(&daemon);
    unsetenv("NOTIFY_SOCKET");
    close(listener.fd);
    unlink(listener.path);
}

/* An upgrade of a province's ledger outlasts systemd's start timeout: before READY, the
 * daemon says it is upgrading and asks for more time, at each walk's start and every few
 * seconds of it, then again for the commit. Here a ledger made format 7, with a settlement for
 * the walks to fold. */
static void test_an_upgrade_asks_systemd_for_time(void **state)
{
    (void)state;
    struct daemon_handle daemon;
    daemon_start(&daemon, NULL);
    fl_client *client = client_open(&daemon);
    employee_make(client, "P1", "110101", 10000);
    fl_client_close(client);
    assert_int_equal(daemon_stop(&daemon), 0);
    char command[512];
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    snprintf(command, sizeof(command), "%s/tests/famledger-corrupt %s format 7 >/dev/null", build,
             daemon.data_dir);
    assert_int_equal(system(command), 0);

    struct notify_listener listener;
    notify_listen(&listener);
    daemon_restart(&daemon, NULL);
    char message[512];
    bool began = false, folded = false, writing = false, ready = false;
    while (!ready && notify_next(&listener, 5000, message, sizeof(message))) {
        bool extends = strstr(message, "EXTEND_TIMEOUT_USEC=") != NULL;
        began |= extends && strstr(message, "STATUS=upgrading the ledger: format 7 to 12");
        folded |= extends && strstr(message, "STATUS=upgrading the ledger: folding the table");
        writing |= extends && strstr(message, "STATUS=upgrading the ledger: writing it");
        ready = strstr(message, "READY=1") != NULL;
        assert_true(!ready || (began && folded && writing)); /* all of it before READY */
    }
    assert_true(ready);
    client = client_open(&daemon);
    assert_int_equal(balance_of(client, "P1"), 10000);
    fl_client_close(client);
    assert_int_equal(daemon_stop(&daemon), 0);
    daemon_remove(&daemon);
    unsetenv("NOTIFY_SOCKET");
    close(listener.fd);
    unlink(listener.path);
}

/* Without NOTIFY_SOCKET the daemon sends nothing and runs as before (a terminal, a test). */
static void test_without_systemd_nothing_is_sent(void **state)
{
    (void)state;
    struct notify_listener listener;
    notify_listen(&listener);
    unsetenv("NOTIFY_SOCKET");
    struct daemon_handle daemon;
    daemon_start(&daemon, NULL);
    char message[512];
    assert_null(notify_next(&listener, 300, message, sizeof(message)));
    assert_int_equal(daemon_stop(&daemon), 0);
    daemon_remove(&daemon);
    close(listener.fd);
    unlink(listener.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_status_watchdog_and_stopping),
        cmocka_unit_test(test_a_storage_failure_is_told_before_the_exit),
        cmocka_unit_test(test_an_upgrade_asks_systemd_for_time),
        cmocka_unit_test(test_without_systemd_nothing_is_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
