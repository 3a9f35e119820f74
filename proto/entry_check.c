/* entry_check.c -- whether a log entry is whole (entry_check.h). */
#include "entry_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool legs_whole(Famledger__Leg *const *legs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (legs[i]->amount_fen < 0 || legs[i]->balance_after_fen < 0 ||
            legs[i]->refunded_fen < 0)
            return false;
    return true;
}

static bool settlement_whole(const Famledger__Settlement *s)
{
    return s && s->amount_fen >= 0 && s->acct_pay_fen >= 0 && s->acct_mulaid_pay_fen >= 0 &&
           s->cash_pay_fen >= 0 && s->balc_fen >= 0 && s->refunded_fen >= 0 &&
           legs_whole(s->legs, s->n_legs);
}

/* A refund; NULL when `optional` (a reversal that found nothing). */
static bool refund_whole(const Famledger__Refund *refund, bool optional)
{
    if (!refund)
        return optional;
    if (refund->amount_fen < 0)
        return false;
    for (size_t i = 0; i < refund->n_legs; i++)
        if (refund->legs[i]->amount_fen < 0 || refund->legs[i]->balance_after_fen < 0)
            return false;
    return true;
}

/* A claim as the daemon writes it: its request, and amounts that are sizes. */
bool entry_claim_whole(const Famledger__EmergencyClaim *claim)
{
    return claim && claim->request && claim->request->amount_fen >= 0 &&
           claim->returned_fen >= 0 && claim->returned_fen <= claim->request->amount_fen &&
           claim->balance_after_fen >= 0;
}

static bool movement_whole(const void *request, const Famledger__Movement *movement)
{
    return request && movement && movement->amount_fen >= 0 && movement->balance_after_fen >= 0 &&
           movement->wallet_fen >= 0;
}

static bool send_whole(const Famledger__WalletSend *send)
{
    return send && send->amount_fen >= 0;
}

static bool hold_whole(const Famledger__Hold *hold)
{
    return hold && hold->request && hold->request->amount_fen >= 0 &&
           settlement_whole(hold->quote);
}

static bool body_whole(const Famledger__Entry *entry)
{
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED:
        return entry->account_credited->amount_fen >= 0 &&
               entry->account_credited->balance_after_fen >= 0;
    case FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED:
        return entry->person_migrated->opening_balance_fen >= 0;
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_FROZEN:
        return entry->account_frozen->balance_fen >= 0;
    case FAMLEDGER__ENTRY__BODY_BINDING_ADDED:
        return entry->binding_added->binding != NULL;
    case FAMLEDGER__ENTRY__BODY_MERCHANT_ADDED:
        return entry->merchant_added->merchant != NULL;
    case FAMLEDGER__ENTRY__BODY_SETTLED:
        return entry->settled->request && entry->settled->request->amount_fen >= 0 &&
               settlement_whole(entry->settled->settlement);
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
        return refund_whole(entry->refunded->refund, false);
    case FAMLEDGER__ENTRY__BODY_REVERSED:
        return entry->reversed->request && refund_whole(entry->reversed->refund, true);
    case FAMLEDGER__ENTRY__BODY_WITHDRAWN:
        return movement_whole(entry->withdrawn->request, entry->withdrawn->movement);
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT:
        return movement_whole(entry->transferred_out->request, entry->transferred_out->movement);
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN:
        return movement_whole(entry->transferred_in->request, entry->transferred_in->movement);
    case FAMLEDGER__ENTRY__BODY_PAID_OUT:
        return entry->paid_out->request && entry->paid_out->payout &&
               entry->paid_out->payout->amount_fen >= 0 &&
               entry->paid_out->payout->owed_after_fen >= 0;
    case FAMLEDGER__ENTRY__BODY_RECOVERED: /* the merchant still owes, or owes nothing */
        return entry->recovered->request && entry->recovered->payout &&
               entry->recovered->payout->amount_fen >= 0 &&
               entry->recovered->payout->owed_after_fen <= 0;
    case FAMLEDGER__ENTRY__BODY_WALLET_SENT:
        return entry->wallet_sent->request && send_whole(entry->wallet_sent->send) &&
               entry->wallet_sent->balance_after_fen >= 0;
    case FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED:
        return send_whole(entry->wallet_send_closed->send) &&
               entry->wallet_send_closed->balance_after_fen >= 0;
    case FAMLEDGER__ENTRY__BODY_HOLD_PLACED:
        return hold_whole(entry->hold_placed->hold);
    case FAMLEDGER__ENTRY__BODY_HOLD_CLOSED:
        return hold_whole(entry->hold_closed->hold);
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED:
        return entry_claim_whole(entry->emergency_claimed->claim);
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLOSED:
        return entry_claim_whole(entry->emergency_closed->claim);
    case FAMLEDGER__ENTRY__BODY_CALENDAR_SET:
        return entry->calendar_set->calendar != NULL;
    case FAMLEDGER__ENTRY__BODY_AID_LIMIT_SET:
        return entry->aid_limit_set->limit && entry->aid_limit_set->limit->monthly_fen >= 0 &&
               entry->aid_limit_set->limit->yearly_fen >= 0;
    default:
        return true;
    }
}

bool entry_whole(const Famledger__Entry *entry)
{
    for (size_t i = 0; i < entry->n_postings; i++)
        if (entry->postings[i]->amount_fen == INT64_MIN)
            return false;
    return body_whole(entry);
}

Famledger__Movement *entry_movement(const Famledger__Entry *entry)
{
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_WITHDRAWN:
        return entry->withdrawn->movement;
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT:
        return entry->transferred_out->movement;
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN:
        return entry->transferred_in->movement;
    default:
        return NULL;
    }
}

bool entry_day_parse(const char *date, char day[9])
{
    static const int digit_at[8] = {0, 1, 2, 3, 5, 6, 8, 9};
    if (strlen(date) != 10 || date[4] != '-' || date[7] != '-')
        return false;
    for (int i = 0; i < 8; i++) {
        if (date[digit_at[i]] < '0' || date[digit_at[i]] > '9')
            return false;
        day[i] = date[digit_at[i]];
    }
    day[8] = '\0';
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = atoi(day) / 10000;
    int month = (day[4] - '0') * 10 + (day[5] - '0');
    int date_of_month = (day[6] - '0') * 10 + (day[7] - '0');
    if (month < 1 || month > 12 || date_of_month < 1 || date_of_month > month_days[month - 1])
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return !(month == 2 && date_of_month == 29 && !leap);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    unsigned year_of_era = (unsigned)(year - era * 400);
    unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + (int64_t)day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned day_of_era = (unsigned)(days - era * 146097);
    unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    unsigned mp = (5 * day_of_year + 2) / 153;
    *day = day_of_year - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)year_of_era + era * 400 + (*month <= 2);
}

/* Whether `date` ("YYYY-MM-DD") is one of the sorted `dates`. */
static bool date_listed(char *const *dates, size_t count, const char *date)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int order = strcmp(dates[middle], date);
        if (order == 0)
            return true;
        if (order < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return false;
}

static bool working_day(int64_t days, const struct entry_calendars *calendars, char text[11])
{
    int64_t year;
    unsigned month, date;
    civil_from_days(days, &year, &month, &date);
    char buffer[32];
    snprintf(buffer, sizeof(buffer), "%04d-%02u-%02u", (int)year, month, date);
    memcpy(text, buffer, 10);
    text[10] = '\0';
    for (size_t i = 0; calendars && i < 2; i++) {
        const Famledger__Calendar *calendar = calendars->years[i];
        if (!calendar || calendar->year != (uint32_t)year)
            continue;
        if (date_listed(calendar->workdays, calendar->n_workdays, text))
            return true;
        if (date_listed(calendar->holidays, calendar->n_holidays, text))
            return false;
    }
    int64_t weekday = ((days % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday (4) */
    return weekday != 0 && weekday != 6;
}

void entry_working_day_after(const char day[9], int working_days,
                             const struct entry_calendars *calendars, char due[11])
{
    int year = atoi(day) / 10000;
    unsigned month = (unsigned)((day[4] - '0') * 10 + (day[5] - '0'));
    unsigned date = (unsigned)((day[6] - '0') * 10 + (day[7] - '0'));
    int64_t days = days_from_civil(year, month, date);
    while (working_days > 0)
        if (working_day(++days, calendars, due))
            working_days--;
}

bool entry_calendar_whole(const Famledger__Calendar *calendar)
{
    if (calendar->year < 2000 || calendar->year > 9999)
        return false;
    char *const *lists[2] = {calendar->holidays, calendar->workdays};
    size_t counts[2] = {calendar->n_holidays, calendar->n_workdays};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            char day[9];
            const char *text = lists[l][i];
            if (!entry_day_parse(text, day) || (uint32_t)(atoi(day) / 10000) != calendar->year ||
                (i > 0 && strcmp(lists[l][i - 1], text) >= 0) ||
                (l == 1 && date_listed(calendar->holidays, calendar->n_holidays, text)))
                return false;
        }
    return true;
}
