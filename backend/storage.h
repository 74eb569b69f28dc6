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

#include <stddef.h>
#include <sys/types.h>

#define STORAGE_PATH_MAX 4096

/* store_root + "/" + key, after checking the key cannot escape the root
 * (no absolute path, no "." or ".." or empty component). */
int storage_path(const char *root, const char *key, char *out,
                 size_t outlen) __attribute__((warn_unused_result));

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

#endif
