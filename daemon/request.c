/* request.c -- helpers every handler shares. */
#include "request.h"

#include "log.h"
#include "wire_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void request_response_fail(Famledger__Response *response, struct arena *arena, int status,
                           const char *format, va_list args)
{
    char message[512];
    vsnprintf(message, sizeof(message), format, args);
    /* Cut on a character boundary: the message may quote a client's (valid UTF-8) text. */
    message[wire_text_complete(message)] = '\0';
    response->status = (Famledger__Status)-status;
    response->error = arena_strdup(arena, message);
}

static void request_fail_wrap(Famledger__Response *response, struct arena *arena, int status,
                              const char *format, ...)
{
    va_list args;
    va_start(args, format);
    request_response_fail(response, arena, status, format, args);
    va_end(args);
}

int request_fail(struct request_ctx *ctx, int status, const char *format, ...)
{
    if (status >= 0) {
        /* A caller passed a function's 0 or 1 ("found") on as a failure: our bug, which the
         * client must still see as a failure with a status it knows, and the log must name. */
        log_error("request: a failure without an error status (%d): %s", status, format);
        status = FL_ERR_INTERNAL;
    }
    /* A callee that failed with this status has said why already: its words follow ours
     * ("cannot record the credit: the class total fund holds ... and -1.01 more would overflow
     * it"). */
    const char *cause = ctx->response->status == (Famledger__Status)-status ? ctx->response->error
                                                                            : NULL;
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    if (cause && *cause)
        request_fail_wrap(ctx->response, ctx->arena, status, "%s: %s", message, cause);
    else
        request_fail_wrap(ctx->response, ctx->arena, status, "%s", message);
    return status;
}

int request_require_merchant(struct request_ctx *ctx, const char *code)
{
    if (config_peer_may_act_for(ctx->config, ctx->peer, code))
        return 0;
    return request_fail(ctx, FL_ERR_PERMISSION_DENIED, "uid %u may not act for merchant %s: "
                        "merchant_peers maps it to other merchants or none",
                        (unsigned)ctx->peer->uid, code);
}

int64_t request_clock_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

const char *request_yuan(struct request_ctx *ctx, int64_t amount_fen)
{
    char *text = arena_alloc(ctx->arena, 32);
    uint64_t magnitude = amount_fen < 0 ? -(uint64_t)amount_fen : (uint64_t)amount_fen;
    snprintf(text, 32, "%s%llu.%02llu", amount_fen < 0 ? "-" : "",
             (unsigned long long)(magnitude / 100), (unsigned long long)(magnitude % 100));
    return text;
}

bool request_may_read_merchant(const struct request_ctx *ctx, const char *code)
{
    return (ctx->peer->roles & (ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_AUDIT))) ||
           config_peer_may_act_for(ctx->config, ctx->peer, code);
}

int request_require_merchant_reader(struct request_ctx *ctx, const char *code)
{
    return request_may_read_merchant(ctx, code) ? 0 : request_require_merchant(ctx, code);
}
