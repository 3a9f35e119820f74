/* verify_digest.c -- the stored side of the tables digested whole (persons, accounts, links,
 * references, funded lists, a patient's settlements), folded by the daemon
 * (StateDigestRequest) a page at a time.
 *
 * verify asks for a digest page halfway through each page of the log (verify_catch_up), so
 * that the daemon folds the stored tables on its own core while the client replays, and
 * reads its reply halfway through the next; the tables are then compared
 * without a record crossing the socket, and walked only when a digest differs, to name the
 * key (fl_verify's second pass). A daemon that does not know the request, or digests another
 * way (UNSUPPORTED), has its tables walked as before.
 */
#include "verify_internal.h"

#include <string.h>

/* The next table still to digest, from `index` on; INDEX_COUNT when none is left. */
static int digest_next(const struct verify_digests *digests, int index)
{
    while (index < INDEX_COUNT && (!digests->asked[index] || digests->done[index]))
        index++;
    return index;
}

void verify_digests_plan(struct verify *v, const bool whole[INDEX_COUNT])
{
    struct verify_digests *digests = &v->digests;
    memset(digests, 0, sizeof(*digests));
    for (int index = 0; index < INDEX_COUNT; index++)
        digests->asked[index] = whole[index] && table_digest_known(verify_indexes[index].table);
    digests->walking = digest_next(digests, 0);
}

int verify_digest_ask(struct verify *v)
{
    struct verify_digests *digests = &v->digests;
    if (digests->request || digests->walking == INDEX_COUNT)
        return 0;
    Famledger__StateDigestRequest body = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    body.table = verify_indexes[digests->walking].table;
    body.after_key = (ProtobufCBinaryData){digests->after_key_bytes, digests->after_key};
    body.after_value = (ProtobufCBinaryData){digests->after_value_bytes, digests->after_value};
    body.limit = VERIFY_DIGEST_PAGE;
    body.version = TABLE_DIGEST_VERSION;
    body.key = (ProtobufCBinaryData){sizeof(v->digest_key.bytes), v->digest_key.bytes};
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_STATE_DIGEST;
    request.state_digest = &body;
    return client_call_send(v->client, &request, &digests->request);
}

/* The table being walked is done: on to the next, from its first record. */
static void digest_table_done(struct verify_digests *digests)
{
    digests->done[digests->walking] = true;
    digests->walking = digest_next(digests, digests->walking + 1);
    digests->after_key_bytes = digests->after_value_bytes = 0;
}

int verify_digest_read(struct verify *v)
{
    struct verify_digests *digests = &v->digests;
    uint64_t id = digests->request;
    if (!id)
        return 0;
    digests->request = 0;
    int index = digests->walking;
    /* malloc'd, not in the replies' scratch: the log page read before it is being replayed. */
    struct scratch *replies = v->client->replies;
    v->client->replies = NULL;
    Famledger__Response *response;
    int rc = verify_reply_read(v, id, FAMLEDGER__RESPONSE__BODY_STATE_DIGEST, &response,
                               verify_indexes[index].name);
    v->client->replies = replies;
    if (rc == FL_ERR_UNSUPPORTED) {
        /* A daemon before the request, or of another digest definition: every table it was
         * to digest is walked instead. */
        for (int i = 0; i < INDEX_COUNT; i++)
            digests->asked[i] = digests->done[i] = false;
        digests->walking = INDEX_COUNT;
        v->client->error[0] = '\0';
        return 0;
    }
    if (rc)
        return rc;
    const Famledger__StateDigestReply *reply = response->state_digest;
    digests->stored[index].count += reply->count;
    digests->stored[index].sum += reply->sum;
    digests->damaged[index] += reply->damaged;
    if (reply->more && reply->records > 0 && reply->last_key.len <= sizeof(digests->after_key) &&
        reply->last_value.len <= sizeof(digests->after_value)) {
        memcpy(digests->after_key, reply->last_key.data, reply->last_key.len);
        digests->after_key_bytes = reply->last_key.len;
        if (reply->last_value.len) /* empty bytes may come as NULL */
            memcpy(digests->after_value, reply->last_value.data, reply->last_value.len);
        digests->after_value_bytes = reply->last_value.len;
    } else {
        /* A cursor no page could resume after is damage too: the walk names it. */
        if (reply->more)
            digests->damaged[index]++;
        digest_table_done(digests);
    }
    famledger__response__free_unpacked(response, NULL);
    return 0;
}

int verify_digests_finish(struct verify *v)
{
    int rc = 0;
    while (rc == 0 && (v->digests.request || v->digests.walking < INDEX_COUNT)) {
        rc = verify_digest_ask(v);
        if (rc == 0)
            rc = verify_digest_read(v);
    }
    return rc;
}

void verify_digest_drain(struct verify *v)
{
    uint64_t id = v->digests.request;
    if (!id)
        return;
    v->digests.request = 0;
    struct scratch *replies = v->client->replies;
    v->client->replies = NULL;
    Famledger__Response *response;
    if (!v->client->broken && client_call_receive(v->client, id, &response) == 0)
        famledger__response__free_unpacked(response, NULL);
    v->client->replies = replies;
}
