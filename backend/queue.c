/*
 * queue.c: claim, heartbeat and end jobs through sql/003_queue.sql.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "optimize.h"
#include "queue.h"

#define BACKOFF_BASE_SECONDS 2.0
#define BACKOFF_CAP_SECONDS  3600.0

int
queue_claim(struct db *db, const struct config *cfg, struct queue_job *job)
{
    char lease[24];
    const char *params[2] = { cfg->worker_id, lease };
    PGresult *res;
    int rc = -1;

    memset(job, 0, sizeof(*job));
    snprintf(lease, sizeof(lease), "%" PRId64, cfg->lease_seconds);
    res = db_exec(db, "SELECT job_id, kind, tenant_id, media_id, payload, "
                      "attempt, object_key FROM media_job_claim($1, $2)",
                  2, params);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0) {
        rc = 0;
        goto failed;
    }
    job->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(job->kind, sizeof(job->kind), "%s", PQgetvalue(res, 0, 1));
    job->tenant_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    job->media_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    job->attempt = atoi(PQgetvalue(res, 0, 5));
    job->payload = strdup(PQgetvalue(res, 0, 4));
    job->object_key = strdup(PQgetvalue(res, 0, 6));
    if (job->payload == NULL || job->object_key == NULL) {
        queue_job_free(job);
        goto failed;
    }
    rc = 1;

failed:
    PQclear(res);
    return rc;
}

void
queue_job_free(struct queue_job *job)
{
    free(job->payload);
    free(job->object_key);
    job->payload = job->object_key = NULL;
}

/* Exponential backoff with jitter: the n-th retry waits between d/2 and d,
 * d = base * 2^(n-1) capped at cap; r in [0, 1) picks the point. */
double
queue_backoff_between(int attempt, double base, double cap, double r)
{
    double d = base;
    int i;

    for (i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d / 2 + r * (d / 2);
}

double
queue_backoff(int attempt, double r)
{
    return queue_backoff_between(attempt, BACKOFF_BASE_SECONDS,
                                 BACKOFF_CAP_SECONDS, r);
}

/* [{"variant":128,"key":...,"bytes":...,"width":...,"height":...}, ...] */
static char *
variants_json(const struct opt_result *result)
{
    const struct opt_variant *v;
    json_t *array = json_array();
    char *text = NULL;
    int i;

    if (array == NULL)
        return NULL;
    for (i = 0; i < OPT_VARIANTS; i++) {
        v = &result->variants[i];
        if (json_array_append_new(array, json_pack("{s:i,s:s,s:I,s:i,s:i}",
                "variant", v->target, "key", v->key,
                "bytes", (json_int_t) v->bytes, "width", v->width,
                "height", v->height)) != 0)
            goto failed;
    }
    text = json_dumps(array, JSON_COMPACT);

failed:
    json_decref(array);
    return text;
}

static enum queue_answer
parse_answer(const char *s)
{
    static const struct { const char *text; enum queue_answer a; } map[] = {
        { "ok", QUEUE_OK }, { "queued", QUEUE_REQUEUED },
        { "failed", QUEUE_FAILED }, { "lost", QUEUE_LOST },
        { "gone", QUEUE_GONE },
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(s, map[i].text) == 0)
            return map[i].a;
    log_error("unexpected answer from the queue: \"%s\"", s);
    return QUEUE_ERROR;
}

static enum queue_answer
call(struct db *db, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_exec(db, sql, n, params);
    enum queue_answer a = QUEUE_ERROR;

    if (res != NULL && PQntuples(res) == 1)
        a = parse_answer(PQgetvalue(res, 0, 0));
    PQclear(res);
    return a;
}

enum queue_answer
queue_end(struct db *db, const struct config *cfg,
          const struct queue_job *job, const struct queue_end *end)
{
    char id[24], attempt[16], a[24], b[24], c[32];
    const char *p[9] = { id, cfg->worker_id, attempt };
    enum queue_answer answer = QUEUE_ERROR;
    char *json = NULL;

    snprintf(id, sizeof(id), "%" PRId64, job->id);
    snprintf(attempt, sizeof(attempt), "%d", job->attempt);

    switch (end->kind) {
    case END_DONE:
        return call(db, "SELECT media_job_done($1, $2, $3)", 3, p);
    case END_FAIL:
        p[3] = end->err->code, p[4] = end->err->reason;
        return call(db, "SELECT media_job_fail($1, $2, $3, $4, $5)", 5, p);
    case END_RETRY:
        snprintf(c, sizeof(c), "%.3f",
                 queue_backoff(job->attempt, random() / (RAND_MAX + 1.0)));
        p[3] = end->err->code, p[4] = end->err->reason, p[5] = c;
        return call(db, "SELECT media_job_retry($1, $2, $3, $4, $5, $6)",
                    6, p);
    case END_OPTIMIZED:
        json = variants_json(end->result);
        if (json == NULL)
            break;
        snprintf(a, sizeof(a), "%d", end->result->info.width);
        snprintf(b, sizeof(b), "%d", end->result->info.height);
        snprintf(c, sizeof(c), "%" PRId64, end->size);
        p[3] = a, p[4] = b, p[5] = end->result->blurhash, p[6] = json;
        p[7] = end->content_type, p[8] = end->content_type ? c : NULL;
        answer = call(db, "SELECT media_job_optimized($1, $2, $3, $4, $5, "
                          "$6, $7, $8, $9)", 9, p);
        break;
    }
    free(json);
    return answer;
}

int
queue_heartbeat(struct db *db, const struct config *cfg, const int64_t *ids,
                int n, int *held)
{
    char lease[24], *list = NULL, *p;
    const char *params[3] = { cfg->worker_id, NULL, lease };
    PGresult *res = NULL;
    int i, k, rc = -1;

    list = malloc((size_t) n * 22 + 3);
    if (list == NULL)
        return -1;
    p = list;
    *p++ = '{';
    for (i = 0; i < n; i++)
        p += sprintf(p, "%s%" PRId64, i ? "," : "", ids[i]);
    strcpy(p, "}");
    params[1] = list;
    snprintf(lease, sizeof(lease), "%" PRId64, cfg->lease_seconds);

    res = db_exec(db, "SELECT media_job_heartbeat($1, $2, $3)", 3, params);
    if (res == NULL)
        goto failed;
    for (i = 0; i < n; i++) {
        held[i] = 0;
        for (k = 0; k < PQntuples(res); k++)
            if (strtoll(PQgetvalue(res, k, 0), NULL, 10) == ids[i])
                held[i] = 1;
    }
    rc = 0;

failed:
    PQclear(res);
    free(list);
    return rc;
}

int
queue_garbage_return(struct db *db, const char *key)
{
    const char *params[1] = { key };
    PGresult *res;

    res = db_exec(db, "INSERT INTO storage_garbage (object_key) VALUES ($1)",
                  1, params);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int
queue_orphans(struct db *db, int64_t age, int limit)
{
    char a[24], lim[16];
    const char *params[2] = { a, lim };
    PGresult *res;
    int n;

    snprintf(a, sizeof(a), "%lld", (long long) age);
    snprintf(lim, sizeof(lim), "%d", limit);
    res = db_exec(db, "SELECT media_orphans_collect($1, $2)", 2, params);
    if (res == NULL)
        return -1;
    n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* keys as a PostgreSQL array literal: {"a","b"}, quotes and backslashes
 * escaped.  NULL without memory. */
static char *
text_array(const char *const *keys, int n)
{
    size_t len = 3;
    char *out, *p;
    int i;

    for (i = 0; i < n; i++)
        len += 2 * strlen(keys[i]) + 3;
    out = p = malloc(len);
    if (out == NULL)
        return NULL;
    *p++ = '{';
    for (i = 0; i < n; i++) {
        const char *k;

        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        for (k = keys[i]; *k != '\0'; k++) {
            if (*k == '"' || *k == '\\')
                *p++ = '\\';
            *p++ = *k;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

int
queue_sweep_unknown(struct db *db, const char *const *keys, int n)
{
    char *array = text_array(keys, n);
    const char *params[1] = { array };
    PGresult *res;
    int queued;

    if (array == NULL)
        return -1;
    res = db_exec(db, "SELECT media_sweep_unknown($1::text[])", 1, params);
    free(array);
    if (res == NULL)
        return -1;
    queued = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return queued;
}

int
queue_garbage(struct db *db, int limit,
              void (*fn)(const char *key, void *arg), void *arg)
{
    char lim[16];
    const char *params[1] = { lim };
    PGresult *res;
    int i, n;

    snprintf(lim, sizeof(lim), "%d", limit);
    res = db_exec(db, "SELECT media_garbage_take($1)", 1, params);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    for (i = 0; i < n; i++)
        fn(PQgetvalue(res, i, 0), arg);
    PQclear(res);
    return n;
}
