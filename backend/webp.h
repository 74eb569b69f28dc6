/*
 * webp.h: WebP encoding with libwebp, no metadata.
 *
 * libvips 8.14's webpsave writes an EXIF chunk even with strip set (it
 * rebuilds one from the resolution and orientation), so the variants are
 * encoded here, with the settings webpsave and sharp use by default
 * (preset "default", method 4, lossy, alpha quality 100), and carry no
 * EXIF, XMP or ICC chunk at all.
 */
#ifndef MEDIA_WEBP_H
#define MEDIA_WEBP_H

#include <stddef.h>
#include <stdint.h>

/* 8-bit sRGB pixels, 3 (RGB) or 4 (RGBA) bands, rows stride bytes apart.
 * On success *out holds the file (free with webp_free).  go_on, when
 * set, is asked as the encoder progresses; false stops it (-1). */
int webp_encode(const uint8_t *pixels, int width, int height, int bands,
                size_t stride, int quality, int (*go_on)(void),
                void **out, size_t *len)
    __attribute__((warn_unused_result));

void webp_free(void *data);

#endif
