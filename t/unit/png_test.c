/*
 * png_test.c: the PNG decoder (png.c) on real files.
 *
 * Every file is written here by libvips (libpng underneath) in a fresh
 * directory under /tmp, removed at the end; the damaged ones are those
 * files taken apart and put back together by the helpers below, with
 * correct CRCs wherever a test wants the damage to be found further in.
 * A decoded file must give exactly the bytes libvips decodes from it
 * (PNG is lossless: no tolerance); what png.c does not take must be left
 * to libvips (PNG_OPEN_OTHER); a damaged file must be refused with a
 * reason (PNG_OPEN_ERROR), never decoded to something.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <libdeflate.h>
#include <vips/vips.h>

#include "config.h"
#include "log.h"
#include "optimize.h"
#include "png_decode.h"
#include "unit.h"
#include "scratch.h"


/* The photo-like test image: no dimension a multiple of anything. */
#define W 301
#define H 203

/* ---------------------------------------------------------------- files */


static uint32_t seed;

static uint32_t
noise(void)
{
    seed = seed * 1103515245 + 12345;
    return seed;
}

/* Gradients and noise: every filter type has work to do, and deflate
 * cannot squeeze the data away (so some rows cross IDAT chunks). */
static void
photo(int x, int y, int w, int h, uint8_t *px)
{
    uint32_t r = noise();

    px[0] = (uint8_t) (x * 200 / w + (r >> 26));
    px[1] = (uint8_t) (y * 200 / h + ((r >> 20) & 63));
    px[2] = (uint8_t) ((x ^ y) & 0xff);
}

/* A pixel's worth of noise from its position alone (the same down a
 * column or along a row). */
static uint8_t
hash(uint32_t v)
{
    v = (v ^ 61) ^ (v >> 16);
    v *= 9;
    v ^= v >> 4;
    v *= 0x27d4eb2d;
    return (uint8_t) (v >> 15);
}

/* Grey in three bands of rows, so that libpng choosing a filter for each
 * row (adaptive) chooses several: columns of noise (Up takes them to
 * zeros), rows of one level each (Sub does), then gradient and noise. */
static void
grey_photo(int x, int y, int w, int h, uint8_t *px)
{
    if (y < h / 3)
        px[0] = hash((uint32_t) x);
    else if (y < 2 * h / 3)
        px[0] = hash((uint32_t) y);
    else
        px[0] = (uint8_t) ((x + y) * 180 / (w + h) + (noise() >> 27));
}

/* Noise in every band, alpha too: RGBA, and grey and alpha. */
static void
rgba_pixel(int x, int y, int w, int h, uint8_t *px)
{
    (void) x, (void) y, (void) w, (void) h;
    px[0] = (uint8_t) (noise() >> 24);
    px[1] = (uint8_t) (noise() >> 24);
    px[2] = (uint8_t) (noise() >> 24);
    px[3] = (uint8_t) (noise() >> 24);
}

static void
grey_alpha_pixel(int x, int y, int w, int h, uint8_t *px)
{
    (void) x, (void) y, (void) w, (void) h;
    px[0] = (uint8_t) (noise() >> 24);
    px[1] = (uint8_t) (noise() >> 24);
}

/* The end of every save: says why it failed, and drops img (a save takes
 * its image's reference, so a caller can chain make_image into it). */
static int
saved(int rc, VipsImage *img)
{
    if (rc != 0)
        fprintf(stderr, "  pngsave: %s\n", vips_error_buffer());
    if (img != NULL)
        g_object_unref(img);
    return rc;
}

static int
save_png(VipsImage *img, const char *name, VipsForeignPngFilter filter,
         int compression)
{
    return saved(img == NULL ? -1
                 : vips_pngsave(img, path_of(name), "filter", filter,
                                "compression", compression, NULL), img);
}

/* img saved with one integer or boolean pngsave option: "bitdepth",
 * "palette", "interlace". */
static int
save_png_with(VipsImage *img, const char *name, const char *option,
              int value)
{
    return saved(img == NULL ? -1
                 : vips_pngsave(img, path_of(name), option, value, NULL),
                 img);
}

/* ----------------------------------------------------- a file's bytes */

/* A whole file, to take apart and put back together (GLib memory). */
struct bytes {
    uint8_t *data;
    size_t   len;
};

static int
load(const char *name, struct bytes *b)
{
    gchar *data = NULL;
    gsize len = 0;
    int ok = g_file_get_contents(path_of(name), &data, &len, NULL);

    b->data = (uint8_t *) data, b->len = len;
    return ok ? 0 : -1;
}

/* Write b as dir/name and free it. */
static int
store(const char *name, struct bytes *b)
{
    int ok = b->data != NULL
             && g_file_set_contents(path_of(name), (const gchar *) b->data,
                                    (gssize) b->len, NULL);

    g_free(b->data);
    b->data = NULL;
    return ok ? 0 : -1;
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24), p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8), p[3] = (uint8_t) v;
}

/*
 * Chunks are addressed by the offset of their length field: length (4),
 * type (4), body, CRC (4) of type and body.  0 is never a chunk (the
 * signature is there), so it says "none".
 */
static size_t
chunk_end(const struct bytes *b, size_t at)
{
    return at + 12 + be32(b->data + at);
}

static size_t
find_chunk(const struct bytes *b, const char *type)
{
    size_t at = 8;

    while (at + 12 <= b->len) {
        if (memcmp(b->data + at + 4, type, 4) == 0)
            return at;
        at = chunk_end(b, at);
    }
    return 0;
}

/* After an edit of a chunk's body: a CRC that says it is whole, so the
 * decoder must find the damage some other way. */
static void
fix_crc(struct bytes *b, size_t at)
{
    uint32_t n = be32(b->data + at);

    put_be32(b->data + at + 8 + n,
             libdeflate_crc32(0, b->data + at + 4, (size_t) n + 4));
}

/* Replace cut bytes at `at` by add_len bytes of add. */
static void
splice(struct bytes *b, size_t at, size_t cut, const void *add,
       size_t add_len)
{
    uint8_t *d = g_malloc(b->len - cut + add_len);

    memcpy(d, b->data, at);
    if (add_len > 0)            /* add may be NULL then */
        memcpy(d + at, add, add_len);
    memcpy(d + at + add_len, b->data + at + cut, b->len - at - cut);
    g_free(b->data);
    b->data = d, b->len = b->len - cut + add_len;
}

/* A chunk with a correct CRC, inserted at `at`. */
static void
insert_chunk(struct bytes *b, size_t at, const char *type, const void *body,
             uint32_t n)
{
    uint8_t *c = malloc((size_t) n + 12);

    put_be32(c, n);
    memcpy(c + 4, type, 4);
    memcpy(c + 8, body, n);
    put_be32(c + 8 + n, libdeflate_crc32(0, c + 4, (size_t) n + 4));
    splice(b, at, 0, c, (size_t) n + 12);
    free(c);
}

static void
remove_chunk(struct bytes *b, size_t at)
{
    splice(b, at, chunk_end(b, at) - at, NULL, 0);
}

/* The IHDR's width and height changed, its CRC fixed. */
static void
set_size(struct bytes *b, uint32_t width, uint32_t height)
{
    size_t at = find_chunk(b, "IHDR");

    put_be32(b->data + at + 8, width);
    put_be32(b->data + at + 12, height);
    fix_crc(b, at);
}

/* What a file's IHDR says; -1 where there is no IHDR. */
static int
ihdr_byte(const char *name, int offset)
{
    struct bytes b;
    size_t at;
    int v = -1;

    if (load(name, &b) == 0 && (at = find_chunk(&b, "IHDR")) != 0)
        v = b.data[at + 8 + offset];
    g_free(b.data);
    return v;
}

#define IHDR_DEPTH      8
#define IHDR_COLOUR     9
#define IHDR_INTERLACE  12

/*
 * The image data of an 8-bit, non-interlaced RGB or grey PNG, gathered
 * from its IDAT chunks and inflated: height rows of a filter byte and the
 * row's bytes, *len bytes in all.  NULL if it does not inflate to exactly
 * that.
 */
static uint8_t *
raw_rows(const struct bytes *b, size_t *len)
{
    size_t ihdr = find_chunk(b, "IHDR"), at, zlen = 0;
    const uint8_t *h = b->data + ihdr + 8;
    uint8_t *z = malloc(b->len), *raw;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    int ok;

    *len = ((size_t) be32(h) * (h[IHDR_COLOUR] == 2 ? 3 : 1) + 1)
           * be32(h + 4);
    raw = malloc(*len);
    for (at = 8; at + 12 <= b->len; at = chunk_end(b, at))
        if (memcmp(b->data + at + 4, "IDAT", 4) == 0) {
            memcpy(z + zlen, b->data + at + 8, be32(b->data + at));
            zlen += be32(b->data + at);
        }
    /* no actual size asked for: anything but exactly *len fails */
    ok = ihdr != 0 && libdeflate_zlib_decompress(d, z, zlen, raw, *len, NULL)
                      == LIBDEFLATE_SUCCESS;
    libdeflate_free_decompressor(d);
    free(z);
    if (!ok) {
        free(raw);
        return NULL;
    }
    return raw;
}

/*
 * A PNG made by hand: from's signature and IHDR, then raw as the image
 * data in one IDAT (zlib by libdeflate), then IEND.  It can hold what no
 * encoder writes: unknown filters, too few or too many rows.
 */
static int
write_png(const char *name, const struct bytes *from, const uint8_t *raw,
          size_t raw_len)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
    size_t bound = libdeflate_zlib_compress_bound(c, raw_len), zlen;
    uint8_t *z = malloc(bound);
    struct bytes b;

    zlen = libdeflate_zlib_compress(c, raw, raw_len, z, bound);
    libdeflate_free_compressor(c);
    b.len = 8 + 25;             /* signature, IHDR */
    b.data = g_memdup2(from->data, b.len);
    insert_chunk(&b, b.len, "IDAT", z, (uint32_t) zlen);
    insert_chunk(&b, b.len, "IEND", "", 0);
    free(z);
    return zlen > 0 ? store(name, &b) : -1;
}

/* How many rows of name use each filter type (0 to 4); -1 if the image
 * data cannot be read. */
static int
count_filters(const char *name, int count[5])
{
    struct bytes b;
    uint8_t *raw;
    size_t len, stride, i;

    memset(count, 0, 5 * sizeof(int));
    if (load(name, &b) != 0 || (raw = raw_rows(&b, &len)) == NULL) {
        g_free(b.data);
        return -1;
    }
    stride = len / be32(b.data + 20);   /* libvips' IHDR: height at 20 */
    for (i = 0; i < len; i += stride)
        if (raw[i] < 5)
            count[raw[i]]++;
    free(raw);
    g_free(b.data);
    return 0;
}

/* --------------------------------------------------------- the decoder */

static const char *
result_name(enum png_open_result rc)
{
    return rc == PNG_OPEN_OK ? "OK" : rc == PNG_OPEN_OTHER ? "OTHER"
                                                           : "ERROR";
}

/* png_rows_open on dir/name, closed again; why gets the reason. */
static enum png_open_result
open_result(const char *name, char *why, size_t why_len)
{
    struct png_rows *rows = NULL;
    struct resize_source src;
    enum png_open_result rc;

    strcpy(why, "stale");      /* the decoder must clear it */
    rc = png_rows_open(path_of(name), &rows, &src, why, why_len);
    if (rc == PNG_OPEN_OK)
        png_rows_close(rows);
    return rc;
}

/*
 * png.c decodes dir/name to exactly the bytes libvips decodes from it, as
 * a w x h image of bands bands, row by row through the source resize.c
 * reads.
 */
static void
check_same(const char *name, int w, int h, int bands)
{
    struct png_rows *rows = NULL;
    struct resize_source src;
    VipsImage *in, *mem = NULL;
    char why[128];
    int y, bad = -1;

    if (png_rows_open(path_of(name), &rows, &src, why, sizeof(why))
        != PNG_OPEN_OK) {
        fprintf(stderr, "  %s: not decoded: \"%s\"\n", name, why);
        CHECK(!"png_rows_open() == PNG_OPEN_OK");
        return;
    }
    CHECK(src.width == w && src.height == h && src.bands == bands);
    CHECK(src.row != NULL);
    in = vips_image_new_from_file(path_of(name), NULL);
    if (in != NULL)
        mem = vips_image_copy_memory(in);
    CHECK(mem != NULL && mem->Xsize == w && mem->Ysize == h
          && mem->Bands == bands && mem->BandFmt == VIPS_FORMAT_UCHAR);
    for (y = 0; mem != NULL && src.row != NULL && y < h && bad < 0; y++)
        if (memcmp(src.row(src.arg, y), VIPS_IMAGE_ADDR(mem, 0, y),
                   (size_t) w * bands) != 0)
            bad = y;
    if (bad >= 0)
        fprintf(stderr, "  %s: row %d differs from libvips'\n", name, bad);
    CHECK(mem != NULL && bad < 0);
    if (mem != NULL)
        g_object_unref(mem);
    if (in != NULL)
        g_object_unref(in);
    png_rows_close(rows);
}

/* Not for png.c: left to libvips, which reads it (so the file is fine,
 * and is what the test says it is). */
static void
check_other(const char *name)
{
    VipsImage *in = vips_image_new_from_file(path_of(name), NULL);
    VipsImage *mem = in != NULL ? vips_image_copy_memory(in) : NULL;
    enum png_open_result rc;
    char why[128];

    CHECK(mem != NULL);
    rc = open_result(name, why, sizeof(why));
    if (rc != PNG_OPEN_OTHER)
        fprintf(stderr, "  %s: %s \"%s\", want OTHER\n", name,
                result_name(rc), why);
    CHECK(rc == PNG_OPEN_OTHER);
    if (mem != NULL)
        g_object_unref(mem);
    if (in != NULL)
        g_object_unref(in);
}

/* Damaged: refused, with a reason that contains want ("" for any). */
static void
check_refused(const char *name, const char *want)
{
    enum png_open_result rc;
    char why[128];

    rc = open_result(name, why, sizeof(why));
    if (rc != PNG_OPEN_ERROR || why[0] == '\0' || strstr(why, want) == NULL
        || strcmp(why, "stale") == 0)
        fprintf(stderr, "  %s: %s \"%s\", want ERROR \"...%s...\"\n", name,
                result_name(rc), rc == PNG_OPEN_ERROR ? why : "", want);
    CHECK(rc == PNG_OPEN_ERROR);
    CHECK(why[0] != '\0' && strcmp(why, "stale") != 0
          && strstr(why, want) != NULL);
}

/* ------------------------------------------------------------ exactness */

static const struct {
    VipsForeignPngFilter flag;
    int type;                   /* in the file; -1: any (adaptive) */
    const char *name;
} filters[] = {
    { VIPS_FOREIGN_PNG_FILTER_NONE, 0, "none" },
    { VIPS_FOREIGN_PNG_FILTER_SUB, 1, "sub" },
    { VIPS_FOREIGN_PNG_FILTER_UP, 2, "up" },
    { VIPS_FOREIGN_PNG_FILTER_AVG, 3, "avg" },
    { VIPS_FOREIGN_PNG_FILTER_PAETH, 4, "paeth" },
    { VIPS_FOREIGN_PNG_FILTER_ALL, -1, "all" },
};

#define N_FILTERS (sizeof(filters) / sizeof(filters[0]))

/*
 * The file really uses the filter asked for, so each check_same below
 * tests that filter's undoing: all rows but the first, which libpng may
 * write unfiltered (there is nothing above it); adaptive, at least three
 * kinds on a photo.
 */
static void
check_filter_used(const char *name, int type, int h)
{
    int count[5], kinds = 0, i;

    CHECK(count_filters(name, count) == 0);
    for (i = 0; i < 5; i++)
        kinds += count[i] > 0;
    if (type >= 0 ? count[type] < h - 1 : kinds < 3)
        fprintf(stderr, "  %s: rows by filter %d %d %d %d %d\n", name,
                count[0], count[1], count[2], count[3], count[4]);
    CHECK(type >= 0 ? count[type] >= h - 1 : kinds >= 3);
}

/* img saved as <what>-<filter>-<compression>.png with filter f, then
 * checked: the colour type, the filter really used, the same bytes as
 * libvips. */
static void
check_saved(VipsImage *img, const char *what, size_t f, int c, int colour,
            int bands)
{
    char name[64];

    snprintf(name, sizeof(name), "%s-%s-%d.png", what, filters[f].name, c);
    g_object_ref(img);
    CHECK(save_png(img, name, filters[f].flag, c) == 0);
    CHECK(ihdr_byte(name, IHDR_COLOUR) == colour);
    check_filter_used(name, filters[f].type, H);
    check_same(name, W, H, bands);
}

/*
 * Each filter, stored (compression 0: the rows sit raw in the zlib
 * stream, spread over libpng's 8 KB IDAT chunks) and deflated hard (9),
 * RGB and grey: byte for byte what libvips decodes.
 */
static void
check_exact(void)
{
    VipsImage *rgb, *grey;
    size_t f;
    int c;

    seed = 1;
    rgb = make_image(W, H, 3, photo);
    grey = make_image(W, H, 1, grey_photo);
    for (f = 0; f < N_FILTERS; f++)
        for (c = 0; c <= 9; c += 9) {
            check_saved(rgb, "rgb", f, c, 2, 3);
            check_saved(grey, "grey", f, c, 0, 1);
        }
    g_object_unref(rgb);
    g_object_unref(grey);
}

/*
 * The edges of the filters: in a 1-pixel-wide image no pixel has a left
 * neighbour (Sub, Avg and Paeth see zeros there), in a 1-row image none
 * has one above (Up, Avg and Paeth see the zero row), and 1x1 has
 * neither.
 */
static void
check_small(void)
{
    static const struct { int w, h, bands; const char *name; } sizes[] = {
        { 1, 1, 3, "1x1-rgb" }, { 1, 1, 1, "1x1-grey" },
        { 1, 257, 3, "tall-rgb" }, { 1, 257, 1, "tall-grey" },
        { 257, 1, 3, "wide-rgb" },
    };
    char name[64];
    size_t i, f;

    seed = 2;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (f = 1; f < N_FILTERS; f++) {       /* all but none */
            snprintf(name, sizeof(name), "%s-%s.png", sizes[i].name,
                     filters[f].name);
            CHECK(save_png(make_image(sizes[i].w, sizes[i].h, sizes[i].bands,
                                      sizes[i].bands == 3 ? photo
                                                          : grey_photo),
                           name, filters[f].flag, 6) == 0);
            check_same(name, sizes[i].w, sizes[i].h, sizes[i].bands);
        }
}

/* ------------------------------------------------------ not for png.c */

/*
 * img as 16 bits a sample (the same levels, scaled by 257), type RGB16 or
 * GREY16.  libvips 8.14 saves an 8-bit image with bitdepth=16 by handing
 * libpng rows twice as long as its own (valgrind: reads past the pixels),
 * so the image is made 16-bit first.  Takes img's reference.
 */
static VipsImage *
to_16_bits(VipsImage *img, VipsInterpretation type)
{
    VipsImage *scaled = NULL, *out = NULL;

    if (img != NULL && vips_linear1(img, &scaled, 257.0, 0.0, NULL) == 0
        && vips_cast_ushort(scaled, &out, NULL) == 0)
        out->Type = type;
    if (scaled != NULL)
        g_object_unref(scaled);
    if (img != NULL)
        g_object_unref(img);
    return out;
}

/* 16 bits, palette, Adam7, alpha: each as libvips writes it, checked to
 * be that in the IHDR (else this would test plain RGB twice). */
static void
check_formats(void)
{
    seed = 3;
    CHECK(save_png_with(to_16_bits(make_image(64, 48, 3, photo),
                                   VIPS_INTERPRETATION_RGB16),
                        "rgb16.png", "bitdepth", 16) == 0);
    CHECK(ihdr_byte("rgb16.png", IHDR_DEPTH) == 16);
    check_other("rgb16.png");

    CHECK(save_png_with(to_16_bits(make_image(64, 48, 1, grey_photo),
                                   VIPS_INTERPRETATION_GREY16),
                        "grey16.png", "bitdepth", 16) == 0);
    CHECK(ihdr_byte("grey16.png", IHDR_DEPTH) == 16);
    check_other("grey16.png");

    /* fewer than 8 bits: grey at 4 bits a pixel */
    CHECK(save_png_with(make_image(64, 48, 1, grey_photo), "grey4.png",
                        "bitdepth", 4) == 0);
    CHECK(ihdr_byte("grey4.png", IHDR_DEPTH) == 4);
    check_other("grey4.png");

    CHECK(save_png_with(make_image(64, 48, 3, photo), "palette.png",
                        "palette", TRUE) == 0);
    CHECK(ihdr_byte("palette.png", IHDR_COLOUR) == 3);
    check_other("palette.png");

    CHECK(save_png_with(make_image(64, 48, 3, photo), "interlaced.png",
                        "interlace", TRUE) == 0);
    CHECK(ihdr_byte("interlaced.png", IHDR_INTERLACE) == 1);
    check_other("interlaced.png");

    CHECK(save_png_with(make_image(64, 48, 1, grey_photo),
                        "interlaced-grey.png", "interlace", TRUE) == 0);
    CHECK(ihdr_byte("interlaced-grey.png", IHDR_INTERLACE) == 1);
    check_other("interlaced-grey.png");

    CHECK(save_png(make_image(64, 48, 4, rgba_pixel), "rgba.png",
                   VIPS_FOREIGN_PNG_FILTER_ALL, 6) == 0);
    CHECK(ihdr_byte("rgba.png", IHDR_COLOUR) == 6);
    check_other("rgba.png");

    CHECK(save_png(make_image(64, 48, 2, grey_alpha_pixel), "grey-alpha.png",
                   VIPS_FOREIGN_PNG_FILTER_ALL, 6) == 0);
    CHECK(ihdr_byte("grey-alpha.png", IHDR_COLOUR) == 4);
    check_other("grey-alpha.png");
}

/* Make dir/to: dir/from with a chunk of type inserted after the IHDR. */
static int
with_chunk(const char *from, const char *to, const char *type,
           const void *body, uint32_t n)
{
    struct bytes b;

    if (load(from, &b) != 0 || find_chunk(&b, "IHDR") != 8) {
        g_free(b.data);
        return -1;
    }
    insert_chunk(&b, chunk_end(&b, 8), type, body, n);
    return store(to, &b);
}

/*
 * tRNS: one colour (RGB) or grey level is transparent, so the image has
 * alpha after all; libvips reads it as one more band.
 */
static void
check_trns(void)
{
    static const uint8_t rgb_key[6] = { 0, 10, 0, 20, 0, 30 };
    static const uint8_t grey_key[2] = { 0, 40 };
    VipsImage *in;

    CHECK(with_chunk("rgb-paeth-9.png", "trns.png", "tRNS", rgb_key, 6)
          == 0);
    in = vips_image_new_from_file(path_of("trns.png"), NULL);
    CHECK(in != NULL && in->Bands == 4);
    if (in != NULL)
        g_object_unref(in);
    check_other("trns.png");

    CHECK(with_chunk("grey-paeth-9.png", "trns-grey.png", "tRNS", grey_key,
                     2) == 0);
    in = vips_image_new_from_file(path_of("trns-grey.png"), NULL);
    CHECK(in != NULL && in->Bands == 2);
    if (in != NULL)
        g_object_unref(in);
    check_other("trns-grey.png");
}

/* Make dir/to: dir/from said (in its IHDR) to be width x height. */
static int
resized(const char *from, const char *to, uint32_t width, uint32_t height)
{
    struct bytes b;

    if (load(from, &b) != 0 || find_chunk(&b, "IHDR") == 0) {
        g_free(b.data);
        return -1;
    }
    set_size(&b, width, height);
    return store(to, &b);
}

/*
 * Over PNG_MAX_PIXELS: libvips' business, decided from the IHDR alone.
 * These files have a small image's data, which cannot inflate to the
 * size they claim: were the data read, the answer would be ERROR.  At
 * exactly PNG_MAX_PIXELS the image is png.c's, and so is the error.
 */
static void
check_too_big(void)
{
    char why[128];

    /* 6001 x 4000 = PNG_MAX_PIXELS + 4000 */
    CHECK(resized("rgb-none-9.png", "huge.png", 6001, 4000) == 0);
    CHECK(open_result("huge.png", why, sizeof(why)) == PNG_OPEN_OTHER);
    CHECK(resized("grey-none-9.png", "huge-grey.png", 4000, 6001) == 0);
    CHECK(open_result("huge-grey.png", why, sizeof(why)) == PNG_OPEN_OTHER);
    /* width x height past 32 bits */
    CHECK(resized("rgb-none-9.png", "huge-wrap.png", 65536, 65537) == 0);
    CHECK(open_result("huge-wrap.png", why, sizeof(why)) == PNG_OPEN_OTHER);

    CHECK(resized("rgb-none-9.png", "at-limit.png", 6000, 4000) == 0);
    check_refused("at-limit.png", "");
}

/* --------------------------------------------------------------- damage */

/* Make dir/to: the first len bytes of dir/from (negative: all but -len). */
static int
cut(const char *from, const char *to, long len)
{
    struct bytes b;

    if (load(from, &b) != 0) {
        g_free(b.data);
        return -1;
    }
    b.len = len >= 0 ? (size_t) len : b.len - (size_t) -len;
    return store(to, &b);
}

/* Make dir/to: dir/from with one bit flipped in the middle of its first
 * IDAT's data; its CRC recomputed when fix. */
static int
flipped(const char *from, const char *to, int fix)
{
    struct bytes b;
    size_t at;

    if (load(from, &b) != 0 || (at = find_chunk(&b, "IDAT")) == 0) {
        g_free(b.data);
        return -1;
    }
    b.data[at + 8 + be32(b.data + at) / 2] ^= 0x10;
    if (fix)
        fix_crc(&b, at);
    return store(to, &b);
}

/* Cut short, or one bit wrong: refused, whether or not the CRC gives it
 * away.  Deflated (9) and stored (0) data fail in different places. */
static void
check_damaged(void)
{
    struct bytes b;

    CHECK(load("rgb-paeth-9.png", &b) == 0);
    CHECK(cut("rgb-paeth-9.png", "half.png", (long) b.len / 2) == 0);
    check_refused("half.png", "truncated");
    CHECK(cut("rgb-paeth-9.png", "no-iend.png", -12) == 0);
    check_refused("no-iend.png", "IEND");
    /* only the IEND chunk's CRC missing */
    CHECK(cut("rgb-paeth-9.png", "short-iend.png", -4) == 0);
    check_refused("short-iend.png", "");
    g_free(b.data);

    CHECK(flipped("rgb-paeth-9.png", "flipped.png", 0) == 0);
    check_refused("flipped.png", "CRC");
    CHECK(flipped("rgb-paeth-9.png", "flipped-crc.png", 1) == 0);
    check_refused("flipped-crc.png", "image data");
    CHECK(flipped("rgb-none-0.png", "flipped-stored.png", 0) == 0);
    check_refused("flipped-stored.png", "CRC");
    /* stored: the deflate stream is fine, only its Adler-32 disagrees */
    CHECK(flipped("rgb-none-0.png", "flipped-stored-crc.png", 1) == 0);
    check_refused("flipped-stored-crc.png", "image data");
    CHECK(flipped("grey-all-9.png", "flipped-grey-crc.png", 1) == 0);
    check_refused("flipped-grey-crc.png", "image data");
}

/* Make dir/to: dir/from's image data, inflated, given to edit (which may
 * grow it by one row, the buffer has room), and written back. */
typedef size_t (*raw_edit)(uint8_t *raw, size_t len, size_t stride);

static int
repacked(const char *from, const char *to, raw_edit edit)
{
    struct bytes b;
    uint8_t *raw = NULL;
    size_t len, stride;
    int rc = -1;

    if (load(from, &b) == 0 && (raw = raw_rows(&b, &len)) != NULL) {
        stride = len / be32(b.data + 20);       /* the IHDR's height */
        raw = realloc(raw, len + stride);
        len = edit(raw, len, stride);
        rc = write_png(to, &b, raw, len);
    }
    free(raw);
    g_free(b.data);
    return rc;
}

static size_t
unchanged(uint8_t *raw, size_t len, size_t stride)
{
    (void) raw, (void) stride;
    return len;
}

static size_t
filter_5_in_row_100(uint8_t *raw, size_t len, size_t stride)
{
    raw[100 * stride] = 5;
    return len;
}

static size_t
filter_255_in_first_row(uint8_t *raw, size_t len, size_t stride)
{
    (void) stride;
    raw[0] = 255;
    return len;
}

static size_t
filter_5_in_last_row(uint8_t *raw, size_t len, size_t stride)
{
    raw[len - stride] = 5;
    return len;
}

static size_t
one_row_short(uint8_t *raw, size_t len, size_t stride)
{
    (void) raw;
    return len - stride;
}

static size_t
one_row_over(uint8_t *raw, size_t len, size_t stride)
{
    memset(raw + len, 0, stride);
    return len + stride;
}

static size_t
one_byte_short(uint8_t *raw, size_t len, size_t stride)
{
    (void) raw, (void) stride;
    return len - 1;
}

/*
 * Image data that inflates fine but is wrong: filter types past 4, too
 * few or too many bytes.  The same repacking with no edit gives a file
 * png.c reads (else these would only test the repacking).
 */
static void
check_bad_data(void)
{
    CHECK(repacked("rgb-none-0.png", "repacked.png", unchanged) == 0);
    check_same("repacked.png", W, H, 3);
    CHECK(repacked("rgb-none-0.png", "filter5.png", filter_5_in_row_100)
          == 0);
    check_refused("filter5.png", "filter");
    CHECK(repacked("grey-sub-0.png", "filter255.png",
                   filter_255_in_first_row) == 0);
    check_refused("filter255.png", "filter");
    CHECK(repacked("rgb-paeth-9.png", "filter5-last.png",
                   filter_5_in_last_row) == 0);
    check_refused("filter5-last.png", "filter");

    CHECK(repacked("rgb-up-9.png", "row-short.png", one_row_short) == 0);
    check_refused("row-short.png", "image data");
    CHECK(repacked("rgb-up-9.png", "byte-short.png", one_byte_short) == 0);
    check_refused("byte-short.png", "image data");
    CHECK(repacked("rgb-up-9.png", "row-over.png", one_row_over) == 0);
    check_refused("row-over.png", "image data");
}

/* Make dir/to: dir/from without its first chunk of type. */
static int
without(const char *from, const char *to, const char *type)
{
    struct bytes b;
    size_t at;

    if (load(from, &b) != 0 || (at = find_chunk(&b, type)) == 0) {
        g_free(b.data);
        return -1;
    }
    remove_chunk(&b, at);
    return store(to, &b);
}

/* Chunks wrong: what must be there is not, or is there twice, or the
 * IHDR says more rows than there are. */
static void
check_bad_chunks(void)
{
    struct bytes b;
    size_t at;

    CHECK(without("rgb-avg-9.png", "no-ihdr.png", "IHDR") == 0);
    check_refused("no-ihdr.png", "IHDR");

    CHECK(load("rgb-avg-9.png", &b) == 0 && find_chunk(&b, "IHDR") == 8);
    while ((at = find_chunk(&b, "IDAT")) != 0)
        remove_chunk(&b, at);
    CHECK(store("no-idat.png", &b) == 0);
    check_refused("no-idat.png", "image data");

    CHECK(load("rgb-avg-9.png", &b) == 0);
    insert_chunk(&b, chunk_end(&b, 8), "IHDR", b.data + 16, 13);
    CHECK(store("two-ihdr.png", &b) == 0);
    check_refused("two-ihdr.png", "IHDR");

    CHECK(resized("rgb-avg-9.png", "taller.png", W, H + 1) == 0);
    check_refused("taller.png", "image data");
    CHECK(resized("rgb-avg-9.png", "narrower.png", W - 1, H) == 0);
    check_refused("narrower.png", "image data");

    /* a critical chunk nobody knows: cannot be skipped */
    CHECK(with_chunk("rgb-avg-9.png", "unknown-critical.png", "QUUX", "x", 1)
          == 0);
    check_refused("unknown-critical.png", "QUUX");
}

/* Not PNGs, or no file at all. */
static void
check_not_png(void)
{
    static const char text[] = "GIF89a, or so it says\n";
    struct bytes b;
    VipsImage *img;

    b.data = g_memdup2(text, sizeof(text) - 1), b.len = sizeof(text) - 1;
    CHECK(store("text.png", &b) == 0);
    check_refused("text.png", "signature");
    img = make_image(64, 48, 3, photo);
    CHECK(saved(vips_jpegsave(img, path_of("photo.jpg"), NULL), img) == 0);
    check_refused("photo.jpg", "signature");
    CHECK(cut("rgb-avg-9.png", "empty.png", 0) == 0);
    check_refused("empty.png", "");
    CHECK(cut("rgb-avg-9.png", "signature-only.png", 8) == 0);
    check_refused("signature-only.png", "");
    check_refused("absent.png", "No such file");
    check_refused(".", "");     /* the directory itself */
}

/* -------------------------------------------------------- what is valid */

/* A damaged ancillary chunk (bad CRC) is skipped, as libpng does: the
 * image is still the same. */
static void
check_damaged_ancillary(void)
{
    struct bytes b;
    size_t at;

    CHECK(load("ancillary.png", &b) == 0);
    at = find_chunk(&b, "prVt");
    CHECK(at > 8);
    if (at <= 8) {
        g_free(b.data);
        return;
    }
    b.data[at + 8] ^= 0x01;     /* the body's first byte, CRC left stale */
    CHECK(store("ancillary-bad-crc.png", &b) == 0);
    check_same("ancillary-bad-crc.png", W, H, 3);
}

/*
 * Valid files that are more than libvips writes: unknown ancillary chunks
 * are skipped; an RGB image may carry a suggested palette (PLTE, a
 * critical chunk, allowed for colour types 2 and 6 by the PNG spec, and
 * read by libpng), which must not get the file refused.
 */
static void
check_valid_extras(void)
{
    static const uint8_t palette[9] = { 255, 0, 0, 0, 255, 0, 0, 0, 255 };
    VipsImage *in, *mem;
    enum png_open_result rc;
    char why[128];

    CHECK(with_chunk("rgb-sub-9.png", "ancillary.png", "prVt", "hello", 5)
          == 0);
    check_same("ancillary.png", W, H, 3);
    check_damaged_ancillary();

    CHECK(with_chunk("rgb-sub-9.png", "suggested-palette.png", "PLTE",
                     palette, 9) == 0);
    /* libpng reads it, as the RGB image it is, even with fail_on=error */
    in = vips_image_new_from_file(path_of("suggested-palette.png"),
                                  "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    mem = in != NULL ? vips_image_copy_memory(in) : NULL;
    CHECK(mem != NULL && mem->Bands == 3 && mem->Xsize == W);
    if (mem != NULL)
        g_object_unref(mem);
    if (in != NULL)
        g_object_unref(in);
    rc = open_result("suggested-palette.png", why, sizeof(why));
    if (rc == PNG_OPEN_ERROR)
        fprintf(stderr, "  suggested-palette.png: ERROR \"%s\" on a valid "
                "file\n", why);
    CHECK(rc != PNG_OPEN_ERROR);
    if (rc == PNG_OPEN_OK)
        check_same("suggested-palette.png", W, H, 3);
}

/* ---------------------------------------------------------- end to end */

static const struct opt_variant *
variant(const struct opt_result *res, int target)
{
    int i;

    for (i = 0; i < OPT_VARIANTS; i++)
        if (res->variants[i].target == target)
            return &res->variants[i];
    return NULL;
}

/* optimize_run on dir/name: three variants, the 128 px one 128x86 (203
 * scaled by 128/301), the others the image's own 301x203 (never
 * enlarged). */
static void
check_run_case(const char *name)
{
    static const int sizes[3][3] = { { 128, 128, 86 }, { 512, W, H },
                                     { 1024, W, H } };
    struct opt_result res;
    struct job_error err;
    int i;

    memset(&res, 0, sizeof(res));
    memset(&err, 0, sizeof(err));
    CHECK(optimize_run(&cfg, path_of(name), 7, 42, &res, &err) == JOB_OK);
    if (err.code != NULL)
        fprintf(stderr, "  %s: %s: %s\n", name, err.code, err.reason);
    CHECK_STR(res.info.content_type, "image/png");
    CHECK(res.info.width == W && res.info.height == H);
    for (i = 0; i < 3; i++) {
        const struct opt_variant *v = variant(&res, sizes[i][0]);

        CHECK(v != NULL && v->data != NULL && v->bytes > 0
              && v->width == sizes[i][1] && v->height == sizes[i][2]);
    }
    optimize_result_free(&res);
}

/* The pipeline over png.c: RGB and grey to three variants; a damaged
 * PNG is a failed job, not a picture; a valid one with a suggested
 * palette is a picture. */
static void
check_run(void)
{
    struct opt_result res;
    struct job_error err;

    check_run_case("rgb-paeth-9.png");
    check_run_case("grey-avg-0.png");

    memset(&res, 0, sizeof(res));
    memset(&err, 0, sizeof(err));
    CHECK(optimize_run(&cfg, path_of("flipped-crc.png"), 7, 42, &res, &err)
          == JOB_FAIL);
    CHECK_STR(err.code, "not_an_image");
    optimize_result_free(&res);

    memset(&res, 0, sizeof(res));
    memset(&err, 0, sizeof(err));
    CHECK(optimize_run(&cfg, path_of("suggested-palette.png"), 7, 42, &res,
                       &err) == JOB_OK);
    if (err.code != NULL)
        fprintf(stderr, "  suggested-palette.png: %s: %s\n", err.code,
                err.reason);
    optimize_result_free(&res);
}

/* --------------------------------------------------------------- the end */

int
main(int argc, char **argv)
{
    (void) argc;
    if (scratch_setup(argv[0], "png_test") != 0)
        return 1;
    check_exact();
    check_small();
    check_formats();
    /* the checks below take apart files made by check_exact */
    check_trns();
    check_too_big();
    check_damaged();
    check_bad_data();
    check_bad_chunks();
    check_not_png();
    check_valid_extras();
    check_run();
    if (getenv("KEEP") == NULL)     /* KEEP=1: leave the files to look at */
        scratch_remove();
    else
        fprintf(stderr, "files kept in %s\n", dir);
    optimize_shutdown();
    config_free(&cfg);
    return unit_done("png");
}
