/*
 * sweep_test.c: which bucket keys the sweep may ever consider.  Only the
 * shapes our presigned uploads have; anything else in the bucket (a shared
 * bucket, our variants, scratch names) is never touched.
 */
#include "sweep.h"
#include "unit.h"

int
main(void)
{
    static const char *const ours[] = {
        "1/0123456789abcdef0123456789abcdef_living-room.jpg",
        "42/ffffffffffffffffffffffffffffffff_x",
        "images/7/prop-12/0123456789abcdef0123456789abcdef.jpg",
        "images/7/9/0123456789abcdef0123456789abcdef.heic",
    };
    static const char *const not_ours[] = {
        "1/v/12/1024.webp",                             /* a variant */
        "1/notes.txt",
        "1/0123456789abcdef0123456789abcdef",           /* no name */
        "1/0123456789abcdef0123456789abcdef_",          /* empty name */
        "1/0123456789ABCDEF0123456789abcdef_x.jpg",     /* upper-case hex */
        "1/0123456789abcdef0123456789abcde_x.jpg",      /* 31 hex */
        "1/0123456789abcdef0123456789abcdef_a/b.jpg",   /* a folder */
        "x1/0123456789abcdef0123456789abcdef_x.jpg",
        "reports/2026/summary.txt",
        "images/7/0123456789abcdef0123456789abcdef.jpg",   /* no property */
        "images/x/9/0123456789abcdef0123456789abcdef.jpg",
        "images/7/9/0123456789abcdef0123456789abcdef",     /* no extension */
        "images/7/9/0123456789abcdef0123456789abcdef.jpeg2000",
        "images/7/9/0123456789abcdef0123456789abcdef.jpg/x",
        "",
    };
    size_t i;

    for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        CHECK(sweep_key_is_upload(ours[i]));
    for (i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++) {
        if (sweep_key_is_upload(not_ours[i]))
            fprintf(stderr, "  taken for an upload: \"%s\"\n", not_ours[i]);
        CHECK(!sweep_key_is_upload(not_ours[i]));
    }
    return unit_done("sweep");
}
