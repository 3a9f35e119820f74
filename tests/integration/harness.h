/* harness.h -- start a real famledgerd on a temporary directory and socket, and talk to it
 * through the client library or, for bad-input tests, raw bytes. */
#ifndef FAMLEDGER_TEST_HARNESS_H
#define FAMLEDGER_TEST_HARNESS_H

#include "famledger.h"
#include "famledger.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon_handle {
    char dir[64];
    char socket_path[96];
    char data_dir[96];
    pid_t pid;
};

/* Create a fresh temporary directory and start famledgerd ($BUILD/famledgerd) there with
 * `extra_args` (NULL-terminated, may be NULL). Waits until it answers. */
void daemon_start(struct daemon_handle *daemon, const char *const *extra_args);
/* Start again on the same directory (after daemon_stop). */
void daemon_restart(struct daemon_handle *daemon, const char *const *extra_args);
/* SIGTERM and wait; returns the exit status (0 for a clean stop). */
int daemon_stop(struct daemon_handle *daemon);
/* Stop if running and delete the directory. */
void daemon_remove(struct daemon_handle *daemon);
/* Whether the process is still alive (it has not crashed). */
bool daemon_alive(struct daemon_handle *daemon);

fl_client *client_open(const struct daemon_handle *daemon);

/* Register an employee with an open account, credited with `balance_fen` if positive. */
void employee_make(fl_client *client, const char *person_no, const char *region,
                   int64_t balance_fen);
void resident_make(fl_client *client, const char *person_no, const char *region);
int64_t balance_of(fl_client *client, const char *person_no);

/* Raw socket access. */
int raw_connect(const struct daemon_handle *daemon);
void raw_send(int fd, const void *bytes, size_t count);
void raw_send_request(int fd, const Famledger__Request *request);
/* A request with `id` and one body of the oneof (`body_case`, `body`). */
void raw_request_send(int fd, uint64_t id, Famledger__Request__BodyCase body_case, void *body);
/* Read one response; NULL when the daemon closed the connection. */
Famledger__Response *raw_read_response(int fd);
/* Whether the daemon has closed the connection (reads EOF within a second). */
bool raw_closed_by_peer(int fd);

/* One sample's value from the daemon's metrics (FL_METRICS_TEXT), e.g.
 * "famledger_refusals_total{reason=\"idle\"}", or -1 when it is absent; a fraction is cut off. */
long long metric_value(fl_client *client, const char *sample);

#endif
