/*
 * webhook.c: the delivery thread, one batch of POSTs at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "webhook.h"
#include "worker.h"
#include "queue.h"

#define BATCH           16      /* events claimed and sent at once */
#define MIN_WAIT_MS     50      /* between rounds when one is due "now" */
#define USER_AGENT      "media-worker/1 (webhook)"

/* One event's attempt; its strings point into the claim's PGresult. */
struct delivery {
    const struct ssrf_allow *allow;
    const char          *id, *attempt, *event, *body, *url, *secret;
    CURL                *curl;
    struct curl_slist   *headers;
    CURLcode             rc;
    long                 status;
    bool                 blocked;
    char                 blocked_addr[64];
    enum ssrf_class      blocked_class;
    char                 error[CURL_ERROR_SIZE + 128];
    char                 errbuf[CURL_ERROR_SIZE];
};

int
webhook_sign(const char *secret, int64_t timestamp, const char *body,
             size_t len, char out[WEBHOOK_SIG_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char prefix[24];
    size_t plen;
    unsigned char *msg;

    plen = (size_t) snprintf(prefix, sizeof(prefix), "%" PRId64 ".",
                             timestamp);
    msg = malloc(plen + len + 1);
    if (msg == NULL)
        return -1;
    memcpy(msg, prefix, plen);
    memcpy(msg + plen, body, len);
    if (HMAC(EVP_sha256(), secret, (int) strlen(secret), msg, plen + len, md,
             &mdlen) == NULL || mdlen != 32) {
        free(msg);
        return -1;
    }
    free(msg);
    memcpy(out, "sha256=", 7);
    for (i = 0; i < mdlen; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* --- one attempt --------------------------------------------------------- */

/* The same guard as imports: judged on the address about to be used. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct delivery *d = arg;
    enum ssrf_class cls = SSRF_RESERVED;

    if (purpose != CURLSOCKTYPE_IPCXN
        || !ssrf_permitted(d->allow, &a->addr, &cls)) {
        d->blocked = true;
        d->blocked_class = cls;
        ssrf_format_addr(&a->addr, d->blocked_addr, sizeof(d->blocked_addr));
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The answer's body is not kept. */
static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
    (void) data, (void) arg;
    return size * n;
}

static int
add_header(struct delivery *d, const char *name, const char *value)
{
    char line[256];
    struct curl_slist *l;

    /* "Name:" with no value removes a header libcurl would add. */
    snprintf(line, sizeof(line), *value ? "%s: %s" : "%s:", name, value);
    l = curl_slist_append(d->headers, line);
    if (l == NULL)
        return -1;
    d->headers = l;
    return 0;
}

static int
build_headers(struct delivery *d)
{
    char ts[24], sig[WEBHOOK_SIG_SIZE];
    int64_t now = (int64_t) time(NULL);

    snprintf(ts, sizeof(ts), "%" PRId64, now);
    if (webhook_sign(d->secret, now, d->body, strlen(d->body), sig) != 0)
        return -1;
    return add_header(d, "Content-Type", "application/json")
        | add_header(d, "X-Media-Event", d->event)
        | add_header(d, "X-Media-Delivery", d->id)
        | add_header(d, "X-Media-Timestamp", ts)
        | add_header(d, "X-Media-Signature", sig)
        | add_header(d, "Expect", "");
}

static int
setup_handle(const struct config *cfg, struct delivery *d)
{
    CURL *c = d->curl;

    return curl_easy_setopt(c, CURLOPT_URL, d->url)
        | curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")
        | curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L)
        | curl_easy_setopt(c, CURLOPT_PROXY, "")
        | curl_easy_setopt(c, CURLOPT_NOPROXY, "*")
        | curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                           (long) cfg->webhook_connect_timeout)
        | curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) cfg->webhook_timeout)
        | curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body)
        | curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(d->body))
        | curl_easy_setopt(c, CURLOPT_HTTPHEADER, d->headers)
        | curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket)
        | curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, d)
        | curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard)
        | curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)
        | curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT)
        | curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->errbuf)
        | curl_easy_setopt(c, CURLOPT_PRIVATE, d);
}

/* A delivery from row i of the claim; its error says why it cannot go. */
static int
delivery_init(struct webhooks *w, struct delivery *d, PGresult *res, int i)
{
    memset(d, 0, sizeof(*d));
    d->allow = &w->allow;
    d->id = PQgetvalue(res, i, 0);
    d->attempt = PQgetvalue(res, i, 1);
    d->event = PQgetvalue(res, i, 2);
    d->body = PQgetvalue(res, i, 3);
    d->url = PQgetvalue(res, i, 4);
    d->secret = PQgetvalue(res, i, 5);
    d->curl = curl_easy_init();
    if (d->curl == NULL || build_headers(d) != 0
        || setup_handle(w->cfg, d) != 0) {
        snprintf(d->error, sizeof(d->error), "internal: libcurl or OpenSSL "
                 "could not be set up");
        return -1;
    }
    return 0;
}

static void
delivery_free(struct delivery *d)
{
    if (d->curl != NULL)
        curl_easy_cleanup(d->curl);
    curl_slist_free_all(d->headers);
}

/* How it went, as webhook_attempts.error; "" when delivered. */
static void
classify(const struct config *cfg, struct delivery *d)
{
    const char *detail = d->errbuf[0] ? d->errbuf : curl_easy_strerror(d->rc);

    if (d->error[0] != '\0')
        return;
    if (d->blocked && d->rc != CURLE_OK)
        snprintf(d->error, sizeof(d->error), "blocked_address: the URL "
                 "leads to %s (%s address); webhooks may only connect to "
                 "public addresses", d->blocked_addr,
                 ssrf_class_name(d->blocked_class));
    else if (d->rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(d->error, sizeof(d->error), "timeout: no answer within "
                 "%" PRId64 " s: %s", cfg->webhook_timeout, detail);
    else if (d->rc == CURLE_UNSUPPORTED_PROTOCOL
             || d->rc == CURLE_URL_MALFORMAT)
        snprintf(d->error, sizeof(d->error), "bad_url: %s", detail);
    else if (d->rc != CURLE_OK)
        snprintf(d->error, sizeof(d->error), "network_error: %s", detail);
    else if (d->status < 200 || d->status > 299)
        snprintf(d->error, sizeof(d->error), "http_%ld: the endpoint "
                 "answered HTTP %ld", d->status, d->status);
}

/* --- one round ----------------------------------------------------------- */

/* Run every transfer of multi to its end (each bounded by its timeout). */
static void
perform_all(CURLM *multi)
{
    struct delivery *d;
    CURLMsg *msg;
    int running = 1, left;

    while (running > 0) {
        if (curl_multi_perform(multi, &running) != CURLM_OK
            || (running > 0
                && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK))
            break;
    }
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &d);
        d->rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
                          &d->status);
    }
}

static void
record(struct webhooks *w, struct db *db, struct delivery *d)
{
    const struct config *cfg = w->cfg;
    char status[16], delay[32], max[16];
    const char *params[7] = {
        d->id, d->attempt, d->status > 0 ? status : NULL, d->error,
        d->error[0] == '\0' ? "t" : "f", delay, max
    };
    PGresult *res;

    snprintf(status, sizeof(status), "%ld", d->status);
    snprintf(delay, sizeof(delay), "%.3f",
             queue_backoff_between(atoi(d->attempt),
                             (double) cfg->webhook_backoff_base,
                             (double) cfg->webhook_backoff_max,
                             random() / (RAND_MAX + 1.0)));
    snprintf(max, sizeof(max), "%" PRId64, cfg->webhook_max_attempts);
    res = db_exec(db, "SELECT media_webhook_result($1, $2, $3, $4, $5, $6, "
                      "$7)", 7, params);
    if (res == NULL) {
        log_warn("webhook event %s: attempt %s not recorded; it is sent "
                 "again after its lease", d->id, d->attempt);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "failed") == 0)
        log_warn("webhook event %s (%s to %s): failed after %s attempts: %s",
                 d->id, d->event, d->url, d->attempt, d->error);
    else if (d->error[0] != '\0')
        log_info("webhook event %s (%s to %s): attempt %s failed (%s); %s",
                 d->id, d->event, d->url, d->attempt, d->error,
                 PQgetvalue(res, 0, 0));
    else
        log_debug("webhook event %s (%s) delivered to %s", d->id, d->event,
                  d->url);
    PQclear(res);
}

/* Claim up to BATCH due events, send them, record them: how many, or -1. */
static int
deliver_round(struct webhooks *w, struct db *db)
{
    char batch[16], lease[24];
    const char *params[3] = { w->cfg->worker_id, batch, lease };
    struct delivery *d = NULL;
    CURLM *multi = NULL;
    PGresult *res;
    int i, n;

    snprintf(batch, sizeof(batch), "%d", BATCH);
    snprintf(lease, sizeof(lease), "%" PRId64,
             2 * w->cfg->webhook_timeout + 30);
    res = db_exec(db, "SELECT event_id, attempt, event, body, url, secret "
                      "FROM media_webhook_claim($1, $2, $3)", 3, params);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    if (n == 0)
        goto done;
    d = calloc((size_t) n, sizeof(*d));
    multi = curl_multi_init();
    if (d == NULL || multi == NULL) {
        log_error("webhooks: out of memory; the events claimed are sent "
                  "again after their lease");
        n = -1;
        goto done;
    }
    for (i = 0; i < n; i++)
        if (delivery_init(w, &d[i], res, i) == 0)
            curl_multi_add_handle(multi, d[i].curl);
    perform_all(multi);
    for (i = 0; i < n; i++) {
        classify(w->cfg, &d[i]);
        record(w, db, &d[i]);
        if (d[i].curl != NULL)
            curl_multi_remove_handle(multi, d[i].curl);
        delivery_free(&d[i]);
    }

done:
    curl_multi_cleanup(multi);
    free(d);
    PQclear(res);
    return n;
}

/* --- the thread ---------------------------------------------------------- */

/* Until the next retry is due, at most poll_seconds. */
static long
next_wait_ms(struct webhooks *w, struct db *db)
{
    long ms = (long) w->cfg->poll_seconds * 1000;
    PGresult *res = db_exec(db, "SELECT media_webhook_next()", 0, NULL);
    double s;

    if (res == NULL)
        return db_backoff_ms(db);
    if (!PQgetisnull(res, 0, 0)) {
        s = strtod(PQgetvalue(res, 0, 0), NULL) * 1000;
        if (s < ms)
            ms = (long) s;
    }
    PQclear(res);
    return ms < MIN_WAIT_MS ? MIN_WAIT_MS : ms;
}

/* Sleep up to ms, less if woken or stopping; false when stopping. */
static bool
wait_for_work(struct webhooks *w, long ms)
{
    struct timespec until;
    bool go;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->stopping && !w->woken
           && pthread_cond_timedwait(&w->wake_cv, &w->lock, &until) == 0)
        ;
    w->woken = false;
    go = !w->stopping;
    pthread_mutex_unlock(&w->lock);
    return go;
}

static void *
thread_main(void *arg)
{
    struct webhooks *w = arg;
    struct db db;
    int n;

    db_init(&db, w->cfg->database);
    for (;;) {
        if (db_connect(&db) != 0) {
            if (!wait_for_work(w, db_backoff_ms(&db)))
                break;
            continue;
        }
        n = deliver_round(w, &db);
        if (n == BATCH)
            continue;
        if (!wait_for_work(w, n < 0 ? db_backoff_ms(&db)
                                    : next_wait_ms(w, &db)))
            break;
    }
    db_close(&db);
    return NULL;
}

static int
init_sync(struct webhooks *w)
{
    if (worker_cond_init_monotonic(&w->wake_cv) != 0)
        return -1;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->wake_cv);
        return -1;
    }
    return 0;
}

int
webhook_start(struct webhooks *w, const struct config *cfg)
{
    char err[256];

    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    if (ssrf_allow_parse(cfg->import_allow, &w->allow, err,
                         sizeof(err)) != 0) {
        log_error("webhooks: %s", err);
        return -1;
    }
    if (init_sync(w) != 0)
        goto failed;
    if (pthread_create(&w->thread, NULL, thread_main, w) != 0) {
        pthread_cond_destroy(&w->wake_cv);
        pthread_mutex_destroy(&w->lock);
        goto failed;
    }
    w->started = true;
    return 0;

failed:
    log_error("cannot start the webhook thread: %s", strerror(errno));
    ssrf_allow_free(&w->allow);
    return -1;
}

static void
poke(struct webhooks *w, bool stop)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    if (stop)
        w->stopping = true;
    else
        w->woken = true;
    pthread_cond_signal(&w->wake_cv);
    pthread_mutex_unlock(&w->lock);
}

void
webhook_wake(struct webhooks *w)
{
    poke(w, false);
}

void
webhook_stop(struct webhooks *w)
{
    poke(w, true);
}

void
webhook_free(struct webhooks *w)
{
    if (!w->started)
        return;
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake_cv);
    pthread_mutex_destroy(&w->lock);
    ssrf_allow_free(&w->allow);
    w->started = false;
}
