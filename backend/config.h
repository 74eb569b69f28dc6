/*
 * config.h: the worker's configuration file.
 *
 * Lines are "key = value"; '#' starts a comment.  Every key is declared once
 * in config.c with its type, default and bounds; an unknown key or a bad
 * value is an error that names the file and line.
 */
#ifndef MEDIA_CONFIG_H
#define MEDIA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
    char    *database;          /* libpq conninfo */
    char    *store_root;        /* local store directory */
    int64_t  concurrency;       /* jobs in hand at once */
    int64_t  lease_seconds;     /* a claim's lease, renewed every third */
    int64_t  poll_seconds;      /* fallback poll when no NOTIFY comes */
    int64_t  max_pixels;        /* refused from the header, before decoding */
    int64_t  max_file_size;     /* bytes, originals and imports */
    int64_t  max_video_seconds;
    int64_t  optimize_timeout;  /* seconds for one photo or poster frame */
    char    *worker_id;         /* locked_by; default hostname:pid */
    int64_t  webp_quality;
    int64_t  vips_threads;      /* libvips threads per job */
    char    *import_allow;      /* CIDRs opened for URL import */
    char    *import_resolve;    /* host:port:address overrides (tests) */
    int64_t  import_connect_timeout;
    int64_t  import_timeout;
    int64_t  webhook_timeout;           /* seconds, whole request */
    int64_t  webhook_connect_timeout;
    int64_t  webhook_backoff_base;      /* seconds before the first retry */
    int64_t  webhook_backoff_max;       /* cap of the doubling */
    int64_t  webhook_max_attempts;      /* then the event is failed */
    char    *log_level;
    /* Storage driver (storage.h): with "s3", store_root is only local
     * scratch space for downloads and originals being optimized. */
    char    *storage;           /* "local" or "s3" */
    char    *s3_endpoint;       /* http(s)://host[:port] */
    char    *s3_region;
    char    *s3_bucket;
    char    *s3_path_style;     /* "on": endpoint/bucket/key */
    char    *s3_credentials_file;   /* two lines: key id, secret */
    int64_t  store_retries;     /* attempts of a store request in a job */
    int64_t  upload_url_ttl;    /* seconds, = nginx media_upload_url_ttl */
    int64_t  orphan_margin;     /* seconds after the TTL before removal */
    int64_t  s3_sweep_interval; /* seconds between bucket sweeps; 0: none */
};

/* Load path into cfg (defaults first).  On error, writes a one-line reason
 * into err and returns -1; cfg is then freed. */
int config_load(struct config *cfg, const char *path, char *err,
                size_t errlen) __attribute__((warn_unused_result));

/* Parse a whole file's text; config_load reads the file and calls this. */
int config_parse(struct config *cfg, const char *text, const char *name,
                 char *err, size_t errlen) __attribute__((warn_unused_result));

void config_free(struct config *cfg);

#endif
