/*
 * queue_test.c: retry backoff bounds, and storage key safety.
 */
#include "queue.h"
#include "storage.h"
#include "unit.h"

static void
check_backoff(void)
{
    double lo, hi, prev_hi = 0;
    int attempt;

    /* Doubling from 2 s with equal jitter: [d/2, d]. */
    CHECK(queue_backoff(1, 0.0) == 1.0);
    CHECK(queue_backoff(1, 0.999999) < 2.0);
    CHECK(queue_backoff(2, 0.0) == 2.0);
    CHECK(queue_backoff(3, 0.5) == 6.0);
    for (attempt = 1; attempt < 100; attempt++) {
        lo = queue_backoff(attempt, 0.0);
        hi = queue_backoff(attempt, 0.999999);
        CHECK(lo > 0 && lo <= hi);
        CHECK(hi >= prev_hi);           /* never shrinks */
        CHECK(hi <= 3600.0);            /* capped at an hour */
        CHECK(lo >= hi / 2 - 1e-6);     /* jitter at most half */
        prev_hi = hi;
    }
    CHECK(queue_backoff(1000000, 0.0) == 1800.0);
}

static void
check_keys(void)
{
    static const char *const bad[] = {
        "", "/etc/passwd", "../x", "a/../b", "a/..", "./a", "a/./b", "a//b",
        "a/b/", ".", "..",
    };
    char path[STORAGE_PATH_MAX];
    size_t i;

    CHECK(storage_path("/s", "1/v/2/128.webp", path, sizeof(path)) == 0);
    CHECK_STR(path, "/s/1/v/2/128.webp");
    CHECK(storage_path("/s", "1/abc_..x.jpg", path, sizeof(path)) == 0);
    CHECK(storage_path("/s", ".tmp/x", path, sizeof(path)) == 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(storage_path("/s", bad[i], path, sizeof(path)) == -1);
    CHECK(storage_path("/s", "a", path, 4) == -1);
}

int
main(void)
{
    check_backoff();
    check_keys();
    return unit_done("queue");
}
