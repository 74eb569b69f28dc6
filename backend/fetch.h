/*
 * fetch.h: URL import with libcurl.
 *
 * http and https only, at most 5 redirects, connect and total timeouts,
 * proxies ignored, the body streamed into a temporary file under
 * <store_root>/.tmp and cut off at max_file_size, and every connection
 * (redirects included) checked against the SSRF rules of ssrf.h on the
 * address it is about to connect to.
 */
#ifndef MEDIA_FETCH_H
#define MEDIA_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "job.h"
#include "ssrf.h"
#include "storage.h"

struct config;

/* One import's transfer: owns its curl handle and temporary file. */
struct fetch {
    CURL               *curl;
    struct curl_slist  *resolve;
    int                 fd;
    char                path[STORAGE_PATH_MAX];  /* "" once committed */
    int64_t             bytes, limit;
    bool                too_large;
    int                 write_errno;    /* why the temporary file failed */
    bool                blocked;
    char                blocked_addr[64];
    enum ssrf_class     blocked_class;
    const atomic_bool  *cancel;     /* set when our lease is lost */
    char                errbuf[CURL_ERROR_SIZE];
};

/* Once, before any thread: parse import_allow (and import_resolve). */
int fetch_setup(const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void fetch_shutdown(void);

void fetch_init(struct fetch *f);

/*
 * Fetch url into a new temporary file (f->path, f->fd).  JOB_OK; or
 * JOB_FAIL with blocked_address, too_large, bad_url, too_many_redirects,
 * http_<4xx>; or JOB_RETRY with timeout, network_error, http_<5xx>,
 * http_408, http_429, storage_error.
 */
enum job_status fetch_url(const struct config *cfg, struct fetch *f,
                          const char *url, const atomic_bool *cancel,
                          struct job_error *err);

/* Store the fetched file as key (store_put_file).  With the local store
 * it is moved there and f no longer owns it (f->path is ""); with s3 it is
 * PUT and stays f's until fetch_free. */
int fetch_commit(const struct config *cfg, struct fetch *f, const char *key,
                 const char *content_type)
    __attribute__((warn_unused_result));

/* Release everything; an uncommitted temporary file is removed. */
void fetch_free(struct fetch *f);

#endif
