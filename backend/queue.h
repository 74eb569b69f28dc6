/*
 * queue.h: the job queue, through the SQL functions of sql/003_queue.sql.
 *
 * A claimed job is held by (worker_id, attempt); every end of an attempt
 * is answered with whether we still held it.
 */
#ifndef MEDIA_QUEUE_H
#define MEDIA_QUEUE_H

#include <stdint.h>

struct config;
struct db;
struct job_error;
struct opt_result;

struct queue_job {
    int64_t  id;
    int64_t  tenant_id;
    int64_t  media_id;
    int      attempt;           /* job_attempts.attempt, our lease token */
    char     kind[16];          /* "optimize" or "import" */
    char    *payload;           /* jsonb text */
    char    *object_key;        /* media.object_key */
};

/* How an attempt ends.  Which fields matter depends on kind. */
struct queue_end {
    enum { END_DONE, END_RETRY, END_FAIL, END_OPTIMIZED } kind;
    const struct job_error  *err;           /* RETRY, FAIL */
    const struct opt_result *result;        /* OPTIMIZED */
    const char              *content_type;  /* OPTIMIZED import, or NULL */
    int64_t                  size;          /* with content_type */
};

/* The database's answer to an end. */
enum queue_answer {
    QUEUE_ERROR = -1,           /* not recorded: database unreachable */
    QUEUE_OK,                   /* recorded */
    QUEUE_REQUEUED,             /* RETRY: queued again */
    QUEUE_FAILED,               /* RETRY: out of attempts, failed */
    QUEUE_LOST,                 /* another worker took the job over */
    QUEUE_GONE,                 /* the job (its media) was deleted */
};

/* 1 and fills job when a job was claimed, 0 when none is due, -1. */
int queue_claim(struct db *db, const struct config *cfg,
                struct queue_job *job) __attribute__((warn_unused_result));

void queue_job_free(struct queue_job *job);

enum queue_answer queue_end(struct db *db, const struct config *cfg,
                            const struct queue_job *job,
                            const struct queue_end *end)
    __attribute__((warn_unused_result));

/*
 * Extend the leases of the n jobs in ids.  On return held[i] says whether
 * job i is still ours.  0, or -1 when the database could not be asked.
 */
int queue_heartbeat(struct db *db, const struct config *cfg,
                    const int64_t *ids, int n, int *held)
    __attribute__((warn_unused_result));

/*
 * Seconds before retry number attempt (1 for the first retry): doubling
 * from 2 s, capped at one hour, with "equal jitter": uniformly in
 * [d/2, d], where r in [0, 1) is the random draw.
 */
double queue_backoff(int attempt, double r);
double queue_backoff_between(int attempt, double base, double cap, double r);

/* Take up to limit keys from storage_garbage and call fn on each; returns
 * how many, or -1.  A key taken is gone from the table: fn must not fail
 * silently. */
int queue_garbage(struct db *db, int limit,
                  void (*fn)(const char *key, void *arg), void *arg)
    __attribute__((warn_unused_result));

/* Put a key back into storage_garbage (its removal failed for now). */
int queue_garbage_return(struct db *db, const char *key)
    __attribute__((warn_unused_result));

/* Unconfirmed uploads older than age seconds, at most limit of them: their
 * rows go and their objects join storage_garbage (sql/007_orphans.sql).
 * How many, or -1. */
/* Of keys (objects listed in the bucket, old enough), queue for removal
 * those no row refers to (media_sweep_unknown); how many, or -1. */
int queue_sweep_unknown(struct db *db, const char *const *keys, int n)
    __attribute__((warn_unused_result));

int queue_orphans(struct db *db, int64_t age, int limit)
    __attribute__((warn_unused_result));

#endif
