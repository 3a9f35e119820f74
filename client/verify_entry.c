/* verify_entry.c -- what famledgerd always writes in an entry, beyond its parts (entry_whole):
 * the numbers it learns only once the entry is appended (its own seq, as a settlement's id, a
 * hold's or a send's) are 0 in the log, its copy of the request agrees with what it made of
 * it, and an enum holds one of its values. An entry that differs was not written by a
 * famledgerd, even when nothing verify keeps depends on the field (a copy a reply is rebuilt
 * from, a binding ended since): verify names it.
 */
#include "verify_internal.h"

#include "entry_check.h"

#include <string.h>

static bool same(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* A quote or a settlement as its request asked for it. */
static const char *settlement_canonical(const Famledger__SettleRequest *request,
                                        const Famledger__Settlement *settlement)
{
    if (settlement->settlement_id != 0)
        return "settlement_id (its entry's own seq is not written)";
    if (settlement->cancelled || settlement->refunded_fen != 0 || settlement->n_refunds != 0)
        return "the settlement's refunds (a new one has none)";
    int64_t paid;
    if (__builtin_add_overflow(settlement->acct_pay_fen, settlement->acct_mulaid_pay_fen, &paid) ||
        __builtin_add_overflow(paid, settlement->cash_pay_fen, &paid) ||
        paid != settlement->amount_fen)
        return "the settlement's split (own account, relatives' and cash make its amount)";
    if ((request->no_account && settlement->n_legs != 0) ||
        (request->all_or_nothing && settlement->cash_pay_fen != 0))
        return "the request's flags (no account, all or nothing) against the split";
    if (!same(request->merchant_code, settlement->merchant_code) ||
        !same(request->merchant_reference, settlement->merchant_reference) ||
        !same(request->patient, settlement->patient) ||
        request->amount_fen != settlement->amount_fen ||
        request->category != settlement->category || request->hold_id != settlement->hold_id)
        return "the request's merchant, reference, patient, amount, category or hold";
    if (settlement->aid_at_capture && (!settlement->hold_id || !settlement->aid_counted))
        return "aid_at_capture (only a capture, its aid counted, carries it)";
    return NULL;
}

static const char *refund_canonical(const Famledger__Refund *refund, uint64_t settlement_id)
{
    if (refund->refund_id != 0)
        return "refund_id (its entry's own seq is not written)";
    if (refund->settlement_id != settlement_id)
        return "the refund's settlement";
    return NULL;
}

/* A withdrawal's or a transfer's movement, as its request asked for it. */
static const char *movement_canonical(const Famledger__Movement *movement, const char *kind,
                                      const char *person_no, const char *reference)
{
    if (movement->seq != 0)
        return "the movement's seq (its entry's own is not written)";
    if (!same(movement->kind, kind))
        return "the movement's kind";
    if (!same(movement->person_no, person_no) || !same(movement->reference, reference))
        return "the request's person or reference";
    return NULL;
}

static bool scheme_known(Famledger__Scheme scheme)
{
    return scheme == FAMLEDGER__SCHEME__SCHEME_EMPLOYEE ||
           scheme == FAMLEDGER__SCHEME__SCHEME_RESIDENT;
}

/* A payout names the fund it was paid from, and its postings move the money one way: into the
 * payee's (the merchant's payable, or what is owed a person in cash) out of the fund (whose
 * class total is what it paid). A recovery moves it the other way, from a merchant's payable
 * back to the fund (daemon/clearing.c: payout_run). */
static const char *payout_canonical(const Famledger__Entry *entry)
{
    bool recovery = entry->body_case == FAMLEDGER__ENTRY__BODY_RECOVERED;
    const Famledger__Payout *payout =
        recovery ? entry->recovered->payout : entry->paid_out->payout;
    if (payout->seq != 0)
        return "the payout's seq (its entry's own is not written)";
    if (recovery && (!*payout->merchant_code || *payout->person_no))
        return "the recovery's merchant (only a merchant owes the fund)";
    bool merchant = *payout->merchant_code != '\0';
    int64_t to_fund = recovery ? -payout->amount_fen : payout->amount_fen;
    if (entry->n_postings != 2)
        return "the payout's postings (the payee's and the fund's)";
    for (size_t i = 0; i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        if (posting->account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND) {
            if (!same(posting->id, payout->region))
                return "the payout's region (the fund its posting pays into)";
            if (posting->amount_fen != to_fund)
                return "the payout's postings (which way the money went)";
        } else if (posting->account_class !=
                       (merchant ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_MERCHANT_PAYABLE
                                 : FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE) ||
                   !same(posting->id, merchant ? payout->merchant_code : payout->person_no) ||
                   posting->amount_fen != -to_fund) {
            return "the payout's postings (which way the money went)";
        }
    }
    return NULL;
}

/* A claim made is open, its id and closing not written, and moves nothing. A close names its
 * claim; it is returned or rejected, its own seq not written; money it returns leaves the
 * fund for the patient's account, or for what is owed them in cash (daemon/emergency.c). */
static const char *claim_canonical(const Famledger__Entry *entry)
{
    bool made = entry->body_case == FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED;
    const Famledger__EmergencyClaim *claim =
        made ? entry->emergency_claimed->claim : entry->emergency_closed->claim;
    if (made)
        return claim->claim_id != 0 || claim->closed_seq != 0 || claim->returned_fen != 0 ||
                       *claim->reason || claim->cash_refund_due || claim->late ||
                       claim->balance_after_fen != 0 ||
                       claim->state != FAMLEDGER__EMERGENCY_CLAIM_STATE__EMERGENCY_OPEN ||
                       entry->n_postings != 0
                   ? "the claim as made (open, nothing returned, no postings)"
                   : NULL;
    if (claim->claim_id == 0 || claim->closed_seq != 0)
        return "the claim's id or closing (its own seq is not written)";
    int64_t returned = claim->returned_fen;
    if (entry->n_postings != (returned > 0 ? 2u : 0u))
        return "the close's postings (the fund's and the patient's, when money went back)";
    for (size_t i = 0; i < entry->n_postings; i++) {
        const Famledger__Posting *posting = entry->postings[i];
        Famledger__AccountClass to =
            claim->cash_refund_due ? FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_CASH_REFUND_DUE
                                   : FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_PERSONAL;
        bool fund = posting->account_class == FAMLEDGER__ACCOUNT_CLASS__ACCOUNT_CLASS_FUND;
        if (fund ? posting->amount_fen != -returned
                 : posting->account_class != to || posting->amount_fen != returned ||
                       !same(posting->id, claim->request->patient))
            return "the close's postings (which way the money went)";
    }
    return NULL;
}

const char *verify_entry_canonical(const Famledger__Entry *entry)
{
    switch (entry->body_case) {
    case FAMLEDGER__ENTRY__BODY_BINDING_ADDED: {
        const Famledger__Binding *binding = entry->binding_added->binding;
        if (binding->bound_seq != 0)
            return "bound_seq (its entry's own seq is not written)";
        if (binding->relation < FAMLEDGER__RELATION__RELATION_SPOUSE ||
            binding->relation > FAMLEDGER__RELATION__RELATION_MATERNAL_GRANDCHILD)
            return "relation (not one of the eight close relations)";
        if (binding->channel < FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_UNSPECIFIED ||
            binding->channel > FAMLEDGER__BIND_CHANNEL__BIND_CHANNEL_COUNTER)
            return "channel";
        return NULL;
    }
    case FAMLEDGER__ENTRY__BODY_MERCHANT_ADDED:
        return entry->merchant_added->merchant->added_seq != 0
                   ? "added_seq (its entry's own seq is not written)"
                   : NULL;
    case FAMLEDGER__ENTRY__BODY_SETTLED:
        return settlement_canonical(entry->settled->request, entry->settled->settlement);
    case FAMLEDGER__ENTRY__BODY_HOLD_PLACED: {
        const Famledger__Hold *hold = entry->hold_placed->hold;
        if (hold->hold_id != 0 || hold->closed_seq != 0 ||
            hold->state != FAMLEDGER__HOLD_STATE__HOLD_OPEN)
            return "the hold's id, state or closing (an open hold, its own seq not written)";
        return settlement_canonical(hold->request, hold->quote);
    }
    case FAMLEDGER__ENTRY__BODY_WALLET_SENT: {
        const Famledger__WalletSendRequest *request = entry->wallet_sent->request;
        const Famledger__WalletSend *send = entry->wallet_sent->send;
        if (send->send_id != 0 || send->closed_seq != 0 || send->cash_refund_due ||
            send->state != FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING)
            return "the send's id, state or closing (a pending send, its own seq not written)";
        if (!same(request->holder, send->holder) ||
            !same(request->beneficiary, send->beneficiary) ||
            request->amount_fen != send->amount_fen || !same(request->reference, send->reference))
            return "the request's holder, beneficiary, amount or reference";
        return NULL;
    }
    case FAMLEDGER__ENTRY__BODY_REFUNDED:
        return refund_canonical(entry->refunded->refund, entry->refunded->settlement_id);
    case FAMLEDGER__ENTRY__BODY_REVERSED: {
        const Famledger__Reversed *reversed = entry->reversed;
        if (!reversed->refund)
            return NULL; /* nothing was left to give back */
        if (!reversed->refund->cancel ||
            !same(reversed->refund->reference, reversed->request->merchant_reference))
            return "the refund's reference or kind (a reversal cancels by the settlement's)";
        return refund_canonical(reversed->refund, reversed->settlement_id);
    }
    case FAMLEDGER__ENTRY__BODY_WITHDRAWN: {
        const Famledger__WithdrawRequest *request = entry->withdrawn->request;
        if (entry->withdrawn->movement->reason != request->reason)
            return "the request's reason";
        return movement_canonical(entry->withdrawn->movement, "withdrawal", request->person_no,
                                  request->reference);
    }
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_OUT:
        if (entry->transferred_out->movement->reason != 0)
            return "the movement's reason (a transfer has none)";
        return movement_canonical(entry->transferred_out->movement, "transfer_out",
                                  entry->transferred_out->request->person_no,
                                  entry->transferred_out->request->reference);
    case FAMLEDGER__ENTRY__BODY_TRANSFERRED_IN:
        if (entry->transferred_in->movement->reason != 0)
            return "the movement's reason (a transfer has none)";
        return movement_canonical(entry->transferred_in->movement, "transfer_in",
                                  entry->transferred_in->request->person_no,
                                  entry->transferred_in->request->reference);
    case FAMLEDGER__ENTRY__BODY_PERSON_REGISTERED:
        return scheme_known(entry->person_registered->scheme) ? NULL : "scheme";
    case FAMLEDGER__ENTRY__BODY_PERSON_MIGRATED:
        return scheme_known(entry->person_migrated->scheme) ? NULL : "scheme";
    case FAMLEDGER__ENTRY__BODY_ACCOUNT_CREDITED:
        return entry->account_credited->kind == FAMLEDGER__CREDIT_KIND__CREDIT_ALLOCATION ||
                       entry->account_credited->kind == FAMLEDGER__CREDIT_KIND__CREDIT_DEPOSIT
                   ? NULL
                   : "the credit's kind";
    case FAMLEDGER__ENTRY__BODY_WALLET_SEND_CLOSED: {
        const Famledger__WalletSend *send = entry->wallet_send_closed->send;
        return send->closed_seq != 0 ||
                       send->state == FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_PENDING ||
                       send->state > FAMLEDGER__WALLET_SEND_STATE__WALLET_SEND_RETURNED
                   ? "the send's state or closing (closed, its own seq not written)"
                   : NULL;
    }
    case FAMLEDGER__ENTRY__BODY_PAID_OUT:
    case FAMLEDGER__ENTRY__BODY_RECOVERED:
        return payout_canonical(entry);
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLAIMED:
    case FAMLEDGER__ENTRY__BODY_EMERGENCY_CLOSED:
        return claim_canonical(entry);
    case FAMLEDGER__ENTRY__BODY_CALENDAR_SET: {
        const Famledger__Calendar *calendar = entry->calendar_set->calendar;
        return calendar->set_seq != 0 || !entry_calendar_whole(calendar) || entry->n_postings
                   ? "the calendar (a year's real days, sorted, none both off and worked; its "
                     "own seq not written)"
                   : NULL;
    }
    default:
        return NULL;
    }
}
