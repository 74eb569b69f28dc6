/*
 * video.h: videos through libavformat/libavcodec: what a file is, how
 * long, and a poster frame for the variants and the BlurHash.
 */
#ifndef MEDIA_VIDEO_H
#define MEDIA_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"

struct config;

struct video_info {
    const char *content_type;   /* video/mp4, video/quicktime, ... */
    int         width, height;  /* as shown, after the rotation */
    double      seconds;
    int         rotate;         /* clockwise degrees to show it upright */
};

/* A decoded frame, 8-bit RGB, rows width * 3 bytes apart, as stored. */
struct video_frame {
    uint8_t *rgb;
    int      width, height;
};

/* Once per process: quiet libav* logging into ours. */
void video_setup(void);

/*
 * Open path as a video of an accepted container and codec.  false when it
 * is not one (the caller says not_an_image); otherwise *st is JOB_OK with
 * info (and frame, when not NULL), or a failure in err: too_long,
 * too_many_pixels, not_an_image (undecodable).
 */
bool video_load(const struct config *cfg, const char *path,
                struct video_info *info, struct video_frame *frame,
                enum job_status *st, struct job_error *err);

void video_frame_free(struct video_frame *frame);

#endif
