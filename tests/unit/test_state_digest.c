/* test_state_digest.c -- the daemon's digest of a stored table (StateDigestRequest) is the fold
 * of the very records a walk of the table serves, page after page from any cursor, under the
 * client's key; a record that does not read is counted as damaged, tables without a digest and
 * keys of another length are refused, and records changed to fold like the originals under an
 * unkeyed mix fold differently under the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include "table_digest.h"

#define CHILD FAMLEDGER__RELATION__RELATION_CHILD
#define PHARMACY FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY

/* Two families, each child funded by both parents, and settlements that reach the parents. */
static int ledger_setup(void **state)
{
    if (fixture_setup(state) != 0)
        return -1;
    struct fixture *f = *state;
    assert_int_equal(fixture_merchant(f, "PH001", PHARMACY), 0);
    const char *const families[2][3] = {{"C1", "F1", "M1"}, {"C2", "F2", "M2"}};
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++) {
            assert_int_equal(fixture_employee(f, families[i][j], "110101"), 0);
            char reference[32];
            snprintf(reference, sizeof(reference), "credit-%s", families[i][j]);
            assert_int_equal(fixture_credit(f, families[i][j], 10000, reference, NULL), 0);
        }
        assert_int_equal(fixture_bind(f, families[i][1], families[i][0], CHILD), 0);
        assert_int_equal(fixture_bind(f, families[i][2], families[i][0], CHILD), 0);
    }
    /* Two sends into C1's wallet, accepted: links of its statement. No quiet hours: the test
     * runs at any time of day. */
    f->config.wallet_quiet_start_min = f->config.wallet_quiet_end_min = 0;
    for (int i = 1; i < 3; i++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "send-%d", i);
        Famledger__WalletSendRequest send = FAMLEDGER__WALLET_SEND_REQUEST__INIT;
        send.holder = (char *)families[0][i];
        send.beneficiary = (char *)"C1";
        send.amount_fen = 500 * i;
        send.reference = reference;
        assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_WALLET_SEND, &send, NULL), 0);
        Famledger__WalletSendCloseRequest accept = FAMLEDGER__WALLET_SEND_CLOSE_REQUEST__INIT;
        accept.reference = reference;
        assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_WALLET_ACCEPT, &accept, NULL),
                         0);
    }
    uint64_t settled[6];
    for (int n = 0; n < 6; n++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "rx-%d", n);
        Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
        settle.merchant_code = (char *)"PH001";
        settle.merchant_reference = reference;
        settle.patient = (char *)(n % 2 ? "C2" : "C1");
        settle.amount_fen = 4000 + 100 * n;
        Famledger__Response *response = NULL;
        assert_int_equal(fixture_settle(f, false, &settle, &response), 0);
        settled[n] = response->settlement->settlement->settlement_id;
    }
    /* One settlement partly refunded, another cancelled: their records keep refunds. */
    Famledger__RefundRequest refund = FAMLEDGER__REFUND_REQUEST__INIT;
    refund.merchant_code = (char *)"PH001";
    refund.merchant_reference = (char *)"rf-1";
    refund.settlement_id = settled[0];
    refund.amount_fen = 1500;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_REFUND, &refund, NULL), 0);
    refund.merchant_reference = (char *)"cx-2";
    refund.settlement_id = settled[2];
    refund.amount_fen = 0;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_CANCEL, &refund, NULL), 0);
    return 0;
}

static const Famledger__StateTable digested[] = {
    FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS, FAMLEDGER__STATE_TABLE__STATE_MERCHANT_LINKS,
    FAMLEDGER__STATE_TABLE__STATE_REFERENCES,    FAMLEDGER__STATE_TABLE__STATE_PATIENT_LINKS,
    FAMLEDGER__STATE_TABLE__STATE_FUNDED,        FAMLEDGER__STATE_TABLE__STATE_ACCOUNTS,
    FAMLEDGER__STATE_TABLE__STATE_PERSONS,       FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS,
    FAMLEDGER__STATE_TABLE__STATE_WALLET_LINKS,
};

struct fold {
    struct table_digest digest;
    uint64_t records, damaged;
    const struct table_digest_key *key;
    uint64_t table_records; /* each digest page said the whole table holds this many */
};

static void fold_item(void *context, const uint8_t *owner, size_t owner_bytes,
                      const struct table_digest_item *item)
{
    struct fold *fold = context;
    table_digest_add(&fold->digest, fold->key, owner, owner_bytes, item);
}

static struct table_digest_key the_key; /* drawn once: every fold below is under it */

/* The table walked page by page (StatePageRequest), each record's items folded here. */
static struct fold walked(struct fixture *f, Famledger__StateTable table)
{
    struct fold fold = {{0, 0}, 0, 0, &the_key, 0};
    uint8_t after[512], after_value[8];
    Famledger__StatePageRequest page = FAMLEDGER__STATE_PAGE_REQUEST__INIT;
    page.table = table;
    page.limit = 3;
    for (;;) {
        Famledger__Response *response = NULL;
        assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_PAGE, &page, &response),
                         0);
        const Famledger__StatePageReply *reply = response->state_page;
        for (size_t i = 0; i < reply->n_keys; i++) {
            fold.records++;
            if (table_digest_items(&the_key, table, reply->keys[i].data, reply->keys[i].len,
                                   reply->values[i].data, reply->values[i].len, fold_item,
                                   &fold) != 0)
                fold.damaged++;
        }
        if (!reply->more)
            return fold;
        const ProtobufCBinaryData *key = &reply->keys[reply->n_keys - 1];
        const ProtobufCBinaryData *value = &reply->values[reply->n_keys - 1];
        memcpy(after, key->data, key->len);
        page.after_key = (ProtobufCBinaryData){key->len, after};
        page.after_value.len = value->len <= 8 ? value->len : 0;
        if (page.after_value.len)
            memcpy(after_value, value->data, page.after_value.len);
        page.after_value.data = after_value;
    }
}

/* The table digested by the daemon under `key`, `limit` records a page, resumed after each
 * page's cursor. */
static struct fold digested_under(struct fixture *f, Famledger__StateTable table,
                                  uint32_t limit, const struct table_digest_key *key)
{
    struct fold fold = {{0, 0}, 0, 0, key, 0};
    uint8_t after[512], after_value[8];
    Famledger__StateDigestRequest asked = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    asked.table = table;
    asked.limit = limit;
    asked.version = TABLE_DIGEST_VERSION;
    asked.key = (ProtobufCBinaryData){sizeof(key->bytes), (uint8_t *)key->bytes};
    for (int pages = 0;; pages++) {
        assert_true(pages < 1000);
        Famledger__Response *response = NULL;
        assert_int_equal(
            fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_DIGEST, &asked, &response), 0);
        const Famledger__StateDigestReply *reply = response->state_digest;
        fold.digest.count += reply->count;
        fold.digest.sum += reply->sum;
        fold.records += reply->records;
        fold.damaged += reply->damaged;
        /* The whole table's count, whatever the cursor: a client paces its pages by it. */
        if (pages == 0)
            fold.table_records = reply->table_records;
        assert_int_equal(reply->table_records, fold.table_records);
        if (limit)
            assert_true(reply->records <= limit);
        if (!reply->more)
            return fold;
        assert_true(reply->last_key.len > 0 && reply->last_key.len <= sizeof(after));
        memcpy(after, reply->last_key.data, reply->last_key.len);
        asked.after_key = (ProtobufCBinaryData){reply->last_key.len, after};
        if (reply->last_value.len) /* empty bytes may come as NULL */
            memcpy(after_value, reply->last_value.data, reply->last_value.len);
        asked.after_value = (ProtobufCBinaryData){reply->last_value.len, after_value};
    }
}

static struct fold digested_by_daemon(struct fixture *f, Famledger__StateTable table,
                                      uint32_t limit)
{
    return digested_under(f, table, limit, &the_key);
}

static void assert_same_fold(struct fold a, struct fold b)
{
    assert_int_equal(a.records, b.records);
    assert_int_equal(a.digest.count, b.digest.count);
    assert_int_equal(a.digest.sum, b.digest.sum);
    assert_int_equal(a.damaged, b.damaged);
}

static void test_the_digest_is_the_fold_of_the_walk_from_any_cursor(void **state)
{
    struct fixture *f = *state;
    for (size_t t = 0; t < sizeof(digested) / sizeof(*digested); t++) {
        struct fold walk = walked(f, digested[t]);
        assert_true(walk.records >= 2); /* every table has records to page through */
        assert_int_equal(walk.damaged, 0);
        const uint32_t limits[] = {0, 1, 2, 5, 1000000};
        for (size_t l = 0; l < sizeof(limits) / sizeof(*limits); l++) {
            struct fold digest = digested_by_daemon(f, digested[t], limits[l]);
            assert_same_fold(walk, digest);
            assert_int_equal(digest.table_records, walk.records);
        }
    }
    /* The funded lists hold one item a beneficiary: four bindings in two records each. */
    struct fold funded = walked(f, FAMLEDGER__STATE_TABLE__STATE_FUNDED);
    assert_int_equal(funded.records, 4);
    assert_int_equal(funded.digest.count, 4);
}

/* A changed item changes the sum; a record that does not read is counted, not folded. */
static void test_a_changed_or_unreadable_record_shows(void **state)
{
    struct fixture *f = *state;
    const Famledger__StateTable links = FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS;
    struct fold before = digested_by_daemon(f, links, 0);
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    uint8_t key[10] = {0, 0, 0, 0, 0, 0, 0, 1, 'C', '1'}; /* entry 1 of C1: no such link */
    uint8_t prev[8] = {0};
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNT_LINKS, key, sizeof(key), prev, sizeof(prev)),
                     0);
    assert_int_equal(store_commit(txn), 0);
    struct fold added = digested_by_daemon(f, links, 2);
    assert_int_equal(added.records, before.records + 1);
    assert_int_equal(added.digest.count, before.digest.count + 1);
    assert_true(added.digest.sum != before.digest.sum);

    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, STORE_DB_ACCOUNT_LINKS, key, sizeof(key), "bad", 3), 0);
    assert_int_equal(store_commit(txn), 0);
    struct fold damaged = digested_by_daemon(f, links, 2);
    assert_int_equal(damaged.records, before.records + 1);
    assert_int_equal(damaged.damaged, 1);
    assert_int_equal(damaged.digest.count, before.digest.count);
    assert_int_equal(damaged.digest.sum, before.digest.sum);
    assert_same_fold(damaged, walked(f, links));
}

static int digest_status(struct fixture *f, int table, size_t after_key_bytes,
                         Famledger__Response **response)
{
    static uint8_t long_key[1024];
    Famledger__StateDigestRequest asked = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    asked.table = (Famledger__StateTable)table;
    asked.after_key = (ProtobufCBinaryData){after_key_bytes, long_key};
    asked.version = TABLE_DIGEST_VERSION;
    asked.key = (ProtobufCBinaryData){sizeof(the_key.bytes), the_key.bytes};
    return fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_DIGEST, &asked, response);
}

static void test_tables_without_a_digest_are_refused(void **state)
{
    struct fixture *f = *state;
    Famledger__Response *response = NULL;
    assert_int_equal(digest_status(f, FAMLEDGER__STATE_TABLE__STATE_FUNDERS, 0, &response),
                     FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "has no digest"));
    assert_int_equal(digest_status(f, 0, 0, &response), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(digest_status(f, 8, 0, &response), FL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(response->error, "account_links since format 4"));
    assert_int_equal(digest_status(f, 99, 0, &response), FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(digest_status(f, FAMLEDGER__STATE_TABLE__STATE_REFERENCES, 1024, &response),
                     FL_ERR_INVALID_ARGUMENT);
    assert_int_equal(digest_status(f, FAMLEDGER__STATE_TABLE__STATE_REFERENCES, 0, &response), 0);
}

/* A client of another digest definition (or none: an older or foreign one) is told so, and
 * walks instead. */
static void test_another_digest_version_is_unsupported(void **state)
{
    struct fixture *f = *state;
    Famledger__StateDigestRequest asked = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    asked.table = FAMLEDGER__STATE_TABLE__STATE_REFERENCES;
    Famledger__Response *response = NULL;
    const uint32_t versions[] = {0, TABLE_DIGEST_VERSION + 1};
    for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
        asked.version = versions[i];
        assert_int_equal(
            fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_DIGEST, &asked, &response),
            FL_ERR_UNSUPPORTED);
        assert_non_null(strstr(response->error, "walk them"));
    }
}

/* Each verify's key makes its own digest: the same records fold alike under one key and
 * differently under another; a key of another length is refused. */
static void test_the_digest_is_keyed(void **state)
{
    struct fixture *f = *state;
    const Famledger__StateTable persons = FAMLEDGER__STATE_TABLE__STATE_PERSONS;
    struct table_digest_key other;
    assert_int_equal(table_digest_key_random(&other), 0);
    struct fold mine = digested_by_daemon(f, persons, 0);
    struct fold theirs = digested_under(f, persons, 0, &other);
    assert_int_equal(mine.digest.count, theirs.digest.count);
    assert_true(mine.digest.sum != theirs.digest.sum);
    assert_same_fold(mine, digested_by_daemon(f, persons, 2));
    Famledger__StateDigestRequest asked = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    asked.table = persons;
    asked.version = TABLE_DIGEST_VERSION;
    const size_t lengths[] = {0, TABLE_DIGEST_KEY_BYTES - 1, TABLE_DIGEST_KEY_BYTES + 1};
    uint8_t bytes[TABLE_DIGEST_KEY_BYTES + 1] = {0};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(*lengths); i++) {
        asked.key = (ProtobufCBinaryData){lengths[i], bytes};
        Famledger__Response *response = NULL;
        assert_int_equal(
            fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_DIGEST, &asked, &response),
            FL_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(response->error, "key"));
    }
}

/* Items whose bytes could run together encode apart: an owner's end against a text's start,
 * fields in another order, a text against none, an empty owner. */
static void test_different_items_have_different_terms(void **state)
{
    (void)state;
    struct table_digest_item c = table_digest_reason("C");
    struct table_digest_item bc = table_digest_reason("BC");
    assert_true(table_digest_term(&the_key, "AB", 2, &c) !=
                table_digest_term(&the_key, "A", 1, &bc));
    struct table_digest_item link = table_digest_link(1, 2), back = table_digest_link(2, 1);
    assert_true(table_digest_term(&the_key, "P", 1, &link) !=
                table_digest_term(&the_key, "P", 1, &back));
    struct table_digest_item none = table_digest_person(true, false, 1, 1, NULL);
    struct table_digest_item empty = table_digest_person(true, false, 1, 1, "");
    assert_true(table_digest_term(&the_key, "P", 1, &none) !=
                table_digest_term(&the_key, "P", 1, &empty));
    struct table_digest_item one = table_digest_one(7);
    assert_true(table_digest_term(&the_key, "", 0, &one) !=
                table_digest_term(&the_key, "P", 1, &one));
    /* A text past the bound goes in by its keyed hash, and still tells texts apart. */
    char long_a[200], long_b[200];
    memset(long_a, 'x', sizeof(long_a));
    memcpy(long_b, long_a, sizeof(long_b));
    long_a[199] = long_b[199] = '\0';
    long_b[198] = 'y';
    struct table_digest_item a = table_digest_reason(long_a);
    struct table_digest_item b = table_digest_reason(long_b);
    assert_true(table_digest_term(&the_key, "P", 1, &a) !=
                table_digest_term(&the_key, "P", 1, &b));
    assert_int_equal(table_digest_term(&the_key, "P", 1, &a),
                     table_digest_term(&the_key, "P", 1, &a));
}

/* Every field of a binding is in its hash: a stored binding changed in any of them differs
 * from the log's. */
static void test_every_field_of_a_binding_counts(void **state)
{
    (void)state;
    Famledger__Binding binding = FAMLEDGER__BINDING__INIT;
    binding.holder = (char *)"MOM";
    binding.beneficiary = (char *)"KID";
    binding.relation = FAMLEDGER__RELATION__RELATION_CHILD;
    binding.evidence = (char *)"HR-1";
    binding.channel = FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_APP;
    uint64_t bound = table_digest_binding(&the_key, &binding, 7);
    assert_true(table_digest_binding(&the_key, &binding, 8) != bound);
    Famledger__Binding changed = binding;
    changed.holder = (char *)"DAD";
    assert_true(table_digest_binding(&the_key, &changed, 7) != bound);
    changed = binding;
    changed.beneficiary = (char *)"KID2";
    assert_true(table_digest_binding(&the_key, &changed, 7) != bound);
    changed = binding;
    changed.relation = FAMLEDGER__RELATION__RELATION_SPOUSE;
    assert_true(table_digest_binding(&the_key, &changed, 7) != bound);
    changed = binding;
    changed.evidence = (char *)"HR-2";
    assert_true(table_digest_binding(&the_key, &changed, 7) != bound);
    changed = binding;
    changed.channel = FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_COUNTER;
    assert_true(table_digest_binding(&the_key, &changed, 7) != bound);
    /* The evidence's end against the beneficiary's start. */
    changed = binding;
    changed.evidence = (char *)"HR-1K";
    changed.beneficiary = (char *)"ID";
    assert_true(table_digest_binding(&the_key, &changed, 7) != bound);
    struct table_digest_key other;
    assert_int_equal(table_digest_key_random(&other), 0);
    assert_true(table_digest_binding(&other, &binding, 7) != bound);
}

/* ---- the forger's side: the unkeyed fold of version 1, and how to undo its mix ---- */

static uint64_t unxorshift(uint64_t y, int shift)
{
    uint64_t x = y;
    for (int i = 0; i < 64 / shift + 1; i++)
        x = y ^ (x >> shift);
    return x;
}

static uint64_t odd_inverse(uint64_t a)
{
    uint64_t x = a; /* Newton: each step doubles the bits that are right */
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

static uint64_t unmix(uint64_t y)
{
    uint64_t x = unxorshift(y, 31) * odd_inverse(0x94d049bb133111ebu);
    x = unxorshift(x, 27) * odd_inverse(0xbf58476d1ce4e5b9u);
    return unxorshift(x, 30) - 0x9e3779b97f4a7c15u;
}

/* splitmix64's finaliser, as version 1 mixed with it. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* Version 1's term of a link: public, with nothing secret in it. */
static uint64_t v1_link_term(const uint8_t *owner, size_t owner_bytes, uint64_t seq,
                             uint64_t prev)
{
    return mix(table_digest_hash(owner, owner_bytes) + mix(seq * 0x9e3779b97f4a7c15u + prev));
}

static void put_big_endian(uint8_t out[8], uint64_t value)
{
    for (int i = 7; i >= 0; i--, value >>= 8)
        out[i] = (uint8_t)value;
}

/* Whoever can write the file changes one link of C1 and computes the link of C2 that makes up
 * for it under version 1's unkeyed fold: that fold of the table is unchanged, and would have
 * hidden both. Under a key they could not know, the digest differs. */
static void test_compensated_changes_do_not_fold_alike(void **state)
{
    struct fixture *f = *state;
    const Famledger__StateTable links = FAMLEDGER__STATE_TABLE__STATE_ACCOUNT_LINKS;
    struct fold before = digested_by_daemon(f, links, 0);
    /* The first stored link of each of C1 and C2, and the unkeyed fold of all of them. */
    Famledger__StatePageRequest page = FAMLEDGER__STATE_PAGE_REQUEST__INIT;
    page.table = links;
    Famledger__Response *response = NULL;
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_PAGE, &page, &response), 0);
    const Famledger__StatePageReply *reply = response->state_page;
    assert_false(reply->more);
    uint8_t keys[2][64];
    size_t key_bytes[2] = {0, 0};
    uint64_t prevs[2] = {0, 0}, v1_sum = 0;
    for (size_t i = 0; i < reply->n_keys; i++) {
        const ProtobufCBinaryData *key = &reply->keys[i];
        assert_true(key->len > 8 && key->len <= sizeof(keys[0]) && reply->values[i].len == 8);
        v1_sum += v1_link_term(key->data + 8, key->len - 8, table_digest_u64(key->data),
                               table_digest_u64(reply->values[i].data));
        int owner = key->len - 8 == 2 && memcmp(key->data + 8, "C1", 2) == 0   ? 0
                    : key->len - 8 == 2 && memcmp(key->data + 8, "C2", 2) == 0 ? 1
                                                                               : -1;
        if (owner >= 0 && key_bytes[owner] == 0) {
            memcpy(keys[owner], key->data, key->len);
            key_bytes[owner] = key->len;
            prevs[owner] = table_digest_u64(reply->values[i].data);
        }
    }
    assert_true(key_bytes[0] > 0 && key_bytes[1] > 0);
    uint64_t seqs[2] = {table_digest_u64(keys[0]), table_digest_u64(keys[1])};
    /* C1's link now points elsewhere; C2's is whatever makes the sum come out the same. */
    uint64_t forged[2];
    forged[0] = prevs[0] + 1;
    uint64_t wanted = v1_link_term(keys[0] + 8, 2, seqs[0], prevs[0]) +
                      v1_link_term(keys[1] + 8, 2, seqs[1], prevs[1]) -
                      v1_link_term(keys[0] + 8, 2, seqs[0], forged[0]);
    uint64_t item = unmix(unmix(wanted) - table_digest_hash(keys[1] + 8, 2));
    forged[1] = item - seqs[1] * 0x9e3779b97f4a7c15u;
    assert_int_equal(v1_link_term(keys[1] + 8, 2, seqs[1], forged[1]), wanted);
    struct store_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    for (int i = 0; i < 2; i++) {
        uint8_t value[8];
        put_big_endian(value, forged[i]);
        assert_int_equal(store_put(txn, STORE_DB_ACCOUNT_LINKS, keys[i], key_bytes[i], value, 8),
                         0);
    }
    assert_int_equal(store_commit(txn), 0);
    /* Version 1 would have folded the forged table as it folded the true one. */
    assert_int_equal(fixture_body(f, FAMLEDGER__REQUEST__BODY_STATE_PAGE, &page, &response), 0);
    reply = response->state_page;
    uint64_t v1_forged = 0;
    for (size_t i = 0; i < reply->n_keys; i++)
        v1_forged += v1_link_term(reply->keys[i].data + 8, reply->keys[i].len - 8,
                                  table_digest_u64(reply->keys[i].data),
                                  table_digest_u64(reply->values[i].data));
    assert_int_equal(v1_forged, v1_sum);
    /* Today's, under the key, does not. */
    struct fold after = digested_by_daemon(f, links, 0);
    assert_int_equal(after.digest.count, before.digest.count);
    assert_true(after.digest.sum != before.digest.sum);
}

/* The items a holder's funded record gives, in order. */
struct funded_items {
    size_t count;
    uint64_t bindings[32];
};

static void funded_cb(void *context, const uint8_t *owner, size_t owner_bytes,
                      const struct table_digest_item *item)
{
    struct funded_items *seen = context;
    assert_memory_equal(owner, "HOLDER", owner_bytes);
    assert_true(seen->count < 32 && item->count == 1 && !item->text);
    seen->bindings[seen->count++] = item->fields[0];
}

/* A record too big for the unpacking buffer on the stack (30 bindings with long names) gives
 * every item as a small one does; the pieces malloc'd past the buffer are freed (the sanitizer
 * build's leak check). */
static void test_a_record_past_the_stack_buffer_gives_every_item(void **state)
{
    (void)state;
    Famledger__Binding bindings[30], *pointers[30];
    char names[30][40];
    Famledger__BindingList list = FAMLEDGER__BINDING_LIST__INIT;
    for (int i = 0; i < 30; i++) {
        famledger__binding__init(&bindings[i]);
        snprintf(names[i], sizeof(names[i]), "BENEFICIARY-%020d", i);
        bindings[i].beneficiary = names[i];
        bindings[i].holder = (char *)"HOLDER";
        bindings[i].relation = FAMLEDGER__RELATION__RELATION_CHILD;
        bindings[i].bound_seq = (uint64_t)i + 1;
        pointers[i] = &bindings[i];
    }
    for (size_t count = 1; count <= 30; count += 29) {
        list.n_bindings = count;
        list.bindings = pointers;
        uint8_t packed[8192];
        size_t bytes = famledger__binding_list__get_packed_size(&list);
        assert_true(bytes <= sizeof(packed));
        famledger__binding_list__pack(&list, packed);
        struct funded_items seen = {0};
        assert_int_equal(table_digest_items(&the_key, FAMLEDGER__STATE_TABLE__STATE_FUNDED,
                                            (const uint8_t *)"HOLDER", 6, packed, bytes,
                                            funded_cb, &seen),
                         0);
        assert_int_equal(seen.count, count);
        for (size_t i = 0; i < count; i++)
            assert_true(seen.bindings[i] ==
                        table_digest_binding(&the_key, &bindings[i], bindings[i].bound_seq));
    }
}

/* The items of one stored settlement, as table_digest_items gives them. */
struct settlement_items {
    size_t count;
    struct table_digest_item items[8];
};

static void settlement_cb(void *context, const uint8_t *owner, size_t owner_bytes,
                          const struct table_digest_item *item)
{
    struct settlement_items *seen = context;
    assert_int_equal(owner_bytes, 8);
    assert_int_equal(table_digest_u64(owner), 42);
    assert_true(seen->count < 8);
    seen->items[seen->count++] = *item;
}

static int settlement_items_of(const Famledger__Settlement *settlement, uint64_t id,
                               struct settlement_items *seen)
{
    uint8_t packed[4096], key[8];
    size_t bytes = famledger__settlement__get_packed_size(settlement);
    assert_true(bytes <= sizeof(packed));
    famledger__settlement__pack(settlement, packed);
    put_big_endian(key, id);
    *seen = (struct settlement_items){0};
    return table_digest_items(&the_key, FAMLEDGER__STATE_TABLE__STATE_SETTLEMENTS, key,
                              sizeof(key), packed, bytes, settlement_cb, seen);
}

/* A stored settlement gives what it says, each refund it keeps and its cancellation, under its
 * id; one that is not whole in itself (its key, or what its legs count as given back against
 * the refunds it keeps) reads as damage, with no item, so that verify need not keep the
 * settlement to find it. */
static void test_a_settlement_is_digested_only_when_whole_in_itself(void **state)
{
    (void)state;
    Famledger__Leg legs[2], *leg_pointers[2] = {&legs[0], &legs[1]};
    const char *const holders[2] = {"KID", "DAD"};
    for (int i = 0; i < 2; i++) {
        famledger__leg__init(&legs[i]);
        legs[i].holder = (char *)holders[i];
        legs[i].amount_fen = 3000;
        legs[i].mutual_aid = i == 1;
    }
    Famledger__RefundLeg given = FAMLEDGER__REFUND_LEG__INIT, *given_pointer = &given;
    given.holder = (char *)"DAD";
    given.amount_fen = 500;
    Famledger__Refund refund = FAMLEDGER__REFUND__INIT, *refund_pointer = &refund;
    refund.refund_id = 50;
    refund.reference = (char *)"r1";
    refund.amount_fen = 500;
    refund.n_legs = 1;
    refund.legs = &given_pointer;
    Famledger__Settlement s = FAMLEDGER__SETTLEMENT__INIT;
    s.settlement_id = 42;
    s.merchant_code = (char *)"P1";
    s.merchant_reference = (char *)"s1";
    s.patient = (char *)"KID";
    s.amount_fen = 7000;
    s.acct_pay_fen = 3000;
    s.acct_mulaid_pay_fen = 3000;
    s.cash_pay_fen = 1000;
    s.n_legs = 2;
    s.legs = leg_pointers;
    legs[1].refunded_fen = 500;
    s.refunded_fen = 500;
    s.n_refunds = 1;
    s.refunds = &refund_pointer;
    s.cancelled = true;

    struct settlement_items seen;
    assert_int_equal(settlement_items_of(&s, 42, &seen), 0);
    assert_int_equal(seen.count, 3);
    const uint64_t parts[3][2] = {
        {TABLE_DIGEST_SETTLED, table_digest_settlement(&the_key, &s)},
        {TABLE_DIGEST_REFUND, table_digest_refund(&the_key, &refund, 50)},
        {TABLE_DIGEST_CANCELLED, 0},
    };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seen.items[i].count, 2);
        assert_int_equal(seen.items[i].fields[0], parts[i][0]);
        assert_true(seen.items[i].fields[1] == parts[i][1]);
    }
    /* What a settlement says is not what a refund changes. */
    legs[1].refunded_fen = s.refunded_fen = 0;
    s.n_refunds = 0;
    s.cancelled = false;
    assert_int_equal(settlement_items_of(&s, 42, &seen), 0);
    assert_int_equal(seen.count, 1);
    assert_true(seen.items[0].fields[1] == parts[0][1]);

    /* Each way of not being whole, from the whole record with its refund. */
    enum { KEY, MORE_THAN_PAID, LESS_THAN_NOTHING, NOT_THE_TOTAL, SHIFTED, TO_NO_LEG, TO_WALLET,
           TOO_MANY_LEGS, WAYS };
    Famledger__Leg *many[TABLE_DIGEST_LEGS_MAX + 1];
    for (size_t i = 0; i < TABLE_DIGEST_LEGS_MAX + 1; i++)
        many[i] = &legs[i % 2 ? 1 : 0];
    for (int way = 0; way < WAYS; way++) {
        legs[0].refunded_fen = 0;
        legs[1].refunded_fen = 500;
        s.refunded_fen = 500;
        s.n_refunds = 1;
        given.holder = (char *)"DAD";
        given.wallet = false;
        uint64_t id = 42;
        switch (way) {
        case KEY:
            id = 43;
            break;
        case MORE_THAN_PAID:
            legs[1].refunded_fen = s.refunded_fen = 3001;
            given.amount_fen = refund.amount_fen = 3001;
            break;
        case LESS_THAN_NOTHING:
            legs[0].refunded_fen = -1;
            legs[1].refunded_fen = 501;
            break;
        case NOT_THE_TOTAL:
            s.refunded_fen = 499;
            break;
        case SHIFTED: /* the total right, a fen counted as KID's that DAD got */
            legs[0].refunded_fen = 1;
            legs[1].refunded_fen = 499;
            break;
        case TO_NO_LEG:
            given.holder = (char *)"MOM";
            break;
        case TO_WALLET:
            given.wallet = true;
            break;
        case TOO_MANY_LEGS: /* refunds counted right, but more legs than any settlement has */
            s.n_legs = TABLE_DIGEST_LEGS_MAX + 1;
            s.legs = many;
            legs[1].refunded_fen = 0;
            s.n_refunds = 0;
            s.refunded_fen = 0;
            break;
        }
        assert_int_equal(settlement_items_of(&s, id, &seen), -1);
        assert_int_equal(seen.count, 0);
        given.amount_fen = refund.amount_fen = 500;
        s.n_legs = 2;
        s.legs = leg_pointers;
    }
}

int main(void)
{
    assert_int_equal(table_digest_key_random(&the_key), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_the_digest_is_the_fold_of_the_walk_from_any_cursor,
                                        ledger_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_changed_or_unreadable_record_shows, ledger_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_tables_without_a_digest_are_refused, ledger_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_another_digest_version_is_unsupported, ledger_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_the_digest_is_keyed, ledger_setup,
                                        fixture_teardown),
        cmocka_unit_test(test_different_items_have_different_terms),
        cmocka_unit_test(test_every_field_of_a_binding_counts),
        cmocka_unit_test(test_a_record_past_the_stack_buffer_gives_every_item),
        cmocka_unit_test(test_a_settlement_is_digested_only_when_whole_in_itself),
        cmocka_unit_test_setup_teardown(test_compensated_changes_do_not_fold_alike, ledger_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
