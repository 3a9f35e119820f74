/* test_config.c -- settings from defaults, files and flags; roles from peer credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned peer_roles(const struct config *config, uint32_t uid, uint32_t gid)
{
    struct peer peer;
    config_peer_resolve(config, uid, &gid, 1, &peer);
    return peer.roles;
}

static void test_a_supplementary_group_grants_its_role(void **state)
{
    (void)state;
    struct config config;
    char error[256];
    config_init(&config);
    assert_int_equal(config_set(&config, "audit_gids", "300", error, sizeof(error)), 0);
    const uint32_t gids[] = {100, 200, 300};
    struct peer peer;
    config_peer_resolve(&config, 5000, gids, 3, &peer);
    assert_int_equal(peer.roles, ROLE_BIT(ROLE_AUDIT));
    config_peer_resolve(&config, 5000, gids, 2, &peer);
    assert_int_equal(peer.roles, 0);
}

static void test_merchant_peers_bind_a_settle_peer_to_its_merchants_only(void **state)
{
    (void)state;
    struct config config;
    char error[256];
    config_init(&config);
    assert_int_equal(config_set(&config, "settle_uids", "1001,1002", error, sizeof(error)), 0);
    assert_int_equal(config_set(&config, "merchant_peers", "uid:1001=P1,P2; gid:77=H1", error,
                                sizeof(error)), 0);
    struct peer peer;
    uint32_t gid = 10;
    config_peer_resolve(&config, 1001, &gid, 1, &peer);
    assert_true(config_peer_may_act_for(&config, &peer, "P1"));
    assert_true(config_peer_may_act_for(&config, &peer, "P2"));
    assert_false(config_peer_may_act_for(&config, &peer, "H1"));
    const uint32_t gids[] = {10, 77};
    config_peer_resolve(&config, 1002, gids, 2, &peer);
    assert_true(config_peer_may_act_for(&config, &peer, "H1"));
    assert_false(config_peer_may_act_for(&config, &peer, "P1"));
    /* Our own uid is admin by default: it may act for any merchant. */
    config_peer_resolve(&config, (uint32_t)geteuid(), &gid, 1, &peer);
    assert_true(config_peer_may_act_for(&config, &peer, "ANY"));
    /* Malformed lists are refused whole. */
    assert_int_equal(config_set(&config, "merchant_peers", "uid:x=P1", error, sizeof(error)), -1);
    assert_int_equal(config_set(&config, "merchant_peers", "uid:1=", error, sizeof(error)), -1);
    assert_int_equal(config_set(&config, "merchant_peers", "pid:1=P1", error, sizeof(error)), -1);
    assert_int_equal(config_set(&config, "merchant_peers", "uid:1=P-1", error, sizeof(error)), -1);
}

static void test_defaults_put_everything_under_var_and_give_our_uid_every_role(void **state)
{
    (void)state;
    struct config config;
    config_init(&config);
    assert_string_equal(config.data_dir, "var/data");
    assert_string_equal(config.socket_path, "var/famledgerd.sock");
    assert_int_equal(config.socket_mode, 0660);
    assert_int_equal(config.state_sweep_ms, 5000);
    unsigned all = ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_SETTLE) | ROLE_BIT(ROLE_AUDIT);
    assert_int_equal(peer_roles(&config, (uint32_t)geteuid(), 12345), all);
    assert_int_equal(peer_roles(&config, (uint32_t)geteuid() + 1, 12345), 0);
}

static void test_flag_spelling_and_file_spelling_set_the_same_setting(void **state)
{
    (void)state;
    struct config config;
    char error[256];
    config_init(&config);
    assert_int_equal(config_set(&config, "map-mib", "128", error, sizeof(error)), 0);
    assert_int_equal(config.map_mib, 128);
    assert_int_equal(config_set(&config, "map_mib", "256", error, sizeof(error)), 0);
    assert_int_equal(config.map_mib, 256);
}

static void test_bad_values_are_refused_with_the_setting_named(void **state)
{
    (void)state;
    struct config config;
    char error[256];
    config_init(&config);
    assert_int_equal(config_set(&config, "pipeline_max", "0", error, sizeof(error)), -1);
    assert_non_null(strstr(error, "pipeline_max"));
    assert_int_equal(config_set(&config, "frame_bytes_max", "12x", error, sizeof(error)), -1);
    assert_int_equal(config_set(&config, "socket_mode", "999", error, sizeof(error)), -1);
    assert_int_equal(config_set(&config, "log_level", "loud", error, sizeof(error)), -1);
    assert_int_equal(config_set(&config, "no_such_thing", "1", error, sizeof(error)), -1);
    assert_non_null(strstr(error, "unknown setting"));
    assert_int_equal(config_set(&config, "map_mib", "100", error, sizeof(error)), 0);
    assert_int_equal(config_set(&config, "map_mib_max", "50", error, sizeof(error)), 0);
    assert_int_equal(config_validate(&config, error, sizeof(error)), -1);
}

/* The packaged config names the service user (admin_uids = 0, famledger): names resolve to
 * ids when the config is read; a name that is no user is refused, naming the setting. */
static void test_roles_may_name_users_and_groups(void **state)
{
    (void)state;
    struct config config;
    config_init(&config);
    char error[256];
    assert_int_equal(config_set(&config, "admin_uids", "root, 1001", error, sizeof(error)), 0);
    assert_int_equal(config.role_uids[ROLE_ADMIN].count, 2);
    assert_int_equal(config.role_uids[ROLE_ADMIN].ids[0], 0);
    assert_int_equal(config.role_uids[ROLE_ADMIN].ids[1], 1001);
    assert_int_equal(config_set(&config, "audit_gids", "root", error, sizeof(error)), 0);
    assert_int_equal(config.role_gids[ROLE_AUDIT].ids[0], 0);
    assert_int_equal(config_set(&config, "settle_uids", "no-such-user-here", error,
                                sizeof(error)), -1);
    assert_non_null(strstr(error, "settle_uids: there is no user named 'no-such-user-here'"));
    assert_int_equal(config_set(&config, "audit_gids", "0, no-such-group-here", error,
                                sizeof(error)), -1);
    assert_non_null(strstr(error, "no group named 'no-such-group-here'"));
    assert_int_equal(config_set(&config, "settle_uids", "1001, 4294967296", error,
                                sizeof(error)), -1);
    assert_non_null(strstr(error, "uids or user names"));
    /* Province lists stay numeric. */
    assert_int_equal(config_set(&config, "cross_province", "root", error, sizeof(error)), -1);
}

static void test_file_sets_roles_and_reports_the_bad_line(void **state)
{
    (void)state;
    char path[] = "/tmp/famledger-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    fputs("# roles\nsettle_uids = 1001, 1002\naudit_gids = 50\n\nsocket = /run/x.sock # here\n",
          file);
    fclose(file);
    struct config config;
    char error[256];
    config_init(&config);
    assert_int_equal(config_load_file(&config, path, error, sizeof(error)), 0);
    assert_string_equal(config.socket_path, "/run/x.sock");
    assert_int_equal(peer_roles(&config, 1002, 7), ROLE_BIT(ROLE_SETTLE));
    assert_int_equal(peer_roles(&config, 4000, 50), ROLE_BIT(ROLE_AUDIT));

    file = fopen(path, "w");
    fputs("map_mib = 8\nthis line is wrong\n", file);
    fclose(file);
    assert_int_equal(config_load_file(&config, path, error, sizeof(error)), -1);
    assert_non_null(strstr(error, ":2:"));
    unlink(path);
}

/* A region's own policy: the longest prefix of the person's region that names one wins, else
 * the setting itself; set again for the same region, the later value wins. */
static void test_a_region_sets_its_own_policy_and_the_longest_prefix_wins(void **state)
{
    (void)state;
    struct config config;
    char error[256];
    config_init(&config);
    assert_int_equal(config_set(&config, "bindings_per_holder_max@62", "3", error,
                                sizeof(error)), 0);
    assert_int_equal(config_set(&config, "bindings-per-holder-max@6229", "1", error,
                                sizeof(error)), 0);
    assert_int_equal(config_set(&config, "bindings_per_holder_max@622901", "2", error,
                                sizeof(error)), 0);
    assert_int_equal(config_set(&config, "wallet_send_max@62", "500", error, sizeof(error)), 0);
    assert_int_equal(config_set(&config, "wallet_quiet_start@44", "21:30", error,
                                sizeof(error)), 0);
    assert_int_equal(CONFIG_REGIONAL(&config, bindings_per_holder_max, "110101"), 7);
    assert_int_equal(CONFIG_REGIONAL(&config, bindings_per_holder_max, "620100"), 3);
    assert_int_equal(CONFIG_REGIONAL(&config, bindings_per_holder_max, "622923"), 1);
    assert_int_equal(CONFIG_REGIONAL(&config, bindings_per_holder_max, "622901"), 2);
    /* A prefix is of the code's start only: 6229 is not in 162290. */
    assert_int_equal(CONFIG_REGIONAL(&config, bindings_per_holder_max, "162290"), 7);
    assert_int_equal(CONFIG_REGIONAL(&config, wallet_send_max_fen, "620100"), 50000);
    assert_int_equal(CONFIG_REGIONAL(&config, wallet_send_max_fen, "440100"), 200000);
    assert_int_equal(CONFIG_REGIONAL(&config, wallet_quiet_start_min, "440100"), 21 * 60 + 30);
    assert_int_equal(CONFIG_REGIONAL(&config, wallet_quiet_start_min, "620100"), 22 * 60);
    /* The same region again: the later value, as a flag wins over the file. */
    assert_int_equal(config_set(&config, "wallet_send_max@62", "600.50", error, sizeof(error)),
                     0);
    assert_int_equal(CONFIG_REGIONAL(&config, wallet_send_max_fen, "620100"), 60050);
    assert_int_equal(config.regional_count, 5);
    /* The setting itself still moves everyone else. */
    assert_int_equal(config_set(&config, "bindings_per_holder_max", "5", error, sizeof(error)),
                     0);
    assert_int_equal(CONFIG_REGIONAL(&config, bindings_per_holder_max, "110101"), 5);
    assert_int_equal(CONFIG_REGIONAL(&config, bindings_per_holder_max, "620100"), 3);
}

static void test_a_regional_setting_is_refused_with_what_is_wrong(void **state)
{
    (void)state;
    struct config config;
    char error[256];
    config_init(&config);
    assert_int_equal(config_set(&config, "timezone@62", "Asia/Urumqi", error, sizeof(error)),
                     -1);
    assert_non_null(strstr(error, "timezone is the same for every region"));
    assert_int_equal(config_set(&config, "pipeline_max@62", "8", error, sizeof(error)), -1);
    assert_non_null(strstr(error, "pipeline_max is the same for every region"));
    assert_int_equal(config_set(&config, "no_such_thing@62", "1", error, sizeof(error)), -1);
    assert_non_null(strstr(error, "unknown setting 'no_such_thing'"));
    const char *regions[] = {"", "6", "623", "62290", "6229011", "62a9", "62 ", "-62"};
    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "wallet_send_max@%s", regions[i]);
        assert_int_equal(config_set(&config, name, "500", error, sizeof(error)), -1);
        assert_non_null(strstr(error, "a region is 2, 4 or 6 digits"));
    }
    assert_int_equal(config_set(&config, "wallet_send_max@62", "-5", error, sizeof(error)), -1);
    assert_non_null(strstr(error, "wallet_send_max@62: '-5' is not an amount of yuan"));
    assert_int_equal(config_set(&config, "bindings_per_holder_max@62", "0", error,
                                sizeof(error)), -1);
    assert_non_null(strstr(error, "bindings_per_holder_max@62: '0' is not a whole number"));
    assert_int_equal(config_set(&config, "wallet_quiet_end@62", "25:00", error, sizeof(error)),
                     -1);
    assert_non_null(strstr(error, "wallet_quiet_end@62: '25:00' is not a time of day"));
    assert_int_equal(config.regional_count, 0);
    /* As many as there is room for, then a refusal rather than a silent drop. */
    unsigned set = 0;
    for (unsigned region = 100000; set < CONFIG_REGIONAL_MAX; region++, set++) {
        char name[64];
        snprintf(name, sizeof(name), "wallet_sends_per_day@%u", region);
        assert_int_equal(config_set(&config, name, "2", error, sizeof(error)), 0);
    }
    assert_int_equal(config_set(&config, "wallet_sends_per_day@99", "2", error, sizeof(error)),
                     -1);
    assert_non_null(strstr(error, "at most"));
}

/* --check-config prints every setting in the file's syntax: what it prints reads back the
 * same, the regional values with it. */
static void test_printed_settings_read_back_the_same(void **state)
{
    (void)state;
    struct config config, again;
    char error[256];
    config_init(&config);
    assert_int_equal(config_set(&config, "wallet_send_max@6229", "123.45", error,
                                sizeof(error)), 0);
    assert_int_equal(config_set(&config, "wallet_quiet_end@44", "05:30", error, sizeof(error)),
                     0);
    assert_int_equal(config_set(&config, "aid_monthly_limit_default@11", "90", error,
                                sizeof(error)), 0);
    char path[] = "/tmp/famledger-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    config_print(&config, file);
    fclose(file);
    config_init(&again);
    assert_int_equal(config_load_file(&again, path, error, sizeof(error)), 0);
    unlink(path);
    assert_int_equal(again.regional_count, 3);
    assert_int_equal(CONFIG_REGIONAL(&again, wallet_send_max_fen, "622901"), 12345);
    assert_int_equal(CONFIG_REGIONAL(&again, wallet_quiet_end_min, "440305"), 5 * 60 + 30);
    assert_int_equal(CONFIG_REGIONAL(&again, aid_monthly_limit_default_fen, "110101"), 9000);
    assert_int_equal(CONFIG_REGIONAL(&again, aid_monthly_limit_default_fen, "120101"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_put_everything_under_var_and_give_our_uid_every_role),
        cmocka_unit_test(test_a_supplementary_group_grants_its_role),
        cmocka_unit_test(test_roles_may_name_users_and_groups),
        cmocka_unit_test(test_merchant_peers_bind_a_settle_peer_to_its_merchants_only),
        cmocka_unit_test(test_flag_spelling_and_file_spelling_set_the_same_setting),
        cmocka_unit_test(test_bad_values_are_refused_with_the_setting_named),
        cmocka_unit_test(test_file_sets_roles_and_reports_the_bad_line),
        cmocka_unit_test(test_a_region_sets_its_own_policy_and_the_longest_prefix_wins),
        cmocka_unit_test(test_a_regional_setting_is_refused_with_what_is_wrong),
        cmocka_unit_test(test_printed_settings_read_back_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
