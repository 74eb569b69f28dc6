/*
 * The API location.
 *
 * A request goes: route (404 / 405 before anything is read), body read
 * into memory, key checked (cache or query), then the route's operation,
 * which validates its input and makes one SQL function call whose JSON
 * result is the response.
 */

#include "ngx_http_media_api.h"
#include "ngx_http_media_auth.h"
#include "ngx_http_media_json.h"
#include "ngx_http_media_pg.h"


typedef struct {
    ngx_uint_t               method;
    ngx_str_t                path;     /* ":" marks a captured segment */
    ngx_http_media_step_pt   step;
} ngx_http_media_route_t;


static ngx_int_t ngx_http_media_api_route(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
static ngx_int_t ngx_http_media_api_decode_args(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
static ngx_uint_t ngx_http_media_api_utf8(ngx_str_t *s);
static ngx_int_t ngx_http_media_api_match(ngx_str_t *path, ngx_str_t *uri,
    ngx_str_t *args);
static void ngx_http_media_api_body_ready(ngx_http_request_t *r);
static void ngx_http_media_api_done(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);
static ngx_int_t ngx_http_media_api_vquery(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, const char *sql,
    ngx_http_media_pg_done_pt done, ngx_uint_t nparams, va_list args);
static ngx_int_t ngx_http_media_api_idempotency(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);


/* literal paths first: a literal match decides before any pattern */
static ngx_http_media_route_t  ngx_http_media_routes[] = {

    { NGX_HTTP_POST, ngx_string("/api/v1/media/request-upload-url"),
      ngx_http_media_rentix_presign },

    { NGX_HTTP_POST, ngx_string("/api/v1/media/bulk"),
      ngx_http_media_rentix_bulk },

    { NGX_HTTP_POST, ngx_string("/api/v1/media/upload-from-url"),
      ngx_http_media_rentix_import },

    { NGX_HTTP_PUT, ngx_string("/api/v1/listings"),
      ngx_http_media_listing_put },

    { NGX_HTTP_POST, ngx_string("/api/v1/properties"),
      ngx_http_media_property_create },

    { NGX_HTTP_GET|NGX_HTTP_DELETE, ngx_string("/api/v1/media/external/:"),
      ngx_http_media_rentix_external_op },

    { NGX_HTTP_GET, ngx_string("/api/v1/media/:"),
      ngx_http_media_rentix_get },

    { NGX_HTTP_DELETE, ngx_string("/api/v1/media/:"),
      ngx_http_media_rentix_delete },

    { NGX_HTTP_POST|NGX_HTTP_DELETE, ngx_string("/api/v1/media/:/link"),
      ngx_http_media_rentix_link },

    { NGX_HTTP_GET, ngx_string("/api/v1/properties/:"),
      ngx_http_media_property_get },

    { NGX_HTTP_GET, ngx_string("/api/v1/properties/:/images"),
      ngx_http_media_property_get },

    { NGX_HTTP_DELETE, ngx_string("/api/v1/properties/:/images"),
      ngx_http_media_images_delete },

    { NGX_HTTP_POST, ngx_string("/api/v1/properties/:/images/presign"),
      ngx_http_media_images_presign },

    { NGX_HTTP_POST, ngx_string("/api/v1/properties/:/images/presign-batch"),
      ngx_http_media_images_presign },

    { NGX_HTTP_POST, ngx_string("/api/v1/properties/:/images/confirm"),
      ngx_http_media_images_confirm },

    { NGX_HTTP_POST, ngx_string("/api/v1/properties/:/images/confirm-batch"),
      ngx_http_media_images_confirm },

    { NGX_HTTP_POST, ngx_string("/api/v1/properties/:/images/import"),
      ngx_http_media_images_import },

    { NGX_HTTP_GET, ngx_string("/api/v1/properties/:/images/import/:"),
      ngx_http_media_import_poll },

    { NGX_HTTP_PATCH, ngx_string("/api/v1/properties/:/images/reorder"),
      ngx_http_media_images_reorder },

    { NGX_HTTP_GET, ngx_string("/api/v1/listings/:"),
      ngx_http_media_listing_get },

    { 0, ngx_null_string, NULL }
};


ngx_int_t
ngx_http_media_api_handler(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_http_media_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_media_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_media_module);
    ctx->ok_status = NGX_HTTP_OK;
    ctx->invalid_status = NGX_HTTP_BAD_REQUEST;

    rc = ngx_http_media_api_route(r, ctx);
    if (rc != NGX_OK) {
        return ngx_http_media_rc(rc);
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_media_api_body_ready);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_media_api_route(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char                  *q;
    ngx_int_t                rc;
    ngx_str_t                path;
    ngx_uint_t               path_matched, literal_matched, pattern;
    ngx_http_media_route_t  *route;

    /*
     * Routes match the path as sent, and captured segments are decoded
     * afterwards: an external id may contain "/" (sent as %2F).
     */
    path = r->unparsed_uri;
    q = ngx_strlchr(path.data, path.data + path.len, '?');
    if (q) {
        path.len = q - path.data;
    }

    path_matched = 0;
    literal_matched = 0;

    for (route = ngx_http_media_routes; route->step; route++) {
        pattern = (ngx_strlchr(route->path.data,
                               route->path.data + route->path.len, ':')
                   != NULL);

        /* "/media/bulk" with GET is 405, not "/media/:id" with id "bulk" */
        if (literal_matched && pattern) {
            break;
        }

        if (ngx_http_media_api_match(&route->path, &path, ctx->args)
            != NGX_OK)
        {
            continue;
        }

        path_matched = 1;
        literal_matched = !pattern;

        if (r->method & route->method) {
            ctx->next = route->step;
            return ngx_http_media_api_decode_args(r, ctx);
        }
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (path_matched) {
        return ngx_http_media_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                         "Method not allowed",
                                         "METHOD_NOT_ALLOWED");
    }

    return ngx_http_media_send_error(r, NGX_HTTP_NOT_FOUND, "Not found",
                                     "NOT_FOUND");
}


static ngx_int_t
ngx_http_media_api_decode_args(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    u_char      *dst, *src;
    ngx_uint_t   i;

    for (i = 0; i < NGX_HTTP_MEDIA_MAX_ARGS; i++) {
        if (ctx->args[i].len == 0
            || ngx_strlchr(ctx->args[i].data,
                           ctx->args[i].data + ctx->args[i].len, '%')
               == NULL)
        {
            continue;
        }

        dst = ngx_pnalloc(r->pool, ctx->args[i].len);
        if (dst == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        src = ctx->args[i].data;
        ctx->args[i].data = dst;
        ngx_unescape_uri(&dst, &src, ctx->args[i].len, 0);
        ctx->args[i].len = dst - ctx->args[i].data;

        /* the database takes only valid UTF-8 without NUL */
        if (!ngx_http_media_api_utf8(&ctx->args[i])) {
            if (ngx_http_discard_request_body(r) != NGX_OK) {
                r->keepalive = 0;
            }

            return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                       "Path segment is not valid UTF-8", "INVALID_PATH");
        }
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_media_api_utf8(ngx_str_t *s)
{
    u_char  *p, *last;

    p = s->data;
    last = p + s->len;

    while (p < last) {
        if (*p == '\0') {
            return 0;
        }

        if (*p < 0x80) {
            p++;
            continue;
        }

        if (ngx_utf8_decode(&p, last - p) > 0x10ffff) {
            return 0;
        }
    }

    return 1;
}


/*
 * "/a/:/b/:" matches "/a/x/b/y"; the segments matched by ":" go to
 * args[0], args[1] (at most NGX_HTTP_MEDIA_MAX_ARGS).
 */
static ngx_int_t
ngx_http_media_api_match(ngx_str_t *path, ngx_str_t *uri, ngx_str_t *args)
{
    u_char      *p, *pe, *u, *ue, *start;
    ngx_uint_t   n;

    n = 0;

    p = path->data;
    pe = p + path->len;
    u = uri->data;
    ue = u + uri->len;

    while (p < pe && u < ue) {
        if (*p != ':') {
            if (*p++ != *u++) {
                return NGX_DECLINED;
            }

            continue;
        }

        start = u;
        while (u < ue && *u != '/') {
            u++;
        }

        if (u == start || n == NGX_HTTP_MEDIA_MAX_ARGS) {
            return NGX_DECLINED;
        }

        args[n].data = start;
        args[n].len = u - start;
        n++;
        p++;
    }

    return (p == pe && u == ue) ? NGX_OK : NGX_DECLINED;
}


static void
ngx_http_media_api_body_ready(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_http_media_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);

    rc = ngx_http_media_api_idempotency(r, ctx);

    if (rc == NGX_OK) {
        rc = ngx_http_media_authenticate(r, ctx);
    }

    if (rc == NGX_OK) {
        rc = ctx->next(r, ctx);
    }

    if (rc != NGX_DONE) {
        ngx_http_media_finalize(r, rc);
    }
}


/*
 * Idempotency-Key on a write: remember the key and a hash of the request
 * (method, URI, body), which the database compares with the stored one.
 */
static ngx_int_t
ngx_http_media_api_idempotency(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    u_char            *p, hash[32];
    ngx_uint_t         i;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h;
    ngx_chain_t       *cl;
    media_sha256_t     sha;

    if (!(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH
                       |NGX_HTTP_DELETE)))
    {
        return NGX_OK;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_OK;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Idempotency-Key") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Idempotency-Key",
                               h[i].key.len) == 0)
        {
            break;
        }
    }

    ctx->idem_key = h[i].value;

    for (p = ctx->idem_key.data; p < ctx->idem_key.data + ctx->idem_key.len;
         p++)
    {
        if (*p < 0x21 || *p > 0x7e) {
            break;
        }
    }

    if (ctx->idem_key.len == 0 || ctx->idem_key.len > 255
        || p != ctx->idem_key.data + ctx->idem_key.len)
    {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                   "Idempotency-Key must be 1 to 255 visible ASCII "
                   "characters", "INVALID_IDEMPOTENCY_KEY");
    }

    media_sha256_init(&sha);
    media_sha256_update(&sha, r->method_name.data, r->method_name.len);
    media_sha256_update(&sha, (u_char *) "\n", 1);
    media_sha256_update(&sha, r->unparsed_uri.data, r->unparsed_uri.len);
    media_sha256_update(&sha, (u_char *) "\n", 1);

    if (r->request_body && r->request_body->temp_file == NULL) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            media_sha256_update(&sha, cl->buf->pos,
                                cl->buf->last - cl->buf->pos);
        }
    }

    media_sha256_final(&sha, hash);

    p = ngx_cpymem(ctx->idem_hash, "\\x", 2);
    p = ngx_hex_dump(p, hash, sizeof(hash));
    *p = '\0';

    return NGX_OK;
}


/*
 * Calls "sql" with the given NUL-terminated parameters; its one text
 * result is the response body.  Returns NGX_DONE while the query runs.
 */
ngx_int_t
ngx_http_media_api_call(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    const char *sql, ngx_uint_t nparams, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, nparams);
    rc = ngx_http_media_api_vquery(r, ctx, sql, ngx_http_media_api_done,
                                   nparams, args);
    va_end(args);

    return rc;
}


/* The same, with the caller's own completion handler. */
ngx_int_t
ngx_http_media_api_query(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    const char *sql, ngx_http_media_pg_done_pt done, ngx_uint_t nparams, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, nparams);
    rc = ngx_http_media_api_vquery(r, ctx, sql, done, nparams, args);
    va_end(args);

    return rc;
}


static ngx_int_t
ngx_http_media_api_vquery(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    const char *sql, ngx_http_media_pg_done_pt done, ngx_uint_t nparams,
    va_list args)
{
    ngx_uint_t                  i;
    ngx_http_media_pg_query_t  *q;

    if (nparams > NGX_HTTP_MEDIA_PG_MAX_PARAMS) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = ngx_http_media_pg_query(r, sql, done);
    if (q == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < nparams; i++) {
        q->params[i] = va_arg(args, const char *);
    }

    q->nparams = nparams;
    q->ok_status = ctx->ok_status;
    q->tenant = (char *) ngx_http_media_tenant_param(r, ctx);

    if (q->tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->heads && q->mcf->storage == NGX_HTTP_MEDIA_STORAGE_S3) {
        q->heads = ctx->heads->elts;
        q->nheads = ctx->heads->nelts;
    }

    if (ctx->idem_key.len) {
        q->idem_tenant = (char *) ngx_http_media_tenant_param(r, ctx);
        q->idem_key = (char *) ngx_http_media_cstr(r, &ctx->idem_key);
        q->idem_hash = (char *) ctx->idem_hash;

        if (q->idem_tenant == NULL || q->idem_key == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_media_pg_run(r, q) != NGX_OK) {
        return ngx_http_media_pg_send_failure(r, q);
    }

    return NGX_DONE;
}


static void
ngx_http_media_api_done(ngx_http_request_t *r, ngx_http_media_pg_query_t *q)
{
    ngx_int_t              rc;
    ngx_http_media_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);

    if (q->status == NGX_HTTP_MEDIA_PG_OK && q->value[0].data) {
        rc = ngx_http_media_send_text(r, ngx_http_media_api_status(ctx, q),
                                      &q->value[0]);


    } else {
        rc = ngx_http_media_pg_send_failure(r, q);
    }

    ngx_http_media_finalize(r, rc);
}


/* The status of a successful answer: the operation's, or a stored one's. */
ngx_uint_t
ngx_http_media_api_status(ngx_http_media_ctx_t *ctx,
    ngx_http_media_pg_query_t *q)
{
    return q->replay_status ? q->replay_status : ctx->ok_status;
}


u_char *
ngx_http_media_tenant_param(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_sprintf(p, "%L", ctx->tenant_id) = '\0';

    return p;
}


/* A confirm names an object: with s3 it is HEADed before the query. */
ngx_int_t
ngx_http_media_api_head(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    ngx_str_t *key)
{
    u_char  **p;

    if (ctx->heads == NULL) {
        ctx->heads = ngx_array_create(r->pool, 4, sizeof(u_char *));
        if (ctx->heads == NULL) {
            return NGX_ERROR;
        }
    }

    p = ngx_array_push(ctx->heads);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *p = ngx_http_media_cstr(r, key);

    return *p ? NGX_OK : NGX_ERROR;
}


u_char *
ngx_http_media_cstr(ngx_http_request_t *r, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return p;
}
