/*
 * s3.c: GET, PUT, HEAD and DELETE of objects in an S3-compatible bucket,
 * one libcurl easy handle per request (a job thread has nothing else to do
 * meanwhile).  Settings and credentials are read once by s3_setup, before
 * any thread starts, and only read afterwards.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "s3.h"
#include "storage.h"

#define S3_URL_MAX 4096

static struct {
    char  base[1024];       /* scheme://host[:port]/bucket or scheme://bucket.host[:port] */
    char  sigv4[300];       /* "aws:amz:<region>:s3" */
    char *userpwd;          /* "<key id>:<secret>" */
} s3;

/* One request's state. */
struct xfer {
    CURL        *curl;
    int          fd;            /* GET: into; PUT: from (or -1) */
    const char  *data;          /* PUT from memory */
    int64_t      len, off;      /* PUT: body length, bytes sent */
    int64_t      got, limit;    /* GET */
    bool         too_large;
    int          write_errno;
};

static int
read_credentials(const char *path, char *err, size_t errlen)
{
    char buf[2048], *nl, *secret, *end;
    size_t n;
    FILE *f;

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "s3_credentials_file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    nl = strchr(buf, '\n');
    if (nl != NULL) {
        *nl = '\0';
        if (nl > buf && nl[-1] == '\r')
            nl[-1] = '\0';
        secret = nl + 1;
        end = secret + strcspn(secret, "\r\n");
        *end = '\0';
    }
    if (nl == NULL || buf[0] == '\0' || *secret == '\0'
        || strchr(buf, ':') != NULL) {
        snprintf(err, errlen, "s3_credentials_file %s must hold the access "
                 "key id and the secret on two lines", path);
        return -1;
    }
    s3.userpwd = malloc(strlen(buf) + strlen(secret) + 2);
    if (s3.userpwd == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sprintf(s3.userpwd, "%s:%s", buf, secret);
    memset(buf, 0, sizeof(buf));
    return 0;
}

int
s3_setup(const struct config *cfg, char *err, size_t errlen)
{
    const char *ep = cfg->s3_endpoint, *host;
    size_t scheme_len, host_len;
    int n;

    host = strstr(ep, "://") + 3;       /* checked by config.c */
    scheme_len = (size_t) (host - ep);
    host_len = strlen(host);
    while (host_len > 0 && host[host_len - 1] == '/')
        host_len--;
    if (strcmp(cfg->s3_path_style, "on") == 0)
        n = snprintf(s3.base, sizeof(s3.base), "%.*s%.*s/%s",
                     (int) scheme_len, ep, (int) host_len, host,
                     cfg->s3_bucket);
    else
        n = snprintf(s3.base, sizeof(s3.base), "%.*s%s.%.*s",
                     (int) scheme_len, ep, cfg->s3_bucket, (int) host_len,
                     host);
    if (n < 0 || (size_t) n >= sizeof(s3.base)
        || strpbrk(cfg->s3_bucket, "/?#") != NULL) {
        snprintf(err, errlen, "s3_endpoint or s3_bucket is not valid");
        return -1;
    }
    n = snprintf(s3.sigv4, sizeof(s3.sigv4), "aws:amz:%s:s3",
                 cfg->s3_region);
    if (n < 0 || (size_t) n >= sizeof(s3.sigv4)
        || strchr(cfg->s3_region, ':') != NULL) {
        snprintf(err, errlen, "s3_region is not valid");
        return -1;
    }
    return read_credentials(cfg->s3_credentials_file, err, errlen);
}

void
s3_shutdown(void)
{
    if (s3.userpwd != NULL) {
        memset(s3.userpwd, 0, strlen(s3.userpwd));
        free(s3.userpwd);
        s3.userpwd = NULL;
    }
}

/* in appended at out + n, every byte but unreserved ones (and '/' when
 * keep_slash) escaped, as SigV4 canonicalizes paths and queries: libcurl
 * signs what it is given.  0, or -1 when it does not fit. */
static int
uri_escape(const char *in, bool keep_slash, char *out, size_t n,
           size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *k;

    for (k = (const unsigned char *) in; *k != '\0'; k++) {
        if (n + 4 >= outlen)
            return -1;
        if ((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z')
            || (*k >= '0' && *k <= '9') || *k == '-' || *k == '.'
            || *k == '_' || *k == '~' || (*k == '/' && keep_slash)) {
            out[n++] = (char) *k;
        } else {
            out[n++] = '%';
            out[n++] = hex[*k >> 4];
            out[n++] = hex[*k & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

/* base + "/" + the key, escaped. */
int
s3_url(const char *key, char *out, size_t outlen)
{
    size_t n = strlen(s3.base);

    if (n + 2 >= outlen)
        return -1;
    memcpy(out, s3.base, n);
    out[n++] = '/';
    return uri_escape(key, true, out, n, outlen);
}

static size_t
on_get_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * nmemb;
    long status = 0;

    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)   /* an error answer's body */
        return len;
    if (x->got + (int64_t) len > x->limit) {
        x->too_large = true;
        return 0;
    }
    if (storage_write_all(x->fd, data, len) != 0) {
        x->write_errno = errno;
        return 0;
    }
    x->got += (int64_t) len;
    return len;
}

static size_t
on_discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void) data, (void) arg;
    return size * nmemb;
}

static size_t
on_put_data(char *buf, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t want = size * nmemb;
    ssize_t r;

    if ((int64_t) want > x->len - x->off)
        want = (size_t) (x->len - x->off);
    if (want == 0)
        return 0;
    if (x->fd < 0) {
        memcpy(buf, x->data + x->off, want);
        x->off += (int64_t) want;
        return want;
    }
    do
        r = pread(x->fd, buf, want, (off_t) x->off);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        x->write_errno = r < 0 ? errno : EIO;
        return CURL_READFUNC_ABORT;
    }
    x->off += r;
    return (size_t) r;
}

/* Before each attempt: a GET starts its file again, a PUT its body. */
static int
rewind_xfer(struct xfer *x, bool get)
{
    x->off = 0;
    x->got = 0;
    x->too_large = false;
    x->write_errno = 0;
    if (get && x->fd >= 0
        && (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0))
        return -1;
    return 0;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* errno for an attempt's outcome: 0, or EAGAIN when worth another try. */
static int
outcome(CURLcode rc, long status, const struct xfer *x, bool missing_ok)
{
    if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return EFBIG;
    if (x->write_errno != 0)
        return x->write_errno;
    if (rc != CURLE_OK)
        return EAGAIN;
    if (status >= 200 && status <= 299)
        return 0;
    if (status == 404)
        return missing_ok ? 0 : ENOENT;
    if (status >= 500 || status == 408 || status == 429)
        return EAGAIN;
    if (status == 401 || status == 403)
        return EACCES;
    return EIO;
}

/*
 * One request, tried up to store_retries times.  method: GET, PUT, HEAD,
 * DELETE.  HEAD fills *size from Content-Length.
 */
static int
perform(const struct config *cfg, const char *method, const char *key,
        const char *query, struct xfer *x, const char *content_type,
        int64_t *size)
{
    char url[S3_URL_MAX], ctype[300], errbuf[CURL_ERROR_SIZE];
    bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0;
    bool head = strcmp(method, "HEAD") == 0;
    struct curl_slist *h = NULL, *l;
    curl_off_t cl = -1;
    long status = 0, pause = 250;
    CURLcode rc = CURLE_OK;
    int attempt, e = EIO;
    CURL *c;

    if (s3_url(key, url, sizeof(url)) != 0
        || (query != NULL
            && strlen(url) + 1 + strlen(query) >= sizeof(url))) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (query != NULL)
        strcat(strcat(url, "?"), query);
    h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (h != NULL && put) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s",
                 content_type ? content_type : "application/octet-stream");
        /* no "Expect: 100-continue" round trip before large bodies */
        if ((l = curl_slist_append(h, ctype)) == NULL
            || (l = curl_slist_append(h, "Expect:")) == NULL) {
            curl_slist_free_all(h);
            h = NULL;
        }
    }
    c = curl_easy_init();
    if (h == NULL || c == NULL) {
        curl_slist_free_all(h);
        if (c != NULL)
            curl_easy_cleanup(c);
        errno = ENOMEM;
        return -1;
    }
    for (attempt = 1; attempt <= cfg->store_retries; attempt++) {
        if (rewind_xfer(x, get) != 0) {
            e = errno;
            break;
        }
        curl_easy_reset(c);
        x->curl = c;
        errbuf[0] = '\0';
        if (curl_easy_setopt(c, CURLOPT_URL, url)
            | curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")
            | curl_easy_setopt(c, CURLOPT_PROXY, "")
            | curl_easy_setopt(c, CURLOPT_NOPROXY, "*")
            | curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)
            | curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3.sigv4)
            | curl_easy_setopt(c, CURLOPT_USERPWD, s3.userpwd)
            | curl_easy_setopt(c, CURLOPT_HTTPHEADER, h)
            | curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf)
            | curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                               (long) cfg->import_connect_timeout)
            | curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) cfg->import_timeout)
            | curl_easy_setopt(c, CURLOPT_WRITEFUNCTION,
                               get ? on_get_data : on_discard)
            | curl_easy_setopt(c, CURLOPT_WRITEDATA, x)) {
            e = EIO;
            break;
        }
        if (put)
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L),
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_put_data),
            curl_easy_setopt(c, CURLOPT_READDATA, x),
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t) x->len);
        else if (head)
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        else if (!get)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (get)
            curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                             (curl_off_t) x->limit);
        rc = curl_easy_perform(c);
        status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        e = outcome(rc, status, x, !get && !put && !head);
        if (e == 0 && head)
            curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        if (e != EAGAIN)
            break;
        log_info("s3: %s %s: %s (attempt %d of %lld)", method, key,
                 rc != CURLE_OK ? (errbuf[0] ? errbuf : curl_easy_strerror(rc))
                                : "server error",
                 attempt, (long long) cfg->store_retries);
        if (attempt < cfg->store_retries) {
            sleep_ms(pause);
            pause *= 2;
        }
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (e != 0) {
        if (e != ENOENT)
            log_warn("s3: %s %s: %s (HTTP %ld)", method, key,
                     rc != CURLE_OK ? curl_easy_strerror(rc) : strerror(e),
                     status);
        errno = e;
        return -1;
    }
    if (head) {
        if (cl < 0) {
            errno = EIO;
            return -1;
        }
        *size = (int64_t) cl;
    }
    return 0;
}

int
s3_get(const struct config *cfg, const char *key, int fd, int64_t limit)
{
    struct xfer x = { .fd = fd, .limit = limit };

    return perform(cfg, "GET", key, NULL, &x, NULL, NULL);
}

int
s3_put(const struct config *cfg, const char *key, int fd, const void *data,
       int64_t len, const char *content_type)
{
    struct xfer x = { .fd = fd, .data = data, .len = len };

    return perform(cfg, "PUT", key, NULL, &x, content_type, NULL);
}

int
s3_head(const struct config *cfg, const char *key, int64_t *size)
{
    struct xfer x = { .fd = -1 };

    return perform(cfg, "HEAD", key, NULL, &x, NULL, size);
}

int
s3_delete(const struct config *cfg, const char *key)
{
    struct xfer x = { .fd = -1 };

    return perform(cfg, "DELETE", key, NULL, &x, NULL, NULL);
}

/* A listing page holds 1,000 objects at most, far under this. */
#define LIST_MAX (16 * 1024 * 1024)

/* XML text from a to b, entities decoded, into out.  0, or -1 (too long,
 * or an entity we do not expect in a key). */
static int
xml_decode(const char *a, const char *b, char *out, size_t outlen)
{
    static const struct { const char *name; char c; } ents[] = {
        { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
        { "&quot;", '"' }, { "&apos;", '\'' },
    };
    size_t n = 0, i, len;
    char c;

    while (a < b) {
        c = *a;
        if (c == '&') {
            for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
                len = strlen(ents[i].name);
                if ((size_t) (b - a) >= len
                    && memcmp(a, ents[i].name, len) == 0)
                    break;
            }
            if (i == sizeof(ents) / sizeof(ents[0]))
                return -1;
            c = ents[i].c;
            a += len;
        } else
            a++;
        if (n + 1 >= outlen)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

/* The text of the first <tag> in [p, end) into out; the position after
 * its end tag, or NULL. */
static const char *
xml_text(const char *p, const char *end, const char *tag, char *out,
         size_t outlen)
{
    char open[48], close[48];
    const char *a, *b;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    a = memmem(p, (size_t) (end - p), open, strlen(open));
    if (a == NULL)
        return NULL;
    a += strlen(open);
    b = memmem(a, (size_t) (end - a), close, strlen(close));
    if (b == NULL || xml_decode(a, b, out, outlen) != 0)
        return NULL;
    return b + strlen(close);
}

/* "2026-11-23T04:59:14.000Z" in seconds since the epoch, or -1. */
static time_t
iso8601(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

/* Each <Contents> of a listing to each(); the key to list after (the
 * page's last), or "" after the last page, into marker. */
static int
list_parse(const char *body, size_t len, char *marker, size_t marker_len,
           void (*each)(const char *key, time_t modified, void *arg),
           void *arg)
{
    const char *p = body, *end = body + len, *c, *ce;
    char key[1100], when[64], flag[8];
    time_t t;

    marker[0] = '\0';
    while ((c = memmem(p, (size_t) (end - p), "<Contents>", 10)) != NULL
           && (ce = memmem(c, (size_t) (end - c), "</Contents>", 11))
              != NULL) {
        if (xml_text(c, ce, "Key", key, sizeof(key)) != NULL
            && strlen(key) < marker_len) {
            strcpy(marker, key);
            if (xml_text(c, ce, "LastModified", when, sizeof(when)) != NULL
                && (t = iso8601(when)) >= 0)
                each(key, t, arg);
        }
        p = ce + 11;
    }
    if (xml_text(body, end, "IsTruncated", flag, sizeof(flag)) == NULL
        || strcmp(flag, "true") != 0) {
        marker[0] = '\0';
        return 0;
    }
    /* truncated with no key read would list the same page forever */
    return marker[0] != '\0' ? 0 : -1;
}

/*
 * ListObjects (version 1) paged with marker, the last key of the page
 * before: every S3-compatible store has it, while version 2's
 * continuation tokens are what s3rver cannot make on this machine's
 * OpenSSL 3 (DES), so they could not be tested here.
 */
int
s3_list(const struct config *cfg, char *marker, size_t marker_len,
        void (*each)(const char *key, time_t modified, void *arg), void *arg)
{
    char query[4096];
    struct xfer x = { .fd = -1, .limit = LIST_MAX };
    char *body = NULL;
    int rc = -1;

    /* parameters in the canonical (sorted) order SigV4 signs */
    query[0] = '\0';
    if (marker[0] != '\0') {
        strcpy(query, "marker=");
        if (uri_escape(marker, false, query, strlen(query),
                       sizeof(query) - 32) != 0)
            return -1;
        strcat(query, "&");
    }
    strcat(query, "max-keys=1000");
    x.fd = memfd_create("s3-list", MFD_CLOEXEC);
    if (x.fd < 0)
        return -1;
    if (perform(cfg, "GET", "", query, &x, NULL, NULL) == 0
        && (body = malloc((size_t) x.got + 1)) != NULL
        && pread(x.fd, body, (size_t) x.got, 0) == (ssize_t) x.got)
        rc = list_parse(body, (size_t) x.got, marker, marker_len, each,
                        arg);
    free(body);
    close(x.fd);
    return rc;
}
