/*
 * webp.c: lossy WebP through libwebp's advanced API.
 */
#include <webp/encode.h>

#include "webp.h"

struct hook {
    int (*go_on)(void);
};

static int
progress(int percent, const WebPPicture *pic)
{
    const struct hook *h = pic->user_data;

    (void) percent;
    return h->go_on();
}

int
webp_encode(const uint8_t *pixels, int width, int height, int bands,
            size_t stride, int quality, int (*go_on)(void), void **out,
            size_t *len)
{
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter writer;
    struct hook hook = { go_on };
    int ok;

    if ((bands != 3 && bands != 4) || stride > INT32_MAX
        || !WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, (float) quality)
        || !WebPPictureInit(&pic))
        return -1;
    config.method = 4;
    config.alpha_quality = 100;

    pic.width = width;
    pic.height = height;
    /* YUV input, as the lossy encoder wants: the import converts. */
    pic.use_argb = 0;
    WebPMemoryWriterInit(&writer);
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &writer;
    if (go_on != NULL) {
        pic.progress_hook = progress;
        pic.user_data = &hook;
    }

    ok = bands == 3 ? WebPPictureImportRGB(&pic, pixels, (int) stride)
                    : WebPPictureImportRGBA(&pic, pixels, (int) stride);
    ok = ok && WebPEncode(&config, &pic);
    WebPPictureFree(&pic);
    if (!ok) {
        WebPMemoryWriterClear(&writer);
        return -1;
    }
    *out = writer.mem;
    *len = writer.size;
    return 0;
}

void
webp_free(void *data)
{
    WebPFree(data);
}
