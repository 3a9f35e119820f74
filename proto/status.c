/* status.c -- names and messages of famledger status codes, from FL_STATUS_MAP. */
#include "famledger_status.h"

const char *fl_strerror(int code)
{
    switch (code) {
    case FL_OK:
        return "ok";
#define FL_STATUS_MESSAGE_(name, number, message)                                                 \
    case FL_ERR_##name:                                                                           \
        return message;
        FL_STATUS_MAP(FL_STATUS_MESSAGE_)
#undef FL_STATUS_MESSAGE_
    default:
        return "unknown status";
    }
}

const char *fl_status_name(int code)
{
    switch (code) {
    case FL_OK:
        return "OK";
#define FL_STATUS_NAME_(name, number, message)                                                    \
    case FL_ERR_##name:                                                                           \
        return #name;
        FL_STATUS_MAP(FL_STATUS_NAME_)
#undef FL_STATUS_NAME_
    default:
        return "UNKNOWN";
    }
}
