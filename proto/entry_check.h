/* entry_check.h -- whether a log entry is whole: what famledgerd and verify ask of every entry
 * they read before they read into it.
 *
 * The log is hash-chained, but the chain only says that no entry changed since it was written
 * or since the chain was last rewritten: whoever can write the file and knows the format can
 * rewrite an entry and every hash after it (tests/integration/corrupt.c does). Such an entry
 * decodes, yet may lack a part that every entry of its kind has, or carry an amount that no
 * daemon writes. Code that reads the log follows the parts and negates and sums the amounts,
 * so it asks entry_whole first: the daemon refuses the entry as damage (INTERNAL), and verify
 * names it.
 *
 * Also here, as both sides need the same answer from an entry: its days (entry_day_parse),
 * and the working day an emergency claim is due on (entry_working_day_after).
 */
#ifndef FAMLEDGER_ENTRY_CHECK_H
#define FAMLEDGER_ENTRY_CHECK_H

#include <stdbool.h>

#include "famledger.pb-c.h"

/* Whether `entry` has each part (sub-message) that its kind of body always has, and no
 * negative amount: a daemon writes every amount as a size, the direction in the kind, but for
 * a posting's, which is signed and never INT64_MIN. (A reversal that found nothing to give
 * back has no refund; that part may be missing.) */
bool entry_whole(const Famledger__Entry *entry);

/* The movement of a withdrawal or a transfer, or NULL for an entry of another kind (or one
 * without its movement). */
Famledger__Movement *entry_movement(const Famledger__Entry *entry);

/* A real day as requests and day-close entries give it, "YYYY-MM-DD", into "YYYYMMDD";
 * false for anything that is not one. */
bool entry_day_parse(const char *date, char day[9]);

/* Whether an emergency claim as an entry carries it is whole: its request, and amounts that are
 * sizes, no more returned than claimed. */
bool entry_claim_whole(const Famledger__EmergencyClaim *claim);

/* An emergency claim is returned within this many working days (DOMAIN.md, under Refunds). */
#define EMERGENCY_WORKING_DAYS 7

/* The calendars of a year and of the year after (each NULL when none was set): the days off
 * and the weekend days worked beyond Monday to Friday. */
struct entry_calendars {
    const Famledger__Calendar *years[2];
};

/* The `working_days`th (at least the 1st) working day after business day `day` ("YYYYMMDD", a
 * real day), as "YYYY-MM-DD": Monday to Friday, but for a calendar's days off and with its
 * weekend days worked (`calendars` may be NULL). */
void entry_working_day_after(const char day[9], int working_days,
                             const struct entry_calendars *calendars, char due[11]);

/* Whether a calendar is as famledgerd keeps one: a year of 2000 to 9999, each date a real day
 * of that year, each list sorted without repeats, no day both off and worked. */
bool entry_calendar_whole(const Famledger__Calendar *calendar);

#endif
