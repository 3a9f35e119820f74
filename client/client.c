/* client.c -- the famledgerd connection: framing, timeouts, one request at a time. */
#include "client_internal.h"

#include "frame.h"
#include "wire_text.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Replies larger than this are refused: no daemon answer comes near it. */
#define CLIENT_REPLY_BYTES_MAX (64u << 20)

int client_fail(fl_client *client, int status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(client->error, sizeof(client->error), format, args);
    va_end(args);
    return status;
}

const char *fl_client_error(const fl_client *client)
{
    return client->error;
}

void fl_client_set_operator(fl_client *client, const char *operator_id)
{
    snprintf(client->operator_id, sizeof(client->operator_id), "%s",
             operator_id ? operator_id : "");
}

int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Wait until fd is ready for `events` or the deadline passes. Returns 0 or FL_ERR_TIMEOUT. */
static int client_wait(fl_client *client, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left_ms = deadline_ms - monotonic_ms();
        if (left_ms <= 0)
            return FL_ERR_TIMEOUT;
        struct pollfd poll_fd = {.fd = client->fd, .events = events};
        int ready = poll(&poll_fd, 1, left_ms > 60000 ? 60000 : (int)left_ms);
        if (ready > 0)
            return 0;
        if (ready < 0 && errno != EINTR)
            return FL_ERR_PROTOCOL_ERROR;
    }
}

static int client_open_socket(fl_client *client);

int fl_client_connect(const char *socket_path, int timeout_ms, fl_client **out)
{
    fl_client *client = calloc(1, sizeof(*client));
    if (!client)
        return FL_ERR_UNAVAILABLE;
    *out = client;
    client->timeout_ms = timeout_ms > 0 ? timeout_ms : FL_DEFAULT_TIMEOUT_MS;
    client->fd = -1;
    if (!socket_path)
        socket_path = getenv("FAMLEDGER_SOCKET");
    if (!socket_path || !*socket_path)
        socket_path = access(FL_DEFAULT_SOCKET, F_OK) == 0 ? FL_DEFAULT_SOCKET : FL_SYSTEM_SOCKET;
    if (strlen(socket_path) >= sizeof(client->socket_path))
        return client_fail(client, FL_ERR_UNAVAILABLE, "socket path too long: %s", socket_path);
    memcpy(client->socket_path, socket_path, strlen(socket_path) + 1);
    return client_open_socket(client);
}

/* Connect client->fd to client->socket_path within the client's timeout. */
static int client_open_socket(fl_client *client)
{
    const char *socket_path = client->socket_path;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    memcpy(address.sun_path, socket_path, strlen(socket_path) + 1);
    client->pid = getpid();
    client->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (client->fd < 0)
        return client_fail(client, FL_ERR_UNAVAILABLE, "socket: %s", strerror(errno));
    int64_t deadline_ms = monotonic_ms() + client->timeout_ms;
    while (connect(client->fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EINPROGRESS)
            return client_fail(client, FL_ERR_UNAVAILABLE, "cannot connect to %s: %s",
                               socket_path, strerror(errno));
        /* The daemon's backlog is full: retry until the deadline. */
        if (monotonic_ms() >= deadline_ms)
            return client_fail(client, FL_ERR_TIMEOUT, "connecting to %s timed out",
                               socket_path);
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return 0;
}

int client_fork_check(fl_client *client)
{
    /* Two processes on one connection would each take the other's replies: both number their
     * requests from the same count, so a settlement could be answered with another's result.
     * The child closes its copy of the descriptor (the parent's connection goes on, unaware)
     * and forgets the parent's requests in flight (their callbacks are the parent's). */
    if (client->pid == getpid())
        return 0;
    client_async_forget(client);
    if (client->fd >= 0)
        close(client->fd);
    client->fd = -1;
    client->broken = false;
    return client_open_socket(client);
}

void fl_client_close(fl_client *client)
{
    if (!client)
        return;
    if (client->pid != getpid())
        client_async_forget(client); /* a child's: the requests in flight are the parent's */
    client_async_close(client);
    if (client->fd >= 0)
        close(client->fd);
    free(client->reply);
    free(client);
}

static int client_write_all(fl_client *client, const uint8_t *data, size_t bytes,
                            int64_t deadline_ms)
{
    while (bytes > 0) {
        ssize_t written = send(client->fd, data, bytes, MSG_NOSIGNAL);
        if (written > 0) {
            data += written;
            bytes -= (size_t)written;
        } else if (written < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = client_wait(client, POLLOUT, deadline_ms);
            if (rc)
                return rc;
        } else {
            return FL_ERR_PROTOCOL_ERROR;
        }
    }
    return 0;
}

static int client_read_all(fl_client *client, uint8_t *data, size_t bytes, int64_t deadline_ms)
{
    while (bytes > 0) {
        ssize_t got = recv(client->fd, data, bytes, 0);
        if (got > 0) {
            data += got;
            bytes -= (size_t)got;
        } else if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = client_wait(client, POLLIN, deadline_ms);
            if (rc)
                return rc;
        } else {
            return FL_ERR_PROTOCOL_ERROR; /* 0: the daemon closed the connection */
        }
    }
    return 0;
}

int client_transport_fail(fl_client *client, int rc, const char *what)
{
    /* Half a frame may be in flight: this connection cannot be trusted again. */
    client->broken = true;
    if (rc == FL_ERR_TIMEOUT)
        return client_fail(client, rc, "no reply within %d ms while %s", client->timeout_ms,
                           what);
    return client_fail(client, rc, "connection to famledgerd lost while %s", what);
}

int client_request_check(fl_client *client, const Famledger__Request *request)
{
    char field[128];
    if (!wire_text_fits(client->operator_id))
        snprintf(field, sizeof(field), "the operator id");
    else if (wire_strings_fit(&request->base, field, sizeof(field)))
        return 0;
    return client_fail(client, FL_ERR_INVALID_ARGUMENT,
                       "%s is not UTF-8 text of at most %d bytes without a NUL", field,
                       WIRE_STRING_BYTES_MAX);
}

size_t client_frame_prepare(fl_client *client, Famledger__Request *request)
{
    request->request_id = ++client->next_request_id;
    request->operator_id = client->operator_id;
    return FRAME_HEADER_BYTES + famledger__request__get_packed_size(request);
}

void client_frame_write(const Famledger__Request *request, uint8_t *frame)
{
    frame_header_encode(frame, (uint32_t)famledger__request__pack(request,
                                                                   frame + FRAME_HEADER_BYTES));
}

static int client_send(fl_client *client, Famledger__Request *request, int64_t deadline_ms)
{
    int rc = client_request_check(client, request);
    if (rc)
        return rc;
    size_t bytes = client_frame_prepare(client, request);
    uint8_t *frame = malloc(bytes);
    if (!frame)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
    client_frame_write(request, frame);
    rc = client_write_all(client, frame, bytes, deadline_ms);
    free(frame);
    return rc ? client_transport_fail(client, rc, "sending the request") : 0;
}

static int client_receive(fl_client *client, Famledger__Response **response,
                          int64_t deadline_ms)
{
    uint8_t header[FRAME_HEADER_BYTES];
    int rc = client_read_all(client, header, sizeof(header), deadline_ms);
    if (rc)
        return client_transport_fail(client, rc, "waiting for the reply");
    uint32_t bytes = frame_header_decode(header);
    if (bytes > CLIENT_REPLY_BYTES_MAX)
        return client_transport_fail(client, FL_ERR_PROTOCOL_ERROR, "reading an oversized reply");
    if (bytes > client->reply_capacity || !client->reply) {
        size_t capacity = bytes ? bytes : 1;
        uint8_t *grown = malloc(capacity);
        if (!grown)
            return client_fail(client, FL_ERR_PROTOCOL_ERROR, "out of memory");
        free(client->reply);
        client->reply = grown;
        client->reply_capacity = capacity;
    }
    rc = client_read_all(client, client->reply, bytes, deadline_ms);
    if (rc == 0 && client->replies)
        scratch_reset(client->replies); /* the reply before this one is gone */
    if (rc == 0) {
        *response = famledger__response__unpack(client->replies ? &client->replies->allocator
                                                                : NULL,
                                                 bytes, client->reply);
        if (!*response)
            rc = FL_ERR_PROTOCOL_ERROR;
    }
    return rc ? client_transport_fail(client, rc, "reading the reply") : 0;
}

/* Whether the daemon closed this connection while it was idle (idle_timeout_ms, or a
 * restart): nothing is in flight, so a new connection may safely take its place. */
static bool client_closed_while_idle(fl_client *client)
{
    struct pollfd poll_fd = {.fd = client->fd, .events = POLLIN};
    if (poll(&poll_fd, 1, 0) <= 0)
        return false;
    uint8_t byte;
    ssize_t got = recv(client->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Before a request: a connection the daemon closed while idle is opened again; a broken one
 * stays broken. 0, or why the request cannot be sent. */
static int client_ready(fl_client *client)
{
    int rc = client_fork_check(client);
    if (rc)
        return rc;
    /* A blocking call comes after every request in flight: replies arrive in order. */
    if (client->async && client->async->in_flight > 0 && (rc = fl_async_wait(client, 0)) != 0)
        return rc;
    client->error[0] = '\0';
    if (client->fd >= 0 && !client->broken && client_closed_while_idle(client)) {
        close(client->fd);
        client->fd = -1;
        if ((rc = client_open_socket(client)) != 0)
            return rc;
    }
    if (client->fd < 0 || client->broken)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "the connection is no longer usable");
    return 0;
}

/* The reply read for request `request_id`: a failure status becomes the call's result (and the
 * reply is freed); a reply to another request breaks the connection. */
static int client_reply_check(fl_client *client, uint64_t request_id,
                              Famledger__Response **response)
{
    Famledger__Response *reply = *response;
    int status = -(int)reply->status;
    /* Request id 0 answers a frame the daemon could not read as ours (or a refused
     * connection); any other mismatch means the stream is out of step. */
    if (reply->request_id != request_id && !(reply->request_id == 0 && status)) {
        client->broken = true;
        status = client_fail(client, FL_ERR_PROTOCOL_ERROR, "reply to request %llu, expected %llu",
                             (unsigned long long)reply->request_id,
                             (unsigned long long)request_id);
    } else if (status) {
        client_fail(client, status, "%s", reply->error && *reply->error ? reply->error
                                                                         : fl_strerror(status));
    }
    if (status) {
        client_response_free(client, reply);
        *response = NULL;
    }
    return status;
}

int client_call(fl_client *client, Famledger__Request *request, Famledger__Response **response)
{
    *response = NULL;
    int ready = client_ready(client);
    if (ready)
        return ready;
    int64_t deadline_ms = monotonic_ms() + client->timeout_ms;
    int rc = client_send(client, request, deadline_ms);
    /* A daemon that refuses a connection (BUSY) says why, then closes: even when our send
     * failed, its explanation may be waiting to be read. */
    if (rc == 0 || rc == FL_ERR_PROTOCOL_ERROR) {
        int send_rc = rc;
        rc = client_receive(client, response, deadline_ms);
        if (rc && send_rc)
            return client_transport_fail(client, send_rc, "sending the request");
    }
    return rc ? rc : client_reply_check(client, request->request_id, response);
}

int client_call_send(fl_client *client, Famledger__Request *request, uint64_t *request_id)
{
    if (client->fd < 0 || client->broken)
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "the connection is no longer usable");
    int rc = client_send(client, request, monotonic_ms() + client->timeout_ms);
    *request_id = request->request_id;
    return rc;
}

int client_call_receive(fl_client *client, uint64_t request_id, Famledger__Response **response)
{
    *response = NULL;
    int rc = client_receive(client, response, monotonic_ms() + client->timeout_ms);
    return rc ? rc : client_reply_check(client, request_id, response);
}

void client_response_free(fl_client *client, Famledger__Response *response)
{
    if (!client->replies)
        famledger__response__free_unpacked(response, NULL);
}

/* Whether a reply that exists to carry one record (a person, a settlement...) carries it. A
 * daemon never sends one without; a reply that does not is broken, and the call must say so
 * rather than read through a NULL. */
bool client_reply_has_record(const Famledger__Response *response)
{
    switch (response->body_case) {
    case FAMLEDGER__RESPONSE__BODY_PERSON: return response->person->person;
    case FAMLEDGER__RESPONSE__BODY_ACCOUNT: return response->account->account;
    case FAMLEDGER__RESPONSE__BODY_BINDING: return response->binding->binding;
    case FAMLEDGER__RESPONSE__BODY_MERCHANT: return response->merchant->merchant;
    case FAMLEDGER__RESPONSE__BODY_SETTLEMENT: return response->settlement->settlement;
    case FAMLEDGER__RESPONSE__BODY_REFUND: return response->refund->refund;
    case FAMLEDGER__RESPONSE__BODY_MOVEMENT: return response->movement->movement;
    case FAMLEDGER__RESPONSE__BODY_PAYOUT: return response->payout->payout;
    case FAMLEDGER__RESPONSE__BODY_HOLD: return response->hold->hold;
    case FAMLEDGER__RESPONSE__BODY_AID_LIMIT: return response->aid_limit->limit;
    case FAMLEDGER__RESPONSE__BODY_WALLET_SEND: return response->wallet_send->send;
    case FAMLEDGER__RESPONSE__BODY_ENTRY: return response->entry->entry;
    default: return true;
    }
}

int client_expect(fl_client *client, Famledger__Response *response,
                  Famledger__Response__BodyCase body_case)
{
    if (response->body_case == body_case && client_reply_has_record(response))
        return 0;
    const char *what = response->body_case == body_case ? "the reply lacks its record"
                                                        : "the reply carries an unexpected body";
    client_response_free(client, response);
    return client_fail(client, FL_ERR_PROTOCOL_ERROR, "%s", what);
}

int client_stream_start(fl_client *client, Famledger__Request *request)
{
    int rc = client_ready(client);
    if (rc)
        return rc;
    rc = client_send(client, request, monotonic_ms() + client->timeout_ms);
    /* From here the connection carries the stream: no other call may use it. */
    client->broken = true;
    return rc;
}

int client_stream_receive(fl_client *client, uint64_t request_id, bool wait_forever,
                          Famledger__Response **response)
{
    int64_t deadline_ms = wait_forever ? INT64_MAX / 2 : monotonic_ms() + client->timeout_ms;
    int rc = client_receive(client, response, deadline_ms);
    if (rc)
        return rc;
    uint64_t answered = (*response)->request_id;
    if (answered != request_id && answered != 0) {
        client_response_free(client, *response);
        *response = NULL;
        return client_fail(client, FL_ERR_PROTOCOL_ERROR, "a stream frame for request %llu, "
                           "expected %llu", (unsigned long long)answered,
                           (unsigned long long)request_id);
    }
    int status = -(int)(*response)->status;
    if (status) {
        client_fail(client, status, "%s", (*response)->error && *(*response)->error
                                              ? (*response)->error
                                              : fl_strerror(status));
        client_response_free(client, *response);
        *response = NULL;
    }
    return status;
}
