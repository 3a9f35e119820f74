/* digest_proxy.c -- test helper: a famledgerd of another digest definition, as a ledgerctl of a
 * newer release meets it. It passes one connection through to the real daemon, frame by frame,
 * but asks every state_digest as TABLE_DIGEST_VERSION + 1, so the daemon itself answers
 * UNSUPPORTED, in the connection's order, and verify must walk instead. With --after N it
 * passes the first N state_digest requests as they are: a daemon that changes its mind.
 *   famledger-digest-proxy [--watch | --after N] LISTEN_SOCKET DAEMON_SOCKET
 * It serves one connection, then says on standard error how many digests it altered. With
 * --watch it alters nothing and says how verify paced its digest pages along the log's, as
 * shell assignments: the log pages asked, the digest pages asked after the first of them, the
 * most records one of those asked for, how many came after the last log page, and the pages of
 * stored settlements walked (none while the daemon digests them):
 *   famledger-digest-proxy: log_pages=L digest_pages=D largest=N after_last=T
 *   settlement_pages=S */
#include "famledger.pb-c.h"
#include "frame.h"
#include "table_digest.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_address(const char *path, struct sockaddr_un *address)
{
    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(address->sun_path))
        return -1;
    strcpy(address->sun_path, path);
    return 0;
}

static int write_all(int fd, const uint8_t *bytes, size_t size)
{
    while (size > 0) {
        ssize_t wrote = write(fd, bytes, size);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0)
            return -1;
        bytes += wrote;
        size -= (size_t)wrote;
    }
    return 0;
}

/* What went through: the requests altered, or in --watch, the log and digest pages asked. */
struct seen {
    bool watch;
    unsigned pass;            /* state_digest requests to pass as they are before altering */
    unsigned altered;
    unsigned log_pages;
    unsigned digests_between; /* digest pages asked after the first log page's request */
    unsigned digests_after;   /* of them, after the latest log page's request */
    uint32_t limit_max;       /* the most records one of them asked for */
    unsigned settlement_pages; /* pages of the stored settlements walked */
};

static void watch(struct seen *seen, const Famledger__Request *request)
{
    if (request->body_case == FAMLEDGER__REQUEST__BODY_LOG_PAGE) {
        seen->log_pages++;
        seen->digests_after = 0;
    } else if (request->body_case == FAMLEDGER__REQUEST__BODY_STATE_DIGEST &&
               seen->log_pages > 0) {
        seen->digests_between++;
        seen->digests_after++;
        if (request->state_digest->limit > seen->limit_max)
            seen->limit_max = request->state_digest->limit;
    } else if (request->body_case == FAMLEDGER__REQUEST__BODY_STATE_PAGE &&
               request->state_page->table == FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS) {
        seen->settlement_pages++;
    }
}

/* Pass each whole frame in `buffer` on to `daemon`, a state_digest altered unless watching;
 * keep a partial one. Returns 0, or -1 when the daemon cannot be written to or a frame does not
 * decode. */
static int forward_frames(int daemon, uint8_t *buffer, size_t *held, struct seen *seen)
{
    size_t at = 0;
    while (*held - at >= FRAME_HEADER_BYTES) {
        uint32_t bytes = frame_header_decode(buffer + at);
        if (*held - at - FRAME_HEADER_BYTES < bytes)
            break;
        const uint8_t *payload = buffer + at + FRAME_HEADER_BYTES;
        Famledger__Request *request = famledger__request__unpack(NULL, bytes, payload);
        if (!request)
            return -1;
        int rc;
        if (seen->watch)
            watch(seen, request);
        bool digest = request->body_case == FAMLEDGER__REQUEST__BODY_STATE_DIGEST;
        if (digest && !seen->watch && seen->pass > 0) {
            seen->pass--;
            rc = write_all(daemon, buffer + at, FRAME_HEADER_BYTES + bytes);
        } else if (digest && !seen->watch) {
            request->state_digest->version = TABLE_DIGEST_VERSION + 1;
            size_t packed_bytes = famledger__request__get_packed_size(request);
            uint8_t *packed = malloc(FRAME_HEADER_BYTES + packed_bytes);
            if (!packed)
                return -1;
            frame_header_encode(packed, (uint32_t)packed_bytes);
            famledger__request__pack(request, packed + FRAME_HEADER_BYTES);
            rc = write_all(daemon, packed, FRAME_HEADER_BYTES + packed_bytes);
            free(packed);
            seen->altered++;
        } else {
            rc = write_all(daemon, buffer + at, FRAME_HEADER_BYTES + bytes);
        }
        famledger__request__free_unpacked(request, NULL);
        if (rc)
            return -1;
        at += FRAME_HEADER_BYTES + bytes;
    }
    memmove(buffer, buffer + at, *held - at);
    *held -= at;
    return 0;
}

int main(int argc, char **argv)
{
    struct seen seen = {.watch = argc == 4 && strcmp(argv[1], "--watch") == 0};
    bool after = argc == 5 && strcmp(argv[1], "--after") == 0;
    if (argc != 3 + seen.watch + 2 * after) {
        fprintf(stderr, "usage: famledger-digest-proxy [--watch | --after N] LISTEN_SOCKET "
                "DAEMON_SOCKET\n");
        return 2;
    }
    if (after)
        seen.pass = (unsigned)strtoul(argv[2], NULL, 10);
    argv += seen.watch + 2 * after;
    struct sockaddr_un listen_address, daemon_address;
    int listener = socket(AF_UNIX, SOCK_STREAM, 0), daemon = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0 || daemon < 0 || unix_address(argv[1], &listen_address) ||
        unix_address(argv[2], &daemon_address) ||
        bind(listener, (struct sockaddr *)&listen_address, sizeof(listen_address)) ||
        listen(listener, 1) ||
        connect(daemon, (struct sockaddr *)&daemon_address, sizeof(daemon_address))) {
        perror("famledger-digest-proxy");
        return 1;
    }
    int client = accept(listener, NULL, NULL);
    if (client < 0) {
        perror("famledger-digest-proxy: accept");
        return 1;
    }
    size_t capacity = 64u << 20, held = 0;
    uint8_t *buffer = malloc(capacity), replies[1 << 16];
    int rc = buffer ? 0 : 1;
    struct pollfd fds[2] = {{.fd = client, .events = POLLIN}, {.fd = daemon, .events = POLLIN}};
    while (rc == 0 && poll(fds, 2, -1) > 0) {
        if (fds[0].revents) {
            ssize_t got = read(client, buffer + held, capacity - held);
            if (got <= 0 || (held += (size_t)got, forward_frames(daemon, buffer, &held, &seen)))
                break; /* the client is gone, or sent what no client of ours sends */
        }
        if (fds[1].revents) {
            ssize_t got = read(daemon, replies, sizeof(replies));
            if (got <= 0 || write_all(client, replies, (size_t)got))
                break;
        }
    }
    if (seen.watch)
        fprintf(stderr, "famledger-digest-proxy: log_pages=%u digest_pages=%u largest=%u "
                "after_last=%u settlement_pages=%u\n", seen.log_pages, seen.digests_between,
                seen.limit_max, seen.digests_after, seen.settlement_pages);
    else
        fprintf(stderr, "famledger-digest-proxy: %u state_digest requests altered\n",
                seen.altered);
    close(client);
    close(daemon);
    close(listener);
    unlink(argv[1]);
    free(buffer);
    return rc;
}
