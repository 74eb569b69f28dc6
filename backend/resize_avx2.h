/*
 * resize_avx2.h: resize.c's inner loops with AVX2 (resize_avx2.c); only
 * resize.c calls them, and only on a CPU that has AVX2.
 */
#ifndef MEDIA_RESIZE_AVX2_H
#define MEDIA_RESIZE_AVX2_H

#include <stddef.h>
#include <stdint.h>

/* Weights are fixed point: 1.0 is 1 << RESIZE_SHIFT. */
#define RESIZE_SHIFT 14

/*
 * out[i] for i < line = the sum of rows[k][i] * weight k, taps taken two at a time:
 * pair_weights[k] holds the weights of rows 2k (low 16 bits) and 2k + 1
 * (high 16 bits); with an odd number of taps rows[taps] is readable.
 */
void resize_vertical_avx2(const uint8_t *const *rows, size_t line,
                          const int32_t *pair_weights, int pairs,
                          uint8_t *out);

/*
 * One row, 3 or 4 bands: output pixel x = the sum over ngroups groups of
 * four input pixels from first[x] of pixel * weight; groups holds 16
 * int16 a group: w0 w1 four times, then w2 w3 four times.  in has 16
 * bytes to spare after its last pixel group.
 */
void resize_horizontal_avx2(const uint8_t *in, int bands, const int *first,
                            const int16_t *groups, int ngroups,
                            int out_width, uint8_t *out);

#endif
