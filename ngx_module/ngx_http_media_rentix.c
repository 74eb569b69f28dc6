/*
 * The Rentix CRM media API: request-upload-url, bulk, get.
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
static ngx_int_t ngx_http_media_string_field(ngx_http_request_t *r,
    json_t *obj, const char *field, const char *where, size_t i,
    size_t max, ngx_uint_t optional, ngx_str_t *out);
static size_t ngx_http_media_sanitize_name(u_char *dst, ngx_str_t *name);


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
    "SELECT media_get($1::bigint, $2::bigint, $3)";


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

    rc = ngx_http_media_string_field(r, item, "fileName", "files", i,
                                     NGX_HTTP_MEDIA_MAX_NAME, 0, &f->name);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_string_field(r, item, "contentType", "files", i,
                                     255, 0, &f->ctype);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_string_field(r, item, "externalId", "files", i,
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
    char       *ops_text;
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
    }

    ops_text = json_dumps(operations, JSON_COMPACT);
    if (ops_text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ops = ngx_pnalloc(r->pool, ngx_strlen(ops_text) + 1);
    if (ops != NULL) {
        ngx_memcpy(ops, ops_text, ngx_strlen(ops_text) + 1);
    }

    free(ops_text);

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
    ngx_int_t   rc;
    ngx_str_t   name, value;

    if (!json_is_object(op)) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "operations[%uz] must be an object",
                   i);
    }

    rc = ngx_http_media_string_field(r, op, "op", "operations", i, 32, 0,
                                     &name);
    if (rc != NGX_OK) {
        return rc;
    }

    if (name.len == sizeof("confirm-upload") - 1
        && ngx_strncmp(name.data, "confirm-upload", name.len) == 0)
    {
        rc = ngx_http_media_string_field(r, op, "uuid", "operations", i,
                                         64, 0, &value);
        if (rc == NGX_OK) {
            rc = ngx_http_media_string_field(r, op, "generatedFileName",
                                             "operations", i,
                                             64 + 1 + NGX_HTTP_MEDIA_MAX_NAME,
                                             0, &value);
        }

        if (rc == NGX_OK) {
            rc = ngx_http_media_string_field(r, op, "externalId",
                                             "operations", i,
                                             NGX_HTTP_MEDIA_MAX_NAME, 1,
                                             &value);
        }

        return rc;
    }

    return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
               "VALIDATION_ERROR", "operations[%uz].op \"%V\" is not a "
               "supported operation", i, &name);
}


/* GET /api/v1/media/:id */
ngx_int_t
ngx_http_media_rentix_get(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char                      *tenant, *id, *base;
    ngx_http_media_main_conf_t  *mcf;

    if (ctx->arg.len == 0 || ctx->arg.len > NGX_HTTP_MEDIA_MAX_ID_LEN
        || ngx_atoi(ctx->arg.data, ctx->arg.len) <= 0)
    {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "Invalid file id", "INVALID_ID");
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    tenant = ngx_http_media_tenant_param(r, ctx);
    id = ngx_http_media_cstr(r, &ctx->arg);
    base = ngx_http_media_cstr(r, &mcf->public_url);

    if (tenant == NULL || id == NULL || base == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_get_sql, 3,
                                   tenant, id, base);
}


/*
 * A string field of obj: present (unless optional; null counts as absent),
 * a string, 1 to max characters.  Sends the error itself.
 */
static ngx_int_t
ngx_http_media_string_field(ngx_http_request_t *r, json_t *obj,
    const char *field, const char *where, size_t i, size_t max,
    ngx_uint_t optional, ngx_str_t *out)
{
    json_t  *v;
    size_t   len;

    out->len = 0;
    out->data = NULL;

    v = json_object_get(obj, field);

    if (v == NULL || json_is_null(v)) {
        if (optional) {
            return NGX_OK;
        }

        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "%s[%uz].%s is required",
                   where, i, field);
    }

    if (!json_is_string(v)) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "%s[%uz].%s must be a string",
                   where, i, field);
    }

    if (ngx_strlchr((u_char *) json_string_value(v),
                    (u_char *) json_string_value(v) + json_string_length(v),
                    '\0'))
    {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "%s[%uz].%s must not contain NUL",
                   where, i, field);
    }

    len = ngx_utf8_length((u_char *) json_string_value(v),
                          json_string_length(v));

    if (len == 0 || len > max) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR",
                   "%s[%uz].%s must be 1 to %uz characters long",
                   where, i, field, max);
    }

    out->data = (u_char *) json_string_value(v);
    out->len = json_string_length(v);

    return NGX_OK;
}
