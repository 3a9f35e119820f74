/* pipeline.c -- one connection's requests from read to reply, as a state machine without I/O. */
#include "pipeline.h"

#include "require.h"

void pipeline_init(struct pipeline *pipeline, struct pipeline_limits limits)
{
    REQUIRE(limits.items_max > 0);
    *pipeline = (struct pipeline){.limits = limits};
}

static void pipeline_append(struct pipeline *pipeline, struct pipeline_item *item)
{
    item->next = NULL;
    if (pipeline->last)
        pipeline->last->next = item;
    else
        pipeline->first = item;
    pipeline->last = item;
    pipeline->count++;
}

void pipeline_push(struct pipeline *pipeline, struct pipeline_item *item, bool writes,
                   size_t request_bytes)
{
    *item = (struct pipeline_item){.writes = writes, .request_bytes = request_bytes};
    pipeline_append(pipeline, item);
    pipeline->request_bytes += request_bytes;
    if (!pipeline->unstarted)
        pipeline->unstarted = item;
}

void pipeline_push_answered(struct pipeline *pipeline, struct pipeline_item *item,
                            size_t reply_bytes)
{
    *item = (struct pipeline_item){.started = true, .done = true, .reply_bytes = reply_bytes};
    pipeline_append(pipeline, item);
    pipeline->answered_bytes += reply_bytes;
    /* An item answered at once may stand after unstarted ones; unstarted stays where it is,
     * and pipeline_start_next steps over answered items. */
}

struct pipeline_item *pipeline_start_next(struct pipeline *pipeline, bool reads_may_start)
{
    struct pipeline_item *item = pipeline->unstarted;
    while (item && item->started)
        item = item->next;
    pipeline->unstarted = item;
    if (!item || (!item->writes && (pipeline->commits_pending > 0 || !reads_may_start)))
        return NULL;
    item->started = true;
    if (item->writes)
        pipeline->commits_pending++;
    pipeline->unstarted = item->next;
    return item;
}

void pipeline_answer(struct pipeline *pipeline, struct pipeline_item *item, size_t reply_bytes)
{
    REQUIRE(item->started && !item->done);
    if (item->writes) {
        REQUIRE(pipeline->commits_pending > 0);
        pipeline->commits_pending--;
    }
    item->done = true;
    item->reply_bytes = reply_bytes;
    REQUIRE(pipeline->request_bytes >= item->request_bytes);
    pipeline->request_bytes -= item->request_bytes;
    pipeline->answered_bytes += reply_bytes;
}

void pipeline_remove(struct pipeline *pipeline, struct pipeline_item *item)
{
    struct pipeline_item **link = &pipeline->first, *previous = NULL;
    while (*link != item) {
        REQUIRE(*link != NULL);
        previous = *link;
        link = &(*link)->next;
    }
    *link = item->next;
    if (pipeline->last == item)
        pipeline->last = previous;
    if (pipeline->unstarted == item)
        pipeline->unstarted = item->next;
    pipeline->count--;
    if (item->done) {
        pipeline->answered_bytes -= item->reply_bytes;
    } else {
        pipeline->request_bytes -= item->request_bytes;
        if (item->started && item->writes)
            pipeline->commits_pending--;
    }
}

struct pipeline_item *pipeline_pop_answered(struct pipeline *pipeline)
{
    struct pipeline_item *item = pipeline->first;
    if (!item || !item->done)
        return NULL;
    pipeline_remove(pipeline, item);
    return item;
}

bool pipeline_running(const struct pipeline *pipeline)
{
    for (const struct pipeline_item *item = pipeline->first; item; item = item->next)
        if (item->started && !item->done)
            return true;
    return false;
}

bool pipeline_replies_within(const struct pipeline *pipeline, size_t socket_queue_bytes)
{
    return pipeline->answered_bytes + socket_queue_bytes < pipeline->limits.unwritten_bytes_max;
}

bool pipeline_may_take(const struct pipeline *pipeline, size_t socket_queue_bytes)
{
    return pipeline->count < pipeline->limits.items_max &&
           pipeline->request_bytes < pipeline->limits.request_bytes_max &&
           pipeline_replies_within(pipeline, socket_queue_bytes);
}
