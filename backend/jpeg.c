/*
 * jpeg.c: JPEG rows from libjpeg-turbo, scaled while decoding.
 *
 * The rows go straight into resize.c as they are decoded, so the
 * full-size image is never held.  The inverse DCT takes the first step
 * down, to the smallest 1/8, 1/4, 1/2 or 1/1 of the image that still
 * covers the target: those four have SIMD transforms in libjpeg-turbo.
 * It can do any N/8, but the others are plain C: decoding a 4032 px photo
 * at 3/8 and resizing costs 15 % more than at 1/2 and resizing more, a
 * 1920 px one at 5/8 as much more than whole (measured here).
 *
 * This path takes what it does well, 8-bit YCbCr and RGB decoded to RGB,
 * greyscale to grey; CMYK and the rest go to libvips.  libjpeg reports
 * damaged data as warnings and goes on with grey; a photo service must not
 * publish that, so those warnings fail the decode (truncation included),
 * while harmless ones (stray bytes between markers) do not.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "jpeg.h"

/* Rows per jpeg_read_scanlines call at most. */
#define READ_BATCH 16

struct jpeg_rows {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr         jerr;
    jmp_buf                       fail;
    FILE                         *file;
    int                           damaged;
    char                          message[JMSG_LENGTH_MAX];
};

static void
on_error(j_common_ptr cinfo)
{
    struct jpeg_rows *j = (struct jpeg_rows *) cinfo->client_data;

    cinfo->err->format_message(cinfo, j->message);
    longjmp(j->fail, 1);
}

static int
harmless(int code)
{
    return code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR
           || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC;
}

/* Warnings (level -1) about the data mark the decode as failed; trace
 * messages (level >= 0) are ignored. */
static void
on_message(j_common_ptr cinfo, int level)
{
    struct jpeg_rows *j = (struct jpeg_rows *) cinfo->client_data;

    if (level >= 0 || harmless(cinfo->err->msg_code) || j->damaged)
        return;
    cinfo->err->format_message(cinfo, j->message);
    j->damaged = 1;
}

static int
read_rows(void *arg, int y, int n, uint8_t *dst)
{
    struct jpeg_rows *j = arg;
    size_t line = (size_t) j->cinfo.output_width
                  * (size_t) j->cinfo.output_components;
    JSAMPROW rows[READ_BATCH];
    volatile int done = 0;
    int i;

    (void) y;   /* rows come in order, as resize.c asks for them */
    if (setjmp(j->fail))
        return -1;
    while (done < n) {
        int want = n - done < READ_BATCH ? n - done : READ_BATCH;

        for (i = 0; i < want; i++)
            rows[i] = dst + (size_t) (done + i) * line;
        done += (int) jpeg_read_scanlines(&j->cinfo, rows, (JDIMENSION) want);
        if (j->damaged)
            return -1;
    }
    return 0;
}

/* The smallest 1/8, 1/4, 1/2 or 1/1 that still covers min_width x
 * min_height. */
static void
choose_scale(struct jpeg_decompress_struct *cinfo, int min_width,
             int min_height)
{
    unsigned n;

    for (n = 1; n <= 8; n *= 2) {
        cinfo->scale_num = n;
        cinfo->scale_denom = 8;
        jpeg_calc_output_dimensions(cinfo);
        if ((int) cinfo->output_width >= min_width
            && (int) cinfo->output_height >= min_height)
            return;
    }
}

static enum jpeg_open_result
start(struct jpeg_rows *j, int min_width, int min_height)
{
    struct jpeg_decompress_struct *cinfo = &j->cinfo;

    if (setjmp(j->fail))
        return JPEG_OPEN_ERROR;
    jpeg_create_decompress(cinfo);
    jpeg_stdio_src(cinfo, j->file);
    jpeg_read_header(cinfo, TRUE);
    if (j->damaged)
        return JPEG_OPEN_ERROR;
    if (cinfo->jpeg_color_space != JCS_YCbCr
        && cinfo->jpeg_color_space != JCS_GRAYSCALE
        && cinfo->jpeg_color_space != JCS_RGB)
        return JPEG_OPEN_OTHER;
    /* greyscale stays one band: a third of the work, and a grey ICC
     * profile applies to it */
    cinfo->out_color_space = cinfo->jpeg_color_space == JCS_GRAYSCALE
                             ? JCS_GRAYSCALE : JCS_RGB;
    choose_scale(cinfo, min_width, min_height);
    jpeg_start_decompress(cinfo);
    return j->damaged ? JPEG_OPEN_ERROR : JPEG_OPEN_OK;
}

enum jpeg_open_result
jpeg_rows_open(const char *path, int min_width, int min_height,
               struct jpeg_rows **out, struct resize_source *src)
{
    struct jpeg_rows *j = calloc(1, sizeof(*j));
    enum jpeg_open_result rc;

    if (j == NULL)
        return JPEG_OPEN_ERROR;
    j->cinfo.err = jpeg_std_error(&j->jerr);
    j->jerr.error_exit = on_error;
    j->jerr.emit_message = on_message;
    j->cinfo.client_data = j;
    j->file = fopen(path, "rb");
    if (j->file == NULL) {
        snprintf(j->message, sizeof(j->message), "cannot open the file");
        free(j);
        return JPEG_OPEN_ERROR;
    }
    rc = start(j, min_width, min_height);
    if (rc != JPEG_OPEN_OK) {
        jpeg_rows_close(j);
        return rc;
    }
    src->width = (int) j->cinfo.output_width;
    src->height = (int) j->cinfo.output_height;
    src->bands = j->cinfo.output_components;
    src->read = read_rows;
    src->row = NULL;
    src->alpha = 0;
    src->arg = j;
    *out = j;
    return JPEG_OPEN_OK;
}

const char *
jpeg_rows_error(const struct jpeg_rows *j)
{
    return j->message;
}

void
jpeg_rows_close(struct jpeg_rows *j)
{
    if (j == NULL)
        return;
    jpeg_destroy_decompress(&j->cinfo);
    if (j->file != NULL)
        fclose(j->file);
    free(j);
}
