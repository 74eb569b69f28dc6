/*
 * main.c: media-worker startup, signals and the listener loop.
 *
 * The main thread owns one database connection that LISTENs on media_jobs
 * and renews the leases of the jobs in hand; the job threads (worker.c)
 * each own another.  Signals arrive through a signalfd, as events of the
 * same poll() loop: SIGTERM and SIGINT stop claiming and let the jobs in
 * hand finish, with their leases still renewed, then the process exits 0.
 * A NOTIFY with the payload "webhook" wakes the webhook thread (webhook.c)
 * instead of a job thread.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "db.h"
#include "fetch.h"
#include "log.h"
#include "optimize.h"
#include "queue.h"
#include "storage.h"
#include "webhook.h"
#include "worker.h"

#define CHANNEL "media_jobs"

struct listener {
    const struct config *cfg;
    struct pool         *pool;
    struct webhooks     *webhooks;
    struct db            db;
    bool                 listening;
    bool                 stopping;
    int                  sigfd;
    int64_t              next_connect, next_poll, next_heartbeat;
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: media-worker -c <config file>\n");
}

/* Every notification is one job enqueued: wake one idle thread for it.
 * "webhook" is events queued: wake the webhook thread. */
static void
drain_notifies(struct listener *l)
{
    PGnotify *n;

    while (l->db.conn != NULL && (n = PQnotifies(l->db.conn)) != NULL) {
        if (strcmp(n->extra, "webhook") == 0)
            webhook_wake(l->webhooks);
        else
            pool_wake(l->pool, false);
        PQfreemem(n);
    }
}

static void
listen_start(struct listener *l, int64_t now)
{
    PGresult *res;

    if (db_connect(&l->db) == 0) {
        res = db_exec(&l->db, "LISTEN " CHANNEL, 0, NULL);
        if (res != NULL) {
            PQclear(res);
            l->listening = true;
            /* Whatever was enqueued while we were not listening. */
            pool_wake(l->pool, true);
            webhook_wake(l->webhooks);
            return;
        }
        db_close(&l->db);
    }
    l->next_connect = now + db_backoff_ms(&l->db);
}

static void
listen_read(struct listener *l, int64_t now)
{
    if (PQconsumeInput(l->db.conn) == 0) {
        db_lost(&l->db, PQerrorMessage(l->db.conn));
        l->listening = false;
        l->next_connect = now;
        return;
    }
    drain_notifies(l);
}

static void
heartbeat(struct listener *l)
{
    struct pool *pool = l->pool;
    int64_t ids[64];
    int held[64], idx[64], i, n = 0;

    for (i = 0; i < pool->nslots && n < 64; i++) {
        ids[n] = atomic_load(&pool->slots[i].job_id);
        if (ids[n] != 0)
            idx[n++] = i;
    }
    if (n == 0 || !l->listening)
        return;
    if (queue_heartbeat(&l->db, l->cfg, ids, n, held) != 0) {
        if (l->db.conn == NULL)
            l->listening = false;
        return;
    }
    drain_notifies(l);
    /* A job that ended during the query is not held either: only a slot
     * still busy with the same job has lost it. */
    for (i = 0; i < n; i++)
        if (!held[i] && atomic_load(&pool->slots[idx[i]].job_id) == ids[i]
            && !atomic_exchange(&pool->slots[idx[i]].lost, true))
            log_warn("job %" PRId64 ": lease lost to another worker",
                     ids[i]);
}

static void
on_signal(struct listener *l)
{
    struct signalfd_siginfo si;

    if (read(l->sigfd, &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGHUP) {
        log_info("SIGHUP: the configuration is read at start only; "
                 "restart to apply changes");
        return;
    }
    if (l->stopping) {
        log_warn("%s again: exiting now; jobs in hand run again after "
                 "their lease", strsignal((int) si.ssi_signo));
        _exit(1);
    }
    log_info("%s: no new jobs; finishing the jobs in hand",
             strsignal((int) si.ssi_signo));
    l->stopping = true;
    pool_stop(l->pool);
    webhook_stop(l->webhooks);
}

static int
next_timeout(const struct listener *l, int64_t now)
{
    int64_t next = l->next_poll < l->next_heartbeat ? l->next_poll
                                                    : l->next_heartbeat;

    if (!l->listening && l->next_connect < next)
        next = l->next_connect;
    return next <= now ? 0 : (int) (next - now);
}

/* One turn: timers first, then wait for the next event. */
static void
turn(struct listener *l)
{
    struct pollfd fds[3];
    int64_t now = now_ms();
    uint64_t count;

    if (!l->listening && now >= l->next_connect)
        listen_start(l, now);
    if (now >= l->next_heartbeat) {
        heartbeat(l);
        l->next_heartbeat = now + l->cfg->lease_seconds * 1000 / 3;
    }
    if (now >= l->next_poll) {
        pool_wake(l->pool, true);
        l->next_poll = now + l->cfg->poll_seconds * 1000;
    }

    fds[0] = (struct pollfd) { .fd = l->sigfd, .events = POLLIN };
    fds[1] = (struct pollfd) { .fd = l->pool->exit_fd, .events = POLLIN };
    fds[2] = (struct pollfd) { .fd = l->listening ? PQsocket(l->db.conn)
                                                  : -1, .events = POLLIN };
    if (poll(fds, 3, next_timeout(l, now_ms())) < 0) {
        if (errno != EINTR)
            log_error("poll: %s", strerror(errno));
        return;
    }
    if (fds[0].revents & POLLIN)
        on_signal(l);
    if ((fds[1].revents & POLLIN)
        && read(l->pool->exit_fd, &count, sizeof(count)) < 0)
        log_error("eventfd read: %s", strerror(errno));
    if (l->listening && fds[2].revents)
        listen_read(l, now_ms());
}

static int
block_signals(void)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before any thread starts, so every thread inherits it and
     * the signals queue on the signalfd only. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd;
}

static int
check_store(const struct config *cfg)
{
    struct stat st;

    if (stat(cfg->store_root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "media-worker: store_root %s: %s\n", cfg->store_root,
                errno ? strerror(errno) : "not a directory");
        return -1;
    }
    return 0;
}

static const char *
parse_args(int argc, char **argv)
{
    const char *path = NULL;
    int c;

    while ((c = getopt(argc, argv, "c:h")) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (path == NULL || optind != argc) {
        usage(stderr);
        exit(2);
    }
    return path;
}

static void
run(struct listener *l)
{
    log_info("started: worker_id %s, %" PRId64 " jobs at once, lease %"
             PRId64 " s, store %s", l->cfg->worker_id, l->cfg->concurrency,
             l->cfg->lease_seconds, l->cfg->store_root);
    while (!(l->stopping && pool_alive(l->pool) == 0))
        turn(l);
    log_info("stopped");
}

int
main(int argc, char **argv)
{
    struct config cfg;
    struct pool pool;
    struct webhooks hooks;
    struct listener l = { .cfg = &cfg, .pool = &pool, .webhooks = &hooks };
    char err[512];
    int rc = 1;

    if (config_load(&cfg, parse_args(argc, argv), err, sizeof(err)) != 0) {
        fprintf(stderr, "media-worker: %s\n", err);
        return 2;
    }
    if (check_store(&cfg) != 0) {
        config_free(&cfg);
        return 2;
    }
    if (fetch_setup(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "media-worker: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    if (store_setup(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "media-worker: %s\n", err);
        fetch_shutdown();
        config_free(&cfg);
        return 2;
    }
    log_set_level(strcmp(cfg.log_level, "debug") == 0 ? LOG_DEBUG
                  : strcmp(cfg.log_level, "warning") == 0 ? LOG_WARN
                  : strcmp(cfg.log_level, "error") == 0 ? LOG_ERROR
                  : LOG_INFO);
    srandom((unsigned) time(NULL) ^ (unsigned) getpid());
    db_init(&l.db, cfg.database);

    l.sigfd = block_signals();
    if (l.sigfd < 0)
        log_error("signalfd: %s", strerror(errno));
    if (l.sigfd < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0
        || optimize_setup(argv[0], &cfg) != 0)
        goto failed;
    if (webhook_start(&hooks, &cfg) != 0)
        goto failed_vips;
    if (pool_start(&pool, &cfg) != 0)
        goto failed_hooks;
    run(&l);
    pool_free(&pool);
    rc = 0;

failed_hooks:
    webhook_stop(&hooks);
    webhook_free(&hooks);
failed_vips:
    optimize_shutdown();
failed:
    if (rc != 0)
        log_error("could not start (see above)");
    db_close(&l.db);
    fetch_shutdown();
    store_shutdown();
    curl_global_cleanup();
    if (l.sigfd >= 0)
        close(l.sigfd);
    config_free(&cfg);
    return rc;
}
