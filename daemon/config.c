/* config.c -- famledgerd's settings: one table serves the config file, flags and printing. */
#include "config.h"

#include "fl_limits.h"
#include "metrics_http.h"

#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum setting_kind { SETTING_PATH, SETTING_SOCKET_PATH, SETTING_UINT, SETTING_MODE, SETTING_IDS,
                    SETTING_LOG_LEVEL, SETTING_MERCHANT_PEERS, SETTING_TEXT, SETTING_YUAN,
                    SETTING_CLOCK };

struct setting {
    const char *name;
    enum setting_kind kind;
    size_t offset;
    uint64_t min, max; /* for SETTING_UINT; SETTING_YUAN: fen; a path: min 1 if it may not
                        * be empty */
    const char *help;
};

#define AT(field) offsetof(struct config, field)

static const struct setting settings[] = {
    {"data_dir", SETTING_PATH, AT(data_dir), 1, 0, "LMDB data directory (created if missing)"},
    {"socket", SETTING_SOCKET_PATH, AT(socket_path), 1, 0, "Unix socket path"},
    {"socket_mode", SETTING_MODE, AT(socket_mode), 0, 0, "socket file mode, octal"},
    {"socket_group", SETTING_TEXT, AT(socket_group), 0, 0,
     "group (name or gid) given to the socket file; empty: the daemon's own"},
    {"metrics_listen", SETTING_TEXT, AT(metrics_listen), 0, 0,
     "HOST:PORT where Prometheus scrapes GET /metrics (e.g. 127.0.0.1:9464); empty: off. "
     "No authentication: keep it on localhost or a private address"},
    {"idle_timeout_ms", SETTING_UINT, AT(idle_timeout_ms), 100, 86400000,
     "close a connection that sends nothing and awaits nothing (or takes longer to send a "
     "frame whole, or reads none of its replies) for this long"},
    {"shutdown_timeout_ms", SETTING_UINT, AT(shutdown_timeout_ms), 0, 3600000,
     "after SIGTERM, close connections still open after this long and exit"},
    {"snapshot_max_seconds", SETTING_UINT, AT(snapshot_max_seconds), 0, 30 * 86400,
     "close an audit snapshot open longer than this (LMDB reuses no page freed after it, so "
     "data.mdb grows while it lasts); its next reads are refused SNAPSHOT_EXPIRED. 0: no limit"},
    {"map_mib", SETTING_UINT, AT(map_mib), 1, 1u << 30,
     "obsolete: the map is reserved at map_mib_max from the start; kept for old config files"},
    {"map_mib_max", SETTING_UINT, AT(map_mib_max), 1, 1u << 30,
     "largest the ledger may grow to, MiB; past it writes get OUT_OF_SPACE"},
    {"frame_bytes_max", SETTING_UINT, AT(frame_bytes_max), FRAME_BYTES_MAX_MIN,
     FRAME_BYTES_MAX_LIMIT, "largest request frame accepted, bytes"},
    {"connections_max", SETTING_UINT, AT(connections_max), 1, 65536,
     "concurrent client connections"},
    {"pipeline_max", SETTING_UINT, AT(pipeline_max), 1, PIPELINE_MAX_LIMIT,
     "requests read ahead of their replies, per connection"},
    {"unwritten_replies_mib_max", SETTING_UINT, AT(unwritten_replies_mib_max), 1, 1u << 20,
     "replies not yet taken by their peers, all connections together, MiB; past it a "
     "connection holding over 64 KiB of them runs no more requests until its peer reads"},
    {"pending_requests_mib_max", SETTING_UINT, AT(pending_requests_mib_max), 1, 1u << 20,
     "decoded requests awaiting their replies, all connections together, MiB; past it a "
     "connection holding over 256 KiB of them takes no more frames until they are answered"},
    {"commit_batch_max", SETTING_UINT, AT(commit_batch_max), 1, COMMIT_BATCH_MAX_LIMIT,
     "write requests sharing one transaction and one sync"},
    {"map_readahead", SETTING_UINT, AT(map_readahead), 0, 1,
     "0: a page fault in data.mdb reads just that page, and walks (verify, exports, the change "
     "stream) ask for what lies ahead; 1: every fault reads the device's read-ahead window "
     "around it (read_ahead_kb)"},
    {"state_sweep_ms", SETTING_UINT, AT(state_sweep_ms), 0, STATE_SWEEP_MS_LIMIT,
     "N (default 5000): keep the accounts and references in memory from their commits, each "
     "commit's changes in a journal, and write them back in key order in a sweep every N ms "
     "(fewer pages a settlement; a start after a crash applies the journal); 0: write them "
     "at each commit"},
    {"prefetch_threads", SETTING_UINT, AT(prefetch_threads), 0, PREFETCH_THREADS_LIMIT,
     "threads reading ahead what queued settlements will read, so that the writer finds it "
     "in memory; 0: none"},
    {"admin_uids", SETTING_IDS, AT(role_uids[ROLE_ADMIN]), 0, 0,
     "uids or user names with the admin role"},
    {"admin_gids", SETTING_IDS, AT(role_gids[ROLE_ADMIN]), 0, 0,
     "gids or group names with the admin role"},
    {"settle_uids", SETTING_IDS, AT(role_uids[ROLE_SETTLE]), 0, 0,
     "uids or user names with the settle role"},
    {"settle_gids", SETTING_IDS, AT(role_gids[ROLE_SETTLE]), 0, 0,
     "gids or group names with the settle role"},
    {"audit_uids", SETTING_IDS, AT(role_uids[ROLE_AUDIT]), 0, 0,
     "uids or user names with the audit role"},
    {"audit_gids", SETTING_IDS, AT(role_gids[ROLE_AUDIT]), 0, 0,
     "gids or group names with the audit role"},
    {"merchant_peers", SETTING_MERCHANT_PEERS, AT(merchant_peers), 0, 0,
     "merchants each settle peer acts for: 'uid:1001=P1,P2; gid:2001=H1'"},
    {"log_level", SETTING_LOG_LEVEL, AT(log_level), 0, 0, "error, warn, info or debug"},
    {"bindings_per_holder_max", SETTING_UINT, AT(bindings_per_holder_max), 1,
     BINDINGS_PER_HOLDER_LIMIT, "relatives one account may fund"},
    {"bindings_per_beneficiary_max", SETTING_UINT, AT(bindings_per_beneficiary_max), 1,
     BINDINGS_PER_BENEFICIARY_LIMIT, "accounts that may fund one relative"},
    {"cross_province", SETTING_IDS, AT(cross_province), 0, 0,
     "province codes (first two admdvs digits) with cross-province mutual aid switched on"},
    {"commercial_insurance_provinces", SETTING_IDS, AT(commercial_insurance_provinces), 0, 0,
     "provinces whose holders' accounts may pay relatives' commercial health insurance"},
    {"timezone", SETTING_PATH, AT(timezone), 1, 0,
     "time zone of business days (exports, reconciliation), e.g. Asia/Shanghai; a ledger "
     "with entries keeps the one it was started in"},
    {"clock_ahead_max_days", SETTING_UINT, AT(clock_ahead_max_days), 0, 36500,
     "days the wall clock may be past the last entry before writes are refused; 0: no limit"},
    {"long_term_care_provinces", SETTING_IDS, AT(long_term_care_provinces), 0, 0,
     "provinces whose holders' accounts may pay relatives' long-term-care insurance"},
    {"remote_settlement_provinces", SETTING_IDS, AT(remote_settlement_provinces), 0, 0,
     "provinces whose insured may settle at merchants of other provinces (异地购药); 'all'"},
    {"binding_evidence_required", SETTING_UINT, AT(binding_evidence_required), 0, 1,
     "1: a binding must name the evidence it was accepted on"},
    {"family_reorder_allowed", SETTING_UINT, AT(family_reorder_allowed), 0, 1,
     "1: a family may change the order in which a relative's funders pay (family order); 0: "
     "they pay in the order they were bound"},
    {"major_disease_codes", SETTING_PATH, AT(major_disease_codes_path), 0, 0,
     "file of the major-disease codes withdrawals may name, one per line; empty: any code"},
    {"wallet_sends_per_day", SETTING_UINT, AT(wallet_sends_per_day), 1, 1000,
     "wallet sends one holder may make in a business day (national default 3)"},
    {"wallet_send_max", SETTING_YUAN, AT(wallet_send_max_fen), 1, AMOUNT_FEN_MAX,
     "largest wallet send, yuan (national default 2000.00)"},
    {"wallet_quiet_start", SETTING_CLOCK, AT(wallet_quiet_start_min), 0, 0,
     "HH:MM business time from which no wallet send is taken (default 22:00)"},
    {"wallet_quiet_end", SETTING_CLOCK, AT(wallet_quiet_end_min), 0, 0,
     "HH:MM business time the quiet hours end (default 06:00); equal to the start: none"},
    {"wallet_return_time", SETTING_CLOCK, AT(wallet_return_min), 0, 0,
     "HH:MM business time on the day after a send when, unaccepted, it returns (06:00)"},
    {"wallet_requires_binding", SETTING_UINT, AT(wallet_requires_binding), 0, 1,
     "1: a holder sends only to a relative their account is bound to (default)"},
    {"hold_seconds_max", SETTING_UINT, AT(hold_seconds_max), 1, 86400,
     "longest a held quote may reserve its legs, seconds"},
    {"aid_monthly_limit_default", SETTING_YUAN, AT(aid_monthly_limit_default_fen), 0,
     AMOUNT_FEN_MAX, "what one relative may take from a holder's account in a month unless "
     "the family set a limit, yuan; 0: none"},
    {"aid_yearly_limit_default", SETTING_YUAN, AT(aid_yearly_limit_default_fen), 0,
     AMOUNT_FEN_MAX, "the same in a calendar year, yuan; 0: none"},
    {"stream_buffer_bytes", SETTING_UINT, AT(stream_buffer_bytes), 4096, 64u << 20,
     "change stream: entries read ahead of a subscriber that has not read them yet, bytes"},
    {"stream_stall_ms", SETTING_UINT, AT(stream_stall_ms), 100, 86400000,
     "change stream: a subscriber that reads nothing for this long while entries wait is told "
     "it fell behind and disconnected"},
};

#define SETTINGS_COUNT (sizeof(settings) / sizeof(settings[0]))

/* The settings a region may choose for its own insured (NAME@REGION), and whose region
 * decides each: docs/POLICY.md, "Regional policy". */
static const struct {
    const char *name;
    const char *whose;
} regional_settings[] = {
    {"bindings_per_holder_max", "the holder's"},
    {"bindings_per_beneficiary_max", "the beneficiary's"},
    {"binding_evidence_required", "the holder's"},
    {"family_reorder_allowed", "the beneficiary's"},
    {"wallet_sends_per_day", "the sending holder's"},
    {"wallet_send_max", "the sending holder's"},
    {"wallet_quiet_start", "the sending holder's"},
    {"wallet_quiet_end", "the sending holder's"},
    {"wallet_requires_binding", "the sending holder's"},
    {"aid_monthly_limit_default", "the holder's"},
    {"aid_yearly_limit_default", "the holder's"},
};

static bool setting_regional(const struct setting *setting)
{
    for (size_t i = 0; i < sizeof(regional_settings) / sizeof(regional_settings[0]); i++)
        if (strcmp(regional_settings[i].name, setting->name) == 0)
            return true;
    return false;
}

void config_init(struct config *config)
{
    memset(config, 0, sizeof(*config));
    strcpy(config->data_dir, "var/data");
    strcpy(config->socket_path, "var/famledgerd.sock");
    config->socket_mode = 0660;
    config->idle_timeout_ms = IDLE_TIMEOUT_MS_DEFAULT;
    config->shutdown_timeout_ms = SHUTDOWN_TIMEOUT_MS_DEFAULT;
    config->snapshot_max_seconds = SNAPSHOT_MAX_SECONDS_DEFAULT;
    config->map_mib = MAP_MIB_DEFAULT;
    config->map_mib_max = MAP_MIB_MAX_DEFAULT;
    config->frame_bytes_max = FRAME_BYTES_MAX_DEFAULT;
    config->connections_max = CONNECTIONS_MAX_DEFAULT;
    config->pipeline_max = PIPELINE_MAX_DEFAULT;
    config->unwritten_replies_mib_max = UNWRITTEN_REPLIES_MIB_MAX_DEFAULT;
    config->pending_requests_mib_max = PENDING_REQUESTS_MIB_MAX_DEFAULT;
    config->commit_batch_max = COMMIT_BATCH_MAX_DEFAULT;
    config->prefetch_threads = PREFETCH_THREADS_DEFAULT;
    config->state_sweep_ms = STATE_SWEEP_MS_DEFAULT;
    config->map_readahead = 0;
    for (int role = 0; role < ROLE_COUNT; role++) {
        config->role_uids[role].ids[0] = (uint32_t)geteuid();
        config->role_uids[role].count = 1;
    }
    config->log_level = LOG_LEVEL_INFO;
    config->bindings_per_holder_max = BINDINGS_PER_HOLDER_DEFAULT;
    config->bindings_per_beneficiary_max = BINDINGS_PER_BENEFICIARY_DEFAULT;
    strcpy(config->timezone, "Asia/Shanghai");
    config->clock_ahead_max_days = CLOCK_AHEAD_MAX_DAYS_DEFAULT;
    config->remote_settlement_provinces.all = true;
    config->family_reorder_allowed = 1;
    config->wallet_sends_per_day = WALLET_SENDS_PER_DAY_DEFAULT;
    config->wallet_send_max_fen = WALLET_SEND_MAX_FEN_DEFAULT;
    config->wallet_quiet_start_min = 22 * 60;
    config->wallet_quiet_end_min = 6 * 60;
    config->wallet_return_min = 6 * 60;
    config->wallet_requires_binding = 1;
    config->hold_seconds_max = HOLD_SECONDS_MAX_DEFAULT;
    config->stream_buffer_bytes = STREAM_BUFFER_BYTES_DEFAULT;
    config->stream_stall_ms = STREAM_STALL_MS_DEFAULT;
}

static int disease_compare(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The next line of a settings file into *line, grown as needed: a merchant_peers line or a
 * comment may be longer than any fixed buffer, and its rest must not be read as a line of its
 * own. A UTF-8 byte-order mark (Windows editors write one) is not part of the first line.
 * Returns false at the end of the file or on a read error (ferror tells which). */
static bool config_next_line(FILE *file, char **line, size_t *capacity, size_t line_no)
{
    if (getline(line, capacity, file) < 0)
        return false;
    static const char bom[] = "\xef\xbb\xbf";
    if (line_no == 1 && strncmp(*line, bom, 3) == 0)
        memmove(*line, *line + 3, strlen(*line + 3) + 1);
    return true;
}

int config_diseases_load(struct config *config, char *error, size_t error_bytes)
{
    if (!*config->major_disease_codes_path)
        return 0;
    FILE *file = fopen(config->major_disease_codes_path, "r");
    if (!file) {
        snprintf(error, error_bytes, "major_disease_codes: %s: %s",
                 config->major_disease_codes_path, strerror(errno));
        return -1;
    }
    struct config_diseases list = {NULL, 0};
    size_t capacity = 0, line_no = 0, line_capacity = 0;
    char *line = NULL;
    int rc = 0;
    while (rc == 0 && config_next_line(file, &line, &line_capacity, ++line_no)) {
        char *code = line + strspn(line, " \t");
        code[strcspn(code, "#\r\n")] = '\0';
        for (size_t end = strlen(code); end > 0 && isspace((unsigned char)code[end - 1]);)
            code[--end] = '\0';
        if (!*code)
            continue;
        bool printable = strlen(code) <= 64;
        for (const char *c = code; printable && *c; c++)
            printable = *c > 0x20 && *c < 0x7f;
        if (!printable) {
            snprintf(error, error_bytes, "major_disease_codes: %s:%zu: a code is 1 to 64 "
                     "printable characters", config->major_disease_codes_path, line_no);
            rc = -1;
        } else if (list.count == capacity) {
            capacity = capacity ? capacity * 2 : 128;
            char(*grown)[65] = realloc(list.codes, capacity * sizeof(*grown));
            if (!grown) {
                snprintf(error, error_bytes, "major_disease_codes: out of memory");
                rc = -1;
            } else {
                list.codes = grown;
            }
        }
        if (rc == 0)
            snprintf(list.codes[list.count++], sizeof(list.codes[0]), "%s", code);
    }
    if (rc == 0 && ferror(file)) {
        snprintf(error, error_bytes, "major_disease_codes: %s: %s",
                 config->major_disease_codes_path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(file);
    if (rc == 0 && list.count == 0) {
        snprintf(error, error_bytes, "major_disease_codes: %s lists no code",
                 config->major_disease_codes_path);
        rc = -1;
    }
    if (rc) {
        free(list.codes);
        return -1;
    }
    qsort(list.codes, list.count, sizeof(list.codes[0]), disease_compare);
    free(config->diseases.codes);
    config->diseases = list;
    return 0;
}

bool config_disease_listed(const struct config *config, const char *code)
{
    if (!*config->major_disease_codes_path)
        return true;
    return config->diseases.count &&
           bsearch(code, config->diseases.codes, config->diseases.count,
                   sizeof(config->diseases.codes[0]), disease_compare) != NULL;
}

static const struct setting *setting_find(const char *name)
{
    char canonical[64];
    size_t length = strlen(name);
    if (length >= sizeof(canonical))
        return NULL;
    for (size_t i = 0; i <= length; i++)
        canonical[i] = name[i] == '-' ? '_' : name[i];
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        if (strcmp(settings[i].name, canonical) == 0)
            return &settings[i];
    return NULL;
}

/* "2000", "2000.5" or "2000.50" yuan -> fen; no sign, at most two decimals. */
static int parse_yuan(const char *text, uint64_t *fen)
{
    uint64_t yuan = 0, cents = 0;
    const char *p = text;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (yuan > (uint64_t)AMOUNT_FEN_MAX / 100)
            return -1;
        yuan = yuan * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        for (int digits = 0; digits < 2; digits++)
            cents = cents * 10 + (uint64_t)(isdigit((unsigned char)*p) ? *p++ - '0' : 0);
        if (p[-1] == '.')
            return -1;
    }
    *fen = yuan * 100 + cents;
    return *p ? -1 : 0;
}

/* "HH:MM" -> minutes after midnight. */
static int parse_clock(const char *text, uint64_t *minutes)
{
    if (strlen(text) != 5 || !isdigit((unsigned char)text[0]) ||
        !isdigit((unsigned char)text[1]) || text[2] != ':' || !isdigit((unsigned char)text[3]) ||
        !isdigit((unsigned char)text[4]))
        return -1;
    uint64_t hours = (uint64_t)(text[0] - '0') * 10 + (uint64_t)(text[1] - '0');
    uint64_t mins = (uint64_t)(text[3] - '0') * 10 + (uint64_t)(text[4] - '0');
    if (hours > 23 || mins > 59)
        return -1;
    *minutes = hours * 60 + mins;
    return 0;
}

static int parse_uint(const char *text, int base, uint64_t *value)
{
    if (!*text || !isdigit((unsigned char)*text))
        return -1;
    errno = 0;
    char *end;
    unsigned long long parsed = strtoull(text, &end, base);
    if (errno || *end)
        return -1;
    *value = parsed;
    return 0;
}

/* A user or group named in a list of uids or gids (kind 'u' or 'g'); other lists are numeric. */
static int resolve_id(const char *name, char kind, uint64_t *id)
{
    if (kind == 'u') {
        const struct passwd *user = getpwnam(name);
        if (user)
            *id = user->pw_uid;
        return user ? 0 : -1;
    }
    if (kind == 'g') {
        const struct group *group = getgrnam(name);
        if (group)
            *id = group->gr_gid;
        return group ? 0 : -1;
    }
    return -1;
}

/* 'u' for a list of uids (admin_uids), 'g' for gids, 0 for numbers (province codes). */
static char ids_kind(const char *setting_name)
{
    size_t length = strlen(setting_name);
    if (length > 5 && strcmp(setting_name + length - 5, "_uids") == 0)
        return 'u';
    if (length > 5 && strcmp(setting_name + length - 5, "_gids") == 0)
        return 'g';
    return 0;
}

/* A list of ids; -1 when it is not one, or, with the name in `unknown`, when a name it holds
 * resolves to no user or group here. */
static int parse_ids(const char *text, struct config_ids *ids, char kind, char unknown[64])
{
    unknown[0] = '\0';
    struct config_ids parsed = {.count = 0};
    if (strcmp(text, "all") == 0 || strcmp(text, "*") == 0) {
        *ids = (struct config_ids){.all = true};
        return 0;
    }
    char copy[1024];
    if (strlen(text) >= sizeof(copy))
        return -1;
    strcpy(copy, text);
    char *save = NULL;
    for (char *item = strtok_r(copy, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        uint64_t id;
        if (parsed.count == CONFIG_IDS_MAX)
            return -1;
        if (parse_uint(item, 10, &id) && resolve_id(item, kind, &id)) {
            if (kind)
                snprintf(unknown, 64, "%s", item);
            return -1;
        }
        if (id > UINT32_MAX)
            return -1;
        parsed.ids[parsed.count++] = (uint32_t)id;
    }
    *ids = parsed;
    return 0;
}

static bool merchant_code_valid(const char *code)
{
    size_t length = strlen(code);
    if (length == 0 || length >= CONFIG_MERCHANT_CODE_BYTES)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)code[i]))
            return false;
    return true;
}

/* One entry: "uid:1001=P1,P2" or "gid:2001=H1". */
static int parse_merchant_peer(char *text, struct config_merchant_peer *peer)
{
    *peer = (struct config_merchant_peer){0};
    char *equals = strchr(text, '=');
    uint64_t id;
    if (!equals || (strncmp(text, "uid:", 4) != 0 && strncmp(text, "gid:", 4) != 0))
        return -1;
    *equals = '\0';
    peer->is_group = text[0] == 'g';
    if (parse_uint(text + 4, 10, &id) || id > UINT32_MAX)
        return -1;
    peer->id = (uint32_t)id;
    char *save = NULL;
    for (char *code = strtok_r(equals + 1, ", ", &save); code; code = strtok_r(NULL, ", ", &save)) {
        if (peer->count == CONFIG_PEER_MERCHANTS_MAX || !merchant_code_valid(code))
            return -1;
        strcpy(peer->codes[peer->count++], code);
    }
    return peer->count > 0 ? 0 : -1;
}

static int parse_merchant_peers(const char *text, struct config_merchant_peers *peers)
{
    static struct config_merchant_peers parsed;
    char copy[4096];
    if (strlen(text) >= sizeof(copy))
        return -1;
    strcpy(copy, text);
    parsed.count = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        while (isspace((unsigned char)*item))
            item++;
        if (!*item)
            continue;
        if (parsed.count == CONFIG_MERCHANT_PEERS_MAX ||
            parse_merchant_peer(item, &parsed.peers[parsed.count]))
            return -1;
        parsed.count++;
    }
    *peers = parsed;
    return 0;
}

/* The value of a setting held as a uint64_t (a number, yuan, a time of day): 0, or -1 with
 * the setting named in error[] as `label` (its name, or NAME@REGION). */
static int setting_number(const struct setting *setting, const char *label, const char *value,
                          uint64_t *number, char *error, size_t error_bytes)
{
    switch (setting->kind) {
    case SETTING_UINT:
        if (parse_uint(value, 10, number) || *number < setting->min || *number > setting->max) {
            snprintf(error, error_bytes, "%s: '%s' is not a whole number from %" PRIu64
                     " to %" PRIu64, label, value, setting->min, setting->max);
            return -1;
        }
        return 0;
    case SETTING_YUAN:
        if (parse_yuan(value, number) || *number < setting->min || *number > setting->max) {
            snprintf(error, error_bytes, "%s: '%s' is not an amount of yuan from %" PRIu64
                     ".%02" PRIu64 " to %" PRIu64 ".00", label, value,
                     setting->min / 100, setting->min % 100, setting->max / 100);
            return -1;
        }
        return 0;
    case SETTING_CLOCK:
        if (parse_clock(value, number)) {
            snprintf(error, error_bytes, "%s: '%s' is not a time of day HH:MM", label, value);
            return -1;
        }
        return 0;
    default:
        snprintf(error, error_bytes, "%s is not a number", label);
        return -1;
    }
}

/* NAME@REGION = VALUE: the setting for the insured of one province, prefecture or county.
 * Set again for the same region, the later value wins, as flags win over the file. */
static int config_set_regional(struct config *config, const char *name, const char *value,
                               char *error, size_t error_bytes)
{
    const char *at = strchr(name, '@');
    char base[64];
    snprintf(base, sizeof(base), "%.*s", (int)(at - name), name);
    const struct setting *setting = setting_find(base);
    if (!setting) {
        snprintf(error, error_bytes, "unknown setting '%s'", base);
        return -1;
    }
    if (!setting_regional(setting)) {
        snprintf(error, error_bytes, "%s is the same for every region: only the family and "
                 "wallet policies may be set NAME@REGION (docs/POLICY.md)", setting->name);
        return -1;
    }
    const char *region = at + 1;
    size_t digits = strspn(region, "0123456789");
    if (region[digits] != '\0' || (digits != 2 && digits != 4 && digits != 6)) {
        snprintf(error, error_bytes, "%s@%s: a region is 2, 4 or 6 digits of an admdvs code "
                 "(a province, a prefecture, a county)", setting->name, region);
        return -1;
    }
    char label[96];
    snprintf(label, sizeof(label), "%s@%s", setting->name, region);
    uint64_t number;
    if (setting_number(setting, label, value, &number, error, error_bytes))
        return -1;
    struct config_regional *slot = NULL;
    for (unsigned i = 0; i < config->regional_count && !slot; i++)
        if (config->regional[i].offset == setting->offset &&
            strcmp(config->regional[i].prefix, region) == 0)
            slot = &config->regional[i];
    if (!slot) {
        if (config->regional_count == CONFIG_REGIONAL_MAX) {
            snprintf(error, error_bytes, "%s: at most %d regional settings", label,
                     CONFIG_REGIONAL_MAX);
            return -1;
        }
        slot = &config->regional[config->regional_count++];
        *slot = (struct config_regional){.offset = (uint32_t)setting->offset,
                                         .digits = (uint32_t)digits};
        memcpy(slot->prefix, region, digits + 1);
    }
    slot->value = number;
    return 0;
}

uint64_t config_regional_value(const struct config *config, size_t offset, const char *region)
{
    uint64_t value;
    memcpy(&value, (const char *)config + offset, sizeof(value));
    uint32_t longest = 0;
    for (unsigned i = 0; i < config->regional_count; i++) {
        const struct config_regional *regional = &config->regional[i];
        if (regional->offset == offset && regional->digits > longest &&
            strncmp(region, regional->prefix, regional->digits) == 0) {
            longest = regional->digits;
            value = regional->value;
        }
    }
    return value;
}

int config_set(struct config *config, const char *name, const char *value, char *error,
               size_t error_bytes)
{
    if (strchr(name, '@'))
        return config_set_regional(config, name, value, error, error_bytes);
    const struct setting *setting = setting_find(name);
    if (!setting) {
        snprintf(error, error_bytes, "unknown setting '%s'", name);
        return -1;
    }
    char *field = (char *)config + setting->offset;
    uint64_t number;
    switch (setting->kind) {
    case SETTING_PATH:
    case SETTING_SOCKET_PATH: {
        size_t capacity = setting->kind == SETTING_PATH ? CONFIG_PATH_BYTES
                                                         : CONFIG_SOCKET_PATH_BYTES;
        if (strlen(value) < setting->min || strlen(value) >= capacity) {
            snprintf(error, error_bytes, "%s: path must be %" PRIu64 " to %zu bytes",
                     setting->name, setting->min, capacity - 1);
            return -1;
        }
        strcpy(field, value);
        return 0;
    }
    case SETTING_UINT:
    case SETTING_YUAN:
    case SETTING_CLOCK:
        if (setting_number(setting, setting->name, value, &number, error, error_bytes))
            return -1;
        memcpy(field, &number, sizeof(number));
        return 0;
    case SETTING_MODE:
        if (parse_uint(value, 8, &number) || number > 0777) {
            snprintf(error, error_bytes, "%s: '%s' is not an octal file mode", setting->name,
                     value);
            return -1;
        }
        *(uint32_t *)(void *)field = (uint32_t)number;
        return 0;
    case SETTING_IDS: {
        char unknown[64];
        const char kind = ids_kind(setting->name);
        if (parse_ids(value, (struct config_ids *)(void *)field, kind, unknown) == 0)
            return 0;
        if (unknown[0])
            snprintf(error, error_bytes, "%s: there is no %s named '%s' on this machine (create "
                     "it, or name a number)", setting->name, kind == 'u' ? "user" : "group",
                     unknown);
        else
            snprintf(error, error_bytes, "%s: '%s' is not a list of at most %d %s",
                     setting->name, value, CONFIG_IDS_MAX,
                     kind == 'u'   ? "uids or user names"
                     : kind == 'g' ? "gids or group names"
                                   : "numbers");
        return -1;
    }
    case SETTING_TEXT:
        if (strlen(value) >= CONFIG_SOCKET_PATH_BYTES) {
            snprintf(error, error_bytes, "%s: at most %d bytes", setting->name,
                     CONFIG_SOCKET_PATH_BYTES - 1);
            return -1;
        }
        strcpy(field, value);
        return 0;
    case SETTING_MERCHANT_PEERS:
        if (parse_merchant_peers(value, (struct config_merchant_peers *)(void *)field)) {
            snprintf(error, error_bytes, "%s: '%s' is not a list like 'uid:1001=P1,P2; "
                     "gid:2001=H1' (at most %d entries of %d merchant codes)", setting->name,
                     value, CONFIG_MERCHANT_PEERS_MAX, CONFIG_PEER_MERCHANTS_MAX);
            return -1;
        }
        return 0;
    case SETTING_LOG_LEVEL:
        if (log_level_parse(value, (enum log_level *)(void *)field)) {
            snprintf(error, error_bytes, "%s: '%s' is not error, warn, info or debug",
                     setting->name, value);
            return -1;
        }
        return 0;
    }
    return -1;
}

static char *trim(char *text)
{
    while (isspace((unsigned char)*text))
        text++;
    char *end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return text;
}

int config_load_file(struct config *config, const char *path, char *error, size_t error_bytes)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        snprintf(error, error_bytes, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t capacity = 0, line_no = 0;
    int rc = 0;
    while (rc == 0 && config_next_line(file, &line, &capacity, ++line_no)) {
        char *comment = strchr(line, '#');
        if (comment)
            *comment = '\0';
        char *text = trim(line);
        if (!*text)
            continue;
        char *equals = strchr(text, '=');
        char message[512];
        if (!equals) {
            snprintf(error, error_bytes, "%s:%zu: expected 'key = value'", path, line_no);
            rc = -1;
            break;
        }
        *equals = '\0';
        if (config_set(config, trim(text), trim(equals + 1), message, sizeof(message))) {
            snprintf(error, error_bytes, "%s:%zu: %s", path, line_no, message);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(file)) {
        snprintf(error, error_bytes, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(file);
    return rc;
}

bool config_zone_known(const char *name)
{
    char zone_file[CONFIG_PATH_BYTES + 32];
    if (strlen(name) >= CONFIG_PATH_BYTES || strstr(name, ".."))
        return false;
    snprintf(zone_file, sizeof(zone_file), "/usr/share/zoneinfo/%s", name);
    return access(zone_file, R_OK) == 0;
}

int config_validate(const struct config *config, char *error, size_t error_bytes)
{
    if (!config_zone_known(config->timezone)) {
        snprintf(error, error_bytes, "timezone: '%s' is not a known time zone (tzdata)",
                 config->timezone);
        return -1;
    }
    struct sockaddr_storage address;
    socklen_t address_bytes;
    if (config->metrics_listen[0] &&
        metrics_http_address(config->metrics_listen, &address, &address_bytes, error,
                             error_bytes) != 0)
        return -1;
    if (config->map_mib > config->map_mib_max) {
        snprintf(error, error_bytes, "map_mib (%" PRIu64 ") exceeds map_mib_max (%" PRIu64 ")",
                 config->map_mib, config->map_mib_max);
        return -1;
    }
    return 0;
}

static void ids_print(const struct config_ids *ids, FILE *out)
{
    if (ids->all)
        fputs("all", out);
    for (unsigned i = 0; i < ids->count; i++)
        fprintf(out, "%s%" PRIu32, i ? "," : "", ids->ids[i]);
}

static void merchant_peers_print(const struct config_merchant_peers *peers, FILE *out)
{
    for (unsigned i = 0; i < peers->count; i++) {
        const struct config_merchant_peer *peer = &peers->peers[i];
        fprintf(out, "%s%s:%" PRIu32 "=", i ? "; " : "", peer->is_group ? "gid" : "uid",
                peer->id);
        for (unsigned j = 0; j < peer->count; j++)
            fprintf(out, "%s%s", j ? "," : "", peer->codes[j]);
    }
}

/* A setting held as a uint64_t, as the file writes it. */
static void number_print(const struct setting *setting, uint64_t number, FILE *out)
{
    if (setting->kind == SETTING_YUAN)
        fprintf(out, "%" PRIu64 ".%02" PRIu64, number / 100, number % 100);
    else if (setting->kind == SETTING_CLOCK)
        fprintf(out, "%02" PRIu64 ":%02" PRIu64, number / 60, number % 60);
    else
        fprintf(out, "%" PRIu64, number);
}

static void regional_print(const struct config *config, const struct setting *setting,
                           FILE *out)
{
    for (unsigned i = 0; i < config->regional_count; i++) {
        const struct config_regional *regional = &config->regional[i];
        if (regional->offset != setting->offset)
            continue;
        fprintf(out, "%s@%s = ", setting->name, regional->prefix);
        number_print(setting, regional->value, out);
        fputc('\n', out);
    }
}

void config_print(const struct config *config, FILE *out)
{
    static const char *const level_names[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const struct setting *setting = &settings[i];
        const char *field = (const char *)config + setting->offset;
        fprintf(out, "%s = ", setting->name);
        switch (setting->kind) {
        case SETTING_PATH:
        case SETTING_SOCKET_PATH:
        case SETTING_TEXT:
            fputs(field, out);
            break;
        case SETTING_MERCHANT_PEERS:
            merchant_peers_print((const struct config_merchant_peers *)(const void *)field, out);
            break;
        case SETTING_UINT:
        case SETTING_YUAN:
        case SETTING_CLOCK: {
            uint64_t number;
            memcpy(&number, field, sizeof(number));
            number_print(setting, number, out);
            break;
        }
        case SETTING_MODE:
            fprintf(out, "%04" PRIo32, *(const uint32_t *)(const void *)field);
            break;
        case SETTING_IDS:
            ids_print((const struct config_ids *)(const void *)field, out);
            break;
        case SETTING_LOG_LEVEL:
            fputs(level_names[*(const enum log_level *)(const void *)field], out);
            break;
        }
        fputc('\n', out);
        regional_print(config, setting, out);
    }
}

void config_print_usage(FILE *out)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        char flag[64];
        size_t j = 0;
        for (; j < sizeof(flag) - 1 && settings[i].name[j]; j++)
            flag[j] = settings[i].name[j] == '_' ? '-' : settings[i].name[j];
        flag[j] = '\0';
        fprintf(out, "  --%-20s %s\n", flag, settings[i].help);
    }
    fputs("\nregional settings: a region may choose its own (--NAME@REGION VALUE, or\n"
          "NAME@REGION = VALUE in the file; REGION a province, prefecture or county of 2, 4\n"
          "or 6 admdvs digits, the longest that matches winning):\n", out);
    for (size_t i = 0; i < sizeof(regional_settings) / sizeof(regional_settings[0]); i++)
        fprintf(out, "  %-30s by %s region\n", regional_settings[i].name,
                regional_settings[i].whose);
}

bool config_ids_contain(const struct config_ids *ids, uint32_t id)
{
    if (ids->all)
        return true;
    for (unsigned i = 0; i < ids->count; i++)
        if (ids->ids[i] == id)
            return true;
    return false;
}

static bool ids_contain_any(const struct config_ids *ids, const uint32_t *gids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (config_ids_contain(ids, gids[i]))
            return true;
    return false;
}

static bool gids_contain(const uint32_t *gids, size_t count, uint32_t gid)
{
    for (size_t i = 0; i < count; i++)
        if (gids[i] == gid)
            return true;
    return false;
}

void config_peer_resolve(const struct config *config, uint32_t uid, const uint32_t *gids,
                         size_t gid_count, struct peer *peer)
{
    *peer = (struct peer){.uid = uid, .gid = gid_count ? gids[0] : UINT32_MAX};
    for (int role = 0; role < ROLE_COUNT; role++)
        if (config_ids_contain(&config->role_uids[role], uid) ||
            ids_contain_any(&config->role_gids[role], gids, gid_count))
            peer->roles |= ROLE_BIT(role);
    for (unsigned i = 0; i < config->merchant_peers.count; i++) {
        const struct config_merchant_peer *entry = &config->merchant_peers.peers[i];
        if (entry->is_group ? gids_contain(gids, gid_count, entry->id) : entry->id == uid)
            peer->merchant_entries |= UINT64_C(1) << i;
    }
}

bool config_peer_may_act_for(const struct config *config, const struct peer *peer,
                             const char *code)
{
    if (peer->roles & ROLE_BIT(ROLE_ADMIN))
        return true;
    for (unsigned i = 0; i < config->merchant_peers.count; i++) {
        if (!(peer->merchant_entries & (UINT64_C(1) << i)))
            continue;
        const struct config_merchant_peer *entry = &config->merchant_peers.peers[i];
        for (unsigned j = 0; j < entry->count; j++)
            if (strcmp(entry->codes[j], code) == 0)
                return true;
    }
    return false;
}
