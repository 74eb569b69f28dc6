/*
 * blurhash.c: BlurHash encoder.
 *
 * The image is projected onto a small number of 2-D cosine basis functions
 * (a DCT) in linear light.  The average colour (DC) is stored as 24-bit
 * sRGB; the other (AC) components are scaled by their largest magnitude,
 * compressed with a square root and quantised to 19 levels per channel.
 * Everything is written in base 83.
 *
 * The arithmetic follows the reference implementations' order closely
 * (cosine products, sum per channel, one scale at the end) so that hashes
 * agree bit for bit, which the unit tests check.  The AC scale is the
 * largest magnitude, as in the original C and Swift encoders (the
 * TypeScript one takes the largest signed value; see t/unit/blurhash_test.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blurhash.h"

static const char base83_chars[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "#$%*+,-.:;=?@[]^_{|}~";

/* Append value as len base-83 digits, most significant first. */
static char *
base83(char *p, int value, int len)
{
    int i, divisor = 1;

    for (i = 1; i < len; i++)
        divisor *= 83;
    for (i = 0; i < len; i++) {
        *p++ = base83_chars[(value / divisor) % 83];
        divisor /= 83;
    }
    return p;
}

static double
srgb_to_linear(int value)
{
    double v = value / 255.0;

    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static int
linear_to_srgb(double value)
{
    double v = value < 0 ? 0 : value > 1 ? 1 : value;

    if (v <= 0.0031308)
        return (int) (v * 12.92 * 255 + 0.5);
    return (int) ((1.055 * pow(v, 1 / 2.4) - 0.055) * 255 + 0.5);
}

static double
sign_pow(double value, double exp)
{
    return copysign(pow(fabs(value), exp), value);
}

/* The projection of the image onto basis function (i, j), per channel. */
static void
component(int i, int j, int width, int height, const uint8_t *rgb,
          size_t stride, const double *lin, const double *cos_x,
          const double *cos_y, double out[3])
{
    double norm = (i == 0 && j == 0) ? 1 : 2, r = 0, g = 0, b = 0, basis;
    double scale = 1.0 / (width * height);
    const uint8_t *px;
    int x, y;

    for (x = 0; x < width; x++) {
        for (y = 0; y < height; y++) {
            basis = norm * cos_x[i * width + x] * cos_y[j * height + y];
            px = rgb + (size_t) y * stride + (size_t) x * 3;
            r += basis * lin[px[0]];
            g += basis * lin[px[1]];
            b += basis * lin[px[2]];
        }
    }
    out[0] = r * scale;
    out[1] = g * scale;
    out[2] = b * scale;
}

static int
quantise_ac(double v, double max)
{
    double q = floor(sign_pow(v / max, 0.5) * 9 + 9.5);

    return (int) (q < 0 ? 0 : q > 18 ? 18 : q);
}

static void
write_hash(int xcomp, int ycomp, const double (*f)[3], char *out)
{
    int n = xcomp * ycomp, k, c, qmax = 0;
    double max = 1, actual = 0;
    char *p = out;

    p = base83(p, (xcomp - 1) + (ycomp - 1) * 9, 1);
    if (n > 1) {
        for (k = 1; k < n; k++)
            for (c = 0; c < 3; c++)
                actual = fmax(actual, fabs(f[k][c]));
        qmax = (int) fmax(0, fmin(82, floor(actual * 166 - 0.5)));
        max = (qmax + 1) / 166.0;
    }
    p = base83(p, qmax, 1);
    p = base83(p, (linear_to_srgb(f[0][0]) << 16)
                  + (linear_to_srgb(f[0][1]) << 8)
                  + linear_to_srgb(f[0][2]), 4);
    for (k = 1; k < n; k++)
        p = base83(p, quantise_ac(f[k][0], max) * 19 * 19
                      + quantise_ac(f[k][1], max) * 19
                      + quantise_ac(f[k][2], max), 2);
    *p = '\0';
}

int
blurhash_encode(int xcomp, int ycomp, int width, int height,
                const uint8_t *rgb, size_t stride, char *out, size_t outlen)
{
    double lin[256], (*factors)[3] = NULL, *cos_x = NULL, *cos_y = NULL;
    int i, j, rc = -1;

    if (xcomp < 1 || xcomp > 9 || ycomp < 1 || ycomp > 9 || width < 1
        || height < 1 || stride < (size_t) width * 3
        || outlen < (size_t) (1 + 1 + 4 + 2 * (xcomp * ycomp - 1) + 1))
        return -1;

    factors = calloc((size_t) xcomp * ycomp, sizeof(*factors));
    cos_x = malloc(sizeof(double) * xcomp * width);
    cos_y = malloc(sizeof(double) * ycomp * height);
    if (factors == NULL || cos_x == NULL || cos_y == NULL)
        goto failed;

    for (i = 0; i < 256; i++)
        lin[i] = srgb_to_linear(i);
    /* The cosines depend on one axis only: tabulate instead of calling
     * cos() twice per pixel and component. */
    for (i = 0; i < xcomp; i++)
        for (j = 0; j < width; j++)
            cos_x[i * width + j] = cos(M_PI * i * j / width);
    for (i = 0; i < ycomp; i++)
        for (j = 0; j < height; j++)
            cos_y[i * height + j] = cos(M_PI * i * j / height);

    for (j = 0; j < ycomp; j++)
        for (i = 0; i < xcomp; i++)
            component(i, j, width, height, rgb, stride, lin, cos_x, cos_y,
                      factors[j * xcomp + i]);
    write_hash(xcomp, ycomp, (const double (*)[3]) factors, out);
    rc = 0;

failed:
    free(factors);
    free(cos_x);
    free(cos_y);
    return rc;
}
