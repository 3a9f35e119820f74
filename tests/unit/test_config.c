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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
