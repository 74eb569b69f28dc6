/*
 * storage.h: the local store, a directory tree under store_root that nginx
 * serves.  Object keys are relative paths ("1/v/42/512.webp").  Objects
 * appear whole or not at all: they are written to a temporary file in the
 * same filesystem and renamed into place.
 *
 * Functions return 0, or -1 with errno set.
 */
#ifndef MEDIA_STORAGE_H
#define MEDIA_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORAGE_PATH_MAX 4096

/* store_root + "/" + key, after checking the key cannot escape the root
 * (no absolute path, no "." or ".." or empty component). */
int storage_path(const char *root, const char *key, char *out,
                 size_t outlen) __attribute__((warn_unused_result));

/* write() all of data, through EINTR and short writes. */
int storage_write_all(int fd, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* Write a whole object from memory. */
int storage_put(const char *root, const char *key, const void *data,
                size_t len) __attribute__((warn_unused_result));

/* A new empty temporary file under <root>/.tmp, for streaming into: returns
 * its descriptor and writes its path to path (STORAGE_PATH_MAX bytes). */
int storage_temp(const char *root, char *path)
    __attribute__((warn_unused_result));

/* Flush a finished temporary file and rename it to key. */
int storage_commit(const char *root, const char *tmp_path, int fd,
                   const char *key) __attribute__((warn_unused_result));

int storage_size(const char *root, const char *key, off_t *size)
    __attribute__((warn_unused_result));

/* Remove temporary files under <root>/.tmp last modified more than age
 * seconds ago: downloads of workers that died.  Returns how many. */
int storage_sweep_temp(const char *root, long age);

/* Remove an object; one that is already gone is not an error. */
int storage_remove(const char *root, const char *key)
    __attribute__((warn_unused_result));

/*
 * The store the worker uses, whichever driver the configuration names
 * ("storage = local | s3"): job code calls these and does not branch.
 * With s3, objects live in the bucket and <store_root>/.tmp only holds
 * transfers in progress.
 *
 * Errors: -1 with errno ENOENT (no such object), EFBIG (over the limit),
 * EAGAIN (transient: a 5xx, 408 or 429 answer, or a network error, still
 * failing after store_retries attempts; the job is retried with the
 * queue's backoff), EACCES or EIO (another answer), or the errno of a
 * local file operation.
 */
struct config;

/* Once, before any thread: the s3 driver reads its credentials. */
int store_setup(const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void store_shutdown(void);

/* An object as a local file. */
struct store_file {
    char path[STORAGE_PATH_MAX];
    bool temp;                  /* a download: store_file_release removes it */
};

/* local: the object's own path (not checked: reading it tells); s3: a GET
 * streamed into a new file under <store_root>/.tmp, at most limit bytes. */
int store_get_file(const struct config *cfg, const char *key, int64_t limit,
                   struct store_file *f) __attribute__((warn_unused_result));
void store_file_release(struct store_file *f);

int store_put_data(const struct config *cfg, const char *key,
                   const void *data, size_t len, const char *content_type)
    __attribute__((warn_unused_result));

/* Store a finished temporary file (from storage_temp) as key.  local
 * renames it into place (*consumed = true); s3 PUTs it, streamed from the
 * file, which stays the caller's (*consumed = false). */
int store_put_file(const struct config *cfg, const char *key,
                   const char *tmp_path, int fd, const char *content_type,
                   bool *consumed) __attribute__((warn_unused_result));

/* -1 with ENOENT when there is no such object. */
int store_size(const struct config *cfg, const char *key, off_t *size)
    __attribute__((warn_unused_result));

/* An object that is already gone is not an error. */
int store_delete(const struct config *cfg, const char *key)
    __attribute__((warn_unused_result));

#endif
