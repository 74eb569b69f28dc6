/*
 * The signed PUT receiver of the local store.
 *
 * Everything the URL promises is checked before a byte of the body is
 * read: signature, expiry, Content-Type, and a Content-Length no larger
 * than the signed size.  nginx writes the body to a temporary file in the
 * store's own .tmp directory; only a complete body is renamed into place,
 * so a partial upload is never visible, and the temporary file of an
 * aborted one is removed with the request's pool.  The object is then
 * recorded in the database, which is what confirm-upload looks for.
 */

#include "ngx_http_media_upload.h"
#include "ngx_http_media_json.h"
#include "ngx_http_media_pg.h"
#include "ngx_http_media_sign.h"


typedef struct {
    ngx_http_media_signed_t   s;
    int64_t                   tenant_id;
    ngx_str_t                 path;
    off_t                     received;
} ngx_http_media_upload_ctx_t;


static ngx_int_t ngx_http_media_upload_reject(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *code);
static ngx_int_t ngx_http_media_upload_check(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx);
static ngx_int_t ngx_http_media_upload_key(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx);
static void ngx_http_media_upload_body_ready(ngx_http_request_t *r);
static ngx_int_t ngx_http_media_upload_store(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx);
static ngx_int_t ngx_http_media_upload_record(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx);
static void ngx_http_media_upload_recorded(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);


static const char  ngx_http_media_upload_sql[] =
    "SELECT media_upload_received($1::bigint, $2, $3, $4::bigint)";


ngx_int_t
ngx_http_media_upload_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_media_upload_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_media_upload_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_media_module);

    rc = ngx_http_media_upload_check(r, ctx);
    if (rc != NGX_OK) {
        return ngx_http_media_rc(rc);
    }

    r->request_body_in_file_only = 1;
    r->request_body_in_persistent_file = 1;
    r->request_body_in_clean_file = 1;
    r->request_body_file_group_access = 1;
    r->request_body_file_log_level = 0;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_media_upload_body_ready);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * A refused upload: its body is discarded (not stored, not even in a
 * temporary file) before the error is sent.
 */
static ngx_int_t
ngx_http_media_upload_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *code)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    return ngx_http_media_send_error(r, status, error, code);
}


/* Returns NGX_OK or the result of sending the error. */
static ngx_int_t
ngx_http_media_upload_check(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx)
{
    ngx_int_t          rc;
    ngx_str_t         *ct;

    if (r->method != NGX_HTTP_PUT) {
        return ngx_http_media_upload_reject(r, NGX_HTTP_NOT_ALLOWED,
                                         "Method not allowed",
                                         "METHOD_NOT_ALLOWED");
    }

    rc = ngx_http_media_upload_key(r, ctx);
    if (rc == NGX_OK) {
        rc = ngx_http_media_check_upload_url(r, &ctx->s);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_media_upload_reject(r, NGX_HTTP_FORBIDDEN,
                                         "Invalid signature",
                                         "INVALID_SIGNATURE");
    }

    if (rc == NGX_ABORT) {
        return ngx_http_media_upload_reject(r, NGX_HTTP_FORBIDDEN,
                                         "Upload URL expired",
                                         "UPLOAD_URL_EXPIRED");
    }

    ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                    : NULL;

    if (ct == NULL || ct->len != ctx->s.ctype.len
        || ngx_strncasecmp(ct->data, ctx->s.ctype.data, ct->len) != 0)
    {
        return ngx_http_media_upload_reject(r, NGX_HTTP_BAD_REQUEST,
                                         "Invalid content type",
                                         "INVALID_CONTENT_TYPE");
    }

    if (r->headers_in.content_length_n < 0) {
        return ngx_http_media_upload_reject(r, NGX_HTTP_LENGTH_REQUIRED,
                                         "Content-Length is required",
                                         "LENGTH_REQUIRED");
    }

    if (r->headers_in.content_length_n == 0) {
        return ngx_http_media_upload_reject(r, NGX_HTTP_BAD_REQUEST,
                                         "Empty file", "EMPTY_FILE");
    }

    if (r->headers_in.content_length_n > ctx->s.size) {
        return ngx_http_media_upload_reject(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "File too large", "FILE_TOO_LARGE");
    }

    return NGX_OK;
}


/*
 * The object key is the URI below the location: "<tenant>/<name>"
 * (Rentix) or "images/<tenant>/<property>/<name>" (Rentalot), where name
 * has only the characters the presign steps produce.  Anything else
 * cannot have been signed.
 */
static ngx_int_t
ngx_http_media_upload_key(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx)
{
    u_char                      *p, *last, *start;
    ngx_uint_t                   ids;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_media_main_conf_t  *mcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    if (r->uri.len <= clcf->name.len
        || ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) != 0)
    {
        return NGX_DECLINED;
    }

    p = r->uri.data + clcf->name.len;
    last = r->uri.data + r->uri.len;
    ctx->s.key.data = p;

    ids = 1;
    if (last - p > 7 && ngx_strncmp(p, "images/", 7) == 0) {
        p += 7;
        ids = 2;
    }

    /* the tenant, and for images the property: digits, then "/" */
    while (ids--) {
        start = p;
        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        if (p == start || p - start > 18 || p == last || *p != '/') {
            return NGX_DECLINED;
        }

        if (start == ctx->s.key.data || start == ctx->s.key.data + 7) {
            ctx->tenant_id = ngx_atoof(start, p - start);
        }

        p++;
    }

    if (ctx->tenant_id <= 0 || p == last || *p == '.') {
        return NGX_DECLINED;
    }

    for ( /* void */ ; p < last; p++) {
        if (!(ngx_http_media_isalnum(*p) || *p == '.' || *p == '_'
              || *p == '-'))
        {
            return NGX_DECLINED;
        }
    }

    ctx->s.key.len = last - ctx->s.key.data;

    ctx->path.len = mcf->store_root.len + 1 + ctx->s.key.len;
    ctx->path.data = ngx_pnalloc(r->pool, ctx->path.len + 1);
    if (ctx->path.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->path.data, "%V/%V%Z", &mcf->store_root, &ctx->s.key);

    return NGX_OK;
}


static void
ngx_http_media_upload_body_ready(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_media_upload_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);

    rc = ngx_http_media_upload_store(r, ctx);
    if (rc == NGX_OK) {
        rc = ngx_http_media_upload_record(r, ctx);
    }

    if (rc != NGX_DONE) {
        ngx_http_media_finalize(r, rc);
    }
}


/* Renames the complete temporary file into place. */
static ngx_int_t
ngx_http_media_upload_store(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx)
{
    ngx_err_t     err;
    ngx_temp_file_t  *tf;

    tf = r->request_body ? r->request_body->temp_file : NULL;

    if (tf == NULL || tf->file.offset != r->headers_in.content_length_n) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "media: upload body of \"%V\" incomplete", &ctx->s.key);
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx->received = tf->file.offset;

    if (ngx_change_file_access(tf->file.name.data, 0644) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_change_file_access_n " \"%V\" failed",
                      &tf->file.name);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_rename_file(tf->file.name.data, ctx->path.data) != NGX_FILE_ERROR) {
        return NGX_OK;
    }

    err = ngx_errno;

    if (err == NGX_ENOPATH) {
        /* the directories of a tenant or property, made on first use */
        if (ngx_create_full_path(ctx->path.data, 0755) != 0) {
            err = ngx_errno;
            goto failed;
        }

        if (ngx_rename_file(tf->file.name.data, ctx->path.data)
            != NGX_FILE_ERROR)
        {
            return NGX_OK;
        }

        err = ngx_errno;
    }

failed:

    ngx_log_error(NGX_LOG_CRIT, r->connection->log, err,
                  ngx_rename_file_n " \"%V\" to \"%V\" failed",
                  &tf->file.name, &ctx->path);

    return ngx_http_media_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "Storage error", "STORAGE_ERROR");
}


static ngx_int_t
ngx_http_media_upload_record(ngx_http_request_t *r,
    ngx_http_media_upload_ctx_t *ctx)
{
    u_char                     *tenant, *key, *ctype, *size;
    ngx_http_media_pg_query_t  *q;

    q = ngx_http_media_pg_query(r, ngx_http_media_upload_sql,
                                ngx_http_media_upload_recorded);
    tenant = ngx_pnalloc(r->pool, 2 * (NGX_OFF_T_LEN + 1));
    key = ngx_pnalloc(r->pool, ctx->s.key.len + 1);
    ctype = ngx_pnalloc(r->pool, ctx->s.ctype.len + 1);

    if (q == NULL || tenant == NULL || key == NULL || ctype == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = ngx_sprintf(tenant, "%L%Z", ctx->tenant_id);
    *ngx_sprintf(size, "%O", ctx->received) = '\0';
    *ngx_cpymem(key, ctx->s.key.data, ctx->s.key.len) = '\0';
    *ngx_cpymem(ctype, ctx->s.ctype.data, ctx->s.ctype.len) = '\0';

    q->nparams = 4;
    q->params[0] = (char *) tenant;
    q->params[1] = (char *) key;
    q->params[2] = (char *) ctype;
    q->params[3] = (char *) size;

    if (ngx_http_media_pg_run(r, q) != NGX_OK) {
        ngx_http_media_upload_recorded(r, q);
    }

    return NGX_DONE;
}


/*
 * An upload the database does not know about could never be confirmed:
 * remove it again, and the client's retry of the PUT starts clean.
 */
static void
ngx_http_media_upload_recorded(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q)
{
    json_t                       *res;
    ngx_int_t                     rc;
    ngx_http_media_upload_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);

    if (q->status != NGX_HTTP_MEDIA_PG_OK) {
        if (ngx_delete_file(ctx->path.data) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                          ngx_delete_file_n " \"%V\" failed", &ctx->path);
        }

        ngx_http_media_finalize(r, ngx_http_media_pg_send_failure(r, q));
        return;
    }

    res = json_pack("{s:b, s:s%, s:I}", "uploaded", 1,
                    "key", ctx->s.key.data, ctx->s.key.len,
                    "size", (json_int_t) ctx->received);

    if (res == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_http_media_send_json(r, NGX_HTTP_OK, res);
        json_decref(res);
    }

    ngx_http_media_finalize(r, rc);
}
