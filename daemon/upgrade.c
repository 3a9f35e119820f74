/* upgrade.c -- the part of an upgrade the store cannot make: records whose shape changed.
 * store_open calls it in the opening transaction (store.h), so an upgrade is all or nothing. */
#include "aid.h"
#include "clearing.h"
#include "patient.h"
#include "store.h"
#include "wallet_statement.h"

#include "log.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

/* A province's ledger upgrades in minutes, past systemd's start timeout (90 s by default),
 * which would kill the start and, with Restart=on-failure, begin the upgrade again for ever
 * (nothing of it is kept until its one transaction commits). So every walk says how far it
 * is every few seconds, and asks systemd for more time than that. The opening runs on one
 * thread, before the loop starts. */
#define UPGRADE_TELL_NS 5000000000ull
#define UPGRADE_EXTEND_USEC (6 * UPGRADE_TELL_NS / 1000)
/* Writing a province's upgrade out: minutes of pages, then the flushes. */
#define UPGRADE_COMMIT_EXTEND_USEC (30ull * 60 * 1000000)

static uint64_t told_ns;

void upgrade_progress(const char *what, uint64_t done, uint64_t total)
{
    uint64_t now_ns = uv_hrtime();
    if (done != 0 && now_ns - told_ns < UPGRADE_TELL_NS) /* a step's start is always told */
        return;
    told_ns = now_ns;
    char far[48] = ""; /* how far: ", 4096 of 100000", ", 4096", or nothing at a step's start */
    if (total)
        snprintf(far, sizeof(far), ", %llu of %llu", (unsigned long long)done,
                 (unsigned long long)total);
    else if (done)
        snprintf(far, sizeof(far), ", %llu", (unsigned long long)done);
    sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=upgrading the ledger: %s%s",
               UPGRADE_EXTEND_USEC, what, far);
    log_info("store: upgrading: %s%s", what, far);
}

void upgrade_committing(void)
{
    sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=upgrading the ledger: writing it",
               UPGRADE_COMMIT_EXTEND_USEC);
}

int upgrade_records(struct store_txn *txn, int from_format)
{
    /* Format 5: mutual-aid usage moves from its own table into the holders' accounts. A
     * ledger of format 2 had no such table. */
    int rc = from_format < 5 ? aid_usage_fold(txn, from_format >= 3) : 0;
    /* Format 7: a merchant's day as a chain, its totals keyed day first. */
    if (rc == 0 && from_format < 7)
        rc = clearing_days_fold(txn);
    /* Format 8: a patient's settlements as a chain, its head in their account or person. */
    if (rc == 0 && from_format < 8)
        rc = patient_settlements_fold(txn);
    /* Format 11: a wallet's statement as a chain, its head in its balance. */
    return rc == 0 && from_format < 11 ? wallet_links_fold(txn) : rc;
}
