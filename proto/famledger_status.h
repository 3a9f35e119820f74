/* famledger_status.h -- the one list of famledger status codes, shared by daemon and clients.
 *
 * Every entry names a Status value of proto/famledger.proto, its number there, and the message
 * fl_strerror() gives for it. C code uses the negated number: 0 is success, FL_ERR_X < 0 an
 * error, so that functions return int in the style of libuv and LMDB. The daemon checks at
 * compile time that these numbers match the generated protobuf enum.
 */
#ifndef FAMLEDGER_STATUS_H
#define FAMLEDGER_STATUS_H

#ifndef FL_EXPORT
#define FL_EXPORT __attribute__((visibility("default")))
#endif

#define FL_STATUS_MAP(XX)                                                                         \
    XX(INVALID_ARGUMENT, 1, "invalid argument")                                                   \
    XX(MALFORMED_REQUEST, 2, "malformed request")                                                 \
    XX(FRAME_TOO_LARGE, 3, "frame too large")                                                     \
    XX(UNSUPPORTED, 4, "unsupported request")                                                     \
    XX(PERMISSION_DENIED, 5, "permission denied")                                                 \
    XX(BUSY, 6, "daemon busy, too many connections")                                              \
    XX(SHUTTING_DOWN, 7, "daemon shutting down")                                                  \
    XX(OUT_OF_SPACE, 8, "ledger out of space")                                                    \
    XX(INTERNAL, 9, "internal storage error")                                                     \
    XX(UNKNOWN_PERSON, 20, "unknown person")                                                      \
    XX(PERSON_EXISTS, 21, "person already registered")                                            \
    XX(NO_ACCOUNT, 22, "person has no personal account")                                          \
    XX(ACCOUNT_EXISTS, 23, "account already open")                                                \
    XX(NOT_EMPLOYEE, 24, "only employee-scheme persons have a personal account")                  \
    XX(ACCOUNT_CLOSED, 25, "account closed")                                                      \
    XX(UNKNOWN_ENTRY, 26, "no such log entry")                                                    \
    XX(CONFLICT, 27, "reference already used with different content")                            \
    XX(SELF_BINDING, 40, "a holder cannot bind themselves")                                       \
    XX(BINDING_EXISTS, 41, "already bound")                                                       \
    XX(UNKNOWN_RELATION, 42, "not one of the eight close relations")                              \
    XX(HOLDER_BINDING_LIMIT, 43, "the holder already funds the maximum number of relatives")      \
    XX(BENEFICIARY_BINDING_LIMIT, 44, "the beneficiary already has the maximum number of funders")\
    XX(CROSS_PROVINCE_NOT_ALLOWED, 45, "binding across these provinces is not switched on")       \
    XX(NOT_BOUND, 46, "not bound")                                                                \
    XX(MERCHANT_EXISTS, 47, "merchant already registered")                                        \
    XX(UNKNOWN_MERCHANT, 48, "unknown merchant")                                                  \
    XX(MERCHANT_SUSPENDED, 49, "merchant suspended")                                              \
    XX(CATEGORY_NOT_ALLOWED, 50, "this merchant may not settle this category")                    \
    XX(INSUFFICIENT_FUNDS, 51, "the accounts cannot cover the whole amount")                      \
    XX(UNKNOWN_SETTLEMENT, 52, "unknown settlement")                                              \
    XX(ALREADY_CANCELLED, 60, "settlement already cancelled")                                     \
    XX(REFUND_EXCEEDS_PAID, 61, "refund exceeds what the accounts paid")                          \
    XX(WRONG_MERCHANT, 62, "only the merchant that settled may do this")                          \
    XX(PERSON_SUSPENDED, 63, "networked settlement suspended for this person")                    \
    XX(ACCOUNT_FROZEN, 64, "account frozen")                                                      \
    XX(WITHDRAWAL_NOT_ALLOWED, 65, "withdrawal not allowed")                                      \
    XX(PERSON_DECEASED, 66, "person deceased")                                                    \
    XX(PERSON_INACTIVE, 67, "person moved out or opted out")                                      \
    XX(PAYOUT_EXCEEDS_OWED, 80, "payout exceeds what is owed")                                    \
    XX(REVERSED, 81, "settlement reference reversed")                                             \
    XX(TRANSFER_MISMATCH, 82, "transfer-in does not match its transfer-out")                      \
    XX(RELATION_CONFLICT, 83, "relation contradicts a recorded one")                              \
    XX(REMOTE_NOT_ALLOWED, 84, "settlement outside the patient's province not allowed")           \
    XX(WALLET_DAILY_LIMIT, 85, "the day's wallet sends are used up")                              \
    XX(WALLET_SEND_LIMIT, 86, "more than one wallet send may carry")                              \
    XX(WALLET_QUIET_HOURS, 87, "no wallet sends during the quiet hours")                          \
    XX(WALLET_SEND_PENDING, 88, "a wallet send of this holder still waits")                       \
    XX(UNKNOWN_WALLET_SEND, 89, "unknown wallet send")                                            \
    XX(WALLET_SEND_CLOSED, 90, "wallet send accepted, declined or returned already")              \
    XX(UNKNOWN_HOLD, 91, "unknown hold")                                                          \
    XX(HOLD_MISMATCH, 92, "the settlement differs from the held quote")                           \
    XX(HOLD_CLOSED, 93, "hold captured, released or expired")                                     \
    XX(ACCOUNT_HELD, 94, "money of the account is held for a quote")                              \
    XX(SUBSCRIBER_BEHIND, 95, "the change stream's reader fell behind")                           \
    XX(SNAPSHOT_EXPIRED, 96, "the audit snapshot was open too long")                              \
    XX(UNKNOWN_EMERGENCY_CLAIM, 97, "unknown emergency claim")                                    \
    XX(EMERGENCY_CLAIM_CLOSED, 98, "emergency claim returned or rejected already")                \
    XX(FUNDING_ORDER_FIXED, 99, "the region keeps the funding order as bound")                    \
    XX(UNAVAILABLE, 100, "cannot connect to famledgerd")                                          \
    XX(TIMEOUT, 101, "timed out waiting for famledgerd")                                          \
    XX(PROTOCOL_ERROR, 102, "protocol error")

enum fl_status {
    FL_OK = 0,
#define FL_STATUS_ENUM_(name, number, message) FL_ERR_##name = -(number),
    FL_STATUS_MAP(FL_STATUS_ENUM_)
#undef FL_STATUS_ENUM_
};

/* Return a static human-readable message for a status code (0 or FL_ERR_*); never NULL. */
FL_EXPORT const char *fl_strerror(int code);

/* Return the static upper-case name of a status code ("OK", "PERMISSION_DENIED"); never NULL. */
FL_EXPORT const char *fl_status_name(int code);

#endif
