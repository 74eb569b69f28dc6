/*
 * webp.c: lossy WebP through libwebp's advanced API.
 */
#include <webp/encode.h>

#include "webp.h"

int
webp_encode(const uint8_t *pixels, int width, int height, int bands,
            size_t stride, int quality, void **out, size_t *len)
{
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter writer;
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
