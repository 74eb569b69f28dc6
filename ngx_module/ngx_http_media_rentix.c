/*
 * The Rentix CRM media API: request-upload-url, upload-from-url, bulk,
 * get / delete by id or external id, link / unlink.
 *
 * request-upload-url is answered here without the database: the uploads
 * it announces are signed, not stored, and the PUT receiver records what
 * actually arrives.
 */

#include "ngx_http_media_api.h"
#include "ngx_http_media_json.h"
#include "ngx_http_media_sign.h"


#define NGX_HTTP_MEDIA_MAX_OPERATIONS  100
#define NGX_HTTP_MEDIA_MAX_ID_LEN      18
#define NGX_HTTP_MEDIA_STORED_NAME     180


typedef struct {
    ngx_str_t   name;
    ngx_str_t   stored;     /* name as sanitized for the store */
    ngx_str_t   generated;  /* "<uuid>_<stored>" */
    ngx_str_t   url;
    ngx_str_t   ctype;
    off_t       size;
    ngx_str_t   external;   /* data NULL when absent */
} ngx_http_media_file_t;


static ngx_int_t ngx_http_media_rentix_file(ngx_http_request_t *r,
    json_t *item, size_t i, ngx_http_media_file_t *f);
static ngx_int_t ngx_http_media_rentix_sign_file(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_str_t *uuid, ngx_http_media_file_t *f);
static ngx_int_t ngx_http_media_rentix_presign_send(ngx_http_request_t *r,
    ngx_str_t *uuid, ngx_http_media_file_t *f, size_t n);
static ngx_int_t ngx_http_media_rentix_operation(ngx_http_request_t *r,
    json_t *op, size_t i);
static size_t ngx_http_media_sanitize_name(u_char *dst, ngx_str_t *name);
static ngx_int_t ngx_http_media_rentix_confirm_head(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, json_t *op);
static void ngx_http_media_rentix_file_done(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);
static u_char *ngx_http_media_rentix_variants(u_char *p, u_char *end,
    ngx_str_t *list, ngx_str_t *base);
static u_char *ngx_http_media_rentix_id(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_int_t *rc);
static u_char *ngx_http_media_rentix_external(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_int_t *rc);


static ngx_str_t  ngx_http_media_content_types[] = {
    ngx_string("image/jpeg"),
    ngx_string("image/png"),
    ngx_string("image/webp"),
    ngx_string("image/heic"),
    ngx_string("image/heif"),
    ngx_string("image/gif"),
    ngx_string("image/tiff"),
    ngx_string("image/avif"),
    ngx_string("video/mp4"),
    ngx_string("video/quicktime"),
    ngx_string("video/x-msvideo"),
    ngx_null_string
};


static const char  ngx_http_media_bulk_sql[] =
    "SELECT media_bulk($1::bigint, $2::jsonb)";

static const char  ngx_http_media_get_sql[] =
    "SELECT * FROM media_file($1::bigint, $2::bigint)";

static const char  ngx_http_media_get_external_sql[] =
    "SELECT * FROM media_file_external($1::bigint, $2)";

static const char  ngx_http_media_import_sql[] =
    "SELECT media_upload_from_url($1::bigint, $2, $3)";

static const char  ngx_http_media_delete_sql[] =
    "SELECT media_delete($1::bigint, $2::bigint)";

static const char  ngx_http_media_delete_external_sql[] =
    "SELECT media_delete_external($1::bigint, $2)";

static const char  ngx_http_media_link_sql[] =
    "SELECT media_link($1::bigint, $2::bigint, $3)";

static const char  ngx_http_media_unlink_sql[] =
    "SELECT media_unlink($1::bigint, $2::bigint)";


/* POST /api/v1/media/request-upload-url */
ngx_int_t
ngx_http_media_rentix_presign(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    u_char                 uuid_hex[NGX_HTTP_MEDIA_UUID_LEN];
    size_t                 i, j, n;
    json_t                *files;
    ngx_int_t              rc;
    ngx_str_t              uuid;
    ngx_http_media_file_t *f;

    rc = ngx_http_media_read_json(r, &ctx->body);
    if (ctx->body == NULL) {
        return rc;
    }

    files = json_object_get(ctx->body, "files");
    if (!json_is_array(files) || json_array_size(files) == 0) {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                   "files must be a non-empty array", "VALIDATION_ERROR");
    }

    n = json_array_size(files);
    if (n > NGX_HTTP_MEDIA_MAX_FILES) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "TOO_MANY_FILES", "Too many files: at most %d per request",
                   NGX_HTTP_MEDIA_MAX_FILES);
    }

    f = ngx_pcalloc(r->pool, n * sizeof(ngx_http_media_file_t));
    if (f == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        rc = ngx_http_media_rentix_file(r, json_array_get(files, i), i, &f[i]);
        if (rc != NGX_OK) {
            return rc;
        }

        for (j = 0; j < i; j++) {
            if (f[j].stored.len == f[i].stored.len
                && ngx_strncmp(f[j].stored.data, f[i].stored.data,
                               f[i].stored.len) == 0)
            {
                return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                           "VALIDATION_ERROR", "files[%uz].fileName is stored "
                           "under the same name as files[%uz].fileName",
                           i, j);
            }
        }
    }

    if (ngx_http_media_random_hex(uuid_hex, sizeof(uuid_hex)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    uuid.data = uuid_hex;
    uuid.len = sizeof(uuid_hex);

    for (i = 0; i < n; i++) {
        if (ngx_http_media_rentix_sign_file(r, ctx, &uuid, &f[i]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_media_rentix_presign_send(r, &uuid, f, n);
}


/*
 * {"uuid": ..., "upload": [{"url", "generatedFileName", "externalId"}]},
 * written directly: this is the hot path, and only externalId can need
 * escaping.
 */
static ngx_int_t
ngx_http_media_rentix_presign_send(ngx_http_request_t *r, ngx_str_t *uuid,
    ngx_http_media_file_t *f, size_t n)
{
    u_char     *p;
    size_t      i, len;
    ngx_str_t   body;

    len = sizeof("{\"uuid\":\"\",\"upload\":[]}") + uuid->len;

    for (i = 0; i < n; i++) {
        len += sizeof("{\"url\":\"\",\"generatedFileName\":\"\","
                      "\"externalId\":null},")
               + f[i].url.len + f[i].generated.len;

        if (f[i].external.data) {
            len += f[i].external.len
                   + ngx_escape_json(NULL, f[i].external.data,
                                     f[i].external.len);
        }
    }

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body.data, "{\"uuid\":\"%V\",\"upload\":[", uuid);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "%s{\"url\":\"%V\",\"generatedFileName\":\"%V\","
                        "\"externalId\":", i ? "," : "", &f[i].url,
                        &f[i].generated);

        if (f[i].external.data == NULL) {
            p = ngx_cpymem(p, "null}", 5);
            continue;
        }

        *p++ = '"';
        p = (u_char *) ngx_escape_json(p, f[i].external.data,
                                       f[i].external.len);
        p = ngx_cpymem(p, "\"}", 2);
    }

    p = ngx_cpymem(p, "]}", 2);
    body.len = p - body.data;

    return ngx_http_media_send_text(r, NGX_HTTP_OK, &body);
}


static ngx_int_t
ngx_http_media_rentix_file(ngx_http_request_t *r, json_t *item, size_t i,
    ngx_http_media_file_t *f)
{
    json_t                      *size;
    ngx_int_t                    rc;
    ngx_str_t                   *ct;
    ngx_http_media_main_conf_t  *mcf;

    if (!json_is_object(item)) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "files[%uz] must be an object", i);
    }

    rc = ngx_http_media_json_string(r, item, "fileName", "files", i,
                                     NGX_HTTP_MEDIA_MAX_NAME, 0, &f->name);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_json_string(r, item, "contentType", "files", i,
                                     255, 0, &f->ctype);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_json_string(r, item, "externalId", "files", i,
                                     NGX_HTTP_MEDIA_MAX_NAME, 1, &f->external);
    if (rc != NGX_OK) {
        return rc;
    }

    size = json_object_get(item, "size");
    if (!json_is_integer(size) || json_integer_value(size) <= 0) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR",
                   "files[%uz].size must be a positive integer", i);
    }

    for (ct = ngx_http_media_content_types; ct->len; ct++) {
        if (ct->len == f->ctype.len
            && ngx_strncasecmp(ct->data, f->ctype.data, ct->len) == 0)
        {
            break;
        }
    }

    if (ct->len == 0) {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "Invalid content type",
                                         "INVALID_CONTENT_TYPE");
    }

    /* the signed type is the canonical spelling */
    f->ctype = *ct;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);
    f->size = (off_t) json_integer_value(size);

    if (f->size > mcf->max_file_size) {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "File too large", "FILE_TOO_LARGE");
    }

    f->stored.data = ngx_pnalloc(r->pool, f->name.len);
    if (f->stored.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    f->stored.len = ngx_http_media_sanitize_name(f->stored.data, &f->name);

    return NGX_OK;
}


static ngx_int_t
ngx_http_media_rentix_sign_file(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_str_t *uuid, ngx_http_media_file_t *f)
{
    u_char                      *p;
    ngx_http_media_signed_t      s;
    ngx_http_media_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    s.key.data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1 + uuid->len + 1
                                      + f->stored.len);
    if (s.key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(s.key.data, "%L/", ctx->tenant_id);
    f->generated.data = p;
    p = ngx_sprintf(p, "%V_%V", uuid, &f->stored);

    f->generated.len = p - f->generated.data;
    s.key.len = p - s.key.data;
    s.ctype = f->ctype;
    s.size = f->size;
    s.expires = ngx_time() + mcf->upload_ttl;

    return ngx_http_media_upload_url(r, &s, &f->url);
}


/*
 * The stored name: each character outside [A-Za-z0-9._-] (a UTF-8 sequence
 * counts as one) becomes "_", as does a leading dot, and a long name is
 * cut to NGX_HTTP_MEDIA_STORED_NAME bytes keeping its extension, so that
 * "<uuid>_<name>" always fits a file name.
 */
static size_t
ngx_http_media_sanitize_name(u_char *dst, ngx_str_t *name)
{
    u_char  *p, *last, *dot, c;
    size_t   len, ext;

    p = name->data;
    last = p + name->len;
    len = 0;

    while (p < last) {
        c = *p;

        if (c >= 0x80) {
            /* skip the continuation bytes of this character */
            p++;
            while (p < last && (*p & 0xc0) == 0x80) {
                p++;
            }

            dst[len++] = '_';
            continue;
        }

        if (!(ngx_http_media_isalnum(c) || c == '_' || c == '-' || (c == '.' && len))) {
            c = '_';
        }

        dst[len++] = c;
        p++;
    }

    if (len <= NGX_HTTP_MEDIA_STORED_NAME) {
        return len;
    }

    dot = ngx_strlchr(dst + len - 16, dst + len, '.');
    ext = dot ? (size_t) (dst + len - dot) : 0;

    ngx_memmove(dst + NGX_HTTP_MEDIA_STORED_NAME - ext, dst + len - ext, ext);

    return NGX_HTTP_MEDIA_STORED_NAME;
}


/* POST /api/v1/media/bulk */
ngx_int_t
ngx_http_media_rentix_bulk(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *ops;
    size_t      i, n;
    json_t     *operations;
    ngx_int_t   rc;

    rc = ngx_http_media_read_json(r, &ctx->body);
    if (ctx->body == NULL) {
        return rc;
    }

    operations = json_object_get(ctx->body, "operations");
    if (!json_is_array(operations) || json_array_size(operations) == 0) {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                   "operations must be a non-empty array", "VALIDATION_ERROR");
    }

    n = json_array_size(operations);
    if (n > NGX_HTTP_MEDIA_MAX_OPERATIONS) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "TOO_MANY_OPERATIONS",
                   "Too many operations: at most %d per request",
                   NGX_HTTP_MEDIA_MAX_OPERATIONS);
    }

    for (i = 0; i < n; i++) {
        rc = ngx_http_media_rentix_operation(r, json_array_get(operations, i),
                                             i);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_media_rentix_confirm_head(r, ctx,
                                               json_array_get(operations, i))
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ops = ngx_http_media_json_text(r, operations, NULL);
    tenant = ngx_http_media_tenant_param(r, ctx);
    if (ops == NULL || tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_bulk_sql, 2,
                                   tenant, ops);
}


/* The shape of one bulk operation; the database judges its content. */
static ngx_int_t
ngx_http_media_rentix_operation(ngx_http_request_t *r, json_t *op, size_t i)
{
    int64_t     id;
    ngx_int_t   rc;
    ngx_str_t   name, value;

    if (!json_is_object(op)) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "operations[%uz] must be an object",
                   i);
    }

    rc = ngx_http_media_json_string(r, op, "op", "operations", i, 32, 0,
                                    &name);
    if (rc != NGX_OK) {
        return rc;
    }

#define ngx_http_media_op_is(s)                                              \
    (name.len == sizeof(s) - 1 && ngx_strncmp(name.data, s, name.len) == 0)

    if (ngx_http_media_op_is("confirm-upload")) {
        rc = ngx_http_media_json_string(r, op, "uuid", "operations", i,
                                        64, 0, &value);
        if (rc == NGX_OK) {
            rc = ngx_http_media_json_string(r, op, "generatedFileName",
                                            "operations", i,
                                            64 + 1 + NGX_HTTP_MEDIA_MAX_NAME,
                                            0, &value);
        }

    } else if (ngx_http_media_op_is("upload-from-url")) {
        rc = ngx_http_media_json_url(r, op, "url", "operations", i, 0,
                                     &value);

    } else if (ngx_http_media_op_is("link")
               || ngx_http_media_op_is("unlink"))
    {
        rc = ngx_http_media_json_id(r, op, "mediaId", "operations", i, 0,
                                    &id);
        if (rc == NGX_OK && name.len == sizeof("link") - 1
            && json_object_get(op, "externalId") == NULL)
        {
            return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                       "VALIDATION_ERROR",
                       "operations[%uz].externalId is required", i);
        }

    } else if (ngx_http_media_op_is("delete")) {
        rc = ngx_http_media_json_id(r, op, "mediaId", "operations", i, 1,
                                    &id);
        if (rc == NGX_OK && id == 0
            && json_object_get(op, "externalId") == NULL)
        {
            return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                       "VALIDATION_ERROR", "operations[%uz] needs mediaId "
                       "or externalId", i);
        }

    } else {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "operations[%uz].op \"%V\" is not "
                   "one of upload-from-url, confirm-upload, link, unlink, "
                   "delete", i, &name);
    }

#undef ngx_http_media_op_is

    if (rc != NGX_OK) {
        return rc;
    }

    /* every operation may name an external id; it must be a valid one */
    return ngx_http_media_json_string(r, op, "externalId", "operations", i,
                                      NGX_HTTP_MEDIA_MAX_NAME, 1, &value);
}


/* POST /api/v1/media/upload-from-url */
ngx_int_t
ngx_http_media_rentix_import(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *url, *ext;
    ngx_int_t   rc;
    ngx_str_t   value, external;

    rc = ngx_http_media_read_json(r, &ctx->body);
    if (ctx->body == NULL) {
        return rc;
    }

    rc = ngx_http_media_json_url(r, ctx->body, "url", NULL, 0, 0, &value);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_json_string(r, ctx->body, "externalId", NULL, 0,
                                    NGX_HTTP_MEDIA_MAX_NAME, 1, &external);
    if (rc != NGX_OK) {
        return rc;
    }

    tenant = ngx_http_media_tenant_param(r, ctx);
    url = ngx_http_media_cstr(r, &value);
    ext = external.data ? ngx_http_media_cstr(r, &external) : NULL;

    if (tenant == NULL || url == NULL || (external.data && ext == NULL)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_import_sql, 3,
                                   tenant, url, ext);
}


/*
 * The :id of the route as a parameter, or NULL after answering 400.  *rc
 * is what the caller returns then.
 */
static u_char *
ngx_http_media_rentix_id(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    ngx_int_t *rc)
{
    u_char  *id;

    if (ctx->args[0].len == 0 || ctx->args[0].len > NGX_HTTP_MEDIA_MAX_ID_LEN
        || ngx_atoi(ctx->args[0].data, ctx->args[0].len) <= 0)
    {
        *rc = ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Invalid file id", "INVALID_ID");
        return NULL;
    }

    id = ngx_http_media_cstr(r, &ctx->args[0]);
    if (id == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return id;
}


/* The :externalId of the route, or NULL after answering. */
static u_char *
ngx_http_media_rentix_external(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_int_t *rc)
{
    u_char  *ext;

    if (ngx_utf8_length(ctx->args[0].data, ctx->args[0].len)
        > NGX_HTTP_MEDIA_MAX_NAME
        || ngx_strlchr(ctx->args[0].data, ctx->args[0].data + ctx->args[0].len, '\0'))
    {
        *rc = ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "Invalid external id",
                                        "INVALID_EXTERNAL_ID");
        return NULL;
    }

    ext = ngx_http_media_cstr(r, &ctx->args[0]);
    if (ext == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ext;
}


/* GET and DELETE /api/v1/media/external/:externalId */
ngx_int_t
ngx_http_media_rentix_external_op(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *ext;
    ngx_int_t   rc;

    ext = ngx_http_media_rentix_external(r, ctx, &rc);
    if (ext == NULL) {
        return rc;
    }

    tenant = ngx_http_media_tenant_param(r, ctx);
    if (tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_DELETE) {
        return ngx_http_media_api_call(r, ctx,
                                       ngx_http_media_delete_external_sql, 2,
                                       tenant, ext);
    }

    return ngx_http_media_api_query(r, ctx, ngx_http_media_get_external_sql,
                                    ngx_http_media_rentix_file_done, 2,
                                    tenant, ext);
}


/*
 * The media file structure of the documents, written from the columns of
 * media_file(): id, external_id, size, content_type, optimization,
 * blurhash, object_key, variants ("<width> <bytes> <key> ...").
 */
static void
ngx_http_media_rentix_file_done(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q)
{
    u_char                      *p;
    size_t                       len;
    ngx_str_t                   *v, body;
    ngx_http_media_main_conf_t  *mcf;

    if (q->status == NGX_HTTP_MEDIA_PG_NO_ROWS) {
        ngx_http_media_finalize(r, ngx_http_media_send_error(r,
                                       NGX_HTTP_NOT_FOUND, "File not found",
                                       "FILE_NOT_FOUND"));
        return;
    }

    v = q->value;

    if (q->status == NGX_HTTP_MEDIA_PG_OK
        && (v[0].data == NULL || v[2].data == NULL || v[3].data == NULL
            || v[4].data == NULL || v[6].data == NULL))
    {
        /* a database whose functions predate this module's */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "media: media_file() returned a row without the "
                      "columns expected; is the schema migrated "
                      "(scripts/migrate.sh)?");
        q->status = NGX_HTTP_MEDIA_PG_FAILED;
    }

    if (q->status != NGX_HTTP_MEDIA_PG_OK) {
        ngx_http_media_finalize(r, ngx_http_media_pg_send_failure(r, q));
        return;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    /* every variant: its key, the base URL and fixed text */
    len = sizeof("{\"id\":,\"externalId\":,\"size\":,\"contentType\":\"\","
                 "\"optimization\":\"\",\"blurhash\":,\"originalUrl\":\"/\","
                 "\"variants\":[]}")
          + 2 * 4 + v[0].len + v[2].len + v[3].len + v[4].len
          + mcf->public_url.len + v[6].len
          + (v[7].data ? v[7].len + 3 * (sizeof("{\"url\":\"/\","
                                 "\"variantSize\":\"\",\"size\":},")
                                 + mcf->public_url.len) : 0);

    if (v[1].data) {
        len += v[1].len + ngx_escape_json(NULL, v[1].data, v[1].len);
    }

    if (v[5].data) {
        len += v[5].len + ngx_escape_json(NULL, v[5].data, v[5].len);
    }

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        ngx_http_media_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(body.data, "{\"id\":%V,\"externalId\":", &v[0]);
    p = ngx_http_media_json_str(p, &v[1]);
    p = ngx_sprintf(p, ",\"size\":%V,\"contentType\":\"%V\","
                    "\"optimization\":\"%V\",\"blurhash\":",
                    &v[2], &v[3], &v[4]);
    p = ngx_http_media_json_str(p, &v[5]);
    p = ngx_sprintf(p, ",\"originalUrl\":\"%V/%V\",\"variants\":[",
                    &mcf->public_url, &v[6]);
    p = ngx_http_media_rentix_variants(p, body.data + len, &v[7],
                                       &mcf->public_url);
    *p++ = ']';
    *p++ = '}';

    body.len = p - body.data;

    ngx_http_media_finalize(r, ngx_http_media_send_text(r, NGX_HTTP_OK,
                                                        &body));
}


/* "128 4074 1/v/7/128.webp 512 ..." as the variants[] array's elements */
static u_char *
ngx_http_media_rentix_variants(u_char *p, u_char *end, ngx_str_t *list,
    ngx_str_t *base)
{
    u_char      *s, *last, *field[3];
    size_t       flen[3];
    ngx_uint_t   i, n;

    if (list->data == NULL) {
        return p;
    }

    s = list->data;
    last = s + list->len;
    n = 0;

    while (s < last) {
        for (i = 0; i < 3; i++) {
            field[i] = s;
            while (s < last && *s != ' ') {
                s++;
            }

            flen[i] = s - field[i];
            s++;
        }

        if (flen[2] == 0) {
            break;
        }

        p = ngx_slprintf(p, end, "%s{\"url\":\"%V/%*s\",\"variantSize\":\"%*s\","
                         "\"size\":%*s}", n++ ? "," : "", base,
                         flen[2], field[2], flen[0], field[0],
                         flen[1], field[1]);
    }

    return p;
}


/* DELETE /api/v1/media/:id */
ngx_int_t
ngx_http_media_rentix_delete(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *id;
    ngx_int_t   rc;

    id = ngx_http_media_rentix_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    tenant = ngx_http_media_tenant_param(r, ctx);
    if (tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_delete_sql, 2,
                                   tenant, id);
}


/* POST and DELETE /api/v1/media/:id/link */
ngx_int_t
ngx_http_media_rentix_link(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *id, *ext;
    ngx_int_t   rc;
    ngx_str_t   external;

    id = ngx_http_media_rentix_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    tenant = ngx_http_media_tenant_param(r, ctx);
    if (tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_DELETE) {
        return ngx_http_media_api_call(r, ctx, ngx_http_media_unlink_sql, 2,
                                       tenant, id);
    }

    rc = ngx_http_media_read_json(r, &ctx->body);
    if (ctx->body == NULL) {
        return rc;
    }

    rc = ngx_http_media_json_string(r, ctx->body, "externalId", NULL, 0,
                                    NGX_HTTP_MEDIA_MAX_NAME, 0, &external);
    if (rc != NGX_OK) {
        return rc;
    }

    ext = ngx_http_media_cstr(r, &external);
    if (ext == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_link_sql, 3,
                                   tenant, id, ext);
}


/* A confirm-upload names the object "<tenant>/<generatedFileName>". */
static ngx_int_t
ngx_http_media_rentix_confirm_head(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, json_t *op)
{
    u_char      *p;
    const char  *name;
    ngx_str_t    key;

    if (ngx_strcmp(json_string_value(json_object_get(op, "op")),
                   "confirm-upload") != 0)
    {
        return NGX_OK;
    }

    name = json_string_value(json_object_get(op, "generatedFileName"));

    key.data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1 + ngx_strlen(name));
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(key.data, "%L/%s", ctx->tenant_id, name);
    key.len = p - key.data;

    return ngx_http_media_api_head(r, ctx, &key);
}


/* GET /api/v1/media/:id */
ngx_int_t
ngx_http_media_rentix_get(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *id;
    ngx_int_t   rc;

    id = ngx_http_media_rentix_id(r, ctx, &rc);
    if (id == NULL) {
        return rc;
    }

    tenant = ngx_http_media_tenant_param(r, ctx);
    if (tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_query(r, ctx, ngx_http_media_get_sql,
                                    ngx_http_media_rentix_file_done, 2,
                                    tenant, id);
}


