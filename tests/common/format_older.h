/* format_older.h -- test helper: a ledger of an older format, made from one of today's. */
#ifndef FAMLEDGER_TEST_FORMAT_OLDER_H
#define FAMLEDGER_TEST_FORMAT_OLDER_H

/* Rewrite the stopped ledger in `dir` to format 2 to 11: for 11 and older, no emergency claims
 * and calendars tables (which must be empty); for 10 and older, no wallet
 * statements (wallet_links); for 8 and older, the tables keyed by
 * seq in trees of their own instead of by_seq; for 7 and older, a patient's settlements as an
 * index (patient_settlements); for 6 and older, a merchant's day as an index and its totals
 * keyed merchant first (merchant_day, clearing_days); for 5 and older, a day index
 * (day_entries); for 4 and older, the mutual-aid counts in a table of their own (aid_usage);
 * for 3 and older, statements as the index those formats kept (account_entries); for 2,
 * without the wallet, hold and aid tables. Straight through LMDB. Returns 0, or 1 with a line
 * on stderr. */
int format_older_make(const char *dir, int format);

#endif
