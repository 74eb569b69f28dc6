/*
 * config.c: a declarative table of keys, a line parser, and defaults.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

enum key_type { KEY_STRING, KEY_INT };

struct key {
    const char    *name;
    enum key_type  type;
    size_t         offset;
    const char    *def;         /* NULL: required (strings) or computed */
    int64_t        min, max;    /* bounds for KEY_INT */
    bool         (*check)(const char *value);
};

static bool check_log_level(const char *value);
static bool check_storage(const char *value);
static bool check_on_off(const char *value);

#define STR(name, def, check) \
    { #name, KEY_STRING, offsetof(struct config, name), def, 0, 0, check }
#define INT(name, def, min, max) \
    { #name, KEY_INT, offsetof(struct config, name), #def, min, max, NULL }

static const struct key keys[] = {
    STR(database, NULL, NULL),
    STR(store_root, NULL, NULL),
    INT(concurrency, 2, 1, 64),
    INT(lease_seconds, 60, 1, 86400),
    INT(poll_seconds, 5, 1, 3600),
    INT(max_pixels, 100000000, 1, INT64_C(1) << 40),
    INT(max_file_size, 104857600, 1, INT64_C(1) << 40),
    INT(max_video_seconds, 180, 1, 86400),
    INT(optimize_timeout, 120, 1, 3600),
    STR(worker_id, NULL, NULL),
    INT(webp_quality, 80, 1, 100),
    INT(vips_threads, 1, 1, 64),
    STR(import_allow, "", NULL),
    STR(import_resolve, "", NULL),
    INT(import_connect_timeout, 10, 1, 600),
    INT(import_timeout, 60, 1, 3600),
    INT(webhook_timeout, 10, 1, 300),
    INT(webhook_connect_timeout, 5, 1, 300),
    INT(webhook_backoff_base, 30, 1, 86400),
    INT(webhook_backoff_max, 3600, 1, 7 * 86400),
    INT(webhook_max_attempts, 8, 1, 100),
    STR(log_level, "info", check_log_level),
    STR(storage, "local", check_storage),
    STR(s3_endpoint, "", NULL),
    STR(s3_region, "", NULL),
    STR(s3_bucket, "", NULL),
    STR(s3_path_style, "off", check_on_off),
    STR(s3_credentials_file, "", NULL),
    INT(store_retries, 3, 1, 10),
    INT(upload_url_ttl, 1800, 1, 7 * 86400),
    INT(orphan_margin, 3600, 0, 30 * 86400),
    INT(s3_sweep_interval, 3600, 0, 7 * 86400),
    { NULL, 0, 0, NULL, 0, 0, NULL }
};

static bool
check_log_level(const char *value)
{
    return strcmp(value, "debug") == 0 || strcmp(value, "info") == 0
        || strcmp(value, "warning") == 0 || strcmp(value, "error") == 0;
}

static bool
check_storage(const char *value)
{
    return strcmp(value, "local") == 0 || strcmp(value, "s3") == 0;
}

static bool
check_on_off(const char *value)
{
    return strcmp(value, "on") == 0 || strcmp(value, "off") == 0;
}

static const struct key *
find_key(const char *name)
{
    const struct key *k;

    for (k = keys; k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* Decimal only: "0x10" or "1e3" in a size is more likely a typo than meant. */
static bool
parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (*s == '\0' || !(isdigit((unsigned char) *s) || *s == '-'))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

static int
set_value(struct config *cfg, const struct key *k, const char *value,
          char *err, size_t errlen)
{
    char *dst = (char *) cfg + k->offset;
    char *copy;
    int64_t v;

    if (k->type == KEY_INT) {
        if (!parse_int(value, &v) || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s must be an integer from %lld to %lld",
                     k->name, (long long) k->min, (long long) k->max);
            return -1;
        }
        *(int64_t *) dst = v;
        return 0;
    }
    if (k->check != NULL && !k->check(value)) {
        snprintf(err, errlen, "bad value for %s: \"%s\"", k->name, value);
        return -1;
    }
    copy = strdup(value);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(*(char **) dst);
    *(char **) dst = copy;
    return 0;
}

static int
set_defaults(struct config *cfg, char *err, size_t errlen)
{
    const struct key *k;

    memset(cfg, 0, sizeof(*cfg));
    for (k = keys; k->name != NULL; k++)
        if (k->def != NULL && set_value(cfg, k, k->def, err, errlen) != 0)
            return -1;
    return 0;
}

static char *
trim(char *s)
{
    char *end;

    while (isspace((unsigned char) *s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char) end[-1]))
        *--end = '\0';
    return s;
}

/* One "key = value" line, already stripped of its comment. */
static int
parse_line(struct config *cfg, char *line, char *err, size_t errlen)
{
    const struct key *k;
    char *eq, *name, *value;

    eq = strchr(line, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected \"key = value\"");
        return -1;
    }
    *eq = '\0';
    name = trim(line);
    value = trim(eq + 1);
    k = find_key(name);
    if (k == NULL) {
        snprintf(err, errlen, "unknown key \"%s\"", name);
        return -1;
    }
    return set_value(cfg, k, value, err, errlen);
}

static int
set_computed(struct config *cfg, char *err, size_t errlen)
{
    char host[256], id[300];

    if (cfg->database == NULL || cfg->store_root == NULL) {
        snprintf(err, errlen, "%s is required",
                 cfg->database == NULL ? "database" : "store_root");
        return -1;
    }
    if (strcmp(cfg->storage, "s3") == 0
        && (cfg->s3_endpoint[0] == '\0' || cfg->s3_region[0] == '\0'
            || cfg->s3_bucket[0] == '\0'
            || cfg->s3_credentials_file[0] == '\0')) {
        snprintf(err, errlen, "storage = s3 requires s3_endpoint, s3_region, "
                 "s3_bucket and s3_credentials_file");
        return -1;
    }
    if (strcmp(cfg->storage, "s3") == 0
        && strncmp(cfg->s3_endpoint, "http://", 7) != 0
        && strncmp(cfg->s3_endpoint, "https://", 8) != 0) {
        snprintf(err, errlen, "s3_endpoint must be an http:// or https:// "
                 "URL");
        return -1;
    }
    if (cfg->worker_id != NULL)
        return 0;
    if (gethostname(host, sizeof(host)) != 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(id, sizeof(id), "%s:%d", host, (int) getpid());
    cfg->worker_id = strdup(id);
    if (cfg->worker_id == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int
config_parse(struct config *cfg, const char *text, const char *name,
             char *err, size_t errlen)
{
    char *copy = NULL, *line, *next, *hash, msg[256];
    int lineno = 0;

    if (set_defaults(cfg, err, errlen) != 0)
        goto failed;
    copy = strdup(text);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }
    for (line = copy; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        if (*trim(line) == '\0')
            continue;
        if (parse_line(cfg, line, msg, sizeof(msg)) != 0) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, msg);
            goto failed;
        }
    }
    if (set_computed(cfg, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "%s: %s", name, msg);
        goto failed;
    }
    free(copy);
    return 0;

failed:
    free(copy);
    config_free(cfg);
    return -1;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f;
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    text = malloc(65536);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }
    len = fread(text, 1, 65535, f);
    if (ferror(f) || !feof(f)) {
        snprintf(err, errlen, "%s: unreadable or larger than 64 KiB", path);
        goto failed;
    }
    text[len] = '\0';
    rc = config_parse(cfg, text, path, err, errlen);

failed:
    free(text);
    fclose(f);
    return rc;
}

void
config_free(struct config *cfg)
{
    const struct key *k;

    for (k = keys; k->name != NULL; k++)
        if (k->type == KEY_STRING) {
            free(*(char **) ((char *) cfg + k->offset));
            *(char **) ((char *) cfg + k->offset) = NULL;
        }
}
