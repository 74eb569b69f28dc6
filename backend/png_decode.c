/*
 * png_decode.c: the common PNG, decoded with libdeflate.
 *
 * A photo saved as PNG barely compresses, and most of its decoding time is
 * zlib's inflate (a quarter of the whole job, WebP encoding included).
 * libdeflate inflates the same stream in a little over half the time, but
 * only whole buffers: this decoder reads the file, gathers its image data
 * and inflates it in one call, then undoes the row filters in place.
 *
 * It takes 8-bit RGB and greyscale, not interlaced, without transparency,
 * up to PNG_MAX_PIXELS, and leaves everything else (palettes, 16-bit,
 * Adam7, tRNS, huge images) to libvips, which streams.  The CRC of every
 * critical chunk is checked (damaged ancillary chunks are skipped, as
 * libpng does) and the image data must inflate to exactly the expected
 * size: a damaged or truncated file is refused, never published grey.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libdeflate.h>

#include "png_decode.h"

#define COLOUR_GREY 0
#define COLOUR_RGB  2

struct png_rows {
    uint8_t *file;          /* the whole file; image data gathered at the
                               front of it */
    uint8_t *pixels;        /* height rows of 1 filter byte + line bytes */
    uint8_t *zero;          /* a row of zeros, above the first */
    size_t   line;          /* width * bands */
};

struct png_info {
    uint32_t width, height;
    int      bands;
    size_t   data_len;      /* image data gathered so far */
};

static const uint8_t signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n',
                                      0x1a, '\n' };

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static enum png_open_result
damaged(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return PNG_OPEN_ERROR;
}

static enum png_open_result
read_file(const char *path, uint8_t **data, size_t *len, char *why,
          size_t why_len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    int ok;

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        if (f != NULL)
            fclose(f);
        return damaged(why, why_len, "cannot open: %s", strerror(errno));
    }
    *len = (size_t) st.st_size;
    *data = malloc(*len + 1);
    ok = *data != NULL && fread(*data, 1, *len, f) == *len;
    fclose(f);
    return ok ? PNG_OPEN_OK : damaged(why, why_len, "cannot read the file");
}

/* IHDR: what this decoder takes, or PNG_OPEN_OTHER. */
static enum png_open_result
header(const uint8_t *d, uint32_t len, struct png_info *info)
{
    uint8_t depth, colour, interlace;

    if (len != 13)
        return PNG_OPEN_ERROR;
    depth = d[8], colour = d[9], interlace = d[12];
    info->width = be32(d);
    info->height = be32(d + 4);
    if (info->width == 0 || info->height == 0 || d[10] != 0 || d[11] != 0)
        return PNG_OPEN_ERROR;
    if (depth != 8 || (colour != COLOUR_GREY && colour != COLOUR_RGB)
        || interlace != 0
        || (uint64_t) info->width * info->height > PNG_MAX_PIXELS)
        return PNG_OPEN_OTHER;
    info->bands = colour == COLOUR_RGB ? 3 : 1;
    return PNG_OPEN_OK;
}

/* Chunks whose type starts with a lower-case letter may be ignored. */
static int
ancillary(const uint8_t *type)
{
    return (type[0] & 0x20) != 0;
}

/*
 * Walk the chunks, checking each CRC; image data is moved to the front of
 * the file buffer (it only ever moves backwards), ready to inflate.
 */
static enum png_open_result
chunks(uint8_t *file, size_t len, struct png_info *info, char *why,
       size_t why_len)
{
    size_t at = sizeof(signature);
    int seen_header = 0;

    if (len < at || memcmp(file, signature, at) != 0)
        return damaged(why, why_len, "not a PNG signature");
    for (;;) {
        uint32_t n;
        const uint8_t *type, *body;
        enum png_open_result rc;

        if (len - at < 12)
            return damaged(why, why_len, "truncated: no IEND chunk");
        n = be32(file + at);
        type = file + at + 4, body = type + 4;
        if (n > len - at - 12)
            return damaged(why, why_len, "truncated chunk");
        at += (size_t) n + 12;
        if (libdeflate_crc32(0, type, (size_t) n + 4) != be32(body + n)) {
            /* as libpng: a damaged ancillary chunk is only skipped */
            if (ancillary(type))
                continue;
            return damaged(why, why_len, "CRC error in a %.4s chunk", type);
        }
        if (!seen_header && memcmp(type, "IHDR", 4) != 0)
            return damaged(why, why_len, "the first chunk is not IHDR");
        if (memcmp(type, "IHDR", 4) == 0) {
            if (seen_header)
                return damaged(why, why_len, "two IHDR chunks");
            seen_header = 1;
            if ((rc = header(body, n, info)) != PNG_OPEN_OK)
                return rc == PNG_OPEN_OTHER
                       ? rc : damaged(why, why_len, "bad IHDR");
        } else if (memcmp(type, "tRNS", 4) == 0)
            return PNG_OPEN_OTHER;     /* transparency: libvips */
        else if (memcmp(type, "IDAT", 4) == 0) {
            memmove(file + info->data_len, body, n);
            info->data_len += n;
        } else if (memcmp(type, "IEND", 4) == 0)
            return info->data_len > 0
                   ? PNG_OPEN_OK : damaged(why, why_len, "no image data");
        else if (memcmp(type, "PLTE", 4) == 0)
            continue;           /* a suggested palette, for RGB: unused */
        else if (!ancillary(type))
            return damaged(why, why_len, "unknown critical chunk %.4s",
                           type);
    }
}

static inline uint8_t
paeth(uint8_t a, uint8_t b, uint8_t c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo one row's filter in place; prev is the row above (zeros for the
 * first), bpp the bytes per pixel. */
static int
unfilter(uint8_t filter, uint8_t *row, const uint8_t *prev, size_t len,
         int bpp)
{
    size_t i;

    switch (filter) {
    case 0:
        return 0;
    case 1:
        for (i = (size_t) bpp; i < len; i++)
            row[i] = (uint8_t) (row[i] + row[i - bpp]);
        return 0;
    case 2:
        for (i = 0; i < len; i++)
            row[i] = (uint8_t) (row[i] + prev[i]);
        return 0;
    case 3:
        for (i = 0; i < len; i++)
            row[i] = (uint8_t) (row[i] + ((i >= (size_t) bpp
                                           ? row[i - bpp] : 0) + prev[i])
                                          / 2);
        return 0;
    case 4:
        for (i = 0; i < len; i++)
            row[i] = (uint8_t) (row[i] + (i >= (size_t) bpp
                                          ? paeth(row[i - bpp], prev[i],
                                                  prev[i - bpp])
                                          : prev[i]));
        return 0;
    default:
        return -1;
    }
}

static enum png_open_result
inflate_and_unfilter(struct png_rows *p, const struct png_info *info,
                     char *why, size_t why_len)
{
    size_t stride = p->line + 1;
    size_t want = stride * info->height, got = 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    enum libdeflate_result r;
    uint32_t y;

    p->pixels = malloc(want);
    p->zero = calloc(p->line, 1);
    if (d == NULL || p->pixels == NULL || p->zero == NULL) {
        if (d != NULL)
            libdeflate_free_decompressor(d);
        return damaged(why, why_len, "out of memory");
    }
    r = libdeflate_zlib_decompress(d, p->file, info->data_len, p->pixels,
                                   want, &got);
    libdeflate_free_decompressor(d);
    if (r != LIBDEFLATE_SUCCESS || got != want)
        return damaged(why, why_len, "the image data is %s",
                       r == LIBDEFLATE_SUCCESS ? "truncated" : "corrupt");
    for (y = 0; y < info->height; y++) {
        uint8_t *row = p->pixels + y * stride;

        /* the first row's filter sees zeros above it */
        if (unfilter(row[0], row + 1, y > 0 ? row + 1 - stride : p->zero,
                     p->line, info->bands) != 0)
            return damaged(why, why_len, "unknown filter %u in row %u",
                           row[0], y);
    }
    return PNG_OPEN_OK;
}

static const uint8_t *
pixel_row(void *arg, int y)
{
    const struct png_rows *p = arg;

    return p->pixels + (size_t) y * (p->line + 1) + 1;
}

enum png_open_result
png_rows_open(const char *path, struct png_rows **out,
              struct resize_source *src, char *why, size_t why_len)
{
    struct png_rows *p = calloc(1, sizeof(*p));
    struct png_info info = { 0, 0, 0, 0 };
    enum png_open_result rc;
    size_t len = 0;

    *why = '\0';
    if (p == NULL)
        return damaged(why, why_len, "out of memory");
    rc = read_file(path, &p->file, &len, why, why_len);
    if (rc == PNG_OPEN_OK)
        rc = chunks(p->file, len, &info, why, why_len);
    if (rc == PNG_OPEN_OK) {
        p->line = (size_t) info.width * info.bands;
        rc = inflate_and_unfilter(p, &info, why, why_len);
    }
    if (rc != PNG_OPEN_OK) {
        png_rows_close(p);
        return rc;
    }
    free(p->file);          /* the pixels are all we need now */
    p->file = NULL;
    src->width = (int) info.width;
    src->height = (int) info.height;
    src->bands = info.bands;
    src->read = NULL;
    src->row = pixel_row;
    src->arg = p;
    src->alpha = 0;
    *out = p;
    return PNG_OPEN_OK;
}

void
png_rows_close(struct png_rows *p)
{
    if (p == NULL)
        return;
    free(p->file);
    free(p->pixels);
    free(p->zero);
    free(p);
}
