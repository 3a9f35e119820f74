/* config.h -- famledgerd's settings: defaults, config file, command-line flags. */
#ifndef FAMLEDGER_CONFIG_H
#define FAMLEDGER_CONFIG_H

#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_IDS_MAX 32
#define CONFIG_PATH_BYTES 4096
#define CONFIG_SOCKET_PATH_BYTES 108 /* sizeof(sockaddr_un.sun_path) */

enum role { ROLE_ADMIN, ROLE_SETTLE, ROLE_AUDIT, ROLE_COUNT };
#define ROLE_BIT(role) (1u << (role))

struct config_ids {
    uint32_t ids[CONFIG_IDS_MAX];
    unsigned count;
    bool all;        /* "all": every id */
};

/* The listed major diseases (major_disease_codes), sorted; none loaded: any code. */
struct config_diseases {
    char (*codes)[65];
    size_t count;
};

/* merchant_peers: which settle-role peers may act for which merchants. */
#define CONFIG_MERCHANT_PEERS_MAX 64
#define CONFIG_PEER_MERCHANTS_MAX 16
#define CONFIG_MERCHANT_CODE_BYTES 33

struct config_merchant_peer {
    bool is_group;  /* id is a gid (primary or supplementary), else a uid */
    uint32_t id;
    unsigned count;
    char codes[CONFIG_PEER_MERCHANTS_MAX][CONFIG_MERCHANT_CODE_BYTES];
};

struct config_merchant_peers {
    unsigned count;
    struct config_merchant_peer peers[CONFIG_MERCHANT_PEERS_MAX];
};
_Static_assert(CONFIG_MERCHANT_PEERS_MAX <= 64, "a peer's matching entries are a 64-bit mask");

/* A setting a region chose for its own insured: NAME@REGION in the file, --NAME@REGION as a
 * flag. REGION is a province (2 digits), a prefecture (4) or a county (6) of the admdvs code;
 * the longest that a person's region starts with wins, else the setting itself. */
#define CONFIG_REGIONAL_MAX 512
struct config_regional {
    uint32_t offset;  /* the setting's uint64_t field in struct config */
    uint32_t digits;  /* 2, 4 or 6 */
    char prefix[8];
    uint64_t value;
};

/* Who is at the other end of a connection, resolved once when it connects. */
#define PEER_GROUPS_MAX 64
struct peer {
    uint32_t uid;
    uint32_t gid;                 /* primary */
    unsigned roles;               /* ROLE_BIT()s */
    uint64_t merchant_entries;    /* bit i: merchant_peers entry i names this peer */
};

struct config {
    char data_dir[CONFIG_PATH_BYTES];
    char socket_path[CONFIG_SOCKET_PATH_BYTES];
    uint32_t socket_mode;
    char socket_group[CONFIG_SOCKET_PATH_BYTES];   /* empty: the daemon's own group */
    char metrics_listen[CONFIG_SOCKET_PATH_BYTES]; /* HOST:PORT of the metrics listener; empty: off */
    uint64_t idle_timeout_ms;
    uint64_t snapshot_max_seconds; /* 0: an audit snapshot may stay open for ever */
    uint64_t shutdown_timeout_ms;
    uint64_t map_mib;
    uint64_t map_mib_max;
    uint64_t frame_bytes_max;
    uint64_t connections_max;
    uint64_t pipeline_max;
    uint64_t commit_batch_max;
    uint64_t prefetch_threads;
    uint64_t state_sweep_ms; /* accounts and references kept in memory and swept back over
                              * this long (store_defer_state); 0: written at each commit */
    uint64_t map_readahead;  /* 1: read around page faults in data.mdb; 0 (default): just the
                              * page, and walks read ahead themselves */
    struct config_ids role_uids[ROLE_COUNT];
    struct config_ids role_gids[ROLE_COUNT];
    struct config_merchant_peers merchant_peers;
    enum log_level log_level;
    /* Family mutual aid policy. */
    uint64_t bindings_per_holder_max;
    uint64_t bindings_per_beneficiary_max;
    struct config_ids cross_province;              /* provinces that bind across provinces */
    struct config_ids commercial_insurance_provinces; /* where mutual aid may pay it */
    struct config_ids long_term_care_provinces;
    struct config_ids remote_settlement_provinces; /* patients who may settle elsewhere */
    uint64_t binding_evidence_required;            /* 1: every bind names its evidence */
    uint64_t family_reorder_allowed;               /* 1: `family order` may reorder funders */
    char major_disease_codes_path[CONFIG_PATH_BYTES]; /* empty: any disease code */
    struct config_diseases diseases;               /* loaded by config_diseases_load */
    char timezone[CONFIG_PATH_BYTES];          /* business days for exports and reconciling */
    uint64_t clock_ahead_max_days;             /* wall clock past the last entry; 0: no limit */
    /* The wallet (医保钱包): national defaults, settings because regions differ. */
    uint64_t wallet_sends_per_day;
    uint64_t wallet_send_max_fen;
    uint64_t wallet_quiet_start_min;           /* minutes after midnight, business time */
    uint64_t wallet_quiet_end_min;             /* equal to the start: no quiet hours */
    uint64_t wallet_return_min;                /* on the day after a send */
    uint64_t wallet_requires_binding;          /* 1: sends only along a binding */
    uint64_t hold_seconds_max;
    uint64_t aid_monthly_limit_default_fen;    /* 0: none */
    uint64_t aid_yearly_limit_default_fen;
    uint64_t unwritten_replies_mib_max;        /* all connections' replies not yet written */
    uint64_t pending_requests_mib_max;         /* all connections' requests not yet answered */
    /* The change stream. */
    uint64_t stream_buffer_bytes;
    uint64_t stream_stall_ms;
    /* Regional settings (config_regional_value), in the order they were set. */
    unsigned regional_count;
    struct config_regional regional[CONFIG_REGIONAL_MAX];
};

/* Fill in the embedded defaults: data and socket under ./var, every role for our own uid. */
void config_init(struct config *config);

/* Set one setting by name ("map_mib", or the flag spelling "map-mib"). Returns 0, or -1 with a
 * message in error[] naming the setting and what is wrong. */
int config_set(struct config *config, const char *name, const char *value, char *error,
               size_t error_bytes);

/* Read `key = value` lines ('#' starts a comment). Returns 0, or -1 with "FILE:LINE: ..." in
 * error[]. */
int config_load_file(struct config *config, const char *path, char *error, size_t error_bytes);

/* Whether `name` is a time zone of tzdata (a file under /usr/share/zoneinfo, no ".."). */
bool config_zone_known(const char *name);

/* Check relations between settings. Returns 0, or -1 with a message in error[]. */
int config_validate(const struct config *config, char *error, size_t error_bytes);

/* Print every setting in config-file syntax. */
void config_print(const struct config *config, FILE *out);

/* Print the list of settings with their help text, as flags. */
void config_print_usage(FILE *out);

/* Load the major-disease list named by major_disease_codes: one code per line, '#' comments.
 * Returns 0 (nothing to load without a path), or -1 with a message in error[]. */
int config_diseases_load(struct config *config, char *error, size_t error_bytes);

/* Whether withdrawals may name `code` as a major disease: listed, or no list configured. */
bool config_disease_listed(const struct config *config, const char *code);

/* A regional setting's value for a person of `region` (6 digits): what NAME@REGION set for
 * the longest prefix of it, else the setting itself. CONFIG_REGIONAL names the field. */
uint64_t config_regional_value(const struct config *config, size_t offset, const char *region);
#define CONFIG_REGIONAL(settings, field, region)                                                \
    config_regional_value((settings),                                                           \
                          offsetof(struct config, field) + CONFIG_U64_FIELD(settings, field),   \
                          (region))
/* 0, and a compile error (an array of negative size) for a field that is not a uint64_t. */
#define CONFIG_U64_FIELD(settings, field)                                                       \
    (0 * sizeof(char[sizeof((settings)->field) == sizeof(uint64_t) ? 1 : -1]))

/* Whether `ids` lists `id` (or is "all"). */
bool config_ids_contain(const struct config_ids *ids, uint32_t id);

/* Resolve a peer's roles and merchants from its uid and groups (the primary gid first, then any
 * supplementary ones: a role or merchant granted to any of its groups is the peer's). */
void config_peer_resolve(const struct config *config, uint32_t uid, const uint32_t *gids,
                         size_t gid_count, struct peer *peer);

/* Whether `peer` may act for merchant `code`: an admin for any merchant, a settle peer for
 * those merchant_peers maps it to. */
bool config_peer_may_act_for(const struct config *config, const struct peer *peer,
                             const char *code);

#endif
