/* main.c -- famledgerd start-up, flags, signals and orderly shutdown. */
#include "chain.h"
#include "commit.h"
#include "config.h"
#include "container_of.h"
#include "famledger_status.h"
#include "fl_limits.h"
#include "head_record.h"
#include "ledger.h"
#include "listener.h"
#include "log.h"
#include "prefetch.h"
#include "scheduler.h"
#include "server.h"
#include "store.h"
#include "sync_dir.h"
#include "table_digest.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

/* Exit codes beyond 0 (stopped cleanly), 1 (refused to start) and 2 (bad arguments). */
#define EXIT_STORAGE_FAILED 74 /* EX_IOERR: fail-stop after a storage failure */

/* Signals that end a process by default and that tools send expecting a reload (logrotate,
 * `kill -HUP`, a closed terminal): the daemon logs them and goes on. */
#define IGNORED_SIGNALS 3
static const struct {
    int number;
    const char *name;
} ignored_signals[IGNORED_SIGNALS] = {
    {SIGHUP, "SIGHUP"}, {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}};

struct daemon {
    uv_loop_t *loop;
    struct config config;
    bool init;          /* --init: create a new ledger even in a non-empty directory */
    bool accept_head;   /* --accept-head: take the ledger's head over the head record's */
    int exit_code;
    struct store *store;
    struct head_record head_record;
    struct commit_queue commits;
    struct prefetch prefetch;
    struct server server;
    struct scheduler scheduler;
    uv_signal_t sigint, sigterm;
    uv_signal_t ignored[IGNORED_SIGNALS]; /* told, not obeyed */
    uv_timer_t notify_timer;  /* systemd: STATUS and, when asked for, the watchdog */
    bool notify_timer_open;
    bool watchdog;
};

/* ---- systemd (Type=notify); every call is a no-op without NOTIFY_SOCKET ---- */

/* STATUS=, as `systemctl status` shows it: what an operator looks at first. */
static void daemon_notify_status(struct daemon *daemon, const char *state)
{
    struct commit_stats stats;
    uint64_t durable_seq;
    int failed = commit_queue_stats(&daemon->commits, &stats, &durable_seq);
    sd_notifyf(0, "STATUS=%s; head entry %llu; %zu connections%s", state,
               (unsigned long long)durable_seq, daemon->server.conn_count,
               failed ? "; STORAGE FAILED" : "");
}

/* The loop is alive if this runs: the watchdog's ping, and a fresh status. */
static void daemon_notify_cb(uv_timer_t *timer)
{
    struct daemon *daemon = timer->data;
    if (daemon->watchdog)
        sd_notify(0, "WATCHDOG=1");
    daemon_notify_status(daemon, daemon->server.stopping ? "stopping" : "serving");
}

static void daemon_notify_start(struct daemon *daemon)
{
    if (!getenv("NOTIFY_SOCKET"))
        return;
    uint64_t watchdog_us = 0;
    daemon->watchdog = sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0;
    /* Ping at half the watchdog's interval; the status every 5 s at most. */
    uint64_t period_ms = 5000;
    if (daemon->watchdog && watchdog_us / 2000 < period_ms)
        period_ms = watchdog_us / 2000 ? watchdog_us / 2000 : 1;
    uv_timer_init(daemon->loop, &daemon->notify_timer);
    daemon->notify_timer.data = daemon;
    uv_timer_start(&daemon->notify_timer, daemon_notify_cb, period_ms, period_ms);
    uv_unref((uv_handle_t *)&daemon->notify_timer); /* it never keeps the loop running */
    daemon->notify_timer_open = true;
    daemon_notify_status(daemon, "serving");
    sd_notify(0, "READY=1");
}

static void usage(FILE *out)
{
    fputs("usage: famledgerd [--config FILE] [--check-config] [--init] [--accept-head]\n"
          "                  [--SETTING VALUE]... | --version | --help\n"
          "Runs the famledger daemon in the foreground. Every setting of the config file can\n"
          "also be given as a flag (--data-dir DIR, --socket PATH, ...); flags win.\n"
          "A new ledger is created only in a missing or empty data directory; --init creates\n"
          "one in a directory that holds other files (never over an existing data.mdb).\n"
          "--accept-head starts on a ledger that is behind its head record (a restored or\n"
          "rolled-back file), accepting the loss of the entries after its head.\n"
          "Exit: 0 stopped cleanly, 1 refused to start, 2 bad arguments, 74 stopped after a\n"
          "storage failure (restart it: recovery starts from the last durable state).\n\n"
          "settings:\n",
          out);
    config_print_usage(out);
}

/* Flags after the config file, so that they override it. Returns 0, 1 for --check-config,
 * or -1 after printing why the arguments are wrong. */
static int parse_arguments(int argc, char **argv, struct daemon *daemon)
{
    struct config *config = &daemon->config;
    char error[512];
    int check_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (config_load_file(config, argv[++i], error, sizeof(error)) != 0) {
                fprintf(stderr, "famledgerd: %s\n", error);
                return -1;
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--config") == 0) {
            i++;
        } else if (strcmp(arg, "--check-config") == 0) {
            check_only = 1;
        } else if (strcmp(arg, "--init") == 0) {
            daemon->init = true;
        } else if (strcmp(arg, "--accept-head") == 0) {
            daemon->accept_head = true;
        } else if (strcmp(arg, "--version") == 0) {
            puts("famledgerd " FAMLEDGER_VERSION);
            exit(0);
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strncmp(arg, "--", 2) == 0) {
            const char *equals = strchr(arg, '=');
            char name[64];
            const char *value;
            if (equals) {
                snprintf(name, sizeof(name), "%.*s", (int)(equals - arg - 2), arg + 2);
                value = equals + 1;
            } else if (i + 1 < argc) {
                snprintf(name, sizeof(name), "%s", arg + 2);
                value = argv[++i];
            } else {
                fprintf(stderr, "famledgerd: %s needs a value\n", arg);
                return -1;
            }
            if (config_set(config, name, value, error, sizeof(error)) != 0) {
                fprintf(stderr, "famledgerd: %s\n", error);
                return -1;
            }
        } else {
            fprintf(stderr, "famledgerd: unexpected argument '%s'\n", arg);
            usage(stderr);
            return -1;
        }
    }
    if (config_validate(config, error, sizeof(error)) != 0 ||
        config_diseases_load(config, error, sizeof(error)) != 0) {
        fprintf(stderr, "famledgerd: %s\n", error);
        return -1;
    }
    return check_only;
}

/* Each connection holds a descriptor; the daemon needs some of its own (LMDB, the loop, the
 * listener and its reserve). Returns false, with a warning (on `out` for --check-config, else
 * in the log), when the limit is too low. */
static bool fd_limit_enough(const struct config *config, FILE *out)
{
    struct rlimit limit;
    uint64_t needed = config->connections_max + 64;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
        limit.rlim_cur >= needed)
        return true;
    char warning[256];
    snprintf(warning, sizeof(warning), "the file descriptor limit (%llu) is below what "
             "connections_max needs (%llu); peers past it are answered BUSY. Raise LimitNOFILE "
             "or ulimit -n", (unsigned long long)limit.rlim_cur, (unsigned long long)needed);
    if (out)
        fprintf(out, "# warning: %s.\n", warning);
    else
        log_warn("%s", warning);
    return false;
}

/* SIGHUP, SIGUSR1 and SIGUSR2 end a process by default; outside the loop's handlers (before
 * it runs, while it stops) they are ignored outright. */
static void daemon_signals_ignore(void)
{
    for (size_t i = 0; i < IGNORED_SIGNALS; i++)
        signal(ignored_signals[i].number, SIG_IGN);
}

/* The signals that ask the daemon to stop. */
static sigset_t daemon_stop_signals(void)
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    return signals;
}

static void daemon_stopped_cb(struct server *server)
{
    struct daemon *daemon = container_of(server, struct daemon, server);
    /* Closing the signal handles restores the default action; a second SIGTERM during the
     * last steps must not kill us. The other threads (the writer, the prefetch threads) were
     * made with these signals blocked (daemon_run), so this thread is the only one to block. */
    sigset_t stop_signals = daemon_stop_signals();
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    scheduler_stop(&daemon->scheduler);
    commit_queue_stop(&daemon->commits);
    if (daemon->notify_timer_open)
        uv_close((uv_handle_t *)&daemon->notify_timer, NULL);
    uv_close((uv_handle_t *)&daemon->sigint, NULL);
    uv_close((uv_handle_t *)&daemon->sigterm, NULL);
    for (size_t i = 0; i < IGNORED_SIGNALS; i++)
        uv_close((uv_handle_t *)&daemon->ignored[i], NULL);
    /* libuv's own worker threads (background reads) were made later, with the loop thread's
     * mask then: from here a stop signal is ignored by every thread (we are stopping). */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    daemon_signals_ignore();
}

/* Entries the scheduler wrote go out on the change stream like any other. */
static void daemon_scheduled_cb(struct scheduler *scheduler)
{
    server_streams_notify(scheduler->data);
}

static void daemon_signal_cb(uv_signal_t *handle, int signal_number)
{
    struct daemon *daemon = handle->data;
    log_info("received %s: finishing requests in flight, then stopping",
             signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing requests in flight");
    server_stop(&daemon->server, daemon_stopped_cb);
}

/* One of ignored_signals: the operator is told, and nothing happens. */
static void daemon_ignored_signal_cb(uv_signal_t *handle, int signal_number)
{
    (void)handle;
    const char *name = "a signal";
    for (size_t i = 0; i < IGNORED_SIGNALS; i++)
        if (ignored_signals[i].number == signal_number)
            name = ignored_signals[i].name;
    log_warn("received %s: famledgerd ignores it (settings are read at the start, the log goes "
             "to stderr); restart it to apply new settings", name);
}

/* The ledger's head against the record kept outside data.mdb. Returns 0 or -1 (logged). */
static int daemon_check_head_record(struct daemon *daemon, const struct ledger_head *head)
{
    const char *dir = daemon->config.data_dir;
    struct head_record_value recorded;
    if (head_record_open(&daemon->head_record, dir) != 0) {
        log_error("cannot open %s/famledger.head: %s", dir, strerror(errno));
        return -1;
    }
    int found = head_record_read(&daemon->head_record, &recorded);
    bool same = found == 1 && recorded.seq == head->seq &&
                memcmp(recorded.hash, head->hash, HASH_BYTES) == 0;
    bool behind = found == 1 && recorded.seq > head->seq;
    /* A ledger created now replaces whatever record an earlier ledger here left. */
    bool fresh = store_created(daemon->store) || (found == 0 && head->seq == 0);
    if (found == 1 && recorded.seq < head->seq)
        same = true; /* a crash between the commit and the record: the ledger is ahead */
    if (!same && !fresh && !daemon->accept_head) {
        if (behind)
            log_error("%s/data.mdb ends at entry %llu, but entry %llu was committed and "
                      "acknowledged (famledger.head): the ledger was rolled back or restored "
                      "from an older copy. Restore the newest backup, or, to accept losing "
                      "entries %llu to %llu, start once with famledgerd --accept-head",
                      dir, (unsigned long long)head->seq, (unsigned long long)recorded.seq,
                      (unsigned long long)head->seq + 1, (unsigned long long)recorded.seq);
        else
            log_error("%s/famledger.head is %s: it does not match entry %llu of data.mdb. If "
                      "data.mdb is the ledger you mean to run, start once with famledgerd "
                      "--accept-head (docs/OPERATIONS.md)", dir,
                      found < 0    ? "damaged"
                      : found == 0 ? "missing or empty"
                                   : "for another ledger",
                      (unsigned long long)head->seq);
        return -1;
    }
    if (daemon->accept_head && !same && !fresh)
        log_warn("accepting the ledger's head, entry %llu, as the new head record",
                 (unsigned long long)head->seq);
    struct head_record_value value = {.seq = head->seq};
    memcpy(value.hash, head->hash, HASH_BYTES);
    if (head_record_write(&daemon->head_record, &value) != 0) {
        log_error("cannot write %s/famledger.head: %s", dir, strerror(errno));
        return -1;
    }
    /* data.mdb and famledger.head may be new, and so may the directory: their names reach the
     * disk before the first reply that says OK. */
    if (sync_dir(dir) != 0 || sync_dir_of(dir) != 0) {
        int error = errno;
        if (sync_dir_error_is_fatal(error)) {
            log_error("cannot sync the directory %s or its parent: %s", dir, strerror(error));
            return -1;
        }
        log_warn("cannot sync the directory %s or its parent (%s): going on, but a ledger "
                 "created now might lose its name in a power cut", dir, strerror(error));
    }
    return 0;
}

/* Root on a ledger that belongs to another user (the service's own, famledger): the files it
 * would make (lock.mdb made again, the head record made again, a new ledger's) would be
 * root's, and the service could then not open its ledger. */
static int daemon_check_user(const char *dir)
{
    struct stat status;
    if (geteuid() != 0 || stat(dir, &status) != 0 || status.st_uid == 0)
        return 0;
    struct passwd *owner = getpwuid(status.st_uid);
    log_error("famledgerd runs as root, but %s belongs to %s (uid %u): files it made there would "
              "be root's, and the ledger's own user could no longer open them. Run it as that "
              "user (runuser -u %s -- famledgerd ..., or systemctl start famledgerd)", dir,
              owner ? owner->pw_name : "another user", (unsigned)status.st_uid,
              owner ? owner->pw_name : "USER");
    return -1;
}

static int daemon_open_ledger(struct daemon *daemon)
{
    const struct config *config = &daemon->config;
    if (daemon_check_user(config->data_dir) != 0)
        return -1;
    if (store_filesystem_check(config->data_dir) != 0)
        return -1;
    /* The map is reserved at its maximum from the start (address space, not disk): it never
     * has to grow, so a long audit snapshot never stands in the writer's way. */
    int rc = store_open(config->data_dir, config->map_mib_max << 20, config->map_mib_max << 20,
                        (daemon->init ? STORE_CREATE_INIT : STORE_CREATE_IF_EMPTY) |
                            (config->map_readahead ? 0 : STORE_OPEN_NO_READAHEAD),
                        &daemon->store);
    if (rc == 0 && config->state_sweep_ms > 0 &&
        (rc = store_defer_state(daemon->store, config->state_sweep_ms)) != 0)
        store_close(daemon->store);
    if (rc) {
        log_error("cannot open the ledger in %s", config->data_dir);
        return -1;
    }
    struct ledger_head head;
    if (ledger_check_head(daemon->store, &head) != 0 ||
        daemon_check_head_record(daemon, &head) != 0 ||
        ledger_check_timezone(daemon->store, config->timezone, head.seq) != 0) {
        head_record_close(&daemon->head_record);
        store_close(daemon->store);
        return -1;
    }
    if (store_created(daemon->store)) {
        /* By its full name: a relative data_dir is the working directory's, which differs
         * between a shell and a service manager, and a ledger made in the wrong place splits
         * the books in two. */
        char full[PATH_MAX];
        log_info("created a new, empty ledger in %s",
                 realpath(config->data_dir, full) ? full : config->data_dir);
    }
    return 0;
}

/* The commit queue stopped after a storage failure: answer what was read, then exit 74 so
 * that the supervisor restarts us from the last durable state. */
static void daemon_failed_cb(struct commit_queue *queue, int status)
{
    struct daemon *daemon = container_of(queue, struct daemon, commits);
    log_error("storage failure (%s): the ledger can no longer be trusted in this process; "
              "stopping. A restart recovers from the last durable state", fl_strerror(status));
    daemon->exit_code = EXIT_STORAGE_FAILED;
    sd_notifyf(0, "STOPPING=1\nSTATUS=storage failure (%s): stopping; a restart recovers",
               fl_strerror(status));
    server_stop(&daemon->server, daemon_stopped_cb);
}

static int daemon_run(struct daemon *daemon)
{
    const struct config *config = &daemon->config;
    daemon->head_record.fd = -1;
    /* A socket another famledgerd answers, or an unknown group, is refused before a ledger is
     * opened: a mistyped data directory would otherwise be left holding a new, empty ledger. */
    char error[512];
    if (listener_check(config, error, sizeof(error)) != 0) {
        log_error("%s", error);
        return 1;
    }
    if (daemon_open_ledger(daemon) != 0)
        return 1;
    int rc;
    daemon->loop = uv_default_loop();
    /* Threads inherit the mask they are made with: only the loop thread takes SIGINT and
     * SIGTERM, so once it blocks them to shut down no thread meets one's default action. */
    sigset_t stop_signals = daemon_stop_signals(), mask;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &mask);
    if ((rc = commit_queue_start(&daemon->commits, daemon->loop, daemon->store,
                                 &daemon->head_record, config->commit_batch_max)) != 0) {
        log_error("cannot start the commit queue: %s", uv_strerror(rc));
        store_close(daemon->store);
        return 1;
    }
    if ((rc = prefetch_start(&daemon->prefetch, daemon->store, config,
                             (unsigned)config->prefetch_threads)) != 0)
        log_warn("cannot start the prefetch threads (%s): the writer reads for itself",
                 uv_strerror(rc));
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    rc = server_start(&daemon->server, daemon->loop, config, daemon->store, &daemon->commits,
                      rc == 0 ? &daemon->prefetch : NULL, error, sizeof(error));
    if (rc) {
        log_error("%s", error);
        prefetch_stop(&daemon->prefetch);
        commit_queue_stop(&daemon->commits);
        uv_run(daemon->loop, UV_RUN_DEFAULT);
        store_close(daemon->store);
        head_record_close(&daemon->head_record);
        return 1;
    }
    uv_signal_init(daemon->loop, &daemon->sigint);
    uv_signal_init(daemon->loop, &daemon->sigterm);
    daemon->sigint.data = daemon->sigterm.data = daemon;
    uv_signal_start(&daemon->sigint, daemon_signal_cb, SIGINT);
    uv_signal_start(&daemon->sigterm, daemon_signal_cb, SIGTERM);
    for (size_t i = 0; i < IGNORED_SIGNALS; i++) {
        uv_signal_init(daemon->loop, &daemon->ignored[i]);
        uv_signal_start(&daemon->ignored[i], daemon_ignored_signal_cb, ignored_signals[i].number);
    }
    daemon->commits.failed_cb = daemon_failed_cb;
    /* Wallet returns and hold expiries; the first run catches up on what fell due while the
     * daemon was down. */
    if ((rc = scheduler_start(&daemon->scheduler, daemon->loop, daemon->store, &daemon->commits,
                              config)) != 0) {
        log_error("cannot start the scheduler: %s", uv_strerror(rc));
        daemon->exit_code = 1;
        server_stop(&daemon->server, daemon_stopped_cb);
    }
    daemon->scheduler.data = &daemon->server;
    daemon->scheduler.committed_cb = daemon_scheduled_cb;
    char data_full[PATH_MAX];
    log_info("famledgerd ready: data %s, socket %s",
             realpath(config->data_dir, data_full) ? data_full : config->data_dir,
             config->socket_path);
    daemon_notify_start(daemon);

    uv_run(daemon->loop, UV_RUN_DEFAULT);
    uv_loop_close(daemon->loop);
    prefetch_stop(&daemon->prefetch);
    store_close(daemon->store);
    head_record_close(&daemon->head_record);
    if (daemon->exit_code == 0)
        log_info("famledgerd stopped cleanly");
    return daemon->exit_code;
}

/* A page of verify's or of an export is built (about a megabyte, in the request's arena and
 * the reply's buffer) and freed for every request. By default glibc gives such memory back to
 * the kernel at the free (trimming the heap above 128 KiB, unmapping blocks from 128 KiB up),
 * and the next page faults it in again, zeroed: 41 % of the daemon's CPU while verify read the
 * 10M ledger's log went to clear_page. Keep up to 8 MiB free in each malloc arena (a few
 * pages' worth; more is memory a burst leaves held), and serve every block smaller than twice
 * the largest reply from the heap. */
static void malloc_keep_freed(void)
{
    /* Advice: a malloc that ignores it (the sanitizers') only builds pages more slowly. */
    (void)mallopt(M_MMAP_THRESHOLD, 2 * REPLY_BYTES_MAX);
    (void)mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

int main(int argc, char **argv)
{
    static struct daemon daemon;
    config_init(&daemon.config);
    int parsed = parse_arguments(argc, argv, &daemon);
    if (parsed < 0)
        return 2;
    if (parsed == 1) {
        config_print(&daemon.config, stdout);
        fd_limit_enough(&daemon.config, stdout);
        /* What a start would refuse about the data directory, said before it. */
        if (store_filesystem_check(daemon.config.data_dir) != 0)
            return 2;
        /* The one setting a ledger holds its own value of: a start would refuse another. */
        char error[CONFIG_PATH_BYTES * 4 + 512];
        int zone = ledger_check_timezone_offline(daemon.config.data_dir,
                                                 daemon.config.timezone, error, sizeof(error));
        if (zone < 0) {
            fprintf(stderr, "famledgerd: timezone: %s\n", error);
            return 2;
        }
        if (zone > 0)
            printf("# cannot read the ledger in %s to compare its time zone\n",
                   daemon.config.data_dir);
        fputs("# configuration is valid\n", stdout);
        return 0;
    }
    log_set_level(daemon.config.log_level);
    log_detect_journal();
    log_fatal_signals(daemon.config.data_dir);
    fd_limit_enough(&daemon.config, NULL);
    /* Business days (day indexes, exports) are dates in the configured zone. */
    setenv("TZ", daemon.config.timezone, 1);
    tzset();
    if (chain_init() != 0) {
        log_error("cannot load SHA-256 from libcrypto (OpenSSL)");
        return 1;
    }
    if (table_digest_ready() != 0) {
        log_error("cannot start libsodium (the keyed hash of table digests)");
        return 1;
    }
    /* A peer that hangs up must cost us an EPIPE, never the process; a SIGHUP before the loop
     * logs one must not end it either. */
    signal(SIGPIPE, SIG_IGN);
    daemon_signals_ignore();
    malloc_keep_freed();
    return daemon_run(&daemon);
}
