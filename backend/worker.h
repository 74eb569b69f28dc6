/*
 * worker.h: the pool of job threads.
 *
 * Each thread owns a database connection and runs one job at a time:
 * claim, run, record, claim again until nothing is due, then sleep until
 * the listener (main.c) wakes it for a NOTIFY or the fallback poll.  The
 * listener also renews the leases of the jobs in hand, read from the slots.
 */
#ifndef MEDIA_WORKER_H
#define MEDIA_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct pool;

struct pool_slot {
    struct pool    *pool;
    int             index;
    pthread_t       thread;
    bool            started;
    _Atomic int64_t job_id;     /* the job in hand, 0 when idle */
    atomic_bool     lost;       /* its lease went to another worker */
};

struct pool {
    const struct config *cfg;
    pthread_mutex_t      lock;
    pthread_cond_t       wake;      /* idle threads wait here for work */
    pthread_cond_t       stop_cv;   /* backoff sleeps (CLOCK_MONOTONIC) */
    uint64_t             generation;    /* bumped by every wake-up */
    bool                 stopping;
    int                  alive;         /* threads not yet ended */
    int                  exit_fd;       /* eventfd: a thread ended */
    int                  nslots;
    struct pool_slot    *slots;
};

int pool_start(struct pool *pool, const struct config *cfg)
    __attribute__((warn_unused_result));

/* Wake one idle thread (a NOTIFY: one job), or all (the poll tick). */
void pool_wake(struct pool *pool, bool all);

/* Stop claiming; threads end after the job in hand. */
void pool_stop(struct pool *pool);

int pool_alive(struct pool *pool);

/* Join the threads (after pool_alive() is 0) and free the pool. */
void pool_free(struct pool *pool);

/* Sleep up to ms, or less if the pool is stopping. */
void pool_sleep(struct pool *pool, long ms);

int64_t now_ms(void);

/* pthread_cond_init with CLOCK_MONOTONIC for timed waits; 0 or -1. */
int worker_cond_init_monotonic(pthread_cond_t *cv)
    __attribute__((warn_unused_result));

#endif
