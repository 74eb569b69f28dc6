/*
 * storage.c: local store operations.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "s3.h"
#include "storage.h"

/* nginx (another user) serves what we write. */
#define FILE_MODE 0644
#define DIR_MODE  0755

static bool
key_is_safe(const char *key)
{
    const char *c = key, *end;
    size_t n;

    if (*key == '\0' || *key == '/')
        return false;
    while (*c != '\0') {
        end = strchr(c, '/');
        n = end ? (size_t) (end - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.')
            || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += n;
        if (*c == '/')
            c++;
        else
            break;
        if (*c == '\0')
            return false;           /* trailing slash */
    }
    return true;
}

int
storage_path(const char *root, const char *key, char *out, size_t outlen)
{
    int n;

    if (!key_is_safe(key)) {
        errno = EINVAL;
        return -1;
    }
    n = snprintf(out, outlen, "%s/%s", root, key);
    if (n < 0 || (size_t) n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* mkdir -p of the directory part of path, below root (which exists). */
static int
make_parents(const char *root, const char *path)
{
    char dir[STORAGE_PATH_MAX];
    size_t skip = strlen(root) + 1;
    char *p;

    if (strlen(path) >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(dir, path);
    for (p = dir + skip; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(dir, DIR_MODE) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

int
storage_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* fsync before rename: after a crash the name must not point at a file
 * whose data never reached the disk. */
static int
finish_and_rename(int fd, const char *tmp, const char *dst)
{
    if (fchmod(fd, FILE_MODE) != 0 || fsync(fd) != 0)
        return -1;
    return rename(tmp, dst);
}

int
storage_put(const char *root, const char *key, const void *data, size_t len)
{
    char path[STORAGE_PATH_MAX], tmp[STORAGE_PATH_MAX + 16];
    const char *base;
    int fd = -1, rc = -1, saved;

    if (storage_path(root, key, path, sizeof(path)) != 0
        || make_parents(root, path) != 0)
        return -1;
    /* ".512.webp.XXXXXX" beside the target: same filesystem for rename,
     * and a dot name that nothing serves. */
    base = strrchr(path, '/') + 1;
    snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", (int) (base - path), path,
             base);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (storage_write_all(fd, data, len) != 0
        || finish_and_rename(fd, tmp, path) != 0)
        goto failed;
    rc = 0;

failed:
    saved = errno;
    close(fd);
    if (rc != 0)
        unlink(tmp);
    errno = saved;
    return rc;
}

int
storage_temp(const char *root, char *path)
{
    int n, fd;

    n = snprintf(path, STORAGE_PATH_MAX, "%s/.tmp", root);
    if (n < 0 || n + 16 >= STORAGE_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    strcat(path, "/import-XXXXXX");
    fd = mkostemp(path, O_CLOEXEC);
    return fd;
}

int
storage_commit(const char *root, const char *tmp_path, int fd,
               const char *key)
{
    char path[STORAGE_PATH_MAX];

    if (storage_path(root, key, path, sizeof(path)) != 0
        || make_parents(root, path) != 0)
        return -1;
    return finish_and_rename(fd, tmp_path, path);
}

int
storage_size(const char *root, const char *key, off_t *size)
{
    char path[STORAGE_PATH_MAX];
    struct stat st;

    if (storage_path(root, key, path, sizeof(path)) != 0
        || stat(path, &st) != 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    *size = st.st_size;
    return 0;
}

int
storage_sweep_temp(const char *root, long age)
{
    char dir[STORAGE_PATH_MAX], path[STORAGE_PATH_MAX + 256];
    time_t cutoff = time(NULL) - age;
    struct dirent *e;
    struct stat st;
    DIR *d;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/.tmp", root);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)
            && st.st_mtime < cutoff && unlink(path) == 0)
            n++;
    }
    closedir(d);
    return n;
}

int
storage_remove(const char *root, const char *key)
{
    char path[STORAGE_PATH_MAX];

    if (storage_path(root, key, path, sizeof(path)) != 0)
        return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

/* --- the driver interface ------------------------------------------------ */

static bool
is_s3(const struct config *cfg)
{
    return strcmp(cfg->storage, "s3") == 0;
}

int
store_setup(const struct config *cfg, char *err, size_t errlen)
{
    return is_s3(cfg) ? s3_setup(cfg, err, errlen) : 0;
}

void
store_shutdown(void)
{
    s3_shutdown();
}

int
store_get_file(const struct config *cfg, const char *key, int64_t limit,
               struct store_file *f)
{
    int fd;

    f->temp = false;
    if (!is_s3(cfg))
        return storage_path(cfg->store_root, key, f->path, sizeof(f->path));
    fd = storage_temp(cfg->store_root, f->path);
    if (fd < 0) {
        f->path[0] = '\0';
        return -1;
    }
    f->temp = true;
    if (s3_get(cfg, key, fd, limit) != 0) {
        int saved = errno;

        close(fd);
        store_file_release(f);
        errno = saved;
        return -1;
    }
    close(fd);
    return 0;
}

void
store_file_release(struct store_file *f)
{
    if (f->temp && f->path[0] != '\0')
        unlink(f->path);
    f->temp = false;
    f->path[0] = '\0';
}

int
store_put_data(const struct config *cfg, const char *key, const void *data,
               size_t len, const char *content_type)
{
    if (!is_s3(cfg))
        return storage_put(cfg->store_root, key, data, len);
    return s3_put(cfg, key, -1, data, (int64_t) len, content_type);
}

int
store_put_file(const struct config *cfg, const char *key,
               const char *tmp_path, int fd, const char *content_type,
               bool *consumed)
{
    struct stat st;

    *consumed = false;
    if (!is_s3(cfg)) {
        if (storage_commit(cfg->store_root, tmp_path, fd, key) != 0)
            return -1;
        *consumed = true;
        return 0;
    }
    if (fstat(fd, &st) != 0)
        return -1;
    return s3_put(cfg, key, fd, NULL, (int64_t) st.st_size, content_type);
}

int
store_size(const struct config *cfg, const char *key, off_t *size)
{
    int64_t n;

    if (!is_s3(cfg))
        return storage_size(cfg->store_root, key, size);
    if (s3_head(cfg, key, &n) != 0)
        return -1;
    *size = (off_t) n;
    return 0;
}

int
store_delete(const struct config *cfg, const char *key)
{
    if (!is_s3(cfg))
        return storage_remove(cfg->store_root, key);
    return s3_delete(cfg, key);
}
