/*
 * jpeg.h: JPEG decoding with libjpeg-turbo, scaled in the inverse DCT to
 * the smallest 1/8, 1/4, 1/2 or 1/1 of the image that still covers a
 * target size; the rows feed resize.c.
 */
#ifndef MEDIA_JPEG_H
#define MEDIA_JPEG_H

#include "resize.h"

struct jpeg_rows;

enum jpeg_open_result {
    JPEG_OPEN_OK,
    JPEG_OPEN_OTHER,        /* not for this decoder (CMYK ...): use libvips */
    JPEG_OPEN_ERROR         /* cannot be read */
};

/*
 * Open path and choose the scale: the smallest N/8 (N = 1, 2, 4, 8) at
 * which the image, as stored, is at least min_width x min_height.  On JPEG_OPEN_OK,
 * *out is the decoder and src reads its RGB rows at that scale.
 */
enum jpeg_open_result jpeg_rows_open(const char *path, int min_width,
                                     int min_height, struct jpeg_rows **out,
                                     struct resize_source *src);

/* Why the decoder stopped (damaged or truncated data), or "". */
const char *jpeg_rows_error(const struct jpeg_rows *j);

void jpeg_rows_close(struct jpeg_rows *j);

#endif
