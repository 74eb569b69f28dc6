/*
 * job.h: running one claimed job, and the typed outcome every step of it
 * reports.
 *
 * A step returns JOB_OK, JOB_RETRY (transient: network, 5xx, storage) or
 * JOB_FAIL (permanent: not an image, too large, forbidden address ...),
 * and fills a struct job_error with a stable code for clients and a human
 * sentence.
 */
#ifndef MEDIA_JOB_H
#define MEDIA_JOB_H

#include <stdarg.h>

enum job_status { JOB_OK, JOB_RETRY, JOB_FAIL };

struct job_error {
    const char *code;           /* "not_an_image", "http_503", ... */
    char        code_buf[32];   /* storage for computed codes */
    char        reason[400];    /* shown to the client */
};

/* Fill err and return status, so a step can "return job_error(...)". */
enum job_status job_error(struct job_error *err, enum job_status status,
                          const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

struct config;
struct db;
struct queue_job;
struct pool_slot;

/* Run a claimed job to its end and record that end in the database. */
void job_run(struct db *db, const struct config *cfg, struct queue_job *job,
             struct pool_slot *slot);

#endif
