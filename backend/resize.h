/*
 * resize.h: downscaling of 8-bit interleaved pixels (1 to 4 bands) with a
 * Lanczos3 kernel, the photo pipeline's every resize.
 *
 * The input is read top to bottom through a callback, a few rows at a
 * time, so a decoder can feed the resize without the whole image ever
 * being in memory: what is held is the output and a window of input rows
 * as tall as the kernel.
 */
#ifndef MEDIA_RESIZE_H
#define MEDIA_RESIZE_H

#include <stddef.h>
#include <stdint.h>

/* Either read (a decoder) or row (pixels in memory) is set. */
struct resize_source {
    int    width, height, bands;
    /* Copy input rows [y, y + n) to dst, width * bands bytes each, one
     * after the other.  Called with y continuing where the last call
     * ended, each row once.  0, or -1 to stop. */
    int  (*read)(void *arg, int y, int n, uint8_t *dst);
    /* The address of input row y, valid until resize_down returns. */
    const uint8_t *(*row)(void *arg, int y);
    void  *arg;
    /* 1: the last band is alpha.  Colours are premultiplied by it while
     * resizing, so the colour of transparent pixels does not bleed into
     * the visible ones next to them. */
    int    alpha;
};

/* The height that keeps the aspect ratio at a width (at least 1). */
int resize_height_for(int width, int height, int out_width);

/*
 * Resize src to out_width x out_height, each at most the input's (this
 * never enlarges), into out (out_stride bytes a row).  0, or -1 on a
 * read failure or no memory.
 */
int resize_down(const struct resize_source *src, int out_width,
                int out_height, uint8_t *out, size_t out_stride)
    __attribute__((warn_unused_result));

/* A source over pixels already in memory (alpha 0: set it after). */
struct resize_memory {
    const uint8_t *data;
    size_t         stride;
};

void resize_source_memory(struct resize_source *src,
                          struct resize_memory *mem, const uint8_t *data,
                          int width, int height, int bands, size_t stride);

#endif
