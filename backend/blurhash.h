/*
 * blurhash.h: a BlurHash encoder (https://blurha.sh), written from the
 * algorithm's description.
 */
#ifndef MEDIA_BLURHASH_H
#define MEDIA_BLURHASH_H

#include <stddef.h>
#include <stdint.h>

/* 1 size + 1 maximum + 4 DC + 2 per AC component (at most 9x9), and NUL. */
#define BLURHASH_MAX_LEN (1 + 1 + 4 + 2 * (9 * 9 - 1) + 1)

/*
 * Encode an sRGB image of width x height pixels, 3 bytes each (R, G, B),
 * rows stride bytes apart, with xcomp x ycomp components (1 to 9 each).
 * Writes the NUL-terminated hash into out (outlen >= BLURHASH_MAX_LEN is
 * always enough); returns 0, or -1 on bad arguments.
 */
int blurhash_encode(int xcomp, int ycomp, int width, int height,
                    const uint8_t *rgb, size_t stride, char *out,
                    size_t outlen) __attribute__((warn_unused_result));

#endif
