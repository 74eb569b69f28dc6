/*
 * s3.h: the worker's S3 driver (storage = s3), libcurl with its own SigV4
 * (CURLOPT_AWS_SIGV4).  Used through the store_* interface of storage.h.
 *
 * Every request signs "x-amz-content-sha256: UNSIGNED-PAYLOAD" (libcurl
 * 7.88 does not add that header, S3 and s3rver require it), streams its
 * body, and is tried up to store_retries times on a transient error (a
 * 5xx, 408 or 429 answer, a network error), with a short doubling pause.
 * Errors as in storage.h (ENOENT, EFBIG, EAGAIN, EACCES, EIO).
 */
#ifndef MEDIA_S3_H
#define MEDIA_S3_H

#include <stdint.h>
#include <time.h>

struct config;

int s3_setup(const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void s3_shutdown(void);

/* GET key into fd (empty, at offset 0), at most limit bytes. */
int s3_get(const struct config *cfg, const char *key, int fd, int64_t limit)
    __attribute__((warn_unused_result));

/* PUT len bytes from fd (read with pread from offset 0) or, when fd < 0,
 * from data. */
int s3_put(const struct config *cfg, const char *key, int fd,
           const void *data, int64_t len, const char *content_type)
    __attribute__((warn_unused_result));

int s3_head(const struct config *cfg, const char *key, int64_t *size)
    __attribute__((warn_unused_result));

/* 404 is success: the object is gone either way. */
int s3_delete(const struct config *cfg, const char *key)
    __attribute__((warn_unused_result));

/* One page (1,000 objects at most) of the bucket's listing: each
 * object's key and last-modified time to each().  marker: "" for the
 * first page; on return the key to list after, or "" after the last. */
int s3_list(const struct config *cfg, char *marker, size_t marker_len,
            void (*each)(const char *key, time_t modified, void *arg),
            void *arg) __attribute__((warn_unused_result));

/* The object's URL (for tests and logs); 0 or -1 when it does not fit. */
int s3_url(const char *key, char *out, size_t outlen)
    __attribute__((warn_unused_result));

#endif
