/*
 * webhook.h: delivery of the webhook outbox (sql/006_webhooks.sql).
 *
 * One thread with its own connection claims due events, POSTs them all at
 * once (libcurl multi), and records every attempt.  It sleeps until the
 * listener (main.c) passes it a NOTIFY whose payload is "webhook", the next
 * retry is due, or poll_seconds pass.
 *
 * A request: POST to the endpoint's URL with the event's JSON body and
 *
 *   Content-Type: application/json
 *   X-Media-Event: property.updated
 *   X-Media-Delivery: <event id>             (the same on every retry)
 *   X-Media-Timestamp: <unix seconds>        (of this attempt)
 *   X-Media-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *
 * http and https only, no redirects, proxies ignored, connect and total
 * timeouts, and the SSRF rules of ssrf.h (with import_allow) on every
 * address it connects to.  Any 2xx is delivered; anything else is retried
 * with exponential backoff and jitter, up to webhook_max_attempts.
 */
#ifndef MEDIA_WEBHOOK_H
#define MEDIA_WEBHOOK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssrf.h"

struct config;

/* "sha256=" and 64 hex digits, and the NUL. */
#define WEBHOOK_SIG_SIZE (7 + 64 + 1)

struct webhooks {
    const struct config *cfg;
    struct ssrf_allow    allow;
    pthread_t            thread;
    bool                 started;
    pthread_mutex_t      lock;
    pthread_cond_t       wake_cv;       /* CLOCK_MONOTONIC */
    bool                 woken;         /* a wake-up not yet acted on */
    bool                 stopping;
};

/* Start the delivery thread (after curl_global_init). */
int webhook_start(struct webhooks *w, const struct config *cfg)
    __attribute__((warn_unused_result));

/* An event was queued: deliver it now. */
void webhook_wake(struct webhooks *w);

/* Stop after the deliveries in hand (at most webhook_timeout). */
void webhook_stop(struct webhooks *w);

/* Join the thread (after webhook_stop) and free everything. */
void webhook_free(struct webhooks *w);

/* X-Media-Signature for body sent at timestamp; 0, or -1 (OpenSSL). */
int webhook_sign(const char *secret, int64_t timestamp, const char *body,
                 size_t len, char out[WEBHOOK_SIG_SIZE])
    __attribute__((warn_unused_result));


#endif
