/*
 * The s3 storage driver of the module: configuration, presigned PUT URLs,
 * and the HEAD check behind confirm.
 *
 * With s3 the client's PUT goes to the object store, not to our receiver,
 * so nothing has recorded the upload when confirm arrives.  Before a
 * confirm runs, its pool thread HEADs each object named by it (SigV4
 * header-signed, libcurl, short timeouts) and records the ones that exist
 * with their stored size and type, exactly as the local PUT receiver
 * would; the SQL of confirm is then the same for both drivers, and a
 * client cannot confirm what it never uploaded.
 */

#include "ngx_http_media_s3.h"

#include <curl/curl.h>


#define NGX_HTTP_MEDIA_S3_URL  4096


typedef struct {
    char    ctype[256];
    off_t   length;
} ngx_http_media_s3_head_t;


static ngx_int_t ngx_http_media_s3_read_credentials(ngx_conf_t *cf,
    ngx_http_media_main_conf_t *mcf, ngx_str_t *id, ngx_str_t *secret);
static size_t ngx_http_media_s3_header(char *line, size_t size, size_t n,
    void *data);
static ngx_int_t ngx_http_media_s3_head(ngx_http_media_pg_query_t *q,
    const char *key, ngx_http_media_s3_head_t *head, ngx_log_t *log);
static void ngx_http_media_s3_cleanup(void *data);


static __thread media_sigv4_t  *ngx_http_media_s3_thread_signer;


/* At configuration time: endpoint, credentials, the event loop's signer. */
ngx_int_t
ngx_http_media_s3_init_conf(ngx_conf_t *cf, ngx_http_media_main_conf_t *mcf)
{
    u_char              *p, *host;
    ngx_str_t            id, secret;
    ngx_pool_cleanup_t  *cln;

    if (mcf->s3_endpoint.len == 0 || mcf->s3_bucket.len == 0
        || mcf->s3_region.len == 0 || mcf->s3_credentials.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "media_storage s3 requires "
                           "media_s3_endpoint, media_s3_region, "
                           "media_s3_bucket and media_s3_credentials_file");
        return NGX_ERROR;
    }

    p = mcf->s3_endpoint.data;

    if (ngx_strncmp(p, "http://", 7) == 0) {
        host = p + 7;
        mcf->s3.scheme = "http";

    } else if (ngx_strncmp(p, "https://", 8) == 0) {
        host = p + 8;
        mcf->s3.scheme = "https";

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "media_s3_endpoint \"%V\" "
                           "must be an http:// or https:// URL",
                           &mcf->s3_endpoint);
        return NGX_ERROR;
    }

    if (ngx_http_media_s3_read_credentials(cf, mcf, &id, &secret) != NGX_OK) {
        return NGX_ERROR;
    }

    /* conf strings are NUL-terminated by the parser */
    mcf->s3.endpoint = (char *) host;
    mcf->s3.region = (char *) mcf->s3_region.data;
    mcf->s3.bucket = (char *) mcf->s3_bucket.data;
    mcf->s3.path_style = (int) mcf->s3_path_style;
    mcf->s3.access_key_id = (char *) id.data;
    mcf->s3.secret_access_key = (char *) secret.data;

    mcf->s3_signer = media_sigv4_new(&mcf->s3);
    if (mcf->s3_signer == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid media_s3_* "
                           "settings (endpoint, region, bucket or key id)");
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_media_s3_cleanup;
    cln->data = mcf->s3_signer;

    return NGX_OK;
}


/* Two lines: the access key id, then the secret access key. */
static ngx_int_t
ngx_http_media_s3_read_credentials(ngx_conf_t *cf,
    ngx_http_media_main_conf_t *mcf, ngx_str_t *id, ngx_str_t *secret)
{
    u_char     *p, *last;
    ngx_str_t   text;

    if (ngx_http_media_read_conf_file(cf, &mcf->s3_credentials, 3, 4095,
                                      &text)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    last = text.data + text.len;

    id->data = text.data;
    p = ngx_strlchr(text.data, last, '\n');
    if (p == NULL) {
        goto invalid;
    }

    id->len = p - id->data;
    *p++ = '\0';

    if (id->len && id->data[id->len - 1] == '\r') {
        id->data[--id->len] = '\0';
    }

    secret->data = p;
    while (p < last && *p != '\n' && *p != '\r') {
        p++;
    }

    *p = '\0';
    secret->len = p - secret->data;

    if (id->len > 0 && secret->len > 0) {
        return NGX_OK;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "media_s3_credentials_file "
                       "\"%V\" must hold the access key id and the secret "
                       "on two lines", &mcf->s3_credentials);
    return NGX_ERROR;
}


static void
ngx_http_media_s3_cleanup(void *data)
{
    media_sigv4_free(data);
}


/* A presigned PUT: content-type and content-length are signed headers. */
ngx_int_t
ngx_http_media_s3_presign(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *ctype, off_t size, time_t ttl, ngx_str_t *url)
{
    size_t                       cap;
    ssize_t                      n;
    media_sigv4_request_t        req;
    ngx_http_media_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    ngx_memzero(&req, sizeof(req));
    req.method = "PUT";
    req.key = (char *) key->data;
    req.key_len = key->len;
    req.content_type = (char *) ctype->data;
    req.content_type_len = ctype->len;
    req.content_length = size;
    req.expires = (unsigned) ngx_min(ttl, MEDIA_SIGV4_MAX_EXPIRES);
    req.now = ngx_time();

    cap = media_sigv4_url_size(mcf->s3_signer, key->len);

    url->data = ngx_pnalloc(r->pool, cap);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    n = media_sigv4_presign(mcf->s3_signer, &req, (char *) url->data, cap);
    if (n < 0) {
        return NGX_ERROR;
    }

    url->len = n;

    return NGX_OK;
}


/*
 * Runs on a pool thread before the confirm query: records each object of
 * q->heads that the store has.  Objects it does not have stay unrecorded,
 * and confirm reports them as not uploaded.
 */
ngx_int_t
ngx_http_media_s3_record(ngx_http_media_pg_query_t *q, PGconn *conn,
    ngx_log_t *log)
{
    char                       size[NGX_OFF_T_LEN + 1];
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    const char                *params[4];
    PGresult                  *res;
    ngx_http_media_s3_head_t   head;

    static const char  sql[] =
        "SELECT media_upload_received($1::bigint, $2, $3, $4::bigint)";

    for (i = 0; i < q->nheads; i++) {
        rc = ngx_http_media_s3_head(q, q->heads[i], &head, log);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        *ngx_sprintf((u_char *) size, "%O", head.length) = '\0';
        params[0] = q->tenant;
        params[1] = q->heads[i];
        params[2] = head.ctype;
        params[3] = size;

        res = PQexecParams(conn, sql, 4, NULL, params, NULL, NULL, 0);
        rc = (PQresultStatus(res) == PGRES_TUPLES_OK) ? NGX_OK : NGX_ERROR;

        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, log, 0, "media: recording \"%s\": %s",
                          q->heads[i], PQresultErrorMessage(res));
        }

        PQclear(res);

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* NGX_OK: exists (head filled); NGX_DECLINED: 404; NGX_ERROR: store error */
static ngx_int_t
ngx_http_media_s3_head(ngx_http_media_pg_query_t *q, const char *key,
    ngx_http_media_s3_head_t *head, ngx_log_t *log)
{
    char                    url[NGX_HTTP_MEDIA_S3_URL], date[64];
    char                    auth[MEDIA_SIGV4_AUTH_LEN + 32];
    long                    status;
    CURL                   *curl;
    CURLcode                cc;
    ngx_int_t               rc;
    struct curl_slist      *headers;
    media_sigv4_auth_t      sig;
    media_sigv4_request_t   req;

    if (ngx_http_media_s3_thread_signer == NULL) {
        ngx_http_media_s3_thread_signer = media_sigv4_new(&q->mcf->s3);
        if (ngx_http_media_s3_thread_signer == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_memzero(&req, sizeof(req));
    req.method = "HEAD";
    req.key = key;
    req.key_len = ngx_strlen(key);
    req.content_length = -1;
    req.expires = 60;
    req.now = time(NULL);

    if (media_sigv4_authorize(ngx_http_media_s3_thread_signer, &req, url,
                              sizeof(url), &sig) < 0)
    {
        return NGX_ERROR;
    }

    ngx_memzero(head, sizeof(*head));
    head->length = -1;

    curl = curl_easy_init();
    if (curl == NULL) {
        return NGX_ERROR;
    }

    ngx_snprintf((u_char *) date, sizeof(date), "x-amz-date: %s%Z",
                 sig.amz_date);
    ngx_snprintf((u_char *) auth, sizeof(auth), "Authorization: %s%Z",
                 sig.authorization);

    headers = curl_slist_append(NULL, auth);
    headers = curl_slist_append(headers, date);
    headers = curl_slist_append(headers, "x-amz-content-sha256: "
                                MEDIA_SIGV4_EMPTY_SHA256);

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ngx_http_media_s3_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, head);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");

    cc = curl_easy_perform(curl);
    status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    if (cc != CURLE_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "media: HEAD \"%s\": %s", key,
                      curl_easy_strerror(cc));
        rc = NGX_ERROR;

    } else if (status == 200 && head->length >= 0 && head->ctype[0]) {
        rc = NGX_OK;

    } else if (status == 404 || status == 403) {
        rc = NGX_DECLINED;

    } else {
        ngx_log_error(NGX_LOG_ERR, log, 0, "media: HEAD \"%s\": status %l",
                      key, status);
        rc = NGX_ERROR;
    }

    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);

    return rc;
}


/* Content-Length and Content-Type of a HEAD answer. */
static size_t
ngx_http_media_s3_header(char *line, size_t size, size_t n, void *data)
{
    ngx_http_media_s3_head_t *head = data;

    u_char  *p, *last;
    size_t   len;

    len = size * n;
    p = (u_char *) line;
    last = p + len;

    while (last > p && (last[-1] == '\r' || last[-1] == '\n')) {
        last--;
    }

    if (last - p > 15 && ngx_strncasecmp(p, (u_char *) "content-length:", 15)
                         == 0)
    {
        p += 15;
        while (p < last && *p == ' ') {
            p++;
        }

        head->length = ngx_atoof(p, last - p);

    } else if (last - p > 13
               && ngx_strncasecmp(p, (u_char *) "content-type:", 13) == 0)
    {
        p += 13;
        while (p < last && *p == ' ') {
            p++;
        }

        if ((size_t) (last - p) < sizeof(head->ctype)) {
            ngx_memcpy(head->ctype, p, last - p);
            head->ctype[last - p] = '\0';
        }
    }

    return len;
}
