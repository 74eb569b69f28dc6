/*
 * resize.c: Lanczos3 downscaling, separable and in fixed point.
 *
 * Each output row is the weighted sum of a few input rows (the vertical
 * pass, over whole rows: long runs of the same arithmetic, which the
 * compiler turns into vector code), then each output pixel the weighted
 * sum of a few pixels of that row (the horizontal pass, all bands of a
 * pixel in one small vector).  Debian's libvips 8.14 does the same
 * arithmetic with scalar loops, four times slower; that difference is
 * most of the worker's time outside the WebP encoder.
 *
 * The kernel is stretched by the scale, so every input pixel contributes
 * (no aliasing), and centred as libvips centres it: output pixel i covers
 * input [i * s, (i + 1) * s).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resize.h"
#include "resize_avx2.h"

#define WEIGHT_SHIFT RESIZE_SHIFT
#define WEIGHT_ONE   (1 << WEIGHT_SHIFT)
#define LANCZOS_A    3.0
/* Input rows read per call beyond the kernel's height. */
#define READ_CHUNK   32
/* The vector loops read up to 16 bytes past a row's last pixel (weighted
 * by zero): every buffer they read has that much to spare. */
#define ROW_PAD      16

typedef int32_t v4si __attribute__((vector_size(16)));
typedef uint8_t v16qu __attribute__((vector_size(16)));

/* One direction: output i is the sum of taps input pixels from first[i]. */
struct filter {
    int      taps;
    int     *first;
    int32_t *weights;       /* taps per output */
    int16_t *groups;        /* the same for resize_horizontal_avx2 */
    int      ngroups;
};

#if defined(__x86_64__)
static int
use_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}
#else
static int
use_avx2(void)
{
    return 0;
}
#define resize_vertical_avx2(rows, line, weights, pairs, out) abort()
#define resize_horizontal_avx2(in, bands, first, groups, n, width, out) \
    abort()
#endif

/* Input rows in a ring: row r lives in slot r % cap. */
struct window {
    uint8_t *rows;          /* cap slots of line bytes */
    size_t   line;
    int      cap, next;     /* next: the first row not read yet */
};

static double
lanczos3(double x)
{
    double px;

    if (x == 0.0)
        return 1.0;
    if (x <= -LANCZOS_A || x >= LANCZOS_A)
        return 0.0;
    px = M_PI * x;
    return LANCZOS_A * sin(px) * sin(px / LANCZOS_A) / (px * px);
}

/* The input span [*lo, *hi) that output i of a scale-s resize reads. */
static void
filter_span(int i, double s, int in, int *lo, int *hi)
{
    double centre = (i + 0.5) * s, support = LANCZOS_A * s;

    *lo = (int) floor(centre - support + 0.5);
    *hi = (int) floor(centre + support + 0.5);
    if (*lo < 0)
        *lo = 0;
    if (*hi > in)
        *hi = in;
}

/* Output i's weights, for input pixels first .. first + taps - 1, in
 * fixed point and summing to exactly WEIGHT_ONE; real: taps doubles of
 * scratch space. */
static void
filter_weights(int i, double s, int in, int first, int taps, double *real,
               int32_t *w)
{
    double centre = (i + 0.5) * s, sum = 0.0;
    int lo, hi, k, largest = 0, total = 0;

    filter_span(i, s, in, &lo, &hi);
    for (k = 0; k < taps; k++) {
        int j = first + k;

        real[k] = j >= lo && j < hi ? lanczos3((j + 0.5 - centre) / s) : 0.0;
        sum += real[k];
    }
    for (k = 0; k < taps; k++) {
        w[k] = (int32_t) lrint(real[k] / sum * WEIGHT_ONE);
        total += w[k];
        if (w[k] > w[largest])
            largest = k;
    }
    w[largest] += WEIGHT_ONE - total;
}

/* A filter from in pixels to out (out <= in).  Every output uses the same
 * number of taps, the widest span's, shifted inside the input at the
 * edges with zero weights, so the passes need no special cases. */
static int
filter_make(struct filter *f, int in, int out)
{
    double s = (double) in / out, *real;
    int i, lo, hi;

    f->taps = 1;
    if (in == out) {        /* nothing to do in this direction: a copy */
        f->first = malloc(sizeof(int) * out);
        f->weights = malloc(sizeof(int32_t) * out);
        if (f->first == NULL || f->weights == NULL)
            return -1;
        for (i = 0; i < out; i++)
            f->first[i] = i, f->weights[i] = WEIGHT_ONE;
        return 0;
    }
    for (i = 0; i < out; i++) {
        filter_span(i, s, in, &lo, &hi);
        if (hi - lo > f->taps)
            f->taps = hi - lo;
    }
    f->first = malloc(sizeof(int) * out);
    f->weights = malloc(sizeof(int32_t) * out * f->taps);
    real = malloc(sizeof(double) * f->taps);
    if (f->first == NULL || f->weights == NULL || real == NULL) {
        free(real);
        return -1;
    }
    for (i = 0; i < out; i++) {
        filter_span(i, s, in, &lo, &hi);
        f->first[i] = lo + f->taps > in ? in - f->taps : lo;
        filter_weights(i, s, in, f->first[i], f->taps, real,
                       f->weights + (size_t) i * f->taps);
    }
    free(real);
    return 0;
}

static void
filter_free(struct filter *f)
{
    free(f->first);
    free(f->weights);
    free(f->groups);
}

static inline uint8_t
clamp8(int32_t v)
{
    return (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* out[i] = sum over k of rows[k][i] * w[k], for i < line. */
static void
pass_vertical(const uint8_t *const *rows, size_t line, const int32_t *w,
              int taps, int32_t *restrict acc, uint8_t *restrict out)
{
    size_t i;
    int k;

    for (i = 0; i < line; i++)
        acc[i] = WEIGHT_ONE / 2;
    for (k = 0; k < taps; k++) {
        const uint8_t *restrict row = rows[k];
        int32_t wk = w[k];

        if (wk == 0)
            continue;
        for (i = 0; i < line; i++)
            acc[i] += row[i] * wk;
    }
    for (i = 0; i < line; i++)
        out[i] = clamp8(acc[i] >> WEIGHT_SHIFT);
}

/* One row: out pixel x = sum over k of in pixel (first[x] + k) * w[k]. */
static void
pass_horizontal(const uint8_t *restrict in, int bands, const struct filter *f,
                int out_width, uint8_t *restrict out)
{
    const v16qu widen = { 0, 16, 16, 16, 1, 16, 16, 16,
                          2, 16, 16, 16, 3, 16, 16, 16 };
    int x, k, b;

    for (x = 0; x < out_width; x++) {
        const uint8_t *p = in + (size_t) f->first[x] * bands;
        const int32_t *w = f->weights + (size_t) x * f->taps;
        v4si acc = { WEIGHT_ONE / 2, WEIGHT_ONE / 2, WEIGHT_ONE / 2,
                     WEIGHT_ONE / 2 };
        v16qu px = { 0 };

        for (k = 0; k < f->taps; k++, p += bands) {
            memcpy(&px, p, 4);
            /* the 4 bytes widened to 4 ints: one instruction */
            acc += (v4si) __builtin_shuffle(px, (v16qu) { 0 }, widen) * w[k];
        }
        acc >>= WEIGHT_SHIFT;
        for (b = 0; b < bands; b++)
            *out++ = clamp8(acc[b]);
    }
}

/* c * a / 255 and its inverse, rounded: colours weighted by their alpha
 * (the last band) and back.  A transparent pixel's colour is 0 after. */
static void
premultiply(uint8_t *p, size_t pixels, int bands)
{
    size_t i;
    int b;

    for (i = 0; i < pixels; i++, p += bands)
        for (b = 0; b < bands - 1; b++)
            p[b] = (uint8_t) ((p[b] * p[bands - 1] + 127) / 255);
}

static void
unpremultiply(uint8_t *p, int pixels, int bands)
{
    int i, b, a, v;

    for (i = 0; i < pixels; i++, p += bands) {
        a = p[bands - 1];
        for (b = 0; b < bands - 1 && a < 255; b++) {
            v = a == 0 ? 0 : (p[b] * 255 + a / 2) / a;
            p[b] = (uint8_t) (v > 255 ? 255 : v);
        }
    }
}

/* Input rows [y, y + n) into dst: read from a decoder, or copied from
 * memory (premultiplying cannot be done in place there). */
static int
fetch(const struct resize_source *src, int y, int n, uint8_t *dst)
{
    size_t line = (size_t) src->width * src->bands;
    int i;

    if (src->read != NULL) {
        if (src->read(src->arg, y, n, dst) != 0)
            return -1;
    } else
        for (i = 0; i < n; i++)
            memcpy(dst + (size_t) i * line, src->row(src->arg, y + i), line);
    if (src->alpha)
        premultiply(dst, (size_t) n * src->width, src->bands);
    return 0;
}

/* Whether input rows go through the window: a decoder's always, rows in
 * memory only when they are to be premultiplied. */
static int
windowed(const struct resize_source *src)
{
    return src->row == NULL || src->alpha;
}

/* Make the ring hold input rows [top, need), reading on from the source
 * as far as the slots of rows above top allow (rows the kernel skips, at
 * large scales, are read and overwritten: the source only goes forward). */
static int
window_fill(struct window *w, const struct resize_source *src, int top,
            int need)
{
    int until = top + w->cap < src->height ? top + w->cap : src->height;

    while (w->next < need) {
        int slot = w->next % w->cap;
        int n = w->cap - slot < until - w->next ? w->cap - slot
                                                : until - w->next;

        if (fetch(src, w->next, n, w->rows + (size_t) slot * w->line) != 0)
            return -1;
        w->next += n;
    }
    return 0;
}

int
resize_height_for(int width, int height, int out_width)
{
    long h = lrint((double) height * out_width / width);

    return h < 1 ? 1 : (int) h;
}

/* The horizontal weights again for resize_horizontal_avx2: taps rounded
 * up to a multiple of 4 (the extra ones zero), in groups of four as
 * w0 w1 w0 w1 w0 w1 w0 w1 w2 w3 w2 w3 w2 w3 w2 w3. */
static int
filter_groups(struct filter *f, int out)
{
    int x, g, i;

    f->ngroups = (f->taps + 3) / 4;
    f->groups = calloc((size_t) out * f->ngroups * 16, sizeof(int16_t));
    if (f->groups == NULL)
        return -1;
    for (x = 0; x < out; x++) {
        const int32_t *w = f->weights + (size_t) x * f->taps;
        int16_t *gw = f->groups + (size_t) x * f->ngroups * 16;

        for (g = 0; g < f->ngroups; g++, gw += 16)
            for (i = 0; i < 4; i++) {
                int k = 4 * g + i;
                int16_t v = k < f->taps ? (int16_t) w[k] : 0;

                /* tap i of the group goes to slots (i & 1) + 2j of its
                 * half (i < 2: the low half, else the high one) */
                for (int j = 0; j < 4; j++)
                    gw[(i >> 1) * 8 + 2 * j + (i & 1)] = v;
            }
    }
    return 0;
}

/* Row y's vertical weights as pairs for resize_vertical_avx2. */
static int
vertical_pairs(const struct filter *v, int y, int32_t *pairs)
{
    const int32_t *w = v->weights + (size_t) y * v->taps;
    int k, n = (v->taps + 1) / 2;

    for (k = 0; k < n; k++) {
        uint16_t lo = (uint16_t) w[2 * k];
        uint16_t hi = 2 * k + 1 < v->taps ? (uint16_t) w[2 * k + 1] : 0;

        pairs[k] = (int32_t) ((uint32_t) hi << 16 | lo);
    }
    return n;
}

struct buffers {
    struct window   w;
    const uint8_t **ptrs;   /* the kernel's input rows, and a zero row */
    uint8_t        *zero;
    uint8_t        *row;    /* one row after the vertical pass */
    int32_t        *acc;    /* the portable vertical pass's sums */
    int32_t        *pairs;  /* the AVX2 vertical pass's weights */
};

/* Every buffer a pass reads is zeroed, padding included: the vector
 * loops read some of it (with zero weights). */
static int
buffers_alloc(struct buffers *b, const struct resize_source *src,
              const struct filter *v)
{
    size_t line = (size_t) src->width * src->bands;

    b->w.line = line;
    b->w.cap = v->taps + READ_CHUNK;
    if (b->w.cap > src->height)
        b->w.cap = src->height;
    if (windowed(src))
        b->w.rows = calloc((size_t) b->w.cap * line + ROW_PAD, 1);
    b->ptrs = calloc((size_t) v->taps + 1, sizeof(*b->ptrs));
    b->zero = calloc(line + ROW_PAD, 1);
    b->row = calloc(line + ROW_PAD, 1);
    b->acc = malloc(sizeof(int32_t) * line);
    b->pairs = malloc(sizeof(int32_t) * ((size_t) v->taps + 1) / 2 + 4);
    return (b->w.rows || !windowed(src)) && b->ptrs && b->zero && b->row
           && b->acc && b->pairs ? 0 : -1;
}

static void
buffers_free(struct buffers *b)
{
    free(b->w.rows);
    free(b->ptrs);
    free(b->zero);
    free(b->row);
    free(b->acc);
    free(b->pairs);
}

/* Point b->ptrs at input rows [top, top + taps), then the zero row. */
static int
input_rows(struct buffers *b, const struct resize_source *src, int top,
           int taps)
{
    int k;

    if (windowed(src) && window_fill(&b->w, src, top, top + taps) != 0)
        return -1;
    for (k = 0; k < taps; k++)
        b->ptrs[k] = !windowed(src)
                     ? src->row(src->arg, top + k)
                     : b->w.rows + (size_t) ((top + k) % b->w.cap) * b->w.line;
    b->ptrs[taps] = b->zero;
    return 0;
}

static int
resize_rows(const struct resize_source *src, const struct filter *h,
            const struct filter *v, int out_width, int out_height,
            uint8_t *out, size_t out_stride)
{
    size_t line = (size_t) src->width * src->bands;
    int avx2 = use_avx2() && h->groups != NULL;
    struct buffers b = { { NULL, 0, 0, 0 }, NULL, NULL, NULL, NULL, NULL };
    int y, rc = -1;

    if (buffers_alloc(&b, src, v) != 0)
        goto done;
    for (y = 0; y < out_height; y++) {
        uint8_t *dst = out + (size_t) y * out_stride;

        if (input_rows(&b, src, v->first[y], v->taps) != 0)
            goto done;
        if (avx2) {
            resize_vertical_avx2(b.ptrs, line, b.pairs,
                                 vertical_pairs(v, y, b.pairs), b.row);
            resize_horizontal_avx2(b.row, src->bands, h->first, h->groups,
                                   h->ngroups, out_width, dst);
        } else {
            pass_vertical(b.ptrs, line, v->weights + (size_t) y * v->taps,
                          v->taps, b.acc, b.row);
            pass_horizontal(b.row, src->bands, h, out_width, dst);
        }
        if (src->alpha)
            unpremultiply(dst, out_width, src->bands);
    }
    rc = 0;

done:
    buffers_free(&b);
    return rc;
}

int
resize_down(const struct resize_source *src, int out_width, int out_height,
            uint8_t *out, size_t out_stride)
{
    struct filter h = { 0 }, v = { 0 };
    int rc = -1;

    if (src->bands < 1 || src->bands > 4 || out_width < 1 || out_height < 1
        || out_width > src->width || out_height > src->height
        || (src->alpha && src->bands != 2 && src->bands != 4))
        return -1;
    if (filter_make(&h, src->width, out_width) == 0
        && filter_make(&v, src->height, out_height) == 0
        && (src->bands < 3 || !use_avx2()
            || filter_groups(&h, out_width) == 0))
        rc = resize_rows(src, &h, &v, out_width, out_height, out,
                         out_stride);
    filter_free(&h);
    filter_free(&v);
    return rc;
}

static const uint8_t *
memory_row(void *arg, int y)
{
    const struct resize_memory *mem = arg;

    return mem->data + (size_t) y * mem->stride;
}

void
resize_source_memory(struct resize_source *src, struct resize_memory *mem,
                     const uint8_t *data, int width, int height, int bands,
                     size_t stride)
{
    mem->data = data;
    mem->stride = stride;
    src->width = width;
    src->height = height;
    src->bands = bands;
    src->read = NULL;
    src->row = memory_row;
    src->arg = mem;
    src->alpha = 0;
}
