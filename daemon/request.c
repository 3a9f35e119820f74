/* request.c -- helpers every handler shares. */
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int request_fail(struct request_ctx *ctx, int status, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    ctx->response->status = (Famledger__Status)-status;
    ctx->response->error = arena_strdup(ctx->arena, message);
    return status;
}

int64_t request_clock_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}
