/* upgrade.c -- the part of an upgrade the store cannot make: records whose shape changed.
 * store_open calls it in the opening transaction (store.h), so an upgrade is all or nothing. */
#include "aid.h"
#include "clearing.h"
#include "patient.h"
#include "store.h"
#include "wallet_statement.h"

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
