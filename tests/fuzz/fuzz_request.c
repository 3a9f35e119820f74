/* fuzz_request.c -- libFuzzer target: any bytes a client could send, decoded as a Request and
 * run through dispatch against a small seeded ledger. Each input runs in a write transaction
 * that is then aborted, so every input meets the same ledger. A crash, a sanitizer report or a
 * REQUIRE abort here is a bug: the daemon must answer bad input with a status. */
#include "arena.h"
#include "chain.h"
#include "config.h"
#include "decode.h"
#include "dispatch.h"
#include "seeded.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store;
static struct config config;
/* Every role: the fuzzer reaches every handler; roles are checked before decode, in server.c. */
static struct peer peer = {.roles = ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_SETTLE) | ROLE_BIT(ROLE_AUDIT)};

/* Run one request of the seeding in a transaction of its own: 0, or its error (nothing kept).
 * The id of the settlement it made into *settled, when asked. */
/* Run one request of the seeded ledger and commit it; *made (when given) is the id of the
 * settlement or emergency claim it made. */
static int seed_settle_run(Famledger__Request *request, uint64_t *made)
{
    struct arena arena;
    arena_init(&arena);
    Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
    struct store_txn *txn;
    if (store_write_begin(store, &txn) != 0)
        abort();
    struct request_ctx ctx = {.txn = txn, .arena = &arena, .config = &config,
                              .time_us = 1795400000000000, .peer = &peer, .response = &response};
    int rc = dispatch_execute(dispatch_route_find(request->body_case), &ctx, request);
    if (rc == 0 && made && response.body_case == FAMLEDGER__RESPONSE__BODY_SETTLEMENT)
        *made = response.settlement->settlement->settlement_id;
    if (rc == 0 && made && response.body_case == FAMLEDGER__RESPONSE__BODY_EMERGENCY)
        *made = response.emergency->claim_id;
    if (rc == 0)
        rc = store_commit(txn);
    else
        store_abort(txn);
    arena_free(&arena);
    return rc;
}

static int seed_run(Famledger__Request *request)
{
    return seed_settle_run(request, NULL);
}

static void seed_person(const char *person_no, Famledger__Scheme scheme)
{
    Famledger__PersonAddRequest add = FAMLEDGER__PERSON_ADD_REQUEST__INIT;
    add.person_no = (char *)person_no;
    add.name = (char *)"Seed";
    add.region = (char *)"110101";
    add.scheme = scheme;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_PERSON_ADD;
    request.person_add = &add;
    seed_run(&request);
    if (scheme != FAMLEDGER__SCHEME__SCHEME_EMPLOYEE)
        return;
    Famledger__AccountOpenRequest open = FAMLEDGER__ACCOUNT_OPEN_REQUEST__INIT;
    open.person_no = (char *)person_no;
    request.body_case = FAMLEDGER__REQUEST__BODY_ACCOUNT_OPEN;
    request.account_open = &open;
    seed_run(&request);
    Famledger__CreditRequest credit = FAMLEDGER__CREDIT_REQUEST__INIT;
    credit.person_no = (char *)person_no;
    credit.amount_fen = 10000;
    credit.reference = (char *)person_no;
    request.body_case = FAMLEDGER__REQUEST__BODY_CREDIT;
    request.credit = &credit;
    seed_run(&request);
}

/* P (employee) funded by H; R a resident; merchant M; one settlement, partly refunded; an
 * emergency claim of P's, open. */
static void seed_ledger(void)
{
    seed_person("P", FAMLEDGER__SCHEME__SCHEME_EMPLOYEE);
    seed_person("H", FAMLEDGER__SCHEME__SCHEME_EMPLOYEE);
    seed_person("R", FAMLEDGER__SCHEME__SCHEME_RESIDENT);
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    Famledger__BindRequest bind = FAMLEDGER__BIND_REQUEST__INIT;
    bind.holder = (char *)"H";
    bind.beneficiary = (char *)"P";
    bind.relation = FAMLEDGER__RELATION__RELATION_PARENT;
    request.body_case = FAMLEDGER__REQUEST__BODY_BIND;
    request.bind = &bind;
    seed_run(&request);
    Famledger__MerchantAddRequest merchant = FAMLEDGER__MERCHANT_ADD_REQUEST__INIT;
    merchant.code = (char *)"M";
    merchant.name = (char *)"Seed";
    merchant.kind = FAMLEDGER__MERCHANT_KIND__MERCHANT_PHARMACY;
    merchant.region = (char *)"110101";
    request.body_case = FAMLEDGER__REQUEST__BODY_MERCHANT_ADD;
    request.merchant_add = &merchant;
    seed_run(&request);
    Famledger__SettleRequest settle = FAMLEDGER__SETTLE_REQUEST__INIT;
    settle.merchant_code = (char *)"M";
    settle.merchant_reference = (char *)"s";
    settle.patient = (char *)"P";
    settle.amount_fen = 15000;
    request.body_case = FAMLEDGER__REQUEST__BODY_SETTLE;
    request.settle = &settle;
    uint64_t settled = 0;
    if (seed_settle_run(&request, &settled) != 0)
        abort();
    /* Part of it refunded: its record keeps a refund, which its digest checks the legs by. */
    Famledger__RefundRequest refund = FAMLEDGER__REFUND_REQUEST__INIT;
    refund.merchant_code = (char *)"M";
    refund.merchant_reference = (char *)"seed-r"; /* the seeds' own refund is "r" */
    refund.settlement_id = settled;
    if (settled != SEEDED_SETTLEMENT)
        abort(); /* the seeds' refund and cancel would name none */
    refund.amount_fen = 2500;
    request.body_case = FAMLEDGER__REQUEST__BODY_REFUND;
    request.refund = &refund;
    if (seed_run(&request) != 0)
        abort(); /* the settlement is not where the seeds expect it */
    Famledger__EmergencyClaimRequest claim = FAMLEDGER__EMERGENCY_CLAIM_REQUEST__INIT;
    claim.patient = (char *)"P";
    claim.amount_fen = 700;
    claim.hospital = (char *)"Seed";
    claim.receipt = (char *)"R";
    claim.reference = (char *)"seed-e"; /* the seeds' own claim is "e" */
    request.body_case = FAMLEDGER__REQUEST__BODY_EMERGENCY_CLAIM;
    request.emergency_claim = &claim;
    uint64_t claimed = 0;
    if (seed_settle_run(&request, &claimed) != 0 || claimed != SEEDED_CLAIM)
        abort(); /* the claim is not where the seeds expect it */
}

static char dir[] = "/tmp/famledger-fuzz-XXXXXX";

/* libFuzzer ends a bounded run with exit(): the seeded ledger goes with it, rather than one
 * directory left in /tmp by every run. */
static void ledger_remove(void)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "famledgerd.lock"};
    char path[sizeof(dir) + 32];
    store_close(store);
    for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir) || chain_init() != 0 || atexit(ledger_remove) != 0)
        abort();
    config_init(&config);
    log_set_level(LOG_LEVEL_ERROR);
    if (store_open(dir, 64u << 20, 64u << 20, STORE_CREATE_IF_EMPTY, &store) != 0)
        abort();
    seed_ledger();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena arena;
    arena_init(&arena);
    /* Through the decode step, as the daemon does: peek, check, unpack within the budget. */
    Famledger__Request *request = NULL;
    size_t used_bytes;
    char error[256];
    int decoded = decode_request(data, size, &arena, &request, &used_bytes, error, sizeof(error));
    if (decoded != 0 && decoded != FL_ERR_MALFORMED_REQUEST && decoded != FL_ERR_UNSUPPORTED)
        abort();
    const struct dispatch_route *route = decoded == 0 ? dispatch_route_find(request->body_case)
                                                      : NULL;
    if (route) {
        Famledger__Response response = FAMLEDGER__RESPONSE__INIT;
        struct store_txn *txn;
        if (store_write_begin(store, &txn) != 0)
            abort();
        struct request_ctx ctx = {.txn = txn, .arena = &arena, .config = &config,
                                  .time_us = 1795400000000000, .operator_id = "", .peer = &peer,
                                  .response = &response};
        int rc = dispatch_execute(route, &ctx, request);
        /* Every failure must carry a status and a message, and no body. */
        if (rc < 0 && (response.status == 0 || !response.error ||
                       response.body_case != FAMLEDGER__RESPONSE__BODY__NOT_SET))
            abort();
        store_abort(txn);
    }
    arena_free(&arena);
    return 0;
}
