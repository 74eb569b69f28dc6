/*
 * resize_avx2.c: resize.c's two passes with AVX2, for x86-64 machines that
 * have it (resize.c asks the CPU once).  Compiled with -mavx2; nothing
 * else lives in this file, so nothing else can pick up AVX2 instructions.
 *
 * Both passes multiply 16-bit pixels by 16-bit weights with vpmaddwd,
 * which multiplies pairs and adds each pair: two taps for the price of
 * one instruction, and no 32-bit multiplies (slow on every x86).
 */
#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#include "resize_avx2.h"

#define HALF (1 << (RESIZE_SHIFT - 1))

/* 32 int32 lanes (acc0: bytes 0..7, acc1: bytes 8..15) to 16 bytes. */
static inline __m128i
pack16(__m256i acc0, __m256i acc1)
{
    __m256i w = _mm256_packs_epi32(_mm256_srai_epi32(acc0, RESIZE_SHIFT),
                                   _mm256_srai_epi32(acc1, RESIZE_SHIFT));

    /* packs works within 128-bit lanes: put the quarters back in order */
    w = _mm256_permute4x64_epi64(w, 0xD8);
    w = _mm256_packus_epi16(w, w);
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(w, 0x08));
}

void
resize_vertical_avx2(const uint8_t *const *rows, size_t line,
                     const int32_t *pair_weights, int pairs, uint8_t *out)
{
    size_t i;
    int k;

    for (i = 0; i + 16 <= line; i += 16) {
        __m256i acc0 = _mm256_set1_epi32(HALF), acc1 = acc0;

        for (k = 0; k < pairs; k++) {
            __m128i a = _mm_loadu_si128((const __m128i *) (rows[2 * k] + i));
            __m128i b = _mm_loadu_si128((const __m128i *) (rows[2 * k + 1]
                                                           + i));
            __m256i w = _mm256_set1_epi32(pair_weights[k]);

            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(
                       _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b)), w));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(
                       _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b)), w));
        }
        _mm_storeu_si128((__m128i *) (out + i), pack16(acc0, acc1));
    }
    /* the last few bytes one at a time: nothing is read past a row */
    for (; i < line; i++) {
        int32_t sum = HALF;

        for (k = 0; k < pairs; k++)
            sum += rows[2 * k][i] * (int16_t) (pair_weights[k] & 0xffff)
                   + rows[2 * k + 1][i] * (int16_t) (pair_weights[k] >> 16);
        sum >>= RESIZE_SHIFT;
        out[i] = (uint8_t) (sum < 0 ? 0 : sum > 255 ? 255 : sum);
    }
}

void
resize_horizontal_avx2(const uint8_t *in, int bands, const int *first,
                       const int16_t *groups, int ngroups, int out_width,
                       uint8_t *out)
{
    /* Four pixels of a group as 16-bit pairs (pixel 0 and 1 in the low
     * lane, 2 and 3 in the high one), band by band: r0 r1 g0 g1 b0 b1 a0
     * a1.  -1 makes a zero. */
    static const int8_t rgb[32] = {
        0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,
        6, -1, 9, -1, 7, -1, 10, -1, 8, -1, 11, -1, -1, -1, -1, -1 };
    static const int8_t rgba[32] = {
        0, -1, 4, -1, 1, -1, 5, -1, 2, -1, 6, -1, 3, -1, 7, -1,
        8, -1, 12, -1, 9, -1, 13, -1, 10, -1, 14, -1, 11, -1, 15, -1 };
    __m256i spread = _mm256_loadu_si256((const __m256i *)
                                        (bands == 3 ? rgb : rgba));
    int x, g;

    for (x = 0; x < out_width; x++) {
        const uint8_t *p = in + (size_t) first[x] * bands;
        const int16_t *w = groups + (size_t) x * ngroups * 16;
        __m256i acc = _mm256_setzero_si256();
        __m128i sum;
        uint32_t px;

        for (g = 0; g < ngroups; g++, p += 4 * bands, w += 16) {
            __m256i four = _mm256_broadcastsi128_si256(
                               _mm_loadu_si128((const __m128i *) p));

            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(
                      _mm256_shuffle_epi8(four, spread),
                      _mm256_loadu_si256((const __m256i *) w)));
        }
        sum = _mm_add_epi32(_mm256_castsi256_si128(acc),
                            _mm256_extracti128_si256(acc, 1));
        sum = _mm_srai_epi32(_mm_add_epi32(sum, _mm_set1_epi32(HALF)),
                             RESIZE_SHIFT);
        sum = _mm_packus_epi16(_mm_packs_epi32(sum, sum), sum);
        px = (uint32_t) _mm_cvtsi128_si32(sum);
        memcpy(out, &px, (size_t) bands);
        out += bands;
    }
}

#endif
