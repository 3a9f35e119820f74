/* dispatch.h -- request type -> handler, required roles, and whether it writes. */
#ifndef FAMLEDGER_DISPATCH_H
#define FAMLEDGER_DISPATCH_H

#include "request.h"

#include <stdbool.h>

struct dispatch_route {
    Famledger__Request__BodyCase body_case;
    const char *name;      /* as in the .proto oneof */
    unsigned roles;        /* ROLE_BIT()s; holding any one of them is enough */
    bool writes;           /* goes through the commit queue */
    request_handler handler;
    bool background;       /* a long read: runs on libuv's thread pool, not the loop thread */
};

/* The route of a request body, or NULL for a body this daemon does not know. */
const struct dispatch_route *dispatch_route_find(Famledger__Request__BodyCase body_case);

/* Routes are numbered from 0 (metrics count by route). */
size_t dispatch_route_count(void);
const struct dispatch_route *dispatch_route_at(size_t index);
size_t dispatch_route_index(const struct dispatch_route *route);

/* "admin", "settle|audit": the roles of a route, for messages. */
const char *dispatch_roles_text(unsigned roles, char *text, size_t text_bytes);

/* Run the route's handler; guarantees the response carries a status and, on error, a message
 * and no body. Returns the handler's status. */
int dispatch_execute(const struct dispatch_route *route, struct request_ctx *ctx,
                     const Famledger__Request *request);

#endif
