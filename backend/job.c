/*
 * job.c: one claimed job, from its context to its recorded end.
 *
 * Everything a job allocates hangs off its struct job_ctx and is released
 * by job_ctx_free(), whatever path the job took.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "fetch.h"
#include "job.h"
#include "log.h"
#include "optimize.h"
#include "queue.h"
#include "storage.h"
#include "worker.h"

struct job_ctx {
    const struct config *cfg;
    struct queue_job    *job;
    struct pool_slot    *slot;
    struct job_error     err;
    struct opt_result    result;
    struct queue_end     end;
    struct fetch         fetch;         /* import */
    json_t              *payload;       /* import */
    struct store_file    original;      /* the original as a local file */
    const char          *original_path; /* or this one (a fresh import) */
};

enum job_status
job_error(struct job_error *err, enum job_status status, const char *code,
          const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return status;
}

static void
job_ctx_free(struct job_ctx *ctx)
{
    optimize_result_free(&ctx->result);
    fetch_free(&ctx->fetch);
    json_decref(ctx->payload);
    store_file_release(&ctx->original);
}

static enum job_status
store_variants(struct job_ctx *ctx)
{
    const struct opt_variant *v;
    int i;

    for (i = 0; i < OPT_VARIANTS; i++) {
        v = &ctx->result.variants[i];
        if (store_put_data(ctx->cfg, v->key, v->data, v->bytes,
                           "image/webp") != 0)
            return job_error(&ctx->err, JOB_RETRY, "storage_error",
                             "The variant %s could not be stored (%s).",
                             v->key, strerror(errno));
    }
    return JOB_OK;
}

/* The original as a local file: the store's own (local), a download (s3),
 * or the file an import has just fetched. */
static enum job_status
open_original(struct job_ctx *ctx, const char **path)
{
    if (ctx->original_path != NULL) {
        *path = ctx->original_path;
        return JOB_OK;
    }
    if (store_get_file(ctx->cfg, ctx->job->object_key,
                       ctx->cfg->max_file_size, &ctx->original) == 0) {
        *path = ctx->original.path;
        return JOB_OK;
    }
    if (errno == EINVAL)
        return job_error(&ctx->err, JOB_FAIL, "internal",
                         "The file's storage key is not valid.");
    if (errno == EFBIG)
        return job_error(&ctx->err, JOB_FAIL, "too_large",
                         "The file is larger than the limit of %" PRId64
                         " bytes.", ctx->cfg->max_file_size);
    return job_error(&ctx->err, JOB_RETRY, "storage_error",
                     "The original file could not be read (%s).",
                     strerror(errno));
}

static enum job_status
run_optimize(struct job_ctx *ctx)
{
    const char *path = NULL;
    enum job_status st;

    if ((st = open_original(ctx, &path)) != JOB_OK)
        return st;
    st = optimize_run(ctx->cfg, path, ctx->job->tenant_id,
                      ctx->job->media_id, &ctx->result, &ctx->err);
    if (st == JOB_OK)
        st = store_variants(ctx);
    if (st == JOB_OK) {
        ctx->end.kind = END_OPTIMIZED;
        ctx->end.result = &ctx->result;
    }
    return st;
}

static const char *
payload_url(struct job_ctx *ctx)
{
    ctx->payload = json_loads(ctx->job->payload, 0, NULL);
    return json_string_value(json_object_get(ctx->payload, "url"));
}

/* Fetch the URL, check that it is an image we take, and only then put it
 * in the store as the original. */
static enum job_status
fetch_original(struct job_ctx *ctx, int64_t *size)
{
    const char *url = payload_url(ctx);
    struct opt_image info;
    enum job_status st;

    if (url == NULL)
        return job_error(&ctx->err, JOB_FAIL, "bad_url",
                         "The import job has no URL.");
    st = fetch_url(ctx->cfg, &ctx->fetch, url, &ctx->slot->lost, &ctx->err);
    if (st == JOB_OK)
        st = optimize_probe(ctx->cfg, ctx->fetch.path, &info, &ctx->err);
    if (st != JOB_OK)
        return st;
    if (fetch_commit(ctx->cfg, &ctx->fetch, ctx->job->object_key,
                     info.content_type) != 0)
        return job_error(&ctx->err, JOB_RETRY, "storage_error",
                         "The download could not be stored (%s).",
                         strerror(errno));
    /* With s3 the fetched file is still here: optimize reads it. */
    if (ctx->fetch.path[0] != '\0')
        ctx->original_path = ctx->fetch.path;
    *size = ctx->fetch.bytes;
    return JOB_OK;
}

/*
 * An import is a fetch and then an optimize, in one job, so that the job
 * the client was told about ends when the photo is ready.  An earlier
 * attempt may have stored the original already: it only ever appears
 * whole, so it is not fetched again.
 */
static enum job_status
run_import(struct job_ctx *ctx)
{
    enum job_status st;
    int64_t size = 0;
    off_t stored;

    if (store_size(ctx->cfg, ctx->job->object_key, &stored) == 0) {
        size = stored;
    } else if (errno == EINVAL) {
        return job_error(&ctx->err, JOB_FAIL, "internal",
                         "The file's storage key is not valid.");
    } else if (errno != ENOENT) {
        return job_error(&ctx->err, JOB_RETRY, "storage_error",
                         "The store could not be read (%s).",
                         strerror(errno));
    } else if ((st = fetch_original(ctx, &size)) != JOB_OK) {
        return st;
    }
    st = run_optimize(ctx);
    ctx->end.content_type = ctx->result.info.content_type;
    ctx->end.size = size;
    return st;
}

static enum job_status
dispatch(struct job_ctx *ctx)
{
    if (strcmp(ctx->job->kind, "optimize") == 0)
        return run_optimize(ctx);
    if (strcmp(ctx->job->kind, "import") == 0)
        return run_import(ctx);
    return job_error(&ctx->err, JOB_FAIL, "internal",
                     "Unknown job kind \"%s\".", ctx->job->kind);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * Record the end, through database outages: the work is done and should
 * not be thrown away, but once our lease could have run out another
 * worker may hold the job, so we stop trying after one lease.
 */
static enum queue_answer
record(struct db *db, const struct job_ctx *ctx)
{
    int64_t deadline = now_ms() + ctx->cfg->lease_seconds * 1000;
    enum queue_answer a;
    long wait;

    for (;;) {
        if (db_connect(db) == 0) {
            a = queue_end(db, ctx->cfg, ctx->job, &ctx->end);
            if (a != QUEUE_ERROR)
                return a;
        }
        wait = db_backoff_ms(db);
        if (now_ms() + wait > deadline)
            return QUEUE_ERROR;
        sleep_ms(wait);
    }
}

static void
log_end(const struct job_ctx *ctx, enum job_status st, enum queue_answer a,
        int64_t started)
{
    static const char *const answers[] = {
        [QUEUE_OK] = "recorded", [QUEUE_REQUEUED] = "queued for retry",
        [QUEUE_FAILED] = "failed after its last attempt",
        [QUEUE_LOST] = "lost: another worker took it over",
        [QUEUE_GONE] = "gone: deleted meanwhile",
    };
    const struct queue_job *job = ctx->job;

    log_info("job %" PRId64 " (%s, media %" PRId64 ", attempt %d): %s%s%s"
             "%s in %" PRId64 " ms, %s", job->id, job->kind, job->media_id,
             job->attempt, st == JOB_OK ? "done" : ctx->err.code,
             st == JOB_OK ? "" : " (", st == JOB_OK ? "" : ctx->err.reason,
             st == JOB_OK ? "" : ")", now_ms() - started,
             a == QUEUE_ERROR ? "NOT recorded: database unavailable; the "
                                "job will run again after its lease"
                              : answers[a]);
}

void
job_run(struct db *db, const struct config *cfg, struct queue_job *job,
        struct pool_slot *slot)
{
    struct job_ctx ctx = { .cfg = cfg, .job = job, .slot = slot };
    int64_t started = now_ms();
    enum job_status st;
    enum queue_answer a;

    fetch_init(&ctx.fetch);
    ctx.end.kind = END_DONE;
    st = dispatch(&ctx);
    if (st != JOB_OK) {
        ctx.end.kind = st == JOB_RETRY ? END_RETRY : END_FAIL;
        ctx.end.err = &ctx.err;
    }
    a = record(db, &ctx);
    log_end(&ctx, st, a, started);
    job_ctx_free(&ctx);
}
