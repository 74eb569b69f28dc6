/*
 * video.c: video probe and poster frame with FFmpeg's libraries.
 *
 * Demuxers are limited to the containers clients upload (MP4/MOV family,
 * AVI, Matroska/WebM), the only protocol is "file", and only the decoders
 * listed below run: a parser for every format FFmpeg knows is a larger
 * attack surface than a media upload edge needs.  Everything one load
 * opens hangs off a struct vctx, freed in one place.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libswscale/swscale.h>

#include "config.h"
#include "log.h"
#include "video.h"

#define CONTAINERS "mov,mp4,m4a,3gp,3g2,mj2,avi,matroska,webm"
#define POSTER_SECONDS 1.0      /* past fade-ins, when the video is long */
#define MAX_PACKETS 3000        /* to find the poster frame */

static const char *const decoders[] = {
    "h264", "hevc", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg", "vp8",
    "vp9", "av1", "libdav1d", "msmpeg4v2", "msmpeg4v3", "h263", "prores",
    NULL
};

struct vctx {
    AVFormatContext *fmt;
    AVCodecContext  *codec;
    AVPacket        *pkt;
    AVFrame         *frame;
    int              stream;
};

static void
log_av(void *avcl, int level, const char *fmt, va_list ap)
{
    static __thread int prefix = 1;
    char line[512];

    if (level > AV_LOG_WARNING)
        return;
    av_log_format_line(avcl, level, fmt, ap, line, sizeof(line), &prefix);
    log_debug("libav: %s", line);
}

void
video_setup(void)
{
    av_log_set_callback(log_av);
}

static void
vctx_free(struct vctx *v)
{
    avcodec_free_context(&v->codec);
    avformat_close_input(&v->fmt);
    av_packet_free(&v->pkt);
    av_frame_free(&v->frame);
}

static bool
open_video(struct vctx *v, const char *path)
{
    AVDictionary *opts = NULL;
    int rc;

    av_dict_set(&opts, "format_whitelist", CONTAINERS, 0);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    rc = avformat_open_input(&v->fmt, path, NULL, &opts);
    av_dict_free(&opts);
    if (rc < 0 || avformat_find_stream_info(v->fmt, NULL) < 0)
        return false;
    v->stream = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1,
                                    NULL, 0);
    return v->stream >= 0;
}

static const char *
content_type(const AVFormatContext *fmt, const AVCodecParameters *par)
{
    const AVDictionaryEntry *brand;

    if (strcmp(fmt->iformat->name, "avi") == 0)
        return "video/x-msvideo";
    if (strncmp(fmt->iformat->name, "matroska", 8) == 0)
        return par->codec_id == AV_CODEC_ID_VP8
            || par->codec_id == AV_CODEC_ID_VP9
            || par->codec_id == AV_CODEC_ID_AV1 ? "video/webm"
                                                : "video/x-matroska";
    brand = av_dict_get(fmt->metadata, "major_brand", NULL, 0);
    if (brand != NULL && strncmp(brand->value, "qt", 2) == 0)
        return "video/quicktime";
    return "video/mp4";
}

/* Phones store portrait video sideways with a display matrix. */
static int
rotation(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX,
                                               NULL);
    int r;

    if (m == NULL)
        return 0;
    /* The matrix turns counter-clockwise; we say clockwise. */
    r = (int) lround(-av_display_rotation_get((const int32_t *) m) / 90.0);
    return ((r % 4) + 4) % 4 * 90;
}

static double
duration(const AVFormatContext *fmt, const AVStream *st)
{
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        return fmt->duration / (double) AV_TIME_BASE;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        return st->duration * av_q2d(st->time_base);
    return 0;
}

static enum job_status
describe(const struct config *cfg, struct vctx *v, struct video_info *info,
         struct job_error *err)
{
    const AVStream *st = v->fmt->streams[v->stream];
    const AVCodecParameters *par = st->codecpar;
    int64_t pixels = (int64_t) par->width * par->height;

    info->content_type = content_type(v->fmt, par);
    info->seconds = duration(v->fmt, st);
    info->rotate = rotation(st);
    info->width = info->rotate % 180 ? par->height : par->width;
    info->height = info->rotate % 180 ? par->width : par->height;
    if (info->seconds > (double) cfg->max_video_seconds)
        return job_error(err, JOB_FAIL, "too_long", "The video is %.0f "
                         "seconds long; the limit is %lld seconds.",
                         info->seconds, (long long) cfg->max_video_seconds);
    if (pixels <= 0 || pixels > cfg->max_pixels)
        return job_error(err, JOB_FAIL, "too_many_pixels", "The video is "
                         "%dx%d pixels; the limit is %lld pixels.",
                         par->width, par->height,
                         (long long) cfg->max_pixels);
    return JOB_OK;
}

static bool
open_decoder(struct vctx *v)
{
    const AVStream *st = v->fmt->streams[v->stream];
    const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
    int i;

    for (i = 0; dec != NULL && decoders[i] != NULL; i++)
        if (strcmp(dec->name, decoders[i]) == 0)
            break;
    if (dec == NULL || decoders[i] == NULL)
        return false;
    v->codec = avcodec_alloc_context3(dec);
    v->pkt = av_packet_alloc();
    v->frame = av_frame_alloc();
    if (v->codec == NULL || v->pkt == NULL || v->frame == NULL
        || avcodec_parameters_to_context(v->codec, st->codecpar) < 0)
        return false;
    v->codec->thread_count = 1;     /* jobs run side by side already */
    return avcodec_open2(v->codec, dec, NULL) == 0;
}

/* The frame as 8-bit RGB, with the colour matrix and range it declares. */
static bool
to_rgb(const AVFrame *f, struct video_frame *out)
{
    struct SwsContext *sws;
    uint8_t *dst[4] = { NULL };
    int stride[4] = { f->width * 3 };
    const int *coef = sws_getCoefficients(
        f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT);

    sws = sws_getContext(f->width, f->height, f->format, f->width, f->height,
                         AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);
    out->rgb = malloc((size_t) f->width * f->height * 3);
    if (sws == NULL || out->rgb == NULL) {
        sws_freeContext(sws);
        return false;
    }
    sws_setColorspaceDetails(sws, coef, f->color_range == AVCOL_RANGE_JPEG,
                             coef, 1, 0, 1 << 16, 1 << 16);
    dst[0] = out->rgb;
    sws_scale(sws, (const uint8_t *const *) f->data, f->linesize, 0,
              f->height, dst, stride);
    sws_freeContext(sws);
    out->width = f->width;
    out->height = f->height;
    return true;
}

/*
 * The first frame at POSTER_SECONDS or later (the first frame of a short
 * video): seek to the keyframe before it and decode forward.
 */
static bool
decode_poster(struct vctx *v, double seconds, struct video_frame *out)
{
    const AVStream *st = v->fmt->streams[v->stream];
    int64_t target = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
    int n, rc;

    if (!open_decoder(v))
        return false;
    if (seconds > 2 * POSTER_SECONDS) {
        target += (int64_t) (POSTER_SECONDS / av_q2d(st->time_base));
        (void) av_seek_frame(v->fmt, v->stream, target, AVSEEK_FLAG_BACKWARD);
    }
    for (n = 0; n < MAX_PACKETS; n++) {
        rc = av_read_frame(v->fmt, v->pkt);
        if (rc >= 0 && v->pkt->stream_index != v->stream) {
            av_packet_unref(v->pkt);
            continue;
        }
        /* At the end, a NULL packet drains the decoder. */
        (void) avcodec_send_packet(v->codec, rc >= 0 ? v->pkt : NULL);
        av_packet_unref(v->pkt);
        while (avcodec_receive_frame(v->codec, v->frame) == 0) {
            if (rc < 0 || v->frame->best_effort_timestamp == AV_NOPTS_VALUE
                || v->frame->best_effort_timestamp >= target)
                return to_rgb(v->frame, out);
            av_frame_unref(v->frame);
        }
        if (rc < 0)
            break;
    }
    return false;
}

bool
video_load(const struct config *cfg, const char *path,
           struct video_info *info, struct video_frame *frame,
           enum job_status *st, struct job_error *err)
{
    struct vctx v = { .stream = -1 };
    bool is_video = open_video(&v, path);

    if (is_video) {
        *st = describe(cfg, &v, info, err);
        if (*st == JOB_OK && frame != NULL
            && !decode_poster(&v, info->seconds, frame))
            *st = job_error(err, JOB_FAIL, "not_an_image", "No frame of "
                            "the video could be decoded.");
    }
    vctx_free(&v);
    return is_video;
}

void
video_frame_free(struct video_frame *frame)
{
    free(frame->rgb);
    frame->rgb = NULL;
}
