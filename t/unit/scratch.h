/*
 * scratch.h: for the unit tests that write image files: a scratch
 * directory under /tmp, removed at the end, and the photo pipeline set up
 * with the worker's defaults.  Static definitions: include it once, from
 * the test's .c, after config.h.
 */
#ifndef MEDIA_UNIT_SCRATCH_H
#define MEDIA_UNIT_SCRATCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "optimize.h"
#include "unit.h"

#include <vips/vips.h>

static struct config cfg;
static char dir[64];

/* dir/name; two results live at once, so a check may compare a pair. */
static const char *
path_of(const char *name)
{
    static char path[2][256];
    static int n;

    n = !n;
    snprintf(path[n], sizeof(path[n]), "%s/%s", dir, name);
    return path[n];
}

typedef void (*pixel_fn)(int x, int y, int w, int h, uint8_t *px);

/* The pixels of fn as a libvips image (it owns a copy). */
static VipsImage *
make_image(int w, int h, int bands, pixel_fn fn)
{
    uint8_t *px = malloc((size_t) w * h * bands);
    VipsImage *img;
    int x, y;

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            fn(x, y, w, h, px + ((size_t) y * w + x) * bands);
    img = vips_image_new_from_memory_copy(px, (size_t) w * h * bands, w, h,
                                          bands, VIPS_FORMAT_UCHAR);
    free(px);
    return img;
}

/* The worker's defaults, libvips set up, and a fresh /tmp/<name>.XXXXXX. */
static int
scratch_setup(const char *argv0, const char *name)
{
    char err[256];

    if (config_parse(&cfg, "database = -\nstore_root = /\n", "unit", err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    log_set_level(LOG_WARN);
    snprintf(dir, sizeof(dir), "/tmp/%s.XXXXXX", name);
    if (optimize_setup(argv0, &cfg) != 0 || mkdtemp(dir) == NULL)
        return -1;
    return 0;
}

static void
scratch_remove(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(path_of(e->d_name));
    if (d != NULL)
        closedir(d);
    CHECK(rmdir(dir) == 0);
}

#endif
