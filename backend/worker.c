/*
 * worker.c: job threads, their wake-ups and their shutdown.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "optimize.h"
#include "queue.h"
#include "storage.h"
#include "sweep.h"
#include "worker.h"

#define GARBAGE_BATCH 100
#define SWEEP_INTERVAL_MS 60000

int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
deadline_after(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

void
pool_sleep(struct pool *pool, long ms)
{
    struct timespec until;

    deadline_after(&until, ms);
    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping
           && pthread_cond_timedwait(&pool->stop_cv, &pool->lock,
                                     &until) == 0)
        ;
    pthread_mutex_unlock(&pool->lock);
}

/* Sleep until the generation moves past seen; false when stopping. */
static bool
wait_for_work(struct pool *pool, uint64_t seen)
{
    bool go;

    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping && pool->generation == seen)
        pthread_cond_wait(&pool->wake, &pool->lock);
    go = !pool->stopping;
    pthread_mutex_unlock(&pool->lock);
    return go;
}

static bool
current_generation(struct pool *pool, uint64_t *gen)
{
    bool go;

    pthread_mutex_lock(&pool->lock);
    *gen = pool->generation;
    go = !pool->stopping;
    pthread_mutex_unlock(&pool->lock);
    return go;
}

struct garbage {
    const struct config *cfg;
    struct db           *db;
};

/* A removal that failed for now (the store is down: EAGAIN) goes back to
 * the table for a later pass; the key is not forgotten. */
static void
remove_garbage(const char *key, void *arg)
{
    struct garbage *g = arg;

    if (store_delete(g->cfg, key) == 0)
        return;
    log_warn("could not remove %s from storage: %s", key, strerror(errno));
    if (errno == EAGAIN && queue_garbage_return(g->db, key) != 0)
        log_warn("%s could not be queued for removal again", key);
}

/* With s3, every s3_sweep_interval: objects PUT with a presigned URL and
 * never confirmed (sweep.c), then removed with the rest of the garbage. */
static void
sweep_the_bucket(const struct config *cfg, struct db *db, struct garbage *g)
{
    static int64_t next_bucket_sweep;
    int n;

    if (strcmp(cfg->storage, "s3") != 0 || cfg->s3_sweep_interval == 0
        || now_ms() < next_bucket_sweep)
        return;
    next_bucket_sweep = now_ms() + cfg->s3_sweep_interval * 1000;
    n = sweep_bucket(cfg, db);
    if (n <= 0)
        return;
    log_info("bucket sweep: %d object(s) uploaded and never confirmed; "
             "removing them", n);
    if (queue_garbage(db, GARBAGE_BATCH, remove_garbage, g) < 0)
        log_warn("storage garbage collection failed; will try again");
}

/*
 * Objects of deleted media, and now and then the downloads of workers that
 * died mid-import: no live transfer is older than import_timeout, so a
 * file untouched for longer (plus a margin) is nobody's.  One thread is
 * enough to keep up.
 */
static void
collect_garbage(struct pool_slot *slot, struct db *db)
{
    static int64_t next_sweep;
    const struct config *cfg = slot->pool->cfg;
    struct garbage g = { cfg, db };
    int n;

    if (slot->index != 0)
        return;
    if (queue_garbage(db, GARBAGE_BATCH, remove_garbage, &g) < 0)
        log_warn("storage garbage collection failed; will try again");
    /* Presigned uploads never confirmed, once their URL has expired (and
     * a margin for a confirm in flight): into storage_garbage, emptied on
     * the next pass. */
    n = queue_orphans(db, cfg->upload_url_ttl + cfg->orphan_margin,
                      GARBAGE_BATCH);
    if (n > 0) {
        log_info("%d unconfirmed upload(s) expired; removing them", n);
        if (queue_garbage(db, GARBAGE_BATCH, remove_garbage, &g) < 0)
            log_warn("storage garbage collection failed; will try again");
    }
    sweep_the_bucket(cfg, db, &g);
    if (now_ms() < next_sweep)
        return;
    next_sweep = now_ms() + SWEEP_INTERVAL_MS;
    n = storage_sweep_temp(cfg->store_root,
                           (long) (cfg->import_timeout + cfg->lease_seconds
                                   + 60));
    if (n > 0)
        log_info("removed %d stale temporary file(s) from %s/.tmp", n,
                 cfg->store_root);
}

static void
claim_and_run(struct pool_slot *slot, struct db *db, uint64_t seen)
{
    struct pool *pool = slot->pool;
    struct queue_job job;
    int rc;

    rc = queue_claim(db, pool->cfg, &job);
    if (rc < 0) {
        /* The connection is gone (db_connect retries next time) or the
         * claim itself failed: do not spin on it. */
        pool_sleep(pool, db_backoff_ms(db));
        return;
    }
    if (rc == 0) {
        collect_garbage(slot, db);
        (void) wait_for_work(pool, seen);
        return;
    }
    atomic_store(&slot->lost, false);
    atomic_store(&slot->job_id, job.id);
    job_run(db, pool->cfg, &job, slot);
    atomic_store(&slot->job_id, 0);
    queue_job_free(&job);
}

static void *
thread_main(void *arg)
{
    struct pool_slot *slot = arg;
    struct pool *pool = slot->pool;
    uint64_t seen, one = 1;
    struct db db;

    db_init(&db, pool->cfg->database);
    while (current_generation(pool, &seen)) {
        if (db_connect(&db) != 0) {
            pool_sleep(pool, db_backoff_ms(&db));
            continue;
        }
        claim_and_run(slot, &db, seen);
    }
    db_close(&db);
    optimize_thread_done();

    pthread_mutex_lock(&pool->lock);
    pool->alive--;
    pthread_mutex_unlock(&pool->lock);
    if (write(pool->exit_fd, &one, sizeof(one)) < 0)
        log_error("eventfd write: %s", strerror(errno));
    return NULL;
}

/* A condition variable whose timed waits run on the monotonic clock, so a
 * change of the wall clock neither stalls nor hurries a sleeping thread. */
int
worker_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    int rc;

    if (pthread_condattr_init(&attr) != 0)
        return -1;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

static int
init_sync(struct pool *pool)
{
    if (worker_cond_init_monotonic(&pool->stop_cv) != 0)
        return -1;
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_cond_destroy(&pool->stop_cv);
        return -1;
    }
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        pthread_cond_destroy(&pool->wake);
        pthread_cond_destroy(&pool->stop_cv);
        return -1;
    }
    return 0;
}

int
pool_start(struct pool *pool, const struct config *cfg)
{
    struct pool_slot *slot;
    int i;

    memset(pool, 0, sizeof(*pool));
    pool->cfg = cfg;
    pool->nslots = (int) cfg->concurrency;
    pool->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pool->slots = calloc((size_t) pool->nslots, sizeof(*pool->slots));
    if (pool->exit_fd < 0 || pool->slots == NULL || init_sync(pool) != 0) {
        log_error("cannot set up the worker pool: %s", strerror(errno));
        free(pool->slots);
        if (pool->exit_fd >= 0)
            close(pool->exit_fd);
        return -1;
    }
    for (i = 0; i < pool->nslots; i++) {
        slot = &pool->slots[i];
        slot->pool = pool;
        slot->index = i;
        pthread_mutex_lock(&pool->lock);
        pool->alive++;
        pthread_mutex_unlock(&pool->lock);
        if (pthread_create(&slot->thread, NULL, thread_main, slot) != 0) {
            log_error("cannot start worker thread %d", i);
            pthread_mutex_lock(&pool->lock);
            pool->alive--;
            pthread_mutex_unlock(&pool->lock);
            pool_stop(pool);
            return -1;
        }
        slot->started = true;
    }
    return 0;
}

void
pool_wake(struct pool *pool, bool all)
{
    pthread_mutex_lock(&pool->lock);
    pool->generation++;
    if (all)
        pthread_cond_broadcast(&pool->wake);
    else
        pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

void
pool_stop(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_cond_broadcast(&pool->stop_cv);
    pthread_mutex_unlock(&pool->lock);
}

int
pool_alive(struct pool *pool)
{
    int n;

    pthread_mutex_lock(&pool->lock);
    n = pool->alive;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void
pool_free(struct pool *pool)
{
    int i;

    for (i = 0; i < pool->nslots; i++)
        if (pool->slots[i].started)
            pthread_join(pool->slots[i].thread, NULL);
    free(pool->slots);
    close(pool->exit_fd);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->stop_cv);
    pthread_mutex_destroy(&pool->lock);
}
