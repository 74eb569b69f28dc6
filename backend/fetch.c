/*
 * fetch.c: one URL into one temporary file, with libcurl's easy interface
 * (a job thread has nothing else to do meanwhile).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fetch.h"
#include "log.h"

#define MAX_REDIRECTS 5
#define USER_AGENT "media-worker/1 (image import)"

/* Read-only once the job threads run. */
static struct ssrf_allow allow;
static struct curl_slist *resolve;

int
fetch_setup(const struct config *cfg, char *err, size_t errlen)
{
    char *copy, *tok, *save = NULL;
    struct curl_slist *l;

    if (ssrf_allow_parse(cfg->import_allow, &allow, err, errlen) != 0)
        return -1;
    /* Host name overrides for tests: "host:port:address, ...". */
    copy = strdup(cfg->import_resolve);
    if (copy == NULL)
        return -1;
    for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (strchr(tok, ':') == NULL || strchr(tok, ':') == strrchr(tok, ':')
            || (l = curl_slist_append(resolve, tok)) == NULL) {
            snprintf(err, errlen, "import_resolve: \"%s\" is not "
                     "host:port:address", tok);
            free(copy);
            fetch_shutdown();
            return -1;
        }
        resolve = l;
    }
    free(copy);
    return 0;
}

void
fetch_shutdown(void)
{
    ssrf_allow_free(&allow);
    curl_slist_free_all(resolve);
    resolve = NULL;
}

void
fetch_init(struct fetch *f)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

/* libcurl calls this for every connection it makes, redirects included:
 * the last word on where the worker connects to. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct fetch *f = arg;
    enum ssrf_class cls;

    if (purpose != CURLSOCKTYPE_IPCXN
        || !ssrf_permitted(&allow, &a->addr, &cls)) {
        f->blocked = true;
        f->blocked_class = purpose == CURLSOCKTYPE_IPCXN ? cls
                                                         : SSRF_RESERVED;
        ssrf_format_addr(&a->addr, f->blocked_addr, sizeof(f->blocked_addr));
        log_info("import: refused to connect to %s (%s)", f->blocked_addr,
                 ssrf_class_name(f->blocked_class));
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Bodies of error answers are not kept; the byte limit counts as we go,
 * whatever Content-Length said. */
static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    size_t len = size * n, done = 0;
    long status = 0;
    ssize_t w;

    curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return len;
    if (f->bytes + (int64_t) len > f->limit) {
        f->too_large = true;
        return 0;
    }
    while (done < len) {
        w = write(f->fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            f->write_errno = errno;
            return 0;
        }
        done += (size_t) w;
    }
    f->bytes += (int64_t) len;
    return len;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
            curl_off_t ultotal, curl_off_t ulnow)
{
    struct fetch *f = arg;

    (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
    return f->cancel != NULL && atomic_load(f->cancel);
}

static int
setup_handle(const struct config *cfg, struct fetch *f, const char *url)
{
    CURL *c = f->curl;

    return curl_easy_setopt(c, CURLOPT_URL, url)
        | curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")
        | curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        | curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L)
        | curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long) MAX_REDIRECTS)
        /* An environment's proxy must not become a way around the
         * address checks. */
        | curl_easy_setopt(c, CURLOPT_PROXY, "")
        | curl_easy_setopt(c, CURLOPT_NOPROXY, "*")
        | curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                           (long) cfg->import_connect_timeout)
        | curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) cfg->import_timeout)
        | curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                           (curl_off_t) f->limit)
        | curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket)
        | curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, f)
        | curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data)
        | curl_easy_setopt(c, CURLOPT_WRITEDATA, f)
        | curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress)
        | curl_easy_setopt(c, CURLOPT_XFERINFODATA, f)
        | curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L)
        | curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)
        | curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT)
        | curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf)
        | curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
}

static enum job_status
check_status(struct fetch *f, struct job_error *err)
{
    long status = 0;

    curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status <= 299)
        return JOB_OK;
    snprintf(err->code_buf, sizeof(err->code_buf), "http_%ld", status);
    /* Overload and server errors pass; other answers will not change. */
    return job_error(err, status >= 500 || status == 408 || status == 425
                          || status == 429 ? JOB_RETRY : JOB_FAIL,
                     err->code_buf, "The server answered HTTP %ld.", status);
}

static enum job_status
classify(const struct config *cfg, struct fetch *f, CURLcode rc,
         struct job_error *err)
{
    const char *detail = f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc);

    /* Refused by open_socket: curl reports it as a failed connect. */
    if (f->blocked && rc != CURLE_OK)
        return job_error(err, JOB_FAIL, "blocked_address",
                         "The URL leads to %s (%s address); imports may "
                         "only connect to public addresses.",
                         f->blocked_addr, ssrf_class_name(f->blocked_class));
    if (f->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return job_error(err, JOB_FAIL, "too_large",
                         "The file is larger than the limit of %" PRId64
                         " bytes.", cfg->max_file_size);
    switch (rc) {
    case CURLE_OK:
        return check_status(f, err);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return job_error(err, JOB_FAIL, "bad_url", "The URL cannot be "
                         "imported (only http and https): %s.", detail);
    case CURLE_TOO_MANY_REDIRECTS:
        return job_error(err, JOB_FAIL, "too_many_redirects", "The URL "
                         "redirected more than %d times.", MAX_REDIRECTS);
    case CURLE_OPERATION_TIMEDOUT:
        return job_error(err, JOB_RETRY, "timeout", "The download did not "
                         "finish in time: %s.", detail);
    case CURLE_WRITE_ERROR:
        return job_error(err, JOB_RETRY, "storage_error", "The download "
                         "could not be written (%s).",
                         strerror(f->write_errno));
    case CURLE_ABORTED_BY_CALLBACK:
        return job_error(err, JOB_RETRY, "lease_lost", "The job was taken "
                         "over by another worker.");
    default:
        return job_error(err, JOB_RETRY, "network_error", "The server "
                         "could not be reached: %s.", detail);
    }
}

enum job_status
fetch_url(const struct config *cfg, struct fetch *f, const char *url,
          const atomic_bool *cancel, struct job_error *err)
{
    CURLcode rc;

    f->limit = cfg->max_file_size;
    f->cancel = cancel;
    f->fd = storage_temp(cfg->store_root, f->path);
    if (f->fd < 0) {
        f->path[0] = '\0';
        return job_error(err, JOB_RETRY, "storage_error", "No temporary "
                         "file for the download (%s).", strerror(errno));
    }
    f->curl = curl_easy_init();
    if (f->curl == NULL || setup_handle(cfg, f, url) != 0)
        return job_error(err, JOB_RETRY, "internal", "libcurl could not "
                         "be set up.");
    rc = curl_easy_perform(f->curl);
    return classify(cfg, f, rc, err);
}

int
fetch_commit(const struct config *cfg, struct fetch *f, const char *key,
             const char *content_type)
{
    bool consumed;

    if (store_put_file(cfg, key, f->path, f->fd, content_type,
                       &consumed) != 0)
        return -1;
    if (consumed)
        f->path[0] = '\0';
    return 0;
}

void
fetch_free(struct fetch *f)
{
    if (f->curl != NULL)
        curl_easy_cleanup(f->curl);
    if (f->fd >= 0)
        close(f->fd);
    if (f->path[0] != '\0')
        unlink(f->path);
    fetch_init(f);
}
