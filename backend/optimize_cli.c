/*
 * optimize_cli.c: media-optimize, the worker's photo pipeline on local
 * files, without the queue: for checking a file by hand and for the
 * benchmark (bench/ compares it with sharp and vipsthumbnail).
 *
 *   media-optimize [-j jobs] [-q quality] [-n repeat] [-o dir] file...
 *
 * Each file is probed, decoded once and encoded as the 128/512/1024 px
 * WebP variants and a BlurHash, exactly as an optimize job does, with
 * -j files in flight (threads).  Prints one line per file, then a summary:
 *   bench: photos=N seconds=S photos_per_s=R output_bytes=B peak_rss_kb=K
 * With -o the variants are written to <dir>/<n>_<width>.webp.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "optimize.h"

struct run {
    struct config  cfg;
    char         **files;
    int            nfiles, repeat;
    const char    *outdir;
    atomic_int     next;
    atomic_llong   bytes;
    atomic_int     failed;
};

static double
seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
save(const struct run *r, int n, const struct opt_result *res)
{
    char path[4096];
    FILE *f;
    int i;

    for (i = 0; r->outdir != NULL && i < OPT_VARIANTS; i++) {
        snprintf(path, sizeof(path), "%s/%d_%d.webp", r->outdir, n,
                 res->variants[i].target);
        f = fopen(path, "wb");
        if (f == NULL || fwrite(res->variants[i].data, 1,
                                res->variants[i].bytes, f)
                         != res->variants[i].bytes)
            fprintf(stderr, "media-optimize: cannot write %s\n", path);
        if (f != NULL)
            fclose(f);
    }
}

static void
one(struct run *r, int n)
{
    const char *file = r->files[n % r->nfiles];
    struct opt_result res;
    struct job_error err;
    int64_t bytes = 0;
    int i;

    memset(&res, 0, sizeof(res));
    if (optimize_run(&r->cfg, file, 0, n, &res, &err) != JOB_OK) {
        printf("%s: %s: %s\n", file, err.code, err.reason);
        atomic_fetch_add(&r->failed, 1);
    } else {
        for (i = 0; i < OPT_VARIANTS; i++)
            bytes += (int64_t) res.variants[i].bytes;
        atomic_fetch_add(&r->bytes, bytes);
        if (n < r->nfiles)
            printf("%s: %s %dx%d %s variants %zu+%zu+%zu bytes\n", file,
                   res.info.content_type, res.info.width, res.info.height,
                   res.blurhash, res.variants[0].bytes,
                   res.variants[1].bytes, res.variants[2].bytes);
        save(r, n, &res);
    }
    optimize_result_free(&res);
}

static void *
thread_main(void *arg)
{
    struct run *r = arg;
    int n;

    while ((n = atomic_fetch_add(&r->next, 1)) < r->nfiles * r->repeat)
        one(r, n);
    optimize_thread_done();
    return NULL;
}

static int
parse(int argc, char **argv, struct run *r, int *jobs)
{
    char text[256], err[256];
    int c, quality = 80;

    while ((c = getopt(argc, argv, "j:q:n:o:")) != -1) {
        switch (c) {
        case 'j': *jobs = atoi(optarg); break;
        case 'q': quality = atoi(optarg); break;
        case 'n': r->repeat = atoi(optarg); break;
        case 'o': r->outdir = optarg; break;
        default: return -1;
        }
    }
    r->files = argv + optind;
    r->nfiles = argc - optind;
    if (r->nfiles < 1 || *jobs < 1 || *jobs > 64 || r->repeat < 1)
        return -1;
    /* The worker's defaults, through the worker's own parser. */
    snprintf(text, sizeof(text), "database = -\nstore_root = /\n"
             "webp_quality = %d\n", quality);
    if (config_parse(&r->cfg, text, "media-optimize", err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "media-optimize: %s\n", err);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct run r = { .repeat = 1 };
    pthread_t threads[64];
    struct rusage ru;
    int jobs = 2, i, total;
    double t0, dt;

    if (parse(argc, argv, &r, &jobs) != 0) {
        fprintf(stderr, "usage: media-optimize [-j jobs] [-q quality] "
                "[-n repeat] [-o dir] file...\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    if (optimize_setup(argv[0], &r.cfg) != 0)
        return 1;
    t0 = seconds();
    for (i = 0; i < jobs; i++)
        pthread_create(&threads[i], NULL, thread_main, &r);
    for (i = 0; i < jobs; i++)
        pthread_join(threads[i], NULL);
    dt = seconds() - t0;
    total = r.nfiles * r.repeat;
    getrusage(RUSAGE_SELF, &ru);
    printf("bench: photos=%d seconds=%.3f photos_per_s=%.2f "
           "output_bytes=%lld peak_rss_kb=%ld failed=%d\n", total, dt,
           total / dt, (long long) r.bytes / r.repeat, ru.ru_maxrss,
           (int) r.failed);
    optimize_shutdown();
    config_free(&r.cfg);
    return r.failed ? 1 : 0;
}
