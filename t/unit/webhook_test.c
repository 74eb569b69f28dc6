/*
 * webhook_test.c: the X-Media-Signature of a delivery (against values
 * computed with Python's hmac module) and the retry backoff bounds.
 */
#include <stdlib.h>

#include "webhook.h"
#include "queue.h"
#include "unit.h"

static void
check_sign(void)
{
    static const char body[] =
        "{\"event\":\"property.updated\",\"data\":{\"propertyId\":1}}";
    char sig[WEBHOOK_SIG_SIZE], *big;

    CHECK(webhook_sign("whsec-0123456789abcdef", 1700000000, body,
                       sizeof(body) - 1, sig) == 0);
    CHECK_STR(sig, "sha256=22ccd5a3618dfb355f6a50f1d88f7e06f69c88486d7622"
                   "2329d56009da7f43e1");
    /* An empty body still signs "<timestamp>." */
    CHECK(webhook_sign("key", 0, "", 0, sig) == 0);
    CHECK_STR(sig, "sha256=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d"
                   "78e9e669c6337f000d");
    /* Only len bytes count: the NUL-free body need not end there. */
    CHECK(webhook_sign("key", 0, "ignored", 0, sig) == 0);
    CHECK_STR(sig, "sha256=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d"
                   "78e9e669c6337f000d");
    /* A long key (hashed first) and a large body. */
    big = malloc(100000);
    CHECK(big != NULL);
    if (big == NULL)
        return;
    memset(big, 'x', 100000);
    CHECK(webhook_sign("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                       "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
                       1234567890, big, 100000, sig) == 0);
    CHECK_STR(sig, "sha256=65a5d6964bb16ca04791fd53b5331ea2a274f67cea5b86"
                   "a4c96aa7558b9e1d32");
    free(big);
}

static void
check_backoff(void)
{
    double lo, hi, prev_hi = 0;
    int attempt;

    /* Doubling from the base with equal jitter: [d/2, d]. */
    CHECK(queue_backoff_between(1, 30, 3600, 0.0) == 15.0);
    CHECK(queue_backoff_between(2, 30, 3600, 0.0) == 30.0);
    CHECK(queue_backoff_between(3, 30, 3600, 0.5) == 90.0);
    CHECK(queue_backoff_between(5, 1, 1, 0.0) == 0.5);    /* tests: base = cap */
    for (attempt = 1; attempt < 100; attempt++) {
        lo = queue_backoff_between(attempt, 30, 3600, 0.0);
        hi = queue_backoff_between(attempt, 30, 3600, 0.999999);
        CHECK(lo > 0 && lo <= hi);
        CHECK(hi >= prev_hi);
        CHECK(hi <= 3600.0);
        prev_hi = hi;
    }
    CHECK(queue_backoff_between(1000000, 30, 3600, 0.0) == 1800.0);
}

int
main(void)
{
    check_sign();
    check_backoff();
    return unit_done("webhook");
}
