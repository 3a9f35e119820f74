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
};

struct config {
    char data_dir[CONFIG_PATH_BYTES];
    char socket_path[CONFIG_SOCKET_PATH_BYTES];
    uint32_t socket_mode;
    uint64_t map_mib;
    uint64_t map_mib_max;
    uint64_t frame_bytes_max;
    uint64_t connections_max;
    uint64_t pipeline_max;
    uint64_t commit_batch_max;
    struct config_ids role_uids[ROLE_COUNT];
    struct config_ids role_gids[ROLE_COUNT];
    enum log_level log_level;
    /* Family mutual aid policy. */
    uint64_t bindings_per_holder_max;
    uint64_t bindings_per_beneficiary_max;
    struct config_ids cross_province;              /* provinces that bind across provinces */
    struct config_ids commercial_insurance_provinces; /* where mutual aid may pay it */
    struct config_ids long_term_care_provinces;
    char timezone[CONFIG_PATH_BYTES];          /* business days for exports and reconciling */
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

/* Check relations between settings. Returns 0, or -1 with a message in error[]. */
int config_validate(const struct config *config, char *error, size_t error_bytes);

/* Print every setting in config-file syntax. */
void config_print(const struct config *config, FILE *out);

/* Print the list of settings with their help text, as flags. */
void config_print_usage(FILE *out);

/* Whether `ids` lists `id`. */
bool config_ids_contain(const struct config_ids *ids, uint32_t id);

/* The roles a peer with these credentials holds, as ROLE_BIT()s. */
unsigned config_peer_roles(const struct config *config, uint32_t uid, uint32_t gid);

#endif
