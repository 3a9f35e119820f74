/* metrics_http.c -- the metrics listener, libmicrohttpd in the loop (metrics_http.h). */
#include "metrics_http.h"

#include "container_of.h"
#include "log.h"
#include "metrics_text.h"
#include "server_internal.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A scraper is a process on this machine or Prometheus: a handful at a time is plenty, and one
 * that stalls is let go. */
#define METRICS_CONNECTIONS_MAX 16
#define METRICS_CONNECTION_TIMEOUT_S 10

int metrics_http_address(const char *text, struct sockaddr_storage *address,
                         socklen_t *address_bytes, char *error, size_t error_bytes)
{
    char host[256];
    const char *port;
    const char *colon = strrchr(text, ':');
    if (text[0] == '[') { /* [v6 address]:port */
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
            goto invalid;
        snprintf(host, sizeof(host), "%.*s", (int)(close - text - 1), text + 1);
        port = close + 2;
    } else {
        if (!colon || (size_t)(colon - text) >= sizeof(host))
            goto invalid;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
        port = colon + 1;
    }
    char *end;
    long number = strtol(port, &end, 10);
    if (!host[0] || port[0] < '0' || port[0] > '9' || *end || number < 1 || number > 65535)
        goto invalid;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *found;
    int rc = getaddrinfo(host, port, &hints, &found);
    if (rc) {
        snprintf(error, error_bytes, "metrics_listen: cannot resolve '%s': %s", host,
                 gai_strerror(rc));
        return -1;
    }
    memcpy(address, found->ai_addr, found->ai_addrlen);
    *address_bytes = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
invalid:
    snprintf(error, error_bytes, "metrics_listen: '%s' is not HOST:PORT (127.0.0.1:9464, "
             "[::1]:9464)", text);
    return -1;
}

static enum MHD_Result metrics_http_reply(struct MHD_Connection *connection, unsigned status,
                                          char *body, size_t bytes, const char *content_type)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(bytes, body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static enum MHD_Result metrics_http_plain(struct MHD_Connection *connection, unsigned status,
                                          const char *text)
{
    char *body = strdup(text);
    return body ? metrics_http_reply(connection, status, body, strlen(body),
                                     "text/plain; charset=utf-8")
                : MHD_NO;
}

/* Loop thread (MHD_run is called from the loop): every metric, freshly collected. */
static enum MHD_Result metrics_http_request_cb(void *context, struct MHD_Connection *connection,
                                               const char *url, const char *method,
                                               const char *version, const char *upload_data,
                                               size_t *upload_data_bytes, void **request_state)
{
    (void)version;
    (void)upload_data;
    struct metrics_http *http = context;
    if (*request_state == NULL) { /* headers only so far; answer once they are all in */
        *request_state = http;
        return MHD_YES;
    }
    if (*upload_data_bytes != 0) /* a body nobody asked for: ignore it */
        *upload_data_bytes = 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return metrics_http_plain(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "only GET /metrics is served here\n");
    if (strcmp(url, "/metrics") != 0)
        return metrics_http_plain(connection, MHD_HTTP_NOT_FOUND,
                                  "famledgerd serves its metrics at /metrics\n");
    struct arena arena;
    arena_init(&arena);
    Famledger__StatsReply reply = FAMLEDGER__STATS_REPLY__INIT;
    server_metrics_collect(http->server, &arena, &reply);
    char *body = NULL;
    size_t bytes = 0;
    FILE *out = open_memstream(&body, &bytes);
    int rc = out ? metrics_text_write(out, &reply, METRICS_TEXT_PROMETHEUS) : -1;
    if (out && fclose(out) != 0)
        rc = -1;
    arena_free(&arena);
    if (rc != 0) {
        free(body);
        log_warn("metrics: out of memory for the metrics text");
        return metrics_http_plain(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return metrics_http_reply(connection, MHD_HTTP_OK, body, bytes,
                              "text/plain; version=0.0.4; charset=utf-8");
}

static void metrics_http_log_cb(void *context, const char *format, va_list args)
{
    (void)context;
    char line[512];
    vsnprintf(line, sizeof(line), format, args);
    size_t length = strlen(line);
    while (length > 0 && line[length - 1] == '\n')
        line[--length] = '\0';
    log_debug("metrics: %s", line);
}

static void metrics_http_timer_cb(uv_timer_t *timer);

/* Run what is ready, then wake again when libmicrohttpd next has something to time out. */
static void metrics_http_run(struct metrics_http *http)
{
    MHD_run(http->daemon);
    MHD_UNSIGNED_LONG_LONG timeout_ms;
    if (MHD_get_timeout(http->daemon, &timeout_ms) == MHD_YES)
        uv_timer_start(&http->timer, metrics_http_timer_cb, timeout_ms, 0);
    else
        uv_timer_stop(&http->timer);
}

static void metrics_http_poll_cb(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    metrics_http_run(container_of(poll, struct metrics_http, poll));
}

static void metrics_http_timer_cb(uv_timer_t *timer)
{
    metrics_http_run(container_of(timer, struct metrics_http, timer));
}

int metrics_http_start(struct metrics_http *http, uv_loop_t *loop, struct server *server,
                       const char *listen, char *error, size_t error_bytes)
{
    *http = (struct metrics_http){.server = server};
    struct sockaddr_storage address;
    socklen_t address_bytes;
    if (metrics_http_address(listen, &address, &address_bytes, error, error_bytes) != 0)
        return -1;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (address.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    http->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, metrics_http_request_cb, http, MHD_OPTION_SOCK_ADDR, &address,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONNECTION_TIMEOUT_S,
        MHD_OPTION_EXTERNAL_LOGGER, metrics_http_log_cb, http, MHD_OPTION_END);
    if (!http->daemon) {
        snprintf(error, error_bytes, "metrics_listen: cannot listen on %s (in use, or not an "
                 "address of this machine)", listen);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon,
                                                           MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(loop, &http->poll, info->epoll_fd) != 0) {
        MHD_stop_daemon(http->daemon);
        snprintf(error, error_bytes, "metrics_listen: cannot watch the listener");
        return -1;
    }
    uv_timer_init(loop, &http->timer);
    http->handles_open = 2;
    http->started = true;
    uv_poll_start(&http->poll, UV_READABLE, metrics_http_poll_cb);
    log_info("metrics at http://%s/metrics", listen);
    return 0;
}

static void metrics_http_closed_cb(uv_handle_t *handle)
{
    struct metrics_http *http = handle->data;
    if (--http->handles_open == 0) {
        MHD_stop_daemon(http->daemon);
        http->daemon = NULL;
    }
}

void metrics_http_stop(struct metrics_http *http)
{
    if (!http->started)
        return;
    http->started = false;
    http->poll.data = http->timer.data = http;
    uv_close((uv_handle_t *)&http->poll, metrics_http_closed_cb);
    uv_close((uv_handle_t *)&http->timer, metrics_http_closed_cb);
}
