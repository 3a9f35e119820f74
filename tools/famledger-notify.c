/* famledger-notify.c -- an example consumer of the change stream: a notice to each holder
 * whose account paid for a relative (家庭共济 消费提醒), as it commits.
 *
 *   famledger-notify [--socket PATH] [--from SEQ]
 *
 * One line per mutual-aid leg on stdout, for a message gateway to send on:
 *   notice HOLDER: 12.30 yuan of your account paid for PATIENT at MERCHANT (settlement 42, balance 87.70)
 * It follows the log from --from (default: the next entry) and, when the daemon restarts,
 * subscribes again from the first entry it has not seen, so no payment is missed or told
 * twice. Stop it with a signal. When its output fails (the gateway's pipe closed, a full
 * disk), it stops with status 1 and says the entry to start again from (--from), rather than
 * go on and lose the notices.
 */
#include "famledger.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* notice_cb's answer when stdout failed (no status of the library's), and why. */
#define NOTICE_UNWRITTEN (-1)
static int notice_write_error;

static int notice_cb(void *context, const fl_stream_event *event)
{
    (void)context;
    if (!event->is_settlement)
        return 0;
    const fl_settlement *s = &event->settlement;
    char amount[FL_MONEY_TEXT_MAX], balance[FL_MONEY_TEXT_MAX];
    for (size_t i = 0; i < s->leg_count; i++) {
        const fl_leg *leg = &s->legs[i];
        if (!leg->mutual_aid)
            continue;
        printf("notice %s: %s yuan of your account paid for %s at %s (settlement %" PRIu64
               ", balance %s)\n", leg->holder, fl_money_format(leg->amount_fen, amount),
               s->patient, s->merchant_code, s->settlement_id,
               fl_money_format(leg->balance_after_fen, balance));
    }
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        notice_write_error = errno ? errno : EIO;
        return NOTICE_UNWRITTEN;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *socket_path = NULL;
    uint64_t next_seq = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            socket_path = argv[++i];
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            next_seq = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: famledger-notify [--socket PATH] [--from SEQ]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a failed write, said below, not a death */
    fl_client *client = NULL;
    for (;;) {
        while (fl_client_connect(socket_path, FL_DEFAULT_TIMEOUT_MS, &client) != 0) {
            fl_client_close(client);
            client = NULL;
            nanosleep(&(struct timespec){0, 500000000}, NULL);
        }
        if (next_seq == 0) {
            fl_head head;
            if (fl_head_get(client, &head) == 0)
                next_seq = head.seq + 1;
        }
        int rc = fl_subscribe(client, next_seq, true, notice_cb, NULL, &next_seq);
        if (rc == NOTICE_UNWRITTEN) {
            fprintf(stderr, "famledger-notify: cannot write notices: %s; those of entry %" PRIu64
                    " on may be lost: start again with --from %" PRIu64 "\n",
                    strerror(notice_write_error), next_seq, next_seq);
            fl_client_close(client);
            return 1;
        }
        if (rc != FL_ERR_PROTOCOL_ERROR && rc != FL_ERR_UNAVAILABLE &&
            rc != FL_ERR_SUBSCRIBER_BEHIND && rc != FL_ERR_SHUTTING_DOWN) {
            fprintf(stderr, "famledger-notify: %s: %s\n", fl_status_name(rc),
                    fl_client_error(client));
            fl_client_close(client);
            return 1;
        }
        fl_client_close(client);
        client = NULL;
    }
}
