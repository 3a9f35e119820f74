/* fixture.h -- a ledger in a temporary directory, driven through the dispatch table as the
 * daemon does, without a socket. */
#ifndef FAMLEDGER_TEST_FIXTURE_H
#define FAMLEDGER_TEST_FIXTURE_H

#include "arena.h"
#include "chain.h"
#include "config.h"
#include "dispatch.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    char dir[64];
    struct store *store;
    struct config config;
    struct arena arena;
    uint32_t uid;
    struct peer peer; /* every role, as the daemon's own uid has by default */
    int64_t time_us;  /* the wall clock requests see; 0: the real one */
    struct prefetch *prefetch; /* and the ticket of reads made ahead for the next request */
    uint64_t ahead_ticket;
};

static inline int fixture_setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    strcpy(fixture->dir, "/tmp/famledger-unit-XXXXXX");
    if (!mkdtemp(fixture->dir) || chain_init() != 0)
        return -1;
    config_init(&fixture->config);
    arena_init(&fixture->arena);
    if (store_open(fixture->dir, 1 << 20, 64 << 20, STORE_CREATE_IF_EMPTY, &fixture->store) != 0)
        return -1;
    /* As the daemon runs by default; the suite runs again with 20 ms sweeps (make
     * test-deferred) and with the setting off (make test-direct). */
    const char *sweep_ms = getenv("FAMLEDGER_TEST_STATE_SWEEP_MS");
    uint64_t sweep = sweep_ms ? (uint64_t)atoi(sweep_ms) : fixture->config.state_sweep_ms;
    if (sweep > 0 && store_defer_state(fixture->store, sweep) != 0)
        return -1;
    fixture->peer.roles = ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_SETTLE) | ROLE_BIT(ROLE_AUDIT);
    *state = fixture;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    struct fixture *fixture = *state;
    store_close(fixture->store);
    arena_free(&fixture->arena);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", fixture->dir);
    int rc = system(command);
    free(fixture);
    return rc == 0 ? 0 : -1;
}

/* Run one request in a transaction of its own, as a batch of one; returns its status. */
static inline int fixture_run(struct fixture *fixture, Famledger__Request *request,
                              Famledger__Response **out)
{
    const struct dispatch_route *route = dispatch_route_find(request->body_case);
    if (!route)
        return FL_ERR_UNSUPPORTED;
    Famledger__Response *response = ARENA_NEW(&fixture->arena, Famledger__Response);
    famledger__response__init(response);
    struct store_txn *txn;
    int rc = route->writes ? store_write_begin(fixture->store, &txn)
                           : store_read_begin(fixture->store, &txn);
    if (rc)
        return rc;
    struct request_ctx ctx = {
        .txn = txn, .arena = &fixture->arena, .config = &fixture->config,
        .time_us = fixture->time_us ? fixture->time_us : request_clock_us(),
        .peer_uid = fixture->uid, .peer = &fixture->peer,
        .operator_id = "tester",
        .response = response,
        .prefetch = fixture->prefetch,
        .ahead_ticket = fixture->ahead_ticket,
    };
    rc = dispatch_execute(route, &ctx, request);
    if (!route->writes)
        store_read_end(txn);
    else if (rc == 0)
        rc = store_commit(txn);
    else
        store_abort(txn);
    if (out)
        *out = response;
    return rc;
}

static inline int fixture_person_add(struct fixture *fixture, const char *person_no,
                                     const char *region, Famledger__Scheme scheme)
{
    Famledger__PersonAddRequest add = FAMLEDGER__PERSON_ADD_REQUEST__INIT;
    add.person_no = (char *)person_no;
    add.name = (char *)"Test Person";
    add.region = (char *)region;
    add.scheme = scheme;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_PERSON_ADD;
    request.person_add = &add;
    return fixture_run(fixture, &request, NULL);
}

static inline int fixture_account_open(struct fixture *fixture, const char *person_no)
{
    Famledger__AccountOpenRequest open = FAMLEDGER__ACCOUNT_OPEN_REQUEST__INIT;
    open.person_no = (char *)person_no;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_ACCOUNT_OPEN;
    request.account_open = &open;
    return fixture_run(fixture, &request, NULL);
}

/* An employee with an open account. */
static inline int fixture_employee(struct fixture *fixture, const char *person_no,
                                   const char *region)
{
    int rc = fixture_person_add(fixture, person_no, region, FAMLEDGER__SCHEME__SCHEME_EMPLOYEE);
    return rc ? rc : fixture_account_open(fixture, person_no);
}

static inline int fixture_credit(struct fixture *fixture, const char *person_no,
                                 int64_t amount_fen, const char *reference,
                                 Famledger__Response **out)
{
    Famledger__CreditRequest credit = FAMLEDGER__CREDIT_REQUEST__INIT;
    credit.person_no = (char *)person_no;
    credit.amount_fen = amount_fen;
    credit.reference = (char *)reference;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_CREDIT;
    request.credit = &credit;
    return fixture_run(fixture, &request, out);
}

static inline int64_t fixture_balance(struct fixture *fixture, const char *person_no)
{
    Famledger__AccountGetRequest get = FAMLEDGER__ACCOUNT_GET_REQUEST__INIT;
    get.person_no = (char *)person_no;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_ACCOUNT_GET;
    request.account_get = &get;
    Famledger__Response *response = NULL;
    if (fixture_run(fixture, &request, &response) != 0)
        return -1;
    return response->account->account->balance_fen;
}

static inline int fixture_bind(struct fixture *fixture, const char *holder,
                               const char *beneficiary, Famledger__Relation relation)
{
    Famledger__BindRequest bind = FAMLEDGER__BIND_REQUEST__INIT;
    bind.holder = (char *)holder;
    bind.beneficiary = (char *)beneficiary;
    bind.relation = relation;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_BIND;
    request.bind = &bind;
    return fixture_run(fixture, &request, NULL);
}

/* Run a request that is only its body (any member of the oneof). */
static inline int fixture_body(struct fixture *fixture, Famledger__Request__BodyCase body_case,
                               void *body, Famledger__Response **out)
{
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = body_case;
    request.person_add = body; /* every oneof member shares one slot */
    return fixture_run(fixture, &request, out);
}

static inline int fixture_merchant(struct fixture *fixture, const char *code,
                                   Famledger__MerchantKind kind)
{
    Famledger__MerchantAddRequest add = FAMLEDGER__MERCHANT_ADD_REQUEST__INIT;
    add.code = (char *)code;
    add.name = (char *)"Designated Pharmacy";
    add.kind = kind;
    add.region = (char *)"110101";
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_MERCHANT_ADD;
    request.merchant_add = &add;
    return fixture_run(fixture, &request, NULL);
}

/* Quote (quote = true) or settle; `settle` is copied, so callers may reuse it. */
static inline int fixture_settle(struct fixture *fixture, bool quote,
                                 const Famledger__SettleRequest *settle,
                                 Famledger__Response **out)
{
    Famledger__SettleRequest *copy = ARENA_NEW(&fixture->arena, Famledger__SettleRequest);
    *copy = *settle;
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = quote ? FAMLEDGER__REQUEST__BODY_QUOTE : FAMLEDGER__REQUEST__BODY_SETTLE;
    request.settle = copy; /* quote and settle share the oneof's storage */
    return fixture_run(fixture, &request, out);
}

#endif
