/*
 * optimize_test.c: the photo pipeline (optimize_run) and the JPEG decoder
 * under it (jpeg.c) on real files.
 *
 * Every input is made here with libvips in a fresh directory under /tmp,
 * removed at the end, so the test needs no fixtures and says exactly what
 * each file is.  The variants are decoded back with libwebp and their
 * pixels compared with what a viewer must show: the right way up, in sRGB,
 * at the right size.  WebP is lossy, so colours are compared with a
 * tolerance, on averages well inside flat areas.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <vips/vips.h>
#include <webp/decode.h>

#include "config.h"
#include "jpeg.h"
#include "log.h"
#include "optimize.h"
#include "unit.h"
#include "scratch.h"


static const uint8_t red[3] = { 220, 30, 30 }, blue[3] = { 30, 40, 210 };

/* ---------------------------------------------------------------- files */


/* Write img as dir/name; options in libvips' [...] syntax, or "".  Takes
 * img's reference. */
static int
save(VipsImage *img, const char *name, const char *options)
{
    char target[300];
    int rc;

    if (img == NULL)
        return -1;
    snprintf(target, sizeof(target), "%s%s", path_of(name), options);
    rc = vips_image_write_to_file(img, target, NULL);
    if (rc != 0)
        fprintf(stderr, "  save %s: %s\n", target, vips_error_buffer());
    g_object_unref(img);
    return rc;
}

/* The first fraction of src's bytes as dst. */
static int
truncate_copy(const char *src, const char *dst, double fraction)
{
    gchar *data;
    gsize len;
    int rc;

    if (!g_file_get_contents(path_of(src), &data, &len, NULL))
        return -1;
    rc = g_file_set_contents(path_of(dst), data, (gssize) (len * fraction),
                             NULL) ? 0 : -1;
    g_free(data);
    return rc;
}

/* Left half red, right half blue: where the halves end up after
 * optimize_run says which way the image was turned. */
static void
halves(int x, int y, int w, int h, uint8_t *px)
{
    (void) y, (void) h;
    memcpy(px, x < w / 2 ? red : blue, 3);
}

static uint32_t seed;

/* Gradients and blotchy noise, which JPEG cannot compress away: a file
 * big enough to cut in half mid-scan. */
static void
photo(int x, int y, int w, int h, uint8_t *px)
{
    seed = seed * 1103515245 + 12345;
    px[0] = (uint8_t) (x * 200 / w + (seed >> 26));
    px[1] = (uint8_t) (y * 200 / h + ((seed >> 20) & 63));
    px[2] = (uint8_t) ((x ^ y) & 0xff);
}

/* ------------------------------------------------------------- variants */

static const struct opt_variant *
variant(const struct opt_result *res, int target)
{
    int i;

    for (i = 0; i < OPT_VARIANTS; i++)
        if (res->variants[i].target == target)
            return &res->variants[i];
    return NULL;
}

/* A variant's pixels, RGB or RGBA; also checks that the WebP is what the
 * result says it is. */
static uint8_t *
decode_variant(const struct opt_variant *v, int rgba)
{
    int w = 0, h = 0;
    uint8_t *px;

    if (v == NULL || v->data == NULL)
        return NULL;
    px = rgba ? WebPDecodeRGBA(v->data, v->bytes, &w, &h)
              : WebPDecodeRGB(v->data, v->bytes, &w, &h);
    CHECK(px != NULL && w == v->width && h == v->height);
    return px;
}

/* The mean of a 2r+1 square of an RGB(A) image around (cx, cy), band b. */
static double
mean_at(const uint8_t *px, int w, int bands, int cx, int cy, int r, int b)
{
    double sum = 0;
    int x, y;

    for (y = cy - r; y <= cy + r; y++)
        for (x = cx - r; x <= cx + r; x++)
            sum += px[((size_t) y * w + x) * bands + b];
    return sum / ((2 * r + 1) * (2 * r + 1));
}

/* Within tol of want in every band, on average around (cx, cy). */
static int
colour_near(const uint8_t *px, int w, int bands, int cx, int cy,
            const uint8_t *want, double tol)
{
    int b, ok = 1;

    for (b = 0; b < 3; b++)
        ok &= fabs(mean_at(px, w, bands, cx, cy, 4, b) - want[b]) <= tol;
    if (!ok)
        fprintf(stderr, "  at %d,%d: %.0f %.0f %.0f, want %d %d %d (+-%g)\n",
                cx, cy, mean_at(px, w, bands, cx, cy, 4, 0),
                mean_at(px, w, bands, cx, cy, 4, 1),
                mean_at(px, w, bands, cx, cy, 4, 2), want[0], want[1],
                want[2], tol);
    return ok;
}

/* optimize_run on dir/name; says why when it fails, unless that is what
 * the caller expects. */
static enum job_status
run_quiet(const char *name, struct opt_result *res, struct job_error *err)
{
    memset(res, 0, sizeof(*res));
    memset(err, 0, sizeof(*err));
    return optimize_run(&cfg, path_of(name), 7, 42, res, err);
}

static enum job_status
run(const char *name, struct opt_result *res, struct job_error *err)
{
    enum job_status st = run_quiet(name, res, err);

    if (st != JOB_OK)
        fprintf(stderr, "  %s: %s: %s\n", name, err->code, err->reason);
    return st;
}

/* All three variants at the sizes given, 128 px one first. */
static void
check_sizes(const struct opt_result *res, const int sizes[3][2])
{
    int i;

    for (i = 0; i < OPT_VARIANTS; i++) {
        const struct opt_variant *v = variant(res, i == 0 ? 128
                                                   : i == 1 ? 512 : 1024);

        CHECK(v != NULL && v->data != NULL && v->bytes > 0);
        if (v == NULL)
            continue;
        if (v->width != sizes[i][0] || v->height != sizes[i][1])
            fprintf(stderr, "  %d px variant: %dx%d, want %dx%d\n",
                    v->target, v->width, v->height, sizes[i][0],
                    sizes[i][1]);
        CHECK(v->width == sizes[i][0] && v->height == sizes[i][1]);
    }
}

/* ---------------------------------------------------------- orientation */

/*
 * The camera stores the sensor's rows and says in EXIF how to turn them.
 * A 800x600 image stored left red, right blue: orientation 6 is shown
 * turned 90 degrees clockwise (the stored left edge on top), 8 turned 90
 * degrees anticlockwise (the left edge at the bottom), 3 upside down (the
 * left edge on the right).
 */
static void
check_orientation_case(int orientation, int w, int h, int red_x, int red_y,
                       int blue_x, int blue_y)
{
    static const int sizes[2][3][2] = {
        { { 128, 171 }, { 512, 683 }, { 600, 800 } },   /* turned */
        { { 128, 96 }, { 512, 384 }, { 800, 600 } },    /* upside down */
    };
    struct opt_result res;
    struct job_error err;
    char name[32];
    VipsImage *img = make_image(800, 600, 3, halves);
    const struct opt_variant *v;
    uint8_t *px;

    snprintf(name, sizeof(name), "orientation%d.jpg", orientation);
    vips_image_set_int(img, VIPS_META_ORIENTATION, orientation);
    CHECK(save(img, name, "[Q=95]") == 0);
    CHECK(run(name, &res, &err) == JOB_OK);
    CHECK_STR(res.info.content_type, "image/jpeg");
    CHECK(res.info.width == w && res.info.height == h);
    check_sizes(&res, sizes[w == 600 ? 0 : 1]);
    v = variant(&res, 1024);
    px = decode_variant(v, 0);
    CHECK(px != NULL);
    if (px != NULL) {
        CHECK(colour_near(px, v->width, 3, red_x, red_y, red, 12));
        CHECK(colour_near(px, v->width, 3, blue_x, blue_y, blue, 12));
        WebPFree(px);
    }
    optimize_result_free(&res);
}

static void
check_orientation(void)
{
    /* as stored: no turn at all */
    check_orientation_case(1, 800, 600, 200, 300, 600, 300);
    check_orientation_case(6, 600, 800, 300, 200, 300, 600);
    check_orientation_case(8, 600, 800, 300, 600, 300, 200);
    check_orientation_case(3, 800, 600, 600, 300, 200, 300);
}

/* ---------------------------------------------------------------- colour */

static uint8_t fill[3];

static void
solid(int x, int y, int w, int h, uint8_t *px)
{
    (void) x, (void) y, (void) w, (void) h;
    memcpy(px, fill, 3);
}

/* A 400x300 image of one colour. */
static VipsImage *
solid_image(uint8_t r, uint8_t g, uint8_t b)
{
    fill[0] = r, fill[1] = g, fill[2] = b;
    return make_image(400, 300, 3, solid);
}

/* The pixel at (x, y) of img, rounded to 8 bits. */
static int
pixel_of(VipsImage *img, int x, int y, uint8_t *out, int bands)
{
    double *v;
    int n, b;

    if (vips_getpoint(img, &v, &n, x, y, NULL) != 0 || n < bands) {
        fprintf(stderr, "  getpoint: %s\n", vips_error_buffer());
        return -1;
    }
    for (b = 0; b < bands; b++)
        out[b] = (uint8_t) (v[b] + 0.5);
    g_free(v);
    return 0;
}

/* What a colour-managed viewer shows for file name: its pixels through
 * its embedded profile to sRGB (lcms, through libvips), at the centre. */
static int
expected_srgb(const char *name, uint8_t *out)
{
    VipsImage *in = vips_image_new_from_file(path_of(name), NULL), *srgb;
    int rc = -1;

    if (in != NULL && vips_icc_transform(in, &srgb, "srgb", "embedded", TRUE,
                                         NULL) == 0) {
        rc = pixel_of(srgb, in->Xsize / 2, in->Ysize / 2, out, 3);
        g_object_unref(srgb);
    }
    if (in != NULL)
        g_object_unref(in);
    return rc;
}

/* The pixel at the centre of name as stored, no conversion. */
static int
stored_pixel(const char *name, uint8_t *out)
{
    VipsImage *in = vips_image_new_from_file(path_of(name), NULL);
    int rc = -1;

    if (in != NULL) {
        rc = pixel_of(in, in->Xsize / 2, in->Ysize / 2, out, 3);
        g_object_unref(in);
    }
    return rc;
}

/*
 * A one-colour file through optimize_run: 1 when it succeeds, is w x h
 * upright, and its largest variant is w x h (not enlarged: both are under
 * 1024), 3-band (no alpha); got is the variant's colour at the centre.
 * Says what is wrong otherwise.
 */
static int
centre_colour(const char *name, int w, int h, double *got)
{
    struct opt_result res;
    struct job_error err;
    WebPBitstreamFeatures f;
    const struct opt_variant *v;
    uint8_t *px;
    int b, ok;

    if (run(name, &res, &err) != JOB_OK) {
        optimize_result_free(&res);
        return 0;
    }
    v = variant(&res, 1024);
    ok = res.info.width == w && res.info.height == h && v != NULL
         && v->width == w && v->height == h
         && WebPGetFeatures(v->data, v->bytes, &f) == VP8_STATUS_OK
         && !f.has_alpha;
    px = ok ? decode_variant(v, 0) : NULL;
    if (px == NULL)
        fprintf(stderr, "  %s: %dx%d, variant %dx%d, want %dx%d RGB\n", name,
                res.info.width, res.info.height, v ? v->width : 0,
                v ? v->height : 0, w, h);
    for (b = 0; px != NULL && b < 3; b++)
        got[b] = mean_at(px, w, 3, w / 2, h / 2, 4, b);
    WebPFree(px);
    optimize_result_free(&res);
    return px != NULL;
}

/* got within tol of want in every band; says so when not. */
static int
near(const char *what, const double *got, const uint8_t *want, double tol)
{
    int b, ok = 1;

    for (b = 0; b < 3; b++)
        ok &= fabs(got[b] - want[b]) <= tol;
    if (!ok)
        fprintf(stderr, "  %s: %.0f %.0f %.0f, want %d %d %d (+-%g)\n", what,
                got[0], got[1], got[2], want[0], want[1], want[2], tol);
    return ok;
}

/* One band at least more than tol away. */
static int
far(const double *got, const uint8_t *want, double tol)
{
    int b, ok = 0;

    for (b = 0; b < 3; b++)
        ok |= fabs(got[b] - want[b]) > tol;
    return ok;
}

/* What optimize_probe says of the file's profile, or -1. */
static int
has_profile(const char *name)
{
    struct opt_image info;
    struct job_error err;

    if (optimize_probe(&cfg, path_of(name), &info, &err) != JOB_OK)
        return -1;
    return info.has_profile;
}

/* img converted from sRGB to profile (the profile attached), or NULL.
 * Takes img's reference. */
static VipsImage *
convert_to(VipsImage *img, const char *profile)
{
    VipsImage *out = NULL;

    if (img != NULL && vips_icc_transform(img, &out, profile, "input_profile",
                                          "srgb", NULL) != 0)
        fprintf(stderr, "  icc_transform: %s\n", vips_error_buffer());
    if (img != NULL)
        g_object_unref(img);
    return out;
}

/*
 * Display P3 from a phone: the same bytes mean more saturated colours
 * than in sRGB.  The variants carry no profile, so their pixels must be
 * converted; shown as they are, this green would be off by tens of
 * levels.  libvips 8.14 has "p3" built in: no profile file needed.
 *
 * The photo is saved turned (orientation 6) and not (1): the two take
 * different paths at the end of the decode (the upright one once handed
 * libwebp an image not in memory); a PNG with the profile too.
 */
static void
check_profile(void)
{
    VipsImage *p3 = convert_to(solid_image(40, 190, 70), "p3");
    uint8_t raw[3], want[3];
    double got[3];

    CHECK(p3 != NULL && vips_image_get_typeof(p3, VIPS_META_ICC_NAME));
    if (p3 == NULL)
        return;
    g_object_ref(p3);
    g_object_ref(p3);
    CHECK(save(p3, "p3.jpg", "[Q=95]") == 0);
    CHECK(save(p3, "p3.png", "") == 0);
    vips_image_set_int(p3, VIPS_META_ORIENTATION, 6);
    CHECK(save(p3, "p3-turned.jpg", "[Q=95]") == 0);

    CHECK(stored_pixel("p3.jpg", raw) == 0);
    CHECK(expected_srgb("p3.jpg", want) == 0);
    CHECK(far((double[]) { raw[0], raw[1], raw[2] }, want, 15));

    CHECK(has_profile("p3.jpg") == 1);
    CHECK(has_profile("p3-turned.jpg") == 1);
    CHECK(centre_colour("p3-turned.jpg", 300, 400, got));
    CHECK(near("p3-turned.jpg", got, want, 4));
    CHECK(far(got, raw, 15));       /* not the bytes as stored */

    CHECK(centre_colour("p3.jpg", 400, 300, got)
          && near("p3.jpg", got, want, 4));
    CHECK(centre_colour("p3.png", 400, 300, got)
          && near("p3.png", got, want, 4));
}

/*
 * CMYK (print workflows, some stock photos): jpeg.c declines it, libvips
 * converts it.  Made from an sRGB skin tone through libvips' built-in CMYK
 * profile, which the file then carries; a second copy carries none
 * (libvips then assumes the same).  Both must come back near what a
 * colour-managed viewer shows, which for this colour, inside CMYK's gamut,
 * is the original.  (libvips' vips_colourspace, which optimize.c uses,
 * lands 4 levels off lcms here and 11 on a saturated green.)
 */
static void
check_cmyk(void)
{
    static const uint8_t skin[3] = { 190, 140, 110 };
    VipsImage *cmyk = convert_to(solid_image(190, 140, 110), "cmyk");
    struct jpeg_rows *rows = NULL;
    struct resize_source src;
    uint8_t want[3];
    double got[3];

    CHECK(cmyk != NULL && cmyk->Bands == 4
          && cmyk->Type == VIPS_INTERPRETATION_CMYK);
    if (cmyk == NULL)
        return;
    g_object_ref(cmyk);
    CHECK(save(cmyk, "cmyk.jpg", "[Q=95]") == 0);
    CHECK(save(cmyk, "cmyk-bare.jpg", "[Q=95,strip]") == 0);
    CHECK(jpeg_rows_open(path_of("cmyk.jpg"), 1, 1, &rows, &src)
          == JPEG_OPEN_OTHER);
    CHECK(expected_srgb("cmyk.jpg", want) == 0);
    CHECK(near("lcms", (double[]) { want[0], want[1], want[2] }, skin, 2));
    CHECK(has_profile("cmyk.jpg") == 1);
    CHECK(has_profile("cmyk-bare.jpg") == 0);
    CHECK(centre_colour("cmyk.jpg", 400, 300, got));
    CHECK(near("cmyk.jpg", got, skin, 6));
    CHECK(centre_colour("cmyk-bare.jpg", 400, 300, got));
    CHECK(near("cmyk-bare.jpg", got, skin, 6));
}

static void
grey_pixel(int x, int y, int w, int h, uint8_t *px)
{
    (void) x, (void) y, (void) w, (void) h;
    px[0] = 90;
}

/*
 * Greyscale JPEGs (scans, black-and-white photos): jpeg.c takes them and
 * has libjpeg expand them to RGB, which must stay grey.  A scanner's grey
 * ICC profile must not break the decode: the profile is for one band, the
 * decoded image has three, and to_srgb() hands them to libvips, which
 * converts the first and keeps the other two as extra bands: 5 bands that
 * the WebP encoder refuses.  No grey profile is built into libvips;
 * Ghostscript's, when installed, stands in.  Turned too, to show that
 * this bug is not the P3 one.
 */
static void
check_grey(void)
{
    static const uint8_t grey[3] = { 90, 90, 90 };
    static const char *const profile =
        "/usr/share/color/icc/ghostscript/sgray.icc";
    VipsImage *img = make_image(400, 300, 1, grey_pixel);
    struct jpeg_rows *rows = NULL;
    struct resize_source src;
    uint8_t want[3];
    double got[3];
    gchar *icc;
    gsize len;

    CHECK(img != NULL && img->Type == VIPS_INTERPRETATION_B_W);
    if (img == NULL)
        return;
    g_object_ref(img);
    CHECK(save(img, "grey.jpg", "[Q=95]") == 0);
    CHECK(jpeg_rows_open(path_of("grey.jpg"), 1, 1, &rows, &src)
          == JPEG_OPEN_OK);
    CHECK(src.bands == 1);       /* grey stays one band until the end */
    jpeg_rows_close(rows);
    CHECK(centre_colour("grey.jpg", 400, 300, got));
    CHECK(near("grey.jpg", got, grey, 3));

    if (!g_file_get_contents(profile, &icc, &len, NULL)) {
        fprintf(stderr, "  %s absent: grey profile not tested\n", profile);
        g_object_unref(img);
        return;
    }
    vips_image_set_blob_copy(img, VIPS_META_ICC_NAME, icc, len);
    g_free(icc);
    g_object_ref(img);
    CHECK(save(img, "grey-icc.jpg", "[Q=95]") == 0);
    vips_image_set_int(img, VIPS_META_ORIENTATION, 6);
    CHECK(save(img, "grey-icc-turned.jpg", "[Q=95]") == 0);
    CHECK(expected_srgb("grey-icc.jpg", want) == 0);
    CHECK(centre_colour("grey-icc.jpg", 400, 300, got)
          && near("grey-icc.jpg", got, want, 4));
    CHECK(centre_colour("grey-icc-turned.jpg", 300, 400, got)
          && near("grey-icc-turned.jpg", got, want, 4));
}

/* ---------------------------------------------------------------- PNG */

/* Left half opaque red, right half fully transparent (green under it, which
 * must not bleed into the red). */
static void
red_and_clear(int x, int y, int w, int h, uint8_t *px)
{
    (void) y, (void) h;
    if (x < w / 2)
        px[0] = red[0], px[1] = red[1], px[2] = red[2], px[3] = 255;
    else
        px[0] = 0, px[1] = 255, px[2] = 0, px[3] = 0;
}

/* Transparency survives: a 4-band WebP, opaque and transparent where the
 * PNG was, the visible colour right. */
static void
check_alpha(void)
{
    static const int sizes[3][2] = { { 128, 96 }, { 512, 384 },
                                     { 640, 480 } };
    struct opt_result res;
    struct job_error err;
    WebPBitstreamFeatures f;
    const struct opt_variant *v;
    uint8_t *px;

    CHECK(save(make_image(640, 480, 4, red_and_clear), "alpha.png", "")
          == 0);
    CHECK(run("alpha.png", &res, &err) == JOB_OK);
    CHECK_STR(res.info.content_type, "image/png");
    check_sizes(&res, sizes);
    CHECK(strlen(res.blurhash) == 28);
    v = variant(&res, 1024);
    CHECK(v != NULL && WebPGetFeatures(v->data, v->bytes, &f)
                       == VP8_STATUS_OK && f.has_alpha);
    px = decode_variant(v, 1);
    CHECK(px != NULL);
    if (px != NULL) {
        CHECK(colour_near(px, 640, 4, 160, 240, red, 10));
        CHECK(mean_at(px, 640, 4, 160, 240, 4, 3) > 250);
        CHECK(mean_at(px, 640, 4, 480, 240, 4, 3) < 5);
        WebPFree(px);
    }
    optimize_result_free(&res);
}

/* A 16-bit RGB (or RGBA) PNG of one colour, as libvips writes it. */
static int
save_png16(const char *name, int bands, const uint16_t *colour)
{
    uint16_t *px = malloc(sizeof(uint16_t) * 400 * 300 * bands);
    VipsImage *img;
    int i;

    for (i = 0; i < 400 * 300 * bands; i++)
        px[i] = colour[i % bands];
    img = vips_image_new_from_memory_copy(px, sizeof(uint16_t) * 400 * 300
                                          * bands, 400, 300, bands,
                                          VIPS_FORMAT_USHORT);
    free(px);
    if (img != NULL)
        img->Type = VIPS_INTERPRETATION_RGB16;
    return save(img, name, "");
}

/* 16 bits a sample (scans, exports from editors): scaled to 8 bits, not
 * clipped (a cast would make every colour white). */
static void
check_png16(void)
{
    static const uint16_t rgb[4] = { 50000, 10000, 30000, 65535 };
    static const uint8_t want[3] = { 195, 39, 117 };   /* / 257 */
    struct opt_result res;
    struct job_error err;
    VipsImage *img;
    double got[3];
    uint8_t *px;

    CHECK(save_png16("rgb16.png", 3, rgb) == 0);
    img = vips_image_new_from_file(path_of("rgb16.png"), NULL);
    CHECK(img != NULL && img->BandFmt == VIPS_FORMAT_USHORT);
    if (img != NULL)
        g_object_unref(img);
    CHECK(centre_colour("rgb16.png", 400, 300, got));
    CHECK(near("rgb16.png", got, want, 3));

    /* with alpha, through libvips' thumbnail instead */
    CHECK(save_png16("rgba16.png", 4, rgb) == 0);
    CHECK(run("rgba16.png", &res, &err) == JOB_OK);
    px = decode_variant(variant(&res, 1024), 1);
    CHECK(px != NULL);
    if (px != NULL) {
        CHECK(colour_near(px, 400, 4, 200, 150, want, 3));
        CHECK(mean_at(px, 400, 4, 200, 150, 4, 3) > 250);
        WebPFree(px);
    }
    optimize_result_free(&res);
}

/* -------------------------------------------------- damaged, progressive */

/*
 * Half a JPEG: the header is fine, the scan stops.  libjpeg would fill the
 * rest with grey and call it a warning; a published half-grey photo is
 * worse than a refusal.  The same for a progressive JPEG, which jpeg.c
 * reads whole before the first row and libvips gets after it.
 */
static void
check_truncated(void)
{
    static const char *const names[] = { "truncated.jpg",
                                         "truncated-progressive.jpg" };
    struct opt_result res;
    struct job_error err;
    size_t i;

    seed = 1;
    CHECK(save(make_image(1200, 900, 3, photo), "photo.jpg", "[Q=90]") == 0);
    seed = 1;
    CHECK(save(make_image(1200, 900, 3, photo), "progressive.jpg",
               "[Q=90,interlace]") == 0);
    CHECK(truncate_copy("photo.jpg", names[0], 0.5) == 0);
    CHECK(truncate_copy("progressive.jpg", names[1], 0.5) == 0);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        CHECK(run_quiet(names[i], &res, &err) == JOB_FAIL);
        CHECK_STR(err.code, "not_an_image");
        optimize_result_free(&res);
    }
    /* and whole, both are fine */
    CHECK(run("photo.jpg", &res, &err) == JOB_OK);
    optimize_result_free(&res);
    CHECK(run("progressive.jpg", &res, &err) == JOB_OK);
    optimize_result_free(&res);
}

/* A progressive JPEG through jpeg.c: the right pixels in the right
 * places, not only a success. */
static void
check_progressive(void)
{
    static const int sizes[3][2] = { { 128, 96 }, { 512, 384 },
                                     { 800, 600 } };
    struct opt_result res;
    struct job_error err;
    struct jpeg_rows *rows = NULL;
    struct resize_source src;
    const struct opt_variant *v;
    uint8_t *px;

    VipsImage *img;
    int multiscan = 0;

    CHECK(save(make_image(800, 600, 3, halves), "halves-progressive.jpg",
               "[Q=95,interlace]") == 0);
    img = vips_image_new_from_file(path_of("halves-progressive.jpg"), NULL);
    CHECK(img != NULL && vips_image_get_int(img, "jpeg-multiscan",
                                            &multiscan) == 0);
    CHECK(multiscan == 1);      /* else this tests a baseline JPEG */
    if (img != NULL)
        g_object_unref(img);
    CHECK(jpeg_rows_open(path_of("halves-progressive.jpg"), 800, 600, &rows,
                         &src) == JPEG_OPEN_OK);
    jpeg_rows_close(rows);
    CHECK(run("halves-progressive.jpg", &res, &err) == JOB_OK);
    check_sizes(&res, sizes);
    v = variant(&res, 512);
    px = decode_variant(v, 0);
    CHECK(px != NULL);
    if (px != NULL) {
        CHECK(colour_near(px, 512, 3, 128, 192, red, 12));
        CHECK(colour_near(px, 512, 3, 384, 192, blue, 12));
        WebPFree(px);
    }
    optimize_result_free(&res);
}

/* ---------------------------------------------------------------- sizes */

/* 16:9 from a camera: each variant as wide as its name, never enlarged. */
static void
check_variant_sizes(void)
{
    static const int hd[3][2] = { { 128, 72 }, { 512, 288 }, { 1024, 576 } };
    static const int small[3][2] = { { 128, 85 }, { 300, 200 },
                                     { 300, 200 } };
    struct opt_result res;
    struct job_error err;

    seed = 2;
    CHECK(save(make_image(1920, 1080, 3, photo), "hd.jpg", "[Q=85]") == 0);
    CHECK(run("hd.jpg", &res, &err) == JOB_OK);
    CHECK(res.info.width == 1920 && res.info.height == 1080);
    check_sizes(&res, hd);
    free(decode_variant(variant(&res, 1024), 0));   /* checks its size */
    /* 4x3 components: the size character is 'L', then 27 more */
    CHECK(strlen(res.blurhash) == 28 && res.blurhash[0] == 'L');
    optimize_result_free(&res);

    seed = 3;
    CHECK(save(make_image(300, 200, 3, photo), "small.jpg", "[Q=85]") == 0);
    CHECK(run("small.jpg", &res, &err) == JOB_OK);
    check_sizes(&res, small);
    free(decode_variant(variant(&res, 512), 0));
    CHECK(strlen(res.blurhash) == 28);
    optimize_result_free(&res);
}

/* ---------------------------------------------------------------- timeout */

static int64_t fake_now;

/* A clock that moves one second each time it is read: with a timeout of
 * n seconds the pipeline is stopped at its n-th look at the clock after
 * the one that set the deadline. */
static int64_t
ticking_clock(void)
{
    return fake_now += 1000;
}

/*
 * Every place that can stop a photo for time (the decoders' rows, libvips'
 * pipelines, the WebP encoder, between the steps) is reached by stopping
 * after more and more looks until the photo gets through: each stop must be
 * a clean "timeout" (no other error, nothing left: valgrind sees no leak),
 * and with time enough the same file succeeds.
 */
static void
check_timeout_everywhere(const char *name)
{
    int64_t (*real_clock)(void) = optimize_clock_ms;
    struct opt_result res;
    struct job_error err;
    enum job_status st = JOB_FAIL;
    int n, stops = 0, other = 0;

    optimize_clock_ms = ticking_clock;
    /* every stop among the first 24 looks (decoding), then every 5th (the
     * WebP encoder looks a hundred times a variant) */
    for (n = 1; n <= 5000 && st != JOB_OK; n += n < 24 ? 1 : 5) {
        cfg.optimize_timeout = n;
        st = run_quiet(name, &res, &err);
        if (st != JOB_OK) {
            stops++;
            if (st != JOB_FAIL || err.code == NULL
                || strcmp(err.code, "timeout") != 0) {
                other++;
                fprintf(stderr, "  %s after %d looks: %s\n", name, n,
                        err.code ? err.code : "?");
            }
        }
        optimize_result_free(&res);
    }
    optimize_clock_ms = real_clock;
    cfg.optimize_timeout = 120;
    CHECK(st == JOB_OK);
    CHECK(other == 0);
    CHECK(stops >= 4);          /* stopped at several places */
}

static void
check_timeout(void)
{
    check_timeout_everywhere("photo.jpg");          /* jpeg.c rows */
    check_timeout_everywhere("p3-turned.jpg");      /* ICC, orientation */
    check_timeout_everywhere("alpha.png");          /* libvips' thumbnail */
    check_timeout_everywhere("rgb16.png");          /* libvips' rows */
}

/* ----------------------------------------------------------------- jpeg.c */

/* The smallest of 1/8, 1/4, 1/2, 1/1 that covers the target: for
 * 1024x576 from 1920x1080 the whole (1/2 would be 960 wide). */
static void
check_jpeg_scale(void)
{
    static const struct { int min_w, min_h, w, h; } cases[] = {
        { 1024, 576, 1920, 1080 },
        { 1920, 1080, 1920, 1080 },
        { 961, 1, 1920, 1080 },     /* 1/2 is 960: one short */
        { 960, 540, 960, 540 },
        { 481, 1, 960, 540 },       /* 1/4 is 480: one short */
        { 480, 270, 480, 270 },
        { 1, 1, 240, 135 },         /* 1/8 */
        { 5000, 5000, 1920, 1080 }, /* never more than the whole */
    };
    struct jpeg_rows *rows;
    struct resize_source src;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rows = NULL;
        CHECK(jpeg_rows_open(path_of("hd.jpg"), cases[i].min_w,
                             cases[i].min_h, &rows, &src) == JPEG_OPEN_OK);
        CHECK(src.width == cases[i].w && src.height == cases[i].h);
        CHECK(src.bands == 3);
        jpeg_rows_close(rows);
    }
}

/* Rows through resize.c, as optimize.c reads them: RGB in that order,
 * each half where it was. */
static void
check_jpeg_rows(void)
{
    struct jpeg_rows *rows = NULL;
    struct resize_source src;
    uint8_t *out = malloc(400 * 300 * 3);

    CHECK(jpeg_rows_open(path_of("orientation1.jpg"), 400, 300, &rows, &src)
          == JPEG_OPEN_OK);
    CHECK(src.width == 400 && src.height == 300);     /* 4/8 */
    CHECK(resize_down(&src, 400, 300, out, 400 * 3) == 0);
    CHECK_STR(jpeg_rows_error(rows), "");
    CHECK(colour_near(out, 400, 3, 100, 150, red, 10));
    CHECK(colour_near(out, 400, 3, 300, 150, blue, 10));
    jpeg_rows_close(rows);
    free(out);
}

/* Not JPEGs, or not readable: never JPEG_OPEN_OK.  A truncated file opens
 * (its header is whole) and fails in the rows, saying why. */
static void
check_jpeg_errors(void)
{
    struct jpeg_rows *rows = NULL;
    struct resize_source src;
    uint8_t *buf;
    int y, failed = 0;

    CHECK(jpeg_rows_open(path_of("alpha.png"), 1, 1, &rows, &src)
          != JPEG_OPEN_OK);
    CHECK(jpeg_rows_open(path_of("absent.jpg"), 1, 1, &rows, &src)
          == JPEG_OPEN_ERROR);
    CHECK(jpeg_rows_open(path_of("truncated.jpg"), 1200, 900, &rows, &src)
          == JPEG_OPEN_OK);
    CHECK(src.width == 1200 && src.height == 900);
    buf = malloc((size_t) src.width * 3 * 50);
    for (y = 0; y < src.height && !failed; y += 50)
        failed = src.read(src.arg, y, 50, buf) != 0;
    CHECK(failed);
    CHECK(y > 50 && y < 900);   /* the first half was there */
    CHECK(strlen(jpeg_rows_error(rows)) > 0);
    if (failed)
        fprintf(stderr, "  (truncated.jpg: \"%s\", as expected)\n",
                jpeg_rows_error(rows));
    jpeg_rows_close(rows);
    free(buf);
}

/* --------------------------------------------------------------- the end */

int
main(int argc, char **argv)
{
    (void) argc;
    if (scratch_setup(argv[0], "optimize_test") != 0)
        return 1;
    check_orientation();
    check_profile();
    check_cmyk();
    check_grey();
    check_alpha();
    check_png16();
    check_truncated();
    check_progressive();
    check_variant_sizes();
    /* these read files made by the ones above */
    check_timeout();
    check_jpeg_scale();
    check_jpeg_rows();
    check_jpeg_errors();
    if (getenv("KEEP") == NULL)     /* KEEP=1: leave the files to look at */
        scratch_remove();
    else
        fprintf(stderr, "files kept in %s\n", dir);
    optimize_shutdown();
    config_free(&cfg);
    return unit_done("optimize");
}
