/*
 * optimize.h: photos through libvips: header checks, one decode with
 * shrink-on-load, WebP variants 128/512/1024 px wide, a BlurHash.  Videos
 * (video.h) get the same from a poster frame.
 */
#ifndef MEDIA_OPTIMIZE_H
#define MEDIA_OPTIMIZE_H

#include <stddef.h>
#include <stdint.h>

#include "blurhash.h"
#include "job.h"

#define OPT_VARIANTS 3

struct config;

/* What the header says, before any decoding. */
struct opt_image {
    const char *content_type;   /* from the bytes: "image/jpeg", ... */
    int         width, height;  /* upright, after EXIF orientation */
    int         has_profile;    /* an ICC profile to convert to sRGB from */
    int         is_video;
};

struct opt_variant {
    int     target;             /* 128, 512 or 1024 */
    char    key[160];           /* <tenant>/v/<media>/<target>.webp */
    int     width, height;
    void   *data;               /* the WebP file */
    size_t  bytes;
};

/* One photo's results.  Owns the WebP buffers: optimize_result_free. */
struct opt_result {
    struct opt_image   info;
    char               blurhash[BLURHASH_MAX_LEN];
    struct opt_variant variants[OPT_VARIANTS];
};

/* Once per process: VIPS_INIT, cache, threads, untrusted loaders. */
int optimize_setup(const char *argv0, const struct config *cfg)
    __attribute__((warn_unused_result));
void optimize_shutdown(void);

/* Each thread that used libvips calls this before it ends. */
void optimize_thread_done(void);

/*
 * Identify a file by its bytes and check it against the size and pixel
 * limits (and a video's duration) from its header alone.  JOB_OK with info
 * filled, or JOB_FAIL with err (not_an_image, too_large, too_many_pixels,
 * too_long), or JOB_RETRY when the file cannot be read.
 */
enum job_status optimize_probe(const struct config *cfg, const char *path,
                               struct opt_image *info, struct job_error *err);

/* Probe, decode once, and encode the variants and the BlurHash, within
 * cfg->optimize_timeout seconds (else JOB_FAIL "timeout"). */
enum job_status optimize_run(const struct config *cfg, const char *path,
                             int64_t tenant_id, int64_t media_id,
                             struct opt_result *res, struct job_error *err);

void optimize_result_free(struct opt_result *res);

/* The clock optimize_timeout is measured with, in milliseconds: monotonic;
 * a test may replace it to stop the pipeline at any of its checks. */
extern int64_t (*optimize_clock_ms)(void);

#endif
