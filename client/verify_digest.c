/* verify_digest.c -- the stored side of the tables digested whole (persons, accounts, links,
 * references, funded lists, a patient's settlements), folded by the daemon
 * (StateDigestRequest) a page at a time.
 *
 * verify asks for a digest page halfway through each page of the log (verify_catch_up), so
 * that the daemon folds the stored tables on its own core while the client replays, and
 * reads its reply halfway through the next. The pages are sized to spread the tables' records
 * (each reply says how many its table holds) over the whole log, so that the daemon's work per
 * log page stays even and neither side waits for the other; the tables are then compared
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

/* Ask for a page of `limit` records of table `index`, after the cursor when it is the table
 * being walked. */
static int digest_send(struct verify *v, int index, uint32_t limit, uint64_t *id)
{
    struct verify_digests *digests = &v->digests;
    Famledger__StateDigestRequest body = FAMLEDGER__STATE_DIGEST_REQUEST__INIT;
    body.table = verify_indexes[index].table;
    if (index == digests->walking) {
        body.after_key = (ProtobufCBinaryData){digests->after_key_bytes, digests->after_key};
        body.after_value =
            (ProtobufCBinaryData){digests->after_value_bytes, digests->after_value};
    }
    body.limit = limit;
    body.version = TABLE_DIGEST_VERSION;
    body.key = (ProtobufCBinaryData){sizeof(v->digest_key.bytes), v->digest_key.bytes};
    Famledger__Request request = FAMLEDGER__REQUEST__INIT;
    request.body_case = FAMLEDGER__REQUEST__BODY_STATE_DIGEST;
    request.state_digest = &body;
    return client_call_send(v->client, &request, id);
}

/* Read the reply to digest request `id`, of table `index`: 0 with *response, or a client
 * error. A daemon before the request, or of another digest definition (UNSUPPORTED), has every
 * table it was to digest walked instead: 0 with *response NULL. */
static int digest_reply_read(struct verify *v, uint64_t id, int index,
                             Famledger__Response **response)
{
    struct verify_digests *digests = &v->digests;
    /* malloc'd, not in the replies' scratch: the log page read before it is being replayed. */
    struct scratch *replies = v->client->replies;
    v->client->replies = NULL;
    int rc = verify_reply_read(v, id, FAMLEDGER__RESPONSE__BODY_STATE_DIGEST, response,
                               verify_indexes[index].name);
    v->client->replies = replies;
    if (rc == FL_ERR_UNSUPPORTED && v->settlements_digested) {
        /* The replay kept no record of a settlement to walk the stored ones against: a daemon
         * that digested them when asked first and not now is not one verify can finish with. */
        return client_fail(v->client, FL_ERR_PROTOCOL_ERROR,
                           "the daemon stopped digesting its tables during verify");
    }
    if (rc == FL_ERR_UNSUPPORTED) {
        for (int i = 0; i < INDEX_COUNT; i++)
            digests->asked[i] = digests->done[i] = false;
        digests->walking = INDEX_COUNT;
        v->client->error[0] = '\0';
        *response = NULL;
        return 0;
    }
    return rc;
}

int verify_digests_size(struct verify *v)
{
    struct verify_digests *digests = &v->digests;
    for (int index = digests->walking; index < INDEX_COUNT;
         index = digest_next(digests, index + 1)) {
        uint64_t id;
        Famledger__Response *response;
        int rc = digest_send(v, index, 1, &id); /* its fold is dropped: the walk starts over */
        if (rc == 0)
            rc = digest_reply_read(v, id, index, &response);
        if (rc || !response)
            return rc;
        digests->records[index] = response->state_digest->table_records;
        famledger__response__free_unpacked(response, NULL);
    }
    return 0;
}

/* Records still to fold: those of the tables left, less what the one being walked has folded
 * (0 when the daemon did not say how many its tables hold); and how many tables are left. */
static uint64_t digest_records_left(const struct verify_digests *digests, uint64_t *tables)
{
    uint64_t left = 0;
    *tables = 0;
    for (int index = digests->walking; index < INDEX_COUNT;
         index = digest_next(digests, index + 1)) {
        left += digests->records[index];
        (*tables)++;
    }
    return left > digests->folded ? left - digests->folded : 0;
}

/* What is left to fold over the log pages left to replay, each of which asks for one digest
 * page, but a few: two and a sixteenth to spare, and one for each table after this one, whose
 * last page is a short one. What is unfolded when the log ends is asked for one page after
 * another. Between VERIFY_DIGEST_PAGE_MIN, not to ask for a few records a time, and
 * VERIFY_DIGEST_PAGE, the most the daemon folds at once (also the size when the tables' sizes
 * are not known). */
static uint32_t digest_page_limit(const struct verify *v)
{
    uint64_t tables;
    uint64_t left = digest_records_left(&v->digests, &tables);
    if (left == 0)
        return VERIFY_DIGEST_PAGE;
    uint64_t pages = v->snapshot_seq > v->seq ? (v->snapshot_seq - v->seq) / VERIFY_PAGE : 0;
    uint64_t spare = VERIFY_DIGEST_SPARE_PAGES + pages / 16 + (tables - 1);
    pages = pages > spare ? pages - spare : 1;
    uint64_t limit = (left + pages - 1) / pages;
    return limit < VERIFY_DIGEST_PAGE_MIN ? VERIFY_DIGEST_PAGE_MIN
           : limit > VERIFY_DIGEST_PAGE   ? VERIFY_DIGEST_PAGE
                                          : (uint32_t)limit;
}

int verify_digest_ask(struct verify *v)
{
    struct verify_digests *digests = &v->digests;
    if (digests->request || digests->walking == INDEX_COUNT)
        return 0;
    return digest_send(v, digests->walking, digest_page_limit(v), &digests->request);
}

/* The table being walked is done: on to the next, from its first record. */
static void digest_table_done(struct verify_digests *digests)
{
    digests->done[digests->walking] = true;
    digests->walking = digest_next(digests, digests->walking + 1);
    digests->after_key_bytes = digests->after_value_bytes = 0;
    digests->folded = 0;
}

int verify_digest_read(struct verify *v)
{
    struct verify_digests *digests = &v->digests;
    uint64_t id = digests->request;
    if (!id)
        return 0;
    digests->request = 0;
    int index = digests->walking;
    Famledger__Response *response;
    int rc = digest_reply_read(v, id, index, &response);
    if (rc || !response)
        return rc;
    const Famledger__StateDigestReply *reply = response->state_digest;
    digests->stored[index].count += reply->count;
    digests->stored[index].sum += reply->sum;
    digests->damaged[index] += reply->damaged;
    digests->folded += reply->records;
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
