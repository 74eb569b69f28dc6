/*
 * png_decode.h: 8-bit RGB and greyscale PNGs decoded with libdeflate,
 * rows for resize.c.  (Not png.h: libpng's is on the include path.)
 */
#ifndef MEDIA_PNG_DECODE_H
#define MEDIA_PNG_DECODE_H

#include "resize.h"

/* The largest image this decoder takes: it holds the file and the
 * decoded pixels whole (up to 3 bytes a pixel); larger ones stream
 * through libvips. */
#define PNG_MAX_PIXELS (24 * 1000 * 1000)

struct png_rows;

enum png_open_result {
    PNG_OPEN_OK,
    PNG_OPEN_OTHER,         /* not for this decoder (palette, 16-bit,
                               interlaced, transparency ...): use libvips */
    PNG_OPEN_ERROR          /* damaged: bad CRC, truncated, bad data */
};

/* Decode path whole.  On PNG_OPEN_OK, *out holds the pixels and src
 * reads them (3 bands, or 1 for greyscale); on PNG_OPEN_ERROR, why says
 * what is wrong with the file. */
enum png_open_result png_rows_open(const char *path, struct png_rows **out,
                                   struct resize_source *src, char *why,
                                   size_t why_len);

void png_rows_close(struct png_rows *p);

#endif
