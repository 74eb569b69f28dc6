/*
 * optimize.c: the pipeline for one photo (or a video's poster frame).
 *
 * All libvips objects of a run hang off one context object (local arrays),
 * released in one place, as vipsthumbnail does.  The original is decoded
 * once, straight to the largest variant's size: JPEGs by jpeg.c, common
 * PNGs by png_decode.c, the rest by their libvips loader, each feeding
 * resize.c; the smaller variants and the BlurHash thumbnail are resized
 * from that, and webp.c encodes the variants.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <vips/vips.h>

#include "config.h"
#include "jpeg.h"
#include "log.h"
#include "optimize.h"
#include "png_decode.h"
#include "resize.h"
#include "video.h"
#include "webp.h"

#define BLURHASH_WIDTH 32
#define BLURHASH_X 4
#define BLURHASH_Y 3

static const int variant_widths[OPT_VARIANTS] = { 128, 512, 1024 };

/*
 * The loaders we accept, by libvips nickname.  Formats that a decoder must
 * hold whole in memory (progressive JPEG, interlaced PNG, HEIF) are held to
 * a quarter of max_pixels: their memory grows with the full image, not with
 * the shrunk one.
 */
static const struct format {
    const char *loader;
    const char *content_type;
    bool        whole;
} formats[] = {
    { "jpegload", "image/jpeg", false },
    { "pngload",  "image/png",  false },
    { "webpload", "image/webp", false },
    { "heifload", "image/heic", true },
    { "gifload",  "image/gif",  false },
    { "tiffload", "image/tiff", false },
};

#define WHOLE_IMAGE_DIVISOR 4

/* libvips warns through GLib about every damaged tile of a bad upload;
 * that is detail for debugging, in our log format. */
static void
log_glib(const gchar *domain, GLogLevelFlags level, const gchar *message,
         gpointer data)
{
    (void) data;
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        log_error("%s: %s", domain, message);
    else
        log_debug("%s: %s", domain, message);
}

int
optimize_setup(const char *argv0, const struct config *cfg)
{
    if (VIPS_INIT(argv0) != 0) {
        log_error("libvips: %s", vips_error_buffer());
        return -1;
    }
    g_log_set_handler("VIPS", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL
                      | G_LOG_FLAG_RECURSION, log_glib, NULL);
    /* A service sees every file once: caching operations only holds
     * memory and open files. */
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    /* Parallelism comes from running several jobs; each job's libvips
     * pipeline gets vips_threads threads (1 by default). */
    vips_concurrency_set((int) cfg->vips_threads);
    /* Loaders for formats nobody uploads as photos (PDF, SVG, FITS, ImageMagick
     * ...) are large attack surface; our allow-list below is the second
     * lock on the same door. */
    vips_block_untrusted_set(TRUE);
    video_setup();
    return 0;
}

void
optimize_shutdown(void)
{
    vips_shutdown();
}

void
optimize_thread_done(void)
{
    vips_thread_shutdown();
}

/* Log libvips' error buffer (shared by all threads) and clear it. */
static void
log_vips(const char *what, const char *path)
{
    char *msg = vips_error_buffer_copy();

    log_info("%s: %s: %s", path, what, msg && *msg ? msg : "(no detail)");
    g_free(msg);
}

/*
 * Time: a photo gets optimize_timeout seconds.  The decoders, the resize
 * sources, libvips' own pipelines and the WebP encoder all ask in_time()
 * as they go, and stop; the job then fails "timeout".  A deadline per
 * thread: each job thread runs one photo at a time.
 */
static int64_t
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t (*optimize_clock_ms)(void) = monotonic_ms;

static __thread int64_t deadline_ms;

static int
in_time(void)
{
    return optimize_clock_ms() < deadline_ms;
}

static enum job_status
timed_out(const struct config *cfg, struct job_error *err)
{
    vips_error_clear();
    return job_error(err, JOB_FAIL, "timeout",
                     "Processing the image took longer than %" PRId64
                     " s; it is too costly to decode.",
                     cfg->optimize_timeout);
}

/* libvips computes an image when it is copied to memory; on its way it
 * emits "eval", where we stop it once the time is up. */
static void
on_eval(VipsImage *image, VipsProgress *progress, void *data)
{
    (void) progress, (void) data;
    if (!in_time())
        vips_image_set_kill(image, TRUE);
}

/* img computed into memory, within the time left. */
static VipsImage *
compute(VipsImage *img)
{
    if (!in_time())
        return NULL;
    vips_image_set_progress(img, TRUE);
    g_signal_connect(img, "eval", G_CALLBACK(on_eval), NULL);
    return vips_image_copy_memory(img);
}

/* A decoder's rows, until the time is up. */
struct timed {
    struct resize_source outer;
    const struct resize_source *inner;
};

static int
timed_read(void *arg, int y, int n, uint8_t *dst)
{
    const struct timed *t = arg;

    if (!in_time())
        return -1;
    return t->inner->read(t->inner->arg, y, n, dst);
}

static const struct resize_source *
timed(struct timed *t, const struct resize_source *inner)
{
    t->outer = *inner;
    t->outer.read = timed_read;
    t->outer.arg = t;
    t->inner = inner;
    return &t->outer;
}

static const struct format *
find_format(VipsSource *source)
{
    const char *loader = vips_foreign_find_load_source(source);
    const char *nick;
    size_t i;

    if (loader == NULL)
        return NULL;
    nick = vips_nickname_find(g_type_from_name(loader));
    for (i = 0; nick != NULL && i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strncmp(nick, formats[i].loader, strlen(formats[i].loader)) == 0)
            return &formats[i];
    return NULL;
}

static enum job_status
check_file(const struct config *cfg, const char *path, struct job_error *err)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return job_error(err, JOB_RETRY, "storage_error",
                         "The original file could not be read (%s).",
                         strerror(errno));
    if (st.st_size > cfg->max_file_size)
        return job_error(err, JOB_FAIL, "too_large",
                         "The file is %" PRId64 " bytes; the limit is %"
                         PRId64 " bytes.", (int64_t) st.st_size,
                         cfg->max_file_size);
    if (st.st_size == 0)
        return job_error(err, JOB_FAIL, "not_an_image", "The file is empty.");
    return JOB_OK;
}

static enum job_status
check_pixels(const struct config *cfg, VipsImage *header,
             const struct format *fmt, struct job_error *err)
{
    int64_t pixels = (int64_t) header->Xsize * header->Ysize;
    int64_t limit = cfg->max_pixels;
    int interlaced = 0;

    if (vips_image_get_typeof(header, "interlaced"))
        (void) vips_image_get_int(header, "interlaced", &interlaced);
    if (fmt->whole || interlaced)
        limit /= WHOLE_IMAGE_DIVISOR;
    if (pixels > limit)
        return job_error(err, JOB_FAIL, "too_many_pixels",
                         "The image is %dx%d pixels; the limit for this kind "
                         "of image is %" PRId64 " pixels.", header->Xsize,
                         header->Ysize, limit);
    return JOB_OK;
}

static const char *
content_type(VipsImage *header, const struct format *fmt)
{
    const char *compression = NULL;

    if (strcmp(fmt->loader, "heifload") == 0
        && vips_image_get_typeof(header, "heif-compression")
        && vips_image_get_string(header, "heif-compression",
                                 &compression) == 0
        && strcmp(compression, "av1") == 0)
        return "image/avif";
    return fmt->content_type;
}

static enum job_status
probe_video(const struct config *cfg, const char *path,
            struct opt_image *info, struct job_error *err)
{
    struct video_info vi;
    enum job_status st;

    if (!video_load(cfg, path, &vi, NULL, &st, err))
        return job_error(err, JOB_FAIL, "not_an_image",
                         "The file is not an image or a video in a "
                         "supported format (JPEG, PNG, WebP, HEIC, AVIF, "
                         "GIF, TIFF; MP4, MOV, AVI, WebM).");
    info->content_type = vi.content_type;
    info->width = vi.width, info->height = vi.height;
    info->has_profile = 0;
    info->is_video = 1;
    return st;
}

/* The probe proper, with its objects on the caller's context; *header
 * is the image's (NULL for a video), for the decode. */
static enum job_status
probe(VipsObject *context, const struct config *cfg, const char *path,
      struct opt_image *info, VipsImage **header_out, struct job_error *err)
{
    VipsObject **t = vips_object_local_array(context, 2);
    const struct format *fmt;
    enum job_status st;
    VipsImage *header;

    if ((st = check_file(cfg, path, err)) != JOB_OK)
        return st;
    t[0] = VIPS_OBJECT(vips_source_new_from_file(path));
    if (t[0] == NULL) {
        log_vips("open", path);
        return job_error(err, JOB_RETRY, "storage_error",
                         "The original file could not be opened.");
    }
    fmt = find_format(VIPS_SOURCE(t[0]));
    if (fmt == NULL) {
        vips_error_clear();
        return probe_video(cfg, path, info, err);
    }
    header = vips_image_new_from_source(VIPS_SOURCE(t[0]), "", "access",
                                        VIPS_ACCESS_SEQUENTIAL, NULL);
    t[1] = VIPS_OBJECT(header);
    if (header == NULL) {
        log_vips("header", path);
        return job_error(err, JOB_FAIL, "not_an_image",
                         "The image header could not be read; the file may "
                         "be corrupt.");
    }
    if ((st = check_pixels(cfg, header, fmt, err)) != JOB_OK)
        return st;
    info->content_type = content_type(header, fmt);
    info->has_profile = vips_image_get_typeof(header, VIPS_META_ICC_NAME) != 0;
    info->is_video = 0;
    info->width = header->Xsize, info->height = header->Ysize;
    if (vips_image_get_orientation_swap(header))
        info->width = header->Ysize, info->height = header->Xsize;
    *header_out = header;
    return JOB_OK;
}

enum job_status
optimize_probe(const struct config *cfg, const char *path,
               struct opt_image *info, struct job_error *err)
{
    VipsObject *context = VIPS_OBJECT(vips_image_new());
    VipsImage *header = NULL;
    enum job_status st = probe(context, cfg, path, info, &header, err);

    g_object_unref(context);
    return st;
}

/* A fresh 8-bit memory image, sRGB (or grey, with fewer than 3 bands),
 * its pixels allocated, on slot *slot. */
static VipsImage *
memory_image(VipsObject **slot, int width, int height, int bands)
{
    VipsImage *img = vips_image_new_memory();

    *slot = VIPS_OBJECT(img);
    vips_image_init_fields(img, width, height, bands, VIPS_FORMAT_UCHAR,
                           VIPS_CODING_NONE,
                           bands < 3 ? VIPS_INTERPRETATION_B_W
                                     : VIPS_INTERPRETATION_sRGB, 1.0, 1.0);
    return vips_image_write_prepare(img) == 0 ? img : NULL;
}

/* Rows of a libvips pipeline for resize.c, pulled top to bottom. */
static int
region_read(void *arg, int y, int n, uint8_t *dst)
{
    VipsRegion *region = arg;
    VipsImage *img = region->im;
    size_t line = VIPS_IMAGE_SIZEOF_LINE(img);
    VipsRect rect = { 0, y, img->Xsize, n };
    int i;

    if (vips_region_prepare(region, &rect) != 0)
        return -1;
    for (i = 0; i < n; i++)
        memcpy(dst + i * line, VIPS_REGION_ADDR(region, 0, y + i), line);
    return 0;
}

/* src resized to width x height into a new memory image on *slot; a
 * decoder's rows are read only while the photo is in time. */
static VipsImage *
resize_into(VipsObject **slot, const struct resize_source *src, int width,
            int height)
{
    VipsImage *out = memory_image(slot, width, height, src->bands);
    struct timed t;

    if (out == NULL
        || resize_down(src->read != NULL ? timed(&t, src) : src, width,
                       height, VIPS_IMAGE_ADDR(out, 0, 0),
                       VIPS_IMAGE_SIZEOF_LINE(out)) != 0)
        return NULL;
    return out;
}

/* in (any libvips image of 8-bit pixels) resized to width x height into a
 * new memory image on *slot, streaming: in is computed a strip at a time,
 * never whole. */
static VipsImage *
resize_stream(VipsObject **slot, VipsImage *in, int width, int height)
{
    VipsRegion *region = vips_region_new(in);
    struct resize_source src = { in->Xsize, in->Ysize, in->Bands,
                                 region_read, NULL, region,
                                 vips_image_hasalpha(in) };
    VipsImage *out;

    if (region == NULL)
        return NULL;
    out = resize_into(slot, &src, width, height);
    g_object_unref(region);
    return out;
}

/*
 * The decoders below each take a few slots of the caller's local array
 * for what they create, and return an image that one of those slots (or
 * the caller) owns.
 */

/* A JPEG through jpeg.c, at width x height.  0 when the file is not for
 * that decoder (CMYK, 12-bit, a header libjpeg refuses): libvips then
 * takes it.  1 with *img, NULL if the data turned out damaged.  1 slot. */
static int
decode_jpeg(VipsObject **t, const char *path, int width, int height,
            VipsImage **img)
{
    struct resize_source src;
    struct jpeg_rows *rows;

    if (jpeg_rows_open(path, width, height, &rows, &src) != JPEG_OPEN_OK)
        return 0;
    *img = resize_into(&t[0], &src, width, height);
    if (*img == NULL)
        vips_error("jpeg", "%s", jpeg_rows_error(rows));
    jpeg_rows_close(rows);
    return 1;
}

/* A PNG through png_decode.c, at width x height, as decode_jpeg.
 * 1 slot. */
static int
decode_png(VipsObject **t, const char *path, int width, int height,
           VipsImage **img)
{
    struct resize_source src;
    struct png_rows *rows;
    char why[128];

    switch (png_rows_open(path, &rows, &src, why, sizeof(why))) {
    case PNG_OPEN_OTHER:
        return 0;
    case PNG_OPEN_ERROR:
        vips_error("png", "%s", why);
        *img = NULL;
        return 1;
    case PNG_OPEN_OK:
        break;
    }
    *img = resize_into(&t[0], &src, width, height);
    png_rows_close(rows);
    return 1;
}

/* Any other image through its libvips loader, read top to bottom, as
 * 8-bit sRGB (with its alpha, premultiplied while resizing) at width x
 * height.  *converted when the loader's pixels were
 * something else (CMYK, 16-bit, grey ...), converted with any profile
 * they carry.  5 slots. */
static VipsImage *
decode_vips(VipsObject **t, const char *path, int width, int height,
            int *converted)
{
    VipsImage *img;

    t[0] = VIPS_OBJECT(vips_source_new_from_file(path));
    if (t[0] == NULL)
        return NULL;
    img = vips_image_new_from_source(VIPS_SOURCE(t[0]), "fail_on=error",
                                     "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    t[1] = VIPS_OBJECT(img);
    if (img == NULL)
        return NULL;
    *converted = img->BandFmt != VIPS_FORMAT_UCHAR
                 || (img->Bands != 3 && img->Bands != 4)
                 || img->Type != VIPS_INTERPRETATION_sRGB;
    if (*converted) {
        if (vips_colourspace(img, (VipsImage **) &t[2],
                             VIPS_INTERPRETATION_sRGB, NULL) != 0
            || vips_cast_uchar((VipsImage *) t[2], (VipsImage **) &t[3],
                               NULL) != 0)
            return NULL;
        img = (VipsImage *) t[3];
    }
    return resize_stream(&t[4], img, width, height);
}

/* Display P3 from phones, Adobe RGB from cameras: converted to sRGB with
 * the header's profile, since the variants carry none.  Done on the
 * small image, as libvips' thumbnail does.  A profile for other data than
 * the pixels' (a grey profile with RGB) is ignored: libvips would apply it
 * to the first band only.  3 slots. */
static VipsImage *
to_srgb(VipsObject **t, VipsImage *img, VipsImage *header)
{
    const unsigned char *profile;
    size_t len;

    if (vips_image_get_blob(header, VIPS_META_ICC_NAME,
                            (const void **) &profile, &len) != 0)
        return NULL;
    /* bytes 16-19 of an ICC header: the colour space of the data */
    if (len < 20 || memcmp(profile + 16, img->Bands < 3 ? "GRAY" : "RGB ",
                           4) != 0)
        return img;
    vips_image_set_blob_copy(img, VIPS_META_ICC_NAME, profile, len);
    if (vips_icc_transform(img, (VipsImage **) &t[0], "srgb", "embedded",
                           TRUE, NULL) != 0
        || vips_cast_uchar((VipsImage *) t[0], (VipsImage **) &t[1],
                           NULL) != 0)
        return NULL;
    t[2] = VIPS_OBJECT(compute((VipsImage *) t[1]));
    return (VipsImage *) t[2];
}

/* Grey made RGB, for the WebP encoder, in memory.  2 slots. */
static VipsImage *
to_rgb(VipsObject **t, VipsImage *img)
{
    if (img->Bands >= 3)
        return img;
    if (vips_colourspace(img, (VipsImage **) &t[0], VIPS_INTERPRETATION_sRGB,
                         NULL) != 0)
        return NULL;
    t[1] = VIPS_OBJECT(compute((VipsImage *) t[0]));
    return (VipsImage *) t[1];
}

/* Turned as the header's EXIF orientation says, in memory.  2 slots. */
static VipsImage *
upright(VipsObject **t, VipsImage *img, VipsImage *header)
{
    int orientation = vips_image_get_orientation(header);

    if (orientation <= 1 || orientation > 8)
        return img;
    vips_image_set_int(img, VIPS_META_ORIENTATION, orientation);
    if (vips_autorot(img, (VipsImage **) &t[0], NULL) != 0)
        return NULL;
    t[1] = VIPS_OBJECT(compute((VipsImage *) t[0]));
    return (VipsImage *) t[1];
}

/* decode() without the error report. */
static VipsImage *
decode_any(VipsObject **t, const char *path, const struct opt_image *info,
           VipsImage *header)
{
    int widest = variant_widths[OPT_VARIANTS - 1];
    int width = info->width < widest ? info->width : widest;
    int height = resize_height_for(info->width, info->height, width);
    int converted = 0;
    VipsImage *img = NULL;

    if (vips_image_get_orientation_swap(header)) {
        int w = width;      /* the decoders work on the image as stored */

        width = height, height = w;
    }
    if (!(strcmp(info->content_type, "image/jpeg") == 0
          && decode_jpeg(t, path, width, height, &img))
        && !(strcmp(info->content_type, "image/png") == 0
             && decode_png(t, path, width, height, &img)))
        img = decode_vips(t + 1, path, width, height, &converted);
    if (img != NULL && info->has_profile && !converted)
        img = to_srgb(t + 6, img, header);
    if (img != NULL)
        img = to_rgb(t + 9, img);
    return img != NULL ? upright(t + 11, img, header) : NULL;
}

/*
 * The one decode: upright, at most as wide as the largest variant, 8-bit
 * sRGB, in memory.  JPEGs are decoded scaled and resized as they are
 * decoded, other formats as their loader produces rows, without the
 * full-size image held (but for the PNG fast path, 24 MP at most).
 * Orientation and colour profile are applied to the small result.
 */
static enum job_status
decode(VipsObject *context, const struct config *cfg, const char *path,
       const struct opt_image *info, VipsImage *header, VipsImage **out,
       struct job_error *err)
{
    VipsObject **t = vips_object_local_array(context, 13);

    *out = decode_any(t, path, info, header);
    if (*out == NULL && !in_time())
        return timed_out(cfg, err);
    if (*out == NULL) {
        log_vips("decode", path);
        return job_error(err, JOB_FAIL, "not_an_image",
                         "The image could not be decoded; the file is "
                         "corrupt or truncated.");
    }
    return JOB_OK;
}

/* The poster frame of a video, upright and in memory, as decode() gives a
 * photo. */
static enum job_status
decode_video(VipsObject *context, const struct config *cfg, const char *path,
             VipsImage **out, struct job_error *err)
{
    static const VipsAngle angles[] = {
        VIPS_ANGLE_D0, VIPS_ANGLE_D90, VIPS_ANGLE_D180, VIPS_ANGLE_D270
    };
    VipsObject **t = vips_object_local_array(context, 3);
    struct video_frame frame = { NULL, 0, 0 };
    struct video_info vi;
    enum job_status st = JOB_FAIL;

    if (!video_load(cfg, path, &vi, &frame, &st, err))
        st = job_error(err, JOB_FAIL, "not_an_image",
                       "The video could not be read.");
    if (st != JOB_OK)
        goto failed;
    t[0] = VIPS_OBJECT(vips_image_new_from_memory_copy(frame.rgb,
               (size_t) frame.width * frame.height * 3, frame.width,
               frame.height, 3, VIPS_FORMAT_UCHAR));
    if (t[0] == NULL
        || vips_rot((VipsImage *) t[0], (VipsImage **) &t[1],
                    angles[vi.rotate / 90], NULL) != 0
        || (t[2] = VIPS_OBJECT(vips_image_copy_memory(
                       (VipsImage *) t[1]))) == NULL) {
        log_vips("poster", path);
        st = job_error(err, JOB_RETRY, "internal",
                       "The poster frame could not be prepared.");
        goto failed;
    }
    *out = (VipsImage *) t[2];

failed:
    video_frame_free(&frame);
    return st;
}

/* in resized to width (never enlarged), height in proportion, in memory. */
static int
shrink_to(VipsObject *context, VipsImage *in, int width, VipsImage **out)
{
    VipsObject **t = vips_object_local_array(context, 1);
    struct resize_memory mem;
    struct resize_source src;
    int height;

    if (in->Xsize <= width) {
        *out = in;
        return 0;
    }
    height = resize_height_for(in->Xsize, in->Ysize, width);
    resize_source_memory(&src, &mem, VIPS_IMAGE_ADDR(in, 0, 0), in->Xsize,
                         in->Ysize, in->Bands, VIPS_IMAGE_SIZEOF_LINE(in));
    src.alpha = in->Bands == 2 || in->Bands == 4;
    *out = resize_into(&t[0], &src, width, height);
    return *out != NULL ? 0 : -1;
}

/* The BlurHash of a small copy, transparency flattened onto white. */
static enum job_status
compute_blurhash(VipsObject *context, VipsImage *in, char *hash,
                 struct job_error *err)
{
    VipsObject **t = vips_object_local_array(context, 2);
    VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
    VipsImage *img;
    int rc = -1;

    if (shrink_to(context, in, BLURHASH_WIDTH, &img) != 0)
        goto failed;
    if (img->Bands == 4) {
        if (vips_flatten(img, (VipsImage **) &t[0], "background", white,
                         NULL) != 0
            || (t[1] = VIPS_OBJECT(vips_image_copy_memory(
                           (VipsImage *) t[0]))) == NULL)
            goto failed;
        img = (VipsImage *) t[1];
    }
    rc = blurhash_encode(BLURHASH_X, BLURHASH_Y, img->Xsize, img->Ysize,
                         VIPS_IMAGE_ADDR(img, 0, 0),
                         VIPS_IMAGE_SIZEOF_LINE(img), hash, BLURHASH_MAX_LEN);

failed:
    vips_area_unref(VIPS_AREA(white));
    if (rc != 0) {
        log_vips("blurhash", "(thumbnail)");
        return job_error(err, JOB_RETRY, "internal",
                         "The BlurHash could not be computed.");
    }
    return JOB_OK;
}

/* Encode the variant of width target from *from, which it replaces. */
static enum job_status
encode_variant(VipsObject *context, VipsImage **from, int target,
               const struct config *cfg, int64_t tenant_id, int64_t media_id,
               struct opt_variant *v, struct job_error *err)
{
    VipsImage *img;

    v->target = target;
    snprintf(v->key, sizeof(v->key), "%" PRId64 "/v/%" PRId64 "/%d.webp",
             tenant_id, media_id, target);
    if (shrink_to(context, *from, target, &img) != 0
        || webp_encode(VIPS_IMAGE_ADDR(img, 0, 0), img->Xsize, img->Ysize,
                       img->Bands, VIPS_IMAGE_SIZEOF_LINE(img),
                       (int) cfg->webp_quality, in_time, &v->data,
                       &v->bytes) != 0) {
        if (!in_time())
            return timed_out(cfg, err);
        log_vips("webp", v->key);
        return job_error(err, JOB_RETRY, "internal",
                         "The %d px variant could not be encoded.", target);
    }
    v->width = img->Xsize, v->height = img->Ysize;
    *from = img;
    return JOB_OK;
}
static enum job_status
run(VipsObject *context, const struct config *cfg, const char *path,
    int64_t tenant_id, int64_t media_id, struct opt_result *res,
    struct job_error *err)
{
    VipsImage *header = NULL, *from = NULL;
    enum job_status st;
    int i;

    if ((st = probe(context, cfg, path, &res->info, &header, err)) != JOB_OK)
        return st;
    st = res->info.is_video
         ? decode_video(context, cfg, path, &from, err)
         : decode(context, cfg, path, &res->info, header, &from, err);
    if (st != JOB_OK)
        return st;
    if (!in_time())
        return timed_out(cfg, err);
    /* Largest first: each variant, then the BlurHash thumbnail, is resized
     * from the one before, which reads fewer pixels than going back to the
     * decoded image every time. */
    for (i = OPT_VARIANTS - 1; i >= 0; i--) {
        st = encode_variant(context, &from, variant_widths[i], cfg, tenant_id,
                            media_id, &res->variants[i], err);
        if (st != JOB_OK)
            return st;
    }
    return compute_blurhash(context, from, res->blurhash, err);
}

enum job_status
optimize_run(const struct config *cfg, const char *path, int64_t tenant_id,
             int64_t media_id, struct opt_result *res, struct job_error *err)
{
    VipsObject *context = VIPS_OBJECT(vips_image_new());
    enum job_status st;

    deadline_ms = optimize_clock_ms() + cfg->optimize_timeout * 1000;
    st = run(context, cfg, path, tenant_id, media_id, res, err);
    g_object_unref(context);
    return st;
}

void
optimize_result_free(struct opt_result *res)
{
    int i;

    for (i = 0; i < OPT_VARIANTS; i++) {
        webp_free(res->variants[i].data);
        res->variants[i].data = NULL;
    }
}
